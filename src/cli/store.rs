//! `till store …`: the head office from a shell — its schema, its registers, a catalog published,
//! the store's day, the chains checked; and `till store sync`, a till shipping what waits.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Args, Subcommand};
use rust_i18n::t;

use super::{fail, open_ledger};
use crate::config::{self, StoreSettings};
use crate::store::{self, HeadOffice, StoreError, office, report, ship};

#[derive(Subcommand, Debug)]
pub enum StoreCommand {
    /// Make the head office's schema, roles and functions in an empty database.
    Init {
        #[command(flatten)]
        admin: AdminArgs,
        /// The store's id (its registers ship under it).
        #[arg(long, default_value = "1")]
        store: String,
    },
    /// Add a register: its PostgreSQL role, which may only ship its own journal.
    AddRegister {
        /// The register's id, as its till's settings name it (`[store] register`).
        register: String,
        #[command(flatten)]
        admin: AdminArgs,
        /// Another store of the chain than the one `init` named.
        #[arg(long)]
        store: Option<String>,
        /// Write the new role's password to this file (mode 0600) instead of printing it.
        #[arg(long, value_name = "FILE")]
        password_out: Option<PathBuf>,
    },
    /// Ship what waits to the head office and apply its newest catalog; exits 0 once up to date.
    Sync,
    /// Is the head office of the settings reachable, and does it know this register?
    Check,
    /// Publish a catalog (CSV, as `till catalog import` reads it) as the next version.
    PublishCatalog {
        file: PathBuf,
        #[command(flatten)]
        admin: AdminArgs,
        /// For one store of the chain only (default: every store).
        #[arg(long)]
        store: Option<String>,
    },
    /// Publish the store's settings (a TOML file with `[store]`, without `register`, and the
    /// `[[tax_class]]` list) as the next version.
    PublishSettings {
        file: PathBuf,
        #[command(flatten)]
        admin: AdminArgs,
        /// For one store of the chain only (default: every store).
        #[arg(long)]
        store: Option<String>,
    },
    /// Publish this till's users (names, roles, PIN hashes) as the store's next users version.
    PublishUsers {
        #[command(flatten)]
        admin: AdminArgs,
        /// For one store of the chain only (default: every store).
        #[arg(long)]
        store: Option<String>,
    },
    /// The store's day: every register's Z, the store's totals, what has not arrived yet.
    Report {
        /// The business date, YYYY-MM-DD.
        #[arg(long)]
        day: NaiveDate,
        #[command(flatten)]
        admin: AdminArgs,
        /// Registers whose last shipment is older than this many minutes are named.
        #[arg(long, default_value_t = 15)]
        late_minutes: i64,
        /// One store of the chain (default: every store in the database).
        #[arg(long)]
        store: Option<String>,
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        pdf: Option<PathBuf>,
    },
    /// Clear a register's flag (after the cause is dealt with: its till put back on the chain
    /// shipped, say by restoring a backup). It is flagged again at its next shipment if its ledger
    /// still does not extend what the head office holds.
    Unflag {
        register: String,
        #[command(flatten)]
        admin: AdminArgs,
        /// The register's store, where several stores have a register of that name.
        #[arg(long)]
        store: Option<String>,
        /// Why the flag is cleared (kept at the head office with the flag, who and when).
        #[arg(long)]
        note: String,
    },
    /// Walk every register's chain at the head office.
    Verify {
        #[command(flatten)]
        admin: AdminArgs,
    },
}

/// The head office's administrator: a url (libpq's form, `sslrootcert=` for the authority) and
/// the password, in the url or a file.
#[derive(Args, Debug)]
pub struct AdminArgs {
    #[arg(long)]
    pub url: String,
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

impl AdminArgs {
    fn connect(&self, locale: &str) -> Result<postgres::Client, ExitCode> {
        store::connect(&self.url, self.password_file.as_deref()).map_err(|e| fail(e.localized(locale)))
    }
}

pub fn run(
    data_dir: &Path,
    settings_path: &Path,
    store: &StoreSettings,
    head_office: Option<&HeadOffice>,
    action: &StoreCommand,
    locale: &str,
) -> ExitCode {
    match run_inner(data_dir, settings_path, store, head_office, action, locale) {
        Ok(code) => code,
        Err(code) => code,
    }
}

fn run_inner(
    data_dir: &Path,
    settings_path: &Path,
    settings_store: &StoreSettings,
    head_office: Option<&HeadOffice>,
    action: &StoreCommand,
    locale: &str,
) -> Result<ExitCode, ExitCode> {
    let err = |e: StoreError| fail(e.localized(locale));
    match action {
        StoreCommand::Init { admin, store } => {
            let mut client = admin.connect(locale)?;
            office::init(&mut client, store).map_err(err)?;
            println!("{}", t!("store.initialized", locale = locale, store = store));
        }
        StoreCommand::AddRegister { register, admin, store, password_out } => {
            let mut client = admin.connect(locale)?;
            let c = office::add_register(&mut client, store.as_deref(), register).map_err(err)?;
            println!("{}", t!("store.register_added", locale = locale, register = &c.register, role = &c.role));
            match password_out {
                Some(file) => {
                    config::write_private(file, format!("{}\n", c.password).as_bytes(), false).map_err(|e| {
                        fail(t!("cli.cannot_write", locale = locale, file = file.display(), detail = e.to_string()))
                    })?;
                    println!("{}", t!("store.password_written", locale = locale, file = file.display()));
                }
                None => println!("{}", t!("store.password", locale = locale, password = &c.password)),
            }
        }
        StoreCommand::Sync => {
            let head_office = head_office.ok_or_else(|| fail(t!("store.not_configured", locale = locale)))?;
            let mut ledger = open_ledger(data_dir, settings_store, locale)?;
            let mut client = head_office.connect().map_err(err)?;
            let ack = ship::AckFile::beside(ledger.path());
            let path = Some(settings_path).filter(|p| p.exists());
            let synced = ship::sync(&mut client, &mut ledger, settings_store, path, &ack).map_err(err)?;
            if let Some(v) = synced.settings {
                println!("{}", t!("store.settings_applied", locale = locale, version = v));
            }
            if let Some(v) = synced.catalog {
                println!("{}", t!("store.catalog_applied", locale = locale, version = v));
            }
            if let Some(v) = synced.users {
                println!("{}", t!("store.users_applied", locale = locale, version = v));
            }
            println!("{}", t!("store.up_to_date", locale = locale, seq = synced.head));
        }
        StoreCommand::Check => {
            let head_office = head_office.ok_or_else(|| fail(t!("store.not_configured", locale = locale)))?;
            let mut client = head_office.connect().map_err(err)?;
            let held = ship::held_head(&mut client).map_err(err)?;
            println!(
                "{}",
                t!("store.reachable", locale = locale, register = &held.register, store = &held.store, seq = held.seq)
            );
            if let Some(flag) = held.flag {
                return Err(fail(StoreError::Flagged(flag).localized(locale)));
            }
        }
        StoreCommand::PublishCatalog { file, admin, store } => {
            let text = std::fs::read_to_string(file).map_err(|e| {
                fail(t!("cli.cannot_read", locale = locale, file = file.display(), detail = e.to_string()))
            })?;
            // Checked here as each till will check it, so a bad file never reaches the registers.
            let none = |_: &str| None;
            let parsed = crate::catalog::import::parse_csv(
                text.as_bytes(),
                settings_store.currency,
                &settings_store.tax_class_codes(),
                &none,
            );
            if let Err(errors) = parsed {
                for e in &errors {
                    eprintln!("{}", e.localized(locale));
                }
                return Err(fail(t!("cli.import_refused", locale = locale, count = errors.len())));
            }
            let mut client = admin.connect(locale)?;
            let version = office::publish_catalog(&mut client, store.as_deref(), &text).map_err(err)?;
            println!("{}", t!("store.published", locale = locale, version = version));
        }
        StoreCommand::PublishSettings { file, admin, store } => {
            let text = std::fs::read_to_string(file).map_err(|e| {
                fail(t!("cli.cannot_read", locale = locale, file = file.display(), detail = e.to_string()))
            })?;
            // Checked here as each till will check it, so a bad file never reaches the registers.
            if let Err(problems) = config::settings::check_store_version(&text) {
                eprintln!("{}", t!("settings.header", locale = locale, file = file.display()));
                for p in problems {
                    eprintln!("  {}", p.localized(locale));
                }
                return Err(ExitCode::FAILURE);
            }
            let mut client = admin.connect(locale)?;
            let version = office::publish_settings(&mut client, store.as_deref(), &text).map_err(err)?;
            println!("{}", t!("store.settings_published", locale = locale, version = version));
        }
        StoreCommand::PublishUsers { admin, store } => {
            let ledger = open_ledger(data_dir, settings_store, locale)?;
            let users = ledger.users().map_err(|e| fail(e.localized(locale)))?;
            let mut client = admin.connect(locale)?;
            let version = office::publish_users(&mut client, store.as_deref(), &users).map_err(err)?;
            println!("{}", t!("store.users_published", locale = locale, version = version, count = users.len()));
        }
        StoreCommand::Unflag { register, admin, store, note } => {
            let mut client = admin.connect(locale)?;
            let done = office::unflag(&mut client, store.as_deref(), register, note).map_err(err)?;
            println!(
                "{}",
                t!(
                    "store.unflagged",
                    locale = locale,
                    register = &done.register,
                    store = &done.store,
                    seq = done.head,
                    flag = &done.flag
                )
            );
        }
        StoreCommand::Verify { admin } => {
            let mut client = admin.connect(locale)?;
            let mut sound = true;
            for c in office::verify_chains(&mut client).map_err(err)? {
                let line = match (&c.first_bad, &c.flag) {
                    (Some(seq), _) => {
                        sound = false;
                        t!("store.chain_bad", locale = locale, register = &c.register, seq = seq)
                    }
                    (None, Some(flag)) => {
                        sound = false;
                        t!("store.chain_flagged", locale = locale, register = &c.register, detail = flag)
                    }
                    (None, None) => t!("store.chain_ok", locale = locale, register = &c.register, entries = c.entries),
                };
                println!("{line}");
            }
            if !sound {
                return Ok(ExitCode::FAILURE);
            }
        }
        StoreCommand::Report { day, admin, late_minutes, store, csv, pdf } => {
            let mut client = admin.connect(locale)?;
            let late = chrono::Duration::minutes(*late_minutes);
            let store_day = office::store_day(&mut client, *day, store.as_deref(), late).map_err(err)?;
            let rows = report::rows(&store_day, locale);
            print!("{}", report::text(&store_day, &rows, locale));
            if let Some(file) = csv {
                let bytes = report::csv(&rows).map_err(|e| fail(e.to_string()))?;
                config::write_private(file, &bytes, false).map_err(|e| {
                    fail(t!("cli.cannot_write", locale = locale, file = file.display(), detail = e.to_string()))
                })?;
            }
            if let Some(file) = pdf {
                let title = t!("store.report.title", locale = locale, date = day.to_string()).into_owned();
                let bytes = crate::dayclose::pdf::rows_pdf(&title, &report::sections(&rows, locale))
                    .map_err(|e| fail(e.to_string()))?;
                config::write_private(file, &bytes, false).map_err(|e| {
                    fail(t!("cli.cannot_write", locale = locale, file = file.display(), detail = e.to_string()))
                })?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
