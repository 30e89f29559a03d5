//! Money: an exact decimal amount in a currency, rounded to that currency's minor unit.
//!
//! Amounts are `rust_decimal::Decimal` in memory and INTEGER minor units (cents, fen) on disk.
//! Every constructor rounds half-up (away from zero on a tie) to the currency's minor unit,
//! so a `Money` never carries a fraction of a cent.

use std::fmt;
use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

/// The largest amount the till handles in one figure: 12 digits of minor units, the width of
/// the ZVT amount field (6 BCD bytes), e.g. 9 999 999 999.99 for a currency with 2 minor units.
pub const MAX_MINOR: i64 = 999_999_999_999;

/// A currency the till knows: ISO 4217 code, numeric code (the ZVT terminal speaks it) and
/// the number of minor-unit digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Currency {
    pub code: &'static str,
    pub numeric: u16,
    pub minor_units: u32,
}

impl Currency {
    pub const CNY: Currency = Currency { code: "CNY", numeric: 156, minor_units: 2 };
    pub const EUR: Currency = Currency { code: "EUR", numeric: 978, minor_units: 2 };
    pub const USD: Currency = Currency { code: "USD", numeric: 840, minor_units: 2 };
    pub const GBP: Currency = Currency { code: "GBP", numeric: 826, minor_units: 2 };
    pub const CHF: Currency = Currency { code: "CHF", numeric: 756, minor_units: 2 };
    pub const HKD: Currency = Currency { code: "HKD", numeric: 344, minor_units: 2 };
    pub const JPY: Currency = Currency { code: "JPY", numeric: 392, minor_units: 0 };
    pub const KRW: Currency = Currency { code: "KRW", numeric: 410, minor_units: 0 };

    pub const ALL: [Currency; 8] =
        [Self::CNY, Self::EUR, Self::USD, Self::GBP, Self::CHF, Self::HKD, Self::JPY, Self::KRW];

    pub fn from_code(code: &str) -> Result<Currency, MoneyError> {
        let upper = code.trim().to_ascii_uppercase();
        Self::ALL.into_iter().find(|c| c.code == upper).ok_or_else(|| MoneyError::UnknownCurrency(code.to_string()))
    }

    /// One minor unit as a decimal (0.01 for CNY, 1 for JPY).
    pub fn minor_unit(self) -> Decimal {
        Decimal::new(1, self.minor_units)
    }

    /// Rounds half-up (ties away from zero) to this currency's minor unit.
    pub fn round(self, value: Decimal) -> Decimal {
        value.round_dp_with_strategy(self.minor_units, RoundingStrategy::MidpointAwayFromZero)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("not an amount: {0:?}")]
    NotANumber(String),
    #[error("amount out of range: {0}")]
    OutOfRange(String),
    #[error("unknown currency: {0}")]
    UnknownCurrency(String),
    #[error("currencies differ: {0} and {1}")]
    CurrencyMismatch(&'static str, &'static str),
    #[error("too many decimal places: {0}")]
    TooPrecise(String),
}

impl MoneyError {
    /// The localized message for a person at the counter.
    pub fn localized(&self, locale: &str) -> String {
        match self {
            MoneyError::NotANumber(s) => rust_i18n::t!("error.money.not_a_number", locale = locale, value = s),
            MoneyError::OutOfRange(s) => rust_i18n::t!("error.money.out_of_range", locale = locale, value = s),
            MoneyError::UnknownCurrency(s) => {
                rust_i18n::t!("error.money.unknown_currency", locale = locale, value = s)
            }
            MoneyError::CurrencyMismatch(a, b) => {
                rust_i18n::t!("error.money.currency_mismatch", locale = locale, a = a, b = b)
            }
            MoneyError::TooPrecise(s) => rust_i18n::t!("error.money.too_precise", locale = locale, value = s),
        }
        .into_owned()
    }
}

/// An amount of money in one currency, always a whole number of minor units.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// Rounds `amount` half-up to the minor unit; refuses amounts beyond `MAX_MINOR`.
    pub fn new(amount: Decimal, currency: Currency) -> Result<Money, MoneyError> {
        let amount = currency.round(amount);
        let money = Money { amount, currency };
        money.checked_minor()?;
        Ok(money)
    }

    pub fn zero(currency: Currency) -> Money {
        Money { amount: Decimal::ZERO, currency }
    }

    pub fn from_minor(minor: i64, currency: Currency) -> Result<Money, MoneyError> {
        if minor.abs() > MAX_MINOR {
            return Err(MoneyError::OutOfRange(minor.to_string()));
        }
        Ok(Money { amount: Decimal::new(minor, currency.minor_units), currency })
    }

    /// For figures already known to be in range (sums of checked amounts).
    pub(crate) fn of_minor(minor: i64, currency: Currency) -> Money {
        Money { amount: Decimal::new(minor, currency.minor_units), currency }
    }

    /// Parses what a cashier types or a file holds: "12", "12.5", "12.50", "-3.20", "¥12.50".
    /// More decimals than the currency has are refused rather than silently rounded.
    pub fn parse(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let amount = parse_decimal(text).ok_or_else(|| MoneyError::NotANumber(text.to_string()))?;
        if amount.normalize().scale() > currency.minor_units {
            return Err(MoneyError::TooPrecise(text.to_string()));
        }
        Money::new(amount, currency).map_err(|_| MoneyError::OutOfRange(text.trim().to_string()))
    }

    pub fn amount(self) -> Decimal {
        self.amount
    }

    pub fn currency(self) -> Currency {
        self.currency
    }

    /// The amount in minor units, the form the ledger stores.
    pub fn minor(self) -> i64 {
        // Invariant: constructors keep the amount whole in minor units and within MAX_MINOR
        // (arithmetic below re-checks), so this cannot fail.
        self.checked_minor().unwrap_or(0)
    }

    fn checked_minor(self) -> Result<i64, MoneyError> {
        match scaled_i64(self.amount, self.currency.minor_units) {
            Some(m) if m.abs() <= MAX_MINOR => Ok(m),
            _ => Err(MoneyError::OutOfRange(self.amount.to_string())),
        }
    }

    pub fn is_zero(self) -> bool {
        self.amount.is_zero()
    }

    pub fn is_negative(self) -> bool {
        self.amount.is_sign_negative() && !self.amount.is_zero()
    }

    pub fn is_positive(self) -> bool {
        self.amount.is_sign_positive() && !self.amount.is_zero()
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        Money::new(self.amount + other.amount, self.currency)
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        Money::new(self.amount - other.amount, self.currency)
    }

    /// Multiplies by a factor (a quantity, a rate) and rounds half-up to the minor unit.
    pub fn mul_round(self, factor: Decimal) -> Result<Money, MoneyError> {
        let product = self
            .amount
            .checked_mul(factor)
            .ok_or_else(|| MoneyError::OutOfRange(format!("{} × {}", self.amount, factor)))?;
        Money::new(product, self.currency)
    }

    pub fn abs(self) -> Money {
        Money { amount: self.amount.abs(), currency: self.currency }
    }

    /// Cash rounding: half-up to the nearest multiple of `increment` (e.g. 0.05 or 0.10),
    /// for tenders where small coins are not in circulation.
    pub fn round_to_increment(self, increment: Decimal) -> Money {
        if increment <= Decimal::ZERO {
            return self;
        }
        let steps = (self.amount / increment).round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
        Money { amount: self.currency.round(steps * increment), currency: self.currency }
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency.code, other.currency.code))
        }
    }
}

impl std::ops::Neg for Money {
    type Output = Money;

    fn neg(self) -> Money {
        Money { amount: -self.amount, currency: self.currency }
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.currency.code, self)
    }
}

/// Displays the bare amount with exactly the currency's minor digits: "12.50", "-0.05", "300".
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut a = self.amount;
        a.rescale(self.currency.minor_units);
        write!(f, "{a}")
    }
}

/// `value × 10^places` as an integer, if that is whole and fits: integer arithmetic on the
/// mantissa, since totals are recomputed on every keystroke and Decimal multiplication is slow.
pub fn scaled_i64(value: Decimal, places: u32) -> Option<i64> {
    let scale = value.scale();
    if scale <= places {
        let factor = 10i128.checked_pow(places - scale)?;
        i64::try_from(value.mantissa().checked_mul(factor)?).ok()
    } else {
        let scaled = value.checked_mul(Decimal::from(10i64.checked_pow(places)?))?;
        if scaled.fract().is_zero() { scaled.to_i64() } else { None }
    }
}

/// Parses a plain decimal as people type it. Accepts an optional sign, a currency sign
/// (¥ ￥ € $), thousands separators ("1,234.50") and surrounding blanks; nothing else.
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    let t = text.trim();
    let t = t.trim_start_matches(['¥', '￥', '€', '$']).trim_end_matches(['元']).trim();
    if t.is_empty() || t.len() > 40 {
        return None;
    }
    let cleaned: String = t.chars().filter(|c| *c != ',').collect();
    let body = cleaned.strip_prefix(['-', '+']).unwrap_or(&cleaned);
    let mut dots = 0;
    for c in body.chars() {
        match c {
            '0'..='9' => {}
            '.' => dots += 1,
            _ => return None,
        }
    }
    if dots > 1 || body == "." || body.is_empty() {
        return None;
    }
    Decimal::from_str(&cleaned).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn rounds_half_up_to_minor_unit() {
        assert_eq!(Money::new(dec!(1.005), Currency::CNY).unwrap().to_string(), "1.01");
        assert_eq!(Money::new(dec!(1.004), Currency::CNY).unwrap().to_string(), "1.00");
        assert_eq!(Money::new(dec!(-1.005), Currency::CNY).unwrap().to_string(), "-1.01");
        assert_eq!(Money::new(dec!(99.5), Currency::JPY).unwrap().to_string(), "100");
    }

    #[test]
    fn minor_units_round_trip() {
        let m = Money::from_minor(12345, Currency::EUR).unwrap();
        assert_eq!(m.to_string(), "123.45");
        assert_eq!(m.minor(), 12345);
        assert_eq!(Money::from_minor(300, Currency::JPY).unwrap().to_string(), "300");
    }

    #[test]
    fn refuses_out_of_range_and_garbage() {
        assert!(matches!(Money::parse("10000000000.00", Currency::CNY), Err(MoneyError::OutOfRange(_))));
        assert!(Money::parse("9999999999.99", Currency::CNY).is_ok());
        assert!(matches!(Money::parse("12.345", Currency::CNY), Err(MoneyError::TooPrecise(_))));
        assert!(matches!(Money::parse("1.5", Currency::JPY), Err(MoneyError::TooPrecise(_))));
        for bad in ["", "abc", "1.2.3", "1e5", ".", "--1", "12元5"] {
            assert!(matches!(Money::parse(bad, Currency::CNY), Err(MoneyError::NotANumber(_))), "{bad}");
        }
        assert_eq!(Money::parse("¥1,234.5", Currency::CNY).unwrap().minor(), 123450);
        assert!(Money::from_minor(MAX_MINOR + 1, Currency::CNY).is_err());
    }

    #[test]
    fn cash_rounding_to_increment() {
        let m = Money::parse("12.37", Currency::EUR).unwrap();
        assert_eq!(m.round_to_increment(dec!(0.05)).to_string(), "12.35");
        let m = Money::parse("12.38", Currency::EUR).unwrap();
        assert_eq!(m.round_to_increment(dec!(0.05)).to_string(), "12.40");
        let m = Money::parse("12.375", Currency::EUR);
        assert!(m.is_err());
        let m = Money::parse("12.25", Currency::CNY).unwrap();
        assert_eq!(m.round_to_increment(dec!(0.1)).to_string(), "12.30");
    }

    #[test]
    fn currencies_do_not_mix() {
        let a = Money::parse("1", Currency::CNY).unwrap();
        let b = Money::parse("1", Currency::EUR).unwrap();
        assert!(matches!(a.checked_add(b), Err(MoneyError::CurrencyMismatch(_, _))));
        assert_eq!(Currency::from_code("eur").unwrap(), Currency::EUR);
        assert!(Currency::from_code("XXX").is_err());
    }
}
