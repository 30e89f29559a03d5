//! The books against someone holding the file (issue 16). One store ledger is built once —
//! a day of cash and card sales through the ZVT emulator with a reversal, cash in and out, a
//! drawer count, the terminal's end-of-day and the Z; a second day of sales, print jobs, a parked
//! sale, a sale in progress holding a card payment, users and a restore — and each attack is made
//! on a copy, with SQL as someone with the file and the till's own binary would. `till ledger
//! verify` (the binary) must exit non-zero and name the entry or row; where the attack rewrites
//! the chain, with the anchor that was printed before it.

use std::path::Path;
use std::process::Output;

use chrono::Utc;
use rusqlite::Connection;
use till::auth::{Permission, Role};
use till::config::{self, StoreSettings};
use till::ledger::records::{chain_hash, hex};
use till::ledger::{Ledger, PostContext};
use till::simulate::{self, Rng};

mod books;
use books::{INSTALLER_PIN, copy, drop_triggers, template};

mod shell;
use shell::text;

fn till(dir: &Path, args: &[&str], input: &str) -> Output {
    shell::in_english(dir, args, input)
}

/// `till ledger verify [--anchor A]…`: (sound, what it said).
fn verify(dir: &Path, anchors: &[String]) -> (bool, String) {
    let mut args = vec!["ledger", "verify"];
    for a in anchors {
        args.extend(["--anchor", a]);
    }
    let out = till(dir, &args, "");
    (out.status.success(), text(&out))
}

/// Every `seq:hash16` in a text.
fn anchors_in(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == ':'))
        .filter(|w| {
            w.split_once(':').is_some_and(|(s, h)| {
                !s.is_empty()
                    && s.bytes().all(|b| b.is_ascii_digit())
                    && h.len() == 16
                    && h.bytes().all(|b| b.is_ascii_hexdigit())
            })
        })
        .map(str::to_string)
        .collect()
}

/// The file opened as an attacker opens it: with `sqlite3`, foreign keys not enforced.
fn attacker(dir: &Path) -> Connection {
    let conn = Connection::open(config::ledger_path(dir)).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = OFF;").unwrap();
    conn
}

fn sql(dir: &Path, batch: &str) {
    attacker(dir).execute_batch(batch).unwrap();
}

fn put_back(conn: &Connection, triggers: &[String]) {
    for sql in triggers {
        conn.execute_batch(sql).unwrap();
    }
}

fn one(conn: &Connection, query: &str) -> i64 {
    conn.query_row(query, [], |r| r.get(0)).unwrap()
}

/// The receipt of the newest sale as the till prints it, in plain text.
fn printed_receipt(dir: &Path) -> String {
    let store = StoreSettings::demo();
    let ledger = Ledger::open_read_only(&config::ledger_path(dir)).unwrap();
    let (_, sales) = ledger.counts().unwrap();
    let last: i64 = Connection::open(config::ledger_path(dir))
        .unwrap()
        .query_row("SELECT MAX(receipt_no) FROM sales", [], |r| r.get(0))
        .unwrap();
    assert!(sales > 0);
    let mut receipt =
        till::printer::receipt::Receipt::from_sale(&ledger.sale_by_receipt(last).unwrap(), &store, "en", false);
    receipt.anchor = ledger.sale_anchor(last).unwrap().map(|a| a.to_string());
    till::printer::layout::layout(&receipt, store.printer_model).to_text()
}

/// The attacker's re-hash: every entry from `from` on gets the hash of its documented canonical
/// bytes, and the witness is rewritten to the new head.
fn rehash_from(dir: &Path, from: i64) {
    let db = config::ledger_path(dir);
    let bytes: Vec<(i64, Vec<u8>)> = {
        let ledger = Ledger::open_read_only(&db).unwrap();
        let head = ledger.head().unwrap().unwrap().seq;
        (from..=head).map(|seq| (seq, ledger.canonical_bytes(seq).unwrap().unwrap())).collect()
    };
    let conn = attacker(dir);
    let triggers = drop_triggers(&conn);
    let mut prev: [u8; 32] = conn
        .query_row("SELECT prev_hash FROM journal WHERE seq = ?1", [from], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .try_into()
        .unwrap();
    for (seq, canonical) in bytes {
        let hash = chain_hash(&prev, &canonical);
        conn.execute(
            "UPDATE journal SET prev_hash = ?2, hash = ?3 WHERE seq = ?1",
            rusqlite::params![seq, &prev[..], &hash[..]],
        )
        .unwrap();
        prev = hash;
    }
    put_back(&conn, &triggers);
    let head = one(&conn, "SELECT MAX(seq) FROM journal");
    std::fs::write(till::ledger::witness_path(&db), format!("{head:>20} {}\n", hex(&prev))).unwrap();
}

#[test]
fn rows_inserted_beside_the_chain_are_named() {
    // A 5,000.00 cash-out keyed to an existing sale's entry; a drawer count keyed to no entry.
    let dir = copy();
    let conn = attacker(dir.path());
    let sale_seq = one(&conn, "SELECT MAX(seq) FROM sales");
    let day = one(&conn, "SELECT MAX(day_no) FROM business_days");
    conn.execute(
        "INSERT INTO cash_movements(seq, day_no, direction, amount_minor, reason, approved_by) VALUES (?1, ?2, 'out', 500000, 'x', 'MGR')",
        [sale_seq, day],
    )
    .unwrap();
    let missing = one(&conn, "SELECT MAX(seq) FROM journal") + 7;
    conn.execute(
        "INSERT INTO drawer_counts(seq, day_no, counted_minor, expected_minor, blind, note, denominations) \
         VALUES (?1, ?2, 0, 0, 0, '', '')",
        [missing, day],
    )
    .unwrap();
    drop(conn);
    let (sound, out) = verify(dir.path(), &[]);
    assert!(!sound);
    assert!(out.contains(&format!("row {sale_seq} of cash_movements belongs to no entry of its kind")), "{out}");
    assert!(out.contains(&format!("row {missing} of drawer_counts belongs to no entry of its kind")), "{out}");
}

#[test]
fn a_reset_schema_version_is_not_an_empty_sound_ledger() {
    let dir = copy();
    sql(dir.path(), "PRAGMA user_version = 0;");
    let (sound, out) = verify(dir.path(), &[]);
    assert!(!sound, "{out}");
    assert!(out.contains("the schema version is 0"), "{out}");
}

#[test]
fn triggers_replaced_by_no_ops_of_the_same_name_are_named() {
    let dir = copy();
    let conn = attacker(dir.path());
    let names: Vec<(String, String)> = conn
        .prepare("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_no_update'")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(names.len() >= 15);
    for (name, table) in &names {
        conn.execute_batch(&format!(
            "DROP TRIGGER {name}; CREATE TRIGGER {name} BEFORE UPDATE ON {table} BEGIN SELECT 1; END;"
        ))
        .unwrap();
    }
    conn.execute_batch("UPDATE sales SET cashier = 'nobody' WHERE receipt_no = 3").unwrap();
    drop(conn);
    let (sound, out) = verify(dir.path(), &[]);
    assert!(!sound);
    assert!(out.contains("trigger sales_no_update is not the one the till created"), "{out}");
    assert!(out.contains("sale with receipt 3 differs"), "{out}");
}

/// Cuts every entry after `keep` and every row that hangs off them; the triggers are put back as
/// they were.
fn cut_after(dir: &Path, keep: i64) {
    let conn = attacker(dir);
    let triggers = drop_triggers(&conn);
    for (table, key) in [
        ("sale_lines", "seq"),
        ("payments", "seq"),
        ("sales", "seq"),
        ("business_days", "opened_seq"),
        ("card_results", "seq"),
        ("card_intents", "intent_id"),
        ("print_results", "seq"),
        ("print_jobs", "job_id"),
        ("restores", "seq"),
        ("journal", "seq"),
    ] {
        conn.execute(&format!("DELETE FROM {table} WHERE {key} > ?1"), [keep]).unwrap();
    }
    put_back(&conn, &triggers);
}

#[test]
fn a_cut_tail_is_named_by_the_anchor_printed_before_whatever_the_witness_says() {
    let dir = copy();
    let receipt = printed_receipt(dir.path());
    let anchors = anchors_in(&receipt);
    assert_eq!(anchors.len(), 1, "the receipt prints its anchor: {receipt}");
    let db = config::ledger_path(dir.path());
    // The newest sale and everything after it cut (five entries or more), the witness deleted.
    let last_sale = one(&attacker(dir.path()), "SELECT MAX(seq) FROM sales");
    let head = Ledger::open_read_only(&db).unwrap().head().unwrap().unwrap().seq;
    cut_after(dir.path(), last_sale.min(head - 5) - 1);
    std::fs::remove_file(till::ledger::witness_path(&db)).unwrap();
    let (sound, out) = verify(dir.path(), &anchors);
    assert!(!sound);
    assert!(out.contains(&format!("anchor {} is beyond the end of the chain", anchors[0])), "{out}");
    // The witness rewritten to the new head.
    let head = Ledger::open_read_only(&db).unwrap().head().unwrap().unwrap();
    std::fs::write(till::ledger::witness_path(&db), format!("{:>20} {}\n", head.seq, head.hash_hex())).unwrap();
    let (sound, out) = verify(dir.path(), &anchors);
    assert!(!sound);
    assert!(out.contains(&format!("anchor {} is beyond the end of the chain", anchors[0])), "{out}");
}

#[test]
fn a_sale_cut_and_the_chain_re_hashed_is_named_by_the_anchor() {
    let dir = copy();
    // The anchors a manager kept: the last Z's and the head's (`till ledger anchors`).
    let listed = till(dir.path(), &["ledger", "anchors"], "");
    assert!(listed.status.success(), "{}", text(&listed));
    let anchors = anchors_in(&text(&listed));
    assert!(anchors.len() >= 2, "{}", text(&listed));
    // A cash sale of day 2 with two or more lines and no discount loses its last line; its
    // totals and its cash are cut to match, so that it adds up.
    let conn = attacker(dir.path());
    let triggers = drop_triggers(&conn);
    let (seq, receipt): (i64, i64) = conn
        .query_row(
            "SELECT s.seq, s.receipt_no FROM sales s WHERE s.day_no = 2 AND s.discount_minor = 0 AND s.rounding_minor = 0 \
             AND (SELECT COUNT(*) FROM sale_lines l WHERE l.seq = s.seq AND l.line_discount_minor = 0 \
                  AND l.sale_discount_minor = 0) >= 2 \
             AND (SELECT COUNT(*) FROM payments p WHERE p.seq = s.seq) = 1 \
             AND (SELECT kind FROM payments p WHERE p.seq = s.seq) = 'cash' ORDER BY s.seq LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let (line, gross, amount, tax): (i64, i64, i64, i64) = conn
        .query_row(
            "SELECT line_no, gross_minor, amount_minor, tax_minor FROM sale_lines WHERE seq = ?1 ORDER BY line_no DESC LIMIT 1",
            [seq],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    conn.execute("DELETE FROM sale_lines WHERE seq = ?1 AND line_no = ?2", [seq, line]).unwrap();
    conn.execute(
        "UPDATE sales SET gross_minor = gross_minor - ?2, total_minor = total_minor - ?3, tax_minor = tax_minor - ?4 WHERE seq = ?1",
        [seq, gross, amount, tax],
    )
    .unwrap();
    conn.execute(
        "UPDATE payments SET amount_minor = amount_minor - ?2, given_minor = given_minor - ?2 WHERE seq = ?1",
        [seq, amount],
    )
    .unwrap();
    put_back(&conn, &triggers);
    drop(conn);
    rehash_from(dir.path(), seq);
    let (sound, out) = verify(dir.path(), &anchors);
    assert!(!sound, "{out}");
    let head_anchor = anchors.iter().find(|a| a.split(':').next().unwrap().parse::<i64>().unwrap() > seq).unwrap();
    assert!(out.contains(&format!("anchor {head_anchor} does not match this entry: the chain was rewritten")), "{out}");
    // Without the anchor the re-hashed chain holds together: that is what the anchor is for.
    let (sound, alone) = verify(dir.path(), &[]);
    assert!(sound && !alone.contains(&format!("receipt {receipt}")), "{alone}");
}

#[test]
fn a_closed_days_sale_changed_and_re_hashed_is_named_by_its_z() {
    let dir = copy();
    let conn = attacker(dir.path());
    let triggers = drop_triggers(&conn);
    let seq = one(&conn, "SELECT MAX(seq) FROM sales WHERE day_no = 1");
    conn.execute("UPDATE sales SET training = 1 WHERE seq = ?1", [seq]).unwrap();
    put_back(&conn, &triggers);
    drop(conn);
    rehash_from(dir.path(), seq);
    let (sound, out) = verify(dir.path(), &[]);
    assert!(!sound);
    assert!(out.contains("Z 1 does not match its day's rows"), "{out}");
}

#[test]
fn users_and_products_changed_behind_the_journal_are_named() {
    let dir = copy();
    let hash = till::auth::hash_pin("471100").unwrap();
    let conn = attacker(dir.path());
    conn.execute("UPDATE users SET pin_hash = ?1, failed = 0 WHERE id = 'mgr'", [&hash]).unwrap();
    conn.execute("UPDATE users SET role = 'installer' WHERE id = 'c1'", []).unwrap();
    conn.execute("INSERT INTO users(id, name, role, pin_hash) VALUES ('boss', 'Boss', 'installer', ?1)", [&hash])
        .unwrap();
    conn.execute("UPDATE products SET price_minor = 1 WHERE sku = (SELECT MIN(sku) FROM products)", []).unwrap();
    drop(conn);
    let (sound, out) = verify(dir.path(), &[]);
    assert!(!sound);
    assert!(out.contains("user mgr is not what the journal says (PIN)"), "{out}");
    assert!(out.contains("user c1 is not what the journal says (role)"), "{out}");
    assert!(out.contains("user boss is not what the journal says (no journal entry)"), "{out}");
    assert!(out.contains("the products are not what the last catalog entry recorded"), "{out}");
}

#[test]
fn an_installer_slipped_into_a_damaged_ledger_cannot_approve_its_replacement() {
    let dir = copy();
    let d = dir.path();
    let backup = d.join("backup.db");
    assert!(till(d, &["backup", backup.to_str().unwrap()], "").status.success());
    let hash = till::auth::hash_pin("471100").unwrap();
    let conn = attacker(d);
    conn.execute("INSERT INTO users(id, name, role, pin_hash) VALUES ('boss', 'Boss', 'installer', ?1)", [&hash])
        .unwrap();
    drop(conn);
    let b = backup.to_str().unwrap();
    // Damaged, it is replaced only when told, and said so before anyone is asked.
    let untold = till(d, &["restore", b, "--by", "boss"], "471100\n");
    assert!(!untold.status.success() && text(&untold).contains("does not verify"), "{}", text(&untold));
    // The installer approves from the backup, which verifies: one slipped into the damaged
    // ledger is nobody there.
    let slipped = till(d, &["restore", b, "--by", "boss", "--older"], "471100\n");
    assert!(!slipped.status.success(), "{}", text(&slipped));
    assert!(verify(d, &[]).1.contains("user boss is not what the journal says"), "nothing was restored");
    let approved = till(d, &["restore", b, "--by", "ins", "--older"], &format!("{INSTALLER_PIN}\n"));
    assert!(approved.status.success(), "{}", text(&approved));
    assert!(text(&approved).contains("kept as evidence"), "{}", text(&approved));
    let (sound, out) = verify(d, &[]);
    assert!(sound, "{out}");
}

/// One row's columns as SQL literals, and the table's primary key columns.
fn columns(conn: &Connection, table: &str) -> Vec<(String, String, bool)> {
    conn.prepare(&format!("PRAGMA table_info({table})"))
        .unwrap()
        .query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(5)? > 0)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The changed value of a column: numbers one less (a counter set back, an amount cut), text
/// and blobs one character more, NULL a number.
fn changed(column: &str, decl: &str) -> String {
    if decl.to_ascii_uppercase().contains("INT") || decl.is_empty() {
        format!("CASE WHEN {column} IS NULL THEN 1 ELSE {column} - 1 END")
    } else if decl.to_ascii_uppercase().contains("BLOB") {
        format!("CASE WHEN {column} IS NULL THEN x'00' ELSE randomblob(length({column})) END")
    } else {
        format!("CASE WHEN {column} IS NULL THEN 'x' ELSE {column} || 'x' END")
    }
}

/// The key of one row of `table`: the newest one that verify can speak for (for the sales in
/// progress, the one holding a card payment; for `sqlite_sequence`, that table's counter).
fn a_row(conn: &Connection, table: &str) -> String {
    match table {
        "sales_in_progress" => {
            "id = (SELECT MAX(CAST(substr(reference, 5) AS INTEGER)) FROM card_intents WHERE reference LIKE 'sip:%')"
                .to_string()
        }
        "sqlite_sequence" => "name = 'sales_in_progress'".into(),
        _ => {
            let rowid = conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get::<_, i64>(0)).unwrap();
            assert!(rowid > 0, "the template has no row in {table}");
            let keys: Vec<String> = columns(conn, table).into_iter().filter(|c| c.2).map(|c| c.0).collect();
            let keys = if keys.is_empty() { vec!["rowid".to_string()] } else { keys };
            let condition: Vec<String> = keys
                .iter()
                .map(|k| format!("{k} = (SELECT {k} FROM {table} ORDER BY {} DESC LIMIT 1)", keys.join(" DESC, ")))
                .collect();
            condition.join(" AND ")
        }
    }
}

#[test]
fn every_table_of_the_schema_answers_for_an_insert_an_update_and_a_delete() {
    let conn = Connection::open(config::ledger_path(template())).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(conn);
    let classified = till::ledger::classified_tables();
    let mut unnoticed = Vec::new();
    for table in &tables {
        assert!(classified.contains(&table.as_str()), "verify does not say how {table} is tied to the chain");
    }
    // Working counters of the lockout: a PIN check is counted before it is made, and clearing the
    // counts gives a guesser at most five more checks, each one counted again.
    let counters = [("users", "failed"), ("users", "locked_until")];
    let mut attacks: Vec<(String, String, Option<String>)> = Vec::new();
    for table in &tables {
        attacks.push((table.clone(), "insert".into(), None));
        attacks.push((table.clone(), "delete".into(), None));
        let conn = attacker(template());
        for (column, _, key) in columns(&conn, table) {
            // Keys are changed by the inserts (where a table has other columns to change).
            let key_only = key && columns(&conn, table).iter().any(|c| !c.2);
            if !key_only && !counters.contains(&(table.as_str(), column.as_str())) {
                attacks.push((table.clone(), "update".into(), Some(column)));
            }
        }
    }
    // An insert and a delete in every table, an update of every column: over 150 attacks.
    assert!(attacks.len() > 150, "{} attacks", attacks.len());
    for (table, op, column) in &attacks {
        let (table, op) = (table.as_str(), op.as_str());
        {
            let dir = copy();
            let conn = attacker(dir.path());
            let triggers = drop_triggers(&conn);
            let row = a_row(&conn, table);
            let cols = columns(&conn, table);
            let mut statements = match op {
                "insert" => {
                    // The row again with its key changed (a new key nothing owns).
                    let values: Vec<String> = cols
                        .iter()
                        .map(|(c, decl, pk)| {
                            let integer = decl.to_ascii_uppercase().contains("INT");
                            let key = *pk || (table == "sqlite_sequence" && c == "name");
                            // Keys and numbers moved out of the way of unique columns.
                            if key || integer { changed(c, decl).replace(" - 1", " + 100000") } else { c.clone() }
                        })
                        .collect();
                    let names: Vec<String> = cols.iter().map(|c| c.0.clone()).collect();
                    vec![format!(
                        "INSERT INTO {table}({}) SELECT {} FROM {table} WHERE {row}",
                        names.join(", "),
                        values.join(", ")
                    )]
                }
                // Each column in turn, changed as the table's own checks let it (a role stays a role).
                "update" => {
                    let (c, decl, _) = cols.iter().find(|c| Some(&c.0) == column.as_ref()).unwrap();
                    let other = match (table, c.as_str()) {
                        ("users", "role") => "CASE role WHEN 'manager' THEN 'installer' ELSE 'manager' END".to_string(),
                        ("sales", "kind") => "CASE kind WHEN 'sale' THEN 'refund' ELSE 'sale' END".to_string(),
                        ("card_intents", "op") => "CASE op WHEN 'pay' THEN 'refund' ELSE 'pay' END".to_string(),
                        ("print_results", "outcome") => {
                            "CASE outcome WHEN 'printed' THEN 'refused' ELSE 'printed' END".to_string()
                        }
                        ("cash_movements", "direction") => {
                            "CASE direction WHEN 'in' THEN 'out' ELSE 'in' END".to_string()
                        }
                        ("sales_in_progress", "state") => {
                            "CASE state WHEN 'open' THEN 'parked' ELSE 'open' END".to_string()
                        }
                        _ => changed(c, decl),
                    };
                    vec![format!("UPDATE {table} SET {c} = {other} WHERE {row}")]
                }
                _ => vec![format!("DELETE FROM {table} WHERE {row}")],
            }
            .into_iter();
            let statement = loop {
                let Some(statement) = statements.next() else {
                    panic!("no {op} on {table} {column:?} passes its checks")
                };
                match conn.execute(&statement, []) {
                    Ok(n) => {
                        assert_eq!(n, 1, "{statement}");
                        break statement;
                    }
                    Err(e) if e.to_string().contains("constraint") => continue,
                    Err(e) => panic!("{statement}: {e}"),
                }
            };
            // Put back as they were: only the row change is left to find.
            put_back(&conn, &triggers);
            drop(conn);
            let (sound, out) = verify(dir.path(), &[]);
            if sound {
                unnoticed.push(format!("{op} on {table}: {statement}"));
            }
            assert!(!out.contains("schema"), "{out}");
        }
    }
    assert!(unnoticed.is_empty(), "went unnoticed:\n{}", unnoticed.join("\n"));
}

#[test]
fn the_shell_changes_nothing_without_an_approval() {
    let dir = copy();
    let d = dir.path();
    // No settings file may be written where a store's ledger lives without its installer.
    let init = till(d, &["config", "init"], "");
    assert!(!init.status.success() && !d.join("till.toml").exists(), "{}", text(&init));
    let init = till(d, &["config", "init", "--by", "ins"], &format!("{INSTALLER_PIN}\n"));
    assert!(init.status.success(), "{}", text(&init));
    let settings = std::fs::read(d.join("till.toml")).unwrap();
    let before = Ledger::open_read_only(&config::ledger_path(d)).unwrap().anchor().unwrap().unwrap();
    let csv = d.join("catalog.csv");
    std::fs::write(&csv, "sku,barcodes,name_zh,name_en,price,tax_class,category,quick_key,sold_by\nZZZ9,,水,Water,1.00,A,drinks,,piece\n")
        .unwrap();
    let backup = d.join("older.db");
    let refused: Vec<(Vec<&str>, &str)> = vec![
        // A new installer, and an existing user's PIN reset, with only the new PIN typed.
        (vec!["users", "add", "boss", "--name", "Boss", "--role", "installer"], "471100\n"),
        (vec!["users", "add", "mgr", "--name", "Mgr", "--role", "manager"], "471100\n"),
        // Approvers who are not enough, or a wrong PIN.
        (vec!["users", "add", "boss", "--name", "Boss", "--role", "installer", "--by", "mgr"], "246813\n471100\n"),
        (vec!["users", "add", "x", "--name", "X", "--role", "cashier", "--by", "c1"], "4321\n471100\n"),
        (vec!["catalog", "import", csv.to_str().unwrap()], ""),
        (vec!["catalog", "import", csv.to_str().unwrap(), "--by", "mgr"], "000000\n"),
        (vec!["setup", "printer", "--printer", "file:/dev/null"], ""),
        (vec!["setup", "terminal", "--tcp", "127.0.0.1:9", "--expect-terminal-id", "1"], ""),
        (vec!["terminal", "pay", "1.00", "--user", "mgr", "--tcp", "127.0.0.1:9"], ""),
        (vec!["terminal", "reverse", "1", "--user", "mgr", "--tcp", "127.0.0.1:9"], ""),
        (vec!["terminal", "end-of-day", "--user", "mgr", "--tcp", "127.0.0.1:9"], "000000\n"),
        (vec!["terminal", "settle", "1", "--not-booked", "--note", "x", "--user", "mgr", "--tcp", "127.0.0.1:9"], ""),
        (vec!["report", "z", "--user", "mgr", "--tcp", "127.0.0.1:9"], "111111\n"),
        (vec!["drawer", "count", "100x3", "--user", "c1"], "4321\n"),
        (vec!["drawer", "out", "5", "--reason", "x", "--user", "mgr"], ""),
        (vec!["drive", "--sales", "1", "--terminal", "/dev/null", "--printer", "file:/dev/null"], ""),
        (vec!["simulate", "--sales", "1"], ""),
        (vec!["simulate", "--sales", "1", "--by", "mgr"], "246813\n"),
        (vec!["restore", backup.to_str().unwrap()], ""),
        (vec!["drawer", "in", "100", "--reason", "x", "--user", "mgr"], ""),
        // A PIN as an argument is not even understood.
        (vec!["drawer", "in", "100", "--reason", "x", "--user", "mgr", "--pin", "246813"], ""),
    ];
    assert!(till(d, &["backup", backup.to_str().unwrap()], "").status.success());
    let after_backup = Ledger::open_read_only(&config::ledger_path(d)).unwrap().anchor().unwrap().unwrap();
    assert_eq!(before, after_backup, "a backup changes nothing");
    for (args, stdin) in &refused {
        let out = till(d, args, stdin);
        assert!(!out.status.success(), "{args:?} went through: {}", text(&out));
        let now = Ledger::open_read_only(&config::ledger_path(d)).unwrap().anchor().unwrap().unwrap();
        assert_eq!(now, before, "{args:?} changed the ledger: {}", text(&out));
        assert_eq!(std::fs::read(d.join("till.toml")).unwrap(), settings, "{args:?} changed the settings");
    }
    let (sound, out) = verify(d, &[before.to_string()]);
    assert!(sound, "{out}");
    // With the right approval the same commands go through, journaled with who approved.
    let ok =
        till(d, &["users", "add", "boss", "--name", "Boss", "--role", "installer", "--by", "ins"], "135790\n471100\n");
    assert!(ok.status.success(), "{}", text(&ok));
    let ok = till(d, &["catalog", "import", csv.to_str().unwrap(), "--by", "mgr"], "246813\n");
    assert!(ok.status.success(), "{}", text(&ok));
    let conn = Connection::open(config::ledger_path(d)).unwrap();
    let journaled: String = conn
        .query_row(
            "SELECT CAST(payload AS TEXT) FROM journal WHERE kind = 'catalog_import' ORDER BY seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(journaled.contains("by MGR"), "{journaled}");
    let (sound, out) = verify(d, &[before.to_string()]);
    assert!(sound, "{out}");
}

#[test]
fn restoring_an_older_backup_is_an_act_and_never_reuses_a_number() {
    let dir = copy();
    let d = dir.path();
    let db = config::ledger_path(d);
    let older = d.join("older.db");
    assert!(till(d, &["backup", older.to_str().unwrap()], "").status.success());
    // Ten more sales after the backup.
    let store = StoreSettings::demo();
    {
        let mut ledger = Ledger::open(&db, &store.register, store.currency).unwrap();
        let catalog = till::demo::load_catalog(&mut ledger, &store, true).unwrap();
        let mut rng = Rng::new(3);
        for _ in 0..10 {
            let mut sale = simulate::random_paid_sale(&catalog, &store.sale_settings(), &mut rng).unwrap();
            ledger.post_sale(&mut sale, &PostContext { cashier: "c1".into(), training: false }, Utc::now()).unwrap();
        }
    }
    let printed = anchors_in(&printed_receipt(d));
    let highest: i64 =
        Connection::open(&db).unwrap().query_row("SELECT MAX(receipt_no) FROM sales", [], |r| r.get(0)).unwrap();
    let o = older.to_str().unwrap();
    let out = till(d, &["restore", o], "");
    assert!(!out.status.success() && text(&out).contains("would be lost"), "{}", text(&out));
    let out = till(d, &["restore", o, "--older"], "");
    assert!(!out.status.success() && text(&out).contains("needs an approval"), "{}", text(&out));
    let out = till(d, &["restore", o, "--older", "--by", "mgr"], "246813\n");
    assert!(!out.status.success() && text(&out).contains("may not"), "{}", text(&out));
    let out = till(d, &["restore", o, "--by", "ins"], "135790\n");
    assert!(!out.status.success() && text(&out).contains("10 entries and 10 receipts would be lost"), "{}", text(&out));
    let out = till(d, &["restore", o, "--by", "ins", "--older"], "135790\n");
    assert!(out.status.success(), "{}", text(&out));
    let safety = std::fs::read_dir(d.join("backups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name().unwrap().to_string_lossy().starts_with("before-restore-") && p.extension().unwrap() == "db"
        })
        .unwrap();
    // The restored ledger verifies by itself, but not against the receipt printed before.
    let (sound, said) = verify(d, &[]);
    assert!(sound, "{said}");
    let (sound, said) = verify(d, &printed);
    assert!(!sound && said.contains(&format!("anchor {} is beyond the end of the chain", printed[0])), "{said}");
    let conn = Connection::open(&db).unwrap();
    let restored: String = conn
        .query_row(
            "SELECT CAST(payload AS TEXT) FROM journal WHERE kind = 'restored' ORDER BY seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(restored.contains("approved_by=INS") && restored.contains("receipts_lost=10"), "{restored}");
    drop(conn);
    let mut ledger = Ledger::open(&db, &store.register, store.currency).unwrap();
    let catalog = till::demo::load_catalog(&mut ledger, &store, true).unwrap();
    let mut sale = simulate::random_paid_sale(&catalog, &store.sale_settings(), &mut Rng::new(4)).unwrap();
    let posted =
        ledger.post_sale(&mut sale, &PostContext { cashier: "c1".into(), training: false }, Utc::now()).unwrap();
    assert_eq!(posted.receipt_no, highest + 1, "receipt numbers go on after the highest ever printed");
    assert!(ledger.verify().unwrap().is_sound());
    drop(ledger);
    // The ledger from before the restore is longer than this one, but another history: going
    // back to it loses what was done since (the restore and the sale), and says so.
    let plan = till::ledger::backup::plan_restore(&safety, &db, (0, 0)).unwrap();
    assert!(plan.entries_lost >= 2 && plan.receipts_lost == 1, "{plan:?}");
    let out = till(d, &["restore", safety.to_str().unwrap(), "--by", "ins"], "135790\n");
    assert!(!out.status.success() && text(&out).contains("1 receipts would be lost"), "{}", text(&out));
}

#[test]
fn anchors_parse_only_as_printed() {
    for bad in ["", "12", "12:", "x:0123456789abcdef", "0:0123456789abcdef", "12:0123", "12:zz23456789abcdef"] {
        assert!(till::ledger::Anchor::parse(bad).is_none(), "{bad}");
    }
    let a = till::ledger::Anchor::parse(" 12:0123456789ABCDEFff ").unwrap();
    assert_eq!(a.to_string(), "12:0123456789abcdef");
    let dir = copy();
    let out = till(dir.path(), &["ledger", "verify", "--anchor", "12:nothex"], "");
    assert!(!out.status.success() && text(&out).contains("Not an anchor: 12:nothex"), "{}", text(&out));
}

/// A ledger written by the till before this schema (version 4: no PIN digests, no catalog
/// digest, sales in progress not journaled; 35 sales, a card payment and its reversal, a Z, users
/// with the PINs of that time), kept as it was.
fn version_4_ledger() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ledger-v4");
    for name in ["ledger.db", "ledger.db.head"] {
        std::fs::copy(fixture.join(name), dir.path().join(name)).unwrap();
    }
    dir
}

#[test]
fn a_ledger_of_the_previous_version_verifies_upgrades_and_is_then_tied_whole() {
    let dir = version_4_ledger();
    let d = dir.path();
    // As it is (an old backup, say): sound against its own schema, its Z recomputed.
    let (sound, out) = verify(d, &[]);
    assert!(sound && out.contains("49 entries, 35 sales"), "{out}");
    // Restored as a backup into a new data directory: upgraded, with its restore entry.
    let other = tempfile::tempdir().unwrap();
    let installer = {
        let mut l = Ledger::open_read_only(&config::ledger_path(d)).unwrap();
        let _ = &mut l;
        let user = till::auth::User::new("i", "I", Role::Installer, till::auth::hash_pin(INSTALLER_PIN).unwrap());
        till::auth::approve(&user, INSTALLER_PIN, Permission::Settings).unwrap()
    };
    let target = config::ledger_path(other.path());
    till::ledger::backup::restore(
        &config::ledger_path(d),
        &target,
        &other.path().join("backups"),
        &installer,
        false,
        (0, 0),
        Utc::now(),
    )
    .unwrap();
    assert!(verify(other.path(), &[]).0);
    // Opened by this till: upgraded in place, with baseline entries for its users and catalog.
    let store = StoreSettings::demo();
    drop(Ledger::open(&config::ledger_path(d), &store.register, store.currency).unwrap());
    let (sound, out) = verify(d, &[]);
    assert!(sound, "{out}");
    // From now on the manager's PIN hash is tied to the chain too.
    let hash = till::auth::hash_pin("471100").unwrap();
    sql(d, &format!("UPDATE users SET pin_hash = '{hash}' WHERE id = 'mgr'"));
    let (sound, out) = verify(d, &[]);
    assert!(!sound && out.contains("user mgr is not what the journal says (PIN)"), "{out}");
}

#[test]
fn a_yes_no_column_holding_another_number_is_named() {
    // SQLite reads 2 as yes: the sale's hash would not change, a training report would lose it.
    let dir = copy();
    let conn = attacker(dir.path());
    let triggers = drop_triggers(&conn);
    let seq = one(&conn, "SELECT MAX(seq) FROM sales WHERE day_no = 2");
    conn.execute("UPDATE sales SET training = 2 WHERE seq = ?1", [seq]).unwrap();
    conn.execute(
        "UPDATE cash_movements SET amount_minor = 'a lot' WHERE seq = (SELECT MIN(seq) FROM cash_movements)",
        [],
    )
    .unwrap();
    put_back(&conn, &triggers);
    drop(conn);
    let (sound, out) = verify(dir.path(), &[]);
    assert!(!sound);
    assert!(out.contains(&format!("row {seq} of sales: training holds a value of the wrong kind")), "{out}");
    assert!(out.contains("of cash_movements: amount_minor holds a value of the wrong kind"), "{out}");
}

#[test]
fn a_version_set_back_is_named_and_never_upgraded_over() {
    // Back to version 4 (the restores table gone), a PIN swapped: an upgrade would bless it.
    let dir = copy();
    let conn = attacker(dir.path());
    let triggers = drop_triggers(&conn);
    conn.execute_batch("DROP TABLE restores; PRAGMA user_version = 4;").unwrap();
    let hash = till::auth::hash_pin("471100").unwrap();
    conn.execute("UPDATE users SET pin_hash = ?1 WHERE id = 'mgr'", [&hash]).unwrap();
    put_back(&conn, &triggers.into_iter().filter(|t| !t.contains(" restores ")).collect::<Vec<_>>());
    drop(conn);
    let (sound, out) = verify(dir.path(), &[]);
    assert!(!sound && out.contains("the schema version is 4"), "{out}");
    let store = StoreSettings::demo();
    let opened = Ledger::open(&config::ledger_path(dir.path()), &store.register, store.currency);
    assert!(matches!(opened, Err(till::ledger::LedgerError::Corrupt(_))), "not upgraded over");
    let (_, out) = verify(dir.path(), &[]);
    assert!(
        out.contains("user mgr is not what the journal says (PIN)") || out.contains("schema version is 4"),
        "{out}"
    );
}

#[test]
fn an_installer_added_as_the_first_while_one_stood_is_named() {
    // The installers' rows taken away, `users add` run as on a new ledger, the rows put back.
    let dir = copy();
    let d = dir.path();
    let conn = attacker(d);
    let saved: Vec<(String, String, String, String)> = conn
        .prepare("SELECT id, name, role, pin_hash FROM users WHERE role = 'installer'")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    conn.execute("DELETE FROM users WHERE role = 'installer'", []).unwrap();
    drop(conn);
    let added = till(d, &["users", "add", "boss", "--name", "Boss", "--role", "installer"], "471100\n");
    assert!(added.status.success(), "{}", text(&added));
    let conn = attacker(d);
    for (id, name, role, hash) in &saved {
        conn.execute("INSERT INTO users(id, name, role, pin_hash) VALUES (?1, ?2, ?3, ?4)", [id, name, role, hash])
            .unwrap();
    }
    drop(conn);
    let (sound, out) = verify(d, &[]);
    assert!(!sound && out.contains("user boss is not what the journal says (added as the first installer)"), "{out}");
}

#[test]
fn an_approval_is_asked_before_the_terminal_is_opened() {
    let dir = copy();
    for args in [&["terminal", "end-of-day", "--user", "mgr"][..], &["terminal", "pay", "1.00", "--user", "mgr"][..]] {
        let mut args = args.to_vec();
        args.extend(["--port", "/nonexistent/tty"]);
        let out = till(dir.path(), &args, "");
        assert!(!out.status.success() && text(&out).contains("No PIN for mgr"), "{args:?}: {}", text(&out));
    }
}
