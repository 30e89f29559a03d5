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
//! [`recover`] resolves such intents with the terminal (status enquiry, repeat receipt) by
//! matching the terminal's last transaction by receipt number, trace and amount.

use chrono::Utc;

use crate::ledger::{CardIntentRecord, CardResultRecord, Ledger, LedgerError, card_outcome};
use crate::terminal::{CardApproval, Outcome, PaymentTerminal, TerminalError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardOp {
    Pay,
    Refund,
    /// Reverse the terminal transaction with this receipt number.
    Reverse(u16),
}

impl CardOp {
    fn code(self) -> &'static str {
        match self {
            CardOp::Pay => "pay",
            CardOp::Refund => "refund",
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
    }
}

/// A fault-injection point for crash rehearsals: with `TILL_FAULT=<point>` in the environment
/// the process kills itself (SIGKILL, no clean-up) when it reaches that point. Used by the kill
/// tests to place a power cut exactly before or after the till answers an approval.
fn crash_point(point: &str) {
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
    let intent = ledger.begin_card_intent(op.code(), amount_minor as i64, reference, Utc::now())?;
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
        CardOp::Refund => terminal.refund(amount_minor, &mut record),
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

/// How an open intent was settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    pub intent: CardIntentRecord,
    /// The terminal booked it: the payment stands with this data.
    pub booked: Option<CardApproval>,
}

/// Resolves every open intent with the terminal: at start-up, and when the cashier asks.
/// The terminal's last transaction (Repeat Receipt) is matched against what the till knows of the
/// intent: the card data it recorded, or else the amount with a receipt not already accounted for.
pub fn recover(ledger: &mut Ledger, terminal: &mut dyn PaymentTerminal) -> Result<Vec<Resolution>, CardError> {
    let open = ledger.open_card_intents()?;
    if open.is_empty() {
        return Ok(Vec::new());
    }
    terminal.status()?;
    let last = terminal.repeat_last()?;
    let results = ledger.card_results()?;
    let mut resolutions = Vec::new();
    for intent in open {
        let seen = results.iter().rev().find(|r| r.intent_id == intent.intent_id && r.receipt_no.is_some());
        let booked = last.as_ref().filter(|l| match seen {
            Some(r) => {
                r.receipt_no == Some(i64::from(l.receipt_no))
                    && r.trace == Some(i64::from(l.trace))
                    && r.amount_minor == Some(l.amount_minor as i64)
            }
            None => {
                l.amount_minor as i64 == intent.amount_minor
                    && !ledger.card_receipt_known(i64::from(l.receipt_no), i64::from(l.trace)).unwrap_or(true)
            }
        });
        let record = match booked {
            Some(a) => result_from(intent.intent_id, card_outcome::RESOLVED_BOOKED, a),
            None => CardResultRecord {
                intent_id: intent.intent_id,
                outcome: card_outcome::RESOLVED_NOT_BOOKED.into(),
                ..Default::default()
            },
        };
        ledger.record_card_result(&record, Utc::now())?;
        resolutions.push(Resolution { intent, booked: booked.cloned() });
    }
    Ok(resolutions)
}
