//! The PIN pad (card terminal). Only this module knows ZVT bytes.
//!
//! The rest of the till sees [`PaymentTerminal`]: register, pay, refund, reverse, end-of-day,
//! status, repeat the last receipt, diagnosis, abort; each with a typed outcome. `zvt` speaks the
//! protocol (frames, APDUs, messages, transport, session); `emulator` is a ZVT terminal of our own
//! for training mode, rehearsals and tests; `line` a serial line at its real speed between them.

pub mod emulator;
pub mod line;
pub mod zvt;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use zvt::messages::{self, EodTotals, StatusInfo, TerminalReceipt};
use zvt::session::{End, Exchange, Session, StatusAnswer};
use zvt::transport::ApduLine;

/// What the terminal reported about an approved card transaction. Never a full card number.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CardApproval {
    pub amount_minor: u64,
    pub masked_pan: String,
    pub card_type: Option<u8>,
    pub card_name: String,
    pub receipt_no: u16,
    pub trace: u32,
    pub turnover_no: Option<u32>,
    pub aid: String,
    pub terminal_id: String,
    pub merchant_no: String,
    /// MMDD and HHMMSS as the terminal sent them.
    pub date: Option<u16>,
    pub time: Option<u32>,
    /// 00 for an approval. Repeat Receipt may show a transaction that was not booked (declined,
    /// or aborted because the till never answered): then its result code, with its trace.
    pub result_code: u8,
    /// The terminal sent the card number unmasked, or a text field with a card-number-like run
    /// or too long; it was masked or cut before anything kept it. Its configuration is wrong (or
    /// someone on the line is not the terminal): the installer is told (a risk event), the
    /// payment stands.
    pub pan_was_unmasked: bool,
    /// The terminal's own receipts for it (customer and merchant copies), from its print lines.
    pub receipts: Vec<TerminalReceipt>,
    /// The status information as received (card number masked), for the ledger.
    pub status_kept: String,
}

impl CardApproval {
    fn from_status(s: &StatusInfo) -> CardApproval {
        CardApproval {
            amount_minor: s.amount_minor.unwrap_or(0),
            masked_pan: s.masked_pan.clone().unwrap_or_default(),
            card_type: s.card_type,
            card_name: s.card_name.clone().unwrap_or_default(),
            receipt_no: s.receipt_no.unwrap_or(0),
            trace: s.trace.unwrap_or(0),
            turnover_no: s.turnover_no,
            aid: s.aid.clone().unwrap_or_default(),
            terminal_id: s.terminal_id.clone().unwrap_or_default(),
            merchant_no: s.merchant_no.clone().unwrap_or_default(),
            date: s.date,
            time: s.time,
            result_code: s.result_code.unwrap_or(0),
            pan_was_unmasked: s.pan_was_unmasked || s.text_flagged,
            receipts: Vec::new(),
            status_kept: s.kept(),
        }
    }
}

/// How a payment, refund or reversal ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The terminal approved and took our acknowledgement: the money moved.
    Approved(CardApproval),
    /// The host or the terminal said no (result code).
    Declined { code: u8 },
    /// Stopped before any money moved: stop key, timeout, the cashier's abort (result code).
    Aborted { code: u8 },
    /// The terminal reported another terminal id or merchant than the shop's (跳码): refused
    /// for the sale, the terminal reverses it; a risk event for the manager.
    IdentityMismatch { terminal_id: String, merchant_no: String },
    /// The line failed when the terminal may have booked it: resolve with status enquiry and
    /// repeat receipt before the next card payment.
    Unknown { reason: String },
}

/// What the terminal answered to its end-of-day (06 50, PA00P015 rev 13.08 §2.16): its batch is
/// closed; the totals are as far as it sent them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EndOfDay {
    /// BMP 60: count and turnover by card family.
    pub totals: Option<EodTotals>,
    /// BMP 04: the total of the end-of-day.
    pub total_minor: Option<u64>,
    /// Its own end-of-day receipt(s), from its print lines.
    pub receipts: Vec<TerminalReceipt>,
    /// The status information as received.
    pub status_kept: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TerminalError {
    #[error("the terminal refused the command (code {0:02X})")]
    Refused(u8),
    #[error("the terminal stopped the command (code {0:02X})")]
    Aborted(u8),
    #[error("no answer from the terminal")]
    NoAnswer,
    #[error("the line to the terminal failed")]
    Link,
}

impl TerminalError {
    /// The terminal itself said no (84 xx, or 06 1E): the command did not happen. Otherwise
    /// (no answer, a broken line) nobody knows whether it did.
    pub fn is_definite(&self) -> bool {
        matches!(self, TerminalError::Refused(_) | TerminalError::Aborted(_))
    }

    /// In words for the cashier or the installer, with the terminal's reason where it gave one.
    pub fn localized(&self, locale: &str) -> String {
        use rust_i18n::t;
        match self {
            TerminalError::Refused(c) => {
                t!("cli.terminal_refused", locale = locale, code = format!("{c:02X}"), reason = result_text(*c, locale))
            }
            TerminalError::Aborted(c) => {
                t!("cli.terminal_aborted", locale = locale, code = format!("{c:02X}"), reason = result_text(*c, locale))
            }
            TerminalError::NoAnswer => t!("cli.terminal_no_answer", locale = locale),
            TerminalError::Link => t!("cli.terminal_link", locale = locale),
        }
        .into_owned()
    }

    fn from_end(end: &End) -> TerminalError {
        match end {
            End::Refused(c) => TerminalError::Refused(*c),
            End::Aborted(c) => TerminalError::Aborted(*c),
            End::NoAnswer | End::T4Expired => TerminalError::NoAnswer,
            End::LinkFailed { .. } | End::Completed(_) => TerminalError::Link,
        }
    }
}

/// A result code in words for the cashier (PA00P015's list; the host's own codes 01–63 are
/// "declined by the card issuer").
pub fn result_text(code: u8, locale: &str) -> String {
    let key = match code {
        0x01..=0x63 => "zvt.result.host".to_string(),
        _ => format!("zvt.result.{code:02x}"),
    };
    let text = rust_i18n::t!(&key, locale = locale);
    if text == key {
        rust_i18n::t!("zvt.result.other", locale = locale, code = format!("{code:02X}")).into_owned()
    } else {
        text.into_owned()
    }
}

/// An intermediate status (04 FF) in words for the cashier's screen; 4x/5x add "remove card".
pub fn status_text(code: u8, locale: &str) -> String {
    let (base, remove) = match code {
        0x40..=0x5F => (code & 0x1F, true),
        _ => (code, false),
    };
    let key = format!("zvt.status.{base:02x}");
    let text = rust_i18n::t!(&key, locale = locale);
    let text = if text == key {
        rust_i18n::t!("zvt.status.other", locale = locale, code = format!("{code:02X}")).into_owned()
    } else {
        text.into_owned()
    };
    if remove { format!("{text} — {}", rust_i18n::t!("zvt.status.0b", locale = locale)) } else { text }
}

/// What registration (签到) and status enquiry learn.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TerminalInfo {
    pub terminal_id: Option<String>,
    pub currency: Option<u16>,
    /// Status Enquiry's terminal status: 00 ready; F0 end-of-day outstanding; other codes per
    /// PA00P015.
    pub status: Option<u8>,
    /// Registration's status byte (field 19), a bit field (PA00P015 rev 13.08 §2.1, Table 3):
    /// 01 initialisation necessary, 02 diagnosis necessary, 04 OPT action necessary.
    pub flags: Option<u8>,
    pub sw_version: Option<String>,
    /// The terminal's own receipts of the command (a diagnosis prints one), from its print lines.
    pub receipts: Vec<TerminalReceipt>,
}

impl TerminalInfo {
    /// What registration says the terminal needs before it can take payments.
    pub fn needs(&self) -> Vec<&'static str> {
        let flags = self.flags.unwrap_or(0);
        [(0x01, "initialisation"), (0x02, "diagnosis"), (0x04, "opt_action")]
            .into_iter()
            .filter(|(bit, _)| flags & bit != 0)
            .map(|(_, what)| what)
            .collect()
    }
}

/// The shop's identity as the installer configured it, for the merchant-identity check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExpectedIdentity {
    pub terminal_id: Option<String>,
    /// The VU numbers (BMP 2A, the credit-card contract numbers) of the shop's acquirers, one
    /// each, separated by commas: a VU the terminal sends must be one of them.
    pub merchant_no: Option<String>,
}

impl ExpectedIdentity {
    /// Whether a VU number the terminal sent is one of the shop's acquirers' (any, when none
    /// is configured).
    pub fn accepts_vu(&self, vu: &str) -> bool {
        let vu = vu.trim();
        match self.merchant_no.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
            None => true,
            Some(list) => list.split(',').any(|m| m.trim() == vu),
        }
    }
}

/// The interface the sale uses; ZVT is one implementation.
pub trait PaymentTerminal {
    fn register(&mut self) -> Result<TerminalInfo, TerminalError>;
    /// `record` must store the approval durably and return true before the terminal is told
    /// the goods were issued; false refuses it (the terminal then reverses).
    fn pay(&mut self, amount_minor: u64, record: &mut dyn FnMut(&CardApproval) -> bool) -> Outcome;
    fn refund(&mut self, amount_minor: u64, record: &mut dyn FnMut(&CardApproval) -> bool) -> Outcome;
    fn reverse(&mut self, receipt_no: u16, record: &mut dyn FnMut(&CardApproval) -> bool) -> Outcome;
    fn end_of_day(&mut self) -> Result<EndOfDay, TerminalError>;
    fn status(&mut self) -> Result<TerminalInfo, TerminalError>;
    /// The last transaction's status information again (after an unclear ending): a booked one
    /// with its receipt number, or one that was not booked with its result code and trace.
    fn repeat_last(&mut self) -> Result<Option<CardApproval>, TerminalError>;
    fn diagnosis(&mut self) -> Result<TerminalInfo, TerminalError>;
    /// Set it to ask the running command to stop (the cashier's Abort button).
    fn abort_handle(&self) -> Arc<AtomicBool>;
    /// Whether the terminal announced an auto-reversal (04 FF 05) since last asked: its last
    /// transaction, the one a Repeat Receipt may still show as approved, was reversed.
    fn take_auto_reversal(&mut self) -> bool {
        false
    }
    /// Approvals (receipt, trace) the till refused ("goods not issued") because they came
    /// during another command: not booked, whatever Repeat Receipt shows later.
    fn refused_approvals(&self) -> Vec<(u16, u32)> {
        Vec::new()
    }
    /// The terminal's identifier (TLV 1F1F) of the last transaction the ledger holds as booked,
    /// to be mirrored in the next transaction commands (PA00P015 rev 13.08 §4.2); None when that
    /// transaction carried none (the terminal does not offer it) or the ledger holds none.
    fn mirror_transaction_id(&mut self, _transaction_id: Option<Vec<u8>>) {}
}

/// A ZVT terminal on a serial line.
pub struct ZvtTerminal<T: ApduLine> {
    session: Session<T>,
    /// 04 FF 05 seen since `take_auto_reversal` last asked (outside payments).
    auto_reversal: bool,
    /// Approvals (receipt, trace) the till refused with 84 66 because they came during another
    /// command: the terminal reversed them, though Repeat Receipt may still show them.
    refused: Vec<(u16, u32)>,
    /// What the next transaction command mirrors in TLV 1F1F (see `mirror_transaction_id`).
    mirror: Option<Vec<u8>>,
    password: u32,
    currency: u16,
    expected: ExpectedIdentity,
    on_intermediate: Box<dyn FnMut(u8) + Send>,
}

impl<T: ApduLine> ZvtTerminal<T> {
    pub fn new(session: Session<T>, password: u32, currency: u16, expected: ExpectedIdentity) -> ZvtTerminal<T> {
        ZvtTerminal {
            session,
            auto_reversal: false,
            refused: Vec::new(),
            mirror: None,
            password,
            currency,
            expected,
            on_intermediate: Box::new(|_| {}),
        }
    }

    /// Where the intermediate status codes go (the cashier's screen).
    pub fn on_intermediate(&mut self, f: impl FnMut(u8) + Send + 'static) {
        self.on_intermediate = Box::new(f);
    }

    pub fn session_mut(&mut self) -> &mut Session<T> {
        &mut self.session
    }

    fn money_command(&mut self, command: zvt::apdu::Apdu, record: &mut dyn FnMut(&CardApproval) -> bool) -> Outcome {
        let command = match &self.mirror {
            Some(id) => messages::mirroring(command, id),
            None => command,
        };
        let command = &command;
        let expected = self.expected.clone();
        let mut mismatch = None;
        let mut approved = None;
        let mut on_status = |s: &StatusInfo| {
            if !s.approved() {
                return StatusAnswer::Accept;
            }
            let approval = CardApproval::from_status(s);
            let tid_ok = expected.terminal_id.as_ref().is_none_or(|t| *t == approval.terminal_id);
            // The VU number (2A) is the credit-card contract's: girocard messages often carry none.
            // The identity is the terminal id; a VU is checked only when the terminal sends one.
            let vu_ok = (approval.merchant_no.trim().is_empty() && expected.terminal_id.is_some())
                || expected.accepts_vu(&approval.merchant_no);
            if !(tid_ok && vu_ok) {
                mismatch = Some((approval.terminal_id.clone(), approval.merchant_no.clone()));
                // Goods not issued: the terminal must reverse it.
                return StatusAnswer::Refuse(0x66);
            }
            if record(&approval) {
                approved = Some(approval);
                StatusAnswer::Accept
            } else {
                StatusAnswer::Refuse(0x66)
            }
        };
        let on_intermediate = &mut self.on_intermediate;
        // An auto-reversal announced at the start of a payment concerns an earlier transaction
        // the till has settled already (an open one blocks payments): it tells recovery
        // nothing about this one.
        self.auto_reversal = false;
        let ex = self.session.run(command, &mut on_status, &mut |c| on_intermediate(c));
        if let Some((terminal_id, merchant_no)) = mismatch {
            return Outcome::IdentityMismatch { terminal_id, merchant_no };
        }
        outcome(&ex, approved)
    }

    fn admin(&mut self, command: &zvt::apdu::Apdu) -> Result<Exchange, TerminalError> {
        let on_intermediate = &mut self.on_intermediate;
        // Only end-of-day and Repeat Receipt answer with a status information. Any other
        // command that gets an approval's (result 00 with an amount) is hearing a payment's the
        // terminal still holds — an earlier one whose answer went astray: acknowledging it here
        // would book it unseen. "Goods not issued": the terminal reverses it, and recovery finds
        // the earlier payment not booked.
        // An end-of-day's own status carries no receipt number (87); one that does is a payment's.
        let expects_status = |s: &StatusInfo| match command.command() {
            (0x06, 0x20) => true,
            (0x06, 0x50) => s.receipt_no.is_none(),
            _ => false,
        };
        let refused = &mut self.refused;
        let mut on_status = |s: &StatusInfo| {
            if expects_status(s) || !s.approved() || s.amount_minor.is_none() {
                return StatusAnswer::Accept;
            }
            if let (Some(receipt), Some(trace)) = (s.receipt_no, s.trace) {
                refused.push((receipt, trace));
            }
            crate::log::event(&format!(
                "terminal sent an approval (trace {:?}) during command {:02X} {:02X}: refused 84 66",
                s.trace, command.class, command.instr
            ));
            StatusAnswer::Refuse(0x66)
        };
        let ex = self.session.run(command, &mut on_status, &mut |c| on_intermediate(c));
        self.auto_reversal |= ex.intermediate.contains(&AUTO_REVERSAL);
        match &ex.end {
            End::Completed(_) => Ok(ex),
            other => Err(TerminalError::from_end(other)),
        }
    }
}

/// Turns an exchange into the outcome the sale acts on.
fn outcome(ex: &Exchange, approved: Option<CardApproval>) -> Outcome {
    let last = ex.statuses.last();
    if let Some(mut approval) = approved {
        // We recorded it and answered 80 00 00. The terminal stores the payment only once it has
        // that answer *and* the answers to all its print lines (PA00P015 rev 13.08 §2.2.8); a
        // break before, or an abort after the approval (its auto-reversal), leaves it unknown:
        // the completion is the only sign that every line was taken. Recovery asks the terminal.
        if !ex.last_status_acknowledged {
            return Outcome::Unknown { reason: "the answer to the approval did not reach the terminal".into() };
        }
        return match &ex.end {
            End::Completed(_) => {
                approval.receipts = ex.receipts();
                approval.pan_was_unmasked |= ex.print.flagged;
                Outcome::Approved(approval)
            }
            End::Aborted(code) => {
                Outcome::Unknown { reason: format!("the terminal stopped after the approval (code {code:02X})") }
            }
            _ => Outcome::Unknown { reason: "the line broke before the terminal's receipt was finished".into() },
        };
    }
    if let Some(s) = last
        && !s.approved()
    {
        return Outcome::Declined { code: s.result_code.unwrap_or(0xFF) };
    }
    match &ex.end {
        End::Refused(code) => Outcome::Declined { code: *code },
        // Only what the terminal itself said ends a payment as not made.
        End::Aborted(code) => Outcome::Aborted { code: *code },
        // The terminal may have taken the command and then the exchange broke (no answer, T4, a
        // broken line — even the command's own ACK may have been lost —, a completion without any
        // result): it may have booked. Recovery asks it.
        End::NoAnswer => Outcome::Unknown { reason: "no answer from the terminal".into() },
        End::T4Expired => Outcome::Unknown { reason: "the terminal did not finish in time".into() },
        End::LinkFailed { step } => Outcome::Unknown { reason: format!("the line failed ({step})") },
        End::Completed(_) => Outcome::Unknown { reason: "the terminal finished without a result".into() },
    }
}

fn info_from(ex: &Exchange) -> TerminalInfo {
    let mut info = TerminalInfo { receipts: ex.receipts(), ..TerminalInfo::default() };
    if let End::Completed(c) = &ex.end {
        info.sw_version = c.sw_version.clone();
        info.status = c.terminal_status;
        info.flags = c.field(0x19).and_then(|v| v.first().copied());
        info.terminal_id = c.field(0x29).and_then(zvt::apdu::bcd_digits);
        info.currency = c.field(0x49).and_then(zvt::apdu::from_bcd).map(|c| c as u16);
    }
    info
}

impl<T: ApduLine> PaymentTerminal for ZvtTerminal<T> {
    fn register(&mut self) -> Result<TerminalInfo, TerminalError> {
        let cmd = messages::registration(self.password, messages::config::TILL, Some(self.currency));
        let ex = self.admin(&cmd)?;
        if let End::Completed(c) = &ex.end
            && let Some(charset) = messages::Charset::agreed(c)
        {
            self.session.charset = charset;
        }
        Ok(info_from(&ex))
    }

    fn pay(&mut self, amount_minor: u64, record: &mut dyn FnMut(&CardApproval) -> bool) -> Outcome {
        let cmd = messages::authorization(amount_minor, Some(self.currency));
        self.money_command(cmd, record)
    }

    fn refund(&mut self, amount_minor: u64, record: &mut dyn FnMut(&CardApproval) -> bool) -> Outcome {
        let cmd = messages::refund(self.password, amount_minor, Some(self.currency));
        self.money_command(cmd, record)
    }

    fn reverse(&mut self, receipt_no: u16, record: &mut dyn FnMut(&CardApproval) -> bool) -> Outcome {
        let cmd = messages::reversal(self.password, receipt_no);
        self.money_command(cmd, record)
    }

    fn end_of_day(&mut self) -> Result<EndOfDay, TerminalError> {
        let ex = self.admin(&messages::end_of_day(self.password))?;
        // Its own status: not a payment's that came along (refused above).
        let status = ex.statuses.iter().rev().find(|s| s.receipt_no.is_none());
        if let Some(code) = status.and_then(|s| s.result_code).filter(|c| *c != 0) {
            return Err(TerminalError::Aborted(code));
        }
        // Whatever the terminal sent: BMP 60 (of any length), or only the total (04), or
        // neither (some terminals print their totals and send nothing else). It has closed its
        // batch either way: this is no error.
        Ok(EndOfDay {
            totals: status.and_then(|s| s.totals.clone()),
            total_minor: status.and_then(|s| s.amount_minor),
            receipts: ex.receipts(),
            status_kept: status.map(StatusInfo::kept).unwrap_or_default(),
        })
    }

    fn status(&mut self) -> Result<TerminalInfo, TerminalError> {
        self.admin(&messages::status_enquiry(self.password, None)).map(|ex| info_from(&ex))
    }

    fn repeat_last(&mut self) -> Result<Option<CardApproval>, TerminalError> {
        let ex = match self.admin(&messages::repeat_receipt(self.password, true)) {
            Ok(ex) => ex,
            // "Function not possible": the terminal has no transaction to repeat.
            Err(TerminalError::Aborted(0x83) | TerminalError::Refused(0x83)) => return Ok(None),
            Err(e) => return Err(e),
        };
        // An end-of-day's status (no receipt, result 00) is no transaction to match.
        Ok(ex
            .statuses
            .last()
            .filter(|s| if s.approved() { s.receipt_no.is_some() } else { s.trace.is_some() })
            .map(|s| CardApproval { receipts: ex.receipts(), ..CardApproval::from_status(s) }))
    }

    fn diagnosis(&mut self) -> Result<TerminalInfo, TerminalError> {
        self.admin(&messages::diagnosis()).map(|ex| info_from(&ex))
    }

    fn abort_handle(&self) -> Arc<AtomicBool> {
        self.session.abort_handle()
    }

    fn take_auto_reversal(&mut self) -> bool {
        std::mem::take(&mut self.auto_reversal)
    }

    fn refused_approvals(&self) -> Vec<(u16, u32)> {
        self.refused.clone()
    }

    fn mirror_transaction_id(&mut self, transaction_id: Option<Vec<u8>>) {
        self.mirror = transaction_id;
    }
}

/// Intermediate status 05: "PT is sending auto-reversal" (PA00P015 rev 13.08 §3.7).
const AUTO_REVERSAL: u8 = 0x05;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_in_words() {
        assert_eq!(result_text(0x6C, "en"), "aborted (timeout or stop key)");
        assert_eq!(result_text(0x05, "zh-CN"), "发卡行拒绝");
        assert_eq!(result_text(0xF0, "en"), "end-of-day batch outstanding: run the end-of-day first");
        assert_eq!(result_text(0xE7, "en"), "terminal code E7");
        assert_eq!(status_text(0x0A, "zh-CN"), "请插卡");
        assert_eq!(status_text(0x4A, "en"), "Insert card — Remove card");
        assert_eq!(status_text(0x99, "en"), "Terminal status 99");
    }
}
