//! Card payments with the ledger: the path that makes an approved payment impossible to forget
//! and a second charge impossible to make.
//!
//! 1. The intent is posted (durably) before a byte goes to the terminal.
//! 2. The terminal's approval is posted as `unknown` (with all its card data) *before* the till
//!    answers the terminal, so a crash after the answer cannot lose it.
//! 3. Once the answer reached the terminal, `approved` is posted: the payment stands.
//! 4. Anything else (declined, aborted, identity mismatch) is posted as such.
//!
//! While an intent's last result is missing or `unknown`, the ledger refuses new card payments.
//! [`recover`] resolves such intents with the terminal's Repeat Receipt, and **never guesses**:
//! - booked: the terminal showed this transaction (the receipt, trace and amount the till stored,
//!   or, with nothing stored, a transaction of the intent's amount the ledger does not know);
//! - not booked: the terminal's last transaction was not booked (declined, or aborted because
//!   the till never answered) and is this intent's own trace or the till stored no approval; or
//!   the terminal showed an earlier transaction the ledger already holds *and* the till stored no
//!   approval for the intent;
//! - anything else stays open: new card payments stay blocked and a manager settles it by the
//!   terminal's own journal or receipt ([`settle`], journaled with the approval and a note).

use chrono::Utc;

use crate::ledger::{CardIntentRecord, CardResultRecord, Ledger, LedgerError, card_outcome};
use crate::terminal::{CardApproval, Outcome, PaymentTerminal, TerminalError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardOp {
    Pay,
    /// Money back to the card, for the card payment with this terminal receipt when known.
    Refund(Option<u16>),
    /// Reverse the terminal transaction with this receipt number (the amount is that payment's).
    Reverse(u16),
}

impl CardOp {
    fn code(self) -> &'static str {
        match self {
            CardOp::Pay => "pay",
            CardOp::Refund(_) => "refund",
            CardOp::Reverse(_) => "reverse",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CardError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Terminal(#[from] TerminalError),
    /// A terminal receipt number is 4 BCD digits (BMP 87): 1–9999. Anything else is refused
    /// before the terminal hears of it — sent as two bytes, 10017 would reverse receipt 17.
    #[error("no terminal receipt number: {0} (1–9999)")]
    ReceiptNumber(u16),
}

impl CardError {
    pub fn localized(&self, locale: &str) -> String {
        match self {
            CardError::Ledger(e) => e.localized(locale),
            CardError::Terminal(e) => e.localized(locale),
            CardError::ReceiptNumber(n) => {
                rust_i18n::t!("card.receipt_number", locale = locale, receipt = n).into_owned()
            }
        }
    }
}

/// What became of one card payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardPayment {
    pub intent_id: i64,
    pub outcome: Outcome,
}

/// What the sale keeps of an approval: the masked card, the terminal's receipt and trace.
pub fn sale_payment(a: &CardApproval) -> crate::sale::CardPayment {
    crate::sale::CardPayment {
        masked_pan: a.masked_pan.clone(),
        card_name: a.card_name.clone(),
        receipt_no: u32::from(a.receipt_no),
        trace: a.trace,
        terminal_id: a.terminal_id.clone(),
        aid: a.aid.clone(),
    }
}

fn result_from(intent_id: i64, outcome: &str, a: &CardApproval) -> CardResultRecord {
    CardResultRecord {
        intent_id,
        outcome: outcome.to_string(),
        result_code: Some(0),
        amount_minor: Some(a.amount_minor as i64),
        masked_pan: Some(a.masked_pan.clone()),
        card_name: Some(a.card_name.clone()),
        receipt_no: Some(i64::from(a.receipt_no)),
        trace: Some(i64::from(a.trace)),
        terminal_id: Some(a.terminal_id.clone()),
        merchant_no: Some(a.merchant_no.clone()),
        aid: Some(a.aid.clone()),
        terminal_receipts: terminal_receipts_text(a),
        status_kept: Some(a.status_kept.clone()).filter(|s| !s.is_empty()),
        card_type: a.card_type.map(i64::from),
    }
}

fn terminal_receipts_text(a: &CardApproval) -> Option<String> {
    Some(crate::ledger::receipts_text(a.receipts.iter().map(|r| r.text()))).filter(|t| !t.is_empty())
}

/// A fault-injection point for crash rehearsals: with `TILL_FAULT=<point>` in the environment
/// the process kills itself (SIGKILL, no clean-up) when it reaches that point. Used by the kill
/// tests to place a power cut exactly before or after the till answers an approval.
pub(crate) fn crash_point(point: &str) {
    if std::env::var("TILL_FAULT").is_ok_and(|p| p == point) {
        let _ = std::process::Command::new("kill").args(["-9", &std::process::id().to_string()]).status();
        std::thread::sleep(std::time::Duration::from_secs(5));
    }
}

/// Runs one card operation with the ledger on both sides of the terminal.
pub fn run(
    ledger: &mut Ledger,
    terminal: &mut dyn PaymentTerminal,
    op: CardOp,
    amount_minor: u64,
    reference: &str,
) -> Result<CardPayment, CardError> {
    if let CardOp::Reverse(r) | CardOp::Refund(Some(r)) = op
        && !(1..=9999).contains(&r)
    {
        return Err(CardError::ReceiptNumber(r));
    }
    // Reversals and refunds carry the receipt they concern (and the amount).
    let receipt = match op {
        CardOp::Reverse(r) | CardOp::Refund(Some(r)) => Some(i64::from(r)),
        _ => None,
    };
    let intent = ledger.begin_card_intent(op.code(), amount_minor as i64, reference, receipt, Utc::now())?;
    // The TLV synchronisation (PA00P015 rev 13.08 §4.2): the terminal is told which of its
    // transactions the ledger holds last as booked; one it booked after that (its answer lost,
    // or recovery concluded "not booked") it reverses by itself before this one.
    let last_booked = ledger.last_booked_card_status()?;
    terminal
        .mirror_transaction_id(last_booked.as_deref().and_then(crate::terminal::zvt::messages::transaction_id_in_kept));
    let id = intent.intent_id;
    let mut record = |a: &CardApproval| {
        let ok = ledger.record_card_result(&result_from(id, card_outcome::UNKNOWN, a), Utc::now()).is_ok();
        if ok {
            crash_point("before_ack");
        }
        ok
    };
    let outcome = match op {
        CardOp::Pay => terminal.pay(amount_minor, &mut record),
        CardOp::Refund(_) => terminal.refund(amount_minor, &mut record),
        CardOp::Reverse(receipt) => terminal.reverse(receipt, &mut record),
    };
    crash_point("after_ack");
    let result = match &outcome {
        Outcome::Approved(a) => result_from(id, card_outcome::APPROVED, a),
        Outcome::Declined { code } => CardResultRecord {
            intent_id: id,
            outcome: card_outcome::DECLINED.into(),
            result_code: Some(i64::from(*code)),
            ..Default::default()
        },
        Outcome::Aborted { code } => CardResultRecord {
            intent_id: id,
            outcome: card_outcome::ABORTED.into(),
            result_code: Some(i64::from(*code)),
            ..Default::default()
        },
        Outcome::IdentityMismatch { terminal_id, merchant_no } => CardResultRecord {
            intent_id: id,
            outcome: card_outcome::IDENTITY_MISMATCH.into(),
            terminal_id: Some(terminal_id.clone()),
            merchant_no: Some(merchant_no.clone()),
            ..Default::default()
        },
        // The approval (if any) is already posted as unknown; the intent stays open.
        Outcome::Unknown { .. } => return Ok(CardPayment { intent_id: id, outcome }),
    };
    ledger.record_card_result(&result, Utc::now())?;
    if let Outcome::Approved(a) = &outcome
        && a.pan_was_unmasked
    {
        // The terminal sent the whole card number (masked here before anything kept it): its
        // configuration must be corrected. The installer sees it among the risks and in the log.
        crate::log::event(&format!("card intent {id}: the terminal sent the card number unmasked"));
        // The payment is already recorded: a failure here must not hide it from the sale.
        if let Err(e) = ledger.append(
            crate::dayclose::TERMINAL_FLAG,
            &[("risk", "terminal_sends_unmasked_pan".to_string()), ("intent", id.to_string())],
            Utc::now(),
        ) {
            crate::log::event(&format!("card intent {id}: risk event not written: {e}"));
        }
    }
    if let Outcome::IdentityMismatch { terminal_id, merchant_no } = &outcome {
        // 跳码: a terminal answering for another merchant. The manager sees it among the risks.
        ledger.append(
            "risk_event",
            &[
                ("risk", "merchant_identity".to_string()),
                ("intent", id.to_string()),
                ("terminal_id", terminal_id.clone()),
                ("merchant_no", merchant_no.clone()),
            ],
            Utc::now(),
        )?;
    }
    Ok(CardPayment { intent_id: id, outcome })
}

/// Whether the card a refund went to is the one that paid the original (`original`, its payment
/// record): the same masked number, and the same card type (8A) where both were kept. A refund
/// to any other card (the cashier's own) is reversed at once by the caller.
pub fn same_card(
    ledger: &Ledger,
    original: &crate::ledger::records::PaymentRecord,
    refunded_to: &CardApproval,
) -> Result<bool, LedgerError> {
    match original.masked_pan.as_deref() {
        // Nothing kept to compare with (a payment settled by a manager): not refused for it.
        None | Some("") => return Ok(true),
        Some(pan) if pan != refunded_to.masked_pan => return Ok(false),
        Some(_) => {}
    }
    let original_type = match (original.card_receipt, original.card_trace) {
        (Some(receipt), Some(trace)) => ledger.card_type_of(receipt, trace)?,
        _ => None,
    };
    Ok(match (original_type, refunded_to.card_type) {
        (Some(a), Some(b)) => a == i64::from(b),
        _ => true,
    })
}

/// The reference of the shell's test payments (`till terminal pay`), which reverse themselves.
pub const TEST_PAYMENT: &str = "test payment";

/// Reverses every booked test payment that is not reversed yet (a till killed between the test
/// payment and its reversal); returns their terminal receipt numbers.
pub fn reverse_test_payments(ledger: &mut Ledger, terminal: &mut dyn PaymentTerminal) -> Result<Vec<u16>, CardError> {
    let mut done = Vec::new();
    for (receipt, amount) in ledger.unreversed_payments(TEST_PAYMENT)? {
        // Out of range (never from a terminal) becomes a number `run` refuses, not a wrapped one.
        let receipt = u16::try_from(receipt).unwrap_or(u16::MAX);
        let r = run(ledger, terminal, CardOp::Reverse(receipt), amount as u64, TEST_PAYMENT)?;
        if matches!(r.outcome, Outcome::Approved(_)) {
            done.push(receipt);
        }
    }
    Ok(done)
}

/// What recovery concluded for one open intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The terminal showed this transaction: the payment stands with this data.
    Booked(Box<CardApproval>),
    /// The terminal showed positive evidence that it was not booked.
    NotBooked,
    /// The terminal cannot tell: the intent stays open for a manager.
    Unknown,
}

/// How an open intent was settled (or not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    pub intent: CardIntentRecord,
    pub verdict: Verdict,
}

impl Resolution {
    /// The booked approval, when the terminal showed one.
    pub fn booked(&self) -> Option<&CardApproval> {
        match &self.verdict {
            Verdict::Booked(a) => Some(a),
            _ => None,
        }
    }
}

/// Judges one open intent by the terminal's last transaction (Repeat Receipt), by the rules in
/// the module doc. `stored` is the approval the till stored for it (an `unknown` result with the
/// terminal's receipt), if any.
pub fn judge(
    ledger: &Ledger,
    intent: &CardIntentRecord,
    stored: Option<&CardResultRecord>,
    last: Option<&CardApproval>,
) -> Result<Verdict, CardError> {
    let Some(last) = last else { return Ok(Verdict::Unknown) };
    let (receipt, trace) = (i64::from(last.receipt_no), i64::from(last.trace));
    if last.result_code != 0 {
        // The terminal's last transaction was not booked. It names this intent's own trace as
        // not booked; or the till stored no approval, so nothing of this intent can stand after
        // it (the intent blocks every other card payment of the till).
        return Ok(match stored {
            Some(r) if r.trace != Some(trace) => Verdict::Unknown,
            _ => Verdict::NotBooked,
        });
    }
    let shown_is_ours = match stored {
        Some(r) => {
            r.receipt_no == Some(receipt) && r.trace == Some(trace) && r.amount_minor == Some(last.amount_minor as i64)
        }
        None => {
            let amount = if intent.op == "reverse" { None } else { Some(intent.amount_minor) };
            amount.is_none_or(|a| a == last.amount_minor as i64)
                && (intent.op != "reverse" || intent.receipt_no == Some(receipt))
                && !ledger.card_result_known(receipt, trace)?
        }
    };
    if shown_is_ours {
        return Ok(Verdict::Booked(Box::new(last.clone())));
    }
    // An earlier transaction the ledger already holds, and no approval stored for this intent.
    if stored.is_none() && ledger.card_receipt_known(receipt, trace)? {
        return Ok(Verdict::NotBooked);
    }
    Ok(Verdict::Unknown)
}

/// Resolves every open intent with the terminal: at start-up, and when the cashier asks. An
/// intent the terminal cannot settle stays open (see the module doc).
pub fn recover(ledger: &mut Ledger, terminal: &mut dyn PaymentTerminal) -> Result<Vec<Resolution>, CardError> {
    let open = ledger.open_card_intents()?;
    // An auto-reversal announced at this contact (the registration before, or the Repeat
    // Receipt itself) undid the terminal's last transaction.
    let mut auto_reversed = terminal.take_auto_reversal();
    if open.is_empty() {
        return Ok(Vec::new());
    }
    // A terminal still finishing the exchange of a till that died mid-payment may stop the
    // Repeat Receipt (06 1E) or refuse it: ask again, a moment later, before giving up.
    let mut attempts = 0;
    let last = loop {
        attempts += 1;
        match terminal.repeat_last() {
            Err(TerminalError::Aborted(_) | TerminalError::Refused(_)) if attempts < 3 => {
                std::thread::sleep(std::time::Duration::from_millis(700));
            }
            other => break other?,
        }
    };
    auto_reversed |= terminal.take_auto_reversal();
    let refused = terminal.refused_approvals();
    let results = ledger.card_results()?;
    let mut resolutions = Vec::new();
    for intent in open {
        let stored = results.iter().rev().find(|r| r.intent_id == intent.intent_id && r.receipt_no.is_some());
        let mut verdict = judge(ledger, &intent, stored, last.as_ref())?;
        if let Verdict::Booked(a) = &verdict
            && refused.contains(&(a.receipt_no, a.trace))
        {
            // The till refused this approval (84 66) when it came during another command. With
            // no approval stored for the intent the till never answered it, so the terminal
            // cannot have booked it: the refusal reversed it. With one stored, the refused
            // message may as well have been a copy (a Repeat Receipt's answer to a till that
            // died, crossing this one's command) of an approval the terminal booked long
            // before, which a refusal does not undo: only the terminal's journal can tell.
            verdict = if stored.is_none() { Verdict::NotBooked } else { Verdict::Unknown };
        }
        if auto_reversed && matches!(verdict, Verdict::Booked(_)) {
            // The approval Repeat Receipt shows is the one the terminal could not store (power
            // lost before its completion) and has just reversed (04 FF 05): no money moved.
            crate::log::event(&format!("card intent {}: the terminal auto-reversed its approval", intent.intent_id));
            verdict = Verdict::NotBooked;
        }
        let record = match &verdict {
            Verdict::Booked(a) => result_from(intent.intent_id, card_outcome::RESOLVED_BOOKED, a),
            Verdict::NotBooked => CardResultRecord {
                intent_id: intent.intent_id,
                outcome: card_outcome::RESOLVED_NOT_BOOKED.into(),
                ..Default::default()
            },
            Verdict::Unknown => {
                resolutions.push(Resolution { intent, verdict });
                continue;
            }
        };
        ledger.record_card_result(&record, Utc::now())?;
        resolutions.push(Resolution { intent, verdict });
    }
    Ok(resolutions)
}

/// What a manager read in the terminal's own journal or on its receipt about an open intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// The terminal booked it under this receipt number (and trace, when printed).
    Booked { receipt_no: u16, trace: Option<u32> },
    /// The terminal's journal shows it was not booked.
    NotBooked,
}

#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("card payment {0} is not open")]
    NotOpen(i64),
    #[error("this approval does not cover settling card payments")]
    NotPermitted,
    #[error("a note saying what the terminal showed is required")]
    NoteMissing,
}

impl SettleError {
    pub fn localized(&self, locale: &str) -> String {
        use rust_i18n::t;
        match self {
            SettleError::Ledger(e) => e.localized(locale),
            SettleError::NotOpen(n) => t!("card.settle.not_open", locale = locale, intent = n).into_owned(),
            SettleError::NotPermitted => t!("card.settle.not_permitted", locale = locale).into_owned(),
            SettleError::NoteMissing => t!("card.settle.note_missing", locale = locale).into_owned(),
        }
    }
}

/// The last resort: a manager settles an open intent by the terminal's own journal or receipt.
/// Journaled (`card_settled`, with the approver, the evidence and the note) before the result.
pub fn settle(
    ledger: &mut Ledger,
    intent_id: i64,
    evidence: &Evidence,
    note: &str,
    approval: &crate::auth::Approval,
) -> Result<(), SettleError> {
    if !approval.covers(crate::auth::Permission::Settlement) {
        return Err(SettleError::NotPermitted);
    }
    let note = note.trim();
    if note.is_empty() {
        return Err(SettleError::NoteMissing);
    }
    let intent = ledger
        .open_card_intents()?
        .into_iter()
        .find(|i| i.intent_id == intent_id)
        .ok_or(SettleError::NotOpen(intent_id))?;
    let stored = ledger.card_results()?.into_iter().rev().find(|r| r.intent_id == intent_id && r.receipt_no.is_some());
    let (outcome, evidence_text) = match evidence {
        Evidence::Booked { receipt_no, trace } => {
            (card_outcome::RESOLVED_BOOKED, format!("booked receipt {receipt_no} trace {trace:?}"))
        }
        Evidence::NotBooked => (card_outcome::RESOLVED_NOT_BOOKED, "not booked".to_string()),
    };
    ledger.append(
        "card_settled",
        &[
            ("intent", intent_id.to_string()),
            ("evidence", evidence_text),
            ("by", approval.by().to_string()),
            ("note", note.to_string()),
        ],
        Utc::now(),
    )?;
    let record = match evidence {
        Evidence::Booked { receipt_no, trace } => {
            // What the till stored of the approval, when it is this receipt; else what the manager read.
            let same = stored.as_ref().filter(|r| r.receipt_no == Some(i64::from(*receipt_no)));
            match same {
                Some(r) => CardResultRecord { outcome: outcome.into(), ..r.clone() },
                None => CardResultRecord {
                    intent_id,
                    outcome: outcome.into(),
                    result_code: Some(0),
                    amount_minor: Some(intent.amount_minor),
                    receipt_no: Some(i64::from(*receipt_no)),
                    trace: Some(i64::from(trace.unwrap_or(0))),
                    ..Default::default()
                },
            }
        }
        Evidence::NotBooked => CardResultRecord { intent_id, outcome: outcome.into(), ..Default::default() },
    };
    ledger.record_card_result(&record, Utc::now())?;
    Ok(())
}
