//! The till's files are its alone, and what it exports is data, not code (issue 16, items 8–9):
//! the data directory 0700; ledger, witness, backups, logs, settings and exports 0600; an export
//! never follows a symbolic link nor replaces a file unless told; a CSV cell that a spreadsheet
//! would run as a formula — a user id, a card name the terminal sent — is neutralised.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use chrono::Utc;
use rust_decimal::Decimal;
use till::config::{self, StoreSettings};
use till::ledger::{Ledger, PostContext};
use till::sale::{CardPayment, Sale};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

mod shell;
use shell::text;

fn till(dir: &Path, args: &[&str], input: &str) -> Output {
    shell::in_english(dir, args, input)
}

#[test]
fn the_tills_files_are_its_alone() {
    let base = tempfile::tempdir().unwrap();
    let d = base.path().join("data");
    assert!(till(&d, &["simulate", "--sales", "2"], "").status.success());
    assert!(till(&d, &["config", "init"], "").status.success());
    assert!(till(&d, &["backup"], "").status.success());
    assert_eq!(mode(&d), 0o700, "the data directory");
    assert_eq!(mode(&config::ledger_path(&d)), 0o600, "the ledger");
    assert_eq!(mode(&till::ledger::witness_path(&config::ledger_path(&d))), 0o600, "the witness");
    assert_eq!(mode(&d.join("till.toml")), 0o600, "the settings (the terminal's password)");
    assert_eq!(mode(&d.join("backups")), 0o700);
    for backup in std::fs::read_dir(d.join("backups")).unwrap() {
        let backup = backup.unwrap().path();
        assert_eq!(mode(&backup), 0o600, "{}", backup.display());
    }
    let logs = d.join("logs");
    till::log::write_in(&logs, chrono::Local::now(), "a line").unwrap();
    assert_eq!(mode(&till::log::file_of(&logs, chrono::Local::now())), 0o600, "the log");
}

#[test]
fn an_export_follows_no_link_and_replaces_nothing_unless_told() {
    let base = tempfile::tempdir().unwrap();
    let d = base.path().join("data");
    assert!(till(&d, &["simulate", "--sales", "2"], "").status.success());
    let csv = base.path().join("x.csv");
    let csv_s = csv.to_str().unwrap();
    let first = till(&d, &["report", "x", "--training", "--csv", csv_s], "");
    assert!(first.status.success(), "{}", text(&first));
    assert_eq!(mode(&csv), 0o600);
    let again = till(&d, &["report", "x", "--training", "--csv", csv_s], "");
    assert!(!again.status.success() && text(&again).contains("Cannot write"), "{}", text(&again));
    let told = till(&d, &["report", "x", "--training", "--csv", csv_s, "--overwrite"], "");
    assert!(told.status.success(), "{}", text(&told));
    // A link planted where the export goes (to a file the till's user may write) is not followed.
    let target = base.path().join("precious.txt");
    std::fs::write(&target, "keep me").unwrap();
    let link = base.path().join("link.csv");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    for extra in [&[][..], &["--overwrite"][..]] {
        let mut args = vec!["report", "x", "--training", "--pdf", link.to_str().unwrap()];
        args.extend(extra);
        let out = till(&d, &args, "");
        assert!(!out.status.success(), "{}", text(&out));
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    }
}

#[test]
fn csv_cells_a_spreadsheet_would_run_are_neutralised() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreSettings::demo();
    let mut ledger = Ledger::open(&config::ledger_path(dir.path()), "R1", store.currency).unwrap();
    let catalog = till::demo::load_catalog(&mut ledger, &store, true).unwrap();
    // A user id and a card name as an attacker would choose them, one per formula character.
    for (cashier, card) in [("=2+3", "@SUM(A1)"), ("+cmd", "-2+3"), ("@x", "=HYPERLINK(\"http://x\")")] {
        let mut sale = Sale::new(store.sale_settings());
        sale.add_product(&catalog.products()[0], Decimal::ONE).unwrap();
        sale.begin_payment().unwrap();
        let due = sale.remaining();
        let card = CardPayment {
            masked_pan: "474843******7743".into(),
            card_name: card.into(),
            receipt_no: 1,
            trace: 1,
            terminal_id: "52500038".into(),
            aid: "A0000000031010".into(),
        };
        sale.tender_card(due, card).unwrap();
        ledger.post_sale(&mut sale, &PostContext { cashier: cashier.into(), training: false }, Utc::now()).unwrap();
    }
    let report = till::dayclose::x_report(&ledger, 1, 1, false, Utc::now()).unwrap();
    let bytes = till::dayclose::output::csv(&report, "en").unwrap();
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let labels: Vec<String> = reader.records().map(|r| r.unwrap()[1].to_string()).collect();
    for planted in ["=2+3", "+cmd", "@x", "@SUM(A1)", "-2+3", "=HYPERLINK(\"http://x\")"] {
        assert!(labels.iter().any(|l| *l == format!("'{planted}")), "{planted} not neutralised: {labels:?}");
        assert!(!labels.iter().any(|l| l == planted), "{planted} exported as is");
    }
}
