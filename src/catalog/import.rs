//! CSV import of products: all or nothing. Every row is checked first; if any row is bad, the
//! import reports each problem with its row, column and reason, and nothing is imported.
//!
//! Columns (header row required, order free, names case-insensitive):
//! `sku, barcodes, name_zh, name_en, price, tax_class, category, quick_key, sold_by`.
//! `barcodes` holds zero or more codes separated by `|`; `price` is in major units (per kg for
//! weighed goods); `quick_key` is empty or 1–999; `sold_by` is `piece` (default) or `weight`.

use std::collections::HashMap;
use std::io::Read;

use super::{Gtin, Product, SoldBy};
use crate::money::{Currency, Money, MoneyError};

pub const COLUMNS: [&str; 9] =
    ["sku", "barcodes", "name_zh", "name_en", "price", "tax_class", "category", "quick_key", "sold_by"];
const REQUIRED: [&str; 5] = ["sku", "name_zh", "name_en", "price", "tax_class"];
/// Enough for any real shop; stops a wrong file (a log, a binary) from being taken for a catalog.
pub const MAX_ROWS: usize = 1_000_000;

/// One problem in one place of the file. `row` counts lines of the file as a spreadsheet shows
/// them (the header is row 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    pub row: u64,
    pub column: String,
    pub problem: ImportProblem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportProblem {
    Unreadable(String),
    MissingColumn,
    UnknownColumn,
    Empty,
    BadSku(String),
    BadBarcode(super::BarcodeError),
    BadPrice(MoneyError),
    NegativePrice,
    UnknownTaxClass(String),
    BadQuickKey(String),
    BadSoldBy(String),
    DuplicateSku(String, u64),
    DuplicateBarcode(String, u64),
    BarcodeOwnedBy(String, String),
    TooManyRows,
    NoRows,
    /// A control character (ESC, a line feed…) in a text that goes onto the paper: a printer
    /// would take it as a command (a drawer kick hidden in a product's name).
    ControlCharacter,
}

impl ImportError {
    pub fn localized(&self, locale: &str) -> String {
        let reason = self.reason(locale);
        rust_i18n::t!("error.import.at", locale = locale, row = self.row, column = self.column, reason = reason)
            .into_owned()
    }

    /// The problem named by its column only (a form of one product has no rows).
    pub fn in_field(&self, locale: &str) -> String {
        if self.column.is_empty() { self.reason(locale) } else { format!("{}: {}", self.column, self.reason(locale)) }
    }

    pub fn reason(&self, locale: &str) -> String {
        use rust_i18n::t;
        let reason = match &self.problem {
            ImportProblem::Unreadable(e) => t!("error.import.unreadable", locale = locale, detail = e),
            ImportProblem::MissingColumn => t!("error.import.missing_column", locale = locale),
            ImportProblem::UnknownColumn => t!("error.import.unknown_column", locale = locale),
            ImportProblem::Empty => t!("error.import.empty", locale = locale),
            ImportProblem::ControlCharacter => t!("error.import.control_character", locale = locale),
            ImportProblem::BadSku(s) => t!("error.import.bad_sku", locale = locale, value = s),
            ImportProblem::BadBarcode(e) => e.localized(locale).into(),
            ImportProblem::BadPrice(e) => e.localized(locale).into(),
            ImportProblem::NegativePrice => t!("error.import.negative_price", locale = locale),
            ImportProblem::UnknownTaxClass(c) => t!("error.import.unknown_tax_class", locale = locale, value = c),
            ImportProblem::BadQuickKey(s) => t!("error.import.bad_quick_key", locale = locale, value = s),
            ImportProblem::BadSoldBy(s) => t!("error.import.bad_sold_by", locale = locale, value = s),
            ImportProblem::DuplicateSku(s, row) => {
                t!("error.import.duplicate_sku", locale = locale, value = s, row = row)
            }
            ImportProblem::DuplicateBarcode(s, row) => {
                t!("error.import.duplicate_barcode", locale = locale, value = s, row = row)
            }
            ImportProblem::BarcodeOwnedBy(code, sku) => {
                t!("error.import.barcode_owned", locale = locale, value = code, sku = sku)
            }
            ImportProblem::TooManyRows => t!("error.import.too_many_rows", locale = locale, max = MAX_ROWS),
            ImportProblem::NoRows => t!("error.import.no_rows", locale = locale),
        };
        reason.into_owned()
    }
}

/// Reads and checks a whole CSV file. `existing_owner` answers which SKU already owns a barcode in
/// the catalog, so that an import cannot hand one code to two products.
pub fn parse_csv<R: Read>(
    input: R,
    currency: Currency,
    tax_classes: &[&str],
    existing_owner: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Product>, Vec<ImportError>> {
    let mut reader =
        csv::ReaderBuilder::new().has_headers(true).flexible(false).trim(csv::Trim::All).from_reader(input);
    let mut errors = Vec::new();
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(vec![err(1, "", ImportProblem::Unreadable(e.to_string()))]),
    };
    let mut column_of: HashMap<&'static str, usize> = HashMap::new();
    for (i, name) in headers.iter().enumerate() {
        let name = name.trim_start_matches('\u{feff}').to_ascii_lowercase();
        match COLUMNS.iter().find(|c| **c == name) {
            Some(c) => {
                column_of.insert(c, i);
            }
            None => errors.push(err(1, &name, ImportProblem::UnknownColumn)),
        }
    }
    for c in REQUIRED {
        if !column_of.contains_key(c) {
            errors.push(err(1, c, ImportProblem::MissingColumn));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut products = Vec::new();
    let mut sku_rows: HashMap<String, u64> = HashMap::new();
    let mut barcode_rows: HashMap<String, u64> = HashMap::new();
    for (i, record) in reader.records().enumerate() {
        let row = i as u64 + 2;
        if products.len() >= MAX_ROWS {
            errors.push(err(row, "", ImportProblem::TooManyRows));
            break;
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let row = e.position().map_or(row, |p| p.line());
                errors.push(err(row, "", ImportProblem::Unreadable(e.to_string())));
                // A broken record structure (bad quoting, wrong field count) makes later row
                // numbers unreliable; stop here rather than report noise.
                break;
            }
        };
        let field = |name: &str| column_of.get(name).and_then(|&i| record.get(i)).unwrap_or("");
        let before = errors.len();

        let sku = field("sku");
        if sku.is_empty() {
            errors.push(err(row, "sku", ImportProblem::Empty));
        } else if sku.len() > 64 || sku.chars().any(|c| c.is_control() || c.is_whitespace()) {
            errors.push(err(row, "sku", ImportProblem::BadSku(sku.into())));
        } else if let Some(first) = sku_rows.insert(sku.to_string(), row) {
            errors.push(err(row, "sku", ImportProblem::DuplicateSku(sku.into(), first)));
        }

        let mut barcodes = Vec::new();
        for code in field("barcodes").split('|').map(str::trim).filter(|c| !c.is_empty()) {
            match Gtin::parse(code) {
                Ok(g) => {
                    let canonical = g.as_str().to_string();
                    if let Some(first) = barcode_rows.insert(canonical.clone(), row) {
                        errors.push(err(row, "barcodes", ImportProblem::DuplicateBarcode(code.into(), first)));
                    } else if let Some(owner) = existing_owner(&canonical).filter(|o| o != sku) {
                        errors.push(err(row, "barcodes", ImportProblem::BarcodeOwnedBy(code.into(), owner)));
                    }
                    barcodes.push(canonical.into());
                }
                Err(e) => errors.push(err(row, "barcodes", ImportProblem::BadBarcode(e))),
            }
        }

        for name in ["name_zh", "name_en"] {
            let v = field(name);
            if v.is_empty() {
                errors.push(err(row, name, ImportProblem::Empty));
            }
        }
        for column in ["sku", "name_zh", "name_en", "category"] {
            if field(column).chars().any(char::is_control) {
                errors.push(err(row, column, ImportProblem::ControlCharacter));
            }
        }

        let price = match Money::parse(field("price"), currency) {
            Ok(p) if p.is_negative() => {
                errors.push(err(row, "price", ImportProblem::NegativePrice));
                None
            }
            Ok(p) => Some(p),
            Err(e) => {
                errors.push(err(row, "price", ImportProblem::BadPrice(e)));
                None
            }
        };

        let tax_class = field("tax_class");
        if !tax_classes.contains(&tax_class) {
            errors.push(err(row, "tax_class", ImportProblem::UnknownTaxClass(tax_class.into())));
        }

        let quick_key = match field("quick_key") {
            "" => None,
            q => match q.parse::<u16>() {
                Ok(n) if (1..=999).contains(&n) => Some(n),
                _ => {
                    errors.push(err(row, "quick_key", ImportProblem::BadQuickKey(q.into())));
                    None
                }
            },
        };

        let sold_by = SoldBy::parse(field("sold_by")).unwrap_or_else(|| {
            errors.push(err(row, "sold_by", ImportProblem::BadSoldBy(field("sold_by").into())));
            SoldBy::Piece
        });

        if errors.len() == before
            && let Some(price) = price
        {
            products.push(Product {
                sku: sku.into(),
                barcodes,
                name_zh: field("name_zh").into(),
                name_en: field("name_en").into(),
                price,
                tax_class: tax_class.into(),
                category: field("category").into(),
                quick_key,
                sold_by,
            });
        }
    }
    if errors.is_empty() && products.is_empty() {
        errors.push(err(2, "", ImportProblem::NoRows));
    }
    if errors.is_empty() { Ok(products) } else { Err(errors) }
}

/// A reader that reports how far through its `total` bytes it is (a large import's progress),
/// at most a hundred times.
pub struct ProgressReader<R, F: FnMut(f32)> {
    inner: R,
    read: u64,
    total: u64,
    reported: u32,
    report: F,
}

impl<R: Read, F: FnMut(f32)> ProgressReader<R, F> {
    pub fn new(inner: R, total: u64, report: F) -> Self {
        ProgressReader { inner, read: 0, total: total.max(1), reported: 0, report }
    }
}

impl<R: Read, F: FnMut(f32)> Read for ProgressReader<R, F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        let percent = (self.read.min(self.total) * 100 / self.total) as u32;
        if percent > self.reported {
            self.reported = percent;
            (self.report)(percent as f32 / 100.0);
        }
        Ok(n)
    }
}

/// What an import would change, before it does: products added, prices changed (each listed),
/// other changes, unchanged ones. Products not in the file stay as they are.
#[derive(Debug, Clone)]
pub struct Preview {
    pub products: Vec<Product>,
    pub added: Vec<String>,
    /// (SKU, name, old price, new price).
    pub prices: Vec<(String, String, Money, Money)>,
    pub other_changes: usize,
    pub unchanged: usize,
}

/// Compares checked products with the catalog in force.
pub fn preview(catalog: &super::Catalog, products: Vec<Product>) -> Preview {
    let (mut added, mut prices, mut other_changes, mut unchanged) = (Vec::new(), Vec::new(), 0, 0);
    for p in &products {
        match catalog.by_sku(&p.sku) {
            Err(_) => added.push(p.sku.to_string()),
            Ok(old) if old.price != p.price => {
                prices.push((p.sku.to_string(), p.name_zh.to_string(), old.price, p.price));
            }
            Ok(old) if old != p => other_changes += 1,
            Ok(_) => unchanged += 1,
        }
    }
    Preview { products, added, prices, other_changes, unchanged }
}

fn err(row: u64, column: &str, problem: ImportProblem) -> ImportError {
    ImportError { row, column: column.to_string(), problem }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Product>, Vec<ImportError>> {
        parse_csv(text.as_bytes(), Currency::CNY, &["A", "B"], &|_| None)
    }

    const HEADER: &str = "sku,barcodes,name_zh,name_en,price,tax_class,category,quick_key,sold_by\n";

    #[test]
    fn a_preview_lists_what_would_change_and_progress_reaches_the_end() {
        let old =
            parse(&format!("{HEADER}D1,,水,Water,2.00,A,,,\nD2,,茶,Tea,3.00,A,,,\nD3,,奶,Milk,5.00,B,,,\n")).unwrap();
        let catalog = crate::catalog::Catalog::new(Currency::CNY, old, Vec::new());
        let text = format!(
            "{HEADER}D1,,水,Water,2.20,A,,,\nD2,,茶,Green tea,3.00,A,,,\nD3,,奶,Milk,5.00,B,,,\nD4,,糖,Sugar,1.00,B,,,\n"
        );
        let mut seen = Vec::new();
        let reader = ProgressReader::new(text.as_bytes(), text.len() as u64, |p| seen.push(p));
        let p = preview(&catalog, parse_csv(reader, Currency::CNY, &["A", "B"], &|_| None).unwrap());
        assert_eq!(p.added, ["D4"]);
        assert_eq!(p.prices.len(), 1);
        assert_eq!((p.prices[0].2.minor(), p.prices[0].3.minor()), (200, 220));
        assert_eq!((p.other_changes, p.unchanged), (1, 1));
        assert_eq!(seen.last(), Some(&1.0));
        assert!(seen.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn good_file() {
        let p = parse(&format!(
            "{HEADER}D1,6901234567892|96385074,水,Water,2.00,A,drinks,1,piece\nF1,,苹果,Apple,12.80,B,fruit,,weight\n"
        ))
        .unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].barcodes, vec!["6901234567892", "96385074"]);
        assert_eq!(p[1].sold_by, SoldBy::Weight);
        assert_eq!(p[1].price.minor(), 1280);
    }

    #[test]
    fn each_bad_row_is_named() {
        let e = parse(&format!(
            "{HEADER}D1,6901234567893,水,Water,2.00,A,drinks,,\nD2,,可乐,Cola,abc,A,drinks,,\nD1,,x,y,1,Z,d,1000,box\n"
        ))
        .unwrap_err();
        let places: Vec<(u64, &str)> = e.iter().map(|e| (e.row, e.column.as_str())).collect();
        assert_eq!(
            places,
            vec![(2, "barcodes"), (3, "price"), (4, "sku"), (4, "tax_class"), (4, "quick_key"), (4, "sold_by")]
        );
        assert_eq!(
            e[0].localized("en"),
            "Row 2, column barcodes: Wrong check digit in 6901234567893 (should end in 2): scan again"
        );
        assert!(e[0].localized("zh-CN").starts_with("第 2 行，barcodes 列"));
    }

    #[test]
    fn structure_problems() {
        assert_eq!(parse("sku,name_zh\n").unwrap_err()[0].problem, ImportProblem::MissingColumn);
        // A printer command hidden in a name (ESC p: the drawer) is refused with its row.
        let kick = format!("{HEADER}TEA01,,绿茶\u{1b}p\u{0}22,Green tea,4.50,A,drinks,,piece\n");
        let refused = parse(&kick).unwrap_err();
        assert_eq!((refused[0].column.as_str(), &refused[0].problem), ("name_zh", &ImportProblem::ControlCharacter));
        assert_eq!(parse(HEADER).unwrap_err()[0].problem, ImportProblem::NoRows);
        let ragged = parse(&format!("{HEADER}D1,,水,Water,2.00,A,drinks\n")).unwrap_err();
        assert!(matches!(ragged[0].problem, ImportProblem::Unreadable(_)));
        let dup = parse(&format!("{HEADER}D1,96385074,a,b,1,A,,,\nD2,96385074,a,b,1,A,,,\n")).unwrap_err();
        assert_eq!(dup[0].problem, ImportProblem::DuplicateBarcode("96385074".into(), 2));
        let neg = parse(&format!("{HEADER}D1,,a,b,-1,A,,,\n")).unwrap_err();
        assert_eq!(neg[0].problem, ImportProblem::NegativePrice);
        let huge = parse(&format!("{HEADER}D1,,a,b,99999999999,A,,,\n")).unwrap_err();
        assert!(matches!(huge[0].problem, ImportProblem::BadPrice(MoneyError::OutOfRange(_))));
    }
}
