//! The till's log: one file a day under `DATA_DIR/logs` (`till-YYYY-MM-DD.log`), the newest 30
//! kept. Each line is an event in words with its time. It never holds card data or PINs: callers
//! log outcomes and codes, never a card number (masked or not); `tests/counter_ui.rs` checks it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use chrono::{DateTime, Local};

/// How many daily files are kept.
pub const KEPT: usize = 30;

static DIR: OnceLock<PathBuf> = OnceLock::new();
static WRITING: Mutex<()> = Mutex::new(());

/// Logs go under `data_dir/logs` from now on (the first call wins).
pub fn init(data_dir: &Path) {
    let _ = DIR.set(data_dir.join("logs"));
}

/// Writes one event to today's file (and prunes files older than the newest [`KEPT`]).
pub fn event(text: &str) {
    if let Some(dir) = DIR.get() {
        // A log that cannot be written must not stop the counter.
        let _ = write_in(dir, Local::now(), text);
    }
}

/// The file of a day.
pub fn file_of(dir: &Path, at: DateTime<Local>) -> PathBuf {
    dir.join(format!("till-{}.log", at.format("%Y-%m-%d")))
}

pub fn write_in(dir: &Path, at: DateTime<Local>, text: &str) -> std::io::Result<()> {
    let _guard = WRITING.lock().unwrap_or_else(|p| p.into_inner());
    crate::config::create_private_dir(dir)?;
    let path = file_of(dir, at);
    let new = !path.exists();
    let mut f = crate::config::open_private(&path, false, true)?;
    writeln!(f, "{} {}", at.format("%H:%M:%S"), text.replace('\n', " "))?;
    if new {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("till-") && n.ends_with(".log"))
            })
            .collect();
        files.sort();
        while files.len() > KEPT {
            let _ = std::fs::remove_file(files.remove(0));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn one_file_a_day_and_only_the_newest_kept() {
        let dir = tempfile::tempdir().unwrap();
        for day in 1..=31 {
            let at = Local.with_ymd_and_hms(2026, 10, day, 12, 0, 0).unwrap();
            write_in(dir.path(), at, &format!("day {day}\nsecond line")).unwrap();
        }
        let files = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(files, KEPT);
        assert!(!file_of(dir.path(), Local.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap()).exists());
        let last = std::fs::read_to_string(file_of(dir.path(), Local.with_ymd_and_hms(2026, 10, 31, 0, 0, 0).unwrap()))
            .unwrap();
        assert_eq!(last, "12:00:00 day 31 second line\n");
    }
}
