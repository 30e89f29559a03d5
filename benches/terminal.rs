//! A full ZVT authorization against the emulator over a pseudo-terminal, with no artificial
//! delays (a pty has no wire time): command, 80 00, two intermediate statuses, the status
//! information and the completion, each answered — 10 APDUs and their 10 ACK bytes. Target: the
//! protocol adds under 2 ms per exchanged message.

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
    let config = EmulatorConfig { card_delay: Duration::ZERO, ..EmulatorConfig::default() };
    let mut emulator =
        Emulator::new(SerialTransport::new(pt, Timers::default()), config, Some(dir.path().join("pt.state"))).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let handle = std::thread::spawn(move || {
        emulator.run(Duration::from_millis(20), &|| !flag.load(Ordering::SeqCst)).unwrap();
    });
    let mut till = ZvtTerminal::new(
        Session::new(SerialTransport::new(ecr, Timers::default())),
        123456,
        156,
        ExpectedIdentity::default(),
    );

    let mut group = c.benchmark_group("terminal");
    group.sample_size(50);
    group.bench_function("authorization", |b| {
        b.iter(|| {
            let outcome = till.pay(1010, &mut |_| true);
            assert!(matches!(outcome, Outcome::Approved(_)));
        })
    });
    group.finish();

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

criterion_group!(benches, bench);
criterion_main!(benches);
