//! Backups: taken online while another connection keeps posting sales, each one verifies and
//! restores to a ledger that verifies; a restore refuses a copy that does not verify and never
//! replaces a ledger without backing it up first (a damaged one too, kept as it was).

mod books;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::Utc;
use till::config::StoreSettings;
use till::ledger::backup::{BackupError, backup_into, restore};
use till::ledger::{Ledger, PostContext};
use till::simulate::{Rng, random_paid_sale};

#[test]
fn backups_taken_while_sales_are_written_restore_to_a_ledger_that_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let store = StoreSettings::demo();
    let mut writer = Ledger::open(&db, "R1", store.currency).unwrap();
    let catalog = till::demo::load_catalog(&mut writer, &store, true).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let settings = store.sale_settings();
    let selling = std::thread::spawn(move || {
        let mut rng = Rng::new(5);
        let ctx = PostContext { cashier: "c".into(), training: false };
        let mut posted = 0;
        while !flag.load(Ordering::SeqCst) || posted < 50 {
            let mut sale = random_paid_sale(&catalog, &settings, &mut rng).unwrap();
            writer.post_sale(&mut sale, &ctx, Utc::now()).unwrap();
            posted += 1;
        }
        posted
    });
    let reader = Ledger::open(&db, "R1", store.currency).unwrap();
    let backups = dir.path().join("backups");
    let mut taken = Vec::new();
    for i in 0..6 {
        std::thread::sleep(std::time::Duration::from_millis(15));
        // backup_to checks each copy verifies before it counts.
        let now = Utc::now() + chrono::Duration::seconds(i);
        taken.push(backup_into(&reader, &backups, 4, now).unwrap());
    }
    stop.store(true, Ordering::SeqCst);
    let posted = selling.join().unwrap();
    assert!(posted >= 50);
    // Only the newest four are kept.
    let kept = std::fs::read_dir(&backups)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "db"))
        .count();
    assert_eq!(kept, 4);
    let last = taken.last().unwrap();
    let in_backup = Ledger::open_read_only(last).unwrap().counts().unwrap().1;
    assert!(in_backup > 0 && in_backup <= posted);

    // The backup is older than the ledger: refused without --older, and a manager may not.
    let later = Utc::now() + chrono::Duration::seconds(60);
    let refused = restore(last, &db, &backups, &installer(), false, (0, 0), later);
    assert!(
        matches!(refused, Err(BackupError::Older { entries, receipts }) if entries > 0 && receipts == posted - in_backup),
        "{refused:?}"
    );
    let manager = till::auth::User::new("m", "M", till::auth::Role::Manager, till::auth::hash_pin("246813").unwrap());
    let manager = till::auth::approve(&manager, "246813", till::auth::Permission::Users).unwrap();
    assert!(matches!(restore(last, &db, &backups, &manager, true, (0, 0), later), Err(BackupError::NotPermitted)));

    // Restore the last backup in place: the current ledger is backed up first.
    let (safety, plan) = restore(last, &db, &backups, &installer(), true, (0, 0), later).unwrap();
    let safety = safety.unwrap();
    assert_eq!(safety.problems, 0);
    let safety = safety.copy;
    assert_eq!(plan.receipts_lost, posted - in_backup);
    assert_eq!(plan.receipt_floor, posted);
    assert!(Ledger::open_read_only(&safety).unwrap().verify().unwrap().is_sound());
    assert_eq!(Ledger::open_read_only(&safety).unwrap().counts().unwrap().1, posted);
    let restored = Ledger::open_read_only(&db).unwrap();
    assert!(restored.verify().unwrap().is_sound());
    assert_eq!(restored.counts().unwrap().1, in_backup);
    drop(restored);

    // Numbering goes on after the highest receipt printed before the restore: none is reused.
    let mut ledger = Ledger::open(&db, "R1", store.currency).unwrap();
    let catalog = till::demo::load_catalog(&mut ledger, &store, true).unwrap();
    let mut sale = random_paid_sale(&catalog, &store.sale_settings(), &mut Rng::new(9)).unwrap();
    let next = ledger.post_sale(&mut sale, &PostContext { cashier: "c".into(), training: false }, Utc::now()).unwrap();
    assert_eq!(next.receipt_no, posted + 1);
    let report = ledger.verify().unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
}

/// An installer's approval, as `till restore --by` gets one.
fn installer() -> till::auth::Approval {
    let user =
        till::auth::User::new("i", "Installer", till::auth::Role::Installer, till::auth::hash_pin("135790").unwrap());
    till::auth::approve(&user, "135790", till::auth::Permission::Settings).unwrap()
}

#[test]
fn a_copy_that_does_not_verify_is_not_restored() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreSettings::demo();
    let db = dir.path().join("ledger.db");
    let mut ledger = Ledger::open(&db, "R1", store.currency).unwrap();
    let catalog = till::demo::load_catalog(&mut ledger, &store, true).unwrap();
    let mut rng = Rng::new(1);
    let mut sale = random_paid_sale(&catalog, &store.sale_settings(), &mut rng).unwrap();
    ledger.post_sale(&mut sale, &PostContext { cashier: "c".into(), training: false }, Utc::now()).unwrap();
    let copy = dir.path().join("copy.db");
    ledger.backup_to(&copy).unwrap();
    assert!(matches!(ledger.backup_to(&copy), Err(BackupError::Exists(_))));
    // Someone edits the copy's sale.
    let c = rusqlite::Connection::open(&copy).unwrap();
    c.execute_batch("DROP TRIGGER sales_no_update; UPDATE sales SET total_minor = total_minor - 100;").unwrap();
    drop(c);
    let refused = restore(&copy, &db, &dir.path().join("backups"), &installer(), true, (0, 0), Utc::now());
    assert!(matches!(refused, Err(BackupError::DoesNotVerify { .. })), "{refused:?}");
    assert!(!dir.path().join("backups").exists(), "nothing touched");
    assert!(Ledger::open_read_only(&db).unwrap().verify().unwrap().is_sound());
}

/// A ledger of three sales, backed up after the first; the ledger, the backup and the directory.
fn three_sales_backed_up_after_one() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreSettings::demo();
    let db = dir.path().join("ledger.db");
    let mut ledger = Ledger::open(&db, "R1", store.currency).unwrap();
    let catalog = till::demo::load_catalog(&mut ledger, &store, true).unwrap();
    let mut rng = Rng::new(2);
    let ctx = PostContext { cashier: "c".into(), training: false };
    let copy = dir.path().join("copy.db");
    for n in 1..=3 {
        let mut sale = random_paid_sale(&catalog, &store.sale_settings(), &mut rng).unwrap();
        ledger.post_sale(&mut sale, &ctx, Utc::now()).unwrap();
        if n == 1 {
            ledger.backup_to(&copy).unwrap();
        }
    }
    (dir, db, copy)
}

/// Someone with the file: the triggers that keep rows from changing dropped, then `sql`.
fn edit_ledger(db: &std::path::Path, sql: &str) {
    let c = rusqlite::Connection::open(db).unwrap();
    books::drop_triggers(&c);
    c.execute_batch(sql).unwrap();
}

const LAST_SALE: &str = "(SELECT max(seq) FROM sales)";

#[test]
fn a_damaged_ledger_is_replaced_only_when_told_and_kept_as_it_was() {
    let (dir, db, copy) = three_sales_backed_up_after_one();
    // The last sale cut off the end, entry and rows: the chain still links, the witness beside
    // the ledger remembers the head it had.
    edit_ledger(
        &db,
        "CREATE TEMP TABLE cut AS SELECT max(seq) AS seq FROM sales;
         DELETE FROM payments WHERE seq = (SELECT seq FROM cut);
         DELETE FROM sale_lines WHERE seq = (SELECT seq FROM cut);
         DELETE FROM sales WHERE seq = (SELECT seq FROM cut);
         DELETE FROM journal WHERE seq >= (SELECT seq FROM cut);",
    );
    assert!(!Ledger::open_read_only(&db).unwrap().verify().unwrap().is_sound());
    let backups = dir.path().join("backups");
    let refused = restore(&copy, &db, &backups, &installer(), false, (0, 0), Utc::now());
    assert!(matches!(refused, Err(BackupError::ReplacedUnsound { problems }) if problems > 0), "{refused:?}");
    assert!(!backups.exists(), "nothing touched");
    let (replaced, plan) = restore(&copy, &db, &backups, &installer(), true, (0, 0), Utc::now()).unwrap();
    let replaced = replaced.unwrap();
    assert!(replaced.problems > 0 && plan.replaced_problems == replaced.problems, "{replaced:?} {plan:?}");
    // The damaged ledger is kept as it was, witness and all: it still does not verify.
    let kept = Ledger::open_read_only(&replaced.copy).unwrap();
    let report = kept.verify().unwrap();
    assert!(!report.is_sound(), "the kept copy hides the cut: {report:?}");
    assert_eq!(kept.counts().unwrap().1, 2);
    let restored = Ledger::open_read_only(&db).unwrap();
    assert!(restored.verify().unwrap().is_sound());
    assert_eq!(restored.counts().unwrap().1, 1);
}

#[test]
fn a_ledger_too_damaged_to_open_is_replaced_when_told_and_kept_byte_for_byte() {
    let (dir, db, copy) = three_sales_backed_up_after_one();
    let mut bytes = std::fs::read(&db).unwrap();
    bytes[..100].fill(b'x');
    std::fs::write(&db, &bytes).unwrap();
    let backups = dir.path().join("backups");
    let refused = restore(&copy, &db, &backups, &installer(), false, (0, 0), Utc::now());
    assert!(matches!(refused, Err(BackupError::ReplacedUnsound { .. })), "{refused:?}");
    let (replaced, _) = restore(&copy, &db, &backups, &installer(), true, (0, 0), Utc::now()).unwrap();
    assert_eq!(std::fs::read(replaced.unwrap().copy).unwrap(), bytes);
    assert!(Ledger::open_read_only(&db).unwrap().verify().unwrap().is_sound());
}

#[test]
fn receipt_numbers_whose_rows_were_deleted_are_not_given_again_after_a_restore() {
    let (_dir, db, copy) = three_sales_backed_up_after_one();
    // Receipt 3's rows deleted; its journal entry stays.
    edit_ledger(
        &db,
        &format!(
            "DELETE FROM payments WHERE seq = {LAST_SALE}; DELETE FROM sale_lines WHERE seq = {LAST_SALE};
             DELETE FROM sales WHERE seq = {LAST_SALE};"
        ),
    );
    let backups = db.with_file_name("backups");
    let (_, plan) = restore(&copy, &db, &backups, &installer(), true, (0, 0), Utc::now()).unwrap();
    assert_eq!((plan.receipts_lost, plan.receipt_floor), (2, 3), "{plan:?}");
    let store = StoreSettings::demo();
    let mut ledger = Ledger::open(&db, "R1", store.currency).unwrap();
    let catalog = till::demo::load_catalog(&mut ledger, &store, true).unwrap();
    let mut sale = random_paid_sale(&catalog, &store.sale_settings(), &mut Rng::new(9)).unwrap();
    let posted =
        ledger.post_sale(&mut sale, &PostContext { cashier: "c".into(), training: false }, Utc::now()).unwrap();
    assert_eq!(posted.receipt_no, 4);
}

#[test]
fn the_backup_after_a_z_goes_to_the_configured_folder_and_keeps_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreSettings::demo();
    let ledger = Ledger::open(&dir.path().join("ledger.db"), "R1", store.currency).unwrap();
    let stick = dir.path().join("usb-stick/till");
    let text = format!(
        "{}\n[backup]\nfolder = \"{}\"\nkeep = 2\n",
        till::config::settings::template().split("[backup]").next().unwrap(),
        stick.display()
    );
    let settings = till::config::settings::parse(&text).unwrap();
    assert_eq!(settings.backup.keep, 2);
    for i in 0..3 {
        let now = Utc::now() + chrono::Duration::seconds(i);
        let written = till::dayclose::backup_after_z(&ledger, &settings.backup, now).unwrap();
        assert!(written.starts_with(&stick), "{}", written.display());
    }
    let kept = std::fs::read_dir(&stick)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "db"))
        .count();
    assert_eq!(kept, 2);
    assert!(!dir.path().join("backups").exists(), "nothing beside the ledger when a folder is set");
    let zero = text.replace("keep = 2", "keep = 0");
    let problems = till::config::settings::parse(&zero).unwrap_err();
    assert_eq!(problems[0].localized("en"), "backup.keep: must be at least 1, not 0");
}
