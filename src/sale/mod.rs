//! The sale: a cart of lines, discounts, taxes and tenders, and the state machine a sale goes
//! through. Pure data: no I/O, no clock, no database; the ledger posts a paid sale.
//!
//! ```text
//!   Open ──begin_payment──▶ Tendering ──(fully paid)──▶ Paid ──(ledger posts)──▶ Completed
//!    │ ▲                      │
//!  park resume           back_to_cart (no tenders yet)
//!    ▼ │
//!   Parked           Open / Parked / Tendering without tenders ──void──▶ Voided
//! ```

mod snapshot;
pub mod tax;
mod tender;

use rust_decimal::Decimal;

use crate::catalog::{Embedded, Product, ScanHit, SoldBy};
use crate::money::{Currency, MAX_MINOR, Money, MoneyError, scaled_i64};
pub use snapshot::SnapshotError;
pub use tax::{TaxClass, TaxTotal, Totals};
pub use tender::{CardPayment, ExternalMethod, Tender, TenderKind, is_masked_pan};

/// The largest quantity on one line: 9 999 pieces or 9 999.999 kg.
pub const MAX_QUANTITY: i64 = 9_999;

/// What a sale needs to know about the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleSettings {
    pub currency: Currency,
    /// Prices on products include tax (China, the EU) or tax is added at the end (US style).
    pub prices_include_tax: bool,
    /// Cash tenders are rounded to this step (e.g. 0.05, 0.10), if set.
    pub cash_rounding: Option<Decimal>,
    pub tax_classes: Vec<TaxClass>,
}

impl SaleSettings {
    pub fn tax_class(&self, code: &str) -> Option<&TaxClass> {
        self.tax_classes.iter().find(|c| c.code == code)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaleState {
    Open,
    Tendering,
    Paid,
    Completed,
    Parked,
    Voided,
}

/// What was attempted, for the error that refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    EditCart,
    BeginPayment,
    Tender,
    BackToCart,
    Complete,
    Park,
    Resume,
    Void,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discount {
    /// Percent off, 0 < p ≤ 100, at most two decimals (12.5 = 12.5 %).
    Percent(Decimal),
    Amount(Money),
}

impl Discount {
    /// The discount on `base` minor units: a percentage rounded half-up, or the amount itself.
    fn minor_of(&self, base: i64) -> i64 {
        match self {
            Discount::Percent(p) => {
                let bp = scaled_i64(*p, 2).unwrap_or(0);
                tax::div_half_up(i128::from(base) * i128::from(bp), 10_000) as i64
            }
            Discount::Amount(a) => a.minor(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaleKind {
    Sale,
    Refund,
}

/// Which line of which posted sale a refund line returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineRef {
    pub receipt_no: i64,
    pub line_no: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub sku: String,
    pub name_zh: String,
    pub name_en: String,
    /// Positive in a sale, negative in a refund; whole for pieces, up to 3 decimals (kg) by weight.
    pub quantity: Decimal,
    pub unit_price: Money,
    pub tax_class: String,
    /// The rate at the time of the sale (rates change; the receipt must not).
    pub tax_rate: Decimal,
    pub sold_by: SoldBy,
    pub discount: Option<Discount>,
    /// The cashier typed a price other than the catalog's (audited, a risk flag).
    pub price_overridden: bool,
    pub refund_of: Option<LineRef>,
    /// Refund lines: the exact amount the original line charged for the returned units.
    pub fixed_amount: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaleError {
    #[error("cannot {action:?} a sale that is {from:?}")]
    IllegalTransition { from: SaleState, action: Action },
    #[error("quantity must be more than zero")]
    QuantityNotPositive,
    #[error("pieces are counted whole")]
    FractionalPieces,
    #[error("quantity has more than 3 decimals")]
    QuantityTooPrecise,
    #[error("quantity above {MAX_QUANTITY}")]
    QuantityTooLarge,
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error("price must not be negative")]
    NegativePrice,
    #[error("the sale's total would exceed the supported range")]
    TotalOutOfRange,
    #[error("unknown tax class {0}")]
    UnknownTaxClass(String),
    #[error("no line {0}")]
    NoSuchLine(usize),
    #[error("discount larger than the amount")]
    DiscountTooLarge,
    #[error("discount percent must be in (0, 100]")]
    BadDiscountPercent,
    #[error("the sale has no lines")]
    Empty,
    #[error("a tender must be more than zero")]
    TenderNotPositive,
    #[error("tender of {tendered} exceeds the {due} due; only cash gives change")]
    TenderExceedsDue { tendered: Money, due: Money },
    #[error("cash given {given} is less than needed {due}")]
    NotEnoughCash { given: Money, due: Money },
    #[error("a card payment can only be undone by a reversal at the terminal")]
    CardNeedsReversal,
    #[error("no tender {0}")]
    NoSuchTender(usize),
    #[error("refund of line {line_no}: {asked} asked, {left} left to refund")]
    RefundExceedsOriginal { line_no: u32, asked: Decimal, left: Decimal },
    #[error("a refund takes lines of its original sale only")]
    NotARefundLine,
    #[error("a full card number must never be stored")]
    FullPan,
    #[error("a reference is required for this tender")]
    MissingReference,
}

impl SaleError {
    pub fn localized(&self, locale: &str) -> String {
        use rust_i18n::t;
        match self {
            SaleError::IllegalTransition { from, action } => t!(
                "error.sale.illegal_transition",
                locale = locale,
                action = t!(format!("sale.action.{action:?}"), locale = locale),
                state = t!(format!("sale.state.{from:?}"), locale = locale)
            ),
            SaleError::QuantityNotPositive => t!("error.sale.quantity_not_positive", locale = locale),
            SaleError::FractionalPieces => t!("error.sale.fractional_pieces", locale = locale),
            SaleError::QuantityTooPrecise => t!("error.sale.quantity_too_precise", locale = locale),
            SaleError::QuantityTooLarge => t!("error.sale.quantity_too_large", locale = locale, max = MAX_QUANTITY),
            SaleError::Money(e) => return e.localized(locale),
            SaleError::NegativePrice => t!("error.sale.negative_price", locale = locale),
            SaleError::TotalOutOfRange => t!("error.sale.total_out_of_range", locale = locale),
            SaleError::UnknownTaxClass(c) => t!("error.sale.unknown_tax_class", locale = locale, class = c),
            SaleError::NoSuchLine(n) => t!("error.sale.no_such_line", locale = locale, line = n + 1),
            SaleError::DiscountTooLarge => t!("error.sale.discount_too_large", locale = locale),
            SaleError::BadDiscountPercent => t!("error.sale.bad_discount_percent", locale = locale),
            SaleError::Empty => t!("error.sale.empty", locale = locale),
            SaleError::TenderNotPositive => t!("error.sale.tender_not_positive", locale = locale),
            SaleError::TenderExceedsDue { tendered, due } => t!(
                "error.sale.tender_exceeds_due",
                locale = locale,
                tendered = tendered.to_string(),
                due = due.to_string()
            ),
            SaleError::NotEnoughCash { given, due } => {
                t!("error.sale.not_enough_cash", locale = locale, given = given.to_string(), due = due.to_string())
            }
            SaleError::CardNeedsReversal => t!("error.sale.card_needs_reversal", locale = locale),
            SaleError::NoSuchTender(n) => t!("error.sale.no_such_tender", locale = locale, tender = n + 1),
            SaleError::RefundExceedsOriginal { line_no, asked, left } => t!(
                "error.sale.refund_exceeds_original",
                locale = locale,
                line = line_no,
                asked = asked.to_string(),
                left = left.to_string()
            ),
            SaleError::NotARefundLine => t!("error.sale.not_a_refund_line", locale = locale),
            SaleError::FullPan => t!("error.sale.full_pan", locale = locale),
            SaleError::MissingReference => t!("error.sale.missing_reference", locale = locale),
        }
        .into_owned()
    }
}

/// A line of a posted sale as a refund sees it: what was sold and what is already returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalLine {
    pub line_no: u32,
    pub sku: String,
    pub name_zh: String,
    pub name_en: String,
    pub quantity: Decimal,
    pub unit_price: Money,
    /// What the line charged, after all discounts.
    pub amount: Money,
    pub tax_class: String,
    pub tax_rate: Decimal,
    pub sold_by: SoldBy,
    pub refunded_quantity: Decimal,
    /// Positive: how much of `amount` earlier refunds already returned.
    pub refunded_amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalSale {
    pub receipt_no: i64,
    pub lines: Vec<OriginalLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sale {
    settings: SaleSettings,
    kind: SaleKind,
    state: SaleState,
    lines: Vec<Line>,
    discount: Option<Discount>,
    tenders: Vec<Tender>,
    /// Cash rounding applied when cash settled the sale (due + rounding = what was paid).
    rounding: Money,
    refund_of: Option<i64>,
}

impl Sale {
    pub fn new(settings: SaleSettings) -> Sale {
        let currency = settings.currency;
        Sale {
            settings,
            kind: SaleKind::Sale,
            state: SaleState::Open,
            lines: Vec::new(),
            discount: None,
            tenders: Vec::new(),
            rounding: Money::zero(currency),
            refund_of: None,
        }
    }

    /// A refund of a posted sale; add the returned lines with [`Sale::add_refund_line`].
    pub fn new_refund(settings: SaleSettings, original: &OriginalSale) -> Sale {
        let mut sale = Sale::new(settings);
        sale.kind = SaleKind::Refund;
        sale.refund_of = Some(original.receipt_no);
        sale
    }

    pub fn kind(&self) -> SaleKind {
        self.kind
    }
    pub fn state(&self) -> SaleState {
        self.state
    }
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }
    pub fn tenders(&self) -> &[Tender] {
        &self.tenders
    }

    /// What tenders of one kind came to, in minor units, whatever their sign (a refund's are
    /// negative): `sale.tendered(|k| matches!(k, TenderKind::Cash))`.
    pub fn tendered(&self, of: impl Fn(&TenderKind) -> bool) -> i64 {
        self.tenders.iter().filter(|t| of(&t.kind)).map(|t| t.amount.minor().abs()).sum()
    }
    pub fn discount(&self) -> Option<&Discount> {
        self.discount.as_ref()
    }
    pub fn rounding(&self) -> Money {
        self.rounding
    }
    pub fn refund_of(&self) -> Option<i64> {
        self.refund_of
    }
    pub fn settings(&self) -> &SaleSettings {
        &self.settings
    }
    pub fn currency(&self) -> Currency {
        self.settings.currency
    }

    fn require(&self, action: Action, allowed: &[SaleState]) -> Result<(), SaleError> {
        if allowed.contains(&self.state) {
            Ok(())
        } else {
            Err(SaleError::IllegalTransition { from: self.state, action })
        }
    }

    // ----- the cart -----

    /// Adds what a scan found: one piece, a scale's weight, or a label's price.
    pub fn add_scan(&mut self, hit: &ScanHit<'_>) -> Result<usize, SaleError> {
        match hit.embedded {
            None => self.add_product(hit.product, Decimal::ONE),
            Some(Embedded::Weight(kg)) => self.add_product(hit.product, kg),
            Some(Embedded::Price(price)) => {
                let index = self.add_product(hit.product, Decimal::ONE)?;
                // The label's price stands for this one item; it is not a cashier's override.
                self.lines[index].unit_price = price;
                self.lines[index].sold_by = SoldBy::Piece;
                self.check_range().inspect_err(|_| {
                    self.lines.pop();
                })?;
                Ok(index)
            }
        }
    }

    /// Adds `quantity` of a product as a new line; returns the line's index.
    pub fn add_product(&mut self, product: &Product, quantity: Decimal) -> Result<usize, SaleError> {
        self.require(Action::EditCart, &[SaleState::Open])?;
        if self.kind == SaleKind::Refund {
            return Err(SaleError::NotARefundLine);
        }
        if product.price.currency() != self.currency() {
            return Err(MoneyError::CurrencyMismatch(product.price.currency().code, self.currency().code).into());
        }
        validate_quantity(quantity, product.sold_by)?;
        let class = self
            .settings
            .tax_class(&product.tax_class)
            .ok_or_else(|| SaleError::UnknownTaxClass(product.tax_class.to_string()))?;
        self.lines.push(Line {
            sku: product.sku.to_string(),
            name_zh: product.name_zh.to_string(),
            name_en: product.name_en.to_string(),
            quantity,
            unit_price: product.price,
            tax_class: class.code.clone(),
            tax_rate: class.rate,
            sold_by: product.sold_by,
            discount: None,
            price_overridden: false,
            refund_of: None,
            fixed_amount: None,
        });
        self.check_range().inspect_err(|_| {
            self.lines.pop();
        })?;
        Ok(self.lines.len() - 1)
    }

    pub fn set_quantity(&mut self, line: usize, quantity: Decimal) -> Result<(), SaleError> {
        self.edit_line(line, |l| {
            validate_quantity(quantity, l.sold_by)?;
            l.quantity = quantity;
            Ok(())
        })
    }

    /// A price typed by the cashier (permission is checked by the caller's role, in `auth`).
    pub fn override_price(&mut self, line: usize, price: Money) -> Result<(), SaleError> {
        if price.is_negative() {
            return Err(SaleError::NegativePrice);
        }
        self.edit_line(line, |l| {
            l.unit_price = price;
            l.price_overridden = true;
            Ok(())
        })
    }

    pub fn set_line_discount(&mut self, line: usize, discount: Option<Discount>) -> Result<(), SaleError> {
        if let Some(d) = &discount {
            self.validate_discount(d)?;
        }
        self.edit_line(line, |l| {
            l.discount = discount;
            Ok(())
        })
    }

    pub fn set_sale_discount(&mut self, discount: Option<Discount>) -> Result<(), SaleError> {
        self.require(Action::EditCart, &[SaleState::Open])?;
        if let Some(d) = &discount {
            self.validate_discount(d)?;
        }
        let before = std::mem::replace(&mut self.discount, discount);
        self.check_range().inspect_err(|_| self.discount = before)
    }

    /// Removes a line from the open cart (a line void; approval is the caller's concern).
    pub fn remove_line(&mut self, line: usize) -> Result<Line, SaleError> {
        self.require(Action::EditCart, &[SaleState::Open])?;
        if line >= self.lines.len() {
            return Err(SaleError::NoSuchLine(line));
        }
        let removed = self.lines.remove(line);
        if let Err(e) = self.check_range() {
            self.lines.insert(line, removed);
            return Err(e);
        }
        Ok(removed)
    }

    fn edit_line(&mut self, line: usize, f: impl FnOnce(&mut Line) -> Result<(), SaleError>) -> Result<(), SaleError> {
        self.require(Action::EditCart, &[SaleState::Open])?;
        if self.kind == SaleKind::Refund {
            return Err(SaleError::NotARefundLine);
        }
        let before = self.lines.get(line).cloned().ok_or(SaleError::NoSuchLine(line))?;
        f(&mut self.lines[line])?;
        self.check_range().inspect_err(|_| self.lines[line] = before)
    }

    fn validate_discount(&self, d: &Discount) -> Result<(), SaleError> {
        if self.kind == SaleKind::Refund {
            return Err(SaleError::NotARefundLine);
        }
        match d {
            Discount::Percent(p) => {
                if *p <= Decimal::ZERO || *p > Decimal::ONE_HUNDRED || p.normalize().scale() > 2 {
                    return Err(SaleError::BadDiscountPercent);
                }
            }
            Discount::Amount(a) => {
                if !a.is_positive() {
                    return Err(SaleError::DiscountTooLarge);
                }
                if a.currency() != self.currency() {
                    return Err(MoneyError::CurrencyMismatch(a.currency().code, self.currency().code).into());
                }
            }
        }
        Ok(())
    }

    /// Returns `quantity` of an original line (positive; the refund line carries it negated).
    pub fn add_refund_line(
        &mut self,
        original: &OriginalSale,
        line_no: u32,
        quantity: Decimal,
    ) -> Result<usize, SaleError> {
        self.require(Action::EditCart, &[SaleState::Open])?;
        if self.kind != SaleKind::Refund || self.refund_of != Some(original.receipt_no) {
            return Err(SaleError::NotARefundLine);
        }
        let o = original.lines.iter().find(|l| l.line_no == line_no).ok_or(SaleError::NotARefundLine)?;
        validate_quantity(quantity, o.sold_by)?;
        // What this refund already takes of the same line counts too.
        let in_cart: Decimal =
            self.lines.iter().filter(|l| l.refund_of.is_some_and(|r| r.line_no == line_no)).map(|l| -l.quantity).sum();
        let in_cart_amount: i64 = self
            .lines
            .iter()
            .filter(|l| l.refund_of.is_some_and(|r| r.line_no == line_no))
            .filter_map(|l| l.fixed_amount.map(|a| -a.minor()))
            .sum();
        let left = o.quantity - o.refunded_quantity - in_cart;
        if quantity > left {
            return Err(SaleError::RefundExceedsOriginal { line_no, asked: quantity, left });
        }
        let amount_left = o.amount.minor() - o.refunded_amount.minor() - in_cart_amount;
        let amount = if quantity == left {
            amount_left
        } else {
            let q = scaled_i64(quantity, 3).unwrap_or(0);
            let total_q = scaled_i64(o.quantity, 3).unwrap_or(1).max(1);
            (tax::div_half_up(i128::from(o.amount.minor()) * i128::from(q), i128::from(total_q)) as i64)
                .min(amount_left)
        };
        self.lines.push(Line {
            sku: o.sku.clone(),
            name_zh: o.name_zh.clone(),
            name_en: o.name_en.clone(),
            quantity: -quantity,
            unit_price: o.unit_price,
            tax_class: o.tax_class.clone(),
            tax_rate: o.tax_rate,
            sold_by: o.sold_by,
            discount: None,
            price_overridden: false,
            refund_of: Some(LineRef { receipt_no: original.receipt_no, line_no }),
            fixed_amount: Some(Money::of_minor(-amount, self.currency())),
        });
        Ok(self.lines.len() - 1)
    }

    // ----- totals -----

    /// Recomputes every figure from the lines (see [`tax`] for the rounding rule).
    pub fn totals(&self) -> Totals {
        self.try_totals().unwrap_or_else(|_| tax::compute(self.currency(), true, &[], &[], 0))
    }

    fn try_totals(&self) -> Result<Totals, SaleError> {
        let mut classes: Vec<(String, Decimal)> = Vec::new();
        let mut inputs = Vec::with_capacity(self.lines.len());
        for l in &self.lines {
            let class_index = match classes.iter().position(|(c, r)| *c == l.tax_class && *r == l.tax_rate) {
                Some(i) => i,
                None => {
                    classes.push((l.tax_class.clone(), l.tax_rate));
                    classes.len() - 1
                }
            };
            let gross = match l.fixed_amount {
                Some(a) => a.minor(),
                None => line_gross(l.quantity, l.unit_price)?,
            };
            let line_discount = l.discount.as_ref().map_or(0, |d| d.minor_of(gross));
            if line_discount > gross.abs() {
                return Err(SaleError::DiscountTooLarge);
            }
            inputs.push(tax::LineInput {
                gross,
                line_discount,
                rate_ppm: tax::rate_ppm(l.tax_rate).ok_or_else(|| SaleError::UnknownTaxClass(l.tax_class.clone()))?,
                class_index,
            });
        }
        let nets: i64 = inputs.iter().map(|l| l.gross - l.line_discount).sum();
        let sale_discount = self.discount.as_ref().map_or(0, |d| d.minor_of(nets));
        if sale_discount > nets.max(0) {
            return Err(SaleError::DiscountTooLarge);
        }
        let totals = tax::compute(self.currency(), self.settings.prices_include_tax, &inputs, &classes, sale_discount);
        if totals.total.minor().abs() > MAX_MINOR || totals.gross.minor().abs() > MAX_MINOR {
            return Err(SaleError::TotalOutOfRange);
        }
        Ok(totals)
    }

    fn check_range(&self) -> Result<(), SaleError> {
        self.try_totals().map(|_| ())
    }

    /// What is still to pay (negative in a refund: still to pay out).
    pub fn remaining(&self) -> Money {
        let paid: i64 = self.tenders.iter().map(|t| t.amount.minor()).sum();
        Money::of_minor(self.totals().total.minor() + self.rounding.minor() - paid, self.currency())
    }

    /// What a cash tender must cover to settle the sale: the remainder after cash rounding.
    pub fn cash_due(&self) -> Money {
        let remaining = self.remaining();
        match self.settings.cash_rounding {
            Some(step) => remaining.round_to_increment(step),
            None => remaining,
        }
    }

    // ----- state machine -----

    pub fn begin_payment(&mut self) -> Result<(), SaleError> {
        self.require(Action::BeginPayment, &[SaleState::Open])?;
        if self.lines.is_empty() {
            return Err(SaleError::Empty);
        }
        self.state = SaleState::Tendering;
        if self.remaining().is_zero() {
            self.state = SaleState::Paid;
        }
        Ok(())
    }

    /// Back from the payment screen to the cart, while nothing has been tendered.
    pub fn back_to_cart(&mut self) -> Result<(), SaleError> {
        self.require(Action::BackToCart, &[SaleState::Tendering])?;
        if !self.tenders.is_empty() {
            return Err(SaleError::IllegalTransition { from: self.state, action: Action::BackToCart });
        }
        self.state = SaleState::Open;
        Ok(())
    }

    /// Takes cash. With `given` at least the cash due, settles the sale and returns the change;
    /// otherwise takes it as part payment. In a refund, pays out the cash due (`given` ignored).
    pub fn tender_cash(&mut self, given: Money) -> Result<Money, SaleError> {
        self.require(Action::Tender, &[SaleState::Tendering])?;
        let currency = self.currency();
        if given.currency() != currency {
            return Err(MoneyError::CurrencyMismatch(given.currency().code, currency.code).into());
        }
        let remaining = self.remaining();
        let due = self.cash_due();
        let zero = Money::zero(currency);
        let settles = remaining.is_negative() || due.is_zero() || given.minor() >= due.minor();
        if !settles && !given.is_positive() {
            return Err(SaleError::TenderNotPositive);
        }
        let (amount, given, change) = if settles {
            // Cash settles the sale: the rounding to the cash step is booked with it.
            self.rounding = Money::of_minor(self.rounding.minor() + due.minor() - remaining.minor(), currency);
            if remaining.is_negative() {
                (due, due, zero)
            } else {
                (due, given, Money::of_minor(given.minor() - due.minor(), currency))
            }
        } else {
            (given, given, zero)
        };
        self.tenders.push(Tender { kind: TenderKind::Cash, amount, given, change });
        self.settle_if_paid();
        Ok(change)
    }

    /// Cash paid back on a refund: a part of what is due (the share cash paid on the original),
    /// or all of it — then rounded to the cash step like any cash settlement.
    pub fn pay_back_cash(&mut self, amount: Money) -> Result<(), SaleError> {
        let remaining = self.remaining();
        if !remaining.is_negative() || !amount.is_positive() {
            return Err(SaleError::TenderNotPositive);
        }
        if amount.minor() >= remaining.abs().minor() {
            return self.tender_cash(self.cash_due()).map(|_| ());
        }
        self.tender_exact(TenderKind::Cash, -amount)
    }

    /// Records a card payment the terminal approved, for at most what is due.
    pub fn tender_card(&mut self, amount: Money, card: CardPayment) -> Result<(), SaleError> {
        card.validate()?;
        self.tender_exact(TenderKind::Card(card), amount)
    }

    /// Scan-code (Alipay, WeChat Pay, UnionPay QR), vouchers and other tenders paid elsewhere,
    /// with the reference that proves them.
    pub fn tender_external(&mut self, method: ExternalMethod, reference: &str, amount: Money) -> Result<(), SaleError> {
        let reference = reference.trim();
        if reference.is_empty() || reference.len() > 64 {
            return Err(SaleError::MissingReference);
        }
        self.tender_exact(TenderKind::External { method, reference: reference.to_string() }, amount)
    }

    fn tender_exact(&mut self, kind: TenderKind, amount: Money) -> Result<(), SaleError> {
        self.require(Action::Tender, &[SaleState::Tendering])?;
        if amount.currency() != self.currency() {
            return Err(MoneyError::CurrencyMismatch(amount.currency().code, self.currency().code).into());
        }
        let remaining = self.remaining();
        // Sales take positive tenders, refunds pay out negative ones; never past what is due.
        if amount.is_zero() || amount.is_negative() != remaining.is_negative() {
            return Err(SaleError::TenderNotPositive);
        }
        if amount.abs().minor() > remaining.abs().minor() {
            return Err(SaleError::TenderExceedsDue { tendered: amount, due: remaining });
        }
        self.tenders.push(Tender { kind, amount, given: amount, change: Money::zero(self.currency()) });
        self.settle_if_paid();
        Ok(())
    }

    /// Takes back a tender that was not a card payment (a card needs a reversal at the terminal).
    pub fn remove_tender(&mut self, index: usize) -> Result<Tender, SaleError> {
        self.require(Action::Tender, &[SaleState::Tendering])?;
        match self.tenders.get(index) {
            None => Err(SaleError::NoSuchTender(index)),
            Some(Tender { kind: TenderKind::Card(_), .. }) => Err(SaleError::CardNeedsReversal),
            Some(_) => Ok(self.tenders.remove(index)),
        }
    }

    fn settle_if_paid(&mut self) {
        if self.remaining().is_zero() {
            self.state = SaleState::Paid;
        }
    }

    /// Marks the sale completed; the ledger calls this in the transaction that posts it.
    pub fn complete(&mut self) -> Result<(), SaleError> {
        self.require(Action::Complete, &[SaleState::Paid])?;
        self.state = SaleState::Completed;
        Ok(())
    }

    pub fn park(&mut self) -> Result<(), SaleError> {
        self.require(Action::Park, &[SaleState::Open])?;
        if self.lines.is_empty() {
            return Err(SaleError::Empty);
        }
        self.state = SaleState::Parked;
        Ok(())
    }

    pub fn resume(&mut self) -> Result<(), SaleError> {
        self.require(Action::Resume, &[SaleState::Parked])?;
        self.state = SaleState::Open;
        Ok(())
    }

    /// Voids the whole sale. Money already taken must be given back first: a sale with tenders
    /// cannot be voided.
    pub fn void(&mut self) -> Result<(), SaleError> {
        self.require(Action::Void, &[SaleState::Open, SaleState::Parked, SaleState::Tendering])?;
        if !self.tenders.is_empty() {
            return Err(SaleError::IllegalTransition { from: self.state, action: Action::Void });
        }
        self.state = SaleState::Voided;
        Ok(())
    }
}

/// qty × price rounded half-up, in minor units.
fn line_gross(quantity: Decimal, price: Money) -> Result<i64, SaleError> {
    let milli = scaled_i64(quantity, 3).ok_or(SaleError::QuantityTooLarge)?;
    let gross = tax::div_half_up(i128::from(milli) * i128::from(price.minor()), 1000);
    if gross.abs() > i128::from(MAX_MINOR) {
        return Err(SaleError::TotalOutOfRange);
    }
    Ok(gross as i64)
}

/// Quantities must be positive, whole for pieces, at most 3 decimals for weights, and bounded.
pub fn validate_quantity(quantity: Decimal, sold_by: SoldBy) -> Result<(), SaleError> {
    if quantity <= Decimal::ZERO {
        return Err(SaleError::QuantityNotPositive);
    }
    if quantity > Decimal::from(MAX_QUANTITY) + Decimal::new(999, 3) {
        return Err(SaleError::QuantityTooLarge);
    }
    let scale = quantity.normalize().scale();
    match sold_by {
        SoldBy::Piece if scale > 0 => Err(SaleError::FractionalPieces),
        SoldBy::Piece if quantity > Decimal::from(MAX_QUANTITY) => Err(SaleError::QuantityTooLarge),
        SoldBy::Weight if scale > 3 => Err(SaleError::QuantityTooPrecise),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
