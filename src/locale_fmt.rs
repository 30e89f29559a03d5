//! Dates, times and amounts as each locale writes them, for the screen and the reports.
//! zh-CN: 2026年11月27日 周五, 21:05; en: Fri 27 Nov 2026, 21:05. Amounts group thousands with a
//! comma and keep the currency's minor digits in both (¥1,234.50). Receipts keep ISO dates
//! (2026-11-27 21:05:00) in both languages: unambiguous on paper, and what Chinese receipts print.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone};

use crate::money::Money;

/// An amount with its currency's sign and thousands grouped: ¥1,234.50, -€3.00.
pub fn amount(m: Money) -> String {
    let sign = match m.currency().code {
        "CNY" | "JPY" => "¥",
        "EUR" => "€",
        "USD" => "$",
        "GBP" => "£",
        other => other,
    };
    let plain = m.abs().to_string();
    let (whole, fraction) = match plain.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (plain.as_str(), None),
    };
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3 + 4);
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if let Some(f) = fraction {
        grouped.push('.');
        grouped.push_str(f);
    }
    if m.is_negative() { format!("-{sign}{grouped}") } else { format!("{sign}{grouped}") }
}

const WEEKDAYS_ZH: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];

/// A calendar date: 2026年11月27日 周五 / Fri 27 Nov 2026.
pub fn date(d: NaiveDate, locale: &str) -> String {
    if locale.starts_with("zh") {
        format!(
            "{}年{}月{}日 {}",
            d.year(),
            d.month(),
            d.day(),
            WEEKDAYS_ZH[d.weekday().num_days_from_monday() as usize]
        )
    } else {
        d.format("%a %-d %b %Y").to_string()
    }
}

/// A date written as the ledger keeps it (YYYY-MM-DD), in the locale's words; left as it is if it
/// is not one.
pub fn date_text(iso: &str, locale: &str) -> String {
    NaiveDate::parse_from_str(iso, "%Y-%m-%d").map_or_else(|_| iso.to_string(), |d| date(d, locale))
}

/// A moment in the register's time zone: 2026年11月27日 周五 21:05 / Fri 27 Nov 2026 21:05.
pub fn date_time<Tz: TimeZone>(t: DateTime<Tz>, locale: &str) -> String
where
    Tz::Offset: std::fmt::Display,
{
    format!("{} {}", date(t.date_naive(), locale), t.format("%H:%M"))
}

/// A form label's name without its hint in brackets: "Port (empty: no PIN pad)" → "Port",
/// "名称（英文）" → "名称". Messages name a field by it.
pub fn label_name(label: &str) -> &str {
    label.split(" (").next().unwrap_or(label).split('（').next().unwrap_or(label).trim()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    #[test]
    fn amounts_group_thousands_and_keep_minor_digits() {
        let m = |minor: i64, c: Currency| amount(Money::from_minor(minor, c).unwrap());
        assert_eq!(m(123_450, Currency::CNY), "¥1,234.50");
        assert_eq!(m(-300, Currency::EUR), "-€3.00");
        assert_eq!(m(100_000_000, Currency::CNY), "¥1,000,000.00");
        assert_eq!(m(99, Currency::CNY), "¥0.99");
        assert_eq!(m(1_234_567, Currency::JPY), "¥1,234,567");
    }

    #[test]
    fn dates_per_locale() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        assert_eq!(date(d, "zh-CN"), "2026年11月27日 周五");
        assert_eq!(date(d, "en"), "Fri 27 Nov 2026");
        assert_eq!(date_text("2026-01-05", "en"), "Mon 5 Jan 2026");
        assert_eq!(date_text("not a date", "en"), "not a date");
        let t = chrono::Utc.with_ymd_and_hms(2026, 11, 27, 21, 5, 0).unwrap();
        assert_eq!(date_time(t, "zh-CN"), "2026年11月27日 周五 21:05");
    }
}
