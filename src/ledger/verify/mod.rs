//! `till ledger verify`: walks the whole journal once, in order, alongside the sales tables.
//!
//! For every entry: the sequence has no gap, the entry links to the previous hash, and its hash is
//! SHA-256(prev ‖ canonical bytes), with the header taken from its columns. A sale's (and a day's)
//! canonical bytes are rendered back from its rows, so an edit in any table changes them; the
//! stored totals must also add up.
//! Then (`tables.rs`) every row of every other table must be one entry's, the schema must be the
//! migrations' text for text, each Z must match its day's rows and the working data its journal;
//! the witness file must not lead the chain, and every anchor given must be in it.

mod tables;
pub use tables::classified_tables;

use std::iter::Peekable;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Row};

use super::records::{self, Canon, EntryHeader, LineRecord, PaymentRecord, SaleRecord, chain_hash};
use super::{GENESIS, Head, LedgerError};

/// Stop collecting after this many problems: the first one is what matters.
const MAX_PROBLEMS: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The journal entry at fault, when one is.
    pub seq: Option<i64>,
    pub kind: ProblemKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    SequenceGap {
        expected: i64,
    },
    BrokenLink,
    HashMismatch,
    HeaderMismatch,
    SaleMissing,
    SaleDiffers {
        receipt_no: i64,
    },
    TotalsWrong {
        receipt_no: i64,
        detail: String,
    },
    ReceiptGap {
        expected: i64,
        found: i64,
    },
    DayDiffers,
    CardDiffers,
    PrintJobDiffers,
    SettlementDiffers,
    Orphan {
        table: &'static str,
    },
    /// `PRAGMA user_version` is not this schema's.
    SchemaVersion {
        found: i64,
        expected: i64,
    },
    /// A table, index or trigger the migrations build is missing, differs, or is not theirs.
    SchemaMissing(String),
    SchemaChanged(String),
    SchemaExtra(String),
    /// A row keyed to no entry of the kind that owns its table.
    Misplaced {
        table: &'static str,
        key: i64,
    },
    /// A user whose row is not what their journal entries say.
    UserDiffers {
        user: String,
        detail: String,
    },
    /// The products are not what the last catalog entry recorded.
    CatalogDiffers,
    /// The store identity (`meta`) disagrees with the chain.
    MetaDiffers {
        key: String,
    },
    /// A Z's kept figures are not what its day's rows give.
    ZDiffers {
        z_no: i64,
        detail: String,
    },
    /// A value of the wrong kind (text in a money column, 2 in a yes/no column).
    BadValue {
        table: &'static str,
        column: String,
        key: i64,
    },
    /// A sale in progress whose row is not what its last save recorded.
    InProgressDiffers {
        id: i64,
        detail: String,
    },
    /// An id counter set back below an id in use.
    SequenceLowered {
        table: &'static str,
    },
    /// The chain ends before an anchor's entry: entries were cut.
    AnchorBeyondHead {
        anchor: String,
        head_seq: i64,
    },
    /// The anchor's entry has another hash: the chain was rewritten from there or before.
    AnchorDiffers {
        anchor: String,
    },
    WitnessAhead {
        witness_seq: i64,
        head_seq: i64,
    },
    WitnessDiffers {
        witness_seq: i64,
    },
    WitnessUnreadable,
    /// A booked card result no sale carries (or more than one does), or a sale's card payment
    /// without its booked result.
    CardTie {
        detail: String,
    },
}

impl Problem {
    pub fn localized(&self, locale: &str) -> String {
        use rust_i18n::t;
        let what = match &self.kind {
            ProblemKind::SequenceGap { expected } => t!("verify.sequence_gap", locale = locale, expected = expected),
            ProblemKind::BrokenLink => t!("verify.broken_link", locale = locale),
            ProblemKind::HashMismatch => t!("verify.hash_mismatch", locale = locale),
            ProblemKind::HeaderMismatch => t!("verify.header_mismatch", locale = locale),
            ProblemKind::SaleMissing => t!("verify.sale_missing", locale = locale),
            ProblemKind::SaleDiffers { receipt_no } => t!("verify.sale_differs", locale = locale, receipt = receipt_no),
            ProblemKind::TotalsWrong { receipt_no, detail } => {
                t!("verify.totals_wrong", locale = locale, receipt = receipt_no, detail = detail)
            }
            ProblemKind::ReceiptGap { expected, found } => {
                t!("verify.receipt_gap", locale = locale, expected = expected, found = found)
            }
            ProblemKind::DayDiffers => t!("verify.day_differs", locale = locale),
            ProblemKind::CardDiffers => t!("verify.card_differs", locale = locale),
            ProblemKind::PrintJobDiffers => t!("verify.print_job_differs", locale = locale),
            ProblemKind::SettlementDiffers => t!("verify.settlement_differs", locale = locale),
            ProblemKind::Orphan { table } => t!("verify.orphan", locale = locale, table = table),
            ProblemKind::SchemaVersion { found, expected } => {
                t!("verify.schema_version", locale = locale, found = found, expected = expected)
            }
            ProblemKind::SchemaMissing(name) => t!("verify.schema_missing", locale = locale, name = name),
            ProblemKind::SchemaChanged(name) => t!("verify.schema_changed", locale = locale, name = name),
            ProblemKind::SchemaExtra(name) => t!("verify.schema_extra", locale = locale, name = name),
            ProblemKind::Misplaced { table, key } => t!("verify.misplaced", locale = locale, table = table, key = key),
            ProblemKind::UserDiffers { user, detail } => {
                t!("verify.user_differs", locale = locale, user = user, detail = detail)
            }
            ProblemKind::CatalogDiffers => t!("verify.catalog_differs", locale = locale),
            ProblemKind::MetaDiffers { key } => t!("verify.meta_differs", locale = locale, key = key),
            ProblemKind::ZDiffers { z_no, detail } => {
                t!("verify.z_differs", locale = locale, z = z_no, detail = detail)
            }
            ProblemKind::BadValue { table, column, key } => {
                t!("verify.bad_value", locale = locale, table = table, column = column, key = key)
            }
            ProblemKind::InProgressDiffers { id, detail } => {
                t!("verify.in_progress_differs", locale = locale, id = id, detail = detail)
            }
            ProblemKind::SequenceLowered { table } => t!("verify.sequence_lowered", locale = locale, table = table),
            ProblemKind::AnchorBeyondHead { anchor, head_seq } => {
                t!("verify.anchor_beyond_head", locale = locale, anchor = anchor, head = head_seq)
            }
            ProblemKind::AnchorDiffers { anchor } => t!("verify.anchor_differs", locale = locale, anchor = anchor),
            ProblemKind::WitnessAhead { witness_seq, head_seq } => {
                t!("verify.witness_ahead", locale = locale, witness = witness_seq, head = head_seq)
            }
            ProblemKind::WitnessDiffers { witness_seq } => {
                t!("verify.witness_differs", locale = locale, witness = witness_seq)
            }
            ProblemKind::WitnessUnreadable => t!("verify.witness_unreadable", locale = locale),
            ProblemKind::CardTie { detail } => t!("verify.card_tie", locale = locale, detail = detail),
        };
        match self.seq {
            Some(seq) => t!("verify.at_entry", locale = locale, seq = seq, what = what).into_owned(),
            None => what.into_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub entries: i64,
    pub sales: i64,
    pub head: Option<Head>,
    /// In the order found; the first names the first bad entry.
    pub problems: Vec<Problem>,
    /// The witness file's (seq, hash), when it was there and readable.
    pub witness: Option<(i64, String)>,
}

impl VerifyReport {
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty()
    }
}

pub(super) fn sale_header(r: &Row<'_>) -> rusqlite::Result<(i64, SaleRecord)> {
    Ok((
        r.get(0)?,
        SaleRecord {
            receipt_no: r.get(1)?,
            day_no: r.get(2)?,
            kind: r.get(3)?,
            refund_of: r.get(4)?,
            currency: r.get(5)?,
            prices_include_tax: r.get(6)?,
            gross: r.get(7)?,
            discount: r.get(8)?,
            tax: r.get(9)?,
            total: r.get(10)?,
            rounding: r.get(11)?,
            cashier: r.get(12)?,
            training: r.get(13)?,
            completed_at: r.get(14)?,
            lines: Vec::new(),
            payments: Vec::new(),
        },
    ))
}

const SALE_COLUMNS: &str = "seq, receipt_no, day_no, kind, refund_of, currency, prices_include_tax, gross_minor, \
    discount_minor, tax_minor, total_minor, rounding_minor, cashier, training, completed_at";
const LINE_COLUMNS: &str = "seq, line_no, sku, name_zh, name_en, qty_milli, unit_price_minor, sold_by, tax_class, \
    tax_rate, gross_minor, line_discount_minor, sale_discount_minor, amount_minor, tax_minor, price_overridden, \
    refund_of_receipt, refund_of_line";
const PAYMENT_COLUMNS: &str = "seq, tender_no, kind, amount_minor, given_minor, change_minor, reference, masked_pan, \
    card_name, card_receipt, card_trace, terminal_id, aid";

fn line_row(r: &Row<'_>) -> rusqlite::Result<(i64, LineRecord)> {
    Ok((
        r.get(0)?,
        LineRecord {
            line_no: r.get(1)?,
            sku: r.get(2)?,
            name_zh: r.get(3)?,
            name_en: r.get(4)?,
            qty_milli: r.get(5)?,
            unit_price: r.get(6)?,
            sold_by: r.get(7)?,
            tax_class: r.get(8)?,
            tax_rate: r.get(9)?,
            gross: r.get(10)?,
            line_discount: r.get(11)?,
            sale_discount: r.get(12)?,
            amount: r.get(13)?,
            tax: r.get(14)?,
            price_overridden: r.get(15)?,
            refund_of_receipt: r.get(16)?,
            refund_of_line: r.get(17)?,
        },
    ))
}

fn payment_row(r: &Row<'_>) -> rusqlite::Result<(i64, PaymentRecord)> {
    Ok((
        r.get(0)?,
        PaymentRecord {
            tender_no: r.get(1)?,
            kind: r.get(2)?,
            amount: r.get(3)?,
            given: r.get(4)?,
            change: r.get(5)?,
            reference: r.get(6)?,
            masked_pan: r.get(7)?,
            card_name: r.get(8)?,
            card_receipt: r.get(9)?,
            card_trace: r.get(10)?,
            terminal_id: r.get(11)?,
            aid: r.get(12)?,
        },
    ))
}

/// Reads one posted sale with its lines and payments.
pub(super) fn read_sale(conn: &Connection, receipt_no: i64) -> Result<SaleRecord, LedgerError> {
    // Cached statements: a shipment reads thousands of sales one by one.
    let (seq, mut sale) = conn
        .prepare_cached(&format!("SELECT {SALE_COLUMNS} FROM sales WHERE receipt_no = ?1"))?
        .query_row([receipt_no], sale_header)
        .optional()?
        .ok_or(LedgerError::UnknownReceipt(receipt_no))?;
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {LINE_COLUMNS} FROM sale_lines WHERE seq = ?1 ORDER BY line_no"))?;
    sale.lines = stmt.query_map([seq], line_row)?.map(|r| r.map(|(_, l)| l)).collect::<Result<_, _>>()?;
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE seq = ?1 ORDER BY tender_no"))?;
    sale.payments = stmt.query_map([seq], payment_row)?.map(|r| r.map(|(_, p)| p)).collect::<Result<_, _>>()?;
    Ok(sale)
}

/// Takes the rows of `cursor` that belong to `seq`; rows of an earlier seq belong to no entry.
fn take_for<T, I>(cursor: &mut Peekable<I>, seq: i64, orphans: &mut Vec<i64>) -> Result<Vec<T>, LedgerError>
where
    I: Iterator<Item = rusqlite::Result<(i64, T)>>,
{
    let mut out = Vec::new();
    loop {
        match cursor.peek() {
            Some(Ok((s, _))) if *s < seq => {
                orphans.push(*s);
                cursor.next();
            }
            Some(Ok((s, _))) if *s == seq => {
                if let Some(Ok((_, item))) = cursor.next() {
                    out.push(item);
                }
            }
            Some(Err(_)) => {
                if let Some(Err(e)) = cursor.next() {
                    return Err(e.into());
                }
            }
            _ => return Ok(out),
        }
    }
}

/// Anchors checked against an empty (or never created) ledger: each one is beyond its head.
pub(super) fn check_anchors(report: &mut VerifyReport, anchors: &[super::Anchor], hashes: &[(i64, Vec<u8>)]) {
    let head_seq = report.head.map_or(0, |h| h.seq);
    tables::anchor_problems(anchors, hashes, head_seq, &mut report.problems);
}

pub(super) fn verify(
    conn: &Connection,
    witness_path: &Path,
    anchors: &[super::Anchor],
) -> Result<VerifyReport, LedgerError> {
    let mut problems: Vec<Problem> = Vec::new();
    let push = |problems: &mut Vec<Problem>, seq: Option<i64>, kind: ProblemKind| {
        if problems.len() < MAX_PROBLEMS {
            problems.push(Problem { seq, kind });
        }
    };
    // Values of the wrong kind and a schema not the till's come first: the walk reads typed
    // columns from the tables the till made, and would stop at the first one instead of naming it.
    let mut first = Vec::new();
    tables::value_problems(conn, &mut first)?;
    let values_wrong = !first.is_empty();
    tables::schema_problems(conn, &mut first)?;
    let table_gone = first.iter().any(|p| {
        matches!(&p.kind, ProblemKind::SchemaMissing(what) if what.starts_with("table "))
            || matches!(p.kind, ProblemKind::SchemaVersion { .. })
    });
    if values_wrong || table_gone {
        first.truncate(MAX_PROBLEMS);
        let head = super::head_of(conn).ok().flatten();
        return Ok(VerifyReport { entries: 0, sales: 0, head, problems: first, witness: None });
    }

    let witness = match std::fs::read_to_string(witness_path) {
        // No witness, or one created but not yet written (a power cut right after the first
        // commit): it lags the chain, which a witness may; it never leads it.
        Err(_) => None,
        Ok(text) if text.trim().is_empty() => None,
        Ok(text) => {
            let mut parts = text.split_whitespace();
            match (parts.next().and_then(|s| s.parse::<i64>().ok()), parts.next()) {
                (Some(seq), Some(hash)) if records::unhex(hash).is_some_and(|h| h.len() == 32) => {
                    Some((seq, hash.to_string()))
                }
                _ => {
                    push(&mut problems, None, ProblemKind::WitnessUnreadable);
                    None
                }
            }
        }
    };

    let mut journal = conn.prepare(
        "SELECT seq, register, kind, day_no, recorded_at, payload, prev_hash, hash FROM journal ORDER BY seq",
    )?;
    let mut sales_stmt = conn.prepare(&format!("SELECT {SALE_COLUMNS} FROM sales ORDER BY receipt_no"))?;
    let mut lines_stmt = conn.prepare(&format!("SELECT {LINE_COLUMNS} FROM sale_lines ORDER BY seq, line_no"))?;
    let mut pay_stmt = conn.prepare(&format!("SELECT {PAYMENT_COLUMNS} FROM payments ORDER BY seq, tender_no"))?;
    let mut days_stmt =
        conn.prepare("SELECT opened_seq, day_no, business_date, float_minor FROM business_days ORDER BY opened_seq")?;

    let mut intents_stmt =
        conn.prepare(&format!("SELECT {} FROM card_intents ORDER BY intent_id", super::card::INTENT_COLUMNS))?;
    let mut results_stmt =
        conn.prepare(&format!("SELECT {} FROM card_results ORDER BY seq", super::card::RESULT_COLUMNS))?;
    let mut intents = intents_stmt.query_map([], super::card::intent_row)?.peekable();
    let mut results = results_stmt.query_map([], super::card::result_row)?.peekable();
    let mut sales = sales_stmt.query_map([], sale_header)?.peekable();
    let mut lines = lines_stmt.query_map([], line_row)?.peekable();
    let mut payments = pay_stmt.query_map([], payment_row)?.peekable();
    let mut days = days_stmt
        .query_map([], |r| {
            Ok((r.get::<_, i64>(0)?, (r.get::<_, i64>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?)))
        })?
        .peekable();

    let mut rows = journal.query([])?;
    let mut prev_hash = GENESIS;
    let mut expected_seq = 1i64;
    let mut entries = 0i64;
    let mut sale_count = 0i64;
    let mut last_receipt: Option<i64> = None;
    let mut head = None;
    let mut orphans: Vec<(i64, &'static str)> = Vec::new();
    let mut scratch = Vec::new();
    let mut anchored: Vec<(i64, Vec<u8>)> = Vec::new();

    while let Some(r) = rows.next()? {
        let seq: i64 = r.get(0)?;
        let header =
            EntryHeader { seq, register: r.get(1)?, kind: r.get(2)?, day_no: r.get(3)?, recorded_at: r.get(4)? };
        let payload: Vec<u8> = r.get(5)?;
        let stored_prev: Vec<u8> = r.get(6)?;
        let stored_hash: Vec<u8> = r.get(7)?;
        entries += 1;
        let at = Some(seq);

        if seq != expected_seq {
            push(&mut problems, at, ProblemKind::SequenceGap { expected: expected_seq });
        }
        if stored_prev != prev_hash {
            push(&mut problems, at, ProblemKind::BrokenLink);
        }
        let link: [u8; 32] = stored_prev.as_slice().try_into().unwrap_or(GENESIS);
        let hashes_to = |bytes: &[u8]| chain_hash(&link, bytes)[..] == stored_hash[..];

        match header.kind.as_str() {
            "sale" | "refund" => {
                // The canonical bytes of a sale live in its rows: render them back and hash.
                scratch.clear();
                let mut found = take_for(&mut sales, seq, &mut scratch)?;
                orphans.extend(scratch.drain(..).map(|s| (s, "sales")));
                if found.len() > 1 {
                    push(&mut problems, at, ProblemKind::Orphan { table: "sales" });
                }
                let record = found.pop();
                let sale_lines = take_for(&mut lines, seq, &mut scratch)?;
                orphans.extend(scratch.drain(..).map(|s| (s, "sale_lines")));
                let sale_payments = take_for(&mut payments, seq, &mut scratch)?;
                orphans.extend(scratch.drain(..).map(|s| (s, "payments")));
                match record {
                    None => push(&mut problems, at, ProblemKind::SaleMissing),
                    Some(mut sale) => {
                        sale_count += 1;
                        sale.lines = sale_lines;
                        sale.payments = sale_payments;
                        if !payload.is_empty()
                            || sale.kind != header.kind
                            || !hashes_to(&records::sale_canonical(&header, &sale))
                        {
                            push(&mut problems, at, ProblemKind::SaleDiffers { receipt_no: sale.receipt_no });
                        }
                        if let Err(detail) = sale.check_totals() {
                            push(&mut problems, at, ProblemKind::TotalsWrong { receipt_no: sale.receipt_no, detail });
                        }
                        let expected = last_receipt.map_or(1, |n| n + 1);
                        if sale.receipt_no != expected {
                            push(&mut problems, at, ProblemKind::ReceiptGap { expected, found: sale.receipt_no });
                        }
                        last_receipt = Some(sale.receipt_no);
                    }
                }
            }
            "day_open" => {
                scratch.clear();
                let day = take_for(&mut days, seq, &mut scratch)?.pop();
                orphans.extend(scratch.drain(..).map(|s| (s, "business_days")));
                let same = day.is_some_and(|(day_no, date, float)| {
                    payload.is_empty()
                        && header.day_no == Some(day_no)
                        && hashes_to(&super::day_open_canonical(&header, &date, float))
                });
                if !same {
                    push(&mut problems, at, ProblemKind::DayDiffers);
                }
            }
            "card_intent" => {
                scratch.clear();
                let row = take_for(&mut intents, seq, &mut scratch)?.pop();
                orphans.extend(scratch.drain(..).map(|s| (s, "card_intents")));
                if !row.is_some_and(|r| payload.is_empty() && hashes_to(&super::card::intent_canonical(&header, &r))) {
                    push(&mut problems, at, ProblemKind::CardDiffers);
                }
            }
            "card_result" => {
                scratch.clear();
                let row = take_for(&mut results, seq, &mut scratch)?.pop();
                orphans.extend(scratch.drain(..).map(|s| (s, "card_results")));
                if !row.is_some_and(|r| payload.is_empty() && hashes_to(&super::card::result_canonical(&header, &r))) {
                    push(&mut problems, at, ProblemKind::CardDiffers);
                }
            }
            _ => {
                if !hashes_to(&payload) {
                    push(&mut problems, at, ProblemKind::HashMismatch);
                } else if !payload.starts_with(&Canon::new(&header).into_bytes()) {
                    push(&mut problems, at, ProblemKind::HeaderMismatch);
                } else if let Some(rendered) = super::settlement::render_from_row(conn, &header)?
                    && rendered != payload
                {
                    let kind = if header.kind.starts_with("print_") {
                        ProblemKind::PrintJobDiffers
                    } else {
                        ProblemKind::SettlementDiffers
                    };
                    push(&mut problems, at, kind);
                }
                // After a restore, receipt numbers go on after the highest printed before it.
                if header.kind == "restored"
                    && let Some(floor) = records::field_of(&payload, "receipt_floor").and_then(|f| f.parse().ok())
                {
                    last_receipt = Some(last_receipt.map_or(floor, |n: i64| n.max(floor)));
                }
            }
        }
        if anchors.iter().any(|a| a.seq == seq) {
            anchored.push((seq, stored_hash.clone()));
        }

        if let Some((wseq, whash)) = &witness
            && *wseq == seq
            && records::hex(&stored_hash) != *whash
        {
            push(&mut problems, at, ProblemKind::WitnessDiffers { witness_seq: *wseq });
        }

        prev_hash = stored_hash.as_slice().try_into().unwrap_or(GENESIS);
        head = Some(Head { seq, hash: prev_hash });
        expected_seq = seq + 1;
    }

    // Rows left over belong to no journal entry.
    for (cursor_orphans, table) in [
        (sales.filter_map(|r| r.ok().map(|(s, _)| s)).collect::<Vec<_>>(), "sales"),
        (lines.filter_map(|r| r.ok().map(|(s, _)| s)).collect(), "sale_lines"),
        (payments.filter_map(|r| r.ok().map(|(s, _)| s)).collect(), "payments"),
        (days.filter_map(|r| r.ok().map(|(s, _)| s)).collect(), "business_days"),
        (intents.filter_map(|r| r.ok().map(|(s, _)| s)).collect(), "card_intents"),
        (results.filter_map(|r| r.ok().map(|(s, _)| s)).collect(), "card_results"),
    ] {
        orphans.extend(cursor_orphans.into_iter().map(|s| (s, table)));
    }
    orphans.sort();
    orphans.dedup();
    for (seq, table) in orphans {
        push(&mut problems, Some(seq), ProblemKind::Orphan { table });
    }
    for (seq, detail) in super::in_progress::tie_problems(conn)? {
        push(&mut problems, Some(seq), ProblemKind::CardTie { detail });
    }
    problems.sort_by_key(|p| p.seq.unwrap_or(i64::MAX));

    let head_seq = head.map_or(0, |h| h.seq);
    if let Some((wseq, _)) = &witness
        && *wseq > head_seq
    {
        push(&mut problems, None, ProblemKind::WitnessAhead { witness_seq: *wseq, head_seq });
    }

    let mut more = first;
    tables::ownership_problems(conn, &mut more)?;
    tables::z_problems(conn, &mut more)?;
    tables::working_problems(conn, &mut more)?;
    tables::in_progress_problems(conn, &mut more)?;
    tables::anchor_problems(anchors, &anchored, head_seq, &mut more);
    for p in more {
        push(&mut problems, p.seq, p.kind);
    }

    Ok(VerifyReport { entries, sales: sale_count, head, problems, witness })
}

/// The canonical bytes the chain hashes for entry `seq`, as `verify` renders them: from its rows
/// where it has them, else its payload. The bytes are documented (`records.rs`) and the hash is
/// unkeyed: anyone with the file can compute them, which is why the anchors exist.
pub(super) fn canonical_bytes(conn: &Connection, seq: i64) -> Result<Option<Vec<u8>>, LedgerError> {
    canonical_bytes_with(conn, seq, None)
}

/// `canonical_bytes`, told the receipt of a sale's entry when the caller knows it (`sales` has no
/// index by seq: a shipment maps a batch's receipts in one pass instead).
pub(super) fn canonical_bytes_with(
    conn: &Connection,
    seq: i64,
    receipt: Option<i64>,
) -> Result<Option<Vec<u8>>, LedgerError> {
    let row = conn
        .prepare_cached("SELECT register, kind, day_no, recorded_at, payload FROM journal WHERE seq = ?1")?
        .query_row([seq], |r| {
            Ok((
                EntryHeader { seq, register: r.get(0)?, kind: r.get(1)?, day_no: r.get(2)?, recorded_at: r.get(3)? },
                r.get::<_, Vec<u8>>(4)?,
            ))
        })
        .optional()?;
    let Some((header, payload)) = row else { return Ok(None) };
    if !payload.is_empty() {
        return Ok(Some(payload));
    }
    let bytes = match header.kind.as_str() {
        "sale" | "refund" => {
            let receipt: Option<i64> = match receipt {
                Some(r) => Some(r),
                None => conn
                    .prepare_cached("SELECT receipt_no FROM sales WHERE seq = ?1")?
                    .query_row([seq], |r| r.get(0))
                    .optional()?,
            };
            match receipt {
                Some(receipt) => records::sale_canonical(&header, &read_sale(conn, receipt)?),
                None => Vec::new(),
            }
        }
        "day_open" => conn
            .query_row("SELECT business_date, float_minor FROM business_days WHERE opened_seq = ?1", [seq], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .optional()?
            .map(|(date, float)| super::day_open_canonical(&header, &date, float))
            .unwrap_or_default(),
        "card_intent" => conn
            .query_row(
                &format!("SELECT {} FROM card_intents WHERE intent_id = ?1", super::card::INTENT_COLUMNS),
                [seq],
                super::card::intent_row,
            )
            .optional()?
            .map(|(_, r)| super::card::intent_canonical(&header, &r))
            .unwrap_or_default(),
        "card_result" => conn
            .query_row(
                &format!("SELECT {} FROM card_results WHERE seq = ?1", super::card::RESULT_COLUMNS),
                [seq],
                super::card::result_row,
            )
            .optional()?
            .map(|(_, r)| super::card::result_canonical(&header, &r))
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    Ok(Some(bytes))
}
