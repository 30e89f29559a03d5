//! `till emulate printer …` and `till print …`: the receipt printer from a shell.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use rust_i18n::t;

use super::fail;
use crate::printer::driver::{JobResult, PrinterPort, PrinterStatus, print_job, status};
use crate::printer::emulator::{Decoder, PaperControl, serve};
use crate::printer::escpos::encode;
use crate::printer::layout::{COLUMNS_58MM, COLUMNS_80MM};

#[derive(Subcommand, Debug)]
pub enum PrintCommand {
    /// Print a test page (both languages' characters, a QR code, a barcode, a cut).
    TestPage,
    /// Ask the printer how it is (paper, cover, cutter).
    Status,
    /// List the receipts that did not print, with why.
    Pending,
    /// Print again every receipt that did not print (after loading paper, closing the cover…).
    Retry,
}

#[derive(Args, Debug, Clone)]
pub struct PrinterArgs {
    /// serial:PATH[:BAUD[:FRAMING]] (e.g. serial:/dev/ttyUSB0:115200:8N1) or file:PATH (e.g. file:/dev/usb/lp0).
    #[arg(long, value_name = "SPEC", global = true)]
    pub printer: Option<String>,
    /// Paper width in mm: 58 or 80.
    #[arg(long, default_value_t = 80, global = true)]
    pub paper: u32,
}

#[derive(Args, Debug)]
pub struct EmulatePrinterArgs {
    /// Serve on this serial port.
    #[arg(long, value_name = "PATH", conflicts_with = "pty")]
    pub port: Option<PathBuf>,
    /// Create a pseudo-terminal and print the path the till should open.
    #[arg(long)]
    pub pty: bool,
    /// Paper width in mm: 58 or 80.
    #[arg(long, default_value_t = 80)]
    pub paper: u32,
    /// Also save each receipt as a picture here (receipt-0001.png, …).
    #[arg(long, value_name = "DIR")]
    pub png: Option<PathBuf>,
}

pub(super) fn columns(paper: u32) -> usize {
    if paper <= 58 { COLUMNS_58MM } else { COLUMNS_80MM }
}

/// Opens the printer a spec names.
pub fn open(spec: &str, locale: &str) -> Result<Box<dyn PrinterPort + Send>, ExitCode> {
    crate::printer::driver::open_spec(spec).map_err(|e| match e {
        crate::printer::driver::OpenError::BadSpec => fail(t!("cli.bad_printer_spec", locale = locale, value = spec)),
        crate::printer::driver::OpenError::Port(path, e) => {
            fail(t!("cli.cannot_open_port", locale = locale, port = path, detail = e.to_string()))
        }
    })
}

/// A printer status in words.
pub fn describe(s: &PrinterStatus, locale: &str) -> String {
    crate::setup::describe_printer(s, locale)
}

/// The pending jobs, one line each: job, what it is, receipt number, last outcome and reason.
fn list_pending(ledger: &crate::ledger::Ledger, locale: &str) -> ExitCode {
    match ledger.pending_print_jobs() {
        Ok(jobs) => {
            for job in &jobs {
                let (outcome, reason) = job.last.clone().unwrap_or_default();
                let reason = if reason.is_empty() { String::new() } else { t!(&reason, locale = locale).into_owned() };
                println!(
                    "{}",
                    t!(
                        "cli.pending_job",
                        locale = locale,
                        job = job.job_id,
                        kind = job.kind,
                        receipt = job.receipt_no.map(|r| r.to_string()).unwrap_or_else(|| "-".into()),
                        outcome = outcome,
                        reason = reason
                    )
                );
            }
            println!("{}", t!("cli.pending_count", locale = locale, count = jobs.len()));
            ExitCode::SUCCESS
        }
        Err(e) => fail(e.localized(locale)),
    }
}

pub fn run(
    data_dir: &Path,
    store: &crate::config::StoreSettings,
    args: &PrinterArgs,
    command: &PrintCommand,
    locale: &str,
) -> ExitCode {
    if matches!(command, PrintCommand::Pending | PrintCommand::Retry) {
        let mut ledger =
            match crate::ledger::Ledger::open(&crate::config::ledger_path(data_dir), &store.register, store.currency) {
                Ok(l) => l,
                Err(e) => return fail(e.localized(locale)),
            };
        if matches!(command, PrintCommand::Pending) {
            return list_pending(&ledger, locale);
        }
        let Some(spec) = &args.printer else { return fail(t!("cli.need_printer", locale = locale)) };
        let mut port = match open(spec, locale) {
            Ok(p) => p,
            Err(code) => return code,
        };
        return match crate::print_queue::retry_pending(&mut ledger, port.as_mut()) {
            Ok(done) => {
                let printed = done.iter().filter(|(_, r)| matches!(r, JobResult::Printed { .. })).count();
                println!("{}", t!("cli.retried", locale = locale, printed = printed, total = done.len()));
                if printed == done.len() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
            }
            Err(crate::print_queue::PrintError::Ledger(e)) => fail(e.localized(locale)),
            Err(e) => fail(e.to_string()),
        };
    }
    let Some(spec) = &args.printer else { return fail(t!("cli.need_printer", locale = locale)) };
    let mut port = match open(spec, locale) {
        Ok(p) => p,
        Err(code) => return code,
    };
    match command {
        PrintCommand::Status => match status(port.as_mut()) {
            Ok(s) => {
                println!("{}", describe(&s, locale));
                if s.can_print() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
            }
            Err(e) => fail(e.to_string()),
        },
        PrintCommand::Pending | PrintCommand::Retry => ExitCode::SUCCESS,
        PrintCommand::TestPage => {
            let bytes = match encode(&crate::printer::layout::test_page(columns(args.paper), locale)) {
                Ok(b) => b,
                Err(e) => return fail(e.to_string()),
            };
            match print_job(port.as_mut(), &bytes) {
                Ok(JobResult::Printed { after }) => {
                    println!("{}", t!("printer.printed", locale = locale));
                    if after.paper_near_end {
                        println!("{}", t!("printer.paper_near_end", locale = locale));
                    }
                    ExitCode::SUCCESS
                }
                Ok(JobResult::Refused { before }) => {
                    fail(t!("printer.refused", locale = locale, reason = describe(&before, locale)))
                }
                Ok(JobResult::Incomplete { after }) => {
                    fail(t!("printer.incomplete", locale = locale, reason = describe(&after, locale)))
                }
                Err(e) => fail(e.to_string()),
            }
        }
    }
}

/// Runs the printer emulator; each finished receipt is written to standard output as text.
/// Standard input takes `paper ok|near-end|out` and `paper runs-out N`.
pub fn emulate(args: &EmulatePrinterArgs, locale: &str) -> ExitCode {
    use std::io::Write;
    let open = |p: &Path| serialport::new(p.to_string_lossy(), 9600).timeout(Duration::from_millis(50)).open_native();
    let (mut line, _far_end) = match super::emulator_line(args.pty, args.port.as_deref(), open, locale) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let rx = super::controls_from_stdin(PaperControl::parse, "cli.bad_paper_control", locale);
    let mut decoder = Decoder::new(columns(args.paper));
    let cols = columns(args.paper);
    let mut count = 0usize;
    let result = serve(&mut line, &mut decoder, &rx, &|| true, &mut |receipt| {
        print!("{}", receipt.text);
        let _ = std::io::stdout().flush();
        count += 1;
        if let Some(dir) = &args.png {
            let picture = crate::printer::render::render_png(receipt.items, cols).and_then(|png| {
                std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
                std::fs::write(dir.join(format!("receipt-{count:04}.png")), png).map_err(|e| e.to_string())
            });
            if let Err(e) = picture {
                eprintln!("{e}");
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e.to_string()),
    }
}
