//! The sale screen: the scan field (always focused), search hits or the quick keys, the cart with
//! its totals, and the actions with their F-keys.

use chrono::Utc;
use iced::keyboard::key::Named;

use super::{CardState, Confirm, Job, Pending, Screen, workers};
use crate::counter::{CounterError, Entered};

use iced::widget::{Space, button, column, container, row, scrollable, text, text_input};
use iced::{Alignment, Color, Element, Length};

use super::theme::{self, LARGE, SMALL, TEXT, money};
use super::{Message, SCAN_FIELD, Till, t};
use crate::money::Money;
use crate::sale::Sale;

/// What the sale screen's buttons and keys ask for.
#[derive(Debug, Clone)]
pub enum Msg {
    ScanChanged(String),
    ScanSubmitted,
    Category(String),
    AddSku(String),
    SelectLine(usize),
    /// Shift+F5: a discount off the whole sale, whatever line is selected.
    SaleDiscount,
    Quantity,
    Price,
    Discount,
    VoidLine,
    Park,
    ToggleParked,
    Resume(usize),
    VoidSale,
    Pay,
    OpenRefund,
    Reprint,
    NoSale,
    /// Escape: one step back (the weighing, the parked list, the typed search).
    Back,
}

/// The F-keys as this screen means them (README). F1 (sign out) and F11 (language) are the
/// till's, not the screen's.
pub fn key(key: Named) -> Option<Msg> {
    Some(match key {
        Named::F2 => Msg::Quantity,
        Named::F3 => Msg::Price,
        Named::F4 => Msg::VoidLine,
        Named::F5 => Msg::Discount,
        Named::F6 => Msg::Park,
        Named::F7 => Msg::ToggleParked,
        Named::F8 => Msg::OpenRefund,
        Named::F9 => Msg::Reprint,
        Named::F10 => Msg::NoSale,
        Named::F12 => Msg::Pay,
        Named::Escape => Msg::Back,
        _ => return None,
    })
}

pub fn update(till: &mut Till, msg: Msg) -> Vec<Job> {
    let l = till.locale.clone();
    match msg {
        Msg::ScanChanged(text) => {
            till.results = if text.chars().any(|c| !c.is_ascii_digit() && c != '*' && c != '.') {
                till.counter.catalog().search(&text, 24).into_iter().map(|p| p.sku.to_string()).collect()
            } else {
                Vec::new()
            };
            till.result_cursor = None;
            till.scan = text;
        }
        Msg::ScanSubmitted => {
            // A search hit walked to with the arrows: Enter adds it.
            if let Some(sku) = till.result_cursor.take().and_then(|i| till.results.get(i)).cloned() {
                return update(till, Msg::AddSku(sku));
            }
            // A parked sale walked to, nothing typed: Enter resumes it.
            if till.show_parked
                && till.scan.trim().is_empty()
                && let Some(i) = till.list_cursor.take()
            {
                return update(till, Msg::Resume(i));
            }
            let mut text = std::mem::take(&mut till.scan);
            let results = std::mem::take(&mut till.results);
            // The weight of the product waiting for it (a number alone): the line, weighed.
            if let Some(sku) = till.weighing.take() {
                let kilograms = text.trim().replace(',', ".");
                match rust_decimal::Decimal::from_str_exact(&kilograms) {
                    // A weight is under 100 kg with at most grams: a barcode or a PLU
                    // scanned instead is a scan of its own.
                    Ok(w)
                        if w > rust_decimal::Decimal::ZERO
                            && w < rust_decimal::Decimal::ONE_HUNDRED
                            && w.scale() <= 3 =>
                    {
                        text = format!("{kilograms}*{sku}")
                    }
                    // Nothing typed: still waiting; anything else is a scan of its own.
                    _ if kilograms.is_empty() => {
                        till.weighing = Some(sku);
                        return Vec::new();
                    }
                    _ => {}
                }
            }
            let entered = till.counter.enter(&text);
            if entered.is_err() && !results.is_empty() {
                // A name typed, not a code: one hit is taken, several are left to choose from.
                if let [sku] = results.as_slice() {
                    return update(till, Msg::AddSku(sku.clone()));
                }
                till.scan = text;
                till.results = results;
                till.info_t("counter.choose_product");
                return Vec::new();
            }
            match entered {
                Ok(Entered::Nothing) => {}
                Ok(Entered::Line(_)) => {
                    till.last_change = None;
                    till.clear_notice();
                }
                Ok(Entered::Receipt(no)) => {
                    till.screen = Screen::Refund;
                    return vec![till.find_sale(no)];
                }
                Err(CounterError::WeightNeeded(sku)) => till.ask_weight(sku),
                Err(CounterError::Lookup(_)) if till.counter.catalog().is_empty() => {
                    till.error_t("counter.catalog_empty")
                }
                Err(e) => till.counter_error(e),
            }
        }
        Msg::Category(c) => till.category = c,
        Msg::AddSku(sku) => {
            till.scan.clear();
            till.results.clear();
            till.result_cursor = None;
            till.weighing = None;
            match till.counter.add_sku(&sku) {
                Ok(_) => till.last_change = None,
                Err(CounterError::WeightNeeded(sku)) => till.ask_weight(sku),
                Err(e) => till.counter_error(e),
            }
        }
        Msg::SelectLine(i) => till.counter.select(Some(i)),
        Msg::Quantity => {
            // The number comes first, then the key: said so, not "not a number: ".
            if till.scan.trim().is_empty() {
                till.error_t("counter.type_first.quantity");
                return Vec::new();
            }
            let text = std::mem::take(&mut till.scan);
            match till.counter.set_quantity(&text, None) {
                Ok(()) => {}
                Err(CounterError::NeedsApproval(_)) => till.ask_manager(Pending::Quantity(text)),
                Err(e) => till.counter_error(e),
            }
        }
        Msg::Discount | Msg::SaleDiscount => {
            // The number comes first, then the key: said so, not "not a number: ".
            if till.scan.trim().is_empty() {
                till.error_t("counter.type_first.discount");
                return Vec::new();
            }
            let text = std::mem::take(&mut till.scan);
            let whole = matches!(msg, Msg::SaleDiscount) || till.counter.selected().is_none();
            match till.counter.discount(&text, whole, None) {
                Ok(()) => {}
                Err(CounterError::NeedsApproval(_)) => till.ask_manager(Pending::Discount(text, whole)),
                Err(e) => till.counter_error(e),
            }
        }
        Msg::Price => {
            // The number comes first, then the key: said so, not "not a number: ".
            if till.scan.trim().is_empty() {
                till.error_t("counter.type_first.price");
                return Vec::new();
            }
            let text = std::mem::take(&mut till.scan);
            if till.counter.selected().is_none() {
                till.counter_error(CounterError::NoLineSelected);
            } else if let Err(e) = Money::parse(&text, till.counter.store().currency) {
                till.error(e.localized(&l));
            } else {
                till.ask_manager(Pending::Price(text));
            }
        }
        Msg::VoidLine => {
            if till.counter.void_needs_approval() {
                till.ask_manager(Pending::VoidLine);
            } else {
                let what = till.selected_line_audit();
                match till.counter.void_line(None) {
                    // In the X and Z with who voided it (the cashier, on the entry).
                    Ok(()) => return vec![till.audit("void_line", what)],
                    Err(e) => till.counter_error(e),
                }
            }
        }
        Msg::Park => {
            till.weighing = None;
            match till.counter.park() {
                Ok(()) => {
                    till.info_t("counter.parked");
                    // Parked sales survive a restart: their copy in the ledger.
                    let Some(parked) = till.counter.parked().last() else { return Vec::new() };
                    let (sale, id, key) = (parked.sale.clone(), parked.in_progress, parked.key);
                    return vec![till.devices.ledger.call(move |ledger| match workers::lock(ledger).save_in_progress(
                        id,
                        "counter",
                        &sale,
                        Utc::now(),
                    ) {
                        Ok(id) => Message::ParkedSaved(key, id),
                        Err(_) => Message::Done,
                    })];
                }
                Err(e) => till.counter_error(e),
            }
        }
        Msg::ToggleParked => {
            till.show_parked = !till.show_parked;
            till.list_cursor = None;
        }
        Msg::Resume(i) => match till.counter.resume(i) {
            Ok(()) => till.show_parked = false,
            Err(e) => till.counter_error(e),
        },
        Msg::VoidSale => {
            // The whole cart goes: asked first.
            if !till.counter.sale().lines().is_empty() {
                till.confirm = Some(Confirm::VoidSale);
            }
        }
        Msg::Pay => {
            if till.screen != Screen::Sale {
                return Vec::new();
            }
            till.weighing = None;
            match till.counter.begin_payment() {
                Ok(()) => {
                    till.screen = Screen::Payment;
                    till.cash.clear();
                    till.card = CardState::Idle;
                    till.clear_notice();
                    return till.finish_if_paid();
                }
                Err(e) => till.counter_error(e),
            }
        }
        Msg::OpenRefund => {
            till.weighing = None;
            if !till.counter.sale().lines().is_empty() {
                till.counter_error(CounterError::CartNotEmpty);
            } else {
                till.screen = Screen::Refund;
                till.lookup.clear();
                till.refund_quantities.clear();
                till.found_sales.clear();
            }
        }
        Msg::Reprint => match till.last_receipt {
            Some(no) => return till.print(no, true),
            None => till.error_t("counter.nothing_to_reprint"),
        },
        Msg::NoSale => till.ask_manager(Pending::NoSale),
        Msg::Back => {
            // One step back: the weighing is given up, the parked list closes, else the
            // typed search is cleared.
            if till.weighing.take().is_some() {
                till.scan.clear();
                till.clear_notice();
            } else if till.show_parked {
                till.show_parked = false;
            } else {
                till.scan.clear();
                till.results.clear();
                till.result_cursor = None;
            }
        }
    }
    Vec::new()
}

pub fn view(till: &Till) -> Element<'_, Message> {
    // Narrow (an 800 px screen with the training paper open): the scan field over the cart and
    // no quick keys, rather than every column squeezed until the names vanish.
    let body = iced::widget::responsive(move |size| {
        if size.width < NARROW {
            let mut side = scan_field(till).spacing(8);
            if let Some(change) = till.last_change {
                side = side.push(change_band(till, change));
            }
            return side
                .push(if till.show_parked {
                    parked(till)
                } else if !till.results.is_empty() {
                    results(till)
                } else {
                    column![cart(till, till.counter.sale()), totals(till)].spacing(8).into()
                })
                .into();
        }
        let left = column![cart(till, till.counter.sale()), totals(till)].spacing(8).width(Length::FillPortion(3));
        row![left, right_column(till)].spacing(12).into()
    });
    column![container(body).height(Length::Fill), actions(till)].spacing(8).into()
}

/// Below this width the sale screen drops its quick keys.
const NARROW: f32 = 600.0;

/// The scan field, with what it takes said above it (its placeholder is short enough to fit a
/// narrow screen, and gone once something is typed).
fn scan_field(till: &Till) -> iced::widget::Column<'_, Message> {
    let l = till.locale.as_str();
    let placeholder = if till.weighing.is_some() { "counter.weight_placeholder" } else { "counter.scan_placeholder" };
    let scan = text_input(&t(placeholder, l), &till.scan)
        .id(SCAN_FIELD)
        .size(LARGE)
        .padding(10)
        .on_input(|v| Message::Sale(Msg::ScanChanged(v)))
        .on_submit(Message::Sale(Msg::ScanSubmitted));
    column![text(t("counter.scan_hint", l)).size(SMALL).color(theme::MUTED), scan].spacing(4)
}

/// The change to give, on one line: the quick keys keep their rows on a short screen.
fn change_band(till: &Till, change: Money) -> Element<'_, Message> {
    let l = till.locale.as_str();
    container(
        row![text(t("counter.change", l)).size(TEXT), text(money(change)).size(LARGE)]
            .spacing(16)
            .align_y(Alignment::Center),
    )
    .padding(10)
    .width(Length::Fill)
    .center_x(Length::Fill)
    .style(theme::band(theme::GO))
    .into()
}

/// The scan field, the change given, the next steps of a fresh till, and the search hits, the
/// parked sales or the quick keys.
fn right_column(till: &Till) -> iced::widget::Column<'_, Message> {
    let mut right = scan_field(till).width(Length::FillPortion(2));
    if let Some(change) = till.last_change {
        right = right.push(change_band(till, change));
    }
    if let Some(steps) = next_steps(till) {
        right = right.push(steps);
    }
    right.push(if till.show_parked {
        parked(till)
    } else if !till.results.is_empty() {
        results(till)
    } else {
        quick_keys(till)
    })
}

/// The cart's quantity and amount columns: narrow enough that a name keeps room beside them on
/// a narrow screen with the training paper open.
const QUANTITY_WIDTH: f32 = 124.0;
const AMOUNT_WIDTH: f32 = 96.0;

fn cart<'a>(till: &'a Till, sale: &'a Sale) -> Element<'a, Message> {
    let l = till.locale.as_str();
    let totals = sale.totals();
    let header = row![
        text(t("counter.item", l)).size(SMALL).width(Length::Fill).color(theme::MUTED),
        text(t("counter.quantity", l)).size(SMALL).width(Length::Fixed(QUANTITY_WIDTH)).color(theme::MUTED),
        text(t("counter.amount", l))
            .size(SMALL)
            .width(Length::Fixed(AMOUNT_WIDTH))
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
            .width(Length::Fixed(QUANTITY_WIDTH)),
            text(money(amount))
                .size(TEXT)
                .width(Length::Fixed(AMOUNT_WIDTH))
                .align_x(iced::alignment::Horizontal::Right),
        ]
        .align_y(Alignment::Center);
        lines = lines.push(theme::row_button(
            content,
            till.counter.selected() == Some(i),
            Message::Sale(Msg::SelectLine(i)),
        ));
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
            theme::row_button(text(label).size(SMALL), selected, Message::Sale(Msg::Category(category.to_string())))
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
                    .on_press(Message::Sale(Msg::AddSku(p.sku.to_string()))),
            );
        }
        for _ in chunk.len()..3 {
            r = r.push(Space::new().width(Length::FillPortion(1)));
        }
        grid = grid.push(r);
    }
    column![
        scrollable(tabs).direction(scrollable::Direction::Horizontal(scrollable::Scrollbar::default())),
        // Room on the right for the scroll bar: the third column's keys are not under it.
        scrollable(grid.padding(iced::Padding { right: 12.0, ..iced::Padding::ZERO })).height(Length::Fill)
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
                theme::row_button(
                    content,
                    till.result_cursor == Some(i),
                    Message::Sale(Msg::AddSku(p.sku.to_string())),
                )
                .height(Length::Fixed(theme::TOUCH)),
            );
        }
    }
    container(scrollable(list).id(super::RESULTS).height(Length::Fill))
        .style(theme::panel(Color::WHITE))
        .padding(4)
        .into()
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
        let button = theme::action(label.into_owned(), Some(Message::Sale(Msg::Resume(i))));
        // The one the arrows walked to is marked, as a selected line is.
        list = list.push(if till.list_cursor == Some(i) { button.style(theme::selected_action) } else { button });
    }
    container(scrollable(list).height(Length::Fill)).style(theme::panel(Color::WHITE)).padding(8).into()
}

fn actions(till: &Till) -> Element<'_, Message> {
    let l = till.locale.as_str();
    let has_lines = !till.counter.sale().lines().is_empty();
    let selected = till.counter.selected().is_some();
    let a = |key: &str, on: Option<Message>| theme::action(t(key, l), on);
    let first = row![
        a("counter.key.quantity", selected.then_some(Message::Sale(Msg::Quantity))),
        a("counter.key.price", selected.then_some(Message::Sale(Msg::Price))),
        a("counter.key.void_line", selected.then_some(Message::Sale(Msg::VoidLine))),
        // No line selected (arrow up past the first): the whole sale's discount.
        a(
            if selected { "counter.key.discount" } else { "counter.key.sale_discount" },
            has_lines.then_some(Message::Sale(Msg::Discount))
        ),
        a("counter.key.park", has_lines.then_some(Message::Sale(Msg::Park))),
        a("counter.key.parked", Some(Message::Sale(Msg::ToggleParked))),
    ]
    .spacing(6);
    let second = row![
        a("counter.key.refund", (!has_lines).then_some(Message::Sale(Msg::OpenRefund))),
        a("counter.key.reprint", till.last_receipt.map(|_| Message::Sale(Msg::Reprint))),
        a("counter.key.no_sale", Some(Message::Sale(Msg::NoSale))),
        a("counter.key.void_sale", has_lines.then_some(Message::Sale(Msg::VoidSale))),
        a("counter.key.sign_out", (!has_lines).then_some(Message::SignOut)),
        theme::go(t("counter.key.pay", l), has_lines.then_some(Message::Sale(Msg::Pay))),
    ]
    .spacing(6);
    column![first, second].spacing(6).into()
}
