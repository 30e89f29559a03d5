//! What `verify` checks beyond the chain walk: that every row of every table is one entry's, that
//! the schema is the one the migrations build, that the working data (users, products, the store
//! identity) is what its journal says, and that each Z's figures are its day's rows.
//!
//! Every table of the schema is in exactly one of these lists (a test walks the schema and fails
//! on a table that is in none), so a table added later must say how it is tied to the chain.

use std::collections::{BTreeMap, HashSet};

use rusqlite::{Connection, OptionalExtension};

use super::{Problem, ProblemKind};
use crate::ledger::records::field_of;
use crate::ledger::{LedgerError, schema};

/// Tables whose rows the chain walk renders entry by entry (sales, lines, payments, days, card
/// intents and results): a row no entry of its kind takes is named there.
pub const WALKED: &[&str] =
    &["journal", "business_days", "sales", "sale_lines", "payments", "card_intents", "card_results"];

/// Tables keyed by the seq of the one entry whose canonical bytes their row renders, and the
/// kinds of entry that may own a row.
pub const OWNED: &[(&str, &str, &[&str])] = &[
    ("cash_movements", "seq", &["cash_in", "cash_out"]),
    ("drawer_counts", "seq", &["drawer_count"]),
    ("terminal_eods", "seq", &["terminal_eod"]),
    ("day_closes", "seq", &["day_close"]),
    ("print_jobs", "job_id", &["print_job"]),
    ("print_results", "seq", &["print_result"]),
    ("restores", "seq", &["restored"]),
];

/// A Z's day figures, keyed by the day its `day_close` entry closed (its bytes carry them).
pub const FIGURES: &str = "day_figures";

/// Working data, changed in place, checked against the journal entries that changed it.
pub const WORKING: &[&str] = &["users", "products", "product_barcodes", "meta"];

/// Sales in progress: working copies of carts (see `ledger/in_progress.rs`); each save journals
/// the row's digest and each post or discard its end (`in_progress_problems`), and SQLite's id
/// counter must stay above every id used.
pub const IN_PROGRESS: &[&str] = &["sales_in_progress", "sqlite_sequence"];

/// Every table `verify` ties to the chain, by whichever of the lists above.
pub fn classified_tables() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = WALKED.to_vec();
    all.extend(OWNED.iter().map(|(t, _, _)| *t));
    all.push(FIGURES);
    all.extend(WORKING);
    all.extend(IN_PROGRESS);
    all
}

fn push(problems: &mut Vec<Problem>, seq: Option<i64>, kind: ProblemKind) {
    problems.push(Problem { seq, kind });
}

/// The file's `user_version` and `sqlite_master`, text for text, against what the migrations
/// build: a trigger replaced by a no-op of the same name, a table redefined or an index dropped
/// is named.
pub fn schema_problems(conn: &Connection, problems: &mut Vec<Problem>) -> Result<(), LedgerError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let expected_version = schema::MIGRATIONS.len() as i64;
    // An older version (a backup from before an upgrade) is checked against its own schema; a
    // file with tables but version 0, or a version the till does not know, is named.
    let set_back = version < schema::TIED_FROM && version > 0 && schema::holds_tied_entries(conn)?;
    if !(1..=expected_version).contains(&version) || set_back {
        push(problems, None, ProblemKind::SchemaVersion { found: version, expected: expected_version });
    }
    let expected = schema::expected(usize::try_from(version).unwrap_or(0).max(1))?;
    let found = schema::objects(conn)?;
    let by_name = |objects: &[schema::SchemaObject]| -> BTreeMap<(String, String), String> {
        objects.iter().map(|o| ((o.kind.clone(), o.name.clone()), o.sql.clone())).collect()
    };
    let (expected, found) = (by_name(&expected), by_name(&found));
    for ((kind, name), sql) in &expected {
        match found.get(&(kind.clone(), name.clone())) {
            None => push(problems, None, ProblemKind::SchemaMissing(format!("{kind} {name}"))),
            Some(s) if s != sql => push(problems, None, ProblemKind::SchemaChanged(format!("{kind} {name}"))),
            Some(_) => {}
        }
    }
    for (kind, name) in found.keys() {
        if !expected.contains_key(&(kind.clone(), name.clone())) {
            push(problems, None, ProblemKind::SchemaExtra(format!("{kind} {name}")));
        }
    }
    Ok(())
}

/// Yes/no columns: canonical bytes write them as 0 or 1, and SQLite would read any other number
/// as yes, so another number would change what a sum counts without changing a hash.
const FLAGS: &[(&str, &str)] = &[
    ("sales", "prices_include_tax"),
    ("sales", "training"),
    ("sale_lines", "price_overridden"),
    ("drawer_counts", "blind"),
    ("users", "active"),
    ("day_figures", "training"),
];

/// Values of the wrong kind: an INTEGER column (money, counts, keys) holding text or a real, and
/// a yes/no column holding anything but 0 or 1. Named by table, column and row.
pub fn value_problems(conn: &Connection, problems: &mut Vec<Problem>) -> Result<(), LedgerError> {
    let mut tables =
        conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")?;
    let names: Vec<String> = tables.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    for table in names {
        // The walk reads the walked tables' integers as integers and stops at any other value;
        // their yes/no columns are still checked here.
        let walked = WALKED.contains(&table.as_str());
        let mut info = conn.prepare(&format!("PRAGMA table_info({table})"))?;
        let columns: Vec<(String, String)> =
            info.query_map([], |r| Ok((r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
        let mut tests = Vec::new();
        for (column, decl) in &columns {
            if decl.eq_ignore_ascii_case("INTEGER") && !walked {
                tests.push((column.clone(), format!("typeof({column}) NOT IN ('integer', 'null')")));
            }
            if FLAGS.contains(&(table.as_str(), column.as_str())) {
                tests.push((column.clone(), format!("{column} NOT IN (0, 1)")));
            }
        }
        if tests.is_empty() {
            continue;
        }
        let cases: Vec<String> = tests.iter().map(|(c, t)| format!("WHEN {t} THEN '{c}'")).collect();
        let key = if columns.iter().any(|(c, _)| c == "seq") { "seq" } else { "rowid" };
        let key = if table == "day_figures" {
            "day_no"
        } else if table == "users" {
            "rowid"
        } else {
            key
        };
        let sql = format!(
            "SELECT {key}, CASE {} END FROM {table} WHERE {} LIMIT 10",
            cases.join(" "),
            tests.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join(" OR ")
        );
        let mut stmt = conn.prepare(&sql)?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, String>(1)?)))? {
            let (key, column) = row?;
            let table = static_name(&table);
            push(problems, None, ProblemKind::BadValue { table, column, key: key.unwrap_or(0) });
        }
    }
    Ok(())
}

/// A table's name as the static string the lists above hold (problems name tables so).
pub(super) fn static_name(table: &str) -> &'static str {
    classified_tables().into_iter().find(|t| *t == table).unwrap_or("?")
}

fn table_exists(conn: &Connection, table: &str) -> Result<bool, LedgerError> {
    Ok(conn
        .query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", [table], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Rows of the entry-owned tables whose key is no entry of their kind (inserted beside the
/// chain, or keyed to another entry), and day figures of a day no Z closed.
pub fn ownership_problems(conn: &Connection, problems: &mut Vec<Problem>) -> Result<(), LedgerError> {
    for (table, key, kinds) in OWNED {
        if !table_exists(conn, table)? {
            continue;
        }
        let kinds = kinds.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(", ");
        let mut stmt = conn.prepare(&format!(
            "SELECT t.{key} FROM {table} t WHERE NOT EXISTS \
             (SELECT 1 FROM journal j WHERE j.seq = t.{key} AND j.kind IN ({kinds})) ORDER BY t.{key}"
        ))?;
        for key in stmt.query_map([], |r| r.get::<_, Option<i64>>(0))? {
            let key = key?;
            push(problems, key, ProblemKind::Misplaced { table, key: key.unwrap_or(0) });
        }
    }
    let mut stmt = conn.prepare(
        "SELECT f.day_no FROM day_figures f WHERE NOT EXISTS \
         (SELECT 1 FROM journal j WHERE j.kind = 'day_close' AND j.day_no = f.day_no) ORDER BY f.day_no",
    )?;
    for day in stmt.query_map([], |r| r.get::<_, Option<i64>>(0))? {
        push(problems, None, ProblemKind::Misplaced { table: FIGURES, key: day?.unwrap_or(0) });
    }
    Ok(())
}

/// Each Z's figures (real and training) against the same figures computed again from its day's
/// rows: a sale added, removed or changed in a closed day, or a Z whose figures were written to
/// suit, is named by its Z number.
pub fn z_problems(conn: &Connection, problems: &mut Vec<Problem>) -> Result<(), LedgerError> {
    let mut stmt = conn.prepare(
        "SELECT c.seq, c.z_no, c.day_no, f.training, f.body FROM day_closes c \
         JOIN day_figures f ON f.day_no = c.day_no ORDER BY c.z_no, f.training",
    )?;
    let rows: Vec<(i64, i64, i64, bool, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
        .collect::<Result<_, _>>()?;
    // Every closed day's entries by kind, in one pass over the journal.
    let mut entries: BTreeMap<i64, Vec<(String, i64)>> = BTreeMap::new();
    if !rows.is_empty() {
        let mut stmt = conn.prepare(
            "SELECT day_no, kind, COUNT(*) FROM journal WHERE day_no IS NOT NULL \
             AND kind NOT IN ('sale', 'refund') GROUP BY day_no, kind ORDER BY day_no, kind",
        )?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))? {
            let (day, kind, n) = row?;
            entries.entry(day).or_default().push((kind, n));
        }
    }
    // The hours are the register's local hours: read in another zone they come out turned by the
    // zones' difference — one turn for the whole ledger, found from the Zs whose hours differ.
    let mut compared = Vec::new();
    let mut turns: Option<Vec<usize>> = None;
    for (seq, z_no, day, training, body) in rows {
        let Some(kept) = crate::ledger::DayFigures::from_text(&body) else {
            push(problems, Some(seq), ProblemKind::ZDiffers { z_no, detail: "figures unreadable".into() });
            continue;
        };
        let day_entries = entries.get(&day).cloned().unwrap_or_default();
        let mut live = crate::ledger::settlement::live_figures_with(conn, day, day, training, Some(day_entries))?;
        // The Z's own entry is in its day but was posted after its figures were computed.
        live.entries.retain(|(kind, _)| kind != "day_close");
        if live.by_hour != kept.by_hour && kept.by_hour.iter().any(|h| h.0 != 0) {
            let fits: Vec<usize> = (1..24)
                .filter(|k| {
                    let mut turned = live.by_hour;
                    turned.rotate_left(*k);
                    turned == kept.by_hour
                })
                .collect();
            turns = Some(match turns {
                None => fits,
                Some(before) => before.into_iter().filter(|k| fits.contains(k)).collect(),
            });
        }
        compared.push((seq, z_no, training, kept, live));
    }
    let turn = turns.and_then(|t| t.first().copied());
    // Read once, and only when some Z kept its cashiers by name.
    let (mut names, no_names) = (None, std::collections::HashMap::new());
    for (seq, z_no, training, kept, mut live) in compared {
        if let Some(k) = turn {
            let mut turned = live.by_hour;
            turned.rotate_left(k);
            if turned == kept.by_hour {
                live.by_hour = turned;
            }
        }
        // A Z kept before its cashiers were kept by id (they were kept by name then): each id
        // may stand for any name its user went by.
        if kept.cashiers != live.cashiers && live.cashiers.len() == kept.cashiers.len() {
            if names.is_none() {
                names = Some(cashier_names(conn)?);
            }
            let names = names.as_ref().unwrap_or(&no_names);
            let mut left = kept.cashiers.clone();
            let all_found = live.cashiers.iter().all(|(id, n, a)| {
                let candidates = names.get(id).cloned().unwrap_or_default();
                match left.iter().position(|(k, kn, ka)| kn == n && ka == a && (k == id || candidates.contains(k))) {
                    Some(i) => {
                        left.remove(i);
                        true
                    }
                    None => false,
                }
            });
            if all_found {
                live.cashiers = kept.cashiers.clone();
            }
        }
        if let Some(detail) = kept.difference(&live) {
            let detail = if training { format!("training: {detail}") } else { detail };
            push(problems, Some(seq), ProblemKind::ZDiffers { z_no, detail });
        }
    }
    Ok(())
}

/// Every name a user id went by: each `user_saved` entry's, the users table's, training's demo
/// users'.
fn cashier_names(conn: &Connection) -> Result<std::collections::HashMap<String, Vec<String>>, LedgerError> {
    let mut names: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
    for u in crate::auth::demo_users() {
        names.entry(u.id).or_default().push(u.name);
    }
    let mut stmt = conn.prepare("SELECT id, name FROM users")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (id, name) = row?;
        names.entry(id).or_default().push(name);
    }
    let mut stmt = conn.prepare("SELECT payload FROM journal WHERE kind = 'user_saved'")?;
    for payload in stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))? {
        let payload = payload?;
        if let (Some(id), Some(name)) = (field_of(&payload, "user"), field_of(&payload, "name")) {
            names.entry(id).or_default().push(name);
        }
    }
    Ok(names)
}

/// Users: each one's name, role, PIN hash (by digest) and whether they are active, replayed from
/// the `user_saved` and `user_removed` entries; a user without entries, or whose row is not what
/// the last entry says, is named. The store identity in `meta`: the currency of every sale and the
/// register of the first entry. The catalog: the digest the last catalog entry recorded.
pub fn working_problems(conn: &Connection, problems: &mut Vec<Problem>) -> Result<(), LedgerError> {
    #[derive(Default)]
    struct Journaled {
        seq: i64,
        name: String,
        role: String,
        pin: Option<String>,
        active: bool,
    }
    let mut users: BTreeMap<String, Journaled> = BTreeMap::new();
    let mut stmt = conn
        .prepare("SELECT seq, kind, payload FROM journal WHERE kind IN ('user_saved', 'user_removed') ORDER BY seq")?;
    let entries: Vec<(i64, String, Vec<u8>)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
    for (seq, kind, payload) in entries {
        let Some(id) = field_of(&payload, "user") else { continue };
        // Only a ledger without an installer takes one without an approval (`first setup`): one
        // added so while an installer stood was added behind the journal's back.
        let unapproved = matches!(field_of(&payload, "by").as_deref(), Some("first setup" | "setup"));
        if kind == "user_saved" && unapproved && users.values().any(|u| u.active && u.role == "installer") {
            push(
                problems,
                Some(seq),
                ProblemKind::UserDiffers { user: id.clone(), detail: "added as the first installer".into() },
            );
        }
        if kind == "user_saved" {
            users.insert(
                id,
                Journaled {
                    seq,
                    name: field_of(&payload, "name").unwrap_or_default(),
                    role: field_of(&payload, "role").unwrap_or_default(),
                    pin: field_of(&payload, "pin_sha256"),
                    active: true,
                },
            );
        } else if let Some(u) = users.get_mut(&id) {
            u.seq = seq;
            u.active = false;
        }
    }
    let mut stmt = conn.prepare("SELECT id, name, role, pin_hash, active FROM users ORDER BY id")?;
    let rows: Vec<(String, String, String, String, bool)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
        .collect::<Result<_, _>>()?;
    let mut seen = HashSet::new();
    for (id, name, role, pin_hash, active) in rows {
        seen.insert(id.clone());
        let Some(j) = users.get(&id) else {
            push(problems, None, ProblemKind::UserDiffers { user: id, detail: "no journal entry".into() });
            continue;
        };
        let mut differs = Vec::new();
        if j.name != name {
            differs.push("name");
        }
        if j.role != role {
            differs.push("role");
        }
        // Entries from before the digest was journaled cannot speak for the PIN.
        if j.pin.as_ref().is_some_and(|d| *d != crate::ledger::users::pin_digest(&pin_hash)) {
            differs.push("PIN");
        }
        if j.active != active {
            differs.push("active");
        }
        if !differs.is_empty() {
            push(problems, Some(j.seq), ProblemKind::UserDiffers { user: id, detail: differs.join(", ") });
        }
    }
    for (id, j) in &users {
        if j.active && !seen.contains(id) {
            push(problems, Some(j.seq), ProblemKind::UserDiffers { user: id.clone(), detail: "row missing".into() });
        }
    }

    catalog_problems(conn, problems)?;

    // The store identity.
    let mut stmt = conn.prepare("SELECT key, value FROM meta ORDER BY key")?;
    let meta: Vec<(String, String)> = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
    for (key, value) in &meta {
        let sound = match key.as_str() {
            "currency" => {
                let other: Option<i64> = conn
                    .query_row("SELECT seq FROM sales WHERE currency <> ?1 LIMIT 1", [value], |r| r.get(0))
                    .optional()?;
                other.is_none()
            }
            "register" => {
                let first: Option<String> =
                    conn.query_row("SELECT register FROM journal ORDER BY seq LIMIT 1", [], |r| r.get(0)).optional()?;
                first.is_none_or(|r| r == *value)
            }
            _ => false,
        };
        if !sound {
            push(problems, None, ProblemKind::MetaDiffers { key: key.clone() });
        }
    }
    for key in ["currency", "register"] {
        if !meta.iter().any(|(k, _)| k == key) {
            push(problems, None, ProblemKind::MetaDiffers { key: key.into() });
        }
    }
    Ok(())
}

/// The catalog against its entries: the last import's digests range by range, each range's
/// replaced by the later saves at the till that hashed it again (or, for catalogs journaled before
/// ranges, the last entry's digest of the whole catalog).
fn catalog_problems(conn: &Connection, problems: &mut Vec<Problem>) -> Result<(), LedgerError> {
    use crate::ledger::catalog_store::{catalog_digest, parse_range, parse_ranges, range_digest};
    enum Recorded {
        Nothing,
        Whole(i64, String),
        Ranges(BTreeMap<String, (i64, String)>),
        Unknown,
    }
    let mut recorded = Recorded::Nothing;
    let mut stmt = conn.prepare(
        "SELECT seq, kind, payload FROM journal WHERE kind IN ('catalog_import', 'product_saved') ORDER BY seq",
    )?;
    let entries: Vec<(i64, String, Vec<u8>)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
    for (seq, kind, payload) in entries {
        let ranges = field_of(&payload, "catalog_ranges").and_then(|t| parse_ranges(&t));
        let range = field_of(&payload, "range").and_then(|t| parse_range(&t));
        let whole = field_of(&payload, "catalog_sha256");
        recorded = match (kind.as_str(), ranges, range, whole, recorded) {
            ("catalog_import", Some(ranges), _, _, _) => {
                Recorded::Ranges(ranges.into_iter().map(|(start, digest)| (start, (seq, digest))).collect())
            }
            ("product_saved", _, Some((start, digest)), _, Recorded::Ranges(mut map)) => {
                match map.get_mut(&start) {
                    Some(slot) => *slot = (seq, digest),
                    None => push(problems, Some(seq), ProblemKind::CatalogDiffers),
                }
                Recorded::Ranges(map)
            }
            (_, _, _, Some(whole), _) => Recorded::Whole(seq, whole),
            _ => Recorded::Unknown,
        };
    }
    let orphans: i64 =
        conn.query_row("SELECT COUNT(*) FROM product_barcodes WHERE sku NOT IN (SELECT sku FROM products)", [], |r| {
            r.get(0)
        })?;
    match recorded {
        Recorded::Nothing => {
            let products: i64 = conn.query_row(
                "SELECT (SELECT COUNT(*) FROM products) + (SELECT COUNT(*) FROM product_barcodes)",
                [],
                |r| r.get(0),
            )?;
            if products > 0 {
                push(problems, None, ProblemKind::CatalogDiffers);
            }
        }
        // Journaled without a digest (before schema 5, not yet upgraded): nothing to go by.
        Recorded::Unknown => {}
        Recorded::Whole(seq, digest) => {
            if digest != catalog_digest(conn)? {
                push(problems, Some(seq), ProblemKind::CatalogDiffers);
            }
        }
        Recorded::Ranges(map) => {
            let starts: Vec<&String> = map.keys().collect();
            for (i, start) in starts.iter().enumerate() {
                let hi = starts.get(i + 1).map(|s| s.as_str());
                let (seq, digest) = &map[*start];
                if *digest != range_digest(conn, start, hi)? {
                    push(problems, Some(*seq), ProblemKind::CatalogDiffers);
                }
            }
            if orphans > 0 {
                push(problems, None, ProblemKind::CatalogDiffers);
            }
        }
    }
    Ok(())
}

/// Sales in progress against their entries: each save recorded its row's digest and each post
/// or discard its end, so a row inserted, changed or deleted behind the till's back is named. SQLite's
/// id counter (`sqlite_sequence`) keeps only the sales in progress's row and must not fall below an
/// id the journal used: a lowered counter hands an id out again, and a card intent naming the old
/// one would seem to belong to the new sale.
pub fn in_progress_problems(conn: &Connection, problems: &mut Vec<Problem>) -> Result<(), LedgerError> {
    use crate::ledger::in_progress::{CLOSED, SAVED, row_digest};
    // Before schema 5 the saves were not journaled (an older backup): nothing to go by.
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version < schema::TIED_FROM {
        return Ok(());
    }
    let mut open: BTreeMap<i64, (i64, String)> = BTreeMap::new();
    let mut highest = 0;
    let mut stmt = conn.prepare("SELECT seq, kind, payload FROM journal WHERE kind IN (?1, ?2) ORDER BY seq")?;
    let entries: Vec<(i64, String, Vec<u8>)> =
        stmt.query_map([SAVED, CLOSED], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
    for (seq, kind, payload) in entries {
        let Some(id) = field_of(&payload, "id").and_then(|i| i.parse::<i64>().ok()) else { continue };
        highest = highest.max(id);
        if kind == SAVED {
            open.insert(id, (seq, field_of(&payload, "sha256").unwrap_or_default()));
        } else {
            open.remove(&id);
        }
    }
    let mut stmt = conn.prepare("SELECT id, origin, state, body, updated_at FROM sales_in_progress ORDER BY id")?;
    let rows: Vec<(i64, String, String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
        .collect::<Result<_, _>>()?;
    for (id, origin, state, body, at) in rows {
        let detail = match open.remove(&id) {
            None => Some((None, "no journal entry")),
            Some((seq, digest)) if digest != row_digest(&origin, &state, &body, &at) => Some((Some(seq), "changed")),
            Some(_) => None,
        };
        if let Some((seq, detail)) = detail {
            push(problems, seq, ProblemKind::InProgressDiffers { id, detail: detail.into() });
        }
    }
    for (id, (seq, _)) in open {
        push(problems, Some(seq), ProblemKind::InProgressDiffers { id, detail: "row missing".into() });
    }
    let mut stmt = conn.prepare("SELECT name, seq FROM sqlite_sequence ORDER BY name")?;
    let counters: Vec<(String, i64)> = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
    for (name, counter) in &counters {
        if name != "sales_in_progress" || *counter < highest {
            push(problems, None, ProblemKind::SequenceLowered { table: "sales_in_progress" });
        }
    }
    if highest > 0 && counters.is_empty() {
        push(problems, None, ProblemKind::SequenceLowered { table: "sales_in_progress" });
    }
    Ok(())
}

/// Anchors against the chain's hashes (`hashes`: the stored hash of each anchored seq found).
pub fn anchor_problems(
    anchors: &[crate::ledger::Anchor],
    hashes: &[(i64, Vec<u8>)],
    head_seq: i64,
    problems: &mut Vec<Problem>,
) {
    for anchor in anchors {
        match hashes.iter().find(|(seq, _)| *seq == anchor.seq) {
            Some((_, hash)) if anchor.matches(hash) => {}
            Some(_) => push(problems, Some(anchor.seq), ProblemKind::AnchorDiffers { anchor: anchor.to_string() }),
            None => push(problems, None, ProblemKind::AnchorBeyondHead { anchor: anchor.to_string(), head_seq }),
        }
    }
}
