//! A store's books: one ledger with every kind of entry, built once per test binary — a day of
//! cash and card sales through the ZVT emulator with a reversal, cash in and out, a drawer count,
//! the terminal's end-of-day and the Z; a second day of sales, print jobs, a parked sale, a sale in
//! progress holding a card payment, users and a restore. `tests/tamper.rs` attacks copies of it;
//! `tests/head_office.rs` ships it.
// Each test file is its own crate and uses some of these.
#![allow(dead_code)]

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::Utc;
use till::admin::NewUser;
use till::auth::{Approval, Permission, Role};
use till::config::{self, StoreSettings};
use till::ledger::{CashDirection, DrawerCountRecord, Ledger, PostContext};
use till::money::Money;
use till::simulate::{self, Rng};
use till::terminal::emulator::{Emulator, EmulatorConfig};
use till::terminal::line::{LineSpeed, SimulatedLine};
use till::terminal::zvt::session::Session;
use till::terminal::zvt::transport::{SerialTransport, Timers};
use till::terminal::{ExpectedIdentity, ZvtTerminal};

pub const INSTALLER_PIN: &str = "135790";
pub const MANAGER_PIN: &str = "246813";

pub fn approval(id: &str, pin: &str, permission: Permission, ledger: &mut Ledger) -> Approval {
    till::admin::approval_of(ledger, id, pin, permission).unwrap()
}

/// The store's ledger, built once per run; each test works on a copy.
pub fn template() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(build).path()
}

fn build() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreSettings::demo();
    let db = config::ledger_path(dir.path());
    let mut ledger = Ledger::open(&db, &store.register, store.currency).unwrap();
    let catalog = till::demo::load_catalog(&mut ledger, &store, true).unwrap();
    let new = |id: &str, role, pin: &str| NewUser {
        id: id.into(),
        name: id.to_uppercase(),
        role,
        pin: pin.into(),
        pin_again: pin.into(),
    };
    till::admin::first_installer(&mut ledger, &new("ins", Role::Installer, INSTALLER_PIN), "first setup").unwrap();
    let users = approval("ins", INSTALLER_PIN, Permission::Users, &mut ledger);
    till::admin::save_user(&mut ledger, &new("mgr", Role::Manager, MANAGER_PIN), false, &users).unwrap();
    till::admin::save_user(&mut ledger, &new("c1", Role::Cashier, "4321"), false, &users).unwrap();
    let manager = approval("mgr", MANAGER_PIN, Permission::Settlement, &mut ledger);

    // The PIN pad: the emulator on a simulated serial line.
    let timers = Timers {
        t2: Duration::from_secs(2),
        t3: Duration::from_secs(5),
        t4: Duration::from_secs(5),
        ..Timers::default()
    };
    let (ecr, pt, _line) = SimulatedLine::open(LineSpeed::ZVT).unwrap();
    let config = EmulatorConfig { card_delay: Duration::from_millis(5), ..EmulatorConfig::default() };
    let mut emulator =
        Emulator::new(SerialTransport::new(pt, timers), config, Some(dir.path().join("pt.state"))).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let emulator =
        std::thread::spawn(move || emulator.run(Duration::from_millis(20), &|| !flag.load(Ordering::SeqCst)));
    let mut terminal =
        ZvtTerminal::new(Session::new(SerialTransport::new(ecr, timers)), 123456, 156, ExpectedIdentity::default());

    let settings = store.sale_settings();
    let mut till_sells = Seller { catalog: &catalog, settings: settings.clone(), rng: Rng::new(16) };
    let mut sell = |ledger: &mut Ledger,
                    terminal: &mut dyn till::terminal::PaymentTerminal,
                    by_card: bool,
                    post: bool| { till_sells.sell(ledger, terminal, by_card, post) };
    // Day 1: 100 sales, every tenth by card; cash in and out, a count, the Z.
    for i in 0..100 {
        sell(&mut ledger, &mut terminal, i % 10 == 0, true);
    }
    let money = |s: &str| Money::parse(s, store.currency).unwrap();
    ledger.post_cash_movement(CashDirection::In, money("200"), "change", "MGR", Utc::now()).unwrap();
    ledger.post_cash_movement(CashDirection::Out, money("150"), "bank drop", "MGR", Utc::now()).unwrap();
    let expected = ledger.day_figures(1, 1, false).unwrap().expected_cash();
    let count = DrawerCountRecord {
        counted_minor: expected,
        expected_minor: expected,
        blind: false,
        note: String::new(),
        denominations: vec![(expected, 1)],
    };
    ledger.post_drawer_count(&count, Utc::now()).unwrap();
    till::dayclose::close_day(&mut ledger, &mut terminal, &manager, false, None, Utc::now()).unwrap();
    // Day 2: 100 more, print jobs, a parked cart, a sale in progress holding a card payment.
    for i in 0..100 {
        sell(&mut ledger, &mut terminal, i % 25 == 0, true);
    }
    let job = ledger.queue_print_job("receipt", Some(150), b"\x1b@receipt 150\n", Utc::now()).unwrap();
    ledger.record_print_result(job, "printed", "ok", Utc::now()).unwrap();
    sell(&mut ledger, &mut terminal, true, false);
    let mut parked = till::sale::Sale::new(settings);
    parked.add_product(&catalog.products()[0], rust_decimal::Decimal::ONE).unwrap();
    parked.park().unwrap();
    ledger.save_in_progress(None, "counter", &parked, Utc::now()).unwrap();
    stop.store(true, Ordering::SeqCst);
    drop(terminal);
    let _ = emulator.join();

    // A restore of a backup as new as the ledger: the restores table gets its row.
    let copy = dir.path().join("copy.db");
    ledger.backup_to(&copy).unwrap();
    drop(ledger);
    let installer = {
        let mut l = Ledger::open(&db, &store.register, store.currency).unwrap();
        approval("ins", INSTALLER_PIN, Permission::Settings, &mut l)
    };
    till::ledger::backup::restore(&copy, &db, &dir.path().join("backups"), &installer, false, (0, 0), Utc::now())
        .unwrap();
    std::fs::remove_file(&copy).unwrap();
    let _ = std::fs::remove_file(till::ledger::witness_path(&copy));
    let report = Ledger::open_read_only(&db).unwrap().verify().unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
    dir
}

/// Rings up random baskets as the counter does: a sale in progress saved first, paid in cash or
/// by card through the terminal, posted (or left in progress).
struct Seller<'a> {
    catalog: &'a till::catalog::Catalog,
    settings: till::sale::SaleSettings,
    rng: Rng,
}

impl Seller<'_> {
    fn sell(
        &mut self,
        ledger: &mut Ledger,
        terminal: &mut dyn till::terminal::PaymentTerminal,
        by_card: bool,
        post: bool,
    ) -> Option<i64> {
        let mut sale = simulate::random_basket(self.catalog, &self.settings, &mut self.rng).unwrap();
        let id = ledger.save_in_progress(None, "test", &sale, Utc::now()).unwrap();
        if by_card {
            assert!(simulate::pay_card(&mut sale, id, ledger, terminal).unwrap());
        } else {
            simulate::pay_cash(&mut sale, &mut self.rng).unwrap();
        }
        let ctx = PostContext { cashier: "c1".into(), training: false };
        post.then(|| ledger.post_in_progress(id, &mut sale, &ctx, Utc::now()).unwrap().receipt_no)
    }
}

/// A copy of the template's data directory (ledger and witness).
pub fn copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(template()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    dir
}

/// What an attacker does first: the append-only triggers go. Returns their SQL, to put them
/// back as they were when done.
pub fn drop_triggers(conn: &rusqlite::Connection) -> Vec<String> {
    let triggers: Vec<(String, String)> = conn
        .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (name, _) in &triggers {
        conn.execute_batch(&format!("DROP TRIGGER {name}")).unwrap();
    }
    triggers.into_iter().map(|(_, sql)| sql).collect()
}
