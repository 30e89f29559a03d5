//! Barcode lookup (target p99 < 50 µs) and name search (target p99 < 20 ms) in a 300,000-product
//! catalog. Criterion measures the mean per operation; the p99 over single operations is printed
//! at the end, measured one operation at a time. Also what one product saved at the till costs in
//! a ledger holding 300,000 (`catalog/save_product_300k`): its entry carries the digest of its
//! range of the catalog (1,024 products), read in the same transaction.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use till::simulate::Rng;

mod support;

const PRODUCTS: usize = 300_000;

fn bench(c: &mut Criterion) {
    let started = Instant::now();
    let catalog = support::synthetic_catalog(PRODUCTS);
    println!("building a {PRODUCTS}-product catalog: {:?}", started.elapsed());
    let codes: Vec<String> = {
        let mut rng = Rng::new(9);
        (0..10_000)
            .map(|_| catalog.products()[rng.range(0, PRODUCTS as u64 - 1) as usize].barcodes[0].to_string())
            .collect()
    };
    let queries = support::queries(1_000, 5);

    let mut i = 0;
    c.bench_function("catalog/scan_300k", |b| {
        b.iter(|| {
            i = (i + 1) % codes.len();
            black_box(catalog.scan(black_box(&codes[i])).unwrap());
        })
    });
    let mut q = 0;
    c.bench_function("catalog/search_300k", |b| {
        b.iter(|| {
            q = (q + 1) % queries.len();
            black_box(catalog.search(black_box(&queries[q]), 50));
        })
    });

    // p99 of single operations.
    let mut scan_ns: Vec<u128> = codes
        .iter()
        .map(|code| {
            let t = Instant::now();
            black_box(catalog.scan(code).unwrap());
            t.elapsed().as_nanos()
        })
        .collect();
    scan_ns.sort_unstable();
    let mut search_ns: Vec<u128> = queries
        .iter()
        .map(|query| {
            let t = Instant::now();
            black_box(catalog.search(query, 50));
            t.elapsed().as_nanos()
        })
        .collect();
    search_ns.sort_unstable();
    println!(
        "scan p50 {:.2} µs, p99 {:.2} µs (target < 50 µs); search p50 {:.3} ms, p99 {:.3} ms (target < 20 ms)",
        support::percentile(&scan_ns, 50.0) as f64 / 1e3,
        support::percentile(&scan_ns, 99.0) as f64 / 1e3,
        support::percentile(&search_ns, 50.0) as f64 / 1e6,
        support::percentile(&search_ns, 99.0) as f64 / 1e6,
    );
}

fn save_product(c: &mut Criterion) {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-catalog-save");
    let _ = std::fs::remove_dir_all(&dir);
    let mut ledger = till::ledger::Ledger::open(&dir.join("ledger.db"), "R1", till::money::Currency::CNY).unwrap();
    let mut products = support::synthetic_products(PRODUCTS, 42);
    ledger.save_products(&products, "bench", chrono::Utc::now()).unwrap();
    let mut product = products.swap_remove(1234);
    let mut group = c.benchmark_group("catalog");
    group.sample_size(10);
    group.bench_function("save_product_300k", |b| {
        b.iter(|| {
            product.price =
                till::money::Money::from_minor(product.price.minor() % 9_000 + 100, till::money::Currency::CNY)
                    .unwrap();
            black_box(ledger.save_product(&product, "bench", chrono::Utc::now()).unwrap());
        })
    });
    group.finish();
}

criterion_group!(benches, bench, save_product);
criterion_main!(benches);
