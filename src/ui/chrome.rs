//! What frames every screen: the training banner, the status bar (devices, day, cashier,
//! language), the notice line, the training printer's paper, and the manager's approval.

use iced::widget::{Space, button, center, column, container, opaque, row, scrollable, stack, text, text_input};
use iced::{Alignment, Color, Element, Length};

use super::theme::{self, SMALL, TEXT, money};
use super::{APPROVAL_PIN_FIELD, Message, Notice, PrinterState, Screen, TerminalState, Till, t};
use crate::money::Money;

/// The training paper's width for a printer of `columns`: 11 px monospace type advances a
/// little over 6.6 px a column; then the slip's padding, the panel's and the scroll bar.
fn paper_width(columns: usize) -> f32 {
    columns as f32 * 6.8 + 16.0 + 16.0 + 12.0
}

/// How wide a notice is in half-width characters (a CJK character is two).
fn notice_width(message: &str) -> usize {
    message.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

/// Beyond this many half-width characters a notice may not fit its two lines at 800 px.
const NOTICE_FITS: usize = 150;

/// A notice too long for its line, whole, over the screen: OK (or Escape) dismisses it.
fn whole_notice<'a>(till: &'a Till, message: &str) -> Element<'a, Message> {
    let l = till.locale.as_str();
    container(
        column![
            scrollable(text(message.to_string()).size(TEXT)).height(Length::Shrink),
            theme::primary(t("counter.got_it", l), Some(Message::Dismiss)),
        ]
        .spacing(14)
        .width(Length::Fixed(560.0)),
    )
    .padding(24)
    .max_height(440.0)
    .style(theme::panel(Color::WHITE))
    .into()
}

/// The notice line's height: one line of text with its padding.
const NOTICE_HEIGHT: f32 = 40.0;

pub fn frame<'a>(till: &'a Till, body: Element<'a, Message>) -> Element<'a, Message> {
    let l = till.locale.as_str();
    let mut page = column![];
    if till.training {
        let banner = rust_i18n::t!(
            "counter.training_banner",
            locale = l,
            cashier = crate::auth::DEMO_CASHIER_PIN,
            manager = crate::auth::DEMO_MANAGER_PIN
        );
        page = page.push(
            container(text(banner.into_owned()).size(TEXT))
                .padding([6, 12])
                .width(Length::Fill)
                .center_x(Length::Fill)
                .style(theme::band(theme::WARN)),
        );
    }
    page = page.push(status_bar(till));
    // The notice line keeps its place whether or not it has something to say: a notice never
    // pushes the screen down under a finger that was already on its way.
    let notice: Element<'a, Message> = match &till.notice {
        Some(notice) => {
            let (message, color) = match notice {
                Notice::Info(m) => (m, theme::GO),
                Notice::Error(m) => (m, theme::STOP),
            };
            // A long one in smaller type, on two lines of the same height; longer still, a tap
            // shows it whole (`notice_whole`) rather than dismissing what cannot be read.
            let width = notice_width(message);
            let (size, padding) = if width > 80 { (SMALL, 2) } else { (TEXT, 8) };
            button(text(message.clone()).size(size).width(Length::Fill))
                .padding([padding, 12])
                .height(Length::Fill)
                .width(Length::Fill)
                .style(move |_, _| button::Style {
                    background: Some(color.into()),
                    text_color: Color::WHITE,
                    ..button::Style::default()
                })
                .on_press(if width > NOTICE_FITS { Message::ShowNotice } else { Message::Dismiss })
                .into()
        }
        None => Space::new().into(),
    };
    page = page.push(container(notice).height(Length::Fixed(NOTICE_HEIGHT)).width(Length::Fill).clip(true));
    let main: Element<'a, Message> = if till.show_paper && !matches!(till.screen, Screen::SignIn | Screen::Manager) {
        row![container(body).width(Length::Fill), paper(till)].into()
    } else {
        body
    };
    page = page.push(container(main).padding(10).height(Length::Fill));
    let dialog = match (&till.approval, till.confirm, &till.notice) {
        (Some(_), _, _) => approval(till),
        (None, Some(asked), _) => confirm(till, asked),
        (None, None, Some(Notice::Error(m) | Notice::Info(m))) if till.notice_whole => whole_notice(till, m),
        (None, None, _) => return page.into(),
    };
    stack![
        page,
        opaque(center(dialog).style(|_| container::Style {
            background: Some(Color { a: 0.55, ..Color::BLACK }.into()),
            ..container::Style::default()
        }))
    ]
    .into()
}

/// The selected line as the approval names it: "Void line 3: 20 × Coca-Cola ¥70.00".
fn selected_line(till: &Till) -> Option<String> {
    let l = till.locale.as_str();
    let sale = till.counter.sale();
    let i = till.counter.selected()?;
    let line = sale.lines().get(i)?;
    let amount = sale.totals().lines.get(i)?.amount;
    let name = if l == "en" { &line.name_en } else { &line.name_zh };
    let what = format!("{} × {name} {}", line.quantity.normalize(), theme::money(amount));
    Some(rust_i18n::t!("counter.approve.void_line_named", locale = l, line = i + 1, what = what).into_owned())
}

/// A sentence about the whole current sale: its lines and total.
fn whole_sale(key: &str, till: &Till) -> String {
    let (sale, l) = (till.counter.sale(), till.locale.as_str());
    let total = theme::money(sale.totals().total);
    let n = sale.lines().len();
    let lines =
        rust_i18n::t!(if n == 1 { "counter.line_count_one" } else { "counter.line_count" }, locale = l, count = n);
    rust_i18n::t!(key, locale = l, lines = lines, total = total).into_owned()
}

/// An irreversible step, asked about: what it does, yes or no (Escape is no).
fn confirm(till: &Till, asked: super::Confirm) -> Element<'_, Message> {
    let l = till.locale.as_str();
    let (question, yes) = match asked {
        super::Confirm::VoidSale => {
            (whole_sale("counter.confirm.void_sale", till), t("counter.confirm.void_sale_yes", l))
        }
        super::Confirm::CloseDay => (t("counter.confirm.close_day", l), t("counter.confirm.close_day_yes", l)),
    };
    container(
        column![
            text(question).size(theme::LARGE),
            row![
                theme::danger(yes, Some(Message::Confirmed)),
                theme::action(t("counter.confirm.no", l), Some(Message::CancelConfirm)),
            ]
            .spacing(12),
        ]
        .spacing(14)
        .width(Length::Fixed(460.0)),
    )
    .padding(24)
    .style(theme::panel(Color::WHITE))
    .into()
}

/// A status-bar button: small text, still a full-size touch target.
fn small_button<'a>(label: String, on_press: Message) -> button::Button<'a, Message> {
    button(text(label).size(SMALL).center().height(Length::Fill))
        .padding([0, 12])
        .height(Length::Fixed(theme::TOUCH - 4.0))
        .on_press(on_press)
}

fn status_bar(till: &Till) -> Element<'_, Message> {
    let l = till.locale.as_str();
    let terminal = match till.terminal {
        TerminalState::Connecting => ("counter.terminal.connecting", theme::MUTED),
        TerminalState::Ready => ("counter.terminal.ready", theme::GO),
        TerminalState::Busy => ("counter.terminal.busy", theme::WARN),
        TerminalState::NeedsSettlement => ("counter.terminal.needs_settlement", theme::WARN),
        TerminalState::NeedsSetup => ("counter.terminal.needs_setup", theme::WARN),
        TerminalState::Offline => ("counter.terminal.offline", theme::STOP),
        TerminalState::None => ("counter.terminal.none", theme::MUTED),
    };
    let printer = match till.printer {
        PrinterState::Unknown => ("counter.printer.unknown", theme::MUTED),
        PrinterState::Ok => ("counter.printer.ok", theme::GO),
        PrinterState::PaperLow => ("counter.printer.paper_low", theme::WARN),
        PrinterState::PaperOut => ("counter.printer.paper_out", theme::STOP),
        PrinterState::CoverOpen => ("counter.printer.cover_open", theme::STOP),
        PrinterState::Offline => ("counter.printer.offline", theme::STOP),
        PrinterState::None => ("counter.printer.none", theme::MUTED),
    };
    let day = match &till.day {
        Some((no, date)) => {
            let date = crate::locale_fmt::date_text(date, l);
            rust_i18n::t!("counter.day_open", locale = l, day = no, date = date).into_owned()
        }
        None => t("counter.no_day", l),
    };
    let who = till.counter.cashier().map_or_else(String::new, |c| format!("{} · {}", c.name, t(c.role.key(), l)));
    // Signed in, the cashier's name takes the store's place: the bar must fit 1024 px.
    let first = if who.is_empty() { till.counter.store().store_name.clone() } else { who };
    // Who (or which store) above, the devices and the day below: two short lines leave the
    // buttons their room on an 800 px screen (one long line squeezed 中文 to a sliver).
    let devices = row![
        text(t(terminal.0, l)).size(SMALL).color(terminal.1),
        text(t(printer.0, l)).size(SMALL).color(printer.1),
        text(day).size(SMALL).color(theme::MUTED),
    ]
    .spacing(12);
    let devices = match super::head_office::status_text(&till.head_office, l) {
        Some((words, warn)) => {
            devices.push(text(words).size(SMALL).color(if warn { theme::WARN } else { theme::MUTED }))
        }
        None => devices,
    };
    let mut bar =
        row![column![text(first).size(SMALL), devices].width(Length::Fill)].spacing(12).align_y(Alignment::Center);
    if till.queued_prints > 0 {
        bar = bar.push(small_button(
            rust_i18n::t!("counter.print_queued", locale = l, count = till.queued_prints).into_owned(),
            Message::PrintQueued,
        ));
    }
    if !till.posting.is_empty() {
        bar = bar.push(
            text(rust_i18n::t!("counter.unposted", locale = l, count = till.posting.len()).into_owned())
                .size(SMALL)
                .color(theme::STOP),
        );
    }
    if till.counter.cashier().is_some() && till.screen == Screen::Sale {
        // Only between sales: with a cart it would only refuse.
        let idle = till.counter.sale().lines().is_empty();
        bar = bar.push(
            small_button(t("counter.key.manager", l), Message::OpenManager)
                .on_press_maybe(idle.then_some(Message::OpenManager)),
        );
    }
    if till.training {
        bar = bar.push(small_button(t("counter.show_paper", l), Message::TogglePaper));
    }
    bar = bar.push(small_button(t("counter.language", l), Message::ToggleLanguage));
    container(bar).padding([2, 12]).width(Length::Fill).style(theme::panel(theme::PANEL)).into()
}

/// Training mode: what the emulated printer printed, newest first, in the paper's own columns.
fn paper(till: &Till) -> Element<'_, Message> {
    use super::Trainer;
    let l = till.locale.as_str();
    let control = |key: &str, what: Trainer| small_button(t(key, l), Message::Trainer(what));
    let trainer = column![
        text(t("counter.trainer.title", l)).size(SMALL).color(theme::MUTED),
        row![
            control("counter.trainer.paper_ok", Trainer::PaperOk),
            control("counter.trainer.paper_near_end", Trainer::PaperNearEnd),
            control("counter.trainer.paper_out", Trainer::PaperOut),
        ]
        .spacing(4),
        row![
            control("counter.trainer.card_approves", Trainer::CardApproves),
            control("counter.trainer.card_declines", Trainer::CardDeclines),
            control("counter.trainer.customer_stops", Trainer::CustomerStops),
        ]
        .spacing(4),
    ]
    .spacing(4);
    let mut slips = column![trainer, text(t("counter.paper_heading", l)).size(SMALL)].spacing(8);
    for slip in till.paper.iter().rev() {
        slips = slips.push(
            container(text(slip.clone()).size(11).font(iced::Font::MONOSPACE))
                .padding(8)
                .style(theme::panel(theme::PAPER)),
        );
    }
    // As wide as the printer's receipt, whatever the window (a line wrapped on screen that the
    // paper prints whole would mislead the trainee): the counter keeps the rest (a share of a
    // narrow screen squeezed the cart's names out).
    let width = paper_width(till.counter.store().printer_model.columns);
    container(scrollable(slips).height(Length::Fill)).width(Length::Fixed(width)).padding([0, 8]).into()
}

fn approval(till: &Till) -> Element<'_, Message> {
    let l = till.locale.as_str();
    let Some(request) = &till.approval else { return column![].into() };
    let what = match &request.pending {
        super::Pending::VoidLine => selected_line(till).unwrap_or_else(|| t("counter.approve.void_line", l)),
        super::Pending::VoidSale => whole_sale("counter.approve.void_sale", till),
        super::Pending::Quantity(q) => {
            let line = selected_line(till).unwrap_or_default();
            rust_i18n::t!("counter.approve.fewer", locale = l, line = line, quantity = q).into_owned()
        }
        super::Pending::Price(p) => rust_i18n::t!("counter.approve.price", locale = l, price = p).into_owned(),
        super::Pending::Discount(p, _) => {
            rust_i18n::t!("counter.approve.discount", locale = l, percent = p).into_owned()
        }
        super::Pending::CashRefund(all) => {
            let amount = till.counter.refund_shares().map_or(String::new(), |s| {
                let card = if *all { s.card.minor() } else { 0 };
                money(Money::of_minor(card + s.cash.minor(), s.cash.currency()))
            });
            rust_i18n::t!("counter.approve.cash_refund", locale = l, amount = amount).into_owned()
        }
        super::Pending::Refund => {
            // Which sale, and how much goes back: what the manager approves.
            let receipt = till.counter.refund_source().map_or(0, |s| s.record.receipt_no);
            let chosen = till.refund_quantities.iter().filter(|(_, q)| !q.is_zero()).count();
            let amount = super::refund::chosen_amount(till);
            rust_i18n::t!(
                "counter.approve.refund",
                locale = l,
                receipt = receipt,
                lines = chosen,
                amount = money(amount)
            )
            .into_owned()
        }
        super::Pending::NoSale => t("counter.approve.no_sale", l),
        super::Pending::Manager => t("counter.approve.manager", l),
        super::Pending::Setup => t("counter.approve.setup", l),
        super::Pending::Users => t("counter.approve.users", l),
        super::Pending::Catalog => t("counter.approve.catalog", l),
    };
    let mut managers = row![].spacing(8);
    for (i, user) in till.users.iter().enumerate().filter(|(_, u)| u.role.may(request.pending.permission())) {
        managers = managers.push(
            theme::row_button(text(user.name.clone()).size(TEXT), request.user == Some(i), Message::ApprovalUser(i))
                .width(Length::Shrink)
                .height(Length::Fixed(theme::TOUCH)),
        );
    }
    let pin = text_input(&t("counter.pin", l), &request.pin)
        .id(APPROVAL_PIN_FIELD)
        .secure(true)
        .size(theme::LARGE)
        .padding(10)
        .on_input(Message::ApprovalPin)
        .on_submit(Message::Approve);
    let buttons = row![
        theme::primary(t("counter.approve.ok", l), (!request.checking).then_some(Message::Approve)),
        theme::danger(t("counter.cancel", l), Some(Message::CancelApproval)),
    ]
    .spacing(12);
    let mut body =
        column![text(t("counter.approve.title", l)).size(theme::LARGE), text(what).size(TEXT), managers, pin];
    // A wrong PIN is said in the dialog, where the manager is looking (the notice line is dimmed).
    if let Some(Notice::Error(e)) = &till.notice {
        body = body.push(text(e.clone()).size(TEXT).color(theme::STOP));
    }
    container(body.push(buttons).spacing(14).width(Length::Fixed(460.0)))
        .padding(24)
        .style(theme::panel(Color::WHITE))
        .into()
}
