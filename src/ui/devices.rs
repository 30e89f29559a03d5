//! The counter's devices, each behind its worker: the ledger, the PIN pad and the receipt printer.
//! In training mode both devices are the emulators, in process on pseudo-terminal pairs.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

use super::training::{PaperLog, StopOnDrop, TrainingPrinter, TrainingTerminal};
use super::workers::{SharedLedger, Worker};
use crate::catalog::Catalog;
use crate::config::{self, StoreSettings};
use crate::ledger::{Ledger, LedgerError};
use crate::printer::driver::PrinterPort;
use crate::printer::emulator::PaperControl;
use crate::terminal::emulator::{Control, EmulatorConfig};
use crate::terminal::zvt::transport::Timers;
use crate::terminal::{PaymentTerminal, ZvtTerminal};

type StatusSink = Arc<Mutex<Box<dyn FnMut(u8) + Send>>>;

/// The PIN pad as its worker owns it: the terminal and where its status texts go now.
pub struct TerminalDevice {
    pub terminal: Box<dyn PaymentTerminal + Send>,
    statuses: StatusSink,
    _emulator: Option<StopOnDrop>,
}

impl TerminalDevice {
    /// A ZVT terminal whose intermediate statuses go to whoever `on_status` names.
    pub fn zvt<T>(mut terminal: ZvtTerminal<T>, emulator: Option<StopOnDrop>) -> TerminalDevice
    where
        T: crate::terminal::zvt::transport::ApduLine + Send + 'static,
    {
        let statuses: StatusSink = Arc::new(Mutex::new(Box::new(|_| {})));
        let sink = statuses.clone();
        terminal.on_intermediate(move |code| {
            if let Ok(mut f) = sink.lock() {
                f(code);
            }
        });
        TerminalDevice { terminal: Box::new(terminal), statuses, _emulator: emulator }
    }

    pub fn on_status(&mut self, f: Box<dyn FnMut(u8) + Send>) {
        if let Ok(mut s) = self.statuses.lock() {
            *s = f;
        }
    }
}

/// The receipt printer as its worker owns it; in training, what the emulator printed.
pub struct PrinterDevice {
    pub port: Box<dyn PrinterPort + Send>,
    paper: Option<PaperLog>,
    _emulator: Option<StopOnDrop>,
}

impl PrinterDevice {
    pub fn new(port: Box<dyn PrinterPort + Send>) -> PrinterDevice {
        PrinterDevice { port, paper: None, _emulator: None }
    }

    pub fn printed_count(&self) -> usize {
        self.paper.as_ref().and_then(|p| p.lock().ok().map(|p| p.len())).unwrap_or(0)
    }

    /// What the emulated printer put on paper since `before` receipts. The emulator hands a
    /// receipt on just before it answers the status query after it, so it is there by now.
    pub fn printed_since(&self, before: usize) -> Vec<String> {
        self.paper
            .as_ref()
            .and_then(|p| p.lock().ok().map(|p| p.get(before..).unwrap_or(&[]).to_vec()))
            .unwrap_or_default()
    }
}

/// What the trainer can change on the emulators (a declined card, paper out).
pub struct TrainingControls {
    pub terminal: Sender<Control>,
    pub paper: Sender<PaperControl>,
}

pub struct Devices {
    /// The ledger's own worker: postings, look-ups, audit entries.
    pub ledger: Worker<SharedLedger>,
    /// The same ledger, for device jobs that write around a device's step.
    pub shared: SharedLedger,
    pub catalog: Arc<Catalog>,
    pub terminal: Option<Worker<TerminalDevice>>,
    /// Set to ask the running card payment to stop (the Abort button).
    pub abort: Option<Arc<AtomicBool>>,
    pub printer: Option<Worker<PrinterDevice>>,
    pub training: Option<TrainingControls>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Catalog(#[from] crate::demo::CatalogLoadError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl DeviceError {
    pub fn localized(&self, locale: &str) -> String {
        match self {
            DeviceError::Ledger(e) => e.localized(locale),
            DeviceError::Catalog(e) => e.to_string(),
            DeviceError::Io(e) => {
                rust_i18n::t!("counter.device_error", locale = locale, detail = e.to_string()).into_owned()
            }
        }
    }
}

/// The PIN pad and the printer a settings file names, each behind its worker; what could not be
/// opened is on `missing` (the till then runs without it and says so).
pub struct PortDevices {
    pub terminal: Option<Worker<TerminalDevice>>,
    pub abort: Option<Arc<AtomicBool>>,
    pub printer: Option<Worker<PrinterDevice>>,
    pub missing: Vec<String>,
}

impl PortDevices {
    pub fn open(settings: &crate::config::settings::Settings) -> Result<PortDevices, DeviceError> {
        use crate::terminal::ExpectedIdentity;
        use crate::terminal::zvt::session::Session;
        use crate::terminal::zvt::transport::{ReopeningPort, SerialTransport, TcpTransport};
        let store = &settings.store;
        let mut missing = Vec::new();
        let (mut terminal, mut abort) = (None, None);
        if let Some(t) = &settings.terminal {
            let timers = t.timers;
            let expected = ExpectedIdentity { terminal_id: t.terminal_id.clone(), merchant_no: t.merchant_no.clone() };
            let device = match (&t.tcp, &t.port) {
                (Some(addr), _) => TcpTransport::connect(addr, timers)
                    .map(|line| {
                        let mut zvt =
                            ZvtTerminal::new(Session::new(line), t.password, store.currency.numeric, expected);
                        zvt.session_mut().charset = t.charset;
                        (zvt.abort_handle(), TerminalDevice::zvt(zvt, None))
                    })
                    .map_err(|e| format!("{addr}: {e}")),
                // Opened by its path, and opened again after a USB adapter was unplugged.
                (None, Some(port)) => ReopeningPort::open(port, t.baud)
                    .map(|p| {
                        let line = SerialTransport::new(p, timers);
                        let mut zvt =
                            ZvtTerminal::new(Session::new(line), t.password, store.currency.numeric, expected);
                        zvt.session_mut().charset = t.charset;
                        (zvt.abort_handle(), TerminalDevice::zvt(zvt, None))
                    })
                    .map_err(|e| format!("{}: {e}", port.display())),
                (None, None) => Err(String::from("terminal")),
            };
            match device {
                Ok((handle, device)) => {
                    abort = Some(handle);
                    terminal = Some(Worker::spawn("terminal", device)?);
                }
                Err(e) => missing.push(e),
            }
        }
        let mut printer = None;
        if let Some(spec) = &settings.printer {
            match crate::printer::driver::open_spec(spec, store.printer_model) {
                Ok(port) => printer = Some(Worker::spawn("printer", PrinterDevice::new(port))?),
                Err(e) => missing.push(format!("{spec}: {e}")),
            }
        }
        Ok(PortDevices { terminal, abort, printer, missing })
    }
}

impl Devices {
    /// Closes the PIN pad and the printer (their ports free once this returns).
    pub fn close_ports(&mut self) {
        self.abort = None;
        if let Some(t) = self.terminal.take() {
            t.shut_down();
        }
        if let Some(p) = self.printer.take() {
            p.shut_down();
        }
    }

    /// A configured till: the ledger, the catalog as imported (no demo), and the devices the
    /// settings name. A device that cannot be opened is left out (the status bar says so, and
    /// the counter sells for cash) and reported on the returned list.
    pub fn configured(
        data_dir: &Path,
        settings: &crate::config::settings::Settings,
    ) -> Result<(Devices, Vec<String>), DeviceError> {
        let store = &settings.store;
        std::fs::create_dir_all(data_dir)?;
        let mut ledger = Ledger::open(&config::ledger_path(data_dir), &store.register, store.currency)?;
        let catalog = Arc::new(crate::demo::load_catalog(&mut ledger, store, false)?);
        let shared: SharedLedger = Arc::new(Mutex::new(ledger));
        let PortDevices { terminal, abort, printer, missing } = PortDevices::open(settings)?;
        let devices = Devices {
            ledger: Worker::spawn("ledger", shared.clone())?,
            shared,
            catalog,
            terminal,
            abort,
            printer,
            training: None,
        };
        Ok((devices, missing))
    }

    /// Training mode: the ledger in `data_dir` (the demo catalog seeded into an empty one) and
    /// both emulators; the terminal emulator keeps its batch beside the ledger.
    pub fn training(data_dir: &Path, store: &StoreSettings) -> Result<Devices, DeviceError> {
        // The customer takes a moment with the card, as at a real counter: time to see the
        // terminal's texts and to try the Abort button.
        let terminal =
            EmulatorConfig { card_delay: std::time::Duration::from_millis(1500), ..EmulatorConfig::default() };
        let timers = Timers { t3: std::time::Duration::from_secs(5), ..Timers::default() };
        Devices::training_with(data_dir, store, terminal, timers)
    }

    /// Training with this terminal emulator and these ZVT timers (both ends of the line).
    pub fn training_with(
        data_dir: &Path,
        store: &StoreSettings,
        terminal: EmulatorConfig,
        timers: Timers,
    ) -> Result<Devices, DeviceError> {
        std::fs::create_dir_all(data_dir)?;
        let mut ledger = Ledger::open(&config::ledger_path(data_dir), &store.register, store.currency)?;
        let catalog = Arc::new(crate::demo::load_catalog(&mut ledger, store, true)?);
        // Training's demo cashier and manager, kept in the ledger like real users (lockout too).
        if ledger.users()?.is_empty() {
            for user in crate::auth::demo_users() {
                ledger.save_user(&user, "training", chrono::Utc::now())?;
            }
        }
        let shared: SharedLedger = Arc::new(Mutex::new(ledger));
        let printer = TrainingPrinter::start(store.printer_model)?;
        let zvt = TrainingTerminal::start(terminal, Some(data_dir.join("training-terminal.state")), timers)?;
        let abort = zvt.terminal.abort_handle();
        let controls = TrainingControls { terminal: zvt.controls.clone(), paper: printer.paper.clone() };
        let terminal = TerminalDevice::zvt(zvt.terminal, Some(zvt.stop));
        let printer =
            PrinterDevice { port: Box::new(printer.port), paper: Some(printer.printed), _emulator: Some(printer.stop) };
        Ok(Devices {
            ledger: Worker::spawn("ledger", shared.clone())?,
            shared,
            catalog,
            terminal: Some(Worker::spawn("terminal", terminal)?),
            abort: Some(abort),
            printer: Some(Worker::spawn("printer", printer)?),
            training: Some(controls),
        })
    }
}
