//! Finding a sale whose receipt the customer did not bring back (a refund): by an item on it, its
//! total, the card's last four digits, or its business date — newest first. Refunds are not
//! offered: a refund of a refund is refused anyway.

use chrono::NaiveDate;
use rusqlite::params;

use super::{Ledger, LedgerError};

/// What the cashier knows of the sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaleClue {
    /// A product on it (its SKU).
    Sku(String),
    /// Its total, in minor units.
    Total(i64),
    /// The last four digits of the card that paid.
    CardLastFour(String),
    /// The business day it was rung up on.
    Date(NaiveDate),
}

/// A sale found by a clue, as the refund screen lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundSale {
    pub receipt_no: i64,
    pub completed_at: String,
    pub total_minor: i64,
    /// The masked card number of its card payment, if a card paid.
    pub card: Option<String>,
    /// What refunds of it paid back so far (minor units, positive).
    pub refunded_minor: i64,
}

impl FoundSale {
    /// Everything on it went back already: nothing left to refund.
    pub fn all_refunded(&self) -> bool {
        self.refunded_minor >= self.total_minor
    }
}

impl Ledger {
    /// At most `limit` sales matching the clue, the newest first: real sales, or training ones
    /// when `training` (the refund lookup never mixes them).
    pub fn find_sales(&self, clue: &SaleClue, limit: usize, training: bool) -> Result<Vec<FoundSale>, LedgerError> {
        let (condition, value): (&str, rusqlite::types::Value) = match clue {
            SaleClue::Sku(sku) => {
                ("EXISTS (SELECT 1 FROM sale_lines l WHERE l.seq = s.seq AND l.sku = ?1)", sku.clone().into())
            }
            SaleClue::Total(minor) => ("s.total_minor = ?1", (*minor).into()),
            SaleClue::CardLastFour(digits) => (
                "EXISTS (SELECT 1 FROM payments p WHERE p.seq = s.seq AND p.kind = 'card' \
                 AND substr(p.masked_pan, -4) = ?1)",
                digits.clone().into(),
            ),
            SaleClue::Date(date) => (
                "s.day_no IN (SELECT day_no FROM business_days WHERE business_date = ?1)",
                date.format("%Y-%m-%d").to_string().into(),
            ),
        };
        let sql = format!(
            "SELECT s.receipt_no, s.completed_at, s.total_minor,
                    (SELECT p.masked_pan FROM payments p WHERE p.seq = s.seq AND p.kind = 'card' LIMIT 1),
                    (SELECT -COALESCE(SUM(r.total_minor), 0) FROM sales r WHERE r.refund_of = s.receipt_no)
             FROM sales s WHERE s.kind = 'sale' AND s.training = ?3 AND {condition}
             ORDER BY s.receipt_no DESC LIMIT ?2"
        );
        let mut statement = self.conn.prepare(&sql)?;
        let rows = statement.query_map(params![value, limit as i64, training], |r| {
            Ok(FoundSale {
                receipt_no: r.get(0)?,
                completed_at: r.get(1)?,
                total_minor: r.get(2)?,
                card: r.get(3)?,
                refunded_minor: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
