//! The head office against a real PostgreSQL (a throwaway cluster, `tests/pg`): tills as separate
//! processes ship their journals, the head office checks every chain, keeps its own tables, and
//! ships the catalog back. What it holds is compared with each till's SQLite ledger, not with
//! what the tills said they did.

mod books;
mod pg;
mod shell;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use pg::Cluster;
use shell::{in_english, text};

const INSTALLER_PIN: &str = "135790";

/// Adds `register` at the head office (its password written beside the till's data) and writes
/// the till's settings: the template's, naming the register and the head office. Returns the
/// password file.
fn join_head_office(cluster: &Cluster, dir: &Path, register: &str) -> PathBuf {
    let password = dir.join("head-office.password");
    let out = in_english(
        dir,
        &[
            "store",
            "add-register",
            register,
            "--url",
            &cluster.admin_url(),
            "--password-out",
            password.to_str().unwrap(),
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out));
    let settings = till::config::settings::template()
        .replace("register = \"R1\"", &format!("register = \"{register}\""))
        + &format!(
            "\n[head_office]\nurl = \"{}\"\npassword_file = \"{}\"\n",
            cluster.register_url(&till::store::role_name("1", register)),
            password.display()
        );
    std::fs::write(dir.join("till.toml"), settings).unwrap();
    password
}

/// A till in its own directory: settings naming its register and the head office.
struct Till {
    dir: tempfile::TempDir,
    register: String,
}

impl Till {
    fn new(cluster: &Cluster, register: &str) -> Till {
        let dir = tempfile::tempdir().unwrap();
        join_head_office(cluster, dir.path(), register);
        let added = in_english(
            dir.path(),
            &["users", "add", "ins", "--name", "Installer", "--role", "installer"],
            &format!("{INSTALLER_PIN}\n"),
        );
        assert!(added.status.success(), "{}", text(&added));
        let till = Till { dir, register: register.to_string() };
        // The day is opened at the till, with its float.
        let mut ledger = till.ledger();
        let now = chrono::Utc::now();
        ledger
            .open_day(
                till::money::Money::from_minor(50_000, till::money::Currency::CNY).unwrap(),
                now.date_naive(),
                now,
            )
            .unwrap();
        till
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn ledger_path(&self) -> PathBuf {
        self.path().join("ledger.db")
    }

    fn ledger(&self) -> till::ledger::Ledger {
        till::ledger::Ledger::open(&self.ledger_path(), &self.register, till::money::Currency::CNY).unwrap()
    }

    fn run(&self, args: &[&str], input: &str) -> std::process::Output {
        in_english(self.path(), args, input)
    }

    fn simulate(&self, sales: u32, seed: u64) {
        let out = self.run(
            &["simulate", "--sales", &sales.to_string(), "--seed", &seed.to_string(), "--by", "ins"],
            &format!("{INSTALLER_PIN}\n"),
        );
        assert!(out.status.success(), "{}", text(&out));
    }

    fn sync(&self) -> std::process::Output {
        self.run(&["store", "sync"], "")
    }

    /// The ledger's own figures: (entries, sales, Σ totals, Σ payments by kind).
    fn figures(&self) -> (i64, i64, i64, Vec<(String, i64)>) {
        let c = rusqlite::Connection::open(self.ledger_path()).unwrap();
        let entries = c.query_row("SELECT COUNT(*) FROM journal", [], |r| r.get(0)).unwrap();
        let (sales, total) = c
            .query_row("SELECT COUNT(*), COALESCE(SUM(total_minor), 0) FROM sales", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        let tenders = c
            .prepare("SELECT kind, SUM(amount_minor) FROM payments GROUP BY kind ORDER BY kind")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        (entries, sales, total, tenders)
    }
}

/// What the head office holds of a register: (entries, sales, Σ totals, Σ payments by kind).
fn held(client: &mut postgres::Client, register: &str) -> (i64, i64, i64, Vec<(String, i64)>) {
    let entries: i64 =
        client.query_one("SELECT count(*) FROM till.journal WHERE register = $1", &[&register]).unwrap().get(0);
    let row = client
        .query_one("SELECT count(*), coalesce(sum(total), 0)::bigint FROM till.sales WHERE register = $1", &[&register])
        .unwrap();
    let tenders = client
        .query(
            "SELECT kind, sum(amount)::bigint FROM till.payments WHERE register = $1 GROUP BY kind ORDER BY kind",
            &[&register],
        )
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    (entries, row.get(0), row.get(1), tenders)
}

fn init(cluster: &Cluster) {
    let out = in_english(Path::new("/nonexistent-till-dir"), &["store", "init", "--url", &cluster.admin_url()], "");
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn a_till_ships_its_journal_once_and_the_head_office_checks_it() {
    let cluster = Cluster::start();
    init(&cluster);
    let r1 = Till::new(&cluster, "R1");
    r1.simulate(30, 1);
    let synced = r1.sync();
    assert!(synced.status.success(), "{}", text(&synced));
    assert!(text(&synced).contains("up to date"), "{}", text(&synced));
    let mut admin = cluster.admin();
    assert_eq!(held(&mut admin, "R1"), r1.figures());
    // A second delivery changes nothing.
    let again = r1.sync();
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(held(&mut admin, "R1"), r1.figures());
    // The rows read out of the bytes are the ledger's rows: every line, to the cent.
    let lines: i64 = admin.query_one("SELECT sum(amount)::bigint FROM till.sale_lines", &[]).unwrap().get(0);
    let c = rusqlite::Connection::open(r1.ledger_path()).unwrap();
    let ours: i64 = c.query_row("SELECT SUM(amount_minor) FROM sale_lines", [], |r| r.get(0)).unwrap();
    assert_eq!(lines, ours);
    // The partitions are by business date, a month each, made ahead for a year; the day's sales
    // are all in this month's.
    let partitions: i64 = admin
        .query_one("SELECT count(*) FROM pg_inherits WHERE inhparent = 'till.sales'::regclass", &[])
        .unwrap()
        .get(0);
    assert_eq!(partitions, 13);
    let holding: Vec<String> = admin
        .query("SELECT DISTINCT tableoid::regclass::text FROM till.sales", &[])
        .unwrap()
        .into_iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(holding, vec![format!("till.sales_{}", chrono::Local::now().format("%Y%m"))]);
    // The head office's chain walk, and the till's own verify against the head office's head.
    let verify = in_english(r1.path(), &["store", "verify", "--url", &cluster.admin_url()], "");
    assert!(verify.status.success() && text(&verify).contains("R1:"), "{}", text(&verify));
    let local = r1.run(&["ledger", "verify"], "");
    assert!(local.status.success(), "{}", text(&local));
    assert!(text(&local).contains("Checked against the head office's head"), "{}", text(&local));
}

#[test]
fn a_registers_role_may_only_ship_its_own_journal() {
    let cluster = Cluster::start();
    init(&cluster);
    let r1 = Till::new(&cluster, "R1");
    let r2 = Till::new(&cluster, "R2");
    r1.simulate(5, 1);
    r2.simulate(5, 2);
    assert!(r1.sync().status.success());
    assert!(r2.sync().status.success());
    let password = std::fs::read_to_string(r1.path().join("head-office.password")).unwrap();
    let url = cluster.register_url(&till::store::role_name("1", "R1"));
    let mut r1_client = till::store::connect(&url, Some(&r1.path().join("head-office.password"))).unwrap();
    assert!(!password.is_empty());
    for sql in [
        "SELECT * FROM till.sales WHERE register = 'R2'",
        "SELECT * FROM till.journal",
        "SELECT * FROM till.registers",
        "UPDATE till.sales SET total = 0 WHERE register = 'R1'",
        "DELETE FROM till.journal WHERE register = 'R1'",
        "INSERT INTO till.journal(store, register, seq, kind, recorded_at, prev_hash, hash, canonical) \
         VALUES ('1', 'R2', 999, 'x', 't', '\\x00', '\\x00', '\\x00')",
        "UPDATE till.registers SET head_seq = 0",
        "TRUNCATE till.sales",
        "SELECT till.ensure_month('2030-01-01')",
        "CREATE TABLE till.mine (x int)",
        "CREATE TEMP TABLE mine (x int)",
    ] {
        let e = r1_client.batch_execute(sql).expect_err(sql);
        let code = e.code().map(|c| c.code().to_string()).unwrap_or_default();
        assert_eq!(code, "42501", "{sql}: {e}");
    }
    // Its own head only, and the ingest path is its own register's: R2's entries shipped with
    // R1's credentials are refused (and flag R1, whose till is not who it says).
    let head = till::store::ship::held_head(&mut r1_client).unwrap();
    assert_eq!(head.register, "R1");
    let theirs = r2.ledger().entries_after(0, 10).unwrap();
    let seqs: Vec<i64> = theirs.iter().map(|e| e.seq + head.seq).collect();
    let prevs: Vec<&[u8]> = theirs.iter().map(|e| e.prev_hash.as_slice()).collect();
    let hashes: Vec<&[u8]> = theirs.iter().map(|e| e.hash.as_slice()).collect();
    let bytes: Vec<&[u8]> = theirs.iter().map(|e| e.canonical.as_slice()).collect();
    let row = r1_client
        .query_one("SELECT status FROM till.ingest($1, $2, $3, $4)", &[&seqs, &prevs, &hashes, &bytes])
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "refused");
    let mut admin = cluster.admin();
    assert_eq!(held(&mut admin, "R2"), r2.figures(), "R2's rows are untouched");

    // The store's day, as figures: a register sees its own store's registers only, and a role of
    // the registers' group without a register sees nothing.
    let other =
        in_english(r1.path(), &["store", "add-register", "R1", "--store", "2", "--url", &cluster.admin_url()], "");
    assert!(other.status.success(), "{}", text(&other));
    let today = chrono::Local::now().date_naive();
    let mine = till::store::office::store_day(&mut r1_client, today, Some("2"), chrono::Duration::minutes(15)).unwrap();
    let seen: Vec<(String, String)> = mine.registers.iter().map(|r| (r.store.clone(), r.register.clone())).collect();
    assert_eq!(seen, vec![("1".to_string(), "R1".to_string()), ("1".to_string(), "R2".to_string())]);
    admin.batch_execute("CREATE ROLE ghost LOGIN PASSWORD 'ghost-password' IN ROLE till_register").unwrap();
    let ghost_url = cluster.register_url("ghost").replace("ghost@", "ghost:ghost-password@");
    let mut ghost = till::store::connect(&ghost_url, None).unwrap();
    let nothing = till::store::office::store_day(&mut ghost, today, None, chrono::Duration::minutes(15)).unwrap();
    assert!(nothing.registers.is_empty() && nothing.tenders.is_empty());
    let everyone = till::store::office::store_day(&mut admin, today, None, chrono::Duration::minutes(15)).unwrap();
    assert_eq!(everyone.registers.len(), 3, "the administrator sees the chain");
}

/// Rewrites who rang up the first sale in the ledger file and re-hashes the chain from it on, as
/// someone with the file and the till's code would: the chain holds together locally, but no
/// longer extends what the head office holds.
fn rehash(ledger: &Path) {
    let c = rusqlite::Connection::open(ledger).unwrap();
    books::drop_triggers(&c);
    let seq: i64 = c.query_row("SELECT seq FROM sales ORDER BY seq LIMIT 1", [], |r| r.get(0)).unwrap();
    c.execute("UPDATE sales SET cashier = 'someone else' WHERE seq = ?1", [seq]).unwrap();
    let view = till::ledger::Ledger::open_read_only(ledger).unwrap();
    let entries = view.entries_after(seq - 1, 1 << 30).unwrap();
    drop(view);
    let mut prev: Vec<u8> = c.query_row("SELECT prev_hash FROM journal WHERE seq = ?1", [seq], |r| r.get(0)).unwrap();
    for e in entries {
        let link: [u8; 32] = prev.as_slice().try_into().unwrap();
        let hash = till::ledger::records::chain_hash(&link, &e.canonical).to_vec();
        c.execute("UPDATE journal SET prev_hash = ?1, hash = ?2 WHERE seq = ?3", rusqlite::params![prev, hash, e.seq])
            .unwrap();
        prev = hash;
    }
    // The witness beside the ledger would name the new head: it is rewritten too.
    let _ = std::fs::remove_file(till::ledger::witness_path(ledger));
}

#[test]
fn a_till_rehashed_after_shipping_is_refused_and_flagged() {
    let cluster = Cluster::start();
    init(&cluster);
    let r1 = Till::new(&cluster, "R1");
    r1.simulate(10, 3);
    assert!(r1.sync().status.success());
    let mut admin = cluster.admin();
    let before = held(&mut admin, "R1");
    let backup = r1.path().join("as-shipped.db");
    let backed_up = r1.run(&["backup", backup.to_str().unwrap()], "");
    assert!(backed_up.status.success(), "{}", text(&backed_up));
    rehash(&r1.ledger_path());
    let refused = r1.sync();
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(text(&refused).contains("rewritten"), "{}", text(&refused));
    let flag: Option<String> =
        admin.query_one("SELECT flag_reason FROM till.registers WHERE register = 'R1'", &[]).unwrap().get(0);
    assert!(flag.is_some_and(|f| f.contains("rewritten")));
    assert_eq!(held(&mut admin, "R1"), before, "nothing of the rewritten ledger was taken");
    // Flagged, it is refused from then on, new entries or not; the head office's walk names it.
    r1.simulate(2, 4);
    let still = r1.sync();
    assert!(!still.status.success() && text(&still).contains("flagged"), "{}", text(&still));
    let verify = in_english(r1.path(), &["store", "verify", "--url", &cluster.admin_url()], "");
    assert!(!verify.status.success() && text(&verify).contains("flagged"), "{}", text(&verify));
    // And the till's own verify, against the head office's head, names the rewrite.
    let local = r1.run(&["ledger", "verify"], "");
    assert!(!local.status.success(), "{}", text(&local));

    // The administrator clears the flag, saying why; while the ledger is still the rewritten one,
    // its next shipment flags it again.
    let unflag = |note: &str| {
        in_english(r1.path(), &["store", "unflag", "R1", "--url", &cluster.admin_url(), "--note", note], "")
    };
    let no_note = unflag("  ");
    assert!(!no_note.status.success() && text(&no_note).contains("--note"), "{}", text(&no_note));
    let cleared = unflag("asked the shop about it");
    assert!(cleared.status.success() && text(&cleared).contains("may ship again"), "{}", text(&cleared));
    let again = r1.sync();
    assert!(!again.status.success() && text(&again).contains("rewritten"), "{}", text(&again));
    assert_eq!(held(&mut admin, "R1"), before);

    // The backup taken when it had shipped is restored: the till is back on the chain held.
    let restored =
        r1.run(&["restore", backup.to_str().unwrap(), "--by", "ins", "--older"], &format!("{INSTALLER_PIN}\n"));
    assert!(restored.status.success() && text(&restored).contains("does not verify"), "{}", text(&restored));
    assert!(!text(&restored).contains("cannot ship"), "the backup holds the chain held: {}", text(&restored));
    // A head office whose own copy of the chain is damaged keeps the flag.
    let damage = "UPDATE till.journal SET canonical = canonical || '\\x20'::bytea WHERE register = 'R1' AND seq = 3";
    assert_eq!(admin.execute(damage, &[]).unwrap(), 1);
    let kept = unflag("restored the backup taken after shipping");
    assert!(!kept.status.success() && text(&kept).contains("entry 3"), "{}", text(&kept));
    let repair = "UPDATE till.journal SET canonical = substring(canonical FROM 1 FOR length(canonical) - 1)
                   WHERE register = 'R1' AND seq = 3";
    assert_eq!(admin.execute(repair, &[]).unwrap(), 1);
    // So does one whose head is not its chain's last entry.
    let entries = held(&mut admin, "R1").0;
    let bump = "UPDATE till.registers SET head_seq = head_seq + 1 WHERE register = 'R1'";
    assert_eq!(admin.execute(bump, &[]).unwrap(), 1);
    let kept = unflag("restored the backup taken after shipping");
    let missing = format!("entry {}", entries + 1);
    assert!(!kept.status.success() && text(&kept).contains(&missing), "{}", text(&kept));
    let verify = in_english(r1.path(), &["store", "verify", "--url", &cluster.admin_url()], "");
    assert!(!verify.status.success() && text(&verify).contains(&missing), "{}", text(&verify));
    let unbump = "UPDATE till.registers SET head_seq = head_seq - 1 WHERE register = 'R1'";
    assert_eq!(admin.execute(unbump, &[]).unwrap(), 1);
    let head_hash: Vec<u8> =
        admin.query_one("SELECT head_hash FROM till.registers WHERE register = 'R1'", &[]).unwrap().get(0);
    let other = "UPDATE till.registers SET head_hash = sha256('another') WHERE register = 'R1'";
    assert_eq!(admin.execute(other, &[]).unwrap(), 1);
    let kept = unflag("restored the backup taken after shipping");
    let last = format!("entry {entries}");
    assert!(!kept.status.success() && text(&kept).contains(&last), "{}", text(&kept));
    let put_back = "UPDATE till.registers SET head_hash = $1 WHERE register = 'R1'";
    assert_eq!(admin.execute(put_back, &[&head_hash]).unwrap(), 1);
    let cleared = unflag("restored the backup taken after shipping");
    assert!(cleared.status.success(), "{}", text(&cleared));
    // It ships on: what it sells from now on arrives, and the head office holds its ledger.
    let resumed = r1.sync();
    assert!(resumed.status.success(), "{}", text(&resumed));
    r1.simulate(3, 5);
    let resumed = r1.sync();
    assert!(resumed.status.success(), "{}", text(&resumed));
    assert_eq!(held(&mut admin, "R1"), r1.figures());
    let verify = in_english(r1.path(), &["store", "verify", "--url", &cluster.admin_url()], "");
    assert!(verify.status.success() && text(&verify).contains("chain sound"), "{}", text(&verify));
    // Each clearing is kept, with its flag and its note; one not flagged is not cleared.
    let kept: Vec<(String, String)> = admin
        .query("SELECT flag_reason, note FROM till.flag_clearances WHERE register = 'R1' ORDER BY cleared_at", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(kept.iter().all(|(flag, _)| flag.contains("rewritten")), "{kept:?}");
    assert_eq!(kept[1].1, "restored the backup taken after shipping");
    let not_flagged = unflag("again");
    assert!(!not_flagged.status.success() && text(&not_flagged).contains("not flagged"), "{}", text(&not_flagged));
}

#[test]
fn a_backup_short_of_what_the_head_office_holds_is_restored_only_when_told() {
    let cluster = Cluster::start();
    init(&cluster);
    let r1 = Till::new(&cluster, "R1");
    r1.simulate(5, 6);
    let backup = r1.path().join("yesterday.db");
    let b = backup.to_str().unwrap();
    assert!(r1.run(&["backup", b], "").status.success());
    r1.simulate(5, 7);
    assert!(r1.sync().status.success());
    let held_entries = held(&mut cluster.admin(), "R1").0;
    // The till's disk dies: its ledger is gone, and only the head office knows what the backup
    // lacks.
    let ledger = r1.ledger_path();
    for gone in [ledger.clone(), ledger.with_extension("db-wal"), ledger.with_extension("db-shm")] {
        let _ = std::fs::remove_file(gone);
    }
    let _ = std::fs::remove_file(till::ledger::witness_path(&ledger));
    let pin = format!("{INSTALLER_PIN}\n");
    let refused = r1.run(&["restore", b, "--by", "ins"], &pin);
    let said = text(&refused);
    assert!(!refused.status.success() && said.contains(&format!("up to {held_entries}")), "{said}");
    assert!(said.contains("--older") && !ledger.exists(), "{said}");
    let restored = r1.run(&["restore", b, "--by", "ins", "--older"], &pin);
    let said = text(&restored);
    assert!(restored.status.success() && said.contains("cannot ship to the head office again"), "{said}");
    // Numbering goes on above what the head office holds: the receipts printed after the backup
    // are never printed again.
    let mut admin = cluster.admin();
    let highest: i64 =
        admin.query_one("SELECT max(receipt_no)::bigint FROM till.sales WHERE register = 'R1'", &[]).unwrap().get(0);
    let floor: i64 = rusqlite::Connection::open(&ledger)
        .unwrap()
        .query_row("SELECT receipt_floor FROM restores", [], |r| r.get(0))
        .unwrap();
    assert!(highest > 5 && floor == highest, "head office {highest}, floor {floor}");
    // As said: the register's shipments are refused, the head office keeps what it had.
    let sync = r1.sync();
    assert!(!sync.status.success() && text(&sync).contains("older backup restored"), "{}", text(&sync));
    assert_eq!(held(&mut cluster.admin(), "R1").0, held_entries);
}

#[test]
fn the_connection_is_tls_verified_and_the_password_file_private() {
    let cluster = Cluster::start();
    init(&cluster);
    // Without TLS the server refuses; with another authority the till refuses the server.
    let plain = cluster.admin_url().replace("sslmode=verify-full", "sslmode=disable");
    assert!(matches!(till::store::connect(&plain, None), Err(till::store::StoreError::NotTls)));
    let other = tempfile::tempdir().unwrap();
    let wrong_ca = other.path().join("ca.pem");
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
        .args(["-keyout", "k.pem", "-out", "ca.pem", "-days", "1", "-subj", "/CN=someone else"])
        .current_dir(other.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success());
    let url = cluster.admin_url().replace(cluster.ca().to_str().unwrap(), wrong_ca.to_str().unwrap());
    assert!(matches!(till::store::connect(&url, None), Err(till::store::StoreError::Unreachable(_))));
    // The name is checked too: the certificate is for 127.0.0.1 and localhost only.
    let r1 = Till::new(&cluster, "R1");
    let file = r1.path().join("head-office.password");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let open = r1.sync();
    assert!(!open.status.success() && text(&open).contains("can be read by others"), "{}", text(&open));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(r1.sync().status.success());
    // The wizard's connection test, in words: who the head office takes this till for, or why not.
    let url = cluster.register_url(&till::store::role_name("1", "R1"));
    let said = till::setup::test_head_office(&url, file.to_str().unwrap(), "R1", "en").unwrap();
    assert!(said.contains("register R1 of store 1"), "{said}");
    let wrong = till::setup::test_head_office(&url, file.to_str().unwrap(), "R9", "en").unwrap_err();
    assert!(wrong.contains("register R1's, but this till is register R9"), "{wrong}");
    let nobody = till::setup::test_head_office(&url.replace(&cluster.port.to_string(), "1"), "", "R1", "en");
    assert!(nobody.unwrap_err().starts_with("The head office cannot be reached"));
}

/// `till store sync` for a till, as its own process.
fn spawn_sync(till: &Till, fault: Option<&str>) -> std::process::Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_till"));
    cmd.args(["--lang", "en", "store", "sync", "--data-dir"]).arg(till.path());
    if let Some(point) = fault {
        cmd.env("TILL_FAULT", point);
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

fn spawn_simulate(till: &Till, sales: u32, seed: u64) -> std::process::Child {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_till"))
        .args(["--lang", "en", "simulate", "--sales", &sales.to_string(), "--seed", &seed.to_string(), "--by", "ins"])
        .arg("--data-dir")
        .arg(till.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{INSTALLER_PIN}\n").as_bytes()).unwrap();
    child
}

/// The demo catalog with every price doubled, and the new prices in minor units by SKU.
fn doubled_catalog() -> (String, std::collections::HashMap<String, i64>) {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo-catalog.csv")).unwrap();
    let mut out = String::new();
    let mut prices = std::collections::HashMap::new();
    for (i, line) in text.lines().enumerate() {
        if i == 0 {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
        let price: rust_decimal::Decimal = cells[4].parse().unwrap();
        let doubled = price * rust_decimal::Decimal::from(2);
        cells[4] = format!("{doubled:.2}");
        prices.insert(cells[0].clone(), (doubled * rust_decimal::Decimal::from(100)).try_into().unwrap());
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    (out, prices)
}

#[test]
fn three_tills_sell_and_ship_through_an_outage_and_a_kill() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let cluster = Cluster::start();
    init(&cluster);
    let tills: Vec<Arc<Till>> = ["R1", "R2", "R3"].iter().map(|r| Arc::new(Till::new(&cluster, r))).collect();

    // Three tills sell at once, each shipping every 100 ms, while the head office stops and starts.
    let selling = Arc::new(AtomicBool::new(true));
    let shippers: Vec<_> = tills
        .iter()
        .map(|t| {
            let (t, selling) = (t.clone(), selling.clone());
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                while selling.load(Ordering::SeqCst) {
                    let out = t.sync();
                    if !out.status.success() {
                        failures.push(text(&out));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                failures
            })
        })
        .collect();
    let mut sellers: Vec<_> = tills.iter().enumerate().map(|(i, t)| spawn_simulate(t, 300, 10 + i as u64)).collect();
    std::thread::sleep(std::time::Duration::from_millis(700));
    // The head office goes down while all three are still selling.
    assert!(sellers.iter_mut().all(|s| s.try_wait().unwrap().is_none()), "the tills finished before the outage");
    cluster.stop();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    cluster.start_again();
    for s in sellers {
        let out = s.wait_with_output().unwrap();
        assert!(out.status.success(), "the tills sell with the head office down: {}", text(&out));
    }
    selling.store(false, Ordering::SeqCst);
    let failures: Vec<String> = shippers.into_iter().flat_map(|h| h.join().unwrap()).collect();
    assert!(
        failures.iter().any(|f| f.contains("cannot be reached")),
        "the outage was seen by the shippers: {failures:?}"
    );
    assert!(failures.iter().all(|f| f.contains("cannot be reached")), "{failures:?}");

    // A week offline on R1, then its shipper killed while a batch is in flight at the head office.
    tills[0].simulate(800, 20);
    let mut admin = cluster.admin();
    let role = till::store::role_name("1", "R1");
    let mut child = spawn_sync(&tills[0], None);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let in_flight: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND state = 'active' AND query LIKE '%ingest%'",
                &[&role],
            )
            .unwrap()
            .get(0);
        if in_flight > 0 {
            child.kill().unwrap();
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no shipment was seen in flight");
        assert!(child.try_wait().unwrap().is_none(), "the shipper finished before it could be killed");
    }
    let _ = child.wait();
    let head: i64 = admin.query_one("SELECT head_seq FROM till.registers WHERE register = 'R1'", &[]).unwrap().get(0);
    assert!(head < tills[0].figures().0, "the kill left entries to ship");
    // Killed after the head office committed a batch, before the till noted it.
    let killed = spawn_sync(&tills[0], Some("ship_after_ingest")).wait_with_output().unwrap();
    assert!(!killed.status.success());

    for t in &tills {
        let out = t.sync();
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(held(&mut admin, &t.register), t.figures(), "register {}", t.register);
    }
    // Every register's entries at the head office are 1..=head without a gap (the ledger's own
    // count was compared above), and its head is the ledger's.
    for row in admin
        .query(
            "SELECT register, count(*), min(seq), max(seq) FROM till.journal GROUP BY register ORDER BY register",
            &[],
        )
        .unwrap()
    {
        let (count, min, max): (i64, i64, i64) = (row.get(1), row.get(2), row.get(3));
        assert_eq!((min, max), (1, count), "register {}", row.get::<_, String>(0));
    }
    let verify = in_english(tills[0].path(), &["store", "verify", "--url", &cluster.admin_url()], "");
    assert!(verify.status.success(), "{}", text(&verify));
    assert_eq!(text(&verify).matches("chain sound").count(), 3, "{}", text(&verify));

    // A catalog version published at the head office is sold at its prices by all three.
    let (csv, prices) = doubled_catalog();
    let file = tills[0].path().join("new-prices.csv");
    std::fs::write(&file, csv).unwrap();
    let published =
        tills[0].run(&["store", "publish-catalog", file.to_str().unwrap(), "--url", &cluster.admin_url()], "");
    assert!(published.status.success(), "{}", text(&published));
    for (i, t) in tills.iter().enumerate() {
        let out = t.sync();
        assert!(text(&out).contains("Catalog version 1 of the head office applied"), "{}", text(&out));
        let applied: i64 = rusqlite::Connection::open(t.ledger_path())
            .unwrap()
            .query_row("SELECT MAX(seq) FROM journal WHERE kind = 'catalog_import'", [], |r| r.get(0))
            .unwrap();
        t.simulate(20, 40 + i as u64);
        assert!(t.sync().status.success());
        let lines = admin
            .query(
                "SELECT sku, unit_price, price_overridden FROM till.sale_lines WHERE register = $1 AND seq > $2",
                &[&t.register, &applied],
            )
            .unwrap();
        assert!(lines.len() >= 20);
        for l in lines {
            let sku: String = l.get(0);
            assert!(!l.get::<_, bool>(2));
            assert_eq!(l.get::<_, i64>(1), prices[&sku], "{sku} on {}", t.register);
        }
        assert_eq!(held(&mut admin, &t.register), t.figures());
    }
}

#[test]
fn the_stores_users_are_published_once_and_every_till_takes_them() {
    let cluster = Cluster::start();
    init(&cluster);
    let r1 = Till::new(&cluster, "R1");
    let r2 = Till::new(&cluster, "R2");
    let add = ["users", "add", "li", "--name", "Li 李", "--role", "manager", "--by", "ins"];
    let added = r1.run(&add, &format!("{INSTALLER_PIN}\n864213\n"));
    assert!(added.status.success(), "{}", text(&added));
    let published = r1.run(&["store", "publish-users", "--url", &cluster.admin_url()], "");
    assert!(published.status.success(), "{}", text(&published));
    // The version carries hashes, never a PIN.
    let mut admin = cluster.admin();
    let body: String = admin.query_one("SELECT body FROM till.versions WHERE kind = 'users'", &[]).unwrap().get(0);
    assert!(body.contains("$argon2id$") && !body.contains("864213"), "{body}");
    let synced = r2.sync();
    assert!(text(&synced).contains("Users version 1 of the head office applied"), "{}", text(&synced));
    let li = r2.ledger().users().unwrap().into_iter().find(|u| u.id == "li").expect("li reached R2");
    assert_eq!(li.role, till::auth::Role::Manager);
    assert!(till::auth::approve(&li, "864213", till::auth::Permission::Settlement).is_ok());
    // Applied once: a second sync takes nothing again; and R2's ledger verifies with them.
    let again = r2.sync();
    assert!(again.status.success() && !text(&again).contains("Users version"), "{}", text(&again));
    let verify = r2.run(&["ledger", "verify"], "");
    assert!(verify.status.success(), "{}", text(&verify));
    // A version that is not users is refused whole, and changes nothing.
    admin
        .execute(
            "INSERT INTO till.versions(kind, body, sha256) VALUES ('users', 'x\ty', encode(sha256('x\ty'), 'hex'))",
            &[],
        )
        .unwrap();
    let refused = r2.sync();
    assert!(!refused.status.success() && text(&refused).contains("version 2"), "{}", text(&refused));
    assert_eq!(r2.ledger().users().unwrap().len(), 2);
    // Li leaves the store: the next version no longer lists them. R2 removes the user the head
    // office brought, and keeps its own installer.
    let ins = r1.ledger().users().unwrap().into_iter().filter(|u| u.id == "ins").collect::<Vec<_>>();
    till::store::office::publish_users(&mut admin, None, &ins).unwrap();
    let synced = r2.sync();
    assert!(text(&synced).contains("Users version 3 of the head office applied"), "{}", text(&synced));
    let ids: Vec<String> = r2.ledger().users().unwrap().into_iter().map(|u| u.id).collect();
    assert_eq!(ids, vec!["ins".to_string()]);
    let verify = r2.run(&["ledger", "verify"], "");
    assert!(verify.status.success(), "{}", text(&verify));
}

#[test]
fn a_stores_books_arrive_whole_and_the_stores_day_adds_them_up() {
    let cluster = Cluster::start();
    init(&cluster);
    // The books of a store (tests/books): card sales through the emulator, a reversal, cash in
    // and out, a drawer count, the terminal's end-of-day and a Z, a second day, a restore.
    let dir = books::copy();
    let password = join_head_office(&cluster, dir.path(), "R1");
    let url = cluster.admin_url();
    let synced = in_english(dir.path(), &["store", "sync"], "");
    assert!(synced.status.success(), "{}", text(&synced));

    // Row for row, what the ledger holds.
    let ledger = rusqlite::Connection::open(dir.path().join("ledger.db")).unwrap();
    let mut admin = cluster.admin();
    let ours = |sql: &str| -> Vec<Vec<i64>> {
        let mut stmt = ledger.prepare(sql).unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| (0..n).map(|i| r.get::<_, i64>(i)).collect()).unwrap().map(Result::unwrap).collect()
    };
    let theirs = |admin: &mut postgres::Client, sql: &str| -> Vec<Vec<i64>> {
        admin.query(sql, &[]).unwrap().into_iter().map(|r| (0..r.len()).map(|i| r.get::<_, i64>(i)).collect()).collect()
    };
    for (mine, head_office) in [
        (
            "SELECT seq, receipt_no, total_minor, tax_minor, training FROM sales ORDER BY seq",
            "SELECT seq, receipt_no, total, tax, training::int::bigint FROM till.sales ORDER BY seq",
        ),
        (
            "SELECT seq, line_no, qty_milli, unit_price_minor, amount_minor, tax_minor FROM sale_lines ORDER BY seq, line_no",
            "SELECT seq, line_no, qty_milli, unit_price, amount, tax FROM till.sale_lines ORDER BY seq, line_no",
        ),
        (
            "SELECT seq, tender_no, amount_minor, COALESCE(card_receipt, -1) FROM payments ORDER BY seq, tender_no",
            "SELECT seq, tender_no, amount, coalesce(card_receipt, -1) FROM till.payments ORDER BY seq, tender_no",
        ),
        (
            "SELECT seq, intent_id FROM card_results ORDER BY seq",
            "SELECT seq, intent FROM till.card_results ORDER BY seq",
        ),
        (
            "SELECT seq, counted_minor, expected_minor FROM drawer_counts ORDER BY seq",
            "SELECT seq, counted, expected FROM till.drawer_counts ORDER BY seq",
        ),
        (
            "SELECT seq, amount_minor FROM cash_movements ORDER BY seq",
            "SELECT seq, amount FROM till.cash_movements ORDER BY seq",
        ),
        (
            "SELECT seq, z_no, net_minor, grand_total_minor FROM day_closes ORDER BY seq",
            "SELECT seq, z_no, net, grand_total FROM till.day_closes ORDER BY seq",
        ),
    ] {
        let (a, b) = (ours(mine), theirs(&mut admin, head_office));
        assert!(!a.is_empty(), "{mine}");
        assert_eq!(a, b, "{head_office}");
    }
    // Across the parts: the terminal's own end-of-day total, as the head office read it from the
    // shipped bytes, is the day's card sales in the ledger.
    let day1_cards = ours(
        "SELECT COALESCE(SUM(p.amount_minor), 0) FROM payments p JOIN sales s ON s.seq = p.seq \
         WHERE s.day_no = 1 AND p.kind = 'card'",
    );
    let eod = theirs(&mut admin, "SELECT total FROM till.terminal_eods WHERE day_no = 1");
    assert_eq!(eod, day1_cards);
    assert!(day1_cards[0][0] > 0);

    // The store's day, from the shell and as the register's role sees it (the manager's screen).
    let date: chrono::NaiveDate =
        admin.query_one("SELECT business_date FROM till.business_days WHERE day_no = 1", &[]).unwrap().get(0);
    let csv = dir.path().join("day.csv");
    let pdf = dir.path().join("day.pdf");
    let report = in_english(
        dir.path(),
        &[
            "store",
            "report",
            "--day",
            &date.to_string(),
            "--url",
            &url,
            "--csv",
            csv.to_str().unwrap(),
            "--pdf",
            pdf.to_str().unwrap(),
        ],
        "",
    );
    let words = text(&report);
    assert!(report.status.success(), "{words}");
    assert!(words.contains("Z 1, net"), "{words}");
    assert!(words.contains("agrees:"), "{words}");
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF"));
    assert!(std::fs::read_to_string(&csv).unwrap().contains("registers,R1,"));
    let mut register =
        till::store::connect(&cluster.register_url(&till::store::role_name("1", "R1")), Some(&password)).unwrap();
    let day = till::store::office::store_day(&mut register, date, None, chrono::Duration::minutes(15)).unwrap();
    assert_eq!(day.registers.len(), 1);
    assert_eq!(day.registers[0].z.map(|z| z.0), Some(1));
    // The terminal's end-of-day covered day 1; day 2 is still open with card sales of its own.
    assert_eq!(day.registers[0].card_terminal, Some(day.registers[0].card_closed));
    assert!(day.registers[0].card_ledger > day.registers[0].card_closed);
    assert!(words.contains("13%"), "{words}");
    assert_eq!(day.registers[0].drawer_difference, Some(0));
    let net: i64 = day.tenders.iter().map(|t| t.2).sum();
    assert_eq!(net, day.registers[0].net);
}

#[test]
fn the_stores_settings_are_published_and_each_till_keeps_its_register() {
    let cluster = Cluster::start();
    init(&cluster);
    let r2 = Till::new(&cluster, "R2");
    // This counter's own printer and language.
    let own = std::fs::read_to_string(r2.path().join("till.toml"))
        .unwrap()
        .replace("printer_model = \"generic-80\"", "printer_model = \"epson-tm-t88\"")
        .replace("screen_locale = \"zh-CN\"", "screen_locale = \"en\"");
    std::fs::write(r2.path().join("till.toml"), own).unwrap();
    let url = cluster.admin_url();
    let file = r2.path().join("store.toml");
    // A register's id is each till's own: a version naming one is refused before it is published.
    std::fs::write(&file, "[store]\nname = \"Chain 连锁\"\nregister = \"R9\"\ncurrency = \"CNY\"\n").unwrap();
    let refused = r2.run(&["store", "publish-settings", file.to_str().unwrap(), "--url", &url], "");
    assert!(!refused.status.success() && text(&refused).contains("store.register"), "{}", text(&refused));
    let store = "[store]\nname = \"Chain Store 连锁店\"\ncurrency = \"CNY\"\nprices_include_tax = true\n\
                 receipt_footer = [\"Thank you 谢谢\"]\n\n[[tax_class]]\ncode = \"A\"\nrate = \"13\"\n\n\
                 [[tax_class]]\ncode = \"B\"\nrate = \"9\"\n\n[[tax_class]]\ncode = \"C\"\nrate = \"6\"\n\n\
                 [[tax_class]]\ncode = \"Z\"\nrate = \"0\"\n\n[[tax_class]]\ncode = \"D\"\nrate = \"5\"\n";
    std::fs::write(&file, store).unwrap();
    let published = r2.run(&["store", "publish-settings", file.to_str().unwrap(), "--url", &url], "");
    assert!(published.status.success(), "{}", text(&published));
    let synced = r2.sync();
    assert!(text(&synced).contains("Store settings version 1 of the head office applied"), "{}", text(&synced));
    let settings = till::config::settings::load(&r2.path().join("till.toml")).unwrap().unwrap();
    assert_eq!(settings.store.store_name, "Chain Store 连锁店");
    // What the version does not set stays this till's own (its printer, its screen's language).
    assert_eq!(settings.store.printer_model.id, "epson-tm-t88");
    assert_eq!(settings.store.screen_locale, "en");
    assert_eq!(settings.store.register, "R2");
    assert_eq!(settings.store.tax_classes.len(), 5);
    assert!(settings.head_office.is_some(), "the rest of the file is as it was");
    // Journaled with its number; taken once; the ledger verifies.
    let again = r2.sync();
    assert!(again.status.success() && !text(&again).contains("Store settings"), "{}", text(&again));
    let verify = r2.run(&["ledger", "verify"], "");
    assert!(verify.status.success(), "{}", text(&verify));
}
