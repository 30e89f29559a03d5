//! The settings file: one TOML file in the platform's config directory, with a version, read and
//! checked as a whole at start (every mistake named by its key, in the cashier's language — the
//! till does not start half-configured), and written atomically (a temporary file, fsync, rename).
//!
//! ```toml
//! version = 1
//! [store]
//! name = "示例便利店"            # also: address, tax_id, merchant_no, mcc, register
//! currency = "CNY"
//! prices_include_tax = true       # also: cash_rounding = "0.10", void_approval_over = "50",
//!                                 # cash_given_notes = 5 (cash beyond 5 of the largest
//!                                 # banknote, or 10 × what is due, is asked again),
//!                                 # discount_approval_over = "10" (percent),
//!                                 # refund_approval_over = "0" (a manager for every refund)
//! receipt_locale = "zh-CN"        # and screen_locale
//! printer_model = "generic-80"    # see printer::profile (paper_mm = 58 | 80 still reads)
//! drawer_pin = 5                  # only where the drawer is not on the model's pin (2)
//! logo = "/etc/till/logo.png"     # printed at the head of each receipt (optional)
//! receipt_header = ["地址…"]      # and receipt_footer
//! [[tax_class]]
//! code = "A"
//! rate = "13"                     # percent
//! [terminal]                      # optional: the PIN pad
//! port = "/dev/ttyUSB0"           # or tcp = "192.168.1.20:20007"; baud, password,
//!                                 # terminal_id, merchant_no (the acquirers' VU numbers, one
//!                                 # each, comma-separated, for the check),
//!                                 # t2_ms, t3_ms, t4_s (the ZVT timers), charset = "cp437"
//!                                 # (or latin1, utf8: what the terminal prints in)
//! [printer]                       # optional: serial:PATH[:BAUD[:8N1]] or file:/dev/usb/lp0
//! device = "serial:/dev/ttyUSB1:115200"
//! [head_office]                   # optional: the store's PostgreSQL (see store)
//! url = "postgres://till_1_r2@ho.example:5432/store?sslrootcert=/etc/till/ca.pem"
//! password_file = "/etc/till/head-office.password"   # the register's, mode 0600
//! [backup]                        # optional: where the backup after each Z goes
//! folder = "/media/usb"           # (beside the ledger when not set); keep = 30
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use toml::{Table, Value};

use super::StoreSettings;
use crate::money::{Currency, parse_decimal};
use crate::sale::TaxClass;
use crate::terminal::zvt::messages::Charset;
use crate::terminal::zvt::transport::Timers;

pub const VERSION: i64 = 1;
/// The settings file inside the config directory.
pub const FILE: &str = "till.toml";

/// The PIN pad as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalSettings {
    pub port: Option<PathBuf>,
    pub tcp: Option<String>,
    pub baud: u32,
    pub password: u32,
    pub terminal_id: Option<String>,
    pub merchant_no: Option<String>,
    /// T2, T3 and T4 as the installer set them (`t2_ms`, `t3_ms`, `t4_s`), else the
    /// specification's.
    pub timers: Timers,
    /// The character set the terminal prints in when its registration agrees none (`charset`:
    /// cp437, the specification's default, latin1 or utf8).
    pub charset: Charset,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub store: StoreSettings,
    pub terminal: Option<TerminalSettings>,
    /// A printer spec: serial:PATH[:BAUD[:FRAMING]] or file:PATH.
    pub printer: Option<String>,
    pub backup: BackupSettings,
    /// The store's head office, when the till ships to one.
    pub head_office: Option<crate::store::HeadOffice>,
}

/// Backups kept after each Z unless the settings say otherwise.
pub const DEFAULT_BACKUPS_KEPT: usize = 30;

/// Where the backup after each Z goes and how many are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSettings {
    /// A folder (a USB stick, say); `None`: `backups` beside the ledger.
    pub folder: Option<PathBuf>,
    pub keep: usize,
}

impl Default for BackupSettings {
    fn default() -> Self {
        BackupSettings { folder: None, keep: DEFAULT_BACKUPS_KEPT }
    }
}

/// What is wrong with one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    UnknownKey,
    Missing,
    /// The value has the wrong type: this one was expected.
    NotA(&'static str),
    BadRate(String),
    NoTaxClass,
    DuplicateTaxClass(String),
    BadCurrency(String),
    BadLocale(String),
    BadPaper(i64),
    BadPrinterModel(String),
    BadDrawerPin(i64),
    BadLogo(String, String),
    BadAmount(String),
    /// A serial port or device file that does not exist.
    BadPort(String),
    BadPrinterSpec(String),
    /// A head office url that is not `postgres://…`.
    BadUrl(String),
    /// The terminal reported another id than the acquirer gave.
    IdentityMismatch {
        reported: String,
        expected: String,
    },
    /// A count that must be at least one.
    NotPositive(i64),
    TooNew(i64),
    /// The file is not TOML at all.
    Syntax(String),
    Io(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    pub key: String,
    pub problem: Problem,
}

impl SettingsError {
    pub fn localized(&self, locale: &str) -> String {
        format!("{}: {}", self.key, self.what(locale))
    }

    /// What is wrong, without the key (a form names the field by its label instead).
    pub fn what(&self, locale: &str) -> String {
        use rust_i18n::t;
        let what = match &self.problem {
            Problem::UnknownKey => t!("settings.unknown_key", locale = locale),
            Problem::Missing => t!("settings.missing", locale = locale),
            Problem::NotA(kind) => {
                let key = format!("settings.kind.{kind}");
                let kind = t!(&key, locale = locale).into_owned();
                t!("settings.not_a", locale = locale, kind = kind)
            }
            Problem::BadRate(v) => t!("settings.bad_rate", locale = locale, value = v),
            Problem::NoTaxClass => t!("settings.no_tax_class", locale = locale),
            Problem::DuplicateTaxClass(c) => t!("settings.duplicate_tax_class", locale = locale, code = c),
            Problem::BadCurrency(c) => t!("settings.bad_currency", locale = locale, value = c),
            Problem::BadLocale(l) => t!("settings.bad_locale", locale = locale, value = l),
            Problem::BadPaper(p) => t!("settings.bad_paper", locale = locale, value = p),
            Problem::BadDrawerPin(p) => t!("settings.bad_drawer_pin", locale = locale, value = p),
            Problem::BadLogo(path, why) => t!("settings.bad_logo", locale = locale, file = path, why = why),
            Problem::BadPrinterModel(m) => t!(
                "settings.bad_printer_model",
                locale = locale,
                value = m,
                models = crate::printer::profile::PROFILES.iter().map(|p| p.id).collect::<Vec<_>>().join(", ")
            ),
            Problem::BadAmount(a) => t!("settings.bad_amount", locale = locale, value = a),
            Problem::BadPort(p) => t!("settings.bad_port", locale = locale, port = p),
            Problem::BadPrinterSpec(s) => t!("settings.bad_printer", locale = locale, value = s),
            Problem::BadUrl(s) => t!("settings.bad_head_office_url", locale = locale, value = s),
            Problem::IdentityMismatch { reported, expected } => {
                t!("setup.terminal_mismatch", locale = locale, reported = reported, expected = expected)
            }
            Problem::NotPositive(n) => t!("settings.not_positive", locale = locale, value = n),
            Problem::TooNew(v) => t!("settings.too_new", locale = locale, version = v),
            Problem::Syntax(d) => t!("settings.syntax", locale = locale, detail = d),
            Problem::Io(d) => t!("settings.io", locale = locale, detail = d),
        };
        what.into_owned()
    }
}

/// The settings file's path in the platform's config directory (`~/.config/till/till.toml`).
pub fn default_path() -> PathBuf {
    directories::ProjectDirs::from("", "", "till")
        .map(|d| d.config_dir().join(FILE))
        .unwrap_or_else(|| PathBuf::from(FILE))
}

/// Reads the value of each known key of a table, collecting problems; whatever is left over is
/// an unknown key.
struct Reader<'a> {
    prefix: String,
    table: Table,
    problems: &'a mut Vec<SettingsError>,
}

impl<'a> Reader<'a> {
    fn new(prefix: &str, table: Table, problems: &'a mut Vec<SettingsError>) -> Reader<'a> {
        Reader { prefix: prefix.to_string(), table, problems }
    }

    fn key(&self, key: &str) -> String {
        if self.prefix.is_empty() { key.to_string() } else { format!("{}.{key}", self.prefix) }
    }

    fn problem(&mut self, key: &str, problem: Problem) {
        let key = self.key(key);
        self.problems.push(SettingsError { key, problem });
    }

    fn take(&mut self, key: &str) -> Option<Value> {
        self.table.remove(key)
    }

    fn string(&mut self, key: &str) -> Option<String> {
        match self.take(key)? {
            Value::String(s) => Some(s),
            _ => {
                self.problem(key, Problem::NotA("text"));
                None
            }
        }
    }

    fn required_string(&mut self, key: &str) -> Option<String> {
        let v = self.string(key);
        if v.is_none() && !self.problems.iter().any(|p| p.key == self.key(key)) {
            self.problem(key, Problem::Missing);
        }
        v
    }

    fn integer(&mut self, key: &str) -> Option<i64> {
        match self.take(key)? {
            Value::Integer(i) => Some(i),
            _ => {
                self.problem(key, Problem::NotA("number"));
                None
            }
        }
    }

    fn boolean(&mut self, key: &str) -> Option<bool> {
        match self.take(key)? {
            Value::Boolean(b) => Some(b),
            _ => {
                self.problem(key, Problem::NotA("yes_no"));
                None
            }
        }
    }

    fn lines(&mut self, key: &str) -> Vec<String> {
        match self.take(key) {
            None => Vec::new(),
            Some(Value::Array(items)) if items.iter().all(Value::is_str) => {
                items.into_iter().filter_map(|v| v.as_str().map(str::to_string)).collect()
            }
            Some(_) => {
                self.problem(key, Problem::NotA("lines"));
                Vec::new()
            }
        }
    }

    fn table(&mut self, key: &str) -> Option<Table> {
        match self.take(key)? {
            Value::Table(t) => Some(t),
            _ => {
                self.problem(key, Problem::NotA("section"));
                None
            }
        }
    }

    /// The rest of the keys: unknown.
    fn finish(self) {
        for key in self.table.keys() {
            let key = if self.prefix.is_empty() { key.clone() } else { format!("{}.{key}", self.prefix) };
            self.problems.push(SettingsError { key, problem: Problem::UnknownKey });
        }
    }
}

fn locale_ok(l: &str) -> bool {
    l == "en" || l == "zh-CN"
}

/// Reads and checks settings text; every problem is reported, not just the first.
pub fn parse(text: &str) -> Result<Settings, Vec<SettingsError>> {
    let table: Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            let detail = e.message().to_string();
            return Err(vec![SettingsError { key: FILE.into(), problem: Problem::Syntax(detail) }]);
        }
    };
    let mut problems = Vec::new();
    let mut top = Reader::new("", table, &mut problems);
    match top.integer("version") {
        Some(VERSION) => {}
        Some(v) if v > VERSION => top.problem("version", Problem::TooNew(v)),
        Some(_) => top.problem("version", Problem::NotA("version")),
        None => {
            if !top.problems.iter().any(|p| p.key == "version") {
                top.problem("version", Problem::Missing);
            }
        }
    }
    let store_table = top.table("store");
    let classes = top.take("tax_class");
    let terminal_table = top.table("terminal");
    let printer_table = top.table("printer");
    let backup_table = top.table("backup");
    let head_office_table = top.table("head_office");
    if store_table.is_none() && !top.problems.iter().any(|p| p.key == "store") {
        top.problem("store", Problem::Missing);
    }
    top.finish();

    let mut store = StoreSettings::demo();
    if let Some(t) = store_table {
        let mut r = Reader::new("store", t, &mut problems);
        if let Some(v) = r.required_string("name") {
            store.store_name = v;
        }
        store.address = r.string("address").unwrap_or_default();
        store.tax_id = r.string("tax_id").unwrap_or_default();
        store.merchant_no = r.string("merchant_no").unwrap_or_default();
        store.mcc = r.string("mcc").unwrap_or_default();
        if let Some(v) = r.string("register") {
            store.register = v;
        }
        if let Some(code) = r.required_string("currency") {
            match Currency::from_code(&code) {
                Ok(c) => store.currency = c,
                Err(_) => r.problem("currency", Problem::BadCurrency(code)),
            }
        }
        if let Some(b) = r.boolean("prices_include_tax") {
            store.prices_include_tax = b;
        }
        store.cash_rounding = match r.string("cash_rounding") {
            None => None,
            Some(v) => match parse_decimal(&v).filter(|d| d.is_sign_positive() && !d.is_zero()) {
                Some(d) => Some(d),
                None => {
                    r.problem("cash_rounding", Problem::BadAmount(v));
                    None
                }
            },
        };
        if let Some(n) = r.integer("cash_given_notes") {
            match u32::try_from(n).ok().filter(|n| *n > 0) {
                Some(n) => store.cash_given_notes = n,
                None => r.problem("cash_given_notes", Problem::NotA("number")),
            }
        }
        if let Some(v) = r.string("refund_approval_over") {
            match parse_decimal(&v).filter(|d| !d.is_sign_negative()) {
                Some(d) => store.refund_approval_over = d,
                None => r.problem("refund_approval_over", Problem::BadAmount(v)),
            }
        }
        if let Some(v) = r.string("void_approval_over") {
            match parse_decimal(&v).filter(|d| d.is_sign_positive()) {
                Some(d) => store.void_approval_over = d,
                None => r.problem("void_approval_over", Problem::BadAmount(v)),
            }
        }
        if let Some(v) = r.string("discount_approval_over") {
            match parse_decimal(&v).filter(|d| !d.is_sign_negative() && *d <= Decimal::from(100)) {
                Some(d) => store.discount_approval_over = d,
                None => r.problem("discount_approval_over", Problem::BadRate(v)),
            }
        }
        for key in ["receipt_locale", "screen_locale"] {
            if let Some(l) = r.string(key) {
                if !locale_ok(&l) {
                    r.problem(key, Problem::BadLocale(l));
                } else if key == "receipt_locale" {
                    store.receipt_locale = l;
                } else {
                    store.screen_locale = l;
                }
            }
        }
        // The printer's model; settings from before profiles name only the paper's width.
        if let Some(mm) = r.integer("paper_mm") {
            match mm {
                58 | 80 => store.printer_model = crate::printer::profile::Profile::generic(mm as u8),
                other => r.problem("paper_mm", Problem::BadPaper(other)),
            }
        }
        if let Some(path) = r.string("logo").filter(|p| !p.is_empty()) {
            let read = std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| crate::printer::logo::Logo::from_png(&bytes).map_err(|e| e.to_string()));
            match read {
                Ok(logo) => store.logo = Some((path, std::sync::Arc::new(logo))),
                Err(why) => r.problem("logo", Problem::BadLogo(path, why)),
            }
        }
        if let Some(pin) = r.integer("drawer_pin") {
            match pin {
                2 | 5 => store.drawer_pin = Some(pin as u8),
                other => r.problem("drawer_pin", Problem::BadDrawerPin(other)),
            }
        }
        if let Some(model) = r.string("printer_model") {
            match crate::printer::profile::Profile::by_id(&model) {
                Some(profile) => store.printer_model = profile,
                None => r.problem("printer_model", Problem::BadPrinterModel(model)),
            }
        }
        store.receipt_header = r.lines("receipt_header");
        store.receipt_footer = r.lines("receipt_footer");
        r.finish();
    }

    store.tax_classes = Vec::new();
    match classes {
        Some(Value::Array(items)) => {
            for (i, item) in items.into_iter().enumerate() {
                let prefix = format!("tax_class[{}]", i + 1);
                let Value::Table(t) = item else {
                    problems.push(SettingsError { key: prefix, problem: Problem::NotA("section") });
                    continue;
                };
                let mut r = Reader::new(&prefix, t, &mut problems);
                let code = r.required_string("code");
                let rate = r.required_string("rate");
                if let (Some(code), Some(rate)) = (code, rate) {
                    let parsed = parse_decimal(&rate)
                        .filter(|d| *d >= Decimal::ZERO && *d <= Decimal::from(100))
                        .and_then(|d| TaxClass::new(&code, d / Decimal::from(100)).ok());
                    match parsed {
                        None => r.problem("rate", Problem::BadRate(rate)),
                        Some(_) if store.tax_classes.iter().any(|c| c.code == code) => {
                            r.problem("code", Problem::DuplicateTaxClass(code))
                        }
                        Some(class) => store.tax_classes.push(class),
                    }
                }
                r.finish();
            }
        }
        Some(_) => problems.push(SettingsError { key: "tax_class".into(), problem: Problem::NotA("list") }),
        None => {}
    }
    if store.tax_classes.is_empty() && !problems.iter().any(|p| p.key.starts_with("tax_class")) {
        problems.push(SettingsError { key: "tax_class".into(), problem: Problem::NoTaxClass });
    }

    let terminal = terminal_table.map(|t| {
        let mut r = Reader::new("terminal", t, &mut problems);
        let port = r.string("port").map(PathBuf::from);
        let tcp = r.string("tcp");
        if let Some(p) = &port
            && !p.exists()
        {
            r.problem("port", Problem::BadPort(p.display().to_string()));
        }
        if port.is_none() && tcp.is_none() {
            r.problem("port", Problem::Missing);
        }
        let baud = r.integer("baud").unwrap_or(9600);
        let password = r.integer("password").unwrap_or(123456);
        let mut timers = Timers::default();
        let timer = |r: &mut Reader,
                     key: &str,
                     unit: fn(u64) -> std::time::Duration,
                     into: &mut std::time::Duration| match r.integer(key) {
            Some(n) if n > 0 => *into = unit(n.unsigned_abs()),
            Some(n) => r.problem(key, Problem::NotPositive(n)),
            None => {}
        };
        timer(&mut r, "t2_ms", std::time::Duration::from_millis, &mut timers.t2);
        timer(&mut r, "t3_ms", std::time::Duration::from_millis, &mut timers.t3);
        timer(&mut r, "t4_s", std::time::Duration::from_secs, &mut timers.t4);
        let charset = match r.string("charset") {
            None => Charset::default(),
            Some(name) => Charset::from_name(&name).unwrap_or_else(|| {
                r.problem("charset", Problem::NotA("cp437, latin1 or utf8"));
                Charset::default()
            }),
        };
        let settings = TerminalSettings {
            port,
            tcp,
            baud: u32::try_from(baud).unwrap_or(9600),
            password: u32::try_from(password).unwrap_or(0),
            terminal_id: r.string("terminal_id"),
            merchant_no: r.string("merchant_no"),
            timers,
            charset,
        };
        r.finish();
        settings
    });

    let printer = printer_table.and_then(|t| {
        let mut r = Reader::new("printer", t, &mut problems);
        let device = r.required_string("device");
        if let Some(spec) = &device {
            let path = spec
                .strip_prefix("file:")
                .or_else(|| spec.strip_prefix("serial:").map(|rest| rest.split(':').next().unwrap_or(rest)));
            match path {
                None => r.problem("device", Problem::BadPrinterSpec(spec.clone())),
                Some(p) if !Path::new(p).exists() => r.problem("device", Problem::BadPort(p.to_string())),
                Some(_) => {}
            }
        }
        r.finish();
        device
    });

    let backup = backup_table.map_or_else(BackupSettings::default, |t| {
        let mut r = Reader::new("backup", t, &mut problems);
        let folder = r.string("folder").filter(|f| !f.trim().is_empty()).map(PathBuf::from);
        let keep = match r.integer("keep") {
            None => DEFAULT_BACKUPS_KEPT,
            Some(n) if n >= 1 => usize::try_from(n).unwrap_or(DEFAULT_BACKUPS_KEPT),
            Some(n) => {
                r.problem("keep", Problem::NotPositive(n));
                DEFAULT_BACKUPS_KEPT
            }
        };
        r.finish();
        BackupSettings { folder, keep }
    });

    let head_office = head_office_table.and_then(|t| {
        let mut r = Reader::new("head_office", t, &mut problems);
        let url = r.required_string("url");
        let password_file = r.string("password_file").filter(|f| !f.trim().is_empty()).map(PathBuf::from);
        if let Some(u) = &url
            && !(u.starts_with("postgres://") || u.starts_with("postgresql://"))
        {
            r.problem("url", Problem::BadUrl(u.clone()));
        }
        r.finish();
        Some(crate::store::HeadOffice { url: url?, password_file })
    });

    if problems.is_empty() { Ok(Settings { store, terminal, printer, backup, head_office }) } else { Err(problems) }
}

/// Reads and checks the settings file; `Ok(None)` when there is none (training mode).
pub fn load(path: &Path) -> Result<Option<Settings>, Vec<SettingsError>> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(vec![SettingsError { key: path.display().to_string(), problem: Problem::Io(e.to_string()) }]),
    }
}

/// Writes settings text atomically: a temporary file beside it, flushed to disk, then renamed over.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let temp = path.with_extension("toml.tmp");
    {
        // The settings hold the terminal's password: the till's alone.
        let _ = std::fs::remove_file(&temp);
        let mut f = super::open_private(&temp, false, false)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&temp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The rename itself reaches the disk with the directory.
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The store's settings as the head office publishes them: the `[store]` table (without the
/// register's id, which is each till's own) and the tax classes, as TOML. Checked as a settings
/// file would be, with a register filled in.
pub fn check_store_version(text: &str) -> Result<(), Vec<SettingsError>> {
    let syntax = |e: toml::de::Error| {
        vec![SettingsError { key: FILE.into(), problem: Problem::Syntax(e.message().to_string()) }]
    };
    let table: Table = text.parse().map_err(syntax)?;
    let mut problems = Vec::new();
    for key in table.keys().filter(|k| *k != "store" && *k != "tax_class") {
        problems.push(SettingsError { key: key.clone(), problem: Problem::UnknownKey });
    }
    match table.get("store").and_then(Value::as_table) {
        Some(store) if store.contains_key("register") => {
            problems.push(SettingsError { key: "store.register".into(), problem: Problem::UnknownKey });
        }
        Some(_) => {}
        None => problems.push(SettingsError { key: "store".into(), problem: Problem::Missing }),
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut whole = table;
    if let Some(Value::Table(store)) = whole.get_mut("store") {
        store.insert("register".into(), Value::String("R1".into()));
    }
    whole.insert("version".into(), Value::Integer(VERSION));
    let text = toml::to_string(&whole)
        .map_err(|e| vec![SettingsError { key: "store".into(), problem: Problem::Syntax(e.to_string()) }])?;
    parse(&text).map(|_| ())
}

/// Applies a store settings version to the settings file: each key of its `[store]` and its tax
/// classes, the rest of the file as it was; written only if the result is valid.
pub fn apply_store_version(path: &Path, version: &str) -> Result<Settings, Vec<SettingsError>> {
    let io = |e: std::io::Error| {
        vec![SettingsError { key: path.display().to_string(), problem: Problem::Io(e.to_string()) }]
    };
    let syntax = |e: toml::de::Error| {
        vec![SettingsError { key: FILE.into(), problem: Problem::Syntax(e.message().to_string()) }]
    };
    check_store_version(version)?;
    let mut table: Table = std::fs::read_to_string(path).map_err(io)?.parse().map_err(syntax)?;
    let new: Table = version.parse().map_err(syntax)?;
    // Key by key: what the version sets replaces what the till had; what it does not set (the
    // register, this counter's printer model, drawer pin, logo, screen language…) stays.
    for (key, value) in new {
        match (key.as_str(), value, table.get_mut("store")) {
            ("store", Value::Table(keys), Some(Value::Table(store))) => {
                for (k, v) in keys {
                    store.insert(k, v);
                }
            }
            (_, value, _) => {
                table.insert(key, value);
            }
        }
    }
    let text = toml::to_string(&table)
        .map_err(|e| vec![SettingsError { key: "store".into(), problem: Problem::Syntax(e.to_string()) }])?;
    let settings = parse(&text)?;
    write_atomically(path, &text).map_err(io)?;
    Ok(settings)
}

/// Sets one section of the settings file (the installer's `till setup terminal|printer`): the file
/// must exist, and is written back only if the result is valid. Comments are not kept.
pub fn set_section(path: &Path, section: &str, value: Table) -> Result<(), Vec<SettingsError>> {
    let io = |e: std::io::Error| {
        vec![SettingsError { key: path.display().to_string(), problem: Problem::Io(e.to_string()) }]
    };
    let text = std::fs::read_to_string(path).map_err(io)?;
    let mut table: Table = text.parse().map_err(|e: toml::de::Error| {
        vec![SettingsError { key: FILE.into(), problem: Problem::Syntax(e.message().to_string()) }]
    })?;
    table.insert(section.to_string(), Value::Table(value));
    let new = toml::to_string(&table)
        .map_err(|e| vec![SettingsError { key: section.into(), problem: Problem::Syntax(e.to_string()) }])?;
    parse(&new)?;
    write_atomically(path, &new).map_err(io)
}

/// A settings file for a new store, to be edited by the installer (`till config init`): the demo
/// store's values, no devices.
pub fn template() -> String {
    r#"version = 1

[store]
name = "My Store 我的商店"
address = ""
tax_id = ""
merchant_no = ""
mcc = "5411"
register = "R1"
currency = "CNY"
prices_include_tax = true
void_approval_over = "50"
discount_approval_over = "10"
receipt_locale = "zh-CN"
screen_locale = "zh-CN"
# The receipt printer: generic-80, generic-58, epson-tm-t88, epson-tm-t20, xprinter-xp80,
# xprinter-xp58 or pos-58 (a printer not listed: the generic one of its paper width).
printer_model = "generic-80"
receipt_header = []
receipt_footer = ["谢谢惠顾"]

[[tax_class]]
code = "A"
rate = "13"

[[tax_class]]
code = "B"
rate = "9"

[[tax_class]]
code = "C"
rate = "6"

[[tax_class]]
code = "Z"
rate = "0"

# [terminal]
# port = "/dev/ttyUSB0"
# baud = 9600
# password = 123456
# terminal_id = ""
# merchant_no = ""      # the acquirers' VU numbers, one each: "455600000012345, 100764992"
# t4_s = 180            # the longest wait for the terminal to finish (ZVT T4)
# charset = "cp437"     # or "latin1", "utf8": what the terminal prints its receipts in

# [printer]
# device = "serial:/dev/ttyUSB1:9600:8N1"

[backup]
# folder = "/media/usb/till-backups"   # after each Z; beside the ledger when not set
keep = 30
"#
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_template_is_valid() {
        let s = parse(&template()).unwrap();
        assert_eq!(s.store.tax_classes.len(), 4);
        assert_eq!(s.store.receipt_footer, vec!["谢谢惠顾".to_string()]);
        assert!(s.terminal.is_none() && s.printer.is_none());
    }

    #[test]
    fn every_mistake_is_named_by_its_key() {
        let text = template()
            .replace("name = \"My Store 我的商店\"", "nmae = \"typo\"")
            .replace("rate = \"9\"", "rate = \"nine\"")
            .replace("printer_model = \"generic-80\"", "paper_mm = 57")
            + "\n[terminal]\nport = \"/dev/does-not-exist\"\n";
        let problems = parse(&text).unwrap_err();
        let keys: Vec<(&str, &Problem)> = problems.iter().map(|p| (p.key.as_str(), &p.problem)).collect();
        assert!(keys.contains(&("store.nmae", &Problem::UnknownKey)), "{keys:?}");
        assert!(keys.contains(&("store.name", &Problem::Missing)), "{keys:?}");
        assert!(keys.contains(&("tax_class[2].rate", &Problem::BadRate("nine".into()))), "{keys:?}");
        assert!(keys.contains(&("store.paper_mm", &Problem::BadPaper(57))), "{keys:?}");
        let unknown = template().replace("printer_model = \"generic-80\"", "printer_model = \"tm-88\"");
        let problems = parse(&unknown).unwrap_err();
        assert_eq!(problems[0].key, "store.printer_model");
        assert_eq!(problems[0].problem, Problem::BadPrinterModel("tm-88".into()));
        assert!(problems[0].localized("en").contains("epson-tm-t88"), "the models are listed");
        // Settings from before printer models: the generic printer of the paper's width.
        let older = template().replace("printer_model = \"generic-80\"", "paper_mm = 58");
        assert_eq!(parse(&older).unwrap().store.printer_model.id, "generic-58");
        let pin5 =
            template().replace("printer_model = \"generic-80\"", "printer_model = \"generic-80\"\ndrawer_pin = 5");
        assert_eq!(parse(&pin5).unwrap().store.drawer_pin, Some(5));
        let pin3 = pin5.replace("drawer_pin = 5", "drawer_pin = 3");
        assert_eq!(parse(&pin3).unwrap_err()[0].problem, Problem::BadDrawerPin(3));
        let tm = template().replace("generic-80\"", "epson-tm-t88\"");
        assert_eq!(parse(&tm).unwrap().store.printer_model.columns, 42);
        assert!(keys.contains(&("terminal.port", &Problem::BadPort("/dev/does-not-exist".into()))), "{keys:?}");
        let none = template().split("[[tax_class]]").next().unwrap().to_string();
        assert_eq!(parse(&none).unwrap_err()[0].problem, Problem::NoTaxClass);
        assert!(matches!(parse("version = ").unwrap_err()[0].problem, Problem::Syntax(_)));
    }

    #[test]
    fn the_terminals_timers_and_character_set_are_set_or_refused_by_key() {
        let good =
            template() + "\n[terminal]\ntcp = \"127.0.0.1:20007\"\nt4_s = 300\nt3_ms = 8000\ncharset = \"latin1\"\n";
        let t = parse(&good).unwrap().terminal.unwrap();
        assert_eq!(
            (t.timers.t4, t.timers.t3, t.timers.t2),
            (Duration::from_secs(300), Duration::from_secs(8), Timers::default().t2)
        );
        assert_eq!(t.charset, Charset::Latin1);
        let bad = template() + "\n[terminal]\ntcp = \"127.0.0.1:20007\"\nt4_s = 0\ncharset = \"ebcdic\"\n";
        let problems = parse(&bad).unwrap_err();
        let keys: Vec<(&str, &Problem)> = problems.iter().map(|p| (p.key.as_str(), &p.problem)).collect();
        assert!(keys.contains(&("terminal.t4_s", &Problem::NotPositive(0))), "{keys:?}");
        assert!(keys.contains(&("terminal.charset", &Problem::NotA("cp437, latin1 or utf8"))), "{keys:?}");
    }

    #[test]
    fn writing_is_atomic_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conf/till.toml");
        write_atomically(&path, &template()).unwrap();
        assert!(!path.with_extension("toml.tmp").exists());
        assert!(load(&path).unwrap().is_some());
        assert_eq!(load(&dir.path().join("none.toml")).unwrap(), None);
    }
}
