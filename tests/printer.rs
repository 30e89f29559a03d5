//! The printer side over a pseudo-terminal pair, with the printer emulator on the other end:
//! paper out before a job, paper out mid-job, a printer that does not answer, the drawer kick.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serialport::{SerialPort, TTYPort};
use std::io::{Read, Write};

use till::printer::driver::{Cleared, JobResult, SerialPrinter, clear_buffers, print_job, status};
use till::printer::emulator::{Decoder, Event, Paper, PaperControl, serve};
use till::printer::escpos::encode;
use till::printer::layout::{Align, Block, Document};
use till::printer::profile::Profile;

/// Each receipt the emulator finished (up to a cut), with what else the printer did.
type Printed = Arc<Mutex<Vec<(String, Vec<Event>)>>>;

struct Rig {
    printer: SerialPrinter,
    profile: &'static Profile,
    paper: Sender<PaperControl>,
    printed: Printed,
    stop: Arc<AtomicBool>,
    emulator: Option<JoinHandle<Decoder>>,
}

impl Rig {
    /// The emulator playing `model`, printing as fast as bytes come.
    fn new(model: &str) -> Rig {
        Rig::start(model, false)
    }

    /// The emulator playing `model` at its print speed: a status asked right after a job sees
    /// the job still in the printer's buffer.
    fn at_print_speed(model: &str) -> Rig {
        Rig::start(model, true)
    }

    fn start(model: &str, at_speed: bool) -> Rig {
        let profile = Profile::by_id(model).unwrap();
        let (ours, mut theirs) = TTYPort::pair().unwrap();
        let (paper, controls) = channel();
        let printed = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, flag) = (printed.clone(), stop.clone());
        let emulator = std::thread::spawn(move || {
            let mut decoder = Decoder::new(profile);
            if at_speed {
                decoder = decoder.at_print_speed();
            }
            serve(&mut theirs, &mut decoder, &controls, &|| !flag.load(Ordering::SeqCst), &mut |receipt| {
                log.lock().unwrap().push((receipt.text.to_string(), receipt.events.to_vec()))
            })
            .unwrap();
            decoder
        });
        let port: Box<dyn SerialPort> = Box::new(ours);
        Rig { printer: SerialPrinter::new(port), profile, paper, printed, stop, emulator: Some(emulator) }
    }

    fn set_paper(&self, control: PaperControl) {
        self.paper.send(control).unwrap();
        std::thread::sleep(Duration::from_millis(100));
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
    encode(&Document { profile: Profile::generic(58), chinese: true, blocks }).unwrap()
}

#[test]
fn a_job_prints_and_never_carries_a_drawer_kick() {
    let mut rig = Rig::new("epson-tm-t20");
    assert!(status(&mut rig.printer).unwrap().can_print());
    assert!(matches!(print_job(&mut rig.printer, rig.profile, &receipt(3)).unwrap(), JobResult::Printed { .. }));
    std::thread::sleep(Duration::from_millis(100));
    let printed = rig.printed.lock().unwrap().clone();
    assert_eq!(printed.len(), 1);
    assert_eq!(printed[0].0, "第1行 line 1\n第2行 line 2\n第3行 line 3\n[CUT]\n");
    assert!(!printed[0].1.iter().any(|e| matches!(e, Event::DrawerKick { .. })), "the drawer is not the job's");
    assert!(printed[0].1.iter().all(|e| !matches!(e, Event::ProcessId(_))), "the confirmation follows the cut");
    let decoder = rig.finish();
    assert_eq!(decoder.events.iter().filter(|e| matches!(e, Event::ProcessId(_))).count(), 1, "confirmed by GS ( H");
}

#[test]
fn paper_out_before_a_job_refuses_it_and_it_prints_after_loading() {
    let mut rig = Rig::new("generic-58");
    rig.set_paper(PaperControl::Set(Paper::Out));
    let job = receipt(2);
    let JobResult::Refused { before } = print_job(&mut rig.printer, rig.profile, &job).unwrap() else { panic!() };
    assert!(before.paper_out);
    rig.set_paper(PaperControl::Set(Paper::Ok));
    assert!(matches!(print_job(&mut rig.printer, rig.profile, &job).unwrap(), JobResult::Printed { .. }));
    let decoder = rig.finish();
    assert_eq!(decoder.text, "第1行 line 1\n第2行 line 2\n[TEAR OFF]\n", "printed once, whole");
}

#[test]
fn paper_near_end_warns_but_prints() {
    let mut rig = Rig::new("generic-80");
    rig.set_paper(PaperControl::Set(Paper::NearEnd));
    let JobResult::Printed { after } = print_job(&mut rig.printer, rig.profile, &receipt(1)).unwrap() else { panic!() };
    assert!(after.paper_near_end);
    rig.finish();
}

#[test]
fn paper_out_mid_job_is_reported_and_the_printer_keeps_the_rest_like_a_real_one() {
    let mut rig = Rig::new("generic-80");
    rig.set_paper(PaperControl::RunsOutAfter(2));
    let JobResult::Incomplete { after } = print_job(&mut rig.printer, rig.profile, &receipt(5)).unwrap() else {
        panic!()
    };
    assert!(after.paper_out);
    // A new roll: the printer prints what it kept, by itself, once.
    rig.set_paper(PaperControl::Set(Paper::Ok));
    std::thread::sleep(Duration::from_millis(100));
    let decoder = rig.finish();
    assert_eq!(decoder.text, "第1行 line 1\n第2行 line 2\n第3行 line 3\n第4行 line 4\n第5行 line 5\n[CUT]\n");
    assert_eq!(decoder.buffered(), 0);
}

#[test]
fn a_status_asked_right_after_a_job_is_not_taken_for_its_completion() {
    // At print speed, the paper runs out on the third line while DLE EOT still answers "ready"
    // (it is answered at once, before the buffer printed). GS ( H never comes, the status
    // asked while waiting shows the paper out: incomplete, not "printed".
    for model in ["epson-tm-t88", "generic-80"] {
        let mut rig = Rig::at_print_speed(model);
        rig.set_paper(PaperControl::RunsOutAfter(2));
        let job = receipt(12);
        let result = print_job(&mut rig.printer, rig.profile, &job).unwrap();
        assert!(matches!(result, JobResult::Incomplete { after } if after.paper_out), "{model}: {result:?}");
        let decoder = rig.finish();
        assert_eq!(decoder.text, "第1行 line 1\n第2行 line 2\n", "{model}");
        assert!(decoder.buffered() > 0, "{model}: the rest waits in the printer");
    }
    // And with paper, the job is confirmed only once it is on paper.
    let mut rig = Rig::at_print_speed("epson-tm-t88");
    assert!(matches!(print_job(&mut rig.printer, rig.profile, &receipt(12)).unwrap(), JobResult::Printed { .. }));
    let printed = rig.printed.lock().unwrap().clone();
    assert_eq!(printed.len(), 1, "on paper before the till was told");
    rig.finish();
}

#[test]
fn a_clear_buffers_drops_what_the_printer_kept() {
    let mut rig = Rig::new("epson-tm-t88");
    rig.set_paper(PaperControl::RunsOutAfter(1));
    assert!(matches!(print_job(&mut rig.printer, rig.profile, &receipt(4)).unwrap(), JobResult::Incomplete { .. }));
    assert_eq!(clear_buffers(&mut rig.printer, rig.profile), Cleared::Confirmed, "the printer answered 37 25 00");
    rig.set_paper(PaperControl::Set(Paper::Ok));
    let decoder = rig.finish();
    assert_eq!(decoder.text, "第1行 line 1\n", "nothing of the rest came out by itself");
    assert!(decoder.events.iter().any(|e| matches!(e, Event::BufferCleared { dropped } if *dropped > 0)));
}

#[test]
fn xoff_and_automatic_status_bytes_are_not_taken_for_a_status() {
    // The printer played byte for byte: before each answer it sends an XOFF (13) and an ASB
    // packet (its first byte xxx1xx00), which a till reading one byte would take for "online".
    let (ours, mut theirs) = TTYPort::pair().unwrap();
    let peer = std::thread::spawn(move || {
        theirs.set_timeout(Duration::from_secs(2)).unwrap();
        for _ in 0..4 {
            let mut query = [0u8; 3];
            theirs.read_exact(&mut query).unwrap();
            assert_eq!(&query[..2], &[0x10, 0x04]);
            // Paper out in the answer to DLE EOT 4 (and 2): after an XOFF and ASB bytes.
            let answer = match query[2] {
                2 => 0x32,
                4 => 0x7E,
                _ => 0x12,
            };
            theirs.write_all(&[0x13, 0x11, 0x10, 0x00, 0x00, 0x00, answer]).unwrap();
        }
        // The line stays up until the till has read the last answer.
        std::thread::sleep(Duration::from_millis(300));
    });
    let port: Box<dyn SerialPort> = Box::new(ours);
    let mut printer = SerialPrinter::new(port);
    let s = status(&mut printer).unwrap();
    peer.join().unwrap();
    assert!(s.answering && s.paper_out && !s.can_print(), "{s:?}");
}

#[test]
fn a_printer_that_does_not_answer_is_not_taken_for_ready() {
    let (ours, _unread) = TTYPort::pair().unwrap();
    let port: Box<dyn SerialPort> = Box::new(ours);
    let mut printer = SerialPrinter::new(port);
    let s = status(&mut printer).unwrap();
    assert!(!s.answering && !s.can_print());
    assert!(matches!(print_job(&mut printer, Profile::generic_80(), &receipt(1)).unwrap(), JobResult::Refused { .. }));
}

mod queue {
    use super::*;
    use chrono::Utc;
    use till::config::StoreSettings;
    use till::ledger::{Ledger, PostContext};
    use till::print_queue::{no_sale, print_sale, retry_pending};
    use till::simulate::{Rng, random_paid_sale};

    fn ledger_with_a_cash_sale(dir: &std::path::Path) -> (Mutex<Ledger>, i64) {
        let store = StoreSettings::demo();
        let mut ledger = Ledger::open(&dir.join("ledger.db"), &store.register, store.currency).unwrap();
        let catalog = till::demo::load_catalog(&mut ledger, &store, true).unwrap();
        let mut sale = random_paid_sale(&catalog, &store.sale_settings(), &mut Rng::new(5)).unwrap();
        let ctx = PostContext { cashier: "李四".into(), training: true };
        let posted = ledger.post_sale(&mut sale, &ctx, Utc::now()).unwrap();
        (Mutex::new(ledger), posted.receipt_no)
    }

    fn store_for(rig: &Rig) -> StoreSettings {
        StoreSettings { printer_model: rig.profile, ..StoreSettings::demo() }
    }

    fn kicks(events: &[Event]) -> usize {
        events.iter().filter(|e| matches!(e, Event::DrawerKick { .. })).count()
    }

    #[test]
    fn a_receipt_refused_for_paper_out_stays_queued_and_prints_after_loading() {
        let dir = tempfile::tempdir().unwrap();
        let (ledger, receipt) = ledger_with_a_cash_sale(dir.path());
        let mut rig = Rig::new("epson-tm-t20");
        let store = store_for(&rig);
        rig.set_paper(PaperControl::Set(Paper::Out));
        let printed = print_sale(&ledger, &mut rig.printer, &store, receipt, false).unwrap();
        assert!(matches!(printed.result, JobResult::Refused { .. }));
        let pending = ledger.lock().unwrap().pending_print_jobs().unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].job_id, printed.job_id);
        assert_eq!(pending[0].last, Some(("refused".into(), "printer.paper_out".into())));
        assert!(!pending[0].cut_short);

        rig.set_paper(PaperControl::Set(Paper::Ok));
        let retried = retry_pending(&ledger, &mut rig.printer, &store).unwrap();
        assert!(matches!(retried[0].1, JobResult::Printed { .. }));
        assert!(ledger.lock().unwrap().pending_print_jobs().unwrap().is_empty());
        std::thread::sleep(Duration::from_millis(100));
        let printed = rig.printed.lock().unwrap().clone();
        assert_eq!(printed.len(), 1, "printed once");
        assert!(printed[0].0.contains("销售小票") && printed[0].0.contains("李四"), "{}", printed[0].0);
        assert!(!printed[0].0.contains("重印"), "never printed before: no reprint mark");
        assert!(ledger.lock().unwrap().verify().unwrap().is_sound());
        rig.finish();
    }

    #[test]
    fn the_drawer_opens_at_the_sale_whatever_the_paper_and_never_again_when_the_receipt_prints_later() {
        // A printer with the real-time pulse (DLE DC4 1): the drawer opens with the paper out.
        let dir = tempfile::tempdir().unwrap();
        let (ledger, receipt) = ledger_with_a_cash_sale(dir.path());
        let mut rig = Rig::new("epson-tm-t88");
        let store = store_for(&rig);
        rig.set_paper(PaperControl::Set(Paper::Out));
        let printed = print_sale(&ledger, &mut rig.printer, &store, receipt, false).unwrap();
        assert!(matches!(printed.result, JobResult::Refused { .. }) && !printed.drawer_shut);
        std::thread::sleep(Duration::from_millis(100));
        let at_the_sale = rig.finish();
        assert_eq!(kicks(&at_the_sale.events), 1, "the drawer opened at the sale, paper or not");
        // Paper loaded: the receipt prints, and the drawer stays shut.
        let mut rig = Rig::new("epson-tm-t88");
        retry_pending(&ledger, &mut rig.printer, &store).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let printed = rig.printed.lock().unwrap().clone();
        let later = rig.finish();
        assert_eq!(printed.len(), 1, "the receipt printed once");
        assert_eq!(kicks(&printed[0].1) + kicks(&later.events), 0, "no second opening, hours later, unaudited");
    }

    #[test]
    fn an_esc_p_drawer_is_not_sent_to_a_printer_that_would_keep_it_for_later() {
        // ESC p waits in the buffer behind a paper out: it is not sent, the cashier is told, and
        // the drawer does not pop open by itself once paper is loaded.
        let dir = tempfile::tempdir().unwrap();
        let (ledger, receipt) = ledger_with_a_cash_sale(dir.path());
        let mut rig = Rig::new("generic-80");
        let store = store_for(&rig);
        rig.set_paper(PaperControl::Set(Paper::Out));
        let printed = print_sale(&ledger, &mut rig.printer, &store, receipt, false).unwrap();
        assert!(printed.drawer_shut, "the cashier opens it with the key");
        rig.set_paper(PaperControl::Set(Paper::Ok));
        retry_pending(&ledger, &mut rig.printer, &store).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let decoder = rig.finish();
        assert_eq!(kicks(&decoder.events), 0);
        // With paper, ESC p on pin 2 opens it at the sale; on pin 5 where the settings say so.
        for (pin, setting) in [(2, None), (5, Some(5))] {
            let mut rig = Rig::new("generic-80");
            let store = StoreSettings { drawer_pin: setting, ..store_for(&rig) };
            let printed = print_sale(&ledger, &mut rig.printer, &store, receipt, false).unwrap();
            assert!(!printed.drawer_shut);
            let decoder = rig.finish();
            assert_eq!(decoder.events.iter().filter(|e| **e == Event::DrawerKick { pin }).count(), 1, "pin {pin}");
        }
    }

    /// Paper out mid-receipt, then a new roll and the queue's retry: what the customer holds.
    fn paper_out_mid_receipt_then_reload(model: &str) -> (String, Decoder) {
        let dir = tempfile::tempdir().unwrap();
        let (ledger, receipt) = ledger_with_a_cash_sale(dir.path());
        let mut rig = Rig::at_print_speed(model);
        let store = store_for(&rig);
        rig.set_paper(PaperControl::RunsOutAfter(6));
        let printed = print_sale(&ledger, &mut rig.printer, &store, receipt, false).unwrap();
        assert!(matches!(printed.result, JobResult::Incomplete { after } if after.paper_out), "{model}");
        let pending = ledger.lock().unwrap().pending_print_jobs().unwrap();
        assert!(pending[0].cut_short, "{model}");
        rig.set_paper(PaperControl::Set(Paper::Ok));
        let retried = retry_pending(&ledger, &mut rig.printer, &store).unwrap();
        assert!(matches!(retried[0].1, JobResult::Printed { .. }), "{model}: {:?}", retried[0].1);
        assert!(ledger.lock().unwrap().pending_print_jobs().unwrap().is_empty());
        let decoder = rig.finish();
        (decoder.text.clone(), decoder)
    }

    #[test]
    fn paper_out_mid_receipt_then_reload_gives_the_rest_once_marked_and_the_drawer_once() {
        // A printer that clears its buffer (DLE DC4 8): the rest is dropped at once, and the
        // retry prints the receipt again under the reprint mark.
        let (paper, decoder) = paper_out_mid_receipt_then_reload("epson-tm-t88");
        assert_eq!(paper.matches("谢谢惠顾").count(), 1, "the rest once:\n{paper}");
        assert_eq!(paper.matches("[CUT]").count(), 1, "{paper}");
        let mark = paper.find("*** 重印：小票 1 ***").expect("marked as reprinted");
        assert!(paper[mark..].contains("打印时纸用完了") && paper[mark..].contains("谢谢惠顾"), "{paper}");
        assert_eq!(kicks(&decoder.events), 1, "the drawer opened once, at the sale");
        // A printer that cannot: it prints the rest it kept after the reload, and the retry
        // adds a note marking it — the rest is not printed a second time.
        let (paper, decoder) = paper_out_mid_receipt_then_reload("generic-80");
        assert_eq!(paper.matches("谢谢惠顾").count(), 1, "the rest once:\n{paper}");
        assert_eq!(paper.matches("销售小票").count(), 1, "the receipt is not printed again:\n{paper}");
        let rest = paper.find("谢谢惠顾").unwrap();
        assert!(paper[rest..].contains("*** 以上为小票 1 的其余部分 ***"), "the note comes after the rest:\n{paper}");
        assert_eq!(kicks(&decoder.events), 1, "the drawer opened once, at the sale");
    }

    #[test]
    fn a_new_receipt_waits_behind_one_still_waiting_to_print() {
        let dir = tempfile::tempdir().unwrap();
        let (ledger, first) = ledger_with_a_cash_sale(dir.path());
        let mut rig = Rig::new("epson-tm-t20");
        let store = store_for(&rig);
        rig.set_paper(PaperControl::Set(Paper::Out));
        assert!(matches!(
            print_sale(&ledger, &mut rig.printer, &store, first, false).unwrap().result,
            JobResult::Refused { .. }
        ));
        rig.set_paper(PaperControl::Set(Paper::Ok));
        // The next sale's receipt: the waiting one goes first, then this one.
        let second = {
            let mut l = ledger.lock().unwrap();
            let catalog = till::demo::load_catalog(&mut l, &store, true).unwrap();
            let mut sale = random_paid_sale(&catalog, &store.sale_settings(), &mut Rng::new(9)).unwrap();
            let ctx = PostContext { cashier: "李四".into(), training: true };
            l.post_sale(&mut sale, &ctx, Utc::now()).unwrap().receipt_no
        };
        let printed = print_sale(&ledger, &mut rig.printer, &store, second, false).unwrap();
        assert!(matches!(printed.result, JobResult::Printed { .. }));
        assert!(ledger.lock().unwrap().pending_print_jobs().unwrap().is_empty());
        std::thread::sleep(Duration::from_millis(100));
        let paper = rig.printed.lock().unwrap().clone();
        assert_eq!(paper.len(), 2);
        assert!(paper[0].0.contains("R1-00000001") && paper[1].0.contains("R1-00000002"), "{paper:?}");
        rig.finish();
    }

    #[test]
    fn a_no_sale_opening_is_audited_before_the_drawer_opens() {
        let dir = tempfile::tempdir().unwrap();
        let (ledger, receipt) = ledger_with_a_cash_sale(dir.path());
        let mut rig = Rig::new("epson-tm-t20");
        let store = store_for(&rig);
        assert!(matches!(
            no_sale(&ledger, &mut rig.printer, &store, "manager", "change for the till").unwrap(),
            JobResult::Printed { .. }
        ));
        assert!(ledger.lock().unwrap().pending_print_jobs().unwrap().is_empty(), "the drawer is never a job kept");
        // A copy of the receipt: a kept job (and no drawer).
        print_sale(&ledger, &mut rig.printer, &store, receipt, true).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let decoder = rig.finish();
        assert_eq!(kicks(&decoder.events), 1, "the no-sale opened it once; the copy did not");
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

    #[test]
    fn a_no_sale_is_refused_while_an_esc_p_printer_cannot_take_the_pulse() {
        let dir = tempfile::tempdir().unwrap();
        let (ledger, _) = ledger_with_a_cash_sale(dir.path());
        let mut rig = Rig::new("generic-58");
        rig.set_paper(PaperControl::Set(Paper::Out));
        let store = store_for(&rig);
        let result = no_sale(&ledger, &mut rig.printer, &store, "manager", "change").unwrap();
        assert!(matches!(result, JobResult::Refused { before } if before.paper_out));
        rig.set_paper(PaperControl::Set(Paper::Ok));
        let decoder = rig.finish();
        assert_eq!(kicks(&decoder.events), 0);
        drop(ledger);
        let conn = rusqlite::Connection::open(dir.path().join("ledger.db")).unwrap();
        let entries: i64 =
            conn.query_row("SELECT COUNT(*) FROM journal WHERE kind = 'no_sale'", [], |r| r.get(0)).unwrap();
        assert_eq!(entries, 0, "no entry for an opening that did not happen");
    }
}

mod device_file {
    use super::*;
    use till::printer::driver::FilePrinter;

    /// A FIFO with a reader that never reads: a device that refuses data, as usblp does while
    /// the printer is out of paper.
    fn refusing_device(dir: &std::path::Path) -> (std::path::PathBuf, std::fs::File) {
        use std::os::unix::fs::OpenOptionsExt;
        let path = dir.join("lp0");
        let made = std::process::Command::new("mkfifo").arg(&path).status().unwrap();
        assert!(made.success());
        let reader = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&path).unwrap();
        (path, reader)
    }

    #[test]
    fn a_write_to_a_device_that_refuses_data_gives_up_and_the_next_sale_posts_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _reader) = refusing_device(dir.path());
        let store = till::config::StoreSettings::demo();
        let mut ledger =
            till::ledger::Ledger::open(&dir.path().join("ledger.db"), &store.register, store.currency).unwrap();
        let catalog = till::demo::load_catalog(&mut ledger, &store, true).unwrap();
        let ledger = Arc::new(Mutex::new(ledger));
        let mut sale =
            till::simulate::random_paid_sale(&catalog, &store.sale_settings(), &mut till::simulate::Rng::new(3))
                .unwrap();
        let ctx = till::ledger::PostContext { cashier: "李四".into(), training: true };
        let first = ledger.lock().unwrap().post_sale(&mut sale, &ctx, chrono::Utc::now()).unwrap().receipt_no;
        // A receipt far larger than the FIFO's buffer: the write blocks until its timeout.
        let printing = {
            let (ledger, store) = (ledger.clone(), store.clone());
            std::thread::spawn(move || {
                let mut printer = FilePrinter::with_timeout(&path, Duration::from_millis(2500));
                let started = std::time::Instant::now();
                // Copies until the device's buffer is full and a write gives up.
                let mut gave_up = None;
                for _ in 0..500 {
                    let printed = till::print_queue::print_sale(&*ledger, &mut printer, &store, first, true).unwrap();
                    if !matches!(printed.result, JobResult::Printed { .. }) {
                        gave_up = Some(printed.result);
                        break;
                    }
                }
                (started.elapsed(), gave_up)
            })
        };
        std::thread::sleep(Duration::from_millis(1000));
        // Meanwhile the next sale posts: the printer worker does not hold the ledger.
        let mut next =
            till::simulate::random_paid_sale(&catalog, &store.sale_settings(), &mut till::simulate::Rng::new(4))
                .unwrap();
        let started = std::time::Instant::now();
        ledger.lock().unwrap().post_sale(&mut next, &ctx, chrono::Utc::now()).unwrap();
        assert!(started.elapsed() < Duration::from_millis(500), "waited {:?} for the ledger", started.elapsed());
        let (took, gave_up) = printing.join().unwrap();
        assert!(took < Duration::from_secs(20), "{took:?}");
        let pending = ledger.lock().unwrap().pending_print_jobs().unwrap();
        assert_eq!(pending.len(), 1, "what did not go through waits in the queue");
        match gave_up {
            // Part of it went into the device: incomplete, and its retry a marked reprint.
            Some(JobResult::Incomplete { .. }) => assert!(pending[0].cut_short && !pending[0].rest_kept),
            // Not a byte taken: not sent, and printed as it is later.
            Some(JobResult::Refused { .. }) => assert!(!pending[0].cut_short),
            other => panic!("a refused write gives up: {other:?}"),
        }
    }

    #[test]
    fn a_plain_file_prints_blind_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("printer.out");
        std::fs::write(&path, b"").unwrap();
        let mut printer = FilePrinter::new(&path);
        let s = status(&mut printer).unwrap();
        assert!(s.unknown && s.can_print(), "no LPGETSTATUS on a plain file: {s:?}");
        let JobResult::Printed { after } = print_job(&mut printer, Profile::generic_80(), &receipt(2)).unwrap() else {
            panic!()
        };
        assert!(after.unknown, "not claimed as seen on paper");
        assert_eq!(std::fs::read(&path).unwrap(), receipt(2));
    }
}

#[test]
fn a_jammed_cutter_leaves_the_receipt_printed_and_dle_enq_recovers_once_it_is_freed() {
    let mut rig = Rig::new("epson-tm-t20");
    rig.set_paper(PaperControl::CutterJammed(true));
    // The text is on paper; the cut, its last command, failed: not printed again.
    let JobResult::Printed { after } = print_job(&mut rig.printer, rig.profile, &receipt(2)).unwrap() else { panic!() };
    assert!(after.cutter_error && !after.can_print());
    // Still jammed: DLE ENQ cannot recover it, the next job waits.
    assert!(matches!(print_job(&mut rig.printer, rig.profile, &receipt(1)).unwrap(), JobResult::Refused { .. }));
    // Freed: DLE ENQ 2 puts the printer back online and the next job prints.
    rig.set_paper(PaperControl::CutterJammed(false));
    assert!(matches!(print_job(&mut rig.printer, rig.profile, &receipt(3)).unwrap(), JobResult::Printed { .. }));
    let decoder = rig.finish();
    assert_eq!(
        decoder.text, "第1行 line 1\n第2行 line 2\n第1行 line 1\n第2行 line 2\n第3行 line 3\n[CUT]\n",
        "the jammed job's text once, the refused job never, the next whole"
    );
}

#[test]
fn the_printer_spec_names_the_flow_control_where_the_cable_differs_from_the_model() {
    use till::printer::driver::{Framing, SerialSpec, open_spec};
    use till::printer::profile::Flow;
    let epson = Profile::by_id("epson-tm-t88").unwrap();
    let spec = |rest: &str| SerialSpec::parse(rest, epson.flow);
    let eight_n_one = Framing::default();
    assert_eq!(
        spec("/dev/ttyS0"),
        SerialSpec { path: "/dev/ttyS0".into(), baud: 9600, framing: eight_n_one, flow: Flow::Hardware }
    );
    assert_eq!(spec("/dev/ttyS0:115200:8N1:none").flow, Flow::None);
    assert_eq!(spec("/dev/ttyS0:19200:7E2:xonxoff").baud, 19200);
    assert_eq!(spec("/dev/ttyS0:xonxoff").flow, Flow::XonXoff);
    assert_eq!(spec("/dev/ttyS0:115200:8N1:rtscts").flow, Flow::Hardware);
    // A path with colons in it stays whole.
    let by_path = "/dev/serial/by-path/pci-0000:00:14.0-usb-0:1:1.0-port0";
    assert_eq!(
        spec(&format!("{by_path}:115200")),
        SerialSpec { path: by_path.into(), baud: 115200, framing: eight_n_one, flow: Flow::Hardware }
    );
    assert_eq!(spec(by_path).path, by_path);
    // And the ports open with each.
    let (_ours, theirs) = TTYPort::pair().unwrap();
    let path = theirs.name().unwrap();
    for flow in ["none", "xonxoff", "rtscts"] {
        assert!(open_spec(&format!("serial:{path}:9600:8N1:{flow}"), epson).is_ok(), "{flow}");
    }
}
