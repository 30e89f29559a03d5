//! Retail barcodes: EAN-13, EAN-8 and UPC-A with check digits, and the in-store EAN-13 codes
//! (prefixes 20–29) that scales and price labellers print with the price or weight embedded.

use rust_decimal::Decimal;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BarcodeError {
    #[error("a barcode has only digits: {0:?}")]
    NotDigits(String),
    #[error("a barcode has 8, 12 or 13 digits, not {len}: {code}")]
    BadLength { code: String, len: usize },
    #[error("wrong check digit in {code}: expected {expected}")]
    BadCheckDigit { code: String, expected: u8 },
}

impl BarcodeError {
    pub fn localized(&self, locale: &str) -> String {
        match self {
            BarcodeError::NotDigits(c) => rust_i18n::t!("error.barcode.not_digits", locale = locale, code = c),
            BarcodeError::BadLength { code, len } => {
                rust_i18n::t!("error.barcode.bad_length", locale = locale, code = code, len = len)
            }
            BarcodeError::BadCheckDigit { code, expected } => {
                rust_i18n::t!("error.barcode.bad_check_digit", locale = locale, code = code, expected = expected)
            }
        }
        .into_owned()
    }
}

/// A validated GTIN in its canonical form: EAN-13 and UPC-A as 13 digits (UPC-A gets the
/// leading zero it has inside EAN-13), EAN-8 as 8 digits. Catalog keys use this form, so a
/// UPC-A label and its EAN-13 twin find the same product.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gtin(String);

impl Gtin {
    pub fn parse(text: &str) -> Result<Gtin, BarcodeError> {
        let code = text.trim();
        if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BarcodeError::NotDigits(code.to_string()));
        }
        let canonical = match code.len() {
            8 | 13 => code.to_string(),
            12 => format!("0{code}"),
            len => return Err(BarcodeError::BadLength { code: code.to_string(), len }),
        };
        let digits: Vec<u8> = canonical.bytes().map(|b| b - b'0').collect();
        let (body, check) = digits.split_at(digits.len() - 1);
        let expected = check_digit(body);
        if check[0] != expected {
            return Err(BarcodeError::BadCheckDigit { code: code.to_string(), expected });
        }
        Ok(Gtin(canonical))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// In-store codes (EAN-13 with prefix 20–29) are assigned by the shop, not by GS1.
    pub fn in_store_prefix(&self) -> Option<u8> {
        if self.0.len() != 13 {
            return None;
        }
        let prefix: u8 = self.0[..2].parse().ok()?;
        (20..=29).contains(&prefix).then_some(prefix)
    }
}

/// The GS1 mod-10 check digit of `body` (all digits but the check digit): weights 3 and 1
/// alternate from the rightmost digit of the body.
pub fn check_digit(body: &[u8]) -> u8 {
    let sum: u32 = body.iter().rev().enumerate().map(|(i, d)| u32::from(*d) * if i % 2 == 0 { 3 } else { 1 }).sum();
    ((10 - sum % 10) % 10) as u8
}

/// Appends the check digit to a body of 7 or 12 digits (for generating codes).
pub fn with_check_digit(body: &str) -> Option<String> {
    if !body.bytes().all(|b| b.is_ascii_digit()) || !(body.len() == 7 || body.len() == 12) {
        return None;
    }
    let digits: Vec<u8> = body.bytes().map(|b| b - b'0').collect();
    Some(format!("{body}{}", check_digit(&digits)))
}

/// What an in-store code carries besides the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbeddedKind {
    /// The label's price, in the currency's major unit with `decimals` places.
    Price,
    /// The weight in kilograms with `decimals` places (3 = grams).
    Weight,
}

/// One layout rule for in-store EAN-13 codes: `PP IIIII VVVVV C` by default, where PP is the
/// prefix, I the shop's item code and V the embedded value. Scales are configured per shop, so
/// every part is a setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedRule {
    pub prefix: u8,
    pub kind: EmbeddedKind,
    /// Digits of the item code after the prefix (the value takes the rest of the 10).
    pub item_digits: usize,
    pub decimals: u32,
}

impl EmbeddedRule {
    /// The shop default: 20–24 price-embedded (yuan with 2 decimals), 25–29 weight-embedded
    /// (kilograms with 3 decimals, i.e. grams), item code of 5 digits.
    pub fn defaults() -> Vec<EmbeddedRule> {
        (20..=29)
            .map(|prefix| EmbeddedRule {
                prefix,
                kind: if prefix < 25 { EmbeddedKind::Price } else { EmbeddedKind::Weight },
                item_digits: 5,
                decimals: if prefix < 25 { 2 } else { 3 },
            })
            .collect()
    }
}

/// A scanned in-store code taken apart: the item key to look up and the value it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedCode {
    /// The lookup key: prefix and item code with the value zeroed, as the catalog lists it
    /// (e.g. `2012345000007` for item 12345 under prefix 20, check digit recomputed).
    pub item_key: String,
    pub kind: EmbeddedKind,
    pub value: Decimal,
}

/// Takes an in-store code apart by the first rule whose prefix matches.
pub fn split_embedded(gtin: &Gtin, rules: &[EmbeddedRule]) -> Option<EmbeddedCode> {
    let prefix = gtin.in_store_prefix()?;
    let rule = rules.iter().find(|r| r.prefix == prefix)?;
    if rule.item_digits == 0 || rule.item_digits >= 10 {
        return None;
    }
    let code = gtin.as_str();
    let item_end = 2 + rule.item_digits;
    let value_digits = &code[item_end..12];
    let raw: i64 = value_digits.parse().ok()?;
    let body = format!("{}{}", &code[..item_end], "0".repeat(12 - item_end));
    Some(EmbeddedCode { item_key: with_check_digit(&body)?, kind: rule.kind, value: Decimal::new(raw, rule.decimals) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_codes() {
        assert_eq!(Gtin::parse("6901234567892").unwrap().as_str(), "6901234567892");
        assert_eq!(Gtin::parse("4006381333931").unwrap().as_str(), "4006381333931");
        assert_eq!(Gtin::parse("96385074").unwrap().as_str(), "96385074");
        // UPC-A becomes its EAN-13 twin.
        assert_eq!(Gtin::parse("036000291452").unwrap().as_str(), "0036000291452");
    }

    #[test]
    fn bad_codes() {
        assert_eq!(
            Gtin::parse("6901234567893"),
            Err(BarcodeError::BadCheckDigit { code: "6901234567893".into(), expected: 2 })
        );
        assert!(matches!(Gtin::parse("69012345"), Err(BarcodeError::BadCheckDigit { .. })));
        assert!(matches!(Gtin::parse("12345"), Err(BarcodeError::BadLength { len: 5, .. })));
        assert!(matches!(Gtin::parse("69O1234567892"), Err(BarcodeError::NotDigits(_))));
        assert!(matches!(Gtin::parse(""), Err(BarcodeError::NotDigits(_))));
    }

    #[test]
    fn check_digit_generation() {
        assert_eq!(with_check_digit("690123456789").as_deref(), Some("6901234567892"));
        assert_eq!(with_check_digit("9638507").as_deref(), Some("96385074"));
        assert_eq!(with_check_digit("12"), None);
    }

    #[test]
    fn embedded_price_and_weight() {
        let rules = EmbeddedRule::defaults();
        // Prefix 21, item 00042, price 012.34.
        let price = Gtin::parse(&with_check_digit("210004201234").unwrap()).unwrap();
        let e = split_embedded(&price, &rules).unwrap();
        assert_eq!(e.kind, EmbeddedKind::Price);
        assert_eq!(e.value.to_string(), "12.34");
        assert_eq!(e.item_key, with_check_digit("210004200000").unwrap());
        // Prefix 27, item 12345, 1.250 kg.
        let weight = Gtin::parse(&with_check_digit("271234501250").unwrap()).unwrap();
        let e = split_embedded(&weight, &rules).unwrap();
        assert_eq!(e.kind, EmbeddedKind::Weight);
        assert_eq!(e.value.to_string(), "1.250");
        // A GS1 code is not in-store.
        assert!(split_embedded(&Gtin::parse("6901234567892").unwrap(), &rules).is_none());
    }
}
