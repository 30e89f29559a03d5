//! Payment: what is due, large; cash with quick amounts; card through the terminal with its live
//! status and an Abort button; scan-code and other tenders with a reference; split tenders. For a
//! refund: back to the original card, or cash.

use iced::widget::{Space, column, container, row, text, text_input};
use iced::{Alignment, Color, Element, Length};

use super::theme::{self, LARGE, SMALL, TEXT, money};
use super::{CASH_FIELD, CardState, Message, Till, t};
use crate::money::Money;
use crate::sale::{ExternalMethod, SaleKind, SaleState, TenderKind};

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
    left = left.push(theme::action(t("counter.back", l), card_idle.then_some(Message::BackToCart)));

    let right = match &till.card {
        CardState::Running(status) => column![
            text(t("counter.card_running", l)).size(TEXT),
            container(text(status.clone()).size(LARGE))
                .padding(16)
                .width(Length::Fill)
                .style(theme::panel(Color::WHITE)),
            theme::danger(t("counter.abort", l), Some(Message::AbortCard)),
        ]
        .spacing(12),
        CardState::Unknown => column![
            container(text(t("counter.card_unknown", l)).size(TEXT)).padding(16).style(theme::band(theme::WARN)),
            theme::primary(t("counter.recover", l), Some(Message::Recover)),
        ]
        .spacing(12),
        // Paid before the till closed, brought back at start: complete it, or void it (its card
        // payments are reversed at the terminal).
        CardState::Idle if sale.state() == SaleState::Paid => column![
            container(text(t("counter.paid_brought_back", l)).size(TEXT)).padding(16).style(theme::band(theme::WARN)),
            theme::primary(t("counter.complete_sale", l), Some(Message::CompleteSale)),
            theme::danger(t("counter.key.void_sale", l), Some(Message::VoidSale)),
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
        .on_input(Message::CashChanged)
        .on_submit(Message::Cash(None));
    let mut quick =
        row![theme::action(t("counter.exact", l), Some(Message::Cash(Some(till.counter.sale().cash_due()))))]
            .spacing(6);
    for amount in quick_amounts(due) {
        quick = quick.push(theme::action(money(amount), Some(Message::Cash(Some(amount)))));
    }
    let has_terminal = till.devices.terminal.is_some();
    column![
        // What the field is for, in sight while it has the keyboard (its placeholder is gone
        // once something is typed).
        text(t("counter.cash_label", l)).size(SMALL).color(theme::MUTED),
        field,
        theme::primary(t("counter.pay_cash", l), Some(Message::Cash(None))),
        quick,
        theme::primary(t("counter.pay_card", l), has_terminal.then_some(Message::Card)),
        row![
            theme::action(
                t("counter.tender.scan_code", l),
                (!till.cash.trim().is_empty()).then_some(Message::External(ExternalMethod::ScanCode))
            ),
            theme::action(
                t("counter.tender.voucher", l),
                (!till.cash.trim().is_empty()).then_some(Message::External(ExternalMethod::Voucher))
            ),
            theme::action(
                t("counter.tender.other", l),
                (!till.cash.trim().is_empty()).then_some(Message::External(ExternalMethod::Other))
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
        col = col.push(theme::primary(label.into_owned(), till.devices.terminal.is_some().then_some(Message::Card)));
    }
    if shares.cash.is_positive() {
        let key = match (shares.card.is_positive(), shares.cash_without_manager == shares.cash) {
            (false, true) => "counter.refund_cash_next",
            (false, false) => "counter.refund_cash_manager_next",
            (true, true) => "counter.refund_cash",
            (true, false) => "counter.refund_cash_manager",
        };
        let label = rust_i18n::t!(key, locale = l, amount = money(shares.cash)).into_owned();
        let pay = Some(Message::RefundCash(false));
        col = col.push(if shares.card.is_positive() { theme::action(label, pay) } else { theme::primary(label, pay) });
    }
    if shares.card.is_positive() {
        let all = Money::of_minor(shares.card.minor() + shares.cash.minor(), shares.card.currency());
        let label = rust_i18n::t!("counter.refund_all_cash", locale = l, amount = money(all)).into_owned();
        col = col.push(theme::action(label, Some(Message::RefundCash(true))));
    }
    col
}
