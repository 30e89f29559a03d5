//! Receipts laid out for 58 mm and 80 mm paper in zh-CN and en, from a sale posted to a real
//! ledger, against golden text files (`tests/golden/*.txt`, looked at by a person). Set
//! `TILL_BLESS=1` to rewrite them after a deliberate change, and look again.

use chrono::Utc;
use rust_decimal::Decimal;
use till::config::StoreSettings;
use till::ledger::{Ledger, PostContext};
use till::money::Money;
use till::printer::emulator::{Decoder, Event};
use till::printer::escpos::encode;
use till::printer::layout::{COLUMNS_58MM, COLUMNS_80MM, layout, width_in};
use till::printer::receipt::Receipt;
use till::sale::{CardPayment, Discount, Sale};

fn posted_sale() -> till::ledger::records::SaleRecord {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreSettings::demo();
    let mut ledger = Ledger::open(&dir.path().join("ledger.db"), &store.register, store.currency).unwrap();
    let catalog = till::demo::load_catalog(&mut ledger, &store, true).unwrap();
    let cny = |s: &str| Money::parse(s, store.currency).unwrap();
    let mut sale = Sale::new(store.sale_settings());
    sale.add_product(catalog.by_sku("DRK001").unwrap(), Decimal::from(2)).unwrap();
    sale.add_product(catalog.by_sku("FRU001").unwrap(), Decimal::new(1235, 3)).unwrap();
    let chips = sale.add_product(catalog.by_sku("SNK001").unwrap(), Decimal::ONE).unwrap();
    sale.set_line_discount(chips, Some(Discount::Percent(Decimal::from(10)))).unwrap();
    sale.add_product(catalog.by_sku("DLY004").unwrap(), Decimal::ONE).unwrap();
    sale.begin_payment().unwrap();
    let card = CardPayment {
        masked_pan: "474843******7743".into(),
        card_name: "VISA".into(),
        receipt_no: 17,
        trace: 42,
        terminal_id: "52500038".into(),
        aid: "A0000000".into(),
    };
    sale.tender_card(cny("20.00"), card).unwrap();
    sale.tender_cash(cny("50")).unwrap();
    let ctx = PostContext { cashier: "张三".into(), training: false };
    let posted = ledger.post_sale(&mut sale, &ctx, Utc::now()).unwrap();
    let mut record = ledger.sale_by_receipt(posted.receipt_no).unwrap();
    // A fixed instant, so the golden files do not change with the clock (shown in local time).
    record.completed_at = "2026-11-27T06:30:00.000Z".into();
    record
}

fn check(locale: &str, columns: usize, copy: bool) {
    let store = StoreSettings::demo();
    let receipt = Receipt::from_sale(&posted_sale(), &store, locale, copy);
    let doc = layout(&receipt, columns);
    let text = doc.to_text();
    for line in text.lines() {
        // Measured as the printer counts: in Chinese mode every non-ASCII character is two columns.
        assert!(width_in(line, doc.chinese) <= columns, "too wide for {columns} columns: {line:?}");
    }
    // The time line follows the machine's zone: golden files keep it as a placeholder.
    let local = chrono::DateTime::parse_from_rfc3339("2026-11-27T06:30:00Z")
        .unwrap()
        .with_timezone(&chrono::Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let text = text.replace(&local, "YYYY-MM-DD HH:MM:SS");
    let name = format!("receipt-{locale}-{columns}{}.txt", if copy { "-copy" } else { "" });
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(&name);
    if std::env::var("TILL_BLESS").is_ok() {
        std::fs::write(&path, &text).unwrap();
    }
    let golden = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{name} missing: run with TILL_BLESS=1"));
    assert_eq!(text, golden, "{name}");

    // The ESC/POS bytes, decoded back by the printer emulator, show exactly the laid-out text.
    let chinese = locale.starts_with("zh");
    let bytes = encode(&doc).unwrap();
    let mut printer = Decoder::new(columns);
    printer.feed(&bytes);
    assert_eq!(printer.text, doc.to_text(), "{name} as printed");
    assert!(printer.text.contains(&format!("[QR {}]", receipt.code)), "the QR code carries the receipt id");
    assert_eq!(printer.events.iter().filter(|e| **e == Event::Cut).count(), 1);
    assert!(printer.outside_gb2312.is_empty());
    // What a person looks at: the printed receipt as a picture (golden PNGs for 80 mm paper).
    let png = till::printer::render::render_png(&printer.items, columns).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]) as usize;
    assert_eq!(width, columns * 12 + 24);
    if columns == COLUMNS_80MM {
        let picture = path.with_extension("png");
        if std::env::var("TILL_BLESS").is_ok() {
            std::fs::write(&picture, &png).unwrap();
        }
        assert!(picture.exists(), "{} missing: run with TILL_BLESS=1", picture.display());
    }
    if chinese {
        let (title, _, _) = encoding_rs::GB18030.encode("销售小票");
        assert!(bytes.windows(title.len()).any(|w| w == &title[..]), "GB18030 in the bytes");
    }
}

#[test]
fn zh_cn_58mm() {
    check("zh-CN", COLUMNS_58MM, false);
}

#[test]
fn zh_cn_80mm() {
    check("zh-CN", COLUMNS_80MM, false);
}

#[test]
fn en_58mm() {
    check("en", COLUMNS_58MM, false);
}

#[test]
fn en_80mm_copy() {
    check("en", COLUMNS_80MM, true);
}

#[test]
fn the_merchant_copy_of_a_card_payment() {
    let store = StoreSettings::demo();
    let copy = Receipt::merchant_copy(&posted_sale(), &store, "zh-CN").unwrap();
    let doc = layout(&copy, COLUMNS_58MM);
    let text = doc.to_text();
    assert!(text.contains("商户存根") && text.contains("持卡人签名") && text.contains("474843******7743"), "{text}");
    assert!(text.contains("刷卡金额 CNY") && text.contains("20.00"), "{text}");
    assert!(!text.contains("农夫山泉"), "no item lines on the merchant copy");
    let mut printer = Decoder::new(COLUMNS_58MM);
    printer.feed(&encode(&doc).unwrap());
    assert_eq!(printer.text, text);
}

#[test]
fn the_slip_of_a_voided_cart() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreSettings::demo();
    let mut ledger = Ledger::open(&dir.path().join("ledger.db"), &store.register, store.currency).unwrap();
    let catalog = till::demo::load_catalog(&mut ledger, &store, true).unwrap();
    let mut sale = Sale::new(store.sale_settings());
    sale.add_product(catalog.by_sku("DRK003").unwrap(), Decimal::from(2)).unwrap();
    sale.void().unwrap();
    let slip = Receipt::void_slip(&sale, &store, "zh-CN", "张三", "顾客放弃购买");
    let doc = layout(&slip, COLUMNS_58MM);
    let text = doc.to_text();
    assert!(text.contains("作废单") && text.contains("可口可乐") && text.contains("作废原因：顾客放弃购买"), "{text}");
    assert!(text.contains("作废金额 CNY") && text.contains("7.00"), "{text}");
    assert!(!text.contains("[QR"), "nothing to scan back: {text}");
    let mut printer = Decoder::new(COLUMNS_58MM);
    printer.feed(&encode(&doc).unwrap());
    assert_eq!(printer.text, text);
}
