//! Refund (退货): scan the receipt's barcode or QR code (or type its number), choose lines and
//! quantities, then pay back on the payment screen.

use iced::keyboard::key::Named;

use super::{Arg, CardState, Job, Pending, Screen, workers};
use crate::counter::{CounterError, RefundSource};
use crate::ledger::find::FoundSale;

use iced::widget::{button, column, container, row, scrollable, text, text_input};
use iced::{Alignment, Color, Element, Length};
use rust_decimal::Decimal;

use super::theme::{self, LARGE, SMALL, TEXT, money};
use super::{LOOKUP_FIELD, Message, Till, t};
use crate::catalog::SoldBy;
use crate::money::Money;

/// What the refund screen's buttons, keys and lookups ask for and bring back.
#[derive(Debug, Clone)]
pub enum Msg {
    LookupChanged(String),
    Lookup,
    /// One of the sales found chosen: open it.
    OpenReceipt(i64),
    /// Sales found by a clue (an item, a total, a card's last four, a date).
    FoundSales(Result<Vec<FoundSale>, String>),
    /// The sale asked for, as the ledger has it (boxed: it is large).
    Found(Box<Result<RefundSource, String>>),
    RefundQuantity(u32, Decimal),
    RefundAll,
    RefundConfirm,
    RefundCancel,
}

/// The keys as this screen means them: F12 refund what is chosen, F2 everything, Escape cancel.
pub fn key(key: Named) -> Option<Msg> {
    Some(match key {
        Named::F12 => Msg::RefundConfirm,
        Named::F2 => Msg::RefundAll,
        Named::Escape => Msg::RefundCancel,
        _ => return None,
    })
}

pub fn update(till: &mut Till, msg: Msg) -> Vec<Job> {
    match msg {
        Msg::LookupChanged(text) => till.lookup = text,
        Msg::Lookup => {
            // Nothing typed and a found sale walked to with the arrows: Enter opens it.
            if till.lookup.trim().is_empty()
                && let Some(sale) = till.list_cursor.take().and_then(|i| till.found_sales.get(i))
            {
                return vec![till.find_sale(sale.receipt_no)];
            }
            let text = std::mem::take(&mut till.lookup);
            return lookup(till, text.trim());
        }
        Msg::OpenReceipt(no) => return vec![till.find_sale(no)],
        Msg::FoundSales(result) => match result.inspect(|_| till.list_cursor = None) {
            Ok(found) if found.is_empty() => {
                till.found_sales.clear();
                till.error_t("counter.no_sale_found");
            }
            Ok(found) => {
                till.found_sales = found;
                till.info_t("counter.choose_sale");
            }
            Err(e) => till.error(e),
        },
        Msg::Found(result) => match *result {
            Ok(source) => {
                till.refund_quantities =
                    source.original.lines.iter().map(|line| (line.line_no, Decimal::ZERO)).collect();
                till.clear_notice();
                if let Err(e) = till.counter.open_refund(source) {
                    till.counter_error(e);
                }
            }
            Err(e) => till.error(e),
        },
        Msg::RefundQuantity(line_no, quantity) => {
            let left = refundable(till, line_no);
            if let Some(q) = till.refund_quantities.iter_mut().find(|(n, _)| *n == line_no) {
                q.1 = quantity.max(Decimal::ZERO).min(left);
            }
        }
        Msg::RefundAll => {
            let all: Vec<(u32, Decimal)> =
                till.refund_quantities.iter().map(|(n, _)| (*n, refundable(till, *n))).collect();
            till.refund_quantities = all;
        }
        Msg::RefundConfirm => match till.counter.refund_lines(&till.refund_quantities, None) {
            Ok(()) => {
                till.screen = Screen::Payment;
                till.card = CardState::Idle;
            }
            Err(CounterError::NeedsApproval(_)) => till.ask_manager(Pending::Refund),
            Err(e) => till.counter_error(e),
        },
        // One step back: a sale open closes (the sales found, if any, are there again to
        // choose from); with none open the refund screen is left.
        Msg::RefundCancel => {
            till.clear_notice();
            let open = till.counter.refund_source().is_some();
            till.counter.cancel_refund();
            till.refund_quantities.clear();
            till.lookup.clear();
            if !open {
                till.found_sales.clear();
                till.screen = Screen::Sale;
            }
        }
    }
    Vec::new()
}

/// What the lines chosen so far come to: each line's share of what the original charged for it
/// (the refund's own figures, to the minor unit, come when it is built).
pub(super) fn chosen_amount(till: &Till) -> Money {
    let currency = till.counter.store().currency;
    let Some(source) = till.counter.refund_source() else { return Money::zero(currency) };
    let total: i64 = source
        .original
        .lines
        .iter()
        .filter(|line| !line.quantity.is_zero())
        .map(|line| {
            let chosen = till.refund_quantities.iter().find(|(n, _)| *n == line.line_no).map_or(Decimal::ZERO, |q| q.1);
            (Decimal::from(line.amount.minor()) * chosen / line.quantity).round().try_into().unwrap_or(0i64)
        })
        .sum();
    Money::from_minor(total, currency).unwrap_or(Money::zero(currency))
}

/// What the refund screen's field takes: a receipt's code or number opens that sale; with a
/// sale open, an item's barcode or SKU adds one of it (all of a weighed line) to what goes
/// back; with none open, an item, a total (`12.50`), a card's last four (`*1234`) or a date
/// (`2026-12-07`) finds the sales it could be.
fn lookup(till: &mut Till, text: &str) -> Vec<Job> {
    use crate::ledger::find::SaleClue;
    let l = till.locale.clone();
    let register = till.counter.store().register.clone();
    let catalog = till.counter.catalog();
    let scanned = catalog.scan(text).map(|hit| hit.product.sku.to_string()).ok();
    let by_sku = catalog.by_sku(text).map(|p| p.sku.to_string()).ok();
    let clue = match (crate::counter::Entry::parse(text, &register), scanned.or(by_sku.clone())) {
        (Ok(crate::counter::Entry::Empty), _) => return Vec::new(),
        (Ok(crate::counter::Entry::Receipt(no)), _) => return vec![till.find_sale(no)],
        (_, Some(sku)) if till.counter.refund_source().is_some() => {
            return_item(till, &sku);
            return Vec::new();
        }
        // A barcode of the catalog (an EAN-8 too) is an item; any other number of up to 8
        // digits typed with no sale open is a receipt's number, even where SKUs are numbers.
        (_, Some(sku)) if by_sku.is_none() => SaleClue::Sku(sku),
        _ if text.len() <= 8 && text.bytes().all(|b| b.is_ascii_digit()) => {
            return text.parse().map(|no| vec![till.find_sale(no)]).unwrap_or_default();
        }
        (_, Some(sku)) => SaleClue::Sku(sku),
        _ if text.len() == 5 && text.starts_with('*') && text[1..].bytes().all(|b| b.is_ascii_digit()) => {
            SaleClue::CardLastFour(text[1..].to_string())
        }
        _ => {
            if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                SaleClue::Date(date)
            } else if let Ok(total) = Money::parse(text, till.counter.store().currency)
                && text.contains(['.', ','])
            {
                SaleClue::Total(total.minor())
            } else {
                till.error_words("counter.not_a_receipt", vec![("value", Arg::Plain(text.to_string()))]);
                return Vec::new();
            }
        }
    };
    let training = till.training;
    vec![till.devices.ledger.call(move |ledger| {
        let found = workers::lock(ledger).find_sales(&clue, 20, training);
        Message::Refund(Msg::FoundSales(found.map_err(|e| e.localized(&l))))
    })]
}

/// A returned item scanned with its sale open: one more of its line goes back (a weighed
/// line: all of it), or the cashier hears it is not on this receipt.
fn return_item(till: &mut Till, sku: &str) {
    let Some(source) = till.counter.refund_source() else { return };
    let line = source.original.lines.iter().find(|line| {
        let chosen = till.refund_quantities.iter().find(|(n, _)| *n == line.line_no).map_or(Decimal::ZERO, |q| q.1);
        line.sku == sku && chosen < line.quantity - line.refunded_quantity
    });
    match line {
        Some(line) => {
            let step = if line.sold_by == crate::catalog::SoldBy::Piece { Decimal::ONE } else { line.quantity };
            let (line_no, left) = (line.line_no, line.quantity - line.refunded_quantity);
            if let Some(q) = till.refund_quantities.iter_mut().find(|(n, _)| *n == line_no) {
                q.1 = (q.1 + step).min(left);
            }
            till.clear_notice();
        }
        None => {
            let receipt = source.record.receipt_no.to_string();
            till.error_words(
                "counter.item_not_on_receipt",
                vec![("item", Arg::Product(sku.to_string())), ("receipt", Arg::Plain(receipt))],
            );
        }
    }
}

fn refundable(till: &Till, line_no: u32) -> Decimal {
    till.counter
        .refund_source()
        .and_then(|s| s.original.lines.iter().find(|l| l.line_no == line_no))
        .map_or(Decimal::ZERO, |l| l.quantity - l.refunded_quantity)
}

pub fn view(till: &Till) -> Element<'_, Message> {
    let l = till.locale.as_str();
    let lookup = text_input(&t("counter.lookup_placeholder", l), &till.lookup)
        .id(LOOKUP_FIELD)
        .size(LARGE)
        .padding(10)
        .on_input(|v| Message::Refund(Msg::LookupChanged(v)))
        .on_submit(Message::Refund(Msg::Lookup));
    let mut page = column![
        text(t("counter.refund_title", l)).size(LARGE),
        row![
            lookup,
            theme::action(t("counter.find", l), Some(Message::Refund(Msg::Lookup))).width(Length::Fixed(140.0))
        ]
        .spacing(8),
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
            // A sale that went back whole is shown for what it is, and not offered.
            let (label, open) = if sale.all_refunded() {
                (format!("{} · {}", label.trim_end(), t("counter.all_refunded", l)), None)
            } else {
                (label.trim_end().to_string(), Some(Message::Refund(Msg::OpenReceipt(sale.receipt_no))))
            };
            let button = theme::action(label, open);
            // The one the arrows walked to is marked; Enter opens it.
            let walked = till.list_cursor.is_some_and(|c| till.found_sales.get(c) == Some(sale));
            found = found.push(if walked { button.style(theme::selected_action) } else { button });
        }
        page = page.push(scrollable(found).height(Length::Fill));
        return page.push(theme::action(t("counter.cancel", l), Some(Message::Refund(Msg::RefundCancel)))).into();
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
    for line in &source.original.lines {
        let chosen = till.refund_quantities.iter().find(|(n, _)| *n == line.line_no).map_or(Decimal::ZERO, |q| q.1);
        let left = line.quantity - line.refunded_quantity;
        let step = if line.sold_by == SoldBy::Piece { Decimal::ONE } else { left };
        let name = if l == "en" { &line.name_en } else { &line.name_zh };
        let stepper = |label: &'static str, to: Decimal, enabled: bool| {
            button(text(label).size(LARGE).center().width(Length::Fill))
                .width(Length::Fixed(theme::TOUCH))
                .height(Length::Fixed(theme::TOUCH))
                .on_press_maybe(enabled.then_some(Message::Refund(Msg::RefundQuantity(line.line_no, to))))
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
    let estimate = chosen_amount(till);
    let refund_total = estimate.minor();
    page.push(scrollable(lines).height(Length::Fill))
        .push(
            row![
                theme::action(
                    t("counter.refund_all", l),
                    source
                        .original
                        .lines
                        .iter()
                        .any(|line| line.refunded_quantity < line.quantity)
                        .then_some(Message::Refund(Msg::RefundAll))
                ),
                theme::action(t("counter.cancel", l), Some(Message::Refund(Msg::RefundCancel))),
                theme::go(
                    rust_i18n::t!("counter.refund_confirm", locale = l, amount = money(estimate)).into_owned(),
                    (refund_total > 0).then_some(Message::Refund(Msg::RefundConfirm))
                ),
            ]
            .spacing(8),
        )
        .into()
}
