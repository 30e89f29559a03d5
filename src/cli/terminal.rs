//! `till emulate terminal …` and `till terminal …`: the PIN pad from a shell, for installers
//! (cabling, settings, a test payment) and for rehearsals without hardware.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use rust_i18n::t;
use serialport::TTYPort;

use super::fail;
use crate::card::{self, CardOp};
use crate::config::{self, StoreSettings};
use crate::ledger::Ledger;
use crate::money::{Currency, Money};
use crate::terminal::emulator::{Control, Emulator, EmulatorConfig, Scenario};
use crate::terminal::zvt::session::Session;
use crate::terminal::zvt::transport::{SerialTransport, TcpTransport, Timers};
use crate::terminal::{ExpectedIdentity, Outcome, PaymentTerminal, TerminalError, ZvtTerminal};

/// Where the terminal is and how to talk to it.
#[derive(Args, Debug, Clone)]
pub struct LineArgs {
    /// Serial port (or pseudo-terminal) of the terminal.
    #[arg(long, value_name = "PATH", global = true, conflicts_with = "tcp")]
    pub port: Option<PathBuf>,
    /// The terminal on the shop's network, HOST:PORT (ZVT's port is 20007).
    #[arg(long, value_name = "HOST:PORT", global = true)]
    pub tcp: Option<String>,
    /// Baud rate (ZVT: 9600 8N2 by default).
    #[arg(long, default_value_t = 9600, global = true)]
    pub baud: u32,
    /// The terminal's 6-digit password.
    #[arg(long, default_value_t = 123456, global = true)]
    pub password: u32,
    /// The terminal id the acquirer gave this shop: a payment reporting another is refused.
    #[arg(long, value_name = "ID", global = true)]
    pub expect_terminal_id: Option<String>,
    /// The merchant (VU) number the acquirer gave this shop.
    #[arg(long, value_name = "NO", global = true)]
    pub expect_merchant: Option<String>,
    /// T2 (wait for ACK) in milliseconds; 5000 per the specification.
    #[arg(long, default_value_t = 5000, hide = true, global = true)]
    pub t2_ms: u64,
    /// T3 (wait for an answer) in milliseconds; 5000 per the specification.
    #[arg(long, default_value_t = 5000, hide = true, global = true)]
    pub t3_ms: u64,
    /// T4 (wait for completion) in seconds; 180 per the specification.
    #[arg(long, default_value_t = 180, hide = true, global = true)]
    pub t4_s: u64,
}

impl LineArgs {
    fn timers(&self) -> Timers {
        Timers {
            t2: Duration::from_millis(self.t2_ms),
            t3: Duration::from_millis(self.t3_ms),
            t4: Duration::from_secs(self.t4_s),
            ..Timers::default()
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum TerminalCommand {
    /// Status enquiry: is the terminal there and ready?
    Status,
    /// Registration (签到): the terminal id and currency it reports.
    Register,
    /// Diagnosis.
    Diagnosis,
    /// A test payment of AMOUNT (e.g. 0.01) that reverses itself at once: the cabling and the
    /// acquirer checked end to end; both are posted, so the Z sees them (a manager's approval).
    Pay {
        amount: String,
        #[command(flatten)]
        manager: super::report::ManagerArgs,
    },
    /// Reverse (cancel) the terminal's transaction RECEIPT-NO when no sale carries it (a test
    /// payment left over); a sale's payment is refunded at the counter (a manager's approval).
    Reverse {
        /// The terminal's receipt number: 4 BCD digits (1–9999).
        #[arg(value_parser = clap::value_parser!(u16).range(1..=9999))]
        receipt: u16,
        #[command(flatten)]
        manager: super::report::ManagerArgs,
    },
    /// Settle an open card payment by the terminal's own journal or receipt (the last resort,
    /// journaled with the manager's approval and the note).
    Settle {
        intent: i64,
        /// The terminal booked it under this receipt number.
        #[arg(long, value_name = "RECEIPT", conflicts_with = "not_booked", required_unless_present = "not_booked")]
        booked: Option<u16>,
        /// The trace number on the terminal's receipt, when it shows one.
        #[arg(long, requires = "booked")]
        trace: Option<u32>,
        /// The terminal's journal shows it was not booked.
        #[arg(long)]
        not_booked: bool,
        /// What the terminal's journal or receipt shows.
        #[arg(long)]
        note: String,
        #[command(flatten)]
        manager: super::report::ManagerArgs,
    },
    /// End-of-day: the terminal's totals per card type (closes the acquirer's batch: a manager's
    /// approval).
    EndOfDay {
        #[command(flatten)]
        manager: super::report::ManagerArgs,
    },
    /// Resolve card payments whose outcome is unknown (after a crash or a pulled cable).
    Recover,
}

#[derive(Args, Debug)]
pub struct EmulateTerminalArgs {
    /// Serve on this serial port.
    #[arg(long, value_name = "PATH", conflicts_with = "pty")]
    pub port: Option<PathBuf>,
    /// Create a pseudo-terminal and print the path the till should open.
    #[arg(long)]
    pub pty: bool,
    /// Listen for tills on this address, e.g. 127.0.0.1:20007.
    #[arg(long, value_name = "ADDR", conflicts_with_all = ["port", "pty"])]
    pub tcp: Option<String>,
    #[arg(long, default_value = "CNY")]
    pub currency: String,
    #[arg(long, default_value_t = 123456)]
    pub password: u32,
    #[arg(long, default_value = "52500038")]
    pub terminal_id: String,
    #[arg(long, default_value = "455600000012345")]
    pub merchant: String,
    /// approve, decline:CODE (hex), stop-key, card-timeout, silent, eod-fails, eod-total-only, eod-print-only, eod-answer-lost, crc-0x10, long-print, answer-lost, power-loss, status-no-version, insert-card-timeout.
    #[arg(long, default_value = "approve")]
    pub scenario: String,
    /// The terminal's batch (turnover store, receipt and trace numbers) lives here.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    #[arg(long, default_value_t = 5000, hide = true)]
    pub t2_ms: u64,
    #[arg(long, default_value_t = 5000, hide = true)]
    pub t3_ms: u64,
}

/// Opens a serial port as ZVT wants it: 8 data bits, no parity, 2 stop bits, no handshake.
/// Whatever waited in the port's buffers (a terminal's last words to a till that had gone) is
/// dropped: it answers nothing this till asked.
fn open_port(path: &Path, baud: u32) -> Result<TTYPort, serialport::Error> {
    crate::terminal::zvt::transport::open_serial(path, baud)
}

pub fn emulate(args: &EmulateTerminalArgs, locale: &str) -> ExitCode {
    let Ok(currency) = Currency::from_code(&args.currency) else {
        return fail(t!("error.money.unknown_currency", locale = locale, value = args.currency));
    };
    let Some(scenario) = Scenario::parse(&args.scenario) else {
        return fail(t!("cli.bad_scenario", locale = locale, value = args.scenario));
    };
    let timers =
        Timers { t2: Duration::from_millis(args.t2_ms), t3: Duration::from_millis(args.t3_ms), ..Timers::default() };
    let config = EmulatorConfig {
        password: args.password,
        currency: currency.numeric,
        terminal_id: args.terminal_id.clone(),
        merchant_no: args.merchant.clone(),
        scenario,
        ..EmulatorConfig::default()
    };
    if let Some(addr) = &args.tcp {
        return emulate_tcp(addr, config, timers, args.state.clone(), locale);
    }
    let (line, _far_end) = match super::emulator_line(args.pty, args.port.as_deref(), |p| open_port(p, 9600), locale) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let mut emulator = match Emulator::new(SerialTransport::new(line, timers), config, args.state.clone()) {
        Ok(e) => e.with_controls(super::controls_from_stdin(Control::parse, "cli.bad_scenario", locale)),
        Err(e) => return fail(e.to_string()),
    };
    match emulator.run(Duration::from_millis(200), &|| true) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e.to_string()),
    }
}

/// Serves tills over TCP, one connection at a time; the batch lives in the state file.
fn emulate_tcp(addr: &str, config: EmulatorConfig, timers: Timers, state: Option<PathBuf>, locale: &str) -> ExitCode {
    let listener = match std::net::TcpListener::bind(addr) {
        Ok(l) => l,
        Err(e) => return fail(t!("cli.cannot_open_port", locale = locale, port = addr, detail = e.to_string())),
    };
    println!("{}", listener.local_addr().map(|a| a.to_string()).unwrap_or_default());
    use std::io::Write;
    let _ = std::io::stdout().flush();
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let Ok(transport) = TcpTransport::new(stream, timers) else { continue };
        match Emulator::new(transport, config.clone(), state.clone()) {
            Ok(mut emulator) => {
                let _ = emulator.run(Duration::from_millis(200), &|| true);
            }
            Err(e) => return fail(e.to_string()),
        }
    }
    ExitCode::SUCCESS
}

fn describe(outcome: &Outcome, currency: Currency, locale: &str) -> String {
    match outcome {
        Outcome::Approved(a) => t!(
            "cli.card_approved",
            locale = locale,
            amount = Money::from_minor(a.amount_minor as i64, currency)
                .map_or(a.amount_minor.to_string(), |m| m.to_string()),
            pan = a.masked_pan,
            card = a.card_name,
            receipt = a.receipt_no,
            trace = a.trace
        )
        .into_owned(),
        Outcome::Declined { code } => {
            t!("cli.card_declined", locale = locale, code = format!("{code:02X}")).into_owned()
        }
        Outcome::Aborted { code } => t!("cli.card_aborted", locale = locale, code = format!("{code:02X}")).into_owned(),
        Outcome::IdentityMismatch { terminal_id, merchant_no } => {
            t!("cli.card_identity_mismatch", locale = locale, tid = terminal_id, merchant = merchant_no).into_owned()
        }
        Outcome::Unknown { reason } => t!("cli.card_unknown", locale = locale, reason = reason).into_owned(),
    }
}

fn terminal_error(e: &TerminalError, locale: &str) -> String {
    e.localized(locale)
}

/// The terminal on a serial port or over TCP.
pub(super) fn connect(
    line: &LineArgs,
    store: &StoreSettings,
    locale: &str,
) -> Result<Box<dyn PaymentTerminal>, ExitCode> {
    let expected =
        ExpectedIdentity { terminal_id: line.expect_terminal_id.clone(), merchant_no: line.expect_merchant.clone() };
    if let Some(addr) = &line.tcp {
        let transport = TcpTransport::connect(addr, line.timers())
            .map_err(|e| fail(t!("cli.cannot_open_port", locale = locale, port = addr, detail = e.to_string())))?;
        return Ok(Box::new(ZvtTerminal::new(
            Session::new(transport),
            line.password,
            store.currency.numeric,
            expected,
        )));
    }
    let Some(path) = &line.port else { return Err(fail(t!("cli.need_port", locale = locale))) };
    let port = open_port(path, line.baud).map_err(|e| {
        fail(t!("cli.cannot_open_port", locale = locale, port = path.display(), detail = e.to_string()))
    })?;
    let session = Session::new(SerialTransport::new(port, line.timers()));
    Ok(Box::new(ZvtTerminal::new(session, line.password, store.currency.numeric, expected)))
}

pub fn run(
    data_dir: &Path,
    store: &StoreSettings,
    line: &LineArgs,
    command: &TerminalCommand,
    locale: &str,
) -> ExitCode {
    let needs_ledger = matches!(
        command,
        TerminalCommand::Pay { .. }
            | TerminalCommand::Reverse { .. }
            | TerminalCommand::Recover
            | TerminalCommand::Settle { .. }
            | TerminalCommand::EndOfDay { .. }
    );
    let mut ledger = if needs_ledger {
        match Ledger::open(&config::ledger_path(data_dir), &store.register, store.currency) {
            Ok(l) => Some(l),
            Err(e) => return fail(e.localized(locale)),
        }
    } else {
        None
    };
    // The shell moves no money unattended: a manager's approval, checked before the terminal.
    let approval = match (command, ledger.as_mut()) {
        (
            TerminalCommand::Pay { manager, .. }
            | TerminalCommand::Reverse { manager, .. }
            | TerminalCommand::Settle { manager, .. }
            | TerminalCommand::EndOfDay { manager },
            Some(ledger),
        ) => match manager.approval(ledger, locale) {
            Ok(a) => Some(a),
            Err(code) => return code,
        },
        _ => None,
    };
    // The terminal only once the approval stands: a command refused never reaches it.
    let mut terminal: Box<dyn PaymentTerminal> = match connect(line, store, locale) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let terminal = terminal.as_mut();
    if let (TerminalCommand::Settle { intent, booked, trace, note, .. }, Some(ledger), Some(approval)) =
        (command, ledger.as_mut(), approval.as_ref())
    {
        let evidence = match booked {
            Some(receipt_no) => card::Evidence::Booked { receipt_no: *receipt_no, trace: *trace },
            None => card::Evidence::NotBooked,
        };
        return match card::settle(ledger, *intent, &evidence, note, approval) {
            Ok(()) => {
                println!("{}", t!("cli.settled", locale = locale, intent = intent));
                ExitCode::SUCCESS
            }
            Err(e) => fail(e.localized(locale)),
        };
    }
    // Open card payments are settled before any new one.
    if let Some(ledger) = ledger.as_mut() {
        match card::recover(ledger, terminal).and_then(|done| {
            let undone = card::reverse_test_payments(ledger, terminal)?;
            Ok((done, undone))
        }) {
            Ok((done, undone)) => {
                for receipt in undone {
                    println!("{}", t!("cli.test_payment_reversed", locale = locale, receipt = receipt));
                }
                for r in done {
                    println!(
                        "{}",
                        match &r.verdict {
                            card::Verdict::Booked(a) => t!(
                                "cli.recovered_booked",
                                locale = locale,
                                intent = r.intent.intent_id,
                                receipt = a.receipt_no
                            ),
                            card::Verdict::NotBooked => {
                                t!("cli.recovered_not_booked", locale = locale, intent = r.intent.intent_id)
                            }
                            card::Verdict::Unknown => {
                                t!("cli.recovered_unknown", locale = locale, intent = r.intent.intent_id)
                            }
                        }
                    );
                }
            }
            Err(card::CardError::Terminal(e)) => return fail(terminal_error(&e, locale)),
            Err(e) => return fail(e.localized(locale)),
        }
    }
    let card_run = |ledger: &mut Option<Ledger>, terminal: &mut dyn PaymentTerminal, op: CardOp, amount: u64| {
        let Some(ledger) = ledger.as_mut() else { return fail("no ledger") };
        let run = card::run(ledger, terminal, op, amount, card::TEST_PAYMENT).and_then(|paid| {
            // A test payment is reversed at once; were the till killed in between, the next
            // `till terminal` command reverses it (`reverse_test_payments`).
            let undone = card::reverse_test_payments(ledger, terminal)?;
            Ok((paid, undone))
        });
        match run {
            Ok((paid, undone)) => {
                println!("{}", describe(&paid.outcome, store.currency, locale));
                for receipt in undone {
                    println!("{}", t!("cli.test_payment_reversed", locale = locale, receipt = receipt));
                }
                if matches!(paid.outcome, Outcome::Approved(_)) { ExitCode::SUCCESS } else { ExitCode::FAILURE }
            }
            Err(card::CardError::Terminal(e)) => fail(terminal_error(&e, locale)),
            Err(e) => fail(e.localized(locale)),
        }
    };
    match command {
        TerminalCommand::Recover => ExitCode::SUCCESS,
        TerminalCommand::Pay { amount, .. } => match Money::parse(amount, store.currency) {
            Ok(m) if m.is_positive() => card_run(&mut ledger, terminal, CardOp::Pay, m.minor() as u64),
            Ok(_) => fail(t!("error.sale.tender_not_positive", locale = locale)),
            Err(e) => fail(e.localized(locale)),
        },
        TerminalCommand::Reverse { receipt, .. } => {
            let Some(l) = ledger.as_mut() else { return fail("no ledger") };
            match l.uncarried_payment(i64::from(*receipt)) {
                Ok(Some(amount)) => card_run(&mut ledger, terminal, CardOp::Reverse(*receipt), amount as u64),
                Ok(None) => fail(t!("cli.reverse_carried", locale = locale, receipt = receipt)),
                Err(e) => fail(e.localized(locale)),
            }
        }
        TerminalCommand::Settle { .. } => ExitCode::SUCCESS,
        TerminalCommand::Status | TerminalCommand::Register | TerminalCommand::Diagnosis => {
            let info = match command {
                TerminalCommand::Status => terminal.status(),
                TerminalCommand::Register => terminal.register(),
                _ => terminal.diagnosis(),
            };
            match info {
                Ok(i) => {
                    for receipt in &i.receipts {
                        println!("{}\n", receipt.text());
                    }
                    println!(
                        "{}",
                        t!(
                            "cli.terminal_info",
                            locale = locale,
                            tid = i.terminal_id.unwrap_or_default(),
                            status = format!("{:02X}", i.status.unwrap_or(0)),
                            version = i.sw_version.unwrap_or_default()
                        )
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(terminal_error(&e, locale)),
            }
        }
        // The terminal's batch must not close under a card payment the till has not settled or
        // posted yet: a sale in progress is voided by reversing its card payments in that batch.
        TerminalCommand::EndOfDay { .. }
            if ledger.as_ref().is_some_and(|l| crate::dayclose::open_work(l).is_ok_and(|w| !w.is_empty())) =>
        {
            let open = ledger.as_ref().and_then(|l| crate::dayclose::open_work(l).ok()).unwrap_or_default();
            fail(t!("report.error.open_work", locale = locale, what = open.join("; ")))
        }
        TerminalCommand::EndOfDay { .. } => match terminal.end_of_day() {
            Ok(eod) => {
                let money = |amount: u64| {
                    Money::from_minor(amount as i64, store.currency).map_or(amount.to_string(), |m| m.to_string())
                };
                // The terminal's own end-of-day receipt, as it printed it through the till.
                for receipt in &eod.receipts {
                    println!("{}\n", receipt.text());
                }
                if let Some(totals) = &eod.totals {
                    for (name, (count, amount)) in
                        crate::terminal::zvt::messages::CARD_FAMILIES.iter().zip(totals.by_card)
                    {
                        if count > 0 {
                            println!("{name}: {count} × {}", money(amount));
                        }
                    }
                }
                match (&eod.totals, eod.total_minor) {
                    (Some(totals), _) => println!(
                        "{}",
                        t!(
                            "cli.eod_total",
                            locale = locale,
                            count = totals.total_count(),
                            amount = money(totals.total_amount())
                        )
                    ),
                    (None, Some(total)) => {
                        println!("{}", t!("cli.eod_total_only", locale = locale, amount = money(total)))
                    }
                    (None, None) => println!("{}", t!("cli.eod_no_totals", locale = locale)),
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(terminal_error(&e, locale)),
        },
    }
}

/// A terminal for `till simulate`, and the emulator thread behind it when there is one.
pub struct SimulationTerminal {
    pub terminal: Box<dyn PaymentTerminal>,
    emulator: Option<(std::sync::Arc<std::sync::atomic::AtomicBool>, std::thread::JoinHandle<()>)>,
}

impl Drop for SimulationTerminal {
    fn drop(&mut self) {
        if let Some((stop, handle)) = self.emulator.take() {
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            let _ = handle.join();
        }
    }
}

/// `serial:PATH[:BAUD]` or `tcp:HOST:PORT`, or with no spec the built-in emulator on a pseudo-terminal pair (its
/// batch kept in the data dir, so a training day can be closed after a restart).
pub fn open_for_simulation(
    spec: Option<&str>,
    data_dir: &Path,
    store: &StoreSettings,
    locale: &str,
) -> Result<SimulationTerminal, ExitCode> {
    let timers = Timers::default();
    let (port, emulator) = match spec {
        Some(spec) if spec.starts_with("tcp:") => {
            let addr = &spec["tcp:".len()..];
            let stream = std::net::TcpStream::connect(addr)
                .map_err(|e| fail(t!("cli.cannot_open_port", locale = locale, port = addr, detail = e.to_string())))?;
            let transport = TcpTransport::new(stream, timers).map_err(|e| fail(e.to_string()))?;
            let terminal =
                ZvtTerminal::new(Session::new(transport), 123456, store.currency.numeric, ExpectedIdentity::default());
            return Ok(SimulationTerminal { terminal: Box::new(terminal), emulator: None });
        }
        Some(spec) => {
            let Some(rest) = spec.strip_prefix("serial:") else {
                return Err(fail(t!("cli.bad_terminal_spec", locale = locale, value = spec)));
            };
            let (path, baud) = match rest.rsplit_once(':') {
                Some((p, b)) if b.parse::<u32>().is_ok() => (p, b.parse().unwrap_or(9600)),
                _ => (rest, 9600),
            };
            let port = open_port(Path::new(path), baud)
                .map_err(|e| fail(t!("cli.cannot_open_port", locale = locale, port = path, detail = e.to_string())))?;
            (port, None)
        }
        None => {
            let (ours, theirs) = TTYPort::pair().map_err(|e| fail(e.to_string()))?;
            let config = EmulatorConfig {
                currency: store.currency.numeric,
                card_delay: Duration::ZERO,
                ..EmulatorConfig::default()
            };
            let state = data_dir.join("training-terminal.state");
            let mut emulator = Emulator::new(SerialTransport::new(theirs, timers), config, Some(state))
                .map_err(|e| fail(e.to_string()))?;
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let flag = stop.clone();
            let handle = std::thread::spawn(move || {
                let _ = emulator.run(Duration::from_millis(50), &|| !flag.load(std::sync::atomic::Ordering::SeqCst));
            });
            (ours, Some((stop, handle)))
        }
    };
    let session = Session::new(SerialTransport::new(port, timers));
    let terminal = ZvtTerminal::new(session, 123456, store.currency.numeric, ExpectedIdentity::default());
    Ok(SimulationTerminal { terminal: Box::new(terminal), emulator })
}
