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
use crate::printer::profile::Profile;

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
    /// Paper width in mm: 58 or 80 (a generic printer of that width).
    #[arg(long, global = true)]
    pub paper: Option<u32>,
    /// The printer's model (a profile id: generic-80, generic-58, epson-tm-t88, epson-tm-t20,
    /// xprinter-xp80, xprinter-xp58, pos-58); the settings' model when neither this nor --paper.
    #[arg(long, value_name = "ID", value_parser = model, global = true)]
    pub model: Option<&'static Profile>,
}

#[derive(Args, Debug)]
pub struct EmulatePrinterArgs {
    /// Serve on this serial port.
    #[arg(long, value_name = "PATH", conflicts_with = "pty")]
    pub port: Option<PathBuf>,
    /// Create a pseudo-terminal and print the path the till should open.
    #[arg(long)]
    pub pty: bool,
    /// Paper width in mm: 58 or 80 (a generic printer of that width).
    #[arg(long)]
    pub paper: Option<u32>,
    /// The printer model to play (a profile id, as `--model` of `till print`).
    #[arg(long, value_name = "ID", value_parser = model)]
    pub model: Option<&'static Profile>,
    /// Print at the model's speed (a status asked right after a job then sees it unprinted).
    #[arg(long)]
    pub real_speed: bool,
    /// Also save each receipt as a picture here (receipt-0001.png, …).
    #[arg(long, value_name = "DIR")]
    pub png: Option<PathBuf>,
}

/// A printer model named on the command line.
pub(super) fn model(id: &str) -> Result<&'static Profile, String> {
    Profile::by_id(id).ok_or_else(|| {
        let ids: Vec<&str> = crate::printer::profile::PROFILES.iter().map(|p| p.id).collect();
        format!("{id}: not a printer model ({})", ids.join(", "))
    })
}

/// The profile the flags name: `--model`, else a generic one of `--paper`, else `configured`.
pub(super) fn profile(
    model: Option<&'static Profile>,
    paper: Option<u32>,
    configured: &'static Profile,
) -> &'static Profile {
    model.or_else(|| paper.map(|mm| Profile::generic(if mm <= 58 { 58 } else { 80 }))).unwrap_or(configured)
}

/// Opens the printer a spec names.
pub fn open(spec: &str, profile: &Profile, locale: &str) -> Result<Box<dyn PrinterPort + Send>, ExitCode> {
    crate::printer::driver::open_spec(spec, profile).map_err(|e| match e {
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
    let played = profile(args.model, args.paper, store.printer_model);
    if matches!(command, PrintCommand::Pending | PrintCommand::Retry) {
        let ledger =
            match crate::ledger::Ledger::open(&crate::config::ledger_path(data_dir), &store.register, store.currency) {
                Ok(l) => l,
                Err(e) => return fail(e.localized(locale)),
            };
        if matches!(command, PrintCommand::Pending) {
            return list_pending(&ledger, locale);
        }
        let Some(spec) = &args.printer else { return fail(t!("cli.need_printer", locale = locale)) };
        let mut port = match open(spec, played, locale) {
            Ok(p) => p,
            Err(code) => return code,
        };
        let store = crate::config::StoreSettings { printer_model: played, ..store.clone() };
        return match crate::print_queue::retry_pending(&std::sync::Mutex::new(ledger), port.as_mut(), &store) {
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
    let mut port = match open(spec, played, locale) {
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
            let bytes = match encode(&crate::printer::layout::test_page(played, locale)) {
                Ok(b) => b,
                Err(e) => return fail(e.to_string()),
            };
            match print_job(port.as_mut(), played, &bytes) {
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
    let played = profile(args.model, args.paper, Profile::generic_80());
    let mut decoder = Decoder::new(played);
    if args.real_speed {
        decoder = decoder.at_print_speed();
    }
    let cols = played.columns;
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
