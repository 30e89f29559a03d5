//! The head office's side: its schema made, registers added, catalogs published, chains checked
//! and the store's day added up — what `till store …` does with an administrator's connection.

use chrono::{DateTime, NaiveDate, Utc};
use postgres::{Client, GenericClient};

use super::StoreError;
use crate::ledger::records;

/// The schema, roles and functions (one transaction).
pub const SCHEMA: &str = include_str!("schema.sql");

/// Makes the head office's schema in an empty database; `store` is the id its registers ship
/// under unless `add-register` names another.
pub fn init(client: &mut Client, store: &str) -> Result<(), StoreError> {
    check_id("store", store)?;
    // string_to_table (the ingest's) and the default privileges this relies on: 14 or newer.
    let version: i32 = client.query_one("SELECT current_setting('server_version_num')::int", &[])?.get(0);
    if version < 140_000 {
        return Err(StoreError::Database(format!("PostgreSQL {version} is too old: 14 or newer")));
    }
    let exists: bool = client.query_one("SELECT to_regnamespace('till') IS NOT NULL", &[])?.get(0);
    if exists {
        return Err(StoreError::Database("the database has a head office already (schema till)".into()));
    }
    let mut tx = client.transaction()?;
    tx.batch_execute(SCHEMA)?;
    tx.execute("INSERT INTO till.meta(key, value) VALUES ('store', $1)", &[&store])?;
    // This month's partitions and the next twelve, made now: a register's shipment that has to
    // make one holds the big tables locked until it commits.
    tx.batch_execute(
        "SELECT till.ensure_month((date_trunc('month', now()) + make_interval(months => m))::date)
           FROM generate_series(0, 12) AS m",
    )?;
    tx.commit()?;
    Ok(())
}

/// A register's credentials, to be given to its till once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub store: String,
    pub register: String,
    pub role: String,
    pub password: String,
}

/// Adds a register: its row, and a role that may log in and call the ingest path (and nothing
/// else: no table of the schema is granted to it).
pub fn add_register(client: &mut Client, store: Option<&str>, register: &str) -> Result<Credentials, StoreError> {
    check_id("register", register)?;
    let store = match store {
        Some(s) => s.to_string(),
        None => client
            .query_opt("SELECT value FROM till.meta WHERE key = 'store'", &[])?
            .map(|r| r.get(0))
            .ok_or_else(|| StoreError::Database("no head office in this database (till store init)".into()))?,
    };
    check_id("store", &store)?;
    let role = super::role_name(&store, register);
    let password = new_password();
    // Its shipments commit without waiting for the disk: a till asks where to resume and keeps
    // every entry, so one the server lost in a crash is shipped again.
    // Only the SCRAM verifier reaches the server (never the password itself, which its logs
    // could keep). Role names and verifiers cannot be bound as parameters: the role is made of
    // [a-z0-9_], the verifier of base64 and `$:`, with no quote in either.
    let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
    let mut tx = client.transaction()?;
    tx.batch_execute(&format!(
        "CREATE ROLE {role} LOGIN PASSWORD '{verifier}' IN ROLE till_register; \
         ALTER ROLE {role} SET search_path = pg_catalog; \
         ALTER ROLE {role} SET synchronous_commit = off"
    ))?;
    tx.execute("INSERT INTO till.registers(store, register, role) VALUES ($1, $2, $3)", &[&store, &register, &role])?;
    tx.commit()?;
    Ok(Credentials { store, register: register.to_string(), role, password })
}

/// Store and register ids: ASCII letters, digits and `-`, up to 20 characters (a role name
/// made of both stays within PostgreSQL's 63 bytes and means one register only).
fn check_id(what: &str, id: &str) -> Result<(), StoreError> {
    if id.is_empty() || id.len() > 20 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(StoreError::BadId(format!("{what} {id:?}")));
    }
    Ok(())
}

/// 32 hex digits from the system's random source.
fn new_password() -> String {
    use password_hash::rand_core::{OsRng, RngCore};
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    records::hex(&bytes)
}

/// Publishes a catalog version: the CSV as the tills will import it. Returns its number.
pub fn publish_catalog(client: &mut Client, store: Option<&str>, csv: &str) -> Result<i64, StoreError> {
    publish(client, store, "catalog", csv)
}

/// Publishes the store's settings (`[store]` without a register, and the tax classes) as the
/// next version.
pub fn publish_settings(client: &mut Client, store: Option<&str>, toml: &str) -> Result<i64, StoreError> {
    publish(client, store, "settings", toml)
}

/// A version of `kind` for one store (or, `None`, every store of the chain); its number.
fn publish(client: &mut Client, store: Option<&str>, kind: &str, body: &str) -> Result<i64, StoreError> {
    let digest = records::sha256_hex(body.as_bytes());
    Ok(client
        .query_one(
            "INSERT INTO till.versions(store, kind, body, sha256) VALUES ($1, $2, $3, $4) RETURNING version",
            &[&store, &kind, &body, &digest],
        )?
        .get(0))
}

/// Publishes the store's users (with their argon2 PIN hashes) as the next version.
pub fn publish_users(client: &mut Client, store: Option<&str>, users: &[crate::auth::User]) -> Result<i64, StoreError> {
    if users.is_empty() {
        return Err(StoreError::Io("no users to publish".into()));
    }
    let body = super::ship::users_body(users).map_err(StoreError::Io)?;
    publish(client, store, "users", &body)
}

/// One register's chain as the head office holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCheck {
    pub store: String,
    pub register: String,
    pub entries: i64,
    pub head: i64,
    /// The first entry whose seq, link or hash is wrong.
    pub first_bad: Option<i64>,
    pub flag: Option<String>,
}

/// Walks every register's chain at the head office: each seq the one after the last, each entry
/// linked to the hash before it, each hash SHA-256(prev ‖ canonical) — PostgreSQL's own sha256 —
/// and the head held (what the till resumes from) the chain's last entry.
pub fn verify_chains(client: &mut impl GenericClient) -> Result<Vec<ChainCheck>, StoreError> {
    chains(client, None)
}

/// The chains of every register, or of one (store, register).
fn chains(client: &mut impl GenericClient, one: Option<(&str, &str)>) -> Result<Vec<ChainCheck>, StoreError> {
    let (store, register) = one.unzip();
    Ok(client
        .query(
            "SELECT r.store, r.register, COALESCE(c.entries, 0), r.head_seq,
                    COALESCE(c.first_bad,
                             CASE WHEN COALESCE(c.entries, 0) <> r.head_seq
                                  THEN least(COALESCE(c.entries, 0), r.head_seq) + 1
                                  WHEN r.head_seq > 0 AND h.hash IS DISTINCT FROM r.head_hash THEN r.head_seq END),
                    r.flag_reason
               FROM till.registers r
               LEFT JOIN (
                 SELECT store, register, count(*) AS entries,
                        min(seq) FILTER (WHERE seq <> n OR prev_hash <> before OR sha256(prev_hash || canonical) <> hash)
                          AS first_bad
                   FROM (SELECT j.*, row_number() OVER w AS n,
                                coalesce(lag(hash) OVER w, decode(repeat('00', 32), 'hex')) AS before
                           FROM till.journal j
                          WHERE ($1::text IS NULL OR j.store = $1) AND ($2::text IS NULL OR j.register = $2)
                         WINDOW w AS (PARTITION BY store, register ORDER BY seq)) x
                  GROUP BY store, register) c USING (store, register)
               LEFT JOIN till.journal h ON h.store = r.store AND h.register = r.register AND h.seq = r.head_seq
              WHERE ($1::text IS NULL OR r.store = $1) AND ($2::text IS NULL OR r.register = $2)
              ORDER BY r.store, r.register",
            &[&store, &register],
        )?
        .into_iter()
        .map(|r| ChainCheck {
            store: r.get(0),
            register: r.get(1),
            entries: r.get(2),
            head: r.get(3),
            first_bad: r.get(4),
            flag: r.get(5),
        })
        .collect())
}

/// A flag cleared: the register, what it had been flagged for, and the head it ships on from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unflagged {
    pub store: String,
    pub register: String,
    pub flag: String,
    pub head: i64,
}

/// Clears a register's flag, with the administrator's note of why (kept in
/// `till.flag_clearances` with the flag, who and when). Only when the chain held here is sound:
/// the register then ships on from it, and is flagged again at once if its ledger still does not
/// extend it — so a till put back on its shipped chain (a backup restored) sells and ships again,
/// and a rewritten one does not.
pub fn unflag(client: &mut Client, store: Option<&str>, register: &str, note: &str) -> Result<Unflagged, StoreError> {
    check_id("register", register)?;
    let note = note.trim();
    if note.is_empty() {
        return Err(StoreError::NoteNeeded);
    }
    let mut tx = client.transaction()?;
    // Locked as `till.ingest` locks it, so no shipment of the register runs meanwhile.
    let rows = tx.query(
        "SELECT store, flagged_at, flag_reason FROM till.registers
          WHERE register = $1 AND ($2::text IS NULL OR store = $2) ORDER BY store FOR UPDATE",
        &[&register, &store],
    )?;
    let row = match rows.as_slice() {
        [] => return Err(StoreError::NoSuchRegister(register.to_string())),
        [row] => row,
        _ => return Err(StoreError::RegisterInStores(register.to_string())),
    };
    let store: String = row.get(0);
    let (Some(flagged_at), Some(flag)) = (row.get::<_, Option<DateTime<Utc>>>(1), row.get::<_, Option<String>>(2))
    else {
        return Err(StoreError::NotFlagged(register.to_string()));
    };
    let chain = chains(&mut tx, Some((&store, register)))?;
    let check = chain.first().ok_or_else(|| StoreError::NoSuchRegister(register.to_string()))?;
    if let Some(seq) = check.first_bad {
        return Err(StoreError::HeldChainBroken { register: register.to_string(), seq });
    }
    tx.execute(
        "INSERT INTO till.flag_clearances(store, register, flagged_at, flag_reason, note) VALUES ($1, $2, $3, $4, $5)",
        &[&store, &register, &flagged_at, &flag, &note],
    )?;
    tx.execute(
        "UPDATE till.registers SET flagged_at = NULL, flag_reason = NULL WHERE store = $1 AND register = $2",
        &[&store, &register],
    )?;
    tx.commit()?;
    Ok(Unflagged { store, register: register.to_string(), flag, head: check.head })
}

/// One register's day at the head office.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterDay {
    pub store: String,
    pub register: String,
    /// The Z's number and net, when the day is closed.
    pub z: Option<(i64, i64)>,
    pub sales: i64,
    pub net: i64,
    /// Card payments in the ledger's sales; the terminal's end-of-day total, if it ran, and the
    /// card payments of the days it covered (what it must equal).
    pub card_ledger: i64,
    pub card_terminal: Option<i64>,
    pub card_closed: i64,
    /// The last drawer count's counted − expected.
    pub drawer_difference: Option<i64>,
    pub last_shipment: Option<DateTime<Utc>>,
    pub flag: Option<String>,
}

/// The store's day: every register's, and the store's totals (real sales, not training).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreDay {
    pub date: NaiveDate,
    pub currency: Option<String>,
    pub registers: Vec<RegisterDay>,
    /// (tender kind, count, amount).
    pub tenders: Vec<(String, i64, i64)>,
    /// (tax rate, amount, tax).
    pub taxes: Vec<(String, i64, i64)>,
    /// (card name, count, amount).
    pub cards: Vec<(String, i64, i64)>,
    /// Registers whose last shipment is older than the limit asked (or that never shipped).
    pub late: Vec<String>,
}

/// The store's day, from the head office's functions: the administrator sees every store's
/// registers, a register its own store's (the manager's screen at any till).
pub fn store_day(
    client: &mut Client,
    date: NaiveDate,
    store: Option<&str>,
    late_after: chrono::Duration,
) -> Result<StoreDay, StoreError> {
    let now = Utc::now();
    let mut registers = Vec::new();
    let mut late = Vec::new();
    let rows = client.query(
        "SELECT store, register, last_shipment_at, flag_reason, z_no, z_net, sales, net, card_ledger, card_terminal,
                drawer_difference, card_closed
           FROM till.store_day_registers($1, $2)",
        &[&date, &store],
    )?;
    for r in rows {
        let register: String = r.get(1);
        let last_shipment: Option<DateTime<Utc>> = r.get(2);
        if last_shipment.is_none_or(|at| now - at > late_after) {
            late.push(register.clone());
        }
        let z_no: Option<i64> = r.get(4);
        let z_net: Option<i64> = r.get(5);
        registers.push(RegisterDay {
            store: r.get(0),
            register,
            z: z_no.map(|n| (n, z_net.unwrap_or(0))),
            sales: r.get(6),
            net: r.get(7),
            card_ledger: r.get(8),
            card_terminal: r.get(9),
            card_closed: r.get(11),
            drawer_difference: r.get(10),
            last_shipment,
            flag: r.get(3),
        });
    }
    let mut day =
        StoreDay { date, currency: None, registers, tenders: Vec::new(), taxes: Vec::new(), cards: Vec::new(), late };
    for r in
        client.query("SELECT section, label, count, amount FROM till.store_day_totals($1, $2)", &[&date, &store])?
    {
        let (section, label): (String, String) = (r.get(0), r.get(1));
        let (count, amount): (Option<i64>, Option<i64>) = (r.get(2), r.get(3));
        let row = (label.clone(), count.unwrap_or(0), amount.unwrap_or(0));
        match section.as_str() {
            "tenders" => day.tenders.push(row),
            "taxes" => day.taxes.push(row),
            "cards" => day.cards.push(row),
            "currency" => day.currency = Some(label),
            _ => {}
        }
    }
    Ok(day)
}
