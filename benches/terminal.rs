//! A full ZVT authorization against the emulator over a pseudo-terminal, with no artificial
//! delays (a pty has no wire time): command, 80 00, two intermediate statuses, the status
//! information and the completion, each answered — 10 APDUs and their 10 ACK bytes. Target: the
//! protocol adds under 2 ms per exchanged message.
//!
//! Also a full authorization with the terminal's receipts as print lines (the till registered
//! with config byte BE) through a line at its real speed, 9600 baud 8N2 (`terminal::line`): it
//! takes its wire time — every byte both ways, 1.15 ms each — plus the till's and the terminal's
//! own time. Target: under 5 ms of the till's own time beyond the wire time. Criterion measures
//! the till's own time on the line: each time the terminal's last byte reached it, until the
//! first byte of its answer (the line measures it). Printed beside: the wire time of the bytes
//! the line carried; the elapsed time beyond it (which also holds the emulator's own time); and
//! the till thread's CPU time.
//!
//! Also start-up recovery, as the till does it after a crash between an approval the terminal
//! booked and its post: registration, Repeat Receipt settling the open intent, and the sales in
//! progress read back with their card payments. Target: under 1 s when the terminal answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use serialport::TTYPort;
use till::terminal::emulator::{Emulator, EmulatorConfig};
use till::terminal::zvt::session::Session;
use till::terminal::zvt::transport::{SerialTransport, Timers};
use till::terminal::{ExpectedIdentity, Outcome, PaymentTerminal, ZvtTerminal};

/// APDUs exchanged in one authorization (see the module doc).
const MESSAGES: u32 = 10;

fn bench(c: &mut Criterion) {
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        tempfile::tempdir_in("/dev/shm").unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let (ecr, pt) = TTYPort::pair().unwrap();
    let (mut till, stop, handle) = till_and_emulator(ecr, pt, &dir);

    let mut group = c.benchmark_group("terminal");
    group.sample_size(50);
    group.bench_function("authorization", |b| {
        b.iter(|| {
            let outcome = till.pay(1010, &mut |_| true);
            assert!(matches!(outcome, Outcome::Approved(_)));
        })
    });
    let ledger_dir = tempfile::tempdir().unwrap();
    let mut ledger =
        till::ledger::Ledger::open(&ledger_dir.path().join("ledger.db"), "R1", till::money::Currency::CNY).unwrap();
    let settings = till::config::StoreSettings::demo().sale_settings();
    group.bench_function("start-up recovery", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                // A sale in progress whose card payment the terminal booked; the till died
                // before it posted the approval.
                let mut sale = till::sale::Sale::new(settings.clone());
                let product =
                    till::demo::demo_catalog(&till::config::StoreSettings::demo()).unwrap().products()[0].clone();
                sale.add_product(&product, rust_decimal::Decimal::ONE).unwrap();
                sale.begin_payment().unwrap();
                let id = ledger.save_in_progress(None, "counter", &sale, chrono::Utc::now()).unwrap();
                let amount = sale.remaining().minor();
                let reference = till::ledger::in_progress::reference_of(id);
                let intent = ledger.begin_card_intent("pay", amount, &reference, None, chrono::Utc::now()).unwrap();
                let l = &mut ledger;
                till.pay(amount as u64, &mut |a| {
                    let r = till::ledger::CardResultRecord {
                        intent_id: intent.intent_id,
                        outcome: "unknown".into(),
                        result_code: Some(0),
                        amount_minor: Some(a.amount_minor as i64),
                        receipt_no: Some(i64::from(a.receipt_no)),
                        trace: Some(i64::from(a.trace)),
                        masked_pan: Some(a.masked_pan.clone()),
                        ..Default::default()
                    };
                    l.record_card_result(&r, chrono::Utc::now()).is_ok()
                });
                let started = std::time::Instant::now();
                till.register().unwrap();
                let resolved = till::card::recover(&mut ledger, &mut till).unwrap();
                let resumed = till::resume::resume_all(&ledger, &settings, "counter").unwrap();
                spent += started.elapsed();
                assert!(matches!(resolved[0].verdict, till::card::Verdict::Booked(_)));
                assert_eq!(resumed[0].sale.state(), till::sale::SaleState::Paid);
                let mut paid = resumed[0].sale.clone();
                let ctx = till::ledger::PostContext { cashier: "bench".into(), training: true };
                ledger.post_in_progress(resumed[0].id, &mut paid, &ctx, chrono::Utc::now()).unwrap();
            }
            spent
        })
    });
    group.finish();

    wire_speed(c);

    let runs = 200u32;
    let started = std::time::Instant::now();
    for _ in 0..runs {
        till.pay(1234, &mut |_| true);
    }
    let per_auth = started.elapsed() / runs;
    println!(
        "authorization {:.3} ms, {:.3} ms per message over {MESSAGES} messages (target < 2 ms)",
        per_auth.as_secs_f64() * 1e3,
        per_auth.as_secs_f64() * 1e3 / f64::from(MESSAGES)
    );
    stop.store(true, Ordering::SeqCst);
    handle.join().unwrap();
}

/// An authorization with print lines through the 9600 8N2 line: criterion measures the time
/// beyond the wire time.
fn wire_speed(c: &mut Criterion) {
    use till::terminal::line::{LineSpeed, SimulatedLine};
    let (ecr, pt, line) = SimulatedLine::open(LineSpeed::ZVT).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut till, stop, handle) = till_and_emulator(ecr, pt, &dir);
    till.register().unwrap();
    let mut group = c.benchmark_group("terminal at 9600 8N2");
    group.sample_size(10);
    let (mut wire_total, mut beyond_total, mut cpu_total, mut auths) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO, 0u32);
    group.bench_function("authorization with print lines, the till's own time", |b| {
        b.iter_custom(|iters| {
            let mut own = Duration::ZERO;
            for _ in 0..iters {
                let (to_pt, to_till) = line.control.carried();
                let started = std::time::Instant::now();
                let cpu = thread_cpu_time();
                let till_time = line.control.till_time();
                let outcome = till.pay(1010, &mut |_| true);
                cpu_total += thread_cpu_time() - cpu;
                let took = started.elapsed();
                own += line.control.till_time() - till_time;
                let Outcome::Approved(a) = outcome else { panic!("{outcome:?}") };
                assert_eq!(a.receipts.len(), 2, "customer and merchant receipts as print lines");
                let (to_pt2, to_till2) = line.control.carried();
                let wire = LineSpeed::ZVT.wire_time((to_pt2 - to_pt + to_till2 - to_till) as usize);
                wire_total += wire;
                beyond_total += took.saturating_sub(wire);
                auths += 1;
            }
            own
        })
    });
    group.finish();
    println!(
        "one authorization with print lines at 9600 8N2: wire time {:.1} ms, elapsed beyond it {:.1} ms, the till's \
         CPU time {:.1} ms (over {auths} runs)",
        (wire_total / auths.max(1)).as_secs_f64() * 1e3,
        (beyond_total / auths.max(1)).as_secs_f64() * 1e3,
        (cpu_total / auths.max(1)).as_secs_f64() * 1e3
    );
    stop.store(true, Ordering::SeqCst);
    drop(till);
    handle.join().unwrap();
}

/// The till on `ecr`, and the emulator (no card delay, its batch in `dir`) serving `pt` on a
/// thread of its own until `stop`.
fn till_and_emulator(
    ecr: TTYPort,
    pt: TTYPort,
    dir: &tempfile::TempDir,
) -> (ZvtTerminal<SerialTransport<TTYPort>>, Arc<AtomicBool>, std::thread::JoinHandle<()>) {
    let config = EmulatorConfig { card_delay: Duration::ZERO, ..EmulatorConfig::default() };
    let mut emulator =
        Emulator::new(SerialTransport::new(pt, Timers::default()), config, Some(dir.path().join("pt.state"))).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let handle = std::thread::spawn(move || {
        emulator.run(Duration::from_millis(5), &|| !flag.load(Ordering::SeqCst)).unwrap();
    });
    let till = ZvtTerminal::new(
        Session::new(SerialTransport::new(ecr, Timers::default())),
        123456,
        156,
        ExpectedIdentity::default(),
    );
    (till, stop, handle)
}

/// The CPU time this thread has used.
fn thread_cpu_time() -> Duration {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec into the valid, exclusively borrowed `t`.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

criterion_group!(benches, bench);
criterion_main!(benches);
