//! The ledger: a SQLite file that keeps every posted entry, append-only and hash-chained.
//! The only module that speaks SQL.
//!
//! Durability: WAL with `synchronous=FULL`, one transaction per posted sale, so a power cut at any
//! instant leaves either the whole sale or none of it. After each commit the chain head is written
//! to a witness file beside the database (`ledger.db.head`), without fsync: it may lag the
//! database, never lead it, so a database whose newest entries were cut off is caught by `verify`.

pub mod backup;
mod card;
mod catalog_store;
pub mod find;
pub mod in_progress;
mod print_jobs;
pub mod records;
mod schema;
mod settlement;
pub mod users;
mod verify;

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Local, NaiveDate, SecondsFormat, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::money::{Currency, Money};
use crate::sale::{OriginalLine, OriginalSale, Sale, SaleError, SaleKind, SaleState, TenderKind};
pub use backup::RestorePlan;
pub use card::{
    CardIntentRecord, CardResultRecord, CardSlipFacts, RECEIPT_BREAK, outcome as card_outcome, receipts_text,
};
pub use in_progress::{HeldCard, InProgress};
pub use print_jobs::PrintJob;
use records::{Canon, EntryHeader, LineRecord, PaymentRecord, SaleRecord, chain_hash, hex};
pub use settlement::{
    CardPaymentFigure, CashDirection, DayClose, DayFigures, DaySummary, DrawerCountRecord, EodKept, FamilyTotals,
    TerminalTotals,
};
pub use verify::{Problem, ProblemKind, VerifyReport, classified_tables};

/// The file name of the ledger database inside the data directory.
pub const DB_FILE: &str = "ledger.db";
const GENESIS: [u8; 32] = [0; 32];

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("file: {0}")]
    Io(#[from] std::io::Error),
    #[error("only a paid sale can be posted (this one is {0:?})")]
    NotPaid(SaleState),
    #[error(transparent)]
    Sale(#[from] SaleError),
    #[error("the ledger keeps {ledger}, not {other}")]
    CurrencyMismatch { ledger: String, other: String },
    #[error("no receipt number {0}")]
    UnknownReceipt(i64),
    #[error("business day {0} is already open")]
    DayAlreadyOpen(i64),
    #[error("the ledger is damaged: {0}")]
    Corrupt(String),
    #[error("the ledger was written by a newer till (schema {0})")]
    TooNew(i64),
    #[error("card payment {0} has no known outcome yet")]
    CardOutcomeUnknown(i64),
    #[error("business day {0} is closed")]
    DayClosed(i64),
    #[error("no business day is open")]
    NoDayOpen,
    #[error("sale in progress {0} still holds a card payment: reverse it first")]
    InProgressHoldsCard(i64),
    #[error("the ledger changed while the figures were computed")]
    ChangedMeanwhile,
    #[error("sale in progress {0} is no longer there (posted already?)")]
    InProgressGone(i64),
    #[error("the day cannot close yet: {0}")]
    WorkOpen(String),
    /// A refund to a card beyond what cards paid on the original, net of earlier refunds.
    #[error("a card refund of {asked} exceeds the {left} that cards paid and were not refunded")]
    CardRefundExceedsPaid { asked: Money, left: Money },
    /// A training receipt refunded for real, or a real one in training.
    #[error("receipt {0} is a training sale: it cannot be refunded as a real one (nor a real one in training)")]
    TrainingMismatch(i64),
    /// A refund by scan code, voucher or another outside channel beyond what those paid.
    #[error("a refund of {asked} by scan code or voucher exceeds the {left} they paid and were not refunded")]
    OtherRefundExceedsPaid { asked: Money, left: Money },
}

impl LedgerError {
    pub fn localized(&self, locale: &str) -> String {
        use rust_i18n::t;
        match self {
            LedgerError::Sqlite(e) => t!("error.ledger.sqlite", locale = locale, detail = e.to_string()),
            LedgerError::Io(e) => t!("error.ledger.io", locale = locale, detail = e.to_string()),
            LedgerError::NotPaid(s) => t!("error.ledger.not_paid", locale = locale, state = format!("{s:?}")),
            LedgerError::Sale(e) => return e.localized(locale),
            LedgerError::CurrencyMismatch { ledger, other } => {
                t!("error.ledger.currency_mismatch", locale = locale, ledger = ledger, other = other)
            }
            LedgerError::UnknownReceipt(n) => t!("error.ledger.unknown_receipt", locale = locale, receipt = n),
            LedgerError::DayAlreadyOpen(n) => t!("error.ledger.day_already_open", locale = locale, day = n),
            LedgerError::Corrupt(d) => t!("error.ledger.corrupt", locale = locale, detail = d),
            LedgerError::TooNew(v) => t!("error.ledger.too_new", locale = locale, version = v),
            LedgerError::CardOutcomeUnknown(n) => t!("error.ledger.card_outcome_unknown", locale = locale, intent = n),
            LedgerError::DayClosed(n) => t!("error.ledger.day_closed", locale = locale, day = n),
            LedgerError::NoDayOpen => t!("error.ledger.no_day_open", locale = locale),
            LedgerError::ChangedMeanwhile => t!("error.ledger.changed_meanwhile", locale = locale),
            LedgerError::InProgressGone(n) => t!("error.ledger.in_progress_gone", locale = locale, id = n),
            LedgerError::WorkOpen(w) => t!("report.error.open_work", locale = locale, what = w),
            LedgerError::CardRefundExceedsPaid { asked, left } => t!(
                "error.ledger.card_refund_exceeds_paid",
                locale = locale,
                asked = asked.to_string(),
                left = left.to_string()
            ),
            LedgerError::OtherRefundExceedsPaid { asked, left } => t!(
                "error.ledger.other_refund_exceeds_paid",
                locale = locale,
                asked = asked.to_string(),
                left = left.to_string()
            ),
            LedgerError::TrainingMismatch(n) => t!("error.ledger.training_mismatch", locale = locale, receipt = n),
            LedgerError::InProgressHoldsCard(n) => t!("error.ledger.in_progress_holds_card", locale = locale, id = n),
        }
        .into_owned()
    }
}

/// An open business day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    pub day_no: i64,
    pub business_date: NaiveDate,
    pub float: Money,
}

/// Who posts and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostContext {
    pub cashier: String,
    /// Training sales are kept apart from real ones in every total.
    pub training: bool,
}

/// A posted sale's tenders against its refunds, in minor units (refunds positive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenderBalance {
    pub card_paid: i64,
    pub cash_paid: i64,
    pub card_refunded: i64,
    pub cash_refunded: i64,
    /// Scan-code, voucher and other tenders paid elsewhere (by their own channel).
    pub other_paid: i64,
    pub other_refunded: i64,
}

/// What posting a sale produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub seq: i64,
    pub receipt_no: i64,
    pub day_no: i64,
}

/// The newest entry of the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: [u8; 32],
}

impl Head {
    pub fn hash_hex(&self) -> String {
        hex(&self.hash)
    }

    /// This entry as an anchor, for paper and for a backup's name.
    pub fn anchor(&self) -> Anchor {
        let mut prefix = [0u8; 8];
        prefix.copy_from_slice(&self.hash[..8]);
        Anchor { seq: self.seq, prefix }
    }
}

/// A short, printable proof of the chain at one instant: an entry's seq and the first 16 hex
/// digits (64 bits) of its hash, written `seq:hex`. Printed on receipts and reports and kept in
/// backups' names, it leaves the machine; `verify --anchor` proves the current chain still
/// holds that entry with that hash, which no edit, cut or re-hash of the file can fake (finding
/// another chain with the same 64-bit prefix at that seq is a 2^64 search).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Anchor {
    pub seq: i64,
    pub prefix: [u8; 8],
}

impl Anchor {
    /// Reads `SEQ:HEX16` (more hex digits are allowed and only the first 16 count).
    pub fn parse(text: &str) -> Option<Anchor> {
        let (seq, hash) = text.trim().split_once(':')?;
        let seq: i64 = seq.trim().parse().ok().filter(|s| *s > 0)?;
        let hash = hash.trim();
        let bytes = records::unhex(hash.get(..16)?)?;
        let prefix: [u8; 8] = bytes.try_into().ok()?;
        Some(Anchor { seq, prefix })
    }

    pub fn prefix_hex(&self) -> String {
        hex(&self.prefix)
    }

    /// True when `hash` is the full hash this anchor abbreviates.
    pub fn matches(&self, hash: &[u8]) -> bool {
        hash.get(..8) == Some(&self.prefix[..])
    }
}

impl std::fmt::Display for Anchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, self.prefix_hex())
    }
}

/// One journal entry as the chain hashes it: SHA-256(prev_hash ‖ canonical) = hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainEntry {
    pub seq: i64,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
    pub canonical: Vec<u8>,
}

pub struct Ledger {
    conn: Connection,
    path: PathBuf,
    register: String,
    currency: Currency,
    /// False only for a read-only view of a file whose creation never finished.
    initialized: bool,
    /// The witness file, kept open: one positioned write per commit.
    witness: Option<fs::File>,
}

/// Entries the X and Z count (`DayFigures::entries`): each belongs to a business day.
pub const COUNTED_IN_DAY: [&str; 3] = ["no_sale", "void_cart", "void_line"];

impl Ledger {
    /// Opens (creating if needed, mode 0600) the ledger at `path` for one register and currency.
    pub fn open(path: &Path, register: &str, currency: Currency) -> Result<Ledger, LedgerError> {
        if !path.exists() {
            create_private_file(path)?;
        }
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut ledger = Ledger {
            conn,
            path: path.to_path_buf(),
            register: register.to_string(),
            currency,
            initialized: true,
            witness: None,
        };
        ledger.migrate()?;
        ledger.check_identity()?;
        Ok(ledger)
    }

    /// Opens an existing ledger read-only, as it is, for `verify` and reports: no migration, no
    /// trigger repair, nothing written.
    pub fn open_read_only(path: &Path) -> Result<Ledger, LedgerError> {
        if !path.exists() {
            return Err(LedgerError::Io(std::io::Error::new(std::io::ErrorKind::NotFound, path.display().to_string())));
        }
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let tables: i64 = conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0))?;
        if version == 0 && tables == 0 {
            // Created but never initialized (the till died while creating it): an empty ledger.
            // A file with tables and version 0 had its version reset: verify names that.
            return Ok(Ledger {
                conn,
                path: path.to_path_buf(),
                register: String::new(),
                currency: Currency::CNY,
                initialized: false,
                witness: None,
            });
        }
        let meta = |key: &str| -> Result<Option<String>, rusqlite::Error> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()
        };
        let register = meta("register")?.unwrap_or_default();
        let currency = meta("currency")?
            .and_then(|c| Currency::from_code(&c).ok())
            .ok_or_else(|| LedgerError::Corrupt("no currency in meta".into()))?;
        Ok(Ledger { conn, path: path.to_path_buf(), register, currency, initialized: true, witness: None })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn register(&self) -> &str {
        &self.register
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Where the chain head is witnessed after every commit.
    pub fn witness_path(&self) -> PathBuf {
        witness_path(&self.path)
    }

    fn migrate(&mut self) -> Result<(), LedgerError> {
        let version: i64 = self.conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let known = schema::MIGRATIONS.len() as i64;
        if version > known {
            return Err(LedgerError::TooNew(version));
        }
        if version == known {
            return Ok(());
        }
        // Every pending migration, the store identity (for a new file) and the append-only
        // triggers in one transaction: a ledger is at one schema version or the next, never half
        // way, even when the process dies while creating or upgrading it. The version is read
        // again inside it: another process may have upgraded the file meanwhile.
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version == known {
            return Ok(());
        }
        // A file whose chain already holds what only this schema writes had its version set
        // back: upgrading it would bless whatever was changed meanwhile.
        if version > 0 && schema::holds_tied_entries(&tx)? {
            return Err(LedgerError::Corrupt(format!("schema version {version} was set back")));
        }
        for sql in &schema::MIGRATIONS[version as usize..] {
            tx.execute_batch(sql)?;
        }
        if version == 0 {
            tx.execute("INSERT INTO meta(key, value) VALUES ('currency', ?1)", [self.currency.code])?;
            tx.execute("INSERT INTO meta(key, value) VALUES ('register', ?1)", [&self.register])?;
        }
        tx.execute_batch(&schema::append_only_triggers())?;
        if version > 0 && version < schema::TIED_FROM {
            baseline_in(&tx, &self.register)?;
        }
        tx.pragma_update(None, "user_version", known)?;
        tx.commit()?;
        Ok(())
    }

    fn check_identity(&mut self) -> Result<(), LedgerError> {
        let stored: String = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'currency'", [], |r| r.get(0))
            .optional()?
            .ok_or_else(|| LedgerError::Corrupt("no currency in meta".into()))?;
        if stored != self.currency.code {
            return Err(LedgerError::CurrencyMismatch { ledger: stored, other: self.currency.code.into() });
        }
        Ok(())
    }

    /// The newest entry, or None for an empty ledger.
    pub fn head(&self) -> Result<Option<Head>, LedgerError> {
        head_of(&self.conn)
    }

    /// The business day open now, if any.
    pub fn current_day(&self) -> Result<Option<Day>, LedgerError> {
        current_day_of(&self.conn, self.currency)
    }

    /// Opens a business day with the drawer's opening float.
    pub fn open_day(&mut self, float: Money, business_date: NaiveDate, now: DateTime<Utc>) -> Result<Day, LedgerError> {
        self.same_currency(float)?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(day) = current_day_of(&tx, self.currency)? {
            return Err(LedgerError::DayAlreadyOpen(day.day_no));
        }
        let day = open_day_in(&tx, &self.register, float, business_date, now)?;
        let head = head_of(&tx)?;
        tx.commit()?;
        self.write_witness(head);
        Ok(day)
    }

    /// Posts a paid sale or refund durably: the sale, its lines and payments and its journal
    /// entry in one transaction. Opens a business day (float 0) if none is open.
    pub fn post_sale(&mut self, sale: &mut Sale, ctx: &PostContext, now: DateTime<Utc>) -> Result<Posted, LedgerError> {
        self.post_sale_with(sale, ctx, now, |_, _| Ok(()))
    }

    /// `post_sale` with `also` run inside its transaction (the sale in progress it ends).
    fn post_sale_with(
        &mut self,
        sale: &mut Sale,
        ctx: &PostContext,
        now: DateTime<Utc>,
        also: impl FnOnce(&Transaction<'_>, i64) -> Result<(), LedgerError>,
    ) -> Result<Posted, LedgerError> {
        if sale.state() != SaleState::Paid {
            return Err(LedgerError::NotPaid(sale.state()));
        }
        if sale.currency() != self.currency {
            return Err(LedgerError::CurrencyMismatch {
                ledger: self.currency.code.into(),
                other: sale.currency().code.into(),
            });
        }
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let day = match current_day_of(&tx, self.currency)? {
            Some(d) => d,
            None => open_day_in(
                &tx,
                &self.register,
                Money::zero(self.currency),
                now.with_timezone(&Local).date_naive(),
                now,
            )?,
        };
        if sale.kind() == SaleKind::Refund {
            check_refund_in(&tx, sale, self.currency, ctx.training)?;
        }
        // After a restore, numbering goes on after the highest receipt ever printed.
        let receipt_no: i64 = tx
            .prepare_cached(
                "SELECT MAX(COALESCE(MAX(receipt_no), 0), (SELECT COALESCE(MAX(receipt_floor), 0) FROM restores)) + 1 \
                 FROM sales",
            )?
            .query_row([], |r| r.get(0))?;
        let record = sale_record(sale, receipt_no, day.day_no, ctx, now);
        let (seq, hash) = append_in(&tx, &self.register, &record.kind, Some(day.day_no), now, Content::InRows, |h| {
            records::sale_canonical(h, &record)
        })?;
        insert_sale(&tx, seq, &record)?;
        also(&tx, receipt_no)?;
        // `also` may have appended an entry of its own after the sale's.
        let head = head_of(&tx)?.or(Some(Head { seq, hash }));
        tx.commit()?;
        sale.complete()?;
        self.write_witness(head);
        Ok(Posted { seq, receipt_no, day_no: day.day_no })
    }

    /// Appends an entry that has no table of its own (audit events, voided carts, cash
    /// movements, risk events): its fields are its canonical bytes.
    pub fn append(&mut self, kind: &str, fields: &[(&str, String)], now: DateTime<Utc>) -> Result<i64, LedgerError> {
        let payload = |h: &EntryHeader| {
            let mut c = Canon::new(h);
            for (k, v) in fields {
                c.field(k, v);
            }
            c.into_bytes()
        };
        let (seq, ()) = self.post_entry(kind, Content::InPayload, now, |_| Ok(()), payload, |_, _| Ok(()))?;
        Ok(seq)
    }

    /// Posts one entry in a transaction of its own, dated in the open business day: `check` may
    /// refuse before anything is written, `payload` renders the canonical bytes, `rows` writes the
    /// entry's own rows (keyed by its seq); then the commit and the witness. Every entry but sales
    /// and business days goes this one way.
    fn post_entry<T>(
        &mut self,
        kind: &str,
        content: Content,
        now: DateTime<Utc>,
        check: impl FnOnce(&Transaction<'_>) -> Result<(), LedgerError>,
        payload: impl FnOnce(&EntryHeader) -> Vec<u8>,
        rows: impl FnOnce(&Transaction<'_>, i64) -> Result<T, LedgerError>,
    ) -> Result<(i64, T), LedgerError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        check(&tx)?;
        let day = match current_day_of(&tx, self.currency)? {
            Some(d) => Some(d.day_no),
            // What the X and Z count opens the day as a sale does (float 0): a line voided
            // before the day's first sale is that day's.
            None if COUNTED_IN_DAY.contains(&kind) => {
                let today = now.with_timezone(&Local).date_naive();
                Some(open_day_in(&tx, &self.register, Money::zero(self.currency), today, now)?.day_no)
            }
            None => None,
        };
        let (seq, hash) = append_in(&tx, &self.register, kind, day, now, content, payload)?;
        let out = rows(&tx, seq)?;
        tx.commit()?;
        self.write_witness(Some(Head { seq, hash }));
        Ok((seq, out))
    }

    /// A posted sale as a refund needs it, with what earlier refunds already returned.
    pub fn original_sale(&self, receipt_no: i64) -> Result<OriginalSale, LedgerError> {
        original_sale_in(&self.conn, receipt_no, self.currency)
    }

    /// What a sale was paid with and what earlier refunds already paid back, per tender.
    pub fn tender_balance(&self, receipt_no: i64) -> Result<TenderBalance, LedgerError> {
        let (card_paid, cash_paid, other_paid) = paid_by_tender_in(&self.conn, receipt_no)?;
        let (card_refunded, cash_refunded, other_refunded) = refunded_by_tender_in(&self.conn, receipt_no)?;
        Ok(TenderBalance { card_paid, cash_paid, card_refunded, cash_refunded, other_paid, other_refunded })
    }

    /// A posted sale or refund as stored.
    pub fn sale_by_receipt(&self, receipt_no: i64) -> Result<SaleRecord, LedgerError> {
        verify::read_sale(&self.conn, receipt_no)
    }

    /// Counts for a quick summary: (journal entries, sales and refunds).
    pub fn counts(&self) -> Result<(i64, i64), LedgerError> {
        Ok(self.conn.query_row("SELECT (SELECT COUNT(*) FROM journal), (SELECT COUNT(*) FROM sales)", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?)
    }

    /// Checks the whole chain, every row of every table against its entry, the schema, each Z
    /// against its day's rows, the working data against its journal, and the witness.
    pub fn verify(&self) -> Result<VerifyReport, LedgerError> {
        self.verify_against(&[])
    }

    /// `verify`, and that the chain still holds each anchor (taken from paper, a report or a
    /// backup's name): a cut tail, a rewritten witness or a re-hashed chain is then named too.
    pub fn verify_against(&self, anchors: &[Anchor]) -> Result<VerifyReport, LedgerError> {
        if !self.initialized {
            let mut report = VerifyReport { entries: 0, sales: 0, head: None, problems: Vec::new(), witness: None };
            verify::check_anchors(&mut report, anchors, &[]);
            return Ok(report);
        }
        verify::verify(&self.conn, &self.witness_path(), anchors)
    }

    /// The canonical bytes the chain hashes for entry `seq` (None when there is no such entry).
    pub fn canonical_bytes(&self, seq: i64) -> Result<Option<Vec<u8>>, LedgerError> {
        verify::canonical_bytes(&self.conn, seq)
    }

    /// Up to `limit` entries after `after`, in order, as the chain hashes them: what the head
    /// office is shipped (it checks each link and hash again).
    pub fn entries_after(&self, after: i64, limit: usize) -> Result<Vec<ChainEntry>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, prev_hash, hash, kind FROM journal WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
        let heads = stmt
            .query_map(rusqlite::params![after, limit as i64], |r| {
                Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?, r.get::<_, String>(3)?))
            })?
            .collect::<Result<Vec<(i64, Vec<u8>, Vec<u8>, String)>, _>>()?;
        let mut sales = heads.iter().filter(|h| h.3 == "sale" || h.3 == "refund").map(|h| h.0);
        let receipts = match (sales.clone().next(), sales.next_back()) {
            (Some(first), Some(last)) => self.receipts_between(first, last)?,
            _ => std::collections::HashMap::new(),
        };
        heads
            .into_iter()
            .map(|(seq, prev_hash, hash, _)| {
                let canonical =
                    verify::canonical_bytes_with(&self.conn, seq, receipts.get(&seq).copied())?.unwrap_or_default();
                Ok(ChainEntry { seq, prev_hash, hash, canonical })
            })
            .collect()
    }

    /// The receipts of the sales whose entries lie in `first..=last`, by seq. Receipts are numbered
    /// in the order their entries are posted, so the first is found by halving the receipts (the
    /// table's rowid) and the rest follow in order; a sale this misses is looked up by its seq.
    fn receipts_between(&self, first: i64, last: i64) -> Result<std::collections::HashMap<i64, i64>, LedgerError> {
        let mut at = self
            .conn
            .prepare_cached("SELECT receipt_no, seq FROM sales WHERE receipt_no >= ?1 ORDER BY receipt_no LIMIT 1")?;
        let (mut lo, mut hi): (i64, i64) = self.conn.query_row(
            "SELECT COALESCE(MIN(receipt_no), 0), COALESCE(MAX(receipt_no), -1) FROM sales",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        // The smallest receipt whose entry is at or after `first`.
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let found: Option<(i64, i64)> = at.query_row([mid], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
            match found {
                // Every receipt up to this one is of an entry before `first`.
                Some((receipt, seq)) if seq < first => lo = receipt + 1,
                // The one sought is this one or before `mid` (none lies between them).
                Some(_) => hi = mid,
                None => break,
            }
        }
        let mut out = std::collections::HashMap::new();
        let mut rows =
            self.conn.prepare_cached("SELECT receipt_no, seq FROM sales WHERE receipt_no >= ?1 ORDER BY receipt_no")?;
        let mut rows = rows.query([lo])?;
        while let Some(row) = rows.next()? {
            let (receipt, seq): (i64, i64) = (row.get(0)?, row.get(1)?);
            if seq > last {
                break;
            }
            if seq >= first {
                out.insert(seq, receipt);
            }
        }
        Ok(out)
    }

    /// The newest value of `field` in an entry of `kind` that begins with `prefix` (how the head
    /// office's versions are journaled: a catalog import's `source`, a user's `by`).
    pub fn last_journaled(&self, kind: &str, field: &str, prefix: &str) -> Result<Option<String>, LedgerError> {
        let mut stmt = self.conn.prepare_cached("SELECT payload FROM journal WHERE kind = ?1 ORDER BY seq DESC")?;
        let mut rows = stmt.query([kind])?;
        while let Some(row) = rows.next()? {
            let payload: Vec<u8> = row.get(0)?;
            if let Some(value) = records::field_of(&payload, field).filter(|s| s.starts_with(prefix)) {
                return Ok(Some(value));
            }
        }
        Ok(None)
    }

    /// The anchor of the chain's newest entry.
    pub fn anchor(&self) -> Result<Option<Anchor>, LedgerError> {
        Ok(self.head()?.map(|h| h.anchor()))
    }

    /// The anchor of an entry (a sale's, a Z's), as its receipt or report prints it.
    pub fn anchor_of(&self, seq: i64) -> Result<Option<Anchor>, LedgerError> {
        let hash: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT hash FROM journal WHERE seq = ?1")?
            .query_row([seq], |r| r.get(0))
            .optional()?;
        Ok(hash.and_then(|h| <[u8; 32]>::try_from(h).ok()).map(|hash| Head { seq, hash }.anchor()))
    }

    /// The anchor of a posted sale's entry, as its receipt prints it.
    pub fn sale_anchor(&self, receipt_no: i64) -> Result<Option<Anchor>, LedgerError> {
        let seq: Option<i64> = self
            .conn
            .prepare_cached("SELECT seq FROM sales WHERE receipt_no = ?1")?
            .query_row([receipt_no], |r| r.get(0))
            .optional()?;
        match seq {
            Some(seq) => self.anchor_of(seq),
            None => Ok(None),
        }
    }

    /// The last Z's number and the anchor of its entry.
    pub fn last_z_anchor(&self) -> Result<Option<(i64, Anchor)>, LedgerError> {
        let row: Option<(i64, i64)> = self
            .conn
            .query_row("SELECT z_no, seq FROM day_closes ORDER BY z_no DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        match row {
            Some((z, seq)) => Ok(self.anchor_of(seq)?.map(|a| (z, a))),
            None => Ok(None),
        }
    }

    fn same_currency(&self, m: Money) -> Result<(), LedgerError> {
        if m.currency() == self.currency {
            Ok(())
        } else {
            Err(LedgerError::CurrencyMismatch { ledger: self.currency.code.into(), other: m.currency().code.into() })
        }
    }

    /// Best effort by design: the witness may lag (a crash between commit and this write), and a
    /// failure to write it must not fail a sale that is already durable.
    fn write_witness(&mut self, head: Option<Head>) {
        let Some(head) = head else { return };
        if self.witness.is_none() {
            self.witness = open_witness(&self.witness_path()).ok();
        }
        if let Some(file) = &self.witness {
            use std::os::unix::fs::FileExt;
            if file.write_all_at(witness_record(head).as_bytes(), 0).is_err() {
                self.witness = None;
            }
        }
    }
}

pub fn witness_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".head");
    db.with_file_name(name)
}

/// One fixed-size record (`seq hash`, the seq right-aligned in 20 columns), overwritten in place:
/// no new inode, no rename and no size change per commit, so the witness adds nothing to the
/// commit's fsync, and a power cut leaves the old record or the new one (both lie in one sector).
fn witness_record(head: Head) -> String {
    format!("{:>20} {}\n", head.seq, head.hash_hex())
}

fn open_witness(path: &Path) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Makes a file the till's alone (mode 0600).
fn make_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
}

fn create_private_file(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::config::create_private_dir(dir)?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn rfc3339(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn head_of(conn: &Connection) -> Result<Option<Head>, LedgerError> {
    let row: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match row {
        None => Ok(None),
        Some((seq, hash)) => {
            let hash: [u8; 32] =
                hash.try_into().map_err(|_| LedgerError::Corrupt(format!("entry {seq}: hash is not 32 bytes")))?;
            Ok(Some(Head { seq, hash }))
        }
    }
}

/// Appends one journal entry inside `tx`; `payload` renders its canonical bytes from the header.
/// Where an entry's canonical bytes live: in the journal's payload column, or rendered from the
/// entry's own rows (sales, business days), so they are not written twice. Either way the chain
/// hashes the canonical bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Content {
    InPayload,
    InRows,
}

fn append_in(
    tx: &Transaction<'_>,
    register: &str,
    kind: &str,
    day_no: Option<i64>,
    now: DateTime<Utc>,
    content: Content,
    payload: impl FnOnce(&EntryHeader) -> Vec<u8>,
) -> Result<(i64, [u8; 32]), LedgerError> {
    let (seq, prev) = match head_of(tx)? {
        Some(h) => (h.seq + 1, h.hash),
        None => (1, GENESIS),
    };
    let header =
        EntryHeader { seq, register: register.to_string(), kind: kind.to_string(), day_no, recorded_at: rfc3339(now) };
    let bytes = payload(&header);
    let hash = chain_hash(&prev, &bytes);
    tx.prepare_cached(
        "INSERT INTO journal(seq, register, kind, day_no, recorded_at, payload, prev_hash, hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        seq,
        header.register,
        header.kind,
        day_no,
        header.recorded_at,
        if content == Content::InPayload { &bytes[..] } else { &[][..] },
        &prev[..],
        &hash[..]
    ])?;
    Ok((seq, hash))
}

/// A ledger upgraded to the schema that ties its working data to the chain: one entry per user
/// (with their PIN hash's digest), one for the catalog (its digest) and one per sale in progress
/// (its row's digest), recording what it held at the upgrade, so `verify` has them to go by.
fn baseline_in(tx: &Transaction<'_>, register: &str) -> Result<(), LedgerError> {
    let now = Utc::now();
    let entry = |kind: &str, fields: Vec<(&str, String)>| -> Result<(), LedgerError> {
        append_in(tx, register, kind, None, now, Content::InPayload, |h| {
            let mut c = Canon::new(h);
            for (k, v) in &fields {
                c.field(k, v);
            }
            c.into_bytes()
        })?;
        Ok(())
    };
    let mut stmt = tx.prepare("SELECT id, name, role, pin_hash, active FROM users ORDER BY rowid")?;
    let users: Vec<(String, String, String, String, bool)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
        .collect::<Result<_, _>>()?;
    drop(stmt);
    for (id, name, role, hash, active) in users {
        let fields = vec![
            ("user", id.clone()),
            ("name", name),
            ("role", role),
            ("by", "upgrade".to_string()),
            ("pin_sha256", users::pin_digest(&hash)),
        ];
        entry("user_saved", fields)?;
        if !active {
            entry("user_removed", vec![("user", id), ("by", "upgrade".to_string())])?;
        }
    }
    let products: i64 = tx.query_row("SELECT COUNT(*) FROM products", [], |r| r.get(0))?;
    let ranges = catalog_store::range_digests(tx)?;
    let ranges =
        ranges.iter().map(|(s, d)| format!("{}={d}", records::hex(s.as_bytes()))).collect::<Vec<_>>().join(",");
    entry(
        "catalog_import",
        vec![("source", "upgrade baseline".into()), ("products", products.to_string()), ("catalog_ranges", ranges)],
    )?;
    let mut stmt = tx.prepare("SELECT id, origin, state, body, updated_at FROM sales_in_progress ORDER BY id")?;
    let carts: Vec<(i64, String, String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
        .collect::<Result<_, _>>()?;
    drop(stmt);
    for (id, origin, state, body, at) in carts {
        let digest = in_progress::row_digest(&origin, &state, &body, &at);
        entry(in_progress::SAVED, vec![("id", id.to_string()), ("state", state), ("sha256", digest)])?;
    }
    Ok(())
}

pub(crate) fn day_open_canonical(header: &EntryHeader, business_date: &str, float_minor: i64) -> Vec<u8> {
    let mut c = Canon::new(header);
    c.field("business_date", business_date).field("float", float_minor);
    c.into_bytes()
}

fn open_day_in(
    tx: &Transaction<'_>,
    register: &str,
    float: Money,
    business_date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Day, LedgerError> {
    let day_no: i64 = tx.query_row("SELECT COALESCE(MAX(day_no), 0) + 1 FROM business_days", [], |r| r.get(0))?;
    let date = business_date.format("%Y-%m-%d").to_string();
    let (seq, _) = append_in(tx, register, "day_open", Some(day_no), now, Content::InRows, |h| {
        day_open_canonical(h, &date, float.minor())
    })?;
    tx.execute(
        "INSERT INTO business_days(day_no, business_date, opened_seq, float_minor) VALUES (?1, ?2, ?3, ?4)",
        params![day_no, date, seq, float.minor()],
    )?;
    Ok(Day { day_no, business_date, float })
}

fn current_day_of(conn: &Connection, currency: Currency) -> Result<Option<Day>, LedgerError> {
    // A day is open until a day_close entry names it (posted by the Z report).
    let row: Option<(i64, String, i64)> = conn
        .prepare_cached(
            "SELECT day_no, business_date, float_minor FROM business_days d \
             WHERE NOT EXISTS (SELECT 1 FROM journal j WHERE j.kind = 'day_close' AND j.day_no = d.day_no) \
             ORDER BY day_no DESC LIMIT 1",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    match row {
        None => Ok(None),
        Some((day_no, date, float)) => Ok(Some(Day {
            day_no,
            business_date: NaiveDate::parse_from_str(&date, "%Y-%m-%d")
                .map_err(|_| LedgerError::Corrupt(format!("day {day_no}: bad date {date}")))?,
            float: Money::from_minor(float, currency).map_err(|e| LedgerError::Corrupt(e.to_string()))?,
        })),
    }
}

fn qty_milli(q: Decimal) -> i64 {
    (q * Decimal::from(1000)).to_i64().unwrap_or(0)
}

/// The record of a paid sale, exactly as it will be stored.
fn sale_record(sale: &Sale, receipt_no: i64, day_no: i64, ctx: &PostContext, now: DateTime<Utc>) -> SaleRecord {
    let totals = sale.totals();
    let lines = sale
        .lines()
        .iter()
        .zip(&totals.lines)
        .enumerate()
        .map(|(i, (l, t))| LineRecord {
            line_no: i as i64 + 1,
            sku: l.sku.clone(),
            name_zh: l.name_zh.clone(),
            name_en: l.name_en.clone(),
            qty_milli: qty_milli(l.quantity),
            unit_price: l.unit_price.minor(),
            sold_by: l.sold_by.as_str().to_string(),
            tax_class: l.tax_class.clone(),
            tax_rate: l.tax_rate.normalize().to_string(),
            gross: t.gross.minor(),
            line_discount: t.line_discount.minor(),
            sale_discount: t.sale_discount.minor(),
            amount: t.amount.minor(),
            tax: t.tax.minor(),
            price_overridden: l.price_overridden,
            refund_of_receipt: l.refund_of.map(|r| r.receipt_no),
            refund_of_line: l.refund_of.map(|r| i64::from(r.line_no)),
        })
        .collect();
    let payments = sale
        .tenders()
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut p = PaymentRecord {
                tender_no: i as i64 + 1,
                kind: t.kind.code().to_string(),
                amount: t.amount.minor(),
                given: t.given.minor(),
                change: t.change.minor(),
                ..Default::default()
            };
            match &t.kind {
                TenderKind::Cash => {}
                TenderKind::External { reference, .. } => p.reference = Some(reference.clone()),
                TenderKind::Card(c) => {
                    p.masked_pan = Some(c.masked_pan.clone());
                    p.card_name = Some(c.card_name.clone());
                    p.card_receipt = Some(i64::from(c.receipt_no));
                    p.card_trace = Some(i64::from(c.trace));
                    p.terminal_id = Some(c.terminal_id.clone());
                    p.aid = Some(c.aid.clone());
                }
            }
            p
        })
        .collect();
    SaleRecord {
        receipt_no,
        day_no,
        kind: match sale.kind() {
            SaleKind::Sale => "sale",
            SaleKind::Refund => "refund",
        }
        .into(),
        refund_of: sale.refund_of(),
        currency: sale.currency().code.into(),
        prices_include_tax: sale.settings().prices_include_tax,
        gross: totals.gross.minor(),
        discount: totals.discount.minor(),
        tax: totals.tax.minor(),
        total: totals.total.minor(),
        rounding: sale.rounding().minor(),
        cashier: ctx.cashier.clone(),
        training: ctx.training,
        completed_at: rfc3339(now),
        lines,
        payments,
    }
}

fn insert_sale(tx: &Transaction<'_>, seq: i64, s: &SaleRecord) -> Result<(), LedgerError> {
    tx.prepare_cached(
        "INSERT INTO sales(seq, receipt_no, day_no, kind, refund_of, currency, prices_include_tax, gross_minor, \
         discount_minor, tax_minor, total_minor, rounding_minor, cashier, training, completed_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?
    .execute(params![
        seq,
        s.receipt_no,
        s.day_no,
        s.kind,
        s.refund_of,
        s.currency,
        s.prices_include_tax,
        s.gross,
        s.discount,
        s.tax,
        s.total,
        s.rounding,
        s.cashier,
        s.training,
        s.completed_at
    ])?;
    let mut line_stmt = tx.prepare_cached(
        "INSERT INTO sale_lines(seq, line_no, sku, name_zh, name_en, qty_milli, unit_price_minor, sold_by, tax_class, \
         tax_rate, gross_minor, line_discount_minor, sale_discount_minor, amount_minor, tax_minor, price_overridden, \
         refund_of_receipt, refund_of_line) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    )?;
    for l in &s.lines {
        line_stmt.execute(params![
            seq,
            l.line_no,
            l.sku,
            l.name_zh,
            l.name_en,
            l.qty_milli,
            l.unit_price,
            l.sold_by,
            l.tax_class,
            l.tax_rate,
            l.gross,
            l.line_discount,
            l.sale_discount,
            l.amount,
            l.tax,
            l.price_overridden,
            l.refund_of_receipt,
            l.refund_of_line
        ])?;
    }
    let mut pay_stmt = tx.prepare_cached(
        "INSERT INTO payments(seq, tender_no, kind, amount_minor, given_minor, change_minor, reference, masked_pan, \
         card_name, card_receipt, card_trace, terminal_id, aid) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    for p in &s.payments {
        pay_stmt.execute(params![
            seq,
            p.tender_no,
            p.kind,
            p.amount,
            p.given,
            p.change,
            p.reference,
            p.masked_pan,
            p.card_name,
            p.card_receipt,
            p.card_trace,
            p.terminal_id,
            p.aid
        ])?;
    }
    Ok(())
}

/// What a posted sale was paid with: (card, cash) in minor units.
fn paid_by_tender_in(conn: &Connection, receipt_no: i64) -> Result<(i64, i64, i64), LedgerError> {
    Ok(conn.query_row(
        "SELECT COALESCE(SUM(CASE WHEN p.kind = 'card' THEN p.amount_minor END), 0), \
                COALESCE(SUM(CASE WHEN p.kind = 'cash' THEN p.amount_minor END), 0), \
                COALESCE(SUM(CASE WHEN p.kind NOT IN ('card', 'cash') THEN p.amount_minor END), 0) \
         FROM payments p JOIN sales s ON s.seq = p.seq WHERE s.receipt_no = ?1 AND s.kind = 'sale'",
        [receipt_no],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?)
}

/// What earlier refunds of a sale paid back: (card, cash, other), positive minor units.
fn refunded_by_tender_in(conn: &Connection, receipt_no: i64) -> Result<(i64, i64, i64), LedgerError> {
    Ok(conn.query_row(
        "SELECT COALESCE(-SUM(CASE WHEN p.kind = 'card' THEN p.amount_minor END), 0), \
                COALESCE(-SUM(CASE WHEN p.kind = 'cash' THEN p.amount_minor END), 0), \
                COALESCE(-SUM(CASE WHEN p.kind NOT IN ('card', 'cash') THEN p.amount_minor END), 0) \
         FROM payments p JOIN sales s ON s.seq = p.seq \
         WHERE s.kind = 'refund' AND s.seq IN \
           (SELECT DISTINCT seq FROM sale_lines WHERE refund_of_receipt = ?1)",
        [receipt_no],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?)
}

fn original_sale_in(conn: &Connection, receipt_no: i64, currency: Currency) -> Result<OriginalSale, LedgerError> {
    let seq: i64 = conn
        .query_row("SELECT seq FROM sales WHERE receipt_no = ?1 AND kind = 'sale'", [receipt_no], |r| r.get(0))
        .optional()?
        .ok_or(LedgerError::UnknownReceipt(receipt_no))?;
    let mut stmt = conn.prepare_cached(
        "SELECT l.line_no, l.sku, l.name_zh, l.name_en, l.qty_milli, l.unit_price_minor, l.amount_minor, \
                l.tax_class, l.tax_rate, l.sold_by, \
                COALESCE((SELECT -SUM(r.qty_milli) FROM sale_lines r \
                          WHERE r.refund_of_receipt = ?2 AND r.refund_of_line = l.line_no), 0), \
                COALESCE((SELECT -SUM(r.amount_minor) FROM sale_lines r \
                          WHERE r.refund_of_receipt = ?2 AND r.refund_of_line = l.line_no), 0) \
         FROM sale_lines l WHERE l.seq = ?1 ORDER BY l.line_no",
    )?;
    let corrupt = |e: crate::money::MoneyError| LedgerError::Corrupt(e.to_string());
    let rows = stmt.query_map(params![seq, receipt_no], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, i64>(5)?,
            r.get::<_, i64>(6)?,
            r.get::<_, String>(7)?,
            r.get::<_, String>(8)?,
            r.get::<_, String>(9)?,
            r.get::<_, i64>(10)?,
            r.get::<_, i64>(11)?,
        ))
    })?;
    let mut lines = Vec::new();
    for row in rows {
        let (line_no, sku, name_zh, name_en, qty, price, amount, class, rate, sold_by, rq, ra) = row?;
        lines.push(OriginalLine {
            line_no: line_no as u32,
            sku,
            name_zh,
            name_en,
            quantity: Decimal::new(qty, 3).normalize(),
            unit_price: Money::from_minor(price, currency).map_err(corrupt)?,
            amount: Money::from_minor(amount, currency).map_err(corrupt)?,
            tax_class: class,
            tax_rate: rate.parse().map_err(|_| LedgerError::Corrupt(format!("bad tax rate {rate}")))?,
            sold_by: crate::catalog::SoldBy::parse(&sold_by)
                .ok_or_else(|| LedgerError::Corrupt(format!("bad sold_by {sold_by}")))?,
            refunded_quantity: Decimal::new(rq, 3).normalize(),
            refunded_amount: Money::from_minor(ra, currency).map_err(corrupt)?,
        });
    }
    Ok(OriginalSale { receipt_no, lines })
}

/// Inside the posting transaction: the refund still fits in what the original has left.
fn check_refund_in(tx: &Transaction<'_>, sale: &Sale, currency: Currency, training: bool) -> Result<(), LedgerError> {
    let receipt = sale.refund_of().ok_or(SaleError::NotARefundLine)?;
    // Training never touches the store's books: a training receipt is refunded in training only.
    let original_training: Option<bool> =
        tx.query_row("SELECT training FROM sales WHERE receipt_no = ?1", [receipt], |r| r.get(0)).optional()?;
    if original_training.is_some_and(|t| t != training) {
        return Err(LedgerError::TrainingMismatch(receipt));
    }
    let original = original_sale_in(tx, receipt, currency)?;
    // Refunds follow the money: back to cards at most what cards paid, and back by scan code or
    // voucher at most what those paid, net of earlier refunds.
    let (card_paid, _, other_paid) = paid_by_tender_in(tx, receipt)?;
    let (card_refunded, _, other_refunded) = refunded_by_tender_in(tx, receipt)?;
    let asked: i64 =
        sale.tenders().iter().filter(|t| matches!(t.kind, TenderKind::Card(_))).map(|t| -t.amount.minor()).sum();
    if asked > card_paid - card_refunded {
        return Err(LedgerError::CardRefundExceedsPaid {
            asked: Money::of_minor(asked, currency),
            left: Money::of_minor(card_paid - card_refunded, currency),
        });
    }
    let asked: i64 = sale
        .tenders()
        .iter()
        .filter(|t| matches!(t.kind, TenderKind::External { .. }))
        .map(|t| -t.amount.minor())
        .sum();
    if asked > other_paid - other_refunded {
        return Err(LedgerError::OtherRefundExceedsPaid {
            asked: Money::of_minor(asked, currency),
            left: Money::of_minor(other_paid - other_refunded, currency),
        });
    }
    for line in sale.lines() {
        let r = line.refund_of.ok_or(SaleError::NotARefundLine)?;
        let o = original.lines.iter().find(|o| o.line_no == r.line_no).ok_or(SaleError::NotARefundLine)?;
        let asked: Decimal = sale
            .lines()
            .iter()
            .filter(|l| l.refund_of.is_some_and(|x| x.line_no == r.line_no))
            .map(|l| -l.quantity)
            .sum();
        let left = o.quantity - o.refunded_quantity;
        if asked > left {
            return Err(SaleError::RefundExceedsOriginal { line_no: r.line_no, asked, left }.into());
        }
    }
    Ok(())
}
