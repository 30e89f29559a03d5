//! Printer ports and status: a serial printer (bytes out, real-time status DLE EOT in) and a
//! printer device file such as `/dev/usb/lp0` (status through usblp's LPGETSTATUS where the
//! driver answers it, else unknown; writes that time out). A job is checked
//! before (refused early, kept) and after: DLE EOT answers at once, before the printer's buffer
//! is printed, so "after" means after the printer confirmed the job (GS ( H, where the profile
//! has it) or after the job's print time (where it does not).

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::profile::{Completion, Flow, Profile};

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
        self.unknown
            || (self.answering
                && !self.offline
                && !self.cover_open
                && !self.paper_out
                && !self.cutter_error
                && !self.unrecoverable)
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
        let valid = |b: Option<u8>| b.filter(|b| is_status_byte(*b));
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

/// Whether a byte the printer sent can be a DLE EOT answer: bits 1 and 4 set, bits 0 and 7
/// clear. XON (11) and XOFF (13), an automatic status (ASB) packet and the process-ID and
/// buffer-clear responses cannot: an XOFF is not "online, no error".
pub fn is_status_byte(b: u8) -> bool {
    b & 0b1001_0011 == 0b0001_0010
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
    /// Waits up to `timeout` for the printer to send `expected` (a process-ID or buffer-clear
    /// response), passing over anything else it sends; false if it did not come.
    fn await_response(&mut self, expected: &[u8], timeout: Duration) -> io::Result<bool>;
    /// The state the device itself reports, where it reports one instead of DLE EOT (a USB
    /// printer through usblp's LPGETSTATUS).
    fn device_status(&mut self) -> io::Result<Option<PrinterStatus>> {
        Ok(None)
    }
    /// Forgets what the printer sent and was not taken yet.
    fn discard_input(&mut self) {}
    /// Whether the printer's answers come back on this port (a process ID, a clear response):
    /// a serial line does; a USB printer in unidirectional mode does not.
    fn reads_back(&self) -> bool {
        true
    }
}

pub struct SerialPrinter {
    port: Box<dyn serialport::SerialPort>,
    /// What the printer sent that was not a status answer yet (responses awaited later).
    input: Vec<u8>,
}

impl SerialPrinter {
    pub fn new(port: Box<dyn serialport::SerialPort>) -> SerialPrinter {
        SerialPrinter { port, input: Vec::new() }
    }

    /// Opens a serial printer at `baud` (usually 9600 or 115200) with `framing` (usually 8N1)
    /// and the profile's flow control: without it, bytes past the printer's buffer are lost.
    pub fn open(path: &Path, baud: u32, framing: Framing, flow: Flow) -> Result<SerialPrinter, serialport::Error> {
        let port = serialport::new(path.to_string_lossy(), baud)
            .data_bits(framing.data_bits)
            .parity(framing.parity)
            .stop_bits(framing.stop_bits)
            .flow_control(match flow {
                Flow::None => serialport::FlowControl::None,
                Flow::XonXoff => serialport::FlowControl::Software,
                Flow::Hardware => serialport::FlowControl::Hardware,
            })
            .timeout(STATUS_TIMEOUT)
            .open()?;
        port.clear(serialport::ClearBuffer::All)?;
        Ok(SerialPrinter::new(port))
    }

    /// Reads what the printer sent, waiting up to `timeout` for the first byte.
    fn read_some(&mut self, timeout: Duration) -> io::Result<usize> {
        self.port.set_timeout(timeout.max(Duration::from_millis(1))).map_err(io::Error::other)?;
        let mut b = [0u8; 64];
        match self.port.read(&mut b) {
            Ok(n) => {
                self.input.extend_from_slice(&b[..n]);
                Ok(n)
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) => Ok(0),
            Err(e) => Err(e),
        }
    }
}

impl PrinterPort for SerialPrinter {
    /// Gives up when the line does not take the bytes in twice their time at the line's speed
    /// plus two seconds (a printer holding the line busy by flow control while out of paper).
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let baud = u64::from(self.port.baud_rate().unwrap_or(9600).max(300));
        let line_time = Duration::from_millis(bytes.len() as u64 * 11 * 1000 * 2 / baud);
        let allowed = line_time + Duration::from_secs(2);
        self.port.set_timeout(allowed).map_err(io::Error::other)?;
        let deadline = Instant::now() + allowed;
        self.port.write_all(bytes)?;
        // Until the line has sent it all (flush would be tcdrain, which waits without end
        // while flow control holds the line).
        while self.port.bytes_to_write().unwrap_or(0) > 0 {
            if Instant::now() >= deadline {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "the printer holds the line"));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    fn discard_input(&mut self) {
        while self.port.bytes_to_read().unwrap_or(0) > 0 {
            if self.read_some(Duration::from_millis(1)).unwrap_or(0) == 0 {
                break;
            }
        }
        self.input.clear();
    }

    fn query(&mut self, n: u8) -> io::Result<Option<u8>> {
        // What came unasked (an automatic status, a response) is kept aside first, so that it
        // is not taken for this answer.
        while self.port.bytes_to_read().unwrap_or(0) > 0 && self.read_some(Duration::from_millis(1))? > 0 {}
        let start = self.input.len();
        self.port.write_all(&[0x10, 0x04, n])?;
        self.port.flush()?;
        let deadline = Instant::now() + STATUS_TIMEOUT;
        loop {
            if let Some(i) = self.input[start..].iter().position(|b| is_status_byte(*b)) {
                return Ok(Some(self.input.remove(start + i)));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.read_some(left)? == 0 {
                return Ok(None);
            }
        }
    }

    fn has_status(&self) -> bool {
        true
    }

    fn await_response(&mut self, expected: &[u8], timeout: Duration) -> io::Result<bool> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = self.input.windows(expected.len()).position(|w| w == expected) {
                self.input.drain(..i + expected.len());
                return Ok(true);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            self.read_some(left)?;
        }
    }
}

/// How long a write to a device file may wait for the printer to take the bytes: a USB printer
/// that refuses data (paper out, cover open) would otherwise block the write without end.
pub const DEVICE_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// `LPGETSTATUS` (linux/lp.h): usblp's answer is the IEEE 1284 port status byte.
const LPGETSTATUS: libc::c_ulong = 0x060B;
const LP_PERRORP: libc::c_int = 0x08;
const LP_PSELECD: libc::c_int = 0x10;
const LP_POUTPA: libc::c_int = 0x20;

/// A printer device file (`/dev/usb/lp0`). Writes never block past their timeout. Where the
/// driver answers LPGETSTATUS (usblp does), that is the printer's status; a plain file or a
/// device without it prints blind, and its jobs are marked "status unknown".
pub struct FilePrinter {
    path: PathBuf,
    write_timeout: Duration,
    /// Whether the device answered LPGETSTATUS when last asked.
    lp_status: bool,
    /// The device opened for reading, where it reads back (usblp in bidirectional mode; in
    /// unidirectional mode its `read()` fails).
    reader: Option<std::fs::File>,
    /// What the device sent back, not yet taken.
    input: Vec<u8>,
}

impl FilePrinter {
    pub fn new(path: &Path) -> FilePrinter {
        FilePrinter::with_timeout(path, DEVICE_WRITE_TIMEOUT)
    }

    pub fn with_timeout(path: &Path, write_timeout: Duration) -> FilePrinter {
        let mut printer =
            FilePrinter { path: path.to_path_buf(), write_timeout, lp_status: false, reader: None, input: Vec::new() };
        printer.lp_status = printer.lp_status_now().is_ok();
        // One descriptor for the answers, kept open (a reply between two opens would be lost),
        // and only where a first read does not fail outright.
        if let Ok(mut f) = printer.open(false) {
            let mut b = [0u8; 64];
            match f.read(&mut b) {
                Ok(n) => {
                    printer.input.extend_from_slice(&b[..n]);
                    printer.reader = Some(f);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => printer.reader = Some(f),
                Err(_) => {}
            }
        }
        printer
    }

    /// Opened without blocking: a write or read that cannot go on now says so (WouldBlock).
    fn open(&self, write: bool) -> io::Result<std::fs::File> {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .read(!write)
            .write(write)
            .append(write)
            .custom_flags(libc::O_NONBLOCK)
            .open(&self.path)
    }

    fn lp_status_now(&self) -> io::Result<PrinterStatus> {
        use std::os::fd::AsRawFd;
        let file = self.open(true)?;
        let mut status: libc::c_int = 0;
        // SAFETY: LPGETSTATUS writes one int through the pointer, which lives across the call.
        let done = unsafe { libc::ioctl(file.as_raw_fd(), LPGETSTATUS, &mut status as *mut libc::c_int) };
        if done < 0 {
            return Err(io::Error::last_os_error());
        }
        // usblp: no error while PERRORP is set; else paper out (POUTPA) or offline (no PSELECD).
        let error = status & LP_PERRORP == 0;
        Ok(PrinterStatus {
            answering: true,
            paper_out: error && status & LP_POUTPA != 0,
            offline: error && status & LP_PSELECD == 0,
            unrecoverable: error && status & LP_POUTPA == 0 && status & LP_PSELECD != 0,
            ..PrinterStatus::default()
        })
    }
}

impl PrinterPort for FilePrinter {
    /// An error before the device took a byte is `NotConnected`: the job was not sent.
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut f = self.open(true).map_err(|e| io::Error::new(io::ErrorKind::NotConnected, e))?;
        let deadline = Instant::now() + self.write_timeout;
        let mut at = 0;
        while at < bytes.len() {
            match f.write(&bytes[at..]) {
                Ok(n) => at += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        let kind = if at == 0 { io::ErrorKind::NotConnected } else { io::ErrorKind::TimedOut };
                        return Err(io::Error::new(kind, format!("the printer took {at} of {} bytes", bytes.len())));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn query(&mut self, _n: u8) -> io::Result<Option<u8>> {
        Ok(None)
    }

    fn has_status(&self) -> bool {
        self.lp_status
    }

    fn reads_back(&self) -> bool {
        self.reader.is_some()
    }

    /// Asked each time: a printer switched on after the till started answers from then on.
    fn device_status(&mut self) -> io::Result<Option<PrinterStatus>> {
        match self.lp_status_now() {
            Ok(status) => {
                self.lp_status = true;
                Ok(Some(status))
            }
            Err(_) => {
                self.lp_status = false;
                Ok(None)
            }
        }
    }

    /// usblp's `read()`: what a printer in bidirectional mode sent back.
    fn await_response(&mut self, expected: &[u8], timeout: Duration) -> io::Result<bool> {
        let Some(f) = self.reader.as_mut().filter(|_| self.lp_status) else {
            return Ok(false);
        };
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = self.input.windows(expected.len()).position(|w| w == expected) {
                self.input.drain(..i + expected.len());
                return Ok(true);
            }
            let mut b = [0u8; 64];
            match f.read(&mut b) {
                Ok(n) if n > 0 => self.input.extend_from_slice(&b[..n]),
                Ok(_) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(e),
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
        }
    }
}

/// The printer's state now.
pub fn status(port: &mut dyn PrinterPort) -> io::Result<PrinterStatus> {
    if let Some(status) = port.device_status()? {
        return Ok(status);
    }
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

/// Sends one job with a status check before and a confirmation after (see the module's doc).
pub fn print_job(port: &mut dyn PrinterPort, profile: &Profile, bytes: &[u8]) -> io::Result<JobResult> {
    let mut before = status(port)?;
    if before.cutter_error && port.has_status() {
        // A recoverable error: once the cutter is freed, DLE ENQ 2 puts the printer back online.
        port.write(&super::escpos::RECOVER)?;
        before = status(port)?;
    }
    if !before.can_print() {
        return Ok(JobResult::Refused { before });
    }
    // From the first byte on, part of the job may be on paper: whatever fails now (a write
    // that times out, a lost line) makes the job incomplete, never "not sent" — else a retry
    // would print its start a second time, unmarked.
    let confirmed = match port.write(bytes) {
        // Nothing was taken (the device is gone): not sent, kept for later.
        Err(e) if e.kind() == io::ErrorKind::NotConnected => {
            crate::log::event(&format!("print job not sent: {e}"));
            return Ok(JobResult::Refused { before: PrinterStatus::default() });
        }
        Err(e) => {
            crate::log::event(&format!("print job cut off: {e}"));
            false
        }
        Ok(()) => confirm(port, profile, bytes).unwrap_or_else(|e| {
            crate::log::event(&format!("print job not confirmed: {e}"));
            false
        }),
    };
    let after = status(port).unwrap_or_default();
    if after.unknown && confirmed {
        return Ok(JobResult::Printed { after });
    }
    if confirmed && after.can_print() || after.cutter_error && !after.paper_out {
        // A jammed cutter stops the job at its cut, its last command: the text is on paper.
        // The job is not printed again; the cashier frees the cutter and tears the receipt off.
        Ok(JobResult::Printed { after })
    } else {
        Ok(JobResult::Incomplete { after })
    }
}

/// Waits until the printer confirms a job just written: its process ID answered (GS ( H), or
/// its print time gone by. False when the confirmation did not come.
fn confirm(port: &mut dyn PrinterPort, profile: &Profile, bytes: &[u8]) -> io::Result<bool> {
    if !port.has_status() {
        return Ok(true);
    }
    let print_time = profile.print_time(job_lines(bytes));
    match profile.completion {
        Completion::ProcessId if port.reads_back() => {
            let id = next_process_id();
            port.write(&super::escpos::process_id(id))?;
            let mut response = vec![0x37, 0x22];
            response.extend_from_slice(&id);
            response.push(0);
            // The printer answers once the job is on paper; it stays silent while the paper is
            // out, so the wait asks the status now and then rather than waiting to the end.
            let deadline = Instant::now() + print_time * 2 + Duration::from_secs(2);
            loop {
                if port.await_response(&response, Duration::from_millis(250))? {
                    return Ok(true);
                }
                if Instant::now() >= deadline || !status(port)?.can_print() {
                    return Ok(false);
                }
            }
        }
        // No answers come back on this port: the print time it is.
        Completion::ProcessId | Completion::Timed => {
            std::thread::sleep(print_time);
            Ok(true)
        }
    }
}

/// What became of the rest of a job cut short when the till asked the printer to drop it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cleared {
    /// The printer has no DLE DC4 8 (or cannot answer): it keeps the rest.
    Unsupported,
    /// The printer answered the clear: the rest is gone.
    Confirmed,
    /// Sent, but no answer came: the rest may or may not be there.
    Unconfirmed,
}

/// DLE DC4 8 where the profile has it: the rest of a job cut short is dropped, not printed by
/// itself after a reload.
pub fn clear_buffers(port: &mut dyn PrinterPort, profile: &Profile) -> Cleared {
    if !profile.clear_buffer || !port.has_status() || !port.reads_back() {
        return Cleared::Unsupported;
    }
    // A clear response left over from before must not confirm this one.
    port.discard_input();
    if port.write(&super::escpos::CLEAR_BUFFERS).is_err() {
        return Cleared::Unconfirmed;
    }
    match port.await_response(&[0x37, 0x25, 0x00], STATUS_TIMEOUT * 2) {
        Ok(true) => Cleared::Confirmed,
        _ => Cleared::Unconfirmed,
    }
}

/// Four letters A–O: none of them can be read as a status byte (bit 4 is clear).
fn next_process_id() -> [u8; 4] {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let mut n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % (15 * 15 * 15 * 15);
    let mut id = [b'A'; 4];
    for d in id.iter_mut().rev() {
        *d = b'A' + (n % 15) as u8;
        n /= 15;
    }
    id
}

/// About how many lines of paper a job takes: its line feeds, its feeds, and eight lines for
/// each code or image.
pub fn job_lines(bytes: &[u8]) -> usize {
    let feeds: usize = bytes.windows(3).filter(|w| w[0] == 0x1B && w[1] == b'd').map(|w| usize::from(w[2])).sum();
    let codes = bytes.windows(3).filter(|w| w[0] == 0x1D && (w[1] == b'k' || (w[1] == b'v' && w[2] == b'0'))).count()
        + bytes.windows(2).filter(|w| w == &[49, 81]).count();
    bytes.iter().filter(|b| **b == 0x0A).count() + feeds + 8 * codes
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
        // An XOFF (13) has bits 1 and 4 set, as a status does, but bit 0 too: not an answer.
        assert!(!PrinterStatus::from_bytes(Some(0x13), Some(0x12), Some(0x12), Some(0x12)).answering);
        for _ in 0..(15 * 15 * 15 * 15) {
            let id = next_process_id();
            assert!(id.iter().all(|b| !is_status_byte(*b)), "{id:?}");
        }
        assert!(![0x37, 0x22, 0x25, 0x00, 0x11, 0x13].iter().any(|b| is_status_byte(*b)));
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("not a printer spec")]
    BadSpec,
    #[error("{0}: {1}")]
    Port(String, serialport::Error),
}

/// A serial printer's spec, after `serial:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialSpec {
    pub path: String,
    pub baud: u32,
    pub framing: Framing,
    pub flow: Flow,
}

impl SerialSpec {
    /// `PATH[:BAUD[:FRAMING[:FLOW]]]`, read from the end (a path may hold colons:
    /// /dev/serial/by-path/pci-0000:00:14.0-usb-0:1:1.0-port0); `flow` where none is named.
    pub fn parse(rest: &str, flow: Flow) -> SerialSpec {
        let mut parts: Vec<&str> = rest.split(':').collect();
        let named_flow = match parts.last().copied() {
            Some("rtscts") => Some(Flow::Hardware),
            Some("xonxoff") => Some(Flow::XonXoff),
            Some("none") => Some(Flow::None),
            _ => None,
        };
        let flow = match named_flow {
            Some(named) if parts.len() > 1 => {
                parts.pop();
                named
            }
            _ => flow,
        };
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
        SerialSpec { path: parts.join(":"), baud, framing, flow }
    }
}

/// Opens the printer a spec names: `serial:PATH[:BAUD[:FRAMING[:FLOW]]]` (e.g.
/// `serial:/dev/ttyUSB0:115200:8N1:none`; 9600 8N1 and the profile's flow control by default;
/// FLOW is `rtscts`, `xonxoff` or `none`, as the printer's switches and the cable say) or
/// `file:PATH` (e.g. `/dev/usb/lp0`).
pub fn open_spec(spec: &str, profile: &Profile) -> Result<Box<dyn PrinterPort + Send>, OpenError> {
    if let Some(path) = spec.strip_prefix("file:") {
        return Ok(Box::new(FilePrinter::new(Path::new(path))));
    }
    let rest = spec.strip_prefix("serial:").ok_or(OpenError::BadSpec)?;
    let SerialSpec { path, baud, framing, flow } = SerialSpec::parse(rest, profile.flow);
    SerialPrinter::open(Path::new(&path), baud, framing, flow)
        .map(|p| Box::new(p) as Box<dyn PrinterPort + Send>)
        .map_err(|e| OpenError::Port(path, e))
}
