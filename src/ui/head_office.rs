//! The head office as the counter sees it: a shipper thread of its own ships the journal every
//! [`SHIP_EVERY`] (reading the ledger through its own read-only connection, so the counter never
//! waits for it), the status bar says how much waits, and a catalog version the head office
//! published is applied between sales — never under a cart — through the ledger's worker.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use iced::futures::StreamExt;
use iced::futures::channel::mpsc as stream_channel;
use iced::futures::stream::BoxStream;

use super::workers::{self, Handed};
use super::{Job, Message, Till};
use crate::catalog::Catalog;
use crate::config::StoreSettings;
use crate::ledger::Ledger;
use crate::store::{self, HeadOffice, StoreError, ship};

/// How often the counter ships and asks for a newer catalog: a price changed at the head office
/// is on sale within a minute.
pub const SHIP_EVERY: Duration = Duration::from_secs(15);

/// What the status bar says of the head office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Status {
    /// Not asked yet.
    #[default]
    Unknown,
    UpToDate,
    Waiting(i64),
    Unreachable(i64),
    Flagged,
}

#[derive(Debug, Clone)]
pub enum Msg {
    /// A round of the shipper: the status, and the newer versions there are (catalog, users).
    Shipped(Status, Vec<ship::Version>),
    Applied(Result<Handed<Applied>, String>),
}

/// What a version changed at the counter: the settings, the catalog rebuilt, the users.
pub struct Applied {
    /// (kind, number) of each version applied.
    pub versions: Vec<(String, i64)>,
    pub settings: Option<crate::config::settings::Settings>,
    pub catalog: Option<Arc<Catalog>>,
    pub users: Option<Vec<crate::auth::User>>,
}

/// The shipper's rounds, as messages.
pub fn shipper(ledger_path: PathBuf, head_office: HeadOffice) -> BoxStream<'static, Message> {
    let (tx, rx) = stream_channel::unbounded();
    let spawned = std::thread::Builder::new().name("head-office".into()).spawn(move || {
        ship::lower_priority();
        let mut client = None;
        let ack = ship::AckFile::beside(&ledger_path);
        loop {
            let (status, version) = round(&ledger_path, &head_office, &ack, &mut client);
            if tx.unbounded_send(Message::HeadOffice(Msg::Shipped(status, version))).is_err() {
                break;
            }
            std::thread::sleep(SHIP_EVERY);
        }
    });
    match spawned {
        Ok(_) => rx.boxed(),
        Err(_) => iced::futures::stream::empty().boxed(),
    }
}

/// One round: ship what waits, then ask for a newer catalog than the one applied.
fn round(
    ledger_path: &std::path::Path,
    head_office: &HeadOffice,
    ack: &ship::AckFile,
    client: &mut Option<postgres::Client>,
) -> (Status, Vec<ship::Version>) {
    let Ok(ledger) = Ledger::open_read_only(ledger_path) else { return (Status::Unknown, Vec::new()) };
    let ours = ledger.head().ok().flatten().map_or(0, |h| h.seq);
    let unreachable = || Status::Unreachable((ours - ack.seq()).max(0));
    if client.as_ref().is_none_or(|c| c.is_closed()) {
        *client = store::connect(&head_office.url, head_office.password_file.as_deref()).ok();
    }
    let Some(c) = client.as_mut() else { return (unreachable(), Vec::new()) };
    match ship::ship(c, &ledger, |seq, hash| ack.write(seq, hash)) {
        Ok(head) => {
            let status = if head >= ours { Status::UpToDate } else { Status::Waiting(ours - head) };
            (status, ship::newer_versions(c, &ledger).unwrap_or_default())
        }
        Err(StoreError::Flagged(_) | StoreError::Refused(_)) => (Status::Flagged, Vec::new()),
        Err(_) => {
            *client = None;
            (unreachable(), Vec::new())
        }
    }
}

pub fn update(till: &mut Till, msg: Msg) -> Vec<Job> {
    match msg {
        Msg::Shipped(status, versions) => {
            till.head_office = status;
            // Between sales only: a cart keeps the prices it was rung up at.
            let idle = till.counter.sale().lines().is_empty() && till.posting.is_empty();
            if !versions.is_empty() && idle && !till.applying_catalog {
                till.applying_catalog = true;
                let store: StoreSettings = till.counter.store().clone();
                let settings_path = till.place.as_ref().map(|p| p.config_path.clone());
                let l = till.locale.clone();
                return vec![till.devices.ledger.call(move |ledger| {
                    let mut ledger = workers::lock(ledger);
                    let applied = apply(&mut ledger, store, settings_path.as_deref(), &versions)
                        .map_err(|e| e.localized(&l))
                        .map(Handed::new);
                    Message::HeadOffice(Msg::Applied(applied))
                })];
            }
        }
        Msg::Applied(result) => {
            till.applying_catalog = false;
            match result.map(|h| h.take()) {
                Ok(Some(applied)) => {
                    // Between sales (the cart was empty when it was asked for): the next sale is
                    // rung up under the new settings.
                    if let Some(settings) = applied.settings
                        && till.counter.set_store(settings.store.clone()).is_ok()
                    {
                        till.settings = Some(settings);
                    }
                    if let Some(catalog) = applied.catalog {
                        till.counter.set_catalog(catalog);
                    }
                    if let Some(users) = applied.users {
                        till.users = users;
                    }
                    let l = till.locale.clone();
                    let said: Vec<String> = applied
                        .versions
                        .iter()
                        .map(|(kind, v)| {
                            let key = format!("store.{kind}_applied");
                            rust_i18n::t!(&key, locale = &l, version = v).into_owned()
                        })
                        .collect();
                    till.info(said.join(" "));
                }
                Ok(None) => {}
                Err(e) => till.error(e),
            }
        }
    }
    Vec::new()
}

/// Applies the versions the shipper brought, each in its own transaction, on the ledger's worker.
fn apply(
    ledger: &mut Ledger,
    mut store: StoreSettings,
    settings_path: Option<&std::path::Path>,
    versions: &[ship::Version],
) -> Result<Applied, StoreError> {
    let mut applied = Applied { versions: Vec::new(), settings: None, catalog: None, users: None };
    for v in versions {
        match v.kind.as_str() {
            "settings" => {
                let Some(path) = settings_path else { continue };
                let settings = ship::apply_settings(ledger, path, v)?;
                store = settings.store.clone();
                applied.settings = Some(settings);
            }
            "catalog" => {
                ship::apply_catalog(ledger, &store, v)?;
                let products = ledger.load_products()?;
                applied.catalog =
                    Some(Arc::new(Catalog::new(store.currency, products, store.embedded_barcodes.clone())));
            }
            "users" => {
                ship::apply_users(ledger, v)?;
                applied.users = Some(ledger.users()?);
            }
            _ => continue,
        }
        applied.versions.push((v.kind.clone(), v.version));
    }
    Ok(applied)
}

/// The status bar's words and whether they warn.
pub fn status_text(status: Status, locale: &str) -> Option<(String, bool)> {
    let l = locale;
    match status {
        Status::Unknown => None,
        Status::UpToDate => Some((rust_i18n::t!("store.status_up_to_date", locale = l).into_owned(), false)),
        Status::Waiting(n) => {
            let key = if n == 1 { "store.status_waiting_one" } else { "store.status_waiting" };
            Some((rust_i18n::t!(key, locale = l, count = n).into_owned(), false))
        }
        Status::Unreachable(n) => {
            let key = if n == 1 { "store.status_unreachable_one" } else { "store.status_unreachable" };
            Some((rust_i18n::t!(key, locale = l, count = n).into_owned(), true))
        }
        Status::Flagged => Some((rust_i18n::t!("store.status_flagged", locale = l).into_owned(), true)),
    }
}
