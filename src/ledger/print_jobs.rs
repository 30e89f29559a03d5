//! Print jobs kept in the ledger: a receipt that could not print is not lost; the cashier sees it
//! and prints it again after fixing the printer. The sale itself never waits for the printer.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::records::{Canon, hex};
use super::{Content, Ledger, LedgerError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintJob {
    pub job_id: i64,
    /// `receipt`, `refund`, `copy`, `report`, `test_page`…
    pub kind: String,
    pub receipt_no: Option<i64>,
    pub bytes: Vec<u8>,
    /// The last attempt's outcome and reason, if it was tried.
    pub last: Option<(String, String)>,
    /// Some attempt was sent and stopped part-way (paper out mid-job): part of it is on paper.
    pub cut_short: bool,
    /// The last attempt cut short left its rest in the printer, which prints it after a reload
    /// (its reason is `printer.rest_kept`).
    pub rest_kept: bool,
}

fn job_canon(c: &mut Canon, kind: &str, receipt_no: Option<i64>, bytes: &[u8]) {
    c.field("job_kind", kind)
        .opt("receipt", receipt_no)
        .field("size", bytes.len())
        .field("sha256", hex(&Sha256::digest(bytes)));
}

fn result_canon(c: &mut Canon, job_id: i64, outcome: &str, reason: &str) {
    c.field("job", job_id).field("outcome", outcome).field("reason", reason);
}

/// A print job's or print result's canonical bytes rendered back from its row (empty without
/// one), for `verify`.
pub(super) fn render_from_row(
    conn: &rusqlite::Connection,
    header: &super::records::EntryHeader,
) -> Result<Option<Vec<u8>>, LedgerError> {
    let mut c = Canon::new(header);
    let found = if header.kind == "print_job" {
        conn.query_row("SELECT kind, receipt_no, bytes FROM print_jobs WHERE job_id = ?1", [header.seq], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?, r.get::<_, Vec<u8>>(2)?))
        })
        .optional()?
        .map(|(kind, receipt, bytes)| job_canon(&mut c, &kind, receipt, &bytes))
    } else {
        conn.query_row("SELECT job_id, outcome, reason FROM print_results WHERE seq = ?1", [header.seq], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        })
        .optional()?
        .map(|(job, outcome, reason)| result_canon(&mut c, job, &outcome, &reason))
    };
    Ok(Some(if found.is_some() { c.into_bytes() } else { Vec::new() }))
}

impl Ledger {
    /// Keeps a job's bytes before they go to the printer.
    pub fn queue_print_job(
        &mut self,
        kind: &str,
        receipt_no: Option<i64>,
        bytes: &[u8],
        now: DateTime<Utc>,
    ) -> Result<i64, LedgerError> {
        let payload = |h: &super::records::EntryHeader| {
            let mut c = Canon::new(h);
            job_canon(&mut c, kind, receipt_no, bytes);
            c.into_bytes()
        };
        let rows = |tx: &rusqlite::Transaction<'_>, seq: i64| {
            tx.prepare_cached("INSERT INTO print_jobs(job_id, kind, receipt_no, bytes) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![seq, kind, receipt_no, bytes])?;
            Ok(())
        };
        let (seq, ()) = self.post_entry("print_job", Content::InPayload, now, |_| Ok(()), payload, rows)?;
        Ok(seq)
    }

    /// Records how an attempt to print a job went.
    pub fn record_print_result(
        &mut self,
        job_id: i64,
        outcome: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, LedgerError> {
        if !["printed", "refused", "incomplete"].contains(&outcome) {
            return Err(LedgerError::Corrupt(format!("unknown print outcome {outcome}")));
        }
        let payload = |h: &super::records::EntryHeader| {
            let mut c = Canon::new(h);
            result_canon(&mut c, job_id, outcome, reason);
            c.into_bytes()
        };
        let rows = |tx: &rusqlite::Transaction<'_>, seq: i64| {
            tx.prepare_cached("INSERT INTO print_results(seq, job_id, outcome, reason) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![seq, job_id, outcome, reason])?;
            Ok(())
        };
        let (seq, ()) = self.post_entry("print_result", Content::InPayload, now, |_| Ok(()), payload, rows)?;
        Ok(seq)
    }

    /// Jobs not printed yet (never tried, refused, or not fully printed), oldest first.
    pub fn pending_print_jobs(&self) -> Result<Vec<PrintJob>, LedgerError> {
        let mut stmt = self.conn.prepare(
            "SELECT j.job_id, j.kind, j.receipt_no, j.bytes, \
                    (SELECT r.outcome FROM print_results r WHERE r.job_id = j.job_id ORDER BY r.seq DESC LIMIT 1), \
                    (SELECT r.reason FROM print_results r WHERE r.job_id = j.job_id ORDER BY r.seq DESC LIMIT 1), \
                    EXISTS (SELECT 1 FROM print_results r WHERE r.job_id = j.job_id AND r.outcome = 'incomplete'), \
                    (SELECT r.reason FROM print_results r WHERE r.job_id = j.job_id AND r.outcome = 'incomplete' \
                     ORDER BY r.seq DESC LIMIT 1) \
             FROM print_jobs j ORDER BY j.job_id",
        )?;
        let rows = stmt.query_map([], |r| {
            let outcome: Option<String> = r.get(4)?;
            let reason: Option<String> = r.get(5)?;
            Ok(PrintJob {
                job_id: r.get(0)?,
                kind: r.get(1)?,
                receipt_no: r.get(2)?,
                bytes: r.get(3)?,
                last: outcome.map(|o| (o, reason.unwrap_or_default())),
                cut_short: r.get(6)?,
                rest_kept: r.get::<_, Option<String>>(7)?.as_deref() == Some("printer.rest_kept"),
            })
        })?;
        let mut jobs = Vec::new();
        for job in rows {
            let job = job?;
            if job.last.as_ref().is_none_or(|(o, _)| o != "printed") {
                jobs.push(job);
            }
        }
        Ok(jobs)
    }

    /// A job's bytes as kept (a reprint sends them again).
    pub fn print_job(&self, job_id: i64) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self.conn.query_row("SELECT bytes FROM print_jobs WHERE job_id = ?1", [job_id], |r| r.get(0)).optional()?)
    }
}
