//! Recovery and broken exchanges against a **scripted peer**: the terminal's side is played here
//! with exact byte sequences over a pseudo-terminal pair — not by the project's emulator, which
//! shares the till's codec and so could not catch a misreading. The framing below (DLE STX … DLE
//! ETX, CRC-16/KERMIT) is this test's own, checked against the vectors of the ZVT notes.
//!
//! Recovery never guesses: booked only when the terminal shows this transaction; not booked only
//! when it shows an earlier one the ledger holds *and* the till stored no approval; else the
//! intent stays open for a manager. A broken exchange after the terminal took the command is
//! unknown; only what the terminal says ends a payment as not made.

use std::io::Write;
use std::time::Duration;

use chrono::Utc;
use serialport::TTYPort;

mod common;

use common::peer::{Peer, frame, status};
use till::card::{self, Verdict};
use till::ledger::{CardResultRecord, Ledger, card_outcome};
use till::money::Currency;
use till::terminal::zvt::session::Session;
use till::terminal::zvt::transport::{SerialTransport, Timers};
use till::terminal::{ExpectedIdentity, Outcome, PaymentTerminal, ZvtTerminal};

#[test]
fn the_framing_of_this_test_matches_the_notes_vectors() {
    assert_eq!(frame(&[0x80, 0x00, 0x00]), [0x10, 0x02, 0x80, 0x00, 0x00, 0x10, 0x03, 0xF5, 0x1F]);
    assert_eq!(frame(&[0x06, 0x0F, 0x00]), [0x10, 0x02, 0x06, 0x0F, 0x00, 0x10, 0x03, 0xC6, 0x33]);
    assert_eq!(frame(&[0x04, 0xFF, 0x01, 0x68]), [0x10, 0x02, 0x04, 0xFF, 0x01, 0x68, 0x10, 0x03, 0x10, 0x2B]);
}

struct Rig {
    ledger: Ledger,
    till: ZvtTerminal<SerialTransport<TTYPort>>,
    peer: Option<Peer>,
    _dir: tempfile::TempDir,
}

fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let (ecr, peer) = common::peer::line();
    let timers = Timers {
        t2: Duration::from_millis(400),
        t3: Duration::from_secs(1),
        t4: Duration::from_millis(900),
        ..Timers::default()
    };
    let till =
        ZvtTerminal::new(Session::new(SerialTransport::new(ecr, timers)), 123456, 156, ExpectedIdentity::default());
    let ledger = Ledger::open(&dir.path().join("ledger.db"), "R1", Currency::CNY).unwrap();
    Rig { ledger, till, peer: Some(peer), _dir: dir }
}

impl Rig {
    /// An earlier payment the ledger holds as booked: receipt 16, trace 41, 7.00.
    fn earlier_payment(&mut self) {
        let intent = self.ledger.begin_card_intent("pay", 700, "earlier", None, Utc::now()).unwrap();
        self.ledger
            .record_card_result(&booked(intent.intent_id, 16, 41, 700, card_outcome::APPROVED), Utc::now())
            .unwrap();
    }

    /// Runs the peer's script on its own thread while the till recovers.
    fn recover_against(&mut self, script: impl FnOnce(&mut Peer) + Send + 'static) -> Vec<card::Resolution> {
        let mut peer = self.peer.take().unwrap();
        let peer = std::thread::spawn(move || {
            script(&mut peer);
            peer
        });
        let resolved = card::recover(&mut self.ledger, &mut self.till).unwrap();
        self.peer = Some(peer.join().unwrap());
        resolved
    }

    fn pay_against(&mut self, amount: u64, script: impl FnOnce(&mut Peer) + Send + 'static) -> Outcome {
        let mut peer = self.peer.take().unwrap();
        let peer = std::thread::spawn(move || {
            script(&mut peer);
            peer
        });
        let outcome = self.till.pay(amount, &mut |_| true);
        self.peer = Some(peer.join().unwrap());
        outcome
    }

    fn last_outcome(&self, intent: i64) -> Option<String> {
        self.ledger.card_results().unwrap().into_iter().rev().find(|r| r.intent_id == intent).map(|r| r.outcome)
    }
}

fn booked(intent: i64, receipt: i64, trace: i64, amount: i64, outcome: &str) -> CardResultRecord {
    CardResultRecord {
        intent_id: intent,
        outcome: outcome.into(),
        result_code: Some(0),
        amount_minor: Some(amount),
        receipt_no: Some(receipt),
        trace: Some(trace),
        ..Default::default()
    }
}

#[test]
fn the_terminal_showing_the_stored_approval_is_booked() {
    let mut r = rig();
    r.earlier_payment();
    let intent = r.ledger.begin_card_intent("pay", 1050, "sip:1", None, Utc::now()).unwrap();
    // Killed after storing the approval (receipt 17, trace 42), before posting it approved.
    r.ledger.record_card_result(&booked(intent.intent_id, 17, 42, 1050, card_outcome::UNKNOWN), Utc::now()).unwrap();
    let resolved = r.recover_against(|peer| {
        peer.repeat_receipt_shows(&status([0, 0, 0, 0, 0x10, 0x50], [0, 0, 0x42], [0x00, 0x17]));
    });
    assert!(matches!(&resolved[0].verdict, Verdict::Booked(a) if a.receipt_no == 17 && a.amount_minor == 1050));
    assert_eq!(r.last_outcome(intent.intent_id).as_deref(), Some("resolved_booked"));
    assert!(r.ledger.open_card_intents().unwrap().is_empty());
}

#[test]
fn an_earlier_transaction_and_no_stored_approval_is_not_booked() {
    let mut r = rig();
    r.earlier_payment();
    // Killed right after the intent: the terminal never heard of it, its last is receipt 16.
    let intent = r.ledger.begin_card_intent("pay", 900, "sip:2", None, Utc::now()).unwrap();
    let resolved = r.recover_against(|peer| {
        peer.repeat_receipt_shows(&status([0, 0, 0, 0, 0x07, 0x00], [0, 0, 0x41], [0x00, 0x16]));
    });
    assert_eq!(resolved[0].verdict, Verdict::NotBooked);
    assert_eq!(r.last_outcome(intent.intent_id).as_deref(), Some("resolved_not_booked"));
}

#[test]
fn an_earlier_transaction_with_a_stored_approval_stays_open() {
    let mut r = rig();
    r.earlier_payment();
    let intent = r.ledger.begin_card_intent("pay", 1050, "sip:3", None, Utc::now()).unwrap();
    r.ledger.record_card_result(&booked(intent.intent_id, 17, 42, 1050, card_outcome::UNKNOWN), Utc::now()).unwrap();
    let resolved = r.recover_against(|peer| {
        peer.repeat_receipt_shows(&status([0, 0, 0, 0, 0x07, 0x00], [0, 0, 0x41], [0x00, 0x16]));
    });
    assert_eq!(resolved[0].verdict, Verdict::Unknown);
    assert_eq!(r.ledger.open_card_intents().unwrap()[0].intent_id, intent.intent_id, "stays open for a manager");
    // The manager settles it by the terminal's journal, journaled with the approval and a note.
    let users = till::auth::demo_users();
    let approval =
        till::auth::approve(&users[1], till::auth::DEMO_MANAGER_PIN, till::auth::Permission::Settlement).unwrap();
    let evidence = card::Evidence::NotBooked;
    card::settle(&mut r.ledger, intent.intent_id, &evidence, "journal ends at receipt 16", &approval).unwrap();
    assert_eq!(r.last_outcome(intent.intent_id).as_deref(), Some("resolved_not_booked"));
    let cashier = till::auth::approve(&users[0], till::auth::DEMO_CASHIER_PIN, till::auth::Permission::VoidLine);
    assert!(cashier.is_err(), "a cashier approves nothing");
}

#[test]
fn no_transaction_to_repeat_stays_open() {
    let mut r = rig();
    let intent = r.ledger.begin_card_intent("pay", 500, "sip:4", None, Utc::now()).unwrap();
    let resolved = r.recover_against(|peer| {
        let cmd = peer.receive();
        assert_eq!(&cmd[..2], [0x06, 0x20]);
        peer.send(&frame(&[0x80, 0x00, 0x00]));
        // 06 1E 83: "function not possible" — nothing to repeat. No evidence either way.
        peer.send(&frame(&[0x06, 0x1E, 0x01, 0x83]));
        assert_eq!(peer.receive(), [0x80, 0x00, 0x00]);
    });
    assert_eq!(resolved[0].verdict, Verdict::Unknown);
    assert_eq!(r.last_outcome(intent.intent_id), None);
}

#[test]
fn a_later_unknown_transaction_of_another_amount_stays_open() {
    let mut r = rig();
    r.earlier_payment();
    let intent = r.ledger.begin_card_intent("pay", 500, "sip:5", None, Utc::now()).unwrap();
    let resolved = r.recover_against(|peer| {
        peer.repeat_receipt_shows(&status([0, 0, 0, 0, 0x99, 0x99], [0, 0, 0x50], [0x00, 0x20]));
    });
    assert_eq!(resolved[0].verdict, Verdict::Unknown);
    assert_eq!(r.ledger.open_card_intents().unwrap()[0].intent_id, intent.intent_id);
}

#[test]
fn a_reversal_intent_carries_its_receipt_and_amount_and_is_booked_by_the_reversal_shown() {
    let mut r = rig();
    r.earlier_payment();
    let intent = r.ledger.begin_card_intent("reverse", 700, "sip:6", Some(16), Utc::now()).unwrap();
    assert_eq!((intent.amount_minor, intent.receipt_no), (700, Some(16)));
    let resolved = r.recover_against(|peer| {
        // The reversal: the receipt it reversed, a new trace.
        peer.repeat_receipt_shows(&status([0, 0, 0, 0, 0x07, 0x00], [0, 0, 0x43], [0x00, 0x16]));
    });
    assert!(matches!(&resolved[0].verdict, Verdict::Booked(a) if a.trace == 43));
    // The original payment shown again (trace 41) would not have been the reversal.
    let mut r = rig();
    r.earlier_payment();
    r.ledger.begin_card_intent("reverse", 700, "sip:7", Some(16), Utc::now()).unwrap();
    let resolved = r.recover_against(|peer| {
        peer.repeat_receipt_shows(&status([0, 0, 0, 0, 0x07, 0x00], [0, 0, 0x41], [0x00, 0x16]));
    });
    assert_eq!(resolved[0].verdict, Verdict::NotBooked);
}

#[test]
fn silence_after_the_terminal_took_the_payment_is_unknown() {
    let mut r = rig();
    let outcome = r.pay_against(1050, |peer| {
        let cmd = peer.receive();
        assert_eq!(&cmd[..2], [0x06, 0x01]);
        peer.send(&frame(&[0x80, 0x00, 0x00]));
        peer.tell(&[0x04, 0xFF, 0x01, 0x0A]); // insert card
        // …and nothing more: T4 runs out; the till asks it to stop (06 B0), no answer.
        let abort = peer.receive();
        assert_eq!(&abort[..2], [0x06, 0xB0]);
    });
    assert!(matches!(outcome, Outcome::Unknown { .. }), "{outcome:?}");
}

#[test]
fn a_line_that_breaks_after_the_terminal_took_the_payment_is_unknown() {
    let mut r = rig();
    let outcome = r.pay_against(1050, |peer| {
        peer.receive();
        peer.send(&frame(&[0x80, 0x00, 0x00]));
        // The approval arrives corrupted, again and again: the till NAKs it and the line is lost.
        let mut bad = frame(&status([0, 0, 0, 0, 0x10, 0x50], [0, 0, 0x42], [0x00, 0x17]));
        let n = bad.len();
        bad[n - 1] ^= 0xFF;
        for _ in 0..3 {
            peer.port.write_all(&bad).unwrap();
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    assert!(matches!(outcome, Outcome::Unknown { .. }), "{outcome:?}");
}

#[test]
fn only_what_the_terminal_says_ends_a_payment_as_not_made() {
    let mut r = rig();
    // 84 83 straight to the command: it never started.
    let refused = r.pay_against(100, |peer| {
        peer.receive();
        peer.send(&frame(&[0x84, 0x83, 0x00]));
    });
    assert_eq!(refused, Outcome::Declined { code: 0x83 });
    // 06 1E 6C: the customer pressed stop.
    let stopped = r.pay_against(100, |peer| {
        peer.receive();
        peer.send(&frame(&[0x80, 0x00, 0x00]));
        peer.send(&frame(&[0x06, 0x1E, 0x01, 0x6C]));
        assert_eq!(peer.receive(), [0x80, 0x00, 0x00]);
    });
    assert_eq!(stopped, Outcome::Aborted { code: 0x6C });
}

/// A status information of a transaction that was not booked: result code, amount, trace.
fn not_booked(result: u8, amount: [u8; 6], trace: [u8; 3]) -> Vec<u8> {
    let mut d = vec![0x27, result, 0x04];
    d.extend(amount);
    d.push(0x0B);
    d.extend(trace);
    let mut apdu = vec![0x04, 0x0F, d.len() as u8];
    apdu.extend(d);
    apdu
}

#[test]
fn the_terminal_naming_the_stored_trace_as_aborted_is_not_booked() {
    let mut r = rig();
    let intent = r.ledger.begin_card_intent("pay", 1050, "sip:8", None, Utc::now()).unwrap();
    r.ledger.record_card_result(&booked(intent.intent_id, 17, 42, 1050, card_outcome::UNKNOWN), Utc::now()).unwrap();
    let resolved = r.recover_against(|peer| {
        // Its last receipt: trace 42 aborted (6C) — the till's answer never reached it.
        peer.repeat_receipt_shows(&not_booked(0x6C, [0, 0, 0, 0, 0x10, 0x50], [0, 0, 0x42]));
    });
    assert_eq!(resolved[0].verdict, Verdict::NotBooked);
    // Another trace aborted says nothing about this one.
    let mut r = rig();
    let intent = r.ledger.begin_card_intent("pay", 1050, "sip:9", None, Utc::now()).unwrap();
    r.ledger.record_card_result(&booked(intent.intent_id, 17, 42, 1050, card_outcome::UNKNOWN), Utc::now()).unwrap();
    let resolved = r.recover_against(|peer| {
        peer.repeat_receipt_shows(&not_booked(0x6C, [0, 0, 0, 0, 0x10, 0x50], [0, 0, 0x44]));
    });
    assert_eq!(resolved[0].verdict, Verdict::Unknown);
}

#[test]
fn an_abort_the_terminal_refused_is_unknown_not_aborted() {
    let mut r = rig();
    let abort = r.till.abort_handle();
    let outcome = r.pay_against(1050, move |peer| {
        peer.receive();
        peer.send(&frame(&[0x80, 0x00, 0x00]));
        peer.tell(&[0x04, 0xFF, 0x01, 0x0A]);
        // The cashier presses Abort: nothing goes out while the terminal is master (§2.23).
        abort.store(true, std::sync::atomic::Ordering::SeqCst);
        let pressed = std::time::Instant::now();
        // Then nothing more (the line broke): after T4 (900 ms from the terminal's last message)
        // the till is master again and asks the terminal to stop; it has already gone to the
        // host: 84 83.
        let cmd = peer.receive();
        assert_eq!(&cmd[..2], [0x06, 0xB0], "the abort after T4");
        assert!(pressed.elapsed() >= std::time::Duration::from_millis(800), "not while the terminal was master");
        peer.send(&frame(&[0x84, 0x83, 0x00]));
    });
    assert!(matches!(outcome, Outcome::Unknown { .. }), "{outcome:?}");
}
