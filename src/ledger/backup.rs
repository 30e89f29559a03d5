//! Backups of the ledger: an online, consistent copy (`VACUUM INTO` reads one snapshot while the
//! till keeps posting) with its own witness, checked by `verify` before it counts; and the restore
//! that takes only a copy that verifies and never overwrites a ledger without backing it up first.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Local, Utc};
use rusqlite::OptionalExtension;

use super::records::{Canon, EntryHeader, field_of};
use super::{Anchor, Content, Head, Ledger, LedgerError, head_of, open_witness, witness_path, witness_record};
use crate::auth::{Approval, Permission};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("{0} already exists")]
    Exists(PathBuf),
    #[error("{path} does not verify: {problems} problem(s)")]
    DoesNotVerify { path: PathBuf, problems: usize },
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// A restore needs an installer's approval.
    #[error("a restore needs an installer's approval")]
    NotPermitted,
    /// The backup is older than the ledger it would replace: entries and receipts would be lost.
    #[error("the backup is older than the ledger: {entries} entries and {receipts} receipts would be lost")]
    Older { entries: i64, receipts: i64 },
    /// The ledger to be replaced does not verify: replaced only when `--older` says so.
    #[error("the ledger to be replaced does not verify ({problems} problems)")]
    ReplacedUnsound { problems: usize },
}

impl BackupError {
    pub fn localized(&self, locale: &str) -> String {
        use rust_i18n::t;
        match self {
            BackupError::Ledger(e) => e.localized(locale),
            BackupError::Exists(p) => t!("backup.exists", locale = locale, file = p.display()).into_owned(),
            BackupError::DoesNotVerify { path, problems } => {
                t!("backup.does_not_verify", locale = locale, file = path.display(), problems = problems).into_owned()
            }
            BackupError::Io(p, e) => {
                t!("backup.io", locale = locale, file = p.display(), detail = e.to_string()).into_owned()
            }
            BackupError::NotPermitted => t!("backup.not_permitted", locale = locale).into_owned(),
            BackupError::Older { entries, receipts } => {
                t!("backup.older", locale = locale, entries = entries, receipts = receipts).into_owned()
            }
            BackupError::ReplacedUnsound { problems } => {
                t!("backup.replaced_unsound_refused", locale = locale, problems = problems).into_owned()
            }
        }
    }
}

/// The file name of a backup taken at `now`.
pub fn backup_name(now: DateTime<Utc>) -> String {
    format!("ledger-{}.db", now.with_timezone(&Local).format("%Y%m%d-%H%M%S"))
}

/// A backup's name with its head's anchor in it (`ledger-20261207-101500-1234-0123456789abcdef.db`):
/// the anchor leaves the machine with the copy, and `till ledger anchors` finds it again.
pub fn anchored_name(now: DateTime<Utc>, head: Option<Head>) -> String {
    match head {
        Some(h) => {
            let a = h.anchor();
            format!("ledger-{}-{}-{}.db", now.with_timezone(&Local).format("%Y%m%d-%H%M%S"), a.seq, a.prefix_hex())
        }
        None => backup_name(now),
    }
}

/// The anchor in a backup's file name, if it has one.
pub fn anchor_in_name(name: &str) -> Option<Anchor> {
    let stem = name.strip_prefix("ledger-")?.strip_suffix(".db")?;
    let mut parts = stem.rsplitn(3, '-');
    let hash = parts.next()?;
    let seq = parts.next()?;
    Anchor::parse(&format!("{seq}:{hash}"))
}

/// What a restore would do, said before it is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestorePlan {
    /// The backup's newest entry.
    pub backup_head: Option<Head>,
    /// Entries and receipts of the current ledger the backup does not have.
    pub entries_lost: i64,
    pub receipts_lost: i64,
    /// The highest receipt and Z numbers ever printed (by the current ledger, the backup, and
    /// what earlier restores recorded): numbering goes on after them.
    pub receipt_floor: i64,
    pub z_floor: i64,
    /// The problems `verify` finds in the ledger to be replaced (0: it is sound, or there is none).
    pub replaced_problems: usize,
}

/// The last seq at which two ledgers hold the same entry (the same hash): 0 when none. Chains
/// link, so once they part they stay apart; found by halving.
fn common_head(a: &rusqlite::Connection, b: &rusqlite::Connection) -> Result<i64, LedgerError> {
    let hash = |c: &rusqlite::Connection, seq: i64| -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(c.query_row("SELECT hash FROM journal WHERE seq = ?1", [seq], |r| r.get(0)).optional()?)
    };
    let top = |c: &rusqlite::Connection| -> Result<i64, LedgerError> {
        Ok(c.query_row("SELECT COALESCE(MAX(seq), 0) FROM journal", [], |r| r.get(0))?)
    };
    let same = |seq: i64| -> Result<bool, LedgerError> {
        Ok(matches!((hash(a, seq)?, hash(b, seq)?), (Some(x), Some(y)) if x == y))
    };
    let (mut low, mut high) = (0, top(a)?.min(top(b)?));
    if high == 0 || same(high)? {
        return Ok(high);
    }
    // Invariant: `low` is shared (or 0), `high` is not.
    while high - low > 1 {
        let mid = low + (high - low) / 2;
        if same(mid)? { low = mid } else { high = mid }
    }
    Ok(low)
}

/// Says what restoring `from` in place of the ledger at `db` would lose. `known` is the highest
/// receipt and Z numbers known elsewhere (the head office's; (0, 0) when none): numbering goes on
/// above them too.
pub fn plan_restore(from: &Path, db: &Path, known: (i64, i64)) -> Result<RestorePlan, BackupError> {
    verify_file(from)?;
    let backup = Ledger::open_read_only(from)?;
    let backup_head = backup.head()?;
    let (backup_receipts, backup_z) = numbers_up_to(&backup.conn, i64::MAX)?;
    let mut plan = RestorePlan {
        backup_head,
        entries_lost: 0,
        receipts_lost: 0,
        receipt_floor: backup_receipts.max(known.0),
        z_floor: backup_z.max(known.1),
        replaced_problems: 0,
    };
    if db.exists() && beside_current(&backup, db, &mut plan).is_err() {
        // A ledger too damaged to be read is replaced as one that does not verify.
        plan.replaced_problems = plan.replaced_problems.max(1);
    }
    Ok(plan)
}

/// What the current ledger at `db` adds to the plan of restoring `backup` over it.
fn beside_current(backup: &Ledger, db: &Path, plan: &mut RestorePlan) -> Result<(), LedgerError> {
    let current = Ledger::open_read_only(db)?;
    if !current.initialized {
        return Ok(());
    }
    plan.replaced_problems = current.verify()?.problems.len();
    let head = current.head()?.map_or(0, |h| h.seq);
    let (receipts, z) = numbers_up_to(&current.conn, i64::MAX)?;
    // What the current chain has beyond the last entry both share: a backup of this chain shares
    // all of its own; one of another history (restored before, or another till's) shares less,
    // and all the current chain holds after that is lost.
    let common = common_head(&backup.conn, &current.conn)?;
    plan.entries_lost = head - common;
    // The numbers printed are followed through the journal's entries after the shared history,
    // not read off rows a damaged ledger may have lost: each sale or refund took the next receipt
    // number, each day close the next Z, and a `restored` entry raised both to its floors. They
    // start from the shared history's, as the backup (which verifies) has them.
    let (mut receipt, mut z_no) = numbers_up_to(&backup.conn, common)?;
    let mut stmt = current.conn.prepare(
        "SELECT kind, payload FROM journal WHERE seq > ?1 AND kind IN ('sale', 'refund', 'day_close', 'restored') \
         ORDER BY seq",
    )?;
    let mut rows = stmt.query([common])?;
    while let Some(row) = rows.next()? {
        let kind: String = row.get(0)?;
        match kind.as_str() {
            "sale" | "refund" => {
                receipt += 1;
                plan.receipts_lost += 1;
            }
            "day_close" => z_no += 1,
            _ => {
                let payload: Vec<u8> = row.get(1)?;
                let floor = |key| field_of(&payload, key).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
                receipt = receipt.max(floor("receipt_floor"));
                z_no = z_no.max(floor("z_floor"));
            }
        }
    }
    plan.receipt_floor = plan.receipt_floor.max(receipts).max(receipt);
    plan.z_floor = plan.z_floor.max(z).max(z_no);
    Ok(())
}

/// The highest receipt and Z numbers a ledger printed, or learned of from restores, up to `seq`.
fn numbers_up_to(conn: &rusqlite::Connection, seq: i64) -> Result<(i64, i64), LedgerError> {
    let one = |sql: &str| -> Result<i64, LedgerError> { Ok(conn.query_row(sql, [seq], |r| r.get(0))?) };
    let mut receipts = one("SELECT COALESCE(MAX(receipt_no), 0) FROM sales WHERE seq <= ?1")?;
    let mut z = one("SELECT COALESCE(MAX(z_no), 0) FROM day_closes WHERE seq <= ?1")?;
    let has_restores = conn
        .query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'restores'", [], |_| Ok(()))
        .optional()?
        .is_some();
    if has_restores {
        receipts = receipts.max(one("SELECT COALESCE(MAX(receipt_floor), 0) FROM restores WHERE seq <= ?1")?);
        z = z.max(one("SELECT COALESCE(MAX(z_floor), 0) FROM restores WHERE seq <= ?1")?);
    }
    Ok((receipts, z))
}

/// A `restored` entry's canonical fields: one rendering for posting and for `verify`.
fn restored_canon(c: &mut Canon, row: &RestoredRow) {
    c.field("backup", &row.backup)
        .field("backup_anchor", &row.backup_anchor)
        .field("approved_by", &row.approved_by)
        .field("entries_lost", row.entries_lost)
        .field("receipts_lost", row.receipts_lost)
        .field("receipt_floor", row.receipt_floor)
        .field("z_floor", row.z_floor);
}

struct RestoredRow {
    backup: String,
    backup_anchor: String,
    approved_by: String,
    entries_lost: i64,
    receipts_lost: i64,
    receipt_floor: i64,
    z_floor: i64,
}

/// A `restored` entry's canonical bytes rendered back from its row (empty without one).
pub(super) fn render_from_row(
    conn: &rusqlite::Connection,
    header: &EntryHeader,
) -> Result<Option<Vec<u8>>, LedgerError> {
    let row = conn
        .query_row(
            "SELECT backup, backup_anchor, approved_by, entries_lost, receipts_lost, receipt_floor, z_floor \
             FROM restores WHERE seq = ?1",
            [header.seq],
            |r| {
                Ok(RestoredRow {
                    backup: r.get(0)?,
                    backup_anchor: r.get(1)?,
                    approved_by: r.get(2)?,
                    entries_lost: r.get(3)?,
                    receipts_lost: r.get(4)?,
                    receipt_floor: r.get(5)?,
                    z_floor: r.get(6)?,
                })
            },
        )
        .optional()?;
    Ok(Some(match row {
        Some(row) => {
            let mut c = Canon::new(header);
            restored_canon(&mut c, &row);
            c.into_bytes()
        }
        None => Vec::new(),
    }))
}

fn write_witness_for(db: &Path) -> Result<(), BackupError> {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(LedgerError::from)?;
    if let Some(head) = head_of(&conn)? {
        let path = witness_path(db);
        let file = open_witness(&path).map_err(|e| BackupError::Io(path.clone(), e))?;
        use std::os::unix::fs::FileExt;
        file.write_all_at(witness_record(head).as_bytes(), 0).map_err(|e| BackupError::Io(path, e))?;
    }
    Ok(())
}

fn verify_file(path: &Path) -> Result<(), BackupError> {
    let report = Ledger::open_read_only(path)?.verify()?;
    if report.is_sound() {
        Ok(())
    } else {
        Err(BackupError::DoesNotVerify { path: path.to_path_buf(), problems: report.problems.len() })
    }
}

impl Ledger {
    /// Copies the ledger, as one consistent snapshot, to `target` (which must not exist yet), with
    /// a witness beside it, and checks the copy verifies.
    pub fn backup_to(&self, target: &Path) -> Result<(), BackupError> {
        if target.exists() {
            return Err(BackupError::Exists(target.to_path_buf()));
        }
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::config::create_private_dir(dir).map_err(|e| BackupError::Io(dir.to_path_buf(), e))?;
        }
        let text =
            target.to_str().ok_or_else(|| BackupError::Io(target.to_path_buf(), std::io::Error::other("not UTF-8")))?;
        self.conn.execute("VACUUM INTO ?1", [text]).map_err(LedgerError::from)?;
        // VACUUM INTO creates the file with the process's umask: the copy is the till's alone.
        super::make_private(target).map_err(|e| BackupError::Io(target.to_path_buf(), e))?;
        write_witness_for(target)?;
        verify_file(target)
    }
}

/// A ledger that does not verify, copied as it is — its database, write-ahead log and witness,
/// byte for byte: the copy is the evidence of what happened to it, so nothing in it is rewritten
/// (a new witness would hide entries cut off its end) or dropped.
fn copy_as_is(db: &Path, target: &Path) -> Result<(), BackupError> {
    if target.exists() {
        return Err(BackupError::Exists(target.to_path_buf()));
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::config::create_private_dir(dir).map_err(|e| BackupError::Io(dir.to_path_buf(), e))?;
    }
    let wal = |p: &Path| {
        let mut name = p.as_os_str().to_owned();
        name.push("-wal");
        PathBuf::from(name)
    };
    for (from, to) in
        [(db.to_path_buf(), target.to_path_buf()), (wal(db), wal(target)), (witness_path(db), witness_path(target))]
    {
        if from.exists() {
            fs::copy(&from, &to).map_err(|e| BackupError::Io(to.clone(), e))?;
            super::make_private(&to).map_err(|e| BackupError::Io(to.clone(), e))?;
        }
    }
    Ok(())
}

/// The ledger a restore replaced: where its copy is, and how many problems its verification
/// found (0: it was sound).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaced {
    pub copy: PathBuf,
    pub problems: usize,
}

/// A backup into `dir` named by the time; keeps the newest `keep` backups there.
pub fn backup_into(ledger: &Ledger, dir: &Path, keep: usize, now: DateTime<Utc>) -> Result<PathBuf, BackupError> {
    let target = dir.join(anchored_name(now, ledger.head()?));
    ledger.backup_to(&target)?;
    let mut kept: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| BackupError::Io(dir.to_path_buf(), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("ledger-") && n.ends_with(".db"))
        })
        .collect();
    kept.sort();
    while kept.len() > keep.max(1) {
        let old = kept.remove(0);
        // A backup that cannot be removed is kept: too many backups harm nothing.
        let _ = fs::remove_file(witness_path(&old));
        let _ = fs::remove_file(&old);
    }
    Ok(target)
}

/// Puts the backup `from` in place of the ledger at `db`: only a backup that verifies, only with
/// an installer's approval, only a backup as new as the ledger unless `older` says so (the plan
/// says what is lost), and only after the current ledger (if any) was itself backed up into
/// `safety_dir`. Then a `restored` entry is posted in the restored ledger: from which backup, by
/// whom, what was lost, and the receipt and Z numbers printed before, after which numbering goes
/// on. The till must not be running on `db`. Returns the ledger replaced (its copy) and the plan.
pub fn restore(
    from: &Path,
    db: &Path,
    safety_dir: &Path,
    approval: &Approval,
    older: bool,
    known: (i64, i64),
    now: DateTime<Utc>,
) -> Result<(Option<Replaced>, RestorePlan), BackupError> {
    if !approval.covers(Permission::Settings) {
        return Err(BackupError::NotPermitted);
    }
    let plan = plan_restore(from, db, known)?;
    if plan.replaced_problems > 0 && !older {
        return Err(BackupError::ReplacedUnsound { problems: plan.replaced_problems });
    }
    if plan.entries_lost > 0 && !older {
        return Err(BackupError::Older { entries: plan.entries_lost, receipts: plan.receipts_lost });
    }
    let safety = if db.exists() {
        let name = |head| safety_dir.join(format!("before-restore-{}", anchored_name(now, head)));
        // A damaged ledger is when a backup is restored: it is kept as it is, as evidence.
        let copy = if plan.replaced_problems > 0 {
            let copy = name(Ledger::open_read_only(db).and_then(|l| l.head()).ok().flatten());
            copy_as_is(db, &copy)?;
            copy
        } else {
            let current = Ledger::open_read_only(db)?;
            let copy = name(current.head()?);
            current.backup_to(&copy)?;
            copy
        };
        Some(Replaced { copy, problems: plan.replaced_problems })
    } else {
        None
    };
    // The copy gets its `restored` entry before it takes the ledger's place: a crash on the way
    // leaves the old ledger, or the restored one with its numbering floor — never one without.
    let staged = db.with_extension("db.restoring");
    // What an earlier attempt left (its log would be replayed onto the new copy) goes first.
    for leftover in [
        staged.clone(),
        witness_path(&staged),
        db.with_extension("db.restoring-wal"),
        db.with_extension("db.restoring-shm"),
    ] {
        let _ = fs::remove_file(leftover);
    }
    fs::copy(from, &staged).map_err(|e| BackupError::Io(staged.clone(), e))?;
    super::make_private(&staged).map_err(|e| BackupError::Io(staged.clone(), e))?;
    let (register, currency) = {
        let restored = Ledger::open_read_only(&staged)?;
        (restored.register().to_string(), restored.currency())
    };
    let mut ledger = Ledger::open(&staged, &register, currency)?;
    let row = RestoredRow {
        backup: from.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        backup_anchor: plan.backup_head.map_or_else(|| "-".to_string(), |h| h.anchor().to_string()),
        approved_by: approval.by().to_string(),
        entries_lost: plan.entries_lost,
        receipts_lost: plan.receipts_lost,
        receipt_floor: plan.receipt_floor,
        z_floor: plan.z_floor,
    };
    let payload = |h: &EntryHeader| {
        let mut c = Canon::new(h);
        restored_canon(&mut c, &row);
        c.into_bytes()
    };
    ledger.post_entry(
        "restored",
        Content::InPayload,
        now,
        |_| Ok(()),
        payload,
        |tx, seq| {
            tx.execute(
                "INSERT INTO restores(seq, backup, backup_anchor, approved_by, entries_lost, receipts_lost, \
             receipt_floor, z_floor) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                rusqlite::params![
                    seq,
                    row.backup,
                    row.backup_anchor,
                    row.approved_by,
                    row.entries_lost,
                    row.receipts_lost,
                    row.receipt_floor,
                    row.z_floor
                ],
            )?;
            Ok(())
        },
    )?;
    // Everything in the file itself before it moves: no write-ahead log left beside it.
    ledger.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").map_err(LedgerError::from)?;
    drop(ledger);
    let _ = fs::remove_file(witness_path(&staged));
    for side in ["db-wal", "db-shm", "db.restoring-wal", "db.restoring-shm"] {
        let _ = fs::remove_file(db.with_extension(side));
    }
    fs::rename(&staged, db).map_err(|e| BackupError::Io(db.to_path_buf(), e))?;
    write_witness_for(db)?;
    verify_file(db)?;
    Ok((safety, plan))
}
