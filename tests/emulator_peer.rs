//! The terminal emulator against a scripted ECR sending exact bytes (tests/common/peer.rs, not
//! the project's codec), over the 9600 baud 8N2 line: the emulator answers as PA00P015 rev
//! 13.08 says, not as the till happens to read it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use till::terminal::emulator::{Emulator, EmulatorConfig};
use till::terminal::zvt::transport::{SerialTransport, Timers};

mod common;

use common::peer::{Peer, frame};

/// The emulator on one end of the line; the test plays the ECR on the other.
fn emulator_and_ecr() -> (Peer, Arc<AtomicBool>, std::thread::JoinHandle<()>, tempfile::TempDir) {
    let (pt_end, ecr) = common::peer::line();
    let dir = tempfile::tempdir().unwrap();
    let timers = Timers { t2: Duration::from_millis(400), t3: Duration::from_secs(1), ..Timers::default() };
    let mut emulator =
        Emulator::new(SerialTransport::new(pt_end, timers), EmulatorConfig::default(), Some(dir.path().join("pt")))
            .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let handle = std::thread::spawn(move || {
        emulator.run(Duration::from_millis(20), &|| !flag.load(Ordering::SeqCst)).unwrap();
    });
    (ecr, stop, handle, dir)
}

#[test]
fn registration_answers_as_section_2_1_says() {
    let (mut ecr, stop, handle, _dir) = emulator_and_ecr();
    // Password 123456, config BE, currency 0156, TLV: printer width 48 (tag 12, BCD) and one
    // character set, ISO 8859-1 (27 holding 14 01).
    ecr.send(&frame(&[
        0x06, 0x00, 0x10, 0x12, 0x34, 0x56, 0xBE, 0x01, 0x56, 0x06, 0x08, 0x12, 0x01, 0x48, 0x27, 0x03, 0x14, 0x01,
        0x01,
    ]));
    assert_eq!(ecr.receive(), [0x80, 0x00, 0x00]);
    // Completion: 19 status bits, 29 terminal id, 49 currency, and the TLV answer: the width it
    // formats with (24) and the character set echoed, so agreed.
    assert_eq!(
        ecr.receive(),
        [
            0x06, 0x0F, 0x14, 0x19, 0x00, 0x29, 0x52, 0x50, 0x00, 0x38, 0x49, 0x01, 0x56, 0x06, 0x08, 0x12, 0x01, 0x24,
            0x27, 0x03, 0x14, 0x01, 0x01
        ]
    );
    ecr.send(&frame(&[0x80, 0x00, 0x00]));

    // Two character sets: none agreed, no 27 (CP437 stays); no TLV asked, none answered.
    ecr.send(&frame(&[
        0x06, 0x00, 0x10, 0x12, 0x34, 0x56, 0xBE, 0x01, 0x56, 0x06, 0x08, 0x27, 0x06, 0x14, 0x01, 0x01, 0x14, 0x01,
        0xFE,
    ]));
    assert_eq!(ecr.receive(), [0x80, 0x00, 0x00]);
    assert_eq!(ecr.receive(), [0x06, 0x0F, 0x0A, 0x19, 0x00, 0x29, 0x52, 0x50, 0x00, 0x38, 0x49, 0x01, 0x56]);
    ecr.send(&frame(&[0x80, 0x00, 0x00]));

    // A currency the terminal does not take (EUR, 0978): 84 1E, result 6F, its own currency.
    ecr.send(&frame(&[0x06, 0x00, 0x06, 0x12, 0x34, 0x56, 0xBE, 0x09, 0x78]));
    assert_eq!(ecr.receive(), [0x84, 0x1E, 0x03, 0x6F, 0x01, 0x56]);

    // A wrong password: 84 83.
    ecr.send(&frame(&[0x06, 0x00, 0x04, 0x65, 0x43, 0x21, 0xBE]));
    assert_eq!(ecr.receive(), [0x84, 0x83, 0x00]);
    stop.store(true, Ordering::SeqCst);
    handle.join().unwrap();
}
