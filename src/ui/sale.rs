//! The sale screen: the scan field (always focused), search hits or the quick keys, the cart with
//! its totals, and the actions with their F-keys.

use iced::widget::{Space, button, column, container, row, scrollable, text, text_input};
use iced::{Alignment, Color, Element, Length};

use super::theme::{self, LARGE, SMALL, TEXT, money};
use super::{Message, SCAN_FIELD, Till, t};
use crate::money::Money;
use crate::sale::Sale;

pub fn view(till: &Till) -> Element<'_, Message> {
    let l = till.locale.as_str();
    let left = column![cart(till, till.counter.sale()), totals(till)].spacing(8).width(Length::FillPortion(3));
    let placeholder = if till.weighing.is_some() { "counter.weight_placeholder" } else { "counter.scan_placeholder" };
    let scan = text_input(&t(placeholder, l), &till.scan)
        .id(SCAN_FIELD)
        .size(LARGE)
        .padding(10)
        .on_input(Message::ScanChanged)
        .on_submit(Message::ScanSubmitted);
    // The placeholder is short enough to fit a narrow screen; what the field takes is said
    // above it, in sight while it has the keyboard.
    let mut right = column![text(t("counter.scan_hint", l)).size(SMALL).color(theme::MUTED), scan]
        .spacing(4)
        .width(Length::FillPortion(2));
    if let Some(change) = till.last_change {
        right = right.push(
            container(
                column![text(t("counter.change", l)).size(TEXT), text(money(change)).size(theme::HUGE)]
                    .align_x(Alignment::Center),
            )
            .padding(10)
            .width(Length::Fill)
            .center_x(Length::Fill)
            .style(theme::band(theme::GO)),
        );
    }
    if let Some(steps) = next_steps(till) {
        right = right.push(steps);
    }
    right = right.push(if till.show_parked {
        parked(till)
    } else if !till.results.is_empty() {
        results(till)
    } else {
        quick_keys(till)
    });
    column![row![left, right].spacing(12).height(Length::Fill), actions(till)].spacing(8).into()
}

fn cart<'a>(till: &'a Till, sale: &'a Sale) -> Element<'a, Message> {
    let l = till.locale.as_str();
    let totals = sale.totals();
    let header = row![
        text(t("counter.item", l)).size(SMALL).width(Length::Fill).color(theme::MUTED),
        text(t("counter.quantity", l)).size(SMALL).width(Length::Fixed(150.0)).color(theme::MUTED),
        text(t("counter.amount", l))
            .size(SMALL)
            .width(Length::Fixed(110.0))
            .align_x(iced::alignment::Horizontal::Right)
            .color(theme::MUTED),
    ]
    .padding([0, 8]);
    let mut lines = column![].spacing(2);
    for (i, line) in sale.lines().iter().enumerate() {
        let name = if l == "en" { &line.name_en } else { &line.name_zh };
        let amount = totals.lines.get(i).map_or(Money::zero(sale.currency()), |t| t.amount);
        let mut name_cell = column![text(name.clone()).size(TEXT)];
        if line.discount.is_some() || line.price_overridden {
            let gross = totals.lines.get(i).map_or(amount, |t| t.gross);
            name_cell = name_cell.push(
                text(rust_i18n::t!("counter.was", locale = l, amount = money(gross)).into_owned())
                    .size(SMALL)
                    .color(theme::WARN),
            );
        }
        let content = row![
            name_cell.width(Length::Fill),
            text(match line.sold_by {
                crate::catalog::SoldBy::Weight =>
                    format!("{} kg × {}/kg", line.quantity.normalize(), money(line.unit_price)),
                crate::catalog::SoldBy::Piece => format!("{} × {}", line.quantity.normalize(), money(line.unit_price)),
            })
            .size(SMALL)
            .width(Length::Fixed(150.0)),
            text(money(amount)).size(TEXT).width(Length::Fixed(110.0)).align_x(iced::alignment::Horizontal::Right),
        ]
        .align_y(Alignment::Center);
        lines = lines.push(theme::row_button(content, till.counter.selected() == Some(i), Message::SelectLine(i)));
    }
    if sale.lines().is_empty() {
        lines = lines.push(container(text(t("counter.empty_cart", l)).size(TEXT).color(theme::MUTED)).padding(16));
    }
    container(column![header, scrollable(lines).id(super::CART).height(Length::Fill)].spacing(4))
        .padding(6)
        .height(Length::Fill)
        .style(theme::panel(Color::WHITE))
        .into()
}

fn totals(till: &Till) -> Element<'_, Message> {
    let l = till.locale.as_str();
    let totals = till.counter.sale().totals();
    let small = |key: &str, m: Money| {
        row![text(t(key, l)).size(SMALL).width(Length::Fill), text(money(m)).size(SMALL)].width(Length::Fill)
    };
    let mut figures = column![].spacing(2).width(Length::FillPortion(1));
    if !totals.discount.is_zero() {
        figures = figures.push(small("counter.discount_total", totals.discount));
    }
    figures = figures.push(small("counter.tax", totals.tax));
    // Pieces are counted as pieces, a weighed line as one item (not its kilograms).
    let items: rust_decimal::Decimal = till
        .counter
        .sale()
        .lines()
        .iter()
        .map(|l| match l.sold_by {
            crate::catalog::SoldBy::Piece => l.quantity.abs(),
            crate::catalog::SoldBy::Weight => rust_decimal::Decimal::ONE,
        })
        .sum();
    let key = if items == rust_decimal::Decimal::ONE { "counter.items_one" } else { "counter.items" };
    figures = figures.push(
        text(rust_i18n::t!(key, locale = l, count = items.normalize().to_string()).into_owned())
            .size(SMALL)
            .color(theme::MUTED),
    );
    container(
        row![
            figures,
            Space::new().width(Length::Fixed(24.0)),
            column![text(t("counter.total", l)).size(TEXT), text(money(totals.total)).size(theme::HUGE)]
                .align_x(Alignment::End)
                .width(Length::FillPortion(1)),
        ]
        .align_y(Alignment::Center),
    )
    .padding(10)
    .style(theme::panel(theme::PANEL))
    .into()
}

/// A till just set up: what the installer does next (a catalog, the cashiers), with buttons to
/// it, until it is done — not an empty sale screen that answers "unknown barcode".
fn next_steps(till: &Till) -> Option<Element<'_, Message>> {
    let l = till.locale.as_str();
    let no_catalog = till.counter.catalog().is_empty();
    let no_cashiers = till.users.len() <= 1;
    if till.training || !till.counter.sale().lines().is_empty() || !(no_catalog || no_cashiers) {
        return None;
    }
    let mut steps = column![text(t("counter.next_steps", l)).size(TEXT)].spacing(6);
    if no_catalog {
        steps = steps.push(text(t("counter.next_catalog", l)).size(SMALL));
        steps = steps.push(theme::action(t("manager.products", l), Some(Message::OpenProducts)));
    }
    if no_cashiers {
        steps = steps.push(text(t("counter.next_cashiers", l)).size(SMALL));
        steps = steps.push(theme::action(t("manager.users", l), Some(Message::OpenUsers)));
    }
    Some(container(steps).padding(10).width(Length::Fill).style(theme::panel(theme::PANEL)).into())
}

fn quick_keys(till: &Till) -> Element<'_, Message> {
    let l = till.locale.as_str();
    let catalog = till.counter.catalog();
    let mut tabs = row![].spacing(4);
    for category in catalog.categories() {
        let key = format!("counter.category.{category}");
        let label = rust_i18n::t!(&key, locale = l);
        let label = if label == key { category.to_string() } else { label.into_owned() };
        let selected = till.category == category;
        tabs = tabs.push(
            theme::row_button(text(label).size(SMALL), selected, Message::Category(category.to_string()))
                .width(Length::Shrink)
                .height(Length::Fixed(theme::TOUCH)),
        );
    }
    let mut grid = column![].spacing(6);
    let keys = catalog.quick_keys(&till.category);
    for chunk in keys.chunks(3) {
        let mut r = row![].spacing(6);
        for p in chunk {
            let label =
                column![text(p.name(l).to_string()).size(SMALL), text(money(p.price)).size(SMALL).color(theme::MUTED)]
                    .align_x(Alignment::Center);
            r = r.push(
                button(container(label).center_x(Length::Fill))
                    .height(Length::Fixed(80.0))
                    .width(Length::FillPortion(1))
                    .style(theme::key_style)
                    .on_press(Message::AddSku(p.sku.to_string())),
            );
        }
        for _ in chunk.len()..3 {
            r = r.push(Space::new().width(Length::FillPortion(1)));
        }
        grid = grid.push(r);
    }
    column![
        scrollable(tabs).direction(scrollable::Direction::Horizontal(scrollable::Scrollbar::default())),
        scrollable(grid).height(Length::Fill)
    ]
    .spacing(6)
    .into()
}

fn results(till: &Till) -> Element<'_, Message> {
    let l = till.locale.as_str();
    let mut list = column![].spacing(2);
    for (i, sku) in till.results.iter().enumerate() {
        if let Ok(p) = till.counter.catalog().by_sku(sku) {
            let content =
                row![text(p.name(l).to_string()).size(TEXT).width(Length::Fill), text(money(p.price)).size(TEXT)];
            list = list.push(
                theme::row_button(content, till.result_cursor == Some(i), Message::AddSku(p.sku.to_string()))
                    .height(Length::Fixed(theme::TOUCH)),
            );
        }
    }
    container(scrollable(list).height(Length::Fill)).style(theme::panel(Color::WHITE)).padding(4).into()
}

fn parked(till: &Till) -> Element<'_, Message> {
    let l = till.locale.as_str();
    let mut list = column![text(t("counter.parked_sales", l)).size(TEXT)].spacing(6);
    if till.counter.parked().is_empty() {
        list = list.push(text(t("counter.none_parked", l)).size(SMALL).color(theme::MUTED));
    }
    for (i, p) in till.counter.parked().iter().enumerate() {
        let label =
            rust_i18n::t!("counter.parked_entry", locale = l, number = i + 1, items = p.items, total = money(p.total));
        list = list.push(theme::action(label.into_owned(), Some(Message::Resume(i))));
    }
    container(scrollable(list).height(Length::Fill)).style(theme::panel(Color::WHITE)).padding(8).into()
}

fn actions(till: &Till) -> Element<'_, Message> {
    let l = till.locale.as_str();
    let has_lines = !till.counter.sale().lines().is_empty();
    let selected = till.counter.selected().is_some();
    let a = |key: &str, on: Option<Message>| theme::action(t(key, l), on);
    let first = row![
        a("counter.key.quantity", selected.then_some(Message::Quantity)),
        a("counter.key.price", selected.then_some(Message::Price)),
        a("counter.key.void_line", selected.then_some(Message::VoidLine)),
        // No line selected (arrow up past the first): the whole sale's discount.
        a(
            if selected { "counter.key.discount" } else { "counter.key.sale_discount" },
            has_lines.then_some(Message::Discount)
        ),
        a("counter.key.park", has_lines.then_some(Message::Park)),
        a("counter.key.parked", Some(Message::ToggleParked)),
    ]
    .spacing(6);
    let second = row![
        a("counter.key.refund", (!has_lines).then_some(Message::OpenRefund)),
        a("counter.key.reprint", till.last_receipt.map(|_| Message::Reprint)),
        a("counter.key.no_sale", Some(Message::NoSale)),
        a("counter.key.void_sale", has_lines.then_some(Message::VoidSale)),
        a("counter.key.sign_out", (!has_lines).then_some(Message::SignOut)),
        theme::go(t("counter.key.pay", l), has_lines.then_some(Message::Pay)),
    ]
    .spacing(6);
    column![first, second].spacing(6).into()
}
