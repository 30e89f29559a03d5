//! The till's side of the head office: its journal shipped, entry by entry in order, in batches,
//! and the head office's versions taken back.
//!
//! The protocol (ARCHITECTURE.md, "The head office"): ask the head office which entry of this
//! register it holds last (`till.my_head`); ship from that entry on — the entry itself again, so a
//! ledger rewritten under it is seen even when nothing new waits — in batches of [`BATCH`], each
//! one `till.ingest` call, one transaction. The head office's answer is the acknowledgement: a
//! shipper killed mid-batch loses nothing (the batch was not committed, or it was and the next
//! ask says so), and a batch delivered twice changes nothing.

use std::path::{Path, PathBuf};

use postgres::Client;

use super::StoreError;
use crate::catalog::import;
use crate::config::StoreSettings;
use crate::ledger::{ChainEntry, Ledger, records};

/// Entries a shipment carries: big enough that a week offline ships in seconds, small enough
/// that one shipment is a short transaction at the head office.
pub const BATCH: usize = 2000;

/// How the till journals a catalog version it applied (the catalog import's `source`).
pub const CATALOG_SOURCE: &str = "head office catalog version ";

/// What the head office holds of this register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldHead {
    pub store: String,
    pub register: String,
    pub seq: i64,
    pub hash: Vec<u8>,
    pub flag: Option<String>,
}

pub fn held_head(client: &mut Client) -> Result<HeldHead, StoreError> {
    let row = client
        .query_opt("SELECT store, register, head_seq, head_hash, flag_reason FROM till.my_head()", &[])?
        .ok_or(StoreError::NotARegister)?;
    Ok(HeldHead { store: row.get(0), register: row.get(1), seq: row.get(2), hash: row.get(3), flag: row.get(4) })
}

/// The highest receipt and Z numbers the head office holds of this register.
pub fn held_numbers(client: &mut Client) -> Result<(i64, i64), StoreError> {
    let row =
        client.query_opt("SELECT receipt_no, z_no FROM till.my_numbers()", &[])?.ok_or(StoreError::NotARegister)?;
    Ok((row.get(0), row.get(1)))
}

/// Ships what the head office lacks of `ledger`; `acked` hears each acknowledged head. Returns
/// the head the head office holds after it.
pub fn ship(client: &mut Client, ledger: &Ledger, mut acked: impl FnMut(i64, &[u8])) -> Result<i64, StoreError> {
    let held = held_head(client)?;
    if let Some(reason) = held.flag {
        return Err(StoreError::Flagged(reason));
    }
    if held.register != ledger.register() {
        return Err(StoreError::WrongRegister { ours: ledger.register().to_string(), theirs: held.register });
    }
    let ours = ledger.head()?.map_or(0, |h| h.seq);
    if held.seq > ours {
        return Err(StoreError::LedgerBehind { held: held.seq, ours });
    }
    acked(held.seq, &held.hash);
    // From the entry held last: the head office compares it with what it holds.
    let mut from = (held.seq - 1).max(0);
    let mut head = held.seq;
    loop {
        // The next batch is read from the ledger (a connection of its own, on a thread of its
        // own) while the head office takes this one: the two halves of a shipment overlap.
        let pass = std::thread::scope(|scope| -> Result<Pass, StoreError> {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<ChainEntry>, StoreError>>(1);
            let path = ledger.path().to_path_buf();
            scope.spawn(move || {
                let reader = match Ledger::open_read_only(&path) {
                    Ok(r) => r,
                    Err(e) => return drop(tx.send(Err(e.into()))),
                };
                let mut at = from;
                loop {
                    let batch = reader.entries_after(at, BATCH).map_err(StoreError::from);
                    let last = batch.as_ref().ok().and_then(|b| b.last().map(|e| e.seq));
                    let done = last.is_none();
                    if tx.send(batch).is_err() || done {
                        return;
                    }
                    at = last.unwrap_or(at);
                }
            });
            for batch in rx {
                let batch = batch?;
                let Some(last) = batch.last().map(|e| e.seq) else { return Ok(Pass::Done(head)) };
                let (new_head, hash) = ingest(client, &batch)?;
                // The head office has committed; a till stopped here learns it from the next ask.
                crate::card::crash_point("ship_after_ingest");
                acked(new_head, &hash);
                if new_head >= ours {
                    return Ok(Pass::Done(new_head));
                }
                if new_head != last {
                    // The head office holds less than was shipped up to (a gap answer): the
                    // reader is ahead; start again from what the head office holds.
                    return Ok(Pass::Again(new_head));
                }
                head = new_head;
            }
            Ok(Pass::Done(head))
        })?;
        match pass {
            Pass::Done(h) => return Ok(h),
            Pass::Again(h) if h == from => {
                return Err(StoreError::Refused(format!("the head office holds {h} and takes nothing after it")));
            }
            Pass::Again(h) => {
                head = h;
                from = h;
            }
        }
    }
}

/// How a pass of the shipper ended.
enum Pass {
    /// Everything shipped; the head the head office holds.
    Done(i64),
    /// To be shipped again from this head.
    Again(i64),
}

/// Lowers the calling thread's priority (and so its shipment's reader's, which inherits it): at
/// the counter, the cashier's scans come first and shipping takes what is left.
pub fn lower_priority() {
    // SAFETY: gettid and setpriority take plain integers; setpriority on one's own thread id
    // changes only this thread's nice value (Linux keeps it per thread).
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
}

/// One shipment: `till.ingest`, and its answer.
fn ingest(client: &mut Client, batch: &[ChainEntry]) -> Result<(i64, Vec<u8>), StoreError> {
    let seqs: Vec<i64> = batch.iter().map(|e| e.seq).collect();
    let prevs: Vec<&[u8]> = batch.iter().map(|e| e.prev_hash.as_slice()).collect();
    let hashes: Vec<&[u8]> = batch.iter().map(|e| e.hash.as_slice()).collect();
    let bytes: Vec<&[u8]> = batch.iter().map(|e| e.canonical.as_slice()).collect();
    let row = client.query_one(
        "SELECT status, head_seq, head_hash, detail FROM till.ingest($1, $2, $3, $4)",
        &[&seqs, &prevs, &hashes, &bytes],
    )?;
    let status: String = row.get(0);
    let detail: String = row.get::<_, Option<String>>(3).unwrap_or_default();
    match status.as_str() {
        "ok" | "gap" => Ok((row.get(1), row.get(2))),
        "flagged" => Err(StoreError::Flagged(detail)),
        _ => Err(StoreError::Refused(detail)),
    }
}

/// A version the head office published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub version: i64,
    pub kind: String,
    pub body: String,
    pub sha256: String,
}

impl Version {
    /// Its body's digest, which must be the one the head office published with it.
    fn checked_digest(&self) -> Result<String, StoreError> {
        let digest = records::sha256_hex(self.body.as_bytes());
        if digest != self.sha256 {
            return Err(StoreError::BadVersion { version: self.version, detail: "its digest does not match".into() });
        }
        Ok(digest)
    }
}

/// The newest version of each kind published after `after`.
pub fn versions_after(client: &mut Client, after: i64) -> Result<Vec<Version>, StoreError> {
    Ok(client
        .query("SELECT version, kind, body, sha256 FROM till.versions_after($1)", &[&after])?
        .into_iter()
        .map(|r| Version { version: r.get(0), kind: r.get(1), body: r.get(2), sha256: r.get(3) })
        .collect())
}

/// The head office's catalog version this till applied last (0: none).
pub fn applied_catalog(ledger: &Ledger) -> Result<i64, StoreError> {
    Ok(version_in(ledger.last_journaled("catalog_import", "source", CATALOG_SOURCE)?, CATALOG_SOURCE))
}

/// The head office's users version this till applied last (0: none).
pub fn applied_users(ledger: &Ledger) -> Result<i64, StoreError> {
    Ok(version_in(ledger.last_journaled("user_saved", "by", USERS_SOURCE)?, USERS_SOURCE))
}

fn version_in(journaled: Option<String>, prefix: &str) -> i64 {
    journaled.and_then(|s| s[prefix.len()..].split_whitespace().next().and_then(|n| n.parse().ok())).unwrap_or(0)
}

/// The head office's settings version this till applied last (0: none).
pub fn applied_settings(ledger: &Ledger) -> Result<i64, StoreError> {
    Ok(version_in(ledger.last_journaled("settings_written", "source", SETTINGS_SOURCE)?, SETTINGS_SOURCE))
}

/// How the till journals a settings version it applied (the `settings_written` entry's `source`).
pub const SETTINGS_SOURCE: &str = "head office settings version ";

/// Applies a settings version to the settings file at `path` (written whole, atomically, only if
/// valid), then journals it. Returns the settings now in force.
pub fn apply_settings(
    ledger: &mut Ledger,
    path: &Path,
    v: &Version,
) -> Result<crate::config::settings::Settings, StoreError> {
    let digest = v.checked_digest()?;
    let settings =
        crate::config::settings::apply_store_version(path, &v.body).map_err(|problems| StoreError::BadVersion {
            version: v.version,
            detail: problems.iter().map(|p| p.localized("en")).collect::<Vec<_>>().join("; "),
        })?;
    let source = format!("{SETTINGS_SOURCE}{} sha256:{digest}", v.version);
    ledger.append("settings_written", &[("section", "store".to_string()), ("source", source)], chrono::Utc::now())?;
    Ok(settings)
}

/// How the till journals a users version it applied (each user's `by`).
pub const USERS_SOURCE: &str = "head office users version ";

/// The store's users as a version carries them: `id TAB name TAB role TAB argon2 PHC hash`, a
/// line each. The PINs themselves never leave a till.
pub fn users_body(users: &[crate::auth::User]) -> Result<String, String> {
    let mut out = String::new();
    for u in users {
        if [&u.id, &u.name].iter().any(|s| s.contains(['\t', '\n', '\r'])) {
            return Err(format!("user {}: a tab or line break in the id or name", u.id));
        }
        out.push_str(&format!("{}\t{}\t{}\t{}\n", u.id, u.name, crate::ledger::users::role_code(u.role), u.pin_hash()));
    }
    Ok(out)
}

/// Reads a users version back; every line must be a user with an argon2 hash.
pub fn parse_users(body: &str) -> Result<Vec<crate::auth::User>, String> {
    body.lines()
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, line)| {
            let cells: Vec<&str> = line.split('\t').collect();
            let [id, name, role, hash] = cells[..] else { return Err(format!("line {}: not four cells", i + 1)) };
            let role = crate::ledger::users::role_of(role).ok_or_else(|| format!("line {}: no role {role}", i + 1))?;
            let parsed = password_hash::PasswordHash::new(hash).map_err(|e| format!("line {}: {e}", i + 1))?;
            if parsed.algorithm.as_str() != "argon2id" || id.is_empty() {
                return Err(format!("line {}: not an argon2id hash", i + 1));
            }
            Ok(crate::auth::User::new(id, name, role, hash.to_string()))
        })
        .collect()
}

/// Applies a users version: every user of it saved with their hash, in one transaction.
pub fn apply_users(ledger: &mut Ledger, v: &Version) -> Result<usize, StoreError> {
    let digest = v.checked_digest()?;
    let users = parse_users(&v.body).map_err(|detail| StoreError::BadVersion { version: v.version, detail })?;
    ledger.save_users(
        &users,
        &format!("{USERS_SOURCE}{} sha256:{digest}", v.version),
        USERS_SOURCE,
        chrono::Utc::now(),
    )?;
    Ok(users.len())
}

/// Applies a catalog version: its CSV checked as an import is, then saved with its journal entry
/// (which names the version) in one transaction. A version that does not read is refused whole;
/// the till sells on the catalog it has.
pub fn apply_catalog(ledger: &mut Ledger, store: &StoreSettings, v: &Version) -> Result<usize, StoreError> {
    let digest = v.checked_digest()?;
    let products = {
        let owner = |code: &str| ledger.barcode_owner(code).ok().flatten();
        import::parse_csv(v.body.as_bytes(), store.currency, &store.tax_class_codes(), &owner).map_err(|errors| {
            StoreError::BadVersion {
                version: v.version,
                detail: errors.iter().map(|e| e.localized("en")).collect::<Vec<_>>().join("; "),
            }
        })?
    };
    let source = format!("{CATALOG_SOURCE}{} sha256:{digest}", v.version);
    ledger.save_products(&products, &source, chrono::Utc::now())?;
    Ok(products.len())
}

/// What applying a version took.
pub enum Took {
    /// The settings now in force (the file written).
    Settings(Box<crate::config::settings::Settings>),
    Catalog,
    Users,
    /// A kind this till does not take (or settings, for a till without a settings file).
    Nothing,
}

/// Applies one version of any kind: settings to the file at `settings_path` (then `store` is
/// theirs, for the catalog after them), the catalog with `store`'s currency and tax classes, the
/// users.
pub fn apply_version(
    ledger: &mut Ledger,
    store: &mut StoreSettings,
    settings_path: Option<&Path>,
    v: &Version,
) -> Result<Took, StoreError> {
    Ok(match (v.kind.as_str(), settings_path) {
        ("settings", Some(path)) => {
            let settings = apply_settings(ledger, path, v)?;
            *store = settings.store.clone();
            Took::Settings(Box::new(settings))
        }
        ("catalog", _) => {
            apply_catalog(ledger, store, v)?;
            Took::Catalog
        }
        ("users", _) => {
            apply_users(ledger, v)?;
            Took::Users
        }
        _ => Took::Nothing,
    })
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Synced {
    /// The head the head office holds.
    pub head: i64,
    /// The catalog version applied, if a newer one was.
    pub catalog: Option<i64>,
    /// The users version applied, if a newer one was.
    pub users: Option<i64>,
    /// The settings version applied, if a newer one was.
    pub settings: Option<i64>,
}

/// The versions published after the ones this till applied, newest of each kind; settings
/// first (a catalog version is read with the tax classes it comes with).
pub fn newer_versions(client: &mut Client, ledger: &Ledger) -> Result<Vec<Version>, StoreError> {
    let (catalog, users, settings) = (applied_catalog(ledger)?, applied_users(ledger)?, applied_settings(ledger)?);
    let mut newer: Vec<Version> = versions_after(client, catalog.min(users).min(settings))?
        .into_iter()
        .filter(|v| match v.kind.as_str() {
            "catalog" => v.version > catalog,
            "users" => v.version > users,
            "settings" => v.version > settings,
            _ => false,
        })
        .collect();
    newer.sort_by_key(|v| (v.kind != "settings", v.version));
    Ok(newer)
}

/// Ships what waits, applies the newest versions (settings to the file at `settings_path`, when
/// the till has one), and ships their entries too.
pub fn sync(
    client: &mut Client,
    ledger: &mut Ledger,
    store: &StoreSettings,
    settings_path: Option<&Path>,
    ack: &AckFile,
) -> Result<Synced, StoreError> {
    let record = |seq: i64, hash: &[u8]| ack.write(seq, hash);
    let mut head = ship(client, ledger, record)?;
    let mut synced = Synced::default();
    let mut store = store.clone();
    // Each version on its own: one that does not read is refused (and said), the others applied.
    let mut refused = None;
    for v in newer_versions(client, ledger)? {
        match apply_version(ledger, &mut store, settings_path, &v) {
            Ok(Took::Settings(_)) => synced.settings = Some(v.version),
            Ok(Took::Catalog) => synced.catalog = Some(v.version),
            Ok(Took::Users) => synced.users = Some(v.version),
            Ok(Took::Nothing) => {}
            Err(e) => {
                refused.get_or_insert(e);
            }
        }
    }
    if synced != Synced::default() {
        head = ship(client, ledger, record)?;
    }
    synced.head = head;
    match refused {
        Some(e) => Err(e),
        None => Ok(synced),
    }
}

/// The head office's last acknowledgement, kept beside the ledger, so that the till can say how
/// much waits while the head office is out of reach.
#[derive(Debug, Clone)]
pub struct AckFile(PathBuf);

impl AckFile {
    pub fn beside(ledger: &Path) -> AckFile {
        AckFile(ledger.with_file_name("head-office.ack"))
    }

    pub fn write(&self, seq: i64, hash: &[u8]) {
        // Only a hint for the status bar: the head office's own answer is the acknowledgement.
        let _ = crate::config::settings::write_atomically(&self.0, &format!("{seq} {}\n", records::hex(hash)));
    }

    /// The acknowledged seq (0 when nothing was ever acknowledged).
    pub fn seq(&self) -> i64 {
        std::fs::read_to_string(&self.0)
            .ok()
            .and_then(|t| t.split_whitespace().next().and_then(|n| n.parse().ok()))
            .unwrap_or(0)
    }
}
