//! What the cashier typed or scanned into the scan field, taken apart before anything is looked up.

use rust_decimal::Decimal;

use super::CounterError;
use crate::money::parse_decimal;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry<'a> {
    Empty,
    /// A barcode or SKU, with the quantity typed before a `*` (`3*6901234567892`).
    Item {
        quantity: Option<Decimal>,
        code: &'a str,
    },
    /// A receipt's own code (`R1-00000042`), as its barcode and QR code carry it.
    Receipt(i64),
}

impl<'a> Entry<'a> {
    /// `register` is this till's register: receipt codes of other registers are not ours.
    pub fn parse(text: &'a str, register: &str) -> Result<Entry<'a>, CounterError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Entry::Empty);
        }
        if let Some(number) = text.strip_prefix(register).and_then(|rest| rest.strip_prefix('-'))
            && number.len() == 8
            && number.bytes().all(|b| b.is_ascii_digit())
        {
            return Ok(Entry::Receipt(number.parse().unwrap_or(0)));
        }
        match text.split_once('*') {
            None => Ok(Entry::Item { quantity: None, code: text }),
            Some((quantity, code)) => {
                let q = parse_decimal(quantity.trim())
                    .filter(|q| q.is_sign_positive() && !q.is_zero())
                    .ok_or_else(|| CounterError::BadQuantity(quantity.trim().to_string()))?;
                let code = code.trim();
                if code.is_empty() {
                    return Ok(Entry::Empty);
                }
                Ok(Entry::Item { quantity: Some(q), code })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::dec;

    use super::*;

    #[test]
    fn entries_are_taken_apart() {
        assert_eq!(Entry::parse("  ", "R1"), Ok(Entry::Empty));
        assert_eq!(Entry::parse("6912345000376\n", "R1"), Ok(Entry::Item { quantity: None, code: "6912345000376" }));
        assert_eq!(Entry::parse("3*DRK001", "R1"), Ok(Entry::Item { quantity: Some(dec!(3)), code: "DRK001" }));
        assert_eq!(Entry::parse("R1-00000042", "R1"), Ok(Entry::Receipt(42)));
        // Another register's receipt is just an unknown code here.
        assert_eq!(Entry::parse("R2-00000042", "R1"), Ok(Entry::Item { quantity: None, code: "R2-00000042" }));
        assert_eq!(Entry::parse("x*DRK001", "R1"), Err(CounterError::BadQuantity("x".into())));
        assert_eq!(Entry::parse("-2*DRK001", "R1"), Err(CounterError::BadQuantity("-2".into())));
    }
}
