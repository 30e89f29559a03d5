//! The X and Z reports on paper (a printer `Document`, zh-CN or en, 58 or 80 mm) and as CSV for
//! the office. One list of rows feeds both, so paper and file always say the same.

use chrono::Local;

use super::{Cause, Report, ReportKind, RiskFlag};
use crate::printer::layout::{Align, Block, Document, two_columns};

/// One row of a report: its section, what it is, a count if it has one, an amount if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub section: &'static str,
    pub label: String,
    pub count: Option<i64>,
    pub amount: Option<i64>,
}

fn t(key: &str, locale: &str) -> String {
    rust_i18n::t!(key, locale = locale).into_owned()
}

fn row(section: &'static str, label: String, count: Option<i64>, amount: Option<i64>) -> Row {
    Row { section, label, count, amount }
}

fn cause_text(cause: &Cause, locale: &str) -> String {
    match cause {
        Cause::ReversedByTerminal { receipt_no } => {
            rust_i18n::t!("report.cause.reversed", locale = locale, receipt = receipt_no).into_owned()
        }
        Cause::UnresolvedUnknown { intent_id } => {
            rust_i18n::t!("report.cause.unknown", locale = locale, intent = intent_id).into_owned()
        }
        Cause::OtherTerminal => t("report.cause.other_terminal", locale),
        Cause::Unexplained => t("report.cause.unexplained", locale),
        Cause::TerminalTotalsUnknown => t("report.cause.totals_unknown", locale),
    }
}

/// A count in words: the `_one` form of the key for exactly one ("1 voided cart").
fn counted(key: &str, n: i64, locale: &str) -> String {
    let key = if n == 1 { format!("{key}_one") } else { key.to_string() };
    rust_i18n::t!(&key, locale = locale, count = n).into_owned()
}

pub fn flag_text(flag: &RiskFlag, report: &Report, locale: &str) -> String {
    let m = |minor: i64| report.money(minor).to_string();
    match flag {
        RiskFlag::CardRepeated { card, times } => {
            rust_i18n::t!("report.flag.card_repeated", locale = locale, card = card, times = times).into_owned()
        }
        RiskFlag::RoundOpenPriceCardSale { receipt_no, amount } => {
            rust_i18n::t!("report.flag.round_open_price", locale = locale, receipt = receipt_no, amount = m(*amount))
                .into_owned()
        }
        RiskFlag::CardRefund { receipt_no, amount } => {
            rust_i18n::t!("report.flag.card_refund", locale = locale, receipt = receipt_no, amount = m(*amount))
                .into_owned()
        }
        RiskFlag::VoidedCarts(n) => counted("report.flag.voided_carts", *n, locale),
        RiskFlag::NoSaleOpenings(n) => counted("report.flag.no_sale", *n, locale),
        RiskFlag::PriceOverrides(n) => counted("report.flag.price_overrides", *n, locale),
        RiskFlag::MerchantMismatch(n) => counted("report.flag.merchant_mismatch", *n, locale),
        RiskFlag::RefundToOtherCard(n) => counted("report.flag.refund_other_card", *n, locale),
        RiskFlag::TerminalSentCardNumbers(n) => {
            rust_i18n::t!("report.flag.terminal_sent_card_numbers", locale = locale, count = n).into_owned()
        }
    }
}

pub fn tender_label(kind: &str, locale: &str) -> String {
    let key = format!("report.tender.{kind}");
    let text = t(&key, locale);
    if text == key { kind.to_string() } else { text }
}

/// Every figure of the report, in order, labelled in `locale`.
pub fn rows(r: &Report, locale: &str) -> Vec<Row> {
    let f = &r.figures;
    let l = locale;
    let mut out = vec![
        row("sales", t("report.sales", l), Some(f.sales_count), Some(f.sales_total)),
        row("sales", t("report.refunds", l), Some(f.refunds_count), Some(f.refunds_total)),
        row("sales", t("report.gross", l), None, Some(f.gross)),
        row("sales", t("report.discounts", l), None, Some(-f.discounts)),
        row("sales", t("report.net", l), Some(f.sales_count + f.refunds_count), Some(f.net)),
    ];
    for (class, rate, amount, tax) in &f.taxes {
        let percent = rate
            .parse::<rust_decimal::Decimal>()
            .map_or(rate.clone(), |d| (d * rust_decimal::Decimal::from(100)).normalize().to_string());
        out.push(row(
            "tax",
            rust_i18n::t!("report.tax_rate", locale = l, class = class, rate = percent).into_owned(),
            None,
            Some(*amount),
        ));
        out.push(row("tax", t("report.tax_of_it", l), None, Some(*tax)));
    }
    for (kind, n, amount) in &f.tenders {
        out.push(row("tenders", tender_label(kind, l), Some(*n), Some(*amount)));
    }
    for (card, n, amount) in &f.cards {
        out.push(row("cards", card.clone(), Some(*n), Some(*amount)));
    }
    out.push(row("cash", t("report.float", l), None, Some(f.float)));
    out.push(row("cash", t("report.cash_taken", l), None, Some(f.tender("cash"))));
    out.push(row("cash", t("report.cash_in", l), None, Some(f.cash_in)));
    out.push(row("cash", t("report.cash_out", l), None, Some(-f.cash_out)));
    out.push(row("cash", t("report.expected", l), None, Some(f.expected_cash())));
    if let Some(c) = &r.count {
        out.push(row("cash", t("report.counted", l), None, Some(c.counted_minor)));
        out.push(row("cash", t("report.difference", l), None, Some(c.counted_minor - c.expected_minor)));
        if !c.note.is_empty() {
            out.push(row("cash", rust_i18n::t!("report.note", locale = l, note = c.note).into_owned(), None, None));
        }
    }
    out.push(row("counts", t("report.receipts", l), Some(f.sales_count + f.refunds_count), None));
    out.push(row("counts", t("report.no_sales", l), Some(f.entries_of("no_sale")), None));
    out.push(row("counts", t("report.voided_carts", l), Some(f.entries_of("void_cart")), None));
    out.push(row("counts", t("report.voided_lines", l), Some(f.entries_of("void_line")), None));
    for (cashier, n, amount) in &f.cashiers {
        out.push(row("cashiers", cashier.clone(), Some(*n), Some(*amount)));
    }
    for (hour, (n, amount)) in f.by_hour.iter().enumerate().filter(|(_, (n, _))| *n > 0) {
        out.push(row("hours", format!("{hour:02}:00"), Some(*n), Some(*amount)));
    }
    if let Some(rec) = &r.reconciliation {
        for fam in &rec.families {
            out.push(row(
                "terminal",
                format!("{} {}", fam.family, t("report.ledger_side", l)),
                Some(fam.ledger.0),
                Some(fam.ledger.1),
            ));
            out.push(row(
                "terminal",
                format!("{} {}", fam.family, t("report.terminal_side", l)),
                Some(fam.terminal.0).filter(|n| *n >= 0),
                Some(fam.terminal.1).filter(|_| fam.cause != Some(Cause::TerminalTotalsUnknown)),
            ));
            if let Some(cause) = &fam.cause {
                let difference = Some(fam.terminal.1 - fam.ledger.1).filter(|_| *cause != Cause::TerminalTotalsUnknown);
                out.push(row("terminal", cause_text(cause, l), None, difference));
            }
        }
        if rec.agrees() {
            out.push(row("terminal", t("report.terminal_agrees", l), None, None));
        }
    }
    for flag in &r.flags {
        out.push(row("flags", flag_text(flag, r, l), None, None));
    }
    if let Some(z) = &r.close {
        out.push(row("z", rust_i18n::t!("report.z_no", locale = l, z = z.z_no).into_owned(), None, Some(z.net_minor)));
        out.push(row("z", t("report.grand_total", l), None, Some(z.grand_total_minor)));
    }
    if let Some(anchor) = &r.anchor {
        out.push(row("anchor", anchor.clone(), None, None));
    }
    out
}

fn title(r: &Report, locale: &str) -> String {
    match (r.kind, &r.close) {
        (ReportKind::Z, Some(z)) => rust_i18n::t!("report.title_z", locale = locale, z = z.z_no).into_owned(),
        _ => t("report.title_x", locale),
    }
}

/// The report on paper.
pub fn document(
    r: &Report,
    store_name: &str,
    register: &str,
    profile: &'static crate::printer::profile::Profile,
    locale: &str,
) -> Document {
    let columns = profile.columns;
    let text = |t: String, align, bold, double| Block::Text { text: t, align, bold, double };
    let mut blocks = vec![
        text(title(r, locale), Align::Center, true, true),
        text(store_name.to_string(), Align::Center, false, false),
    ];
    if r.training {
        blocks.push(text(t("report.training", locale), Align::Center, true, false));
    }
    let days = if r.first_day == r.last_day {
        rust_i18n::t!("report.day", locale = locale, day = r.first_day, date = r.dates.0).into_owned()
    } else {
        rust_i18n::t!("report.days", locale = locale, from = r.dates.0, to = r.dates.1).into_owned()
    };
    blocks.push(text(days, Align::Left, false, false));
    blocks.push(text(
        rust_i18n::t!(
            "report.printed",
            locale = locale,
            register = register,
            at = r.printed_at.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string()
        )
        .into_owned(),
        Align::Left,
        false,
        false,
    ));
    let mut section = "";
    for row in rows(r, locale) {
        if row.section != section {
            section = row.section;
            blocks.push(Block::Rule('-'));
            blocks.push(text(t(&format!("report.section.{section}"), locale), Align::Left, true, false));
        }
        let right = match (row.count, row.amount) {
            (Some(n), Some(a)) => format!("{n}  {}", r.money(a)),
            (None, Some(a)) => r.money(a).to_string(),
            (Some(n), None) => n.to_string(),
            (None, None) => String::new(),
        };
        for line in two_columns(&row.label, &right, columns, locale.starts_with("zh")) {
            blocks.push(text(line, Align::Left, false, false));
        }
        if row.section == "hours"
            && let Some(a) = row.amount
        {
            // A bar per hour, scaled to the busiest hour: the chart on paper.
            let max = r.figures.by_hour.iter().map(|h| h.1).max().unwrap_or(1).max(1);
            let bar = ((a.max(0) as f64 / max as f64) * (columns - 8) as f64).round() as usize;
            blocks.push(text(format!("      {}", "#".repeat(bar)), Align::Left, false, false));
        }
    }
    blocks.push(Block::Rule('='));
    blocks.push(Block::Feed(3));
    blocks.push(Block::Cut);
    Document { profile, chinese: locale.starts_with("zh"), blocks }
}

/// The report as CSV: section, label, count, amount (in major units).
/// A text cell a spreadsheet will not run as a formula: a leading `=`, `+`, `-`, `@`, tab or CR
/// (a card name a terminal sent, say) is quoted with an apostrophe, as OWASP advises for CSV.
pub fn spreadsheet_safe(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    }
}

pub fn csv(r: &Report, locale: &str) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["section", "label", "count", "amount"])?;
    w.write_record(["report", &title(r, locale), "", ""])?;
    w.write_record(["report", &format!("{} – {}", r.dates.0, r.dates.1), "", ""])?;
    for row in rows(r, locale) {
        w.write_record([
            row.section,
            &spreadsheet_safe(&row.label),
            &row.count.map(|n| n.to_string()).unwrap_or_default(),
            &row.amount.map(|a| r.money(a).to_string()).unwrap_or_default(),
        ])?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}
