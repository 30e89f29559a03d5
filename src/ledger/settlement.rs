//! Settlement in the ledger: cash in and out, drawer counts, the terminal's end-of-day totals and
//! the day's closure (Z), each a journal entry whose payload is rendered from its row (so `verify`
//! catches a row edited behind the payload's back); and the figures the X and Z reports are made
//! of, summed by SQLite over a range of days.

use chrono::{DateTime, Local, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::records::{Canon, EntryHeader};
use super::{Content, Day, Ledger, LedgerError, current_day_of, open_day_in};
use crate::money::Money;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CashDirection {
    In,
    Out,
}

impl CashDirection {
    fn code(self) -> &'static str {
        match self {
            CashDirection::In => "in",
            CashDirection::Out => "out",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawerCountRecord {
    pub counted_minor: i64,
    pub expected_minor: i64,
    pub blind: bool,
    pub note: String,
    /// (face value in minor units, how many).
    pub denominations: Vec<(i64, u32)>,
}

/// The terminal's end-of-day totals per card family (BMP 60 order): (count, amount in minor units).
pub type FamilyTotals = [(i64, i64); 7];

/// What the terminal's end-of-day told of its batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminalTotals {
    /// BMP 60: by card family.
    ByFamily(FamilyTotals),
    /// Only the end-of-day's total (BMP 04), over all cards.
    Total(i64),
    /// The terminal has (or may have) closed its batch, but its totals are not known: it sent
    /// none, or its answer was lost. Never a second end-of-day for them: the manager compares
    /// with the terminal's own receipt and notes it.
    Unknown,
}

impl TerminalTotals {
    fn to_text(&self) -> String {
        match self {
            TerminalTotals::ByFamily(t) => families_text(t),
            TerminalTotals::Total(t) => format!("total:{t}"),
            TerminalTotals::Unknown => "unknown".into(),
        }
    }

    fn from_text(text: &str) -> Option<TerminalTotals> {
        if text == "unknown" {
            return Some(TerminalTotals::Unknown);
        }
        if let Some(t) = text.strip_prefix("total:") {
            return t.parse().ok().map(TerminalTotals::Total);
        }
        parse_families(text).map(TerminalTotals::ByFamily)
    }
}

/// What is kept of the terminal's end-of-day besides its totals: its status information as
/// received and its own receipts (lines; receipts apart by [`super::RECEIPT_BREAK`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EodKept {
    pub status: String,
    pub receipts: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayClose {
    pub seq: i64,
    pub day_no: i64,
    pub z_no: i64,
    pub net_minor: i64,
    pub grand_total_minor: i64,
}

/// A business day as the manager's list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaySummary {
    pub day_no: i64,
    pub business_date: String,
    pub z_no: Option<i64>,
}

/// Sums over a range of days, for the X and Z reports. Money in minor units.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayFigures {
    pub sales_count: i64,
    pub sales_total: i64,
    pub refunds_count: i64,
    /// Negative: what went back.
    pub refunds_total: i64,
    pub gross: i64,
    pub discounts: i64,
    pub tax: i64,
    /// Sales and refunds together.
    pub net: i64,
    pub rounding: i64,
    /// (class, rate, amount, tax) per rate.
    pub taxes: Vec<(String, String, i64, i64)>,
    /// (tender kind, count, amount); cash is what stayed in the drawer (change given back).
    pub tenders: Vec<(String, i64, i64)>,
    /// (card name, count, amount).
    pub cards: Vec<(String, i64, i64)>,
    /// (cashier, receipts, amount).
    pub cashiers: Vec<(String, i64, i64)>,
    /// (receipts, amount) per local hour of the day.
    pub by_hour: [(i64, i64); 24],
    pub price_overrides: i64,
    pub float: i64,
    pub cash_in: i64,
    pub cash_out: i64,
    /// Journal entries by kind in the range (no-sale openings, voided carts, approvals, risks).
    pub entries: Vec<(String, i64)>,
}

impl DayFigures {
    pub fn tender(&self, kind: &str) -> i64 {
        self.tenders.iter().filter(|t| t.0 == kind).map(|t| t.2).sum()
    }

    pub fn entries_of(&self, kind: &str) -> i64 {
        self.entries.iter().filter(|e| e.0 == kind).map(|e| e.1).sum()
    }

    /// What the drawer should hold: float + cash taken − cash paid out + cash in − cash out.
    pub fn expected_cash(&self) -> i64 {
        self.float + self.tender("cash") + self.cash_in - self.cash_out
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' | '|' | ';' | '\n' | '=' => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn unescape(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            let hex: String = chars.by_ref().take(2).collect();
            out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Adds (key, count, amount) rows into a list kept in key order.
fn merge_rows(into: &mut Vec<(String, i64, i64)>, from: &[(String, i64, i64)]) {
    for (k, n, a) in from {
        match into.iter_mut().find(|r| r.0 == *k) {
            Some(r) => {
                r.1 += n;
                r.2 += a;
            }
            None => into.push((k.clone(), *n, *a)),
        }
    }
    into.sort_by(|a, b| a.0.cmp(&b.0));
}

impl DayFigures {
    /// Adds another day's (or range's) figures to these.
    pub fn absorb(&mut self, o: &DayFigures) {
        self.sales_count += o.sales_count;
        self.sales_total += o.sales_total;
        self.refunds_count += o.refunds_count;
        self.refunds_total += o.refunds_total;
        self.gross += o.gross;
        self.discounts += o.discounts;
        self.tax += o.tax;
        self.net += o.net;
        self.rounding += o.rounding;
        for (class, rate, amount, tax) in &o.taxes {
            match self.taxes.iter_mut().find(|t| t.0 == *class && t.1 == *rate) {
                Some(t) => {
                    t.2 += amount;
                    t.3 += tax;
                }
                None => self.taxes.push((class.clone(), rate.clone(), *amount, *tax)),
            }
        }
        self.taxes.sort();
        merge_rows(&mut self.tenders, &o.tenders);
        merge_rows(&mut self.cards, &o.cards);
        merge_rows(&mut self.cashiers, &o.cashiers);
        for (h, (n, a)) in self.by_hour.iter_mut().zip(o.by_hour) {
            h.0 += n;
            h.1 += a;
        }
        self.price_overrides += o.price_overrides;
        self.float += o.float;
        self.cash_in += o.cash_in;
        self.cash_out += o.cash_out;
        let entries: Vec<(String, i64, i64)> = o.entries.iter().map(|(k, n)| (k.clone(), *n, 0)).collect();
        let mut mine: Vec<(String, i64, i64)> = self.entries.iter().map(|(k, n)| (k.clone(), *n, 0)).collect();
        merge_rows(&mut mine, &entries);
        self.entries = mine.into_iter().map(|(k, n, _)| (k, n)).collect();
    }

    /// One line per figure, `key=value`; lists as `;`-separated `|`-joined fields (escaped).
    /// The first line of the kept text where `self` and `other` differ, both ways, or None.
    pub fn difference(&self, other: &DayFigures) -> Option<String> {
        let (a, b) = (self.to_text(), other.to_text());
        let cut = |s: &str| s.chars().take(120).collect::<String>();
        a.lines()
            .zip(b.lines())
            .find(|(x, y)| x != y)
            .map(|(x, y)| format!("kept {}; the rows give {}", cut(x), cut(y)))
    }

    pub fn to_text(&self) -> String {
        let rows = |v: &[(String, i64, i64)]| {
            v.iter().map(|(k, n, a)| format!("{}|{n}|{a}", escape(k))).collect::<Vec<_>>().join(";")
        };
        let scalars = [
            self.sales_count,
            self.sales_total,
            self.refunds_count,
            self.refunds_total,
            self.gross,
            self.discounts,
            self.tax,
            self.net,
            self.rounding,
            self.price_overrides,
            self.float,
            self.cash_in,
            self.cash_out,
        ];
        let mut out = format!("figures={}\n", scalars.iter().map(i64::to_string).collect::<Vec<_>>().join("|"));
        out += &format!(
            "taxes={}\n",
            self.taxes
                .iter()
                .map(|(c, r, a, t)| format!("{}|{}|{a}|{t}", escape(c), escape(r)))
                .collect::<Vec<_>>()
                .join(";")
        );
        out += &format!(
            "tenders={}\ncards={}\ncashiers={}\n",
            rows(&self.tenders),
            rows(&self.cards),
            rows(&self.cashiers)
        );
        out +=
            &format!("hours={}\n", self.by_hour.iter().map(|(n, a)| format!("{n}|{a}")).collect::<Vec<_>>().join(";"));
        out += &format!(
            "entries={}\n",
            self.entries.iter().map(|(k, n)| format!("{}|{n}", escape(k))).collect::<Vec<_>>().join(";")
        );
        out
    }

    pub fn from_text(text: &str) -> Option<DayFigures> {
        let mut f = DayFigures::default();
        let fields = |v: &str| -> Vec<Vec<String>> {
            v.split(';').filter(|r| !r.is_empty()).map(|r| r.split('|').map(|x| x.to_string()).collect()).collect()
        };
        let num = |x: &str| x.parse::<i64>().ok();
        let rows = |v: &str| -> Option<Vec<(String, i64, i64)>> {
            fields(v).into_iter().map(|r| Some((unescape(r.first()?)?, num(r.get(1)?)?, num(r.get(2)?)?))).collect()
        };
        for line in text.lines() {
            let (key, value) = line.split_once('=')?;
            match key {
                "figures" => {
                    let n: Vec<i64> = value.split('|').map(num).collect::<Option<_>>()?;
                    let [a, b, c, d, e, g, h, i, j, k, l, m, o] = n.as_slice() else { return None };
                    (f.sales_count, f.sales_total, f.refunds_count, f.refunds_total) = (*a, *b, *c, *d);
                    (f.gross, f.discounts, f.tax, f.net, f.rounding) = (*e, *g, *h, *i, *j);
                    (f.price_overrides, f.float, f.cash_in, f.cash_out) = (*k, *l, *m, *o);
                }
                "taxes" => {
                    f.taxes = fields(value)
                        .into_iter()
                        .map(|r| Some((unescape(r.first()?)?, unescape(r.get(1)?)?, num(r.get(2)?)?, num(r.get(3)?)?)))
                        .collect::<Option<_>>()?;
                }
                "tenders" => f.tenders = rows(value)?,
                "cards" => f.cards = rows(value)?,
                "cashiers" => f.cashiers = rows(value)?,
                "hours" => {
                    for (slot, r) in f.by_hour.iter_mut().zip(fields(value)) {
                        *slot = (num(r.first()?)?, num(r.get(1)?)?);
                    }
                }
                "entries" => {
                    f.entries = fields(value)
                        .into_iter()
                        .map(|r| Some((unescape(r.first()?)?, num(r.get(1)?)?)))
                        .collect::<Option<_>>()?;
                }
                _ => return None,
            }
        }
        Some(f)
    }
}

/// A card payment of the range, for reconciliation and the risk flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardPaymentFigure {
    pub receipt_no: i64,
    pub kind: String,
    pub amount: i64,
    pub card_name: String,
    pub masked_pan: String,
    pub card_receipt: Option<i64>,
    pub lines: i64,
    pub overridden_lines: i64,
    /// The ZVT card type (8A) the terminal gave with its approval, where the ledger has it.
    pub card_type: Option<i64>,
}

fn denominations_text(d: &[(i64, u32)]) -> String {
    d.iter().map(|(face, n)| format!("{face}x{n}")).collect::<Vec<_>>().join(" ")
}

/// Journal kinds around the terminal's end-of-day (payload: the refusal's code).
const EOD_STARTED: &str = "terminal_eod_started";
const EOD_REFUSED: &str = "terminal_eod_refused";

/// A terminal_eod entry's canonical fields; the status and receipts only when kept (schema 3),
/// so older entries' bytes do not change.
fn eod_canon(c: &mut Canon, by_card: &str, kept: &EodKept) {
    c.field("by_card", by_card);
    if !kept.status.is_empty() {
        c.field("status", &kept.status);
    }
    if !kept.receipts.is_empty() {
        c.field("receipts", &kept.receipts);
    }
}

fn families_text(t: &FamilyTotals) -> String {
    t.iter().enumerate().map(|(i, (n, a))| format!("{i}:{n}:{a}")).collect::<Vec<_>>().join(" ")
}

fn parse_families(text: &str) -> Option<FamilyTotals> {
    let mut out = [(0, 0); 7];
    for part in text.split_whitespace() {
        let mut it = part.split(':');
        let i: usize = it.next()?.parse().ok()?;
        let slot = out.get_mut(i)?;
        *slot = (it.next()?.parse().ok()?, it.next()?.parse().ok()?);
    }
    Some(out)
}

const COUNT_COLUMNS: &str = "counted_minor, expected_minor, blind, note, denominations";

/// A drawer count as its row holds it (`COUNT_COLUMNS`, in that order).
fn count_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DrawerCountRecord> {
    let denominations: String = r.get(4)?;
    Ok(DrawerCountRecord {
        counted_minor: r.get(0)?,
        expected_minor: r.get(1)?,
        blind: r.get(2)?,
        note: r.get(3)?,
        denominations: denominations
            .split_whitespace()
            .filter_map(|p| p.split_once('x'))
            .filter_map(|(f, n)| Some((f.parse().ok()?, n.parse().ok()?)))
            .collect(),
    })
}

/// The canonical fields of a drawer count: one rendering for posting and for `verify`.
fn count_canon(c: &mut Canon, count: &DrawerCountRecord) {
    c.field("counted", count.counted_minor)
        .field("expected", count.expected_minor)
        .field("blind", count.blind)
        .field("note", &count.note)
        .field("denominations", denominations_text(&count.denominations));
}

/// The canonical fields of a cash movement.
fn cash_canon(c: &mut Canon, direction: &str, amount: i64, reason: &str, approved_by: &str) {
    c.field("direction", direction).field("amount", amount).field("reason", reason).field("approved_by", approved_by);
}

/// The canonical bytes of a settlement entry, rendered from its row; None for other kinds.
pub(super) fn render_from_row(conn: &Connection, header: &EntryHeader) -> Result<Option<Vec<u8>>, LedgerError> {
    let seq = header.seq;
    let mut c = Canon::new(header);
    // Each row's day must be its entry's day: the column is not in the canonical bytes (the
    // header carries it), so it is compared here.
    let day_is = |day: i64| header.day_no == Some(day);
    let found = match header.kind.as_str() {
        "cash_in" | "cash_out" => conn
            .query_row(
                "SELECT direction, amount_minor, reason, approved_by, day_no FROM cash_movements WHERE seq = ?1",
                [seq],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                },
            )
            .optional()?
            .filter(|row| day_is(row.4))
            .map(|(d, a, reason, by, _)| cash_canon(&mut c, &d, a, &reason, &by)),
        "drawer_count" => conn
            .query_row(&format!("SELECT {COUNT_COLUMNS}, day_no FROM drawer_counts WHERE seq = ?1"), [seq], |r| {
                Ok((count_from_row(r)?, r.get::<_, String>(4)?, r.get::<_, i64>(5)?))
            })
            .optional()?
            // The denominations as stored, not only as read: text the reader skips is an edit too.
            .filter(|(count, raw, day)| day_is(*day) && denominations_text(&count.denominations) == *raw)
            .map(|(count, _, _)| count_canon(&mut c, &count)),
        "terminal_eod" => conn
            .query_row("SELECT by_card, status_kept, receipts, day_no FROM terminal_eods WHERE seq = ?1", [seq], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .optional()?
            .filter(|row| day_is(row.3))
            .map(|(t, status, receipts, _)| {
                eod_canon(
                    &mut c,
                    &t,
                    &EodKept { status: status.unwrap_or_default(), receipts: receipts.unwrap_or_default() },
                )
            }),
        "print_job" | "print_result" => return super::print_jobs::render_from_row(conn, header),
        "restored" => return super::backup::render_from_row(conn, header),
        "day_close" => {
            let row = conn
                .query_row(
                    "SELECT z_no, net_minor, grand_total_minor, day_no FROM day_closes WHERE seq = ?1",
                    [seq],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?)),
                )
                .optional()?
                .filter(|row| day_is(row.3));
            match row {
                None => None,
                Some((z, net, grand, day)) => {
                    c.field("z_no", z).field("net", net).field("grand_total", grand);
                    let mut stmt = conn
                        .prepare_cached("SELECT training, body FROM day_figures WHERE day_no = ?1 ORDER BY training")?;
                    for row in stmt.query_map([day], |r| Ok((r.get::<_, bool>(0)?, r.get::<_, String>(1)?)))? {
                        let (training, body) = row?;
                        c.field(if training { "figures_training" } else { "figures" }, body);
                    }
                    Some(())
                }
            }
        }
        _ => return Ok(None),
    };
    // An entry of these kinds without its row renders as nothing, which matches no payload.
    Ok(Some(if found.is_some() { c.into_bytes() } else { Vec::new() }))
}

impl Ledger {
    /// The open business day, opened now with `float` if none is.
    pub fn ensure_day(&mut self, float: Money, now: DateTime<Utc>) -> Result<Day, LedgerError> {
        if let Some(day) = self.current_day()? {
            return Ok(day);
        }
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let day = open_day_in(&tx, &self.register, float, now.with_timezone(&Local).date_naive(), now)?;
        let head = super::head_of(&tx)?;
        tx.commit()?;
        self.write_witness(head);
        Ok(day)
    }

    /// Cash put into or taken out of the drawer (change brought in, a bank drop), with the
    /// manager who approved it. Dated in the open day (opened if need be).
    pub fn post_cash_movement(
        &mut self,
        direction: CashDirection,
        amount: Money,
        reason: &str,
        approved_by: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, LedgerError> {
        if !amount.is_positive() || amount.currency() != self.currency {
            return Err(LedgerError::Corrupt("a cash movement is a positive amount of the ledger's currency".into()));
        }
        let day = self.ensure_day(Money::zero(self.currency), now)?.day_no;
        let kind = if direction == CashDirection::In { "cash_in" } else { "cash_out" };
        let payload = |h: &EntryHeader| {
            let mut c = Canon::new(h);
            cash_canon(&mut c, direction.code(), amount.minor(), reason, approved_by);
            c.into_bytes()
        };
        let (seq, ()) = self.post_entry(
            kind,
            Content::InPayload,
            now,
            |_| Ok(()),
            payload,
            |tx, seq| {
                tx.execute(
                    "INSERT INTO cash_movements(seq, day_no, direction, amount_minor, reason, approved_by) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![seq, day, direction.code(), amount.minor(), reason, approved_by],
                )?;
                Ok(())
            },
        )?;
        Ok(seq)
    }

    /// A counted drawer, with what the ledger expected at that moment.
    pub fn post_drawer_count(&mut self, count: &DrawerCountRecord, now: DateTime<Utc>) -> Result<i64, LedgerError> {
        let day = self.ensure_day(Money::zero(self.currency), now)?.day_no;
        let denominations = denominations_text(&count.denominations);
        let payload = |h: &EntryHeader| {
            let mut c = Canon::new(h);
            count_canon(&mut c, count);
            c.into_bytes()
        };
        let (seq, ()) =
            self.post_entry(
                "drawer_count",
                Content::InPayload,
                now,
                |_| Ok(()),
                payload,
                |tx, seq| {
                    tx.execute(
                "INSERT INTO drawer_counts(seq, day_no, counted_minor, expected_minor, blind, note, denominations) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![seq, day, count.counted_minor, count.expected_minor, count.blind, count.note, denominations],
            )?;
                    Ok(())
                },
            )?;
        Ok(seq)
    }

    /// The latest drawer count of a day.
    pub fn drawer_count(&self, day_no: i64) -> Result<Option<DrawerCountRecord>, LedgerError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COUNT_COLUMNS} FROM drawer_counts WHERE day_no = ?1 ORDER BY seq DESC LIMIT 1"),
                [day_no],
                count_from_row,
            )
            .optional()?)
    }

    /// Keeps the terminal's end-of-day totals for the open day, the moment they arrive, with its
    /// status information and receipts.
    pub fn post_terminal_eod(
        &mut self,
        totals: &TerminalTotals,
        kept: &EodKept,
        now: DateTime<Utc>,
    ) -> Result<i64, LedgerError> {
        let day = self.current_day()?.ok_or(LedgerError::NoDayOpen)?.day_no;
        let text = totals.to_text();
        let payload = |h: &EntryHeader| {
            let mut c = Canon::new(h);
            eod_canon(&mut c, &text, kept);
            c.into_bytes()
        };
        let (seq, ()) = self.post_entry(
            "terminal_eod",
            Content::InPayload,
            now,
            |_| Ok(()),
            payload,
            |tx, seq| {
                tx.execute(
                    "INSERT INTO terminal_eods(seq, day_no, by_card, status_kept, receipts) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        seq,
                        day,
                        text,
                        Some(&kept.status).filter(|s| !s.is_empty()),
                        Some(&kept.receipts).filter(|s| !s.is_empty())
                    ],
                )?;
                Ok(())
            },
        )?;
        Ok(seq)
    }

    /// Marks, before the end-of-day command goes out, that the terminal is asked to close its
    /// batch: a till stopped before the answer knows the batch may be closed, and a Z never asks
    /// twice (see [`Ledger::eod_in_doubt`]).
    pub fn post_eod_started(&mut self, now: DateTime<Utc>) -> Result<i64, LedgerError> {
        self.append(EOD_STARTED, &[], now)
    }

    /// The terminal refused the end-of-day (its own 84 xx or 06 1E): its batch is still open.
    pub fn post_eod_refused(&mut self, code: u8, now: DateTime<Utc>) -> Result<i64, LedgerError> {
        self.append(EOD_REFUSED, &[("code", format!("{code:02X}"))], now)
    }

    /// An end-of-day was sent on this day and nothing came of it that the ledger knows: no
    /// totals, no refusal (the till stopped, or the answer was lost).
    pub fn eod_in_doubt(&self, day_no: i64) -> Result<bool, LedgerError> {
        let last: Option<String> = self
            .conn
            .query_row(
                "SELECT kind FROM journal WHERE day_no = ?1 AND kind IN (?2, ?3, 'terminal_eod') \
                 ORDER BY seq DESC LIMIT 1",
                params![day_no, EOD_STARTED, EOD_REFUSED],
                |r| r.get(0),
            )
            .optional()?;
        Ok(last.as_deref() == Some(EOD_STARTED))
    }

    /// The terminal's own end-of-day receipts kept for a day (the latest end-of-day's), each as
    /// its lines.
    pub fn terminal_eod_receipts(&self, day_no: i64) -> Result<Vec<Vec<String>>, LedgerError> {
        let text: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT receipts FROM terminal_eods WHERE day_no = ?1 ORDER BY seq DESC LIMIT 1",
                [day_no],
                |r| r.get(0),
            )
            .optional()?;
        Ok(text.flatten().as_deref().map(super::card::receipts_from_text).unwrap_or_default())
    }

    /// The terminal's end-of-day totals already kept for a day, if its batch was closed and no
    /// card payment came after.
    pub fn terminal_eod(&self, day_no: i64) -> Result<Option<TerminalTotals>, LedgerError> {
        let row: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT seq, by_card FROM terminal_eods WHERE day_no = ?1 ORDER BY seq DESC LIMIT 1",
                [day_no],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((seq, text)) = row else { return Ok(None) };
        // Unknown totals stay the day's: the batch may be closed, and an end-of-day now would
        // hold only what came after (never a second end-of-day for one Z).
        if text == "unknown" {
            return Ok(Some(TerminalTotals::Unknown));
        }
        let later: bool =
            self.conn
                .query_row("SELECT EXISTS (SELECT 1 FROM card_intents WHERE intent_id > ?1)", [seq], |r| r.get(0))?;
        if later {
            return Ok(None);
        }
        TerminalTotals::from_text(&text)
            .map(Some)
            .ok_or_else(|| LedgerError::Corrupt(format!("terminal_eod {seq}: {text}")))
    }

    /// Posts the Z: closes the open day `day_no` with its net, the next gap-free Z number and the
    /// perpetual grand total, in one transaction that refuses a day already closed or not open.
    /// `figures` are the day's real and training figures (kept for reports over many days).
    pub fn post_day_close(
        &mut self,
        day_no: i64,
        figures: &[(bool, &DayFigures)],
        as_of: i64,
        now: DateTime<Utc>,
    ) -> Result<DayClose, LedgerError> {
        let net_minor = figures.iter().find(|(training, _)| !training).map_or(0, |(_, f)| f.net);
        let bodies: Vec<(bool, String)> = figures.iter().map(|(t, f)| (*t, f.to_text())).collect();
        let currency = self.currency;
        let check = move |tx: &Transaction<'_>| {
            // The figures were computed as of `as_of`: anything posted since would be in the
            // closed day but not in them. The caller computes them again.
            let head: i64 = tx.query_row("SELECT COALESCE(MAX(seq), 0) FROM journal", [], |r| r.get(0))?;
            if head != as_of {
                return Err(LedgerError::ChangedMeanwhile);
            }
            // Nothing open may be closed over, checked where nothing can start meanwhile.
            let open = super::in_progress::open_work_in(tx)?;
            if !open.is_empty() {
                return Err(LedgerError::WorkOpen(open.join("; ")));
            }
            match current_day_of(tx, currency)? {
                Some(d) if d.day_no == day_no => Ok(()),
                _ if day_closed(tx, day_no)? => Err(LedgerError::DayClosed(day_no)),
                _ => Err(LedgerError::NoDayOpen),
            }
        };
        let (z_no, previous): (i64, i64) = self.conn.query_row(
            // After a restore, Z numbers go on after the highest ever printed.
            "SELECT MAX(COALESCE(MAX(z_no), 0), (SELECT COALESCE(MAX(z_floor), 0) FROM restores)) + 1, \
             COALESCE((SELECT grand_total_minor FROM day_closes ORDER BY z_no DESC LIMIT 1), 0) FROM day_closes",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let grand_total_minor = previous + net_minor;
        let payload = |h: &EntryHeader| {
            let mut c = Canon::new(h);
            c.field("z_no", z_no).field("net", net_minor).field("grand_total", grand_total_minor);
            for (training, body) in &bodies {
                c.field(if *training { "figures_training" } else { "figures" }, body);
            }
            c.into_bytes()
        };
        let (seq, ()) = self.post_entry("day_close", Content::InPayload, now, check, payload, |tx, seq| {
            tx.execute(
                "INSERT INTO day_closes(seq, day_no, z_no, net_minor, grand_total_minor) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![seq, day_no, z_no, net_minor, grand_total_minor],
            )?;
            for (training, body) in &bodies {
                tx.execute(
                    "INSERT INTO day_figures(day_no, training, body) VALUES (?1, ?2, ?3)",
                    params![day_no, training, body],
                )?;
            }
            Ok(())
        })?;
        Ok(DayClose { seq, day_no, z_no, net_minor, grand_total_minor })
    }

    /// The Z of a closed day.
    pub fn day_close(&self, day_no: i64) -> Result<Option<DayClose>, LedgerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT seq, z_no, net_minor, grand_total_minor FROM day_closes WHERE day_no = ?1",
                [day_no],
                |r| {
                    Ok(DayClose {
                        seq: r.get(0)?,
                        day_no,
                        z_no: r.get(1)?,
                        net_minor: r.get(2)?,
                        grand_total_minor: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    /// Every business day, newest first, with its Z number once closed.
    pub fn days(&self) -> Result<Vec<DaySummary>, LedgerError> {
        let mut stmt = self.conn.prepare(
            "SELECT d.day_no, d.business_date, c.z_no FROM business_days d \
             LEFT JOIN day_closes c ON c.day_no = d.day_no ORDER BY d.day_no DESC",
        )?;
        let rows =
            stmt.query_map([], |r| Ok(DaySummary { day_no: r.get(0)?, business_date: r.get(1)?, z_no: r.get(2)? }))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The X/Z figures of days `first..=last`, of training sales or of real ones: closed days
    /// from the figures kept with their Z, open days summed from their sales.
    pub fn day_figures(&self, first: i64, last: i64, training: bool) -> Result<DayFigures, LedgerError> {
        let mut kept: Vec<(i64, String)> = self
            .conn
            .prepare_cached("SELECT day_no, body FROM day_figures WHERE day_no BETWEEN ?1 AND ?2 AND training = ?3")?
            .query_map(params![first, last, training], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        kept.sort();
        let mut total = DayFigures::default();
        let mut next = first;
        for (day, body) in &kept {
            if *day > next {
                total.absorb(&self.live_figures(next, day - 1, training)?);
            }
            total.absorb(
                &DayFigures::from_text(body).ok_or_else(|| LedgerError::Corrupt(format!("figures of day {day}")))?,
            );
            next = day + 1;
        }
        if next <= last {
            total.absorb(&self.live_figures(next, last, training)?);
        }
        Ok(total)
    }

    /// The figures of days `first..=last` summed from their sales and entries.
    fn live_figures(&self, first: i64, last: i64, training: bool) -> Result<DayFigures, LedgerError> {
        live_figures_in(&self.conn, first, last, training)
    }

    /// The card payments of days `first..=last` (training or real), with what the risk flags need.
    pub fn card_payment_figures(
        &self,
        first: i64,
        last: i64,
        training: bool,
    ) -> Result<Vec<CardPaymentFigure>, LedgerError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT s.receipt_no, s.kind, p.amount_minor, COALESCE(p.card_name, ''), COALESCE(p.masked_pan, ''), \
                    p.card_receipt, \
                    (SELECT COUNT(*) FROM sale_lines l WHERE l.seq = s.seq), \
                    (SELECT COUNT(*) FROM sale_lines l WHERE l.seq = s.seq AND l.price_overridden), \
                    (SELECT r.card_type FROM card_results r WHERE r.receipt_no = p.card_receipt \
                     AND r.trace = p.card_trace AND r.card_type IS NOT NULL ORDER BY r.seq DESC LIMIT 1) \
             FROM sales s JOIN payments p ON p.seq = s.seq \
             WHERE s.day_no BETWEEN ?1 AND ?2 AND s.training = ?3 AND p.kind = 'card' ORDER BY s.receipt_no",
        )?;
        let rows = stmt.query_map(params![first, last, training], |r| {
            Ok(CardPaymentFigure {
                receipt_no: r.get(0)?,
                kind: r.get(1)?,
                amount: r.get(2)?,
                card_name: r.get(3)?,
                masked_pan: r.get(4)?,
                card_receipt: r.get(5)?,
                lines: r.get(6)?,
                overridden_lines: r.get(7)?,
                card_type: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// The figures of days `first..=last` summed from their sales and entries (what a Z keeps, and
/// what `verify` recomputes a Z's figures from).
pub(super) fn live_figures_in(
    c: &Connection,
    first: i64,
    last: i64,
    training: bool,
) -> Result<DayFigures, LedgerError> {
    live_figures_with(c, first, last, training, None)
}

/// `live_figures_in`, with the entries counted per kind given when the caller has them (`verify`
/// counts every day's in one pass over the journal instead of one pass per Z).
pub(super) fn live_figures_with(
    c: &Connection,
    first: i64,
    last: i64,
    training: bool,
    entries: Option<Vec<(String, i64)>>,
) -> Result<DayFigures, LedgerError> {
    let mut f = DayFigures::default();
    let range = params![first, last, training];
    c.prepare_cached(
        "SELECT kind, COUNT(*), COALESCE(SUM(total_minor), 0), COALESCE(SUM(gross_minor), 0), \
                COALESCE(SUM(discount_minor), 0), COALESCE(SUM(tax_minor), 0), COALESCE(SUM(rounding_minor), 0) \
         FROM sales WHERE day_no BETWEEN ?1 AND ?2 AND training = ?3 GROUP BY kind",
    )?
    .query_map(range, |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, i64>(5)?,
            r.get::<_, i64>(6)?,
        ))
    })?
    .try_for_each(|row| -> Result<(), rusqlite::Error> {
        let (kind, n, total, gross, discount, tax, rounding) = row?;
        if kind == "refund" {
            (f.refunds_count, f.refunds_total) = (n, total);
        } else {
            (f.sales_count, f.sales_total) = (n, total);
        }
        f.gross += gross;
        f.discounts += discount;
        f.tax += tax;
        f.net += total;
        f.rounding += rounding;
        Ok(())
    })?;
    // One pass over the lines: the tax per rate and the price overrides.
    for row in c
        .prepare_cached(
            "SELECT l.tax_class, l.tax_rate, SUM(l.amount_minor), SUM(l.tax_minor), SUM(l.price_overridden) \
             FROM sales s JOIN sale_lines l ON l.seq = s.seq WHERE s.day_no BETWEEN ?1 AND ?2 AND s.training = ?3 \
             GROUP BY l.tax_class, l.tax_rate ORDER BY l.tax_class, l.tax_rate",
        )?
        .query_map(range, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get::<_, i64>(4)?)))?
    {
        let (class, rate, amount, tax, overridden) = row?;
        f.taxes.push((class, rate, amount, tax));
        f.price_overrides += overridden;
    }
    f.tenders = c
        .prepare_cached(
            "SELECT p.kind, COUNT(*), SUM(p.amount_minor) FROM sales s JOIN payments p ON p.seq = s.seq \
             WHERE s.day_no BETWEEN ?1 AND ?2 AND s.training = ?3 GROUP BY p.kind ORDER BY p.kind",
        )?
        .query_map(range, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    f.cards = c
        .prepare_cached(
            "SELECT COALESCE(p.card_name, '?'), COUNT(*), SUM(p.amount_minor) FROM sales s \
             JOIN payments p ON p.seq = s.seq \
             WHERE s.day_no BETWEEN ?1 AND ?2 AND s.training = ?3 AND p.kind = 'card' \
             GROUP BY p.card_name ORDER BY p.card_name",
        )?
        .query_map(range, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    f.cashiers = c
        .prepare_cached(
            "SELECT cashier, COUNT(*), SUM(total_minor) FROM sales \
             WHERE day_no BETWEEN ?1 AND ?2 AND training = ?3 GROUP BY cashier ORDER BY cashier",
        )?
        .query_map(range, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    // By UTC hour in SQL (a text prefix, cheap), then each hour to the register's local time.
    let mut hours = c.prepare_cached(
        "SELECT substr(completed_at, 1, 13), COUNT(*), SUM(total_minor) \
         FROM sales WHERE day_no BETWEEN ?1 AND ?2 AND training = ?3 GROUP BY 1",
    )?;
    for row in hours.query_map(range, |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))? {
        let (utc_hour, n, amount) = row?;
        let hour = chrono::NaiveDateTime::parse_from_str(&format!("{utc_hour}:00"), "%Y-%m-%dT%H:%M")
            .map(|t| t.and_utc().with_timezone(&Local).format("%H").to_string())
            .ok()
            .and_then(|h| h.parse::<usize>().ok());
        if let Some(slot) = hour.and_then(|h| f.by_hour.get_mut(h)) {
            slot.0 += n;
            slot.1 += amount;
        }
    }
    let days = params![first, last];
    f.float = c
        .prepare_cached("SELECT COALESCE(SUM(float_minor), 0) FROM business_days WHERE day_no BETWEEN ?1 AND ?2")?
        .query_row(days, |r| r.get(0))?;
    (f.cash_in, f.cash_out) = c
        .prepare_cached(
            "SELECT COALESCE(SUM(CASE direction WHEN 'in' THEN amount_minor END), 0), \
                    COALESCE(SUM(CASE direction WHEN 'out' THEN amount_minor END), 0) \
             FROM cash_movements WHERE day_no BETWEEN ?1 AND ?2",
        )?
        .query_row(days, |r| Ok((r.get(0)?, r.get(1)?)))?;
    f.entries = match entries {
        Some(entries) => entries,
        None => c
            .prepare_cached(
                "SELECT kind, COUNT(*) FROM journal WHERE day_no BETWEEN ?1 AND ?2 \
                 AND kind NOT IN ('sale', 'refund') GROUP BY kind ORDER BY kind",
            )?
            .query_map(days, |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?,
    };
    Ok(f)
}

fn day_closed(tx: &Transaction<'_>, day_no: i64) -> Result<bool, LedgerError> {
    Ok(tx.query_row("SELECT EXISTS (SELECT 1 FROM day_closes WHERE day_no = ?1)", [day_no], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_round_trip_through_text_and_add_up() {
        let mut f = DayFigures {
            sales_count: 3,
            sales_total: 1250,
            net: 1000,
            taxes: vec![("A".into(), "0.13".into(), 1000, 115)],
            tenders: vec![("cash".into(), 2, 800), ("card".into(), 1, 200)],
            cards: vec![("VISA; x|y=%".into(), 1, 200)],
            cashiers: vec![("王芳\nline".into(), 3, 1000)],
            entries: vec![("no_sale".into(), 2)],
            ..DayFigures::default()
        };
        f.by_hour[9] = (3, 1000);
        assert_eq!(DayFigures::from_text(&f.to_text()), Some(f.clone()));
        assert_eq!(DayFigures::from_text("nonsense"), None);
        let mut two = f.clone();
        two.absorb(&f);
        assert_eq!((two.net, two.by_hour[9], two.tenders[0].2, two.entries[0].1), (2000, (6, 2000), 400, 4));
    }

    #[test]
    fn family_totals_round_trip() {
        let t: FamilyTotals = [(1, 250), (0, 0), (2, 990), (0, 0), (3, 1200), (0, 0), (1, -50)];
        assert_eq!(parse_families(&families_text(&t)), Some(t));
        assert_eq!(parse_families("9:1:1"), None);
        assert_eq!(parse_families("0:x:1"), None);
    }
}
