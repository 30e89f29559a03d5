//! A sale in progress as text, so that the ledger can keep it durably before money moves (the
//! cart and its tenders so far) and the till can bring it back after a crash or a closed window.
//!
//! One record a line, fields separated by tabs; `\`, tab and newline escaped. The settings
//! (currency, tax classes) are the till's own when the sale is restored; each line keeps the tax
//! rate it was rung up with, as a posted sale does.

use std::str::FromStr;

use rust_decimal::Decimal;

use super::{Discount, ExternalMethod, Line, LineRef, Sale, SaleKind, SaleSettings, SaleState, Tender, TenderKind};
use crate::catalog::SoldBy;
use crate::money::Money;
use crate::sale::CardPayment;

/// Why a stored sale in progress could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sale in progress unreadable at line {line}: {reason}")]
pub struct SnapshotError {
    pub line: usize,
    pub reason: String,
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

fn discount_text(d: &Option<Discount>) -> String {
    match d {
        None => "-".into(),
        Some(Discount::Percent(p)) => format!("p:{p}"),
        Some(Discount::Amount(a)) => format!("a:{}", a.minor()),
    }
}

fn state_text(s: SaleState) -> &'static str {
    match s {
        SaleState::Open => "open",
        SaleState::Tendering => "tendering",
        SaleState::Paid => "paid",
        SaleState::Completed => "completed",
        SaleState::Parked => "parked",
        SaleState::Voided => "voided",
    }
}

impl Sale {
    /// The sale as text for the ledger's working copy (see the module doc).
    pub fn snapshot(&self) -> String {
        let mut out = String::new();
        let kind = match self.kind {
            SaleKind::Sale => "sale",
            SaleKind::Refund => "refund",
        };
        let refund_of = self.refund_of.map_or("-".to_string(), |r| r.to_string());
        out.push_str(&format!(
            "sale\t{kind}\t{}\t{refund_of}\t{}\t{}\n",
            state_text(self.state),
            discount_text(&self.discount),
            self.rounding.minor()
        ));
        for l in &self.lines {
            let refund = l.refund_of.map_or("-".to_string(), |r| format!("{}:{}", r.receipt_no, r.line_no));
            let fixed = l.fixed_amount.map_or("-".to_string(), |m| m.minor().to_string());
            out.push_str(&format!(
                "line\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{refund}\t{fixed}\n",
                escape(&l.sku),
                escape(&l.name_zh),
                escape(&l.name_en),
                l.quantity,
                l.unit_price.minor(),
                escape(&l.tax_class),
                l.tax_rate,
                l.sold_by.as_str(),
                discount_text(&l.discount),
                u8::from(l.price_overridden),
            ));
        }
        for t in &self.tenders {
            let amounts = format!("{}\t{}\t{}", t.amount.minor(), t.given.minor(), t.change.minor());
            match &t.kind {
                TenderKind::Cash => out.push_str(&format!("tender\tcash\t{amounts}\n")),
                TenderKind::Card(c) => out.push_str(&format!(
                    "tender\tcard\t{amounts}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                    escape(&c.masked_pan),
                    escape(&c.card_name),
                    c.receipt_no,
                    c.trace,
                    escape(&c.terminal_id),
                    escape(&c.aid)
                )),
                TenderKind::External { method, reference } => {
                    out.push_str(&format!("tender\t{}\t{amounts}\t{}\n", method.code(), escape(reference)))
                }
            }
        }
        out
    }

    /// Reads a snapshot back with the till's settings. Anything unreadable is an error, never a
    /// guess: the caller shows it and keeps the stored text.
    pub fn from_snapshot(settings: SaleSettings, text: &str) -> Result<Sale, SnapshotError> {
        let mut sale = Sale::new(settings);
        let currency = sale.currency();
        let mut header = false;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let bad = |reason: &str| SnapshotError { line, reason: reason.to_string() };
            let f: Vec<String> = raw.split('\t').map(unescape).collect();
            let money = |s: &str| -> Result<Money, SnapshotError> {
                let minor = i64::from_str(s).map_err(|_| bad("amount"))?;
                Money::from_minor(minor, currency).map_err(|_| bad("amount"))
            };
            let discount = |s: &str| -> Result<Option<Discount>, SnapshotError> {
                match s.split_once(':') {
                    None if s == "-" => Ok(None),
                    Some(("p", p)) => Ok(Some(Discount::Percent(Decimal::from_str(p).map_err(|_| bad("discount"))?))),
                    Some(("a", a)) => Ok(Some(Discount::Amount(money(a)?))),
                    _ => Err(bad("discount")),
                }
            };
            match (f[0].as_str(), f.len()) {
                ("sale", 6) => {
                    sale.kind = match f[1].as_str() {
                        "sale" => SaleKind::Sale,
                        "refund" => SaleKind::Refund,
                        _ => return Err(bad("kind")),
                    };
                    sale.state = match f[2].as_str() {
                        "open" => SaleState::Open,
                        "tendering" => SaleState::Tendering,
                        "paid" => SaleState::Paid,
                        "parked" => SaleState::Parked,
                        _ => return Err(bad("state")),
                    };
                    sale.refund_of = match f[3].as_str() {
                        "-" => None,
                        r => Some(i64::from_str(r).map_err(|_| bad("refund of"))?),
                    };
                    sale.discount = discount(&f[4])?;
                    sale.rounding = money(&f[5])?;
                    header = true;
                }
                ("line", 13) => {
                    let refund_of = match f[11].split_once(':') {
                        None if f[11] == "-" => None,
                        Some((r, l)) => Some(LineRef {
                            receipt_no: i64::from_str(r).map_err(|_| bad("refund line"))?,
                            line_no: u32::from_str(l).map_err(|_| bad("refund line"))?,
                        }),
                        None => return Err(bad("refund line")),
                    };
                    sale.lines.push(Line {
                        sku: f[1].clone(),
                        name_zh: f[2].clone(),
                        name_en: f[3].clone(),
                        quantity: Decimal::from_str(&f[4]).map_err(|_| bad("quantity"))?,
                        unit_price: money(&f[5])?,
                        tax_class: f[6].clone(),
                        tax_rate: Decimal::from_str(&f[7]).map_err(|_| bad("tax rate"))?,
                        sold_by: SoldBy::parse(&f[8]).ok_or_else(|| bad("sold by"))?,
                        discount: discount(&f[9])?,
                        price_overridden: f[10] == "1",
                        refund_of,
                        fixed_amount: if f[12] == "-" { None } else { Some(money(&f[12])?) },
                    });
                }
                ("tender", n) if n >= 5 => {
                    let (amount, given, change) = (money(&f[2])?, money(&f[3])?, money(&f[4])?);
                    let kind = match (f[1].as_str(), n) {
                        ("cash", 5) => TenderKind::Cash,
                        ("card", 11) => {
                            let card = CardPayment {
                                masked_pan: f[5].clone(),
                                card_name: f[6].clone(),
                                receipt_no: u32::from_str(&f[7]).map_err(|_| bad("card receipt"))?,
                                trace: u32::from_str(&f[8]).map_err(|_| bad("card trace"))?,
                                terminal_id: f[9].clone(),
                                aid: f[10].clone(),
                            };
                            card.validate().map_err(|_| bad("card number not masked"))?;
                            TenderKind::Card(card)
                        }
                        (code, 6) => TenderKind::External {
                            method: ExternalMethod::from_code(code).ok_or_else(|| bad("tender"))?,
                            reference: f[5].clone(),
                        },
                        _ => return Err(bad("tender")),
                    };
                    sale.tenders.push(Tender { kind, amount, given, change });
                }
                _ => return Err(bad("record")),
            }
        }
        if !header {
            return Err(SnapshotError { line: 0, reason: "no sale record".into() });
        }
        Ok(sale)
    }

    /// Takes a card payment off a sale in progress after the terminal booked its reversal (the
    /// cashier voided the sale, or the customer chose to pay otherwise).
    pub fn reversed_card(&mut self, receipt_no: u32, trace: u32) -> Option<Tender> {
        let i = self
            .tenders
            .iter()
            .position(|t| matches!(&t.kind, TenderKind::Card(c) if c.receipt_no == receipt_no && c.trace == trace))?;
        let tender = self.tenders.remove(i);
        if self.state == SaleState::Paid {
            self.state = SaleState::Tendering;
        }
        Some(tender)
    }

    /// Whether a card payment with this terminal receipt and trace is among the tenders.
    pub fn has_card(&self, receipt_no: u32, trace: u32) -> bool {
        self.tenders
            .iter()
            .any(|t| matches!(&t.kind, TenderKind::Card(c) if c.receipt_no == receipt_no && c.trace == trace))
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::dec;

    use super::*;
    use crate::money::Currency;
    use crate::sale::TaxClass;

    fn settings() -> SaleSettings {
        SaleSettings {
            currency: Currency::CNY,
            prices_include_tax: true,
            cash_rounding: None,
            tax_classes: vec![TaxClass::new("A", dec!(0.13)).unwrap()],
        }
    }

    #[test]
    fn a_sale_with_every_kind_of_line_and_tender_comes_back_equal() {
        let cny = Currency::CNY;
        let mut sale = Sale::new(settings());
        sale.lines.push(Line {
            sku: "A\t1".into(),
            name_zh: "苹果\n红".into(),
            name_en: "Apple \\ red".into(),
            quantity: dec!(0.621),
            unit_price: Money::from_minor(1299, cny).unwrap(),
            tax_class: "A".into(),
            tax_rate: dec!(0.13),
            sold_by: SoldBy::Weight,
            discount: Some(Discount::Percent(dec!(12.5))),
            price_overridden: true,
            refund_of: None,
            fixed_amount: None,
        });
        sale.set_sale_discount(Some(Discount::Amount(Money::from_minor(100, cny).unwrap()))).unwrap();
        sale.begin_payment().unwrap();
        sale.tender_cash(Money::from_minor(200, cny).unwrap()).unwrap();
        let card = CardPayment {
            masked_pan: "474843******7743".into(),
            card_name: "VISA".into(),
            receipt_no: 17,
            trace: 99,
            terminal_id: "52500038".into(),
            aid: "A0000000031010".into(),
        };
        sale.tender_card(Money::from_minor(100, cny).unwrap(), card).unwrap();
        let text = sale.snapshot();
        let back = Sale::from_snapshot(settings(), &text).unwrap();
        assert_eq!(back, sale);
        assert!(back.has_card(17, 99));
    }

    #[test]
    fn unreadable_text_is_an_error_not_a_guess() {
        assert!(Sale::from_snapshot(settings(), "").is_err());
        assert!(Sale::from_snapshot(settings(), "sale\tsale\topen\t-\t-\tx\n").is_err());
        let full_pan = "sale\tsale\ttendering\t-\t-\t0\ntender\tcard\t1\t1\t0\t4748431234567743\tV\t1\t1\tT\tA\n";
        assert_eq!(Sale::from_snapshot(settings(), full_pan).unwrap_err().reason, "card number not masked");
    }
}
