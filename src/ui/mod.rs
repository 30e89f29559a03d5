//! The counter's GUI (iced). `Till` is the application: its state, one `Message` enum, `update`
//! and `view`. The rules live in `counter` (plain data); the slow parts run in workers
//! (`workers.rs`: one thread per device and one for the ledger), whose results come back as
//! messages. Each screen has its own module with its view: `sign_in`, `sale`, `payment`,
//! `refund`; `chrome` draws what is always there (training banner, status bar, notices, the
//! manager's approval and the training printer's paper); `theme` holds sizes and colours.
//!
//! `update` is written as `handle`, which returns the jobs it started as plain streams of
//! messages: iced runs them as Tasks, and the headless tests (`tests/counter_ui.rs`) drain them,
//! so a test drives the same code with the same devices as the cashier.

mod bell;
mod chrome;
pub mod devices;
pub mod drive;
pub mod head_office;
pub mod manager;
pub mod payment;
pub mod products;
pub mod refund;
pub mod sale;
mod sign_in;
mod theme;
pub mod training;
pub mod users;
pub mod wizard;
pub mod workers;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use chrono::Utc;
use iced::futures::stream::BoxStream;
use iced::keyboard::{self, Key, key::Named};
use iced::widget::{Id, column, operation};
use iced::{Element, Font, Subscription, Task};
use rust_decimal::Decimal;

use crate::auth::{self, Approval, AuthError, Permission, User};
use crate::card::{self, CardOp, Resolution};
use crate::config::{self, StoreSettings};
use crate::counter::{CardRefund, Counter, CounterError, RefundSource};
use crate::ledger::find::FoundSale;
use crate::ledger::{PostContext, Posted};
use crate::money::Money;
use crate::printer::driver::{JobResult, PrinterStatus};
use crate::sale::{Sale, SaleKind, SaleState, TenderKind};
use crate::terminal::{Outcome, TerminalInfo, result_text, status_text};
pub use devices::Devices;

use crate::fonts::CJK_FONT_BYTES;
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Notes when the process started, for `TILL_STARTUP_PROBE` (README: measuring start-up).
/// Training mode's ledger and emulator state live apart from the store's, in this folder of the
/// data directory: training never mixes with the real books, and the first setup starts clean.
pub const TRAINING_DIR: &str = "training";

pub fn mark_start() {
    STARTED.get_or_init(std::time::Instant::now);
}

fn probing() -> bool {
    std::env::var_os("TILL_STARTUP_PROBE").is_some()
}

pub const CJK_FONT: Font = Font::with_name(crate::fonts::CJK_FONT_NAME);

/// The widget ids that take the keyboard on each screen.
pub const SCAN_FIELD: &str = "scan";
/// The cart's scrollable list: it follows each new line.
pub const CART: &str = "cart";
/// The search hits' list on the sale screen.
pub const RESULTS: &str = "results";
pub const PIN_FIELD: &str = "pin";
pub const CASH_FIELD: &str = "cash";
pub const LOOKUP_FIELD: &str = "lookup";
pub const APPROVAL_PIN_FIELD: &str = "approval-pin";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    SignIn,
    Sale,
    Payment,
    Refund,
    /// The manager's settlement screen: days, reports, the drawer, the Z.
    Manager,
    /// The installer's wizard: the store's settings and devices.
    Setup,
    /// The till's users (a manager's).
    Users,
    /// Catalog upkeep: products, prices, the CSV import (a manager's).
    Products,
}

/// Where this till keeps its settings file and its data (the wizard writes both).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub config_path: PathBuf,
    pub data_dir: PathBuf,
}

/// What the status bar says of the PIN pad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminalState {
    Connecting,
    Ready,
    Busy,
    /// End-of-day outstanding (status F0): payments are refused until settlement.
    NeedsSettlement,
    /// Registration says the terminal needs initialisation, diagnosis or an OPT action.
    NeedsSetup,
    Offline,
    None,
}

/// What the status bar says of the receipt printer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrinterState {
    Unknown,
    Ok,
    PaperLow,
    PaperOut,
    CoverOpen,
    Offline,
    None,
}

impl PrinterState {
    pub fn from_status(s: &PrinterStatus) -> PrinterState {
        if s.unknown {
            PrinterState::Unknown
        } else if !s.answering || s.offline && !s.paper_out && !s.cover_open {
            PrinterState::Offline
        } else if s.paper_out {
            PrinterState::PaperOut
        } else if s.cover_open {
            PrinterState::CoverOpen
        } else if s.paper_near_end {
            PrinterState::PaperLow
        } else {
            PrinterState::Ok
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Info(String),
    Error(String),
}

/// A notice that can be said again in the other language.
#[derive(Debug, Clone)]
enum NoticeSource {
    Info(&'static str),
    Error(&'static str),
    Counter(CounterError),
    /// A sentence with values in it: said again from its key and values.
    Words {
        error: bool,
        key: &'static str,
        args: Vec<(&'static str, Arg)>,
    },
}

/// A value in a notice: as it is, or itself in the screen's language.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    /// A number, a name, a path: the same in every language.
    Plain(String),
    /// A locale key (a printer problem, say).
    Key(String),
    /// A terminal's result code, in words.
    CardResult(u8),
    /// A product, by its SKU: its name in the screen's language.
    Product(String),
}

impl Arg {
    fn text(&self, till: &Till, l: &str) -> String {
        match self {
            Arg::Plain(v) => v.clone(),
            Arg::Key(k) => t(k, l),
            Arg::CardResult(code) => result_text(*code, l),
            Arg::Product(sku) => till.counter.catalog().by_sku(sku).map_or(sku.clone(), |p| p.name(l).to_string()),
        }
    }
}

/// An action waiting for a manager's PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    VoidLine,
    /// Voiding the whole sale, worth more than the store's void threshold.
    VoidSale,
    /// Fewer of a line worth more than the void threshold (a void of part of it): the quantity.
    Quantity(String),
    /// A refund worth more than the store's refund limit.
    Refund,
    Price(String),
    /// A discount above the store's limit: the percent typed, and whether it is off the whole sale.
    Discount(String, bool),
    /// Cash back on a refund beyond what cash paid (true: all of it).
    CashRefund(bool),
    NoSale,
    /// Opening the manager's screen (settlement).
    Manager,
    /// Opening the setup wizard on a till already set up (an installer).
    Setup,
    Users,
    Catalog,
}

/// A step that cannot be undone, asked about first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    VoidSale,
    /// The Z: the terminal's end-of-day, the day closed.
    CloseDay,
}

impl Pending {
    fn permission(&self) -> Permission {
        match self {
            Pending::VoidLine | Pending::VoidSale | Pending::Quantity(_) => Permission::VoidLine,
            Pending::Price(_) => Permission::PriceOverride,
            Pending::Discount(..) => Permission::Discount,
            Pending::CashRefund(_) => Permission::CashRefund,
            Pending::Refund => Permission::Refund,
            Pending::NoSale => Permission::NoSale,
            Pending::Manager => Permission::Settlement,
            Pending::Setup => Permission::Settings,
            Pending::Users => Permission::Users,
            Pending::Catalog => Permission::Catalog,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRequest {
    pub pending: Pending,
    pub user: Option<usize>,
    pub pin: String,
    pub checking: bool,
}

/// The card payment in progress, as the payment screen shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardState {
    Idle,
    /// Waiting for the terminal; its latest status text.
    Running(String),
    /// The terminal's answer was lost: nobody knows whether the card was charged.
    Unknown,
}

/// What the trainer can do to the emulated devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trainer {
    PaperOk,
    PaperNearEnd,
    PaperOut,
    CardApproves,
    CardDeclines,
    CustomerStops,
}

/// What one print run came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintReport {
    pub printer: PrinterState,
    /// Why a job did not (fully) print, as a locale key.
    pub problem: Option<String>,
    /// Training mode: what the emulated printer put on paper.
    pub paper: Vec<String>,
    /// How many jobs still wait to print, where the worker read it from the ledger.
    pub waiting: Option<usize>,
}

#[derive(Debug, Clone)]
pub enum Message {
    /// The head office's shipper and the catalog versions it brings.
    HeadOffice(head_office::Msg),
    // sign-in
    PickUser(usize),
    PinChanged(String),
    SignIn,
    SignedIn(usize, Result<(), AuthError>),
    SignOut,
    /// Typed text (or Enter, None) that no field took: routed to the screen's field or refused.
    Stray(Option<String>),
    /// A click anywhere: the screen's field takes the keyboard back (`update` does it).
    Refocus,
    /// An F-key or Escape: what it means is the screen's (or the dialog's) to say.
    Key(Named),
    Sale(sale::Msg),
    Payment(payment::Msg),
    Refund(refund::Msg),
    /// The arrow keys (−1 up, +1 down): the sign-in's users, the search hits, the cart's lines.
    Walk(i32),
    PrintQueued,
    ToggleLanguage,
    TogglePaper,
    Dismiss,
    // card payments and the jobs between screens
    CardStatus(u8),
    CardDone(Result<card::CardPayment, String>),
    /// The ledger holds the current sale's durable copy under this id (written before money moved).
    InProgress(i64),
    /// The ledger holds the parked sale (by its key) under this id.
    ParkedSaved(u64, i64),
    /// After recovery: the card payments the ledger holds for this sale in progress.
    Held(i64, Vec<crate::ledger::HeldCard>),
    /// The original sale of a refund brought back at start.
    RefundSourceFor(i64, Result<RefundSource, String>),
    /// Sales in progress brought back from the ledger at start.
    Resumed(Result<Vec<crate::resume::Resumed>, String>),
    /// Card payments of the current sale reversed at the terminal (receipt, trace), for a void;
    /// with the error that stopped the rest, if any.
    Reversed(Vec<(u32, u32)>, Option<String>, bool),
    Recovered(Result<Vec<Resolution>, String>),
    /// A tap on a notice too long for its line: shown whole.
    ShowNotice,
    /// Yes to the step asked about (`Till::confirm`).
    Confirmed,
    /// No: nothing happens.
    CancelConfirm,
    // approval
    ApprovalUser(usize),
    ApprovalPin(String),
    Approve,
    Approved(Result<Approval, AuthError>),
    CancelApproval,
    // workers
    /// A paid sale posted, or refused (then kept durably as a sale in progress with this id).
    Posted(u64, Result<Posted, String>, Option<i64>),
    Printed(PrintReport),
    TerminalReady(Result<TerminalInfo, String>),
    /// Every minute: ask an idle terminal how it is (Status Enquiry, PA00P015 §2.56).
    PollTerminal,
    TerminalPolled(Result<TerminalInfo, String>),
    Day(Option<(i64, String)>),
    Done,
    /// Ask for a manager, then open the settlement screen.
    OpenManager,
    Manager(manager::Msg),
    /// Open the setup wizard: at once on a fresh till, with an installer's PIN later.
    OpenSetup,
    Wizard(wizard::Msg),
    /// Ask for a manager, then open the users' or the products' screen.
    OpenUsers,
    OpenProducts,
    Users(users::Msg),
    Products(products::Msg),
    /// Training mode: the trainer changes how an emulator behaves (a declined card, paper out).
    Trainer(Trainer),
    /// The window is drawing a frame (only subscribed to while probing start-up).
    Frame,
    /// Tab (true) or Shift+Tab: the next or previous field of a form.
    FocusNext(bool),
}

impl Message {
    /// Something the cashier did (a key, a button, a scan's Enter) — not typing into a field,
    /// not an answer from a worker, not F11 (which says the notice again in the other language).
    fn is_action(&self) -> bool {
        match self {
            Message::Key(key) => *key != Named::F11,
            Message::Sale(m) => !matches!(m, sale::Msg::ScanChanged(_)),
            Message::Payment(m) => !matches!(m, payment::Msg::CashChanged(_)),
            Message::Refund(m) => matches!(
                m,
                refund::Msg::Lookup
                    | refund::Msg::OpenReceipt(_)
                    | refund::Msg::RefundQuantity(..)
                    | refund::Msg::RefundAll
                    | refund::Msg::RefundConfirm
                    | refund::Msg::RefundCancel
            ),
            Message::SignIn
            | Message::SignOut
            | Message::PickUser(_)
            | Message::OpenManager
            | Message::OpenSetup
            | Message::OpenUsers
            | Message::OpenProducts
            | Message::Approve
            | Message::Confirmed
            | Message::CancelConfirm
            | Message::CancelApproval => true,
            _ => false,
        }
    }
}

/// A job the update started: the messages it will send back.
pub type Job = BoxStream<'static, Message>;

/// How often an idle terminal is asked its status.
const TERMINAL_POLL: std::time::Duration = std::time::Duration::from_secs(60);

/// A paid sale on its way to the ledger.
#[derive(Debug, Clone)]
pub(crate) struct Posting {
    id: u64,
    sale: Sale,
    in_progress: Option<i64>,
    refused: bool,
}

pub struct Till {
    pub(crate) locale: String,
    pub(crate) training: bool,
    pub(crate) counter: Counter,
    pub(crate) users: Vec<User>,
    pub(crate) devices: Devices,
    pub(crate) screen: Screen,
    // sign-in
    pub(crate) picked_user: Option<usize>,
    pub(crate) pin: String,
    pub(crate) checking_pin: bool,
    // sale
    pub(crate) scan: String,
    /// A product sold by weight waiting for its weight (its SKU): the scan field takes the
    /// kilograms next.
    pub(crate) weighing: Option<String>,
    pub(crate) category: String,
    pub(crate) results: Vec<String>,
    /// The search hit the arrow keys walked to (Enter adds it).
    pub(crate) result_cursor: Option<usize>,
    /// The parked sale or the found sale the arrow keys walked to (Enter opens it).
    pub(crate) list_cursor: Option<usize>,
    pub(crate) show_parked: bool,
    // payment
    pub(crate) cash: String,
    /// Cash far beyond what is due, typed once: taken only when Enter confirms the same amount.
    pub(crate) cash_to_confirm: Option<Money>,
    pub(crate) card: CardState,
    pub(crate) last_change: Option<Money>,
    // approval
    pub(crate) approval: Option<ApprovalRequest>,
    /// An irreversible step asked about before it is taken.
    pub(crate) confirm: Option<Confirm>,
    /// The manager's approval of the sale void under way (its card payments go back first).
    pub(crate) void_approval: Option<Approval>,
    // refund
    pub(crate) lookup: String,
    pub(crate) refund_quantities: Vec<(u32, Decimal)>,
    /// Sales found without their receipt, to choose the one a refund is against.
    pub(crate) found_sales: Vec<FoundSale>,
    // status
    pub(crate) terminal: TerminalState,
    pub(crate) printer: PrinterState,
    pub(crate) day: Option<(i64, String)>,
    pub(crate) notice: Option<Notice>,
    /// What the notice says, in any language: it follows F11 (None: a notice made of words
    /// from elsewhere, cleared on F11 rather than left in the other language).
    notice_source: Option<NoticeSource>,
    /// How many notices were said: a screen left tells a notice of its own from an older one.
    notices_said: u64,
    /// The notice shown whole over the screen (it was too long for its line).
    pub(crate) notice_whole: bool,
    pub(crate) last_receipt: Option<i64>,
    pub(crate) queued_prints: usize,
    pub(crate) paper: Vec<String>,
    pub(crate) show_paper: bool,
    /// Ring the display's bell with each error (the window does; headless tests do not).
    pub(crate) bell: bool,
    /// Paid sales on their way into the ledger, kept until it has them.
    /// Paid sales not yet posted: each with its durable copy's id, and whether the ledger refused
    /// it (then it is retried; a post still on its way is not sent twice).
    pub(crate) posting: Vec<Posting>,
    next_posting: u64,
    pub(crate) manager: Option<manager::State>,
    pub(crate) wizard: Option<wizard::State>,
    pub(crate) users_admin: Option<users::State>,
    pub(crate) products: Option<products::State>,
    /// Where the settings file and the data live; `None` for a till that cannot be set up
    /// from the screen (the tests' counters).
    pub(crate) place: Option<Place>,
    /// The settings in force (`None`: training mode's demo store).
    pub(crate) settings: Option<crate::config::settings::Settings>,
    /// The ZVT timers of the wizard's terminal tests.
    pub(crate) setup_timers: crate::terminal::zvt::transport::Timers,
    /// What the head office's shipper said last; a catalog version being applied.
    pub(crate) head_office: head_office::Status,
    pub(crate) head_office_pending: head_office::Pending,
}

fn t(key: &str, locale: &str) -> String {
    rust_i18n::t!(key, locale = locale).into_owned()
}

impl Till {
    pub fn new(locale: &str, training: bool, counter: Counter, users: Vec<User>, devices: Devices) -> Till {
        let category = counter.catalog().categories().first().map(|c| c.to_string()).unwrap_or_default();
        let terminal = if devices.terminal.is_some() { TerminalState::Connecting } else { TerminalState::None };
        let printer = if devices.printer.is_some() { PrinterState::Unknown } else { PrinterState::None };
        Till {
            locale: locale.to_string(),
            training,
            counter,
            users,
            devices,
            screen: Screen::SignIn,
            picked_user: None,
            pin: String::new(),
            checking_pin: false,
            scan: String::new(),
            weighing: None,
            category,
            results: Vec::new(),
            result_cursor: None,
            list_cursor: None,
            show_parked: false,
            cash: String::new(),
            cash_to_confirm: None,
            card: CardState::Idle,
            last_change: None,
            approval: None,
            confirm: None,
            void_approval: None,
            lookup: String::new(),
            refund_quantities: Vec::new(),
            found_sales: Vec::new(),
            terminal,
            printer,
            day: None,
            notice: None,
            notice_source: None,
            notices_said: 0,
            notice_whole: false,
            last_receipt: None,
            queued_prints: 0,
            paper: Vec::new(),
            show_paper: false,
            bell: false,
            posting: Vec::new(),
            next_posting: 0,
            manager: None,
            wizard: None,
            users_admin: None,
            products: None,
            place: None,
            settings: None,
            setup_timers: crate::terminal::zvt::transport::Timers::default(),
            head_office: head_office::Status::default(),
            head_office_pending: head_office::Pending::default(),
        }
    }

    /// A till that can be set up from its screen: the settings file and data directory it
    /// uses, the settings in force, and the ZVT timers for the wizard's terminal tests.
    pub fn with_place(
        mut self,
        place: Place,
        settings: Option<crate::config::settings::Settings>,
        setup_timers: crate::terminal::zvt::transport::Timers,
    ) -> Till {
        self.place = Some(place);
        self.settings = settings;
        self.setup_timers = setup_timers;
        self
    }

    /// Sets when the manager's screen was last touched (tests of its idle lock: nothing waits
    /// three minutes).
    #[doc(hidden)]
    pub fn manager_touched_at(&mut self, at: std::time::Instant) {
        if let Some(m) = self.manager.as_mut() {
            m.last_used = at;
        }
    }

    pub fn training(&self) -> bool {
        self.training
    }

    pub fn users(&self) -> &[User] {
        &self.users
    }

    pub fn wizard(&self) -> Option<&wizard::State> {
        self.wizard.as_ref()
    }

    /// The new settings are in force: on the first setup the store's own ledger, devices and
    /// users replace training's; later the PIN pad and printer are opened again with theirs.
    pub(crate) fn apply_settings(
        &mut self,
        settings: crate::config::settings::Settings,
        devices: wizard::NewDevices,
        by: Option<String>,
    ) -> Vec<Job> {
        let store = settings.store.clone();
        let missing = match devices {
            wizard::NewDevices::Whole(devices, gone, installer) => {
                self.devices.close_ports();
                self.devices = *devices;
                self.training = false;
                self.users = vec![installer];
                self.counter = Counter::new(store.clone(), self.devices.catalog.clone());
                self.screen = Screen::SignIn;
                self.picked_user = Some(0);
                self.paper.clear();
                self.show_paper = false;
                self.last_receipt = None;
                self.day = None;
                crate::log::event("setup: first settings written, training ended");
                gone
            }
            wizard::NewDevices::Ports(ports) => {
                self.devices.terminal = ports.terminal;
                self.devices.abort = ports.abort;
                self.devices.printer = ports.printer;
                if let Err(e) = self.counter.set_store(store.clone()) {
                    self.counter_error(e);
                }
                self.screen = if self.counter.cashier().is_some() { Screen::Sale } else { Screen::SignIn };
                crate::log::event("setup: settings changed, devices opened again");
                ports.missing
            }
        };
        self.locale = store.screen_locale.clone();
        self.category = self.counter.catalog().categories().first().map(|c| c.to_string()).unwrap_or_default();
        self.terminal = if self.devices.terminal.is_some() { TerminalState::Connecting } else { TerminalState::None };
        self.printer = if self.devices.printer.is_some() { PrinterState::Unknown } else { PrinterState::None };
        self.settings = Some(settings);
        let l2 = self.locale.clone();
        match missing.first() {
            Some(m) => {
                for m in &missing {
                    crate::log::event(&format!("device not opened: {m}"));
                }
                self.error_words("counter.device_error", vec![("detail", Arg::Plain(m.clone()))])
            }
            None => self.info(t("wizard.done", &l2)),
        }
        let mut jobs = self.start();
        if let Some(by) = by {
            jobs.push(self.audit("settings_written", vec![("by", by)]));
        }
        jobs
    }

    /// The wizard was left without finishing: the devices of the settings in force again.
    pub(crate) fn reopen_ports(&mut self) -> Vec<Job> {
        self.screen = if self.counter.cashier().is_some() { Screen::Sale } else { Screen::SignIn };
        if self.training {
            // Training's emulators live with its devices: start them afresh.
            if let Some(place) = &self.place {
                let dir = place.data_dir.join(TRAINING_DIR);
                match Devices::training(&dir, self.counter.store()) {
                    Ok(devices) => self.devices = devices,
                    Err(e) => self.error(e.localized(&self.locale.clone())),
                }
            }
        } else if let Some(settings) = &self.settings {
            match devices::PortDevices::open(settings) {
                Ok(ports) => {
                    self.devices.terminal = ports.terminal;
                    self.devices.abort = ports.abort;
                    self.devices.printer = ports.printer;
                }
                Err(e) => self.error(e.localized(&self.locale.clone())),
            }
        }
        self.terminal = if self.devices.terminal.is_some() { TerminalState::Connecting } else { TerminalState::None };
        self.printer = if self.devices.printer.is_some() { PrinterState::Unknown } else { PrinterState::None };
        self.start()
    }

    /// The open business day as the status bar shows it (number, date).
    pub fn day(&self) -> Option<&(i64, String)> {
        self.day.as_ref()
    }

    /// Sales found without their receipt, on the refund screen.
    pub fn found_sales(&self) -> &[FoundSale] {
        &self.found_sales
    }

    pub fn screen(&self) -> Screen {
        self.screen
    }

    pub fn counter(&self) -> &Counter {
        &self.counter
    }

    pub fn notice(&self) -> Option<&Notice> {
        self.notice.as_ref()
    }

    pub fn card_state(&self) -> &CardState {
        &self.card
    }

    pub fn last_receipt(&self) -> Option<i64> {
        self.last_receipt
    }

    pub fn last_change(&self) -> Option<Money> {
        self.last_change
    }

    pub fn paper(&self) -> &[String] {
        &self.paper
    }

    pub fn printer_state(&self) -> PrinterState {
        self.printer
    }

    pub fn terminal_state(&self) -> TerminalState {
        self.terminal
    }

    pub fn locale(&self) -> &str {
        &self.locale
    }

    /// The open business day as the ledger has it, for the status bar (after anything that may
    /// open one: a sale, a cash movement, a drawer count).
    pub(crate) fn read_day(&self) -> Job {
        self.devices.ledger.call(|ledger| day_message(&workers::lock(ledger)))
    }

    /// What the till does as it opens: sign the terminal in (签到), settle any card payment left
    /// open by a crash, ask the printer how it is, and read the open business day.
    pub fn start(&self) -> Vec<Job> {
        let settings = self.counter.store().sale_settings();
        let l = self.locale.clone();
        let mut jobs = vec![self.read_day()];
        if let Some(terminal) = &self.devices.terminal {
            let ledger = self.devices.shared.clone();
            jobs.push(terminal.stream(move |device, out| {
                // Registration (签到), then Status Enquiry for the terminal's state (an end-of-day
                // outstanding shows there, not in registration's bit field).
                let info = device
                    .terminal
                    .register()
                    .map(|mut info| {
                        if let Ok(s) = device.terminal.status() {
                            info.status = s.status;
                            info.sw_version = s.sw_version;
                        }
                        info
                    })
                    .map_err(|e| e.to_string());
                let ok = info.is_ok();
                out.send(Message::TerminalReady(info));
                if ok {
                    let recovered = card::recover(&mut workers::lock(&ledger), &mut *device.terminal);
                    out.send(Message::Recovered(recovered.map_err(|e| e.to_string())));
                }
                out.send(Message::Resumed(resume_counter(&ledger, &settings, &l)));
            }));
        } else {
            jobs.push(self.devices.ledger.call(move |ledger| Message::Resumed(resume_counter(ledger, &settings, &l))));
        }
        if let Some(printer) = &self.devices.printer {
            jobs.push(printer.call(|device| {
                let status = crate::printer::driver::status(&mut *device.port);
                Message::Printed(PrintReport {
                    printer: status.as_ref().map_or(PrinterState::Offline, PrinterState::from_status),
                    problem: None,
                    paper: Vec::new(),
                    waiting: None,
                })
            }));
        }
        jobs
    }

    fn error(&mut self, e: impl Into<String>) {
        self.notice = Some(Notice::Error(e.into()));
        self.notice_source = None;
        self.notices_said += 1;
        self.notice_whole = false;
        if self.bell {
            bell::ring();
        }
    }

    pub(crate) fn clear_notice(&mut self) {
        self.notice = None;
        self.notice_source = None;
        self.notice_whole = false;
    }

    /// An error notice from the locale files, that follows F11.
    fn error_t(&mut self, key: &'static str) {
        self.error(t(key, &self.locale));
        self.notice_source = Some(NoticeSource::Error(key));
    }

    /// An information notice from the locale files, that follows F11.
    fn info_t(&mut self, key: &'static str) {
        self.notice = Some(Notice::Info(t(key, &self.locale)));
        self.notice_source = Some(NoticeSource::Info(key));
    }

    /// The notice in the screen's language now (after F11), or none.
    fn relocalize_notice(&mut self) {
        let l = self.locale.clone();
        self.notice = match self.notice_source.clone() {
            Some(NoticeSource::Info(key)) => Some(Notice::Info(t(key, &l))),
            Some(NoticeSource::Error(key)) => Some(Notice::Error(t(key, &l))),
            Some(NoticeSource::Counter(e)) => Some(Notice::Error(e.localized(&l))),
            Some(NoticeSource::Words { error, key, args }) => {
                let words = self.words(key, &args, &l);
                Some(if error { Notice::Error(words) } else { Notice::Info(words) })
            }
            None => None,
        };
    }

    /// A sentence from the locale files with its values put in.
    fn words(&self, key: &str, args: &[(&'static str, Arg)], l: &str) -> String {
        args.iter().fold(t(key, l), |text, (name, value)| text.replace(&format!("%{{{name}}}"), &value.text(self, l)))
    }

    /// An error notice with values in it, that follows F11.
    pub(crate) fn error_words(&mut self, key: &'static str, args: Vec<(&'static str, Arg)>) {
        let words = self.words(key, &args, &self.locale.clone());
        self.error(words);
        self.notice_source = Some(NoticeSource::Words { error: true, key, args });
    }

    /// An information notice with values in it, that follows F11.
    pub(crate) fn info_words(&mut self, key: &'static str, args: Vec<(&'static str, Arg)>) {
        let words = self.words(key, &args, &self.locale.clone());
        self.info(words);
        self.notice_source = Some(NoticeSource::Words { error: false, key, args });
    }

    /// A product sold by weight came without one: the scan field asks for its kilograms.
    fn ask_weight(&mut self, sku: String) {
        let l = self.locale.clone();
        let name = self.counter.catalog().by_sku(&sku).map(|p| p.name(&l).to_string()).unwrap_or_else(|_| sku.clone());
        self.info(rust_i18n::t!("counter.weigh", locale = &l, product = name).into_owned());
        self.weighing = Some(sku);
    }

    /// Keys no field took. On the sale screen they are the scan field's (a scanner typing after
    /// a click beside it); elsewhere they are refused aloud, never silently dropped, and never
    /// put into a field that means money.
    fn stray(&mut self, typed: Option<String>) -> Vec<Job> {
        if self.screen == Screen::Sale && self.approval.is_none() && self.confirm.is_none() {
            return match typed {
                Some(text) => {
                    let scan = format!("{}{text}", self.scan);
                    self.handle(Message::Sale(sale::Msg::ScanChanged(scan)))
                }
                None => self.handle(Message::Sale(sale::Msg::ScanSubmitted)),
            };
        }
        // Enter alone: a form field without a submit lets it through, nothing was lost.
        if typed.is_some() {
            if self.confirm.is_some() {
                self.error_t("counter.answer_first");
            } else {
                self.error_t("counter.keys_went_nowhere");
            }
        }
        Vec::new()
    }

    /// An F-key or Escape. A dialog open (an approval, a confirmation) has the keys: Escape
    /// closes it and the screen under it hears none of them. F11 (language) is the till's;
    /// every other key means what the screen showing says it means (its buttons name them), and
    /// Escape is one step back on every screen.
    fn key(&mut self, key: Named) -> Vec<Job> {
        if key == Named::F11 {
            return self.handle(Message::ToggleLanguage);
        }
        if self.notice_whole {
            return if key == Named::Escape { self.handle(Message::Dismiss) } else { Vec::new() };
        }
        if self.approval.is_some() || self.confirm.is_some() {
            return match key {
                Named::Escape if self.approval.is_some() => self.handle(Message::CancelApproval),
                Named::Escape => self.handle(Message::CancelConfirm),
                _ => Vec::new(),
            };
        }
        let escape = key == Named::Escape;
        let message = match self.screen {
            Screen::Sale if key == Named::F1 => Some(Message::SignOut),
            Screen::Sale => sale::key(key).map(Message::Sale),
            Screen::Payment => payment::key(self, key).map(Message::Payment),
            Screen::Refund => refund::key(key).map(Message::Refund),
            Screen::Manager => escape.then_some(Message::Manager(manager::Msg::Back)),
            Screen::Users => escape.then_some(Message::Users(users::Msg::Back)),
            Screen::Products => escape.then_some(Message::Products(products::Msg::Back)),
            Screen::Setup => escape.then_some(Message::Wizard(wizard::Msg::Back)),
            Screen::SignIn => escape.then_some(Message::PickUser(usize::MAX)),
        };
        message.map(|m| self.handle(m)).unwrap_or_default()
    }

    /// The arrow keys: on the sign-in they pick a user (the PIN field keeps the keyboard); on
    /// the sale screen they walk the search hits when there are any, else the cart's lines —
    /// up past the first line selects none, so F5 is the whole sale's discount.
    fn walk(&mut self, step: i32) {
        let next = |at: Option<usize>, len: usize| -> Option<usize> {
            match (at, step.is_negative()) {
                _ if len == 0 => None,
                (None, false) => Some(0),
                (None, true) => Some(len - 1),
                (Some(0), true) => None,
                (Some(i), true) => Some(i - 1),
                (Some(i), false) => Some((i + 1).min(len - 1)),
            }
        };
        // The approval dialog: the arrows pick who approves (its PIN field keeps the keyboard).
        if let Some(request) = &self.approval {
            let able: Vec<usize> =
                (0..self.users.len()).filter(|&i| self.users[i].role.may(request.pending.permission())).collect();
            let at = request.user.and_then(|u| able.iter().position(|&i| i == u));
            if let Some(p) = next(at, able.len()).or(at) {
                self.handle(Message::ApprovalUser(able[p]));
            }
            return;
        }
        match self.screen {
            Screen::SignIn if !self.checking_pin => {
                let picked = next(self.picked_user, self.users.len()).or(self.picked_user);
                if picked != self.picked_user {
                    self.picked_user = picked;
                    self.pin.clear();
                }
            }
            Screen::Sale if !self.results.is_empty() => {
                self.result_cursor = next(self.result_cursor, self.results.len());
            }
            // The parked sales' list, or the sales a refund could be against: Enter opens the
            // one walked to.
            Screen::Sale if self.show_parked => {
                self.list_cursor = next(self.list_cursor, self.counter.parked().len());
            }
            Screen::Refund if !self.found_sales.is_empty() => {
                self.list_cursor = next(self.list_cursor, self.found_sales.len());
            }
            Screen::Sale if self.weighing.is_none() => {
                let lines = self.counter.sale().lines().len();
                self.counter.select(next(self.counter.selected(), lines));
            }
            Screen::Products => {
                self.handle(Message::Products(products::Msg::Walk(step)));
            }
            _ => {}
        }
    }

    fn info(&mut self, e: impl Into<String>) {
        self.notice_source = None;
        self.notice = Some(Notice::Info(e.into()));
        self.notices_said += 1;
        self.notice_whole = false;
    }

    fn counter_error(&mut self, e: CounterError) {
        let text = e.localized(&self.locale);
        self.error(text);
        self.notice_source = Some(NoticeSource::Counter(e));
    }

    /// The iced update: `handle`, its jobs as Tasks, and the keyboard where the screen wants it.
    pub fn update(&mut self, message: Message) -> Task<Message> {
        if matches!(message, Message::Frame) {
            if self.screen != Screen::Sale {
                return Task::none();
            }
            if let Some(started) = STARTED.get() {
                eprintln!("sale screen drawn {} ms after start", started.elapsed().as_millis());
            }
            return iced::exit();
        }
        if let Message::FocusNext(forward) = message {
            return if forward { operation::focus_next() } else { operation::focus_previous() };
        }
        let before = self.focus_place();
        let lines_before = self.counter.sale().lines().len();
        let walked = matches!(message, Message::Walk(_));
        let jobs = self.handle(message);
        let mut tasks: Vec<Task<Message>> = jobs.into_iter().map(|job| Task::run(job, |m| m)).collect();
        // A new line is the one selected: the cart scrolls to it, so F2 and F4 never act on a
        // line the cashier cannot see.
        if self.counter.sale().lines().len() > lines_before {
            tasks.push(operation::snap_to_end(Id::new(CART)));
        } else if walked {
            // The arrows moved the selection: its row is scrolled into sight (rows of one
            // height sit in view at their relative place).
            let (list, at, len) = if self.results.is_empty() {
                (CART, self.counter.selected(), self.counter.sale().lines().len())
            } else {
                (RESULTS, self.result_cursor, self.results.len())
            };
            if let Some(i) = at {
                let y = if len > 1 { i as f32 / (len - 1) as f32 } else { 0.0 };
                tasks.push(operation::snap_to(Id::new(list), operation::RelativeOffset { x: 0.0, y }));
            }
        }
        // The counter's fields keep the keyboard whatever happens (a scanner types into them);
        // forms with several fields get it only when they open, or the next keystroke would
        // land in the first field again.
        let pinned = self.approval.is_some()
            || matches!(self.screen, Screen::SignIn | Screen::Sale | Screen::Payment | Screen::Refund);
        if pinned || self.focus_place() != before {
            tasks.push(operation::focus(Id::new(self.focus_target())));
        }
        Task::batch(tasks)
    }

    /// Where the keyboard should be: a change of screen, dialog, wizard page or form (the
    /// drawer count opening) gives it to that place's first field.
    fn focus_place(&self) -> (Screen, bool, Option<wizard::Page>, bool) {
        let counting = self.manager.as_ref().is_some_and(|m| m.count.is_some());
        (self.screen, self.approval.is_some(), self.wizard.as_ref().map(|w| w.page), counting)
    }

    /// The field that has the keyboard now: the scan field whenever the sale screen is up, so a
    /// scanner's keystrokes always land in it.
    pub fn focus_target(&self) -> &'static str {
        if self.approval.is_some() {
            return APPROVAL_PIN_FIELD;
        }
        match self.screen {
            Screen::SignIn => PIN_FIELD,
            Screen::Sale => SCAN_FIELD,
            Screen::Payment => CASH_FIELD,
            Screen::Refund => LOOKUP_FIELD,
            Screen::Manager => manager::FIELD,
            Screen::Setup => self.wizard.as_ref().map_or("", |w| wizard::focus(w.page)),
            Screen::Users => users::FIELD,
            Screen::Products => products::FIELD,
        }
    }

    /// F-keys and Escape, from anywhere (text fields do not take them).
    pub fn subscription(&self) -> Subscription<Message> {
        let keys = iced::event::listen_with(key_or_click);
        let keys = if self.devices.terminal.is_some() {
            // A thread's ticks (the thread-pool executor has no timers of its own).
            Subscription::batch([keys, Subscription::run(|| workers::ticks(TERMINAL_POLL, Message::PollTerminal))])
        } else {
            keys
        };
        // An open manager's screen locks itself when left alone.
        let keys = if self.manager.is_some() {
            let idle = || workers::ticks(manager::IDLE_CHECK, Message::Manager(manager::Msg::IdleCheck));
            Subscription::batch([keys, Subscription::run(idle)])
        } else {
            keys
        };
        // The head office's shipper, when the settings name one.
        let keys = match (&self.place, self.settings.as_ref().and_then(|s| s.head_office.as_ref())) {
            (Some(place), Some(ho)) => {
                let data = (crate::config::ledger_path(&place.data_dir), ho.clone(), self.locale.clone());
                let shipper = Subscription::run_with(data, |(path, ho, locale)| {
                    head_office::shipper(path.clone(), ho.clone(), locale.clone())
                });
                Subscription::batch([keys, shipper])
            }
            _ => keys,
        };
        // Versions waiting for the cart to empty look again every two seconds.
        let keys = if self.head_office_pending.waits() {
            let tick = || workers::ticks(head_office::PENDING_CHECK, Message::HeadOffice(head_office::Msg::Tick));
            Subscription::batch([keys, Subscription::run(tick)])
        } else {
            keys
        };
        if probing() { Subscription::batch([keys, iced::window::frames().map(|_| Message::Frame)]) } else { keys }
    }

    /// Applies a message; returns the jobs it started. A notice is about the last thing done:
    /// the cashier's next action clears it (and may say one of its own), and a screen left
    /// takes its notices with it — an answer arriving later (a card's, a posting's) stays.
    pub fn handle(&mut self, message: Message) -> Vec<Job> {
        let (screen, said) = (self.screen, self.notices_said);
        if message.is_action() {
            self.clear_notice();
        }
        // Work on the screens a manager's approval opened keeps that approval alive.
        if matches!(message, Message::Users(_) | Message::Products(_) | Message::Key(_))
            && let Some(m) = self.manager.as_mut()
        {
            m.last_used = std::time::Instant::now();
        }
        let jobs = self.dispatch(message);
        if self.screen != screen && self.notices_said == said {
            self.clear_notice();
        }
        jobs
    }

    fn dispatch(&mut self, message: Message) -> Vec<Job> {
        let l = self.locale.clone();
        let dialog = self.approval.is_some() || self.confirm.is_some();
        match message {
            // A dialog open has the keyboard: keys meant for the screen do nothing under it.
            Message::OpenManager | Message::Sale(sale::Msg::SaleDiscount) if dialog => return Vec::new(),
            // Shift+F5 is the sale screen's.
            Message::Sale(sale::Msg::SaleDiscount) if self.screen != Screen::Sale => return Vec::new(),
            Message::Walk(_) if self.confirm.is_some() => return Vec::new(),
            // A scan while a question is asked goes nowhere under it: refused aloud.
            Message::Sale(sale::Msg::ScanSubmitted | sale::Msg::AddSku(_)) if self.confirm.is_some() => {
                self.scan.clear();
                self.error_t("counter.answer_first");
                return Vec::new();
            }
            Message::Sale(sale::Msg::ScanChanged(_)) if self.confirm.is_some() => return Vec::new(),
            _ => {}
        }
        match message {
            Message::Key(key) => return self.key(key),
            Message::Dismiss => self.clear_notice(),
            Message::ShowNotice => self.notice_whole = self.notice.is_some(),
            Message::Done | Message::Frame | Message::FocusNext(_) | Message::Refocus => {}
            Message::Stray(typed) => return self.stray(typed),
            Message::OpenManager => {
                if self.counter.sale().lines().is_empty() {
                    self.ask_manager(Pending::Manager);
                } else {
                    self.counter_error(CounterError::CartNotEmpty);
                }
            }
            Message::Sale(msg) => return sale::update(self, msg),
            Message::Payment(msg) => return payment::update(self, msg),
            Message::Refund(msg) => return refund::update(self, msg),
            Message::Manager(msg) => return manager::update(self, msg),
            Message::OpenSetup => {
                if !self.counter.sale().lines().is_empty() {
                    self.counter_error(CounterError::CartNotEmpty);
                } else if self.training {
                    // A fresh till: nobody to ask yet, the wizard makes the first installer.
                    if self.place.is_some() {
                        return wizard::open(self, None);
                    }
                } else {
                    self.ask_manager(Pending::Setup);
                }
            }
            Message::Wizard(msg) => return wizard::update(self, msg),
            Message::OpenUsers => self.ask_manager(Pending::Users),
            Message::OpenProducts => self.ask_manager(Pending::Catalog),
            Message::Users(msg) => return users::update(self, msg),
            Message::Products(msg) => return products::update(self, msg),
            Message::HeadOffice(msg) => return head_office::update(self, msg),
            Message::Trainer(what) => {
                use crate::printer::emulator::{Paper, PaperControl};
                use crate::terminal::emulator::{Control, Scenario};
                let Some(controls) = &self.devices.training else { return Vec::new() };
                // A control whose emulator has stopped changes nothing; there is nothing to tell.
                let paper = |p| controls.paper.send(PaperControl::Set(p)).is_ok();
                let card = |s| controls.terminal.send(Control::Scenario(s)).is_ok();
                let _ = match what {
                    Trainer::PaperOk => paper(Paper::Ok),
                    Trainer::PaperNearEnd => paper(Paper::NearEnd),
                    Trainer::PaperOut => paper(Paper::Out),
                    Trainer::CardApproves => card(Scenario::Approve),
                    Trainer::CardDeclines => card(Scenario::Decline(0x05)),
                    Trainer::CustomerStops => card(Scenario::StopKey),
                };
                self.info(t(&format!("counter.trainer.done.{what:?}"), &l));
            }
            Message::ToggleLanguage => {
                self.locale = if self.locale == "en" { "zh-CN".into() } else { "en".into() };
                self.relocalize_notice();
                // Warnings made of words: said again in the new language, or disarmed (the next
                // Enter asks again) rather than armed and out of sight.
                if let Some(sku) = self.weighing.clone() {
                    self.ask_weight(sku);
                }
                self.cash_to_confirm = None;
            }
            Message::TogglePaper => self.show_paper = !self.show_paper,
            Message::Day(day) => self.day = day,
            Message::PollTerminal => {
                // Only when idle: never between a payment's steps (the worker queue would run it
                // after the payment anyway, but the status bar must not flicker while one runs).
                if self.terminal != TerminalState::Busy
                    && self.terminal != TerminalState::Connecting
                    && let Some(terminal) = &self.devices.terminal
                {
                    return vec![
                        terminal.call(|device| {
                            Message::TerminalPolled(device.terminal.status().map_err(|e| e.to_string()))
                        }),
                    ];
                }
            }
            Message::TerminalPolled(result) => {
                if self.terminal == TerminalState::Busy {
                    return Vec::new();
                }
                // Back after it was gone, or a payment's outcome still open: recovery asks it.
                let was_gone = self.terminal == TerminalState::Offline || self.card == CardState::Unknown;
                let back = result.is_ok();
                self.terminal = match result {
                    Ok(info) if info.status == Some(0xF0) => TerminalState::NeedsSettlement,
                    // Status Enquiry has no registration bit field: a terminal that needed
                    // setting up still does until it registers.
                    Ok(_) if self.terminal == TerminalState::NeedsSetup => TerminalState::NeedsSetup,
                    Ok(_) => TerminalState::Ready,
                    // On the status bar only ("terminal disconnected"); a payment says more.
                    Err(_) => TerminalState::Offline,
                };
                // Back after it was gone: a payment that was in flight is settled with it now.
                if was_gone
                    && back
                    && let Some(terminal) = &self.devices.terminal
                {
                    let ledger = self.devices.shared.clone();
                    return vec![terminal.call(move |device| {
                        let recovered = card::recover(&mut workers::lock(&ledger), &mut *device.terminal);
                        Message::Recovered(recovered.map_err(|e| e.to_string()))
                    })];
                }
            }
            Message::TerminalReady(result) => match result {
                Ok(info) => {
                    self.terminal = if info.status == Some(0xF0) {
                        TerminalState::NeedsSettlement
                    } else if !info.needs().is_empty() {
                        TerminalState::NeedsSetup
                    } else {
                        TerminalState::Ready
                    }
                }
                Err(e) => {
                    self.terminal = TerminalState::Offline;
                    self.error_words("counter.terminal_offline", vec![("detail", Arg::Plain(e))]);
                }
            },
            // ----- sign-in -----
            Message::PickUser(i) => {
                self.picked_user = Some(i).filter(|&i| i < self.users.len());
                self.pin.clear();
            }
            Message::PinChanged(pin) => {
                self.pin = pin.chars().filter(char::is_ascii_digit).take(8).collect();
            }
            Message::SignIn => {
                let Some(i) = self.picked_user else {
                    self.error_t("counter.pick_user");
                    return Vec::new();
                };
                if self.checking_pin {
                    return Vec::new();
                }
                self.checking_pin = true;
                let (user, pin) = (self.users[i].clone(), std::mem::take(&mut self.pin));
                // argon2 is slow on purpose, and a wrong PIN is counted: on the ledger's worker.
                return vec![self.devices.ledger.call(move |ledger| {
                    let checked = check_with_lockout(&mut workers::lock(ledger), &user, |u| u.check_pin(&pin));
                    Message::SignedIn(i, checked)
                })];
            }
            Message::SignedIn(i, result) => {
                self.checking_pin = false;
                match result {
                    Ok(()) => {
                        let user = self.users[i].clone();
                        // A sale brought back with payments on it opens where it was left.
                        let paying = matches!(self.counter.sale().state(), SaleState::Tendering | SaleState::Paid);
                        if !paying || self.counter.in_progress().is_none() {
                            self.clear_notice();
                        }
                        self.screen = if paying { Screen::Payment } else { Screen::Sale };
                        let audit = self.audit("sign_in", vec![("user", user.id.clone())]);
                        self.counter.sign_in(user);
                        return vec![audit];
                    }
                    Err(e) => self.error(e.localized(&l)),
                }
            }
            Message::SignOut => match self.counter.sign_out().inspect(|_| self.weighing = None) {
                Ok(()) => {
                    self.screen = Screen::SignIn;
                    self.picked_user = None;
                    // Approvals end with the session that got them.
                    self.manager = None;
                    self.users_admin = None;
                    self.products = None;
                }
                Err(e) => self.counter_error(e),
            },
            Message::Walk(step) => self.walk(step),
            Message::CancelConfirm => self.confirm = None,
            Message::Confirmed => match self.confirm.take() {
                Some(Confirm::VoidSale) if self.counter.sale_void_needs_approval() => {
                    self.ask_manager(Pending::VoidSale)
                }
                Some(Confirm::VoidSale) => return self.void_sale(None),
                Some(Confirm::CloseDay) => return self.handle(Message::Manager(manager::Msg::CloseDayNow)),
                None => {}
            },
            Message::PrintQueued => return self.print_queued(),
            Message::CardStatus(code) => {
                if matches!(self.card, CardState::Running(_)) {
                    self.card = CardState::Running(status_text(code, &l));
                }
            }
            Message::CardDone(result) => return self.card_done(result),
            Message::Recovered(result) => return self.recovered(result),
            // ----- approval -----
            Message::ApprovalUser(i) => {
                if let Some(a) = &mut self.approval {
                    a.user = Some(i).filter(|&i| i < self.users.len());
                    a.pin.clear();
                }
            }
            Message::ApprovalPin(pin) => {
                if let Some(a) = &mut self.approval {
                    a.pin = pin.chars().filter(char::is_ascii_digit).take(8).collect();
                }
            }
            Message::Approve => {
                let Some(a) = &mut self.approval else { return Vec::new() };
                let Some(i) = a.user else { return Vec::new() };
                if a.checking {
                    return Vec::new();
                }
                a.checking = true;
                let (user, pin, permission) =
                    (self.users[i].clone(), std::mem::take(&mut a.pin), a.pending.permission());
                return vec![self.devices.ledger.call(move |ledger| {
                    let mut approval = None;
                    let checked = check_with_lockout(&mut workers::lock(ledger), &user, |u| {
                        auth::approve(u, &pin, permission).map(|a| approval = Some(a))
                    });
                    Message::Approved(checked.and_then(|()| approval.ok_or(AuthError::WrongPin)))
                })];
            }
            Message::Approved(result) => return self.approved(result),
            Message::CancelApproval => self.approval = None,
            // ----- workers -----
            Message::Posted(id, result, in_progress) => return self.posted(id, result, in_progress),
            Message::InProgress(id) => self.counter.set_in_progress(id),
            Message::ParkedSaved(key, id) => {
                if !self.counter.set_parked_in_progress(key, id) {
                    // Voided or posted before its copy was written: the copy holds no money.
                    return vec![self.devices.ledger.call(move |ledger| {
                        let _ = workers::lock(ledger).discard_in_progress(id);
                        Message::Done
                    })];
                }
            }
            Message::Held(id, held) => return self.held(id, held),
            Message::RefundSourceFor(id, source) => match source {
                Ok(source) if self.counter.in_progress() == Some(id) => self.counter.restore_refund_source(source),
                Ok(_) => {}
                Err(e) => self.error(e),
            },
            Message::Resumed(result) => return self.resumed(result),
            Message::Reversed(done, error, unknown) => return self.reversed(done, error, unknown),
            Message::Printed(report) => {
                self.printer = report.printer;
                self.paper.extend(report.paper);
                if self.paper.len() > 20 {
                    self.paper.drain(..self.paper.len() - 20);
                }
                if let Some(waiting) = report.waiting {
                    self.queued_prints = waiting;
                }
                match report.problem {
                    Some(key) => {
                        crate::log::event(&format!("print not done: {key}"));
                        if report.waiting.is_none() {
                            self.queued_prints += 1;
                        }
                        self.error_words("counter.not_printed", vec![("reason", Arg::Key(key))]);
                    }
                    None if report.printer == PrinterState::PaperLow => self.info_t("counter.paper_low"),
                    None => {}
                }
                // A no-sale before the day's first sale opened the day: the status bar says so.
                if self.day.is_none() {
                    return vec![self.read_day()];
                }
            }
        }
        Vec::new()
    }

    fn ask_manager(&mut self, pending: Pending) {
        // A manager already signed in at the counter still confirms with their PIN.
        let user = self.users.iter().position(|u| u.role.may(pending.permission()));
        self.approval = Some(ApprovalRequest { pending, user, pin: String::new(), checking: false });
    }

    fn approved(&mut self, result: Result<Approval, AuthError>) -> Vec<Job> {
        let l = self.locale.clone();
        let Some(request) = self.approval.take() else { return Vec::new() };
        let approval = match result {
            Ok(a) => a,
            Err(e) => {
                self.error(e.localized(&l));
                // Stay on the approval, PIN cleared, to try again or cancel.
                self.approval = Some(ApprovalRequest { checking: false, pin: String::new(), ..request });
                return Vec::new();
            }
        };
        let audit = self.audit(
            "approval",
            vec![("by", approval.by().to_string()), ("permission", format!("{:?}", approval.permission()))],
        );
        let mut jobs = vec![audit];
        let done = match &request.pending {
            Pending::VoidLine => {
                let mut what = self.selected_line_audit();
                what.push(("approved_by", approval.by().to_string()));
                let done = self.counter.void_line(Some(&approval));
                if done.is_ok() {
                    jobs.push(self.audit("void_line", what));
                }
                done
            }
            Pending::VoidSale => {
                jobs.extend(self.void_sale(Some(approval.clone())));
                Ok(())
            }
            Pending::Quantity(text) => self.counter.set_quantity(text, Some(&approval)),
            Pending::Refund => {
                let chosen = self.refund_quantities.clone();
                self.counter.refund_lines(&chosen, Some(&approval)).map(|()| {
                    self.screen = Screen::Payment;
                    self.card = CardState::Idle;
                })
            }
            Pending::Price(text) => self.counter.override_price(text, Some(&approval)),
            Pending::Discount(text, whole) => self.counter.discount(text, *whole, Some(&approval)),
            Pending::CashRefund(all) => match self.counter.refund_cash(*all, Some(&approval)) {
                Ok(_) => {
                    jobs.extend(self.finish_if_paid());
                    Ok(())
                }
                Err(e) => Err(e),
            },
            Pending::NoSale => {
                jobs.extend(self.no_sale(approval.by()));
                Ok(())
            }
            Pending::Manager => {
                jobs.extend(manager::open(self, approval.clone()));
                Ok(())
            }
            Pending::Setup => {
                self.manager = None;
                jobs.extend(wizard::open(self, Some(approval)));
                Ok(())
            }
            Pending::Users => {
                users::open(self, approval);
                Ok(())
            }
            Pending::Catalog => {
                products::open(self, approval);
                Ok(())
            }
        };
        if let Err(e) = done {
            self.counter_error(e);
        }
        jobs
    }

    /// An audit entry in the journal (sign-ins, approvals, voided carts), off the update loop.
    /// The selected line as an audit entry has it: SKU, quantity, amount.
    fn selected_line_audit(&self) -> Vec<(&'static str, String)> {
        let sale = self.counter.sale();
        let Some(i) = self.counter.selected() else { return Vec::new() };
        let (Some(line), Some(totals)) = (sale.lines().get(i), sale.totals().lines.get(i).cloned()) else {
            return Vec::new();
        };
        vec![
            ("sku", line.sku.clone()),
            ("quantity", line.quantity.normalize().to_string()),
            ("amount", totals.amount.minor().to_string()),
        ]
    }

    fn audit(&self, kind: &'static str, mut fields: Vec<(&'static str, String)>) -> Job {
        if let Some(c) = self.counter.cashier() {
            fields.push(("cashier", c.id.clone()));
        }
        self.devices.ledger.call(move |ledger| {
            // An audit entry that cannot be written is not a reason to stop the counter; the
            // ledger's own error shows on the next posting.
            let mut ledger = workers::lock(ledger);
            let _ = ledger.append(kind, &fields, Utc::now());
            // One the reports count may have opened the day: the status bar says which.
            if crate::ledger::COUNTED_IN_DAY.contains(&kind) { day_message(&ledger) } else { Message::Done }
        })
    }

    fn find_sale(&self, receipt_no: i64) -> Job {
        let (l, training) = (self.locale.clone(), self.training);
        self.devices.ledger.call(move |ledger| {
            Message::Refund(refund::Msg::Found(Box::new(
                match refund_source(&workers::lock(ledger), receipt_no, training) {
                    Ok(source) if source.record.kind == "refund" => {
                        Err(rust_i18n::t!("counter.refund_of_refund", locale = &l).into_owned())
                    }
                    Ok(source) => Ok(source),
                    Err(e) => Err(e.localized(&l)),
                },
            )))
        })
    }

    fn start_card(&mut self) -> Vec<Job> {
        let l = self.locale.clone();
        if self.card != CardState::Idle {
            return Vec::new();
        }
        let Some(terminal) = &self.devices.terminal else {
            self.error_t("counter.no_terminal");
            return Vec::new();
        };
        let op = if self.counter.sale().kind() == SaleKind::Refund {
            match self.counter.card_refund() {
                Some(CardRefund::Reverse { terminal_receipt, amount_minor }) => {
                    (CardOp::Reverse(terminal_receipt), amount_minor)
                }
                Some(CardRefund::Refund { amount_minor, of_receipt }) => (CardOp::Refund(of_receipt), amount_minor),
                None => {
                    self.counter_error(CounterError::RefundTenderMismatch);
                    return Vec::new();
                }
            }
        } else {
            let amount = self.counter.card_amount();
            if !amount.is_positive() {
                return Vec::new();
            }
            (CardOp::Pay, amount.minor() as u64)
        };
        self.card = CardState::Running(t("counter.card_started", &l));
        self.terminal = TerminalState::Busy;
        let ledger = self.devices.shared.clone();
        let (sale, in_progress) = (self.counter.sale().clone(), self.counter.in_progress());
        // A refund that is not a reversal (another day, or part of the payment) goes to whatever
        // card is put in the PIN pad: it must be the one that paid.
        let paid_by = match op.0 {
            CardOp::Refund(_) => self.counter.refund_source().and_then(|s| s.card()).cloned(),
            _ => None,
        };
        vec![terminal.stream(move |device, out| {
            let statuses = out.sender();
            device.on_status(Box::new(move |code| {
                let _ = statuses.unbounded_send(Message::CardStatus(code));
            }));
            let mut ledger = workers::lock(&ledger);
            // The cart and its tenders so far are written before any money moves: a crash from
            // here on brings the sale back with whatever the terminal booked for it.
            let id = match ledger.save_in_progress(in_progress, "counter", &sale, Utc::now()) {
                Ok(id) => id,
                Err(e) => {
                    out.send(Message::CardDone(Err(e.localized(&l))));
                    return;
                }
            };
            out.send(Message::InProgress(id));
            let reference = crate::ledger::in_progress::reference_of(id);
            let mut result =
                card::run(&mut ledger, &mut *device.terminal, op.0, op.1, &reference).map_err(|e| e.localized(&l));
            if let (Some(original), Ok(card::CardPayment { outcome: Outcome::Approved(to), .. })) = (&paid_by, &result)
                && !card::same_card(&ledger, original, to).unwrap_or(false)
            {
                // Credited to another card (the cashier's own?): taken back at once, refused.
                let undo = card::run(
                    &mut ledger,
                    &mut *device.terminal,
                    CardOp::Reverse(to.receipt_no),
                    to.amount_minor,
                    &reference,
                );
                let reversed = matches!(undo, Ok(card::CardPayment { outcome: Outcome::Approved(_), .. }));
                crate::log::event(&format!("card refund went to a card that did not pay; reversed: {reversed}"));
                let _ = ledger.append(
                    crate::dayclose::REFUND_OTHER_CARD,
                    &[
                        ("reference", reference.clone()),
                        ("masked_pan", to.masked_pan.clone()),
                        ("reversed", reversed.to_string()),
                    ],
                    Utc::now(),
                );
                // Not reversed (declined, or its outcome open): the money went to that card and
                // the refund stands as booked; the manager sees it among the Z's risks.
                if reversed {
                    result = Err(rust_i18n::t!("counter.refund_wrong_card", locale = &l).into_owned());
                }
            }
            drop(ledger);
            device.on_status(Box::new(|_| {}));
            out.send(Message::CardDone(result));
        })]
    }

    fn card_done(&mut self, result: Result<card::CardPayment, String>) -> Vec<Job> {
        self.card = CardState::Idle;
        self.terminal = TerminalState::Ready;
        if let Some(abort) = &self.devices.abort {
            abort.store(false, Ordering::SeqCst);
        }
        let payment = match result {
            Ok(p) => p,
            Err(e) => {
                self.error_words("counter.card_error", vec![("detail", Arg::Plain(e))]);
                return Vec::new();
            }
        };
        // The log keeps the outcome and its code, never the card.
        crate::log::event(&format!("card intent {}: {}", payment.intent_id, outcome_word(&payment.outcome)));
        match payment.outcome {
            Outcome::Approved(approval) => match self.counter.tender_card(&approval) {
                Ok(()) => {
                    let key = if self.counter.sale().kind() == SaleKind::Refund {
                        "counter.card_refunded"
                    } else {
                        "counter.card_approved"
                    };
                    let amount = Money::of_minor(approval.amount_minor as i64, self.counter.store().currency);
                    self.info_words(
                        key,
                        vec![
                            ("card", Arg::Plain(approval.card_name.clone())),
                            ("amount", Arg::Plain(theme::money(amount))),
                        ],
                    );
                    return self.finish_if_paid();
                }
                Err(e) => self.counter_error(e),
            },
            Outcome::Declined { code } => {
                self.error_words("counter.card_declined", vec![("reason", Arg::CardResult(code))]);
            }
            Outcome::Aborted { code } => {
                self.error_words("counter.card_aborted", vec![("reason", Arg::CardResult(code))]);
            }
            Outcome::IdentityMismatch { .. } => self.error_t("counter.card_identity"),
            Outcome::Unknown { .. } => {
                self.card = CardState::Unknown;
                self.error_t("counter.card_unknown");
            }
        }
        Vec::new()
    }

    fn recovered(&mut self, result: Result<Vec<Resolution>, String>) -> Vec<Job> {
        if self.terminal == TerminalState::Busy {
            self.terminal = TerminalState::Ready;
        }
        let resolutions = match result {
            Ok(r) => r,
            Err(e) => {
                self.error_words("counter.card_error", vec![("detail", Arg::Plain(e))]);
                return Vec::new();
            }
        };
        self.card = CardState::Idle;
        for resolution in resolutions {
            match resolution.verdict {
                // Whether it was this sale's is the ledger's to say (`Message::Held` follows).
                card::Verdict::Booked(_) => self.info_t("counter.recovered_other"),
                card::Verdict::NotBooked => self.info_t("counter.recovered_not_booked"),
                card::Verdict::Unknown => {
                    self.card = CardState::Unknown;
                    self.error_t("counter.recovered_unknown");
                }
            }
        }
        Vec::new()
    }

    /// The card payments the ledger holds for the current sale in progress, after recovery: a
    /// payment the terminal booked is on the sale after all.
    fn held(&mut self, id: i64, held: Vec<crate::ledger::HeldCard>) -> Vec<Job> {
        if self.counter.in_progress() != Some(id) {
            return Vec::new();
        }
        match self.counter.reconcile_cards(&held) {
            Ok(true) => {
                self.info_t("counter.recovered_booked");
                self.finish_if_paid()
            }
            Ok(false) => Vec::new(),
            Err(e) => {
                self.counter_error(e);
                Vec::new()
            }
        }
    }

    /// When the sale is paid: post it, print its receipt, and show the next customer's empty cart.
    fn finish_if_paid(&mut self) -> Vec<Job> {
        let Some((sale, in_progress)) = self.counter.take_paid() else { return Vec::new() };
        let change: i64 = sale.tenders().iter().filter(|t| t.kind == TenderKind::Cash).map(|t| t.change.minor()).sum();
        self.last_change = Money::from_minor(change, sale.currency()).ok().filter(|_| change > 0);
        self.screen = Screen::Sale;
        self.cash.clear();
        self.refund_quantities.clear();
        // Done: what went wrong on the way (a decline before the cash, a refused refund step)
        // is no longer the news.
        if matches!(self.notice, Some(Notice::Error(_))) {
            self.clear_notice();
        }
        // A refund ends with what went back and how: the cashier hands over the cash share.
        if sale.kind() == SaleKind::Refund {
            let [card, cash, other] = [
                sale.tendered(|k| matches!(k, TenderKind::Card(_))),
                sale.tendered(|k| matches!(k, TenderKind::Cash)),
                sale.tendered(|k| matches!(k, TenderKind::External { .. })),
            ];
            let amount = |m: i64| Arg::Plain(theme::money(Money::of_minor(m, sale.currency())));
            let mut args = vec![
                ("total", Arg::Plain(theme::money(sale.totals().total.abs()))),
                ("card", amount(card)),
                ("cash", amount(cash)),
            ];
            let key = if other > 0 {
                args.push(("other", amount(other)));
                "counter.refund_done_other"
            } else {
                "counter.refund_done"
            };
            self.info_words(key, args);
        }
        vec![self.post_new(sale, in_progress)]
    }

    fn post_new(&mut self, sale: Sale, in_progress: Option<i64>) -> Job {
        self.next_posting += 1;
        let id = self.next_posting;
        self.posting.push(Posting { id, sale: sale.clone(), in_progress, refused: false });
        self.post(id, sale, in_progress)
    }

    /// Posts a paid sale (ending its sale in progress in the same transaction). A refused post
    /// keeps the sale durably as a sale in progress, to be posted again (at the next sale, or
    /// the next start).
    fn post(&self, id: u64, mut sale: Sale, in_progress: Option<i64>) -> Job {
        let ctx = PostContext {
            cashier: self.counter.cashier().map_or_else(String::new, |c| c.id.clone()),
            training: self.training,
        };
        let l = self.locale.clone();
        self.devices.ledger.call(move |ledger| {
            let mut ledger = workers::lock(ledger);
            let posted = match in_progress {
                Some(sip) => ledger.post_in_progress(sip, &mut sale, &ctx, Utc::now()),
                None => ledger.post_sale(&mut sale, &ctx, Utc::now()),
            };
            // Refused: the paid sale is kept durably (its copy updated with every tender).
            let kept = match &posted {
                Err(_) => ledger.save_in_progress(in_progress, "counter", &sale, Utc::now()).ok().or(in_progress),
                Ok(_) => in_progress,
            };
            Message::Posted(id, posted.map_err(|e| e.localized(&l)), kept)
        })
    }

    fn posted(&mut self, id: u64, result: Result<Posted, String>, in_progress: Option<i64>) -> Vec<Job> {
        match result {
            Ok(posted) => {
                self.posting.retain(|p| p.id != id);
                self.last_receipt = Some(posted.receipt_no);
                let mut jobs = self.print(posted.receipt_no, false);
                if self.day.as_ref().is_none_or(|(d, _)| *d != posted.day_no) {
                    jobs.push(self.read_day());
                }
                // The ledger takes sales again: those it refused before go now.
                jobs.extend(self.retry_posting());
                jobs
            }
            Err(e) => {
                // The paid sale stays here (and in the ledger as a sale in progress), shown on
                // screen, and is posted again after the next sale that posts, or at the next start.
                if let Some(p) = self.posting.iter_mut().find(|p| p.id == id) {
                    p.in_progress = in_progress;
                    p.refused = true;
                }
                self.error_words("counter.not_posted", vec![("detail", Arg::Plain(e))]);
                Vec::new()
            }
        }
    }

    /// Posts again the paid sales the ledger refused (a full disk, say).
    pub fn retry_posting(&mut self) -> Vec<Job> {
        let mut jobs = Vec::new();
        for i in 0..self.posting.len() {
            if self.posting[i].refused {
                self.posting[i].refused = false;
                let p = &self.posting[i];
                jobs.push(self.post(p.id, p.sale.clone(), p.in_progress));
            }
        }
        jobs
    }

    /// Sales in progress a crash or a closed window left, brought back: a paid one is posted at
    /// once; an open one is the cart again (with the card payments the terminal booked for it);
    /// parked ones are parked again.
    fn resumed(&mut self, result: Result<Vec<crate::resume::Resumed>, String>) -> Vec<Job> {
        let l = self.locale.clone();
        let resumed = match result {
            Ok(r) => r,
            Err(e) => {
                self.error(e);
                return Vec::new();
            }
        };
        let mut jobs = Vec::new();
        for r in resumed {
            let paid = r.sale.state() == SaleState::Paid;
            if paid && self.counter.in_progress().is_some() {
                // A sale the ledger refused to post before: it goes now.
                jobs.push(self.post_new(r.sale, Some(r.id)));
            } else if let Some(receipt) = r.sale.refund_of() {
                if !self.counter.restore(r.id, r.sale) {
                    continue;
                }
                // A refund being made: its original sale again, to finish it as it was begun.
                let (id, l2, training) = (r.id, l.clone(), self.training);
                jobs.push(self.devices.ledger.call(move |ledger| {
                    Message::RefundSourceFor(
                        id,
                        refund_source(&workers::lock(ledger), receipt, training).map_err(|e| e.localized(&l2)),
                    )
                }));
                if !r.open_intents.is_empty() {
                    self.card = CardState::Unknown;
                }
                self.info_t("counter.resumed");
            } else if self.counter.restore(r.id, r.sale) {
                if !r.open_intents.is_empty() {
                    // A card payment of it is still open: nothing else is taken until it is settled.
                    self.card = CardState::Unknown;
                }
                // The cashier sees it with what was paid on it after signing in, and completes
                // or voids it.
                if self.screen != Screen::SignIn
                    && matches!(self.counter.sale().state(), SaleState::Tendering | SaleState::Paid)
                {
                    self.screen = Screen::Payment;
                }
                self.info(t(if paid { "counter.resumed_paid" } else { "counter.resumed" }, &l));
            }
        }
        jobs
    }

    /// Reverses the current sale's card payments at the terminal, one after the other (a void).
    fn reverse_cards(&mut self) -> Vec<Job> {
        let l = self.locale.clone();
        let Some(terminal) = &self.devices.terminal else {
            self.error_t("counter.no_terminal");
            return Vec::new();
        };
        if self.card != CardState::Idle {
            return Vec::new();
        }
        let cards: Vec<(u32, u32, i64)> = self
            .counter
            .sale()
            .tenders()
            .iter()
            .filter_map(|t| match &t.kind {
                TenderKind::Card(c) => Some((c.receipt_no, c.trace, t.amount.minor())),
                _ => None,
            })
            .collect();
        let reference = self.counter.in_progress().map(crate::ledger::in_progress::reference_of);
        let ledger = self.devices.shared.clone();
        self.card = CardState::Running(t("counter.reversing", &l));
        self.terminal = TerminalState::Busy;
        vec![terminal.call(move |device| {
            let mut ledger = workers::lock(&ledger);
            let mut done = Vec::new();
            for (receipt, trace, amount) in cards {
                let reference = reference.clone().unwrap_or_else(|| format!("void {receipt}"));
                // Out of range becomes a number `card::run` refuses, never a wrapped one.
                let op = CardOp::Reverse(u16::try_from(receipt).unwrap_or(u16::MAX));
                match card::run(&mut ledger, &mut *device.terminal, op, amount.unsigned_abs(), &reference) {
                    Ok(card::CardPayment { outcome: Outcome::Approved(_), .. }) => done.push((receipt, trace)),
                    Ok(other) => {
                        let unknown = matches!(other.outcome, Outcome::Unknown { .. });
                        let why = outcome_word(&other.outcome).to_string();
                        return Message::Reversed(done, Some(why), unknown);
                    }
                    Err(e) => return Message::Reversed(done, Some(e.localized(&l)), false),
                }
            }
            Message::Reversed(done, None, false)
        })]
    }

    /// Voids the current sale (asked first and, above the threshold, approved): its card
    /// payments are reversed at the terminal first, then the rest is handed back.
    fn void_sale(&mut self, approval: Option<Approval>) -> Vec<Job> {
        let total = self.counter.sale().totals().total;
        if self.counter.has_card_tender() {
            // The customer's card payments go back first: reversed at the terminal.
            self.void_approval = approval;
            return self.reverse_cards();
        }
        match self.counter.void_sale(approval.as_ref()) {
            Ok((_, in_progress)) => {
                self.screen = Screen::Sale;
                self.info_t("counter.voided");
                let mut jobs = vec![self.audit("void_cart", vec![("total", total.minor().to_string())])];
                if let Some(id) = in_progress {
                    jobs.push(self.devices.ledger.call(move |ledger| {
                        let _ = workers::lock(ledger).discard_in_progress(id);
                        Message::Done
                    }));
                }
                jobs
            }
            Err(e) => {
                self.counter_error(e);
                Vec::new()
            }
        }
    }

    fn reversed(&mut self, done: Vec<(u32, u32)>, error: Option<String>, unknown: bool) -> Vec<Job> {
        // A reversal the line lost may have happened: settle it before anything else is taken.
        self.card = if unknown { CardState::Unknown } else { CardState::Idle };
        self.terminal = TerminalState::Ready;
        for (receipt, trace) in done {
            self.counter.card_reversed(receipt, trace);
        }
        match error {
            Some(e) => {
                self.error_words("counter.reversal_failed", vec![("detail", Arg::Plain(e))]);
                Vec::new()
            }
            // Every card payment went back, and the cash is handed back: now the sale is void.
            None => {
                let approval = self.void_approval.take();
                self.void_sale(approval)
            }
        }
    }

    fn print(&self, receipt_no: i64, copy: bool) -> Vec<Job> {
        let Some(printer) = &self.devices.printer else { return Vec::new() };
        let ledger = self.devices.shared.clone();
        let store = self.counter.store().clone();
        vec![printer.call(move |device| {
            let before = device.printed_count();
            // The receipt and its card slips, kept before anything is sent.
            let (results, drawer_shut) =
                match crate::print_queue::print_sale(&*ledger, &mut *device.port, &store, receipt_no, copy) {
                    Ok(printed) => {
                        let mut results = vec![printed.result];
                        results.extend(printed.slips.into_iter().map(|(_, result)| result));
                        (results, printed.drawer_shut)
                    }
                    Err(e) => return print_failure(&e),
                };
            let mut printed = report(&results, device.printed_since(before));
            printed.waiting = waiting(&ledger);
            if drawer_shut {
                // Cash changed hands and the printer could not take the drawer's pulse.
                printed.problem = Some("printer.drawer_shut".into());
            }
            Message::Printed(printed)
        })]
    }

    fn print_queued(&mut self) -> Vec<Job> {
        let Some(printer) = &self.devices.printer else { return Vec::new() };
        self.queued_prints = 0;
        let ledger = self.devices.shared.clone();
        let store = self.counter.store().clone();
        vec![printer.call(move |device| {
            let before = device.printed_count();
            match crate::print_queue::retry_pending(&*ledger, &mut *device.port, &store) {
                Ok(done) => {
                    let results: Vec<JobResult> = done.into_iter().map(|(_, r)| r).collect();
                    let mut printed = report(&results, device.printed_since(before));
                    printed.waiting = waiting(&ledger);
                    Message::Printed(printed)
                }
                Err(e) => print_failure(&e),
            }
        })]
    }

    fn no_sale(&self, by: &str) -> Vec<Job> {
        let Some(printer) = &self.devices.printer else { return Vec::new() };
        let ledger = self.devices.shared.clone();
        let store = self.counter.store().clone();
        let by = by.to_string();
        vec![printer.call(move |device| {
            match crate::print_queue::no_sale(&*ledger, &mut *device.port, &store, &by, "counter") {
                Ok(result) => Message::Printed(report(&[result], Vec::new())),
                Err(e) => print_failure(&e),
            }
        })]
    }

    pub fn view(&self) -> Element<'_, Message> {
        let body = match self.screen {
            Screen::SignIn => sign_in::view(self),
            Screen::Sale => sale::view(self),
            Screen::Payment => payment::view(self),
            Screen::Refund => refund::view(self),
            Screen::Manager => manager::view(self),
            Screen::Setup => wizard::view(self),
            Screen::Users => users::view(self),
            Screen::Products => products::view(self),
        };
        chrome::frame(self, column![body].into())
    }
}

fn outcome_word(o: &Outcome) -> String {
    match o {
        Outcome::Approved(_) => "approved".into(),
        Outcome::Declined { code } => format!("declined {code:02X}"),
        Outcome::Aborted { code } => format!("aborted {code:02X}"),
        Outcome::IdentityMismatch { .. } => "merchant identity mismatch".into(),
        Outcome::Unknown { .. } => "outcome unknown".into(),
    }
}

use crate::admin::check_with_lockout;

/// How many print jobs wait in the ledger (None if it cannot say).
fn waiting(ledger: &workers::SharedLedger) -> Option<usize> {
    workers::lock(ledger).pending_print_jobs().ok().map(|jobs| jobs.len())
}

pub(crate) fn report(results: &[JobResult], paper: Vec<String>) -> PrintReport {
    let mut report = PrintReport { printer: PrinterState::Ok, problem: None, paper, waiting: None };
    for result in results {
        let (status, problem) = match result {
            // Printed, but the cutter jammed at its end: the cashier frees it and tears off.
            JobResult::Printed { after } => (after, after.cutter_error.then_some("printer.cutter_error")),
            JobResult::Refused { before } => (before, before.problem_key().or(Some("printer.error"))),
            JobResult::Incomplete { after } => (after, after.problem_key().or(Some("printer.error"))),
        };
        report.printer = PrinterState::from_status(status);
        if let Some(p) = problem {
            report.problem = Some(p.to_string());
        }
    }
    report
}

pub(crate) fn print_failure(e: &crate::print_queue::PrintError) -> Message {
    let offline = matches!(e, crate::print_queue::PrintError::Io(_));
    Message::Printed(PrintReport {
        printer: if offline { PrinterState::Offline } else { PrinterState::Unknown },
        problem: Some("printer.error".into()),
        paper: Vec::new(),
        waiting: None,
    })
}

/// The keys the till answers whatever has the keyboard: the F-keys and Escape, as
/// `Message::Key` for the screen showing to interpret (README lists what each means where).
pub fn shortcut(key: Named) -> Option<Message> {
    use Named::*;
    matches!(key, F1 | F2 | F3 | F4 | F5 | F6 | F7 | F8 | F9 | F10 | F11 | F12 | Escape).then_some(Message::Key(key))
}

/// What a key or a click means before any screen's field sees it (the window's subscription).
/// F-keys and Escape whatever has the keyboard (a field that takes Escape to let go of the
/// keyboard must not make the next Escape mean something else); Tab when no field took it;
/// typed text and Enter that no field took — a scanner's keys after a click beside the fields —
/// as stray input, which the screen routes or refuses, never drops; a click anywhere, so the
/// screen gives the keyboard back to its field.
pub fn key_or_click(event: iced::Event, status: iced::event::Status, _window: iced::window::Id) -> Option<Message> {
    use iced::event::Status;
    let iced::Event::Keyboard(keyboard::Event::KeyPressed { key, modifiers, text, .. }) = event else {
        return match event {
            iced::Event::Mouse(iced::mouse::Event::ButtonReleased(_)) => Some(Message::Refocus),
            _ => None,
        };
    };
    let free = status == Status::Ignored;
    match key {
        Key::Named(Named::F1) if modifiers.shift() => Some(Message::OpenManager),
        Key::Named(Named::F5) if modifiers.shift() => Some(Message::Sale(sale::Msg::SaleDiscount)),
        Key::Named(Named::ArrowUp) => Some(Message::Walk(-1)),
        Key::Named(Named::ArrowDown) => Some(Message::Walk(1)),
        Key::Named(Named::Tab) if free => Some(Message::FocusNext(!modifiers.shift())),
        Key::Named(Named::Enter) if free => Some(Message::Stray(None)),
        Key::Named(Named::Space) if free => Some(Message::Stray(Some(" ".into()))),
        Key::Named(named) => shortcut(named),
        _ if free && !modifiers.control() && !modifiers.alt() && !modifiers.logo() => {
            let typed: String = text?.chars().filter(|c| !c.is_control()).collect();
            (!typed.is_empty()).then_some(Message::Stray(Some(typed)))
        }
        _ => None,
    }
}

/// Opens the window. The screen's language is `--lang` if given, else the store's setting.
/// Nothing configured: training mode, with both emulators in process and the demo catalog.
pub fn run(
    data_dir: PathBuf,
    config_path: PathBuf,
    store: StoreSettings,
    requested_locale: Option<&str>,
    settings: Option<crate::config::settings::Settings>,
) -> ExitCode {
    mark_start();
    let locale = requested_locale.map_or_else(|| store.screen_locale.clone(), |l| config::pick_locale(Some(l)));
    let training = settings.is_none();
    let opened = match &settings {
        None => Devices::training(&data_dir.join(TRAINING_DIR), &store).map(|d| (d, Vec::new())),
        Some(s) => Devices::configured(&data_dir, s),
    };
    crate::log::init(&data_dir);
    crate::log::event(if training { "start: training mode" } else { "start: configured" });
    let (devices, missing) = match opened {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{}", e.localized(&locale));
            return ExitCode::FAILURE;
        }
    };
    for m in &missing {
        crate::log::event(&format!("device not opened: {m}"));
    }
    let missing: Vec<String> = missing
        .into_iter()
        .map(|m| rust_i18n::t!("counter.device_error", locale = &locale, detail = m).into_owned())
        .collect();
    let catalog = devices.catalog.clone();
    let counter = Counter::new(store, catalog);
    let users = workers::lock(&devices.shared).users().unwrap_or_default();
    if users.is_empty() {
        eprintln!("{}", rust_i18n::t!("users.none", locale = &locale));
        return ExitCode::from(2);
    }
    let place = Place { config_path, data_dir: data_dir.clone() };
    let mut till =
        Till::new(&locale, training, counter, users, devices).with_place(place, settings, Default::default());
    till.bell = true;
    if let Some(first) = missing.first() {
        till.error(first.clone());
    }
    let slot = std::sync::Mutex::new(Some(till));
    let result = iced::application(
        move || {
            let till = slot.lock().ok().and_then(|mut s| s.take()).expect("the application is built once");
            let jobs = till.start();
            let mut tasks: Vec<Task<Message>> = jobs.into_iter().map(|j| Task::run(j, |m| m)).collect();
            tasks.push(operation::focus(Id::new(till.focus_target())));
            if probing() {
                // The demo cashier signs in at once: the probe times start-up to the sale screen.
                tasks.push(Task::done(Message::PickUser(0)));
                tasks.push(Task::done(Message::PinChanged(auth::DEMO_CASHIER_PIN.into())));
                tasks.push(Task::done(Message::SignIn));
            }
            (till, Task::batch(tasks))
        },
        Till::update,
        Till::view,
    )
    .subscription(Till::subscription)
    .title(|_: &Till| String::from("till 收银台"))
    .font(CJK_FONT_BYTES)
    .default_font(CJK_FONT)
    .window_size((1024.0, 768.0))
    .run();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// The counter's sales in progress as the ledger holds them (after recovery settled what the
/// terminal could tell).
fn resume_counter(
    ledger: &std::sync::Arc<std::sync::Mutex<crate::ledger::Ledger>>,
    settings: &crate::sale::SaleSettings,
    locale: &str,
) -> Result<Vec<crate::resume::Resumed>, String> {
    // The ones that read back are restored; the first that does not is shown (it stays stored).
    match crate::resume::resume_each(&workers::lock(ledger), settings, "counter") {
        Ok((resumed, failed)) if failed.is_empty() || !resumed.is_empty() => {
            if let Some((id, e)) = failed.first() {
                crate::log::event(&format!("sale in progress {id} not brought back: {e}"));
            }
            Ok(resumed)
        }
        Ok((_, failed)) => Err(failed.first().map(|(_, e)| e.localized(locale)).unwrap_or_default()),
        Err(e) => Err(e.localized(locale)),
    }
}

/// The original sale a refund is made against, with what its tenders have left to give back.
/// The open business day as the status bar shows it.
fn day_message(ledger: &crate::ledger::Ledger) -> Message {
    Message::Day(ledger.current_day().ok().flatten().map(|d| (d.day_no, d.business_date.to_string())))
}

fn refund_source(
    ledger: &crate::ledger::Ledger,
    receipt_no: i64,
    training: bool,
) -> Result<RefundSource, crate::ledger::LedgerError> {
    let original = ledger.original_sale(receipt_no)?;
    let record = ledger.sale_by_receipt(receipt_no)?;
    if record.training != training {
        return Err(crate::ledger::LedgerError::TrainingMismatch(receipt_no));
    }
    let today = ledger.current_day()?.map(|d| d.day_no);
    let b = ledger.tender_balance(receipt_no)?;
    Ok(RefundSource {
        original,
        record,
        today,
        card_left: b.card_paid - b.card_refunded,
        cash_left: b.cash_paid - b.cash_refunded,
        other_left: b.other_paid - b.other_refunded,
    })
}
