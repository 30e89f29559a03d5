//! Refund (退货): scan the receipt's barcode or QR code (or type its number), choose lines and
//! quantities, then pay back on the payment screen.

use iced::widget::{button, column, container, row, scrollable, text, text_input};
use iced::{Alignment, Color, Element, Length};
use rust_decimal::Decimal;

use super::theme::{self, LARGE, SMALL, TEXT, money};
use super::{LOOKUP_FIELD, Message, Till, t};
use crate::catalog::SoldBy;
use crate::money::Money;

pub fn view(till: &Till) -> Element<'_, Message> {
    let l = till.locale.as_str();
    let lookup = text_input(&t("counter.lookup_placeholder", l), &till.lookup)
        .id(LOOKUP_FIELD)
        .size(LARGE)
        .padding(10)
        .on_input(Message::LookupChanged)
        .on_submit(Message::Lookup);
    let mut page = column![
        text(t("counter.refund_title", l)).size(LARGE),
        row![lookup, theme::action(t("counter.find", l), Some(Message::Lookup)).width(Length::Fixed(140.0))].spacing(8),
    ]
    .spacing(10);
    let Some(source) = till.counter.refund_source() else {
        page = page.push(text(t("counter.lookup_hint", l)).size(TEXT).color(theme::MUTED));
        page = page.push(text(t("counter.find_sale_hint", l)).size(SMALL).color(theme::MUTED));
        let mut found = column![].spacing(4);
        for sale in &till.found_sales {
            let total =
                Money::from_minor(sale.total_minor, till.counter.store().currency).map(money).unwrap_or_default();
            let when = sale.completed_at.get(..16).unwrap_or(&sale.completed_at).replace('T', " ");
            let card = sale.card.clone().unwrap_or_default();
            let label = rust_i18n::t!(
                "counter.found_sale",
                locale = l,
                receipt = sale.receipt_no,
                date = when,
                total = total,
                card = card
            );
            found =
                found.push(theme::action(label.trim_end().to_string(), Some(Message::OpenReceipt(sale.receipt_no))));
        }
        page = page.push(scrollable(found).height(Length::Fill));
        return page.push(theme::action(t("counter.cancel", l), Some(Message::RefundCancel))).into();
    };
    let currency = till.counter.store().currency;
    page = page.push(
        text(
            rust_i18n::t!(
                "counter.original",
                locale = l,
                receipt = source.record.receipt_no,
                date = source.record.completed_at.get(..16).unwrap_or(&source.record.completed_at).replace('T', " "),
                total = money(Money::from_minor(source.record.total, currency).unwrap_or(Money::zero(currency)))
            )
            .into_owned(),
        )
        .size(TEXT),
    );
    let mut lines = column![].spacing(4);
    let mut refund_total = 0i64;
    for line in &source.original.lines {
        let chosen = till.refund_quantities.iter().find(|(n, _)| *n == line.line_no).map_or(Decimal::ZERO, |q| q.1);
        let left = line.quantity - line.refunded_quantity;
        if !line.quantity.is_zero() {
            refund_total +=
                (Decimal::from(line.amount.minor()) * chosen / line.quantity).round().try_into().unwrap_or(0i64);
        }
        let step = if line.sold_by == SoldBy::Piece { Decimal::ONE } else { left };
        let name = if l == "en" { &line.name_en } else { &line.name_zh };
        let stepper = |label: &'static str, to: Decimal, enabled: bool| {
            button(text(label).size(LARGE).center().width(Length::Fill))
                .width(Length::Fixed(theme::TOUCH))
                .height(Length::Fixed(theme::TOUCH))
                .on_press_maybe(enabled.then_some(Message::RefundQuantity(line.line_no, to)))
        };
        lines = lines.push(
            container(
                row![
                    column![
                        text(name.clone()).size(TEXT),
                        text(
                            rust_i18n::t!(
                                "counter.sold_line",
                                locale = l,
                                quantity = line.quantity.normalize().to_string(),
                                amount = money(line.amount),
                                refunded = line.refunded_quantity.normalize().to_string()
                            )
                            .into_owned()
                        )
                        .size(SMALL)
                        .color(theme::MUTED),
                    ]
                    .width(Length::Fill),
                    stepper("−", chosen - step, chosen > Decimal::ZERO),
                    text(chosen.normalize().to_string()).size(LARGE).width(Length::Fixed(80.0)).center(),
                    stepper("+", chosen + step, chosen < left),
                ]
                .spacing(8)
                .align_y(Alignment::Center),
            )
            .padding(8)
            .style(theme::panel(Color::WHITE)),
        );
    }
    let estimate = Money::from_minor(refund_total, currency).unwrap_or(Money::zero(currency));
    page.push(scrollable(lines).height(Length::Fill))
        .push(
            row![
                theme::action(t("counter.refund_all", l), Some(Message::RefundAll)),
                theme::action(t("counter.cancel", l), Some(Message::RefundCancel)),
                theme::primary(
                    rust_i18n::t!("counter.refund_confirm", locale = l, amount = money(estimate)).into_owned(),
                    (refund_total > 0).then_some(Message::RefundConfirm)
                ),
            ]
            .spacing(8),
        )
        .into()
}
