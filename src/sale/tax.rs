//! Tax classes and the arithmetic of a sale's totals.
//!
//! # The rounding rule (what the receipt promises, and what the tests check)
//! All arithmetic is on integer minor units; every division rounds half-up (ties away from zero).
//! 1. Line gross = quantity × unit price, rounded to the minor unit (refund lines carry the exact
//!    amount the original line charged for the returned units instead).
//! 2. Line discount: a percentage of the line gross, rounded; or an amount, at most the gross.
//! 3. Sale discount: a percentage of the sum of line nets, rounded; or an amount, at most that sum.
//!    It is spread over the lines in proportion to their nets by the largest-remainder method, so
//!    the shares add up to the discount exactly.
//! 4. Line amount = line net − its share of the sale discount. This is what the line costs.
//! 5. Tax is computed once per rate on the sum of that rate's line amounts: tax-included prices
//!    give tax = base × r / (1 + r), tax-excluded prices give tax = base × r, rounded once.
//!    Each line's tax is that rate's tax spread by largest remainder (the pieces add up exactly).
//! 6. Total due = Σ line amounts (+ Σ taxes when prices exclude tax).

use rust_decimal::Decimal;

use crate::money::{Currency, Money};

/// A tax class as the store configures it: a short code on products ("A") and its rate (0.13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxClass {
    pub code: String,
    pub rate: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a tax rate is between 0 and 1 with at most 6 decimals: {0}")]
pub struct BadTaxRate(pub String);

impl TaxClass {
    pub fn new(code: &str, rate: Decimal) -> Result<TaxClass, BadTaxRate> {
        rate_ppm(rate).ok_or_else(|| BadTaxRate(rate.to_string()))?;
        Ok(TaxClass { code: code.to_string(), rate })
    }
}

/// A rate as parts per million (0.13 → 130 000), or None when it is out of range or too fine.
pub fn rate_ppm(rate: Decimal) -> Option<i64> {
    if rate < Decimal::ZERO || rate >= Decimal::ONE || rate.normalize().scale() > 6 {
        return None;
    }
    crate::money::scaled_i64(rate, 6)
}

/// `n / d` rounded half-up (ties away from zero); `d` > 0.
pub fn div_half_up(n: i128, d: i128) -> i128 {
    debug_assert!(d > 0);
    let q = (2 * n.abs() + d) / (2 * d);
    if n < 0 { -q } else { q }
}

/// Splits `total` over `weights` in proportion, by largest remainder: the parts add up to
/// `total` exactly. Weights all have one sign (or are zero); ties go to the earlier weight.
pub fn allocate(total: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i128 = weights.iter().map(|w| i128::from(*w).abs()).sum();
    if sum == 0 || total == 0 {
        return vec![0; weights.len()];
    }
    let t = i128::from(total).abs();
    let mut parts: Vec<i64> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    let mut given: i128 = 0;
    for (i, w) in weights.iter().enumerate() {
        let scaled = t * i128::from(*w).abs();
        let floor = scaled / sum;
        given += floor;
        parts.push(floor as i64);
        remainders.push((scaled % sum, i));
    }
    let mut left = t - given;
    if left > 0 {
        remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, i) in remainders {
            if left == 0 {
                break;
            }
            parts[i] += 1;
            left -= 1;
        }
    }
    if total < 0 {
        for p in &mut parts {
            *p = -*p;
        }
    }
    parts
}

/// What one line comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineTotals {
    pub gross: Money,
    pub line_discount: Money,
    pub sale_discount: Money,
    /// What the line costs after all discounts (tax included or not, as prices are).
    pub amount: Money,
    pub tax: Money,
}

/// The tax of one rate across the sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxTotal {
    pub class: String,
    pub rate: Decimal,
    /// Σ line amounts at this rate.
    pub base: Money,
    pub tax: Money,
    /// Amount without tax.
    pub net: Money,
    /// Amount with tax.
    pub gross: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    pub lines: Vec<LineTotals>,
    /// Σ line gross before any discount.
    pub gross: Money,
    /// Σ line discounts + sale discount.
    pub discount: Money,
    pub taxes: Vec<TaxTotal>,
    pub tax: Money,
    /// What the customer owes (before cash rounding).
    pub total: Money,
}

/// One line reduced to what the arithmetic needs, all in minor units.
pub(crate) struct LineInput {
    pub gross: i64,
    pub line_discount: i64,
    pub rate_ppm: i64,
    pub class_index: usize,
}

/// Computes totals from prepared lines. `sale_discount` is already an amount in minor units.
pub(crate) fn compute(
    currency: Currency,
    prices_include_tax: bool,
    lines: &[LineInput],
    classes: &[(String, Decimal)],
    sale_discount: i64,
) -> Totals {
    let m = |minor: i64| Money::of_minor(minor, currency);
    let nets: Vec<i64> = lines.iter().map(|l| l.gross - l.line_discount).collect();
    let shares = allocate(sale_discount, &nets);
    let amounts: Vec<i64> = nets.iter().zip(&shares).map(|(n, s)| n - s).collect();

    let mut line_tax = vec![0i64; lines.len()];
    let mut taxes = Vec::new();
    let mut tax_sum = 0i64;
    for (ci, (code, rate)) in classes.iter().enumerate() {
        let members: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].class_index == ci).collect();
        if members.is_empty() {
            continue;
        }
        let ppm = i128::from(lines[members[0]].rate_ppm);
        let base: i64 = members.iter().map(|&i| amounts[i]).sum();
        let tax = if prices_include_tax {
            div_half_up(i128::from(base) * ppm, 1_000_000 + ppm)
        } else {
            div_half_up(i128::from(base) * ppm, 1_000_000)
        } as i64;
        let weights: Vec<i64> = members.iter().map(|&i| amounts[i]).collect();
        for (&i, part) in members.iter().zip(allocate(tax, &weights)) {
            line_tax[i] = part;
        }
        let (net, gross) = if prices_include_tax { (base - tax, base) } else { (base, base + tax) };
        tax_sum += tax;
        taxes.push(TaxTotal {
            class: code.clone(),
            rate: *rate,
            base: m(base),
            tax: m(tax),
            net: m(net),
            gross: m(gross),
        });
    }

    let gross: i64 = lines.iter().map(|l| l.gross).sum();
    let discount: i64 = lines.iter().map(|l| l.line_discount).sum::<i64>() + sale_discount;
    let amount_sum: i64 = amounts.iter().sum();
    let total = if prices_include_tax { amount_sum } else { amount_sum + tax_sum };
    Totals {
        lines: lines
            .iter()
            .enumerate()
            .map(|(i, l)| LineTotals {
                gross: m(l.gross),
                line_discount: m(l.line_discount),
                sale_discount: m(shares[i]),
                amount: m(amounts[i]),
                tax: m(line_tax[i]),
            })
            .collect(),
        gross: m(gross),
        discount: m(discount),
        taxes,
        tax: m(tax_sum),
        total: m(total),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_up_division() {
        assert_eq!(div_half_up(5, 2), 3);
        assert_eq!(div_half_up(-5, 2), -3);
        assert_eq!(div_half_up(4, 3), 1);
        assert_eq!(div_half_up(13000, 113), 115);
    }

    #[test]
    fn allocation_adds_up() {
        assert_eq!(allocate(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(allocate(-100, &[-1, -1, -1]), vec![-34, -33, -33]);
        assert_eq!(allocate(10, &[0, 0]), vec![0, 0]);
        assert_eq!(allocate(7, &[500, 300, 200]), vec![4, 2, 1]);
    }

    #[test]
    fn rates() {
        assert_eq!(rate_ppm(Decimal::new(13, 2)), Some(130_000));
        assert_eq!(rate_ppm(Decimal::ONE), None);
        assert_eq!(rate_ppm(Decimal::new(-1, 2)), None);
        assert_eq!(rate_ppm(Decimal::new(1, 7)), None);
    }
}
