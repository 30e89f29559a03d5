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
            serve(&mut theirs, &mut decoder, &controls, &|| !flag.load(Ordering::SeqCst), &mut |text, events| {
                log.lock().unwrap().push((text.to_string(), events.to_vec()))
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
    encode(&Document { columns: 32, chinese: true, blocks }, true).unwrap()
}

#[test]
fn a_job_prints_and_kicks_the_drawer() {
    let mut rig = Rig::new();
    assert!(status(&mut rig.printer).unwrap().can_print());
    assert!(matches!(print_job(&mut rig.printer, &receipt(3)).unwrap(), JobResult::Printed { .. }));
    std::thread::sleep(Duration::from_millis(200));
    let printed = rig.printed.lock().unwrap().clone();
    assert_eq!(printed.len(), 1);
    assert_eq!(printed[0].0, "第1行 line 1\n第2行 line 2\n第3行 line 3\n[CUT]\n");
    assert!(printed[0].1.contains(&Event::DrawerKick { pin: 0 }));
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
