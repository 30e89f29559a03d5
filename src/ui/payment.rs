//! Payment: what is due, large; cash with quick amounts; card through the terminal with its live
//! status and an Abort button; scan-code and other tenders with a reference; split tenders. For a
//! refund: back to the original card, or cash.

use iced::keyboard::key::Named;

use super::{Job, Pending, Screen, TerminalState, workers};
use crate::card;
use crate::counter::CounterError;

use iced::widget::{Space, column, container, row, text, text_input};
use iced::{Alignment, Color, Element, Length};

use super::theme::{self, LARGE, SMALL, TEXT, money};
use super::{CASH_FIELD, CardState, Message, Till, t};
use crate::money::Money;
use crate::sale::{ExternalMethod, SaleKind, SaleState, TenderKind};

/// What the payment screen's buttons and keys ask for.
#[derive(Debug, Clone)]
pub enum Msg {
    CashChanged(String),
    /// Cash: the amount typed (None) or a quick amount.
    Cash(Option<Money>),
    Card,
    AbortCard,
    Recover,
    External(ExternalMethod),
    /// Cash back on a refund: its cash share, or (true) all of it, the card's share too.
    RefundCash(bool),
    /// The share paid by scan code or voucher goes back the same way: made on that channel,
    /// its reference typed in the field.
    RefundOther,
    /// Complete a sale that was paid before the till closed (brought back at start).
    CompleteSale,
    /// Escape: back to the cart (a refund not paid yet: back to the sale screen).
    Back,
}

/// The keys as this screen means them: F12 the card (a refund: the next share back), Escape back.
pub fn key(till: &Till, key: Named) -> Option<Msg> {
    let shares = till.counter.refund_shares();
    match (key, shares) {
        // A refund's F12 pays back the next share: the card's, then the scan code's (or
        // voucher's), then the cash.
        (Named::F12, Some(s)) if s.card.is_positive() && till.devices.terminal.is_some() => Some(Msg::Card),
        // No terminal to take the card's share: all of it in cash, with the manager.
        (Named::F12, Some(s)) if s.card.is_positive() => Some(Msg::RefundCash(true)),
        (Named::F12, Some(s)) if s.other.is_positive() => Some(Msg::RefundOther),
        (Named::F12, Some(_)) => Some(Msg::RefundCash(false)),
        (Named::F12, None) => Some(Msg::Card),
        (Named::Escape, _) => Some(Msg::Back),
        _ => None,
    }
}

pub fn update(till: &mut Till, msg: Msg) -> Vec<Job> {
    let l = till.locale.clone();
    match msg {
        Msg::CashChanged(text) => {
            till.cash = text;
            till.cash_to_confirm = None;
        }
        Msg::Cash(quick) => {
            if till.card != CardState::Idle {
                return Vec::new();
            }
            let typed = std::mem::take(&mut till.cash);
            // Typed cash far beyond what is due (a manager's PIN after a refused shortcut, a
            // price in the wrong field) is asked again: Enter once more takes it.
            if quick.is_none()
                && let Ok(given) = Money::parse(&typed, till.counter.store().currency)
            {
                let due = till.counter.sale().cash_due();
                let limit = till.counter.store().cash_given_limit(due);
                if given.minor() > limit.minor() && till.cash_to_confirm != Some(given) {
                    till.cash_to_confirm = Some(given);
                    till.cash = typed;
                    let words = rust_i18n::t!(
                        "counter.cash_check",
                        locale = &l,
                        given = theme::money(given),
                        due = theme::money(due)
                    );
                    till.error(words.into_owned());
                    return Vec::new();
                }
            }
            till.cash_to_confirm = None;
            let given = quick.map_or(typed, |m| m.amount().to_string());
            match till.counter.tender_cash(&given) {
                Ok(change) => {
                    till.last_change = Some(change);
                    return till.finish_if_paid();
                }
                Err(e) => till.counter_error(e),
            }
        }
        Msg::Card => return till.start_card(),
        // The terminal is master during a payment: ZVT lets the till send no abort then
        // (PA00P015 rev 13.08 §2.23). The customer stops it on the terminal (its Stop key),
        // or it ends by its own timeout; the till waits for its answer.
        Msg::AbortCard => {
            if matches!(till.card, CardState::Running(_)) {
                till.info_t("counter.abort_on_terminal");
            }
        }
        Msg::Recover => {
            let Some(terminal) = &till.devices.terminal else { return Vec::new() };
            let ledger = till.devices.shared.clone();
            let current = till.counter.in_progress();
            till.terminal = TerminalState::Busy;
            return vec![terminal.stream(move |device, out| {
                let mut ledger = workers::lock(&ledger);
                let r = card::recover(&mut ledger, &mut *device.terminal);
                out.send(Message::Recovered(r.map_err(|e| e.to_string())));
                // The current sale takes what the ledger now holds for it.
                if let Some(id) = current
                    && let Ok(held) = ledger.held_cards(id)
                {
                    out.send(Message::Held(id, held));
                }
            })];
        }
        Msg::External(method) => {
            if till.card != CardState::Idle {
                return Vec::new();
            }
            let reference = std::mem::take(&mut till.cash);
            match till.counter.tender_external(method, &reference) {
                Ok(()) => return till.finish_if_paid(),
                Err(e) => till.counter_error(e),
            }
        }
        Msg::RefundCash(all) => match till.counter.refund_cash(all, None) {
            Ok(_) => return till.finish_if_paid(),
            Err(CounterError::NeedsApproval(_)) => till.ask_manager(Pending::CashRefund(all)),
            Err(e) => till.counter_error(e),
        },
        Msg::RefundOther => {
            let reference = till.cash.trim().to_string();
            if reference.is_empty() {
                till.error_t("counter.refund_other_reference");
                return Vec::new();
            }
            match till.counter.refund_other(&reference) {
                Ok(_) => {
                    till.cash.clear();
                    return till.finish_if_paid();
                }
                Err(e) => till.counter_error(e),
            }
        }
        Msg::Back => {
            if till.card != CardState::Idle {
                return Vec::new();
            }
            // One step back: an amount typed goes first.
            if !till.cash.is_empty() {
                till.cash.clear();
                till.cash_to_confirm = None;
                return Vec::new();
            }
            if till.counter.back_to_refund() {
                // One step back: the lines and quantities chosen, still chosen.
                till.screen = Screen::Refund;
            } else if till.counter.sale().kind() == SaleKind::Refund && till.counter.sale().tenders().is_empty() {
                till.counter.cancel_refund();
                till.screen = Screen::Sale;
            } else {
                match till.counter.back_to_cart() {
                    Ok(()) => till.screen = Screen::Sale,
                    Err(e) => till.counter_error(e),
                }
            }
        }
        Msg::CompleteSale if till.card == CardState::Idle => return till.finish_if_paid(),
        Msg::CompleteSale => {}
    }
    Vec::new()
}

/// Banknote amounts a customer is likely to hand over for `due`: the next multiples of 10, 20,
/// 50 and 100 above it.
pub fn quick_amounts(due: Money) -> Vec<Money> {
    let unit = 10i64.pow(due.currency().minor_units);
    let mut out: Vec<Money> = Vec::new();
    for note in [10, 20, 50, 100] {
        let step = note * unit;
        let next = (due.minor() + step - 1) / step * step;
        if let Ok(m) = Money::from_minor(next, due.currency())
            && next > due.minor()
            && !out.contains(&m)
        {
            out.push(m);
        }
    }
    out
}

pub fn view(till: &Till) -> Element<'_, Message> {
    let l = till.locale.as_str();
    let sale = till.counter.sale();
    let refund = sale.kind() == SaleKind::Refund;
    let due = sale.remaining();
    let card_idle = till.card == CardState::Idle;
    let title = if refund { t("counter.refund_due", l) } else { t("counter.due", l) };
    let mut left = column![
        text(title).size(TEXT),
        text(money(due.abs())).size(72),
        text(rust_i18n::t!("counter.sale_total", locale = l, total = money(sale.totals().total)).into_owned())
            .size(SMALL)
            .color(theme::MUTED),
    ]
    .spacing(6)
    .width(Length::FillPortion(2));
    if !sale.tenders().is_empty() {
        left = left.push(text(t("counter.paid_so_far", l)).size(SMALL).color(theme::MUTED));
    }
    for tender in sale.tenders() {
        let what = match &tender.kind {
            TenderKind::Cash => t("counter.tender.cash", l),
            TenderKind::Card(c) => format!("{} {}", c.card_name, c.masked_pan),
            TenderKind::External { method, reference } => {
                format!("{} {}", t(&format!("counter.tender.{}", method.code()), l), reference)
            }
        };
        left = left.push(row![text(what).size(TEXT).width(Length::Fill), text(money(tender.amount)).size(TEXT)]);
    }
    left = left.push(Space::new().height(Length::Fill));
    // Once money was taken the cart cannot come back (the tenders would not fit it): the way
    // out is to finish, or — a sale — to void it, its cards reversed at the terminal.
    if sale.tenders().is_empty() {
        left = left.push(theme::action(t("counter.back", l), card_idle.then_some(Message::Payment(Msg::Back))));
    } else if !refund && sale.state() != SaleState::Paid {
        left = left.push(theme::danger(
            t("counter.key.void_sale", l),
            card_idle.then_some(Message::Sale(super::sale::Msg::VoidSale)),
        ));
    }

    let right = match &till.card {
        CardState::Running(status) => column![
            text(t("counter.card_running", l)).size(TEXT),
            container(text(status.clone()).size(LARGE))
                .padding(16)
                .width(Length::Fill)
                .style(theme::panel(Color::WHITE)),
            theme::danger(t("counter.abort", l), Some(Message::Payment(Msg::AbortCard))),
        ]
        .spacing(12),
        CardState::Unknown => column![
            container(text(t("counter.card_unknown", l)).size(TEXT)).padding(16).style(theme::band(theme::WARN)),
            theme::primary(t("counter.recover", l), Some(Message::Payment(Msg::Recover))),
        ]
        .spacing(12),
        // Paid before the till closed, brought back at start: complete it, or void it (its card
        // payments are reversed at the terminal).
        CardState::Idle if sale.state() == SaleState::Paid => column![
            container(text(t("counter.paid_brought_back", l)).size(TEXT)).padding(16).style(theme::band(theme::WARN)),
            theme::primary(t("counter.complete_sale", l), Some(Message::Payment(Msg::CompleteSale))),
            theme::danger(t("counter.key.void_sale", l), Some(Message::Sale(super::sale::Msg::VoidSale))),
        ]
        .spacing(12),
        CardState::Idle if refund => refund_tenders(till),
        CardState::Idle => sale_tenders(till, due),
    };
    row![left, container(right.width(Length::Fill)).width(Length::FillPortion(3))].spacing(24).into()
}

fn sale_tenders(till: &Till, due: Money) -> iced::widget::Column<'_, Message> {
    let l = till.locale.as_str();
    let field = text_input(&t("counter.cash_placeholder", l), &till.cash)
        .id(CASH_FIELD)
        .size(LARGE)
        .padding(10)
        .on_input(|v| Message::Payment(Msg::CashChanged(v)))
        .on_submit(Message::Payment(Msg::Cash(None)));
    let mut quick = row![theme::action(
        t("counter.exact", l),
        Some(Message::Payment(Msg::Cash(Some(till.counter.sale().cash_due()))))
    )]
    .spacing(6);
    for amount in quick_amounts(due) {
        quick = quick.push(theme::action(money(amount), Some(Message::Payment(Msg::Cash(Some(amount))))));
    }
    let has_terminal = till.devices.terminal.is_some();
    column![
        // What the field is for, in sight while it has the keyboard (its placeholder is gone
        // once something is typed).
        text(t("counter.cash_label", l)).size(SMALL).color(theme::MUTED),
        field,
        theme::primary(t("counter.pay_cash", l), Some(Message::Payment(Msg::Cash(None)))),
        quick,
        theme::primary(t("counter.pay_card", l), has_terminal.then_some(Message::Payment(Msg::Card))),
        row![
            theme::action(
                t("counter.tender.scan_code", l),
                (!till.cash.trim().is_empty()).then_some(Message::Payment(Msg::External(ExternalMethod::ScanCode)))
            ),
            theme::action(
                t("counter.tender.voucher", l),
                (!till.cash.trim().is_empty()).then_some(Message::Payment(Msg::External(ExternalMethod::Voucher)))
            ),
            theme::action(
                t("counter.tender.other", l),
                (!till.cash.trim().is_empty()).then_some(Message::Payment(Msg::External(ExternalMethod::Other)))
            ),
        ]
        .spacing(6),
        text(t("counter.reference_hint", l)).size(SMALL).color(theme::MUTED),
    ]
    .spacing(10)
    .align_x(Alignment::Center)
}

/// A refund follows the original's tenders: each share named with its amount, the card's first
/// (F12 pays whichever share comes next), and all of it in cash only with a manager.
fn refund_tenders(till: &Till) -> iced::widget::Column<'_, Message> {
    let l = till.locale.as_str();
    let mut col = column![].spacing(12);
    let (Some(source), Some(shares)) = (till.counter.refund_source(), till.counter.refund_shares()) else {
        return col;
    };
    if shares.card.is_positive()
        && let Some(c) = source.card()
    {
        let card = format!("{} {}", c.card_name.clone().unwrap_or_default(), c.masked_pan.clone().unwrap_or_default());
        let label = rust_i18n::t!("counter.refund_to_card", locale = l, card = card, amount = money(shares.card));
        col = col.push(theme::go(
            label.into_owned(),
            till.devices.terminal.is_some().then_some(Message::Payment(Msg::Card)),
        ));
    }
    if shares.other.is_positive() {
        // Made on the channel that paid (the scan-code platform, the voucher's issuer); the
        // reference it gives goes into the field, then F12.
        let method = source.other().map_or_else(String::new, |p| t(&format!("counter.tender.{}", p.kind), l));
        let field = text_input(&t("counter.refund_other_placeholder", l), &till.cash)
            .id(CASH_FIELD)
            .size(LARGE)
            .padding(10)
            .on_input(|v| Message::Payment(Msg::CashChanged(v)))
            .on_submit(Message::Payment(Msg::RefundOther));
        let label = rust_i18n::t!("counter.refund_other", locale = l, method = method, amount = money(shares.other));
        let first = !shares.card.is_positive();
        let pay = Some(Message::Payment(Msg::RefundOther));
        col = col.push(text(t("counter.refund_other_how", l)).size(SMALL).color(theme::MUTED));
        col = col.push(field);
        col = col.push(if first { theme::go(label.into_owned(), pay) } else { theme::action(label.into_owned(), pay) });
    }
    if shares.cash.is_positive() {
        let first = !shares.card.is_positive() && !shares.other.is_positive();
        let key = match (!first, shares.cash_without_manager == shares.cash) {
            (false, true) => "counter.refund_cash_next",
            (false, false) => "counter.refund_cash_manager_next",
            (true, true) => "counter.refund_cash",
            (true, false) => "counter.refund_cash_manager",
        };
        let label = rust_i18n::t!(key, locale = l, amount = money(shares.cash)).into_owned();
        let pay = Some(Message::Payment(Msg::RefundCash(false)));
        col = col.push(if first { theme::go(label, pay) } else { theme::action(label, pay) });
    }
    if shares.card.is_positive() || shares.other.is_positive() {
        let all =
            Money::of_minor(shares.card.minor() + shares.other.minor() + shares.cash.minor(), shares.card.currency());
        let label = rust_i18n::t!("counter.refund_all_cash", locale = l, amount = money(all)).into_owned();
        col = col.push(theme::action(label, Some(Message::Payment(Msg::RefundCash(true)))));
    }
    col
}
