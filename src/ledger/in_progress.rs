//! Sales in progress: the durable working copy of a cart that money may already be moving for.
//!
//! A working table, not journal entries: a cart changes with every scan, and chaining each change
//! would bury the books in noise. Its own rules make it safe instead:
//! - it is written before any money moves (a card intent, the drawer opening) and after each
//!   tender, so a crash at any instant leaves the cart and what was paid on it;
//! - a card intent for it names it (`sip:ID`), so the card payments it carries are the ledger's
//!   booked results of those intents, whatever the copy says;
//! - it is deleted only in the transaction that posts its sale, or when it carries no card
//!   payment left standing (a void after the reversals);
//! - ids are never reused (AUTOINCREMENT), so an intent's reference names one cart forever.
//!
//! `verify` checks the tie: every booked card result is carried by exactly one posted sale or
//! refund, by a booked reversal, or by an open sale in progress (see [`tie_problems`]).

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::records::{Canon, EntryHeader};
use super::{Content, Ledger, LedgerError, PostContext, Posted};
use crate::sale::{Sale, SaleState};

/// The reference a card intent of a sale in progress carries.
pub fn reference_of(id: i64) -> String {
    format!("sip:{id}")
}

/// The sale in progress a card intent's reference names, if any.
pub fn in_progress_of(reference: &str) -> Option<i64> {
    reference.strip_prefix("sip:")?.parse().ok()
}

/// One stored sale in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InProgress {
    pub id: i64,
    /// Who rang it up: `counter` or `simulate`.
    pub origin: String,
    /// `open` or `parked`.
    pub state: String,
    /// The sale's snapshot (`Sale::snapshot`).
    pub body: String,
    pub updated_at: String,
}

/// A card payment the ledger holds for a sale in progress: booked and not reversed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldCard {
    pub intent_id: i64,
    pub amount_minor: i64,
    pub result: super::CardResultRecord,
}

pub(super) fn table_exists(conn: &Connection, name: &str) -> Result<bool, LedgerError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")?
        .query_row([name], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The card payments the ledger holds for this sale in progress: booked payments of its intents
/// that no later booked reversal undid (positive), and, for a refund being made, the money its
/// refund or reversal intents booked back to a card (negative amounts).
fn held_cards_in(conn: &Connection, id: i64) -> Result<Vec<HeldCard>, LedgerError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {} FROM card_results WHERE seq IN (SELECT r.seq FROM card_results r \
         JOIN card_intents i ON i.intent_id = r.intent_id \
         WHERE i.reference = ?1 AND r.receipt_no IS NOT NULL \
           AND r.seq = (SELECT MAX(seq) FROM card_results WHERE intent_id = i.intent_id) \
           AND r.outcome IN ('approved', 'resolved_booked')) ORDER BY seq",
        super::card::RESULT_COLUMNS
    ))?;
    let rows: Vec<(i64, super::CardResultRecord)> =
        stmt.query_map([reference_of(id)], super::card::result_row)?.collect::<Result<_, _>>()?;
    let op_of = |intent: i64| -> Result<(String, Option<i64>), LedgerError> {
        Ok(conn
            .prepare_cached("SELECT op, receipt_no FROM card_intents WHERE intent_id = ?1")?
            .query_row([intent], |r| Ok((r.get(0)?, r.get(1)?)))?)
    };
    let mut pays = Vec::new();
    let mut back = Vec::new();
    for (seq, result) in rows {
        let (op, concerns) = op_of(result.intent_id)?;
        if op == "pay" {
            pays.push((seq, result));
        } else {
            back.push((op, concerns, result));
        }
    }
    // A refund undone at once (it went to a card that did not pay): the refund and the
    // reversal of its receipt cancel out.
    let refund_receipts: Vec<i64> =
        back.iter().filter(|(op, _, _)| op == "refund").filter_map(|(_, _, r)| r.receipt_no).collect();
    let undone: Vec<i64> = back
        .iter()
        .filter(|(op, concerns, _)| op == "reverse" && concerns.is_some_and(|c| refund_receipts.contains(&c)))
        .filter_map(|(_, concerns, _)| *concerns)
        .collect();
    let mut held = Vec::new();
    for (seq, result) in &pays {
        let receipt = result.receipt_no.unwrap_or(-1);
        if reversal_booked_in(conn, receipt, result.amount_minor.unwrap_or(0), *seq)? {
            continue;
        }
        held.push(HeldCard {
            intent_id: result.intent_id,
            amount_minor: result.amount_minor.unwrap_or(0),
            result: result.clone(),
        });
    }
    // Money back that undoes none of this sale's own payments: a refund's card part.
    for (op, concerns, result) in back {
        if pays.iter().any(|(_, p)| p.receipt_no.is_some() && p.receipt_no == concerns) {
            continue;
        }
        let undone_refund = op == "refund" && result.receipt_no.is_some_and(|r| undone.contains(&r));
        let its_reversal = op == "reverse" && concerns.is_some_and(|c| undone.contains(&c));
        if undone_refund || its_reversal {
            continue;
        }
        held.push(HeldCard { intent_id: result.intent_id, amount_minor: -result.amount_minor.unwrap_or(0), result });
    }
    Ok(held)
}

/// Whether a booked reversal of this amount, begun after the payment's result `after_seq`,
/// concerns the terminal receipt `receipt` (receipt numbers wrap: an older reversal of the same
/// number is another payment's).
pub(super) fn reversal_booked_in(
    conn: &Connection,
    receipt: i64,
    amount_minor: i64,
    after_seq: i64,
) -> Result<bool, LedgerError> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM card_intents i WHERE i.op = 'reverse' AND i.receipt_no = ?1 \
               AND i.amount_minor = ?2 AND i.intent_id > ?3 \
               AND (SELECT outcome FROM card_results r WHERE r.intent_id = i.intent_id ORDER BY r.seq DESC LIMIT 1) \
                   IN ('approved', 'resolved_booked') LIMIT 1",
        )?
        .query_row(params![receipt, amount_minor, after_seq], |_| Ok(()))
        .optional()?
        .is_some())
}

fn state_of(sale: &Sale) -> &'static str {
    if sale.state() == SaleState::Parked { "parked" } else { "open" }
}

/// The digest of a sale in progress's row as its `in_progress_saved` entry records it: the copy
/// is working data (it changes with each save), and each save is tied to the chain this way, so a
/// row inserted, changed or deleted behind the till's back is named by `verify`.
pub(crate) fn row_digest(origin: &str, state: &str, body: &str, updated_at: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [origin, state, body, updated_at] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    super::records::hex(&h.finalize())
}

/// The entry that ends a sale in progress: posted (with its receipt) or discarded.
pub(crate) const CLOSED: &str = "in_progress_closed";
pub(crate) const SAVED: &str = "in_progress_saved";

fn closed_canonical(h: &EntryHeader, id: i64, receipt: Option<i64>) -> Vec<u8> {
    let mut c = Canon::new(h);
    c.field("id", id).opt("receipt", receipt);
    c.into_bytes()
}

impl Ledger {
    /// Writes the working copy of a sale in progress (a new one with `id` None) and returns its
    /// id, with an entry recording the copy's digest in the same transaction. Durable when it
    /// returns: call it before any money moves for the sale.
    pub fn save_in_progress(
        &mut self,
        id: Option<i64>,
        origin: &str,
        sale: &Sale,
        now: DateTime<Utc>,
    ) -> Result<i64, LedgerError> {
        let at = now.to_rfc3339_opts(SecondsFormat::Millis, true);
        let body = sale.snapshot();
        let state = state_of(sale);
        let saved = std::cell::OnceCell::new();
        let write = |tx: &Transaction<'_>| -> Result<(), LedgerError> {
            let (id, origin) = match id {
                Some(id) => {
                    let origin: Option<String> = tx
                        .prepare_cached("SELECT origin FROM sales_in_progress WHERE id = ?1")?
                        .query_row([id], |r| r.get(0))
                        .optional()?;
                    let origin = origin.ok_or_else(|| LedgerError::Corrupt(format!("no sale in progress {id}")))?;
                    tx.prepare_cached(
                        "UPDATE sales_in_progress SET state = ?2, body = ?3, updated_at = ?4 WHERE id = ?1",
                    )?
                    .execute(params![id, state, body, at])?;
                    (id, origin)
                }
                None => {
                    tx.prepare_cached(
                        "INSERT INTO sales_in_progress(origin, state, body, updated_at) VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![origin, state, body, at])?;
                    (tx.last_insert_rowid(), origin.to_string())
                }
            };
            let _ = saved.set((id, row_digest(&origin, state, &body, &at)));
            Ok(())
        };
        let payload = |h: &EntryHeader| {
            let mut c = Canon::new(h);
            if let Some((id, digest)) = saved.get() {
                c.field("id", id).field("state", state).field("sha256", digest);
            }
            c.into_bytes()
        };
        self.post_entry(SAVED, Content::InPayload, now, write, payload, |_, _| Ok(()))?;
        saved.get().map(|(id, _)| *id).ok_or_else(|| LedgerError::Corrupt("sale in progress not saved".into()))
    }

    /// What keeps the day from closing (see [`open_work_in`]), named with how to settle it.
    pub fn open_work(&self) -> Result<Vec<String>, LedgerError> {
        open_work_in(&self.conn)
    }

    /// Every stored sale in progress of this origin (all with None), oldest first.
    pub fn in_progress(&self, origin: Option<&str>) -> Result<Vec<InProgress>, LedgerError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, origin, state, body, updated_at FROM sales_in_progress \
             WHERE ?1 IS NULL OR origin = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([origin], |r| {
            Ok(InProgress {
                id: r.get(0)?,
                origin: r.get(1)?,
                state: r.get(2)?,
                body: r.get(3)?,
                updated_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The card payments the ledger holds for a sale in progress (booked, not reversed).
    pub fn held_cards(&self, id: i64) -> Result<Vec<HeldCard>, LedgerError> {
        held_cards_in(&self.conn, id)
    }

    /// Booked payments of intents with this reference that no booked reversal undid, as
    /// (terminal receipt, amount): the shell's test payments left standing.
    pub fn unreversed_payments(&self, reference: &str) -> Result<Vec<(i64, i64)>, LedgerError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.receipt_no, r.amount_minor, r.seq FROM card_intents i JOIN card_results r ON r.seq = \
               (SELECT MAX(seq) FROM card_results WHERE intent_id = i.intent_id) \
             WHERE i.op = 'pay' AND i.reference = ?1 AND r.outcome IN ('approved', 'resolved_booked') \
               AND r.receipt_no IS NOT NULL ORDER BY i.intent_id",
        )?;
        let rows: Vec<(i64, Option<i64>, i64)> =
            stmt.query_map([reference], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
        let mut left = Vec::new();
        for (receipt, amount, seq) in rows {
            let amount = amount.unwrap_or(0);
            if !reversal_booked_in(&self.conn, receipt, amount, seq)? {
                left.push((receipt, amount));
            }
        }
        Ok(left)
    }

    /// The amount of the booked, unreversed card payment with this terminal receipt when no
    /// posted sale carries it (a reversal from the shell may undo only such a payment).
    pub fn uncarried_payment(&self, receipt: i64) -> Result<Option<i64>, LedgerError> {
        let found: Option<(i64, Option<i64>, i64)> = self
            .conn
            .prepare_cached(
                "SELECT r.trace, r.amount_minor, r.seq FROM card_intents i JOIN card_results r ON r.seq = \
                   (SELECT MAX(seq) FROM card_results WHERE intent_id = i.intent_id) \
                 WHERE i.op = 'pay' AND r.receipt_no = ?1 AND r.outcome IN ('approved', 'resolved_booked') \
                 ORDER BY i.intent_id DESC LIMIT 1",
            )?
            .query_row([receipt], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let Some((trace, amount, seq)) = found else { return Ok(None) };
        let amount = amount.unwrap_or(0);
        let carried: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM payments WHERE kind = 'card' AND card_receipt = ?1 AND card_trace = ?2",
            params![receipt, trace],
            |r| r.get(0),
        )?;
        if carried > 0 || reversal_booked_in(&self.conn, receipt, amount, seq)? {
            return Ok(None);
        }
        Ok(Some(amount))
    }

    /// Every card payment of a posted sale or refund as (terminal receipt, trace, amount; a
    /// refund's negative), in posting order: what the terminal's batch must match.
    pub fn posted_card_payments(&self) -> Result<Vec<(i64, i64, i64)>, LedgerError> {
        let mut stmt = self.conn.prepare(
            "SELECT COALESCE(card_receipt, -1), COALESCE(card_trace, -1), amount_minor FROM payments \
             WHERE kind = 'card' ORDER BY seq, tender_no",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Drops a sale in progress that carries no money: refused while a card payment of it stands
    /// (reverse it first) or one of its intents is still open.
    pub fn discard_in_progress(&mut self, id: i64) -> Result<(), LedgerError> {
        let gone = |tx: &Transaction<'_>| -> Result<(), LedgerError> {
            check_discardable(tx, id)?;
            let n = tx.prepare_cached("DELETE FROM sales_in_progress WHERE id = ?1")?.execute([id])?;
            if n != 1 {
                return Err(LedgerError::InProgressGone(id));
            }
            Ok(())
        };
        let payload = |h: &EntryHeader| closed_canonical(h, id, None);
        self.post_entry(CLOSED, Content::InPayload, Utc::now(), gone, payload, |_, _| Ok(()))?;
        Ok(())
    }

    /// Posts the paid sale of a sale in progress and deletes its working copy in the same
    /// transaction: the card payments it carries pass from the copy to the posted sale at once.
    pub fn post_in_progress(
        &mut self,
        id: i64,
        sale: &mut Sale,
        ctx: &PostContext,
        now: DateTime<Utc>,
    ) -> Result<Posted, LedgerError> {
        let mut carried: Vec<(i64, i64)> = sale
            .tenders()
            .iter()
            .filter_map(|t| match &t.kind {
                crate::sale::TenderKind::Card(c) => Some((i64::from(c.receipt_no), i64::from(c.trace))),
                _ => None,
            })
            .collect();
        carried.sort();
        let register = self.register.clone();
        let currency = self.currency;
        self.post_sale_with(sale, ctx, now, |tx: &Transaction<'_>, receipt: i64| {
            // Not while one of its card payments is still open; and it carries exactly the card
            // payments the ledger holds for it.
            if let Some(intent) = open_intent_of(tx, id)? {
                return Err(LedgerError::CardOutcomeUnknown(intent));
            }
            let mut held: Vec<(i64, i64)> = held_cards_in(tx, id)?
                .iter()
                .map(|h| (h.result.receipt_no.unwrap_or(-1), h.result.trace.unwrap_or(-1)))
                .collect();
            held.sort();
            if held != carried {
                return Err(LedgerError::Corrupt(format!(
                    "sale in progress {id} carries card payments {carried:?}, the ledger holds {held:?}"
                )));
            }
            // Posted once: a second post of the same sale finds its copy gone.
            let n = tx.prepare_cached("DELETE FROM sales_in_progress WHERE id = ?1")?.execute([id])?;
            if n != 1 {
                return Err(LedgerError::InProgressGone(id));
            }
            // Its end, in the chain beside the sale: `verify` knows the copy is gone for a reason.
            let day = super::current_day_of(tx, currency)?.map(|d| d.day_no);
            super::append_in(tx, &register, CLOSED, day, now, Content::InPayload, |h| {
                closed_canonical(h, id, Some(receipt))
            })?;
            Ok(())
        })
    }
}

/// An intent of this sale in progress whose outcome is not known yet.
fn open_intent_of(conn: &Connection, id: i64) -> Result<Option<i64>, LedgerError> {
    Ok(conn
        .prepare_cached(
            "SELECT i.intent_id FROM card_intents i WHERE i.reference = ?1 AND COALESCE((SELECT r.outcome \
             FROM card_results r WHERE r.intent_id = i.intent_id ORDER BY r.seq DESC LIMIT 1), 'unknown') = 'unknown'",
        )?
        .query_row([reference_of(id)], |r| r.get(0))
        .optional()?)
}

fn check_discardable(tx: &Transaction<'_>, id: i64) -> Result<(), LedgerError> {
    if !held_cards_in(tx, id)?.is_empty() || money_back_booked_in(tx, id)? {
        return Err(LedgerError::InProgressHoldsCard(id));
    }
    match open_intent_of(tx, id)? {
        Some(intent) => Err(LedgerError::CardOutcomeUnknown(intent)),
        None => Ok(()),
    }
}

/// Whether a refund to a card was booked for this sale in progress (a refund being made): the
/// money went back, so the refund must be posted, not thrown away.
fn money_back_booked_in(conn: &Connection, id: i64) -> Result<bool, LedgerError> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM card_intents i WHERE i.reference = ?1 AND i.op IN ('refund', 'reverse') \
               AND (SELECT outcome FROM card_results r WHERE r.intent_id = i.intent_id ORDER BY r.seq DESC LIMIT 1) \
                   IN ('approved', 'resolved_booked') \
               AND NOT EXISTS (SELECT 1 FROM card_intents p JOIN card_results pr ON pr.intent_id = p.intent_id \
                   WHERE p.reference = i.reference AND p.op = 'pay' AND pr.receipt_no = i.receipt_no) LIMIT 1",
        )?
        .query_row([reference_of(id)], |_| Ok(()))
        .optional()?
        .is_some())
}

/// What keeps a day from closing, checked inside the Z's own transaction: open card intents,
/// and sales in progress at the counter or holding money (a parked cart without payments may
/// wait for the next day).
pub(super) fn open_work_in(conn: &Connection) -> Result<Vec<String>, LedgerError> {
    let mut open = Vec::new();
    for intent in super::card::open_intents_in(conn)? {
        open.push(format!(
            "card payment {} ({}): till terminal recover, or a manager's settle",
            intent.intent_id, intent.op
        ));
    }
    if table_exists(conn, "sales_in_progress")? {
        let mut stmt = conn.prepare_cached("SELECT id, origin, state FROM sales_in_progress ORDER BY id")?;
        let rows: Vec<(i64, String, String)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
        for (id, origin, state) in rows {
            if state == "open" || !held_cards_in(conn, id)?.is_empty() || money_back_booked_in(conn, id)? {
                open.push(format!("sale in progress {id} ({origin}): finish or void it at the counter"));
            }
        }
    }
    Ok(open)
}

/// The tie between card results and the sales that carry them, for `verify`: each problem with
/// the journal seq of the result at fault.
pub(super) fn tie_problems(conn: &Connection) -> Result<Vec<(i64, String)>, LedgerError> {
    let mut problems = Vec::new();
    let with_progress = table_exists(conn, "sales_in_progress")?;
    let open_ids: Vec<i64> = if with_progress {
        let mut stmt = conn.prepare("SELECT id FROM sales_in_progress")?;
        stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    // The last result of every intent that has one.
    let mut stmt = conn.prepare(
        "SELECT i.intent_id, i.op, i.amount_minor, i.reference, r.seq, r.outcome, r.receipt_no, r.trace, r.amount_minor \
         FROM card_intents i JOIN card_results r ON r.seq = \
           (SELECT MAX(seq) FROM card_results WHERE intent_id = i.intent_id) ORDER BY i.intent_id",
    )?;
    type Row = (i64, String, i64, String, i64, String, Option<i64>, Option<i64>, Option<i64>);
    let rows: Vec<Row> = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut carriers = conn.prepare(
        "SELECT COUNT(*) FROM payments p JOIN sales s ON s.seq = p.seq \
         WHERE p.kind = 'card' AND p.card_receipt = ?1 AND p.card_trace = ?2 AND s.kind = ?3",
    )?;
    let mut count = |receipt: i64, trace: i64, kind: &str| -> Result<i64, LedgerError> {
        Ok(carriers.query_row(params![receipt, trace, kind], |r| r.get(0))?)
    };
    // Refunds undone at once in the same sale (they went to a card that did not pay): the
    // refund and its reversal cancel out, and no refund carries either.
    let booked = |o: &str| matches!(o, "approved" | "resolved_booked");
    let refunds: std::collections::HashSet<(String, i64)> =
        rows.iter().filter(|r| r.1 == "refund" && booked(&r.5)).filter_map(|r| Some((r.3.clone(), r.6?))).collect();
    let mut concerns_of = conn.prepare("SELECT receipt_no FROM card_intents WHERE intent_id = ?1")?;
    let mut undone_refunds = std::collections::HashSet::new();
    let mut undoing = std::collections::HashSet::new();
    for r in rows.iter().filter(|r| r.1 == "reverse" && booked(&r.5)) {
        let concerns: Option<i64> = concerns_of.query_row([r.0], |x| x.get(0))?;
        if let Some(c) = concerns
            && refunds.contains(&(r.3.clone(), c))
        {
            undone_refunds.insert((r.3.clone(), c));
            undoing.insert(r.0);
        }
    }
    let mut booked_pay = std::collections::HashSet::new();
    for (intent, op, intent_amount, reference, seq, outcome, receipt, trace, amount) in &rows {
        if !matches!(outcome.as_str(), "approved" | "resolved_booked") {
            continue;
        }
        let (Some(receipt), Some(trace)) = (*receipt, *trace) else {
            problems.push((*seq, format!("intent {intent}: booked without the terminal's receipt")));
            continue;
        };
        let open = in_progress_of(reference).is_some_and(|id| open_ids.contains(&id));
        match op.as_str() {
            "pay" => {
                booked_pay.insert((receipt, trace));
                let n = count(receipt, trace, "sale")?;
                let reversed = reversal_booked_in(conn, receipt, amount.unwrap_or(*intent_amount), *seq)?;
                if n > 1 {
                    problems.push((*seq, format!("card receipt {receipt}: carried by {n} sales")));
                } else if n == 1 && open {
                    problems.push((*seq, format!("card receipt {receipt}: posted, and its sale still in progress")));
                } else if n == 0 && !reversed && !open {
                    problems.push((*seq, format!("card receipt {receipt}: charged, but no sale carries it")));
                }
            }
            _ if undoing.contains(intent)
                || (op == "refund" && undone_refunds.contains(&(reference.clone(), receipt))) => {}
            _ => {
                let n = count(receipt, trace, "refund")?;
                // A reversal of a payment no sale carries voided a sale in progress.
                let voided = op == "reverse" && reversed_payment_uncarried(conn, *intent, &mut count)?;
                if n > 1 {
                    problems.push((*seq, format!("card receipt {receipt}: carried by {n} refunds")));
                } else if n == 0 && !open && !voided {
                    problems.push((*seq, format!("card receipt {receipt}: paid back, but no refund carries it")));
                }
            }
        }
    }
    // Every card payment of a posted sale has its booked result.
    let mut stmt = conn.prepare(
        "SELECT p.seq, p.card_receipt, p.card_trace, s.kind FROM payments p JOIN sales s ON s.seq = p.seq \
         WHERE p.kind = 'card' ORDER BY p.seq",
    )?;
    let payments: Vec<(i64, Option<i64>, Option<i64>, String)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect::<Result<_, _>>()?;
    let booked_any: std::collections::HashSet<(i64, i64)> = rows
        .iter()
        .filter(|r| matches!(r.5.as_str(), "approved" | "resolved_booked"))
        .filter_map(|r| Some((r.6?, r.7?)))
        .collect();
    for (seq, receipt, trace, kind) in payments {
        let key = (receipt.unwrap_or(-1), trace.unwrap_or(-1));
        let known = if kind == "sale" { booked_pay.contains(&key) } else { booked_any.contains(&key) };
        if !known {
            problems.push((seq, format!("card receipt {}: no booked card result", key.0)));
        }
    }
    Ok(problems)
}

/// Whether the payment a reversal intent undid is carried by no sale (a voided sale in progress).
fn reversed_payment_uncarried(
    conn: &Connection,
    reversal: i64,
    count: &mut impl FnMut(i64, i64, &str) -> Result<i64, LedgerError>,
) -> Result<bool, LedgerError> {
    let target: Option<(i64, i64)> = conn
        .prepare_cached(
            "SELECT r.receipt_no, r.trace FROM card_intents rev JOIN card_intents i ON i.op = 'pay' \
             JOIN card_results r ON r.intent_id = i.intent_id AND r.outcome IN ('approved', 'resolved_booked') \
             WHERE rev.intent_id = ?1 AND r.receipt_no = rev.receipt_no ORDER BY r.seq DESC LIMIT 1",
        )?
        .query_row([reversal], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match target {
        Some((receipt, trace)) => Ok(count(receipt, trace, "sale")? == 0),
        None => Ok(false),
    }
}
