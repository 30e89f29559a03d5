//! The head office as the counter sees it: a shipper thread of its own ships the journal every
//! [`SHIP_EVERY`] (reading the ledger through its own read-only connection, so the counter never
//! waits for it), the status bar says how much waits, and the versions the head office published
//! (settings, catalog, users) are applied between sales — never under a cart — through the
//! ledger's worker, each on its own.

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
use crate::store::{HeadOffice, StoreError, ship};

/// How often the counter ships and asks for a newer catalog: a price changed at the head office
/// is on sale within a minute.
pub const SHIP_EVERY: Duration = Duration::from_secs(15);

/// What the status bar says of the head office.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Status {
    /// Not asked yet.
    #[default]
    Unknown,
    UpToDate,
    Waiting(i64),
    Unreachable(i64),
    Flagged,
    /// Reachable, but it will not take this till's shipments (wrong credentials, a ledger behind
    /// what it holds…): what it said.
    Refused(String),
}

#[derive(Debug, Clone)]
pub enum Msg {
    /// A round of the shipper: the status, and the newer versions there are.
    Shipped(Status, Vec<ship::Version>),
    /// While versions wait for the cart to empty: is it empty now?
    Tick,
    Applied(Handed<Applied>),
}

/// How often versions waiting for the cart to empty look again.
pub const PENDING_CHECK: Duration = Duration::from_secs(2);

/// What the head office's versions are waiting for at the counter.
#[derive(Debug, Default)]
pub struct Pending {
    /// Newer versions, to apply once the cart is empty.
    pub versions: Vec<ship::Version>,
    /// Settings applied to the file while a sale had begun: taken at the next empty cart.
    pub settings: Option<crate::config::settings::Settings>,
    /// Versions this till refused (said once, not tried again).
    pub refused: Vec<(String, i64)>,
    pub applying: bool,
}

impl Pending {
    pub fn waits(&self) -> bool {
        !self.versions.is_empty() || self.settings.is_some()
    }
}

/// What versions changed at the counter: the settings, the catalog rebuilt, the users; and what
/// was refused, in words.
pub struct Applied {
    /// (kind, number) of each version applied.
    pub versions: Vec<(String, i64)>,
    pub settings: Option<crate::config::settings::Settings>,
    pub catalog: Option<Arc<Catalog>>,
    pub users: Option<Vec<crate::auth::User>>,
    pub refused: Vec<((String, i64), String)>,
}

/// The shipper's rounds, as messages.
pub fn shipper(ledger_path: PathBuf, head_office: HeadOffice, locale: String) -> BoxStream<'static, Message> {
    let (tx, rx) = stream_channel::unbounded();
    let spawned = std::thread::Builder::new().name("head-office".into()).spawn(move || {
        ship::lower_priority();
        let mut client = None;
        let ack = ship::AckFile::beside(&ledger_path);
        loop {
            let (status, version) = round(&ledger_path, &head_office, &ack, &mut client, &locale);
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
    locale: &str,
) -> (Status, Vec<ship::Version>) {
    let Ok(ledger) = Ledger::open_read_only(ledger_path) else { return (Status::Unknown, Vec::new()) };
    let ours = ledger.head().ok().flatten().map_or(0, |h| h.seq);
    let unreachable = || Status::Unreachable((ours - ack.seq()).max(0));
    if client.as_ref().is_none_or(|c| c.is_closed()) {
        *client = head_office.connect().ok();
    }
    let Some(c) = client.as_mut() else { return (unreachable(), Vec::new()) };
    match ship::ship(c, &ledger, |seq, hash| ack.write(seq, hash)) {
        Ok(head) => {
            let status = if head >= ours { Status::UpToDate } else { Status::Waiting(ours - head) };
            (status, ship::newer_versions(c, &ledger).unwrap_or_default())
        }
        Err(StoreError::Flagged(_)) => (Status::Flagged, Vec::new()),
        Err(StoreError::Unreachable(_)) => {
            *client = None;
            (unreachable(), Vec::new())
        }
        Err(e) => {
            *client = None;
            (Status::Refused(e.localized(locale)), Vec::new())
        }
    }
}

pub fn update(till: &mut Till, msg: Msg) -> Vec<Job> {
    match msg {
        Msg::Shipped(status, versions) => {
            till.head_office = status;
            let refused = &till.head_office_pending.refused;
            till.head_office_pending.versions =
                versions.into_iter().filter(|v| !refused.contains(&(v.kind.clone(), v.version))).collect();
            apply_when_idle(till)
        }
        Msg::Tick => apply_when_idle(till),
        Msg::Applied(applied) => {
            till.head_office_pending.applying = false;
            let Some(applied) = applied.take() else { return Vec::new() };
            if let Some(settings) = applied.settings {
                till.head_office_pending.settings = Some(settings);
            }
            take_settings(till);
            if let Some(catalog) = applied.catalog {
                till.counter.set_catalog(catalog);
            }
            if let Some(users) = applied.users {
                till.users = users;
            }
            let l = till.locale.clone();
            let mut said: Vec<String> = applied
                .versions
                .iter()
                .map(|(kind, v)| {
                    let key = format!("store.{kind}_applied");
                    rust_i18n::t!(&key, locale = &l, version = v).into_owned()
                })
                .collect();
            let refused = !applied.refused.is_empty();
            for (which, why) in applied.refused {
                said.push(why);
                till.head_office_pending.refused.push(which);
            }
            if refused {
                till.error(said.join(" "));
            } else if !said.is_empty() {
                till.info(said.join(" "));
            }
            Vec::new()
        }
    }
}

/// Between sales only: a cart keeps the prices and settings it was rung up under.
fn idle(till: &Till) -> bool {
    till.counter.sale().lines().is_empty() && till.posting.is_empty()
}

/// Settings already in the file are taken by the counter at the first empty cart.
fn take_settings(till: &mut Till) {
    if let Some(settings) = till.head_office_pending.settings.take() {
        if idle(till) && till.counter.set_store(settings.store.clone()).is_ok() {
            till.settings = Some(settings);
        } else {
            till.head_office_pending.settings = Some(settings);
        }
    }
}

/// Starts applying the waiting versions when the cart is empty (the ledger's worker does it).
fn apply_when_idle(till: &mut Till) -> Vec<Job> {
    take_settings(till);
    let pending = &mut till.head_office_pending;
    if pending.versions.is_empty() || pending.applying || !idle(till) {
        return Vec::new();
    }
    let versions = std::mem::take(&mut till.head_office_pending.versions);
    till.head_office_pending.applying = true;
    let store: StoreSettings = till.counter.store().clone();
    let settings_path = till.place.as_ref().map(|p| p.config_path.clone());
    let l = till.locale.clone();
    vec![till.devices.ledger.call(move |ledger| {
        let mut ledger = workers::lock(ledger);
        let applied = apply(&mut ledger, store, settings_path.as_deref(), &versions, &l);
        Message::HeadOffice(Msg::Applied(Handed::new(applied)))
    })]
}

/// Applies the versions the shipper brought, each on its own (one that does not read is refused
/// and the others still applied), on the ledger's worker.
fn apply(
    ledger: &mut Ledger,
    mut store: StoreSettings,
    settings_path: Option<&std::path::Path>,
    versions: &[ship::Version],
    locale: &str,
) -> Applied {
    let mut applied = Applied { versions: Vec::new(), settings: None, catalog: None, users: None, refused: Vec::new() };
    for v in versions {
        let took = ship::apply_version(ledger, &mut store, settings_path, v).and_then(|took| {
            match took {
                ship::Took::Settings(settings) => applied.settings = Some(*settings),
                ship::Took::Catalog => {
                    let products = ledger.load_products()?;
                    applied.catalog =
                        Some(Arc::new(Catalog::new(store.currency, products, store.embedded_barcodes.clone())));
                }
                ship::Took::Users => applied.users = Some(ledger.users()?),
                ship::Took::Nothing => return Ok(false),
            }
            Ok(true)
        });
        match took {
            Ok(true) => applied.versions.push((v.kind.clone(), v.version)),
            Ok(false) => {}
            Err(e) => applied.refused.push(((v.kind.clone(), v.version), e.localized(locale))),
        }
    }
    applied
}

/// The status bar's words and whether they warn.
pub fn status_text(status: &Status, locale: &str) -> Option<(String, bool)> {
    let l = locale;
    match status {
        Status::Unknown => None,
        Status::UpToDate => Some((rust_i18n::t!("store.status_up_to_date", locale = l).into_owned(), false)),
        Status::Waiting(n) => {
            let key = if *n == 1 { "store.status_waiting_one" } else { "store.status_waiting" };
            Some((rust_i18n::t!(key, locale = l, count = n).into_owned(), false))
        }
        Status::Unreachable(n) => {
            let key = if *n == 1 { "store.status_unreachable_one" } else { "store.status_unreachable" };
            Some((rust_i18n::t!(key, locale = l, count = n).into_owned(), true))
        }
        Status::Flagged => Some((rust_i18n::t!("store.status_flagged", locale = l).into_owned(), true)),
        Status::Refused(why) => Some((rust_i18n::t!("store.status_refused", locale = l, why = why).into_owned(), true)),
    }
}
