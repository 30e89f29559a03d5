//! The command line: no subcommand opens the counter (GUI); subcommands do headless work.
//! Every message goes through the locale files; errors exit non-zero.

mod approve;
mod print;
mod report;
mod store;
mod terminal;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{Local, Utc};
use clap::{Parser, Subcommand};
use rust_i18n::t;

use crate::catalog::import;
use crate::config::{self, StoreSettings};
use crate::ledger::{Ledger, PostContext};
use crate::money::Money;

#[derive(Parser, Debug)]
#[command(name = "till", version, about = "A desktop cashier (收银台)")]
pub struct Cli {
    /// Where the ledger lives (default: the platform's data directory). Given without
    /// `--config`, the settings file is `till.toml` in it too: a rehearsal in its own directory
    /// never reads or overwrites the machine's settings.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Language of messages: en or zh-CN (default: from LANG).
    #[arg(long, global = true, value_name = "LOCALE")]
    pub lang: Option<String>,
    /// The settings file (default: `till.toml` in `--data-dir` when that is given, else the
    /// platform's config directory, `~/.config/till/till.toml`).
    /// Without one the till runs in training mode.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Manage the product catalog.
    Catalog {
        #[command(subcommand)]
        action: CatalogCommand,
    },
    /// The store's head office (PostgreSQL): set it up, ship to it, read the store's day.
    Store {
        #[command(subcommand)]
        action: store::StoreCommand,
    },
    /// Check the ledger.
    Ledger {
        #[command(subcommand)]
        action: LedgerCommand,
    },
    /// Run a device emulator (training, installer rehearsal).
    Emulate {
        #[command(subcommand)]
        what: EmulateCommand,
    },
    /// Talk to the PIN pad: status, registration, a test payment, end-of-day…
    Terminal {
        #[command(subcommand)]
        action: terminal::TerminalCommand,
        #[command(flatten)]
        line: terminal::LineArgs,
    },
    /// The receipt printer: a test page, its status.
    Print {
        #[command(subcommand)]
        action: print::PrintCommand,
        #[command(flatten)]
        printer: print::PrinterArgs,
    },
    /// Settlement: the X report, the Z (day close), the list of days.
    Report {
        #[command(subcommand)]
        which: report::ReportCommand,
        #[command(flatten)]
        output: report::OutputArgs,
    },
    /// The cash drawer: count it, put cash in, take cash out.
    Drawer {
        #[command(subcommand)]
        action: report::DrawerCommand,
    },
    /// Back the ledger up (online: sales may go on meanwhile) to FILE, or into the data dir's
    /// backups folder.
    Backup { file: Option<PathBuf> },
    /// Put a backup in place of the ledger: only one that verifies, with an installer's approval,
    /// only after the current ledger was itself backed up; a backup older than the ledger only
    /// with --older (it says what is lost). Stop the till first.
    Restore {
        file: PathBuf,
        /// The installer who approves (their PIN is asked for, or read from standard input).
        #[arg(long, value_name = "ID")]
        by: Option<String>,
        /// Restore although the backup is older than the ledger (entries and receipts are lost), or
        /// the ledger does not verify (its copy is kept as it is; an installer of the backup approves).
        #[arg(long)]
        older: bool,
    },
    /// The till's users: list them, add one (or change their name, role and PIN).
    Users {
        #[command(subcommand)]
        action: UsersCommand,
    },
    /// Installer's helpers: the serial ports this machine has (for the settings file).
    Setup {
        #[command(subcommand)]
        action: SetupCommand,
    },
    /// The settings file: check it, write a template to edit, or show where it is.
    Config {
        #[command(subcommand)]
        action: ConfigCommand,
    },
    /// Ring up random cash sales through the real sale and ledger code.
    Simulate {
        /// How many sales.
        #[arg(long)]
        sales: u64,
        /// Seed of the random baskets (the same seed rings up the same baskets).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Share of the sales paid by card (0 to 1).
        #[arg(long, default_value_t = 0.0)]
        card_share: f64,
        /// The terminal for card payments: serial:PATH[:BAUD] or tcp:HOST:PORT. Default: the
        /// built-in emulator on a pseudo-terminal.
        #[arg(long, value_name = "SPEC")]
        terminal: Option<String>,
        /// Print every receipt on this printer: serial:PATH[:BAUD] or file:PATH.
        #[arg(long, value_name = "SPEC")]
        printer: Option<String>,
        /// The printer's model, if not the settings' (a profile id, as `till print --model`).
        #[arg(long, value_name = "ID", value_parser = print::model)]
        printer_model: Option<&'static crate::printer::profile::Profile>,
        /// On a configured till: the installer who approves (PIN asked for, or read from
        /// standard input). Its sales are always training sales.
        #[arg(long, value_name = "ID")]
        by: Option<String>,
    },
    /// The counter driven headless through its own workers (the kill soak's second till).
    #[command(hide = true)]
    Drive {
        #[arg(long)]
        sales: u32,
        #[arg(long, default_value_t = 0.8)]
        card_share: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The PIN pad's serial port.
        #[arg(long, value_name = "PATH")]
        terminal: String,
        /// The printer: serial:PATH or file:PATH.
        #[arg(long, value_name = "SPEC")]
        printer: String,
        /// On a store's ledger: the installer who approves.
        #[arg(long, value_name = "ID")]
        by: Option<String>,
    },
    /// The kill soak: `till simulate` with card payments killed KILLS times at random instants
    /// against the terminal emulator in its own process, with line faults between the kills;
    /// then the terminal's batch is checked against the ledger's sales (see scripts/soak).
    Soak {
        #[arg(long, default_value_t = 60)]
        kills: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where the ledger and the terminal's batch go (default: a new folder in /tmp).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum EmulateCommand {
    /// A ZVT payment terminal.
    Terminal(terminal::EmulateTerminalArgs),
    /// An ESC/POS receipt printer: prints each receipt as text.
    Printer(print::EmulatePrinterArgs),
}

#[derive(Subcommand, Debug)]
pub enum SetupCommand {
    /// Lists the serial ports with their USB vendor, product and serial number.
    Ports,
    /// Tests the PIN pad (registration, status) and, when it answers with the terminal id the
    /// acquirer gave (--expect-terminal-id), writes it into the settings file.
    Terminal {
        #[command(flatten)]
        line: terminal::LineArgs,
        /// The installer who approves (not needed before the ledger has one).
        #[arg(long, value_name = "ID")]
        by: Option<String>,
    },
    /// Tests the printer (status, a test page) and writes it into the settings file.
    Printer {
        #[command(flatten)]
        printer: print::PrinterArgs,
        /// The installer who approves (not needed before the ledger has one).
        #[arg(long, value_name = "ID")]
        by: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    List,
    /// Adds a user, or changes one with the same id. Their PIN is asked for (or read from
    /// standard input after the approver's), never given as an argument.
    Add {
        id: String,
        #[arg(long)]
        name: String,
        /// cashier, manager or installer.
        #[arg(long)]
        role: String,
        /// Who approves (a manager; an installer for an installer). Not needed for the very
        /// first installer of a ledger that has none.
        #[arg(long, value_name = "ID")]
        by: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Print every problem of the settings file; exit 0 only when it is valid.
    Check,
    /// Write a settings file to edit (refuses to overwrite one; on a store's ledger, an
    /// installer approves).
    Init {
        #[arg(long, value_name = "ID")]
        by: Option<String>,
    },
    /// Print the settings file's path.
    Path,
}

#[derive(Subcommand, Debug)]
pub enum CatalogCommand {
    /// Import products from a CSV file: all rows or none (a manager's approval).
    Import {
        file: PathBuf,
        /// The manager who approves (PIN asked for, or read from standard input).
        #[arg(long, value_name = "ID")]
        by: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum LedgerCommand {
    /// Check the hash chain, every row of every table, the schema, each Z, the users and the
    /// catalog, and the witness; exit 0 only when all is sound.
    Verify {
        /// An anchor (SEQ:HASH16, as printed on receipts and reports or in a backup's name) the
        /// chain must still hold; as many as you have.
        #[arg(long, value_name = "SEQ:HASH")]
        anchor: Vec<String>,
    },
    /// The anchors to keep away from this machine: the chain's head, the last Z's and the last
    /// backup's.
    Anchors,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let locale = config::pick_locale(cli.lang.as_deref());
    let data_dir = cli.data_dir.clone().unwrap_or_else(config::default_data_dir);
    let config_path = settings_path(cli.config.as_deref(), cli.data_dir.as_deref());
    if let Some(Command::Config { action }) = &cli.command {
        // A settings file written where a store's ledger lives is the store's: its installer
        // approves (a deleted file must not be replaced by anyone).
        // The store's ledger is the one beside the file, or the machine's own: either one with an
        // installer makes the file the store's. An existing file is refused before any PIN.
        if let ConfigCommand::Init { by } = action
            && !config_path.exists()
        {
            let mut dirs = vec![data_dir.clone(), config::default_data_dir()];
            dirs.dedup();
            for dir in dirs {
                let Some((register, currency)) = Ledger::open_read_only(&config::ledger_path(&dir))
                    .ok()
                    .filter(|l| !l.register().is_empty())
                    .map(|l| (l.register().to_string(), l.currency()))
                else {
                    continue;
                };
                let approved = Ledger::open(&config::ledger_path(&dir), &register, currency)
                    .map_err(|e| fail(e.localized(&locale)))
                    .and_then(|mut l| {
                        approve::approval_in_store(&mut l, by.as_deref(), crate::auth::Permission::Settings, &locale)
                    });
                match approved {
                    Ok(Some(_)) => break,
                    Ok(None) => continue,
                    Err(code) => return code,
                }
            }
        }
        return config_command(&config_path, action, &locale);
    }
    // An install that kept its settings in the machine's place and its ledger in --data-dir
    // finds none beside the ledger now: said, not silently trained.
    let machine = config::settings::default_path();
    if cli.config.is_none() && cli.data_dir.is_some() && !config_path.exists() && machine.exists() {
        eprintln!(
            "{}",
            t!("settings.elsewhere", locale = &locale, file = config_path.display(), machine = machine.display())
        );
    }
    // The till never starts half-configured: a settings file with problems stops it here. Without
    // one, it runs the demo store in training mode.
    let settings = match config::settings::load(&config_path) {
        Ok(s) => s,
        Err(problems) => {
            eprintln!("{}", t!("settings.header", locale = &locale, file = config_path.display()));
            for p in problems {
                eprintln!("  {}", p.localized(&locale));
            }
            return ExitCode::from(2);
        }
    };
    let store = settings.as_ref().map_or_else(StoreSettings::demo, |s| s.store.clone());
    let backup_settings = settings.as_ref().map(|s| s.backup.clone()).unwrap_or_default();
    match cli.command {
        Some(Command::Config { .. }) => ExitCode::SUCCESS,
        None => crate::ui::run(data_dir, config_path, store, cli.lang.as_deref(), settings),
        Some(Command::Catalog { action: CatalogCommand::Import { file, by } }) => {
            catalog_import(&data_dir, &store, &file, by.as_deref(), &locale)
        }
        Some(Command::Ledger { action: LedgerCommand::Verify { anchor } }) => {
            let head_office = settings.as_ref().and_then(|s| s.head_office.as_ref());
            ledger_verify(&data_dir, &anchor, head_office, &locale)
        }
        Some(Command::Store { action }) => {
            let head_office = settings.as_ref().and_then(|s| s.head_office.as_ref());
            store::run(&data_dir, &config_path, &store, head_office, &action, &locale)
        }
        Some(Command::Ledger { action: LedgerCommand::Anchors }) => {
            ledger_anchors(&data_dir, &backup_settings, &locale)
        }
        Some(Command::Simulate { sales, seed, card_share, terminal, printer, printer_model, by }) => {
            let store = StoreSettings { printer_model: printer_model.unwrap_or(store.printer_model), ..store };
            let args = SimulateArgs { sales, seed, card_share, terminal, printer, by, configured: settings.is_some() };
            simulate(&data_dir, &store, args, &locale)
        }
        Some(Command::Soak { kills, seed, dir }) => soak(kills, seed, dir),
        Some(Command::Drive { sales, card_share, seed, terminal, printer, by }) => {
            // A rehearsal of the counter: on a store's ledger only with an installer's approval.
            if let Err(code) = open_ledger(&data_dir, &store, &locale).and_then(|mut l| {
                approve::approval_in_store(&mut l, by.as_deref(), crate::auth::Permission::Settings, &locale)
            }) {
                return code;
            }
            match crate::ui::drive::drive(&data_dir, &terminal, &printer, sales, card_share, seed) {
                Ok(n) => {
                    println!("{n}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Some(Command::Emulate { what: EmulateCommand::Terminal(args) }) => terminal::emulate(&args, &locale),
        Some(Command::Emulate { what: EmulateCommand::Printer(args) }) => print::emulate(&args, &locale),
        Some(Command::Print { action, printer }) => print::run(&data_dir, &store, &printer, &action, &locale),
        Some(Command::Terminal { action, line }) => terminal::run(&data_dir, &store, &line, &action, &locale),
        Some(Command::Setup { action: SetupCommand::Ports }) => ports(&locale),
        Some(Command::Setup { action: SetupCommand::Terminal { line, by } }) => {
            match setup_approval(&data_dir, &store, by.as_deref(), &locale) {
                Ok(mut ledger) => setup_terminal(&config_path, &store, &line, &mut ledger, &locale),
                Err(code) => code,
            }
        }
        Some(Command::Setup { action: SetupCommand::Printer { printer, by } }) => {
            match setup_approval(&data_dir, &store, by.as_deref(), &locale) {
                Ok(mut ledger) => setup_printer(&config_path, &printer, &mut ledger, &locale),
                Err(code) => code,
            }
        }
        Some(Command::Users { action }) => users(&data_dir, &store, &action, &locale),
        Some(Command::Backup { file }) => backup(&data_dir, &store, file.as_deref(), &locale),
        Some(Command::Restore { file, by, older }) => {
            let head_office = settings.as_ref().and_then(|s| s.head_office.as_ref());
            restore(&data_dir, &store, head_office, &file, by.as_deref(), older, &locale)
        }
        Some(Command::Report { which, output }) => {
            report::run(&data_dir, &store, &backup_settings, &which, &output, &locale)
        }
        Some(Command::Drawer { action }) => report::drawer(&data_dir, &store, &action, &locale),
    }
}

/// An emulator's line: a new pseudo-terminal (its far end's path printed for the till, and held
/// open here so the line stays up between tills) or a serial port opened with `open`.
fn emulator_line(
    pty: bool,
    port: Option<&Path>,
    open: impl FnOnce(&Path) -> Result<serialport::TTYPort, serialport::Error>,
    locale: &str,
) -> Result<(serialport::TTYPort, Option<serialport::TTYPort>), ExitCode> {
    use serialport::SerialPort;
    use std::io::Write;
    if pty {
        let (ours, theirs) = serialport::TTYPort::pair().map_err(|e| fail(e.to_string()))?;
        println!("{}", theirs.name().unwrap_or_default());
        let _ = std::io::stdout().flush();
        return Ok((ours, Some(theirs)));
    }
    let Some(port) = port else { return Err(fail(t!("cli.need_port", locale = locale))) };
    open(port)
        .map(|p| (p, None))
        .map_err(|e| fail(t!("cli.cannot_open_port", locale = locale, port = port.display(), detail = e.to_string())))
}

/// An emulator's control interface: each line of standard input parsed by `parse` and sent on;
/// a line it does not understand is answered with `bad_key` on standard error.
fn controls_from_stdin<T: Send + 'static>(
    parse: fn(&str) -> Option<T>,
    bad_key: &'static str,
    locale: &str,
) -> std::sync::mpsc::Receiver<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    let locale = locale.to_string();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines().map_while(Result::ok) {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match parse(line) {
                Some(control) => {
                    if tx.send(control).is_err() {
                        break;
                    }
                    eprintln!("{}", t!("cli.scenario_set", locale = &locale, value = line));
                }
                None => eprintln!("{}", t!(bad_key, locale = &locale, value = line)),
            }
        }
    });
    rx
}

fn fail(message: impl AsRef<str>) -> ExitCode {
    eprintln!("{}", message.as_ref());
    ExitCode::FAILURE
}

/// The settings file: `--config`; else beside the ledger when `--data-dir` names where that is
/// (an installer's rehearsal keeps to its directory); else the platform's config directory.
pub fn settings_path(config: Option<&Path>, data_dir: Option<&Path>) -> PathBuf {
    match (config, data_dir) {
        (Some(file), _) => file.to_path_buf(),
        (None, Some(dir)) => dir.join(config::settings::FILE),
        (None, None) => config::settings::default_path(),
    }
}

fn open_ledger(data_dir: &Path, store: &StoreSettings, locale: &str) -> Result<Ledger, ExitCode> {
    Ledger::open(&config::ledger_path(data_dir), &store.register, store.currency).map_err(|e| fail(e.localized(locale)))
}

/// Writes one section of the settings file and journals it in the store's ledger (only once
/// written).
fn write_section(path: &Path, section: &str, table: toml::Table, ledger: &mut Ledger, locale: &str) -> ExitCode {
    if !path.exists() {
        return fail(t!("setup.no_settings", locale = locale, file = path.display()));
    }
    match config::settings::set_section(path, section, table) {
        Ok(()) => {
            println!("{}", t!("setup.written", locale = locale, section = section, file = path.display()));
            // The file is written; a ledger that cannot take the note does not undo it.
            let _ = ledger.append("settings_written", &[("section", section.to_string())], Utc::now());
            ExitCode::SUCCESS
        }
        Err(problems) => fail(problems.iter().map(|p| p.localized(locale)).collect::<Vec<_>>().join("\n")),
    }
}

/// The store's ledger, with an installer's approval of a settings change journaled in it: asked
/// of `by` once the ledger has an installer; before that (the first setup) journaled as such.
fn setup_approval(data_dir: &Path, store: &StoreSettings, by: Option<&str>, locale: &str) -> Result<Ledger, ExitCode> {
    let mut ledger = open_ledger(data_dir, store, locale)?;
    let who = match approve::approval_in_store(&mut ledger, by, crate::auth::Permission::Settings, locale)? {
        Some(approval) => approval.by().to_string(),
        None => "first setup".to_string(),
    };
    ledger.append("settings_approved", &[("by", who)], Utc::now()).map_err(|e| fail(e.localized(locale)))?;
    Ok(ledger)
}

fn setup_terminal(
    path: &Path,
    store: &StoreSettings,
    line: &terminal::LineArgs,
    ledger: &mut Ledger,
    locale: &str,
) -> ExitCode {
    let mut device = match terminal::connect(line, store, locale) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let info = match device.register().and_then(|_| device.status()) {
        Ok(info) => info,
        Err(e) => return fail(t!("setup.terminal_failed", locale = locale, detail = e.localized(locale))),
    };
    let reported = info.terminal_id.clone().unwrap_or_default();
    if let Some(expected) = &line.expect_terminal_id
        && *expected != reported
    {
        return fail(t!("setup.terminal_mismatch", locale = locale, reported = reported, expected = expected));
    }
    println!("{}", t!("setup.terminal_ok", locale = locale, id = reported));
    let mut table = toml::Table::new();
    if let Some(port) = &line.port {
        table.insert("port".into(), port.display().to_string().into());
    }
    if let Some(tcp) = &line.tcp {
        table.insert("tcp".into(), tcp.clone().into());
    }
    table.insert("baud".into(), i64::from(line.baud).into());
    table.insert("password".into(), i64::from(line.password).into());
    table.insert("terminal_id".into(), reported.into());
    if let Some(m) = &line.expect_merchant {
        table.insert("merchant_no".into(), m.clone().into());
    }
    write_section(path, "terminal", table, ledger, locale)
}

fn setup_printer(path: &Path, args: &print::PrinterArgs, ledger: &mut Ledger, locale: &str) -> ExitCode {
    let Some(spec) = &args.printer else { return fail(t!("cli.need_printer", locale = locale)) };
    match crate::setup::test_printer(
        spec,
        print::profile(args.model, args.paper, crate::printer::profile::Profile::generic_80()),
        Some(locale),
        locale,
    ) {
        Ok(words) => println!("{words}"),
        Err(e) => return fail(e.localized(locale)),
    }
    let mut table = toml::Table::new();
    table.insert("device".into(), spec.clone().into());
    write_section(path, "printer", table, ledger, locale)
}

fn ports(locale: &str) -> ExitCode {
    match crate::setup::ports(locale) {
        Ok(ports) if ports.is_empty() => {
            println!("{}", t!("setup.no_ports", locale = locale));
            ExitCode::SUCCESS
        }
        Ok(ports) => {
            for p in ports {
                println!("{}  {}", p.name, p.description);
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

fn users(data_dir: &Path, store: &StoreSettings, action: &UsersCommand, locale: &str) -> ExitCode {
    let mut ledger = match open_ledger(data_dir, store, locale) {
        Ok(l) => l,
        Err(code) => return code,
    };
    match action {
        UsersCommand::List => match ledger.users() {
            Ok(users) => {
                for u in users {
                    println!("{}  {}  {}", u.id, u.name, t!(u.role.key(), locale = locale));
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(e.localized(locale)),
        },
        UsersCommand::Add { id, name, role, by } => {
            let Some(role) = crate::auth::role_named(role) else {
                return fail(t!("users.bad_role", locale = locale, value = role));
            };
            let first = match crate::admin::has_installer(&ledger) {
                Ok(has) => !has,
                Err(e) => return fail(e.localized(locale)),
            };
            if first && role != crate::auth::Role::Installer {
                return fail(t!("cli.first_is_installer", locale = locale));
            }
            // The approver's PIN first (when one is needed), then the new user's.
            let approval = if first {
                None
            } else {
                match approve::approval(&mut ledger, by.as_deref(), crate::auth::Permission::Users, locale) {
                    Ok(a) => Some(a),
                    Err(code) => return code,
                }
            };
            let pin = match approve::read_new_pin(id, locale) {
                Ok(p) => p,
                Err(code) => return code,
            };
            let new =
                crate::admin::NewUser { id: id.clone(), name: name.clone(), role, pin: pin.clone(), pin_again: pin };
            let saved = match &approval {
                None => crate::admin::first_installer(&mut ledger, &new, "first setup"),
                Some(approval) => {
                    let exists = ledger.users().map(|u| u.iter().any(|u| u.id == id.trim())).unwrap_or(false);
                    crate::admin::save_user(&mut ledger, &new, exists, approval)
                }
            };
            match saved {
                Ok(_) => {
                    println!("{}", t!("users.added", locale = locale, id = id));
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e.localized(locale)),
            }
        }
    }
}

fn config_command(path: &Path, action: &ConfigCommand, locale: &str) -> ExitCode {
    match action {
        ConfigCommand::Path => {
            println!("{}", path.display());
            ExitCode::SUCCESS
        }
        ConfigCommand::Init { .. } => {
            if path.exists() {
                return fail(t!("backup.exists", locale = locale, file = path.display()));
            }
            match config::settings::write_atomically(path, &config::settings::template()) {
                Ok(()) => {
                    println!("{}", t!("settings.written", locale = locale, file = path.display()));
                    ExitCode::SUCCESS
                }
                Err(e) => fail(t!("cli.cannot_write", locale = locale, file = path.display(), detail = e.to_string())),
            }
        }
        ConfigCommand::Check => match config::settings::load(path) {
            Ok(Some(_)) => {
                println!("{}", t!("settings.ok", locale = locale, file = path.display()));
                ExitCode::SUCCESS
            }
            Ok(None) => {
                println!("{}", t!("settings.none", locale = locale, file = path.display()));
                ExitCode::SUCCESS
            }
            Err(problems) => {
                eprintln!("{}", t!("settings.header", locale = locale, file = path.display()));
                for p in problems {
                    eprintln!("  {}", p.localized(locale));
                }
                ExitCode::from(2)
            }
        },
    }
}

fn backup(data_dir: &Path, store: &StoreSettings, file: Option<&Path>, locale: &str) -> ExitCode {
    let ledger = match open_ledger(data_dir, store, locale) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let done = match file {
        Some(f) => ledger.backup_to(f).map(|()| f.to_path_buf()),
        None => crate::ledger::backup::backup_into(&ledger, &data_dir.join("backups"), usize::MAX, Utc::now()),
    };
    match done {
        Ok(path) => {
            println!("{}", t!("backup.written", locale = locale, file = path.display()));
            ExitCode::SUCCESS
        }
        Err(e) => fail(e.localized(locale)),
    }
}

fn restore(
    data_dir: &Path,
    store: &StoreSettings,
    head_office: Option<&crate::store::HeadOffice>,
    file: &Path,
    by: Option<&str>,
    older: bool,
    locale: &str,
) -> ExitCode {
    use crate::ledger::backup::{self, BackupError};
    let db = config::ledger_path(data_dir);
    let held = head_office.and_then(|ho| ask_head_office(ho, locale));
    let known = held.as_ref().map_or((0, 0), |(_, numbers)| *numbers);
    let plan = match backup::plan_restore(file, &db, known) {
        Ok(p) => p,
        Err(e) => return fail(e.localized(locale)),
    };
    // Said before anything is asked or done.
    println!(
        "{}",
        t!(
            "backup.plan",
            locale = locale,
            anchor = plan.backup_head.map_or_else(|| "-".to_string(), |h| h.anchor().to_string()),
            entries = plan.entries_lost,
            receipts = plan.receipts_lost,
            receipt = plan.receipt_floor + 1,
            z = plan.z_floor + 1
        )
    );
    if plan.replaced_problems > 0 {
        if !older {
            return fail(BackupError::ReplacedUnsound { problems: plan.replaced_problems }.localized(locale));
        }
        println!("{}", t!("backup.replacing_unsound", locale = locale, problems = plan.replaced_problems));
    }
    if plan.entries_lost > 0 && !older {
        return fail(BackupError::Older { entries: plan.entries_lost, receipts: plan.receipts_lost }.localized(locale));
    }
    if let Some((held, _)) = &held
        && let Err(code) = backup_against_head_office(held, file, older, locale)
    {
        return code;
    }
    // The installer approves from the ledger being replaced; from the backup's (which verifies)
    // when there is none, or when it does not verify: its users may have been edited too.
    let approver_file = if db.exists() && plan.replaced_problems == 0 { db.clone() } else { file.to_path_buf() };
    let mut approver = match Ledger::open_read_only(&approver_file).map(|l| (l.register().to_string(), l.currency())) {
        Ok((register, currency)) if !register.is_empty() => match Ledger::open(&approver_file, &register, currency) {
            Ok(l) => l,
            Err(e) => return fail(e.localized(locale)),
        },
        _ => match open_ledger(data_dir, store, locale) {
            Ok(l) => l,
            Err(code) => return code,
        },
    };
    let approval = match approve::approval(&mut approver, by, crate::auth::Permission::Settings, locale) {
        Ok(a) => a,
        Err(code) => return code,
    };
    drop(approver);
    match backup::restore(file, &db, &data_dir.join("backups"), &approval, older, known, Utc::now()) {
        Ok((Some(replaced), _)) => {
            println!("{}", t!("backup.restored", locale = locale, file = replaced.copy.display()));
            if replaced.problems > 0 {
                println!("{}", t!("backup.replaced_unsound", locale = locale));
            }
            ExitCode::SUCCESS
        }
        Ok((None, _)) => {
            println!("{}", t!("backup.restored_new", locale = locale));
            ExitCode::SUCCESS
        }
        Err(e) => fail(e.localized(locale)),
    }
}

/// What the head office holds of this register before a restore: its head, and the highest
/// receipt and Z numbers (where the ledger itself is gone — a disk that died — only the head
/// office knows them). None, said, when it cannot be asked: the restore goes on without it.
fn ask_head_office(
    head_office: &crate::store::HeadOffice,
    locale: &str,
) -> Option<(crate::store::ship::HeldHead, (i64, i64))> {
    use crate::store::ship;
    let asked = head_office.connect().and_then(|mut c| Ok((ship::held_head(&mut c)?, ship::held_numbers(&mut c)?)));
    match asked {
        Ok(held) => Some(held),
        Err(e) => {
            eprintln!("{}", t!("backup.head_office_unasked", locale = locale, detail = e.localized(locale)));
            None
        }
    }
}

/// A backup that does not hold the chain the head office holds of this register (its head, with
/// its hash) leaves the register unable to ship again — what it sells from then on is another
/// history than the one held. Refused unless `older`, said either way.
fn backup_against_head_office(
    held: &crate::store::ship::HeldHead,
    file: &Path,
    older: bool,
    locale: &str,
) -> Result<(), ExitCode> {
    if held.seq == 0 {
        return Ok(());
    }
    let backup = Ledger::open_read_only(file).map_err(|e| fail(e.localized(locale)))?;
    let ends = backup.head().map_err(|e| fail(e.localized(locale)))?.map_or(0, |h| h.seq);
    let at_head = backup.entries_after(held.seq - 1, 1).map_err(|e| fail(e.localized(locale)))?;
    let said = if ends < held.seq {
        t!("backup.head_office_ahead", locale = locale, held = held.seq, ends = ends, from = ends + 1)
    } else if at_head.first().is_none_or(|e| e.seq != held.seq || e.hash != held.hash) {
        t!("backup.head_office_other", locale = locale, seq = held.seq)
    } else {
        return Ok(());
    };
    if !older {
        return Err(fail(format!("{said} {}", t!("backup.head_office_older", locale = locale))));
    }
    println!("{said}");
    Ok(())
}

fn catalog_import(data_dir: &Path, store: &StoreSettings, file: &Path, by: Option<&str>, locale: &str) -> ExitCode {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            return fail(t!("cli.cannot_read", locale = locale, file = file.display(), detail = e.to_string()));
        }
    };
    let mut ledger = match open_ledger(data_dir, store, locale) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let approval = match approve::approval_in_store(&mut ledger, by, crate::auth::Permission::Catalog, locale) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let owner = |code: &str| ledger.barcode_owner(code).ok().flatten();
    let parsed = import::parse_csv(bytes.as_slice(), store.currency, &store.tax_class_codes(), &owner);
    let products = match parsed {
        Ok(p) => p,
        Err(errors) => {
            for e in &errors {
                eprintln!("{}", e.localized(locale));
            }
            return fail(t!("cli.import_refused", locale = locale, count = errors.len()));
        }
    };
    let digest = crate::ledger::records::sha256_hex(&bytes);
    let by = approval.as_ref().map_or("no installer yet", |a| a.by());
    let source = format!("{} sha256:{digest} by {by}", file.display());
    match ledger.save_products(&products, &source, Utc::now()) {
        Ok(_) => {
            println!("{}", t!("cli.imported", locale = locale, count = products.len()));
            ExitCode::SUCCESS
        }
        Err(e) => fail(e.localized(locale)),
    }
}

fn ledger_verify(
    data_dir: &Path,
    anchors: &[String],
    head_office: Option<&crate::store::HeadOffice>,
    locale: &str,
) -> ExitCode {
    let mut parsed = Vec::new();
    for a in anchors {
        match crate::ledger::Anchor::parse(a) {
            Some(anchor) => parsed.push(anchor),
            None => return fail(t!("cli.bad_anchor", locale = locale, value = a)),
        }
    }
    // The head office's copy is the anchor of record: the chain must still hold what it shipped.
    if let Some(ho) = head_office {
        let held = ho.connect().and_then(|mut c| crate::store::ship::held_head(&mut c));
        match held {
            Ok(held) if held.seq > 0 => match <[u8; 32]>::try_from(held.hash.as_slice()) {
                Ok(hash) => {
                    let anchor = crate::ledger::Head { seq: held.seq, hash }.anchor();
                    println!("{}", t!("store.verify_against", locale = locale, anchor = anchor.to_string()));
                    parsed.push(anchor);
                }
                Err(_) => eprintln!("{}", t!("store.verify_unreachable", locale = locale, detail = "bad hash")),
            },
            Ok(_) => {}
            Err(e) => eprintln!("{}", t!("store.verify_unreachable", locale = locale, detail = e.localized(locale))),
        }
    }
    let path = config::ledger_path(data_dir);
    let ledger = match Ledger::open_read_only(&path) {
        Ok(l) => l,
        Err(e) => return fail(e.localized(locale)),
    };
    let report = match ledger.verify_against(&parsed) {
        Ok(r) => r,
        Err(e) => return fail(e.localized(locale)),
    };
    let (head_seq, head_hash) = report.head.map_or((0, String::from("-")), |h| (h.seq, h.hash_hex()));
    if report.is_sound() {
        println!(
            "{}",
            t!(
                "cli.verify_ok",
                locale = locale,
                entries = report.entries,
                sales = report.sales,
                seq = head_seq,
                hash = head_hash
            )
        );
        ExitCode::SUCCESS
    } else {
        for p in &report.problems {
            eprintln!("{}", p.localized(locale));
        }
        fail(t!("cli.verify_failed", locale = locale, count = report.problems.len(), entries = report.entries))
    }
}

/// The anchors a person can collect: the chain's head now, the last Z's, the last backup's (by its
/// name, in the backup folder and the data directory's `backups`).
fn ledger_anchors(data_dir: &Path, backup: &config::settings::BackupSettings, locale: &str) -> ExitCode {
    let ledger = match Ledger::open_read_only(&config::ledger_path(data_dir)) {
        Ok(l) => l,
        Err(e) => return fail(e.localized(locale)),
    };
    match ledger.anchor() {
        Ok(Some(a)) => println!("{}", t!("cli.anchor_head", locale = locale, anchor = a)),
        Ok(None) => println!("{}", t!("cli.anchor_none", locale = locale)),
        Err(e) => return fail(e.localized(locale)),
    }
    match ledger.last_z_anchor() {
        Ok(Some((z, a))) => println!("{}", t!("cli.anchor_z", locale = locale, z = z, anchor = a)),
        Ok(None) => {}
        Err(e) => return fail(e.localized(locale)),
    }
    let mut dirs = vec![data_dir.join("backups")];
    dirs.extend(backup.folder.clone());
    let mut newest: Option<(String, crate::ledger::Anchor)> = None;
    for dir in dirs {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(a) = crate::ledger::backup::anchor_in_name(&name)
                && newest.as_ref().is_none_or(|(n, _)| name > *n)
            {
                newest = Some((name, a));
            }
        }
    }
    if let Some((name, a)) = newest {
        println!("{}", t!("cli.anchor_backup", locale = locale, file = name, anchor = a));
    }
    ExitCode::SUCCESS
}

fn soak(kills: u32, seed: u64, dir: Option<PathBuf>) -> ExitCode {
    let dir = dir.unwrap_or_else(crate::soak::default_dir);
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return fail(e.to_string()),
    };
    println!("{}", dir.display());
    match crate::soak::run(&exe, &dir, kills, seed, |p| eprintln!("{p}")) {
        Ok(report) => {
            println!("{report}");
            if report.holds() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Err(e) => fail(e.to_string()),
    }
}

struct SimulateArgs {
    sales: u64,
    seed: u64,
    card_share: f64,
    terminal: Option<String>,
    printer: Option<String>,
    /// The installer who approves, on a configured till.
    by: Option<String>,
    configured: bool,
}

fn simulate(data_dir: &Path, store: &StoreSettings, args: SimulateArgs, locale: &str) -> ExitCode {
    let SimulateArgs { sales, seed, card_share, terminal, printer, by, configured } = args;
    let mut printer = match printer.as_deref().map(|spec| print::open(spec, store.printer_model, locale)).transpose() {
        Ok(p) => p,
        Err(code) => return code,
    };
    let mut not_printed = 0usize;
    if !(0.0..=1.0).contains(&card_share) {
        return fail(t!("cli.bad_card_share", locale = locale, value = card_share));
    }
    let mut ledger = match open_ledger(data_dir, store, locale) {
        Ok(l) => l,
        Err(code) => return code,
    };
    // On a configured till the simulation writes into the store's ledger: an installer approves,
    // the approval is journaled, and every sale carries the training flag (below).
    let store_ledger = match crate::admin::has_installer(&ledger) {
        Ok(has) => has,
        Err(e) => return fail(e.localized(locale)),
    };
    if configured || store_ledger {
        match approve::approval(&mut ledger, by.as_deref(), crate::auth::Permission::Settings, locale) {
            Ok(a) => {
                if let Err(e) = ledger.append("simulation_approved", &[("by", a.by().to_string())], Utc::now()) {
                    return fail(e.localized(locale));
                }
            }
            Err(code) => return code,
        }
    }
    let catalog = match crate::demo::load_catalog(&mut ledger, store, true) {
        Ok(c) => c,
        Err(e) => return fail(e.to_string()),
    };
    let now = Utc::now();
    match ledger.current_day() {
        // A store's day is opened at the till, with its float: a rehearsal opens none.
        Ok(None) if configured || store_ledger => return fail(t!("cli.simulate_needs_open_day", locale = locale)),
        Ok(_) if configured || store_ledger => {}
        Ok(Some(_)) => {}
        Ok(None) => {
            let float = Money::from_minor(500 * 10i64.pow(store.currency.minor_units), store.currency)
                .unwrap_or(Money::zero(store.currency));
            if let Err(e) = ledger.open_day(float, now.with_timezone(&Local).date_naive(), now) {
                return fail(e.localized(locale));
            }
        }
        Err(e) => return fail(e.localized(locale)),
    }
    let ctx = PostContext { cashier: "simulate".into(), training: true };
    // Card payments go through a real ZVT line: a configured terminal, or the emulator.
    let mut card_terminal = None;
    if card_share > 0.0 {
        match terminal::open_for_simulation(terminal.as_deref(), data_dir, store, locale) {
            Ok(t) => card_terminal = Some(t),
            Err(code) => return code,
        }
    }
    if let Some(t) = card_terminal.as_mut()
        && let Err(e) = crate::card::recover(&mut ledger, t.terminal.as_mut())
    {
        return fail(crate::simulate::SimulateError::Card(e).localized(locale));
    }
    let options = crate::simulate::Options {
        count: sales,
        seed,
        card: card_terminal
            .as_mut()
            .map(|t| (t.terminal.as_mut() as &mut dyn crate::terminal::PaymentTerminal, card_share)),
    };
    let mut first = None;
    let mut last = 0;
    let mut total: i64 = 0;
    let result =
        crate::simulate::run(&mut ledger, &catalog, &store.sale_settings(), &ctx, options, |ledger, sale, posted| {
            first.get_or_insert(posted.receipt_no);
            last = posted.receipt_no;
            total += sale.totals().total.minor();
            if let Some(port) = printer.as_mut() {
                let ledger = std::cell::RefCell::new(ledger);
                let printed = crate::print_queue::print_sale(&ledger, port.as_mut(), store, posted.receipt_no, false)?;
                if !matches!(printed.result, crate::printer::driver::JobResult::Printed { .. }) {
                    not_printed += 1;
                }
                // And a card payment's slip for the cardholder to sign, as at the counter.
                not_printed += printed
                    .slips
                    .iter()
                    .filter(|(_, r)| !matches!(r, crate::printer::driver::JobResult::Printed { .. }))
                    .count();
            }
            Ok(())
        });
    if let Err(e) = result {
        return fail(e.localized(locale));
    }
    if not_printed > 0 {
        eprintln!("{}", t!("cli.not_printed", locale = locale, count = not_printed));
    }
    let total = Money::from_minor(total, store.currency).map_or_else(|_| total.to_string(), |m| m.to_string());
    println!(
        "{}",
        t!(
            "cli.simulated",
            locale = locale,
            count = sales,
            first = first.unwrap_or(0),
            last = last,
            total = total,
            currency = store.currency.code
        )
    );
    ExitCode::SUCCESS
}
