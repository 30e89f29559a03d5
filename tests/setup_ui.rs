//! The installer's wizard, driven headless with iced_test: a fresh till (training mode, no
//! settings file) is set up against the ZVT terminal emulator and the ESC/POS printer emulator,
//! each serving one end of a pseudo-terminal pair whose other end's path the installer types in,
//! as they would type `/dev/ttyUSB0`. Device tests that fail say why; a wrong answer on a page
//! keeps the installer there with the key and what is wrong; Finish writes the settings file and
//! the first installer, and the till goes on with the store's own devices without a restart.
//! Later, only an installer's PIN opens the wizard, and a change takes effect at once.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use iced::widget::Id;
use serialport::{SerialPort, TTYPort};
use till::auth::demo_users;
use till::config::StoreSettings;
use till::counter::Counter;
use till::ledger::Ledger;
use till::printer::emulator::{Decoder, Paper, PaperControl, serve};
use till::terminal::emulator::{Emulator, EmulatorConfig};
use till::terminal::zvt::transport::{SerialTransport, Timers};
use till::ui::wizard::{Field, Language, Msg, Page};
use till::ui::{APPROVAL_PIN_FIELD, Devices, Message, Notice, PIN_FIELD, Place, Screen, TerminalState, Till};

fn timers() -> Timers {
    Timers { t2: Duration::from_millis(300), t3: Duration::from_secs(2), ..Timers::default() }
}

/// An emulator serving the master end of a pty pair; the till opens the other end by its path.
struct Line {
    path: String,
    _far_end: TTYPort,
    running: Arc<AtomicBool>,
}

impl Drop for Line {
    fn drop(&mut self) {
        self.running.store(false, Ordering::SeqCst);
    }
}

fn terminal_on_pty() -> Line {
    let (master, slave) = TTYPort::pair().unwrap();
    let path = slave.name().unwrap();
    let running = Arc::new(AtomicBool::new(true));
    let flag = running.clone();
    let config = EmulatorConfig { card_delay: Duration::from_millis(50), ..EmulatorConfig::default() };
    let mut emulator = Emulator::new(SerialTransport::new(master, timers()), config, None).unwrap();
    std::thread::spawn(move || {
        let _ = emulator.run(Duration::from_millis(50), &|| flag.load(Ordering::SeqCst));
    });
    Line { path, _far_end: slave, running }
}

fn printer_on_pty() -> (Line, Sender<PaperControl>, Arc<Mutex<Vec<String>>>) {
    let (mut master, slave) = TTYPort::pair().unwrap();
    let path = slave.name().unwrap();
    let running = Arc::new(AtomicBool::new(true));
    let flag = running.clone();
    let (paper, controls) = std::sync::mpsc::channel();
    let printed = Arc::new(Mutex::new(Vec::new()));
    let log = printed.clone();
    std::thread::spawn(move || {
        let mut decoder = Decoder::new(till::printer::profile::Profile::generic(80));
        let _ = serve(&mut master, &mut decoder, &controls, &|| flag.load(Ordering::SeqCst), &mut |r| {
            log.lock().unwrap().push(r.text.to_string())
        });
    });
    (Line { path, _far_end: slave, running }, paper, printed)
}

struct Installer {
    till: Till,
    dir: tempfile::TempDir,
}

mod common;
use common::view;

use common::Driver;

impl Driver for Installer {
    fn till(&self) -> &Till {
        &self.till
    }

    fn till_mut(&mut self) -> &mut Till {
        &mut self.till
    }
}

impl Installer {
    /// A till as it first opens: no settings file, training mode with its demo users.
    fn fresh() -> Installer {
        let dir = tempfile::tempdir().unwrap();
        let store = StoreSettings::demo();
        let data = dir.path().join("data");
        let devices =
            Devices::training_with(&data.join("training"), &store, EmulatorConfig::default(), timers()).unwrap();
        let counter = Counter::new(store, devices.catalog.clone());
        let place = Place { config_path: dir.path().join("till.toml"), data_dir: data };
        let till = Till::new("en", true, counter, demo_users(), devices).with_place(place, None, timers());
        let mut me = Installer { till, dir };
        let jobs = me.till.start();
        me.drain(jobs);
        me
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("till.toml")
    }

    /// Types into a field key by key, after clearing it (as select-all and delete would).
    fn fill(&mut self, field: Field, text: &str) {
        self.send(Message::Wizard(Msg::Edit(field, String::new())));
        self.type_into(field.id(), text);
    }

    fn page(&self) -> Page {
        self.till.wizard().expect("the wizard is open").page
    }

    fn problems(&self) -> Vec<String> {
        self.till.wizard().map(|w| w.problems.iter().map(|p| p.text.clone()).collect()).unwrap_or_default()
    }

    /// The messages shown beside one field.
    fn problems_of(&self, field: Field) -> Vec<String> {
        let problems = self.till.wizard().map(|w| w.problems.clone()).unwrap_or_default();
        problems.into_iter().filter(|p| p.field == Some(field)).map(|p| p.text).collect()
    }

    /// Walks every page with good answers and finishes; returns the emulators' lines.
    fn set_up(&mut self) -> (Line, Line, Sender<PaperControl>, Arc<Mutex<Vec<String>>>) {
        let terminal = terminal_on_pty();
        let (printer, paper, printed) = printer_on_pty();
        self.click("Set up this till");
        self.fill(Field::Name, "Corner Shop 街角店");
        self.fill(Field::MerchantNo, "455600000012345");
        self.click("Next");
        self.click("Next");
        self.pick_screen_language_english();
        self.fill(Field::Footer, "Thank you");
        self.click("Next");
        self.fill(Field::TerminalPort, &terminal.path);
        self.click("Test: registration");
        self.fill(Field::TerminalId, "52500038");
        self.click("Next");
        self.fill(Field::PrinterPort, &printer.path);
        self.click("Next");
        // No head office: the till works alone.
        self.click("Next");
        self.fill(Field::UserName, "Zhao Installer");
        self.fill(Field::UserId, "zhao");
        self.fill(Field::Pin, "246813");
        self.fill(Field::PinAgain, "246813");
        self.click("Next");
        assert_eq!(self.page(), Page::Review, "{:?}", self.problems());
        self.click("Finish");
        assert_eq!(self.till.screen(), Screen::SignIn, "{:?} {:?}", self.problems(), self.till.notice());
        (terminal, printer, paper, printed)
    }
}

fn error(till: &Till) -> Option<String> {
    match till.notice() {
        Some(Notice::Error(e)) => Some(e.clone()),
        _ => None,
    }
}

#[test]
fn the_installer_sets_up_a_fresh_till_against_the_emulators() {
    let terminal = terminal_on_pty();
    let (printer, paper, printed) = printer_on_pty();
    let mut i = Installer::fresh();
    assert!(i.till.training());
    assert_eq!(i.till.screen(), Screen::SignIn);
    i.click("Set up this till");
    assert_eq!(i.till.screen(), Screen::Setup);
    assert_eq!(i.page(), Page::Store);

    // The store: a name is needed; the message names the field by its label, beside it, and
    // goes once the field is filled.
    i.click("Next");
    assert_eq!(i.page(), Page::Store);
    assert!(i.sees("Store name is missing"), "{:?}", i.problems());
    assert_eq!(i.problems_of(Field::Name), vec!["Store name is missing".to_string()]);
    i.fill(Field::Name, "Corner Shop 街角店");
    assert!(!i.sees("Store name is missing"), "{:?}", i.problems());
    i.fill(Field::Address, "1 Market Street");
    i.fill(Field::TaxId, "91310000MA1FL0000X");
    i.fill(Field::MerchantNo, "455600000012345");
    i.fill(Field::VoidOver, "ten");
    i.click("Next");
    assert!(i.sees("Voids above this need a manager: not an amount: ten"), "{:?}", i.problems());
    assert_eq!(i.problems_of(Field::VoidOver).len(), 1, "beside its field");
    i.fill(Field::VoidOver, "30");
    i.click("Next");
    assert_eq!(i.page(), Page::Taxes, "{:?}", i.problems());

    // Tax classes: a bad rate is named by its class; a class can be added and removed.
    i.fill_tax_rate(1, "nine");
    i.click("Next");
    assert!(i.sees("Tax class 2: not a tax rate in percent from 0 to 100: nine"), "{:?}", i.problems());
    i.fill_tax_rate(1, "9");
    i.click("Add a tax class");
    i.type_into("wizard-tax-code-4", "S");
    i.type_into("wizard-tax-rate-4", "3");
    i.click("Next");
    assert_eq!(i.page(), Page::Receipt, "{:?}", i.problems());

    // Languages and receipt.
    i.fill(Field::Header, "Open 7–23");
    i.fill(Field::Footer, "Thank you | 谢谢惠顾");
    i.click("Next");
    assert_eq!(i.page(), Page::Terminal);

    // The PIN pad: a port that is not there fails its test with the reason in words.
    i.fill(Field::TerminalPort, "/dev/ttyNOTHERE");
    i.click("Test: registration");
    let answer = i.till.wizard().unwrap().terminal_answer.clone().unwrap();
    let failed = answer.expect_err("a missing port cannot pass");
    assert!(failed.contains("/dev/ttyNOTHERE"), "{failed}");
    assert!(i.sees(&failed));
    // The right port: registration, status and diagnosis answer in words.
    i.fill(Field::TerminalPort, &terminal.path);
    i.click("Test: registration");
    let words = i.till.wizard().unwrap().terminal_answer.clone().unwrap().expect("the emulator answers");
    assert!(words.contains("52500038"), "{words}");
    i.click("Test: status");
    assert!(i.till.wizard().unwrap().terminal_answer.clone().unwrap().is_ok());
    i.click("Test: diagnosis");
    assert!(i.till.wizard().unwrap().terminal_answer.clone().unwrap().is_ok());
    assert!(i.sees("The terminal reports terminal id 52500038."));
    // The acquirer's papers say another id: the installer cannot go on until it is resolved.
    i.fill(Field::TerminalId, "52500099");
    i.click("Next");
    assert_eq!(i.page(), Page::Terminal);
    assert!(
        i.sees("Terminal id from the acquirer: The terminal reports terminal id 52500038, but the acquirer gave 52500099: check the terminal and the contract"),
        "{:?}",
        i.problems()
    );
    i.fill(Field::TerminalId, "52500038");
    assert!(i.sees("The terminal reports 52500038: the same as the acquirer's. Confirmed."));
    i.fill(Field::TerminalMerchant, "455600000012345");
    i.click("Next");
    assert_eq!(i.page(), Page::Printer, "{:?}", i.problems());

    // The printer: out of paper, the test page fails and says so; with paper it prints.
    i.fill(Field::PrinterPort, &printer.path);
    paper.send(PaperControl::Set(Paper::Out)).unwrap();
    i.click("Print a test page");
    let failed = i.till.wizard().unwrap().printer_answer.clone().unwrap().expect_err("no paper, no test page");
    assert!(failed.starts_with("The printer did not pass the test:"), "{failed}");
    assert!(failed.to_lowercase().contains("paper"), "{failed}");
    assert!(i.sees(&failed));
    paper.send(PaperControl::Set(Paper::Ok)).unwrap();
    i.click("Test: status");
    assert!(i.till.wizard().unwrap().printer_answer.clone().unwrap().is_ok());
    i.click("Print a test page");
    let words = i.till.wizard().unwrap().printer_answer.clone().unwrap().expect("the test page prints");
    assert!(words.starts_with("Test page printed"), "{words}");
    assert!(!printed.lock().unwrap().is_empty(), "the emulator printed nothing");
    i.click("Next");
    assert_eq!(i.page(), Page::HeadOffice, "{:?}", i.problems());

    // The head office is optional: without a url the test says the till works alone.
    i.click("Test the connection");
    assert!(i.sees("No head office url: this till works alone."));
    i.click("Next");
    assert_eq!(i.page(), Page::Installer, "{:?}", i.problems());

    // The first installer: no default PIN; the PIN is typed twice.
    i.fill(Field::UserName, "Zhao Installer");
    i.fill(Field::UserId, "zhao");
    i.fill(Field::Pin, "246813");
    i.fill(Field::PinAgain, "246814");
    i.click("Next");
    assert!(i.sees("The two PINs differ"), "{:?}", i.problems());
    i.fill(Field::PinAgain, "246813");
    i.click("Next");
    assert_eq!(i.page(), Page::Review, "{:?}", i.problems());
    assert!(i.sees("Corner Shop 街角店"));
    assert!(i.sees("A 13%, B 9%, C 6%, Z 0%, S 3%"));

    // Finish: the file, the installer, and the till running on the store's own devices. Where
    // the file goes is said before it is written.
    assert!(i.sees(&format!("Finish writes the settings to {}", i.config_path().display())));
    assert!(!i.config_path().exists());
    i.click("Finish");
    assert_eq!(i.till.screen(), Screen::SignIn, "{:?} {:?}", i.problems(), i.till.notice());
    assert!(!i.till.training());
    let settings = till::config::settings::load(&i.config_path()).unwrap().expect("the settings file is written");
    assert_eq!(settings.store.store_name, "Corner Shop 街角店");
    assert_eq!(settings.store.receipt_footer, vec!["Thank you".to_string(), "谢谢惠顾".to_string()]);
    assert_eq!(settings.store.tax_classes.len(), 5);
    let t = settings.terminal.as_ref().unwrap();
    assert_eq!(t.port.as_deref(), Some(Path::new(&terminal.path)));
    assert_eq!(t.terminal_id.as_deref(), Some("52500038"));
    assert_eq!(t.merchant_no.as_deref(), Some("455600000012345"));
    assert_eq!(settings.printer.as_deref(), Some(format!("serial:{}:9600:8N1", printer.path).as_str()));
    // The store's ledger holds the installer (hashed), not training's demo users.
    let ledger = Ledger::open_read_only(&i.dir.path().join("data/ledger.db")).unwrap();
    let users = ledger.users().unwrap();
    assert_eq!(users.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(), ["zhao"]);
    assert!(users[0].pin_hash().starts_with("$argon2id$"));
    assert!(!users[0].pin_hash().contains("246813"));
    assert_eq!(i.till.terminal_state(), TerminalState::Ready, "{:?}", i.till.notice());
    assert_eq!(i.till.users().len(), 1);

    // The installer signs in with the PIN they chose.
    i.enter(PIN_FIELD, "246813");
    assert_eq!(i.till.screen(), Screen::Sale, "{:?}", i.till.notice());
    assert_eq!(i.till.counter().store().void_approval_over, rust_decimal::dec!(30));
    // Not an empty sale screen: the next steps, with their doors.
    assert!(i.sees("本收银台的下一步"));
    i.send(Message::ToggleLanguage);
    assert!(
        i.sees("Next steps for this till"),
        "{} products, {} users, {}",
        i.till.counter().catalog().len(),
        i.till.users().len(),
        i.till.locale()
    );
    assert!(i.sees("Import the catalog (a CSV file) or add products:"));
    assert!(i.sees("Add the cashiers and managers, each with a PIN:"));
    i.enter(till::ui::SCAN_FIELD, "6912345000376");
    assert!(
        matches!(i.till.notice(), Some(till::ui::Notice::Error(e)) if e.contains("The catalog is empty")),
        "{:?}",
        i.till.notice()
    );
    i.click("Users");
    i.enter(APPROVAL_PIN_FIELD, "246813");
    assert_eq!(i.till.screen(), Screen::Users, "{:?}", i.till.notice());
}

impl Installer {
    /// Picks English for the screen, as the screen language's list does (iced_test finds no
    /// text inside a pick list to click).
    fn pick_screen_language_english(&mut self) {
        self.send(Message::Wizard(Msg::ScreenLocale(Language("en".into()))));
        assert_eq!(self.till.wizard().unwrap().draft.screen_locale, "en");
    }

    fn fill_tax_rate(&mut self, index: usize, rate: &str) {
        self.send(Message::Wizard(Msg::TaxRate(index, String::new())));
        let id: &'static str = Box::leak(format!("wizard-tax-rate-{index}").into_boxed_str());
        self.type_into(id, rate);
    }
}

#[test]
fn later_only_an_installer_changes_the_settings_and_they_take_effect_at_once() {
    let mut i = Installer::fresh();
    let (_terminal, _printer, _paper, _printed) = i.set_up();
    i.enter(PIN_FIELD, "246813");
    assert_eq!(i.till.screen(), Screen::Sale);

    // The manager's screen, then Settings & devices: an installer's PIN is asked for.
    i.send(Message::OpenManager);
    i.enter(APPROVAL_PIN_FIELD, "246813");
    assert_eq!(i.till.screen(), Screen::Manager, "{:?}", i.till.notice());
    i.click("Settings & devices");
    assert_eq!(i.till.screen(), Screen::Manager);
    i.enter(APPROVAL_PIN_FIELD, "1111");
    assert!(error(&i.till).is_some_and(|e| e.contains("Wrong PIN")), "{:?}", i.till.notice());
    assert_eq!(i.till.screen(), Screen::Manager);
    i.enter(APPROVAL_PIN_FIELD, "246813");
    assert_eq!(i.till.screen(), Screen::Setup, "{:?}", i.till.notice());
    // What is in force is shown; the ledger's currency and register cannot change here.
    assert!(i.sees("Corner Shop 街角店") || i.till.wizard().unwrap().draft.name == "Corner Shop 街角店");
    assert!(view(&i.till).find(Id::new(Field::Currency.id())).is_err());
    i.fill(Field::VoidOver, "80");
    i.click("7. Review & finish");
    i.click("Finish");
    assert_eq!(i.till.screen(), Screen::Sale, "{:?} {:?}", i.problems(), i.till.notice());
    assert_eq!(i.till.counter().store().void_approval_over, rust_decimal::dec!(80));
    let settings = till::config::settings::load(&i.config_path()).unwrap().unwrap();
    assert_eq!(settings.store.void_approval_over, rust_decimal::dec!(80));
    // The PIN pad was opened again with the settings and answers.
    assert_eq!(i.till.terminal_state(), TerminalState::Ready, "{:?}", i.till.notice());
}

#[test]
fn the_core_refuses_settings_without_an_installer() {
    let mut i = Installer::fresh();
    let _lines = i.set_up();
    let draft = till::setup::Draft::new(till::config::settings::load(&i.config_path()).unwrap().as_ref());
    let before = std::fs::read_to_string(i.config_path()).unwrap();
    let refused = till::setup::finish(&i.config_path(), &i.dir.path().join("data"), &draft, None, None);
    assert!(matches!(refused, Err(till::setup::SetupError::NotPermitted)), "{refused:?}");
    // A manager's PIN does not make an approval for the settings.
    let manager = till::auth::User::new("m", "M", till::auth::Role::Manager, till::auth::hash_pin("1212").unwrap());
    assert!(till::auth::approve(&manager, "1212", till::auth::Permission::Settings).is_err());
    assert_eq!(std::fs::read_to_string(i.config_path()).unwrap(), before);
    assert!(error(&i.till).is_none());
}

impl Installer {
    /// From the sale screen: the manager's screen, then one of its doors, each with the PIN.
    fn manager_door(&mut self, label: &str, pin: &str) {
        self.send(Message::OpenManager);
        self.enter(APPROVAL_PIN_FIELD, pin);
        assert_eq!(self.till.screen(), Screen::Manager, "{:?}", self.till.notice());
        self.click(label);
        self.enter(APPROVAL_PIN_FIELD, pin);
    }
}

#[test]
fn users_are_added_and_removed_from_the_managers_screen() {
    let mut i = Installer::fresh();
    let _lines = i.set_up();
    i.enter(PIN_FIELD, "246813");
    i.manager_door("Users", "246813");
    assert_eq!(i.till.screen(), Screen::Users, "{:?}", i.till.notice());
    // Escape is one step back: a half-filled form is emptied, then the screen closes.
    i.click("New user");
    i.type_into("users-name", "王 Half");
    i.send(till::ui::shortcut(iced::keyboard::key::Named::Escape).unwrap());
    assert_eq!(i.till.screen(), Screen::Users, "the first Escape keeps the screen");
    let name = common::view(&i.till).find(iced::widget::Id::new("users-name")).unwrap();
    assert!(
        matches!(&name, iced_test::selector::Target::TextInput { content, .. } if content.is_empty()),
        "and empties the form: {name:?}"
    );
    i.send(till::ui::shortcut(iced::keyboard::key::Named::Escape).unwrap());
    assert_eq!(i.till.screen(), Screen::Manager, "the second goes back");
    i.click("Users");
    i.enter(APPROVAL_PIN_FIELD, "246813");
    i.click("New user");
    i.type_into("users-name", "李娜 Li Na");
    i.type_into("users-id", "lina");
    i.click("Cashier");
    i.type_into("users-pin", "1357");
    i.type_into("users-pin-again", "1358");
    i.click("Save");
    assert_eq!(error(&i.till).as_deref(), Some("The two PINs differ"));
    i.send(Message::Users(till::ui::users::Msg::Edit(till::ui::users::Field::PinAgain, String::new())));
    i.type_into("users-pin-again", "1357");
    i.click("Save");
    assert_eq!(i.till.users().len(), 2, "{:?}", i.till.notice());
    assert!(i.sees("lina · Cashier"));
    // The new cashier signs in with her PIN; the till's ledger journaled who added her.
    let ledger = Ledger::open_read_only(&i.dir.path().join("data/ledger.db")).unwrap();
    assert!(ledger.users().unwrap().iter().any(|u| u.id == "lina"));
    // Her name changed with no PIN typed: the PIN stays hers.
    let lina = i.till.users().iter().position(|u| u.id == "lina").unwrap();
    i.send(Message::Users(till::ui::users::Msg::Pick(lina)));
    i.send(Message::Users(till::ui::users::Msg::Edit(till::ui::users::Field::Name, "李娜 Lina".into())));
    i.click("Save");
    assert!(error(&i.till).is_none(), "{:?}", i.till.notice());
    let renamed = i.till.users().iter().find(|u| u.id == "lina").unwrap().clone();
    assert_eq!(renamed.name, "李娜 Lina");
    assert!(renamed.check_pin("1357").is_ok(), "the PIN kept");
    // The last installer cannot be removed; the cashier can.
    i.click("Back");
    assert_eq!(i.till.screen(), Screen::Manager);
    i.click("Users");
    i.enter(APPROVAL_PIN_FIELD, "246813");
    let removes: Vec<Message> = {
        let mut ui = view(&i.till);
        ui.click("Remove").unwrap();
        ui.into_messages().collect()
    };
    for m in removes {
        i.send(m);
    }
    assert!(
        error(&i.till).is_some_and(|e| e.contains("yourself") || e.contains("last installer")),
        "{:?}",
        i.till.notice()
    );
    i.send(Message::Users(till::ui::users::Msg::Remove("lina".into())));
    assert_eq!(i.till.users().len(), 1, "{:?}", i.till.notice());
}

#[test]
fn products_are_added_repriced_and_imported_with_a_preview() {
    let mut i = Installer::fresh();
    let _lines = i.set_up();
    i.enter(PIN_FIELD, "246813");
    i.manager_door("Products", "246813");
    assert_eq!(i.till.screen(), Screen::Products, "{:?}", i.till.notice());
    use till::ui::products::Field as P;
    // Escape is one step back: a half-filled product is emptied, then the screen closes.
    i.type_into(P::Sku.id(), "HALF1");
    i.send(till::ui::shortcut(iced::keyboard::key::Named::Escape).unwrap());
    assert_eq!(i.till.screen(), Screen::Products, "the first Escape keeps the screen");
    let sku = common::view(&i.till).find(iced::widget::Id::new(P::Sku.id())).unwrap();
    assert!(
        matches!(&sku, iced_test::selector::Target::TextInput { content, .. } if content.is_empty()),
        "and empties the form: {sku:?}"
    );
    i.send(till::ui::shortcut(iced::keyboard::key::Named::Escape).unwrap());
    assert_eq!(i.till.screen(), Screen::Manager, "the second goes back");
    i.click("Products");
    i.enter(APPROVAL_PIN_FIELD, "246813");
    assert_eq!(i.till.screen(), Screen::Products, "{:?}", i.till.notice());
    i.type_into(P::Sku.id(), "TEA01");
    i.type_into(P::NameZh.id(), "绿茶");
    i.type_into(P::NameEn.id(), "Green tea");
    i.type_into(P::Price.id(), "4.5x");
    i.type_into(P::Barcodes.id(), "6901234567892");
    i.click("Save product");
    let refused = error(&i.till).expect("a bad price is refused");
    assert!(refused.starts_with("Price: "), "named by the form's label: {refused}");
    assert!(i.till.counter().catalog().is_empty());
    i.send(Message::Products(till::ui::products::Msg::Edit(P::Price, "4.50".into())));
    i.click("Save product");
    assert_eq!(i.till.counter().catalog().len(), 1, "{:?}", i.till.notice());
    i.send(Message::Products(till::ui::products::Msg::Edit(P::Price, "4.80".into())));
    i.click("Save product");
    assert_eq!(i.till.counter().catalog().by_sku("TEA01").unwrap().price.minor(), 480);

    // An import: its preview first, with progress; then the catalog changes.
    let csv = i.dir.path().join("catalog.csv");
    std::fs::write(
        &csv,
        "sku,barcodes,name_zh,name_en,price,tax_class,category,quick_key,sold_by\n\
         TEA01,6901234567892,绿茶,Green tea,5.00,A,drinks,,piece\n\
         RICE5,,大米,Rice 5 kg,39.90,B,food,,piece\n",
    )
    .unwrap();
    i.type_into("products-path", csv.to_str().unwrap());
    i.click("Preview the import");
    assert!(i.sees("1 new, 1 price changes, 0 other changes, 0 unchanged"), "{:?}", i.till.notice());
    assert!(i.sees("TEA01  绿茶  ¥4.80 → ¥5.00"));
    assert_eq!(i.till.counter().catalog().len(), 1, "a preview changes nothing");
    i.click("Import");
    assert_eq!(i.till.counter().catalog().len(), 2, "{:?}", i.till.notice());
    assert_eq!(i.till.counter().catalog().by_sku("TEA01").unwrap().price.minor(), 500);
    i.click("Back");
    i.send(Message::Manager(till::ui::manager::Msg::Close));
    assert_eq!(i.till.screen(), Screen::Sale);
    // The counter sells it at the new price.
    i.enter(till::ui::SCAN_FIELD, "6901234567892");
    assert_eq!(i.till.counter().sale().totals().total.minor(), 500, "{:?}", i.till.notice());
    let ledger = Ledger::open_read_only(&i.dir.path().join("data/ledger.db")).unwrap();
    let report = ledger.verify().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn a_product_is_found_and_opened_from_the_keyboard() {
    let mut i = Installer::fresh();
    let _lines = i.set_up();
    i.enter(PIN_FIELD, "246813");
    i.manager_door("Products", "246813");
    use till::ui::products::Field as P;
    for (sku, name) in [("TEA01", "Green tea"), ("TEA02", "Black tea")] {
        i.type_into(P::Sku.id(), sku);
        i.type_into(P::NameZh.id(), "茶");
        i.type_into(P::NameEn.id(), name);
        i.type_into(P::Price.id(), "4.50");
        i.click("Save product");
        i.send(Message::Products(till::ui::products::Msg::New));
    }
    assert_eq!(i.till.counter().catalog().len(), 2, "{:?}", i.till.notice());
    // "tea": two hits; Down, Down, Enter opens the second.
    i.type_into(till::ui::products::FIELD, "tea");
    for _ in 0..2 {
        i.send(Message::Walk(1));
    }
    i.enter(till::ui::products::FIELD, "");
    let form = common::view(&i.till).find(iced::widget::Id::new(P::NameEn.id())).unwrap();
    assert!(
        matches!(&form, iced_test::selector::Target::TextInput { content, .. } if content == "Black tea"),
        "the second hit opened: {form:?}"
    );
}
