//! Sales in progress brought back after a crash, a kill or a closed window: the stored cart
//! (`ledger::in_progress`) with the card payments the ledger holds for it. The ledger's booked
//! card results decide which card payments the sale carries, not the stored copy: a kill between
//! the approval and the copy's update loses nothing.

use crate::ledger::{CardResultRecord, HeldCard, InProgress, Ledger, LedgerError, in_progress};
use crate::money::Money;
use crate::sale::{CardPayment, Sale, SaleError, SaleSettings, SaleState, SnapshotError, TenderKind};

#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Sale(#[from] SaleError),
}

impl ResumeError {
    pub fn localized(&self, locale: &str) -> String {
        match self {
            ResumeError::Ledger(e) => e.localized(locale),
            ResumeError::Sale(e) => e.localized(locale),
            ResumeError::Snapshot(e) => {
                rust_i18n::t!("error.resume.snapshot", locale = locale, line = e.line, reason = e.reason).into_owned()
            }
        }
    }
}

/// A sale in progress as the till takes it back.
#[derive(Debug, Clone)]
pub struct Resumed {
    pub id: i64,
    pub sale: Sale,
    /// Card intents of it whose outcome is still open: settle them before finishing the sale.
    pub open_intents: Vec<i64>,
}

/// The sale's card payment as the ledger's booked result has it.
pub fn card_of(result: &CardResultRecord) -> CardPayment {
    CardPayment {
        masked_pan: result.masked_pan.clone().unwrap_or_default(),
        card_name: result.card_name.clone().unwrap_or_default(),
        receipt_no: result.receipt_no.unwrap_or(0) as u32,
        trace: result.trace.unwrap_or(0) as u32,
        terminal_id: result.terminal_id.clone().unwrap_or_default(),
        aid: result.aid.clone().unwrap_or_default(),
    }
}

/// Brings the sale's card payments in line with what the ledger holds for it: a booked payment
/// the copy lacks is added, a card payment the ledger no longer holds (reversed) is taken off.
pub fn reconcile(sale: &mut Sale, held: &[HeldCard]) -> Result<(), ResumeError> {
    let stale: Vec<(u32, u32)> = sale
        .tenders()
        .iter()
        .filter_map(|t| match &t.kind {
            TenderKind::Card(c) => Some((c.receipt_no, c.trace)),
            _ => None,
        })
        .filter(|(r, t)| {
            !held.iter().any(|h| h.result.receipt_no == Some(i64::from(*r)) && h.result.trace == Some(i64::from(*t)))
        })
        .collect();
    for (receipt, trace) in stale {
        sale.reversed_card(receipt, trace);
    }
    for h in held {
        let card = card_of(&h.result);
        if sale.has_card(card.receipt_no, card.trace) {
            continue;
        }
        if sale.state() == SaleState::Open {
            sale.begin_payment()?;
        }
        sale.tender_card(Money::from_minor(h.amount_minor, sale.currency()).map_err(SaleError::from)?, card)?;
    }
    Ok(())
}

/// One stored sale in progress, reconciled with the ledger.
pub fn resume(ledger: &Ledger, settings: &SaleSettings, stored: &InProgress) -> Result<Resumed, ResumeError> {
    let mut sale = Sale::from_snapshot(settings.clone(), &stored.body)?;
    reconcile(&mut sale, &ledger.held_cards(stored.id)?)?;
    let reference = in_progress::reference_of(stored.id);
    let open_intents =
        ledger.open_card_intents()?.into_iter().filter(|i| i.reference == reference).map(|i| i.intent_id).collect();
    Ok(Resumed { id: stored.id, sale, open_intents })
}

/// Every stored sale in progress of this origin, oldest first.
pub fn resume_all(ledger: &Ledger, settings: &SaleSettings, origin: &str) -> Result<Vec<Resumed>, ResumeError> {
    let (resumed, mut failed) = resume_each(ledger, settings, origin)?;
    match failed.pop() {
        Some((_, e)) => Err(e),
        None => Ok(resumed),
    }
}

/// Sales in progress read back, and apart those that could not be (with their id).
pub type ResumedEach = (Vec<Resumed>, Vec<(i64, ResumeError)>);

/// Every stored sale in progress of this origin that can be read back, and apart those that
/// cannot (with their id), so one unreadable copy does not hide the others. An unreadable copy
/// stays in the ledger as it is (and keeps the Z from closing over it).
pub fn resume_each(ledger: &Ledger, settings: &SaleSettings, origin: &str) -> Result<ResumedEach, LedgerError> {
    let mut resumed = Vec::new();
    let mut failed = Vec::new();
    for stored in ledger.in_progress(Some(origin))? {
        match resume(ledger, settings, &stored) {
            Ok(r) => resumed.push(r),
            Err(e) => failed.push((stored.id, e)),
        }
    }
    Ok((resumed, failed))
}
