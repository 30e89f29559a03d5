//! The head office's ingest against a real PostgreSQL (a throwaway cluster, `tests/pg`): a till
//! that was offline for a week (15,000 sales as at the counter, 45,000 entries) ships everything
//! it holds to a register that holds nothing yet. Targets: caught up in under 10 s, at least
//! 5,000 sales a second. Each sample ships to a new register (a second delivery would be a
//! no-op); the rate is printed at the end.

use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use till::ledger::Ledger;

#[path = "../tests/pg/mod.rs"]
mod pg;
mod support;

const SALES: u32 = 15_000;

fn bench(c: &mut Criterion) {
    let path = support::counter_sales_ledger(SALES);
    let cluster = pg::Cluster::start();
    let mut admin = cluster.admin();
    till::store::office::init(&mut admin, "1").unwrap();
    let ledger = Ledger::open_read_only(&path).unwrap();
    let entries = ledger.head().unwrap().unwrap().seq;
    let mut n = 0;
    let mut times = Vec::new();
    let mut group = c.benchmark_group("head_office");
    // One shipment a sample: each is seconds long.
    group.sample_size(10).sampling_mode(SamplingMode::Flat).measurement_time(Duration::from_secs(30));
    group.bench_function("catch_up_15000_sales", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                n += 1;
                let mut client = cluster.fresh_register(&mut admin, &format!("bench{n}"));
                let started = Instant::now();
                let head = till::store::ship::ship(&mut client, &ledger, |_, _| {}).unwrap();
                let took = started.elapsed();
                assert_eq!(head, entries);
                times.push(took);
                total += took;
            }
            total
        })
    });
    group.finish();
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "catch-up of {SALES} sales ({entries} entries): median {median:?}, {:.0} sales/s, {:.0} entries/s",
        f64::from(SALES) / median.as_secs_f64(),
        entries as f64 / median.as_secs_f64()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
