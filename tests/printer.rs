//! The printer side over a pseudo-terminal pair, with the printer emulator on the other end:
//! paper out before a job, paper out mid-job, a printer that does not answer, the drawer kick.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serialport::{SerialPort, TTYPort};
use till::printer::driver::{JobResult, SerialPrinter, print_job, status};
use till::printer::emulator::{Decoder, Event, Paper, PaperControl, serve};
use till::printer::escpos::encode;
use till::printer::layout::{Align, Block, Document};

/// Each receipt the emulator finished (up to a cut), with what else the printer did.
type Printed = Arc<Mutex<Vec<(String, Vec<Event>)>>>;

struct Rig {
    printer: SerialPrinter,
    paper: Sender<PaperControl>,
    printed: Printed,
    stop: Arc<AtomicBool>,
    emulator: Option<JoinHandle<Decoder>>,
}

impl Rig {
    fn new() -> Rig {
        let (ours, mut theirs) = TTYPort::pair().unwrap();
        let (paper, controls) = channel();
        let printed = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, flag) = (printed.clone(), stop.clone());
        let emulator = std::thread::spawn(move || {
            let mut decoder = Decoder::new(32);
            serve(&mut theirs, &mut decoder, &controls, &|| !flag.load(Ordering::SeqCst), &mut |receipt| {
                log.lock().unwrap().push((receipt.text.to_string(), receipt.events.to_vec()))
            })
            .unwrap();
            decoder
        });
        let port: Box<dyn SerialPort> = Box::new(ours);
        Rig { printer: SerialPrinter::new(port), paper, printed, stop, emulator: Some(emulator) }
    }

    fn finish(mut self) -> Decoder {
        self.stop.store(true, Ordering::SeqCst);
        self.emulator.take().unwrap().join().unwrap()
    }
}

fn receipt(lines: usize) -> Vec<u8> {
    let mut blocks: Vec<Block> = (1..=lines)
        .map(|i| Block::Text { text: format!("第{i}行 line {i}"), align: Align::Left, bold: false, double: false })
        .collect();
    blocks.push(Block::Cut);
    encode(&Document { columns: 32, chinese: true, blocks }).unwrap()
}

#[test]
fn a_job_prints_and_never_carries_a_drawer_kick() {
    let mut rig = Rig::new();
    assert!(status(&mut rig.printer).unwrap().can_print());
    assert!(matches!(print_job(&mut rig.printer, &receipt(3)).unwrap(), JobResult::Printed { .. }));
    std::thread::sleep(Duration::from_millis(200));
    let printed = rig.printed.lock().unwrap().clone();
    assert_eq!(printed.len(), 1);
    assert_eq!(printed[0].0, "第1行 line 1\n第2行 line 2\n第3行 line 3\n[CUT]\n");
    assert!(!printed[0].1.iter().any(|e| matches!(e, Event::DrawerKick { .. })), "the drawer is not the job's");
    rig.finish();
}

#[test]
fn paper_out_before_a_job_refuses_it_and_it_prints_after_loading() {
    let mut rig = Rig::new();
    rig.paper.send(PaperControl::Set(Paper::Out)).unwrap();
    std::thread::sleep(Duration::from_millis(150));
    let job = receipt(2);
    let JobResult::Refused { before } = print_job(&mut rig.printer, &job).unwrap() else { panic!() };
    assert!(before.paper_out);
    rig.paper.send(PaperControl::Set(Paper::Ok)).unwrap();
    std::thread::sleep(Duration::from_millis(150));
    assert!(matches!(print_job(&mut rig.printer, &job).unwrap(), JobResult::Printed { .. }));
    std::thread::sleep(Duration::from_millis(200));
    let decoder = rig.finish();
    assert_eq!(decoder.text, "第1行 line 1\n第2行 line 2\n[CUT]\n", "printed once, whole");
}

#[test]
fn paper_near_end_warns_but_prints() {
    let mut rig = Rig::new();
    rig.paper.send(PaperControl::Set(Paper::NearEnd)).unwrap();
    std::thread::sleep(Duration::from_millis(150));
    let JobResult::Printed { after } = print_job(&mut rig.printer, &receipt(1)).unwrap() else { panic!() };
    assert!(after.paper_near_end);
    rig.finish();
}

#[test]
fn paper_out_mid_job_is_reported_as_not_fully_printed() {
    let mut rig = Rig::new();
    rig.paper.send(PaperControl::RunsOutAfter(2)).unwrap();
    std::thread::sleep(Duration::from_millis(150));
    let JobResult::Incomplete { after } = print_job(&mut rig.printer, &receipt(5)).unwrap() else { panic!() };
    assert!(after.paper_out);
    let decoder = rig.finish();
    assert_eq!(decoder.text, "第1行 line 1\n第2行 line 2\n");
    assert!(decoder.lost > 0);
}

#[test]
fn a_printer_that_does_not_answer_is_not_taken_for_ready() {
    let (ours, _unread) = TTYPort::pair().unwrap();
    let port: Box<dyn SerialPort> = Box::new(ours);
    let mut printer = SerialPrinter::new(port);
    let s = status(&mut printer).unwrap();
    assert!(!s.answering && !s.can_print());
    assert!(matches!(print_job(&mut printer, &receipt(1)).unwrap(), JobResult::Refused { .. }));
}

mod queue {
    use super::*;
    use chrono::Utc;
    use till::config::StoreSettings;
    use till::ledger::{Ledger, PostContext};
    use till::print_queue::{no_sale, print_sale, retry_pending};
    use till::simulate::{Rng, random_paid_sale};

    fn ledger_with_a_cash_sale(dir: &std::path::Path) -> (Ledger, i64) {
        let store = StoreSettings::demo();
        let mut ledger = Ledger::open(&dir.join("ledger.db"), &store.register, store.currency).unwrap();
        let catalog = till::demo::load_catalog(&mut ledger, &store, true).unwrap();
        let mut sale = random_paid_sale(&catalog, &store.sale_settings(), &mut Rng::new(5)).unwrap();
        let ctx = PostContext { cashier: "李四".into(), training: true };
        let posted = ledger.post_sale(&mut sale, &ctx, Utc::now()).unwrap();
        (ledger, posted.receipt_no)
    }

    #[test]
    fn a_receipt_refused_for_paper_out_stays_queued_and_prints_after_loading() {
        let dir = tempfile::tempdir().unwrap();
        let (mut ledger, receipt) = ledger_with_a_cash_sale(dir.path());
        let mut rig = Rig::new();
        rig.paper.send(PaperControl::Set(Paper::Out)).unwrap();
        std::thread::sleep(Duration::from_millis(150));
        let store = StoreSettings::demo();
        let (job, result) = print_sale(&mut ledger, &mut rig.printer, &store, receipt, false).unwrap();
        assert!(matches!(result, JobResult::Refused { .. }));
        let pending = ledger.pending_print_jobs().unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].job_id, job);
        assert_eq!(pending[0].last, Some(("refused".into(), "printer.paper_out".into())));

        rig.paper.send(PaperControl::Set(Paper::Ok)).unwrap();
        std::thread::sleep(Duration::from_millis(150));
        let retried = retry_pending(&mut ledger, &mut rig.printer).unwrap();
        assert!(matches!(retried[0].1, JobResult::Printed { .. }));
        assert!(ledger.pending_print_jobs().unwrap().is_empty());
        std::thread::sleep(Duration::from_millis(200));
        let printed = rig.printed.lock().unwrap().clone();
        assert_eq!(printed.len(), 1, "printed once");
        assert!(printed[0].0.contains("销售小票") && printed[0].0.contains("李四"), "{}", printed[0].0);
        assert!(ledger.verify().unwrap().is_sound());
        rig.finish();
    }

    #[test]
    fn the_drawer_opens_at_the_sale_whatever_the_paper_and_never_again_when_the_receipt_prints_later() {
        let dir = tempfile::tempdir().unwrap();
        let (mut ledger, receipt) = ledger_with_a_cash_sale(dir.path());
        let store = StoreSettings::demo();
        // Paper out at the sale: the receipt waits, the drawer opens at once (the customer's
        // change is in it).
        let mut rig = Rig::new();
        rig.paper.send(PaperControl::Set(Paper::Out)).unwrap();
        std::thread::sleep(Duration::from_millis(150));
        let (_, result) = print_sale(&mut ledger, &mut rig.printer, &store, receipt, false).unwrap();
        assert!(matches!(result, JobResult::Refused { .. }));
        std::thread::sleep(Duration::from_millis(200));
        let at_the_sale = rig.finish();
        let kicks = |events: &[Event]| events.iter().filter(|e| matches!(e, Event::DrawerKick { .. })).count();
        assert_eq!(kicks(&at_the_sale.events), 1, "the drawer opened at the sale, paper or not");
        // Paper loaded: the receipt prints, and the drawer stays shut.
        let mut rig = Rig::new();
        retry_pending(&mut ledger, &mut rig.printer).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let printed = rig.printed.lock().unwrap().clone();
        let later = rig.finish();
        assert_eq!(printed.len(), 1, "the receipt printed once");
        assert_eq!(kicks(&printed[0].1) + kicks(&later.events), 0, "no second opening, hours later, unaudited");
    }

    #[test]
    fn a_receipt_cut_off_by_the_paper_is_printed_again_whole() {
        let dir = tempfile::tempdir().unwrap();
        let (mut ledger, receipt) = ledger_with_a_cash_sale(dir.path());
        let mut rig = Rig::new();
        rig.paper.send(PaperControl::RunsOutAfter(4)).unwrap();
        std::thread::sleep(Duration::from_millis(150));
        let store = StoreSettings::demo();
        let (_, result) = print_sale(&mut ledger, &mut rig.printer, &store, receipt, false).unwrap();
        assert!(matches!(result, JobResult::Incomplete { .. }));
        assert_eq!(ledger.pending_print_jobs().unwrap()[0].last.as_ref().unwrap().0, "incomplete");
        rig.paper.send(PaperControl::Set(Paper::Ok)).unwrap();
        std::thread::sleep(Duration::from_millis(150));
        retry_pending(&mut ledger, &mut rig.printer).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let printed = rig.printed.lock().unwrap().clone();
        assert!(printed.last().unwrap().0.contains("谢谢惠顾"), "the whole receipt came out the second time");
        rig.finish();
    }

    #[test]
    fn a_no_sale_opening_is_audited_before_the_drawer_opens() {
        let dir = tempfile::tempdir().unwrap();
        let (mut ledger, receipt) = ledger_with_a_cash_sale(dir.path());
        let mut rig = Rig::new();
        assert!(matches!(
            no_sale(&mut ledger, &mut rig.printer, "manager", "change for the till").unwrap(),
            JobResult::Printed { .. }
        ));
        assert!(ledger.pending_print_jobs().unwrap().is_empty(), "the drawer is never a job kept for later");
        // A copy of the receipt: a kept job (and no drawer).
        print_sale(&mut ledger, &mut rig.printer, &StoreSettings::demo(), receipt, true).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let decoder = rig.finish();
        let kicks = decoder.events.iter().filter(|e| matches!(e, Event::DrawerKick { .. })).count();
        assert_eq!(kicks, 1, "the no-sale opened it once; the copy did not");
        drop(ledger);
        let conn = rusqlite::Connection::open(dir.path().join("ledger.db")).unwrap();
        let audit: String = conn
            .query_row("SELECT CAST(payload AS TEXT) FROM journal WHERE kind = 'no_sale'", [], |r| r.get(0))
            .unwrap();
        assert!(audit.contains("by=manager") && audit.contains("reason=change for the till"));
        // A print job's bytes edited behind the ledger's back are caught.
        conn.execute_batch("DROP TRIGGER print_jobs_no_update; UPDATE print_jobs SET bytes = x'00';").unwrap();
        drop(conn);
        let ledger = Ledger::open_read_only(&dir.path().join("ledger.db")).unwrap();
        let report = ledger.verify().unwrap();
        assert!(
            report.problems.iter().any(|p| p.localized("en").contains("print job's bytes differ")),
            "{:?}",
            report.problems
        );
    }
}
