//! The counter: what a cashier's session holds and the rules of the counter, as plain data —
//! who is signed in, the cart being rung up, parked carts, the refund being made, and what needs a
//! manager. No iced, no I/O: the screens (`ui`) call these methods and run the slow parts (the
//! ledger, the devices) in workers.

pub mod entry;

use crate::catalog::SoldBy;
use std::sync::Arc;

use rust_decimal::Decimal;

use crate::auth::{Approval, AuthError, Permission, User};
use crate::catalog::{Catalog, LookupError};
use crate::config::StoreSettings;
use crate::ledger::records::SaleRecord;
use crate::money::{Money, MoneyError, parse_decimal};
use crate::sale::{Discount, ExternalMethod, OriginalSale, Sale, SaleError, SaleKind, SaleState, TenderKind};
use crate::terminal::CardApproval;
pub use entry::Entry;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CounterError {
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error(transparent)]
    Sale(#[from] SaleError),
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("this needs a manager's approval")]
    NeedsApproval(Permission),
    #[error("select a line first")]
    NoLineSelected,
    #[error("not a quantity: {0}")]
    BadQuantity(String),
    #[error("not a percentage: {0}")]
    BadPercent(String),
    #[error("finish or park the current sale first")]
    CartNotEmpty,
    #[error("no parked sale {0}")]
    NoParkedSale(usize),
    #[error("nothing selected to refund")]
    NothingToRefund,
    #[error("the refund goes back to the original tender")]
    RefundTenderMismatch,
    /// The ledger's card payments for the sale could not be applied to it (in words).
    #[error("{0}")]
    Resume(String),
    /// A product sold by weight came without one (its quick key, its plain barcode): the
    /// weight is asked, never taken as 1 kg. The product's SKU.
    #[error("weigh {0} first")]
    WeightNeeded(String),
}

impl CounterError {
    pub fn localized(&self, locale: &str) -> String {
        use rust_i18n::t;
        match self {
            CounterError::Lookup(e) => return e.localized(locale),
            CounterError::Sale(e) => return e.localized(locale),
            CounterError::Money(e) => return e.localized(locale),
            CounterError::Auth(e) => return e.localized(locale),
            CounterError::NeedsApproval(_) => t!("error.counter.needs_approval", locale = locale),
            CounterError::NoLineSelected => t!("error.counter.no_line_selected", locale = locale),
            CounterError::BadQuantity(q) => t!("error.counter.bad_quantity", locale = locale, value = q),
            CounterError::WeightNeeded(sku) => t!("error.counter.weight_needed", locale = locale, sku = sku),
            CounterError::BadPercent(q) => t!("error.counter.bad_percent", locale = locale, value = q),
            CounterError::CartNotEmpty => t!("error.counter.cart_not_empty", locale = locale),
            CounterError::NoParkedSale(n) => t!("error.counter.no_parked_sale", locale = locale, number = n),
            CounterError::NothingToRefund => t!("error.counter.nothing_to_refund", locale = locale),
            CounterError::RefundTenderMismatch => t!("error.counter.refund_tender_mismatch", locale = locale),
            CounterError::Resume(e) => return e.clone(),
        }
        .into_owned()
    }
}

/// A cart put aside while another customer is served.
#[derive(Debug, Clone, PartialEq)]
pub struct Parked {
    pub sale: Sale,
    pub total: Money,
    pub items: usize,
    /// Its durable copy in the ledger (`ledger::in_progress`), once written.
    pub in_progress: Option<i64>,
    /// Names it while its copy is being written (its place in the list may change meanwhile).
    pub key: u64,
}

/// What the cashier's entry did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entered {
    Nothing,
    /// A line was added (its index).
    Line(usize),
    /// A receipt's code was scanned: look that sale up for a refund.
    Receipt(i64),
}

/// The original sale a refund is made against, as the ledger has it.
#[derive(Debug, Clone, PartialEq)]
pub struct RefundSource {
    pub original: OriginalSale,
    pub record: SaleRecord,
    /// The business day that is open now: a card payment of the same day can be reversed.
    pub today: Option<i64>,
    /// What cards and cash paid on the original and earlier refunds did not pay back yet
    /// (minor units): a refund follows the money.
    pub card_left: i64,
    pub cash_left: i64,
    /// What scan code, vouchers and other outside channels paid and was not paid back yet.
    pub other_left: i64,
}

impl RefundSource {
    /// The original's payment by scan code, voucher or another outside channel, if any: a
    /// refund's share goes back the same way (made on that channel, its reference kept here).
    pub fn other(&self) -> Option<&crate::ledger::records::PaymentRecord> {
        self.record.payments.iter().find(|p| p.kind != "card" && p.kind != "cash")
    }

    /// The original's card payment, if any (one per sale at this counter).
    pub fn card(&self) -> Option<&crate::ledger::records::PaymentRecord> {
        self.record.payments.iter().find(|p| p.kind == "card")
    }

    pub fn paid_in_cash_only(&self) -> bool {
        self.record.payments.iter().all(|p| p.kind == "cash")
    }
}

/// The shares of a refund still to pay, as the screen offers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundShares {
    /// Back to the card that paid.
    pub card: Money,
    /// Back by the scan code, voucher or other channel that paid (made there; its reference
    /// typed here).
    pub other: Money,
    /// Back in cash (the rest).
    pub cash: Money,
    /// How much of the cash share cash paid on the original: no manager needed for it.
    pub cash_without_manager: Money,
}

/// How a card refund goes to the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardRefund {
    /// The whole payment, the same business day: the terminal reverses it (Storno).
    Reverse { terminal_receipt: u16, amount_minor: u64 },
    /// Part of it, or another day: a refund of this amount (minor units, positive) for the card
    /// payment with this terminal receipt.
    Refund { amount_minor: u64, of_receipt: Option<u16> },
}

pub struct Counter {
    store: StoreSettings,
    catalog: Arc<Catalog>,
    /// Voiding a line worth more than this needs a manager (the store's setting).
    void_threshold: Money,
    cashier: Option<User>,
    sale: Sale,
    selected: Option<usize>,
    parked: Vec<Parked>,
    refund: Option<RefundSource>,
    /// The current sale's durable copy in the ledger, once money is about to move for it.
    in_progress: Option<i64>,
    next_parked_key: u64,
    /// The key the current sale had while it was parked (its copy may still be on its way).
    resumed_key: Option<u64>,
}

impl Counter {
    pub fn new(store: StoreSettings, catalog: Arc<Catalog>) -> Counter {
        let sale = Sale::new(store.sale_settings());
        let void_threshold = store.void_threshold();
        Counter {
            store,
            catalog,
            void_threshold,
            cashier: None,
            sale,
            selected: None,
            parked: Vec::new(),
            refund: None,
            in_progress: None,
            next_parked_key: 0,
            resumed_key: None,
        }
    }

    /// The current sale's durable copy in the ledger, if it has one.
    pub fn in_progress(&self) -> Option<i64> {
        self.in_progress
    }

    /// The ledger wrote the current sale's durable copy under this id.
    pub fn set_in_progress(&mut self, id: i64) {
        self.in_progress = Some(id);
    }

    /// The ledger wrote the durable copy of the parked sale `key` under this id; resumed
    /// meanwhile, the current sale takes it. False when that sale is gone from the counter.
    pub fn set_parked_in_progress(&mut self, key: u64, id: i64) -> bool {
        if let Some(p) = self.parked.iter_mut().find(|p| p.key == key) {
            p.in_progress = Some(id);
            return true;
        }
        if self.resumed_key == Some(key) && self.in_progress.is_none() {
            self.in_progress = Some(id);
            return true;
        }
        false
    }

    fn parked_key(&mut self) -> u64 {
        self.next_parked_key += 1;
        self.next_parked_key
    }

    /// A sale in progress brought back from the ledger after a restart: parked ones join the
    /// parked list; an open one becomes the current sale when the cart is empty (else it is
    /// parked, so nothing the cashier has rung up is lost). Returns true when it is the current.
    pub fn restore(&mut self, id: i64, sale: Sale) -> bool {
        if sale.state() != SaleState::Parked && self.sale.lines().is_empty() && self.in_progress.is_none() {
            self.sale = sale;
            self.in_progress = Some(id);
            self.selected = None;
            return true;
        }
        let mut sale = sale;
        if sale.state() == SaleState::Open {
            let _ = sale.park();
        }
        let totals = sale.totals();
        let key = self.parked_key();
        self.parked.push(Parked { total: totals.total, items: sale.lines().len(), sale, in_progress: Some(id), key });
        false
    }

    pub fn store(&self) -> &StoreSettings {
        &self.store
    }

    /// The catalog after a manager changed it: the cart keeps the lines it has (their prices
    /// were taken when they were rung up).
    pub fn set_catalog(&mut self, catalog: Arc<Catalog>) {
        self.catalog = catalog;
    }

    /// New store settings (the installer changed them): the next sale is rung up under them.
    /// Refused while a sale is in progress.
    pub fn set_store(&mut self, store: StoreSettings) -> Result<(), CounterError> {
        if !self.sale.lines().is_empty() {
            return Err(CounterError::CartNotEmpty);
        }
        self.void_threshold = store.void_threshold();
        self.sale = Sale::new(store.sale_settings());
        self.selected = None;
        self.store = store;
        Ok(())
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The catalog itself, for work off the screen's loop (an import's preview).
    pub fn catalog_arc(&self) -> Arc<Catalog> {
        self.catalog.clone()
    }

    pub fn sale(&self) -> &Sale {
        &self.sale
    }

    pub fn selected(&self) -> Option<usize> {
        self.selected
    }

    pub fn parked(&self) -> &[Parked] {
        &self.parked
    }

    pub fn cashier(&self) -> Option<&User> {
        self.cashier.as_ref()
    }

    pub fn refund_source(&self) -> Option<&RefundSource> {
        self.refund.as_ref()
    }

    pub fn sign_in(&mut self, user: User) {
        self.cashier = Some(user);
    }

    /// Signing out leaves the cart as it is for the next cashier only when it is empty or parked.
    pub fn sign_out(&mut self) -> Result<(), CounterError> {
        if !self.sale.lines().is_empty() {
            return Err(CounterError::CartNotEmpty);
        }
        self.cashier = None;
        Ok(())
    }

    pub fn select(&mut self, line: Option<usize>) {
        self.selected = line.filter(|&l| l < self.sale.lines().len());
    }

    /// What the scan field's Enter does: a barcode or SKU (with an optional `N*` quantity)
    /// becomes a line; a receipt's code asks for that sale.
    pub fn enter(&mut self, text: &str) -> Result<Entered, CounterError> {
        match Entry::parse(text, &self.store.register)? {
            Entry::Empty => Ok(Entered::Nothing),
            Entry::Receipt(no) => Ok(Entered::Receipt(no)),
            Entry::Item { quantity, code } => {
                let index = self.add_item(quantity, code)?;
                self.selected = Some(index);
                Ok(Entered::Line(index))
            }
        }
    }

    fn add_item(&mut self, quantity: Option<Decimal>, code: &str) -> Result<usize, CounterError> {
        if let Ok(product) = self.catalog.by_sku(code) {
            if quantity.is_none() && product.sold_by == SoldBy::Weight {
                return Err(CounterError::WeightNeeded(product.sku.to_string()));
            }
            return Ok(self.sale.add_product(product, quantity.unwrap_or(Decimal::ONE))?);
        }
        if !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(LookupError::UnknownSku(code.to_string()).into());
        }
        let hit = self.catalog.scan(code)?;
        if quantity.is_none() && hit.embedded.is_none() && hit.product.sold_by == SoldBy::Weight {
            return Err(CounterError::WeightNeeded(hit.product.sku.to_string()));
        }
        match quantity {
            // A label with its own price or weight is one item; a count would multiply the label.
            Some(q) if hit.embedded.is_some() && q != Decimal::ONE => Err(CounterError::BadQuantity(q.to_string())),
            Some(q) if hit.embedded.is_none() => Ok(self.sale.add_product(hit.product, q)?),
            _ => Ok(self.sale.add_scan(&hit)?),
        }
    }

    /// Adds one of a product picked by quick key or search.
    pub fn add_sku(&mut self, sku: &str) -> Result<usize, CounterError> {
        let index = self.add_item(None, sku)?;
        self.selected = Some(index);
        Ok(index)
    }

    fn selected_line(&self) -> Result<usize, CounterError> {
        self.selected.filter(|&l| l < self.sale.lines().len()).ok_or(CounterError::NoLineSelected)
    }

    pub fn set_quantity(&mut self, text: &str, approval: Option<&Approval>) -> Result<(), CounterError> {
        let line = self.selected_line()?;
        let q = parse_decimal(text).ok_or_else(|| CounterError::BadQuantity(text.trim().to_string()))?;
        // Fewer of a line above the void threshold is a void of part of it: the same manager's
        // approval (or 10 × 7.00 set to 1, then voided, would dodge the threshold).
        let before = self.sale.lines().get(line).map(|l| l.quantity.abs());
        if before.is_some_and(|b| q.abs() < b)
            && self.void_needs_approval()
            && !approval.is_some_and(|a| a.covers(Permission::VoidLine))
        {
            return Err(CounterError::NeedsApproval(Permission::VoidLine));
        }
        Ok(self.sale.set_quantity(line, q)?)
    }

    /// A new unit price for the selected line: a manager's decision.
    pub fn override_price(&mut self, text: &str, approval: Option<&Approval>) -> Result<(), CounterError> {
        let line = self.selected_line()?;
        let price = Money::parse(text, self.store.currency)?;
        if !approval.is_some_and(|a| a.covers(Permission::PriceOverride)) {
            return Err(CounterError::NeedsApproval(Permission::PriceOverride));
        }
        Ok(self.sale.override_price(line, price)?)
    }

    /// Percent off the selected line, or off the whole sale when no line is selected; above the
    /// store's limit only with a manager's approval.
    pub fn discount(&mut self, text: &str, whole_sale: bool, approval: Option<&Approval>) -> Result<(), CounterError> {
        let percent = parse_decimal(text).ok_or_else(|| CounterError::BadPercent(text.trim().to_string()))?;
        if percent > self.store.discount_approval_over && !approval.is_some_and(|a| a.covers(Permission::Discount)) {
            return Err(CounterError::NeedsApproval(Permission::Discount));
        }
        let discount = (!percent.is_zero()).then_some(Discount::Percent(percent));
        if whole_sale {
            return Ok(self.sale.set_sale_discount(discount)?);
        }
        let line = self.selected_line()?;
        Ok(self.sale.set_line_discount(line, discount)?)
    }

    /// Whether voiding the selected line needs a manager (its amount is over the threshold).
    pub fn void_needs_approval(&self) -> bool {
        let Ok(line) = self.selected_line() else { return false };
        // Before discounts: a discount within the cashier's limit must not bring a line under the
        // threshold and then void it unasked.
        self.sale.totals().lines.get(line).is_some_and(|l| l.gross.abs().minor() > self.void_threshold.minor())
    }

    /// Whether voiding the whole sale needs a manager: it holds more than the store's void
    /// threshold (like a line).
    pub fn sale_void_needs_approval(&self) -> bool {
        self.sale.totals().total.abs().minor() > self.void_threshold.minor()
    }

    /// Removes the selected line; above the threshold only with a manager's approval.
    pub fn void_line(&mut self, approval: Option<&Approval>) -> Result<(), CounterError> {
        let line = self.selected_line()?;
        if self.void_needs_approval() && !approval.is_some_and(|a| a.covers(Permission::VoidLine)) {
            return Err(CounterError::NeedsApproval(Permission::VoidLine));
        }
        self.sale.remove_line(line)?;
        let left = self.sale.lines().len();
        self.selected = if left == 0 { None } else { Some(line.min(left - 1)) };
        Ok(())
    }

    /// Puts the cart aside and starts an empty one.
    pub fn park(&mut self) -> Result<(), CounterError> {
        if self.sale.kind() == SaleKind::Refund {
            return Err(
                SaleError::IllegalTransition { from: self.sale.state(), action: crate::sale::Action::Park }.into()
            );
        }
        let totals = self.sale.totals();
        self.sale.park()?;
        let sale = std::mem::replace(&mut self.sale, Sale::new(self.store.sale_settings()));
        let in_progress = self.in_progress.take();
        self.resumed_key = None;
        let key = self.parked_key();
        self.parked.push(Parked { total: totals.total, items: sale.lines().len(), sale, in_progress, key });
        self.selected = None;
        Ok(())
    }

    /// Brings a parked cart back; the current cart must be empty.
    pub fn resume(&mut self, index: usize) -> Result<(), CounterError> {
        if !self.sale.lines().is_empty() {
            return Err(CounterError::CartNotEmpty);
        }
        if index >= self.parked.len() {
            return Err(CounterError::NoParkedSale(index + 1));
        }
        let mut parked = self.parked.remove(index);
        parked.sale.resume()?;
        self.sale = parked.sale;
        self.in_progress = parked.in_progress;
        self.resumed_key = Some(parked.key);
        self.selected = None;
        Ok(())
    }

    /// Throws the cart away (nothing was paid on it).
    /// Voids the current sale (one with card payments must have them reversed first); returns
    /// it with its durable copy's id, which the caller discards from the ledger.
    pub fn void_sale(&mut self, approval: Option<&Approval>) -> Result<(Sale, Option<i64>), CounterError> {
        if self.sale_void_needs_approval() && !approval.is_some_and(|a| a.covers(Permission::VoidLine)) {
            return Err(CounterError::NeedsApproval(Permission::VoidLine));
        }
        // Cash and other tenders taken on it are handed back to the customer with the void
        // (card payments were reversed at the terminal before this).
        self.give_back_tenders();
        let mut sale = self.sale.clone();
        sale.void()?;
        self.sale = Sale::new(self.store.sale_settings());
        self.selected = None;
        self.refund = None;
        self.resumed_key = None;
        Ok((sale, self.in_progress.take()))
    }

    /// Brings the current sale's card payments in line with what the ledger holds for its sale in
    /// progress (after recovery settled an open payment). True when a card payment was added.
    pub fn reconcile_cards(&mut self, held: &[crate::ledger::HeldCard]) -> Result<bool, CounterError> {
        let before = self.sale.tenders().len();
        crate::resume::reconcile(&mut self.sale, held).map_err(|e| match e {
            crate::resume::ResumeError::Sale(e) => CounterError::from(e),
            other => CounterError::Resume(other.to_string()),
        })?;
        Ok(self.sale.tenders().len() > before)
    }

    /// Takes the cash and other tenders off the current sale: handed back to the customer before
    /// a void (card payments are reversed at the terminal instead).
    pub fn give_back_tenders(&mut self) {
        while let Some(i) = self.sale.tenders().iter().position(|t| !matches!(t.kind, TenderKind::Card(_))) {
            if self.sale.remove_tender(i).is_err() {
                break;
            }
        }
    }

    /// The terminal booked the reversal of this card payment of the current sale: it is taken
    /// off the sale (which can then be voided or paid otherwise).
    pub fn card_reversed(&mut self, receipt_no: u32, trace: u32) -> bool {
        self.sale.reversed_card(receipt_no, trace).is_some()
    }

    // ----- payment -----

    pub fn begin_payment(&mut self) -> Result<(), CounterError> {
        Ok(self.sale.begin_payment()?)
    }

    pub fn back_to_cart(&mut self) -> Result<(), CounterError> {
        Ok(self.sale.back_to_cart()?)
    }

    /// Cash handed over (`text` empty: exactly what is due). Returns the change.
    pub fn tender_cash(&mut self, text: &str) -> Result<Money, CounterError> {
        let given =
            if text.trim().is_empty() { self.sale.cash_due() } else { Money::parse(text, self.store.currency)? };
        Ok(self.sale.tender_cash(given)?)
    }

    /// How the refund still to pay goes back, following the original's tenders: the card's
    /// share to the card that paid (what `card_refund` offers), the rest in cash.
    pub fn refund_shares(&self) -> Option<RefundShares> {
        self.refund.as_ref()?;
        if self.sale.kind() != SaleKind::Refund {
            return None;
        }
        let currency = self.store.currency;
        let remaining = self.sale.remaining().abs().minor();
        let card = match self.card_refund() {
            Some(CardRefund::Reverse { amount_minor, .. } | CardRefund::Refund { amount_minor, .. }) => {
                amount_minor as i64
            }
            None => 0,
        };
        let other = (remaining - card).min(self.other_left_now()).max(0);
        let cash = remaining - card - other;
        Some(RefundShares {
            card: Money::of_minor(card, currency),
            other: Money::of_minor(other, currency),
            cash: Money::of_minor(cash, currency),
            cash_without_manager: Money::of_minor(cash.min(self.cash_left_now()).max(0), currency),
        })
    }

    /// What outside channels paid on the original and was not paid back yet, this refund's
    /// included.
    fn other_left_now(&self) -> i64 {
        let Some(source) = &self.refund else { return 0 };
        let already = self.sale.tendered(|k| matches!(k, TenderKind::External { .. }));
        source.other_left - already
    }

    /// The share paid by scan code, voucher or another channel goes back the same way: the
    /// refund is made on that channel and its reference typed here.
    pub fn refund_other(&mut self, reference: &str) -> Result<Money, CounterError> {
        let shares = self.refund_shares().ok_or(CounterError::NothingToRefund)?;
        let method = self
            .refund
            .as_ref()
            .and_then(|s| s.other())
            .map_or(ExternalMethod::Other, |p| ExternalMethod::from_code(&p.kind).unwrap_or(ExternalMethod::Other));
        if !shares.other.is_positive() {
            return Err(CounterError::RefundTenderMismatch);
        }
        self.sale.tender_external(method, reference, -shares.other)?;
        Ok(shares.other)
    }

    /// What cash paid on the original and was not paid back yet, this refund's cash included.
    fn cash_left_now(&self) -> i64 {
        let Some(source) = &self.refund else { return 0 };
        let already = self.sale.tendered(|k| matches!(k, TenderKind::Cash));
        source.cash_left - already
    }

    /// Cash paid out for a refund: its cash share (what cash paid on the original, net of
    /// earlier refunds), or — `all` — the whole rest, the card's share too. Cash beyond what cash
    /// paid (a card sale refunded in cash) only with a manager's approval.
    pub fn refund_cash(&mut self, all: bool, approval: Option<&Approval>) -> Result<Money, CounterError> {
        let shares = self.refund_shares().ok_or(CounterError::NothingToRefund)?;
        let amount = if all {
            Money::of_minor(shares.card.minor() + shares.other.minor() + shares.cash.minor(), shares.cash.currency())
        } else {
            shares.cash
        };
        if !amount.is_positive() {
            return Err(CounterError::RefundTenderMismatch);
        }
        if amount.minor() > self.cash_left_now() && !approval.is_some_and(|a| a.covers(Permission::CashRefund)) {
            return Err(CounterError::NeedsApproval(Permission::CashRefund));
        }
        self.sale.pay_back_cash(amount)?;
        Ok(amount)
    }

    /// Scan-code and other tenders paid elsewhere, for the remainder, with their reference.
    pub fn tender_external(&mut self, method: ExternalMethod, reference: &str) -> Result<(), CounterError> {
        if self.sale.kind() == SaleKind::Refund {
            return Err(CounterError::RefundTenderMismatch);
        }
        let due = self.sale.remaining();
        Ok(self.sale.tender_external(method, reference, due)?)
    }

    /// What a card payment must charge now (the remainder).
    pub fn card_amount(&self) -> Money {
        self.sale.remaining()
    }

    /// How a refund goes back to the original card, if it was paid by card: at most what the
    /// card paid and was not refunded yet (the rest of a split payment goes back in cash).
    pub fn card_refund(&self) -> Option<CardRefund> {
        let source = self.refund.as_ref()?;
        let card = source.card()?;
        // What cards already got back on this refund (a part booked before a restart, say).
        let already = self.sale.tendered(|k| matches!(k, TenderKind::Card(_)));
        let amount = self.sale.remaining().abs().minor().min(source.card_left - already);
        if amount <= 0 {
            return None;
        }
        let same_day = source.today == Some(source.record.day_no);
        match card.card_receipt {
            Some(receipt) if same_day && already == 0 && amount == card.amount && source.card_left == card.amount => {
                Some(CardRefund::Reverse {
                    terminal_receipt: u16::try_from(receipt).ok()?,
                    amount_minor: amount as u64,
                })
            }
            _ => Some(CardRefund::Refund {
                amount_minor: amount as u64,
                of_receipt: card.card_receipt.and_then(|r| u16::try_from(r).ok()),
            }),
        }
    }

    /// Books what the terminal approved: a payment, or in a refund the money back to the card.
    pub fn tender_card(&mut self, approval: &CardApproval) -> Result<(), CounterError> {
        let card = crate::card::sale_payment(approval);
        let amount = Money::from_minor(approval.amount_minor as i64, self.store.currency)?;
        let amount = if self.sale.kind() == SaleKind::Refund { -amount } else { amount };
        Ok(self.sale.tender_card(amount, card)?)
    }

    /// True when the sale has a card payment on it (it cannot simply be thrown away).
    pub fn has_card_tender(&self) -> bool {
        self.sale.tenders().iter().any(|t| matches!(t.kind, TenderKind::Card(_)))
    }

    /// Takes the paid sale to be posted (with its durable copy's id) and starts the next one.
    pub fn take_paid(&mut self) -> Option<(Sale, Option<i64>)> {
        if self.sale.state() != SaleState::Paid {
            return None;
        }
        self.refund = None;
        self.selected = None;
        let sale = std::mem::replace(&mut self.sale, Sale::new(self.store.sale_settings()));
        self.resumed_key = None;
        Some((sale, self.in_progress.take()))
    }

    // ----- refund -----

    /// Starts a refund against a posted sale; the cart must be empty.
    pub fn open_refund(&mut self, source: RefundSource) -> Result<(), CounterError> {
        if !self.sale.lines().is_empty() {
            return Err(CounterError::CartNotEmpty);
        }
        self.refund = Some(source);
        Ok(())
    }

    /// The original sale of a refund brought back after a restart (its cart is already there).
    pub fn restore_refund_source(&mut self, source: RefundSource) {
        if self.sale.kind() == SaleKind::Refund && self.sale.refund_of() == Some(source.original.receipt_no) {
            self.refund = Some(source);
        }
    }

    /// From paying a refund back to choosing what goes back (Escape, one step): the refund's
    /// cart is put away — nothing was paid on it — and the original stays open. False when
    /// money already went back (then the refund is finished, not undone).
    pub fn back_to_refund(&mut self) -> bool {
        if self.sale.kind() != SaleKind::Refund || !self.sale.tenders().is_empty() || self.refund.is_none() {
            return false;
        }
        self.sale = Sale::new(self.store.sale_settings());
        true
    }

    pub fn cancel_refund(&mut self) {
        if self.sale.kind() == SaleKind::Refund && self.sale.tenders().is_empty() {
            self.sale = Sale::new(self.store.sale_settings());
        }
        self.refund = None;
    }

    /// Builds the refund cart from the chosen quantities (original line number, quantity) and
    /// goes to payment.
    /// The chosen lines of the original as the refund to pay back; above the store's refund
    /// limit only with a manager's approval (a cashier alone cannot pay money out).
    pub fn refund_lines(&mut self, chosen: &[(u32, Decimal)], approval: Option<&Approval>) -> Result<(), CounterError> {
        let source = self.refund.as_ref().ok_or(CounterError::NothingToRefund)?;
        let chosen: Vec<_> = chosen.iter().filter(|(_, q)| !q.is_zero()).collect();
        if chosen.is_empty() {
            return Err(CounterError::NothingToRefund);
        }
        let mut sale = Sale::new_refund(self.store.sale_settings(), &source.original);
        for (line_no, quantity) in chosen {
            sale.add_refund_line(&source.original, *line_no, *quantity)?;
        }
        let limit = Money::new(self.store.refund_approval_over, self.store.currency)?;
        if sale.totals().total.abs().minor() > limit.minor() && !approval.is_some_and(|a| a.covers(Permission::Refund))
        {
            return Err(CounterError::NeedsApproval(Permission::Refund));
        }
        sale.begin_payment()?;
        self.sale = sale;
        self.selected = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
