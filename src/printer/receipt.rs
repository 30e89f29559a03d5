//! A receipt as data: what goes on the paper, already formatted as text, in the receipt's own
//! language (chosen apart from the screen's). Built from a posted sale; laid out by `layout`.

use rust_i18n::t;

use crate::config::StoreSettings;
use crate::ledger::records::SaleRecord;
use crate::money::{Currency, Money};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptLine {
    pub name: String,
    /// "2", "1.235 kg"
    pub quantity: String,
    pub unit_price: String,
    /// Quantity × price, before discounts (which follow on a line of their own).
    pub amount: String,
    /// The line's discount, if any ("-1.20").
    pub discount: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxLine {
    /// "13%"
    pub rate: String,
    pub net: String,
    pub tax: String,
}

/// What the terminal reported, for the card slip. Never a full card number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardSlip {
    pub card_name: String,
    pub masked_pan: String,
    pub terminal_receipt: String,
    pub trace: String,
    pub terminal_id: String,
    pub aid: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub locale: String,
    /// The heading: "销售小票" / "SALES RECEIPT", "退货" / "REFUND"…
    pub title: String,
    /// A copy or reprint says so (副本 / COPY).
    pub copy: bool,
    pub store_name: String,
    pub store_lines: Vec<String>,
    /// (label, value) pairs: register, cashier, receipt number, date and time.
    pub meta: Vec<(String, String)>,
    pub lines: Vec<ReceiptLine>,
    /// (label, value): subtotal, discounts, rounding, total (the last one is printed large).
    pub totals: Vec<(String, String)>,
    pub taxes: Vec<TaxLine>,
    /// (label, value): each tender, then the change.
    pub tenders: Vec<(String, String)>,
    pub cards: Vec<CardSlip>,
    pub footer: Vec<String>,
    /// What the QR code and the barcode carry: the receipt's id, scanned back for a refund.
    pub code: String,
    /// The store's logo at the head, where the settings name one (customer receipts only).
    pub logo: Option<std::sync::Arc<crate::printer::logo::Logo>>,
    /// The ledger's anchor for this sale (`seq:hash16`, see `ledger::Anchor`): on paper it leaves
    /// the machine, and `till ledger verify --anchor` proves the books still hold it.
    pub anchor: Option<String>,
}

fn money(minor: i64, currency: Currency) -> String {
    Money::from_minor(minor, currency).map_or_else(|_| minor.to_string(), |m| m.to_string())
}

/// The lines under the store's name: address, tax id, merchant number, the store's own header.
fn store_lines(store: &StoreSettings, l: &str) -> Vec<String> {
    let mut lines = Vec::new();
    if !store.address.is_empty() {
        lines.push(store.address.clone());
    }
    if !store.tax_id.is_empty() {
        lines.push(t!("receipt.tax_id", locale = l, id = store.tax_id).into_owned());
    }
    if !store.merchant_no.is_empty() {
        lines.push(t!("receipt.merchant_no", locale = l, no = store.merchant_no).into_owned());
    }
    lines.extend(store.receipt_header.iter().cloned());
    lines
}

/// The id a receipt carries in its QR code and barcode: register and receipt number.
pub fn receipt_code(register: &str, receipt_no: i64) -> String {
    format!("{register}-{receipt_no:08}")
}

impl Receipt {
    /// The receipt of a posted sale or refund, in `locale` ("zh-CN" or "en").
    pub fn from_sale(sale: &SaleRecord, store: &StoreSettings, locale: &str, copy: bool) -> Receipt {
        let c = Currency::from_code(&sale.currency).unwrap_or(store.currency);
        let l = locale;
        let title = if sale.kind == "refund" {
            t!("receipt.refund_title", locale = l)
        } else {
            t!("receipt.title", locale = l)
        };
        let mut meta = vec![
            (t!("receipt.register", locale = l).into_owned(), store.register.clone()),
            (t!("receipt.cashier", locale = l).into_owned(), sale.cashier.clone()),
            (t!("receipt.number", locale = l).into_owned(), sale.receipt_no.to_string()),
            (t!("receipt.time", locale = l).into_owned(), local_time(&sale.completed_at)),
        ];
        if let Some(original) = sale.refund_of {
            meta.push((t!("receipt.refund_of", locale = l).into_owned(), original.to_string()));
        }
        let lines = sale
            .lines
            .iter()
            .map(|line| {
                let qty = rust_decimal::Decimal::new(line.qty_milli, 3).normalize();
                ReceiptLine {
                    name: if l.starts_with("zh") { line.name_zh.clone() } else { line.name_en.clone() },
                    quantity: if line.sold_by == "weight" { format!("{qty} kg") } else { qty.to_string() },
                    unit_price: money(line.unit_price, c),
                    amount: money(line.gross, c),
                    discount: (line.line_discount + line.sale_discount != 0)
                        .then(|| money(-(line.line_discount + line.sale_discount), c)),
                }
            })
            .collect();
        let mut totals = vec![(t!("receipt.subtotal", locale = l).into_owned(), money(sale.gross, c))];
        if sale.discount != 0 {
            totals.push((t!("receipt.discount", locale = l).into_owned(), money(-sale.discount, c)));
        }
        if !sale.prices_include_tax {
            totals.push((t!("receipt.tax", locale = l).into_owned(), money(sale.tax, c)));
        }
        if sale.rounding != 0 {
            totals.push((t!("receipt.rounding", locale = l).into_owned(), money(sale.rounding, c)));
        }
        totals.push((
            t!("receipt.total", locale = l, currency = c.code).into_owned(),
            money(sale.total + sale.rounding, c),
        ));
        let taxes = sale
            .taxes()
            .iter()
            .map(|tax| TaxLine {
                rate: format!(
                    "{}%",
                    (tax.tax_rate.parse::<rust_decimal::Decimal>().unwrap_or_default()
                        * rust_decimal::Decimal::ONE_HUNDRED)
                        .normalize()
                ),
                net: money(tax.net, c),
                tax: money(tax.tax, c),
            })
            .collect();
        let mut tenders = Vec::new();
        let mut cards = Vec::new();
        let mut change = 0;
        for p in &sale.payments {
            let label = t!(format!("receipt.tender.{}", p.kind), locale = l).into_owned();
            let shown = if p.kind == "cash" { p.given } else { p.amount };
            tenders.push((label, money(shown, c)));
            change += p.change;
            if p.kind == "card" {
                cards.push(CardSlip {
                    card_name: p.card_name.clone().unwrap_or_default(),
                    masked_pan: p.masked_pan.clone().unwrap_or_default(),
                    terminal_receipt: p.card_receipt.map(|r| r.to_string()).unwrap_or_default(),
                    trace: p.card_trace.map(|r| r.to_string()).unwrap_or_default(),
                    terminal_id: p.terminal_id.clone().unwrap_or_default(),
                    aid: p.aid.clone().unwrap_or_default(),
                });
            }
        }
        if change != 0 {
            tenders.push((t!("receipt.change", locale = l).into_owned(), money(change, c)));
        }
        Receipt {
            locale: locale.to_string(),
            title: title.into_owned(),
            copy,
            store_name: store.store_name.clone(),
            store_lines: store_lines(store, l),
            meta,
            lines,
            totals,
            taxes,
            tenders,
            cards,
            footer: if store.receipt_footer.is_empty() {
                vec![t!("receipt.thanks", locale = l).into_owned()]
            } else {
                store.receipt_footer.clone()
            },
            code: receipt_code(&store.register, sale.receipt_no),
            logo: store.logo.as_ref().map(|(_, logo)| logo.clone()),
            anchor: None,
        }
    }
}

impl Receipt {
    /// The slip of a voided sale (作废单): what was in the cart when it was voided, by whom and why.
    /// Nothing was paid; the slip is for the drawer's paper trail and the manager.
    pub fn void_slip(
        sale: &crate::sale::Sale,
        store: &StoreSettings,
        locale: &str,
        cashier: &str,
        reason: &str,
    ) -> Receipt {
        let c = sale.currency();
        let totals = sale.totals();
        let lines = sale
            .lines()
            .iter()
            .zip(&totals.lines)
            .map(|(line, t)| ReceiptLine {
                name: if locale.starts_with("zh") { line.name_zh.clone() } else { line.name_en.clone() },
                quantity: line.quantity.normalize().to_string(),
                unit_price: line.unit_price.to_string(),
                amount: t.gross.to_string(),
                discount: None,
            })
            .collect();
        Receipt {
            locale: locale.to_string(),
            title: t!("receipt.void_title", locale = locale).into_owned(),
            copy: false,
            store_name: store.store_name.clone(),
            store_lines: Vec::new(),
            meta: vec![
                (t!("receipt.register", locale = locale).into_owned(), store.register.clone()),
                (t!("receipt.cashier", locale = locale).into_owned(), cashier.to_string()),
                (
                    t!("receipt.time", locale = locale).into_owned(),
                    chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string(),
                ),
            ],
            lines,
            totals: vec![(
                t!("receipt.void_total", locale = locale, currency = c.code).into_owned(),
                totals.total.to_string(),
            )],
            taxes: Vec::new(),
            tenders: Vec::new(),
            cards: Vec::new(),
            footer: vec![t!("receipt.void_reason", locale = locale, reason = reason).into_owned()],
            code: String::new(),
            logo: None,
            anchor: None,
        }
    }

    /// The till's own card slip (签购单, the merchant's copy for the cardholder to sign) of one
    /// card payment, for a terminal that printed none itself: the transaction's type (消费 /
    /// 退货), the card, the issuer as the terminal names the card (8B), the acquirer's merchant
    /// number (2A; ZVT carries no acquirer's name), terminal, voucher (87) and trace (0B)
    /// numbers, the reference number (the terminal's turnover number, 88, left out where it sent
    /// none), the authorisation code (3B) and the terminal's own date and time (0D, 0C). The
    /// batch number is the till's: 1 + the terminal end-of-days before the payment, as the Z
    /// reconciles them (ZVT sends none).
    pub fn card_slip(
        sale: &SaleRecord,
        payment: &crate::ledger::records::PaymentRecord,
        facts: &crate::ledger::CardSlipFacts,
        store: &StoreSettings,
        l: &str,
    ) -> Receipt {
        use crate::terminal::zvt::messages::StatusInfo;
        let c = Currency::from_code(&sale.currency).unwrap_or(store.currency);
        let kept = facts.status_kept.as_deref().unwrap_or("");
        let field = |id| StatusInfo::kept_field(kept, id).filter(|v| v.bytes().all(|b| b.is_ascii_digit()));
        // The terminal's date and time (MMDD, HHMMSS) in the sale's year; else the sale's own.
        let when = match (field(0x0D), field(0x0C)) {
            (Some(d), Some(t)) if d.len() == 4 && t.len() == 6 => format!(
                "{}-{}-{} {}:{}:{}",
                sale.completed_at.get(..4).unwrap_or("????"),
                &d[..2],
                &d[2..],
                &t[..2],
                &t[2..4],
                &t[4..]
            ),
            _ => local_time(&sale.completed_at),
        };
        let six = |n: Option<i64>| n.map(|n| format!("{n:06}")).unwrap_or_default();
        let kind = if sale.kind == "refund" { "receipt.slip.refund" } else { "receipt.slip.sale" };
        let mut meta = Vec::new();
        let mut add = |key: &str, value: String| meta.push((t!(key, locale = l).into_owned(), value));
        add("receipt.slip.type", t!(kind, locale = l).into_owned());
        add("receipt.slip.card", payment.masked_pan.clone().unwrap_or_default());
        if let Some(issuer) = payment.card_name.clone().filter(|n| !n.is_empty()) {
            add("receipt.slip.issuer", issuer);
        }
        add("receipt.slip.acquirer", facts.merchant_no.clone().unwrap_or_default());
        add("receipt.slip.terminal", payment.terminal_id.clone().unwrap_or_default());
        add("receipt.slip.batch", six(Some(facts.batch)));
        add("receipt.slip.voucher", six(payment.card_receipt));
        add("receipt.slip.trace", six(payment.card_trace));
        if let Some(reference) = field(0x88) {
            add("receipt.slip.reference", reference.to_string());
        }
        add("receipt.slip.auth", payment.aid.clone().unwrap_or_default());
        add("receipt.slip.when", when);
        add("receipt.slip.receipt", sale.receipt_no.to_string());
        let amount = payment.amount.abs();
        let sign = if sale.kind == "refund" { "-" } else { "" };
        Receipt {
            locale: l.to_string(),
            title: t!("receipt.slip.title", locale = l).into_owned(),
            copy: false,
            store_name: store.store_name.clone(),
            store_lines: {
                let mut lines = store_lines(store, l);
                lines.push(t!("receipt.merchant_copy", locale = l).into_owned());
                lines
            },
            meta,
            lines: Vec::new(),
            totals: vec![(
                t!("receipt.card_amount", locale = l, currency = c.code).into_owned(),
                format!("{sign}{}", money(amount, c)),
            )],
            taxes: Vec::new(),
            tenders: Vec::new(),
            cards: Vec::new(),
            footer: vec![
                t!("receipt.signature", locale = l).into_owned(),
                String::new(),
                "________________________".into(),
                t!("receipt.signature_note", locale = l).into_owned(),
            ],
            code: String::new(),
            logo: None,
            anchor: None,
        }
    }
}

/// "2026-11-27T13:22:30.123Z" as the register's local "2026-11-27 21:22:30".
fn local_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|_| rfc3339.to_string())
}
