//! Printer ports and status: a serial printer (bytes out, real-time status DLE EOT in) and a
//! printer device file such as `/dev/usb/lp0` (write only: status unknown). A job is checked
//! before (refused early, kept) and after (was it all printed?).

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a printer may take to answer DLE EOT: silence means "not answering", never "ok".
pub const STATUS_TIMEOUT: Duration = Duration::from_millis(500);

/// What the printer said about itself (DLE EOT 1–4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrinterStatus {
    /// False when nothing answered (off, unplugged, wrong port), or for a device file.
    pub answering: bool,
    /// A device file cannot be asked: printing goes ahead, the outcome is unknown.
    pub unknown: bool,
    pub offline: bool,
    pub cover_open: bool,
    pub paper_near_end: bool,
    pub paper_out: bool,
    pub cutter_error: bool,
    pub unrecoverable: bool,
}

impl PrinterStatus {
    pub fn can_print(&self) -> bool {
        self.unknown || (self.answering && !self.offline && !self.cover_open && !self.paper_out && !self.unrecoverable)
    }

    /// The reason a job cannot print, as a locale key.
    pub fn problem_key(&self) -> Option<&'static str> {
        Some(if self.unknown {
            return None;
        } else if !self.answering {
            "printer.not_answering"
        } else if self.paper_out {
            "printer.paper_out"
        } else if self.cover_open {
            "printer.cover_open"
        } else if self.cutter_error {
            "printer.cutter_error"
        } else if self.unrecoverable {
            "printer.error"
        } else if self.offline {
            "printer.offline"
        } else {
            return None;
        })
    }

    /// Reads the four status bytes (None where the printer did not answer).
    pub fn from_bytes(printer: Option<u8>, offline: Option<u8>, error: Option<u8>, paper: Option<u8>) -> PrinterStatus {
        let valid = |b: Option<u8>| b.filter(|b| b & 0b1001_0010 == 0b0001_0010);
        let (Some(p), Some(o), Some(e), Some(s)) = (valid(printer), valid(offline), valid(error), valid(paper)) else {
            return PrinterStatus::default();
        };
        PrinterStatus {
            answering: true,
            unknown: false,
            offline: p & 0x08 != 0,
            cover_open: o & 0x04 != 0,
            paper_out: o & 0x20 != 0 || s & 0x60 == 0x60,
            paper_near_end: s & 0x0C == 0x0C,
            cutter_error: e & 0x08 != 0,
            unrecoverable: e & 0x20 != 0,
        }
    }
}

/// Data bits, parity and stop bits, as written on printers' self-test slips: "8N1", "7E2"…
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framing {
    pub data_bits: serialport::DataBits,
    pub parity: serialport::Parity,
    pub stop_bits: serialport::StopBits,
}

impl Default for Framing {
    fn default() -> Framing {
        Framing {
            data_bits: serialport::DataBits::Eight,
            parity: serialport::Parity::None,
            stop_bits: serialport::StopBits::One,
        }
    }
}

impl Framing {
    pub fn parse(text: &str) -> Option<Framing> {
        let b = text.as_bytes();
        if b.len() != 3 {
            return None;
        }
        Some(Framing {
            data_bits: match b[0] {
                b'7' => serialport::DataBits::Seven,
                b'8' => serialport::DataBits::Eight,
                _ => return None,
            },
            parity: match b[1].to_ascii_uppercase() {
                b'N' => serialport::Parity::None,
                b'E' => serialport::Parity::Even,
                b'O' => serialport::Parity::Odd,
                _ => return None,
            },
            stop_bits: match b[2] {
                b'1' => serialport::StopBits::One,
                b'2' => serialport::StopBits::Two,
                _ => return None,
            },
        })
    }
}

/// Where the bytes go.
pub trait PrinterPort {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// DLE EOT `n`: the answer byte, or None if nothing came within the timeout.
    fn query(&mut self, n: u8) -> io::Result<Option<u8>>;
    /// Whether `query` can answer at all (a device file cannot).
    fn has_status(&self) -> bool;
}

pub struct SerialPrinter {
    port: Box<dyn serialport::SerialPort>,
}

impl SerialPrinter {
    pub fn new(port: Box<dyn serialport::SerialPort>) -> SerialPrinter {
        SerialPrinter { port }
    }

    /// Opens a serial printer at `baud` (usually 9600 or 115200) with `framing` (usually 8N1).
    pub fn open(path: &Path, baud: u32, framing: Framing) -> Result<SerialPrinter, serialport::Error> {
        let port = serialport::new(path.to_string_lossy(), baud)
            .data_bits(framing.data_bits)
            .parity(framing.parity)
            .stop_bits(framing.stop_bits)
            .timeout(STATUS_TIMEOUT)
            .open()?;
        port.clear(serialport::ClearBuffer::All)?;
        Ok(SerialPrinter { port })
    }
}

impl PrinterPort for SerialPrinter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.port.write_all(bytes)?;
        self.port.flush()
    }

    fn query(&mut self, n: u8) -> io::Result<Option<u8>> {
        self.port.write_all(&[0x10, 0x04, n])?;
        self.port.flush()?;
        self.port.set_timeout(STATUS_TIMEOUT).map_err(io::Error::other)?;
        let mut b = [0u8; 1];
        match self.port.read(&mut b) {
            Ok(1) => Ok(Some(b[0])),
            Ok(_) => Ok(None),
            Err(e) if matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn has_status(&self) -> bool {
        true
    }
}

/// A printer device file (`/dev/usb/lp0`): bytes go in, nothing comes back.
pub struct FilePrinter {
    path: PathBuf,
}

impl FilePrinter {
    pub fn new(path: &Path) -> FilePrinter {
        FilePrinter { path: path.to_path_buf() }
    }
}

impl PrinterPort for FilePrinter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut f = std::fs::OpenOptions::new().append(true).open(&self.path)?;
        f.write_all(bytes)?;
        f.flush()
    }

    fn query(&mut self, _n: u8) -> io::Result<Option<u8>> {
        Ok(None)
    }

    fn has_status(&self) -> bool {
        false
    }
}

/// The printer's state now.
pub fn status(port: &mut dyn PrinterPort) -> io::Result<PrinterStatus> {
    if !port.has_status() {
        return Ok(PrinterStatus { unknown: true, ..PrinterStatus::default() });
    }
    let printer = port.query(1)?;
    if printer.is_none() {
        return Ok(PrinterStatus::default());
    }
    Ok(PrinterStatus::from_bytes(printer, port.query(2)?, port.query(3)?, port.query(4)?))
}

/// How a print job went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobResult {
    /// All sent and, where the printer can say so, all printed. `after` may warn of a low roll.
    Printed { after: PrinterStatus },
    /// Not sent: the printer could not print. The job stays queued.
    Refused { before: PrinterStatus },
    /// Sent, but the printer stopped (paper out mid-job): print it again after fixing it.
    Incomplete { after: PrinterStatus },
}

/// Sends one job with a status check before and after.
pub fn print_job(port: &mut dyn PrinterPort, bytes: &[u8]) -> io::Result<JobResult> {
    let before = status(port)?;
    if !before.can_print() {
        return Ok(JobResult::Refused { before });
    }
    port.write(bytes)?;
    let after = status(port)?;
    if after.unknown || after.can_print() {
        Ok(JobResult::Printed { after })
    } else {
        Ok(JobResult::Incomplete { after })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing() {
        assert_eq!(Framing::parse("8N1"), Some(Framing::default()));
        assert_eq!(Framing::parse("7e2").unwrap().parity, serialport::Parity::Even);
        assert_eq!(Framing::parse("9N1"), None);
        assert_eq!(Framing::parse("8N"), None);
    }

    #[test]
    fn status_bits() {
        let ok = PrinterStatus::from_bytes(Some(0x12), Some(0x12), Some(0x12), Some(0x12));
        assert!(ok.answering && ok.can_print() && !ok.paper_near_end);
        let low = PrinterStatus::from_bytes(Some(0x12), Some(0x12), Some(0x12), Some(0x1E));
        assert!(low.paper_near_end && low.can_print());
        let out = PrinterStatus::from_bytes(Some(0x12), Some(0x32), Some(0x12), Some(0x7E));
        assert!(out.paper_out && !out.can_print());
        assert_eq!(out.problem_key(), Some("printer.paper_out"));
        let silent = PrinterStatus::from_bytes(None, None, None, None);
        assert_eq!(silent.problem_key(), Some("printer.not_answering"));
        // A byte without the fixed bits is not a status answer.
        assert!(!PrinterStatus::from_bytes(Some(0xFF), Some(0x12), Some(0x12), Some(0x12)).answering);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("not a printer spec")]
    BadSpec,
    #[error("{0}: {1}")]
    Port(String, serialport::Error),
}

/// Opens the printer a spec names: `serial:PATH[:BAUD[:FRAMING]]` (e.g.
/// `serial:/dev/ttyUSB0:115200:8N1`; 9600 8N1 by default) or `file:PATH` (e.g. `/dev/usb/lp0`).
pub fn open_spec(spec: &str) -> Result<Box<dyn PrinterPort + Send>, OpenError> {
    if let Some(path) = spec.strip_prefix("file:") {
        return Ok(Box::new(FilePrinter::new(Path::new(path))));
    }
    let rest = spec.strip_prefix("serial:").ok_or(OpenError::BadSpec)?;
    let mut parts: Vec<&str> = rest.split(':').collect();
    let framing = match parts.last().and_then(|f| Framing::parse(f)) {
        Some(f) if parts.len() > 2 => {
            parts.pop();
            f
        }
        _ => Framing::default(),
    };
    let baud = match parts.last().and_then(|b| b.parse::<u32>().ok()) {
        Some(b) if parts.len() > 1 => {
            parts.pop();
            b
        }
        _ => 9600,
    };
    let path = parts.join(":");
    SerialPrinter::open(Path::new(&path), baud, framing)
        .map(|p| Box::new(p) as Box<dyn PrinterPort + Send>)
        .map_err(|e| OpenError::Port(path, e))
}
