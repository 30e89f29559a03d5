//! Headless sales (`till simulate`): random cash sales from the catalog, rung up through the same
//! `sale` and `ledger` code the counter uses, for demos, rehearsals and load.

use chrono::Utc;
use rust_decimal::Decimal;

use crate::catalog::{Catalog, SoldBy};
use crate::ledger::{Ledger, LedgerError, PostContext, Posted};
use crate::money::Money;
use crate::sale::{Discount, Sale, SaleError, SaleSettings};
use crate::terminal::{Outcome, PaymentTerminal};

/// SplitMix64: small, fast and the same on every machine, so a seed names a day of sales.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.range(1, 100) <= percent
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error(transparent)]
    Sale(#[from] SaleError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("the catalog is empty")]
    EmptyCatalog,
    #[error(transparent)]
    Card(#[from] crate::card::CardError),
    #[error(transparent)]
    Print(#[from] crate::print_queue::PrintError),
}

impl SimulateError {
    pub fn localized(&self, locale: &str) -> String {
        match self {
            SimulateError::Sale(e) => e.localized(locale),
            SimulateError::Ledger(e) => e.localized(locale),
            SimulateError::EmptyCatalog => rust_i18n::t!("error.simulate.empty_catalog", locale = locale).into_owned(),
            SimulateError::Card(crate::card::CardError::Ledger(e)) => e.localized(locale),
            SimulateError::Card(crate::card::CardError::Terminal(e)) => e.to_string(),
            SimulateError::Print(crate::print_queue::PrintError::Ledger(e)) => e.localized(locale),
            SimulateError::Print(e) => e.to_string(),
        }
    }
}

/// A random basket of 1–10 lines, ready for payment: pieces 1–3 at a time, weighed goods
/// 0.1–2.5 kg, now and then a line or sale discount.
pub fn random_basket(catalog: &Catalog, settings: &SaleSettings, rng: &mut Rng) -> Result<Sale, SimulateError> {
    if catalog.is_empty() {
        return Err(SimulateError::EmptyCatalog);
    }
    let mut sale = Sale::new(settings.clone());
    for _ in 0..rng.range(1, 10) {
        let product = &catalog.products()[rng.range(0, catalog.len() as u64 - 1) as usize];
        let quantity = match product.sold_by {
            SoldBy::Piece => Decimal::from(rng.range(1, 3)),
            SoldBy::Weight => Decimal::new(rng.range(100, 2500) as i64, 3),
        };
        let line = sale.add_product(product, quantity)?;
        if rng.chance(10) {
            sale.set_line_discount(line, Some(Discount::Percent(Decimal::from(10))))?;
        }
    }
    if rng.chance(5) {
        sale.set_sale_discount(Some(Discount::Percent(Decimal::from(5))))?;
    }
    sale.begin_payment()?;
    Ok(sale)
}

/// Pays what is left in cash, as a customer would: exact, or the next round note.
pub fn pay_cash(sale: &mut Sale, rng: &mut Rng) -> Result<(), SimulateError> {
    if sale.remaining().is_zero() {
        return Ok(());
    }
    let due = sale.cash_due();
    let given = if rng.chance(50) {
        due
    } else {
        let note = [10i64, 20, 50, 100][rng.range(0, 3) as usize] * 10i64.pow(due.currency().minor_units);
        Money::from_minor((due.minor() / note + 1) * note, due.currency()).unwrap_or(due)
    };
    sale.tender_cash(given)?;
    Ok(())
}

/// A random basket paid in cash.
pub fn random_paid_sale(catalog: &Catalog, settings: &SaleSettings, rng: &mut Rng) -> Result<Sale, SimulateError> {
    let mut sale = random_basket(catalog, settings, rng)?;
    pay_cash(&mut sale, rng)?;
    Ok(sale)
}

/// Pays the whole sale by card through the terminal, with the ledger's intent and result around
/// it. Returns false when the card did not go through (the sale then waits for another tender).
pub fn pay_card(
    sale: &mut Sale,
    ledger: &mut Ledger,
    terminal: &mut dyn PaymentTerminal,
    reference: &str,
) -> Result<bool, SimulateError> {
    let due = sale.remaining();
    if !due.is_positive() {
        return Ok(false);
    }
    let paid = crate::card::run(ledger, terminal, crate::card::CardOp::Pay, due.minor() as u64, reference)?;
    let Outcome::Approved(a) = paid.outcome else { return Ok(false) };
    sale.tender_card(due, crate::card::sale_payment(&a))?;
    Ok(true)
}

/// What `run` rings up with.
pub struct Options<'a> {
    pub count: u64,
    pub seed: u64,
    /// The share of sales paid by card (0–1), through this terminal.
    pub card: Option<(&'a mut dyn PaymentTerminal, f64)>,
}

/// Rings up and posts random sales; `each` sees every posted sale with the ledger (progress,
/// printing its receipt).
pub fn run(
    ledger: &mut Ledger,
    catalog: &Catalog,
    settings: &SaleSettings,
    ctx: &PostContext,
    options: Options<'_>,
    mut each: impl FnMut(&mut Ledger, &Sale, &Posted) -> Result<(), SimulateError>,
) -> Result<(), SimulateError> {
    let mut rng = Rng::new(options.seed);
    let mut card = options.card;
    for n in 0..options.count {
        let mut sale = random_basket(catalog, settings, &mut rng)?;
        if let Some((terminal, share)) = card.as_mut()
            && (rng.next_u64() % 10_000) < (*share * 10_000.0) as u64
        {
            let reference = format!("simulate {}-{n}", options.seed);
            pay_card(&mut sale, ledger, &mut **terminal, &reference)?;
        }
        // A declined or aborted card is paid in cash, as the customer at the counter would.
        pay_cash(&mut sale, &mut rng)?;
        let posted = ledger.post_sale(&mut sale, ctx, Utc::now())?;
        each(ledger, &sale, &posted)?;
    }
    Ok(())
}
