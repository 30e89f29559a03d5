//! The store's day in words: the rows the shell prints, the CSV and PDF carry and the manager's
//! screen shows, from [`office::StoreDay`] (one list, so every copy says the same).

use rust_i18n::t;

use super::office;
use crate::money::{Currency, Money};

/// One line of the store's day: its section, what it is, and the figure (already in words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub section: &'static str,
    pub label: String,
    pub value: String,
}

pub fn rows(d: &office::StoreDay, locale: &str) -> Vec<ReportRow> {
    let currency = d.currency.as_deref().and_then(|c| Currency::from_code(c).ok()).unwrap_or(Currency::CNY);
    let m =
        |minor: i64| Money::from_minor(minor, currency).map(|m| m.to_string()).unwrap_or_else(|_| minor.to_string());
    let mut rows = Vec::new();
    let mut push = |section, label: String, value: String| rows.push(ReportRow { section, label, value });
    // Each register's rows carry its name (a CSV row must stand alone); in a chain, its store's.
    let chain = d.registers.iter().any(|r| d.registers.first().is_some_and(|f| f.store != r.store));
    for r in &d.registers {
        let who = if chain { format!("{}/{}", r.store, r.register) } else { r.register.clone() };
        let label = |key: &str| format!("{who} · {}", t!(key, locale = locale));
        let z = match r.z {
            Some((z_no, net)) => t!("store.report.z", locale = locale, z = z_no, net = m(net)).into_owned(),
            None => t!("store.report.not_closed", locale = locale).into_owned(),
        };
        push("registers", who.clone(), z);
        push("registers", label("store.report.sales"), format!("{}  {}", r.sales, m(r.net)));
        let terminal = match r.card_terminal {
            Some(total) if total == r.card_closed => {
                t!("store.report.terminal_agrees", locale = locale, amount = m(total)).into_owned()
            }
            Some(total) => {
                t!("store.report.terminal_differs", locale = locale, ledger = m(r.card_closed), terminal = m(total))
                    .into_owned()
            }
            None => t!("store.report.terminal_none", locale = locale, ledger = m(r.card_ledger)).into_owned(),
        };
        push("registers", label("store.report.terminal"), terminal);
        let drawer =
            r.drawer_difference.map_or_else(|| t!("store.report.not_counted", locale = locale).into_owned(), m);
        push("registers", label("store.report.drawer"), drawer);
        if let Some(flag) = &r.flag {
            push("registers", label("store.report.flagged"), flag.clone());
        }
    }
    for (kind, n, amount) in &d.tenders {
        push("tenders", crate::dayclose::output::tender_label(kind, locale), format!("{n}  {}", m(*amount)));
    }
    for (rate, amount, tax) in &d.taxes {
        // Rates are kept as fractions (0.13); the report says 13%.
        let percent = rate
            .parse::<rust_decimal::Decimal>()
            .map(|r| (r * rust_decimal::Decimal::ONE_HUNDRED).normalize().to_string())
            .unwrap_or_else(|_| rate.clone());
        push("taxes", format!("{percent}%"), format!("{}  {}", m(*amount), m(*tax)));
    }
    for (card, n, amount) in &d.cards {
        push("cards", crate::dayclose::output::spreadsheet_safe(card), format!("{n}  {}", m(*amount)));
    }
    for register in &d.late {
        push("late", register.clone(), t!("store.report.not_arrived", locale = locale).into_owned());
    }
    rows
}

pub fn text(d: &office::StoreDay, rows: &[ReportRow], locale: &str) -> String {
    let mut out = format!("{}\n", t!("store.report.title", locale = locale, date = d.date.to_string()));
    let mut section = "";
    for r in rows {
        if r.section != section {
            section = r.section;
            let key = format!("store.report.section.{section}");
            out.push_str(&format!("\n{}\n", t!(&key, locale = locale)));
        }
        out.push_str(&format!("  {:<28} {}\n", r.label, r.value));
    }
    out
}

pub fn csv(rows: &[ReportRow]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["section", "label", "value"])?;
    for r in rows {
        w.write_record([
            r.section,
            &crate::dayclose::output::spreadsheet_safe(&r.label),
            &crate::dayclose::output::spreadsheet_safe(&r.value),
        ])?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

pub fn sections(rows: &[ReportRow], locale: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut sections: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut section = "";
    for r in rows {
        if r.section != section || sections.is_empty() {
            section = r.section;
            let key = format!("store.report.section.{section}");
            sections.push((t!(&key, locale = locale).into_owned(), Vec::new()));
        }
        if let Some(last) = sections.last_mut() {
            last.1.push((r.label.clone(), r.value.clone()));
        }
    }
    sections
}
