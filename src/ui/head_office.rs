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
    /// A round of the shipper: the status, and a newer catalog version if there is one.
    Shipped(Status, Option<ship::Version>),
    Applied(Result<(i64, Handed<Arc<Catalog>>), String>),
}

/// The shipper's rounds, as messages.
pub fn shipper(ledger_path: PathBuf, head_office: HeadOffice) -> BoxStream<'static, Message> {
    let (tx, rx) = stream_channel::unbounded();
    let spawned = std::thread::Builder::new().name("head-office".into()).spawn(move || {
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
) -> (Status, Option<ship::Version>) {
    let Ok(ledger) = Ledger::open_read_only(ledger_path) else { return (Status::Unknown, None) };
    let ours = ledger.head().ok().flatten().map_or(0, |h| h.seq);
    let unreachable = || Status::Unreachable((ours - ack.seq()).max(0));
    if client.as_ref().is_none_or(|c| c.is_closed()) {
        *client = store::connect(&head_office.url, head_office.password_file.as_deref()).ok();
    }
    let Some(c) = client.as_mut() else { return (unreachable(), None) };
    match ship::ship(c, &ledger, |seq, hash| ack.write(seq, hash)) {
        Ok(head) => {
            let status = if head >= ours { Status::UpToDate } else { Status::Waiting(ours - head) };
            let applied = ship::applied_catalog(&ledger).unwrap_or(0);
            let version = ship::versions_after(c, applied).ok().and_then(|v| v.into_iter().find(|v| v.kind == "catalog"));
            (status, version)
        }
        Err(StoreError::Flagged(_) | StoreError::Refused(_)) => (Status::Flagged, None),
        Err(_) => {
            *client = None;
            (unreachable(), None)
        }
    }
}

pub fn update(till: &mut Till, msg: Msg) -> Vec<Job> {
    match msg {
        Msg::Shipped(status, version) => {
            till.head_office = status;
            // Between sales only: a cart keeps the prices it was rung up at.
            let idle = till.counter.sale().lines().is_empty() && till.posting.is_empty();
            if let Some(v) = version
                && idle
                && !till.applying_catalog
            {
                till.applying_catalog = true;
                let store: StoreSettings = till.counter.store().clone();
                let l = till.locale.clone();
                return vec![till.devices.ledger.call(move |ledger| {
                    let mut ledger = workers::lock(ledger);
                    let applied = ship::apply_catalog(&mut ledger, &store, &v)
                        .map_err(|e| e.localized(&l))
                        .and_then(|_| {
                            let products = ledger.load_products().map_err(|e| e.localized(&l))?;
                            Ok(Arc::new(Catalog::new(store.currency, products, store.embedded_barcodes.clone())))
                        })
                        .map(|catalog| (v.version, Handed::new(catalog)));
                    Message::HeadOffice(Msg::Applied(applied))
                })];
            }
        }
        Msg::Applied(result) => {
            till.applying_catalog = false;
            match result {
                Ok((version, catalog)) => {
                    if let Some(catalog) = catalog.take() {
                        till.counter.set_catalog(catalog);
                    }
                    let l = till.locale.clone();
                    till.info(rust_i18n::t!("store.catalog_applied", locale = &l, version = version).into_owned());
                }
                Err(e) => till.error(e),
            }
        }
    }
    Vec::new()
}

/// The status bar's words and whether they warn.
pub fn status_text(status: Status, locale: &str) -> Option<(String, bool)> {
    let l = locale;
    match status {
        Status::Unknown => None,
        Status::UpToDate => Some((rust_i18n::t!("store.status_up_to_date", locale = l).into_owned(), false)),
        Status::Waiting(n) => Some((rust_i18n::t!("store.status_waiting", locale = l, count = n).into_owned(), false)),
        Status::Unreachable(n) => {
            Some((rust_i18n::t!("store.status_unreachable", locale = l, count = n).into_owned(), true))
        }
        Status::Flagged => Some((rust_i18n::t!("store.status_flagged", locale = l).into_owned(), true)),
    }
}
