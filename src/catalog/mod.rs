//! The catalog: products, their barcodes, lookup by barcode and SKU, search by name, CSV import.
//!
//! The catalog lives in memory once loaded (the ledger persists it): a scan must find its product
//! within microseconds even with 300,000 products, so lookups are hash maps over compact keys and
//! name search is one substring pass over a single lower-cased haystack.

pub mod barcode;
pub mod import;
mod search;

use std::collections::HashMap;

use rust_decimal::Decimal;

use crate::money::{Currency, Money};
pub use barcode::{BarcodeError, EmbeddedKind, EmbeddedRule, Gtin};
pub use import::{ImportError, ImportProblem};

/// How a product is sold: counted pieces, or weighed (price per kilogram).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoldBy {
    Piece,
    Weight,
}

impl SoldBy {
    pub fn as_str(self) -> &'static str {
        match self {
            SoldBy::Piece => "piece",
            SoldBy::Weight => "weight",
        }
    }

    pub fn parse(text: &str) -> Option<SoldBy> {
        match text.trim().to_ascii_lowercase().as_str() {
            "piece" | "pc" | "pcs" | "件" | "" => Some(SoldBy::Piece),
            "weight" | "kg" | "称重" => Some(SoldBy::Weight),
            _ => None,
        }
    }
}

/// A product's text: up to 24 bytes (a SKU, a barcode, most names) kept inline, without a heap
/// allocation of its own — a 300,000-product catalog stays well inside the till's memory budget.
pub type Text = compact_str::CompactString;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub sku: Text,
    /// Canonical GTINs (see [`Gtin`]); in-store weighed items list their zero-value key.
    pub barcodes: Vec<Text>,
    pub name_zh: Text,
    pub name_en: Text,
    /// Per piece, or per kilogram for weighed goods; tax included or not as the store is set.
    pub price: Money,
    pub tax_class: Text,
    pub category: Text,
    /// Position on the quick-key grid of its category (1 = first), if it has one.
    pub quick_key: Option<u16>,
    pub sold_by: SoldBy,
}

impl Product {
    pub fn name(&self, locale: &str) -> &str {
        if locale.starts_with("zh") { &self.name_zh } else { &self.name_en }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error(transparent)]
    Barcode(#[from] BarcodeError),
    #[error("unknown barcode {0}")]
    UnknownBarcode(String),
    #[error("unknown SKU {0}")]
    UnknownSku(String),
}

impl LookupError {
    pub fn localized(&self, locale: &str) -> String {
        match self {
            LookupError::Barcode(e) => e.localized(locale),
            LookupError::UnknownBarcode(c) => {
                rust_i18n::t!("error.catalog.unknown_barcode", locale = locale, code = c).into_owned()
            }
            LookupError::UnknownSku(c) => {
                rust_i18n::t!("error.catalog.unknown_sku", locale = locale, sku = c).into_owned()
            }
        }
    }
}

/// What a scan found: the product, and for in-store codes the price or weight on the label.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanHit<'a> {
    pub product: &'a Product,
    pub embedded: Option<Embedded>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Embedded {
    /// The label's price for this one item (a pre-packed weighed item, a marked-down item).
    Price(Money),
    /// The weight in kilograms printed by the scale.
    Weight(Decimal),
}

/// A barcode as a compact map key: the digits as a number, tagged with their count so that an
/// EAN-8 never meets an EAN-13 with the same value.
fn barcode_key(canonical: &str) -> Option<u64> {
    if canonical.is_empty() || canonical.len() > 18 {
        return None;
    }
    let value: u64 = canonical.parse().ok()?;
    Some(value * 32 + canonical.len() as u64)
}

pub struct Catalog {
    currency: Currency,
    products: Vec<Product>,
    by_barcode: HashMap<u64, u32>,
    /// Product indexes in SKU order (binary search: a hash map's keys would cost a 300,000-product
    /// catalog another 17 MB for a look-up that is not on the scanner's path).
    by_sku: Vec<u32>,
    embedded_rules: Vec<EmbeddedRule>,
    index: search::NameIndex,
    /// Each category (in order of first appearance) with its quick keys in grid order: worked out
    /// once, since the sale screen asks on every frame.
    categories: Vec<(Text, Vec<u32>)>,
}

impl Catalog {
    /// Builds the indexes. Products must have unique SKUs and barcodes (the import checks;
    /// a later duplicate here simply loses the key to the earlier product).
    pub fn new(currency: Currency, products: Vec<Product>, embedded_rules: Vec<EmbeddedRule>) -> Catalog {
        let mut by_barcode = HashMap::with_capacity(products.len());
        let mut by_sku: Vec<u32> = (0..products.len() as u32).collect();
        // Stable: among equal SKUs the earlier product comes first and wins.
        by_sku.sort_by(|&a, &b| products[a as usize].sku.cmp(&products[b as usize].sku));
        for (i, p) in products.iter().enumerate() {
            for code in &p.barcodes {
                if let Some(key) = barcode_key(code) {
                    by_barcode.entry(key).or_insert(i as u32);
                }
            }
        }
        let index = search::NameIndex::build(&products);
        let mut categories: Vec<(Text, Vec<u32>)> = Vec::new();
        let mut position: HashMap<&str, usize> = HashMap::new();
        for (i, p) in products.iter().enumerate() {
            let at = *position.entry(p.category.as_str()).or_insert_with(|| {
                categories.push((p.category.clone(), Vec::new()));
                categories.len() - 1
            });
            if p.quick_key.is_some() {
                categories[at].1.push(i as u32);
            }
        }
        for (_, keys) in &mut categories {
            keys.sort_by_key(|&i| products[i as usize].quick_key);
        }
        Catalog { currency, products, by_barcode, by_sku, embedded_rules, index, categories }
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn len(&self) -> usize {
        self.products.len()
    }

    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }

    pub fn products(&self) -> &[Product] {
        &self.products
    }

    pub fn by_sku(&self, sku: &str) -> Result<&Product, LookupError> {
        let sku = sku.trim();
        let first = self.by_sku.partition_point(|&i| self.products[i as usize].sku.as_str() < sku);
        self.by_sku
            .get(first)
            .map(|&i| &self.products[i as usize])
            .filter(|p| p.sku == sku)
            .ok_or_else(|| LookupError::UnknownSku(sku.to_string()))
    }

    /// The product a canonical barcode belongs to, without in-store code handling.
    pub fn by_barcode(&self, canonical: &str) -> Option<&Product> {
        let key = barcode_key(canonical)?;
        self.by_barcode.get(&key).map(|&i| &self.products[i as usize])
    }

    /// Looks up what a scanner read: validates the check digit, then finds the product, taking
    /// in-store price- and weight-embedded codes apart by the configured layout.
    pub fn scan(&self, scanned: &str) -> Result<ScanHit<'_>, LookupError> {
        let gtin = Gtin::parse(scanned)?;
        if let Some(product) = self.by_barcode(gtin.as_str()) {
            return Ok(ScanHit { product, embedded: None });
        }
        if let Some(code) = barcode::split_embedded(&gtin, &self.embedded_rules)
            && let Some(product) = self.by_barcode(&code.item_key)
        {
            let embedded = match code.kind {
                EmbeddedKind::Price => Embedded::Price(
                    Money::new(code.value, self.currency)
                        .map_err(|_| LookupError::UnknownBarcode(gtin.as_str().to_string()))?,
                ),
                EmbeddedKind::Weight => Embedded::Weight(code.value),
            };
            return Ok(ScanHit { product, embedded: Some(embedded) });
        }
        Err(LookupError::UnknownBarcode(gtin.as_str().to_string()))
    }

    /// Products whose SKU, barcode or names (either language) contain every word of the query,
    /// case-insensitively, at most `limit` of them, in catalog order.
    pub fn search(&self, query: &str, limit: usize) -> Vec<&Product> {
        self.index.search(query, limit).into_iter().map(|i| &self.products[i as usize]).collect()
    }

    /// The quick keys of one category, in grid order.
    pub fn quick_keys(&self, category: &str) -> Vec<&Product> {
        self.categories
            .iter()
            .find(|(c, _)| c == category)
            .map(|(_, keys)| keys.iter().map(|&i| &self.products[i as usize]).collect())
            .unwrap_or_default()
    }

    /// Categories in order of first appearance.
    pub fn categories(&self) -> Vec<&str> {
        self.categories.iter().map(|(c, _)| c.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(sku: &str, code: &str, zh: &str, en: &str, sold_by: SoldBy) -> Product {
        Product {
            sku: sku.into(),
            barcodes: vec![code.into()],
            name_zh: zh.into(),
            name_en: en.into(),
            price: Money::parse("3.50", Currency::CNY).unwrap(),
            tax_class: "A".into(),
            category: "drinks".into(),
            quick_key: None,
            sold_by,
        }
    }

    fn catalog() -> Catalog {
        Catalog::new(
            Currency::CNY,
            vec![
                product("D001", "6901234567892", "农夫山泉 550ml", "Nongfu Spring Water 550ml", SoldBy::Piece),
                product("F001", "2012345000001", "苹果", "Apple", SoldBy::Weight),
                product("S001", "0036000291452", "薯片", "Potato Chips", SoldBy::Piece),
            ],
            EmbeddedRule::defaults(),
        )
    }

    #[test]
    fn scan_finds_products() {
        let c = catalog();
        assert_eq!(c.scan("6901234567892").unwrap().product.sku, "D001");
        // UPC-A finds its EAN-13 twin.
        assert_eq!(c.scan("036000291452").unwrap().product.sku, "S001");
        assert_eq!(
            c.scan("6901234567893").unwrap_err(),
            LookupError::Barcode(BarcodeError::BadCheckDigit { code: "6901234567893".into(), expected: 2 })
        );
        assert!(matches!(c.scan("4006381333931"), Err(LookupError::UnknownBarcode(_))));
    }

    #[test]
    fn scan_weight_embedded() {
        let c = catalog();
        // Prefix 20 is price-embedded by default; the catalog lists item 12345 under 20.
        let code = barcode::with_check_digit("201234500890").unwrap();
        let hit = c.scan(&code).unwrap();
        assert_eq!(hit.product.sku, "F001");
        assert_eq!(hit.embedded, Some(Embedded::Price(Money::parse("8.90", Currency::CNY).unwrap())));
    }

    #[test]
    fn search_by_name_in_both_languages() {
        let c = catalog();
        assert_eq!(c.search("spring", 10)[0].sku, "D001");
        assert_eq!(c.search("农夫", 10)[0].sku, "D001");
        assert_eq!(c.search("WATER 550", 10)[0].sku, "D001");
        assert!(c.search("water chips", 10).is_empty());
        assert_eq!(c.search("s001", 10)[0].sku, "S001");
        // Pinyin initials of 农夫山泉.
        assert_eq!(c.search("nfsq", 10)[0].sku, "D001");
        assert_eq!(c.search("pg", 10)[0].sku, "F001");
        assert_eq!(c.search("", 10).len(), 0);
    }
}
