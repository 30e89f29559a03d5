//! Recomputing the totals of a 200-line cart (target < 50 µs).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rust_decimal::Decimal;
use till::config::StoreSettings;
use till::sale::{Discount, Sale};

mod support;

fn bench(c: &mut Criterion) {
    let store = StoreSettings::demo();
    let mut products = support::synthetic_products(200, 1);
    for (i, p) in products.iter_mut().enumerate() {
        p.tax_class = ["A", "B", "C", "Z"][i % 4].into();
    }
    let mut sale = Sale::new(store.sale_settings());
    for (i, p) in products.iter().enumerate() {
        let qty =
            if p.sold_by == till::catalog::SoldBy::Weight { support::qty(1234) } else { Decimal::from(i % 3 + 1) };
        let line = sale.add_product(p, qty).unwrap();
        if i % 7 == 0 {
            sale.set_line_discount(line, Some(Discount::Percent(Decimal::from(15)))).unwrap();
        }
    }
    sale.set_sale_discount(Some(Discount::Percent(Decimal::from(5)))).unwrap();
    assert_eq!(sale.lines().len(), 200);
    c.bench_function("sale/totals_200_lines", |b| b.iter(|| black_box(black_box(&sale).totals())));
}

criterion_group!(benches, bench);
criterion_main!(benches);
