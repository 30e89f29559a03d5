//! Settlement's speed targets: the Z report of a day of 20,000 sales under 200 ms
//! (`settlement/z_20k`: the terminal's end-of-day over a pty with the emulator, the figures, the
//! card payments and the flags, the reconciliation, the Z posted)
//! and a report over a month of such days under 2 s (`settlement/x_month_600k`: thirty closed
//! days, read from the figures each Z keeps).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use till::config::StoreSettings;
use till::dayclose;
use till::ledger::{Ledger, PostContext};
use till::simulate::{Rng, random_paid_sale};
use till::terminal::emulator::EmulatorConfig;
use till::terminal::zvt::transport::Timers;
use till::ui::training::TrainingTerminal;

const DAY: usize = 20_000;
const DAYS: i64 = 30;

/// A ledger with one open day of 20,000 sales, and a copy whose days 2–30 repeat day 1 row for
/// row (made with SQL: posting 600,000 sales one by one would take minutes). Built once, on a
/// tmpfs where there is one.
fn fixture() -> PathBuf {
    let base = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm/till-bench")
    } else {
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("till-bench")
    };
    let dir = base.join("settlement-20k-v2");
    if dir.join("complete").exists() {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = StoreSettings::demo();
    let manager = manager();
    let mut ledger = Ledger::open(&dir.join("day.db"), "R1", store.currency).unwrap();
    let catalog = till::demo::load_catalog(&mut ledger, &store, true).unwrap();
    let mut rng = Rng::new(20_000);
    let started = Instant::now();
    for n in 0..DAY {
        let mut sale = random_paid_sale(&catalog, &store.sale_settings(), &mut rng).unwrap();
        let ctx = PostContext { cashier: format!("c{}", n % 4), training: false };
        ledger.post_sale(&mut sale, &ctx, Utc::now()).unwrap();
    }
    println!("built the 20,000-sale day in {:?}", started.elapsed());
    drop(ledger);
    // The month: day 1 closed with its Z, then days 2–30 as copies of it, Z and all.
    std::fs::copy(dir.join("day.db"), dir.join("month.db")).unwrap();
    {
        let mut ledger = Ledger::open(&dir.join("month.db"), "R1", store.currency).unwrap();
        let mut terminal = TrainingTerminal::start(EmulatorConfig::default(), None, Timers::default()).unwrap();
        dayclose::close_day(&mut ledger, &mut terminal.terminal, &manager, false, None, Utc::now()).unwrap();
    }
    let month = rusqlite::Connection::open(dir.join("month.db")).unwrap();
    let (entries, receipts): (i64, i64) = month
        .query_row("SELECT (SELECT MAX(seq) FROM journal), (SELECT MAX(receipt_no) FROM sales)", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    for k in 1..DAYS {
        let (ds, dr) = (k * entries, k * receipts);
        month
            .execute_batch(&format!(
                "BEGIN;
                 INSERT INTO journal SELECT seq + {ds}, register, kind, day_no + {k}, recorded_at, payload, prev_hash, hash FROM journal WHERE seq <= {entries};
                 INSERT INTO business_days SELECT day_no + {k}, business_date, opened_seq + {ds}, float_minor FROM business_days WHERE day_no = 1;
                 INSERT INTO sales SELECT receipt_no + {dr}, seq + {ds}, day_no + {k}, kind, NULL, currency, prices_include_tax, gross_minor, discount_minor, tax_minor, total_minor, rounding_minor, cashier, training, completed_at FROM sales WHERE day_no = 1;
                 INSERT INTO sale_lines SELECT seq + {ds}, line_no, sku, name_zh, name_en, qty_milli, unit_price_minor, sold_by, tax_class, tax_rate, gross_minor, line_discount_minor, sale_discount_minor, amount_minor, tax_minor, price_overridden, NULL, NULL FROM sale_lines WHERE seq <= {entries};
                 INSERT INTO payments SELECT seq + {ds}, tender_no, kind, amount_minor, given_minor, change_minor, reference, masked_pan, card_name, card_receipt, card_trace, terminal_id, aid FROM payments WHERE seq <= {entries};
                 INSERT INTO day_closes SELECT seq + {ds}, day_no + {k}, z_no + {k}, net_minor, grand_total_minor FROM day_closes WHERE day_no = 1;
                 INSERT INTO day_figures SELECT day_no + {k}, training, body FROM day_figures WHERE day_no = 1;
                 COMMIT;"
            ))
            .unwrap();
    }
    std::fs::write(dir.join("complete"), "").unwrap();
    dir
}

/// The demo manager's approval: the Z is a manager's.
fn manager() -> till::auth::Approval {
    let users = till::auth::demo_users();
    till::auth::approve(&users[1], till::auth::DEMO_MANAGER_PIN, till::auth::Permission::Settlement).unwrap()
}

fn bench(c: &mut Criterion) {
    let dir = fixture();
    let mut group = c.benchmark_group("settlement");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    let store = StoreSettings::demo();
    let manager = manager();
    // The training terminal emulator on a pty answers the end-of-day.
    let mut terminal =
        TrainingTerminal::start(EmulatorConfig::default(), None, till::terminal::zvt::transport::Timers::default())
            .unwrap();
    group.bench_function("z_20k", |b| {
        b.iter_batched(
            || {
                let copy = dir.join("z.db");
                let _ = std::fs::remove_file(&copy);
                let _ = std::fs::remove_file(dir.join("z.db-wal"));
                std::fs::copy(dir.join("day.db"), &copy).unwrap();
                Ledger::open(&copy, "R1", store.currency).unwrap()
            },
            |mut ledger| {
                let day = ledger.current_day().unwrap().unwrap().day_no;
                let report =
                    dayclose::close_day(&mut ledger, &mut terminal.terminal, &manager, false, None, Utc::now())
                        .unwrap();
                assert_eq!((report.figures.sales_count as usize, report.close.unwrap().day_no), (DAY, day));
            },
            BatchSize::PerIteration,
        )
    });
    let month = Ledger::open_read_only(&dir.join("month.db")).unwrap();
    group.bench_function("x_month_600k", |b| {
        b.iter(|| {
            let report = dayclose::x_report(&month, 1, DAYS, false, Utc::now()).unwrap();
            assert_eq!(report.figures.sales_count as usize, DAY * DAYS as usize);
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
