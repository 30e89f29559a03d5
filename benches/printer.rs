//! Building and encoding a 50-line receipt (target: under 1 ms): from the posted sale's record
//! to ESC/POS bytes, in Chinese (GB18030) and for 80 mm paper.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use till::config::StoreSettings;
use till::ledger::records::{LineRecord, PaymentRecord, SaleRecord};
use till::printer::escpos::encode;
use till::printer::layout::layout;
use till::printer::profile::Profile;
use till::printer::receipt::Receipt;

fn sale(lines: usize) -> SaleRecord {
    let lines: Vec<LineRecord> = (0..lines as i64)
        .map(|i| LineRecord {
            line_no: i + 1,
            sku: format!("S{i}"),
            name_zh: format!("农夫山泉饮用天然水 {i} 号 550毫升"),
            name_en: format!("Nongfu Spring natural water no. {i} 550ml"),
            qty_milli: 2000,
            unit_price: 350,
            sold_by: "piece".into(),
            tax_class: "A".into(),
            tax_rate: "0.13".into(),
            gross: 700,
            line_discount: 0,
            sale_discount: 0,
            amount: 700,
            tax: 81,
            price_overridden: false,
            refund_of_receipt: None,
            refund_of_line: None,
        })
        .collect();
    let total: i64 = lines.iter().map(|l| l.amount).sum();
    SaleRecord {
        receipt_no: 123,
        day_no: 1,
        kind: "sale".into(),
        refund_of: None,
        currency: "CNY".into(),
        prices_include_tax: true,
        gross: total,
        discount: 0,
        tax: lines.iter().map(|l| l.tax).sum(),
        total,
        rounding: 0,
        cashier: "张三".into(),
        training: false,
        completed_at: "2026-11-27T06:30:00.000Z".into(),
        lines,
        payments: vec![PaymentRecord {
            tender_no: 1,
            kind: "cash".into(),
            amount: total,
            given: total,
            change: 0,
            ..Default::default()
        }],
    }
}

fn bench(c: &mut Criterion) {
    let store = StoreSettings::demo();
    let record = sale(50);
    c.bench_function("printer/receipt_50_lines", |b| {
        b.iter(|| {
            let receipt = Receipt::from_sale(black_box(&record), &store, "zh-CN", false);
            black_box(encode(&layout(&receipt, Profile::generic_80())).unwrap())
        })
    });
    // The POS-58 has no QR command: the QR code goes as a raster image, drawn here.
    for model in ["epson-tm-t88", "pos-58"] {
        let profile = Profile::by_id(model).unwrap();
        c.bench_function(&format!("printer/receipt_50_lines_{model}"), |b| {
            b.iter(|| {
                let receipt = Receipt::from_sale(black_box(&record), &store, "zh-CN", false);
                black_box(encode(&layout(&receipt, profile)).unwrap())
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
