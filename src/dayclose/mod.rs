//! Settlement (结算): the X report (any time, changes nothing), the drawer count, and the Z — the
//! terminal's end-of-day, its totals reconciled with the ledger's card payments family by family,
//! and the day's closure posted with its Z number and the perpetual grand total. After its Z a day
//! takes no more entries (the ledger's trigger enforces it); the next sale opens a new day.
//!
//! A Z that stops half-way is safe to run again: the ledger marks the end-of-day before it goes
//! out and keeps the terminal's totals the moment they arrive, so a retry after the terminal
//! closed its batch uses them instead of asking for a second end-of-day; a retry after a refused
//! end-of-day simply asks again; and an end-of-day whose answer was lost is never repeated — its
//! totals count as unknown and the manager closes over them with a note.
//!
//! Terminals send what they send: BMP 60 by card family (of any length), or only the total
//! (BMP 04), or nothing but their printed receipt. The reconciliation goes as far as that allows.
//! The ledger's card payments are grouped by the terminal's card type (8A), not by card names.

pub mod output;
pub mod pdf;

use chrono::{DateTime, Utc};

use crate::auth::{Approval, Permission};

use crate::ledger::{
    CardPaymentFigure, DayClose, DayFigures, DrawerCountRecord, EodKept, FamilyTotals, Ledger, LedgerError,
    TerminalTotals,
};
use crate::money::{Currency, Money};
use crate::terminal::zvt::messages::{CARD_FAMILIES, EodTotals};
use crate::terminal::{EndOfDay, PaymentTerminal, TerminalError};

/// The line of a reconciliation over all cards, when the terminal gave no totals by family.
pub const ALL_CARDS: &str = "all cards";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    X,
    Z,
}

/// The journal kind of a terminal configuration fault the installer must correct (today: the
/// terminal sent whole card numbers). Apart from `risk_event`, which is a merchant mismatch.
pub const TERMINAL_FLAG: &str = "terminal_flag";

/// The journal kind of a card refund that went to a card other than the one that paid (and was
/// reversed at once).
pub const REFUND_OTHER_CARD: &str = "refund_other_card";

/// A warning for the manager (the operator's guide's fraud signs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RiskFlag {
    /// The same card (masked number and card type) paid this many times in the day.
    CardRepeated {
        card: String,
        times: usize,
    },
    /// A card sale of a large round amount with a single line whose price was typed in.
    RoundOpenPriceCardSale {
        receipt_no: i64,
        amount: i64,
    },
    /// A card payment the till refunded to the card (reversal or refund).
    CardRefund {
        receipt_no: i64,
        amount: i64,
    },
    VoidedCarts(i64),
    NoSaleOpenings(i64),
    PriceOverrides(i64),
    /// The terminal answered for another merchant (跳码).
    MerchantMismatch(i64),
    /// The terminal sent whole card numbers (masked by the till before anything kept them):
    /// its configuration needs the installer.
    TerminalSentCardNumbers(i64),
    /// Card refunds put to a card other than the one that paid (reversed at once).
    RefundToOtherCard(i64),
}

/// Why a card family's totals differ between the terminal and the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The ledger has this payment; the terminal does not: it reversed it by itself.
    ReversedByTerminal {
        receipt_no: i64,
    },
    /// A card payment whose outcome the till never learnt, for this amount.
    UnresolvedUnknown {
        intent_id: i64,
    },
    /// The terminal booked more than this till posted: a payment keyed on the terminal itself or
    /// made by another till on it.
    OtherTerminal,
    Unexplained,
    /// The terminal closed its batch but its totals are not known (it sent none, or its answer
    /// was lost): compare with its own end-of-day receipt.
    TerminalTotalsUnknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyLine {
    pub family: &'static str,
    /// (count, amount) as the ledger has them.
    pub ledger: (i64, i64),
    /// (count, amount) as the terminal reported them; a count of -1: it sent none.
    pub terminal: (i64, i64),
    pub cause: Option<Cause>,
}

impl FamilyLine {
    pub fn agrees(&self) -> bool {
        if self.cause == Some(Cause::TerminalTotalsUnknown) {
            return false;
        }
        // The terminal's count field holds one byte: compare counts within its range.
        let counts = self.terminal.0 < 0 || self.ledger.0.rem_euclid(256) == self.terminal.0.rem_euclid(256);
        self.ledger.1 == self.terminal.1 && counts
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciliation {
    pub families: Vec<FamilyLine>,
}

impl Reconciliation {
    pub fn agrees(&self) -> bool {
        self.families.iter().all(FamilyLine::agrees)
    }

    pub fn differences(&self) -> impl Iterator<Item = &FamilyLine> {
        self.families.iter().filter(|f| !f.agrees())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub kind: ReportKind,
    pub currency: Currency,
    pub first_day: i64,
    pub last_day: i64,
    /// Business dates of the first and last day.
    pub dates: (String, String),
    pub training: bool,
    pub figures: DayFigures,
    pub flags: Vec<RiskFlag>,
    pub count: Option<DrawerCountRecord>,
    pub reconciliation: Option<Reconciliation>,
    pub close: Option<DayClose>,
    pub printed_at: DateTime<Utc>,
    /// The ledger's anchor (`seq:hash16`): the Z's own entry, or the chain's head when an X was
    /// printed. On paper, PDF and CSV it leaves the machine; `till ledger verify --anchor`
    /// proves the books still hold it.
    pub anchor: Option<String>,
}

impl Report {
    pub fn money(&self, minor: i64) -> Money {
        Money::from_minor(minor, self.currency).unwrap_or_else(|_| Money::zero(self.currency))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CloseError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Terminal(#[from] TerminalError),
    #[error("the counted cash differs from the expected by more than the limit: a manager's note is needed")]
    NoteNeeded,
    #[error("no business day {0}")]
    UnknownDay(i64),
    #[error("settlement needs a manager's approval")]
    NotPermitted,
    /// Card payments or sales still open: the Z would close a day whose money is not settled.
    #[error("open card payments or sales in progress: {0}")]
    OpenWork(String),
    #[error("the terminal and the ledger disagree: a manager's note is needed to close the day")]
    DifferenceNeedsNote,
}

/// Settlement's postings (the Z, drawer counts, cash in and out) take a manager's approval.
fn permitted(approval: &Approval) -> Result<(), CloseError> {
    if approval.covers(Permission::Settlement) { Ok(()) } else { Err(CloseError::NotPermitted) }
}

impl CloseError {
    pub fn localized(&self, locale: &str) -> String {
        match self {
            CloseError::Ledger(e) => e.localized(locale),
            CloseError::Terminal(e) => {
                rust_i18n::t!("report.error.terminal", locale = locale, detail = e.localized(locale)).into_owned()
            }
            CloseError::NoteNeeded => rust_i18n::t!("report.error.note_needed", locale = locale).into_owned(),
            CloseError::UnknownDay(n) => {
                rust_i18n::t!("report.error.unknown_day", locale = locale, day = n).into_owned()
            }
            CloseError::NotPermitted => rust_i18n::t!("report.error.not_permitted", locale = locale).into_owned(),
            CloseError::OpenWork(what) => {
                rust_i18n::t!("report.error.open_work", locale = locale, what = what).into_owned()
            }
            CloseError::DifferenceNeedsNote => {
                rust_i18n::t!("report.error.difference_needs_note", locale = locale).into_owned()
            }
        }
    }
}

/// The card family (BMP 60 order) of a ZVT card type (8A, PA00P015 rev 13.08 §12): girocard
/// (and the old ec-card, Geldkarte), JCB, Mastercard ("Eurocard"), Amex, Visa (with VISA
/// electron and V PAY), Diners; the rest — Maestro (46) included, which terminals list apart —
/// is "other".
pub fn family_of_type(card_type: i64) -> usize {
    match card_type {
        2 | 5 | 30 => 0,
        14 => 1,
        6 => 2,
        8 => 3,
        10 | 11 | 13 => 4,
        12 => 5,
        _ => 6,
    }
}

/// A card payment's family: by the terminal's card type; by its name only where the ledger has
/// no type (results kept before schema 3).
fn family(c: &CardPaymentFigure) -> usize {
    c.card_type.map_or_else(|| family_of(&c.card_name), family_of_type)
}

/// The card family (BMP 60 order) a card name belongs to, for results without a card type.
pub fn family_of(card_name: &str) -> usize {
    let name = card_name.to_ascii_lowercase();
    match name.as_str() {
        "girocard" | "maestro" | "ec" => 0,
        "jcb" => 1,
        "mastercard" | "eurocard" => 2,
        "amex" | "american express" => 3,
        "visa" => 4,
        "diners" => 5,
        _ => 6,
    }
}

fn dates(ledger: &Ledger, first: i64, last: i64) -> Result<(String, String), CloseError> {
    let days = ledger.days()?;
    let date =
        |n: i64| days.iter().find(|d| d.day_no == n).map(|d| d.business_date.clone()).ok_or(CloseError::UnknownDay(n));
    Ok((date(first)?, date(last)?))
}

/// The X report of days `first..=last` (one day, or a month): changes nothing.
pub fn x_report(
    ledger: &Ledger,
    first: i64,
    last: i64,
    training: bool,
    now: DateTime<Utc>,
) -> Result<Report, CloseError> {
    Ok(report_and_cards(ledger, first, last, training, now)?.0)
}

fn report_and_cards(
    ledger: &Ledger,
    first: i64,
    last: i64,
    training: bool,
    now: DateTime<Utc>,
) -> Result<(Report, Vec<CardPaymentFigure>), CloseError> {
    let dates = dates(ledger, first, last)?;
    let mut figures = ledger.day_figures(first, last, training)?;
    // Cashiers by name (the ledger's users, or training's demo users), not by id.
    let mut names: std::collections::HashMap<String, String> =
        crate::auth::demo_users().into_iter().map(|u| (u.id, u.name)).collect();
    names.extend(ledger.users()?.into_iter().map(|u| (u.id, u.name)));
    for row in &mut figures.cashiers {
        if let Some(name) = names.get(&row.0) {
            row.0 = name.clone();
        }
    }
    let cards = ledger.card_payment_figures(first, last, training)?;
    let flags = risk_flags(&figures, &cards);
    let count = if first == last { ledger.drawer_count(last)? } else { None };
    let close = if first == last { ledger.day_close(last)? } else { None };
    let anchor = match &close {
        Some(z) => ledger.anchor_of(z.seq)?,
        None => ledger.anchor()?,
    };
    let report = Report {
        kind: if close.is_some() { ReportKind::Z } else { ReportKind::X },
        currency: ledger.currency(),
        first_day: first,
        last_day: last,
        dates,
        training,
        figures,
        flags,
        count,
        reconciliation: None,
        close,
        printed_at: now,
        anchor: anchor.map(|a| a.to_string()),
    };
    Ok((report, cards))
}

/// The guide's fraud signs in a day's figures.
pub fn risk_flags(figures: &DayFigures, cards: &[CardPaymentFigure]) -> Vec<RiskFlag> {
    let mut flags = Vec::new();
    let mut seen: Vec<(String, usize)> = Vec::new();
    for c in cards.iter().filter(|c| c.kind == "sale" && !c.masked_pan.is_empty()) {
        let card = format!("{} {}", c.card_name, c.masked_pan);
        match seen.iter_mut().find(|(k, _)| *k == card) {
            Some((_, n)) => *n += 1,
            None => seen.push((card, 1)),
        }
    }
    flags.extend(seen.into_iter().filter(|(_, n)| *n >= 3).map(|(card, times)| RiskFlag::CardRepeated { card, times }));
    for c in cards {
        // Large and round (at least 500.00, whole hundreds), one line, its price typed in.
        if c.kind == "sale" && c.amount >= 50_000 && c.amount % 10_000 == 0 && c.lines == 1 && c.overridden_lines == 1 {
            flags.push(RiskFlag::RoundOpenPriceCardSale { receipt_no: c.receipt_no, amount: c.amount });
        }
        if c.kind == "refund" {
            flags.push(RiskFlag::CardRefund { receipt_no: c.receipt_no, amount: c.amount });
        }
    }
    for (kind, make) in [
        ("void_cart", RiskFlag::VoidedCarts as fn(i64) -> RiskFlag),
        ("no_sale", RiskFlag::NoSaleOpenings),
        ("risk_event", RiskFlag::MerchantMismatch),
        (TERMINAL_FLAG, RiskFlag::TerminalSentCardNumbers),
        (REFUND_OTHER_CARD, RiskFlag::RefundToOtherCard),
    ] {
        let n = figures.entries_of(kind);
        if n > 0 {
            flags.push(make(n));
        }
    }
    if figures.price_overrides > 0 {
        flags.push(RiskFlag::PriceOverrides(figures.price_overrides));
    }
    flags
}

/// The ledger's card payments per family: (count, amount). A reversal and the payment it
/// reversed (same terminal receipt number) cancel out, as they do in the terminal's batch.
fn ledger_families(cards: &[CardPaymentFigure]) -> FamilyTotals {
    let mut out: FamilyTotals = [(0, 0); 7];
    let reversed: Vec<i64> = cards
        .iter()
        .filter(|c| c.kind == "refund")
        .filter_map(|c| c.card_receipt)
        .filter(|r| cards.iter().any(|s| s.kind == "sale" && s.card_receipt == Some(*r)))
        .collect();
    for c in cards {
        if c.card_receipt.is_some_and(|r| reversed.contains(&r)) {
            continue;
        }
        let slot = &mut out[family(c)];
        slot.0 += 1;
        slot.1 += c.amount;
    }
    out
}

/// Lines up the terminal's end-of-day totals with the ledger's card payments and names the
/// likely cause of each difference: family by family where the terminal sent BMP 60, else over
/// all cards.
pub fn reconcile(
    cards: &[CardPaymentFigure],
    terminal: &TerminalTotals,
    open_intents: &[crate::ledger::CardIntentRecord],
) -> Reconciliation {
    let ledger = ledger_families(cards);
    let all_cards = ledger.iter().fold((0, 0), |(n, a), (count, amount)| (n + count, a + amount));
    let terminal = match terminal {
        TerminalTotals::ByFamily(t) => t,
        TerminalTotals::Total(total) => {
            let mut line = FamilyLine { family: ALL_CARDS, ledger: all_cards, terminal: (-1, *total), cause: None };
            if !line.agrees() {
                line.cause = Some(cause_of(cards, open_intents, None, all_cards.1 - total));
            }
            return Reconciliation { families: vec![line] };
        }
        TerminalTotals::Unknown => {
            let cause = Some(Cause::TerminalTotalsUnknown);
            return Reconciliation {
                families: vec![FamilyLine { family: ALL_CARDS, ledger: all_cards, terminal: (-1, 0), cause }],
            };
        }
    };
    let families = (0..7)
        .map(|i| {
            let mut line =
                FamilyLine { family: CARD_FAMILIES[i], ledger: ledger[i], terminal: terminal[i], cause: None };
            if !line.agrees() {
                line.cause = Some(cause_of(cards, open_intents, Some(i), line.ledger.1 - line.terminal.1));
            }
            line
        })
        .filter(|l| l.ledger != (0, 0) || l.terminal != (0, 0))
        .collect();
    Reconciliation { families }
}

/// The likely cause of `missing` (ledger minus terminal) in a family, or over all cards.
fn cause_of(
    cards: &[CardPaymentFigure],
    open_intents: &[crate::ledger::CardIntentRecord],
    family_no: Option<usize>,
    missing: i64,
) -> Cause {
    if missing > 0 {
        cards
            .iter()
            .rev()
            .find(|c| family_no.is_none_or(|i| family(c) == i) && c.amount == missing)
            .map_or(Cause::Unexplained, |c| Cause::ReversedByTerminal { receipt_no: c.receipt_no })
    } else {
        open_intents
            .iter()
            .find(|o| o.amount_minor == -missing)
            .map_or(Cause::OtherTerminal, |o| Cause::UnresolvedUnknown { intent_id: o.intent_id })
    }
}

/// What the terminal's end-of-day told: BMP 60 by family, else its total, else nothing.
pub fn terminal_totals(eod: &EndOfDay) -> TerminalTotals {
    match (&eod.totals, eod.total_minor) {
        (Some(t), _) => TerminalTotals::ByFamily(family_totals(t)),
        (None, Some(total)) => TerminalTotals::Total(total as i64),
        // Neither: the total its end-of-day receipt prints, when it prints exactly one.
        (None, None) => match eod.receipts.iter().filter_map(|r| r.printed_total()).collect::<Vec<_>>().as_slice() {
            [total] => TerminalTotals::Total(*total),
            _ => TerminalTotals::Unknown,
        },
    }
}

/// The terminal's end-of-day as the ledger keeps it beside the totals.
pub fn eod_kept(eod: &EndOfDay) -> EodKept {
    EodKept {
        status: eod.status_kept.clone(),
        receipts: crate::ledger::receipts_text(eod.receipts.iter().map(|r| r.text())),
    }
}

/// The terminal's end-of-day for the open day, asked at most once per Z: the totals already
/// kept; or, when an end-of-day went out and its answer never arrived, "unknown" (never a
/// second one: the batch may be closed); or the terminal's answer now, marked before the
/// command goes out and kept the moment it arrives.
fn terminal_eod_once(
    ledger: &mut Ledger,
    terminal: &mut dyn PaymentTerminal,
    day: i64,
    now: DateTime<Utc>,
) -> Result<TerminalTotals, CloseError> {
    if let Some(kept) = ledger.terminal_eod(day)? {
        return Ok(kept);
    }
    if ledger.eod_in_doubt(day)? {
        let lost = EodKept { status: "answer lost".into(), receipts: String::new() };
        ledger.post_terminal_eod(&TerminalTotals::Unknown, &lost, now)?;
        return Ok(TerminalTotals::Unknown);
    }
    ledger.post_eod_started(now)?;
    match terminal.end_of_day() {
        Ok(eod) => {
            let totals = terminal_totals(&eod);
            ledger.post_terminal_eod(&totals, &eod_kept(&eod), now)?;
            Ok(totals)
        }
        Err(e @ (TerminalError::Refused(code) | TerminalError::Aborted(code))) => {
            ledger.post_eod_refused(code, now)?;
            Err(e.into())
        }
        // The batch may be closed: its totals are unknown from now on, and the manager is told.
        Err(e) => {
            let lost = EodKept { status: format!("answer lost: {e}"), receipts: String::new() };
            ledger.post_terminal_eod(&TerminalTotals::Unknown, &lost, now)?;
            Err(e.into())
        }
    }
}

fn family_totals(eod: &EodTotals) -> FamilyTotals {
    let mut out: FamilyTotals = [(0, 0); 7];
    for (slot, (n, amount)) in out.iter_mut().zip(eod.by_card) {
        *slot = (i64::from(n), amount as i64);
    }
    out
}

/// The drawer's cash by denomination, against what the ledger expects.
pub struct Count<'a> {
    /// (face value, how many).
    pub denominations: &'a [(Money, u32)],
    /// The counter did not see the expected amount before entering the count.
    pub blind: bool,
    pub note: &'a str,
    /// A difference beyond this needs a note.
    pub limit: Money,
}

/// Posts a drawer count of the open day (training or real figures) and returns it.
pub fn count_drawer(
    ledger: &mut Ledger,
    count: &Count<'_>,
    approval: &Approval,
    training: bool,
    now: DateTime<Utc>,
) -> Result<DrawerCountRecord, CloseError> {
    permitted(approval)?;
    let day = ledger.ensure_day(Money::zero(ledger.currency()), now)?.day_no;
    let expected = ledger.day_figures(day, day, training)?.expected_cash();
    let counted: i64 = count.denominations.iter().map(|(face, n)| face.minor() * i64::from(*n)).sum();
    if (counted - expected).abs() > count.limit.minor() && count.note.trim().is_empty() {
        return Err(CloseError::NoteNeeded);
    }
    let record = DrawerCountRecord {
        counted_minor: counted,
        expected_minor: expected,
        blind: count.blind,
        note: count.note.trim().to_string(),
        denominations: count.denominations.iter().map(|(f, n)| (f.minor(), *n)).collect(),
    };
    ledger.post_drawer_count(&record, now)?;
    Ok(record)
}

/// What keeps the day from closing: open card intents and sales in progress that hold money or
/// are still at the counter (a parked cart without payments may wait for the next day). Named
/// with how to settle them.
pub fn open_work(ledger: &Ledger) -> Result<Vec<String>, LedgerError> {
    ledger.open_work()
}

/// The Z: the terminal's end-of-day (or the totals it already gave for this day), the
/// reconciliation, and the day's closure. Nothing is closed when the terminal refuses, while card
/// payments or sales in progress are open, or when the terminal and the ledger disagree without a
/// manager's note (journaled with the Z). The figures are computed as of the ledger's head, and
/// the closure is refused inside its transaction if anything was posted since: then they are
/// computed again, so a sale posted meanwhile is never in the closed day but not in its figures.
pub fn close_day(
    ledger: &mut Ledger,
    terminal: &mut dyn PaymentTerminal,
    approval: &Approval,
    training: bool,
    difference_note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Report, CloseError> {
    permitted(approval)?;
    let day = ledger.current_day()?.ok_or(LedgerError::NoDayOpen)?.day_no;
    let open = open_work(ledger)?;
    if !open.is_empty() {
        return Err(CloseError::OpenWork(open.join("; ")));
    }
    let totals = terminal_eod_once(ledger, terminal, day, now)?;
    let note = difference_note.map(str::trim).filter(|n| !n.is_empty());
    let mut noted = false;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let as_of = ledger.head()?.map_or(0, |h| h.seq);
        let (mut report, cards) = report_and_cards(ledger, day, day, training, now)?;
        let reconciliation = reconcile(&cards, &totals, &ledger.open_card_intents()?);
        if !reconciliation.agrees() {
            let Some(note) = note else { return Err(CloseError::DifferenceNeedsNote) };
            if !noted {
                // Closed over a difference on a manager's word: who, why, and what differed.
                let differs: Vec<String> = reconciliation
                    .differences()
                    .map(|f| format!("{}: terminal {} ledger {}", f.family, f.terminal.1, f.ledger.1))
                    .collect();
                ledger.append(
                    "z_difference_note",
                    &[("by", approval.by().to_string()), ("note", note.to_string()), ("differs", differs.join(", "))],
                    now,
                )?;
                noted = true;
                continue;
            }
        }
        report.reconciliation = Some(reconciliation);
        // Both sets of figures are kept with the Z, as the rows give them (cashiers by id, not
        // by the names the report shows): `verify` computes them again from the day's rows. The
        // grand total counts real sales only.
        let real = ledger.day_figures(day, day, false)?;
        let practice = ledger.day_figures(day, day, true)?;
        match ledger.post_day_close(day, &[(false, &real), (true, &practice)], as_of, now) {
            Ok(close) => {
                report.anchor = ledger.anchor_of(close.seq)?.map(|a| a.to_string());
                report.close = Some(close);
                report.kind = ReportKind::Z;
                return Ok(report);
            }
            Err(LedgerError::ChangedMeanwhile) if attempts < 5 => continue,
            Err(LedgerError::WorkOpen(what)) => return Err(CloseError::OpenWork(what)),
            Err(e) => return Err(e.into()),
        }
    }
}

/// How many backups the Z keeps in the data directory's `backups` folder.
/// The backup after a Z: into the configured folder (a USB stick, say), or `backups` beside the
/// ledger, keeping the newest `keep`.
pub fn backup_after_z(
    ledger: &Ledger,
    backup: &crate::config::settings::BackupSettings,
    now: DateTime<Utc>,
) -> Result<std::path::PathBuf, crate::ledger::backup::BackupError> {
    let dir = match &backup.folder {
        Some(folder) => folder.clone(),
        None => ledger.path().parent().map(|d| d.join("backups")).unwrap_or_else(|| "backups".into()),
    };
    crate::ledger::backup::backup_into(ledger, &dir, backup.keep, now)
}

/// Cash put into or taken out of the drawer, in the name of the manager who approved it.
pub fn move_cash(
    ledger: &mut Ledger,
    direction: crate::ledger::CashDirection,
    amount: Money,
    reason: &str,
    approval: &Approval,
    now: DateTime<Utc>,
) -> Result<(), CloseError> {
    permitted(approval)?;
    ledger.post_cash_movement(direction, amount, reason, approval.by(), now)?;
    Ok(())
}

/// The notes and coins of a currency, largest first (for counting the drawer).
pub fn denominations(currency: Currency) -> Vec<Money> {
    let faces: &[i64] = match currency.code {
        "CNY" => &[10_000, 5_000, 2_000, 1_000, 500, 100, 50, 10],
        "EUR" => &[50_000, 20_000, 10_000, 5_000, 2_000, 1_000, 500, 200, 100, 50, 20, 10, 5, 2, 1],
        "USD" => &[10_000, 5_000, 2_000, 1_000, 500, 100, 25, 10, 5, 1],
        "JPY" => &[10_000, 5_000, 1_000, 500, 100, 50, 10, 5, 1],
        _ => &[10_000, 5_000, 2_000, 1_000, 500, 100, 50, 10, 5, 1],
    };
    faces.iter().filter_map(|&m| Money::from_minor(m, currency).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(receipt_no: i64, kind: &str, amount: i64, name: &str, card_receipt: i64) -> CardPaymentFigure {
        CardPaymentFigure {
            receipt_no,
            kind: kind.into(),
            amount,
            card_name: name.into(),
            masked_pan: "4748******7743".into(),
            card_receipt: Some(card_receipt),
            lines: 1,
            overridden_lines: 0,
            card_type: None,
        }
    }

    #[test]
    fn a_reversal_cancels_its_payment_and_a_missing_payment_is_named() {
        let cards = vec![
            card(1, "sale", 350, "VISA", 1),
            card(2, "sale", 1200, "girocard", 2),
            card(3, "refund", -350, "VISA", 1),
            card(4, "sale", 990, "VISA", 3),
        ];
        let mut terminal: FamilyTotals = [(0, 0); 7];
        terminal[0] = (1, 1200);
        // The terminal reversed receipt 4's payment by itself.
        terminal[4] = (0, 0);
        let r = reconcile(&cards, &TerminalTotals::ByFamily(terminal), &[]);
        assert!(!r.agrees());
        let visa = r.differences().next().unwrap();
        assert_eq!((visa.family, visa.ledger, visa.terminal), ("VISA", (1, 990), (0, 0)));
        assert_eq!(visa.cause, Some(Cause::ReversedByTerminal { receipt_no: 4 }));
        terminal[4] = (1, 990);
        assert!(reconcile(&cards, &TerminalTotals::ByFamily(terminal), &[]).agrees());
    }

    #[test]
    fn families_go_by_the_terminals_card_type_and_a_total_alone_is_compared_over_all_cards() {
        // "Debit Mastercard", "VISA DEBIT", "V PAY": names the old grouping put under "other".
        let typed = |receipt: i64, name: &str, card_type: i64| CardPaymentFigure {
            card_type: Some(card_type),
            ..card(receipt, "sale", 500, name, receipt)
        };
        let cards = vec![typed(1, "Debit Mastercard", 6), typed(2, "VISA DEBIT", 10), typed(3, "V PAY", 13)];
        let mut terminal: FamilyTotals = [(0, 0); 7];
        terminal[2] = (1, 500);
        terminal[4] = (2, 1000);
        assert!(reconcile(&cards, &TerminalTotals::ByFamily(terminal), &[]).agrees());
        // Only BMP 04: one line over all cards, the count not compared.
        let r = reconcile(&cards, &TerminalTotals::Total(1500), &[]);
        assert!(r.agrees(), "{r:?}");
        assert_eq!((r.families[0].family, r.families[0].ledger), (ALL_CARDS, (3, 1500)));
        let r = reconcile(&cards, &TerminalTotals::Total(1000), &[]);
        assert_eq!(r.families[0].cause, Some(Cause::ReversedByTerminal { receipt_no: 3 }));
        // Totals unknown: never agrees; the manager compares with the terminal's receipt.
        let r = reconcile(&cards, &TerminalTotals::Unknown, &[]);
        assert!(!r.agrees());
        assert_eq!(r.families[0].cause, Some(Cause::TerminalTotalsUnknown));
    }

    #[test]
    fn the_same_card_three_times_is_flagged() {
        let cards: Vec<_> = (1..=3).map(|i| card(i, "sale", 100, "VISA", i)).collect();
        let flags = risk_flags(&DayFigures::default(), &cards);
        assert_eq!(flags, vec![RiskFlag::CardRepeated { card: "VISA 4748******7743".into(), times: 3 }]);
    }
}
