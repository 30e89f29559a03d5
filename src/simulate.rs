//! Headless sales (`till simulate`): random cash sales from the catalog, rung up through the same
//! `sale` and `ledger` code the counter uses, for demos, rehearsals and load.

use chrono::Utc;
use rust_decimal::Decimal;

use crate::catalog::{Catalog, SoldBy};
use crate::ledger::{Ledger, LedgerError, PostContext, Posted};
use crate::money::Money;
use crate::sale::{Discount, Sale, SaleError, SaleSettings};

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
}

impl SimulateError {
    pub fn localized(&self, locale: &str) -> String {
        match self {
            SimulateError::Sale(e) => e.localized(locale),
            SimulateError::Ledger(e) => e.localized(locale),
            SimulateError::EmptyCatalog => rust_i18n::t!("error.simulate.empty_catalog", locale = locale).into_owned(),
        }
    }
}

/// A random basket of 1–10 lines, paid: pieces 1–3 at a time, weighed goods 0.1–2.5 kg, now and
/// then a line or sale discount; cash given as a customer would (exact, or the next round note).
pub fn random_paid_sale(catalog: &Catalog, settings: &SaleSettings, rng: &mut Rng) -> Result<Sale, SimulateError> {
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
    if !sale.remaining().is_zero() {
        let due = sale.cash_due();
        let given = if rng.chance(50) {
            due
        } else {
            let note = [10i64, 20, 50, 100][rng.range(0, 3) as usize] * 10i64.pow(due.currency().minor_units);
            Money::from_minor((due.minor() / note + 1) * note, due.currency()).unwrap_or(due)
        };
        sale.tender_cash(given)?;
    }
    Ok(sale)
}

/// Rings up and posts `count` random sales; `each` sees every posted sale (progress, printing).
pub fn run(
    ledger: &mut Ledger,
    catalog: &Catalog,
    settings: &SaleSettings,
    ctx: &PostContext,
    count: u64,
    seed: u64,
    mut each: impl FnMut(&Sale, &Posted),
) -> Result<(), SimulateError> {
    let mut rng = Rng::new(seed);
    for _ in 0..count {
        let mut sale = random_paid_sale(catalog, settings, &mut rng)?;
        let posted = ledger.post_sale(&mut sale, ctx, Utc::now())?;
        each(&sale, &posted);
    }
    Ok(())
}
