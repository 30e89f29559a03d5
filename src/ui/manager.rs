//! The manager's screen (结算): the business days, each day's X or Z report with its chart of
//! sales by hour and its risk flags, the drawer count (blind if wanted), cash in and out, printing
//! the report, and the Z that closes the day. Opened only with a manager's PIN; the reports and
//! postings run on the ledger's and the terminal's workers.

use chrono::Utc;
use iced::widget::{Space, column, container, row, scrollable, text, text_input, toggler};
use iced::{Alignment, Color, Element, Length};

use super::theme::{self, LARGE, SMALL, TEXT, money};
use super::{Job, Message, Screen, Till, t, workers};
use crate::dayclose::{self, Report, output};
use crate::ledger::{CashDirection, DaySummary};
use crate::money::Money;

/// The field that has the keyboard on this screen.
pub const FIELD: &str = "manager-field";

#[derive(Debug, Clone)]
pub enum Msg {
    /// The days and the report of one (none before the first sale).
    Loaded(Result<(Vec<DaySummary>, Option<Box<Report>>), String>),
    PickDay(i64),
    Print,
    StartCount,
    Blind(bool),
    CountChanged(usize, String),
    NoteChanged(String),
    SubmitCount,
    AmountChanged(String),
    ReasonChanged(String),
    Cash(CashDirection),
    Posted(Result<String, String>),
    /// The Z asked for: confirmed first (`Confirm::CloseDay`), then `CloseDayNow`.
    CloseDay,
    CloseDayNow,
    /// Escape on this screen: one step back — an open drawer count is put away, else the
    /// screen closes.
    Back,
    Closed(Result<Box<Report>, String>),
    /// Write the shown report as PDF and CSV for the office, with progress.
    Export,
    Exporting(f32),
    Exported(Result<String, String>),
    /// Ask the terminal for its diagnosis; its answer is shown and its own receipt printed.
    Diagnosis,
    /// The answer in words and the terminal's receipts (each as its lines).
    Diagnosed(Result<(String, Vec<Vec<String>>), String>),
    Close,
    /// The store's day from the head office (every register of the store), or back from it.
    StoreDay,
    StoreDayLoaded(Result<(String, Vec<crate::store::report::ReportRow>), String>),
    /// A tick while the screen is open: after `IDLE_LOCK` without a touch it locks (closes).
    IdleCheck,
}

/// How long the manager's screen (and the approval it holds) stays open untouched: a manager who
/// walks away leaves no open door to the Z, the drawer and the users.
pub const IDLE_LOCK: std::time::Duration = std::time::Duration::from_secs(3 * 60);
/// How often the screen checks.
pub const IDLE_CHECK: std::time::Duration = std::time::Duration::from_secs(15);

/// What the manager's screen holds.
pub struct State {
    /// The manager's approval that opened it: settlement's postings carry it (the core refuses
    /// them without), and it names who moved cash.
    pub approval: crate::auth::Approval,
    pub days: Vec<DaySummary>,
    pub report: Option<Box<Report>>,
    pub busy: bool,
    /// The drawer count being entered: (face value, what was typed).
    pub count: Option<Vec<(Money, String)>>,
    pub blind: bool,
    pub note: String,
    pub amount: String,
    pub reason: String,
    /// The last time the manager touched the screen.
    pub last_used: std::time::Instant,
    /// The store's day as the head office has it (title and rows), when asked for.
    pub store_day: Option<(String, Vec<crate::store::report::ReportRow>)>,
}

fn load(till: &Till, day: Option<i64>) -> Job {
    let training = till.training;
    let l = till.locale.clone();
    till.devices.ledger.call(move |ledger| {
        let ledger = workers::lock(ledger);
        let loaded = (|| {
            let days = ledger.days()?;
            let day = day.or_else(|| days.first().map(|d| d.day_no));
            let Some(day) = day else { return Ok::<_, dayclose::CloseError>((days, None)) };
            let report = dayclose::x_report(&ledger, day, day, training, Utc::now())?;
            Ok((days, Some(Box::new(report))))
        })();
        Message::Manager(Msg::Loaded(loaded.map_err(|e| e.localized(&l))))
    })
}

/// Opens the screen for the manager who approved.
pub fn open(till: &mut Till, approval: crate::auth::Approval) -> Vec<Job> {
    till.screen = Screen::Manager;
    till.manager = Some(State {
        approval,
        days: Vec::new(),
        report: None,
        busy: true,
        count: None,
        blind: true,
        note: String::new(),
        amount: String::new(),
        reason: String::new(),
        last_used: std::time::Instant::now(),
        store_day: None,
    });
    vec![load(till, None)]
}

pub fn update(till: &mut Till, msg: Msg) -> Vec<Job> {
    let l = till.locale.clone();
    let Some(state) = till.manager.as_mut() else { return Vec::new() };
    if !matches!(msg, Msg::IdleCheck) {
        state.last_used = std::time::Instant::now();
    }
    match msg {
        Msg::IdleCheck => {
            // Not while a posting or a Z runs: its answer must find the screen.
            if !state.busy && state.last_used.elapsed() >= IDLE_LOCK {
                till.manager = None;
                till.users_admin = None;
                till.products = None;
                if matches!(till.screen, Screen::Manager | Screen::Users | Screen::Products) {
                    till.screen = Screen::Sale;
                }
                till.info(t("manager.locked_idle", &l));
            }
        }
        Msg::Loaded(result) => {
            state.busy = false;
            match result {
                Ok((days, report)) => {
                    state.days = days;
                    state.report = report;
                }
                Err(e) => till.error(e),
            }
        }
        Msg::PickDay(day) => {
            state.busy = true;
            state.count = None;
            state.store_day = None;
            return vec![load(till, Some(day))];
        }
        Msg::Print => {
            let (Some(report), Some(printer)) = (state.report.clone(), &till.devices.printer) else {
                return Vec::new();
            };
            let store = till.counter.store().clone();
            let ledger = till.devices.shared.clone();
            let locale = store.receipt_locale.clone();
            return vec![printer.call(move |device| {
                let doc = output::document(&report, &store.store_name, &store.register, store.printer_model, &locale);
                let before = device.printed_count();
                let printed = crate::printer::escpos::encode(&doc)
                    .map_err(|e| crate::print_queue::PrintError::Encoding(e.to_string()))
                    .and_then(|bytes| {
                        let job = workers::lock(&ledger).queue_print_job("report", None, &bytes, Utc::now())?;
                        // In order: behind what still waits to print.
                        let mut results =
                            vec![crate::print_queue::send_in_order(&*ledger, &mut *device.port, &store, job)?];
                        // With a Z, the terminal's own end-of-day receipt, as it sent it.
                        if report.close.is_some() {
                            let receipts = workers::lock(&ledger).terminal_eod_receipts(report.last_day)?;
                            for lines in receipts {
                                let (_, result) = crate::print_queue::print_terminal_receipt(
                                    &*ledger,
                                    &mut *device.port,
                                    &store,
                                    &lines,
                                )?;
                                results.push(result);
                            }
                        }
                        Ok(results)
                    });
                match printed {
                    Ok(results) => Message::Printed(super::report(&results, device.printed_since(before))),
                    Err(e) => super::print_failure(&e),
                }
            })];
        }
        Msg::StartCount => {
            let currency = till.counter.store().currency;
            state.count = Some(dayclose::denominations(currency).into_iter().map(|m| (m, String::new())).collect());
            state.note.clear();
        }
        Msg::Blind(blind) => state.blind = blind,
        Msg::CountChanged(i, text) => {
            if let Some(slot) = state.count.as_mut().and_then(|c| c.get_mut(i)) {
                slot.1 = text.chars().filter(char::is_ascii_digit).take(6).collect();
            }
        }
        Msg::NoteChanged(note) => state.note = note,
        Msg::SubmitCount => {
            let Some(count) = state.count.clone() else { return Vec::new() };
            let denominations: Vec<(Money, u32)> =
                count.iter().filter_map(|(m, n)| n.parse::<u32>().ok().map(|n| (*m, n))).collect();
            let (blind, note, training, approval) =
                (state.blind, state.note.clone(), till.training, state.approval.clone());
            let limit =
                Money::parse("10", till.counter.store().currency).unwrap_or(Money::zero(till.counter.store().currency));
            state.busy = true;
            return vec![till.devices.ledger.call(move |ledger| {
                let mut ledger = workers::lock(ledger);
                let count = dayclose::Count { denominations: &denominations, blind, note: &note, limit };
                let done = dayclose::count_drawer(&mut ledger, &count, &approval, training, Utc::now());
                Message::Manager(Msg::Posted(done.map(|_| "counted".into()).map_err(|e| e.localized(&l))))
            })];
        }
        Msg::AmountChanged(a) => state.amount = a,
        Msg::ReasonChanged(r) => state.reason = r,
        Msg::Cash(direction) => {
            if state.amount.trim().is_empty() {
                till.error_t("manager.type_amount_first");
                return Vec::new();
            }
            let currency = till.counter.store().currency;
            let amount = match Money::parse(&state.amount, currency) {
                Ok(m) if m.is_positive() => m,
                Ok(_) => {
                    till.error(t("report.error.not_positive", &l));
                    return Vec::new();
                }
                Err(e) => {
                    till.error(e.localized(&l));
                    return Vec::new();
                }
            };
            if state.reason.trim().is_empty() {
                till.error(t("report.error.reason_needed", &l));
                return Vec::new();
            }
            let (reason, approval) = (state.reason.trim().to_string(), state.approval.clone());
            state.amount.clear();
            state.reason.clear();
            state.busy = true;
            return vec![till.devices.ledger.call(move |ledger| {
                let posted =
                    dayclose::move_cash(&mut workers::lock(ledger), direction, amount, &reason, &approval, Utc::now());
                Message::Manager(Msg::Posted(posted.map(|_| "cash".into()).map_err(|e| e.localized(&l))))
            })];
        }
        Msg::Posted(result) => {
            state.busy = false;
            match result {
                Ok(what) => {
                    state.count = None;
                    till.info(t(&format!("manager.done.{what}"), &l));
                    // The day shown again — unless it was closed: then the movement opened the
                    // next day, and that is the one to see (the newest).
                    let shown = till.manager.as_ref().and_then(|m| m.report.as_ref());
                    let day = shown.filter(|r| r.close.is_none()).map(|r| r.last_day);
                    // A cash movement after the Z opens the next day: the status bar says so.
                    return vec![load(till, day), till.read_day()];
                }
                Err(e) => till.error(e),
            }
        }
        Msg::CloseDay => till.confirm = Some(super::Confirm::CloseDay),
        Msg::CloseDayNow => {
            let Some(terminal) = &till.devices.terminal else {
                till.error(t("counter.no_terminal", &l));
                return Vec::new();
            };
            state.busy = true;
            let (ledger, training, approval) = (till.devices.shared.clone(), till.training, state.approval.clone());
            // The note field speaks for a difference with the terminal, when there is one.
            let note = state.note.clone();
            let backup = till.settings.as_ref().map(|s| s.backup.clone()).unwrap_or_default();
            till.terminal = super::TerminalState::Busy;
            return vec![terminal.stream(move |device, out| {
                let mut ledger = workers::lock(&ledger);
                let closed = dayclose::close_day(
                    &mut ledger,
                    &mut *device.terminal,
                    &approval,
                    training,
                    Some(&note),
                    Utc::now(),
                );
                let ok = closed.is_ok();
                crate::log::event(&match &closed {
                    Ok(r) => format!("Z {} posted", r.close.as_ref().map_or(0, |c| c.z_no)),
                    Err(e) => format!("Z not posted: {e}"),
                });
                out.send(Message::Manager(Msg::Closed(closed.map(Box::new).map_err(|e| e.localized(&l)))));
                // After every Z, a backup beside the ledger. A failed backup does not undo the Z:
                // the manager is told, and `till backup` takes it again.
                if ok && let Err(e) = dayclose::backup_after_z(&ledger, &backup, Utc::now()) {
                    out.send(Message::Manager(Msg::Posted(Err(e.localized(&l)))));
                }
            })];
        }
        Msg::Diagnosis => {
            let Some(terminal) = &till.devices.terminal else {
                till.error(t("counter.no_terminal", &l));
                return Vec::new();
            };
            state.busy = true;
            till.terminal = super::TerminalState::Busy;
            return vec![terminal.call(move |device| {
                let answer = device
                    .terminal
                    .diagnosis()
                    .map(|info| {
                        let receipts = info.receipts.iter().map(|r| r.lines.clone()).collect();
                        (crate::setup::describe_terminal(&info, &l), receipts)
                    })
                    .map_err(|e| e.localized(&l));
                Message::Manager(Msg::Diagnosed(answer))
            })];
        }
        Msg::Diagnosed(result) => {
            state.busy = false;
            till.terminal = super::TerminalState::Ready;
            match result {
                Ok((words, receipts)) => {
                    till.info(words);
                    // The terminal's diagnosis receipt, as it sent it, on the receipt printer.
                    let Some(printer) = &till.devices.printer else { return Vec::new() };
                    if receipts.is_empty() {
                        return Vec::new();
                    }
                    let (store, ledger) = (till.counter.store().clone(), till.devices.shared.clone());
                    return vec![printer.call(move |device| {
                        let before = device.printed_count();
                        let printed: Result<Vec<_>, _> = receipts
                            .iter()
                            .map(|lines| {
                                crate::print_queue::print_terminal_receipt(&*ledger, &mut *device.port, &store, lines)
                                    .map(|(_, result)| result)
                            })
                            .collect();
                        match printed {
                            Ok(results) => Message::Printed(super::report(&results, device.printed_since(before))),
                            Err(e) => super::print_failure(&e),
                        }
                    })];
                }
                Err(e) => till.error(e),
            }
        }
        Msg::Closed(result) => {
            state.busy = false;
            till.terminal = super::TerminalState::Ready;
            match result {
                Ok(report) => {
                    let z = report.close.as_ref().map_or(0, |c| c.z_no);
                    let agrees = report.reconciliation.as_ref().is_none_or(|r| r.agrees());
                    let key = if agrees { "manager.closed" } else { "manager.closed_with_differences" };
                    let day = report.last_day;
                    state.report = Some(report);
                    till.info(rust_i18n::t!(key, locale = &l, z = z).into_owned());
                    till.day = None;
                    let mut jobs = vec![load(till, Some(day))];
                    jobs.extend(till.handle(Message::Manager(Msg::Print)));
                    return jobs;
                }
                Err(e) => till.error(e),
            }
        }
        Msg::Export => {
            let Some(report) = state.report.clone() else { return Vec::new() };
            state.busy = true;
            let (store, locale) = (till.counter.store().clone(), till.locale.clone());
            return vec![till.devices.ledger.stream(move |ledger, out| {
                let dir = workers::lock(ledger).path().parent().map(|d| d.join("reports")).unwrap_or_default();
                let name = match &report.close {
                    Some(z) => format!("Z-{:04}", z.z_no),
                    None => format!("X-day-{}", report.last_day),
                };
                let mut progress = |done: f32| out.send(Message::Manager(Msg::Exporting(done)));
                let written = crate::config::create_private_dir(&dir).map_err(|e| e.to_string()).and_then(|()| {
                    let pdf = dayclose::pdf::pdf(&report, &store.store_name, &locale, &mut progress)
                        .map_err(|e| e.to_string())?;
                    let csv = output::csv(&report, &locale).map_err(|e| e.to_string())?;
                    // An export never replaces an earlier one (nor follows a link): X-day-3-2…
                    let name = (1..100)
                        .map(|n| if n == 1 { name.clone() } else { format!("{name}-{n}") })
                        .find(|n| !dir.join(format!("{n}.pdf")).exists() && !dir.join(format!("{n}.csv")).exists())
                        .ok_or_else(|| format!("{name}: 99 exports"))?;
                    crate::config::write_private(&dir.join(format!("{name}.pdf")), &pdf, false)
                        .map_err(|e| e.to_string())?;
                    crate::config::write_private(&dir.join(format!("{name}.csv")), &csv, false)
                        .map_err(|e| e.to_string())?;
                    Ok(dir.join(name).display().to_string())
                });
                out.send(Message::Manager(Msg::Exported(written)));
            })];
        }
        Msg::Exporting(done) => {
            till.info(rust_i18n::t!("report.progress", locale = &l, percent = (done * 100.0).round()).into_owned());
        }
        Msg::Exported(result) => {
            state.busy = false;
            match result {
                Ok(path) => till.info(rust_i18n::t!("manager.exported", locale = &l, path = path).into_owned()),
                Err(e) => till.error(rust_i18n::t!("manager.export_failed", locale = &l, detail = e).into_owned()),
            }
        }
        Msg::Back if state.count.is_some() => state.count = None,
        Msg::Back if state.store_day.is_some() => state.store_day = None,
        Msg::StoreDay => {
            let Some(ho) = till.settings.as_ref().and_then(|s| s.head_office.clone()) else { return Vec::new() };
            if state.busy {
                return Vec::new();
            }
            state.busy = true;
            // The open day's date, else today's: the store's day is by business date.
            let date = till
                .day
                .as_ref()
                .and_then(|d| d.1.parse::<chrono::NaiveDate>().ok())
                .unwrap_or_else(|| chrono::Local::now().date_naive());
            let l = l.clone();
            // On a thread of its own: the head office may take seconds to answer, or not answer.
            return vec![workers::off_loop(move || {
                let loaded = ho
                    .connect()
                    .and_then(|mut c| {
                        crate::store::office::store_day(&mut c, date, None, chrono::Duration::minutes(15))
                    })
                    .map(|day| {
                        let title =
                            rust_i18n::t!("store.report.title", locale = &l, date = date.to_string()).into_owned();
                        (title, crate::store::report::rows(&day, &l))
                    })
                    .map_err(|e| e.localized(&l));
                Message::Manager(Msg::StoreDayLoaded(loaded))
            })];
        }
        Msg::StoreDayLoaded(result) => {
            state.busy = false;
            match result {
                Ok(day) => state.store_day = Some(day),
                Err(e) => till.error(e),
            }
        }
        Msg::Back | Msg::Close => {
            till.manager = None;
            till.screen = Screen::Sale;
        }
    }
    Vec::new()
}

/// The store's day as the head office has it: every register's Z and checks, the store's totals.
fn store_day_view<'a>(state: &'a State, l: &str) -> Element<'a, Message> {
    let Some((title, rows)) = &state.store_day else { return column![].into() };
    let mut list = column![text(title.clone()).size(TEXT)].spacing(4);
    let mut section = "";
    for r in rows {
        if r.section != section {
            section = r.section;
            let key = format!("store.report.section.{section}");
            list = list.push(text(rust_i18n::t!(&key, locale = l).into_owned()).size(SMALL).color(theme::MUTED));
        }
        list =
            list.push(row![text(r.label.clone()).size(SMALL).width(Length::Fill), text(r.value.clone()).size(SMALL)]);
    }
    scrollable(list).height(Length::Fill).into()
}

fn chart(report: &Report) -> Element<'_, Message> {
    let max = report.figures.by_hour.iter().map(|h| h.1).max().unwrap_or(0).max(1);
    let mut bars = row![].spacing(2).align_y(Alignment::End).height(Length::Fixed(90.0));
    for (hour, (_, amount)) in report.figures.by_hour.iter().enumerate() {
        let h = (amount.max(&0) * 80 / max) as f32 + 1.0;
        let bar =
            container(Space::new().height(Length::Fixed(h)).width(Length::Fill)).style(theme::band(if hour % 2 == 0 {
                Color::from_rgb8(0x5b, 0x8d, 0xd9)
            } else {
                Color::from_rgb8(0x4a, 0x7b, 0xc8)
            }));
        let label = if hour % 3 == 0 { format!("{hour:02}") } else { String::new() };
        bars = bars.push(column![bar, text(label).size(10)].align_x(Alignment::Center).width(Length::FillPortion(1)));
    }
    bars.into()
}

fn report_view<'a>(till: &'a Till, report: &'a Report) -> Element<'a, Message> {
    let l = till.locale.as_str();
    let title = match &report.close {
        Some(z) => rust_i18n::t!("report.title_z", locale = l, z = z.z_no).into_owned(),
        None => t("report.title_x", l),
    };
    let mut list = column![
        text(title).size(LARGE),
        text(
            rust_i18n::t!(
                "report.day",
                locale = l,
                day = report.first_day,
                date = crate::locale_fmt::date_text(&report.dates.0, l)
            )
            .into_owned()
        )
        .size(SMALL)
        .color(theme::MUTED),
        chart(report),
    ]
    .spacing(4);
    let mut section = "";
    for r in output::rows(report, l) {
        if r.section == "hours" {
            continue;
        }
        if r.section != section {
            section = r.section;
            let color = if section == "flags" { theme::STOP } else { theme::GO };
            list = list.push(text(t(&format!("report.section.{section}"), l)).size(TEXT).color(color));
        }
        let right = match (r.count, r.amount) {
            (Some(n), Some(a)) => format!("{n}   {}", money(report.money(a))),
            (None, Some(a)) => money(report.money(a)),
            (Some(n), None) => n.to_string(),
            (None, None) => String::new(),
        };
        let color = if r.section == "flags" { theme::STOP } else { theme::INK };
        list = list.push(row![text(r.label).size(SMALL).color(color).width(Length::Fill), text(right).size(SMALL)]);
    }
    scrollable(list.padding([0, 12])).height(Length::Fill).into()
}

fn count_view<'a>(till: &'a Till, state: &'a State) -> Element<'a, Message> {
    let l = till.locale.as_str();
    let mut col = column![text(t("manager.count_title", l)).size(LARGE)].spacing(6);
    let Some(count) = &state.count else { return col.into() };
    for (i, (face, typed)) in count.iter().enumerate() {
        let mut input = text_input("0", typed)
            .size(TEXT)
            .padding(6)
            .width(Length::Fixed(90.0))
            .on_input(move |v| Message::Manager(Msg::CountChanged(i, v)));
        if i == 0 {
            input = input.id(FIELD);
        }
        // What the entry was taken as: its amount, or that it is no count.
        let taken = match typed.trim() {
            "" => String::new(),
            n => match n.parse::<i64>() {
                Ok(n) if n >= 0 => {
                    format!("= {}", money(Money::from_minor(face.minor() * n, face.currency()).unwrap_or(*face)))
                }
                _ => t("manager.count_not_a_number", l),
            },
        };
        col = col.push(
            row![
                text(money(*face)).size(TEXT).width(Length::Fixed(110.0)),
                text("×").size(TEXT),
                input,
                text(taken).size(SMALL).color(theme::MUTED)
            ]
            .spacing(8)
            .align_y(Alignment::Center),
        );
    }
    let counted: i64 = count.iter().map(|(m, n)| m.minor() * n.parse::<i64>().unwrap_or(0)).sum();
    let currency = till.counter.store().currency;
    col = col.push(
        text(
            rust_i18n::t!(
                "manager.counted_so_far",
                locale = l,
                amount = money(Money::from_minor(counted, currency).unwrap_or(Money::zero(currency)))
            )
            .into_owned(),
        )
        .size(TEXT),
    );
    col = col.push(
        text_input(&t("manager.note", l), &state.note)
            .size(TEXT)
            .padding(6)
            .on_input(|v| Message::Manager(Msg::NoteChanged(v)))
            // The count's last field: Enter posts it, no mouse needed.
            .on_submit(Message::Manager(Msg::SubmitCount)),
    );
    col = col.push(theme::primary(
        t("manager.submit_count", l),
        (!state.busy).then_some(Message::Manager(Msg::SubmitCount)),
    ));
    scrollable(col).height(Length::Fill).into()
}

pub fn view(till: &Till) -> Element<'_, Message> {
    let l = till.locale.as_str();
    let Some(state) = &till.manager else { return column![].into() };
    let mut days = column![text(t("manager.days", l)).size(TEXT)].spacing(4);
    let shown = state.report.as_ref().map(|r| r.last_day);
    for d in &state.days {
        let z = d.z_no.map_or_else(|| t("report.open", l), |z| format!("Z {z}"));
        let label = column![
            text(format!("{} · {}", d.day_no, crate::locale_fmt::date_text(&d.business_date, l))).size(SMALL),
            text(z).size(SMALL).color(theme::MUTED)
        ];
        days = days.push(theme::row_button(label, shown == Some(d.day_no), Message::Manager(Msg::PickDay(d.day_no))));
    }
    let days = container(scrollable(days).height(Length::Fill))
        .width(Length::Fixed(200.0))
        .padding(6)
        .style(theme::panel(Color::WHITE));
    let middle: Element<'_, Message> = match (&state.count, &state.report) {
        (Some(_), _) => count_view(till, state),
        (None, _) if state.store_day.is_some() => store_day_view(state, l),
        (None, Some(report)) => report_view(till, report),
        (None, None) if state.busy => text(t("manager.loading", l)).size(TEXT).into(),
        (None, None) => text(t("manager.no_days", l)).size(TEXT).into(),
    };
    let open_day = state.report.as_ref().is_some_and(|r| r.close.is_none());
    let idle = !state.busy;
    let actions = column![
        theme::action(t("manager.print", l), (idle && state.report.is_some()).then_some(Message::Manager(Msg::Print))),
        theme::action(
            t("manager.export", l),
            (idle && state.report.is_some()).then_some(Message::Manager(Msg::Export))
        ),
        theme::action(
            t("manager.store_day", l),
            (idle && till.settings.as_ref().is_some_and(|s| s.head_office.is_some()))
                .then_some(Message::Manager(Msg::StoreDay))
        ),
        theme::action(t("manager.count", l), (idle && open_day).then_some(Message::Manager(Msg::StartCount))),
        row![
            text(t("manager.blind", l)).size(SMALL).width(Length::Fill),
            toggler(state.blind).on_toggle(|b| Message::Manager(Msg::Blind(b)))
        ]
        .align_y(Alignment::Center),
        Space::new().height(Length::Fixed(8.0)),
        text_input(&t("manager.amount", l), &state.amount)
            .size(TEXT)
            .padding(6)
            .on_input(|v| Message::Manager(Msg::AmountChanged(v))),
        text_input(&t("manager.reason", l), &state.reason)
            .size(TEXT)
            .padding(6)
            .on_input(|v| Message::Manager(Msg::ReasonChanged(v))),
        row![
            theme::action(t("manager.cash_in", l), idle.then_some(Message::Manager(Msg::Cash(CashDirection::In)))),
            theme::action(t("manager.cash_out", l), idle.then_some(Message::Manager(Msg::Cash(CashDirection::Out)))),
        ]
        .spacing(6),
        Space::new().height(Length::Fixed(8.0)),
        row![
            theme::action(t("manager.users", l), idle.then_some(Message::OpenUsers)),
            theme::action(t("manager.products", l), idle.then_some(Message::OpenProducts)),
        ]
        .spacing(6),
        theme::action(
            t("manager.diagnosis", l),
            (idle && till.devices.terminal.is_some()).then_some(Message::Manager(Msg::Diagnosis))
        ),
        theme::action(t("manager.setup", l), (idle && till.place.is_some()).then_some(Message::OpenSetup)),
    ]
    .spacing(8)
    .padding(iced::Padding { right: 12.0, ..iced::Padding::ZERO });
    // The Z and the way back stay in sight at any height; the rest scrolls above them.
    let actions = column![
        scrollable(actions).height(Length::Fill),
        theme::danger(t("manager.close_day", l), (idle && open_day).then_some(Message::Manager(Msg::CloseDay))),
        theme::action(t("manager.back", l), Some(Message::Manager(Msg::Close))),
    ]
    .spacing(8)
    .width(Length::Fixed(242.0));
    // A blind count hides the report (and its expected cash) until the count is in.
    let middle = if state.count.is_some() && !state.blind {
        row![
            container(middle).width(Length::FillPortion(1)),
            state.report.as_ref().map_or_else(|| column![].into(), |r| report_view(till, r))
        ]
        .spacing(8)
        .into()
    } else {
        middle
    };
    row![days, container(middle).width(Length::Fill).height(Length::Fill), actions].spacing(12).into()
}
