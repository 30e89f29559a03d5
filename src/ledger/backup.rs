//! Backups of the ledger: an online, consistent copy (`VACUUM INTO` reads one snapshot while the
//! till keeps posting) with its own witness, checked by `verify` before it counts; and the restore
//! that takes only a copy that verifies and never overwrites a ledger without backing it up first.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Local, Utc};

use super::{Ledger, LedgerError, head_of, open_witness, witness_path, witness_record};

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
        }
    }
}

/// The file name of a backup taken at `now`.
pub fn backup_name(now: DateTime<Utc>) -> String {
    format!("ledger-{}.db", now.with_timezone(&Local).format("%Y%m%d-%H%M%S"))
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
            fs::create_dir_all(dir).map_err(|e| BackupError::Io(dir.to_path_buf(), e))?;
        }
        let text =
            target.to_str().ok_or_else(|| BackupError::Io(target.to_path_buf(), std::io::Error::other("not UTF-8")))?;
        self.conn.execute("VACUUM INTO ?1", [text]).map_err(LedgerError::from)?;
        write_witness_for(target)?;
        verify_file(target)
    }
}

/// A backup into `dir` named by the time; keeps the newest `keep` backups there.
pub fn backup_into(ledger: &Ledger, dir: &Path, keep: usize, now: DateTime<Utc>) -> Result<PathBuf, BackupError> {
    let target = dir.join(backup_name(now));
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

/// Puts the backup `from` in place of the ledger at `db`: only a backup that verifies, and only
/// after the current ledger (if any) was itself backed up into `safety_dir`. The till must not be
/// running on `db`. Returns the safety copy's path.
pub fn restore(from: &Path, db: &Path, safety_dir: &Path, now: DateTime<Utc>) -> Result<Option<PathBuf>, BackupError> {
    verify_file(from)?;
    let safety = if db.exists() {
        let current = Ledger::open_read_only(db)?;
        let copy = safety_dir.join(format!("before-restore-{}", backup_name(now)));
        current.backup_to(&copy)?;
        Some(copy)
    } else {
        None
    };
    let staged = db.with_extension("db.restoring");
    let _ = fs::remove_file(&staged);
    fs::copy(from, &staged).map_err(|e| BackupError::Io(staged.clone(), e))?;
    for side in ["db-wal", "db-shm"] {
        let _ = fs::remove_file(db.with_extension(side));
    }
    fs::rename(&staged, db).map_err(|e| BackupError::Io(db.to_path_buf(), e))?;
    write_witness_for(db)?;
    verify_file(db)?;
    Ok(safety)
}
