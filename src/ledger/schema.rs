//! The ledger's schema, as numbered migrations (`PRAGMA user_version` counts those applied).
//!
//! Posted records are append-only: triggers abort any UPDATE or DELETE on them. Money is INTEGER
//! minor units; quantities are INTEGER thousandths; instants are UTC RFC 3339 text; business dates
//! are the register's local date.

pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the journal, business days, sales, the catalog.
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row per posted entry; seq is gap-free from 1; hash = SHA-256(prev_hash || payload).
CREATE TABLE journal (
    seq         INTEGER PRIMARY KEY,
    register    TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    day_no      INTEGER,
    recorded_at TEXT    NOT NULL,
    payload     BLOB    NOT NULL,
    prev_hash   BLOB    NOT NULL CHECK (length(prev_hash) = 32),
    hash        BLOB    NOT NULL CHECK (length(hash) = 32)
);
-- Which days are closed, without scanning the journal (a partial index: day_close rows only).
CREATE INDEX journal_day_close ON journal(day_no) WHERE kind = 'day_close';

CREATE TABLE business_days (
    day_no        INTEGER PRIMARY KEY,
    business_date TEXT    NOT NULL,
    opened_seq    INTEGER NOT NULL UNIQUE REFERENCES journal(seq),
    float_minor   INTEGER NOT NULL
);

-- A sale or refund, keyed by its receipt number (gap-free); seq is its journal entry.
-- Lines and payments hang off the journal entry's seq. Each table a posting touches is one more
-- page in the WAL and one more write before the fsync, so there are as few as the queries allow:
-- the tax per rate is summed from the lines, which carry their share of it.
CREATE TABLE sales (
    receipt_no         INTEGER PRIMARY KEY,
    seq                INTEGER NOT NULL REFERENCES journal(seq),
    day_no             INTEGER NOT NULL REFERENCES business_days(day_no),
    kind               TEXT    NOT NULL CHECK (kind IN ('sale', 'refund')),
    refund_of          INTEGER REFERENCES sales(receipt_no),
    currency           TEXT    NOT NULL,
    prices_include_tax INTEGER NOT NULL,
    gross_minor        INTEGER NOT NULL,
    discount_minor     INTEGER NOT NULL,
    tax_minor          INTEGER NOT NULL,
    total_minor        INTEGER NOT NULL,
    rounding_minor     INTEGER NOT NULL,
    cashier            TEXT    NOT NULL,
    training           INTEGER NOT NULL,
    completed_at       TEXT    NOT NULL
);

CREATE TABLE sale_lines (
    seq                 INTEGER NOT NULL REFERENCES journal(seq),
    line_no             INTEGER NOT NULL,
    sku                 TEXT    NOT NULL,
    name_zh             TEXT    NOT NULL,
    name_en             TEXT    NOT NULL,
    qty_milli           INTEGER NOT NULL,
    unit_price_minor    INTEGER NOT NULL,
    sold_by             TEXT    NOT NULL,
    tax_class           TEXT    NOT NULL,
    tax_rate            TEXT    NOT NULL,
    gross_minor         INTEGER NOT NULL,
    line_discount_minor INTEGER NOT NULL,
    sale_discount_minor INTEGER NOT NULL,
    amount_minor        INTEGER NOT NULL,
    tax_minor           INTEGER NOT NULL,
    price_overridden    INTEGER NOT NULL,
    refund_of_receipt   INTEGER,
    refund_of_line      INTEGER,
    PRIMARY KEY (seq, line_no)
) WITHOUT ROWID;
CREATE INDEX sale_lines_refund_of ON sale_lines(refund_of_receipt, refund_of_line)
    WHERE refund_of_receipt IS NOT NULL;

CREATE TABLE payments (
    seq           INTEGER NOT NULL REFERENCES journal(seq),
    tender_no     INTEGER NOT NULL,
    kind          TEXT    NOT NULL,
    amount_minor  INTEGER NOT NULL,
    given_minor   INTEGER NOT NULL,
    change_minor  INTEGER NOT NULL,
    reference     TEXT,
    masked_pan    TEXT,
    card_name     TEXT,
    card_receipt  INTEGER,
    card_trace    INTEGER,
    terminal_id   TEXT,
    aid           TEXT,
    PRIMARY KEY (seq, tender_no)
) WITHOUT ROWID;

-- Card payments: the intent is posted before a byte goes to the terminal; each result after it
-- (approved, declined, aborted, identity mismatch, unknown, and how an unknown was resolved) is
-- posted before the terminal hears that the till took it. Keys are the entries' journal seqs.
CREATE TABLE card_intents (
    intent_id    INTEGER PRIMARY KEY REFERENCES journal(seq),
    op           TEXT    NOT NULL CHECK (op IN ('pay', 'refund', 'reverse')),
    amount_minor INTEGER NOT NULL,
    reference    TEXT    NOT NULL
);
CREATE TABLE card_results (
    seq          INTEGER PRIMARY KEY REFERENCES journal(seq),
    intent_id    INTEGER NOT NULL REFERENCES card_intents(intent_id),
    outcome      TEXT    NOT NULL,
    result_code  INTEGER,
    amount_minor INTEGER,
    masked_pan   TEXT,
    card_name    TEXT,
    receipt_no   INTEGER,
    trace        INTEGER,
    terminal_id  TEXT,
    merchant_no  TEXT,
    aid          TEXT
);
CREATE INDEX card_results_intent ON card_results(intent_id);

-- Print jobs: the ESC/POS bytes of each receipt, kept until printed; each attempt's outcome
-- (printed, refused, incomplete) with its reason. The journal entry carries the bytes' SHA-256.
CREATE TABLE print_jobs (
    job_id     INTEGER PRIMARY KEY REFERENCES journal(seq),
    kind       TEXT    NOT NULL,
    receipt_no INTEGER,
    bytes      BLOB    NOT NULL
);
CREATE TABLE print_results (
    seq     INTEGER PRIMARY KEY REFERENCES journal(seq),
    job_id  INTEGER NOT NULL REFERENCES print_jobs(job_id),
    outcome TEXT    NOT NULL CHECK (outcome IN ('printed', 'refused', 'incomplete')),
    reason  TEXT    NOT NULL
);
CREATE INDEX print_results_job ON print_results(job_id);

-- The catalog is working data, not a posted record: it changes (imports are journaled).
CREATE TABLE products (
    sku         TEXT PRIMARY KEY,
    name_zh     TEXT    NOT NULL,
    name_en     TEXT    NOT NULL,
    price_minor INTEGER NOT NULL,
    tax_class   TEXT    NOT NULL,
    category    TEXT    NOT NULL,
    quick_key   INTEGER,
    sold_by     TEXT    NOT NULL,
    position    INTEGER NOT NULL
);
CREATE TABLE product_barcodes (
    barcode TEXT PRIMARY KEY,
    sku     TEXT NOT NULL REFERENCES products(sku) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX product_barcodes_sku ON product_barcodes(sku);
"#,
    // 2: settlement — cash in and out, drawer counts, the terminal's end-of-day totals, day
    // closures (Z), and the rule that a closed day takes no more entries.
    r#"
CREATE INDEX sales_day ON sales(day_no, training);
CREATE TABLE cash_movements (
    seq          INTEGER PRIMARY KEY REFERENCES journal(seq),
    day_no       INTEGER NOT NULL REFERENCES business_days(day_no),
    direction    TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    reason       TEXT    NOT NULL,
    approved_by  TEXT    NOT NULL
);
CREATE TABLE drawer_counts (
    seq            INTEGER PRIMARY KEY REFERENCES journal(seq),
    day_no         INTEGER NOT NULL REFERENCES business_days(day_no),
    counted_minor  INTEGER NOT NULL,
    expected_minor INTEGER NOT NULL,
    blind          INTEGER NOT NULL,
    note           TEXT    NOT NULL,
    -- "face_minor x count" pairs, space-separated, as counted.
    denominations  TEXT    NOT NULL
);
-- The terminal's end-of-day totals, kept the moment they arrive: a Z that stops after the
-- terminal closed its batch is finished with these, not with a second end-of-day.
CREATE TABLE terminal_eods (
    seq     INTEGER PRIMARY KEY REFERENCES journal(seq),
    day_no  INTEGER NOT NULL REFERENCES business_days(day_no),
    -- "family:count:amount_minor" for the seven card families, space-separated.
    by_card TEXT    NOT NULL
);
CREATE TABLE day_closes (
    seq               INTEGER PRIMARY KEY REFERENCES journal(seq),
    day_no            INTEGER NOT NULL UNIQUE REFERENCES business_days(day_no),
    z_no              INTEGER NOT NULL UNIQUE,
    net_minor         INTEGER NOT NULL,
    grand_total_minor INTEGER NOT NULL
);
-- The till's users: working data like the catalog (a PIN changes, a lockout ends); every change
-- is also a journal entry. PINs only as argon2id hashes.
CREATE TABLE users (
    id           TEXT PRIMARY KEY,
    name         TEXT    NOT NULL,
    role         TEXT    NOT NULL CHECK (role IN ('cashier', 'manager', 'installer')),
    pin_hash     TEXT    NOT NULL,
    failed       INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    active       INTEGER NOT NULL DEFAULT 1
);
-- Each closed day's X/Z figures (real and training apart), kept with its Z: a report over a month
-- sums these instead of every sale again. Covered by the Z's hash.
CREATE TABLE day_figures (
    day_no   INTEGER NOT NULL REFERENCES business_days(day_no),
    training INTEGER NOT NULL,
    body     TEXT    NOT NULL,
    PRIMARY KEY (day_no, training)
) WITHOUT ROWID;
-- After its Z a day is immutable: no entry of any kind may be dated in it (nor a second Z).
CREATE TRIGGER closed_day_takes_nothing BEFORE INSERT ON journal
WHEN NEW.day_no IS NOT NULL
 AND EXISTS (SELECT 1 FROM journal j WHERE j.kind = 'day_close' AND j.day_no = NEW.day_no)
BEGIN SELECT RAISE(ABORT, 'the business day is closed'); END;
"#,
    // 2: sales in progress (a working table: see ledger/in_progress.rs) and the terminal receipt a
    // reversal intent concerns.
    r#"
CREATE TABLE sales_in_progress (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    origin     TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('open', 'parked')),
    body       TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
ALTER TABLE card_intents ADD COLUMN receipt_no INTEGER;
CREATE INDEX card_intents_reference ON card_intents(reference);
"#,
    // 3: the terminal's own receipts (its print lines), its status information as received
    // (card number masked) and its card type (8A), kept with the card result; the end-of-day's
    // status information and receipts with its totals (which may now be "total:N" or "unknown").
    r#"
ALTER TABLE card_results ADD COLUMN terminal_receipts TEXT;
ALTER TABLE card_results ADD COLUMN status_kept TEXT;
ALTER TABLE card_results ADD COLUMN card_type INTEGER;
ALTER TABLE terminal_eods ADD COLUMN status_kept TEXT;
ALTER TABLE terminal_eods ADD COLUMN receipts TEXT;
"#,
    // 4: restores of a backup, each an entry: which backup, who approved, what was lost, and the
    // receipt and Z numbers printed before it, after which numbering goes on (never reused).
    r#"
CREATE TABLE restores (
    seq            INTEGER PRIMARY KEY REFERENCES journal(seq),
    backup         TEXT    NOT NULL,
    backup_anchor  TEXT    NOT NULL,
    approved_by    TEXT    NOT NULL,
    entries_lost   INTEGER NOT NULL,
    receipts_lost  INTEGER NOT NULL,
    receipt_floor  INTEGER NOT NULL,
    z_floor        INTEGER NOT NULL
);
-- The last catalog import at once (a product saved at the till hashes its range of it again).
CREATE INDEX journal_catalog_import ON journal(seq) WHERE kind = 'catalog_import';
"#,
];

/// Tables whose rows, once posted, never change.
pub(super) const APPEND_ONLY: &[&str] = &[
    "journal",
    "business_days",
    "sales",
    "sale_lines",
    "payments",
    "card_intents",
    "card_results",
    "print_jobs",
    "print_results",
    "cash_movements",
    "drawer_counts",
    "terminal_eods",
    "day_closes",
    "day_figures",
    "restores",
];

/// The schema a ledger of this version has, read from a new in-memory database built by the
/// migrations: `verify` compares the file's `sqlite_master` with it, text for text, so a trigger
/// replaced by a no-op of the same name or a table redefined without its constraints is named.
pub(super) fn expected(version: usize) -> rusqlite::Result<Vec<SchemaObject>> {
    let conn = rusqlite::Connection::open_in_memory()?;
    for sql in &MIGRATIONS[..version.min(MIGRATIONS.len())] {
        conn.execute_batch(sql)?;
    }
    // The guards of the tables this version has (an older file, a backup not yet upgraded).
    let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
    let tables: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    let guarded: Vec<&str> = APPEND_ONLY.iter().copied().filter(|t| tables.iter().any(|n| n == t)).collect();
    conn.execute_batch(&append_only_triggers_for(&guarded))?;
    drop(stmt);
    objects(&conn)
}

/// One entry of `sqlite_master`: its type, name and SQL text (whitespace runs made one space).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct SchemaObject {
    pub kind: String,
    pub name: String,
    pub sql: String,
}

pub(super) fn objects(conn: &rusqlite::Connection) -> rusqlite::Result<Vec<SchemaObject>> {
    let mut stmt =
        conn.prepare("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name")?;
    let rows = stmt.query_map([], |r| {
        let sql: String = r.get(2)?;
        Ok(SchemaObject { kind: r.get(0)?, name: r.get(1)?, sql: sql.split_whitespace().collect::<Vec<_>>().join(" ") })
    })?;
    rows.collect()
}

/// The schema version from which every table is tied to the chain (the users' PIN digests, the
/// catalog's digest, the sales in progress's saves): a ledger upgraded across it gets baseline
/// entries for what it already held (`Ledger::migrate`).
pub(super) const TIED_FROM: i64 = 5;

/// Whether the chain holds entries only a ledger of `TIED_FROM` or later writes (a PIN digest,
/// a catalog digest, a sale in progress's save, a restore): a file that does and says it is
/// older had its version set back.
pub(super) fn holds_tied_entries(conn: &rusqlite::Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        // Fields begin a line of the canonical bytes (a value cannot: newlines are escaped).
        "SELECT EXISTS (SELECT 1 FROM journal WHERE kind IN ('in_progress_saved', 'in_progress_closed', 'restored') \
           OR (kind = 'user_saved' AND instr(CAST(payload AS TEXT), char(10) || 'pin_sha256=') > 0) \
           OR (kind IN ('catalog_import', 'product_saved') \
               AND (instr(CAST(payload AS TEXT), char(10) || 'catalog_sha256=') > 0 \
                 OR instr(CAST(payload AS TEXT), char(10) || 'catalog_ranges=') > 0 \
                 OR instr(CAST(payload AS TEXT), char(10) || 'range=') > 0)))",
        [],
        |r| r.get(0),
    )
}

pub(super) fn append_only_triggers() -> String {
    append_only_triggers_for(APPEND_ONLY)
}

fn append_only_triggers_for(tables: &[&str]) -> String {
    let mut sql = String::new();
    for table in tables {
        for op in ["UPDATE", "DELETE"] {
            sql.push_str(&format!(
                "CREATE TRIGGER IF NOT EXISTS {table}_no_{op_l} BEFORE {op} ON {table} \
                 BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;\n",
                op_l = op.to_ascii_lowercase()
            ));
        }
    }
    sql
}
