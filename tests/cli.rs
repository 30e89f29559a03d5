//! The command line as an installer uses it: catalog import (all or nothing), simulate, verify;
//! and bad input that gets a clear, localized error and changes nothing.

use std::path::Path;
use std::process::{Command, Output};

use till::catalog::{Catalog, EmbeddedRule, LookupError};
use till::config::StoreSettings;
use till::money::{Currency, Money, MoneyError};
use till::sale::{Sale, SaleError};

fn till(dir: &Path, args: &[&str]) -> Output {
    till_with(dir, args, "")
}

mod shell;
use shell::{run as till_with, text};

const HEADER: &str = "sku,barcodes,name_zh,name_en,price,tax_class,category,quick_key,sold_by\n";

#[test]
fn import_is_all_or_nothing_and_names_each_bad_row() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.csv");
    std::fs::write(&good, format!("{HEADER}X1,4006381333931,测试,Test,1.20,A,misc,,piece\n")).unwrap();
    let out = till(dir.path(), &["catalog", "import", good.to_str().unwrap(), "--lang", "en"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(text(&out).trim(), "Imported 1 products.");

    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!(
            "{HEADER}X2,,好,Good,2.00,A,misc,,piece\nX3,4006381333932,坏,Bad,1.00,A,misc,,\nX4,,坏,Bad,-1,A,misc,,\n\
             X5,4006381333931,重,Dup,1.00,A,misc,,\nX6,,零,Zero,abc,Q,misc,0,box\n"
        ),
    )
    .unwrap();
    let out = till(dir.path(), &["catalog", "import", bad.to_str().unwrap(), "--lang", "en"]);
    assert!(!out.status.success());
    let t = text(&out);
    for expected in [
        "Row 3, column barcodes: Wrong check digit in 4006381333932 (should end in 1): scan again",
        "Row 4, column price: price must not be negative",
        "Row 5, column barcodes: barcode 4006381333931 belongs to item X1",
        "Row 6, column price: Not an amount: abc",
        "Row 6, column tax_class: unknown tax class Q",
        "Row 6, column quick_key: quick key must be 1–999: 0",
        "Row 6, column sold_by: sold_by must be piece or weight: box",
        "Nothing imported: 7 problem(s) in the file.",
    ] {
        assert!(t.contains(expected), "missing {expected:?} in:\n{t}");
    }
    // The good row of the bad file was not imported either.
    let store = StoreSettings::demo();
    let ledger = till::ledger::Ledger::open(&dir.path().join("ledger.db"), "R1", store.currency).unwrap();
    let skus: Vec<String> = ledger.load_products().unwrap().into_iter().map(|p| p.sku.to_string()).collect();
    assert_eq!(skus, vec!["X1"]);

    let zh = till(dir.path(), &["catalog", "import", bad.to_str().unwrap(), "--lang", "zh-CN"]);
    assert!(text(&zh).contains("第 4 行，price 列：价格不能为负"), "{}", text(&zh));

    let ragged = dir.path().join("ragged.csv");
    std::fs::write(&ragged, format!("{HEADER}X7,,a,b,1.00,A\n")).unwrap();
    let out = till(dir.path(), &["catalog", "import", ragged.to_str().unwrap(), "--lang", "en"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("Row 2, column : unreadable CSV"), "{}", text(&out));

    let missing = till(dir.path(), &["catalog", "import", "/nonexistent/file.csv", "--lang", "en"]);
    assert!(!missing.status.success());
    assert!(text(&missing).starts_with("Cannot read /nonexistent/file.csv"));
}

#[test]
fn simulate_then_verify() {
    let dir = tempfile::tempdir().unwrap();
    let out = till(dir.path(), &["simulate", "--sales", "25", "--seed", "3", "--lang", "en"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).starts_with("Posted 25 sales, receipts 1–25, total "), "{}", text(&out));
    let out = till(dir.path(), &["simulate", "--sales", "5", "--lang", "en"]);
    assert!(text(&out).starts_with("Posted 5 sales, receipts 26–30"), "{}", text(&out));
    let out = till(dir.path(), &["ledger", "verify", "--lang", "zh-CN"]);
    assert!(out.status.success());
    assert!(text(&out).starts_with("账本完好：92 条记录，30 笔交易"), "{}", text(&out));
}

#[test]
fn verify_of_a_missing_ledger_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = till(dir.path(), &["ledger", "verify", "--lang", "en"]);
    assert!(!out.status.success());
    assert!(text(&out).starts_with("Ledger file error:"), "{}", text(&out));
}

#[test]
fn bad_input_at_the_counter_gets_a_localized_error_and_changes_nothing() {
    let store = StoreSettings::demo();
    let products = till::catalog::import::parse_csv(
        till::demo::DEMO_CATALOG_CSV.as_bytes(),
        store.currency,
        &store.tax_class_codes(),
        &|_| None,
    )
    .unwrap();
    assert!((180..=220).contains(&products.len()), "a demo store of about 200 products");
    let catalog = Catalog::new(store.currency, products, EmbeddedRule::defaults());

    // Bad check digit, unknown barcode.
    let code = &catalog.by_sku("DRK001").unwrap().barcodes[0];
    let mut wrong = code.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '9' { '0' } else { char::from(last as u8 + 1) });
    let e = catalog.scan(&wrong).unwrap_err();
    assert!(matches!(e, LookupError::Barcode(_)));
    assert!(e.localized("zh-CN").contains("校验位错误"));
    let e = catalog.scan("4006381333931").unwrap_err();
    assert_eq!(e.localized("en"), "Unknown barcode 4006381333931");
    assert_eq!(e.localized("zh-CN"), "未知条码 4006381333931");

    // Zero and negative quantities, fractional pieces.
    let mut sale = Sale::new(store.sale_settings());
    let water = catalog.scan(code).unwrap().product;
    let e = sale.add_product(water, rust_decimal::Decimal::ZERO).unwrap_err();
    assert_eq!(e.localized("en"), "Quantity must be more than zero");
    assert_eq!(e.localized("zh-CN"), "数量必须大于零");
    assert!(sale.add_product(water, rust_decimal::Decimal::NEGATIVE_ONE).is_err());
    assert!(sale.lines().is_empty());

    // Amounts beyond the supported range.
    let e = Money::parse("12345678901234", Currency::CNY).unwrap_err();
    assert!(matches!(e, MoneyError::OutOfRange(_)));
    assert_eq!(e.localized("en"), "Amount out of the supported range: 12345678901234");
    sale.add_product(water, rust_decimal::Decimal::ONE).unwrap();
    let huge = Money::parse("9999999999", Currency::CNY).unwrap();
    assert_eq!(sale.override_price(0, huge), Ok(()));
    let e = sale.set_quantity(0, rust_decimal::Decimal::from(2)).unwrap_err();
    assert_eq!(e, SaleError::TotalOutOfRange);
    assert_eq!(sale.lines()[0].quantity, rust_decimal::Decimal::ONE, "a refused change leaves the line as it was");

    // Illegal transitions name the state in the cashier's language.
    let e = sale.resume().unwrap_err();
    assert_eq!(e.localized("en"), "Cannot resume a sale that is open");
    assert_eq!(e.localized("zh-CN"), "无法取单进行中的交易");
}

#[test]
fn simulate_pays_part_of_its_sales_by_card_through_the_emulator() {
    let dir = tempfile::tempdir().unwrap();
    let out = till(dir.path(), &["simulate", "--sales", "40", "--card-share", "0.6", "--seed", "9", "--lang", "en"]);
    assert!(out.status.success(), "{}", text(&out));
    let ledger = till::ledger::Ledger::open_read_only(&dir.path().join("ledger.db")).unwrap();
    assert!(ledger.verify().unwrap().is_sound());
    let approved: Vec<i64> = ledger
        .card_results()
        .unwrap()
        .into_iter()
        .filter(|r| r.outcome == "approved")
        .map(|r| r.amount_minor.unwrap())
        .collect();
    assert!((12..=36).contains(&approved.len()), "about 60 % of 40 sales by card: {}", approved.len());
    let terminal = till::terminal::emulator::EmulatorState::load(&dir.path().join("training-terminal.state")).unwrap();
    let booked: Vec<i64> = terminal.batch.iter().map(|e| e.amount_minor).collect();
    assert_eq!(booked, approved, "the terminal booked exactly what the ledger recorded");
    let conn = rusqlite::Connection::open(dir.path().join("ledger.db")).unwrap();
    let card_paid: i64 = conn
        .query_row("SELECT COALESCE(SUM(amount_minor), 0) FROM payments WHERE kind = 'card'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(card_paid, approved.iter().sum::<i64>());
}

#[test]
fn print_a_test_page_on_the_printer_emulator() {
    use std::io::{BufRead, BufReader, Read};
    let pictures = tempfile::tempdir().unwrap();
    let mut emulator = Command::new(env!("CARGO_BIN_EXE_till"))
        .args(["emulate", "printer", "--pty", "--model", "generic-80", "--png"])
        .arg(pictures.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(emulator.stdout.take().unwrap());
    let mut path = String::new();
    out.read_line(&mut path).unwrap();
    let printer = format!("serial:{}", path.trim());
    let dir = tempfile::tempdir().unwrap();
    let framed = format!("{printer}:9600:8N1");
    let status = till(dir.path(), &["print", "status", "--printer", &framed, "--lang", "en"]);
    assert_eq!(text(&status).trim(), "Printer ready");
    let printed = till(dir.path(), &["print", "test-page", "--printer", &printer, "--paper", "58", "--lang", "en"]);
    assert!(printed.status.success(), "{}", text(&printed));
    // A day of sales rehearsed on paper.
    let simulated = till(dir.path(), &["simulate", "--sales", "3", "--printer", &printer, "--lang", "en"]);
    assert!(simulated.status.success(), "{}", text(&simulated));
    // The roll runs out: the next receipts are kept, listed, and printed once paper is loaded.
    use std::io::Write;
    let mut control = emulator.stdin.take().unwrap();
    writeln!(control, "paper out").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let out_of_paper = till(dir.path(), &["simulate", "--sales", "2", "--printer", &printer, "--lang", "en"]);
    assert!(text(&out_of_paper).contains("2 receipt(s) did not print"), "{}", text(&out_of_paper));
    let pending = till(dir.path(), &["print", "pending", "--lang", "en"]);
    assert!(text(&pending).contains("refused The printer is out of paper"), "{}", text(&pending));
    assert!(text(&pending).contains("2 receipt(s) waiting to print"), "{}", text(&pending));
    writeln!(control, "paper ok").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let retried = till(dir.path(), &["print", "retry", "--printer", &printer, "--lang", "en"]);
    assert!(text(&retried).contains("Printed 2 of 2"), "{}", text(&retried));
    let pending = till(dir.path(), &["print", "pending", "--lang", "en"]);
    assert!(text(&pending).contains("0 receipt(s) waiting"), "{}", text(&pending));
    std::thread::sleep(std::time::Duration::from_millis(300));
    emulator.kill().unwrap();
    emulator.wait().unwrap();
    let mut shown = String::new();
    out.read_to_string(&mut shown).unwrap();
    assert!(
        shown.contains("   TEST PAGE\n") && shown.contains("Café 12,50 € Grüße\n") && shown.ends_with("[CUT]\n"),
        "{shown}"
    );
    let missing = till(dir.path(), &["print", "status", "--lang", "en"]);
    assert!(text(&missing).contains("Say which printer"));
}

#[test]
fn reports_and_the_drawer_from_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(till(d, &["--lang", "en", "simulate", "--sales", "5"]).status.success());
    // Settlement from the shell is a manager's too: their id, and their PIN on standard input.
    let add = ["users", "add", "ins", "--name", "Installer", "--role", "installer"];
    assert!(till_with(d, &add, "135790\n").status.success());
    let add = ["users", "add", "li", "--name", "Li", "--role", "manager", "--by", "ins"];
    let added = till_with(d, &add, "135790\n864213\n");
    assert!(added.status.success(), "{}", text(&added));
    let refused =
        till_with(d, &["--lang", "en", "drawer", "in", "100", "--reason", "change", "--user", "li"], "111111\n");
    assert!(!refused.status.success() && text(&refused).contains("Wrong PIN"), "{}", text(&refused));
    let bad = till_with(d, &["--lang", "en", "drawer", "count", "100x3,fifty", "--user", "li"], "864213\n");
    assert!(!bad.status.success());
    assert!(text(&bad).contains("Not a count of notes and coins: 100x3,fifty"), "{}", text(&bad));
    let bad = till_with(d, &["--lang", "zh-CN", "drawer", "out", "0", "--reason", "bank", "--user", "li"], "864213\n");
    assert!(!bad.status.success());
    assert!(text(&bad).contains("金额必须大于零"), "{}", text(&bad));
    let ok = till_with(d, &["drawer", "in", "100", "--reason", "change", "--user", "li"], "864213\n");
    assert!(ok.status.success(), "{}", text(&ok));
    let csv = d.join("x.csv");
    let x = till(d, &["--lang", "en", "report", "x", "--training", "--csv", csv.to_str().unwrap()]);
    assert!(x.status.success(), "{}", text(&x));
    let paper = String::from_utf8_lossy(&x.stdout).to_string();
    assert!(paper.contains("X REPORT") && paper.contains("*** TRAINING ***") && paper.contains("Cash in"), "{paper}");
    let csv = std::fs::read_to_string(csv).unwrap();
    assert!(csv.starts_with("section,label,count,amount\n") && csv.contains("sales,Sales,5,"), "{csv}");
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    let by_date = till(d, &["--lang", "en", "report", "x", "--training", "--day", &today]);
    assert!(
        by_date.status.success() && String::from_utf8_lossy(&by_date.stdout).contains("X REPORT"),
        "{}",
        text(&by_date)
    );
    let days = till(d, &["--lang", "en", "report", "days"]);
    assert!(String::from_utf8_lossy(&days.stdout).contains("open"));
    let none = till(d, &["--lang", "en", "report", "x", "--day", "9"]);
    assert!(!none.status.success() && text(&none).contains("There is no business day 9"), "{}", text(&none));
}

#[test]
fn backup_and_restore_from_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(till(d, &["simulate", "--sales", "3"]).status.success());
    let copy = d.join("copy.db");
    let out = till(d, &["--lang", "en", "backup", copy.to_str().unwrap()]);
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Backed up to"), "{}", text(&out));
    assert!(till(d, &["simulate", "--sales", "2", "--seed", "9"]).status.success());
    // An older backup: an installer's approval and --older, said what is lost.
    let add = ["users", "add", "ins", "--name", "Installer", "--role", "installer"];
    assert!(till_with(d, &add, "135790\n").status.success());
    let args = ["--lang", "zh-CN", "restore", copy.to_str().unwrap(), "--by", "ins", "--older"];
    let out = till_with(d, &args, "135790\n");
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("已恢复"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("将丢失"), "{}", text(&out));
    let verify = till(d, &["ledger", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify));
    let missing = till(d, &["--lang", "en", "restore", d.join("nope.db").to_str().unwrap()]);
    assert!(!missing.status.success());
}

#[test]
fn a_settings_file_with_mistakes_stops_the_till_and_names_each_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let conf = d.join("till.toml");
    let conf_s = conf.to_str().unwrap();
    let out = till(d, &["--lang", "en", "--config", conf_s, "config", "init"]);
    assert!(out.status.success(), "{}", text(&out));
    let ok = till(d, &["--lang", "en", "--config", conf_s, "config", "check"]);
    assert!(ok.status.success() && String::from_utf8_lossy(&ok.stdout).contains("the settings are valid"));
    let good = std::fs::read_to_string(&conf).unwrap();
    let cases = [
        (good.replace("mcc = \"5411\"", "mcc = \"5411\"\ncolour = \"red\""), "store.colour: unknown key"),
        (
            good.replace("rate = \"9\"", "rate = \"9%%\""),
            "tax_class[2].rate: not a tax rate in percent from 0 to 100: 9%%",
        ),
        (good.split("[[tax_class]]").next().unwrap().to_string(), "tax_class: at least one [[tax_class]] is needed"),
        (
            good.replace("# [terminal]\n# port = \"/dev/ttyUSB0\"", "[terminal]\nport = \"/dev/ttyUSB9\""),
            "terminal.port: /dev/ttyUSB9 does not exist",
        ),
    ];
    for (text_, expected) in cases {
        std::fs::write(&conf, &text_).unwrap();
        // The GUI itself refuses to start, before any window: exit 2 with every problem.
        let out = till(d, &["--lang", "en", "--config", conf_s]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(text(&out).contains(expected), "{expected:?} not in {}", text(&out));
        let check = till(d, &["--lang", "en", "--config", conf_s, "config", "check"]);
        assert_eq!(check.status.code(), Some(2));
    }
    std::fs::write(&conf, good.replace("rate = \"9\"", "rate = \"abc\"")).unwrap();
    let zh = till(d, &["--lang", "zh-CN", "--config", conf_s, "config", "check"]);
    assert!(text(&zh).contains("税率应为 0 到 100 的百分数：abc"), "{}", text(&zh));
}

#[test]
fn a_configured_till_needs_its_users_and_keeps_them_hashed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let conf = d.join("till.toml");
    let conf_s = conf.to_str().unwrap();
    assert!(till(d, &["--config", conf_s, "config", "init"]).status.success());
    // No users yet: the till says how to add the first one and does not start.
    let out = till(d, &["--lang", "en", "--config", conf_s]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("till users add"), "{}", text(&out));
    let add = |role: &str, pin: &str| {
        till_with(
            d,
            &["--lang", "en", "--config", conf_s, "users", "add", "li", "--name", "Li", "--role", role],
            &format!("{pin}\n"),
        )
    };
    let bad = add("boss", "1234");
    assert!(!bad.status.success() && text(&bad).contains("Unknown role boss"));
    let bad = add("manager", "246813");
    assert!(!bad.status.success() && text(&bad).contains("the first user added is the installer"), "{}", text(&bad));
    let bad = add("installer", "12");
    assert!(!bad.status.success() && text(&bad).contains("A PIN has"), "{}", text(&bad));
    let ok = add("installer", "246801");
    assert!(ok.status.success(), "{}", text(&ok));
    let list = till(d, &["--lang", "en", "--config", conf_s, "users", "list"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("li  Li  Installer"));
    let db = rusqlite::Connection::open(d.join("ledger.db")).unwrap();
    let hash: String = db.query_row("SELECT pin_hash FROM users WHERE id = 'li'", [], |r| r.get(0)).unwrap();
    assert!(hash.starts_with("$argon2id$") && !hash.contains("246801"));
    let journal: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM journal WHERE kind = 'user_saved' AND CAST(payload AS TEXT) NOT LIKE '%246801%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(journal, 1);
}

#[test]
fn the_installer_lists_the_serial_ports() {
    let dir = tempfile::tempdir().unwrap();
    let out = till(dir.path(), &["--lang", "en", "setup", "ports"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!out.stdout.is_empty());
}

/// An emulator process on a new pty: the process and the path it printed.
fn emulator(args: &[&str]) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_till"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut path = String::new();
    out.read_line(&mut path).unwrap();
    // Keep reading so the emulator never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    (child, path.trim().to_string())
}

#[test]
fn the_installer_tests_the_devices_and_writes_them_into_the_settings() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let conf = d.join("till.toml");
    let conf_s = conf.to_str().unwrap();
    let state = d.join("pt.state");
    let (mut pt, pt_path) = emulator(&["emulate", "terminal", "--pty", "--state", state.to_str().unwrap()]);
    let (mut printer, printer_path) = emulator(&["emulate", "printer", "--pty"]);
    let setup = |args: &[&str]| {
        let mut all = vec!["--lang", "en", "--config", conf_s, "setup"];
        all.extend_from_slice(args);
        till(d, &all)
    };
    let no_file = setup(&["printer", "--printer", &format!("serial:{printer_path}")]);
    assert!(!no_file.status.success() && text(&no_file).contains("run till config init first"), "{}", text(&no_file));
    assert!(till(d, &["--config", conf_s, "config", "init"]).status.success());
    // The terminal answers for another terminal id than the acquirer gave: refused, nothing written.
    let wrong = setup(&["terminal", "--port", &pt_path, "--expect-terminal-id", "99999999"]);
    assert!(!wrong.status.success(), "{}", text(&wrong));
    assert!(text(&wrong).contains("reports terminal id 52500038, but the acquirer gave 99999999"), "{}", text(&wrong));
    assert!(!std::fs::read_to_string(&conf).unwrap().contains("\n[terminal]"));
    let right = setup(&[
        "terminal",
        "--port",
        &pt_path,
        "--expect-terminal-id",
        "52500038",
        "--expect-merchant",
        "455600000012345",
    ]);
    assert!(right.status.success(), "{}", text(&right));
    let printed = setup(&["printer", "--printer", &format!("serial:{printer_path}:9600:8N1")]);
    assert!(printed.status.success(), "{}", text(&printed));
    let settings = till::config::settings::load(&conf).unwrap().unwrap();
    let terminal = settings.terminal.unwrap();
    assert_eq!(terminal.port.unwrap().to_str().unwrap(), pt_path);
    assert_eq!(terminal.terminal_id.as_deref(), Some("52500038"));
    assert_eq!(terminal.merchant_no.as_deref(), Some("455600000012345"));
    assert_eq!(settings.printer.unwrap(), format!("serial:{printer_path}:9600:8N1"));
    pt.kill().unwrap();
    printer.kill().unwrap();
    let _ = (pt.wait(), printer.wait());
}

#[test]
fn a_data_dir_alone_keeps_the_settings_file_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // An installer's rehearsal in its own folder: the machine's settings are not its settings.
    let out = till(d, &["--lang", "en", "config", "path"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(text(&out).trim(), d.join("till.toml").display().to_string());
    assert!(till(d, &["--lang", "en", "config", "init"]).status.success());
    assert!(d.join("till.toml").exists(), "written beside the ledger");
    // --config still wins.
    let conf = d.join("elsewhere.toml");
    let out = till(d, &["--lang", "en", "--config", conf.to_str().unwrap(), "config", "path"]);
    assert_eq!(text(&out).trim(), conf.display().to_string());
}
