//! Receipts to paper with the ledger in between: every job is kept before it is sent, every
//! attempt's outcome is posted, and what did not print waits to be printed again. The sale is
//! posted before any of this: it never waits for the printer. The ledger is locked only to read
//! and post, never while a device is written to or waited on: the next sale posts meanwhile.
//!
//! Jobs print in the order they were kept: a new one waits behind those still pending.
//!
//! A job cut short (paper out mid-receipt) is not printed twice over: where the printer
//! confirms clearing its buffer (DLE DC4 8) the rest is dropped at once and the retry prints
//! the receipt again under a "reprinted" mark; where it keeps the rest (paper out, still
//! answering; also for cover open or offline), it prints that rest itself after the reload and
//! the retry adds only a marked note; where its state is unknown (a clear unanswered, not
//! answering, the line lost), the retry reprints marked.
//! (A printer switched off between the paper out and the reload loses the rest it kept: the
//! note then completes nothing, and a copy (F9) is the remedy.)

use std::sync::Mutex;

use chrono::Utc;

use crate::config::StoreSettings;
use crate::ledger::{Ledger, LedgerError, PrintJob};
use crate::printer::driver::{Cleared, JobResult, PrinterPort, clear_buffers, print_job, status};
use crate::printer::escpos::{drawer_pulse, encode};
use crate::printer::layout::{Align, Block, Document, layout, terminal_receipt};
use crate::printer::profile::{DrawerCommand, Profile};
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

/// The ledger, taken for a moment at a time: a `Mutex` the counter shares with its printer
/// worker, or a `RefCell` around a ledger a command line tool holds alone.
pub trait LedgerLock {
    fn with<R>(&self, f: impl FnOnce(&mut Ledger) -> R) -> R;
}

impl LedgerLock for Mutex<Ledger> {
    fn with<R>(&self, f: impl FnOnce(&mut Ledger) -> R) -> R {
        // A poisoned lock still holds a consistent ledger: every write is one transaction.
        f(&mut self.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

impl LedgerLock for std::cell::RefCell<&mut Ledger> {
    fn with<R>(&self, f: impl FnOnce(&mut Ledger) -> R) -> R {
        f(&mut self.borrow_mut())
    }
}

/// The reason posted for a job cut short whose rest the printer keeps and prints after a reload.
pub const REST_KEPT: &str = "printer.rest_kept";

fn outcome(result: &JobResult) -> (&'static str, String) {
    let reason = |s: &crate::printer::driver::PrinterStatus| s.problem_key().unwrap_or("").to_string();
    match result {
        JobResult::Printed { after } => (
            "printed",
            if after.unknown {
                // Sent to a device that cannot say whether it printed: posted as printed (a
                // retry could only print it twice), with the reason saying it was not seen.
                "printer.status_unknown".into()
            } else if after.cutter_error {
                "printer.cutter_error".into()
            } else if after.paper_near_end {
                "printer.paper_near_end".into()
            } else {
                String::new()
            },
        ),
        JobResult::Refused { before } => ("refused", reason(before)),
        JobResult::Incomplete { after } => ("incomplete", reason(after)),
    }
}

fn encoded(document: &Document) -> Result<Vec<u8>, PrintError> {
    encode(document).map_err(|e| PrintError::Encoding(e.to_string()))
}

/// Sends a kept job and posts how it went. A job cut short has the printer's buffer cleared
/// where it can be, so that nothing of it prints by itself later.
pub fn send(
    ledger: &impl LedgerLock,
    port: &mut dyn PrinterPort,
    profile: &Profile,
    job_id: i64,
    bytes: &[u8],
) -> Result<JobResult, PrintError> {
    // An error here comes before any byte went out (print_job makes later ones "incomplete").
    let result = print_job(port, profile, bytes)?;
    let (what, mut reason) = outcome(&result);
    if let JobResult::Incomplete { after } = &result {
        // Whether the rest is dropped or waits in the printer decides how the retry goes; a
        // failed clear counts as not cleared, and the outcome is posted whatever happens.
        // Kept by a printer that answers and stopped for what a person can put right (paper,
        // cover, offline); unknown where a clear went unanswered: then reprinted, marked.
        let stopped = after.paper_out || after.cover_open || after.offline;
        if clear_buffers(port, profile) == Cleared::Unsupported && after.answering && stopped && !after.unrecoverable {
            reason = REST_KEPT.to_string();
        }
    }
    ledger.with(|l| l.record_print_result(job_id, what, &reason, Utc::now()))?;
    Ok(result)
}

/// What printing a sale did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalePrinted {
    pub job_id: i64,
    pub result: JobResult,
    /// Cash changed hands and the drawer was not sent its pulse: the printer could not take
    /// it (ESC p waits behind paper out), so the drawer is to be opened with its key.
    pub drawer_shut: bool,
    /// The card slips' jobs and how each went (none for a copy or a sale without a card).
    pub slips: Vec<(i64, JobResult)>,
}

/// Prints the receipt of a posted sale (in the store's receipt language, for its printer) and,
/// unless it is a copy, the card slips of its card payments; the drawer opens with it when
/// cash changed hands. The receipt and the slips are kept before anything goes to the printer
/// or the drawer: whatever happens next, they wait to print.
pub fn print_sale(
    ledger: &impl LedgerLock,
    port: &mut dyn PrinterPort,
    store: &StoreSettings,
    receipt_no: i64,
    copy: bool,
) -> Result<SalePrinted, PrintError> {
    let profile = store.printer_model;
    let record = ledger.with(|l| l.sale_by_receipt(receipt_no))?;
    let mut receipt = Receipt::from_sale(&record, store, &store.receipt_locale, copy);
    receipt.anchor = ledger.with(|l| l.sale_anchor(receipt_no))?.map(|a| a.to_string());
    let bytes = encoded(&layout(&receipt, profile))?;
    let kind = match (copy, record.kind.as_str()) {
        (true, _) => "copy",
        (false, "refund") => "refund",
        _ => "receipt",
    };
    let job_id = ledger.with(|l| l.queue_print_job(kind, Some(receipt_no), &bytes, Utc::now()))?;
    let mut slip_jobs = Vec::new();
    if !copy {
        // The cardholder's signature is owed whatever the receipt does.
        for document in ledger.with(|l| card_slips(l, store, receipt_no))? {
            let bytes = encoded(&document)?;
            slip_jobs.push(ledger.with(|l| l.queue_print_job("merchant_copy", Some(receipt_no), &bytes, Utc::now()))?);
        }
    }
    // Cash changed hands: the drawer opens now, on its own command — never inside the
    // receipt's job, which a reload would print (and kick) again later.
    let mut drawer_shut = false;
    if !copy && record.payments.iter().any(|p| p.kind == "cash") {
        drawer_shut = !open_drawer(port, profile, store.drawer_pin).unwrap_or(false);
    }
    // One run of the queue, oldest first: what could not print waits there, in order.
    let sent = retry_pending(ledger, port, store)?;
    let result = result_of(ledger, port, &sent, job_id)?;
    let mut slips = Vec::new();
    for job in slip_jobs {
        slips.push((job, result_of(ledger, port, &sent, job)?));
    }
    Ok(SalePrinted { job_id, result, drawer_shut, slips })
}

/// The card slips of a sale, laid out (see `print_sale`): for each card payment, the
/// terminal's own receipts under the till's header where it sent them, else the till's slip.
pub fn card_slips(ledger: &Ledger, store: &StoreSettings, receipt_no: i64) -> Result<Vec<Document>, PrintError> {
    let profile = store.printer_model;
    let l = store.receipt_locale.as_str();
    let record = ledger.sale_by_receipt(receipt_no)?;
    let mut documents = Vec::new();
    for p in record.payments.iter().filter(|p| p.kind == "card") {
        let (receipt, trace) = (p.card_receipt.unwrap_or(0), p.card_trace.unwrap_or(0));
        let terminals = ledger.terminal_receipts(receipt, trace)?;
        if terminals.is_empty() {
            let facts = ledger.card_slip_facts(receipt, trace)?.unwrap_or_default();
            documents.push(layout(&Receipt::card_slip(&record, p, &facts, store, l), profile));
            continue;
        }
        for lines in terminals {
            // Latin, as the terminal's lines are; the header's Hanzi lines go in Chinese mode.
            let mut slip = Document::new(profile, false);
            slip.text(&store.store_name, Align::Center, true, false);
            slip.text(&rust_i18n::t!("receipt.slip.title", locale = l), Align::Center, true, false);
            slip.pair(&rust_i18n::t!("receipt.slip.receipt", locale = l), &record.receipt_no.to_string(), false, false);
            slip.blocks.push(Block::Rule('-'));
            // The terminal's lines as it formatted them (a Latin code page: terminals print in
            // CP437's repertoire).
            let text = terminal_receipt(&lines, profile);
            slip.blocks.extend(text.blocks);
            documents.push(slip);
        }
    }
    Ok(documents)
}

/// Prints the terminal's own administration receipt (end-of-day, diagnosis) as it sent it.
pub fn print_terminal_receipt(
    ledger: &impl LedgerLock,
    port: &mut dyn PrinterPort,
    store: &StoreSettings,
    lines: &[String],
) -> Result<(i64, JobResult), PrintError> {
    let bytes = encoded(&terminal_receipt(lines, store.printer_model))?;
    let job = ledger.with(|l| l.queue_print_job("terminal_receipt", None, &bytes, Utc::now()))?;
    let result = send_in_order(ledger, port, store, job)?;
    Ok((job, result))
}

/// Sends every pending job, oldest first, and says how `job_id` (kept last) went.
pub fn send_in_order(
    ledger: &impl LedgerLock,
    port: &mut dyn PrinterPort,
    store: &StoreSettings,
    job_id: i64,
) -> Result<JobResult, PrintError> {
    let sent = retry_pending(ledger, port, store)?;
    result_of(ledger, port, &sent, job_id)
}

/// How `job_id` went in a run of the queue: as sent; printed already (by an earlier run); or
/// refused, still waiting behind one that could not print (with the printer's state then).
fn result_of(
    ledger: &impl LedgerLock,
    port: &mut dyn PrinterPort,
    sent: &[(PrintJob, JobResult)],
    job_id: i64,
) -> Result<JobResult, PrintError> {
    if let Some((_, result)) = sent.iter().find(|(job, _)| job.job_id == job_id) {
        return Ok(result.clone());
    }
    let waiting = ledger.with(|l| l.pending_print_jobs())?.iter().any(|job| job.job_id == job_id);
    if !waiting {
        return Ok(JobResult::Printed { after: status(port)? });
    }
    let before = match sent.last() {
        Some((_, JobResult::Refused { before })) => *before,
        Some((_, JobResult::Incomplete { after })) => *after,
        _ => status(port)?,
    };
    Ok(JobResult::Refused { before })
}

/// Prints again every job that did not print (after paper was loaded, the cover closed…). A
/// job that was cut short goes out marked: reprinted whole where the printer dropped the rest,
/// or as a note under the rest the printer kept and has just printed.
pub fn retry_pending(
    ledger: &impl LedgerLock,
    port: &mut dyn PrinterPort,
    store: &StoreSettings,
) -> Result<Vec<(PrintJob, JobResult)>, PrintError> {
    let profile = store.printer_model;
    let mut done = Vec::new();
    let pending = ledger.with(|l| l.pending_print_jobs())?;
    for job in pending {
        let bytes = if job.cut_short { marked(&job, store)? } else { job.bytes.clone() };
        let result = send(ledger, port, profile, job.job_id, &bytes)?;
        let printed = matches!(result, JobResult::Printed { .. });
        done.push((job, result));
        // In order: a later receipt does not print before an earlier one.
        if !printed {
            break;
        }
    }
    Ok(done)
}

/// A cut-short job as it is sent again (see `retry_pending`).
fn marked(job: &PrintJob, store: &StoreSettings) -> Result<Vec<u8>, PrintError> {
    let profile = store.printer_model;
    let l = store.receipt_locale.as_str();
    let no = job.receipt_no.map(|n| n.to_string()).unwrap_or_default();
    let mut mark = Document::new(profile, l.starts_with("zh"));
    if !job.rest_kept {
        mark.text(&rust_i18n::t!("receipt.reprinted", locale = l, no = no), Align::Center, true, false);
        mark.text(&rust_i18n::t!("receipt.reprinted_why", locale = l), Align::Center, false, false);
        let mut bytes = encoded(&mark)?;
        bytes.extend_from_slice(&job.bytes);
        return Ok(bytes);
    }
    mark.blocks.push(Block::Rule('='));
    mark.text(&rust_i18n::t!("receipt.continued", locale = l, no = no), Align::Center, true, false);
    mark.text(&rust_i18n::t!("receipt.reprinted_why", locale = l), Align::Center, false, false);
    mark.blocks.push(Block::Feed(3));
    mark.blocks.push(Block::Cut);
    encoded(&mark)
}

/// Opens the drawer without a sale ("no sale"): an audited action, posted before the drawer
/// opens. Refused (with the printer's state) when the drawer cannot be sent its pulse now.
pub fn no_sale(
    ledger: &impl LedgerLock,
    port: &mut dyn PrinterPort,
    store: &StoreSettings,
    who: &str,
    reason: &str,
) -> Result<JobResult, PrintError> {
    let profile = store.printer_model;
    // The pulse needs a printer that answers, and ESC p one that can print now.
    let before = status(port)?;
    let takes_it = if profile.drawer == DrawerCommand::EscP { before.can_print() } else { before.answering };
    if !takes_it && !before.unknown {
        return Ok(JobResult::Refused { before });
    }
    ledger.with(|l| l.append("no_sale", &[("by", who.to_string()), ("reason", reason.to_string())], Utc::now()))?;
    // Not a kept job: a drawer that did not open now must not open by itself later. Sent on
    // the status read above (which the entry records as the reason to go ahead).
    port.write(&drawer_pulse(profile, store.drawer_pin.unwrap_or(profile.drawer_pin)))?;
    Ok(JobResult::Printed { after: before })
}

/// The drawer pulse, sent at once and never kept for later. ESC p is processed in order behind
/// whatever the printer holds, so it is sent only when the printer can print now (else it would
/// open the drawer by itself after a reload); the real-time pulse whenever the printer answers.
/// A printer that cannot say (a device file without status) is sent the pulse: the cashier
/// needs the drawer and nothing better is known. True if sent.
fn open_drawer(port: &mut dyn PrinterPort, profile: &Profile, pin: Option<u8>) -> Result<bool, PrintError> {
    let now = status(port)?;
    let takes_it = if profile.drawer == DrawerCommand::EscP { now.can_print() } else { now.answering };
    if !takes_it && !now.unknown {
        return Ok(false);
    }
    port.write(&drawer_pulse(profile, pin.unwrap_or(profile.drawer_pin)))?;
    Ok(true)
}
