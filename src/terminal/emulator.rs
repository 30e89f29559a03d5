//! A ZVT payment terminal (PT), faithful enough to rehearse on: training mode talks to it, an
//! installer checks cabling with it, and the tests run the till against it over pseudo-terminals.
//!
//! Like a real terminal it keeps its batch (the turnover store, receipt and trace numbers) in a
//! state file of its own, so a training day can be closed after a restart; it books a payment only
//! once the cash register acknowledged the status information, and otherwise reverses it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{Datelike, Local, Timelike};

use super::zvt::apdu::{Apdu, from_bcd, parse_bmps, push_bmp, to_bcd};
use super::zvt::messages::{self, EodTotals};
use super::zvt::transport::{ApduLine, LineFaults, TransportError};

/// How the emulated terminal behaves: the rehearsal scenarios of an acquirer's acceptance test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scenario {
    /// Cards are approved.
    #[default]
    Approve,
    /// The host declines with this result code (e.g. 0x05, 0x33 expired, 0x64 card unreadable).
    Decline(u8),
    /// The customer presses the stop key while asked for the PIN: 06 1E 6C.
    StopKey,
    /// Nobody inserts a card: the terminal's own timeout, 06 1E 6C.
    CardTimeout,
    /// The terminal accepts the command, then says nothing more (a frozen terminal).
    Silent,
    /// The next end-of-day fails (9B); payments are then refused with F0 until one succeeds.
    EndOfDayFails,
    /// End-of-days close the batch and send only its total (04), no totals by card (BMP 60), as
    /// terminals do that print their totals.
    EndOfDayTotalOnly,
    /// End-of-days close the batch and send neither BMP 60 nor the total (04): the totals are
    /// only on the end-of-day receipt the terminal prints (through the till, when it asked).
    EndOfDayPrintOnly,
    /// The next end-of-day closes the batch, then the terminal says nothing more: its answer
    /// is lost (a cable pulled at the wrong instant).
    EndOfDayAnswerLost,
    /// Payments approve, with an extra intermediate status (04 FF 68) whose frame ends in a CRC
    /// byte of 0x10, which goes on the wire raw, never doubled.
    CrcByte0x10,
    /// Payments approve, and the terminal sends its receipts (when the ECR asked for them) as
    /// text blocks (06 D3, extended length, with the receipt type 1F07) instead of print lines.
    LongPrintBlock,
    /// The "insert card" intermediate status carries a timeout byte of 01 (BCD minutes,
    /// PA00P015 rev 13.08 §3.7): the ECR's T4 becomes one minute for a customer who takes long.
    InsertCardTimeout,
    /// Status Enquiry's completion carries the terminal status byte without the software
    /// version before it (PA00P015 rev 13.08 §2.56.5), as some terminals send it.
    StatusWithoutVersion,
    /// The terminal loses power right after the till took its status information: the payment
    /// is not stored (§2.2.8); at the next contact it sends its pending auto-reversal (04 FF 05)
    /// first, while Repeat Receipt still shows the approval.
    PowerLoss,
    /// Payments approve and the terminal books the till's answer, but then the cable breaks: its
    /// acknowledgements of that answer and its completion never arrive, so the till cannot know
    /// the card was charged (serial lines only). The rehearsal of an unknown outcome and its
    /// recovery.
    AnswerLost,
}

/// What the control interface can change while the terminal runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    Scenario(Scenario),
    /// Answer as a terminal configured for this merchant (VU) number.
    Merchant(String),
    /// Corrupt, drop or leave unacknowledged the next frames (serial lines only).
    Faults(LineFaults),
    /// The host reverses the latest booked payment on its own (a late decline): the till still
    /// has it; the end-of-day will not.
    ReverseLast,
    /// The next customer presents demo card N (0 VISA, 1 girocard, 2 Mastercard), whatever the
    /// transaction: a refund to a card that did not pay, say.
    Card(usize),
}

impl Control {
    /// One line of the control interface: a scenario name (as `--scenario`), `merchant NO`,
    /// `corrupt N`, `drop N`, `lost-ack N`, `reverse-last` or `card N`.
    pub fn parse(line: &str) -> Option<Control> {
        let mut words = line.split_whitespace();
        let first = words.next()?;
        let arg = words.next();
        let count = || arg.and_then(|n| n.parse::<u32>().ok());
        Some(match first {
            "merchant" => Control::Merchant(arg?.to_string()),
            "reverse-last" => Control::ReverseLast,
            "card" => Control::Card(arg?.parse::<usize>().ok().filter(|n| *n < CARDS.len())?),
            "corrupt" => Control::Faults(LineFaults { corrupt_next_sends: count()?, ..LineFaults::default() }),
            "drop" => Control::Faults(LineFaults { drop_next_sends: count()?, ..LineFaults::default() }),
            "lost-ack" => Control::Faults(LineFaults { swallow_next_acks: count()?, ..LineFaults::default() }),
            name => Control::Scenario(Scenario::parse(name)?),
        })
    }
}

impl Scenario {
    /// `approve`, `decline:CODE` (hex), `stop-key`, `card-timeout`, `silent`, `eod-fails`,
    /// `eod-total-only`, `eod-print-only`, `eod-answer-lost`, `crc-0x10`, `long-print`, `answer-lost`, `power-loss`,
    /// `status-no-version`, `insert-card-timeout`.
    pub fn parse(text: &str) -> Option<Scenario> {
        Some(match text {
            "approve" => Scenario::Approve,
            "stop-key" => Scenario::StopKey,
            "card-timeout" => Scenario::CardTimeout,
            "silent" => Scenario::Silent,
            "eod-fails" => Scenario::EndOfDayFails,
            "eod-total-only" => Scenario::EndOfDayTotalOnly,
            "eod-print-only" => Scenario::EndOfDayPrintOnly,
            "eod-answer-lost" => Scenario::EndOfDayAnswerLost,
            "crc-0x10" => Scenario::CrcByte0x10,
            "long-print" => Scenario::LongPrintBlock,
            "answer-lost" => Scenario::AnswerLost,
            "power-loss" => Scenario::PowerLoss,
            "status-no-version" => Scenario::StatusWithoutVersion,
            "insert-card-timeout" => Scenario::InsertCardTimeout,
            other => Scenario::Decline(u8::from_str_radix(other.strip_prefix("decline:")?, 16).ok()?),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulatorConfig {
    pub password: u32,
    pub currency: u16,
    /// 8 digits.
    pub terminal_id: String,
    /// 15 characters (the VU number).
    pub merchant_no: String,
    pub scenario: Scenario,
    /// Intermediate statuses (insert card, PIN, please wait) before the status information.
    pub show_intermediate: bool,
    /// How long the customer takes to present the card (the cashier can abort meanwhile).
    pub card_delay: Duration,
}

impl Default for EmulatorConfig {
    fn default() -> EmulatorConfig {
        EmulatorConfig {
            password: 123456,
            currency: 156,
            terminal_id: "52500038".into(),
            merchant_no: "455600000012345".into(),
            scenario: Scenario::Approve,
            show_intermediate: true,
            card_delay: Duration::from_millis(200),
        }
    }
}

/// A card the emulator "reads": family index for the end-of-day totals (BMP 60 order).
struct Card {
    family: usize,
    card_type: u8,
    name: &'static str,
    masked_pan: &'static [u8],
    aid: &'static [u8; 8],
}

const CARDS: [Card; 3] = [
    Card {
        family: 4,
        card_type: 10,
        name: "VISA",
        masked_pan: &[0x47, 0x48, 0x43, 0xEE, 0xEE, 0xEE, 0x77, 0x43],
        aid: b"A0000000",
    },
    Card {
        family: 0,
        card_type: 5,
        name: "girocard",
        masked_pan: &[0x67, 0x20, 0x00, 0xEE, 0xEE, 0xEE, 0x12, 0x34],
        aid: b"D2760000",
    },
    Card {
        family: 2,
        card_type: 6,
        name: "MasterCard",
        masked_pan: &[0x54, 0x10, 0x21, 0xEE, 0xEE, 0xEE, 0x90, 0x12],
        aid: b"A0000000",
    },
];

/// One booked transaction in the terminal's turnover store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchEntry {
    pub receipt_no: u16,
    pub trace: u32,
    /// Positive for a payment, negative for a refund.
    pub amount_minor: i64,
    pub family: usize,
    pub reversed: bool,
}

/// The width this terminal formats its receipts with (24 characters), BCD as tag 12 has it.
const RECEIPT_WIDTH_BCD: u8 = 0x24;

/// What the terminal keeps across restarts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EmulatorState {
    pub last_receipt: u16,
    pub last_trace: u32,
    pub turnover: u32,
    pub eod_outstanding: bool,
    pub batch: Vec<BatchEntry>,
    /// The last status information sent, for Repeat Receipt.
    pub last_status: Vec<u8>,
    /// An approval the till took but the terminal could not store (power lost): reversed at
    /// the next contact, announced with 04 FF 05.
    pub pending_auto_reversal: bool,
    /// Transactions reversed by the TLV synchronisation (§4.2): booked here, but the ECR's
    /// mirrored identifier showed it never took them.
    pub implicit_reversals: u32,
}

impl EmulatorState {
    pub fn load(path: &Path) -> std::io::Result<EmulatorState> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(EmulatorState::default()),
            Err(e) => return Err(e),
        };
        let mut s = EmulatorState::default();
        let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, format!("bad state file {}", path.display()));
        for line in text.lines() {
            let parts: Vec<&str> = line.split_whitespace().collect();
            match parts.as_slice() {
                ["receipt", n] => s.last_receipt = n.parse().map_err(|_| bad())?,
                ["trace", n] => s.last_trace = n.parse().map_err(|_| bad())?,
                ["turnover", n] => s.turnover = n.parse().map_err(|_| bad())?,
                ["eod_outstanding", n] => s.eod_outstanding = *n == "1",
                ["auto_reversal", n] => s.pending_auto_reversal = *n == "1",
                ["implicit_reversals", n] => s.implicit_reversals = n.parse().map_err(|_| bad())?,
                ["last_status"] => s.last_status.clear(),
                ["last_status", hex] => s.last_status = crate::ledger::records::unhex(hex).ok_or_else(bad)?,
                ["entry", r, t, a, f, rev] => s.batch.push(BatchEntry {
                    receipt_no: r.parse().map_err(|_| bad())?,
                    trace: t.parse().map_err(|_| bad())?,
                    amount_minor: a.parse().map_err(|_| bad())?,
                    family: f.parse::<usize>().map_err(|_| bad())?.min(6),
                    reversed: *rev == "1",
                }),
                [] | ["till-zvt-emulator", _] => {}
                _ => return Err(bad()),
            }
        }
        Ok(s)
    }

    /// Written whole and synced before the terminal confirms anything, like a terminal's
    /// battery-backed batch.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write;
        let mut text = format!(
            "till-zvt-emulator 1\nreceipt {}\ntrace {}\nturnover {}\neod_outstanding {}\nauto_reversal {}\n\
             implicit_reversals {}\nlast_status {}\n",
            self.last_receipt,
            self.last_trace,
            self.turnover,
            u8::from(self.eod_outstanding),
            u8::from(self.pending_auto_reversal),
            self.implicit_reversals,
            crate::ledger::records::hex(&self.last_status)
        );
        for e in &self.batch {
            text.push_str(&format!(
                "entry {} {} {} {} {}\n",
                e.receipt_no,
                e.trace,
                e.amount_minor,
                e.family,
                u8::from(e.reversed)
            ));
        }
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(tmp, path)
    }

    pub fn totals(&self) -> EodTotals {
        let mut t = EodTotals::default();
        let live: Vec<&BatchEntry> = self.batch.iter().filter(|e| !e.reversed).collect();
        t.first_receipt = self.batch.first().map_or(0, |e| e.receipt_no);
        t.last_receipt = self.batch.last().map_or(0, |e| e.receipt_no);
        for e in live {
            // Refunds reduce the family's amount; the count counts transactions.
            let slot = &mut t.by_card[e.family];
            slot.0 = slot.0.saturating_add(1);
            slot.1 = (slot.1 as i64 + e.amount_minor).max(0) as u64;
        }
        t
    }
}

pub struct Emulator<T: ApduLine> {
    transport: T,
    pub config: EmulatorConfig,
    pub state: EmulatorState,
    state_path: Option<PathBuf>,
    controls: Option<std::sync::mpsc::Receiver<Control>>,
    /// The card the next customer presents (`Control::Card`), once.
    next_card: Option<usize>,
    /// The config byte of the ECR's registration (PA00P015 rev 13.08 §2.1, Table 1): whether it
    /// wants the receipts as print lines. 0 until it registers: the terminal prints itself.
    ecr_config: u8,
}

/// What the ECR answered to something the terminal sent.
enum Answer {
    Ack,
    Nak(u8),
    None,
}

impl<T: ApduLine> Emulator<T> {
    pub fn new(transport: T, config: EmulatorConfig, state_path: Option<PathBuf>) -> std::io::Result<Self> {
        let state = match &state_path {
            Some(p) => EmulatorState::load(p)?,
            None => EmulatorState::default(),
        };
        Ok(Emulator { transport, config, state, state_path, controls: None, next_card: None, ecr_config: 0 })
    }

    /// Scenarios sent here take effect before the next command.
    pub fn with_controls(mut self, controls: std::sync::mpsc::Receiver<Control>) -> Self {
        self.controls = Some(controls);
        self
    }

    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    fn persist(&self) -> std::io::Result<()> {
        match &self.state_path {
            Some(p) => self.state.save(p),
            None => Ok(()),
        }
    }

    /// Serves commands until `keep_going` says stop; each wait for a command lasts `poll`. A
    /// line failure ends the command in hand, not the terminal: it waits for the next one, as a
    /// terminal whose cable was pulled does.
    /// The control interface: a rehearsal changes how the terminal behaves between commands.
    fn apply_controls(&mut self) {
        while let Some(control) = self.controls.as_ref().and_then(|rx| rx.try_recv().ok()) {
            match control {
                Control::Scenario(s) => self.config.scenario = s,
                Control::Merchant(m) => self.config.merchant_no = m,
                Control::Faults(f) => {
                    if let Some(faults) = self.transport.faults_mut() {
                        *faults = f;
                    }
                }
                Control::Card(n) => self.next_card = Some(n),
                Control::ReverseLast => {
                    if let Some(last) = self.state.batch.iter_mut().rev().find(|e| !e.reversed && e.amount_minor > 0) {
                        last.reversed = true;
                        // A state file that cannot be written keeps the change in memory only.
                        let _ = self.persist();
                    }
                }
            }
        }
    }

    pub fn run(&mut self, poll: Duration, keep_going: &dyn Fn() -> bool) -> Result<(), TransportError> {
        while keep_going() {
            self.apply_controls();
            match self.serve_one(poll) {
                Ok(_) => {}
                // A TCP till hung up: this connection is over.
                Err(TransportError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(TransportError::Io(e)) if e.kind() != std::io::ErrorKind::Interrupted => {
                    // Nobody on the other end (a pty whose till has gone): wait, do not spin.
                    std::thread::sleep(poll);
                }
                Err(_) => {}
            }
        }
        Ok(())
    }

    /// Waits up to `timeout` for one command and carries it out. Ok(false) when none came.
    pub fn serve_one(&mut self, timeout: Duration) -> Result<bool, TransportError> {
        let Some(cmd) = self.transport.receive(timeout)? else { return Ok(false) };
        // A change sent while the terminal was waiting applies to the command that just came.
        self.apply_controls();
        match cmd.command() {
            (0x06, 0x00) => self.registration(&cmd)?,
            (0x06, 0x01) => self.payment(&cmd, false)?,
            (0x06, 0x31) => self.payment(&cmd, true)?,
            (0x06, 0x30) => self.reversal(&cmd)?,
            (0x06, 0x50) => self.end_of_day(&cmd)?,
            (0x05, 0x01) => self.status_enquiry(&cmd)?,
            (0x06, 0x20) => self.repeat_receipt(&cmd)?,
            (0x06, 0x70) => self.diagnosis()?,
            (0x06, 0x02) => self.transport.send(&messages::ack())?,
            // Abort with nothing running, or an answer that came late: nothing to stop.
            (0x06, 0xB0) => self.transport.send(&messages::nak(0x83))?,
            (0x80, _) | (0x84, _) => {}
            _ => self.transport.send(&messages::nak(0x83))?,
        }
        Ok(true)
    }

    fn password_ok(&self, data: &[u8]) -> bool {
        data.len() >= 3 && from_bcd(&data[..3]) == Some(u64::from(self.config.password))
    }

    /// Sends a PT message and waits for the ECR's answer (T3).
    fn tell(&mut self, apdu: &Apdu) -> Result<Answer, TransportError> {
        if self.state.pending_auto_reversal {
            // The first thing said at the next contact: "PT is sending auto-reversal"
            // (PA00P015 rev 13.08 §3.7, code 05). The payment was never stored.
            self.state.pending_auto_reversal = false;
            self.persist().map_err(TransportError::Io)?;
            self.transport.send(&Apdu::new(0x04, 0xFF, vec![0x05]))?;
            let _ = self.transport.receive(self.transport.timers().t3)?;
        }
        match self.transport.send(apdu) {
            // Never taken (the cable is out): no answer, as after T3. A payment whose status
            // information was not taken is reversed, not booked.
            Err(TransportError::NoAck(_)) => return Ok(Answer::None),
            other => other?,
        }
        let t3 = self.transport.timers().t3;
        Ok(match self.transport.receive(t3)? {
            Some(a) if a.command() == (0x80, 0x00) || a.command() == (0x84, 0x00) => Answer::Ack,
            Some(a) if a.class == 0x84 => Answer::Nak(a.instr),
            _ => Answer::None,
        })
    }

    fn finish(&mut self, extra: Vec<u8>) -> Result<(), TransportError> {
        self.tell(&Apdu::new(0x06, 0x0F, extra)).map(|_| ())
    }

    fn abort_with(&mut self, code: u8) -> Result<(), TransportError> {
        self.tell(&Apdu::new(0x06, 0x1E, vec![code])).map(|_| ())
    }

    fn identity_bmps(&self) -> Vec<u8> {
        let mut d = Vec::new();
        let tid: u64 = self.config.terminal_id.parse().unwrap_or(0);
        push_bmp(&mut d, 0x29, &to_bcd(tid, 4));
        push_bmp(&mut d, 0x49, &to_bcd(u64::from(self.config.currency), 2));
        d
    }

    /// Registration (PA00P015 rev 13.08 §2.1): `<password><config-byte>[<CC>[03<service-byte>]
    /// [06<TLV-container>]]`.
    fn registration(&mut self, cmd: &Apdu) -> Result<(), TransportError> {
        use super::zvt::apdu::{Tlv, encode_tlv, parse_tlv};
        if !self.password_ok(&cmd.data) {
            return self.transport.send(&messages::nak(0x83));
        }
        if let Some(c) = cmd.data.get(4..6)
            && from_bcd(c) != Some(u64::from(self.config.currency))
        {
            // Wrong currency: 84 1E, result code 6F and the terminal's own currency (sent only
            // because the ECR sent one).
            let mut data = vec![0x6F];
            data.extend(to_bcd(u64::from(self.config.currency), 2));
            return self.transport.send(&Apdu::new(0x84, 0x1E, data));
        }
        let asked = cmd
            .data
            .get(6..)
            .and_then(|rest| parse_bmps(rest).ok())
            .and_then(|bmps| bmps.into_iter().find(|b| b.id == 0x06))
            .and_then(|b| parse_tlv(&b.value).ok())
            .unwrap_or_default();
        self.ecr_config = cmd.data.get(3).copied().unwrap_or(0);
        self.transport.send(&messages::ack())?;
        let mut d = Vec::new();
        // 19 is a bit field here (§2.1, Table 3): nothing needed. An outstanding end-of-day
        // shows in Status Enquiry's terminal status (F0), not here.
        push_bmp(&mut d, 0x19, &[0x00]);
        d.extend(self.identity_bmps());
        let mut answer = Vec::new();
        // 12: told the ECR printer's width, the terminal answers the width it formats with.
        if asked.iter().any(|t| t.tag == 0x12) {
            answer.push(Tlv { tag: 0x12, value: vec![RECEIPT_WIDTH_BCD] });
        }
        // 27 with a single 14: a character set this terminal has (ASCII, Latin 1, CP437) is
        // echoed and so agreed; anything else, or more than one, gets no 27 (CP437 stays).
        if let Some(one) = messages::single_charset(&asked).filter(|c| matches!(c, 0x00 | 0x01 | 0xFF)) {
            answer.push(Tlv { tag: 0x27, value: encode_tlv(&[Tlv { tag: 0x14, value: vec![one] }]) });
        }
        if !answer.is_empty() {
            push_bmp(&mut d, 0x06, &encode_tlv(&answer));
        }
        self.finish(d)
    }

    /// Intermediate status; while the customer is asked for the card, also listens for the
    /// cashier's abort (06 B0). Ok(false) when the payment was aborted.
    fn intermediate(&mut self, code: u8) -> Result<bool, TransportError> {
        if self.config.show_intermediate {
            let mut data = vec![code];
            if code == 0x0A && self.config.scenario == Scenario::InsertCardTimeout {
                data.push(0x01);
            }
            self.tell(&Apdu::new(0x04, 0xFF, data))?;
        }
        if code != 0x0A {
            return Ok(true);
        }
        // While the customer is asked for the card: a rehearsal's "customer presses Stop"
        // (a scenario change) takes effect at once; an ECR's 06 B0 is honoured, as many
        // terminals do though the specification does not invite it during a payment.
        let deadline = std::time::Instant::now() + self.config.card_delay;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if let Some(a) = self.transport.receive(left.min(Duration::from_millis(20)))?
                && a.command() == (0x06, 0xB0)
            {
                self.transport.send(&messages::ack())?;
                self.abort_with(0x6C)?;
                return Ok(false);
            }
            self.apply_controls();
            if self.config.scenario == Scenario::StopKey || left.is_zero() {
                return Ok(true);
            }
        }
    }

    fn payment(&mut self, cmd: &Apdu, refund: bool) -> Result<(), TransportError> {
        let data = if refund {
            if !self.password_ok(&cmd.data) {
                return self.transport.send(&messages::nak(0x83));
            }
            &cmd.data[3..]
        } else {
            &cmd.data[..]
        };
        let Ok(bmps) = parse_bmps(data) else { return self.transport.send(&messages::nak(0x9A)) };
        let amount = bmps.iter().find(|b| b.id == 0x04).and_then(|b| from_bcd(&b.value));
        let currency = bmps.iter().find(|b| b.id == 0x49).and_then(|b| from_bcd(&b.value));
        let Some(amount) = amount.filter(|a| *a > 0) else { return self.transport.send(&messages::nak(0x9A)) };
        if self.state.eod_outstanding {
            return self.transport.send(&messages::nak(0xF0));
        }
        self.transport.send(&messages::ack())?;
        self.synchronise(&bmps)?;
        if currency.is_some_and(|c| c != u64::from(self.config.currency)) {
            return self.abort_with(0x6F);
        }
        match self.config.scenario {
            Scenario::Silent => return Ok(()),
            Scenario::CardTimeout => {
                if self.intermediate(0x0A)? {
                    self.abort_with(0x6C)?;
                }
                return Ok(());
            }
            _ => {}
        }
        if !self.intermediate(0x0A)? {
            return Ok(());
        }
        if self.config.scenario == Scenario::StopKey {
            return self.abort_with(0x6C);
        }
        if !self.intermediate(0x17)? {
            return Ok(());
        }
        if self.config.scenario == Scenario::CrcByte0x10 {
            // `04 FF 01 68` frames with the CRC bytes 10 2B.
            self.tell(&Apdu::new(0x04, 0xFF, vec![0x68]))?;
        }
        let result = match self.config.scenario {
            Scenario::Decline(code) => code,
            _ => 0x00,
        };
        let trace = self.state.last_trace + 1;
        let receipt = if result == 0 { self.state.last_receipt % 9999 + 1 } else { self.state.last_receipt };
        // Customers present one of the demo cards in turn; a refund goes back to the card of the
        // latest payment, as the money goes back to the card that paid.
        let card = match (self.next_card.take(), self.state.batch.iter().rev().find(|e| e.amount_minor > 0)) {
            (Some(n), _) => &CARDS[n],
            (None, Some(last)) if refund => CARDS.iter().find(|c| c.family == last.family).unwrap_or(&CARDS[0]),
            _ => &CARDS[(trace as usize) % CARDS.len()],
        };
        let status = self.status_information(result, amount, trace, receipt, card);
        self.state.last_trace = trace;
        self.persist().map_err(TransportError::Io)?;
        if self.config.scenario == Scenario::AnswerLost {
            let attempts = self.transport.timers().repeats + 1;
            if let Some(faults) = self.transport.faults_mut() {
                faults.swallow_next_acks = attempts;
            }
        }
        let mut answer = self.tell(&status)?;
        if let Answer::Nak(0x9C) = answer {
            // "Repeat in 2 s": the till is still writing.
            std::thread::sleep(Duration::from_secs(2));
            answer = self.tell(&status)?;
        }
        if result != 0 {
            // Its receipt says so: Repeat Receipt shows the decline with its trace. The receipt
            // of a failed payment is printed too (§2.2.7).
            self.state.last_status = status.data.clone();
            self.persist().map_err(TransportError::Io)?;
            if matches!(answer, Answer::Ack) && self.ecr_prints(false) {
                let slips = self.slips(&status.data, false);
                self.print(&slips)?;
            }
            return self.abort_with(result);
        }
        if let Answer::Ack = answer
            && self.config.scenario == Scenario::PowerLoss
        {
            // Power lost here: nothing stored, nothing more said; the approval is what a
            // Repeat Receipt shows until the auto-reversal is sent at the next contact.
            self.config.scenario = Scenario::Approve;
            self.state.pending_auto_reversal = true;
            self.state.last_status = status.data.clone();
            self.persist().map_err(TransportError::Io)?;
            std::thread::sleep(self.transport.timers().t2);
            let _ = self.transport.drain();
            return Ok(());
        }
        if let Answer::Ack = answer
            && self.config.scenario == Scenario::AnswerLost
        {
            // The cable broke here: no receipt, no completion. The money has moved.
            self.book(receipt, trace, amount, refund, card, status.data)?;
            return Ok(());
        }
        // Stored only once the ECR took the status information *and* every print line
        // (PA00P015 rev 13.08 §2.2.8); otherwise the terminal reverses on its own.
        if self.taken_with_slips(&answer, &status.data)? {
            self.book(receipt, trace, amount, refund, card, status.data)?;
            self.finish(self.identity_bmps())
        } else {
            // Goods not issued, no answer, or a print line not taken: the terminal reverses on
            // its own, books nothing, and its last receipt is that abort, with the trace.
            self.state.last_status = self.status_information(0x6C, amount, trace, receipt, card).data;
            self.persist().map_err(TransportError::Io)?;
            self.abort_with(0x6C)
        }
    }

    /// The TLV synchronisation (PA00P015 rev 13.08 §4.2): the ECR mirrors in 1F1F the identifier
    /// of the last transaction it holds as booked. One less than this terminal's last means the
    /// ECR never took that one: it is reversed here (an implicit reversal, like an auto-reversal)
    /// and its receipt number used again. Any other value is ignored (a new installation).
    fn synchronise(&mut self, bmps: &[super::zvt::apdu::Bmp]) -> Result<(), TransportError> {
        let mirrored = bmps
            .iter()
            .find(|b| b.id == 0x06)
            .and_then(|b| super::zvt::apdu::parse_tlv(&b.value).ok())
            .and_then(|tags| tags.into_iter().find(|t| t.tag == 0x1F1F))
            .map(|t| t.value);
        let Some(id) = mirrored.filter(|v| !v.is_empty() && v.len() <= 2) else { return Ok(()) };
        let ecr = id.iter().fold(0u32, |n, b| n << 8 | u32::from(*b));
        let last = self.state.last_receipt;
        if ecr + 1 != u32::from(last) {
            return Ok(());
        }
        if let Some(entry) = self.state.batch.iter_mut().rev().find(|e| e.receipt_no == last && !e.reversed) {
            entry.reversed = true;
            self.state.last_receipt = last - 1;
            self.state.implicit_reversals += 1;
            self.persist().map_err(TransportError::Io)?;
        }
        Ok(())
    }

    /// Whether the ECR took the status information and, where it prints the receipts, every
    /// line of them (§2.2.8): only then is a transaction stored.
    fn taken_with_slips(&mut self, answer: &Answer, status: &[u8]) -> Result<bool, TransportError> {
        match answer {
            Answer::Ack if self.ecr_prints(false) => {
                let slips = self.slips(status, false);
                self.print(&slips)
            }
            Answer::Ack => Ok(true),
            _ => Ok(false),
        }
    }

    /// Books a payment or refund the ECR took (status information and receipt).
    fn book(
        &mut self,
        receipt: u16,
        trace: u32,
        amount: u64,
        refund: bool,
        card: &Card,
        status: Vec<u8>,
    ) -> Result<(), TransportError> {
        self.state.last_receipt = receipt;
        self.state.turnover += 1;
        self.state.batch.push(BatchEntry {
            receipt_no: receipt,
            trace,
            amount_minor: if refund { -(amount as i64) } else { amount as i64 },
            family: card.family,
            reversed: false,
        });
        // Repeat Receipt gives the last booked transaction.
        self.state.last_status = status;
        self.persist().map_err(TransportError::Io)
    }

    /// Whether the ECR asked for this kind of receipt as print lines.
    fn ecr_prints(&self, admin: bool) -> bool {
        let kind = if admin {
            messages::config::ECR_PRINTS_ADMIN_RECEIPTS
        } else {
            messages::config::ECR_PRINTS_PAYMENT_RECEIPTS
        };
        self.ecr_config & messages::config::ECR_PRINT_LINES != 0 && self.ecr_config & kind != 0
    }

    /// Sends receipts to the ECR's printer: print lines (06 D1), the last line of each receipt
    /// with attribute 81; or, in the long-print scenario, one text block (06 D3) per receipt.
    /// Ok(false) when the ECR did not take one.
    fn print(&mut self, receipts: &[Vec<String>]) -> Result<bool, TransportError> {
        use super::zvt::apdu::{Tlv, encode_tlv};
        for (i, lines) in receipts.iter().enumerate() {
            if self.config.scenario == Scenario::LongPrintBlock {
                let mut texts = Vec::new();
                for line in lines {
                    texts.push(Tlv { tag: 0x07, value: line.as_bytes().to_vec() });
                }
                texts.push(Tlv { tag: 0x09, value: vec![0x81] });
                // 1F07: 01 merchant, 02 customer, 03 administration.
                let kind = if receipts.len() == 1 {
                    0x03
                } else if i == 0 {
                    0x02
                } else {
                    0x01
                };
                let container =
                    encode_tlv(&[Tlv { tag: 0x1F07, value: vec![kind] }, Tlv { tag: 0x25, value: encode_tlv(&texts) }]);
                let block = encode_tlv(&[Tlv { tag: 0x06, value: container }]);
                if !matches!(self.tell(&Apdu::new(0x06, 0xD3, block))?, Answer::Ack) {
                    return Ok(false);
                }
                continue;
            }
            for (n, line) in lines.iter().enumerate() {
                let attribute = if n + 1 == lines.len() { 0x81 } else { 0x00 };
                let mut data = vec![attribute];
                data.extend(line.bytes().map(|b| if b.is_ascii() { b } else { b'?' }));
                if !matches!(self.tell(&Apdu::new(0x06, 0xD1, data))?, Answer::Ack) {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// The receipts of a transaction as this terminal prints them: the customer's copy, and for
    /// a booked one the merchant's with the signature line. From its status information, so
    /// Repeat Receipt prints the same (marked as a duplicate).
    fn slips(&self, status: &[u8], duplicate: bool) -> Vec<Vec<String>> {
        let Ok(s) = messages::StatusInfo::decode(status) else { return Vec::new() };
        let currency = [crate::money::Currency::CNY, crate::money::Currency::EUR, crate::money::Currency::USD]
            .into_iter()
            .find(|c| c.numeric == self.config.currency)
            .map_or_else(|| self.config.currency.to_string(), |c| c.code.to_string());
        let amount = s.amount_minor.unwrap_or(0);
        let approved = s.approved();
        let copy = |title: &str| {
            let mut l = vec![format!("** {title} **"), "TILL TRAINING TERMINAL".to_string()];
            if duplicate {
                l.push("DUPLICATE".into());
            }
            l.push(format!("Terminal-ID: {:>11}", self.config.terminal_id));
            if let Some(vu) = s.merchant_no.as_deref().filter(|v| !v.is_empty()) {
                l.push(format!("VU-Nr: {vu:>17}"));
            }
            let (date, time) = (s.date.unwrap_or(0), s.time.unwrap_or(0));
            l.push(format!(
                "Date: {:02}.{:02}  Time: {:02}:{:02}:{:02}",
                date % 100,
                date / 100,
                time / 10000,
                time / 100 % 100,
                time % 100
            ));
            if let Some(r) = s.receipt_no {
                l.push(format!("Receipt-Nr: {r:>12}"));
            }
            l.push(format!("Trace-Nr: {:>14}", s.trace.unwrap_or(0)));
            if let Some(name) = &s.card_name {
                l.push(name.clone());
            }
            if let Some(pan) = &s.masked_pan {
                l.push(format!("Card: {pan:>18}"));
            }
            if let Some(e) = s.expiry {
                l.push(format!("Expiry: {:02}/{:02}", e % 100, e / 100));
            }
            if let Some(aid) = &s.aid {
                l.push(format!("AID: {aid:>19}"));
            }
            l.push(format!("AMOUNT: {currency} {:>9}.{:02}", amount / 100, amount % 100));
            l.push(String::new());
            l.push(if approved {
                "APPROVED".into()
            } else {
                format!("NOT APPROVED ({:02X})", s.result_code.unwrap_or(0))
            });
            l
        };
        if !approved {
            return vec![copy("CUSTOMER RECEIPT")];
        }
        let mut merchant = copy("MERCHANT RECEIPT");
        merchant.extend([String::new(), "Signature".into(), String::new(), "________________________".into()]);
        vec![copy("CUSTOMER RECEIPT"), merchant]
    }

    /// A transaction's status information. An approval offers `transaction_id` in TLV 1F1F for
    /// the ECR to mirror (§4.2): the receipt number of the terminal's last transaction.
    fn status_information(&self, result: u8, amount: u64, trace: u32, receipt: u16, card: &Card) -> Apdu {
        self.status_with_id(result, amount, trace, receipt, receipt, card)
    }

    fn status_with_id(
        &self,
        result: u8,
        amount: u64,
        trace: u32,
        receipt: u16,
        transaction_id: u16,
        card: &Card,
    ) -> Apdu {
        let now = Local::now();
        let mut d = Vec::new();
        push_bmp(&mut d, 0x27, &[result]);
        push_bmp(&mut d, 0x04, &to_bcd(amount, 6));
        push_bmp(&mut d, 0x0B, &to_bcd(u64::from(trace), 3));
        push_bmp(&mut d, 0x0C, &to_bcd(u64::from(now.hour() * 10000 + now.minute() * 100 + now.second()), 3));
        push_bmp(&mut d, 0x0D, &to_bcd(u64::from(now.month() * 100 + now.day()), 2));
        // The authorisation number as terminals show it: 3C (LLLVAR text) and, in the TLV
        // container, tag 24 (display texts) with a 07 line — as the public traces carry it.
        let auth_no = format!("GEN.NR.:{:06}", (u64::from(trace) * 7919 + u64::from(receipt)) % 1_000_000);
        let text = if result == 0 { auth_no.clone() } else { "DECLINED".to_string() };
        push_bmp(&mut d, 0x3C, text.as_bytes());
        if result == 0 {
            push_bmp(&mut d, 0x0E, &to_bcd(2912, 2));
            push_bmp(&mut d, 0x17, &to_bcd(1, 2));
            push_bmp(&mut d, 0x19, &[0x70]);
            push_bmp(&mut d, 0x22, card.masked_pan);
            let tid: u64 = self.config.terminal_id.parse().unwrap_or(0);
            push_bmp(&mut d, 0x29, &to_bcd(tid, 4));
            let mut vu = self.config.merchant_no.as_bytes().to_vec();
            vu.resize(15, b' ');
            push_bmp(&mut d, 0x2A, &vu);
            push_bmp(&mut d, 0x3B, card.aid);
            push_bmp(&mut d, 0x49, &to_bcd(u64::from(self.config.currency), 2));
            push_bmp(&mut d, 0x87, &to_bcd(u64::from(receipt), 2));
            push_bmp(&mut d, 0x88, &to_bcd(u64::from(self.state.turnover + 1), 3));
            push_bmp(&mut d, 0x8A, &[card.card_type]);
            // The network operator's card type (8C) and no blocked goods groups (4C, empty).
            push_bmp(&mut d, 0x8C, &[card.card_type]);
            push_bmp(&mut d, 0x4C, &[]);
            let mut name = card.name.as_bytes().to_vec();
            name.push(0);
            push_bmp(&mut d, 0x8B, &name);
        }
        let mut tlv = vec![0x24, (text.len() + 2) as u8, 0x07, text.len() as u8];
        tlv.extend(text.as_bytes());
        // 1F10 cardholder authentication (00: PIN), 1F12 card technology (02: chip).
        tlv.extend([0x1F, 0x10, 0x01, 0x00, 0x1F, 0x12, 0x01, 0x02]);
        if result == 0 {
            tlv.extend([0x1F, 0x1F, 0x02]);
            tlv.extend(transaction_id.to_be_bytes());
        }
        push_bmp(&mut d, 0x06, &tlv);
        Apdu::new(0x04, 0x0F, d)
    }

    fn reversal(&mut self, cmd: &Apdu) -> Result<(), TransportError> {
        if !self.password_ok(&cmd.data) {
            return self.transport.send(&messages::nak(0x83));
        }
        let Ok(bmps) = parse_bmps(&cmd.data[3..]) else { return self.transport.send(&messages::nak(0x9A)) };
        let receipt = bmps.iter().find(|b| b.id == 0x87).and_then(|b| from_bcd(&b.value)).map(|r| r as u16);
        self.transport.send(&messages::ack())?;
        self.synchronise(&bmps)?;
        // The latest with that number: an implicit reversal (§4.2) lets a number be used again.
        let Some(index) = receipt.and_then(|r| self.state.batch.iter().rposition(|e| e.receipt_no == r)) else {
            return self.abort_with(0xB5);
        };
        if self.state.batch[index].reversed {
            return self.abort_with(0xB4);
        }
        let entry = self.state.batch[index].clone();
        let trace = self.state.last_trace + 1;
        let card = CARDS.iter().find(|c| c.family == entry.family).unwrap_or(&CARDS[0]);
        let last = self.state.last_receipt;
        let status = self.status_with_id(0, entry.amount_minor.unsigned_abs(), trace, entry.receipt_no, last, card);
        self.state.last_trace = trace;
        let answer = self.tell(&status)?;
        if self.taken_with_slips(&answer, &status.data)? {
            self.state.batch[index].reversed = true;
            self.state.last_status = status.data;
            self.persist().map_err(TransportError::Io)?;
            self.finish(self.identity_bmps())
        } else {
            self.abort_with(0x6C)
        }
    }

    fn end_of_day(&mut self, cmd: &Apdu) -> Result<(), TransportError> {
        if !self.password_ok(&cmd.data) {
            return self.transport.send(&messages::nak(0x83));
        }
        self.transport.send(&messages::ack())?;
        if !self.intermediate(0x17)? {
            return Ok(());
        }
        if self.config.scenario == Scenario::EndOfDayFails {
            // The host could not be reached: the batch stays open, payments wait for a good one.
            self.config.scenario = Scenario::Approve;
            self.state.eod_outstanding = true;
            self.persist().map_err(TransportError::Io)?;
            let mut d = Vec::new();
            push_bmp(&mut d, 0x27, &[0x9B]);
            self.tell(&Apdu::new(0x04, 0x0F, d))?;
            return self.abort_with(0x9B);
        }
        let totals = self.state.totals();
        if self.config.scenario == Scenario::EndOfDayAnswerLost {
            self.config.scenario = Scenario::Approve;
            self.state.batch.clear();
            self.state.eod_outstanding = false;
            return self.persist().map_err(TransportError::Io);
        }
        let now = Local::now();
        let trace = self.state.last_trace + 1;
        let mut d = Vec::new();
        push_bmp(&mut d, 0x27, &[0x00]);
        let print_only = self.config.scenario == Scenario::EndOfDayPrintOnly;
        if !print_only {
            push_bmp(&mut d, 0x04, &to_bcd(totals.total_amount(), 6));
        }
        push_bmp(&mut d, 0x0B, &to_bcd(u64::from(trace), 3));
        push_bmp(&mut d, 0x0C, &to_bcd(u64::from(now.hour() * 10000 + now.minute() * 100 + now.second()), 3));
        push_bmp(&mut d, 0x0D, &to_bcd(u64::from(now.month() * 100 + now.day()), 2));
        if self.config.scenario != Scenario::EndOfDayTotalOnly && !print_only {
            push_bmp(&mut d, 0x60, &totals.encode());
        }
        let status = Apdu::new(0x04, 0x0F, d);
        self.state.last_trace = trace;
        let printed = match self.tell(&status)? {
            Answer::Ack if self.ecr_prints(true) => {
                let receipt = self.end_of_day_receipt(&totals, trace);
                self.print(&[receipt])?
            }
            Answer::Ack => true,
            _ => false,
        };
        if printed {
            self.state.batch.clear();
            self.state.eod_outstanding = false;
            self.state.last_status = status.data;
            self.persist().map_err(TransportError::Io)?;
            self.finish(self.identity_bmps())
        } else {
            self.abort_with(0x77)
        }
    }

    /// The end-of-day receipt: counts and amounts by card family, and the total.
    fn end_of_day_receipt(&self, totals: &EodTotals, trace: u32) -> Vec<String> {
        let now = Local::now();
        let money = |m: u64| format!("{}.{:02}", m / 100, m % 100);
        let mut l = vec![
            "** END OF DAY **".to_string(),
            "TILL TRAINING TERMINAL".into(),
            format!("Terminal-ID: {:>11}", self.config.terminal_id),
            now.format("%d.%m.%Y %H:%M:%S").to_string(),
            format!("Trace-Nr: {trace:>14}"),
            format!("Receipts {:04}-{:04}", totals.first_receipt, totals.last_receipt),
        ];
        for (family, (count, amount)) in totals.by_card.iter().enumerate() {
            if *count > 0 {
                l.push(format!("{:<10}{count:>4}{:>10}", messages::CARD_FAMILIES[family], money(*amount)));
            }
        }
        l.push("-".repeat(24));
        l.push(format!("TOTAL {:>18}", money(totals.total_amount())));
        l
    }

    fn status_enquiry(&mut self, cmd: &Apdu) -> Result<(), TransportError> {
        if !cmd.data.is_empty() && !self.password_ok(&cmd.data) {
            return self.transport.send(&messages::nak(0x83));
        }
        self.transport.send(&messages::ack())?;
        let version = b"till-emulator 1.0";
        let mut d = Vec::new();
        if self.config.scenario != Scenario::StatusWithoutVersion {
            d.extend(super::zvt::apdu::var_prefix(version.len(), 3));
            d.extend_from_slice(version);
        }
        d.push(if self.state.eod_outstanding { 0xF0 } else { 0x00 });
        d.extend(self.identity_bmps());
        self.finish(d)
    }

    fn repeat_receipt(&mut self, cmd: &Apdu) -> Result<(), TransportError> {
        if !self.password_ok(&cmd.data) {
            return self.transport.send(&messages::nak(0x83));
        }
        self.transport.send(&messages::ack())?;
        if self.state.last_status.is_empty() {
            return self.abort_with(0x83);
        }
        let status = Apdu::new(0x04, 0x0F, self.state.last_status.clone());
        if let Answer::Ack = self.tell(&status)?
            && self.ecr_prints(false)
        {
            let slips = self.slips(&status.data, true);
            self.print(&slips)?;
        }
        self.finish(self.identity_bmps())
    }

    fn diagnosis(&mut self) -> Result<(), TransportError> {
        self.transport.send(&messages::ack())?;
        if !self.intermediate(0x17)? {
            return Ok(());
        }
        if self.ecr_prints(true) {
            let receipt = vec![
                "** DIAGNOSIS **".to_string(),
                "TILL TRAINING TERMINAL".into(),
                format!("Terminal-ID: {:>11}", self.config.terminal_id),
                Local::now().format("%d.%m.%Y %H:%M:%S").to_string(),
                "Host connection      OK".into(),
            ];
            if !self.print(&[receipt])? {
                return self.abort_with(0x6C);
            }
        }
        self.finish(self.identity_bmps())
    }
}
