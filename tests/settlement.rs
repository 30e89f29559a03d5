//! Settlement against the ZVT terminal emulator over pseudo-terminal pairs and a real ledger: the Z
//! reconciles the terminal's end-of-day totals with the ledger to the cent, names a payment the
//! terminal reversed by itself, survives a refused end-of-day, and closes a day exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::Duration;
use till::terminal::line::{LineSpeed, SimulatedLine};

use chrono::Utc;
use serialport::TTYPort;
use till::card::{self, CardOp};
use till::catalog::Catalog;
use till::config::StoreSettings;
use till::dayclose::{self, Cause, CloseError, ReportKind};
use till::ledger::{CashDirection, Ledger, LedgerError, PostContext};
use till::money::Money;
use till::simulate::{self, Rng};
use till::terminal::emulator::{Control, Emulator, EmulatorConfig, Scenario};
use till::terminal::zvt::session::Session;
use till::terminal::zvt::transport::{SerialTransport, Timers};
use till::terminal::{ExpectedIdentity, Outcome, PaymentTerminal, TerminalError, ZvtTerminal};

/// The demo manager's approval for settlement (hashed once: argon2 is slow on purpose).
fn manager() -> &'static till::auth::Approval {
    static APPROVAL: std::sync::OnceLock<till::auth::Approval> = std::sync::OnceLock::new();
    APPROVAL.get_or_init(|| {
        let users = till::auth::demo_users();
        till::auth::approve(&users[1], till::auth::DEMO_MANAGER_PIN, till::auth::Permission::Settlement).unwrap()
    })
}

struct Shop {
    ledger: Ledger,
    terminal: ZvtTerminal<SerialTransport<TTYPort>>,
    controls: Sender<Control>,
    catalog: Catalog,
    store: StoreSettings,
    rng: Rng,
    stop: Arc<AtomicBool>,
    /// Between the till and the emulator: a line at 9600 baud 8N2.
    _line: SimulatedLine,
    _dir: tempfile::TempDir,
}

impl Drop for Shop {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Timers with room for a loaded machine (a CI run's card payment once missed a 500 ms T2):
/// nothing here waits for one to expire.
fn timers() -> Timers {
    Timers { t2: Duration::from_secs(2), t3: Duration::from_secs(5), t4: Duration::from_secs(5), ..Timers::default() }
}

fn shop() -> Shop {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreSettings::demo();
    let mut ledger = Ledger::open(&dir.path().join("ledger.db"), "R1", store.currency).unwrap();
    let catalog = till::demo::load_catalog(&mut ledger, &store, true).unwrap();
    let (ecr, pt, line) = SimulatedLine::open(LineSpeed::ZVT).unwrap();
    let (controls, rx) = std::sync::mpsc::channel();
    let config = EmulatorConfig { card_delay: Duration::from_millis(10), ..EmulatorConfig::default() };
    let mut emulator = Emulator::new(SerialTransport::new(pt, timers()), config, Some(dir.path().join("pt.state")))
        .unwrap()
        .with_controls(rx);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || emulator.run(Duration::from_millis(20), &|| !flag.load(Ordering::SeqCst)));
    let terminal =
        ZvtTerminal::new(Session::new(SerialTransport::new(ecr, timers())), 123456, 156, ExpectedIdentity::default());
    Shop { ledger, terminal, controls, catalog, store, rng: Rng::new(11), stop, _line: line, _dir: dir }
}

impl Shop {
    /// One random basket, paid by card (true) or in cash; returns its receipt number.
    fn sell(&mut self, by_card: bool) -> i64 {
        let settings = self.store.sale_settings();
        let mut sale = simulate::random_basket(&self.catalog, &settings, &mut self.rng).unwrap();
        let id = self.ledger.save_in_progress(None, "test", &sale, Utc::now()).unwrap();
        if by_card {
            assert!(simulate::pay_card(&mut sale, id, &mut self.ledger, &mut self.terminal).unwrap());
        } else {
            simulate::pay_cash(&mut sale, &mut self.rng).unwrap();
        }
        let ctx = PostContext { cashier: "c1".into(), training: false };
        self.ledger.post_in_progress(id, &mut sale, &ctx, Utc::now()).unwrap().receipt_no
    }

    /// Refunds a whole card sale of today by reversal at the terminal.
    fn reverse(&mut self, receipt_no: i64) {
        let original = self.ledger.original_sale(receipt_no).unwrap();
        let record = self.ledger.sale_by_receipt(receipt_no).unwrap();
        let card = record.payments.iter().find(|p| p.kind == "card").unwrap();
        let (card_receipt, card_amount) = (card.card_receipt.unwrap(), card.amount as u64);
        let mut refund = till::sale::Sale::new_refund(self.store.sale_settings(), &original);
        for line in &original.lines {
            refund.add_refund_line(&original, line.line_no, line.quantity).unwrap();
        }
        refund.begin_payment().unwrap();
        let paid = card::run(
            &mut self.ledger,
            &mut self.terminal,
            CardOp::Reverse(card_receipt as u16),
            card_amount,
            "reversal",
        )
        .unwrap();
        let Outcome::Approved(a) = paid.outcome else { panic!("{:?}", paid.outcome) };
        let amount = refund.remaining();
        refund.tender_card(amount, card::sale_payment(&a)).unwrap();
        let ctx = PostContext { cashier: "c1".into(), training: false };
        self.ledger.post_sale(&mut refund, &ctx, Utc::now()).unwrap();
    }

    fn mixed_day(&mut self) -> Vec<i64> {
        let mut card_receipts = Vec::new();
        for i in 0..12 {
            let receipt = self.sell(i % 3 == 0);
            if i % 3 == 0 {
                card_receipts.push(receipt);
            }
        }
        self.reverse(card_receipts[1]);
        let money = |s: &str| Money::parse(s, self.store.currency).unwrap();
        self.ledger.post_cash_movement(CashDirection::In, money("200"), "change", "mgr", Utc::now()).unwrap();
        self.ledger.post_cash_movement(CashDirection::Out, money("150"), "bank drop", "mgr", Utc::now()).unwrap();
        card_receipts
    }
}

#[test]
fn a_mixed_day_closes_with_terminal_and_ledger_agreeing_to_the_cent() {
    let mut shop = shop();
    shop.mixed_day();
    let x = dayclose::x_report(&shop.ledger, 1, 1, false, Utc::now()).unwrap();
    assert_eq!(x.kind, ReportKind::X);
    // The core refuses a Z without a manager's approval for settlement.
    let users = till::auth::demo_users();
    let other = till::auth::approve(&users[1], till::auth::DEMO_MANAGER_PIN, till::auth::Permission::NoSale).unwrap();
    let refused = dayclose::close_day(&mut shop.ledger, &mut shop.terminal, &other, false, None, Utc::now());
    assert!(matches!(refused, Err(CloseError::NotPermitted)), "{refused:?}");
    let z = dayclose::close_day(&mut shop.ledger, &mut shop.terminal, manager(), false, None, Utc::now()).unwrap();
    let rec = z.reconciliation.as_ref().unwrap();
    assert!(rec.agrees(), "{rec:#?}");
    assert!(!rec.families.is_empty());
    let close = z.close.as_ref().unwrap();
    assert_eq!((close.z_no, close.net_minor, close.grand_total_minor), (1, x.figures.net, x.figures.net));
    let without_entries = |f: &till::ledger::DayFigures| till::ledger::DayFigures { entries: Vec::new(), ..f.clone() };
    assert_eq!(without_entries(&z.figures), without_entries(&x.figures), "the Z says what the X said");
    assert_eq!(z.figures.entries_of("terminal_eod"), 1);
    // The closed day's figures are kept with its Z: a report now reads them, and says the same.
    let again = dayclose::x_report(&shop.ledger, 1, 1, false, Utc::now()).unwrap();
    assert_eq!(again.figures, z.figures);
    assert_eq!(again.kind, ReportKind::Z);
    assert!(z.flags.iter().any(|f| matches!(f, dayclose::RiskFlag::CardRefund { .. })));
    // The day is closed; the next sale opens day 2, and its Z carries the grand total on.
    assert_eq!(shop.ledger.current_day().unwrap(), None);
    shop.sell(false);
    assert_eq!(shop.ledger.current_day().unwrap().unwrap().day_no, 2);
    let z2 = dayclose::close_day(&mut shop.ledger, &mut shop.terminal, manager(), false, None, Utc::now()).unwrap();
    let close2 = z2.close.unwrap();
    assert_eq!((close2.z_no, close2.grand_total_minor), (2, close.grand_total_minor + close2.net_minor));
    assert!(shop.ledger.verify().unwrap().problems.is_empty());
}

#[test]
fn a_payment_the_terminal_reversed_by_itself_is_exactly_the_difference() {
    let mut shop = shop();
    shop.mixed_day();
    let last_card = shop.sell(true);
    shop.controls.send(Control::ReverseLast).unwrap();
    let amount = shop.ledger.sale_by_receipt(last_card).unwrap().total;
    // A difference closes the day only on a manager's note, journaled.
    assert!(matches!(
        dayclose::close_day(&mut shop.ledger, &mut shop.terminal, manager(), false, None, Utc::now()),
        Err(CloseError::DifferenceNeedsNote)
    ));
    assert!(shop.ledger.current_day().unwrap().is_some(), "the day stays open");
    let note = Some("host reversed receipt on its own; customer called");
    let z = dayclose::close_day(&mut shop.ledger, &mut shop.terminal, manager(), false, note, Utc::now()).unwrap();
    let conn = rusqlite::Connection::open(shop.ledger.path()).unwrap();
    let noted: String = conn
        .query_row("SELECT CAST(payload AS TEXT) FROM journal WHERE kind = 'z_difference_note'", [], |r| r.get(0))
        .unwrap();
    assert!(noted.contains("note=host reversed receipt") && noted.contains("by=李经理"), "{noted}");
    let rec = z.reconciliation.unwrap();
    let differences: Vec<_> = rec.differences().collect();
    assert_eq!(differences.len(), 1, "{rec:#?}");
    let d = differences[0];
    assert_eq!((d.ledger.1 - d.terminal.1, d.ledger.0 - d.terminal.0), (amount, 1));
    assert_eq!(d.cause, Some(Cause::ReversedByTerminal { receipt_no: last_card }));
}

#[test]
fn a_refused_end_of_day_leaves_the_day_open_and_the_retry_closes_it() {
    let mut shop = shop();
    shop.mixed_day();
    shop.controls.send(Control::Scenario(Scenario::EndOfDayFails)).unwrap();
    let failed = dayclose::close_day(&mut shop.ledger, &mut shop.terminal, manager(), false, None, Utc::now());
    assert!(
        matches!(failed, Err(CloseError::Terminal(TerminalError::Aborted(0x9B) | TerminalError::Refused(0x9B)))),
        "{failed:?}"
    );
    assert_eq!(shop.ledger.current_day().unwrap().unwrap().day_no, 1, "the day stays open");
    assert_eq!(shop.ledger.day_close(1).unwrap(), None);
    let z = dayclose::close_day(&mut shop.ledger, &mut shop.terminal, manager(), false, None, Utc::now()).unwrap();
    assert!(z.reconciliation.unwrap().agrees());
    assert_eq!(z.close.unwrap().z_no, 1);
}

#[test]
fn a_z_stopped_after_the_terminal_closed_its_batch_is_finished_with_the_kept_totals() {
    let mut shop = shop();
    shop.mixed_day();
    // The terminal closes its batch and the totals are kept; then the till stops (power cut).
    let eod = shop.terminal.end_of_day().unwrap();
    shop.ledger.post_terminal_eod(&dayclose::terminal_totals(&eod), &dayclose::eod_kept(&eod), Utc::now()).unwrap();
    // The retry does not ask the (now empty) batch again: the totals still agree.
    let z = dayclose::close_day(&mut shop.ledger, &mut shop.terminal, manager(), false, None, Utc::now()).unwrap();
    assert!(z.reconciliation.unwrap().agrees());
}

#[test]
fn a_day_is_closed_once_and_takes_nothing_after() {
    let mut shop = shop();
    shop.sell(false);
    dayclose::close_day(&mut shop.ledger, &mut shop.terminal, manager(), false, None, Utc::now()).unwrap();
    assert!(matches!(
        dayclose::close_day(&mut shop.ledger, &mut shop.terminal, manager(), false, None, Utc::now()),
        Err(CloseError::Ledger(LedgerError::NoDayOpen))
    ));
    let head = shop.ledger.head().unwrap().unwrap().seq;
    assert!(matches!(shop.ledger.post_day_close(1, &[], head, Utc::now()), Err(LedgerError::DayClosed(1))));
    // Figures computed before the newest entry are refused: they would miss it.
    assert!(matches!(shop.ledger.post_day_close(1, &[], head - 1, Utc::now()), Err(LedgerError::ChangedMeanwhile)));
    // Beneath the API: the ledger's own trigger refuses any entry dated in the closed day.
    let db = rusqlite::Connection::open(shop.ledger.path()).unwrap();
    let err = db
        .execute(
            "INSERT INTO journal(seq, register, kind, day_no, recorded_at, payload, prev_hash, hash) \
             VALUES (999, 'R1', 'audit', 1, 'now', x'', zeroblob(32), zeroblob(32))",
            [],
        )
        .unwrap_err();
    assert!(err.to_string().contains("the business day is closed"), "{err}");
    assert_eq!(shop.ledger.days().unwrap()[0].z_no, Some(1));
}

#[test]
fn a_drawer_count_beyond_the_limit_needs_a_note() {
    let mut shop = shop();
    shop.mixed_day();
    let currency = shop.store.currency;
    let expected = shop.ledger.day_figures(1, 1, false).unwrap().expected_cash();
    let hundred = Money::parse("100", currency).unwrap();
    let limit = Money::parse("10", currency).unwrap();
    let few = (expected / 10_000) as u32;
    // Short by more than the limit: refused without a note, nothing posted.
    let short = [(hundred, few.saturating_sub(1))];
    let refused = dayclose::count_drawer(
        &mut shop.ledger,
        &dayclose::Count { denominations: &short, blind: true, note: " ", limit },
        manager(),
        false,
        Utc::now(),
    );
    assert!(matches!(refused, Err(CloseError::NoteNeeded)), "{refused:?}");
    assert_eq!(shop.ledger.drawer_count(1).unwrap(), None);
    let notes = [(hundred, few)];
    let count = dayclose::Count { denominations: &notes, blind: true, note: "counted twice", limit };
    let record = dayclose::count_drawer(&mut shop.ledger, &count, manager(), false, Utc::now()).unwrap();
    assert_eq!(record.expected_minor, expected);
    assert_eq!(record.counted_minor, i64::from(few) * 10_000);
    let x = dayclose::x_report(&shop.ledger, 1, 1, false, Utc::now()).unwrap();
    assert_eq!(x.count.unwrap().counted_minor, record.counted_minor);
}

#[test]
fn a_z_row_edited_behind_its_entry_is_named_by_verify() {
    let mut shop = shop();
    shop.sell(false);
    dayclose::close_day(&mut shop.ledger, &mut shop.terminal, manager(), false, None, Utc::now()).unwrap();
    assert!(shop.ledger.verify().unwrap().problems.is_empty());
    let db = rusqlite::Connection::open(shop.ledger.path()).unwrap();
    db.execute_batch(
        "DROP TRIGGER day_closes_no_update; UPDATE day_closes SET grand_total_minor = grand_total_minor + 100000;",
    )
    .unwrap();
    let report = shop.ledger.verify().unwrap();
    assert!(
        report.problems.iter().any(|p| p.kind == till::ledger::ProblemKind::SettlementDiffers),
        "{:?}",
        report.problems
    );
}

#[test]
fn the_z_as_pdf_embeds_the_font_and_as_paper_decodes_in_the_emulator() {
    let mut shop = shop();
    shop.mixed_day();
    let z = dayclose::close_day(&mut shop.ledger, &mut shop.terminal, manager(), false, None, Utc::now()).unwrap();
    let mut steps = Vec::new();
    let pdf = dayclose::pdf::pdf(&z, "示例便利店", "zh-CN", &mut |p| steps.push(p)).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let has = |needle: &[u8]| pdf.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"/FontFile"), "the font is embedded");
    assert!(pdf.len() < 400_000, "only the glyphs used, not the 5 MB font: {} bytes", pdf.len());
    assert_eq!(steps.last().copied(), Some(1.0));
    // On paper: through the real encoder into the emulator's decoder.
    let doc = dayclose::output::document(&z, "Demo", "R1", till::printer::profile::Profile::generic(80), "zh-CN");
    let bytes = till::printer::escpos::encode(&doc).unwrap();
    let mut decoder = till::printer::emulator::Decoder::new(till::printer::profile::Profile::generic(80));
    decoder.feed(&bytes);
    let paper = decoder.text.clone();
    assert!(paper.contains("Z 报表 第 1 号") || paper.contains("Z 报表"), "{paper}");
    assert!(paper.contains("终端与收银台一致"), "{paper}");
    assert!(paper.contains("累计总额"), "{paper}");
}

#[test]
fn the_z_refuses_while_a_card_payment_or_a_sale_in_progress_is_open() {
    let mut shop = shop();
    shop.sell(false);
    let settings = shop.store.sale_settings();
    let mut cart = simulate::random_basket(&shop.catalog, &settings, &mut shop.rng).unwrap();
    let id = shop.ledger.save_in_progress(None, "counter", &cart, Utc::now()).unwrap();
    let refused = dayclose::close_day(&mut shop.ledger, &mut shop.terminal, manager(), false, None, Utc::now());
    assert!(matches!(&refused, Err(CloseError::OpenWork(what)) if what.contains("sale in progress")), "{refused:?}");
    simulate::pay_cash(&mut cart, &mut shop.rng).unwrap();
    let ctx = PostContext { cashier: "c1".into(), training: false };
    shop.ledger.post_in_progress(id, &mut cart, &ctx, Utc::now()).unwrap();
    let open = shop.ledger.begin_card_intent("pay", 100, "sip:999", None, Utc::now()).unwrap();
    let refused = dayclose::close_day(&mut shop.ledger, &mut shop.terminal, manager(), false, None, Utc::now());
    let expected = format!("card payment {}", open.intent_id);
    assert!(matches!(&refused, Err(CloseError::OpenWork(what)) if what.contains(&expected)), "{refused:?}");
    assert!(shop.ledger.current_day().unwrap().is_some(), "the day stays open");
}

#[test]
fn a_split_payment_is_refunded_as_it_was_paid() {
    let mut shop = shop();
    let settings = shop.store.sale_settings();
    let mut sale = simulate::random_basket(&shop.catalog, &settings, &mut shop.rng).unwrap();
    let total = sale.remaining();
    let cash = Money::from_minor(total.minor() / 3, total.currency()).unwrap();
    sale.tender_cash(cash).unwrap();
    let id = shop.ledger.save_in_progress(None, "test", &sale, Utc::now()).unwrap();
    assert!(simulate::pay_card(&mut sale, id, &mut shop.ledger, &mut shop.terminal).unwrap());
    let ctx = PostContext { cashier: "c1".into(), training: false };
    let receipt = shop.ledger.post_in_progress(id, &mut sale, &ctx, Utc::now()).unwrap().receipt_no;
    let card_paid = total.minor() - cash.minor();
    let balance = shop.ledger.tender_balance(receipt).unwrap();
    assert_eq!((balance.card_paid, balance.cash_paid, balance.card_refunded), (card_paid, cash.minor(), 0));

    let original = shop.ledger.original_sale(receipt).unwrap();
    let refund_all = || {
        let mut r = till::sale::Sale::new_refund(shop.store.sale_settings(), &original);
        for line in &original.lines {
            r.add_refund_line(&original, line.line_no, line.quantity).unwrap();
        }
        r.begin_payment().unwrap();
        r
    };
    // The whole refund to the card: more than the card paid, refused by the ledger itself.
    let mut to_card = refund_all();
    let card = till::sale::CardPayment { masked_pan: "541021******9012".into(), ..Default::default() };
    to_card.tender_card(to_card.remaining(), card.clone()).unwrap();
    let refused = shop.ledger.post_sale(&mut to_card, &ctx, Utc::now());
    assert!(matches!(refused, Err(LedgerError::CardRefundExceedsPaid { .. })), "{refused:?}");
    // Nor back by scan code, which paid nothing on it.
    let mut by_scan_code = refund_all();
    let due = by_scan_code.remaining();
    by_scan_code.tender_external(till::sale::ExternalMethod::ScanCode, "ALIREFUND1", due).unwrap();
    let refused = shop.ledger.post_sale(&mut by_scan_code, &ctx, Utc::now());
    assert!(matches!(refused, Err(LedgerError::OtherRefundExceedsPaid { .. })), "{refused:?}");
    assert_eq!(shop.ledger.tender_balance(receipt).unwrap().other_refunded, 0, "nothing booked");

    // The counter offers the card its own part, and the cash its own part without a manager.
    let store = StoreSettings::demo();
    let catalog = Arc::new(till::demo::demo_catalog(&store).unwrap());
    let mut counter = till::counter::Counter::new(store, catalog);
    let record = shop.ledger.sale_by_receipt(receipt).unwrap();
    let source = till::counter::RefundSource {
        original: original.clone(),
        record,
        today: shop.ledger.current_day().unwrap().map(|d| d.day_no),
        card_left: card_paid,
        other_left: 0,
        cash_left: cash.minor(),
    };
    counter.open_refund(source).unwrap();
    let all: Vec<_> = original.lines.iter().map(|l| (l.line_no, l.quantity)).collect();
    let refund_approval =
        till::auth::approve(&till::auth::demo_users()[1], till::auth::DEMO_MANAGER_PIN, till::auth::Permission::Refund)
            .unwrap();
    counter.refund_lines(&all, Some(&refund_approval)).unwrap();
    // The same day and the card's whole part: a reversal of exactly that payment.
    let card_receipt = shop.ledger.sale_by_receipt(receipt).unwrap().payments[1].card_receipt.unwrap();
    assert_eq!(
        counter.card_refund(),
        Some(till::counter::CardRefund::Reverse {
            terminal_receipt: card_receipt as u16,
            amount_minor: card_paid as u64
        }),
        "the card gets back what it paid, not the whole refund"
    );
    let back = till::terminal::CardApproval {
        amount_minor: card_paid as u64,
        masked_pan: "541021******9012".into(),
        receipt_no: card_receipt as u16,
        trace: 99,
        ..Default::default()
    };
    counter.tender_card(&back).unwrap();
    assert_eq!(counter.sale().remaining().minor(), -cash.minor(), "the cash part is left");
    assert_eq!(counter.refund_cash(false, None).unwrap(), cash, "cash back up to what cash paid, no manager");
    assert_eq!(counter.sale().state(), till::sale::SaleState::Paid);
}

#[test]
fn an_end_of_day_with_only_its_total_closes_the_z_against_that_total_and_keeps_its_receipt() {
    let mut shop = shop();
    // Registered with the config byte that asks for the terminal's receipts as print lines.
    shop.terminal.register().unwrap();
    shop.mixed_day();
    shop.controls.send(Control::Scenario(Scenario::EndOfDayTotalOnly)).unwrap();
    let z = dayclose::close_day(&mut shop.ledger, &mut shop.terminal, manager(), false, None, Utc::now()).unwrap();
    let rec = z.reconciliation.unwrap();
    assert!(rec.agrees(), "{rec:#?}");
    assert_eq!(rec.families.len(), 1);
    assert_eq!(rec.families[0].family, dayclose::ALL_CARDS);
    assert_eq!(rec.families[0].terminal.0, -1, "no count was sent");
    let receipts = shop.ledger.terminal_eod_receipts(1).unwrap();
    assert_eq!(receipts.len(), 1, "the terminal's end-of-day receipt is kept with its totals");
    assert!(receipts[0].iter().any(|l| l.starts_with("TOTAL")), "{receipts:?}");
    assert!(shop.ledger.verify().unwrap().problems.is_empty());
}

#[test]
fn an_end_of_day_that_only_prints_its_totals_closes_the_z_against_the_printed_total() {
    let mut shop = shop();
    shop.terminal.register().unwrap();
    shop.mixed_day();
    // Neither BMP 60 nor 04: the total is on the terminal's end-of-day receipt only.
    shop.controls.send(Control::Scenario(Scenario::EndOfDayPrintOnly)).unwrap();
    let z = dayclose::close_day(&mut shop.ledger, &mut shop.terminal, manager(), false, None, Utc::now()).unwrap();
    let rec = z.reconciliation.unwrap();
    assert!(rec.agrees(), "the printed total is the ledger's card sales: {rec:#?}");
    assert_eq!(rec.families.len(), 1);
    assert_eq!(rec.families[0].family, dayclose::ALL_CARDS);
    assert!(rec.families[0].terminal.1 > 0, "{rec:#?}");
    assert_eq!(rec.families[0].terminal.1, rec.families[0].ledger.1);
}

#[test]
fn an_end_of_day_whose_answer_was_lost_is_never_asked_twice() {
    let mut shop = shop();
    shop.mixed_day();
    shop.controls.send(Control::Scenario(Scenario::EndOfDayAnswerLost)).unwrap();
    let lost = dayclose::close_day(&mut shop.ledger, &mut shop.terminal, manager(), false, None, Utc::now());
    assert!(matches!(lost, Err(CloseError::Terminal(TerminalError::NoAnswer))), "{lost:?}");
    assert!(shop.ledger.current_day().unwrap().is_some(), "the day stays open");
    // A card sale meanwhile: still no second end-of-day for this Z (it would hold that sale only).
    shop.sell(true);
    // The terminal closed its batch; asking again would give an empty one and a false
    // difference. The retry takes the totals as unknown and closes only on a manager's note.
    let again = dayclose::close_day(&mut shop.ledger, &mut shop.terminal, manager(), false, None, Utc::now());
    assert!(matches!(again, Err(CloseError::DifferenceNeedsNote)), "{again:?}");
    let note = Some("terminal receipt checked: 2 card payments, as the ledger");
    let z = dayclose::close_day(&mut shop.ledger, &mut shop.terminal, manager(), false, note, Utc::now()).unwrap();
    let rec = z.reconciliation.unwrap();
    assert_eq!(rec.families[0].cause, Some(Cause::TerminalTotalsUnknown));
    assert_eq!(z.figures.entries_of("terminal_eod_started"), 1, "one end-of-day sent for this Z");
    assert!(shop.ledger.verify().unwrap().problems.is_empty());
}

#[test]
fn a_till_stopped_while_the_end_of_day_ran_does_not_send_a_second_one() {
    let mut shop = shop();
    shop.mixed_day();
    // The mark is written before the command goes out; then the power went.
    shop.ledger.post_eod_started(Utc::now()).unwrap();
    // The terminal would answer a second end-of-day with a batch it may already have closed:
    // no second one goes out (the emulator's batch is untouched).
    shop.controls.send(Control::Scenario(Scenario::EndOfDayFails)).unwrap();
    let note = Some("checked against the terminal's receipt");
    let z = dayclose::close_day(&mut shop.ledger, &mut shop.terminal, manager(), false, note, Utc::now()).unwrap();
    assert_eq!(z.reconciliation.unwrap().families[0].cause, Some(Cause::TerminalTotalsUnknown));
    assert_eq!(z.figures.entries_of("terminal_eod_started"), 1);
    // Had a second end-of-day gone out, the EndOfDayFails scenario would have refused it and
    // payments would now be refused with F0: they are not.
    assert!(shop.sell(true) > 0);
}
