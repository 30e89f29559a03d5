//! Store settings and standard paths.
//!
//! The settings file (TOML, validated on load, written atomically) is `settings.rs`; until a store
//! is configured (the setup wizard, or `till config init`) the till runs in training mode on
//! [`StoreSettings::demo`].

pub mod settings;

use std::path::{Path, PathBuf};

use rust_decimal::dec;

use crate::catalog::EmbeddedRule;
use crate::money::Currency;
use crate::sale::{SaleSettings, TaxClass};

/// Everything the core needs to know about the store and this register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSettings {
    pub store_name: String,
    pub address: String,
    pub tax_id: String,
    /// The merchant number the acquirer gave (printed on receipts).
    pub merchant_no: String,
    /// Merchant category code.
    pub mcc: String,
    /// Extra lines under the store's name and at the foot of each receipt.
    pub receipt_header: Vec<String>,
    pub receipt_footer: Vec<String>,
    pub register: String,
    pub currency: Currency,
    pub prices_include_tax: bool,
    pub cash_rounding: Option<rust_decimal::Decimal>,
    pub tax_classes: Vec<TaxClass>,
    pub embedded_barcodes: Vec<EmbeddedRule>,
    pub screen_locale: String,
    pub receipt_locale: String,
    /// The receipt printer's model: its columns, charset and commands.
    pub printer_model: &'static crate::printer::profile::Profile,
    /// The drawer's pin where it is not the model's (2 on most drawers, 5 on some).
    pub drawer_pin: Option<u8>,
    /// The store's logo at the head of each receipt (a PNG file, read with the settings).
    pub logo: Option<(String, std::sync::Arc<crate::printer::logo::Logo>)>,
    /// Voiding a cart line worth more than this needs a manager.
    pub void_approval_over: rust_decimal::Decimal,
    /// A discount of more than this many percent needs a manager.
    pub discount_approval_over: rust_decimal::Decimal,
    /// Cash handed over beyond this many of the currency's largest banknote (or ten times what
    /// is due, if that is more) is asked again before it is taken: a PIN or a price typed into
    /// the cash field by mistake must not become a payment.
    pub cash_given_notes: u32,
    /// A refund worth more than this needs a manager (0: every refund).
    pub refund_approval_over: rust_decimal::Decimal,
}

impl StoreSettings {
    /// The demo convenience store of training mode: CNY, prices include VAT, China's VAT rates
    /// (13 % goods, 9 % basic foods and agricultural products, 6 % services, 0 % exempt).
    pub fn demo() -> StoreSettings {
        StoreSettings {
            store_name: "Demo Convenience Store 示例便利店".into(),
            address: String::new(),
            tax_id: String::new(),
            merchant_no: String::new(),
            mcc: "5411".into(),
            receipt_header: Vec::new(),
            receipt_footer: Vec::new(),
            register: "R1".into(),
            currency: Currency::CNY,
            prices_include_tax: true,
            cash_rounding: None,
            tax_classes: vec![
                TaxClass { code: "A".into(), rate: dec!(0.13) },
                TaxClass { code: "B".into(), rate: dec!(0.09) },
                TaxClass { code: "C".into(), rate: dec!(0.06) },
                TaxClass { code: "Z".into(), rate: dec!(0) },
            ],
            embedded_barcodes: EmbeddedRule::defaults(),
            screen_locale: "zh-CN".into(),
            receipt_locale: "zh-CN".into(),
            printer_model: crate::printer::profile::Profile::generic_80(),
            drawer_pin: None,
            logo: None,
            void_approval_over: dec!(50),
            discount_approval_over: dec!(10),
            cash_given_notes: 5,
            refund_approval_over: dec!(0),
        }
    }

    /// The most cash taken for `due` without asking again (see `cash_given_notes`).
    pub fn cash_given_limit(&self, due: crate::money::Money) -> crate::money::Money {
        let largest = crate::dayclose::denominations(self.currency).into_iter().max_by_key(|m| m.minor());
        let notes = largest.map_or(0, |m| m.minor()) * i64::from(self.cash_given_notes);
        let limit = notes.max(due.minor().saturating_mul(10));
        crate::money::Money::from_minor(limit, self.currency).unwrap_or(due)
    }

    /// The threshold above which voiding a line needs a manager, in the store's currency.
    pub fn void_threshold(&self) -> crate::money::Money {
        crate::money::Money::new(self.void_approval_over, self.currency)
            .unwrap_or_else(|_| crate::money::Money::zero(self.currency))
    }

    pub fn sale_settings(&self) -> SaleSettings {
        SaleSettings {
            currency: self.currency,
            prices_include_tax: self.prices_include_tax,
            cash_rounding: self.cash_rounding,
            tax_classes: self.tax_classes.clone(),
        }
    }

    pub fn tax_class_codes(&self) -> Vec<&str> {
        self.tax_classes.iter().map(|c| c.code.as_str()).collect()
    }
}

/// The platform's data directory for the till (`~/.local/share/till` on Linux).
pub fn default_data_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "till")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from("till-data"))
}

/// The ledger database inside a data directory.
/// Makes the data directory the till's alone (mode 0700): the ledger, its backups and logs.
pub fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Creates `dir` (and its parents) if missing; a directory created here is the till's alone.
/// One that exists keeps its mode (a `--data-dir /tmp` must not close /tmp).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    make_private_dir(dir)
}

/// Opens a file the till writes for people to take away (a report, an export, a log) as the
/// till's alone (0600), never through a symbolic link, and never over an existing file unless
/// `overwrite` (then truncated). `append` opens an existing file to add to it (logs).
pub fn open_private(path: &Path, overwrite: bool, append: bool) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    if append {
        options.append(true).create(true);
    } else if overwrite {
        options.write(true).create(true).truncate(true);
    } else {
        options.write(true).create_new(true);
    }
    options.open(path)
}

/// Writes `bytes` to a new private file (see `open_private`).
pub fn write_private(path: &Path, bytes: &[u8], overwrite: bool) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = open_private(path, overwrite, false)?;
    f.write_all(bytes)?;
    f.sync_all()
}

pub fn ledger_path(data_dir: &Path) -> PathBuf {
    data_dir.join(crate::ledger::DB_FILE)
}

/// The locale for messages: `zh-CN` when asked for or when the environment's language is
/// Chinese, English otherwise.
pub fn pick_locale(requested: Option<&str>) -> String {
    let from_env = std::env::var("LC_ALL").or_else(|_| std::env::var("LANG")).unwrap_or_default();
    let wanted = requested.unwrap_or(&from_env);
    if wanted.to_ascii_lowercase().starts_with("zh") { "zh-CN".into() } else { "en".into() }
}
