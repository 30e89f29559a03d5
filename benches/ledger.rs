//! The ledger's speed targets:
//! - posting a completed 10-line sale durably: at most 1.3 × one fsync of a 4 KiB write on the
//!   same disk, measured in the same run (`ledger/fsync_4k` against `ledger/post_sale_10_lines`);
//! - `till ledger verify` over 100,000 sales (ten days, each closed by a Z) with every check —
//!   rows, schema, Zs recomputed, users, catalog, sales in progress: under 2 s
//!   (`ledger/verify_100k`).

use std::fs::OpenOptions;
use std::hint::black_box;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use rust_decimal::Decimal;
use till::config::StoreSettings;
use till::ledger::{Ledger, PostContext};
use till::sale::Sale;
use till::simulate::{Rng, random_paid_sale};

mod support;

fn ctx() -> PostContext {
    PostContext { cashier: "bench".into(), training: true }
}

/// A paid sale of exactly ten lines.
fn ten_line_sale(products: &[till::catalog::Product], store: &StoreSettings, rng: &mut Rng) -> Sale {
    let mut sale = Sale::new(store.sale_settings());
    for _ in 0..10 {
        let p = &products[rng.range(0, products.len() as u64 - 1) as usize];
        let qty = if p.sold_by == till::catalog::SoldBy::Weight { support::qty(750) } else { Decimal::ONE };
        sale.add_product(p, qty).unwrap();
    }
    sale.begin_payment().unwrap();
    let due = sale.cash_due();
    sale.tender_cash(due).unwrap();
    sale
}

/// One fsync of a 4 KiB write, the physical floor of a durable commit.
fn fsync_4k(file: &mut std::fs::File, block: &[u8]) {
    file.seek(SeekFrom::Start(0)).unwrap();
    file.write_all(block).unwrap();
    file.sync_all().unwrap();
}

fn durable_commit(c: &mut Criterion) {
    // On the disk the project (and a till's data dir) lives on, not on a tmpfs.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-ledger");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = StoreSettings::demo();
    let mut ledger = Ledger::open(&dir.join("ledger.db"), "R1", store.currency).unwrap();
    let products = support::synthetic_products(2_000, 3);
    let mut rng = Rng::new(11);
    let mut file = OpenOptions::new().create(true).truncate(false).write(true).open(dir.join("fsync-probe")).unwrap();
    let block = vec![0x5Au8; 4096];

    let mut group = c.benchmark_group("ledger");
    group.sample_size(100).measurement_time(Duration::from_secs(10));
    group.bench_function("fsync_4k", |b| b.iter(|| fsync_4k(&mut file, &block)));
    group.bench_function("post_sale_10_lines", |b| {
        b.iter_batched(
            || ten_line_sale(&products, &store, &mut rng),
            |mut sale| black_box(ledger.post_sale(&mut sale, &ctx(), Utc::now()).unwrap()),
            BatchSize::SmallInput,
        )
    });
    group.finish();

    // The same comparison interleaved, so both see the disk in the same mood; medians.
    let mut fsync_ns = Vec::new();
    let mut post_ns = Vec::new();
    for _ in 0..300 {
        let t = Instant::now();
        fsync_4k(&mut file, &block);
        fsync_ns.push(t.elapsed().as_nanos());
        let mut sale = ten_line_sale(&products, &store, &mut rng);
        let t = Instant::now();
        ledger.post_sale(&mut sale, &ctx(), Utc::now()).unwrap();
        post_ns.push(t.elapsed().as_nanos());
    }
    fsync_ns.sort_unstable();
    post_ns.sort_unstable();
    let (f, p) = (support::percentile(&fsync_ns, 50.0), support::percentile(&post_ns, 50.0));
    println!(
        "interleaved medians: fsync 4 KiB {:.3} ms, post 10-line sale {:.3} ms, ratio {:.2} (target ≤ 1.30)",
        f as f64 / 1e6,
        p as f64 / 1e6,
        p as f64 / f as f64
    );
}

/// A ledger of 100,000 random sales, built once and kept (on a tmpfs where there is one: its
/// fsync costs nothing, so building takes seconds instead of minutes; verify only reads).
fn verify_fixture() -> PathBuf {
    let base = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm/till-bench")
    } else {
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("till-bench")
    };
    // v3: each sale through a sale in progress as at the counter (its save and its end are
    // entries too), with a Z every 10,000 sales (verify recomputes each Z from its day's rows).
    let dir = base.join("verify-100k-v4");
    let done = dir.join("complete");
    if done.exists() {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = StoreSettings::demo();
    let mut ledger = Ledger::open(&dir.join("ledger.db"), "R1", store.currency).unwrap();
    let catalog = till::demo::load_catalog(&mut ledger, &store, true).unwrap();
    let mut rng = Rng::new(100_000);
    let started = Instant::now();
    for i in 1..=100_000 {
        let mut sale = random_paid_sale(&catalog, &store.sale_settings(), &mut rng).unwrap();
        let id = ledger.save_in_progress(None, "bench", &sale, Utc::now()).unwrap();
        let posted = ledger.post_in_progress(id, &mut sale, &ctx(), Utc::now()).unwrap();
        if i % 10_000 == 0 {
            let day = posted.day_no;
            let (real, practice) =
                (ledger.day_figures(day, day, false).unwrap(), ledger.day_figures(day, day, true).unwrap());
            let as_of = ledger.head().unwrap().unwrap().seq;
            ledger.post_day_close(day, &[(false, &real), (true, &practice)], as_of, Utc::now()).unwrap();
        }
    }
    println!("built the 100,000-sale fixture in {:?}", started.elapsed());
    std::fs::write(done, "").unwrap();
    dir
}

fn verify(c: &mut Criterion) {
    let dir = verify_fixture();
    let path = dir.join("ledger.db");
    let mut group = c.benchmark_group("ledger");
    group.sample_size(10).measurement_time(Duration::from_secs(30));
    group.bench_function("verify_100k", |b| {
        b.iter(|| {
            let ledger = Ledger::open_read_only(&path).unwrap();
            let report = ledger.verify().unwrap();
            assert!(report.is_sound());
            assert_eq!(report.sales, 100_000);
        })
    });
    group.finish();
}

criterion_group!(benches, durable_commit, verify);
criterion_main!(benches);
