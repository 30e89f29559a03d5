//! Card payments with the ledger on both sides of the terminal: intents, results, the block on
//! unknown outcomes, and their resolution with the emulator over a pseudo-terminal.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use serialport::TTYPort;
use till::card::{self, CardOp};
use till::ledger::{CardResultRecord, Ledger, LedgerError, card_outcome};
use till::money::Currency;
use till::terminal::emulator::{Emulator, EmulatorConfig, EmulatorState};
use till::terminal::line::{LineSpeed, SimulatedLine};
use till::terminal::zvt::session::Session;
use till::terminal::zvt::transport::{SerialTransport, Timers};
use till::terminal::{ExpectedIdentity, Outcome, PaymentTerminal, ZvtTerminal};

struct Rig {
    ledger: Ledger,
    till: ZvtTerminal<SerialTransport<TTYPort>>,
    stop: Arc<AtomicBool>,
    emulator: std::thread::JoinHandle<EmulatorState>,
    /// Between the till and the emulator: a line at 9600 baud 8N2.
    _line: SimulatedLine,
    _dir: tempfile::TempDir,
}

fn rig(config: EmulatorConfig) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let timers = Timers {
        t2: Duration::from_millis(500),
        t3: Duration::from_secs(2),
        t4: Duration::from_secs(5),
        ..Timers::default()
    };
    let (ecr, pt, line) = SimulatedLine::open(LineSpeed::ZVT).unwrap();
    let mut emulator =
        Emulator::new(SerialTransport::new(pt, timers), config, Some(dir.path().join("pt.state"))).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let emulator = std::thread::spawn(move || {
        emulator.run(Duration::from_millis(50), &|| !flag.load(Ordering::SeqCst)).unwrap();
        emulator.state.clone()
    });
    let till =
        ZvtTerminal::new(Session::new(SerialTransport::new(ecr, timers)), 123456, 156, ExpectedIdentity::default());
    let ledger = Ledger::open(&dir.path().join("ledger.db"), "R1", Currency::CNY).unwrap();
    Rig { ledger, till, stop, emulator, _line: line, _dir: dir }
}

fn finish(rig: Rig) -> (Ledger, EmulatorState) {
    rig.stop.store(true, Ordering::SeqCst);
    (rig.ledger, rig.emulator.join().unwrap())
}

fn outcomes(ledger: &Ledger) -> Vec<String> {
    ledger.card_results().unwrap().into_iter().map(|r| r.outcome).collect()
}

#[test]
fn an_approved_payment_is_posted_before_and_after_the_answer() {
    let mut r = rig(EmulatorConfig::default());
    let paid = card::run(&mut r.ledger, &mut r.till, CardOp::Pay, 2599, "sale-1").unwrap();
    assert!(matches!(paid.outcome, Outcome::Approved(_)));
    assert_eq!(outcomes(&r.ledger), vec!["unknown", "approved"]);
    assert!(r.ledger.open_card_intents().unwrap().is_empty());
    let (ledger, pt) = finish(r);
    // A charge that no sale carries: the tie between card results and sales is broken.
    let report = ledger.verify().unwrap();
    assert!(
        report.problems.iter().any(|p| matches!(&p.kind, till::ledger::ProblemKind::CardTie { detail } if detail.contains("no sale carries it"))),
        "{report:?}"
    );
    assert_eq!(pt.batch.len(), 1);
    let approved = &ledger.card_results().unwrap()[1];
    assert_eq!(approved.receipt_no, Some(i64::from(pt.batch[0].receipt_no)));
    assert!(approved.masked_pan.as_deref().unwrap().contains('*'));
}

#[test]
fn a_decline_is_posted_and_books_nothing() {
    let mut r =
        rig(EmulatorConfig { scenario: till::terminal::emulator::Scenario::Decline(0x05), ..Default::default() });
    let paid = card::run(&mut r.ledger, &mut r.till, CardOp::Pay, 100, "sale-2").unwrap();
    assert_eq!(paid.outcome, Outcome::Declined { code: 5 });
    assert_eq!(outcomes(&r.ledger), vec!["declined"]);
    let (_, pt) = finish(r);
    assert!(pt.batch.is_empty());
}

#[test]
fn an_unknown_outcome_blocks_card_payments_until_resolved_as_booked() {
    let mut r = rig(EmulatorConfig::default());
    // As if the till died right after answering the approval: the approval is posted as
    // unknown, the terminal booked it, and nobody posted the confirmation.
    let intent = r.ledger.begin_card_intent("pay", 4500, "sale-3", None, Utc::now()).unwrap();
    let ledger = &mut r.ledger;
    let outcome = r.till.pay(4500, &mut |a| {
        ledger
            .record_card_result(
                &CardResultRecord {
                    intent_id: intent.intent_id,
                    outcome: card_outcome::UNKNOWN.into(),
                    amount_minor: Some(a.amount_minor as i64),
                    masked_pan: Some(a.masked_pan.clone()),
                    receipt_no: Some(i64::from(a.receipt_no)),
                    trace: Some(i64::from(a.trace)),
                    ..Default::default()
                },
                Utc::now(),
            )
            .is_ok()
    });
    assert!(matches!(outcome, Outcome::Approved(_)));
    let blocked = card::run(&mut r.ledger, &mut r.till, CardOp::Pay, 100, "sale-4");
    assert!(
        matches!(blocked, Err(card::CardError::Ledger(LedgerError::CardOutcomeUnknown(id))) if id == intent.intent_id)
    );

    let resolved = card::recover(&mut r.ledger, &mut r.till).unwrap();
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].booked().unwrap().amount_minor, 4500);
    assert_eq!(outcomes(&r.ledger), vec!["unknown", "resolved_booked"]);
    // Unblocked: the next payment goes through.
    assert!(matches!(
        card::run(&mut r.ledger, &mut r.till, CardOp::Pay, 100, "sale-4").unwrap().outcome,
        Outcome::Approved(_)
    ));
    let (_, pt) = finish(r);
    assert_eq!(pt.batch.len(), 2, "charged once for each sale");
}

#[test]
fn an_unknown_outcome_the_terminal_did_not_book_is_resolved_as_not_booked() {
    let mut r = rig(EmulatorConfig::default());
    assert!(matches!(
        card::run(&mut r.ledger, &mut r.till, CardOp::Pay, 700, "sale-5").unwrap().outcome,
        Outcome::Approved(_)
    ));
    // As if the till died after posting the approval as unknown but before answering: the
    // terminal, unanswered, reverses on its own.
    let intent = r.ledger.begin_card_intent("pay", 900, "sale-6", None, Utc::now()).unwrap();
    let ledger = &mut r.ledger;
    let outcome = r.till.pay(900, &mut |a| {
        let _ = ledger.record_card_result(
            &CardResultRecord {
                intent_id: intent.intent_id,
                outcome: card_outcome::UNKNOWN.into(),
                amount_minor: Some(a.amount_minor as i64),
                receipt_no: Some(i64::from(a.receipt_no)),
                trace: Some(i64::from(a.trace)),
                ..Default::default()
            },
            Utc::now(),
        );
        false
    });
    assert!(matches!(outcome, Outcome::Unknown { .. } | Outcome::Aborted { .. }));
    // The till stored an approval; the terminal's last receipt is the abort of that very trace.
    let resolved = card::recover(&mut r.ledger, &mut r.till).unwrap();
    assert_eq!(resolved[0].verdict, card::Verdict::NotBooked);
    assert!(r.ledger.open_card_intents().unwrap().is_empty());
    let (_, pt) = finish(r);
    assert_eq!(pt.batch.iter().map(|e| e.amount_minor).collect::<Vec<_>>(), vec![700]);
}

#[test]
fn an_intent_without_a_stored_approval_and_an_earlier_receipt_is_not_booked() {
    let mut r = rig(EmulatorConfig::default());
    assert!(matches!(
        card::run(&mut r.ledger, &mut r.till, CardOp::Pay, 700, "sale-7").unwrap().outcome,
        Outcome::Approved(_)
    ));
    // As if the till died right after posting the intent: nothing reached the terminal.
    let intent = r.ledger.begin_card_intent("pay", 900, "sale-8", None, Utc::now()).unwrap();
    let resolved = card::recover(&mut r.ledger, &mut r.till).unwrap();
    assert_eq!(resolved[0].intent.intent_id, intent.intent_id);
    assert_eq!(resolved[0].verdict, card::Verdict::NotBooked);
    assert_eq!(outcomes(&r.ledger).last().unwrap(), "resolved_not_booked");
    finish(r);
}

#[test]
fn a_full_card_number_is_refused_by_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(&dir.path().join("ledger.db"), "R1", Currency::CNY).unwrap();
    let intent = ledger.begin_card_intent("pay", 100, "x", None, Utc::now()).unwrap();
    let full = CardResultRecord {
        intent_id: intent.intent_id,
        outcome: card_outcome::APPROVED.into(),
        masked_pan: Some("4748430000007743".into()),
        ..Default::default()
    };
    assert!(matches!(ledger.record_card_result(&full, Utc::now()), Err(LedgerError::Sale(_))));
}

/// A cash sale of one demo product, paid, with its durable copy in the ledger.
fn sale_in_progress(ledger: &mut Ledger) -> (i64, till::sale::Sale) {
    let store = till::config::StoreSettings::demo();
    let catalog = till::demo::demo_catalog(&store).unwrap();
    let mut sale = till::sale::Sale::new(store.sale_settings());
    sale.add_product(&catalog.products()[0], rust_decimal::Decimal::ONE).unwrap();
    sale.begin_payment().unwrap();
    let id = ledger.save_in_progress(None, "counter", &sale, Utc::now()).unwrap();
    (id, sale)
}

#[test]
fn a_sale_in_progress_posts_once_and_never_over_an_open_card_payment() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(&dir.path().join("ledger.db"), "R1", Currency::CNY).unwrap();
    let ctx = till::ledger::PostContext { cashier: "c1".into(), training: false };
    let (id, mut sale) = sale_in_progress(&mut ledger);
    // Its card payment's outcome is open: the sale must not post (nor be thrown away).
    let reference = till::ledger::in_progress::reference_of(id);
    let intent = ledger.begin_card_intent("pay", sale.remaining().minor(), &reference, None, Utc::now()).unwrap();
    sale.tender_cash(sale.cash_due()).unwrap();
    let again = sale.clone();
    let refused = ledger.post_in_progress(id, &mut sale.clone(), &ctx, Utc::now());
    assert!(matches!(refused, Err(LedgerError::CardOutcomeUnknown(i)) if i == intent.intent_id), "{refused:?}");
    assert!(matches!(ledger.discard_in_progress(id), Err(LedgerError::CardOutcomeUnknown(_))));
    // The terminal said no: now it posts, once.
    ledger
        .record_card_result(
            &CardResultRecord { intent_id: intent.intent_id, outcome: "declined".into(), ..Default::default() },
            Utc::now(),
        )
        .unwrap();
    ledger.post_in_progress(id, &mut sale, &ctx, Utc::now()).unwrap();
    let twice = ledger.post_in_progress(id, &mut again.clone(), &ctx, Utc::now());
    assert!(matches!(twice, Err(LedgerError::InProgressGone(n)) if n == id), "{twice:?}");
    assert_eq!(ledger.counts().unwrap().1, 1);
    assert!(ledger.verify().unwrap().is_sound());
}

#[test]
fn a_sale_in_progress_must_carry_the_card_payments_the_ledger_holds_for_it() {
    let mut r = rig(EmulatorConfig::default());
    let ctx = till::ledger::PostContext { cashier: "c1".into(), training: false };
    let (id, mut sale) = sale_in_progress(&mut r.ledger);
    let due = sale.remaining().minor() as u64;
    let reference = till::ledger::in_progress::reference_of(id);
    let paid = card::run(&mut r.ledger, &mut r.till, CardOp::Pay, due, &reference).unwrap();
    assert!(matches!(paid.outcome, Outcome::Approved(_)));
    assert_eq!(r.ledger.held_cards(id).unwrap().len(), 1);
    // Paid in cash as if the card had not gone through: refused, the card payment stands.
    let mut in_cash = sale.clone();
    in_cash.tender_cash(in_cash.cash_due()).unwrap();
    let refused = r.ledger.post_in_progress(id, &mut in_cash, &ctx, Utc::now());
    assert!(matches!(refused, Err(LedgerError::Corrupt(_))), "{refused:?}");
    assert!(matches!(r.ledger.discard_in_progress(id), Err(LedgerError::InProgressHoldsCard(_))));
    // With the card payment the ledger holds: posted, and the tie holds.
    till::resume::reconcile(&mut sale, &r.ledger.held_cards(id).unwrap()).unwrap();
    r.ledger.post_in_progress(id, &mut sale, &ctx, Utc::now()).unwrap();
    let (ledger, pt) = finish(r);
    assert!(ledger.verify().unwrap().is_sound(), "{:?}", ledger.verify().unwrap().problems);
    assert_eq!(pt.batch.len(), 1);
}

#[test]
fn a_terminal_that_lost_power_after_the_approval_auto_reverses_it_and_recovery_does_not_book_it() {
    use till::terminal::emulator::Scenario;
    let mut r = rig(EmulatorConfig { scenario: Scenario::PowerLoss, ..EmulatorConfig::default() });
    let paid = card::run(&mut r.ledger, &mut r.till, CardOp::Pay, 1500, "sale-1").unwrap();
    assert!(matches!(paid.outcome, Outcome::Unknown { .. }), "{:?}", paid.outcome);
    // The till starts again: registration — where the terminal sends its pending auto-reversal
    // (04 FF 05) — then recovery. Repeat Receipt still shows the approval; it is not booked.
    r.till.register().unwrap();
    let resolved = card::recover(&mut r.ledger, &mut r.till).unwrap();
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].verdict, card::Verdict::NotBooked);
    assert!(r.ledger.open_card_intents().unwrap().is_empty());
    let (_, pt) = finish(r);
    assert!(pt.batch.is_empty(), "the terminal booked nothing");
    assert!(!pt.pending_auto_reversal);
}

#[test]
fn a_payment_the_terminal_booked_and_the_ledger_does_not_hold_is_reversed_by_the_next_one() {
    // The TLV synchronisation (PA00P015 rev 13.08 §4.2): the till mirrors the terminal's
    // identifier of the last payment the ledger holds as booked; the terminal, whose last is one
    // further, reverses that one (the till never took it) before the new payment.
    let mut r = rig(EmulatorConfig::default());
    let first = card::run(&mut r.ledger, &mut r.till, CardOp::Pay, 1000, "sale-1").unwrap();
    assert!(matches!(first.outcome, Outcome::Approved(_)));
    // Booked at the terminal, never in the ledger (as if its answer had been lost and the
    // outcome settled, wrongly, as not booked).
    assert!(matches!(r.till.pay(2000, &mut |_| true), Outcome::Approved(_)));
    for (amount, sale) in [(3000, "sale-3"), (4000, "sale-4")] {
        let paid = card::run(&mut r.ledger, &mut r.till, CardOp::Pay, amount, sale).unwrap();
        assert!(matches!(paid.outcome, Outcome::Approved(_)), "{paid:?}");
    }
    let (ledger, pt) = finish(r);
    let live: Vec<(i64, i64, i64)> = pt
        .batch
        .iter()
        .filter(|e| !e.reversed)
        .map(|e| (i64::from(e.receipt_no), i64::from(e.trace), e.amount_minor))
        .collect();
    let booked: Vec<(i64, i64, i64)> = ledger
        .card_results()
        .unwrap()
        .into_iter()
        .filter(|r| r.outcome == card_outcome::APPROVED)
        .map(|r| (r.receipt_no.unwrap(), r.trace.unwrap(), r.amount_minor.unwrap()))
        .collect();
    assert_eq!(live, booked, "the terminal's batch is the ledger's booked payments");
    assert_eq!(pt.batch.iter().filter(|e| e.reversed).map(|e| e.amount_minor).collect::<Vec<_>>(), [2000]);
    // The reversed one's receipt number is used again (§4.2), and the payments in step are not
    // touched.
    assert_eq!(pt.batch[1].receipt_no, pt.batch[2].receipt_no);
    assert_eq!(pt.implicit_reversals, 1);
}

#[test]
fn a_receipt_number_beyond_four_digits_is_refused_before_the_terminal_hears_of_it() {
    let mut r = rig(EmulatorConfig::default());
    let paid = card::run(&mut r.ledger, &mut r.till, CardOp::Pay, 1700, "sale-17").unwrap();
    let Outcome::Approved(a) = paid.outcome else { panic!("{paid:?}") };
    // 10017 in two BCD bytes would be 00 17: this payment's receipt if it were 17.
    let wide = a.receipt_no + 10_000;
    let refused = card::run(&mut r.ledger, &mut r.till, CardOp::Reverse(wide), 1700, "void");
    assert!(matches!(refused, Err(card::CardError::ReceiptNumber(n)) if n == wide), "{refused:?}");
    assert!(refused.unwrap_err().localized("en").contains("1–9999"));
    assert_eq!(r.ledger.card_results().unwrap().len(), 2, "no intent, no result for it");
    assert!(r.ledger.open_card_intents().unwrap().is_empty());
    let (_, pt) = finish(r);
    assert!(!pt.batch[0].reversed, "the payment stands");
}
