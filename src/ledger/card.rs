//! Card payment intents and results: the ledger's half of "an approved payment is never lost and
//! a customer is never charged twice". An intent is posted before the terminal hears of the
//! payment; the terminal's answer is posted before the terminal is told the till took it. While an
//! intent has no result, or only an `unknown` one, new card payments are refused.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::records::{Canon, EntryHeader};
use super::{Content, Ledger, LedgerError};
use crate::sale::SaleError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardIntentRecord {
    /// The journal seq of the intent.
    pub intent_id: i64,
    /// `pay`, `refund` or `reverse`.
    pub op: String,
    pub amount_minor: i64,
    /// What it is for: `sip:ID` for a sale in progress (see `in_progress`), else free text.
    pub reference: String,
    /// The terminal receipt a reversal undoes (its amount is that payment's).
    pub receipt_no: Option<i64>,
}

/// The outcomes a result can record.
pub mod outcome {
    pub const APPROVED: &str = "approved";
    pub const DECLINED: &str = "declined";
    pub const ABORTED: &str = "aborted";
    pub const IDENTITY_MISMATCH: &str = "identity_mismatch";
    pub const UNKNOWN: &str = "unknown";
    /// After an unknown: the terminal's last transaction was this one, so it stands.
    pub const RESOLVED_BOOKED: &str = "resolved_booked";
    /// After an unknown: the terminal did not book it.
    pub const RESOLVED_NOT_BOOKED: &str = "resolved_not_booked";
    pub const ALL: [&str; 7] =
        [APPROVED, DECLINED, ABORTED, IDENTITY_MISMATCH, UNKNOWN, RESOLVED_BOOKED, RESOLVED_NOT_BOOKED];
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CardResultRecord {
    pub intent_id: i64,
    pub outcome: String,
    pub result_code: Option<i64>,
    pub amount_minor: Option<i64>,
    pub masked_pan: Option<String>,
    pub card_name: Option<String>,
    pub receipt_no: Option<i64>,
    pub trace: Option<i64>,
    pub terminal_id: Option<String>,
    pub merchant_no: Option<String>,
    pub aid: Option<String>,
    /// The terminal's own receipts (its print lines), receipts apart by [`RECEIPT_BREAK`].
    pub terminal_receipts: Option<String>,
    /// The status information as received, card number masked (`StatusInfo::kept`).
    pub status_kept: Option<String>,
    /// The ZVT card type (8A, PA00P015 rev 13.08 §12): the settlement groups by it.
    pub card_type: Option<i64>,
}

/// What the till's own card slip (签购单) prints beyond the payment's row: from the booked
/// card result of a terminal receipt and trace.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CardSlipFacts {
    /// The acquirer's merchant number (VU, ZVT 2A) the terminal booked it under.
    pub merchant_no: Option<String>,
    pub card_type: Option<i64>,
    /// The status information as received (`StatusInfo::kept`): date, time, turnover number.
    pub status_kept: Option<String>,
    /// The terminal's batch it belongs to, as the till counts them: 1 + the terminal
    /// end-of-days the ledger holds before it.
    pub batch: i64,
}

/// Between two of the terminal's receipts in `terminal_receipts` (a form feed: print lines never
/// hold control characters).
pub const RECEIPT_BREAK: char = '\u{0C}';

/// The terminal's receipts (each its text, lines apart by newlines) as the ledger keeps them:
/// receipts apart by [`RECEIPT_BREAK`].
pub fn receipts_text(receipts: impl IntoIterator<Item = String>) -> String {
    receipts.into_iter().collect::<Vec<_>>().join(&RECEIPT_BREAK.to_string())
}

/// The receipts kept by [`receipts_text`], each as its lines.
pub(super) fn receipts_from_text(text: &str) -> Vec<Vec<String>> {
    text.split(RECEIPT_BREAK).map(|r| r.lines().map(String::from).collect()).collect()
}

pub(super) fn intent_canonical(h: &EntryHeader, r: &CardIntentRecord) -> Vec<u8> {
    let mut c = Canon::new(h);
    c.field("op", &r.op).field("amount", r.amount_minor).field("reference", &r.reference);
    // Added with schema 2; absent for the intents before it, whose bytes must not change.
    if let Some(receipt) = r.receipt_no {
        c.field("receipt", receipt);
    }
    c.into_bytes()
}

pub(super) fn result_canonical(h: &EntryHeader, r: &CardResultRecord) -> Vec<u8> {
    let mut c = Canon::new(h);
    c.field("intent", r.intent_id)
        .field("outcome", &r.outcome)
        .opt("result_code", r.result_code)
        .opt("amount", r.amount_minor)
        .opt("masked_pan", r.masked_pan.as_ref())
        .opt("card_name", r.card_name.as_ref())
        .opt("card_receipt", r.receipt_no)
        .opt("trace", r.trace)
        .opt("terminal_id", r.terminal_id.as_ref())
        .opt("merchant_no", r.merchant_no.as_ref())
        .opt("aid", r.aid.as_ref());
    // Added with schema 3; absent before it, so the older results' bytes do not change.
    if let Some(receipts) = &r.terminal_receipts {
        c.field("terminal_receipts", receipts);
    }
    if let Some(status) = &r.status_kept {
        c.field("status", status);
    }
    if let Some(card_type) = r.card_type {
        c.field("card_type", card_type);
    }
    c.into_bytes()
}

pub(super) const INTENT_COLUMNS: &str = "intent_id, op, amount_minor, reference, receipt_no";
pub(super) const RESULT_COLUMNS: &str = "seq, intent_id, outcome, result_code, amount_minor, masked_pan, card_name, \
    receipt_no, trace, terminal_id, merchant_no, aid, terminal_receipts, status_kept, card_type";

pub(super) fn intent_row(r: &Row<'_>) -> rusqlite::Result<(i64, CardIntentRecord)> {
    let intent_id: i64 = r.get(0)?;
    Ok((
        intent_id,
        CardIntentRecord {
            intent_id,
            op: r.get(1)?,
            amount_minor: r.get(2)?,
            reference: r.get(3)?,
            receipt_no: r.get(4)?,
        },
    ))
}

pub(super) fn result_row(r: &Row<'_>) -> rusqlite::Result<(i64, CardResultRecord)> {
    Ok((
        r.get(0)?,
        CardResultRecord {
            intent_id: r.get(1)?,
            outcome: r.get(2)?,
            result_code: r.get(3)?,
            amount_minor: r.get(4)?,
            masked_pan: r.get(5)?,
            card_name: r.get(6)?,
            receipt_no: r.get(7)?,
            trace: r.get(8)?,
            terminal_id: r.get(9)?,
            merchant_no: r.get(10)?,
            aid: r.get(11)?,
            terminal_receipts: r.get(12)?,
            status_kept: r.get(13)?,
            card_type: r.get(14)?,
        },
    ))
}

/// Intents whose last result is missing or `unknown`, oldest first.
pub(super) fn open_intents_in(conn: &Connection) -> Result<Vec<CardIntentRecord>, LedgerError> {
    open_intents_of(conn)
}

fn open_intents_of(conn: &Connection) -> Result<Vec<CardIntentRecord>, LedgerError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {INTENT_COLUMNS} FROM card_intents i WHERE COALESCE((SELECT r.outcome FROM card_results r \
         WHERE r.intent_id = i.intent_id ORDER BY r.seq DESC LIMIT 1), 'unknown') = 'unknown' ORDER BY intent_id"
    ))?;
    let rows = stmt.query_map([], intent_row)?;
    Ok(rows.map(|r| r.map(|(_, i)| i)).collect::<Result<_, _>>()?)
}

impl Ledger {
    /// Posts the intent to move money by card. Refused while an earlier card payment's outcome is
    /// not known: the customer must not be charged twice.
    pub fn begin_card_intent(
        &mut self,
        op: &str,
        amount_minor: i64,
        reference: &str,
        receipt_no: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<CardIntentRecord, LedgerError> {
        if !["pay", "refund", "reverse"].contains(&op) {
            return Err(LedgerError::Corrupt(format!("unknown card operation {op}")));
        }
        let record = CardIntentRecord {
            intent_id: 0,
            op: op.to_string(),
            amount_minor,
            reference: reference.to_string(),
            receipt_no,
        };
        let check = |tx: &rusqlite::Transaction<'_>| match open_intents_of(tx)?.first() {
            Some(open) => Err(LedgerError::CardOutcomeUnknown(open.intent_id)),
            None => Ok(()),
        };
        let rows = |tx: &rusqlite::Transaction<'_>, seq: i64| {
            tx.prepare_cached(
                "INSERT INTO card_intents(intent_id, op, amount_minor, reference, receipt_no) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![seq, record.op, record.amount_minor, record.reference, record.receipt_no])?;
            Ok(())
        };
        let (seq, ()) =
            self.post_entry("card_intent", Content::InRows, now, check, |h| intent_canonical(h, &record), rows)?;
        Ok(CardIntentRecord { intent_id: seq, ..record })
    }

    /// Posts what became of an intent. Never a full card number.
    pub fn record_card_result(&mut self, result: &CardResultRecord, now: DateTime<Utc>) -> Result<i64, LedgerError> {
        if let Some(pan) = &result.masked_pan
            && !crate::sale::is_masked_pan(pan)
        {
            return Err(SaleError::FullPan.into());
        }
        if !outcome::ALL.contains(&result.outcome.as_str()) {
            return Err(LedgerError::Corrupt(format!("unknown card outcome {}", result.outcome)));
        }
        let check = |tx: &rusqlite::Transaction<'_>| {
            let exists: Option<i64> = tx
                .prepare_cached("SELECT intent_id FROM card_intents WHERE intent_id = ?1")?
                .query_row([result.intent_id], |r| r.get(0))
                .optional()?;
            exists.map(|_| ()).ok_or_else(|| LedgerError::Corrupt(format!("no card intent {}", result.intent_id)))
        };
        let rows = |tx: &rusqlite::Transaction<'_>, seq: i64| {
            tx.prepare_cached(
                "INSERT INTO card_results(seq, intent_id, outcome, result_code, amount_minor, masked_pan, card_name, \
                 receipt_no, trace, terminal_id, merchant_no, aid, terminal_receipts, status_kept, card_type) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )?
            .execute(params![
                seq,
                result.intent_id,
                result.outcome,
                result.result_code,
                result.amount_minor,
                result.masked_pan,
                result.card_name,
                result.receipt_no,
                result.trace,
                result.terminal_id,
                result.merchant_no,
                result.aid,
                result.terminal_receipts,
                result.status_kept,
                result.card_type
            ])?;
            Ok(())
        };
        let (seq, ()) =
            self.post_entry("card_result", Content::InRows, now, check, |h| result_canonical(h, result), rows)?;
        Ok(seq)
    }

    /// The terminal's own receipts for the card payment with this terminal receipt number and
    /// trace (the latest result that has them), each receipt as its lines.
    pub fn terminal_receipts(&self, receipt_no: i64, trace: i64) -> Result<Vec<Vec<String>>, LedgerError> {
        let text: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT terminal_receipts FROM card_results WHERE receipt_no = ?1 AND trace = ?2 \
                 AND terminal_receipts IS NOT NULL AND terminal_receipts <> '' ORDER BY seq DESC LIMIT 1",
            )?
            .query_row(params![receipt_no, trace], |r| r.get(0))
            .optional()?;
        Ok(text.as_deref().map(receipts_from_text).unwrap_or_default())
    }

    /// The facts of a booked card payment for its slip; None if the ledger has no booked result.
    pub fn card_slip_facts(&self, receipt_no: i64, trace: i64) -> Result<Option<CardSlipFacts>, LedgerError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT r.merchant_no, r.card_type, r.status_kept, \
                        1 + (SELECT COUNT(*) FROM terminal_eods e WHERE e.seq < r.seq) \
                 FROM card_results r WHERE r.receipt_no = ?1 AND r.trace = ?2 \
                 AND r.outcome IN ('approved', 'resolved_booked') ORDER BY r.seq DESC LIMIT 1",
            )?
            .query_row(params![receipt_no, trace], |r| {
                Ok(CardSlipFacts {
                    merchant_no: r.get(0)?,
                    card_type: r.get(1)?,
                    status_kept: r.get(2)?,
                    batch: r.get(3)?,
                })
            })
            .optional()?)
    }

    /// Card intents whose outcome is not known yet (none, or `unknown`).
    pub fn open_card_intents(&self) -> Result<Vec<CardIntentRecord>, LedgerError> {
        open_intents_of(&self.conn)
    }

    /// Every result of card payments, oldest first.
    pub fn card_results(&self) -> Result<Vec<CardResultRecord>, LedgerError> {
        let mut stmt = self.conn.prepare(&format!("SELECT {RESULT_COLUMNS} FROM card_results ORDER BY seq"))?;
        let rows = stmt.query_map([], result_row)?;
        Ok(rows.map(|r| r.map(|(_, x)| x)).collect::<Result<_, _>>()?)
    }

    /// Whether a terminal receipt and trace are already recorded as a booked payment.
    pub fn card_receipt_known(&self, receipt_no: i64, trace: i64) -> Result<bool, LedgerError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT 1 FROM card_results WHERE receipt_no = ?1 AND trace = ?2 \
                 AND outcome IN ('approved', 'resolved_booked') LIMIT 1",
            )?
            .query_row(params![receipt_no, trace], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// The status information kept with the latest card result booked at the terminal (approved,
    /// or recovered as booked), or None when that one was kept without (settled by a manager)
    /// or none is booked.
    pub fn last_booked_card_status(&self) -> Result<Option<String>, LedgerError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT status_kept FROM card_results WHERE outcome IN ('approved', 'resolved_booked')                  ORDER BY seq DESC LIMIT 1",
            )?
            .query_row([], |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten())
    }

    /// The card type (ZVT 8A) kept with the latest result of this terminal receipt and trace.
    pub fn card_type_of(&self, receipt_no: i64, trace: i64) -> Result<Option<i64>, LedgerError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT card_type FROM card_results WHERE receipt_no = ?1 AND trace = ?2 ORDER BY seq DESC LIMIT 1",
            )?
            .query_row(params![receipt_no, trace], |r| r.get::<_, Option<i64>>(0))
            .optional()?
            .flatten())
    }

    /// Whether any result (booked or not) already names this terminal receipt and trace.
    pub fn card_result_known(&self, receipt_no: i64, trace: i64) -> Result<bool, LedgerError> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM card_results WHERE receipt_no = ?1 AND trace = ?2 LIMIT 1")?
            .query_row(params![receipt_no, trace], |_| Ok(()))
            .optional()?
            .is_some())
    }
}
