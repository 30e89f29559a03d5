//! Training mode's devices, in process: the ZVT terminal emulator and the ESC/POS printer emulator
//! each on one end of a pseudo-terminal pair, the till's real drivers on the other. What the
//! printer emulator prints is kept for the screen; both emulators take the trainer's controls
//! (a declined card, paper out) over a channel, as the command-line emulators take them on stdin.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serialport::TTYPort;

use crate::printer::driver::SerialPrinter;
use crate::printer::emulator::{Decoder, PaperControl, serve};
use crate::terminal::emulator::{Control, Emulator, EmulatorConfig};
use crate::terminal::zvt::session::Session;
use crate::terminal::zvt::transport::{SerialTransport, Timers};
use crate::terminal::{ExpectedIdentity, ZvtTerminal};

/// Stops an emulator's thread when the device that talks to it is dropped.
pub struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// What the emulated printer has printed, one entry per receipt (up to its cut).
pub type PaperLog = Arc<Mutex<Vec<String>>>;

/// The printer side of training: the driver's port, what came out, and the paper sensor's control.
pub struct TrainingPrinter {
    pub port: SerialPrinter,
    pub printed: PaperLog,
    pub paper: Sender<PaperControl>,
    pub stop: StopOnDrop,
}

impl TrainingPrinter {
    pub fn start(profile: &'static crate::printer::profile::Profile) -> std::io::Result<TrainingPrinter> {
        let (ours, mut theirs) = TTYPort::pair().map_err(std::io::Error::other)?;
        let printed: PaperLog = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (paper, controls) = std::sync::mpsc::channel();
        let (log, flag) = (printed.clone(), stop.clone());
        std::thread::Builder::new().name("printer-emulator".into()).spawn(move || {
            let mut decoder = Decoder::new(profile);
            let _ = serve(&mut theirs, &mut decoder, &controls, &|| !flag.load(Ordering::SeqCst), &mut |receipt| {
                if let Ok(mut log) = log.lock() {
                    log.push(receipt.text.to_string());
                }
            });
        })?;
        Ok(TrainingPrinter { port: SerialPrinter::new(Box::new(ours)), printed, paper, stop: StopOnDrop(stop) })
    }
}

pub type TrainingZvt = ZvtTerminal<SerialTransport<TTYPort>>;

/// The terminal side of training: the till's ZVT terminal and the emulator's control channel.
pub struct TrainingTerminal {
    pub terminal: TrainingZvt,
    pub controls: Sender<Control>,
    pub stop: StopOnDrop,
}

impl TrainingTerminal {
    /// `state` keeps the emulator's batch (its end-of-day totals) between runs.
    pub fn start(
        config: EmulatorConfig,
        state: Option<std::path::PathBuf>,
        timers: Timers,
    ) -> std::io::Result<TrainingTerminal> {
        let (ecr, pt) = TTYPort::pair().map_err(std::io::Error::other)?;
        let (controls, receiver) = std::sync::mpsc::channel();
        let (password, currency) = (config.password, config.currency);
        let mut emulator = Emulator::new(SerialTransport::new(pt, timers), config, state)?.with_controls(receiver);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::Builder::new().name("terminal-emulator".into()).spawn(move || {
            let _ = emulator.run(Duration::from_millis(50), &|| !flag.load(Ordering::SeqCst));
        })?;
        let session = Session::new(SerialTransport::new(ecr, timers));
        let terminal = ZvtTerminal::new(session, password, currency, ExpectedIdentity::default());
        Ok(TrainingTerminal { terminal, controls, stop: StopOnDrop(stop) })
    }
}
