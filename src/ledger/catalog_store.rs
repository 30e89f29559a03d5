//! The catalog's tables: saved whole by an import (one transaction), loaded whole at start-up.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Canon, Content, Ledger, LedgerError};
use crate::catalog::Text;
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
        // The products are written first, so that the entry can carry the digests of the whole
        // catalog they leave, range by range: `verify` compares the products with them.
        let ranges = std::cell::OnceCell::new();
        let write = |tx: &rusqlite::Transaction<'_>| {
            upsert(tx, products)?;
            let _ = ranges.set(range_digests(tx)?);
            Ok(())
        };
        let payload = |h: &super::records::EntryHeader| {
            let mut c = Canon::new(h);
            c.field("source", source).field("products", products.len());
            c.field("catalog_ranges", ranges.get().map(|r| ranges_text(r)).unwrap_or_default());
            c.into_bytes()
        };
        let (seq, ()) = self.post_entry("catalog_import", Content::InPayload, now, write, payload, |_, _| Ok(()))?;
        Ok(seq)
    }

    /// Saves one product added or edited at the till, in one transaction with its journal entry:
    /// who changed it and its price before and after.
    pub fn save_product(&mut self, product: &Product, by: &str, now: DateTime<Utc>) -> Result<i64, LedgerError> {
        let old: Option<i64> = self
            .conn
            .query_row("SELECT price_minor FROM products WHERE sku = ?1", [product.sku.as_str()], |r| r.get(0))
            .optional()?;
        // Only the product's range of the catalog is hashed again (about `RANGE` products): the
        // ranges are the last import's. Without one (products only ever added at the till, a
        // small catalog) the whole catalog is.
        let digest = std::cell::OnceCell::new();
        let write = |tx: &rusqlite::Transaction<'_>| {
            upsert(tx, std::slice::from_ref(product))?;
            let _ = digest.set(match last_ranges(tx)? {
                Some(starts) => {
                    let (lo, hi) = range_of(&starts, product.sku.as_str());
                    ("range", format!("{}={}", hex_of(&lo), range_digest(tx, &lo, hi.as_deref())?))
                }
                None => ("catalog_sha256", catalog_digest(tx)?),
            });
            Ok(())
        };
        let payload = |h: &super::records::EntryHeader| {
            let mut c = Canon::new(h);
            c.field("sku", product.sku.as_str())
                .field("name_zh", product.name_zh.as_str())
                .field("price_minor", product.price.minor())
                .field("old_price_minor", old.map_or_else(|| "new".to_string(), |p| p.to_string()))
                .field("by", by);
            if let Some((key, value)) = digest.get() {
                c.field(key, value);
            }
            c.into_bytes()
        };
        let (seq, ()) = self.post_entry("product_saved", Content::InPayload, now, write, payload, |_, _| Ok(()))?;
        Ok(seq)
    }

    /// Every product in catalog order, read straight into the catalog's compact form (one query,
    /// no intermediate strings: loading a 300,000-product catalog must not leave its garbage in
    /// the till's memory).
    pub fn load_products(&self) -> Result<Vec<Product>, LedgerError> {
        let count: i64 = self.conn.query_row("SELECT COUNT(*) FROM products", [], |r| r.get(0))?;
        let mut stmt = self.conn.prepare(
            "SELECT p.sku, p.name_zh, p.name_en, p.price_minor, p.tax_class, p.category, p.quick_key, p.sold_by, \
                    (SELECT group_concat(barcode, ' ') FROM product_barcodes b WHERE b.sku = p.sku) \
             FROM products p ORDER BY p.position",
        )?;
        let currency = self.currency;
        let text = |r: &rusqlite::Row<'_>, i: usize| -> rusqlite::Result<Text> {
            Ok(Text::from(r.get_ref(i)?.as_str().map_err(from_sql(i))?))
        };
        let mut products = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let price: i64 = r.get(3)?;
            let sold_by = r.get_ref(7)?.as_str().map_err(from_sql(7))?;
            let mut barcodes: Vec<Text> = match r.get_ref(8)?.as_str_or_null().map_err(from_sql(8))? {
                // Sized exactly: a growing Vec would reserve four barcodes for the usual one.
                Some(codes) => {
                    let mut v = Vec::with_capacity(codes.split(' ').count());
                    v.extend(codes.split(' ').map(Text::from));
                    v
                }
                None => Vec::new(),
            };
            barcodes.sort_unstable();
            products.push(Product {
                sku: text(r, 0)?,
                name_zh: text(r, 1)?,
                name_en: text(r, 2)?,
                price: Money::from_minor(price, currency).map_err(|e| LedgerError::Corrupt(e.to_string()))?,
                tax_class: text(r, 4)?,
                category: text(r, 5)?,
                quick_key: r.get(6)?,
                sold_by: SoldBy::parse(sold_by).ok_or_else(|| LedgerError::Corrupt(format!("sold_by {sold_by}")))?,
                barcodes,
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

/// Products per range of the catalog's digests: a product saved at the till hashes its range
/// again, not the catalog.
const RANGE: usize = 1024;

/// One product's row and its barcodes (sorted), as the digests take them: each value with a type
/// tag and its length, so that none can forge another.
const PRODUCT_ROWS: &str = "SELECT p.sku, p.name_zh, p.name_en, p.price_minor, p.tax_class, p.category, p.quick_key, \
     p.sold_by, p.position, (SELECT group_concat(barcode, ' ') FROM \
       (SELECT barcode FROM product_barcodes b WHERE b.sku = p.sku ORDER BY barcode)) FROM products p";

/// One value as the digests take it: a type tag, the length, the bytes.
fn hash_value(hasher: &mut sha2::Sha256, value: rusqlite::types::ValueRef<'_>) {
    use rusqlite::types::ValueRef;
    use sha2::Digest;
    let (tag, bytes): (u8, Vec<u8>) = match value {
        ValueRef::Null => (0, Vec::new()),
        ValueRef::Integer(v) => (1, v.to_string().into_bytes()),
        ValueRef::Real(f) => (2, f.to_string().into_bytes()),
        ValueRef::Text(t) => (3, t.to_vec()),
        ValueRef::Blob(t) => (4, t.to_vec()),
    };
    hasher.update([tag]);
    hasher.update((bytes.len() as u64).to_le_bytes());
    hasher.update(&bytes);
}

fn hash_row(hasher: &mut sha2::Sha256, r: &rusqlite::Row<'_>) -> rusqlite::Result<()> {
    for i in 0..10 {
        hash_value(hasher, r.get_ref(i)?);
    }
    Ok(())
}

fn hex_of(text: &str) -> String {
    super::records::hex(text.as_bytes())
}

fn unhex_text(text: &str) -> Option<String> {
    String::from_utf8(super::records::unhex(text)?).ok()
}

/// The catalog's digests range by range: (first SKU of the range, SHA-256 of its products), the
/// first range starting at "" so that every SKU falls in one.
pub(super) fn range_digests(conn: &rusqlite::Connection) -> Result<Vec<(String, String)>, LedgerError> {
    use sha2::{Digest, Sha256};
    let mut out = Vec::new();
    let mut stmt = conn.prepare(&format!("{PRODUCT_ROWS} ORDER BY p.sku"))?;
    let mut rows = stmt.query([])?;
    let (mut hasher, mut start, mut n) = (Sha256::new(), String::new(), 0usize);
    while let Some(r) = rows.next()? {
        if n == RANGE {
            out.push((std::mem::take(&mut start), super::records::hex(&std::mem::take(&mut hasher).finalize())));
            start = r.get(0)?;
            n = 0;
        }
        hash_row(&mut hasher, r)?;
        n += 1;
    }
    out.push((start, super::records::hex(&hasher.finalize())));
    Ok(out)
}

/// The digest of the products whose SKU is in `lo..hi` (`hi` None: to the end).
pub(super) fn range_digest(conn: &rusqlite::Connection, lo: &str, hi: Option<&str>) -> Result<String, LedgerError> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    let mut stmt = conn
        .prepare_cached(&format!("{PRODUCT_ROWS} WHERE p.sku >= ?1 AND (?2 IS NULL OR p.sku < ?2) ORDER BY p.sku"))?;
    let mut rows = stmt.query(params![lo, hi])?;
    while let Some(r) = rows.next()? {
        hash_row(&mut hasher, r)?;
    }
    Ok(super::records::hex(&hasher.finalize()))
}

/// `start=digest` pairs, the start in hex (a SKU may hold any character), comma-separated.
fn ranges_text(ranges: &[(String, String)]) -> String {
    ranges.iter().map(|(start, digest)| format!("{}={digest}", hex_of(start))).collect::<Vec<_>>().join(",")
}

/// The ranges an entry's `catalog_ranges` field names, in order.
pub(super) fn parse_ranges(text: &str) -> Option<Vec<(String, String)>> {
    text.split(',')
        .map(|pair| {
            let (start, digest) = pair.split_once('=')?;
            Some((unhex_text(start)?, digest.to_string()))
        })
        .collect()
}

/// A `range` field (`start=digest`) as (start, digest).
pub(super) fn parse_range(text: &str) -> Option<(String, String)> {
    let (start, digest) = text.split_once('=')?;
    Some((unhex_text(start)?, digest.to_string()))
}

/// The range `sku` falls in: (its start, the next range's start).
pub(super) fn range_of(starts: &[String], sku: &str) -> (String, Option<String>) {
    let i = starts.partition_point(|s| s.as_str() <= sku).saturating_sub(1);
    (starts.get(i).cloned().unwrap_or_default(), starts.get(i + 1).cloned())
}

/// The range starts of the last catalog import, when it recorded ranges.
fn last_ranges(conn: &rusqlite::Connection) -> Result<Option<Vec<String>>, LedgerError> {
    let payload: Option<Vec<u8>> = conn
        .prepare_cached("SELECT payload FROM journal WHERE kind = 'catalog_import' ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(payload
        .and_then(|p| super::records::field_of(&p, "catalog_ranges"))
        .and_then(|t| parse_ranges(&t))
        .map(|r| r.into_iter().map(|(s, _)| s).collect()))
}

/// The SHA-256 of the whole catalog as stored (catalogs journaled before ranges, and ledgers with
/// no import): every product's columns (SKU order) and every
/// barcode with its owner (barcode order), each value length-prefixed so none can forge another.
pub(super) fn catalog_digest(conn: &rusqlite::Connection) -> Result<String, LedgerError> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    let mut put = |v: rusqlite::types::ValueRef<'_>| hash_value(&mut hasher, v);
    for (sql, columns) in [
        (
            "SELECT sku, name_zh, name_en, price_minor, tax_class, category, quick_key, sold_by, position \
             FROM products ORDER BY sku",
            9,
        ),
        ("SELECT barcode, sku FROM product_barcodes ORDER BY barcode", 2),
    ] {
        let mut stmt = conn.prepare_cached(sql)?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            for i in 0..columns {
                put(r.get_ref(i)?);
            }
        }
        // The end of a table.
        put(rusqlite::types::ValueRef::Blob(b"end"));
    }
    Ok(super::records::hex(&hasher.finalize()))
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
            let pos: Option<i64> = existing.query_row([p.sku.as_str()], |r| r.get(0)).optional()?;
            let pos = pos.unwrap_or_else(|| {
                position += 1;
                position
            });
            upsert.execute(params![
                p.sku.as_str(),
                p.name_zh.as_str(),
                p.name_en.as_str(),
                p.price.minor(),
                p.tax_class.as_str(),
                p.category.as_str(),
                p.quick_key,
                p.sold_by.as_str(),
                pos
            ])?;
            clear_codes.execute([p.sku.as_str()])?;
            for code in &p.barcodes {
                add_code.execute(params![code.as_str(), p.sku.as_str()])?;
            }
        }
    }
    Ok(())
}

/// A column that is not the text it should be: the ledger file was changed behind the till's back.
fn from_sql(column: usize) -> impl Fn(rusqlite::types::FromSqlError) -> rusqlite::Error {
    move |e| rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
}
