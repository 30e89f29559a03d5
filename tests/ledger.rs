//! The ledger on a real SQLite file: posting, refunds, and tampering caught by `till ledger verify`.

use std::path::Path;
use std::process::Command;

use chrono::Utc;
use rusqlite::Connection;
use rust_decimal::dec;
use till::config::{self, StoreSettings};
use till::ledger::{Ledger, LedgerError, PostContext};
use till::money::Money;
use till::sale::{Sale, SaleError};
use till::simulate::{Rng, random_paid_sale};

fn ctx() -> PostContext {
    PostContext { cashier: "alice".into(), training: false }
}

fn open(dir: &Path) -> Ledger {
    let store = StoreSettings::demo();
    Ledger::open(&config::ledger_path(dir), &store.register, store.currency).unwrap()
}

/// Posts `n` random cash sales; returns the ledger.
fn ledger_with_sales(dir: &Path, n: usize) -> Ledger {
    let store = StoreSettings::demo();
    let mut ledger = open(dir);
    let catalog = till::demo::load_catalog(&mut ledger, &store, true).unwrap();
    let mut rng = Rng::new(7);
    for _ in 0..n {
        let mut sale = random_paid_sale(&catalog, &store.sale_settings(), &mut rng).unwrap();
        ledger.post_sale(&mut sale, &ctx(), Utc::now()).unwrap();
    }
    ledger
}

fn verify_cli(dir: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_till"))
        .args(["ledger", "verify", "--lang", "en", "--data-dir"])
        .arg(dir)
        .output()
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// The seq of the journal entry of a receipt.
fn seq_of(conn: &Connection, receipt: i64) -> i64 {
    conn.query_row("SELECT seq FROM sales WHERE receipt_no = ?1", [receipt], |r| r.get(0)).unwrap()
}

#[test]
fn posted_sales_verify_and_receipts_are_gap_free() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_with_sales(dir.path(), 30);
    let report = ledger.verify().unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
    assert_eq!(report.sales, 30);
    // catalog import + day open + 30 sales
    assert_eq!(report.entries, 32);
    let conn = Connection::open(config::ledger_path(dir.path())).unwrap();
    let receipts: Vec<i64> = conn
        .prepare("SELECT receipt_no FROM sales ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(receipts, (1..=30).collect::<Vec<_>>());
    let (ok, text) = verify_cli(dir.path());
    assert!(ok, "{text}");
    assert!(text.contains("Ledger sound: 32 entries, 30 sales"), "{text}");
}

#[test]
fn database_and_witness_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_with_sales(dir.path(), 1);
    let mode = std::fs::metadata(ledger.path()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let witness_mode = std::fs::metadata(ledger.witness_path()).unwrap().permissions().mode() & 0o777;
    assert_eq!(witness_mode, 0o600);
    let witness = std::fs::read_to_string(ledger.witness_path()).unwrap();
    let head = ledger.head().unwrap().unwrap();
    assert_eq!(witness.trim(), format!("{} {}", head.seq, head.hash_hex()));
}

#[test]
fn posted_rows_cannot_be_changed_while_triggers_stand() {
    let dir = tempfile::tempdir().unwrap();
    drop(ledger_with_sales(dir.path(), 2));
    let conn = Connection::open(config::ledger_path(dir.path())).unwrap();
    for sql in [
        "UPDATE sale_lines SET amount_minor = 1",
        "DELETE FROM sales WHERE receipt_no = 2",
        "UPDATE journal SET payload = x'00' WHERE seq = 1",
        "DELETE FROM payments",
    ] {
        let err = conn.execute(sql, []).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
}

#[test]
fn an_amount_edited_behind_the_ledgers_back_is_named() {
    let dir = tempfile::tempdir().unwrap();
    drop(ledger_with_sales(dir.path(), 10));
    let conn = Connection::open(config::ledger_path(dir.path())).unwrap();
    let seq = seq_of(&conn, 6);
    conn.execute_batch("DROP TRIGGER sale_lines_no_update;").unwrap();
    conn.execute("UPDATE sale_lines SET amount_minor = amount_minor - 100 WHERE seq = ?1 AND line_no = 1", [seq])
        .unwrap();
    drop(conn);
    let (ok, text) = verify_cli(dir.path());
    assert!(!ok, "{text}");
    let first = text.lines().next().unwrap();
    assert!(first.starts_with(&format!("Entry {seq}: sale with receipt 6 differs")), "{text}");
    assert!(text.contains("sale_lines_no_update is missing"), "{text}");
}

#[test]
fn a_forgery_that_rewrites_the_rest_of_the_chain_is_caught_by_the_witness() {
    // Change who rang up receipt 3 and recompute every hash from there on, so that each entry
    // links and hashes correctly: only the witness of the head, written at each commit, still
    // remembers the chain as it was.
    use till::ledger::records::{EntryHeader, chain_hash, sale_canonical};
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_with_sales(dir.path(), 5);
    let conn = Connection::open(config::ledger_path(dir.path())).unwrap();
    let forged_seq = seq_of(&conn, 3);
    conn.execute_batch("DROP TRIGGER journal_no_update; DROP TRIGGER sales_no_update;").unwrap();
    conn.execute("UPDATE sales SET cashier = 'mallory' WHERE seq = ?1", [forged_seq]).unwrap();
    let last: i64 = conn.query_row("SELECT MAX(seq) FROM journal", [], |r| r.get(0)).unwrap();
    let mut prev: [u8; 32] = conn
        .query_row("SELECT hash FROM journal WHERE seq = ?1", [forged_seq - 1], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .try_into()
        .unwrap();
    for seq in forged_seq..=last {
        let (header, receipt) = conn
            .query_row(
                "SELECT j.register, j.kind, j.day_no, j.recorded_at, s.receipt_no FROM journal j \
                 JOIN sales s ON s.seq = j.seq WHERE j.seq = ?1",
                [seq],
                |r| {
                    Ok((
                        EntryHeader {
                            seq,
                            register: r.get(0)?,
                            kind: r.get(1)?,
                            day_no: r.get(2)?,
                            recorded_at: r.get(3)?,
                        },
                        r.get::<_, i64>(4)?,
                    ))
                },
            )
            .unwrap();
        let hash = chain_hash(&prev, &sale_canonical(&header, &ledger.sale_by_receipt(receipt).unwrap()));
        conn.execute(
            "UPDATE journal SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
            rusqlite::params![&prev[..], &hash[..], seq],
        )
        .unwrap();
        prev = hash;
    }
    drop(conn);
    let (ok, text) = verify_cli(dir.path());
    assert!(!ok);
    assert!(text.starts_with(&format!("Entry {last}: the witness file saw entry {last} with another hash")), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("Entry")).count(), 1, "the chain itself is consistent: {text}");
}

#[test]
fn an_edited_audit_entry_breaks_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    drop(ledger_with_sales(dir.path(), 2));
    let conn = Connection::open(config::ledger_path(dir.path())).unwrap();
    conn.execute_batch("DROP TRIGGER journal_no_update;").unwrap();
    // Entry 1 is the demo catalog's import.
    conn.execute("UPDATE journal SET payload = CAST(replace(CAST(payload AS TEXT), 'products=191', 'products=5') AS BLOB) WHERE seq = 1", [])
        .unwrap();
    drop(conn);
    let (ok, text) = verify_cli(dir.path());
    assert!(!ok);
    assert!(text.starts_with("Entry 1: its contents do not match its hash"), "{text}");
}

#[test]
fn cutting_off_the_newest_entries_is_caught_by_the_witness() {
    let dir = tempfile::tempdir().unwrap();
    drop(ledger_with_sales(dir.path(), 8));
    let conn = Connection::open(config::ledger_path(dir.path())).unwrap();
    let last: i64 = conn.query_row("SELECT MAX(seq) FROM journal", [], |r| r.get(0)).unwrap();
    conn.execute_batch(
        "DROP TRIGGER journal_no_delete; DROP TRIGGER sales_no_delete; DROP TRIGGER sale_lines_no_delete; \
         DROP TRIGGER payments_no_delete;",
    )
    .unwrap();
    for table in ["sale_lines", "payments", "sales", "journal"] {
        conn.execute(&format!("DELETE FROM {table} WHERE seq >= ?1"), [last - 1]).unwrap();
    }
    drop(conn);
    let (ok, text) = verify_cli(dir.path());
    assert!(!ok);
    assert!(text.contains(&format!("the witness file saw entry {last}, the ledger ends at {}", last - 2)), "{text}");
}

#[test]
fn refunds_post_and_never_exceed_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreSettings::demo();
    let mut ledger = open(dir.path());
    let catalog = till::demo::load_catalog(&mut ledger, &store, true).unwrap();
    let cny = |s: &str| Money::parse(s, store.currency).unwrap();

    let mut sale = Sale::new(store.sale_settings());
    sale.add_product(catalog.by_sku("DRK003").unwrap(), dec!(3)).unwrap(); // cola 3.50
    sale.begin_payment().unwrap();
    assert_eq!(sale.tender_cash(cny("20")).unwrap(), cny("9.50"));
    let posted = ledger.post_sale(&mut sale, &ctx(), Utc::now()).unwrap();

    let original = ledger.original_sale(posted.receipt_no).unwrap();
    let mut refund = Sale::new_refund(store.sale_settings(), &original);
    refund.add_refund_line(&original, 1, dec!(2)).unwrap();
    refund.begin_payment().unwrap();
    refund.tender_cash(cny("0")).unwrap();
    let refunded = ledger.post_sale(&mut refund, &ctx(), Utc::now()).unwrap();
    assert_eq!(refunded.receipt_no, posted.receipt_no + 1);
    let record = ledger.sale_by_receipt(refunded.receipt_no).unwrap();
    assert_eq!(record.total, -700);
    assert_eq!(record.refund_of, Some(posted.receipt_no));

    // The original now has one left; two are refused by the sale, and by the ledger when a
    // refund built on a stale view of the original is posted.
    let stale = original.clone();
    let original = ledger.original_sale(posted.receipt_no).unwrap();
    assert_eq!(original.lines[0].refunded_quantity, dec!(2));
    let mut again = Sale::new_refund(store.sale_settings(), &original);
    assert!(matches!(again.add_refund_line(&original, 1, dec!(2)), Err(SaleError::RefundExceedsOriginal { .. })));
    let mut from_stale = Sale::new_refund(store.sale_settings(), &stale);
    from_stale.add_refund_line(&stale, 1, dec!(2)).unwrap();
    from_stale.begin_payment().unwrap();
    from_stale.tender_cash(cny("0")).unwrap();
    let err = ledger.post_sale(&mut from_stale, &ctx(), Utc::now()).unwrap_err();
    assert!(matches!(err, LedgerError::Sale(SaleError::RefundExceedsOriginal { .. })), "{err}");
    assert!(ledger.verify().unwrap().is_sound());
    assert!(matches!(ledger.original_sale(99), Err(LedgerError::UnknownReceipt(99))));
}

#[test]
fn only_paid_sales_post_and_currencies_never_mix() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreSettings::demo();
    let mut ledger = open(dir.path());
    let mut sale = Sale::new(store.sale_settings());
    assert!(matches!(ledger.post_sale(&mut sale, &ctx(), Utc::now()), Err(LedgerError::NotPaid(_))));
    drop(ledger);
    let other = Ledger::open(&config::ledger_path(dir.path()), "R1", till::money::Currency::EUR);
    assert!(matches!(other, Err(LedgerError::CurrencyMismatch { .. })));
}

#[test]
fn business_days_open_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreSettings::demo();
    let mut ledger = open(dir.path());
    assert!(ledger.current_day().unwrap().is_none());
    let today = chrono::Local::now().date_naive();
    let float = Money::parse("300", store.currency).unwrap();
    let day = ledger.open_day(float, today, Utc::now()).unwrap();
    assert_eq!(day.day_no, 1);
    assert_eq!(ledger.current_day().unwrap(), Some(day));
    assert!(matches!(ledger.open_day(float, today, Utc::now()), Err(LedgerError::DayAlreadyOpen(1))));
}

#[test]
fn a_witness_created_but_not_yet_written_lags_and_is_sound() {
    // The power cut came between creating the witness file and its first write.
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_with_sales(dir.path(), 2);
    std::fs::write(ledger.witness_path(), "").unwrap();
    drop(ledger);
    let (ok, text) = verify_cli(dir.path());
    assert!(ok, "{text}");
    // A witness with garbage in it is still named.
    std::fs::write(dir.path().join("ledger.db.head"), "not a witness").unwrap();
    let (ok, text) = verify_cli(dir.path());
    assert!(!ok && text.contains("witness"), "{text}");
}

#[test]
fn a_line_voided_before_the_days_first_sale_counts_in_that_day() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = open(dir.path());
    assert!(ledger.current_day().unwrap().is_none());
    // An entry the reports do not count opens nothing.
    ledger.append("sign_in", &[("user", "wang".into())], Utc::now()).unwrap();
    assert!(ledger.current_day().unwrap().is_none());
    ledger.append("void_line", &[("sku", "DRK003".into()), ("amount", "350".into())], Utc::now()).unwrap();
    let day = ledger.current_day().unwrap().expect("the void opened the day, as a sale would");
    let figures = ledger.day_figures(day.day_no, day.day_no, false).unwrap();
    assert_eq!(figures.entries_of("void_line"), 1, "in the X and Z of the day");
    assert!(ledger.verify().unwrap().is_sound());
}

#[test]
fn guesses_in_parallel_get_five_checks_and_the_lockout_outlasts_a_moved_clock() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = open(dir.path());
    let hash = till::auth::hash_pin("864213").unwrap();
    ledger
        .save_user(&till::auth::User::new("mgr", "Mgr", till::auth::Role::Manager, hash), "test", Utc::now())
        .unwrap();
    let user = ledger.users().unwrap().remove(0);
    drop(ledger);
    // Twelve guessers, each with its own connection, as separate processes would be.
    let checks = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let guessers: Vec<_> = (0..12)
        .map(|i| {
            let (dir, user, checks) = (dir.path().to_path_buf(), user.clone(), checks.clone());
            std::thread::spawn(move || {
                let mut ledger = open(&dir);
                till::admin::check_with_lockout(&mut ledger, &user, |u| {
                    checks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    u.check_pin(&format!("{:06}", 100_000 + i))
                })
            })
        })
        .collect();
    let answers: Vec<_> = guessers.into_iter().map(|g| g.join().unwrap()).collect();
    assert!(answers.iter().all(|a| a.is_err()));
    let checked = checks.load(std::sync::atomic::Ordering::SeqCst);
    assert!(checked <= till::ledger::users::MAX_FAILED as usize, "{checked} PINs were checked");
    let ledger = open(dir.path());
    let now = Utc::now();
    assert!(ledger.locked_until("mgr", now).unwrap().is_some(), "locked");
    // The wall clock moved forward past the lockout, or back: the clock since boot still counts.
    for moved in [chrono::Duration::minutes(30), chrono::Duration::days(-1)] {
        assert!(ledger.locked_until("mgr", now + moved).unwrap().is_some(), "{moved}");
    }
    assert!(ledger.verify().unwrap().is_sound());
}

#[test]
fn a_training_receipt_is_never_refunded_as_a_real_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreSettings::demo();
    let mut ledger = open(dir.path());
    let catalog = till::demo::load_catalog(&mut ledger, &store, true).unwrap();
    let mut rng = Rng::new(5);
    let mut sale = random_paid_sale(&catalog, &store.sale_settings(), &mut rng).unwrap();
    let training = PostContext { cashier: "alice".into(), training: true };
    let posted = ledger.post_sale(&mut sale, &training, Utc::now()).unwrap();
    // The refund lookup of the real till does not find it; training's does.
    let clue = till::ledger::find::SaleClue::Total(ledger.sale_by_receipt(posted.receipt_no).unwrap().total);
    assert!(ledger.find_sales(&clue, 10, false).unwrap().is_empty());
    assert_eq!(ledger.find_sales(&clue, 10, true).unwrap().len(), 1);
    let original = ledger.original_sale(posted.receipt_no).unwrap();
    let refund = || {
        let mut refund = Sale::new_refund(store.sale_settings(), &original);
        for line in &original.lines {
            refund.add_refund_line(&original, line.line_no, line.quantity).unwrap();
        }
        refund.begin_payment().unwrap();
        let due = refund.remaining();
        refund.tender_cash(due).unwrap();
        refund
    };
    let mut real = refund();
    assert!(matches!(ledger.post_sale(&mut real, &ctx(), Utc::now()), Err(LedgerError::TrainingMismatch(_))));
    let mut practice = refund();
    ledger.post_sale(&mut practice, &training, Utc::now()).unwrap();
    assert!(ledger.verify().unwrap().is_sound());
}

#[test]
fn a_product_saved_at_the_till_hashes_its_range_and_each_range_answers_for_itself() {
    use till::catalog::{Product, SoldBy, Text};
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = open(dir.path());
    let product = |i: usize| Product {
        sku: Text::from(format!("P{i:05}").as_str()),
        barcodes: vec![Text::from(format!("2{i:012}").as_str())],
        name_zh: Text::from("商品"),
        name_en: Text::from(format!("Product {i}").as_str()),
        price: Money::from_minor(100 + i as i64, till::money::Currency::CNY).unwrap(),
        tax_class: Text::from("A"),
        category: Text::from("misc"),
        quick_key: None,
        sold_by: SoldBy::Piece,
    };
    // Three ranges of products (1,024 each at most).
    let products: Vec<Product> = (0..3000).map(product).collect();
    let import = ledger.save_products(&products, "test", Utc::now()).unwrap();
    let mut edited = product(1500);
    edited.price = Money::from_minor(999, till::money::Currency::CNY).unwrap();
    let saved = ledger.save_product(&edited, "MGR", Utc::now()).unwrap();
    let payload: String = Connection::open(config::ledger_path(dir.path()))
        .unwrap()
        .query_row("SELECT CAST(payload AS TEXT) FROM journal WHERE seq = ?1", [saved], |r| r.get(0))
        .unwrap();
    assert!(
        payload.contains("\nrange=") && !payload.contains("catalog_sha256"),
        "its range, not the catalog: {payload}"
    );
    let report = ledger.verify().unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
    drop(ledger);
    // A price changed behind the journal's back, in the saved product's range and in another.
    let conn = Connection::open(config::ledger_path(dir.path())).unwrap();
    conn.execute("UPDATE products SET price_minor = 1 WHERE sku IN ('P01500', 'P00007')", []).unwrap();
    drop(conn);
    let report = open(dir.path()).verify().unwrap();
    let named: Vec<Option<i64>> =
        report.problems.iter().filter(|p| p.kind == till::ledger::ProblemKind::CatalogDiffers).map(|p| p.seq).collect();
    assert_eq!(named, vec![Some(import), Some(saved)], "{:?}", report.problems);
}
