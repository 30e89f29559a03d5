//! Posted records as plain data, and their canonical bytes.
//!
//! The hash chain covers the canonical bytes of each entry. A sale's canonical bytes are built from
//! a [`SaleRecord`], made either from the sale being posted or from the rows read back from the
//! tables, and are not stored a second time: `verify` renders them from the rows and checks the
//! hash, so an amount edited in any table is caught.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

/// The fields every journal entry has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryHeader {
    pub seq: i64,
    pub register: String,
    pub kind: String,
    pub day_no: Option<i64>,
    pub recorded_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleRecord {
    pub receipt_no: i64,
    pub day_no: i64,
    /// "sale" or "refund".
    pub kind: String,
    pub refund_of: Option<i64>,
    pub currency: String,
    pub prices_include_tax: bool,
    pub gross: i64,
    pub discount: i64,
    pub tax: i64,
    pub total: i64,
    pub rounding: i64,
    pub cashier: String,
    pub training: bool,
    pub completed_at: String,
    pub lines: Vec<LineRecord>,
    pub payments: Vec<PaymentRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRecord {
    pub line_no: i64,
    pub sku: String,
    pub name_zh: String,
    pub name_en: String,
    pub qty_milli: i64,
    pub unit_price: i64,
    pub sold_by: String,
    pub tax_class: String,
    pub tax_rate: String,
    pub gross: i64,
    pub line_discount: i64,
    pub sale_discount: i64,
    pub amount: i64,
    pub tax: i64,
    pub price_overridden: bool,
    pub refund_of_receipt: Option<i64>,
    pub refund_of_line: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxRecord {
    pub tax_class: String,
    pub tax_rate: String,
    pub base: i64,
    pub tax: i64,
    pub net: i64,
    pub gross: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PaymentRecord {
    pub tender_no: i64,
    pub kind: String,
    pub amount: i64,
    pub given: i64,
    pub change: i64,
    pub reference: Option<String>,
    pub masked_pan: Option<String>,
    pub card_name: Option<String>,
    pub card_receipt: Option<i64>,
    pub card_trace: Option<i64>,
    pub terminal_id: Option<String>,
    pub aid: Option<String>,
}

impl SaleRecord {
    /// The tax of each rate, from the lines (which carry their share of it), in (class, rate)
    /// order. Not stored apart: one source for the figure.
    pub fn taxes(&self) -> Vec<TaxRecord> {
        let mut taxes: Vec<TaxRecord> = Vec::new();
        for l in &self.lines {
            let i = match taxes.iter().position(|t| t.tax_class == l.tax_class && t.tax_rate == l.tax_rate) {
                Some(i) => i,
                None => {
                    taxes.push(TaxRecord {
                        tax_class: l.tax_class.clone(),
                        tax_rate: l.tax_rate.clone(),
                        base: 0,
                        tax: 0,
                        net: 0,
                        gross: 0,
                    });
                    taxes.len() - 1
                }
            };
            taxes[i].base += l.amount;
            taxes[i].tax += l.tax;
        }
        for t in &mut taxes {
            (t.net, t.gross) =
                if self.prices_include_tax { (t.base - t.tax, t.base) } else { (t.base, t.base + t.tax) };
        }
        taxes.sort_by(|a, b| (&a.tax_class, &a.tax_rate).cmp(&(&b.tax_class, &b.tax_rate)));
        taxes
    }

    /// The stored totals agree with the lines and payments, and each rate's tax follows the
    /// rounding rule (the second half of `verify`).
    pub fn check_totals(&self) -> Result<(), String> {
        let gross: i64 = self.lines.iter().map(|l| l.gross).sum();
        let discount: i64 = self.lines.iter().map(|l| l.line_discount + l.sale_discount).sum();
        let amounts: i64 = self.lines.iter().map(|l| l.amount).sum();
        let taxes = self.taxes();
        for t in &taxes {
            let ppm = t
                .tax_rate
                .parse::<rust_decimal::Decimal>()
                .ok()
                .and_then(crate::sale::tax::rate_ppm)
                .ok_or_else(|| format!("bad tax rate {}", t.tax_rate))?;
            let expected = if self.prices_include_tax {
                crate::sale::tax::div_half_up(i128::from(t.base) * i128::from(ppm), 1_000_000 + i128::from(ppm))
            } else {
                crate::sale::tax::div_half_up(i128::from(t.base) * i128::from(ppm), 1_000_000)
            };
            if i128::from(t.tax) != expected {
                return Err(format!("tax {} at {} on {} should be {}", t.tax, t.tax_rate, t.base, expected));
            }
        }
        let tax: i64 = taxes.iter().map(|t| t.tax).sum();
        let line_tax: i64 = self.lines.iter().map(|l| l.tax).sum();
        let paid: i64 = self.payments.iter().map(|p| p.amount).sum();
        let expected_total = if self.prices_include_tax { amounts } else { amounts + tax };
        if self.lines.is_empty() {
            return Err("no lines".into());
        }
        for l in &self.lines {
            if l.gross - l.line_discount - l.sale_discount != l.amount {
                return Err(format!("line {}: gross − discounts ≠ amount", l.line_no));
            }
        }
        if gross != self.gross {
            return Err(format!("gross {} ≠ Σ lines {}", self.gross, gross));
        }
        if discount != self.discount {
            return Err(format!("discount {} ≠ Σ lines {}", self.discount, discount));
        }
        if tax != self.tax || line_tax != self.tax {
            return Err(format!("tax {} ≠ Σ lines {}", self.tax, line_tax));
        }
        if expected_total != self.total {
            return Err(format!("total {} ≠ Σ lines {}", self.total, expected_total));
        }
        if paid != self.total + self.rounding {
            return Err(format!("payments {} ≠ total {} + rounding {}", paid, self.total, self.rounding));
        }
        Ok(())
    }
}

/// Builds canonical bytes: `key=value` lines in a fixed order, values escaped so that a value can
/// never forge another line.
pub struct Canon(String);

impl Canon {
    pub fn new(header: &EntryHeader) -> Canon {
        let mut c = Canon(String::with_capacity(512));
        c.field("v", 1);
        c.field("seq", header.seq);
        c.field("register", &header.register);
        c.field("kind", &header.kind);
        c.opt("day", header.day_no);
        c.field("at", &header.recorded_at);
        c
    }

    pub fn field(&mut self, key: &str, value: impl std::fmt::Display) -> &mut Canon {
        self.0.push_str(key);
        self.0.push('=');
        let start = self.0.len();
        let _ = write!(self.0, "{value}");
        if self.0[start..].contains(['\\', '\n']) {
            let escaped = self.0[start..].replace('\\', "\\\\").replace('\n', "\\n");
            self.0.truncate(start);
            self.0.push_str(&escaped);
        }
        self.0.push('\n');
        self
    }

    pub fn opt(&mut self, key: &str, value: Option<impl std::fmt::Display>) -> &mut Canon {
        match value {
            Some(v) => self.field(key, v),
            None => self.field(key, "-"),
        }
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0.into_bytes()
    }
}

/// The value of `key` in canonical bytes (unescaped), if the entry has that field.
pub fn field_of(payload: &[u8], key: &str) -> Option<String> {
    let text = std::str::from_utf8(payload).ok()?;
    text.lines().find_map(|l| {
        let value = l.strip_prefix(key)?.strip_prefix('=')?;
        let mut out = String::with_capacity(value.len());
        let mut chars = value.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
            } else if let Some(next) = chars.next() {
                out.push(if next == 'n' { '\n' } else { next });
            }
        }
        Some(out)
    })
}

pub fn sale_canonical(header: &EntryHeader, s: &SaleRecord) -> Vec<u8> {
    let mut c = Canon::new(header);
    c.field("receipt", s.receipt_no)
        .field("sale_day", s.day_no)
        .field("sale_kind", &s.kind)
        .opt("refund_of", s.refund_of)
        .field("currency", &s.currency)
        .field("tax_included", u8::from(s.prices_include_tax))
        .field("gross", s.gross)
        .field("discount", s.discount)
        .field("tax", s.tax)
        .field("total", s.total)
        .field("rounding", s.rounding)
        .field("cashier", &s.cashier)
        .field("training", u8::from(s.training))
        .field("completed_at", &s.completed_at);
    for l in &s.lines {
        c.field("line", l.line_no)
            .field("sku", &l.sku)
            .field("name_zh", &l.name_zh)
            .field("name_en", &l.name_en)
            .field("qty_milli", l.qty_milli)
            .field("unit_price", l.unit_price)
            .field("sold_by", &l.sold_by)
            .field("tax_class", &l.tax_class)
            .field("tax_rate", &l.tax_rate)
            .field("gross", l.gross)
            .field("line_discount", l.line_discount)
            .field("sale_discount", l.sale_discount)
            .field("amount", l.amount)
            .field("line_tax", l.tax)
            .field("price_overridden", u8::from(l.price_overridden))
            .opt("refund_of_receipt", l.refund_of_receipt)
            .opt("refund_of_line", l.refund_of_line);
    }
    for p in &s.payments {
        c.field("tender", p.tender_no)
            .field("tender_kind", &p.kind)
            .field("amount", p.amount)
            .field("given", p.given)
            .field("change", p.change)
            .opt("reference", p.reference.as_ref())
            .opt("masked_pan", p.masked_pan.as_ref())
            .opt("card_name", p.card_name.as_ref())
            .opt("card_receipt", p.card_receipt)
            .opt("card_trace", p.card_trace)
            .opt("terminal_id", p.terminal_id.as_ref())
            .opt("aid", p.aid.as_ref());
    }
    c.into_bytes()
}

/// SHA-256(prev ‖ payload): the link of the chain.
pub fn chain_hash(prev: &[u8; 32], payload: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(payload);
    h.finalize().into()
}

pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// SHA-256 of `bytes`, in hex: how a file, a version or a working row is named by its digest.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn unhex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_cannot_forge_lines() {
        let h =
            EntryHeader { seq: 1, register: "R1".into(), kind: "audit".into(), day_no: None, recorded_at: "t".into() };
        let mut c = Canon::new(&h);
        c.field("detail", "x\ntotal=0\\");
        let text = String::from_utf8(c.into_bytes()).unwrap();
        assert!(text.ends_with("detail=x\\ntotal=0\\\\\n"));
        assert_eq!(text.lines().count(), 7);
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(unhex(&hex(&[0, 1, 0xab, 0xff])).unwrap(), vec![0, 1, 0xab, 0xff]);
        assert!(unhex("abc").is_none());
        assert!(unhex("zz").is_none());
    }
}
