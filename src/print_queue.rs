//! Receipts to paper with the ledger in between: every job is kept before it is sent, every
//! attempt's outcome is posted, and what did not print waits to be printed again. The sale is
//! posted before any of this: it never waits for the printer.

use chrono::Utc;

use crate::config::StoreSettings;
use crate::ledger::{Ledger, LedgerError, PrintJob};
use crate::printer::driver::{JobResult, PrinterPort, print_job};
use crate::printer::escpos::{DRAWER_PULSE, encode};
use crate::printer::layout::{layout, terminal_receipt};
use crate::printer::receipt::Receipt;

#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("printer line: {0}")]
    Io(#[from] std::io::Error),
    #[error("receipt encoding: {0}")]
    Encoding(String),
}

fn outcome(result: &JobResult) -> (&'static str, String) {
    let reason = |s: &crate::printer::driver::PrinterStatus| s.problem_key().unwrap_or("").to_string();
    match result {
        JobResult::Printed { after } => {
            ("printed", if after.paper_near_end { "printer.paper_near_end".into() } else { String::new() })
        }
        JobResult::Refused { before } => ("refused", reason(before)),
        JobResult::Incomplete { after } => ("incomplete", reason(after)),
    }
}

/// Sends a kept job and posts how it went.
pub fn send(
    ledger: &mut Ledger,
    port: &mut dyn PrinterPort,
    job_id: i64,
    bytes: &[u8],
) -> Result<JobResult, PrintError> {
    let result = print_job(port, bytes)?;
    let (what, reason) = outcome(&result);
    ledger.record_print_result(job_id, what, &reason, Utc::now())?;
    Ok(result)
}

/// Prints the receipt of a posted sale (in the store's receipt language, on its paper width);
/// the drawer opens with it when cash changed hands.
pub fn print_sale(
    ledger: &mut Ledger,
    port: &mut dyn PrinterPort,
    store: &StoreSettings,
    receipt_no: i64,
    copy: bool,
) -> Result<(i64, JobResult), PrintError> {
    let record = ledger.sale_by_receipt(receipt_no)?;
    let receipt = Receipt::from_sale(&record, store, &store.receipt_locale, copy);
    // Cash changed hands: the drawer opens now, on its own command, whatever the paper does —
    // never inside the receipt's job, which a reload would print (and kick) again later.
    if !copy && record.payments.iter().any(|p| p.kind == "cash") {
        open_drawer(port)?;
    }
    let bytes = encode(&layout(&receipt, store.paper_columns)).map_err(|e| PrintError::Encoding(e.to_string()))?;
    let kind = match (copy, record.kind.as_str()) {
        (true, _) => "copy",
        (false, "refund") => "refund",
        _ => "receipt",
    };
    let job = ledger.queue_print_job(kind, Some(receipt_no), &bytes, Utc::now())?;
    let result = send(ledger, port, job, &bytes)?;
    Ok((job, result))
}

/// Prints the card slips of a sale's card payments: the terminal's own receipts (customer and
/// merchant copies, as its print lines came) where the ledger has them, else the till's own
/// merchant copy for the cardholder to sign; nothing when the sale had no card payment.
pub fn print_card_slips(
    ledger: &mut Ledger,
    port: &mut dyn PrinterPort,
    store: &StoreSettings,
    receipt_no: i64,
) -> Result<Vec<(i64, JobResult)>, PrintError> {
    let record = ledger.sale_by_receipt(receipt_no)?;
    let mut documents = Vec::new();
    for p in record.payments.iter().filter(|p| p.kind == "card") {
        if let (Some(card_receipt), Some(trace)) = (p.card_receipt, p.card_trace) {
            for lines in ledger.terminal_receipts(card_receipt, trace)? {
                documents.push(terminal_receipt(&lines, store.paper_columns));
            }
        }
    }
    if documents.is_empty() {
        let Some(receipt) = Receipt::merchant_copy(&record, store, &store.receipt_locale) else {
            return Ok(Vec::new());
        };
        documents.push(layout(&receipt, store.paper_columns));
    }
    let mut done = Vec::new();
    for document in documents {
        let bytes = encode(&document).map_err(|e| PrintError::Encoding(e.to_string()))?;
        let job = ledger.queue_print_job("merchant_copy", Some(receipt_no), &bytes, Utc::now())?;
        let result = send(ledger, port, job, &bytes)?;
        let printed = matches!(result, JobResult::Printed { .. });
        done.push((job, result));
        // The next slip waits with the rest of the pending jobs.
        if !printed {
            break;
        }
    }
    Ok(done)
}

/// Prints the terminal's own administration receipt (end-of-day, diagnosis) as it sent it.
pub fn print_terminal_receipt(
    ledger: &mut Ledger,
    port: &mut dyn PrinterPort,
    store: &StoreSettings,
    lines: &[String],
) -> Result<(i64, JobResult), PrintError> {
    let bytes =
        encode(&terminal_receipt(lines, store.paper_columns)).map_err(|e| PrintError::Encoding(e.to_string()))?;
    let job = ledger.queue_print_job("terminal_receipt", None, &bytes, Utc::now())?;
    let result = send(ledger, port, job, &bytes)?;
    Ok((job, result))
}

/// Prints again every job that did not print (after paper was loaded, the cover closed…).
pub fn retry_pending(
    ledger: &mut Ledger,
    port: &mut dyn PrinterPort,
) -> Result<Vec<(PrintJob, JobResult)>, PrintError> {
    let mut done = Vec::new();
    for job in ledger.pending_print_jobs()? {
        let result = send(ledger, port, job.job_id, &job.bytes)?;
        done.push((job, result));
    }
    Ok(done)
}

/// Opens the drawer without a sale ("no sale"): an audited action, posted before the drawer opens.
pub fn no_sale(
    ledger: &mut Ledger,
    port: &mut dyn PrinterPort,
    who: &str,
    reason: &str,
) -> Result<JobResult, PrintError> {
    ledger.append("no_sale", &[("by", who.to_string()), ("reason", reason.to_string())], Utc::now())?;
    // Not a kept job: a drawer that did not open now must not open by itself later.
    open_drawer(port)?;
    Ok(JobResult::Printed { after: crate::printer::driver::status(port)? })
}

/// The drawer pulse, sent at once and never kept for later (see `DRAWER_PULSE`).
fn open_drawer(port: &mut dyn PrinterPort) -> Result<(), PrintError> {
    port.write(&DRAWER_PULSE)?;
    Ok(())
}
