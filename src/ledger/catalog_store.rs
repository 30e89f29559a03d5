//! The catalog's tables: saved whole by an import (one transaction), loaded whole at start-up.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Canon, Content, Ledger, LedgerError};
use crate::catalog::{Product, SoldBy};
use crate::money::Money;

impl Ledger {
    /// Inserts or replaces `products` (by SKU) and journals the import, all in one transaction.
    /// `source` names where they came from (a file name and its SHA-256, "demo catalog").
    pub fn save_products(
        &mut self,
        products: &[Product],
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, LedgerError> {
        let payload = |h: &super::records::EntryHeader| {
            let mut c = Canon::new(h);
            c.field("source", source).field("products", products.len());
            c.into_bytes()
        };
        let (seq, ()) = self.post_entry(
            "catalog_import",
            Content::InPayload,
            now,
            |_| Ok(()),
            payload,
            |tx, _| upsert(tx, products),
        )?;
        Ok(seq)
    }

    /// Every product in catalog order.
    pub fn load_products(&self) -> Result<Vec<Product>, LedgerError> {
        let mut codes_stmt = self.conn.prepare("SELECT sku, barcode FROM product_barcodes ORDER BY sku, barcode")?;
        let mut codes: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
        for row in codes_stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
            let (sku, code) = row?;
            codes.entry(sku).or_default().push(code);
        }
        let mut stmt = self.conn.prepare(
            "SELECT sku, name_zh, name_en, price_minor, tax_class, category, quick_key, sold_by \
             FROM products ORDER BY position",
        )?;
        let currency = self.currency;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<u16>>(6)?,
                r.get::<_, String>(7)?,
            ))
        })?;
        let mut products = Vec::new();
        for row in rows {
            let (sku, name_zh, name_en, price, tax_class, category, quick_key, sold_by) = row?;
            products.push(Product {
                barcodes: codes.remove(&sku).unwrap_or_default(),
                price: Money::from_minor(price, currency).map_err(|e| LedgerError::Corrupt(e.to_string()))?,
                sold_by: SoldBy::parse(&sold_by).ok_or_else(|| LedgerError::Corrupt(format!("sold_by {sold_by}")))?,
                sku,
                name_zh,
                name_en,
                tax_class,
                category,
                quick_key,
            });
        }
        Ok(products)
    }

    /// Which SKU owns a barcode, if any.
    pub fn barcode_owner(&self, canonical: &str) -> Result<Option<String>, LedgerError> {
        Ok(self
            .conn
            .prepare_cached("SELECT sku FROM product_barcodes WHERE barcode = ?1")?
            .query_row([canonical], |r| r.get(0))
            .optional()?)
    }
}

/// Inserts or replaces products by SKU (keeping an existing product's place) and their barcodes.
fn upsert(tx: &rusqlite::Transaction<'_>, products: &[Product]) -> Result<(), LedgerError> {
    let mut position: i64 = tx.query_row("SELECT COALESCE(MAX(position), 0) FROM products", [], |r| r.get(0))?;
    {
        let mut existing = tx.prepare_cached("SELECT position FROM products WHERE sku = ?1")?;
        let mut upsert = tx.prepare_cached(
                "INSERT INTO products(sku, name_zh, name_en, price_minor, tax_class, category, quick_key, sold_by, position) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                 ON CONFLICT(sku) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en, \
                 price_minor = excluded.price_minor, tax_class = excluded.tax_class, category = excluded.category, \
                 quick_key = excluded.quick_key, sold_by = excluded.sold_by",
            )?;
        let mut clear_codes = tx.prepare_cached("DELETE FROM product_barcodes WHERE sku = ?1")?;
        let mut add_code = tx.prepare_cached("INSERT INTO product_barcodes(barcode, sku) VALUES (?1, ?2)")?;
        for p in products {
            let pos: Option<i64> = existing.query_row([&p.sku], |r| r.get(0)).optional()?;
            let pos = pos.unwrap_or_else(|| {
                position += 1;
                position
            });
            upsert.execute(params![
                p.sku,
                p.name_zh,
                p.name_en,
                p.price.minor(),
                p.tax_class,
                p.category,
                p.quick_key,
                p.sold_by.as_str(),
                pos
            ])?;
            clear_codes.execute([&p.sku])?;
            for code in &p.barcodes {
                add_code.execute(params![code, p.sku])?;
            }
        }
    }
    Ok(())
}
