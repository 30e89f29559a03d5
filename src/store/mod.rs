//! The head office: one PostgreSQL database behind a store's registers (or a chain's stores).
//!
//! Each till ships its journal to it ([`ship`]) and takes back what it publishes (the catalog, as
//! numbered versions). The till's own ledger stays the record of its register: it sells and closes
//! its day with the head office out of reach, and ships what waits when it is back. The head
//! office checks every register's chain as it arrives (`schema.sql`, `till.ingest`) and keeps
//! relational tables read out of the hashed bytes for the accountant's SQL ([`office`]).
//!
//! The connection is always TLS with the server's certificate and name checked (libpq's
//! `sslmode=verify-full`), the password read from a file only the till's user can read.

pub mod office;
pub mod report;
pub mod ship;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rust_i18n::t;

/// The `[head_office]` section of the settings file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HeadOffice {
    /// `postgres://ROLE@HOST:PORT/DB?sslrootcert=/etc/till/ca.pem` (libpq's form).
    pub url: String,
    /// The role's password, alone in a file readable only by the till's user.
    pub password_file: Option<PathBuf>,
}

impl HeadOffice {
    /// A connection to it, as [`connect`] opens one.
    pub fn connect(&self) -> Result<postgres::Client, StoreError> {
        connect(&self.url, self.password_file.as_deref())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("bad head office url: {0}")]
    BadUrl(String),
    #[error("the head office is reached only over TLS")]
    NotTls,
    #[error("password file {file}: {detail}")]
    PasswordFile { file: PathBuf, detail: String },
    #[error("password file {0} can be read by others")]
    PasswordFileOpen(PathBuf),
    #[error("certificates {file}: {detail}")]
    Certificates { file: PathBuf, detail: String },
    #[error("cannot reach the head office: {0}")]
    Unreachable(String),
    #[error("the head office refused: {0}")]
    Database(String),
    #[error("not an id: {0}")]
    BadId(String),
    #[error("this role ships for no register")]
    NotARegister,
    #[error("these credentials are register {theirs}'s; this till is register {ours}")]
    WrongRegister { ours: String, theirs: String },
    #[error("the head office flagged this register: {0}")]
    Flagged(String),
    #[error("the head office refused the shipment: {0}")]
    Refused(String),
    #[error("the head office holds {held} entries, this ledger only {ours}")]
    LedgerBehind { held: i64, ours: i64 },
    #[error("entry {0} differs from the one the head office holds")]
    LedgerDiffers(i64),
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
    #[error("catalog version {version}: {detail}")]
    BadVersion { version: i64, detail: String },
    #[error("the head office has no register {0}")]
    NoSuchRegister(String),
    #[error("register {0} is in several stores: name one with --store")]
    RegisterInStores(String),
    #[error("register {0} is not flagged")]
    NotFlagged(String),
    #[error("a note of why the flag is cleared is needed")]
    NoteNeeded,
    #[error("the head office's own chain of {register} breaks at entry {seq}")]
    HeldChainBroken { register: String, seq: i64 },
    #[error("{0}")]
    Io(String),
}

impl StoreError {
    pub fn localized(&self, locale: &str) -> String {
        let l = locale;
        match self {
            StoreError::BadUrl(d) => t!("store.error.bad_url", locale = l, detail = d).into(),
            StoreError::NotTls => t!("store.error.not_tls", locale = l).into(),
            StoreError::PasswordFile { file, detail } => {
                t!("store.error.password_file", locale = l, file = file.display(), detail = detail).into()
            }
            StoreError::PasswordFileOpen(file) => {
                t!("store.error.password_file_open", locale = l, file = file.display()).into()
            }
            StoreError::Certificates { file, detail } => {
                t!("store.error.certificates", locale = l, file = file.display(), detail = detail).into()
            }
            StoreError::Unreachable(d) => t!("store.error.unreachable", locale = l, detail = d).into(),
            StoreError::Database(d) => t!("store.error.database", locale = l, detail = d).into(),
            StoreError::NotARegister => t!("store.error.not_a_register", locale = l).into(),
            StoreError::BadId(d) => t!("store.error.bad_id", locale = l, detail = d).into(),
            StoreError::WrongRegister { ours, theirs } => {
                t!("store.error.wrong_register", locale = l, ours = ours, theirs = theirs).into()
            }
            StoreError::Flagged(d) => t!("store.error.flagged", locale = l, detail = d).into(),
            StoreError::Refused(d) => t!("store.error.refused", locale = l, detail = d).into(),
            StoreError::LedgerBehind { held, ours } => {
                t!("store.error.ledger_behind", locale = l, held = held, ours = ours).into()
            }
            StoreError::LedgerDiffers(seq) => t!("store.error.ledger_differs", locale = l, seq = seq).into(),
            StoreError::Ledger(e) => e.localized(l),
            StoreError::BadVersion { version, detail } => {
                t!("store.error.bad_version", locale = l, version = version, detail = detail).into()
            }
            StoreError::NoSuchRegister(r) => t!("store.error.no_such_register", locale = l, register = r).into(),
            StoreError::RegisterInStores(r) => t!("store.error.register_in_stores", locale = l, register = r).into(),
            StoreError::NotFlagged(r) => t!("store.error.not_flagged", locale = l, register = r).into(),
            StoreError::NoteNeeded => t!("store.error.note_needed", locale = l).into(),
            StoreError::HeldChainBroken { register, seq } => {
                t!("store.error.held_chain_broken", locale = l, register = register, seq = seq).into()
            }
            StoreError::Io(d) => d.clone(),
        }
    }
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        match e.as_db_error() {
            // The server shutting down (57P0x) or the connection failing (08xxx) is an outage,
            // not a refusal: the till ships again when the head office is back.
            Some(db) if db.code().code().starts_with("57") || db.code().code().starts_with("08") => {
                StoreError::Unreachable(db.message().to_string())
            }
            Some(db) => StoreError::Database(db.message().to_string()),
            None => StoreError::Unreachable(e.to_string()),
        }
    }
}

/// Where the system keeps the certificate authorities it trusts (Debian's bundle), used when the
/// url names no `sslrootcert`.
const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Opens a connection to the head office: TLS verified against `sslrootcert` (or the system's
/// authorities), the password from the url or the password file. Only a Unix socket (a `host`
/// that is a directory, for an administrator on the server itself) may go without TLS.
pub fn connect(url: &str, password_file: Option<&Path>) -> Result<postgres::Client, StoreError> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut kept = Vec::new();
    let mut root_file: Option<PathBuf> = None;
    let mut no_tls = false;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => match value {
                "verify-full" => {}
                "disable" => no_tls = true,
                other => {
                    return Err(StoreError::BadUrl(format!(
                        "sslmode={other} (verify-full is the only one the till uses)"
                    )));
                }
            },
            "sslrootcert" => root_file = Some(PathBuf::from(value)),
            _ => kept.push(pair),
        }
    }
    let text = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
    let mut config: postgres::Config = text.parse().map_err(|e: postgres::Error| StoreError::BadUrl(e.to_string()))?;
    let local = config.get_hosts().iter().all(|h| matches!(h, postgres::config::Host::Unix(_)));
    if no_tls && !local {
        return Err(StoreError::NotTls);
    }
    if config.get_password().is_none()
        && let Some(file) = password_file
    {
        config.password(read_password(file)?);
    }
    config.connect_timeout(Duration::from_secs(5));
    // A head office that vanishes mid-shipment is noticed in seconds, not TCP's quarter hour.
    config.keepalives(true).keepalives_idle(Duration::from_secs(15)).tcp_user_timeout(Duration::from_secs(30));
    config.options("-c statement_timeout=120000");
    config.application_name("till");
    if local && no_tls {
        return config.connect(postgres::NoTls).map_err(StoreError::from);
    }
    config.ssl_mode(postgres::config::SslMode::Require);
    let roots = root_file.as_deref().unwrap_or(Path::new(SYSTEM_ROOTS));
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config(roots)?);
    config.connect(tls).map_err(StoreError::from)
}

/// A password file: one line, readable by its owner only (a password others can read is refused,
/// as libpq refuses such a `.pgpass`).
pub fn read_password(file: &Path) -> Result<String, StoreError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(file)
        .map_err(|e| StoreError::PasswordFile { file: file.to_path_buf(), detail: e.to_string() })?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(StoreError::PasswordFileOpen(file.to_path_buf()));
    }
    let text = std::fs::read_to_string(file)
        .map_err(|e| StoreError::PasswordFile { file: file.to_path_buf(), detail: e.to_string() })?;
    let password = text.lines().next().unwrap_or("").trim_end_matches('\r').to_string();
    if password.is_empty() {
        return Err(StoreError::PasswordFile { file: file.to_path_buf(), detail: "empty".into() });
    }
    Ok(password)
}

/// rustls with the authorities of `roots` (PEM): the server's certificate must chain to one of
/// them and name the host connected to.
fn tls_config(roots: &Path) -> Result<rustls::ClientConfig, StoreError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let bad = |detail: String| StoreError::Certificates { file: roots.to_path_buf(), detail };
    let mut store = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(roots).map_err(|e| bad(e.to_string()))?;
    for cert in certs {
        store.add(cert.map_err(|e| bad(e.to_string()))?).map_err(|e| bad(e.to_string()))?;
    }
    if store.is_empty() {
        return Err(bad("no certificates".into()));
    }
    // ring, not aws-lc-rs: it builds with the C compiler alone. Deprecated for lacking
    // post-quantum key exchange, which a store's own PostgreSQL does not offer either.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_root_certificates(store)
        .with_no_client_auth())
}

/// A role name for a register: `till_STORE_REGISTER`, lower case, letters, digits and `_`.
pub fn role_name(store: &str, register: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect()
    };
    format!("till_{}_{}", clean(store), clean(register))
}
