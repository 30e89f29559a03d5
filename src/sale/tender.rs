//! Tenders: how a sale is paid (or a refund paid out).

use crate::money::Money;

use super::SaleError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tender {
    pub kind: TenderKind,
    /// What this tender pays toward the sale (negative when a refund pays out).
    pub amount: Money,
    /// What the customer handed over (cash); equals `amount` for other tenders.
    pub given: Money,
    /// Cash handed back.
    pub change: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenderKind {
    Cash,
    Card(CardPayment),
    External { method: ExternalMethod, reference: String },
}

impl TenderKind {
    /// The stable name stored in the ledger.
    pub fn code(&self) -> &'static str {
        match self {
            TenderKind::Cash => "cash",
            TenderKind::Card(_) => "card",
            TenderKind::External { method, .. } => method.code(),
        }
    }
}

/// Tenders settled outside the till, proven by a reference the cashier scans or types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternalMethod {
    /// 扫码: Alipay, WeChat Pay, UnionPay QR, taken on a separate scanner or the customer's phone.
    ScanCode,
    Voucher,
    Other,
}

impl ExternalMethod {
    pub fn code(self) -> &'static str {
        match self {
            ExternalMethod::ScanCode => "scan_code",
            ExternalMethod::Voucher => "voucher",
            ExternalMethod::Other => "other",
        }
    }

    pub fn from_code(code: &str) -> Option<ExternalMethod> {
        [ExternalMethod::ScanCode, ExternalMethod::Voucher, ExternalMethod::Other]
            .into_iter()
            .find(|m| m.code() == code)
    }
}

/// What the terminal reported about an approved card payment. Never a full card number.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CardPayment {
    /// Masked as the terminal prints it, e.g. `474843******7743`.
    pub masked_pan: String,
    pub card_name: String,
    pub receipt_no: u32,
    pub trace: u32,
    pub terminal_id: String,
    pub aid: String,
}

impl CardPayment {
    /// Refuses anything that looks like a full card number: at most the first 6 and last 4
    /// digits may show (PCI DSS), so a PAN of 13+ digits must have its middle masked.
    pub fn validate(&self) -> Result<(), SaleError> {
        if !is_masked_pan(&self.masked_pan) {
            return Err(SaleError::FullPan);
        }
        Ok(())
    }
}

pub fn is_masked_pan(pan: &str) -> bool {
    let digits = pan.chars().filter(|c| c.is_ascii_digit()).count();
    let masked = pan.chars().filter(|c| matches!(c, '*' | 'X' | 'x' | '#')).count();
    pan.is_empty()
        || (digits <= 10
            && pan.chars().all(|c| c.is_ascii_digit() || matches!(c, '*' | 'X' | 'x' | '#' | ' '))
            && (masked > 0 || digits <= 4))
}
