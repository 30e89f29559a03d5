//! Training mode's demo data: a small Chinese convenience store's catalog (≈ 200 products, names
//! in both languages), seeded into an empty ledger.

use chrono::Utc;

use crate::catalog::{Catalog, import};
use crate::config::StoreSettings;
use crate::ledger::{Ledger, LedgerError};

pub const DEMO_CATALOG_CSV: &str = include_str!("../assets/demo-catalog.csv");

#[derive(Debug, thiserror::Error)]
pub enum CatalogLoadError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("the demo catalog does not import: {0:?}")]
    Demo(Vec<import::ImportError>),
}

/// Loads the catalog from the ledger; an empty catalog is first seeded with the demo catalog
/// when `seed_demo` (training mode).
pub fn load_catalog(ledger: &mut Ledger, store: &StoreSettings, seed_demo: bool) -> Result<Catalog, CatalogLoadError> {
    let mut products = ledger.load_products()?;
    if products.is_empty() && seed_demo {
        let demo = import::parse_csv(DEMO_CATALOG_CSV.as_bytes(), store.currency, &store.tax_class_codes(), &|_| None)
            .map_err(CatalogLoadError::Demo)?;
        ledger.save_products(&demo, "demo catalog", Utc::now())?;
        products = demo;
    }
    Ok(Catalog::new(store.currency, products, store.embedded_barcodes.clone()))
}

/// The demo catalog alone, without a ledger (tests, benchmarks, rehearsals).
pub fn demo_catalog(store: &StoreSettings) -> Result<Catalog, CatalogLoadError> {
    let products = import::parse_csv(DEMO_CATALOG_CSV.as_bytes(), store.currency, &store.tax_class_codes(), &|_| None)
        .map_err(CatalogLoadError::Demo)?;
    Ok(Catalog::new(store.currency, products, store.embedded_barcodes.clone()))
}
