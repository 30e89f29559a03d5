//! Training mode's devices, in process: the printer emulator on one end of a pseudo-terminal pair,
//! the till's real printer driver on the other. What the emulator prints is kept for the screen.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::printer::driver::{JobResult, PrinterPort, SerialPrinter, print_job};
use crate::printer::emulator::{Decoder, serve};
use crate::printer::escpos::encode;
use crate::printer::layout::{Document, test_page};

/// The emulated receipt printer and what it has printed so far.
pub struct TrainingPrinter {
    port: Mutex<SerialPrinter>,
    printed: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    columns: usize,
}

impl TrainingPrinter {
    pub fn start(columns: usize) -> std::io::Result<TrainingPrinter> {
        let (ours, mut theirs) = serialport::TTYPort::pair().map_err(std::io::Error::other)?;
        let printed = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, flag) = (printed.clone(), stop.clone());
        std::thread::spawn(move || {
            let (_tx, controls) = std::sync::mpsc::channel();
            let mut decoder = Decoder::new(columns);
            let _ = serve(&mut theirs, &mut decoder, &controls, &|| !flag.load(Ordering::SeqCst), &mut |receipt| {
                if let Ok(mut log) = log.lock() {
                    log.push(receipt.text.to_string());
                }
            });
        });
        let port: Box<dyn serialport::SerialPort> = Box::new(ours);
        Ok(TrainingPrinter { port: Mutex::new(SerialPrinter::new(port)), printed, stop, columns })
    }

    pub fn columns(&self) -> usize {
        self.columns
    }

    /// Prints a document through the real driver (status before and after); returns what the
    /// paper shows, or why it did not print.
    pub fn print(&self, doc: &Document) -> Result<String, String> {
        let bytes = encode(doc, false).map_err(|e| e.to_string())?;
        let before = self.printed.lock().map(|p| p.len()).unwrap_or(0);
        let mut port = self.port.lock().map_err(|e| e.to_string())?;
        match print_job(&mut *port as &mut dyn PrinterPort, &bytes).map_err(|e| e.to_string())? {
            JobResult::Printed { .. } => {
                // The emulator hands a receipt on before it answers the status query after it.
                for _ in 0..20 {
                    if let Some(text) = self.printed.lock().ok().and_then(|p| p.get(before).cloned()) {
                        return Ok(text);
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err("printed, but the emulator did not show it".into())
            }
            JobResult::Refused { before } | JobResult::Incomplete { after: before } => {
                Err(before.problem_key().unwrap_or("printer.error").to_string())
            }
        }
    }

    pub fn test_page(&self, locale: &str) -> Result<String, String> {
        self.print(&test_page(self.columns, locale))
    }
}

impl Drop for TrainingPrinter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
