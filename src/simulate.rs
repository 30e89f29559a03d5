//! Headless sales (`till simulate`): random sales from the catalog, rung up through the same
//! `sale`, `card` and `ledger` code the counter uses, for demos, rehearsals, load and the kill
//! soak. Like the counter, each sale is kept as a sale in progress before money moves, and a run
//! first finishes what a killed run left: it never pays twice and never leaves a sale behind.

use chrono::Utc;
use rust_decimal::Decimal;

use crate::catalog::{Catalog, SoldBy};
use crate::ledger::{Ledger, LedgerError, PostContext, Posted};
use crate::money::Money;
use crate::sale::{Discount, Sale, SaleError, SaleSettings, SaleState};
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
    #[error(transparent)]
    Resume(#[from] crate::resume::ResumeError),
    /// A card payment's outcome the terminal cannot tell: the run stops rather than pay again.
    #[error("card payment {0} has no known outcome")]
    CardOpen(i64),
}

impl SimulateError {
    pub fn localized(&self, locale: &str) -> String {
        match self {
            SimulateError::Sale(e) => e.localized(locale),
            SimulateError::Ledger(e) => e.localized(locale),
            SimulateError::EmptyCatalog => rust_i18n::t!("error.simulate.empty_catalog", locale = locale).into_owned(),
            SimulateError::Card(e) => e.localized(locale),
            SimulateError::Print(crate::print_queue::PrintError::Ledger(e)) => e.localized(locale),
            SimulateError::Print(e) => e.to_string(),
            SimulateError::Resume(e) => e.localized(locale),
            SimulateError::CardOpen(n) => {
                rust_i18n::t!("error.ledger.card_outcome_unknown", locale = locale, intent = n).into_owned()
            }
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

/// Pays what is due by card through the terminal, with the ledger's intent and result around
/// it, for the sale in progress `id`. Returns false when the card did not go through (the sale
/// then waits for another tender). An outcome the line lost is settled with the terminal at once;
/// one the terminal cannot tell stops the run ([`SimulateError::CardOpen`]): never a second charge.
pub fn pay_card(
    sale: &mut Sale,
    id: i64,
    ledger: &mut Ledger,
    terminal: &mut dyn PaymentTerminal,
) -> Result<bool, SimulateError> {
    let due = sale.remaining();
    if !due.is_positive() {
        return Ok(false);
    }
    let reference = crate::ledger::in_progress::reference_of(id);
    let paid = crate::card::run(ledger, terminal, crate::card::CardOp::Pay, due.minor() as u64, &reference)?;
    match paid.outcome {
        Outcome::Approved(a) => {
            sale.tender_card(due, crate::card::sale_payment(&a))?;
            Ok(true)
        }
        Outcome::Unknown { .. } => {
            crate::card::recover(ledger, terminal)?;
            if ledger.open_card_intents()?.iter().any(|i| i.intent_id == paid.intent_id) {
                return Err(SimulateError::CardOpen(paid.intent_id));
            }
            crate::resume::reconcile(sale, &ledger.held_cards(id)?)?;
            Ok(sale.state() == SaleState::Paid)
        }
        _ => Ok(false),
    }
}

/// What `run` rings up with.
pub struct Options<'a> {
    pub count: u64,
    pub seed: u64,
    /// The share of sales paid by card (0–1), through this terminal.
    pub card: Option<(&'a mut dyn PaymentTerminal, f64)>,
}

/// Where the sales in progress of `till simulate` are kept apart from the counter's.
pub const ORIGIN: &str = "simulate";

/// Finishes the sales in progress a killed run left: their card payments as the ledger holds
/// them (open ones settled with the terminal first), the rest in cash, posted. Returns how many.
pub fn finish_left_over(
    ledger: &mut Ledger,
    settings: &SaleSettings,
    ctx: &PostContext,
    terminal: Option<&mut dyn PaymentTerminal>,
    rng: &mut Rng,
    each: &mut impl FnMut(&mut Ledger, &Sale, &Posted) -> Result<(), SimulateError>,
) -> Result<usize, SimulateError> {
    if let Some(t) = terminal
        && !ledger.open_card_intents()?.is_empty()
    {
        crate::card::recover(ledger, t)?;
    }
    let left = crate::resume::resume_all(ledger, settings, ORIGIN)?;
    for resumed in &left {
        if let Some(intent) = resumed.open_intents.first() {
            return Err(SimulateError::CardOpen(*intent));
        }
        let mut sale = resumed.sale.clone();
        if sale.state() == SaleState::Open {
            sale.begin_payment()?;
        }
        pay_cash(&mut sale, rng)?;
        let posted = ledger.post_in_progress(resumed.id, &mut sale, ctx, Utc::now())?;
        each(ledger, &sale, &posted)?;
    }
    Ok(left.len())
}

/// Rings up and posts random sales; `each` sees every posted sale with the ledger (progress,
/// printing its receipt). Sales a killed run left in progress are finished first.
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
    let terminal = card.as_mut().map(|(t, _)| &mut **t as &mut dyn PaymentTerminal);
    finish_left_over(ledger, settings, ctx, terminal, &mut rng, &mut each)?;
    for _ in 0..options.count {
        let mut sale = random_basket(catalog, settings, &mut rng)?;
        // Kept before any money moves: a kill from here on leaves the cart and its payments.
        let id = ledger.save_in_progress(None, ORIGIN, &sale, Utc::now())?;
        if let Some((terminal, share)) = card.as_mut()
            && (rng.next_u64() % 10_000) < (*share * 10_000.0) as u64
            && pay_card(&mut sale, id, ledger, &mut **terminal)?
        {
            ledger.save_in_progress(Some(id), ORIGIN, &sale, Utc::now())?;
        }
        // A declined or aborted card is paid in cash, as the customer at the counter would.
        pay_cash(&mut sale, &mut rng)?;
        let posted = ledger.post_in_progress(id, &mut sale, ctx, Utc::now())?;
        each(ledger, &sale, &posted)?;
    }
    Ok(())
}
