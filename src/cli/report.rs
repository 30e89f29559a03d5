//! `till report x|z|days` and `till drawer count|in|out`: settlement from a shell — the X report
//! of a day or a range, the Z (with the terminal's end-of-day), the list of days, and the drawer.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::Utc;
use clap::{Args, Subcommand};
use rust_i18n::t;

use super::{fail, open_ledger};
use crate::config::{self, StoreSettings};
use crate::dayclose::{self, Report, output};
use crate::ledger::{CashDirection, Ledger};
use crate::money::Money;

#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// The X report: a day's (or a range's) figures, changing nothing.
    X {
        #[command(flatten)]
        days: DayArgs,
    },
    /// The Z report: the terminal's end-of-day, the reconciliation, and the day closed.
    Z {
        #[command(flatten)]
        line: super::terminal::LineArgs,
        #[command(flatten)]
        manager: ManagerArgs,
        /// Why the day may close although the terminal's totals and the ledger differ
        /// (journaled with the manager's name).
        #[arg(long)]
        note: Option<String>,
    },
    /// Every business day with its Z number.
    Days,
}

/// The manager who approves a settlement posting: their user id; their PIN is asked for (or read
/// from standard input) and checked with the lockout, like at the counter.
#[derive(Args, Debug)]
pub struct ManagerArgs {
    #[arg(long, value_name = "ID")]
    pub user: String,
}

impl ManagerArgs {
    pub(super) fn approval(&self, ledger: &mut Ledger, locale: &str) -> Result<crate::auth::Approval, ExitCode> {
        super::approve::approval(ledger, Some(&self.user), crate::auth::Permission::Settlement, locale)
    }
}

#[derive(Args, Debug)]
pub struct DayArgs {
    /// The business day: its number or its date, YYYY-MM-DD (default: the open day, else the latest).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub day: Option<String>,
    /// First day of a range (a month's report).
    #[arg(long, requires = "to")]
    pub from: Option<i64>,
    /// Last day of a range.
    #[arg(long, requires = "from")]
    pub to: Option<i64>,
}

#[derive(Args, Debug)]
pub struct OutputArgs {
    /// Report the training sales instead of the real ones.
    #[arg(long, global = true)]
    pub training: bool,
    /// Print it on this printer: serial:PATH[:BAUD[:FRAMING]] or file:PATH.
    #[arg(long, value_name = "SPEC", global = true)]
    pub print: Option<String>,
    /// Paper width in mm: 58 or 80 (a generic printer of that width; else the settings' model).
    #[arg(long, global = true)]
    pub paper: Option<u32>,
    /// Write it as CSV to this file.
    #[arg(long, value_name = "FILE", global = true)]
    pub csv: Option<PathBuf>,
    /// Write it as a PDF (A4, with a chart of sales by hour) to this file.
    #[arg(long, value_name = "FILE", global = true)]
    pub pdf: Option<PathBuf>,
    /// Replace the CSV or PDF file if it exists (a link is never followed).
    #[arg(long, global = true)]
    pub overwrite: bool,
}

#[derive(Subcommand, Debug)]
pub enum DrawerCommand {
    /// Count the drawer: NOTES is FACExCOUNT pairs, e.g. 100x3,50x2,1x7,0.5x1.
    Count {
        notes: String,
        /// The counter did not see the expected amount first.
        #[arg(long)]
        blind: bool,
        /// The manager's note (needed when the difference is beyond the limit).
        #[arg(long, default_value = "")]
        note: String,
        /// The largest difference without a note.
        #[arg(long, default_value = "10")]
        limit: String,
        #[arg(long)]
        training: bool,
        #[command(flatten)]
        manager: ManagerArgs,
    },
    /// Cash put into the drawer.
    In(CashArgs),
    /// Cash taken out of the drawer.
    Out(CashArgs),
}

#[derive(Args, Debug)]
pub struct CashArgs {
    pub amount: String,
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub manager: ManagerArgs,
}

fn which_days(ledger: &Ledger, args: &DayArgs, locale: &str) -> Result<(i64, i64), ExitCode> {
    if let (Some(from), Some(to)) = (args.from, args.to) {
        return Ok((from, to));
    }
    let days = ledger.days().map_err(|e| fail(e.localized(locale)))?;
    if let Some(day) = &args.day {
        let day = day.trim();
        let found = match day.parse::<i64>() {
            Ok(n) => Some(n),
            // By date: the latest day of that date (a date can hold two days after an early Z).
            Err(_) => days.iter().find(|d| d.business_date == day).map(|d| d.day_no),
        };
        return found.map(|n| (n, n)).ok_or_else(|| fail(t!("report.error.no_such_day", locale = locale, day = day)));
    }
    let latest = days.first().map(|d| d.day_no);
    latest.map(|d| (d, d)).ok_or_else(|| fail(t!("report.error.no_days", locale = locale)))
}

fn deliver(report: &Report, store: &StoreSettings, out: &OutputArgs, locale: &str) -> ExitCode {
    let profile = super::print::profile(None, out.paper, store.printer_model);
    let doc = output::document(report, &store.store_name, &store.register, profile, locale);
    print!("{}", doc.to_text());
    if let Some(path) = &out.csv {
        let written = output::csv(report, locale)
            .map_err(|e| e.to_string())
            .and_then(|bytes| config::write_private(path, &bytes, out.overwrite).map_err(|e| e.to_string()));
        if let Err(e) = written {
            return fail(t!("cli.cannot_write", locale = locale, file = path.display(), detail = e));
        }
    }
    if let Some(path) = &out.pdf {
        // Long exports show how far they are, page by page.
        let mut progress =
            |done: f32| eprint!("\r{}", t!("report.progress", locale = locale, percent = (done * 100.0).round()));
        let written = crate::dayclose::pdf::pdf(report, &store.store_name, locale, &mut progress)
            .map_err(|e| e.to_string())
            .and_then(|bytes| config::write_private(path, &bytes, out.overwrite).map_err(|e| e.to_string()));
        eprintln!();
        if let Err(e) = written {
            return fail(t!("cli.cannot_write", locale = locale, file = path.display(), detail = e));
        }
    }
    if let Some(spec) = &out.print {
        let mut port = match super::print::open(spec, profile, locale) {
            Ok(p) => p,
            Err(code) => return code,
        };
        let bytes = match crate::printer::escpos::encode(&doc) {
            Ok(b) => b,
            Err(e) => return fail(e.to_string()),
        };
        match crate::printer::driver::print_job(&mut *port, profile, &bytes) {
            Ok(crate::printer::driver::JobResult::Printed { .. }) => {}
            Ok(
                crate::printer::driver::JobResult::Refused { before: s }
                | crate::printer::driver::JobResult::Incomplete { after: s },
            ) => {
                return fail(super::print::describe(&s, locale));
            }
            Err(e) => return fail(e.to_string()),
        }
    }
    ExitCode::SUCCESS
}

pub fn run(
    data_dir: &Path,
    store: &StoreSettings,
    backup: &crate::config::settings::BackupSettings,
    command: &ReportCommand,
    out: &OutputArgs,
    locale: &str,
) -> ExitCode {
    let mut ledger = match open_ledger(data_dir, store, locale) {
        Ok(l) => l,
        Err(code) => return code,
    };
    match command {
        ReportCommand::Days => {
            match ledger.days() {
                Ok(days) => {
                    for d in days {
                        let z = d
                            .z_no
                            .map_or_else(|| t!("report.open", locale = locale).into_owned(), |z| format!("Z {z}"));
                        println!("{:>5}  {}  {z}", d.day_no, d.business_date);
                    }
                }
                Err(e) => return fail(e.localized(locale)),
            }
            ExitCode::SUCCESS
        }
        ReportCommand::X { days } => {
            let (first, last) = match which_days(&ledger, days, locale) {
                Ok(d) => d,
                Err(code) => return code,
            };
            match dayclose::x_report(&ledger, first, last, out.training, Utc::now()) {
                Ok(report) => deliver(&report, store, out, locale),
                Err(e) => fail(e.localized(locale)),
            }
        }
        ReportCommand::Z { line, manager, note } => {
            let approval = match manager.approval(&mut ledger, locale) {
                Ok(a) => a,
                Err(code) => return code,
            };
            let mut terminal = match super::terminal::connect(line, store, locale) {
                Ok(t) => t,
                Err(code) => return code,
            };
            match dayclose::close_day(
                &mut ledger,
                terminal.as_mut(),
                &approval,
                out.training,
                note.as_deref(),
                Utc::now(),
            ) {
                Ok(report) => {
                    match dayclose::backup_after_z(&ledger, backup, Utc::now()) {
                        Ok(path) => eprintln!("{}", t!("backup.written", locale = locale, file = path.display())),
                        Err(e) => eprintln!("{}", e.localized(locale)),
                    }
                    deliver(&report, store, out, locale)
                }
                Err(e) => fail(e.localized(locale)),
            }
        }
    }
}

fn parse_notes(text: &str, store: &StoreSettings) -> Option<Vec<(Money, u32)>> {
    text.split(',')
        .map(|pair| {
            let (face, n) = pair.trim().split_once(['x', 'X', '*'])?;
            Some((Money::parse(face, store.currency).ok().filter(|m| m.is_positive())?, n.trim().parse().ok()?))
        })
        .collect()
}

pub fn drawer(data_dir: &Path, store: &StoreSettings, command: &DrawerCommand, locale: &str) -> ExitCode {
    let mut ledger = match open_ledger(data_dir, store, locale) {
        Ok(l) => l,
        Err(code) => return code,
    };
    match command {
        DrawerCommand::Count { notes, blind, note, limit, training, manager } => {
            let approval = match manager.approval(&mut ledger, locale) {
                Ok(a) => a,
                Err(code) => return code,
            };
            let Some(denominations) = parse_notes(notes, store) else {
                return fail(t!("report.error.bad_notes", locale = locale, value = notes));
            };
            let limit = match Money::parse(limit, store.currency) {
                Ok(m) => m,
                Err(e) => return fail(e.localized(locale)),
            };
            let count = dayclose::Count { denominations: &denominations, blind: *blind, note, limit };
            match dayclose::count_drawer(&mut ledger, &count, &approval, *training, Utc::now()) {
                Ok(r) => {
                    let m = |minor| Money::from_minor(minor, store.currency).map(|m| m.to_string()).unwrap_or_default();
                    println!(
                        "{}",
                        t!(
                            "report.counted_line",
                            locale = locale,
                            counted = m(r.counted_minor),
                            expected = m(r.expected_minor),
                            difference = m(r.counted_minor - r.expected_minor)
                        )
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e.localized(locale)),
            }
        }
        DrawerCommand::In(args) | DrawerCommand::Out(args) => {
            let direction =
                if matches!(command, DrawerCommand::In(_)) { CashDirection::In } else { CashDirection::Out };
            let amount = match Money::parse(&args.amount, store.currency) {
                Ok(m) if m.is_positive() => m,
                Ok(_) => return fail(t!("report.error.not_positive", locale = locale)),
                Err(e) => return fail(e.localized(locale)),
            };
            if args.reason.trim().is_empty() {
                return fail(t!("report.error.reason_needed", locale = locale));
            }
            let approval = match args.manager.approval(&mut ledger, locale) {
                Ok(a) => a,
                Err(code) => return code,
            };
            match dayclose::move_cash(&mut ledger, direction, amount, args.reason.trim(), &approval, Utc::now()) {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => fail(e.localized(locale)),
            }
        }
    }
}
