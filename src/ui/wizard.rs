//! The installer's wizard (安装向导): the store, its tax classes, the receipt (languages, paper,
//! header and footer), the PIN pad and the printer with their Test buttons, the first installer,
//! then a review. The settings are plain data (`setup::Draft`) checked by the same parser that
//! reads the settings file at start, page by page; Finish writes the file atomically and the till
//! goes on with the new store and devices without a restart.
//!
//! On a fresh till (no settings file: training mode) the sign-in screen opens it and it creates
//! the first installer. Later it is opened from the manager's screen with an installer's PIN, and
//! the core (`setup::finish`) refuses to write without that approval. While it is open the till's
//! own PIN pad and printer are closed, so that the tests can open their ports.

use iced::widget::{Space, column, container, pick_list, row, scrollable, text, text_input, toggler};
use iced::{Alignment, Color, Element, Length};

use super::devices::{Devices, PortDevices};
use super::theme::{self, LARGE, SMALL, TEXT};
use super::workers::{self, Handed};
use super::{Job, Message, Screen, Till, t};
use crate::auth::{Approval, Role};
use crate::config::settings::Settings;
use crate::setup::{self, Draft, NewUser, PortInfo, TaxDraft, TerminalTest};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Store,
    Taxes,
    Receipt,
    Terminal,
    Printer,
    HeadOffice,
    Installer,
    Review,
}

impl Page {
    fn key(self) -> &'static str {
        match self {
            Page::Store => "wizard.page.store",
            Page::Taxes => "wizard.page.taxes",
            Page::Receipt => "wizard.page.receipt",
            Page::Terminal => "wizard.page.terminal",
            Page::Printer => "wizard.page.printer",
            Page::HeadOffice => "wizard.page.head_office",
            Page::Installer => "wizard.page.installer",
            Page::Review => "wizard.page.review",
        }
    }

    /// The settings keys this page is answerable for.
    fn owns(self, key: &str) -> bool {
        const RECEIPT: [&str; 6] = [
            "store.receipt_locale",
            "store.screen_locale",
            "store.paper_mm",
            "store.printer_model",
            "store.receipt_header",
            "store.receipt_footer",
        ];
        match self {
            Page::Store => {
                key == "store" || key.starts_with("store.") && !RECEIPT.contains(&key) || key.starts_with("backup")
            }
            Page::Taxes => key.starts_with("tax_class"),
            Page::Receipt => RECEIPT.contains(&key),
            Page::Terminal => key.starts_with("terminal"),
            Page::Printer => key.starts_with("printer"),
            Page::HeadOffice => key.starts_with("head_office"),
            Page::Installer => false,
            Page::Review => true,
        }
    }
}

/// The wizard's text fields; each has its widget id (`wizard-…`) for the keyboard and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    Address,
    TaxId,
    MerchantNo,
    Mcc,
    Register,
    Currency,
    VoidOver,
    RefundOver,
    DiscountOver,
    BackupFolder,
    BackupsKept,
    Header,
    Footer,
    TerminalPort,
    TerminalBaud,
    TerminalPassword,
    TerminalId,
    TerminalMerchant,
    PrinterPort,
    PrinterBaud,
    PrinterFraming,
    HeadOfficeUrl,
    HeadOfficePasswordFile,
    UserId,
    UserName,
    Pin,
    PinAgain,
}

impl Field {
    pub fn id(self) -> &'static str {
        match self {
            Field::Name => "wizard-name",
            Field::Address => "wizard-address",
            Field::TaxId => "wizard-tax-id",
            Field::MerchantNo => "wizard-merchant-no",
            Field::Mcc => "wizard-mcc",
            Field::Register => "wizard-register",
            Field::Currency => "wizard-currency",
            Field::VoidOver => "wizard-void-over",
            Field::RefundOver => "wizard-refund-over",
            Field::DiscountOver => "wizard-discount-over",
            Field::BackupFolder => "wizard-backup-folder",
            Field::BackupsKept => "wizard-backups-kept",
            Field::Header => "wizard-header",
            Field::Footer => "wizard-footer",
            Field::TerminalPort => "wizard-terminal-port",
            Field::TerminalBaud => "wizard-terminal-baud",
            Field::TerminalPassword => "wizard-terminal-password",
            Field::TerminalId => "wizard-terminal-id",
            Field::TerminalMerchant => "wizard-terminal-merchant",
            Field::PrinterPort => "wizard-printer-port",
            Field::PrinterBaud => "wizard-printer-baud",
            Field::PrinterFraming => "wizard-printer-framing",
            Field::HeadOfficeUrl => "wizard-head-office-url",
            Field::HeadOfficePasswordFile => "wizard-head-office-password-file",
            Field::UserId => "wizard-user-id",
            Field::UserName => "wizard-user-name",
            Field::Pin => "wizard-pin",
            Field::PinAgain => "wizard-pin-again",
        }
    }

    fn label(self) -> String {
        format!("wizard.field.{self:?}")
    }

    /// The field a settings key is typed into, if the wizard has one for it.
    fn of_key(key: &str) -> Option<Field> {
        Some(match key {
            "store.name" => Field::Name,
            "store.address" => Field::Address,
            "store.tax_id" => Field::TaxId,
            "store.merchant_no" => Field::MerchantNo,
            "store.mcc" => Field::Mcc,
            "store.register" => Field::Register,
            "store.currency" => Field::Currency,
            "store.void_approval_over" => Field::VoidOver,
            "store.refund_approval_over" => Field::RefundOver,
            "store.discount_approval_over" => Field::DiscountOver,
            "backup.folder" => Field::BackupFolder,
            "backup.keep" => Field::BackupsKept,
            "store.receipt_header" => Field::Header,
            "store.receipt_footer" => Field::Footer,
            "terminal.port" | "terminal.tcp" => Field::TerminalPort,
            "terminal.baud" => Field::TerminalBaud,
            "terminal.password" => Field::TerminalPassword,
            "terminal.terminal_id" => Field::TerminalId,
            "terminal.merchant_no" => Field::TerminalMerchant,
            "printer.device" => Field::PrinterPort,
            "head_office.url" => Field::HeadOfficeUrl,
            "head_office.password_file" => Field::HeadOfficePasswordFile,
            _ => return None,
        })
    }

    /// The label's name part, without its hint in brackets ("Port (empty: no PIN pad)").
    fn name(self, locale: &str) -> String {
        let label = t(&self.label(), locale);
        crate::locale_fmt::label_name(&label).to_string()
    }
}

/// A problem with what was typed, in words, and the field it belongs beside (none: the page's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: Option<Field>,
    pub text: String,
}

impl Problem {
    /// A settings problem named by the field's label ("Store name is missing"), not the key.
    fn of(e: &crate::config::settings::SettingsError, locale: &str) -> Problem {
        use crate::config::settings::Problem as P;
        let field = Field::of_key(&e.key);
        let text = match (field, &e.problem) {
            (Some(f), P::Missing) => {
                rust_i18n::t!("wizard.missing", locale = locale, field = f.name(locale)).into_owned()
            }
            (Some(f), _) => format!("{}{}{}", f.name(locale), t("wizard.colon", locale), e.what(locale)),
            (None, _) => match e.key.strip_prefix("tax_class[").and_then(|rest| rest.split_once(']')) {
                Some((n, _)) => {
                    rust_i18n::t!("wizard.tax_problem", locale = locale, n = n, what = e.what(locale)).into_owned()
                }
                None => e.localized(locale),
            },
        };
        Problem { field, text }
    }
}

/// What Finish made: the settings in force and the devices they name.
pub type Applied = Handed<(Settings, NewDevices)>;

pub enum NewDevices {
    /// The first setup: the store's own ledger and devices, its first installer.
    Whole(Box<Devices>, Vec<String>, crate::auth::User),
    /// Settings changed: the same ledger, the PIN pad and printer opened again.
    Ports(PortDevices),
}

#[derive(Debug, Clone)]
pub enum Msg {
    Goto(Page),
    Next,
    Back,
    Edit(Field, String),
    PricesIncludeTax(bool),
    ScreenLocale(Language),
    ReceiptLocale(Language),
    PrinterModel(PrinterModel),
    TaxCode(usize, String),
    TaxRate(usize, String),
    AddTax,
    RemoveTax(usize),
    RefreshPorts,
    Ports(Result<Vec<PortInfo>, String>),
    PickTerminalPort(PortChoice),
    PickPrinterPort(PortChoice),
    DeviceFile(bool),
    TestTerminal(TerminalTest),
    TerminalTested(Result<(String, Option<String>), String>),
    UseReportedId,
    TestPrinter(bool),
    PrinterTested(Result<String, String>),
    TestHeadOffice,
    HeadOfficeTested(Result<String, String>),
    Finish,
    Finished(Result<Applied, String>),
    Cancel,
}

/// A language as the pick lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Language(pub String);

/// A printer profile in the wizard's list, by its name in the screen's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterModel(pub &'static crate::printer::profile::Profile, pub String);

impl PrinterModel {
    pub fn new(profile: &'static crate::printer::profile::Profile, locale: &str) -> PrinterModel {
        let key = format!("wizard.printer_models.{}", profile.id);
        let name = rust_i18n::t!(&key, locale = locale);
        // A model without a translated name shows its own.
        PrinterModel(profile, if name == key { profile.name.to_string() } else { name.into_owned() })
    }
}

impl std::fmt::Display for PrinterModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.1)
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0 == "en" { "English" } else { "中文 (简体)" })
    }
}

/// A port as the pick lists show it: its name and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortChoice(pub PortInfo);

impl std::fmt::Display for PortChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}  {}", self.0.name, self.0.description)
    }
}

pub struct State {
    pub page: Page,
    pub draft: Draft,
    /// A fresh till: the wizard makes the first installer and there is no approval.
    pub first: bool,
    pub approval: Option<Approval>,
    /// The store's ledger already has an installer (the settings file was lost, not the till
    /// new): one of them approves with their id and PIN, and no installer is added.
    pub existing_installer: bool,
    pub installer: NewUser,
    pub ports: Vec<PortInfo>,
    /// The last test's answer in words: Ok, or what went wrong.
    pub terminal_answer: Option<Result<String, String>>,
    pub printer_answer: Option<Result<String, String>>,
    pub head_office_answer: Option<Result<String, String>>,
    /// The problems of the page shown, each beside its field.
    pub problems: Vec<Problem>,
    pub busy: bool,
}

const PAGES_FIRST: [Page; 8] = [
    Page::Store,
    Page::Taxes,
    Page::Receipt,
    Page::Terminal,
    Page::Printer,
    Page::HeadOffice,
    Page::Installer,
    Page::Review,
];
const PAGES_LATER: [Page; 7] =
    [Page::Store, Page::Taxes, Page::Receipt, Page::Terminal, Page::Printer, Page::HeadOffice, Page::Review];

impl State {
    /// A page's name: the installer's page asks for an approval when the ledger has an installer.
    fn title(&self, page: Page) -> &'static str {
        if page == Page::Installer && self.existing_installer { "wizard.page.installer_approves" } else { page.key() }
    }

    fn pages(&self) -> &'static [Page] {
        if self.first { &PAGES_FIRST } else { &PAGES_LATER }
    }

    fn step(&self, by: isize) -> Page {
        let pages = self.pages();
        let at = pages.iter().position(|p| *p == self.page).unwrap_or(0) as isize;
        pages[(at + by).clamp(0, pages.len() as isize - 1) as usize]
    }
}

/// The field that takes the keyboard when a page opens.
pub fn focus(page: Page) -> &'static str {
    match page {
        Page::Store => Field::Name.id(),
        Page::Taxes => "wizard-tax-code-0",
        Page::Receipt => Field::Header.id(),
        Page::Terminal => Field::TerminalPort.id(),
        Page::Printer => Field::PrinterPort.id(),
        Page::HeadOffice => Field::HeadOfficeUrl.id(),
        Page::Installer => Field::UserName.id(),
        Page::Review => "",
    }
}

fn list_ports(locale: &str) -> Job {
    let l = locale.to_string();
    workers::off_loop(move || Message::Wizard(Msg::Ports(setup::ports(&l))))
}

/// Opens the wizard: on a fresh till (`approval` None) to set it up, later with an installer's
/// approval to change its settings. The till's own devices are closed meanwhile.
pub fn open(till: &mut Till, approval: Option<Approval>) -> Vec<Job> {
    let first = approval.is_none();
    let existing_installer = first
        && till.place.as_ref().is_some_and(|place| {
            let path = crate::config::ledger_path(&place.data_dir);
            path.exists()
                && crate::ledger::Ledger::open_read_only(&path)
                    .and_then(|l| l.users())
                    .is_ok_and(|users| users.iter().any(|u| u.role == Role::Installer))
        });
    let draft = Draft::new(till.settings.as_ref());
    till.devices.close_ports();
    till.terminal = super::TerminalState::None;
    till.printer = super::PrinterState::None;
    till.screen = Screen::Setup;
    till.clear_notice();
    till.wizard = Some(State {
        page: Page::Store,
        draft,
        first,
        approval,
        existing_installer,
        installer: NewUser {
            id: String::new(),
            name: String::new(),
            role: Role::Installer,
            pin: String::new(),
            pin_again: String::new(),
        },
        ports: Vec::new(),
        terminal_answer: None,
        printer_answer: None,
        head_office_answer: None,
        problems: Vec::new(),
        busy: false,
    });
    vec![list_ports(&till.locale)]
}

/// The problems of the draft that belong to `page`, localized.
fn problems_of(state: &State, page: Page, locale: &str) -> Vec<Problem> {
    let mut found: Vec<Problem> = match state.draft.check() {
        Ok(_) => Vec::new(),
        Err(problems) => problems.iter().filter(|p| page.owns(&p.key)).map(|p| Problem::of(p, locale)).collect(),
    };
    if matches!(page, Page::Installer | Page::Review)
        && state.first
        && !state.existing_installer
        && let Err(e) = crate::admin::check_new_user(&state.installer)
    {
        found.push(Problem { field: None, text: e.localized(locale) });
    }
    found
}

pub fn update(till: &mut Till, msg: Msg) -> Vec<Job> {
    let l = till.locale.clone();
    let Some(state) = till.wizard.as_mut() else { return Vec::new() };
    let d = &mut state.draft;
    match msg {
        Msg::Goto(page) => {
            state.problems.clear();
            state.page = page;
        }
        Msg::Next => {
            state.problems = problems_of(state, state.page, &l);
            if state.problems.is_empty() {
                state.page = state.step(1);
            }
        }
        Msg::Back => {
            state.problems.clear();
            state.page = state.step(-1);
        }
        Msg::Edit(field, value) => {
            let digits = |v: String, n: usize| v.chars().filter(char::is_ascii_digit).take(n).collect::<String>();
            match field {
                Field::Name => d.name = value,
                Field::Address => d.address = value,
                Field::TaxId => d.tax_id = value,
                Field::MerchantNo => d.merchant_no = value,
                Field::Mcc => d.mcc = digits(value, 4),
                Field::Register => d.register = value,
                Field::Currency => d.currency = value.to_ascii_uppercase(),
                Field::VoidOver => d.void_approval_over = value,
                Field::RefundOver => d.refund_approval_over = value,
                Field::DiscountOver => d.discount_approval_over = value,
                Field::BackupFolder => d.backup_folder = value,
                Field::BackupsKept => d.backups_kept = value,
                Field::HeadOfficeUrl => d.head_office_url = value,
                Field::HeadOfficePasswordFile => d.head_office_password_file = value,
                Field::Header => d.receipt_header = value,
                Field::Footer => d.receipt_footer = value,
                Field::TerminalPort => d.terminal.port = value,
                Field::TerminalBaud => d.terminal.baud = value,
                Field::TerminalPassword => d.terminal.password = digits(value, 6),
                Field::TerminalId => d.terminal.terminal_id = value,
                Field::TerminalMerchant => d.terminal.merchant_no = value,
                Field::PrinterPort => d.printer.port = value,
                Field::PrinterBaud => d.printer.baud = value,
                Field::PrinterFraming => d.printer.framing = value.to_ascii_uppercase(),
                Field::UserId => state.installer.id = value,
                Field::UserName => state.installer.name = value,
                Field::Pin => state.installer.pin = digits(value, 8),
                Field::PinAgain => state.installer.pin_again = digits(value, 8),
            }
            // A message goes once what it said is put right.
            if !state.problems.is_empty() {
                state.problems = problems_of(state, state.page, &l);
            }
        }
        Msg::PricesIncludeTax(b) => d.prices_include_tax = b,
        Msg::ScreenLocale(lang) => {
            d.screen_locale = lang.0.clone();
            // The wizard speaks the language being chosen for the screen.
            till.locale = lang.0;
        }
        Msg::ReceiptLocale(lang) => d.receipt_locale = lang.0,
        Msg::PrinterModel(model) => d.printer_model = model.0.id.to_string(),
        Msg::TaxCode(i, v) => {
            if let Some(c) = d.tax_classes.get_mut(i) {
                c.code = v.trim().to_ascii_uppercase();
            }
        }
        Msg::TaxRate(i, v) => {
            if let Some(c) = d.tax_classes.get_mut(i) {
                c.rate = v;
            }
        }
        Msg::AddTax => d.tax_classes.push(TaxDraft { code: String::new(), rate: String::new() }),
        Msg::RemoveTax(i) => {
            if i < d.tax_classes.len() {
                d.tax_classes.remove(i);
            }
        }
        Msg::RefreshPorts => return vec![list_ports(&l)],
        Msg::Ports(result) => match result {
            Ok(ports) => state.ports = ports,
            Err(e) => till.error(e),
        },
        Msg::PickTerminalPort(p) => {
            d.terminal.port = p.0.name;
            d.terminal.reported_id = None;
            state.terminal_answer = None;
        }
        Msg::PickPrinterPort(p) => {
            d.printer.port = p.0.name;
            d.printer.device_file = false;
            state.printer_answer = None;
        }
        Msg::DeviceFile(file) => d.printer.device_file = file,
        Msg::TestTerminal(test) => {
            if state.busy {
                return Vec::new();
            }
            if d.terminal.port.trim().is_empty() {
                state.terminal_answer = Some(Err(t("wizard.no_port", &l)));
                return Vec::new();
            }
            state.busy = true;
            state.terminal_answer = Some(Ok(t("wizard.testing", &l)));
            let (draft, currency) = (d.terminal.clone(), crate::money::Currency::from_code(&d.currency));
            let currency = currency.map_or(156, |c| c.numeric);
            let timers = till.setup_timers;
            return vec![workers::off_loop(move || {
                let answer = setup::test_terminal(&draft, currency, test, timers)
                    .map(|info| {
                        // A diagnosis brings the terminal's own receipt: shown under the answer
                        // (the printer may not be set up yet at this page).
                        let mut words = setup::describe_terminal(&info, &l);
                        for receipt in &info.receipts {
                            words.push_str("\n\n");
                            words.push_str(&receipt.text());
                        }
                        (words, info.terminal_id)
                    })
                    .map_err(|e| e.localized(&l));
                Message::Wizard(Msg::TerminalTested(answer))
            })];
        }
        Msg::TerminalTested(result) => {
            state.busy = false;
            state.terminal_answer = Some(match result {
                Ok((words, reported)) => {
                    if reported.is_some() {
                        d.terminal.reported_id = reported;
                    }
                    Ok(words)
                }
                Err(e) => Err(e),
            });
            state.problems = problems_of(state, Page::Terminal, &l);
        }
        Msg::UseReportedId => {
            if let Some(id) = d.terminal.reported_id.clone() {
                d.terminal.terminal_id = id;
                state.problems = problems_of(state, Page::Terminal, &l);
            }
        }
        Msg::TestPrinter(page) => {
            if state.busy {
                return Vec::new();
            }
            let Some(spec) = d.printer.spec() else {
                state.printer_answer = Some(Err(t("wizard.no_port", &l)));
                return Vec::new();
            };
            state.busy = true;
            state.printer_answer = Some(Ok(t("wizard.testing", &l)));
            let profile = d.printer_profile();
            let locale = d.receipt_locale.clone();
            return vec![workers::off_loop(move || {
                let answer = setup::test_printer(&spec, profile, page.then_some(locale.as_str()), &l)
                    .map_err(|e| e.localized(&l));
                Message::Wizard(Msg::PrinterTested(answer))
            })];
        }
        Msg::PrinterTested(result) => {
            state.busy = false;
            state.printer_answer = Some(result);
        }
        Msg::TestHeadOffice => {
            if state.busy {
                return Vec::new();
            }
            if d.head_office_url.trim().is_empty() {
                state.head_office_answer = Some(Err(t("wizard.no_head_office", &l)));
                return Vec::new();
            }
            state.busy = true;
            state.head_office_answer = Some(Ok(t("wizard.testing", &l)));
            let (url, file, register) =
                (d.head_office_url.clone(), d.head_office_password_file.clone(), d.register.clone());
            return vec![workers::off_loop(move || {
                Message::Wizard(Msg::HeadOfficeTested(setup::test_head_office(&url, &file, &register, &l)))
            })];
        }
        Msg::HeadOfficeTested(result) => {
            state.busy = false;
            state.head_office_answer = Some(result);
        }
        Msg::Finish => {
            let pages = state.pages();
            let problems: Vec<(Page, Vec<Problem>)> = pages
                .iter()
                .filter(|p| **p != Page::Review)
                .map(|p| (*p, problems_of(state, *p, &l)))
                .filter(|(_, v)| !v.is_empty())
                .collect();
            if let Some((page, first)) = problems.into_iter().next() {
                state.page = page;
                state.problems = first;
                return Vec::new();
            }
            if state.busy {
                return Vec::new();
            }
            state.busy = true;
            let Some(place) = till.place.clone() else { return Vec::new() };
            let (draft, installer, approval) = (state.draft.clone(), state.installer.clone(), state.approval.clone());
            let first = state.first;
            return vec![workers::off_loop(move || {
                let applied = (|| {
                    let done = setup::finish(
                        &place.config_path,
                        &place.data_dir,
                        &draft,
                        first.then_some(&installer),
                        approval.as_ref(),
                    )
                    .map_err(|e| e.localized(&l))?;
                    let devices = match done.installer {
                        Some(user) => {
                            let (devices, missing) =
                                Devices::configured(&place.data_dir, &done.settings).map_err(|e| e.localized(&l))?;
                            NewDevices::Whole(Box::new(devices), missing, user)
                        }
                        None => NewDevices::Ports(PortDevices::open(&done.settings).map_err(|e| e.localized(&l))?),
                    };
                    Ok(Handed::new((done.settings, devices)))
                })();
                Message::Wizard(Msg::Finished(applied))
            })];
        }
        Msg::Finished(result) => {
            state.busy = false;
            let applied = match result {
                Ok(a) => a.take(),
                Err(e) => {
                    state.problems = e.lines().map(|line| Problem { field: None, text: line.to_string() }).collect();
                    return Vec::new();
                }
            };
            let Some((settings, devices)) = applied else { return Vec::new() };
            let by = state.approval.as_ref().map(|a| a.by().to_string());
            till.wizard = None;
            return till.apply_settings(settings, devices, by);
        }
        Msg::Cancel => {
            till.wizard = None;
            return till.reopen_ports();
        }
    }
    Vec::new()
}

fn field<'a>(state: &State, f: Field, value: &str, locale: &str) -> Element<'a, Message> {
    let mut cell = column![
        text(t(&f.label(), locale)).size(SMALL).color(theme::MUTED),
        text_input("", value).id(f.id()).size(TEXT).padding(6).on_input(move |v| Message::Wizard(Msg::Edit(f, v)))
    ]
    .spacing(2);
    // What is wrong with it, right under it (and gone once it is put right).
    for p in state.problems.iter().filter(|p| p.field == Some(f)) {
        cell = cell.push(text(p.text.clone()).size(SMALL).color(theme::STOP));
    }
    cell.into()
}

fn secret<'a>(state: &State, f: Field, value: &str, locale: &str) -> Element<'a, Message> {
    let mut cell = column![
        text(t(&f.label(), locale)).size(SMALL).color(theme::MUTED),
        text_input("", value)
            .id(f.id())
            .secure(true)
            .size(TEXT)
            .padding(6)
            .on_input(move |v| Message::Wizard(Msg::Edit(f, v)))
    ]
    .spacing(2);
    for p in state.problems.iter().filter(|p| p.field == Some(f)) {
        cell = cell.push(text(p.text.clone()).size(SMALL).color(theme::STOP));
    }
    cell.into()
}

fn answer<'a>(answer: &Option<Result<String, String>>) -> Element<'a, Message> {
    match answer {
        None => Space::new().height(Length::Fixed(0.0)).into(),
        Some(Ok(words)) => text(words.clone()).size(TEXT).color(theme::GO).into(),
        Some(Err(words)) => text(words.clone()).size(TEXT).color(theme::STOP).into(),
    }
}

fn store_page<'a>(s: &State, l: &str) -> Element<'a, Message> {
    let d = &s.draft;
    // The ledger is kept in one currency and for one register: changed only on a fresh till.
    let fixed = |f: Field, v: &str| -> Element<'a, Message> {
        if s.first {
            field(s, f, v, l)
        } else {
            column![text(t(&f.label(), l)).size(SMALL).color(theme::MUTED), text(v.to_string()).size(TEXT)].into()
        }
    };
    column![
        field(s, Field::Name, &d.name, l),
        field(s, Field::Address, &d.address, l),
        row![field(s, Field::TaxId, &d.tax_id, l), field(s, Field::MerchantNo, &d.merchant_no, l)].spacing(12),
        row![field(s, Field::Mcc, &d.mcc, l), fixed(Field::Register, &d.register), fixed(Field::Currency, &d.currency)]
            .spacing(12),
        row![
            text(t("wizard.prices_include_tax", l)).size(TEXT).width(Length::Fill),
            toggler(d.prices_include_tax).on_toggle(|b| Message::Wizard(Msg::PricesIncludeTax(b)))
        ]
        .align_y(Alignment::Center),
        row![
            field(s, Field::VoidOver, &d.void_approval_over, l),
            field(s, Field::RefundOver, &d.refund_approval_over, l),
            field(s, Field::DiscountOver, &d.discount_approval_over, l)
        ]
        .spacing(12),
        row![field(s, Field::BackupFolder, &d.backup_folder, l), field(s, Field::BackupsKept, &d.backups_kept, l)]
            .spacing(12),
    ]
    .spacing(10)
    .into()
}

fn taxes_page<'a>(s: &State, l: &str) -> Element<'a, Message> {
    let mut list = column![text(t("wizard.taxes_help", l)).size(SMALL).color(theme::MUTED)].spacing(8);
    for (i, c) in s.draft.tax_classes.iter().enumerate() {
        list = list.push(
            row![
                text_input(&t("wizard.tax_code", l), &c.code)
                    .id(format!("wizard-tax-code-{i}"))
                    .size(TEXT)
                    .padding(6)
                    .width(Length::Fixed(90.0))
                    .on_input(move |v| Message::Wizard(Msg::TaxCode(i, v))),
                text_input(&t("wizard.tax_rate", l), &c.rate)
                    .id(format!("wizard-tax-rate-{i}"))
                    .size(TEXT)
                    .padding(6)
                    .width(Length::Fixed(120.0))
                    .on_input(move |v| Message::Wizard(Msg::TaxRate(i, v))),
                text("%").size(TEXT),
                container(theme::action(t("wizard.remove", l), Some(Message::Wizard(Msg::RemoveTax(i)))))
                    .width(Length::Fixed(120.0)),
            ]
            .spacing(8)
            .align_y(Alignment::Center),
        );
    }
    list.push(
        container(theme::action(t("wizard.add_tax", l), Some(Message::Wizard(Msg::AddTax))))
            .width(Length::Fixed(200.0)),
    )
    .into()
}

fn receipt_page<'a>(s: &State, l: &str) -> Element<'a, Message> {
    let d = &s.draft;
    let languages = [Language("zh-CN".into()), Language("en".into())];
    let models: Vec<PrinterModel> = crate::printer::profile::PROFILES.iter().map(|p| PrinterModel::new(p, l)).collect();
    column![
        text(t("wizard.screen_locale", l)).size(SMALL).color(theme::MUTED),
        pick_list(languages.clone(), Some(Language(d.screen_locale.clone())), |x| Message::Wizard(Msg::ScreenLocale(
            x
        )))
        .text_size(TEXT),
        text(t("wizard.receipt_locale", l)).size(SMALL).color(theme::MUTED),
        pick_list(languages, Some(Language(d.receipt_locale.clone())), |x| Message::Wizard(Msg::ReceiptLocale(x)))
            .text_size(TEXT),
        text(t("wizard.printer_model", l)).size(SMALL).color(theme::MUTED),
        pick_list(models, Some(PrinterModel::new(d.printer_profile(), l)), |x| Message::Wizard(Msg::PrinterModel(x)))
            .text_size(TEXT),
        text(t(&Field::Header.label(), l)).size(SMALL).color(theme::MUTED),
        text_input(&t("wizard.lines_help", l), &d.receipt_header.replace('\n', " | "))
            .id(Field::Header.id())
            .size(TEXT)
            .padding(6)
            .on_input(|v| Message::Wizard(Msg::Edit(Field::Header, v.replace(" | ", "\n")))),
        text(t(&Field::Footer.label(), l)).size(SMALL).color(theme::MUTED),
        text_input(&t("wizard.lines_help", l), &d.receipt_footer.replace('\n', " | "))
            .id(Field::Footer.id())
            .size(TEXT)
            .padding(6)
            .on_input(|v| Message::Wizard(Msg::Edit(Field::Footer, v.replace(" | ", "\n")))),
    ]
    .spacing(8)
    .into()
}

fn port_picker<'a>(s: &State, chosen: &str, on_pick: fn(PortChoice) -> Message, l: &str) -> Element<'a, Message> {
    let choices: Vec<PortChoice> = s.ports.iter().cloned().map(PortChoice).collect();
    let selected = choices.iter().find(|c| c.0.name == chosen).cloned();
    let hint = if choices.is_empty() { t("setup.no_ports", l) } else { t("wizard.pick_port", l) };
    row![
        pick_list(choices, selected, on_pick).placeholder(hint).text_size(SMALL).width(Length::Fill),
        container(theme::action(t("wizard.refresh", l), Some(Message::Wizard(Msg::RefreshPorts))))
            .width(Length::Fixed(130.0)),
    ]
    .spacing(8)
    .align_y(Alignment::Center)
    .into()
}

fn terminal_page<'a>(s: &State, l: &str) -> Element<'a, Message> {
    let d = &s.draft.terminal;
    let idle = !s.busy;
    let test = |key: &str, which: TerminalTest| {
        theme::action(t(key, l), idle.then_some(Message::Wizard(Msg::TestTerminal(which))))
    };
    let mut page = column![
        text(t("wizard.terminal_help", l)).size(SMALL).color(theme::MUTED),
        port_picker(s, &d.port, |p| Message::Wizard(Msg::PickTerminalPort(p)), l),
        field(s, Field::TerminalPort, &d.port, l),
        row![field(s, Field::TerminalBaud, &d.baud, l), secret(s, Field::TerminalPassword, &d.password, l)].spacing(12),
        row![
            test("wizard.test_register", TerminalTest::Register),
            test("wizard.test_status", TerminalTest::Status),
            test("wizard.test_diagnosis", TerminalTest::Diagnosis),
        ]
        .spacing(8),
        answer(&s.terminal_answer),
        row![field(s, Field::TerminalId, &d.terminal_id, l), field(s, Field::TerminalMerchant, &d.merchant_no, l)]
            .spacing(12),
    ]
    .spacing(8);
    if let Some(reported) = &d.reported_id {
        let same = d.terminal_id.trim() == reported;
        let words = if same {
            rust_i18n::t!("wizard.id_confirmed", locale = l, id = reported).into_owned()
        } else {
            rust_i18n::t!("wizard.id_reported", locale = l, id = reported).into_owned()
        };
        page = page.push(text(words).size(TEXT).color(if same { theme::GO } else { theme::WARN }));
        if !same {
            page = page.push(
                container(theme::action(t("wizard.use_reported", l), Some(Message::Wizard(Msg::UseReportedId))))
                    .width(Length::Fixed(260.0)),
            );
        }
    }
    page.into()
}

fn printer_page<'a>(s: &State, l: &str) -> Element<'a, Message> {
    let d = &s.draft.printer;
    let idle = !s.busy;
    let mut page = column![
        text(t("wizard.printer_help", l)).size(SMALL).color(theme::MUTED),
        row![
            text(t("wizard.device_file", l)).size(TEXT).width(Length::Fill),
            toggler(d.device_file).on_toggle(|b| Message::Wizard(Msg::DeviceFile(b)))
        ]
        .align_y(Alignment::Center),
    ]
    .spacing(8);
    if !d.device_file {
        page = page.push(port_picker(s, &d.port, |p| Message::Wizard(Msg::PickPrinterPort(p)), l));
    }
    page = page.push(field(s, Field::PrinterPort, &d.port, l));
    if !d.device_file {
        page = page.push(
            row![field(s, Field::PrinterBaud, &d.baud, l), field(s, Field::PrinterFraming, &d.framing, l)].spacing(12),
        );
    }
    page.push(
        row![
            theme::action(t("wizard.test_printer", l), idle.then_some(Message::Wizard(Msg::TestPrinter(false)))),
            theme::action(t("wizard.test_page", l), idle.then_some(Message::Wizard(Msg::TestPrinter(true)))),
        ]
        .spacing(8),
    )
    .push(answer(&s.printer_answer))
    .into()
}

fn head_office_page<'a>(s: &State, l: &str) -> Element<'a, Message> {
    let d = &s.draft;
    column![
        text(t("wizard.head_office_help", l)).size(SMALL).color(theme::MUTED),
        field(s, Field::HeadOfficeUrl, &d.head_office_url, l),
        field(s, Field::HeadOfficePasswordFile, &d.head_office_password_file, l),
        theme::action(t("wizard.test_head_office", l), (!s.busy).then_some(Message::Wizard(Msg::TestHeadOffice))),
        answer(&s.head_office_answer),
    ]
    .spacing(10)
    .into()
}

fn installer_page<'a>(s: &State, l: &str) -> Element<'a, Message> {
    let i = &s.installer;
    if s.existing_installer {
        return column![
            text(t("wizard.installer_existing_help", l)).size(SMALL).color(theme::MUTED),
            field(s, Field::UserId, &i.id, l),
            secret(s, Field::Pin, &i.pin, l),
        ]
        .spacing(10)
        .into();
    }
    column![
        text(t("wizard.installer_help", l)).size(SMALL).color(theme::MUTED),
        field(s, Field::UserName, &i.name, l),
        field(s, Field::UserId, &i.id, l),
        secret(s, Field::Pin, &i.pin, l),
        secret(s, Field::PinAgain, &i.pin_again, l),
    ]
    .spacing(10)
    .into()
}

fn review_page<'a>(s: &State, l: &str, settings_file: Option<&std::path::Path>) -> Element<'a, Message> {
    let d = &s.draft;
    let none = || t("wizard.none", l);
    let tr = |k: &str| t(k, l);
    let lines = [
        (tr(&Field::Name.label()), d.name.clone()),
        (tr(&Field::Address.label()), d.address.clone()),
        (tr(&Field::TaxId.label()), d.tax_id.clone()),
        (tr(&Field::MerchantNo.label()), d.merchant_no.clone()),
        (tr(&Field::Mcc.label()), d.mcc.clone()),
        (tr(&Field::Register.label()), format!("{} · {}", d.register, d.currency)),
        (
            tr("wizard.page.taxes"),
            d.tax_classes.iter().map(|c| format!("{} {}%", c.code, c.rate)).collect::<Vec<_>>().join(", "),
        ),
        (tr("wizard.screen_locale"), Language(d.screen_locale.clone()).to_string()),
        (
            tr("wizard.receipt_locale"),
            format!("{} · {}", Language(d.receipt_locale.clone()), PrinterModel::new(d.printer_profile(), l)),
        ),
        (
            tr("wizard.page.terminal"),
            if d.terminal.port.trim().is_empty() {
                none()
            } else {
                let id = match (&d.terminal.reported_id, d.terminal.terminal_id.trim()) {
                    (Some(reported), "") => reported.clone(),
                    (_, id) => id.to_string(),
                };
                format!("{} · {} · {id}", d.terminal.port, d.terminal.baud)
            },
        ),
        (tr("wizard.page.printer"), d.printer.spec().unwrap_or_else(none)),
        (
            tr("wizard.page.head_office"),
            Some(d.head_office_url.trim()).filter(|u| !u.is_empty()).map_or_else(none, str::to_string),
        ),
    ];
    let mut list = column![text(t("wizard.review_help", l)).size(SMALL).color(theme::MUTED)].spacing(6);
    for (label, value) in lines {
        list = list.push(
            row![text(label).size(SMALL).color(theme::MUTED).width(Length::Fixed(200.0)), text(value).size(TEXT)]
                .spacing(8),
        );
    }
    if s.first {
        list = list.push(
            row![
                text(t(s.title(Page::Installer), l)).size(SMALL).color(theme::MUTED).width(Length::Fixed(200.0)),
                text(format!("{} ({})", s.installer.name, s.installer.id)).size(TEXT)
            ]
            .spacing(8),
        );
    }
    // Where Finish writes, said before it writes (`--data-dir` keeps a rehearsal to its folder).
    if let Some(file) = settings_file {
        list = list.push(
            text(rust_i18n::t!("wizard.writes_to", locale = l, file = file.display().to_string()).into_owned())
                .size(SMALL)
                .color(theme::MUTED),
        );
    }
    list.into()
}

pub fn view(till: &Till) -> Element<'_, Message> {
    let l = till.locale.as_str();
    let Some(s) = &till.wizard else { return column![].into() };
    let mut steps = column![text(t("wizard.title", l)).size(TEXT)].spacing(4);
    for (n, page) in s.pages().iter().enumerate() {
        let label = text(format!("{}. {}", n + 1, t(s.title(*page), l))).size(SMALL);
        steps = steps.push(theme::row_button(label, *page == s.page, Message::Wizard(Msg::Goto(*page))));
    }
    steps = steps.push(Space::new().height(Length::Fill));
    steps = steps.push(theme::action(t("wizard.cancel", l), Some(Message::Wizard(Msg::Cancel))));
    let steps = container(steps).width(Length::Fixed(200.0)).padding(6).style(theme::panel(Color::WHITE));
    let body = match s.page {
        Page::Store => store_page(s, l),
        Page::Taxes => taxes_page(s, l),
        Page::Receipt => receipt_page(s, l),
        Page::Terminal => terminal_page(s, l),
        Page::Printer => printer_page(s, l),
        Page::HeadOffice => head_office_page(s, l),
        Page::Installer => installer_page(s, l),
        Page::Review => review_page(s, l, till.place.as_ref().map(|p| p.config_path.as_path())),
    };
    let mut problems = column![].spacing(4);
    for p in s.problems.iter().filter(|p| p.field.is_none()) {
        problems = problems.push(text(p.text.clone()).size(TEXT).color(theme::STOP));
    }
    let last = s.page == Page::Review;
    let idle = !s.busy;
    let nav = row![
        container(theme::action(t("wizard.back", l), (s.page != Page::Store).then_some(Message::Wizard(Msg::Back))))
            .width(Length::Fixed(160.0)),
        Space::new().width(Length::Fill),
        container(if last {
            theme::primary(t("wizard.finish", l), idle.then_some(Message::Wizard(Msg::Finish)))
        } else {
            theme::primary(t("wizard.next", l), Some(Message::Wizard(Msg::Next)))
        })
        .width(Length::Fixed(220.0)),
    ]
    .align_y(Alignment::Center);
    let main = column![
        text(t(s.title(s.page), l)).size(LARGE),
        scrollable(column![body, problems].spacing(12).padding([0, 12])).height(Length::Fill),
        nav
    ]
    .spacing(12)
    .padding(8);
    row![steps, container(main).width(Length::Fill).height(Length::Fill)].spacing(12).into()
}
