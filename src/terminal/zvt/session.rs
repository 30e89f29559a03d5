//! The ECR side of a ZVT exchange: send a command, wait for its answer (T3), then, when the
//! terminal takes mastership, answer every message it sends until its completion or abort (T4,
//! re-armed by each intermediate status and status information, and changed by 04 FF).
//!
//! Money safety lives in one rule here: a status information is handed to `on_status` (which
//! records it durably) *before* the terminal gets its `80 00 00`; the terminal books a payment
//! only once it has that answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::apdu::Apdu;
use super::messages::{self, Charset, Completion, PtMessage, ReceiptCollector, StatusInfo, TerminalReceipt};
use super::transport::{ApduLine, Timers, TransportError};

/// How a command's exchange ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// 06 0F: the terminal finished and handed mastership back.
    Completed(Completion),
    /// 06 1E with its result code.
    Aborted(u8),
    /// 84 xx straight to the command: the terminal would not start it.
    Refused(u8),
    /// No answer to the command within T3.
    NoAnswer,
    /// No completion within T4; an abort (06 B0) was sent.
    T4Expired,
    /// The line failed (after repeats) at the step described.
    LinkFailed { step: &'static str },
}

/// Everything that happened during one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub statuses: Vec<StatusInfo>,
    /// Whether the terminal took our answer to the last status information (transport ACK).
    pub last_status_acknowledged: bool,
    pub intermediate: Vec<u8>,
    /// The terminal's own receipts, from its print lines (06 D1) and text blocks (06 D3).
    pub print: ReceiptCollector,
    pub end: End,
}

impl Exchange {
    /// The terminal's receipts of this command, in the order it sent them.
    pub fn receipts(&self) -> Vec<TerminalReceipt> {
        self.print.clone().finish()
    }
}

/// Answer to a status information, decided by whoever records it.
pub enum StatusAnswer {
    /// Recorded: `80 00 00`, the terminal may book.
    Accept,
    /// Not recorded or not wanted (`84 xx`): the terminal must not book, it reverses.
    Refuse(u8),
}

pub struct Session<T: ApduLine> {
    transport: T,
    /// Set from another thread (the cashier's Abort button) to send 06 B0 to the running command.
    abort: Arc<AtomicBool>,
    /// The last exchange ended without a clean end: drain the line before the next command.
    unclean: bool,
    clock: Arc<dyn Clock>,
    /// The character set of the terminal's texts, as the registration agreed it.
    pub charset: Charset,
}

/// Where the session's long timer (T4, 180 s) reads the time: the system clock, or a clock a test
/// drives, so that three minutes of a terminal's silence cost no real time in tests.
pub trait Clock: Send + Sync {
    /// Time since some fixed start.
    fn now(&self) -> Duration;
}

pub struct SystemClock(Instant);

impl Default for SystemClock {
    fn default() -> SystemClock {
        SystemClock(Instant::now())
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }
}

/// A clock that moves only when told to.
#[derive(Default)]
pub struct ManualClock(std::sync::Mutex<Duration>);

impl ManualClock {
    pub fn advance(&self, by: Duration) {
        if let Ok(mut t) = self.0.lock() {
            *t += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        self.0.lock().map(|t| *t).unwrap_or_default()
    }
}

/// How often the wait for the terminal looks at the abort button (for the commands that allow
/// it) and the clock.
const ABORT_POLL: Duration = Duration::from_millis(50);

impl<T: ApduLine> Session<T> {
    pub fn new(transport: T) -> Session<T> {
        Session::with_clock(transport, Arc::new(SystemClock::default()))
    }

    pub fn with_clock(transport: T, clock: Arc<dyn Clock>) -> Session<T> {
        Session {
            transport,
            abort: Arc::new(AtomicBool::new(false)),
            unclean: false,
            clock,
            charset: Charset::default(),
        }
    }

    pub fn abort_handle(&self) -> Arc<AtomicBool> {
        self.abort.clone()
    }

    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    pub fn timers(&self) -> Timers {
        self.transport.timers()
    }

    /// Runs one command to its end. `on_status` sees each status information before the
    /// terminal gets an answer; `on_intermediate` sees each intermediate status code.
    pub fn run(
        &mut self,
        command: &Apdu,
        on_status: &mut dyn FnMut(&StatusInfo) -> StatusAnswer,
        on_intermediate: &mut dyn FnMut(u8),
    ) -> Exchange {
        self.abort.store(false, Ordering::SeqCst);
        // After an exchange that ended badly the terminal may still be talking about it: its
        // leftovers are not the answer to this command.
        if self.unclean {
            let _ = self.transport.drain();
        }
        let ex = self.exchange(command, on_status, on_intermediate);
        self.unclean = matches!(ex.end, End::LinkFailed { .. } | End::NoAnswer | End::T4Expired);
        if matches!(ex.end, End::LinkFailed { .. } | End::NoAnswer) {
            self.transport.close_after_timeout();
        }
        ex
    }

    fn exchange(
        &mut self,
        command: &Apdu,
        on_status: &mut dyn FnMut(&StatusInfo) -> StatusAnswer,
        on_intermediate: &mut dyn FnMut(u8),
    ) -> Exchange {
        let timers = self.transport.timers();
        let mut ex = Exchange {
            statuses: Vec::new(),
            last_status_acknowledged: false,
            intermediate: Vec::new(),
            print: ReceiptCollector::default(),
            end: End::NoAnswer,
        };
        if self.transport.send(command).is_err() {
            ex.end = End::LinkFailed { step: "command" };
            return ex;
        }
        // T3: the answer to the command.
        match self.transport.receive(timers.t3) {
            Ok(Some(apdu)) => match PtMessage::decode_in(&apdu, self.charset) {
                Ok(PtMessage::Accepted) => {}
                Ok(PtMessage::Refused(code)) => {
                    ex.end = End::Refused(code);
                    return ex;
                }
                // Some terminals start straight with their messages: take it as accepted.
                Ok(other) => {
                    if let Some(end) = self.handle(other, &mut ex, on_status, on_intermediate) {
                        ex.end = end;
                        return ex;
                    }
                }
                // An answer that does not decode is no refusal: nobody knows what the terminal did.
                Err(_) => {
                    ex.end = End::LinkFailed { step: "answer" };
                    return ex;
                }
            },
            Ok(None) => return ex,
            Err(_) => {
                ex.end = End::LinkFailed { step: "answer" };
                return ex;
            }
        }
        if !takes_mastership(command) {
            ex.end = End::Completed(Completion::default());
            return ex;
        }
        let mut t4 = timers.t4;
        let mut deadline = self.clock.now() + t4;
        loop {
            let left = deadline.saturating_sub(self.clock.now());
            if left.is_zero() {
                // The cashier cannot wait forever: ask the terminal to stop.
                let _ = self.transport.send(&messages::abort());
                let _ = self.transport.receive(timers.t3);
                ex.end = End::T4Expired;
                return ex;
            }
            // The cashier's abort goes out only where PA00P015 rev 13.08 §2.23 allows it: the
            // ECR is master, or the command running invites it (Read Card, the text displays,
            // PIN verification). During a payment the terminal is master: the customer stops
            // it on the terminal, or it ends by its own timeout — an unsolicited 06 B0 there
            // collides with the terminal's messages and is not the ECR's to send.
            if self.abort.swap(false, Ordering::SeqCst) && allows_abort(command) {
                match self.transport.send(&messages::abort()) {
                    // Not taken (it crossed the terminal's own message and the terminal went on
                    // with it): the exchange goes on; what the terminal sent is answered below.
                    Ok(()) | Err(TransportError::NoAck(_)) => {}
                    Err(_) => {
                        ex.end = End::LinkFailed { step: "abort" };
                        return ex;
                    }
                }
            }
            let apdu = match self.transport.receive(left.min(ABORT_POLL)) {
                Ok(Some(a)) => a,
                Ok(None) => continue,
                Err(TransportError::Decode(_)) => {
                    if self.transport.send(&messages::nak(0x9A)).is_err() {
                        ex.end = End::LinkFailed { step: "answer" };
                        return ex;
                    }
                    continue;
                }
                Err(_) => {
                    ex.end = End::LinkFailed { step: "receive" };
                    return ex;
                }
            };
            let message = match PtMessage::decode_in(&apdu, self.charset) {
                Ok(m) => m,
                Err(_) => {
                    let _ = self.transport.send(&messages::nak(0x9A));
                    continue;
                }
            };
            // A new T4 from the terminal (BCD minutes, §3.7). 00 means no new time (no terminal
            // means "abort now" by it): the current T4 stays.
            if let PtMessage::Intermediate { t4_minutes: Some(m), .. } = message
                && m > 0
            {
                t4 = Duration::from_secs(u64::from(m) * 60);
            }
            // A terminal that talks is working: its intermediate statuses, status information and
            // print lines each start T4 again (a receipt of many lines at 9600 baud can take
            // longer than T4 by itself).
            let rearm = matches!(
                message,
                PtMessage::Intermediate { .. }
                    | PtMessage::Status(_)
                    | PtMessage::PrintLine(_)
                    | PtMessage::PrintBlock(_)
            );
            if let Some(end) = self.handle(message, &mut ex, on_status, on_intermediate) {
                ex.end = end;
                return ex;
            }
            if rearm {
                deadline = self.clock.now() + t4;
            }
        }
    }

    /// Answers one PT message; Some(end) when the exchange is over.
    fn handle(
        &mut self,
        message: PtMessage,
        ex: &mut Exchange,
        on_status: &mut dyn FnMut(&StatusInfo) -> StatusAnswer,
        on_intermediate: &mut dyn FnMut(u8),
    ) -> Option<End> {
        let answer = match message {
            PtMessage::Status(status) => {
                let answer = match on_status(&status) {
                    StatusAnswer::Accept => messages::ack(),
                    StatusAnswer::Refuse(code) => messages::nak(code),
                };
                ex.statuses.push(*status);
                let sent = self.transport.send(&answer).is_ok();
                ex.last_status_acknowledged = sent && answer == messages::ack();
                if !sent {
                    return Some(End::LinkFailed { step: "status answer" });
                }
                return None;
            }
            PtMessage::Intermediate { code, .. } => {
                ex.intermediate.push(code);
                on_intermediate(code);
                messages::ack()
            }
            // Kept for the till's printer and the ledger; acknowledged at once (the ledger
            // keeps them with the card result, the printer prints from there).
            PtMessage::PrintLine(line) => {
                ex.print.line(line);
                messages::ack()
            }
            PtMessage::PrintBlock(block) => {
                ex.print.block(block);
                messages::ack()
            }
            // A command of the terminal's the till does not support (a menu request, a display
            // with input…): "function not possible", as PA00P015 rev 13.08 answers unsupported
            // requests, so the terminal goes on without it.
            PtMessage::Other(_) => messages::nak(0x83),
            // The answer to our own abort (80 00 00, or 84 83 once it is too late): no reply.
            PtMessage::Accepted | PtMessage::Refused(_) => return None,
            PtMessage::Completion(c) => {
                let _ = self.transport.send(&messages::ack());
                return Some(End::Completed(c));
            }
            PtMessage::Abort(code) => {
                let _ = self.transport.send(&messages::ack());
                return Some(End::Aborted(code));
            }
        };
        if self.transport.send(&answer).is_err() {
            return Some(End::LinkFailed { step: "answer" });
        }
        None
    }
}

/// Commands during which the ECR may send Abort (06 B0) although the terminal is master
/// (PA00P015 rev 13.08 §2.23 and the chapters of these commands: "can be terminated prematurely
/// using the command Abort"): Read Card, the text displays with or without input, PIN
/// verification for customer cards. Display Image (06 F0) says it cannot.
pub fn allows_abort(command: &Apdu) -> bool {
    matches!(command.command(), (0x06, 0xC0 | 0xE0 | 0x85 | 0xE1 | 0x88 | 0xE2 | 0xE7 | 0x86 | 0xE3 | 0x87))
}

/// Commands after which the terminal is master until 06 0F / 06 1E.
fn takes_mastership(command: &Apdu) -> bool {
    !matches!(command.command(), (0x06, 0x02) | (0x06, 0xB0) | (0x80, _) | (0x84, _))
}
