//! The installer's setup as plain data, shared by the wizard (`ui/wizard.rs`) and `till setup …`:
//! the settings being made (`Draft`, typed text until it is checked), the serial ports with their
//! USB identity, the device tests (terminal registration, status and diagnosis; printer status and
//! test page) with their answers in words, and `finish`, which writes the settings file and the
//! first installer — only on a till not yet set up, or with an installer's approval.
//!
//! A draft is checked by the same parser that reads the settings file at start: what the wizard
//! lets through is exactly what the till will start with.

use std::path::{Path, PathBuf};

use chrono::Utc;
use rust_decimal::Decimal;
use rust_i18n::t;
use toml::{Table, Value};

pub use crate::admin::NewUser;
use crate::admin::UserError;
use crate::auth::{Approval, Permission, User};
use crate::config::settings::{self, Settings, SettingsError};
use crate::ledger::{Ledger, LedgerError};
use crate::printer::driver::{self, JobResult, PrinterStatus};
use crate::terminal::zvt::session::Session;
use crate::terminal::zvt::transport::{SerialTransport, Timers, open_serial};
use crate::terminal::{ExpectedIdentity, PaymentTerminal, TerminalError, TerminalInfo, ZvtTerminal};

/// The PIN pad as the installer types it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalDraft {
    /// Empty: no PIN pad (cash and external tenders only).
    pub port: String,
    pub baud: String,
    pub password: String,
    /// The terminal id and merchant number the acquirer gave the shop.
    pub terminal_id: String,
    pub merchant_no: String,
    /// What the terminal itself reported at its last test.
    pub reported_id: Option<String>,
}

/// The receipt printer as the installer picks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterDraft {
    /// Empty: no printer.
    pub port: String,
    /// A printer device file (`/dev/usb/lp0`) rather than a serial port.
    pub device_file: bool,
    pub baud: String,
    /// `8N1` and the like.
    pub framing: String,
}

impl PrinterDraft {
    /// The printer spec the settings file and `open_spec` take.
    pub fn spec(&self) -> Option<String> {
        let port = self.port.trim();
        if port.is_empty() {
            None
        } else if self.device_file {
            Some(format!("file:{port}"))
        } else {
            Some(format!("serial:{port}:{}:{}", self.baud.trim(), self.framing.trim()))
        }
    }
}

/// A tax class as typed: its code and its rate in percent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxDraft {
    pub code: String,
    pub rate: String,
}

/// The settings being made, as typed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub name: String,
    pub address: String,
    pub tax_id: String,
    pub merchant_no: String,
    pub mcc: String,
    pub register: String,
    pub currency: String,
    pub prices_include_tax: bool,
    pub void_approval_over: String,
    /// Refunds above this need a manager (0: every refund).
    pub refund_approval_over: String,
    /// Percent.
    pub discount_approval_over: String,
    /// One line per line of the receipt.
    pub receipt_header: String,
    pub receipt_footer: String,
    pub screen_locale: String,
    pub receipt_locale: String,
    /// The printer profile's id.
    pub printer_model: String,
    /// Kept from the settings file (the wizard does not ask: most drawers are on pin 2).
    pub drawer_pin: Option<u8>,
    /// The logo's file, kept from the settings file.
    pub logo: String,
    pub tax_classes: Vec<TaxDraft>,
    pub terminal: TerminalDraft,
    pub printer: PrinterDraft,
    /// Where the backup after each Z goes (a USB stick, say); empty: beside the ledger.
    pub backup_folder: String,
    pub backups_kept: String,
    /// The head office's url (empty: none) and the register's password file.
    pub head_office_url: String,
    pub head_office_password_file: String,
}

impl Draft {
    /// The chosen printer's profile (the generic 80 mm one for an id no profile has).
    pub fn printer_profile(&self) -> &'static crate::printer::profile::Profile {
        crate::printer::profile::Profile::by_id(&self.printer_model)
            .unwrap_or_else(crate::printer::profile::Profile::generic_80)
    }

    /// A draft of the settings in force, or of a new store (the template's values) when there are none.
    pub fn new(current: Option<&Settings>) -> Draft {
        let fallback;
        let s = match current {
            Some(s) => s,
            None => {
                fallback = settings::parse(&settings::template()).ok();
                match &fallback {
                    Some(s) => s,
                    None => return Draft::empty(),
                }
            }
        };
        let store = &s.store;
        let lines = |l: &[String]| l.join("\n");
        let terminal = s.terminal.as_ref();
        let (printer_port, device_file, baud, framing) = match s.printer.as_deref().map(split_printer_spec) {
            Some((port, file, baud, framing)) => (port, file, baud, framing),
            None => (String::new(), false, "9600".into(), "8N1".into()),
        };
        Draft {
            name: if current.is_some() { store.store_name.clone() } else { String::new() },
            address: store.address.clone(),
            tax_id: store.tax_id.clone(),
            merchant_no: store.merchant_no.clone(),
            mcc: store.mcc.clone(),
            register: store.register.clone(),
            currency: store.currency.code.to_string(),
            prices_include_tax: store.prices_include_tax,
            void_approval_over: store.void_approval_over.to_string(),
            refund_approval_over: store.refund_approval_over.to_string(),
            discount_approval_over: store.discount_approval_over.normalize().to_string(),
            receipt_header: lines(&store.receipt_header),
            receipt_footer: lines(&store.receipt_footer),
            screen_locale: store.screen_locale.clone(),
            receipt_locale: store.receipt_locale.clone(),
            printer_model: store.printer_model.id.to_string(),
            drawer_pin: store.drawer_pin,
            logo: store.logo.as_ref().map(|(path, _)| path.clone()).unwrap_or_default(),
            tax_classes: store
                .tax_classes
                .iter()
                .map(|c| TaxDraft { code: c.code.clone(), rate: (c.rate * Decimal::from(100)).normalize().to_string() })
                .collect(),
            terminal: TerminalDraft {
                port: terminal.and_then(|t| t.port.as_ref()).map(|p| p.display().to_string()).unwrap_or_default(),
                baud: terminal.map_or(9600, |t| t.baud).to_string(),
                password: terminal.map_or(123456, |t| t.password).to_string(),
                terminal_id: terminal.and_then(|t| t.terminal_id.clone()).unwrap_or_default(),
                merchant_no: terminal.and_then(|t| t.merchant_no.clone()).unwrap_or_default(),
                reported_id: None,
            },
            printer: PrinterDraft { port: printer_port, device_file, baud, framing },
            backup_folder: s.backup.folder.as_ref().map(|f| f.display().to_string()).unwrap_or_default(),
            backups_kept: s.backup.keep.to_string(),
            head_office_url: s.head_office.as_ref().map(|h| h.url.clone()).unwrap_or_default(),
            head_office_password_file: s
                .head_office
                .as_ref()
                .and_then(|h| h.password_file.as_ref())
                .map(|f| f.display().to_string())
                .unwrap_or_default(),
        }
    }

    fn empty() -> Draft {
        Draft {
            name: String::new(),
            address: String::new(),
            tax_id: String::new(),
            merchant_no: String::new(),
            mcc: String::new(),
            register: "R1".into(),
            currency: "CNY".into(),
            prices_include_tax: true,
            void_approval_over: "50".into(),
            refund_approval_over: "0".into(),
            discount_approval_over: "10".into(),
            receipt_header: String::new(),
            receipt_footer: String::new(),
            screen_locale: "zh-CN".into(),
            receipt_locale: "zh-CN".into(),
            printer_model: crate::printer::profile::Profile::generic_80().id.to_string(),
            drawer_pin: None,
            logo: String::new(),
            tax_classes: Vec::new(),
            terminal: TerminalDraft {
                port: String::new(),
                baud: "9600".into(),
                password: "123456".into(),
                terminal_id: String::new(),
                merchant_no: String::new(),
                reported_id: None,
            },
            printer: PrinterDraft {
                port: String::new(),
                device_file: false,
                baud: "9600".into(),
                framing: "8N1".into(),
            },
            backup_folder: String::new(),
            backups_kept: settings::DEFAULT_BACKUPS_KEPT.to_string(),
            head_office_url: String::new(),
            head_office_password_file: String::new(),
        }
    }

    /// The settings file this draft makes. Numbers that do not parse are written as text, so
    /// that the check names their key.
    pub fn to_toml(&self) -> String {
        let number = |s: &str| match s.trim().parse::<i64>() {
            Ok(n) => Value::Integer(n),
            Err(_) => Value::String(s.trim().to_string()),
        };
        let lines = |s: &str| {
            Value::Array(s.lines().map(str::trim_end).filter(|l| !l.is_empty()).map(|l| l.to_string().into()).collect())
        };
        let mut store = Table::new();
        let text = |s: &str| Value::String(s.trim().to_string());
        if !self.name.trim().is_empty() {
            store.insert("name".into(), text(&self.name));
        }
        store.insert("address".into(), text(&self.address));
        store.insert("tax_id".into(), text(&self.tax_id));
        store.insert("merchant_no".into(), text(&self.merchant_no));
        store.insert("mcc".into(), text(&self.mcc));
        store.insert("register".into(), text(&self.register));
        store.insert("currency".into(), text(&self.currency));
        store.insert("prices_include_tax".into(), Value::Boolean(self.prices_include_tax));
        store.insert("void_approval_over".into(), text(&self.void_approval_over));
        store.insert("refund_approval_over".into(), text(&self.refund_approval_over));
        store.insert("discount_approval_over".into(), text(&self.discount_approval_over));
        store.insert("receipt_locale".into(), text(&self.receipt_locale));
        store.insert("screen_locale".into(), text(&self.screen_locale));
        store.insert("printer_model".into(), text(&self.printer_model));
        if !self.logo.is_empty() {
            store.insert("logo".into(), text(&self.logo));
        }
        if let Some(pin) = self.drawer_pin {
            store.insert("drawer_pin".into(), Value::Integer(i64::from(pin)));
        }
        store.insert("receipt_header".into(), lines(&self.receipt_header));
        store.insert("receipt_footer".into(), lines(&self.receipt_footer));
        let mut top = Table::new();
        top.insert("version".into(), Value::Integer(settings::VERSION));
        top.insert("store".into(), Value::Table(store));
        let classes = self
            .tax_classes
            .iter()
            .map(|c| {
                let mut t = Table::new();
                t.insert("code".into(), text(&c.code));
                t.insert("rate".into(), text(&c.rate));
                Value::Table(t)
            })
            .collect();
        top.insert("tax_class".into(), Value::Array(classes));
        let t = &self.terminal;
        if !t.port.trim().is_empty() {
            let mut terminal = Table::new();
            terminal.insert("port".into(), text(&t.port));
            terminal.insert("baud".into(), number(&t.baud));
            terminal.insert("password".into(), number(&t.password));
            let id = if t.terminal_id.trim().is_empty() {
                t.reported_id.clone().unwrap_or_default()
            } else {
                t.terminal_id.clone()
            };
            if !id.trim().is_empty() {
                terminal.insert("terminal_id".into(), text(&id));
            }
            if !t.merchant_no.trim().is_empty() {
                terminal.insert("merchant_no".into(), text(&t.merchant_no));
            }
            top.insert("terminal".into(), Value::Table(terminal));
        }
        if let Some(spec) = self.printer.spec() {
            let mut printer = Table::new();
            printer.insert("device".into(), Value::String(spec));
            top.insert("printer".into(), Value::Table(printer));
        }
        let mut backup = Table::new();
        if !self.backup_folder.trim().is_empty() {
            backup.insert("folder".into(), text(&self.backup_folder));
        }
        backup.insert("keep".into(), number(&self.backups_kept));
        top.insert("backup".into(), Value::Table(backup));
        if !self.head_office_url.trim().is_empty() {
            let mut head_office = Table::new();
            head_office.insert("url".into(), text(&self.head_office_url));
            if !self.head_office_password_file.trim().is_empty() {
                head_office.insert("password_file".into(), text(&self.head_office_password_file));
            }
            top.insert("head_office".into(), Value::Table(head_office));
        }
        toml::to_string(&top).unwrap_or_default()
    }

    /// Checks the draft as the till will read it at start, plus what only the wizard knows: the
    /// terminal id the terminal reported must be the one the acquirer gave.
    pub fn check(&self) -> Result<Settings, Vec<SettingsError>> {
        let mut problems = match settings::parse(&self.to_toml()) {
            Ok(s) => return self.check_identity().map(|()| s).map_err(|p| vec![p]),
            Err(p) => p,
        };
        if let Err(p) = self.check_identity() {
            problems.push(p);
        }
        Err(problems)
    }

    fn check_identity(&self) -> Result<(), SettingsError> {
        let t = &self.terminal;
        match &t.reported_id {
            Some(reported) if !t.terminal_id.trim().is_empty() && reported != t.terminal_id.trim() => {
                Err(SettingsError {
                    key: "terminal.terminal_id".into(),
                    problem: settings::Problem::IdentityMismatch {
                        reported: reported.clone(),
                        expected: t.terminal_id.trim().to_string(),
                    },
                })
            }
            _ => Ok(()),
        }
    }
}

/// `serial:PATH:BAUD:FRAMING` or `file:PATH` taken apart: (path, device file, baud, framing).
fn split_printer_spec(spec: &str) -> (String, bool, String, String) {
    if let Some(path) = spec.strip_prefix("file:") {
        return (path.to_string(), true, "9600".into(), "8N1".into());
    }
    let rest = spec.strip_prefix("serial:").unwrap_or(spec);
    let mut parts: Vec<&str> = rest.split(':').collect();
    let framing = if parts.len() > 2 && driver::Framing::parse(parts[parts.len() - 1]).is_some() {
        parts.pop().unwrap_or("8N1").to_string()
    } else {
        "8N1".into()
    };
    let baud = if parts.len() > 1 && parts[parts.len() - 1].parse::<u32>().is_ok() {
        parts.pop().unwrap_or("9600").to_string()
    } else {
        "9600".into()
    };
    (parts.join(":"), false, baud, framing)
}

/// A serial port and what it is, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    pub name: String,
    pub description: String,
}

/// The serial ports of this machine with their USB vendor, product and serial number.
pub fn ports(locale: &str) -> Result<Vec<PortInfo>, String> {
    let ports = serialport::available_ports().map_err(|e| e.to_string())?;
    Ok(ports
        .into_iter()
        .map(|p| {
            let description = match p.port_type {
                serialport::SerialPortType::UsbPort(u) => t!(
                    "setup.usb",
                    locale = locale,
                    vid = format!("{:04x}", u.vid),
                    pid = format!("{:04x}", u.pid),
                    maker = u.manufacturer.unwrap_or_default(),
                    product = u.product.unwrap_or_default(),
                    serial = u.serial_number.unwrap_or_default()
                )
                .into_owned(),
                serialport::SerialPortType::PciPort => t!("setup.pci", locale = locale).into_owned(),
                serialport::SerialPortType::BluetoothPort => t!("setup.bluetooth", locale = locale).into_owned(),
                serialport::SerialPortType::Unknown => t!("setup.unknown", locale = locale).into_owned(),
            };
            PortInfo { name: p.port_name, description }
        })
        .collect())
}

/// The terminal tests the installer can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminalTest {
    /// Registration (签到): the terminal id and currency it reports.
    Register,
    Status,
    Diagnosis,
}

/// Why a device test failed, in the installer's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestError {
    /// The port could not be opened.
    Open {
        port: String,
        detail: String,
    },
    /// A setting that is not a number.
    NotANumber(&'static str),
    Terminal(TerminalError),
    Printer(String),
}

impl TestError {
    pub fn localized(&self, locale: &str) -> String {
        match self {
            TestError::Open { port, detail } => {
                t!("cli.cannot_open_port", locale = locale, port = port, detail = detail).into_owned()
            }
            TestError::NotANumber(key) => {
                let kind = t!("settings.kind.number", locale = locale).into_owned();
                format!("{key}: {}", t!("settings.not_a", locale = locale, kind = kind))
            }
            TestError::Terminal(e) => {
                t!("setup.terminal_failed", locale = locale, detail = e.localized(locale)).into_owned()
            }
            TestError::Printer(detail) => {
                t!("setup.printer_test_failed", locale = locale, detail = detail).into_owned()
            }
        }
    }
}

/// Runs one test against the terminal the draft names; `currency` is the ISO numeric code.
pub fn test_terminal(
    draft: &TerminalDraft,
    currency: u16,
    test: TerminalTest,
    timers: Timers,
) -> Result<TerminalInfo, TestError> {
    let baud = draft.baud.trim().parse::<u32>().map_err(|_| TestError::NotANumber("terminal.baud"))?;
    let password = draft.password.trim().parse::<u32>().map_err(|_| TestError::NotANumber("terminal.password"))?;
    let path = PathBuf::from(draft.port.trim());
    let port = open_serial(&path, baud)
        .map_err(|e| TestError::Open { port: path.display().to_string(), detail: e.to_string() })?;
    let session = Session::new(SerialTransport::new(port, timers));
    let mut terminal = ZvtTerminal::new(session, password, currency, ExpectedIdentity::default());
    let info = match test {
        TerminalTest::Register => terminal.register(),
        TerminalTest::Status => terminal.status(),
        TerminalTest::Diagnosis => terminal.diagnosis(),
    };
    info.map_err(TestError::Terminal)
}

/// A terminal's answer in words: its id, its state, its software.
pub fn describe_terminal(info: &TerminalInfo, locale: &str) -> String {
    let needs = info.needs();
    let status = match info.status {
        _ if !needs.is_empty() => needs
            .iter()
            .map(|n| {
                let key = format!("setup.terminal_needs.{n}");
                t!(&key, locale = locale).into_owned()
            })
            .collect::<Vec<_>>()
            .join(", "),
        None if info.flags.is_some() => t!("setup.terminal_ready", locale = locale).into_owned(),
        None => t!("setup.terminal_status_none", locale = locale).into_owned(),
        Some(0x00) => t!("setup.terminal_ready", locale = locale).into_owned(),
        Some(0xF0) => t!("setup.terminal_needs_eod", locale = locale).into_owned(),
        Some(code) => t!("setup.terminal_status_code", locale = locale, code = format!("{code:02X}")).into_owned(),
    };
    t!(
        "setup.terminal_answer",
        locale = locale,
        tid = info.terminal_id.clone().unwrap_or_else(|| "—".into()),
        status = status,
        version = info.sw_version.clone().unwrap_or_else(|| "—".into())
    )
    .into_owned()
}

/// A printer status in words.
pub fn describe_printer(s: &PrinterStatus, locale: &str) -> String {
    if s.unknown {
        return t!("printer.status_unknown", locale = locale).into_owned();
    }
    let mut text = match s.problem_key() {
        Some(key) => t!(key, locale = locale).into_owned(),
        None => t!("printer.ready", locale = locale).into_owned(),
    };
    if s.paper_near_end && !s.paper_out {
        text = format!("{text}; {}", t!("printer.paper_near_end", locale = locale));
    }
    text
}

/// Asks the printer how it is (`page`: and prints the test page in `page_locale`); the answer in
/// words of `locale`.
pub fn test_printer(
    spec: &str,
    profile: &'static crate::printer::profile::Profile,
    page: Option<&str>,
    locale: &str,
) -> Result<String, TestError> {
    let mut port = driver::open_spec(spec, profile).map_err(|e| match e {
        driver::OpenError::BadSpec => {
            TestError::Printer(t!("cli.bad_printer_spec", locale = locale, value = spec).into_owned())
        }
        driver::OpenError::Port(path, e) => TestError::Open { port: path, detail: e.to_string() },
    })?;
    let Some(page_locale) = page else {
        return driver::status(&mut *port)
            .map(|s| describe_printer(&s, locale))
            .map_err(|e| TestError::Printer(e.to_string()));
    };
    let doc = crate::printer::layout::test_page(profile, page_locale);
    let bytes = crate::printer::escpos::encode(&doc).map_err(|e| TestError::Printer(e.to_string()))?;
    match driver::print_job(&mut *port, profile, &bytes).map_err(|e| TestError::Printer(e.to_string()))? {
        JobResult::Printed { after } => {
            Ok(t!("setup.test_page_printed", locale = locale, status = describe_printer(&after, locale)).into_owned())
        }
        JobResult::Refused { before: s } | JobResult::Incomplete { after: s } => {
            Err(TestError::Printer(describe_printer(&s, locale)))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("settings")]
    Settings(Vec<SettingsError>),
    #[error("an installer must approve changing the settings")]
    NotPermitted,
    #[error("the first installer is missing")]
    NoInstaller,
    #[error("user: {0:?}")]
    User(UserError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl SetupError {
    pub fn localized(&self, locale: &str) -> String {
        match self {
            SetupError::Settings(problems) => {
                problems.iter().map(|p| p.localized(locale)).collect::<Vec<_>>().join("\n")
            }
            SetupError::NotPermitted => t!("setup.not_permitted", locale = locale).into_owned(),
            SetupError::NoInstaller => t!("setup.no_installer", locale = locale).into_owned(),
            SetupError::User(e) => e.localized(locale),
            SetupError::Ledger(e) => e.localized(locale),
            SetupError::Io(e) => t!("settings.io", locale = locale, detail = e.to_string()).into_owned(),
        }
    }
}

/// What `finish` did.
#[derive(Debug)]
pub struct Finished {
    pub settings: Settings,
    /// The installer who set the till up when it ran without settings: the first installer of a
    /// new ledger, or the installer of the store's ledger who approved.
    pub installer: Option<User>,
}

/// Writes the draft as the settings file (atomically). A till not set up yet (no settings file)
/// needs its first installer, saved in the store's ledger in `data_dir`; a till already set up
/// needs an installer's approval. Nothing is written unless everything checks.
pub fn finish(
    config_path: &Path,
    data_dir: &Path,
    draft: &Draft,
    installer: Option<&NewUser>,
    approval: Option<&Approval>,
) -> Result<Finished, SetupError> {
    let settings = draft.check().map_err(SetupError::Settings)?;
    std::fs::create_dir_all(data_dir)?;
    crate::config::make_private_dir(data_dir)?;
    let store = &settings.store;
    let mut ledger = Ledger::open(&crate::config::ledger_path(data_dir), &store.register, store.currency)?;
    let mut saved = None;
    // A first setup is a ledger without an installer, not a missing settings file: deleting the
    // file must not let anyone add an installer to the store's books without a PIN.
    if !crate::admin::has_installer(&ledger)? {
        let new = installer.ok_or(SetupError::NoInstaller)?;
        // The user first: a settings file without an installer would leave a till nobody may run.
        let user = crate::admin::first_installer(&mut ledger, new, "setup").map_err(|e| match e {
            crate::admin::AdminError::User(e) => SetupError::User(e),
            crate::admin::AdminError::Ledger(e) => SetupError::Ledger(e),
            _ => SetupError::NotPermitted,
        })?;
        ledger.append("settings_written", &[("by", user.id.clone()), ("first", "1".into())], Utc::now())?;
        saved = Some(user);
    } else {
        // An installer of this ledger approves: at a configured till through its approval dialog,
        // on a till that lost its settings file by typing their id and PIN in the wizard.
        let approval = match (approval, installer) {
            (Some(a), _) if a.covers(Permission::Settings) => a.clone(),
            (_, Some(who)) => {
                let approval = crate::admin::approval_of(&mut ledger, who.id.trim(), &who.pin, Permission::Settings)
                    .map_err(|_| SetupError::NotPermitted)?;
                // The installer who approved goes on at the till, as a first installer would.
                saved = ledger.users()?.into_iter().find(|u| u.id == who.id.trim());
                approval
            }
            _ => return Err(SetupError::NotPermitted),
        };
        ledger.append("settings_written", &[("by", approval.by().to_string()), ("first", "0".into())], Utc::now())?;
    }
    settings::write_atomically(config_path, &draft.to_toml())?;
    Ok(Finished { settings, installer: saved })
}

/// The wizard's connection test of the head office, in words: who it knows this till as and how
/// much of its journal it holds, or what stands in the way.
pub fn test_head_office(url: &str, password_file: &str, register: &str, locale: &str) -> Result<String, String> {
    let file = Some(password_file.trim()).filter(|f| !f.is_empty()).map(std::path::Path::new);
    let mut client = crate::store::connect(url.trim(), file).map_err(|e| e.localized(locale))?;
    let held = crate::store::ship::held_head(&mut client).map_err(|e| e.localized(locale))?;
    if held.register != register.trim() {
        return Err(crate::store::StoreError::WrongRegister {
            ours: register.trim().to_string(),
            theirs: held.register,
        }
        .localized(locale));
    }
    if let Some(flag) = held.flag {
        return Err(crate::store::StoreError::Flagged(flag).localized(locale));
    }
    Ok(rust_i18n::t!(
        "store.reachable",
        locale = locale,
        register = &held.register,
        store = &held.store,
        seq = held.seq
    )
    .into_owned())
}
