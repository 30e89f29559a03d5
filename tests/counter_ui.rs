//! The counter's main flows, driven headless with iced_test against the real devices of training
//! mode: the ZVT terminal emulator and the ESC/POS printer emulator on pseudo-terminal pairs, and a
//! real ledger file. Clicks and keystrokes go through `iced_test`'s simulator; the jobs the screen
//! starts (the workers' streams) are drained here as iced would run them.

use std::sync::mpsc::Sender;
use std::time::Duration;

use iced::futures::executor::block_on_stream;
use iced::keyboard::key::Named;
use till::auth::demo_users;
use till::config::StoreSettings;
use till::counter::Counter;
use till::ledger::Ledger;
use till::sale::SaleState;
use till::terminal::emulator::{Control, EmulatorConfig, EmulatorState, Scenario};
use till::terminal::zvt::transport::Timers;
use till::ui::{
    CASH_FIELD, CardState, Devices, Message, Notice, PIN_FIELD, PrinterState, SCAN_FIELD, Screen, Till, shortcut,
};

struct Counter_ {
    till: Till,
    terminal: Sender<Control>,
    dir: tempfile::TempDir,
}

fn store() -> StoreSettings {
    StoreSettings { receipt_locale: "en".into(), void_approval_over: rust_decimal::dec!(20), ..StoreSettings::demo() }
}

fn open(card_delay: Duration) -> Counter_ {
    open_in(tempfile::tempdir().unwrap(), card_delay)
}

/// The till opened on this data directory (again, after a window was closed).
fn open_in(dir: tempfile::TempDir, card_delay: Duration) -> Counter_ {
    let store = store();
    let config = EmulatorConfig { card_delay, ..EmulatorConfig::default() };
    // Short line timers: a lost acknowledgement costs the tests 3 × 300 ms, not 3 × 5 s.
    let timers = Timers { t2: Duration::from_millis(300), t3: Duration::from_secs(2), ..Timers::default() };
    let devices = Devices::training_with(dir.path(), &store, config, timers).unwrap();
    let terminal = devices.training.as_ref().unwrap().terminal.clone();
    let catalog = devices.catalog.clone();
    let counter = Counter::new(store, catalog);
    let mut c = Counter_ { till: Till::new("en", true, counter, demo_users(), devices), terminal, dir };
    let jobs = c.till.start();
    c.drain(jobs);
    c
}

mod common;

use common::Driver;

impl Driver for Counter_ {
    fn till(&self) -> &Till {
        &self.till
    }

    fn till_mut(&mut self) -> &mut Till {
        &mut self.till
    }
}

impl Counter_ {
    fn key(&mut self, key: Named) {
        self.send(shortcut(key).unwrap());
    }

    fn sign_in(&mut self) {
        assert_eq!(self.till.screen(), Screen::SignIn);
        self.click("王芳 Wang Fang");
        self.enter(PIN_FIELD, "1234");
        let paying = matches!(self.till.counter().sale().state(), SaleState::Tendering | SaleState::Paid);
        let expected = if paying { Screen::Payment } else { Screen::Sale };
        assert_eq!(self.till.screen(), expected, "{:?}", self.till.notice());
    }

    /// After a restart the till opens on sign-in again.
    fn sign_in_again(&mut self) {
        if self.till.screen() == Screen::SignIn {
            self.sign_in();
        }
    }

    fn scan(&mut self, code: &str) {
        self.enter(SCAN_FIELD, code);
    }

    /// The demo manager approves what is asked (the demo store wants one for every refund).
    fn manager_approves(&mut self) {
        self.click("李经理 Manager Li");
        self.enter(till::ui::APPROVAL_PIN_FIELD, "9999");
    }

    fn ledger(&self) -> Ledger {
        Ledger::open_read_only(&self.dir.path().join("ledger.db")).unwrap()
    }

    fn error(&self) -> Option<String> {
        match self.till.notice() {
            Some(Notice::Error(e)) => Some(e.clone()),
            _ => None,
        }
    }
}

fn fast() -> Counter_ {
    open(Duration::from_millis(50))
}

#[test]
fn sign_in_scan_three_items_pay_cash_and_the_receipt_prints() {
    let mut c = fast();
    assert!(c.sees("TRAINING — practice sales, kept apart · demo PINs: cashier 1234, manager 9999"));
    // A wrong PIN first: refused, still on sign-in.
    c.click("李经理 Manager Li");
    c.enter(PIN_FIELD, "1111");
    assert_eq!(c.till.screen(), Screen::SignIn);
    assert_eq!(c.error().as_deref(), Some("Wrong PIN"));
    c.sign_in();

    c.scan("6912345000376"); // water 2.00
    c.scan("3*DRK003"); // three colas 3 × 3.50
    c.scan("6912345001489"); // Pepsi 3.50
    assert_eq!(c.till.counter().sale().lines().len(), 3);
    assert!(c.sees("¥16.00"));
    c.click("F12 Pay");
    assert_eq!(c.till.screen(), Screen::Payment);
    c.enter(CASH_FIELD, "50");

    assert_eq!(c.till.screen(), Screen::Sale);
    assert_eq!(c.till.last_change().map(|m| m.to_string()).as_deref(), Some("34.00"));
    assert!(c.sees("¥34.00"), "the change is shown");
    assert!(c.till.counter().sale().lines().is_empty(), "ready for the next customer");
    assert_eq!(c.till.last_receipt(), Some(1));
    let paper = c.till.paper().last().expect("the emulator printed the receipt").clone();
    for expected in ["Nongfu Spring water", "Coca-Cola", "Pepsi", "16.00", "34.00", "[BARCODE R1-00000001]", "[CUT]"] {
        assert!(paper.contains(expected), "{expected:?} missing from\n{paper}");
    }
    let sale = c.ledger().sale_by_receipt(1).unwrap();
    assert_eq!((sale.total, sale.training, sale.payments[0].kind.as_str()), (1600, true, "cash"));
    assert!(c.ledger().verify().unwrap().problems.is_empty());
}

#[test]
fn a_card_payment_is_approved_and_the_merchant_copy_prints() {
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003");
    c.key(Named::F12);
    c.click("F12 Card");
    assert_eq!(c.till.screen(), Screen::Sale, "{:?}", c.till.notice());
    let sale = c.ledger().sale_by_receipt(1).unwrap();
    assert_eq!(sale.payments[0].kind, "card");
    assert!(sale.payments[0].masked_pan.as_deref().unwrap().contains('*'));
    // The sale's receipt, then the terminal's own receipts as it sent them in print lines: the
    // customer's card slip and the merchant's copy with the signature line.
    assert_eq!(c.till.paper().len(), 3, "receipt, the terminal's customer and merchant slips");
    assert!(c.till.paper()[1].contains("CUSTOMER RECEIPT"), "{}", c.till.paper()[1]);
    let copy = &c.till.paper()[2];
    assert!(copy.contains("MERCHANT RECEIPT") && copy.contains("Signature"), "{copy}");
    assert!(copy.contains(sale.payments[0].masked_pan.as_deref().unwrap()), "{copy}");
}

#[test]
fn a_declined_card_is_then_paid_in_cash() {
    let mut c = fast();
    c.sign_in();
    c.scan("DRK001");
    c.key(Named::F12);
    c.terminal.send(Control::Scenario(Scenario::Decline(0x05))).unwrap();
    c.click("F12 Card");
    assert_eq!(c.till.screen(), Screen::Payment);
    let error = c.error().unwrap();
    assert!(error.starts_with("Card declined"), "{error}");
    assert_eq!(c.till.counter().sale().state(), SaleState::Tendering);
    c.click("Exact");
    assert_eq!(c.till.screen(), Screen::Sale);
    assert!(c.error().is_none(), "the decline is no longer the news: {:?}", c.till.notice());
    let sale = c.ledger().sale_by_receipt(1).unwrap();
    assert_eq!((sale.payments.len(), sale.payments[0].kind.as_str()), (1, "cash"));
    let results = c.ledger().card_results().unwrap();
    assert_eq!(results.last().unwrap().outcome, "declined");
}

#[test]
fn the_customer_stops_a_card_payment_on_the_terminal_and_nothing_is_charged() {
    // The customer takes a while with the card, then stops the payment on the terminal.
    let mut c = open(Duration::from_secs(4));
    c.sign_in();
    c.scan("DRK003");
    c.key(Named::F12);
    let mut jobs = c.till.handle(Message::Payment(till::ui::payment::Msg::Card));
    assert!(matches!(c.till.card_state(), CardState::Running(_)));
    let mut stream = block_on_stream(jobs.remove(0));
    // The sale is kept in the ledger before the terminal hears of the payment.
    let kept = stream.next().unwrap();
    assert!(matches!(kept, Message::InProgress(_)), "{kept:?}");
    c.send(kept);
    assert!(c.till.counter().in_progress().is_some());
    // The terminal's first status text arrives while it waits for the card.
    let first = stream.next().unwrap();
    assert!(matches!(first, Message::CardStatus(_)), "{first:?}");
    c.send(first);
    assert!(c.sees("Abort"));
    // No abort goes to a terminal that is master (PA00P015 §2.23): the cashier is told to
    // have the customer press Stop on the terminal, and the customer does.
    c.click("Abort");
    assert!(format!("{:?}", c.till.notice()).contains("press Stop"), "{:?}", c.till.notice());
    c.terminal.send(Control::Scenario(Scenario::StopKey)).unwrap();
    for message in stream {
        c.send(message);
    }
    assert_eq!(*c.till.card_state(), CardState::Idle);
    let error = c.error().unwrap();
    assert!(error.starts_with("Card payment stopped"), "{error}");
    assert_eq!(c.till.counter().sale().state(), SaleState::Tendering);
    assert!(c.till.counter().sale().tenders().is_empty());
    assert_eq!(c.ledger().card_results().unwrap().last().unwrap().outcome, "aborted");
    // And the customer pays cash instead.
    c.enter(CASH_FIELD, "");
    assert_eq!(c.till.screen(), Screen::Sale);
}

#[test]
fn a_parked_sale_is_resumed_after_another_customer() {
    let mut c = fast();
    c.sign_in();
    c.scan("2*DRK001");
    c.click("F6 Park");
    assert!(c.till.counter().sale().lines().is_empty());
    c.scan("DRK003");
    c.key(Named::F12);
    c.click("Exact");
    c.click("F7 Parked");
    c.click("1: 1 lines, ¥4.00");
    assert_eq!(c.till.counter().sale().totals().total.to_string(), "4.00");
    assert!(c.till.counter().parked().is_empty());
    c.key(Named::F12);
    c.click("Exact");
    assert_eq!(c.ledger().sale_by_receipt(1).unwrap().total, 350, "the other customer came first");
    assert_eq!(c.ledger().sale_by_receipt(2).unwrap().total, 400);
}

#[test]
fn a_refund_by_the_receipts_barcode_pays_back_the_cash() {
    let mut c = fast();
    c.sign_in();
    c.scan("6912345000376");
    c.scan("2*DRK003");
    c.key(Named::F12);
    c.click("Exact");
    // The code the receipt carries, as the scanner reads it off the paper.
    let paper = c.till.paper().last().unwrap().clone();
    let code = paper.lines().find_map(|l| l.strip_prefix("[BARCODE ")).unwrap().trim_end_matches(']').to_string();
    c.scan(&code);
    assert_eq!(c.till.screen(), Screen::Refund, "{:?}", c.till.notice());
    assert_eq!(c.till.counter().refund_source().map(|s| s.record.receipt_no), Some(1));
    // One cola back.
    let cola = c.till.counter().refund_source().unwrap().original.lines[1].line_no;
    c.send(Message::Refund(till::ui::refund::Msg::RefundQuantity(cola, rust_decimal::Decimal::ONE)));
    c.click("F12 Refund ¥3.50");
    // A cashier alone pays no money out: the demo store's refund limit is 0.
    assert_eq!(c.till.screen(), Screen::Refund);
    // The approval says what it approves: the sale, the lines, the amount.
    assert!(c.sees("Refund of receipt 1: 1 line(s), ¥3.50 (above the store's refund limit)"));
    c.manager_approves();
    assert_eq!(c.till.screen(), Screen::Payment, "{:?}", c.till.notice());
    assert!(c.sees("To refund"));
    // Paid in cash, so cash is the original tender: no manager needed.
    c.click("F12 Pay out ¥3.50 in cash");
    assert_eq!(c.till.screen(), Screen::Sale, "{:?}", c.till.notice());
    let refund = c.ledger().sale_by_receipt(2).unwrap();
    assert_eq!((refund.kind.as_str(), refund.refund_of, refund.total), ("refund", Some(1), -350));
    assert!(c.till.paper().last().unwrap().contains("REFUND"), "{}", c.till.paper().last().unwrap());
    // The same receipt again: only what is left can go back.
    c.scan(&code);
    c.click("F2 Everything");
    c.click("F12 Refund ¥5.50");
}

#[test]
fn a_same_day_card_sale_is_refunded_by_reversal_at_the_terminal() {
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003");
    c.key(Named::F12);
    c.click("F12 Card");
    c.key(Named::F8);
    c.enter(till::ui::LOOKUP_FIELD, "1");
    c.key(Named::F2);
    c.key(Named::F12);
    c.manager_approves();
    assert_eq!(c.till.screen(), Screen::Payment);
    let card = c.ledger().sale_by_receipt(1).unwrap().payments.remove(0);
    c.click(&format!("F12 Back to the card {} {}: ¥3.50", card.card_name.unwrap(), card.masked_pan.unwrap()));
    assert_eq!(c.till.screen(), Screen::Sale, "{:?}", c.till.notice());
    let refund = c.ledger().sale_by_receipt(2).unwrap();
    assert_eq!((refund.payments[0].kind.as_str(), refund.payments[0].amount), ("card", -350));
    let intents = c.ledger().card_results().unwrap();
    assert_eq!(intents.last().unwrap().outcome, "approved");
}

#[test]
fn voiding_an_expensive_line_needs_the_managers_pin() {
    let mut c = fast();
    c.sign_in();
    c.scan("10*DRK003"); // 35.00, over the 20.00 threshold
    c.click("F4 Void line");
    assert!(c.sees("Manager approval"));
    assert!(c.sees("Void line 1: 10 × Coca-Cola ¥35.00"), "the approval says what it approves");
    c.enter(till::ui::APPROVAL_PIN_FIELD, "1234");
    assert_eq!(c.error().as_deref(), Some("Wrong PIN"));
    assert_eq!(c.till.counter().sale().lines().len(), 1, "nothing voided");
    c.enter(till::ui::APPROVAL_PIN_FIELD, "9999");
    assert!(c.till.counter().sale().lines().is_empty());
    assert!(!c.sees("Manager approval"));
}

#[test]
fn a_discount_above_the_stores_limit_needs_the_managers_pin() {
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003"); // 3.50
    c.type_into(SCAN_FIELD, "50");
    c.key(Named::F5); // 50 % off the sale: over the demo store's 10 %
    assert!(c.sees("Manager approval"));
    assert!(c.sees("50% off (above the store's limit)"));
    assert_eq!(c.till.counter().sale().totals().total.minor(), 350, "no discount yet");
    c.enter(till::ui::APPROVAL_PIN_FIELD, "9999");
    assert_eq!(c.till.counter().sale().totals().total.minor(), 175, "{:?}", c.till.notice());
}

#[test]
fn bad_input_is_refused_with_a_message_and_changes_nothing() {
    let mut c = fast();
    c.sign_in();
    c.scan("6912345000375"); // wrong check digit
    assert!(c.error().is_some());
    c.scan("DRK001");
    c.scan("x*DRK001");
    assert_eq!(c.error().as_deref(), Some("Not a quantity: x"));
    c.type_into(SCAN_FIELD, "abc");
    c.click("F2 Quantity");
    assert_eq!(c.error().as_deref(), Some("Not a quantity: abc"));
    assert_eq!(c.till.counter().sale().lines().len(), 1, "bad input changed nothing");
    // A name (or its pinyin initials) typed with one match is that product.
    c.scan("nfsq");
    assert_eq!(c.till.counter().sale().lines()[1].name_zh, "农夫山泉");
    c.send(Message::ToggleLanguage);
    c.scan("NOPE");
    assert!(c.error().unwrap().chars().any(|ch| ('\u{4e00}'..='\u{9fff}').contains(&ch)), "{:?}", c.error());
    assert!(c.sees("F12 结账"));
}

#[test]
fn paper_out_keeps_the_receipt_queued_until_paper_is_loaded() {
    let mut c = fast();
    c.sign_in();
    c.click("Paper");
    c.click("Paper out");
    c.scan("DRK001");
    c.key(Named::F12);
    c.click("Exact");
    // The sale is done and posted; the receipt waits.
    assert_eq!(c.till.screen(), Screen::Sale);
    assert_eq!(c.ledger().sale_by_receipt(1).unwrap().total, 200);
    assert_eq!(c.till.printer_state(), PrinterState::PaperOut);
    let error = c.error().unwrap();
    assert!(error.starts_with("Receipt not printed: "), "{error}");
    assert!(c.sees("Printer: paper out"));
    assert_eq!(c.ledger().pending_print_jobs().unwrap().len(), 1);
    assert!(c.till.paper().is_empty());
    c.click("Paper loaded");
    c.click("Print queued receipts (1)");
    assert_eq!(c.till.printer_state(), PrinterState::Ok);
    assert!(c.till.paper().last().unwrap().contains("Nongfu Spring water"));
    assert!(c.ledger().pending_print_jobs().unwrap().is_empty());
    // The trainer's declining card, from the same panel.
    c.click("Cards decline");
    c.scan("DRK001");
    c.key(Named::F12);
    c.click("F12 Card");
    assert!(c.error().unwrap().starts_with("Card declined"), "{:?}", c.error());
}

#[test]
fn an_unknown_card_outcome_is_settled_with_the_terminal_and_never_charged_twice() {
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003");
    c.key(Named::F12);
    // The terminal books the payment, then the cable breaks before the till hears back.
    c.terminal.send(Control::Scenario(Scenario::AnswerLost)).unwrap();
    c.click("F12 Card");
    assert_eq!(*c.till.card_state(), CardState::Unknown);
    let error = c.error().unwrap();
    assert!(error.contains("MAY have been charged") && error.contains("Do not charge again"), "{error}");
    // No second card payment is offered, nor taken if asked for, nor cash.
    assert!(!c.sees("F12 Card") && !c.sees("Enter Cash"));
    c.key(Named::F12);
    c.send(Message::Payment(till::ui::payment::Msg::Cash(None)));
    assert_eq!(*c.till.card_state(), CardState::Unknown);
    assert_eq!(c.ledger().card_results().unwrap().last().unwrap().outcome, "unknown");
    // The cable is mended; the cashier checks with the terminal: it did book the payment.
    c.terminal.send(Control::Scenario(Scenario::Approve)).unwrap();
    c.click("Check with terminal");
    assert_eq!(c.till.screen(), Screen::Sale, "{:?}", c.till.notice());
    let sale = c.ledger().sale_by_receipt(1).unwrap();
    assert_eq!((sale.payments.len(), sale.payments[0].kind.as_str(), sale.total), (1, "card", 350));
    let booked = EmulatorState::load(&c.dir.path().join("training-terminal.state")).unwrap();
    assert_eq!(booked.batch.len(), 1, "the customer was charged once");
    assert_eq!(booked.batch[0].amount_minor, 350);
}

#[test]
fn the_manager_counts_the_drawer_and_closes_the_day_from_the_screen() {
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003");
    c.key(Named::F12);
    c.click("F12 Card");
    // A line scanned by mistake and voided: in the X and Z with who voided it.
    c.scan("DRK002");
    c.key(Named::F4);
    assert!(c.till.counter().sale().lines().is_empty());
    c.scan("DRK001");
    c.key(Named::F12);
    c.click("Exact");
    // The manager's screen needs the manager's PIN.
    c.send(Message::OpenManager);
    assert!(c.sees("Open the manager's settlement screen"));
    c.enter(till::ui::APPROVAL_PIN_FIELD, "9999");
    assert_eq!(c.till.screen(), Screen::Manager, "{:?}", c.till.notice());
    // Left alone for less than the lock's time it stays open; past it, it locks, and the
    // manager's PIN is asked again.
    let idle = |minutes: u64| std::time::Instant::now() - std::time::Duration::from_secs(minutes * 60);
    c.till.manager_touched_at(idle(2));
    c.send(Message::Manager(till::ui::manager::Msg::IdleCheck));
    assert_eq!(c.till.screen(), Screen::Manager);
    c.till.manager_touched_at(idle(4));
    c.send(Message::Manager(till::ui::manager::Msg::IdleCheck));
    assert_eq!(c.till.screen(), Screen::Sale, "locked after three idle minutes");
    let locked = "The manager's screen locked after three idle minutes: a manager's PIN opens it again";
    assert_eq!(c.till.notice(), Some(&Notice::Info(locked.into())));
    c.send(Message::OpenManager);
    c.enter(till::ui::APPROVAL_PIN_FIELD, "9999");
    assert_eq!(c.till.screen(), Screen::Manager, "{:?}", c.till.notice());
    assert!(c.sees("X REPORT"), "the open day's X report");
    assert!(c.sees("Expected in the drawer"));
    // Cash in, then a blind count of exactly what is expected: 2.00 cash sale + 50.00 in.
    c.send(Message::Manager(till::ui::manager::Msg::AmountChanged("50".into())));
    c.send(Message::Manager(till::ui::manager::Msg::ReasonChanged("change".into())));
    c.click("Put cash in");
    assert_eq!(c.till.notice(), Some(&Notice::Info("The cash movement is recorded".into())));
    c.click("Count the drawer");
    assert!(!c.sees("Expected in the drawer"), "a blind count hides the expected amount");
    // 50.00 as one note, 2.00 as two coins of 1.00.
    c.send(Message::Manager(till::ui::manager::Msg::CountChanged(1, "1".into())));
    c.send(Message::Manager(till::ui::manager::Msg::CountChanged(5, "2".into())));
    c.click("Record the count");
    assert_eq!(c.till.notice(), Some(&Notice::Info("The drawer count is recorded".into())), "{:?}", c.till.notice());
    let count = c.ledger().drawer_count(1).unwrap().unwrap();
    assert_eq!((count.counted_minor, count.expected_minor, count.blind), (5200, 5200, true));
    // The Z: the terminal's end-of-day, the reconciliation, the day closed and its report printed.
    c.click("Close the day (Z)");
    assert!(c.sees("Close the day with the Z? The terminal closes its batch and the day is closed for good."));
    c.click("Yes, close the day (Z)");
    let notice = format!("{:?}", c.till.notice());
    assert!(notice.contains("Day closed: Z 1. Terminal and till agree."), "{notice}");
    assert!(c.sees("Z REPORT No. 1"));
    assert_eq!(c.ledger().day_close(1).unwrap().unwrap().z_no, 1);
    // After the Z, a backup beside the ledger, which verifies.
    let backup = std::fs::read_dir(c.dir.path().join("backups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "db"))
        .expect("a backup after the Z");
    assert!(Ledger::open_read_only(&backup).unwrap().verify().unwrap().is_sound());
    // The Z report, then the terminal's own end-of-day receipt as it sent it in print lines.
    let papers = c.till.paper();
    let (report, terminal) = (&papers[papers.len() - 2], &papers[papers.len() - 1]);
    assert!(report.contains("Z REPORT No. 1") || report.contains("Z 报表"), "{report}");
    assert!(terminal.contains("** END OF DAY **") && terminal.contains("TOTAL"), "{terminal}");
    // For the office: the Z as PDF and CSV beside the ledger.
    c.click("Export PDF and CSV");
    let notice = format!("{:?}", c.till.notice());
    assert!(notice.contains("Written:"), "{notice}");
    let pdf = std::fs::read(c.dir.path().join("reports/Z-0001.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let csv = std::fs::read_to_string(c.dir.path().join("reports/Z-0001.csv")).unwrap();
    assert!(csv.contains("Grand total"), "{csv}");
    assert!(csv.lines().any(|l| l.contains("Voided lines") && l.contains(",1")), "{csv}");
    assert!(csv.contains("王芳 Wang Fang"), "cashiers by name: {csv}");
    // After the Z no day is open; a cash-in opens the next one, and the status bar says so.
    assert!(c.sees("No day open"));
    c.send(Message::Manager(till::ui::manager::Msg::AmountChanged("20".into())));
    c.send(Message::Manager(till::ui::manager::Msg::ReasonChanged("float".into())));
    c.click("Put cash in");
    assert!(!c.sees("No day open"), "day 2 is open: {:?}", c.till.notice());
    assert!(c.till.day().is_some_and(|(d, _)| *d == 2), "{:?}", c.till.day());
    c.click("Esc Back to the counter");
    assert_eq!(c.till.screen(), Screen::Sale);
}

#[test]
fn the_managers_terminal_diagnosis_prints_the_terminals_own_receipt() {
    let mut c = fast();
    c.sign_in();
    c.send(Message::OpenManager);
    c.enter(till::ui::APPROVAL_PIN_FIELD, "9999");
    assert_eq!(c.till.screen(), Screen::Manager, "{:?}", c.till.notice());
    let before = c.till.paper().len();
    c.click("Terminal diagnosis");
    let notice = format!("{:?}", c.till.notice());
    assert!(notice.contains("52500038"), "the terminal's answer in words: {notice}");
    let papers = c.till.paper();
    assert_eq!(papers.len(), before + 1, "the diagnosis receipt printed");
    let receipt = papers.last().unwrap();
    assert!(receipt.contains("** DIAGNOSIS **") && receipt.contains("Host connection"), "{receipt}");
}

#[test]
fn five_wrong_pins_lock_the_user_out() {
    let mut c = fast();
    c.click("王芳 Wang Fang");
    for _ in 0..4 {
        c.enter(PIN_FIELD, "0000");
        assert_eq!(c.error().as_deref(), Some("Wrong PIN"));
    }
    c.enter(PIN_FIELD, "0000");
    let locked = c.error().unwrap();
    assert!(locked.starts_with("Locked after five wrong PINs until "), "{locked}");
    // Even the right PIN waits for the lockout to end.
    c.enter(PIN_FIELD, "1234");
    assert!(c.error().unwrap().starts_with("Locked"), "{:?}", c.error());
    assert_eq!(c.till.screen(), Screen::SignIn);
    let db = rusqlite::Connection::open(c.dir.path().join("ledger.db")).unwrap();
    let entries: i64 =
        db.query_row("SELECT COUNT(*) FROM journal WHERE kind = 'user_locked'", [], |r| r.get(0)).unwrap();
    assert_eq!(entries, 1, "the lockout is a journal entry");
    // The manager is not affected.
    c.click("李经理 Manager Li");
    c.enter(PIN_FIELD, "9999");
    assert_eq!(c.till.screen(), Screen::Sale);
}

#[test]
fn the_log_keeps_card_outcomes_but_never_a_card_number() {
    let logs = tempfile::tempdir().unwrap();
    till::log::init(logs.path());
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003");
    c.key(Named::F12);
    c.click("F12 Card");
    let sale = c.ledger().sale_by_receipt(1).unwrap();
    let pan = sale.payments[0].masked_pan.clone().unwrap();
    let text: String = std::fs::read_dir(logs.path().join("logs"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(text.contains(": approved"), "{text}");
    let last4 = &pan[pan.len() - 4..];
    assert!(!text.contains(&pan) && !text.contains('*') && !text.contains(last4), "{text}");
}

/// Pays the cart by card, handing the screen every message of the terminal's job up to (not
/// including) its end: as if the window closed after the approval and before the post.
fn card_approved_then_window_closed(mut c: Counter_) -> tempfile::TempDir {
    let mut jobs = c.till.handle(Message::Payment(till::ui::payment::Msg::Card));
    for message in block_on_stream(jobs.remove(0)) {
        if matches!(message, Message::CardDone(_)) {
            break;
        }
        c.send(message);
    }
    let Counter_ { till, dir, .. } = c;
    drop(till);
    dir
}

fn terminal_batch(dir: &tempfile::TempDir) -> Vec<(i64, bool)> {
    let state = EmulatorState::load(&dir.path().join("training-terminal.state")).unwrap();
    state.batch.iter().map(|e| (e.amount_minor, e.reversed)).collect()
}

#[test]
fn a_window_closed_after_the_card_approval_brings_the_sale_back_and_it_completes() {
    let mut c = fast();
    c.sign_in();
    c.scan("3*DRK003");
    c.key(Named::F12);
    let dir = card_approved_then_window_closed(c);
    assert_eq!(terminal_batch(&dir), vec![(1050, false)], "the customer was charged");

    let mut c = open_in(dir, Duration::from_millis(50));
    // The sale is there with its card payment, paid: the cashier signs in and completes it.
    assert_eq!(c.till.screen(), Screen::SignIn);
    c.sign_in_again();
    assert_eq!(c.till.screen(), Screen::Payment);
    assert_eq!(c.till.counter().sale().state(), SaleState::Paid);
    assert_eq!(c.till.counter().sale().lines()[0].quantity, rust_decimal::dec!(3));
    assert!(c.till.counter().has_card_tender());
    assert!(c.sees("Complete sale"));
    c.click("Complete sale");
    let ledger = c.ledger();
    assert!(ledger.verify().unwrap().is_sound(), "{:?}", ledger.verify().unwrap().problems);
    let sale = ledger.sale_by_receipt(1).unwrap();
    assert_eq!((sale.total, sale.payments[0].kind.as_str()), (1050, "card"));
    assert!(ledger.in_progress(None).unwrap().is_empty());
    assert_eq!(terminal_batch(&c.dir), vec![(1050, false)], "charged once");
}

#[test]
fn a_sale_brought_back_with_its_card_payment_is_voided_by_reversing_the_card() {
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003");
    c.key(Named::F12);
    let dir = card_approved_then_window_closed(c);
    let mut c = open_in(dir, Duration::from_millis(50));
    assert_eq!(c.till.counter().sale().state(), SaleState::Paid);
    c.sign_in_again();
    assert_eq!((c.till.screen(), c.till.card_state().clone()), (Screen::Payment, CardState::Idle));
    c.click("Void sale");
    assert!(c.sees("Void the whole sale, 1 line, ¥3.50? It cannot be undone."), "asked first");
    c.click("Yes, void the sale");
    assert!(c.till.counter().sale().lines().is_empty(), "{:?}", c.till.notice());
    assert_eq!(terminal_batch(&c.dir), vec![(350, true)], "the card payment went back");
    let ledger = c.ledger();
    assert!(ledger.verify().unwrap().is_sound(), "{:?}", ledger.verify().unwrap().problems);
    assert!(ledger.in_progress(None).unwrap().is_empty());
    assert_eq!(ledger.counts().unwrap().1, 0, "no sale posted");
}

#[test]
fn a_declined_then_an_approved_card_pay_one_sale_once() {
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003");
    c.key(Named::F12);
    c.terminal.send(Control::Scenario(Scenario::Decline(0x05))).unwrap();
    c.click("F12 Card");
    assert!(c.error().unwrap().contains("declined"), "{:?}", c.error());
    c.terminal.send(Control::Scenario(Scenario::Approve)).unwrap();
    c.click("F12 Card");
    assert_eq!(c.till.screen(), Screen::Sale);
    let ledger = c.ledger();
    assert!(ledger.verify().unwrap().is_sound());
    assert_eq!(ledger.sale_by_receipt(1).unwrap().payments.len(), 1);
    assert_eq!(terminal_batch(&c.dir), vec![(350, false)]);
}

#[test]
fn a_sale_the_ledger_refused_is_kept_and_posted_after_the_next_one() {
    let mut c = fast();
    c.sign_in();
    // The ledger refuses sales for a while (as a full disk would).
    let db = rusqlite::Connection::open(c.dir.path().join("ledger.db")).unwrap();
    db.execute_batch("CREATE TRIGGER refuse BEFORE INSERT ON sales BEGIN SELECT RAISE(ABORT, 'disk full'); END;")
        .unwrap();
    c.scan("DRK003");
    c.key(Named::F12);
    c.enter(CASH_FIELD, "");
    assert!(c.error().unwrap().contains("disk full"), "{:?}", c.error());
    assert!(c.sees("1 paid sale(s) not yet in the ledger"), "the status bar says how many wait");
    // Kept durably: in the ledger as a sale in progress.
    assert_eq!(c.ledger().in_progress(None).unwrap().len(), 1);
    db.execute_batch("DROP TRIGGER refuse;").unwrap();
    c.scan("DRK001");
    c.key(Named::F12);
    c.enter(CASH_FIELD, "");
    let ledger = c.ledger();
    assert_eq!(ledger.counts().unwrap().1, 2, "both sales posted");
    assert!(ledger.in_progress(None).unwrap().is_empty());
    assert!(ledger.verify().unwrap().is_sound());
}

#[test]
fn a_refund_whose_card_part_went_back_before_the_window_closed_finishes_in_cash() {
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003"); // 3.50: 1.00 in cash, 2.50 by card
    c.key(Named::F12);
    c.enter(CASH_FIELD, "1.00");
    c.click("F12 Card");
    assert_eq!(c.ledger().sale_by_receipt(1).unwrap().payments.len(), 2);
    // The whole sale comes back: the card's part to the card (a reversal), then the window closes.
    c.key(Named::F8);
    c.enter(till::ui::LOOKUP_FIELD, "1");
    c.key(Named::F2);
    c.key(Named::F12);
    c.manager_approves();
    assert_eq!(c.till.screen(), Screen::Payment);
    let dir = card_approved_then_window_closed(c);
    assert_eq!(terminal_batch(&dir), vec![(250, true)], "the card got its part back");

    let mut c = open_in(dir, Duration::from_millis(50));
    c.sign_in_again();
    let refund = c.till.counter().sale();
    assert_eq!(refund.refund_of(), Some(1));
    assert!(c.till.counter().has_card_tender(), "the card part the terminal booked is on the refund");
    assert_eq!(refund.remaining().minor(), -100, "the cash part is left");
    assert_eq!(c.till.counter().card_refund(), None, "the card is not offered its part twice");
    // Cash back up to what cash paid: no manager needed.
    c.send(Message::Payment(till::ui::payment::Msg::RefundCash(false)));
    assert_eq!(c.till.screen(), Screen::Sale, "{:?}", c.till.notice());
    let ledger = c.ledger();
    assert!(ledger.verify().unwrap().is_sound(), "{:?}", ledger.verify().unwrap().problems);
    let posted = ledger.sale_by_receipt(2).unwrap();
    let mut paid: Vec<_> = posted.payments.iter().map(|p| (p.kind.clone(), p.amount)).collect();
    paid.sort();
    assert_eq!(paid, vec![("card".to_string(), -250), ("cash".to_string(), -100)]);
    assert!(ledger.in_progress(None).unwrap().is_empty());
}

#[test]
fn an_idle_terminal_is_polled_and_the_status_bar_says_when_it_is_gone_and_back() {
    use till::terminal::zvt::transport::LineFaults;
    use till::ui::TerminalState;
    let mut c = fast();
    assert_eq!(c.till.terminal_state(), TerminalState::Ready);
    // The terminal's answers are lost (a cable out): the minute's Status Enquiry gets none.
    c.terminal.send(Control::Faults(LineFaults { drop_next_sends: 3, ..LineFaults::default() })).unwrap();
    c.send(Message::PollTerminal);
    assert_eq!(c.till.terminal_state(), TerminalState::Offline);
    assert!(c.sees("Terminal disconnected"));
    assert_eq!(c.error(), None, "the status bar says it; no error box every minute");
    // Back: the next poll says so.
    c.send(Message::PollTerminal);
    assert_eq!(c.till.terminal_state(), TerminalState::Ready);
}

/// What the window's subscription makes of `event` after the widgets had it (`status`).
fn through_subscription(c: &mut Counter_, event: iced::Event, status: iced::event::Status) {
    if let Some(m) = till::ui::key_or_click(event, status, iced::window::Id::unique()) {
        c.send(m);
    }
}

/// Keys typed as a keyboard-wedge scanner types them, into whatever has the keyboard in a view
/// where nothing was clicked first: the widgets see each key, then the subscription.
fn scanner_types(c: &mut Counter_, text: &str) {
    use iced::keyboard::{Event as K, Key, Location, Modifiers};
    let mut keys: Vec<iced::Event> = text
        .chars()
        .map(|ch| {
            iced::Event::Keyboard(K::KeyPressed {
                key: Key::Character(ch.to_string().into()),
                modified_key: Key::Character(ch.to_string().into()),
                physical_key: iced::keyboard::key::Physical::Unidentified(
                    iced::keyboard::key::NativeCode::Unidentified,
                ),
                location: Location::Standard,
                modifiers: Modifiers::empty(),
                text: Some(ch.to_string().into()),
                repeat: false,
            })
        })
        .collect();
    keys.push(iced::Event::Keyboard(K::KeyPressed {
        key: Key::Named(Named::Enter),
        modified_key: Key::Named(Named::Enter),
        physical_key: iced::keyboard::key::Physical::Unidentified(iced::keyboard::key::NativeCode::Unidentified),
        location: Location::Standard,
        modifiers: Modifiers::empty(),
        text: None,
        repeat: false,
    }));
    for key in keys {
        as_the_window_sees_it(c, key);
    }
}

/// An event as the window delivers it: the widgets see it first, then the subscription hears it
/// with the status they left.
fn as_the_window_sees_it(c: &mut Counter_, event: iced::Event) {
    let statuses = {
        let mut ui = common::view(&c.till);
        ui.simulate([event.clone()])
    };
    through_subscription(c, event, statuses[0]);
}

#[test]
fn a_scan_after_a_click_beside_the_fields_lands_in_the_cart() {
    use iced::event::Status;
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003");
    // A click on the cart's empty area: no widget takes it, the scan field loses the keyboard
    // (in this headless view nothing has it), and the subscription hears the click.
    let messages = {
        let mut ui = common::view(&c.till);
        ui.point_at(iced::Point::new(300.0, 600.0));
        let statuses = ui.simulate(iced_test::simulator::click());
        assert!(statuses.iter().all(|s| *s == Status::Ignored), "an empty spot: {statuses:?}");
        ui.into_messages().count()
    };
    assert_eq!(messages, 0, "the click was on nothing");
    through_subscription(
        &mut c,
        iced::Event::Mouse(iced::mouse::Event::ButtonReleased(iced::mouse::Button::Left)),
        Status::Ignored,
    );
    // Nine scans, none lost: the keys no field took go to the scan field.
    for _ in 0..9 {
        scanner_types(&mut c, "6912345000376");
    }
    let lines = c.till.counter().sale().lines();
    assert_eq!(lines.len(), 10, "the cola and nine waters: {:?}", c.till.notice());
    // Elsewhere such keys are refused aloud, never put into a money field.
    c.click("F12 Pay");
    scanner_types(&mut c, "9999");
    assert_eq!(c.till.screen(), Screen::Payment);
    assert!(c.error().is_some_and(|e| e.contains("no field")), "{:?}", c.till.notice());
    assert_eq!(c.till.counter().sale().tenders().len(), 0, "no cash taken");
}

#[test]
fn escape_goes_back_exactly_one_step_every_time() {
    use iced::event::Status;
    let escape = || {
        iced::Event::Keyboard(iced::keyboard::Event::KeyPressed {
            key: iced::keyboard::Key::Named(Named::Escape),
            modified_key: iced::keyboard::Key::Named(Named::Escape),
            physical_key: iced::keyboard::key::Physical::Unidentified(iced::keyboard::key::NativeCode::Unidentified),
            location: iced::keyboard::Location::Standard,
            modifiers: iced::keyboard::Modifiers::empty(),
            text: None,
            repeat: false,
        })
    };
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003");
    c.click("F12 Pay");
    assert_eq!(c.till.screen(), Screen::Payment);
    // The cash field takes Escape to let go of the keyboard (Captured): it still goes back.
    through_subscription(&mut c, escape(), Status::Captured);
    assert_eq!(c.till.screen(), Screen::Sale, "the first Escape goes back");
    // On the sale screen Escape clears a typed search, then does nothing, never an error.
    c.type_into(SCAN_FIELD, "cola");
    for status in [Status::Captured, Status::Ignored, Status::Captured] {
        through_subscription(&mut c, escape(), status);
        assert_eq!(c.till.screen(), Screen::Sale);
        assert!(c.error().is_none(), "{:?}", c.till.notice());
    }
    assert!(c.till.counter().sale().lines().len() == 1, "the cart untouched");
    // Had "cola" stayed in the field, this would be "colaDRK003", an unknown code.
    c.scan("DRK003");
    assert_eq!(c.till.counter().sale().lines().len(), 2, "{:?}", c.till.notice());
}

#[test]
fn cash_far_beyond_what_is_due_is_asked_again_before_it_is_taken() {
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003"); // 3.50
    c.click("F12 Pay");
    assert!(c.sees("Cash received from the customer (or a payment code's number)"), "the field says what it is for");
    // A manager's PIN typed where the cash goes: asked, not taken.
    c.enter(CASH_FIELD, "9999");
    assert_eq!(c.till.screen(), Screen::Payment);
    assert!(c.error().is_some_and(|e| e.contains("¥9,999.00") && e.contains("¥3.50")), "{:?}", c.till.notice());
    assert!(c.till.counter().sale().tenders().is_empty());
    // Corrected: a 100 note is within reason (5 of the largest note, ¥500), taken at once.
    c.type_into(CASH_FIELD, "\u{8}\u{8}\u{8}\u{8}");
    c.send(Message::Payment(till::ui::payment::Msg::CashChanged("100".into())));
    c.send(Message::Payment(till::ui::payment::Msg::Cash(None)));
    assert_eq!(c.till.screen(), Screen::Sale, "{:?}", c.till.notice());
    assert_eq!(c.till.last_change().map(|m| m.to_string()).as_deref(), Some("96.50"));
    // Asked and confirmed with Enter again: taken.
    c.scan("DRK003");
    c.click("F12 Pay");
    c.enter(CASH_FIELD, "600");
    assert_eq!(c.till.screen(), Screen::Payment);
    c.send(Message::Payment(till::ui::payment::Msg::Cash(None)));
    assert_eq!(c.till.screen(), Screen::Sale, "{:?}", c.till.notice());
    assert_eq!(c.till.last_change().map(|m| m.to_string()).as_deref(), Some("596.50"));
}

#[test]
fn voiding_a_sale_is_asked_first_and_above_the_threshold_needs_the_manager() {
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003"); // 3.50, below the store's void threshold of 20
    c.click("Void sale");
    // No: nothing happens; Escape is no too.
    c.click("No, keep it");
    assert_eq!(c.till.counter().sale().lines().len(), 1);
    c.click("Void sale");
    c.key(Named::Escape);
    assert_eq!(c.till.counter().sale().lines().len(), 1, "Escape said no");
    c.click("Void sale");
    c.click("Yes, void the sale");
    assert!(c.till.counter().sale().lines().is_empty(), "{:?}", c.till.notice());
    // Above the threshold (10 × 3.50 = 35.00 > 20.00): confirmed, then the manager's PIN.
    c.scan("10*DRK003");
    c.click("Void sale");
    c.click("Yes, void the sale");
    assert_eq!(c.till.counter().sale().lines().len(), 1, "not without the manager");
    assert!(c.sees("Void the whole sale: 1 line, ¥35.00"), "the approval says what it approves");
    c.click("李经理 Manager Li");
    c.enter(till::ui::APPROVAL_PIN_FIELD, "9999");
    assert!(c.till.counter().sale().lines().is_empty(), "{:?}", c.till.notice());
    // Below the UI too: the counter refuses a large void without the approval.
    let mut counter = Counter::new(store(), c.till.counter().catalog_arc());
    counter.enter("10*DRK003").unwrap();
    assert!(matches!(counter.void_sale(None), Err(till::counter::CounterError::NeedsApproval(_))));
}

#[test]
fn counts_are_worded_for_one_and_for_many() {
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003");
    assert!(c.sees("1 item"), "not \"1 items\"");
    c.scan("2*DRK003");
    assert!(c.sees("3 items"));
    c.send(Message::ToggleLanguage);
    assert!(c.sees("共 3 件"));
}

#[test]
fn fewer_of_an_expensive_line_is_a_void_and_needs_the_manager_too() {
    let mut c = fast();
    c.sign_in();
    c.scan("10*DRK003"); // 35.00, over the 20.00 threshold
    c.type_into(SCAN_FIELD, "1");
    c.key(Named::F2);
    assert!(c.sees("Manager approval"), "{:?}", c.till.notice());
    assert!(c.sees("Void line 1: 10 × Coca-Cola ¥35.00 — down to 1"));
    c.key(Named::Escape);
    assert_eq!(c.till.counter().sale().lines()[0].quantity, rust_decimal::dec!(10), "not without the manager");
    // More is no void: no one asked.
    c.type_into(SCAN_FIELD, "12");
    c.key(Named::F2);
    assert_eq!(c.till.counter().sale().lines()[0].quantity, rust_decimal::dec!(12), "{:?}", c.till.notice());
    c.type_into(SCAN_FIELD, "1");
    c.key(Named::F2);
    c.click("李经理 Manager Li");
    c.enter(till::ui::APPROVAL_PIN_FIELD, "9999");
    assert_eq!(c.till.counter().sale().lines()[0].quantity, rust_decimal::dec!(1));
}

#[test]
fn a_notice_follows_f11_into_the_other_language() {
    let mut c = fast();
    c.sign_in();
    c.scan("4006381333931"); // no such product
    let english = c.error().expect("an unknown barcode is refused");
    c.key(Named::F11);
    let chinese = c.error().expect("still shown after F11");
    assert_ne!(english, chinese);
    assert!(chinese.chars().any(|ch| ('\u{4e00}'..='\u{9fff}').contains(&ch)), "{chinese}");
    c.key(Named::F11);
    assert_eq!(c.error(), Some(english), "and back");
    // Dismissed, it stays gone whatever the language.
    c.send(Message::Dismiss);
    c.key(Named::F11);
    assert!(c.till.notice().is_none());
}

#[test]
fn a_card_refund_put_to_a_card_that_did_not_pay_is_reversed_at_once_and_refused() {
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003"); // cola 3.50
    c.scan("DRK001"); // water 2.00
    c.key(Named::F12);
    c.click("F12 Card");
    let paid = c.ledger().sale_by_receipt(1).unwrap().payments.remove(0);
    // Part of it back (not a same-day reversal of the whole): a refund to the card presented.
    c.key(Named::F8);
    c.enter(till::ui::LOOKUP_FIELD, "1");
    let cola = c.till.counter().refund_source().unwrap().original.lines[0].line_no;
    c.send(Message::Refund(till::ui::refund::Msg::RefundQuantity(cola, rust_decimal::Decimal::ONE)));
    c.key(Named::F12);
    c.manager_approves();
    assert_eq!(c.till.screen(), Screen::Payment);
    // The cashier's own card: another of the demo cards than the one that paid.
    let other = if paid.masked_pan.as_deref() == Some("474843******7743") { 1 } else { 0 };
    c.terminal.send(Control::Card(other)).unwrap();
    let label = format!(
        "F12 Back to the card {} {}: {}",
        paid.card_name.clone().unwrap(),
        paid.masked_pan.clone().unwrap(),
        till::locale_fmt::amount(c.till.counter().refund_shares().unwrap().card)
    );
    c.click(&label);
    assert_eq!(c.till.screen(), Screen::Payment, "not refunded");
    assert!(c.error().is_some_and(|e| e.contains("did not pay")), "{:?}", c.till.notice());
    assert!(c.till.counter().sale().tenders().is_empty());
    // At the terminal: the refund to the other card, reversed.
    let batch = terminal_batch(&c.dir);
    assert_eq!(batch.last(), Some(&(-350, true)), "{batch:?}");
    // The card that paid: refunded.
    c.click(&label);
    assert_eq!(c.till.screen(), Screen::Sale, "{:?}", c.till.notice());
    assert_eq!(terminal_batch(&c.dir).iter().filter(|(a, reversed)| *a == -350 && !reversed).count(), 1);
    // Posted: the refund carries the one card refund that stands; the one undone at once and its
    // reversal cancel out in the ledger.
    let ledger = c.ledger();
    let refund = ledger.sale_by_receipt(2).expect("the refund is posted");
    assert_eq!(refund.payments.iter().map(|p| (p.kind.as_str(), p.amount)).collect::<Vec<_>>(), [("card", -350)]);
    assert!(ledger.in_progress(None).unwrap().is_empty());
    assert!(ledger.verify().unwrap().is_sound(), "{:?}", ledger.verify().unwrap().problems);
}

#[test]
fn weighed_goods_ask_for_their_weight_and_show_it() {
    let mut c = fast();
    c.sign_in();
    // Bananas by quick key and by their plain barcode: never 1 kg unasked.
    c.send(Message::Sale(till::ui::sale::Msg::AddSku("FRU002".into())));
    assert!(c.till.counter().sale().lines().is_empty(), "nothing added yet");
    assert!(c.sees("Weight in kg"), "the scan field asks for it");
    c.enter(SCAN_FIELD, "0.621");
    let lines = c.till.counter().sale().lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].quantity, rust_decimal::dec!(0.621));
    assert!(c.sees("0.621 kg × ¥6.98/kg"), "the unit shown");
    assert!(c.sees("1 item"), "a weighed line is one item, not 0.621");
    c.scan("2700108000008");
    assert_eq!(c.till.counter().sale().lines().len(), 1, "asked again");
    c.key(Named::Escape);
    assert!(c.sees("Scan or type"), "given up: the scan field is itself again");
    // With the weight typed first, as before.
    c.scan("1.5*FRU002");
    assert_eq!(c.till.counter().sale().lines()[1].quantity, rust_decimal::dec!(1.5));
}

#[test]
fn with_a_dialog_open_the_keys_are_the_dialogs() {
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003");
    c.click("Void sale");
    // F12 under the confirmation does not start the payment; Escape closes only the dialog.
    c.key(Named::F12);
    assert_eq!(c.till.screen(), Screen::Sale);
    c.key(Named::Escape);
    assert_eq!((c.till.screen(), c.till.counter().sale().lines().len()), (Screen::Sale, 1));
    // A sale paid opens the day; then the Z's confirmation on the manager's screen: Escape says
    // no and the manager's screen stays.
    c.key(Named::F12);
    c.click("Exact");
    c.send(Message::OpenManager);
    c.enter(till::ui::APPROVAL_PIN_FIELD, "9999");
    assert_eq!(c.till.screen(), Screen::Manager, "{:?}", c.till.notice());
    c.click("Close the day (Z)");
    c.key(Named::Escape);
    assert_eq!(c.till.screen(), Screen::Manager, "only the confirmation closed");
    assert!(!c.sees("Yes, close the day (Z)"));
    c.key(Named::Escape);
    assert_eq!(c.till.screen(), Screen::Sale, "the next Escape leaves the screen");
}

#[test]
fn a_weight_prompt_never_eats_the_next_scan() {
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003");
    c.send(Message::Sale(till::ui::sale::Msg::AddSku("FRU002".into())));
    // A barcode scanned instead of a weight is a scan of its own, not 6912345000376 kg.
    c.scan("6912345000376");
    assert_eq!(c.till.counter().sale().lines().len(), 2, "{:?}", c.till.notice());
    assert_eq!(c.till.counter().sale().lines()[1].quantity, rust_decimal::Decimal::ONE);
    // Asked again, then paid without a weight: the next customer's scan is theirs.
    c.send(Message::Sale(till::ui::sale::Msg::AddSku("FRU002".into())));
    c.key(Named::F12);
    c.click("Exact");
    c.scan("DRK003");
    let lines = c.till.counter().sale().lines();
    assert_eq!((lines.len(), lines[0].sku.as_str()), (1, "DRK003"), "{:?}", c.till.notice());
}

#[test]
fn a_scan_while_a_question_is_asked_is_refused_aloud() {
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003");
    c.click("Void sale");
    // The scan field under the dialog still has the keyboard: a scanner types into it.
    c.send(Message::Sale(till::ui::sale::Msg::ScanChanged("DRK001".into())));
    c.send(Message::Sale(till::ui::sale::Msg::ScanSubmitted));
    assert_eq!(c.till.counter().sale().lines().len(), 1, "nothing added under the question");
    assert!(c.error().is_some_and(|e| e.contains("Answer the question")), "{:?}", c.till.notice());
    c.click("No, keep it");
}

#[test]
fn a_discount_does_not_bring_a_line_under_the_void_threshold() {
    let mut c = fast();
    c.sign_in();
    c.scan("6*DRK003"); // 21.00, over the 20.00 threshold
    c.type_into(SCAN_FIELD, "10");
    c.key(Named::F5); // 10 % off: 18.90, within the cashier's discount limit
    c.key(Named::F4);
    assert!(c.sees("Manager approval"), "still a void above the threshold: {:?}", c.till.notice());
}

/// Coca-Cola, ¥3.50: ¥1.00 in cash and ¥2.50 by card; then all of it comes back (F8, receipt 1,
/// F2 everything, F12, the manager: the demo store's refund limit is 0), on the payment screen.
fn split_sale_coming_back_whole() -> Counter_ {
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003");
    c.key(Named::F12);
    c.enter(CASH_FIELD, "1.00");
    c.click("F12 Card");
    c.key(Named::F8);
    c.enter(till::ui::LOOKUP_FIELD, "1");
    c.key(Named::F2);
    c.key(Named::F12);
    c.manager_approves();
    c
}

#[test]
fn a_split_payment_is_refunded_along_its_tenders_from_the_keyboard() {
    let mut c = split_sale_coming_back_whole();
    assert_eq!(c.till.screen(), Screen::Payment);
    // Each tender's share, named with its amount.
    let card = c.till.counter().refund_source().unwrap().card().unwrap().clone();
    let label = format!(
        "F12 Back to the card {} {}: ¥2.50",
        card.card_name.unwrap_or_default(),
        card.masked_pan.unwrap_or_default()
    );
    assert!(c.sees(&label), "the card's share is offered with its amount: {label}");
    assert!(c.sees("Pay out ¥1.00 in cash"), "the cash share, with its amount");
    assert!(c.sees("All ¥3.50 in cash (manager)"));
    // F12 pays the card's share, then F12 the cash share: no mouse, no manager for the cash.
    c.key(Named::F12);
    assert!(c.sees("F12 Pay out ¥1.00 in cash"), "the cash share is next");
    c.key(Named::F12);
    assert_eq!(c.till.screen(), Screen::Sale, "{:?}", c.till.notice());
    let ledger = c.ledger();
    let posted = ledger.sale_by_receipt(2).unwrap();
    let mut paid: Vec<_> = posted.payments.iter().map(|p| (p.kind.clone(), p.amount)).collect();
    paid.sort();
    assert_eq!(paid, vec![("card".to_string(), -250), ("cash".to_string(), -100)], "each tender got its own back");
    assert_eq!(terminal_batch(&c.dir), vec![(250, true)], "the card got 2.50 back, not 3.50");
    assert!(ledger.verify().unwrap().is_sound());
}

#[test]
fn a_split_payments_cash_share_first_leaves_the_card_its_own() {
    let mut c = split_sale_coming_back_whole();
    c.click("Pay out ¥1.00 in cash");
    assert_eq!(c.till.counter().sale().remaining().minor(), -250, "only the cash share went out in cash");
    assert!(!c.sees("Pay out"), "no more cash is offered without a manager");
    c.key(Named::F12);
    assert_eq!(c.till.screen(), Screen::Sale, "{:?}", c.till.notice());
    assert_eq!(terminal_batch(&c.dir), vec![(250, true)]);
}

/// A key pressed as a keyboard sends it: the widgets see it, then the window's subscription.
fn press(c: &mut Counter_, key: Named, modifiers: iced::keyboard::Modifiers) {
    use iced::keyboard::{Event as K, Key, Location};
    let event = iced::Event::Keyboard(K::KeyPressed {
        key: Key::Named(key),
        modified_key: Key::Named(key),
        physical_key: iced::keyboard::key::Physical::Unidentified(iced::keyboard::key::NativeCode::Unidentified),
        location: Location::Standard,
        modifiers,
        text: None,
        repeat: false,
    });
    as_the_window_sees_it(c, event);
}

#[test]
fn a_cashier_signs_in_with_the_arrow_keys_and_the_pin() {
    use iced::keyboard::Modifiers;
    let mut c = fast();
    assert_eq!(c.till.screen(), Screen::SignIn);
    // Down to the second user, past the end (stays), up and down again: the manager.
    for key in [Named::ArrowDown, Named::ArrowDown, Named::ArrowDown, Named::ArrowUp, Named::ArrowDown] {
        press(&mut c, key, Modifiers::empty());
    }
    let second = c.till.users()[1].name.clone();
    assert!(second.contains("Manager Li"), "the demo's second user: {second}");
    c.enter(PIN_FIELD, "9999");
    assert_eq!(c.till.screen(), Screen::Sale, "{:?}", c.till.notice());
    assert!(c.till.counter().cashier().is_some_and(|u| u.name == second));
}

#[test]
fn search_hits_are_walked_with_the_arrows_and_enter_adds_the_one_walked_to() {
    use iced::keyboard::Modifiers;
    let mut c = fast();
    c.sign_in();
    c.send(Message::Sale(till::ui::sale::Msg::ScanChanged("cola".into())));
    let hits = c.till.counter().catalog().search("cola", 24).len();
    assert!(hits >= 2, "Coca-Cola and Pepsi Cola… at least two hits: {hits}");
    press(&mut c, Named::ArrowDown, Modifiers::empty());
    press(&mut c, Named::ArrowDown, Modifiers::empty());
    let second = c.till.counter().catalog().search("cola", 24)[1].sku.to_string();
    press(&mut c, Named::Enter, Modifiers::empty());
    let lines = c.till.counter().sale().lines();
    assert_eq!(lines.len(), 1, "{:?}", c.till.notice());
    assert_eq!(lines[0].sku, second, "the second hit, walked to");
    // The next scan is a scan again.
    c.scan("DRK001");
    assert_eq!(c.till.counter().sale().lines().len(), 2);
}

#[test]
fn a_whole_sale_discount_is_reached_from_the_keyboard() {
    use iced::keyboard::Modifiers;
    let mut c = fast();
    c.sign_in();
    c.scan("DRK001");
    c.scan("DRK003");
    assert_eq!(c.till.counter().selected(), Some(1), "the newest line is selected");
    // Shift+F5: the whole sale, even with a line selected.
    c.send(Message::Sale(till::ui::sale::Msg::ScanChanged("5".into())));
    press(&mut c, Named::F5, Modifiers::SHIFT);
    assert_eq!(c.till.counter().sale().totals().total.minor(), 522, "5.50 less 5 %: {:?}", c.till.notice());
    assert!(c.till.counter().sale().lines().iter().all(|l| l.discount.is_none()), "not a line's discount");
    // Or: up past the first line selects none, and F5 says it is the sale's.
    c.send(Message::Sale(till::ui::sale::Msg::SelectLine(1)));
    press(&mut c, Named::ArrowUp, Modifiers::empty());
    assert_eq!(c.till.counter().selected(), Some(0));
    press(&mut c, Named::ArrowUp, Modifiers::empty());
    assert_eq!(c.till.counter().selected(), None);
    assert!(c.sees("F5 % Off sale"));
    // F5 with no line selected: the sale's discount (10 % now, in place of the 5 %).
    c.send(Message::Sale(till::ui::sale::Msg::ScanChanged("10".into())));
    press(&mut c, Named::F5, Modifiers::empty());
    assert_eq!(c.till.counter().sale().totals().total.minor(), 495, "5.50 less 10 %: {:?}", c.till.notice());
    assert!(c.till.counter().sale().lines().iter().all(|l| l.discount.is_none()), "no line's discount");
    press(&mut c, Named::ArrowDown, Modifiers::empty());
    assert_eq!(c.till.counter().selected(), Some(0), "and down selects a line again");
}

#[test]
fn a_returned_items_barcode_finds_its_line_on_the_receipt_open() {
    let mut c = fast();
    c.sign_in();
    c.scan("6912345000376"); // water
    c.scan("2*DRK003"); // two colas
    c.key(Named::F12);
    c.click("Exact");
    c.key(Named::F8);
    c.enter(till::ui::LOOKUP_FIELD, "1");
    assert_eq!(c.till.counter().refund_source().map(|s| s.record.receipt_no), Some(1));
    // The cola's barcode, twice: both colas go back; a third is not on the receipt.
    c.enter(till::ui::LOOKUP_FIELD, "6912345001113");
    assert!(c.sees("F12 Refund ¥3.50"), "one cola: {:?}", c.till.notice());
    c.enter(till::ui::LOOKUP_FIELD, "6912345001113");
    assert!(c.sees("F12 Refund ¥7.00"));
    c.enter(till::ui::LOOKUP_FIELD, "6912345001113");
    assert!(c.error().is_some_and(|e| e.contains("Coca-Cola is not on receipt 1")), "{:?}", c.till.notice());
    // An item never bought on it: said, nothing chosen.
    c.enter(till::ui::LOOKUP_FIELD, "DRK005");
    assert!(c.error().is_some_and(|e| e.contains("Sprite is not on receipt 1")), "{:?}", c.till.notice());
    assert!(c.sees("F12 Refund ¥7.00"), "what was chosen is unchanged");
    c.key(Named::F12);
    c.manager_approves();
    c.key(Named::F12);
    assert_eq!(c.till.screen(), Screen::Sale, "{:?}", c.till.notice());
    let refund = c.ledger().sale_by_receipt(2).unwrap();
    assert_eq!(refund.total, -700, "the two colas, not the water");
}

#[test]
fn a_sale_without_its_receipt_is_found_by_item_total_card_or_day() {
    let mut c = fast();
    c.sign_in();
    c.scan("DRK001"); // 2.00 cash
    c.key(Named::F12);
    c.click("Exact");
    c.scan("DRK003"); // 3.50 card
    c.key(Named::F12);
    c.click("F12 Card");
    c.scan("DRK003");
    c.scan("DRK001"); // 5.50 cash
    c.key(Named::F12);
    c.click("Exact");
    let card = c.ledger().sale_by_receipt(2).unwrap().payments.remove(0).masked_pan.unwrap();
    let last_four = &card[card.len() - 4..];
    c.key(Named::F8);
    let found = |c: &Counter_| c.till.found_sales().iter().map(|s| s.receipt_no).collect::<Vec<_>>();
    // By an item on it: newest first.
    c.enter(till::ui::LOOKUP_FIELD, "6912345001113");
    assert_eq!(found(&c), vec![3, 2], "{:?}", c.till.notice());
    assert!(c.sees("Choose the sale the refund is against"));
    // By its total, by the card's last four, by the day.
    c.enter(till::ui::LOOKUP_FIELD, "5.50");
    assert_eq!(found(&c), vec![3]);
    c.enter(till::ui::LOOKUP_FIELD, &format!("*{last_four}"));
    assert_eq!(found(&c), vec![2]);
    let today = c.ledger().current_day().unwrap().unwrap().business_date;
    c.enter(till::ui::LOOKUP_FIELD, &today.format("%Y-%m-%d").to_string());
    assert_eq!(found(&c), vec![3, 2, 1]);
    c.enter(till::ui::LOOKUP_FIELD, "99.99");
    assert!(c.error().is_some_and(|e| e.contains("No sale found")), "{:?}", c.till.notice());
    // Chosen from the list: that sale opens.
    c.enter(till::ui::LOOKUP_FIELD, "2.00");
    let sale = c.till.found_sales()[0].clone();
    let when = sale.completed_at[..16].replace('T', " ");
    c.click(&format!("No. 1 · {when} · ¥2.00"));
    assert_eq!(c.till.counter().refund_source().map(|s| s.record.receipt_no), Some(1));
    // Escape is one step back: the sale closes and the sales found are there again.
    c.key(Named::Escape);
    assert_eq!(c.till.screen(), Screen::Refund);
    assert!(c.till.counter().refund_source().is_none());
    assert_eq!(found(&c), vec![1]);
    c.key(Named::Escape);
    assert_eq!(c.till.screen(), Screen::Sale);
}

/// Wholly inside an 800×600 window: nothing to find off the edge.
fn in_sight(c: &Counter_, text: &str) {
    let b = common::bounds_at(&c.till, 800.0, 600.0, text).unwrap_or_else(|| panic!("{text:?} is not on the screen"));
    assert!(b.x >= 0.0 && b.y >= 0.0 && b.x + b.width <= 800.0 && b.y + b.height <= 600.0, "{text:?} at {b:?}");
}

#[test]
fn a_notice_never_moves_what_a_finger_is_aiming_at() {
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003");
    let before = common::bounds_at(&c.till, 800.0, 600.0, "F12 Pay").unwrap();
    let line_before = common::bounds_at(&c.till, 800.0, 600.0, "Coca-Cola").unwrap();
    c.scan("1234567890128");
    assert!(c.error().is_some(), "a notice is up");
    assert_eq!(common::bounds_at(&c.till, 800.0, 600.0, "F12 Pay").unwrap(), before);
    assert_eq!(common::bounds_at(&c.till, 800.0, 600.0, "Coca-Cola").unwrap(), line_before, "the cart did not move");
    c.send(Message::Dismiss);
    assert_eq!(common::bounds_at(&c.till, 800.0, 600.0, "Coca-Cola").unwrap(), line_before);
}

#[test]
fn the_counters_screens_keep_their_buttons_in_sight_at_800_by_600() {
    let mut c = fast();
    in_sight(&c, "Sign in");
    c.sign_in();
    c.scan("DRK003");
    for label in ["F12 Pay", "F2 Quantity", "F7 Parked", "Void sale", "Barcode, SKU or name · 3* for three"] {
        in_sight(&c, label);
    }
    c.key(Named::F12);
    for label in ["Enter Cash", "F12 Card", "Exact", "Esc Back to the cart"] {
        in_sight(&c, label);
    }
    c.click("Exact");
    c.send(Message::OpenManager);
    c.manager_approves();
    assert_eq!(c.till.screen(), Screen::Manager);
    for label in ["Close the day (Z)", "Esc Back to the counter", "Print the report"] {
        in_sight(&c, label);
    }
    c.key(Named::F11);
    for label in ["日结（Z 报表）", "Esc 返回收银", "English"] {
        in_sight(&c, label);
    }
    c.key(Named::F11);
    c.key(Named::Escape);
    // The refund screen, with a sale open, and its payment.
    c.key(Named::F8);
    c.enter(till::ui::LOOKUP_FIELD, "1");
    for label in ["F2 Everything", "Esc Cancel", "F12 Refund ¥0.00"] {
        in_sight(&c, label);
    }
    c.key(Named::F2);
    c.key(Named::F12);
    c.manager_approves();
    for label in ["F12 Pay out ¥3.50 in cash", "Esc Back to the cart"] {
        in_sight(&c, label);
    }
    // Signed out: the sign-in, in Chinese too. (Escape: to the lines, the sale closed, out.)
    for _ in 0..3 {
        c.key(Named::Escape);
    }
    c.key(Named::F1);
    assert_eq!(c.till.screen(), Screen::SignIn);
    in_sight(&c, "Sign in");
    c.key(Named::F11);
    in_sight(&c, "English");
}

#[test]
fn a_notice_with_values_follows_f11_into_the_other_language() {
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003");
    c.key(Named::F12);
    c.terminal.send(Control::Scenario(Scenario::Decline(0x05))).unwrap();
    c.click("F12 Card");
    let english = c.error().expect("declined");
    assert!(english.contains("declined"), "{english}");
    c.key(Named::F11);
    let chinese = c.error().expect("still said");
    assert_ne!(chinese, english);
    assert!(chinese.chars().any(|ch| ('\u{4e00}'..='\u{9fff}').contains(&ch)), "in Chinese: {chinese}");
    c.key(Named::F11);
    assert_eq!(c.error().as_deref(), Some(english.as_str()), "and back");
}

#[test]
fn escape_on_a_refunds_payment_goes_back_to_the_lines_chosen() {
    let mut c = fast();
    c.sign_in();
    c.scan("2*DRK003");
    c.key(Named::F12);
    c.click("Exact");
    c.key(Named::F8);
    c.enter(till::ui::LOOKUP_FIELD, "1");
    c.enter(till::ui::LOOKUP_FIELD, "6912345001113"); // one cola back
    c.key(Named::F12);
    c.manager_approves();
    assert_eq!(c.till.screen(), Screen::Payment);
    c.key(Named::Escape);
    assert_eq!(c.till.screen(), Screen::Refund, "one step back: the refund screen");
    assert_eq!(c.till.counter().refund_source().map(|s| s.record.receipt_no), Some(1), "the sale still open");
    assert!(c.sees("F12 Refund ¥3.50"), "the cola still chosen");
    assert!(c.till.counter().sale().lines().is_empty(), "the refund's cart put away");
    c.key(Named::Escape);
    assert_eq!(c.till.screen(), Screen::Refund, "the sale closes first");
    c.key(Named::Escape);
    assert_eq!(c.till.screen(), Screen::Sale);
}

#[test]
fn keys_under_a_dialog_pick_the_manager_and_change_the_language_but_reach_nothing_else() {
    use iced::keyboard::Modifiers;
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003");
    c.send(Message::Sale(till::ui::sale::Msg::ScanChanged("50".into())));
    press(&mut c, Named::F5, Modifiers::SHIFT); // 50 % off: above the limit, a manager
    assert!(c.sees("Manager approval"), "{:?}", c.till.notice());
    press(&mut c, Named::ArrowDown, Modifiers::empty());
    press(&mut c, Named::ArrowUp, Modifiers::empty());
    press(&mut c, Named::F11, Modifiers::empty());
    assert_eq!(c.till.locale(), "zh-CN", "F11 works under the dialog");
    press(&mut c, Named::F11, Modifiers::empty());
    press(&mut c, Named::F4, Modifiers::empty());
    assert_eq!(c.till.counter().sale().lines().len(), 1, "F4 reaches nothing under the dialog");
    c.enter(till::ui::APPROVAL_PIN_FIELD, "9999");
    assert_eq!(c.till.counter().sale().totals().total.minor(), 175, "approved by the manager the arrows left picked");
}

#[test]
fn shift_f5_is_the_sale_screens_only() {
    use iced::keyboard::Modifiers;
    let mut c = fast();
    c.sign_in();
    c.key(Named::F8);
    c.send(Message::Refund(till::ui::refund::Msg::LookupChanged("50".into())));
    press(&mut c, Named::F5, Modifiers::SHIFT);
    assert!(!c.sees("Manager approval"), "no discount asked for on the refund screen");
    assert!(c.error().is_none(), "{:?}", c.till.notice());
}

#[test]
fn the_sales_found_are_walked_with_the_arrows_and_enter_opens_one() {
    use iced::keyboard::Modifiers;
    let mut c = fast();
    c.sign_in();
    for _ in 0..2 {
        c.scan("DRK003");
        c.key(Named::F12);
        c.click("Exact");
    }
    c.key(Named::F8);
    c.enter(till::ui::LOOKUP_FIELD, "6912345001113");
    assert_eq!(c.till.found_sales().iter().map(|s| s.receipt_no).collect::<Vec<_>>(), vec![2, 1]);
    press(&mut c, Named::ArrowDown, Modifiers::empty());
    press(&mut c, Named::ArrowDown, Modifiers::empty());
    c.enter(till::ui::LOOKUP_FIELD, "");
    assert_eq!(c.till.counter().refund_source().map(|s| s.record.receipt_no), Some(1), "the second found: receipt 1");
}

#[test]
fn all_of_a_split_refund_in_cash_needs_the_manager_who_sees_the_amount() {
    let mut c = split_sale_coming_back_whole();
    c.click("All ¥3.50 in cash (manager)");
    assert!(c.sees("Refund ¥3.50 in cash instead of the original tender"), "{:?}", c.till.notice());
    assert!(c.till.counter().sale().tenders().is_empty(), "nothing out before the manager");
    c.manager_approves();
    assert_eq!(c.till.screen(), Screen::Sale, "{:?}", c.till.notice());
    let refund = c.ledger().sale_by_receipt(2).unwrap();
    assert_eq!(refund.payments.iter().map(|p| (p.kind.as_str(), p.amount)).collect::<Vec<_>>(), vec![("cash", -350)]);
    assert_eq!(terminal_batch(&c.dir), vec![(250, false)], "the card's payment stands");
}

#[test]
fn a_notice_goes_with_the_next_action_and_with_its_screen() {
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003");
    c.key(Named::F5);
    assert_eq!(
        c.error().as_deref(),
        Some("Type the percent off, then F5 (Shift+F5: the whole sale)"),
        "not 'not a percentage: '"
    );
    c.send(Message::Sale(till::ui::sale::Msg::ScanChanged("5".into())));
    assert!(c.error().is_some(), "typing alone keeps it");
    c.key(Named::F5);
    assert!(c.till.notice().is_none(), "the discount taken: the notice is gone: {:?}", c.till.notice());
    c.key(Named::F12);
    c.click("F12 Card");
    assert!(matches!(c.till.notice(), Some(Notice::Info(m)) if m.contains("approved")), "{:?}", c.till.notice());
    c.key(Named::F1);
    assert_eq!(c.till.screen(), Screen::SignIn);
    assert!(c.till.notice().is_none(), "the card's news stays with the sale: {:?}", c.till.notice());
}

#[test]
fn once_money_was_taken_the_payment_screen_offers_a_void_not_a_way_back() {
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003");
    c.key(Named::F12);
    c.send(Message::Payment(till::ui::payment::Msg::CashChanged("5".into())));
    c.key(Named::Escape);
    assert_eq!(c.till.screen(), Screen::Payment, "Escape clears the amount typed first");
    c.key(Named::Escape);
    assert_eq!(c.till.screen(), Screen::Sale, "then goes back");
    c.key(Named::F12);
    c.enter(CASH_FIELD, "1.00");
    assert!(!c.sees("Esc Back to the cart"));
    c.click("Void sale");
    c.click("Yes, void the sale");
    assert_eq!(c.till.screen(), Screen::Sale, "{:?}", c.till.notice());
    assert!(c.till.counter().sale().lines().is_empty());
}

#[test]
fn a_refund_ends_saying_what_went_back_and_how() {
    let mut c = split_sale_coming_back_whole();
    c.key(Named::F12);
    assert!(
        matches!(c.till.notice(), Some(Notice::Info(m)) if m.starts_with("Back to the card") && m.ends_with("¥2.50")),
        "the card's share, not 'card approved': {:?}",
        c.till.notice()
    );
    c.key(Named::F12);
    assert_eq!(
        c.till.notice(),
        Some(&Notice::Info("Refund done: ¥3.50 back — card ¥2.50, cash ¥1.00".into())),
        "the cashier hands over the cash share"
    );
}

#[test]
fn a_wrong_pin_is_said_inside_the_approval() {
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003");
    c.key(Named::F10);
    c.enter(till::ui::APPROVAL_PIN_FIELD, "0000");
    let said = c.error().expect("refused");
    assert!(c.sees("Manager approval"), "still asking");
    assert!(c.sees(&said), "said in the dialog: {said}");
}

#[test]
fn with_the_training_paper_open_at_800_px_the_cart_keeps_its_names() {
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003");
    c.send(Message::TogglePaper);
    let name = common::bounds_at(&c.till, 800.0, 600.0, "Coca-Cola").expect("the line's name is drawn");
    assert!(name.width > 60.0, "a name, not a sliver: {name:?}");
    for label in ["F12 Pay", "Barcode, SKU or name · 3* for three"] {
        in_sight(&c, label);
    }
    // At 1920 px the quick keys stay beside the cart.
    assert!(common::bounds_at(&c.till, 1920.0, 1080.0, "Nongfu Spring water").is_some());
}

#[test]
fn a_notice_too_long_for_its_line_is_shown_whole_on_a_tap() {
    let mut c = fast();
    c.sign_in();
    // A ledger error is as long as the ledger makes it.
    let db = rusqlite::Connection::open(c.dir.path().join("ledger.db")).unwrap();
    db.execute_batch(&format!(
        "CREATE TRIGGER refuse BEFORE INSERT ON sales BEGIN SELECT RAISE(ABORT, '{}'); END;",
        "the disk is full and nothing more can be written to it until space is made ".repeat(3)
    ))
    .unwrap();
    c.scan("DRK003");
    c.key(Named::F12);
    c.enter(CASH_FIELD, "");
    let long = c.error().expect("refused");
    assert!(long.len() > 150, "{long}");
    c.click(&long); // a tap on the notice line
    assert!(c.sees("OK"), "the whole text, in a box of its own");
    assert!(c.error().is_some(), "not dismissed unread");
    c.key(Named::F4);
    assert!(c.error().is_some(), "keys go to the box first");
    c.key(Named::Escape);
    assert!(c.till.notice().is_none(), "Escape closes it");
}

#[test]
fn a_scan_code_sale_is_refunded_by_its_channel_with_the_refunds_reference() {
    let mut c = fast();
    c.sign_in();
    c.scan("DRK003");
    c.key(Named::F12);
    // Paid by scan code: its reference into the field, then the scan-code button.
    c.send(Message::Payment(till::ui::payment::Msg::CashChanged("ALI2026120700001".into())));
    c.send(Message::Payment(till::ui::payment::Msg::External(till::sale::ExternalMethod::ScanCode)));
    assert_eq!(c.till.screen(), Screen::Sale, "{:?}", c.till.notice());
    c.key(Named::F8);
    c.enter(till::ui::LOOKUP_FIELD, "1");
    c.key(Named::F2);
    c.key(Named::F12);
    c.manager_approves();
    // The share goes back the way it came, with no manager for cash.
    assert!(c.sees("F12 Back by Scan code: ¥3.50"), "{:?}", c.till.notice());
    assert!(!c.sees("F12 Pay out ¥3.50 in cash"));
    c.key(Named::F12);
    assert!(c.error().is_some_and(|e| e.contains("reference")), "no reference, nothing booked: {:?}", c.till.notice());
    assert!(c.till.counter().sale().tenders().is_empty());
    c.enter(CASH_FIELD, "ALIREFUND0001");
    assert_eq!(c.till.screen(), Screen::Sale, "{:?}", c.till.notice());
    let refund = c.ledger().sale_by_receipt(2).unwrap();
    let paid: Vec<_> =
        refund.payments.iter().map(|p| (p.kind.as_str(), p.amount, p.reference.clone().unwrap_or_default())).collect();
    assert_eq!(paid, vec![("scan_code", -350, "ALIREFUND0001".to_string())]);
    assert!(c.ledger().verify().unwrap().is_sound());
}

#[test]
fn a_head_office_catalog_waits_for_the_cart_to_empty_and_the_status_bar_says_what_waits() {
    use till::store::ship::{self, Version};
    use till::ui::head_office::{Msg, Status};
    let mut c = fast();
    c.sign_in();
    c.scan("6912345000376"); // water 2.00
    let body = "sku,barcodes,name_zh,name_en,price,tax_class,category,quick_key,sold_by\n\
                DRK001,6912345000376,农夫山泉,Nongfu Spring water,2.50,A,drinks,1,piece\n";
    let sha256 = till::ledger::records::sha256_hex(body.as_bytes());
    let version = Version { version: 7, kind: "catalog".into(), body: body.into(), sha256 };
    // The head office out of reach, with a newer catalog known from before: the cart keeps its
    // prices, nothing is applied under it.
    c.send(Message::HeadOffice(Msg::Shipped(Status::Unreachable(3), vec![version.clone()])));
    assert!(c.sees("head office: out of reach, 3 entries waiting"));
    assert_eq!(ship::applied_catalog(&c.ledger()).unwrap(), 0);
    c.click("F12 Pay");
    c.enter(CASH_FIELD, "2");
    assert!(c.till.counter().sale().lines().is_empty());
    // Between sales the next round applies it, journaled with its number.
    c.send(Message::HeadOffice(Msg::Shipped(Status::Waiting(1), vec![version])));
    assert!(c.sees("head office: 1 entry waiting"));
    assert!(c.sees("Catalog version 7 of the head office applied."), "{:?}", c.till.notice());
    assert_eq!(ship::applied_catalog(&c.ledger()).unwrap(), 7);
    c.scan("6912345000376");
    assert!(c.sees("¥2.50"));
    c.send(Message::HeadOffice(Msg::Shipped(Status::UpToDate, Vec::new())));
    assert!(c.sees("head office: up to date"));
}
