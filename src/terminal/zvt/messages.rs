//! ZVT messages: the commands the cash register (ECR) sends, and what the terminal (PT) answers,
//! decoded into plain data.

use super::apdu::{
    Apdu, Bmp, ZvtDecodeError, bcd_digits, currency_bcd, from_bcd, parse_bmps, password_bcd, push_bmp, to_bcd,
};

/// Registration config byte bits (06 00).
pub mod config {
    pub const ECR_PRINTS_PAYMENT_RECEIPTS: u8 = 0x02;
    pub const ECR_PRINTS_ADMIN_RECEIPTS: u8 = 0x04;
    pub const ECR_WANTS_INTERMEDIATE_STATUS: u8 = 0x08;
    pub const ECR_CONTROLS_PAYMENT: u8 = 0x10;
    pub const ECR_CONTROLS_ADMIN: u8 = 0x20;
    /// With 02/04 set: the terminal sends its receipts as print lines (06 D1) or text blocks
    /// (06 D3) for the ECR's printer (PA00P015 rev 13.08 §2.1, Table 1, "ECR print-type").
    pub const ECR_PRINT_LINES: u8 = 0x80;
    /// What till asks for (0xBE): the terminal's own receipts — payments and administration —
    /// as print lines, printed on the till's printer and kept in the ledger; the intermediate
    /// texts for its screen; payment and admin functions started from the till only.
    pub const TILL: u8 = 0x80 | 0x20 | 0x10 | 0x08 | 0x04 | 0x02;
}

/// Positive acknowledgement `80 00 00`.
pub fn ack() -> Apdu {
    Apdu::new(0x80, 0x00, vec![])
}

/// Negative acknowledgement `84 xx 00` (CLASS 84, the code in INSTR, no data): 9C asks the
/// terminal to repeat in 2 s; any other code after a status information means "goods not issued".
pub fn nak(code: u8) -> Apdu {
    Apdu::new(0x84, code, vec![])
}

pub fn registration(password: u32, config_byte: u8, currency: Option<u16>) -> Apdu {
    let mut data = password_bcd(password).to_vec();
    data.push(config_byte);
    if let Some(c) = currency {
        data.extend_from_slice(&currency_bcd(c));
    }
    Apdu::new(0x06, 0x00, data)
}

pub fn authorization(amount_minor: u64, currency: Option<u16>) -> Apdu {
    let mut data = Vec::new();
    push_bmp(&mut data, 0x04, &to_bcd(amount_minor, 6));
    if let Some(c) = currency {
        push_bmp(&mut data, 0x49, &currency_bcd(c));
    }
    Apdu::new(0x06, 0x01, data)
}

pub fn reversal(password: u32, receipt_no: u16) -> Apdu {
    let mut data = password_bcd(password).to_vec();
    push_bmp(&mut data, 0x87, &to_bcd(u64::from(receipt_no), 2));
    Apdu::new(0x06, 0x30, data)
}

pub fn refund(password: u32, amount_minor: u64, currency: Option<u16>) -> Apdu {
    let mut data = password_bcd(password).to_vec();
    push_bmp(&mut data, 0x04, &to_bcd(amount_minor, 6));
    if let Some(c) = currency {
        push_bmp(&mut data, 0x49, &currency_bcd(c));
    }
    Apdu::new(0x06, 0x31, data)
}

/// The command with the terminal's identifier of the last transaction the ECR holds as booked
/// mirrored in TLV tag 1F1F (BMP 06), for the TLV synchronisation of PA00P015 rev 13.08 §4.2:
/// a terminal whose last transaction is the next one after it reverses that one by itself
/// (the ECR never took it). For transaction commands only (06 01, 06 30, 06 31).
pub fn mirroring(command: Apdu, transaction_id: &[u8]) -> Apdu {
    let mut data = command.data;
    let tlv = super::apdu::encode_tlv(&[super::apdu::Tlv { tag: 0x1F1F, value: transaction_id.to_vec() }]);
    push_bmp(&mut data, 0x06, &tlv);
    Apdu::new(command.class, command.instr, data)
}

pub fn end_of_day(password: u32) -> Apdu {
    Apdu::new(0x06, 0x50, password_bcd(password).to_vec())
}

pub fn status_enquiry(password: u32, service: Option<u8>) -> Apdu {
    let mut data = password_bcd(password).to_vec();
    if let Some(s) = service {
        push_bmp(&mut data, 0x03, &[s]);
    }
    Apdu::new(0x05, 0x01, data)
}

pub fn diagnosis() -> Apdu {
    Apdu::new(0x06, 0x70, vec![])
}

/// Repeat Receipt; `resend_status` sets service bit 0 (resend the last status information).
pub fn repeat_receipt(password: u32, resend_status: bool) -> Apdu {
    let mut data = password_bcd(password).to_vec();
    if resend_status {
        push_bmp(&mut data, 0x03, &[0x01]);
    }
    Apdu::new(0x06, 0x20, data)
}

pub fn abort() -> Apdu {
    Apdu::new(0x06, 0xB0, vec![])
}

pub fn log_off() -> Apdu {
    Apdu::new(0x06, 0x02, vec![])
}

/// End-of-day totals (BMP 60): the receipt range and count and amount per card family.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EodTotals {
    pub first_receipt: u16,
    pub last_receipt: u16,
    /// girocard, JCB, Eurocard/Mastercard, Amex, VISA, Diners, other: (count, amount in minor units).
    pub by_card: [(u8, u64); 7],
}

pub const CARD_FAMILIES: [&str; 7] = ["girocard", "JCB", "Eurocard", "Amex", "VISA", "Diners", "other"];

impl EodTotals {
    /// BMP 60 as PA00P015 lays it out: receipt numbers, then 7-byte (count, amount) slots for
    /// the card families. Terminals send 53 bytes (all 7 families) or fewer slots; what is there
    /// is taken, a partial slot or slots past the seventh are not (the terminal has closed its
    /// batch either way: refusing its totals would only invite a second end-of-day).
    pub fn decode(value: &[u8]) -> Result<EodTotals, ZvtDecodeError> {
        if value.len() < 4 {
            return Err(ZvtDecodeError::Truncated { bmp: 0x60 });
        }
        let bcd = |b: &[u8]| from_bcd(b).ok_or(ZvtDecodeError::BadBcd(0x60));
        let mut t = EodTotals {
            first_receipt: bcd(&value[0..2])? as u16,
            last_receipt: bcd(&value[2..4])? as u16,
            ..Default::default()
        };
        for (slot, chunk) in t.by_card.iter_mut().zip(value[4..].chunks_exact(7)) {
            *slot = (chunk[0], bcd(&chunk[1..7])?);
        }
        Ok(t)
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = to_bcd(u64::from(self.first_receipt), 2);
        out.extend(to_bcd(u64::from(self.last_receipt), 2));
        for (count, amount) in self.by_card {
            out.push(count);
            out.extend(to_bcd(amount, 6));
        }
        out
    }

    pub fn total_count(&self) -> u32 {
        self.by_card.iter().map(|(c, _)| u32::from(*c)).sum()
    }

    pub fn total_amount(&self) -> u64 {
        self.by_card.iter().map(|(_, a)| a).sum()
    }
}

/// Status information (04 0F), decoded. Fields the terminal did not send are None.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatusInfo {
    pub result_code: Option<u8>,
    pub amount_minor: Option<u64>,
    pub trace: Option<u32>,
    /// HHMMSS
    pub time: Option<u32>,
    /// MMDD
    pub date: Option<u16>,
    /// YYMM
    pub expiry: Option<u16>,
    pub payment_type: Option<u8>,
    /// Masked as sent: never more than the terminal shows.
    pub masked_pan: Option<String>,
    pub terminal_id: Option<String>,
    pub merchant_no: Option<String>,
    pub aid: Option<String>,
    pub text: Option<String>,
    pub currency: Option<u16>,
    pub receipt_no: Option<u16>,
    pub turnover_no: Option<u32>,
    pub card_type: Option<u8>,
    pub card_name: Option<String>,
    /// TLV 1F1F: the terminal's unique identifier of this transaction (its receipt number,
    /// binary), offered for the synchronisation of §4.2; see [`mirroring`].
    pub transaction_id: Option<Vec<u8>>,
    pub totals: Option<EodTotals>,
    /// Every field as received, including those not decoded above.
    pub fields: Vec<Bmp>,
    /// The first field the specification does not list, and how many bytes from it on were not
    /// decoded (its length cannot be known). Not the bytes: they may hold a card number.
    pub undecoded: Option<(u8, usize)>,
    /// The terminal sent the card number unmasked (its configuration is wrong): it was masked
    /// here, first 6 and last 4, before anything could store or print it.
    pub pan_was_unmasked: bool,
    /// A text field (card name, additional text) failed the checks of `terminal_text`
    /// (a card-number-like digit run, or too long): kept masked or cut, and flagged.
    pub text_flagged: bool,
}

/// Longest text the till keeps of a terminal's field (card name, additional text, AID, VU).
pub const TEXT_MAX: usize = 64;

/// A text field as the terminal sent it, made safe to store, print and export: printable ASCII
/// only (anything else '?'), every card-number-like digit run masked but its first 6 and last 4
/// (see [`mask_card_numbers`]), then at most [`TEXT_MAX`] characters. Returns the text and
/// whether it had to be changed beyond the printable-only rule.
pub fn terminal_text(value: &[u8]) -> (String, bool) {
    let (masked, mut flagged) = mask_card_numbers(&ascii(value));
    if masked.chars().count() > TEXT_MAX {
        flagged = true;
    }
    (masked.chars().take(TEXT_MAX).collect(), flagged)
}

/// Masks every card number in a text — a run of 12 to 19 digits that passes the Luhn check (as
/// every card number does, ISO/IEC 7812), also when written in groups with single spaces or
/// dashes between them ("4111 1111 1111 1111") — but its first 6 and last 4 digits. A run glued
/// to letters ("AID: A0000000041010") or failing the check (a VU or trace number) is no card
/// number. Returns the text and whether anything was masked.
pub fn mask_card_numbers(text: &str) -> (String, bool) {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut flagged = false;
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // The run: digits, with single separators between digit groups.
        let mut end = i;
        let mut j = i;
        while j < chars.len() {
            if chars[j].is_ascii_digit() {
                end = j + 1;
                j += 1;
            } else if matches!(chars[j], ' ' | '-') && chars.get(j + 1).is_some_and(|c| c.is_ascii_digit()) {
                j += 1;
            } else {
                break;
            }
        }
        let run = &chars[i..end];
        let digits = run.iter().filter(|c| c.is_ascii_digit()).count();
        let glued = (i > 0 && chars[i - 1].is_alphanumeric()) || chars.get(end).is_some_and(|c| c.is_alphanumeric());
        if (12..=19).contains(&digits) && !glued && luhn(run.iter().filter(|c| c.is_ascii_digit())) {
            flagged = true;
            let mut seen = 0;
            for &c in run {
                if c.is_ascii_digit() {
                    out.push(if seen < 6 || seen >= digits - 4 { c } else { '*' });
                    seen += 1;
                } else {
                    out.push(c);
                }
            }
        } else {
            out.extend(run);
        }
        i = end;
    }
    (out, flagged)
}

/// The Luhn check of a digit sequence (its last digit the check digit).
fn luhn<'a>(digits: impl DoubleEndedIterator<Item = &'a char>) -> bool {
    let sum: u32 = digits
        .rev()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d })
        .sum();
    sum.is_multiple_of(10)
}

/// A card number masked as the receipt shows it: the first 6 and the last 4 digits.
pub fn mask_pan(pan: &str) -> String {
    let digits: Vec<char> = pan.chars().filter(|c| c.is_ascii_digit() || *c == '*').collect();
    if digits.len() <= 10 {
        return "*".repeat(digits.len());
    }
    let n = digits.len();
    digits.iter().enumerate().map(|(i, c)| if i < 6 || i >= n - 4 { *c } else { '*' }).collect()
}

fn ascii(value: &[u8]) -> String {
    value
        .iter()
        .take_while(|b| **b != 0)
        .map(|&b| if b.is_ascii_graphic() || b == b' ' { char::from(b) } else { '?' })
        .collect::<String>()
        .trim()
        .to_string()
}

impl StatusInfo {
    /// Decodes the data of a 04 0F. Nothing in it can make this panic. Only the fields that
    /// decide a payment (result, amount, trace, receipt) must decode; a field the specification
    /// does not list ends the decoding (the rest is kept raw) and a malformed other field is
    /// kept raw only: a newer terminal's data must not turn an approval into a refusal.
    pub fn decode(data: &[u8]) -> Result<StatusInfo, ZvtDecodeError> {
        let (fields, undecoded) = super::apdu::parse_bmps_lenient(data);
        let undecoded = undecoded.and_then(|raw| raw.first().map(|id| (*id, raw.len())));
        let mut s = StatusInfo { undecoded, ..StatusInfo::default() };
        for f in &fields {
            let v = &f.value;
            let bcd = || from_bcd(v).ok_or(ZvtDecodeError::BadBcd(f.id));
            match f.id {
                0x27 => s.result_code = v.first().copied(),
                0x04 => s.amount_minor = Some(bcd()?),
                0x0B => s.trace = Some(bcd()? as u32),
                0x87 => s.receipt_no = Some(bcd()? as u16),
                0x0C => s.time = bcd().ok().map(|t| t as u32),
                0x0D => s.date = bcd().ok().map(|d| d as u16),
                0x0E => s.expiry = bcd().ok().map(|e| e as u16),
                0x19 => s.payment_type = v.first().copied(),
                0x22 => {
                    if let Some(pan) = bcd_digits(v) {
                        s.pan_was_unmasked = !crate::sale::is_masked_pan(&pan);
                        s.masked_pan = Some(if s.pan_was_unmasked { mask_pan(&pan) } else { pan });
                    }
                }
                0x29 => s.terminal_id = bcd_digits(v),
                // Numbers by nature (a contract number, a hex AID): printable and bounded only.
                0x2A => s.merchant_no = Some(ascii(v).chars().take(TEXT_MAX).collect()),
                0x3B => s.aid = Some(ascii(v).chars().take(TEXT_MAX).collect()),
                0x3C => s.text = Some(s.checked_text(v)),
                0x49 => s.currency = bcd().ok().map(|c| c as u16),
                0x88 => s.turnover_no = bcd().ok().map(|t| t as u32),
                0x8A => s.card_type = v.first().copied(),
                0x8B => s.card_name = Some(s.checked_text(v)),
                0x60 => s.totals = EodTotals::decode(v).ok(),
                _ => {}
            }
        }
        // A trace number of more than 6 digits comes in TLV 1F2B, with 0B set to 000000
        // (PA00P015 rev 13.08, TLV tag 1F2B); one beyond u32 is kept in the raw fields only.
        if s.trace.is_none_or(|t| t == 0)
            && let Some(long) = fields.iter().find(|f| f.id == 0x06).and_then(|f| long_trace(&f.value))
        {
            s.trace = Some(long);
        }
        s.transaction_id = fields.iter().find(|f| f.id == 0x06).and_then(|f| transaction_id(&f.value));
        // Decoding stopped at an unlisted field: the fields that decide a payment must all be
        // there, or nothing is concluded from it (a missing 27 must never read as 00).
        if s.undecoded.is_some() && (s.result_code.is_none() || s.amount_minor.is_none() || s.trace.is_none()) {
            return Err(ZvtDecodeError::UnknownBmp(s.undecoded.map_or(0, |(id, _)| id)));
        }
        // The card number is never kept raw: `masked_pan` has it as it may be kept.
        s.fields =
            fields.into_iter().map(|f| if f.id == 0x22 { Bmp { id: 0x22, value: Vec::new() } } else { f }).collect();
        Ok(s)
    }

    pub fn approved(&self) -> bool {
        self.result_code.unwrap_or(0) == 0
    }

    /// The status information as it may be kept with the card result: every field as received
    /// (`id=hex`) — the card number as masked text, texts (3C, 8B) as checked, track data (23,
    /// 24, 2D) left out — and what was not decoded by its size only.
    pub fn kept(&self) -> String {
        let mut out: Vec<String> = self
            .fields
            .iter()
            .filter(|f| !matches!(f.id, 0x23 | 0x24 | 0x2D))
            .map(|f| {
                let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02X}")).collect::<String>();
                match f.id {
                    0x22 => format!("22={}", self.masked_pan.as_deref().unwrap_or("")),
                    // Texts as checked (a card number in them masked), not as sent.
                    0x3C | 0x8B => format!("{:02X}={}", f.id, hex(terminal_text(&f.value).0.as_bytes())),
                    _ => format!("{:02X}={}", f.id, hex(&f.value)),
                }
            })
            .collect();
        if let Some((id, n)) = self.undecoded {
            out.push(format!("+{n} bytes from {id:02X}"));
        }
        out.join(" ")
    }

    /// A field of a kept status (`kept`) as its hex digits: BCD fields read as their decimal
    /// digits ("0C=143000" is 14:30:00).
    pub fn kept_field(kept: &str, id: u8) -> Option<&str> {
        let key = format!("{id:02X}=");
        kept.split(' ').find_map(|f| f.strip_prefix(key.as_str()))
    }

    fn checked_text(&mut self, value: &[u8]) -> String {
        let (text, flagged) = terminal_text(value);
        self.text_flagged |= flagged;
        text
    }
}

/// The one character set (tag 14) inside tag 27 of these TLV tags — what a registration asks
/// for or its completion agrees (§2.1, tag 27) — or None when there is none or more than one.
pub fn single_charset(tags: &[super::apdu::Tlv]) -> Option<u8> {
    let sets: Vec<u8> = tags
        .iter()
        .filter(|t| t.tag == 0x27)
        .flat_map(|t| t.children().unwrap_or_default())
        .filter(|t| t.tag == 0x14)
        .filter_map(|t| t.value.first().copied())
        .collect();
    match sets.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// Tag 1F1F of a TLV container: the transaction identifier (an empty one is none).
fn transaction_id(container: &[u8]) -> Option<Vec<u8>> {
    let tags = super::apdu::parse_tlv(container).ok()?;
    tags.into_iter().find(|t| t.tag == 0x1F1F).map(|t| t.value).filter(|v| !v.is_empty())
}

/// The transaction identifier (1F1F) of a status information kept with a card result
/// ([`StatusInfo::kept`]): its TLV container (`06=hex`).
pub fn transaction_id_in_kept(kept: &str) -> Option<Vec<u8>> {
    let hex = kept.split(' ').find_map(|f| f.strip_prefix("06="))?;
    transaction_id(&crate::ledger::records::unhex(hex)?)
}

/// Tag 1F2B of a TLV container: the long trace number, BCD of variable length.
fn long_trace(container: &[u8]) -> Option<u32> {
    let tags = super::apdu::parse_tlv(container).ok()?;
    let value = tags.iter().find(|t| t.tag == 0x1F2B)?.value.clone();
    from_bcd(&value).and_then(|t| u32::try_from(t).ok())
}

/// What a PT message is, for the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PtMessage {
    /// 80 00 00: the command was accepted.
    Accepted,
    /// 84 xx: the command was refused with code xx (84 00 also means accepted).
    Refused(u8),
    /// 04 FF: intermediate status (code, and a new T4 in minutes if given).
    Intermediate {
        code: u8,
        t4_minutes: Option<u8>,
    },
    /// 04 0F
    Status(Box<StatusInfo>),
    /// 06 D1: one line of the terminal's own receipt.
    PrintLine(PrintLine),
    /// 06 D3: a print text block, several lines at once.
    PrintBlock(TextBlock),
    /// 06 0F: completion; mastership returns to the ECR.
    Completion(Completion),
    /// 06 1E: abort with a result code.
    Abort(u8),
    Other(Apdu),
}

impl PtMessage {
    /// Decodes with the default character set (CP437).
    pub fn decode(apdu: &Apdu) -> Result<PtMessage, ZvtDecodeError> {
        PtMessage::decode_in(apdu, Charset::default())
    }

    /// Decodes with the character set the terminal agreed at registration (its print texts).
    pub fn decode_in(apdu: &Apdu, charset: Charset) -> Result<PtMessage, ZvtDecodeError> {
        Ok(match apdu.command() {
            (0x80, 0x00) => PtMessage::Accepted,
            (0x84, 0x00) => PtMessage::Accepted,
            // 84 1E with a result code: the command refused for that reason (e.g. 84 1E 01 6F,
            // wrong currency); 1E alone is "abort" without a reason.
            (0x84, 0x1E) => PtMessage::Refused(apdu.data.first().copied().unwrap_or(0x1E)),
            (0x84, code) => PtMessage::Refused(code),
            (0x04, 0xFF) => {
                let code = *apdu.data.first().ok_or(ZvtDecodeError::Short)?;
                let t4_minutes = apdu.data.get(1).and_then(|b| from_bcd(&[*b])).map(|m| m as u8);
                PtMessage::Intermediate { code, t4_minutes }
            }
            (0x04, 0x0F) => PtMessage::Status(Box::new(StatusInfo::decode(&apdu.data)?)),
            (0x06, 0xD1) => {
                let (&attribute, text) = apdu.data.split_first().ok_or(ZvtDecodeError::Short)?;
                PtMessage::PrintLine(PrintLine::decode(attribute, text, charset))
            }
            (0x06, 0xD3) => PtMessage::PrintBlock(TextBlock::decode(&apdu.data, charset)),
            (0x06, 0x0F) => PtMessage::Completion(Completion::decode(&apdu.data)?),
            (0x06, 0x1E) => PtMessage::Abort(apdu.data.first().copied().unwrap_or(0xFF)),
            _ => PtMessage::Other(apdu.clone()),
        })
    }
}

/// Longest print line the till keeps (a terminal formats for 24–48 columns).
pub const PRINT_LINE_MAX: usize = 80;

/// One line of the terminal's own receipt (06 D1, or a line of a 06 D3 block): the attribute of
/// PA00P015 rev 13.08 Table 16 and the text, made safe like every text the terminal sends
/// (in the agreed character set, CP437 by default; controls as spaces; card-number-like runs
/// masked; bounded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintLine {
    pub attribute: u8,
    pub text: String,
    /// The text had a card-number-like run or was too long (masked or cut).
    pub flagged: bool,
}

impl PrintLine {
    pub fn decode(attribute: u8, bytes: &[u8], charset: Charset) -> PrintLine {
        if attribute == 0xFF {
            // Line feeds: the text is their count (one when missing).
            let n = bytes.first().copied().unwrap_or(1).clamp(1, 20);
            return PrintLine { attribute, text: "\n".repeat(usize::from(n) - 1), flagged: false };
        }
        let raw = charset.text(bytes);
        let (masked, mut flagged) = mask_card_numbers(raw.trim_end());
        if masked.chars().count() > PRINT_LINE_MAX {
            flagged = true;
        }
        PrintLine { attribute, text: masked.chars().take(PRINT_LINE_MAX).collect(), flagged }
    }

    /// 1xxx xxxx, other than 80 (and FF, line feeds): the last line of a receipt.
    pub fn ends_receipt(&self) -> bool {
        ends_receipt(self.attribute)
    }
}

fn ends_receipt(attribute: u8) -> bool {
    attribute & 0x80 != 0 && attribute != 0x80 && attribute != 0xFF
}

/// A print text block (06 D3, PA00P015 rev 13.08 §3.6): `06 <TLV container>` with the receipt
/// type (1F07: 01 merchant, 02 customer, 03 administration) and print texts (25), a list of
/// attributes (09, for the lines after them) and text lines (07). A trailing 09 of 1xxx xxxx
/// ends the receipt. A block that does not decode is kept as one line saying so: the receipt is
/// incomplete, the payment is not concerned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextBlock {
    pub receipt_type: Option<u8>,
    pub lines: Vec<PrintLine>,
    pub ends_receipt: bool,
}

impl TextBlock {
    pub fn decode(data: &[u8], charset: Charset) -> TextBlock {
        use super::apdu::parse_tlv;
        let items = match parse_tlv(data) {
            // The BMP 06 container around the tags; some terminals send the tags bare.
            Ok(outer) if outer.len() == 1 && outer[0].tag == 0x06 => outer[0].children(),
            other => other,
        };
        let mut block = TextBlock::default();
        let Ok(items) = items else {
            block.lines.push(PrintLine { attribute: 0, text: "?".repeat(8), flagged: false });
            return block;
        };
        for item in items {
            match item.tag {
                0x1F07 => block.receipt_type = item.value.first().copied(),
                0x25 => {
                    let mut attribute = 0;
                    let mut last_was_attribute = false;
                    for t in item.children().unwrap_or_default() {
                        match t.tag {
                            0x09 => {
                                attribute = t.value.first().copied().unwrap_or(0);
                                last_was_attribute = true;
                            }
                            // In a block FF is one line feed, without a count (Table 16 note).
                            0x07 if attribute == 0xFF => {
                                block.lines.push(PrintLine { attribute: 0, text: String::new(), flagged: false });
                                last_was_attribute = false;
                            }
                            0x07 => {
                                block.lines.push(PrintLine::decode(attribute, &t.value, charset));
                                last_was_attribute = false;
                            }
                            _ => {}
                        }
                    }
                    block.ends_receipt = (last_was_attribute && ends_receipt(attribute))
                        || block.lines.last().is_some_and(|l| l.ends_receipt());
                }
                _ => {}
            }
        }
        block
    }
}

/// The terminal's receipts as they come in print lines and text blocks: a receipt ends at a
/// line (or block) marked last; what is still open when the command ends counts as one more.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiptCollector {
    pub done: Vec<TerminalReceipt>,
    open: TerminalReceipt,
    /// A line had to be masked or cut.
    pub flagged: bool,
}

/// One receipt the terminal printed through the till: its type if the terminal said
/// (1F07: 01 merchant, 02 customer, 03 administration) and its lines.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TerminalReceipt {
    pub receipt_type: Option<u8>,
    pub lines: Vec<String>,
}

impl TerminalReceipt {
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// The grand total an end-of-day receipt prints, in minor units: the one line that starts
    /// with "Total", "Gesamt", "Summe", "合计" or "总计" and ends in an amount with two decimals
    /// ("1.234,56", "1,234.56", "0,00"). For terminals that send neither BMP 60 nor 04 and
    /// print their totals only (PA00P015 §2.16 leaves the status fields optional). None when no
    /// such line, or more than one, is there: a guess is never a total.
    pub fn printed_total(&self) -> Option<i64> {
        const WORDS: [&str; 5] = ["total", "gesamt", "summe", "合计", "总计"];
        let mut found = self.lines.iter().filter_map(|line| {
            let line = line.trim();
            let first = line.split_whitespace().next()?.trim_end_matches(':').to_lowercase();
            if !WORDS.contains(&first.as_str()) {
                return None;
            }
            printed_amount(line.split_whitespace().last()?)
        });
        let total = found.next()?;
        found.next().is_none().then_some(total)
    }
}

/// "1.234,56", "1,234.56", "-0,50", "12.34" → minor units; anything else None.
fn printed_amount(token: &str) -> Option<i64> {
    let (negative, digits) = match token.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, token),
    };
    let bytes = digits.as_bytes();
    if bytes.len() < 4 || !matches!(bytes[bytes.len() - 3], b'.' | b',') {
        return None;
    }
    let (whole, cents) = digits.split_at(digits.len() - 3);
    let cents = &cents[1..];
    let whole: String = whole.chars().filter(|c| !matches!(c, '.' | ',' | '\'')).collect();
    if whole.is_empty() || !whole.chars().all(|c| c.is_ascii_digit()) || !cents.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let minor = whole.parse::<i64>().ok()?.checked_mul(100)?.checked_add(cents.parse::<i64>().ok()?)?;
    Some(if negative { -minor } else { minor })
}

impl ReceiptCollector {
    pub fn line(&mut self, line: PrintLine) {
        self.flagged |= line.flagged;
        let ends = line.ends_receipt();
        if line.attribute == 0xFF {
            self.open.lines.extend(line.text.split('\n').map(String::from));
        } else {
            self.open.lines.push(line.text);
        }
        if ends {
            self.close();
        }
    }

    pub fn block(&mut self, block: TextBlock) {
        if block.receipt_type.is_some() {
            self.open.receipt_type = block.receipt_type;
        }
        let ends = block.ends_receipt;
        for mut line in block.lines {
            // The block's end is decided once for the block.
            line.attribute &= 0x7F;
            self.line(line);
        }
        if ends {
            self.close();
        }
    }

    fn close(&mut self) {
        let open = std::mem::take(&mut self.open);
        if !open.lines.is_empty() {
            self.done.push(open);
        }
    }

    /// Every receipt, the one left open included.
    pub fn finish(mut self) -> Vec<TerminalReceipt> {
        self.close();
        self.done
    }
}

/// A completion (06 0F). After a Status Enquiry it starts with the software version (LLLVAR,
/// without a BMP number) and the terminal status byte; BMPs follow (19 status byte,
/// 29 terminal id, 49 currency, 27 result code…).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Completion {
    pub sw_version: Option<String>,
    pub terminal_status: Option<u8>,
    pub fields: Vec<Bmp>,
}

impl Completion {
    pub fn decode(data: &[u8]) -> Result<Completion, ZvtDecodeError> {
        if data.len() >= 3 && data[..3].iter().all(|b| b & 0xF0 == 0xF0 && b & 0x0F <= 9) {
            let len = data[..3].iter().fold(0usize, |n, b| n * 10 + usize::from(b & 0x0F));
            let version = data.get(3..3 + len).ok_or(ZvtDecodeError::Truncated { bmp: 0 })?;
            let rest = &data[3 + len..];
            return Ok(Completion {
                sw_version: Some(ascii(version)),
                terminal_status: rest.first().copied(),
                fields: super::apdu::parse_bmps_lenient(rest.get(1..).unwrap_or_default()).0,
            });
        }
        if let Ok(fields) = parse_bmps(data) {
            return Ok(Completion { sw_version: None, terminal_status: None, fields });
        }
        // A Status Enquiry's completion without a software version (§2.56.5): the status byte,
        // then BMPs. Whatever else does not decode is kept as far as it does: a completion is
        // never refused (the till would wait out T4 for nothing).
        let (&status, rest) = data.split_first().ok_or(ZvtDecodeError::Short)?;
        Ok(Completion {
            sw_version: None,
            terminal_status: Some(status),
            fields: super::apdu::parse_bmps_lenient(rest).0,
        })
    }

    pub fn field(&self, id: u8) -> Option<&[u8]> {
        self.fields.iter().find(|f| f.id == id).map(|f| f.value.as_slice())
    }
}

/// The character set of the terminal's print and display texts (TLV tags 14 and 27 of PA00P015 rev
/// 13.08): CP437 unless the completion of the registration named another in tag 27 — some
/// terminals are set up for ISO 8859-1 ("H\u{c4}NDLERBELEG" in a public trace).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Charset {
    #[default]
    Cp437,
    Latin1,
    Utf8,
    /// 7-bit ASCII, or an ISO 8859 part the till does not map: bytes above 7F show as '?'.
    Ascii,
}

impl Charset {
    /// The settings' name for it.
    pub fn from_name(name: &str) -> Option<Charset> {
        match name {
            "cp437" => Some(Charset::Cp437),
            "latin1" => Some(Charset::Latin1),
            "utf8" => Some(Charset::Utf8),
            _ => None,
        }
    }

    /// The value of tag 14.
    pub fn from_tag(value: u8) -> Charset {
        match value {
            0x01 => Charset::Latin1,
            0xFE => Charset::Utf8,
            0xFF => Charset::Cp437,
            _ => Charset::Ascii,
        }
    }

    /// What a registration's completion agreed: tag 14 inside tag 27 of its TLV container
    /// (one set echoed). None: nothing agreed; the terminal uses its default — CP437 by the
    /// specification, or what the installer found it prints in (the settings' `charset`).
    pub fn agreed(completion: &Completion) -> Option<Charset> {
        let container = completion.field(0x06)?;
        single_charset(&super::apdu::parse_tlv(container).unwrap_or_default()).map(Charset::from_tag)
    }

    /// A text as the terminal sent it, control characters as spaces.
    pub fn text(self, bytes: &[u8]) -> String {
        let printable = |c: char| if c.is_control() { ' ' } else { c };
        match self {
            Charset::Cp437 => bytes.iter().map(|&b| cp437(b)).collect(),
            Charset::Latin1 => bytes.iter().map(|&b| printable(char::from(b))).collect(),
            Charset::Utf8 => String::from_utf8_lossy(bytes).chars().map(printable).collect(),
            Charset::Ascii => {
                bytes.iter().map(|&b| if b.is_ascii() { printable(char::from(b)) } else { '?' }).collect()
            }
        }
    }
}

/// Code page 437, the terminal's default character set for print lines (ASCII range, and the
/// box-drawing and accented letters above it shown as close as Unicode has them).
pub fn cp437(b: u8) -> char {
    const HIGH: &str = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u{a0}";
    match b {
        0x20..=0x7E => char::from(b),
        0x80..=0xFF => HIGH.chars().nth(usize::from(b - 0x80)).unwrap_or('?'),
        _ => ' ',
    }
}

#[cfg(test)]
mod tests {
    use super::super::frame::encode_frame;
    use super::*;

    #[test]
    fn a_printed_grand_total_is_read_only_when_it_is_one_amount_on_one_line() {
        let receipt = |lines: &[&str]| TerminalReceipt {
            receipt_type: None,
            lines: lines.iter().map(|l| l.to_string()).collect(),
        };
        assert_eq!(receipt(&["Gesamt      0      0,00"]).printed_total(), Some(0));
        assert_eq!(receipt(&["VISA 2 10.00", "TOTAL             12.34"]).printed_total(), Some(1234));
        assert_eq!(receipt(&["Summe: 1.234,56"]).printed_total(), Some(123_456));
        assert_eq!(receipt(&["合计 -0.50"]).printed_total(), Some(-50));
        // No total line, two of them, or no amount with two decimals: none.
        assert_eq!(receipt(&["VISA 2 10.00"]).printed_total(), None);
        assert_eq!(receipt(&["Total 1,00", "Total 2,00"]).printed_total(), None);
        assert_eq!(receipt(&["TOTAL 12"]).printed_total(), None);
        assert_eq!(receipt(&["Total 12,3x"]).printed_total(), None);
    }

    fn wire(apdu: &Apdu) -> Vec<u8> {
        encode_frame(&apdu.encode())
    }

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace().map(|b| u8::from_str_radix(b, 16).unwrap()).collect()
    }

    #[test]
    fn vectors_from_the_notes() {
        assert_eq!(wire(&ack()), hex("10 02 80 00 00 10 03 F5 1F"));
        assert_eq!(wire(&nak(0x9C)), hex("10 02 84 9C 00 10 03 C3 41"));
        assert_eq!(wire(&registration(123456, 0xBA, Some(978))), hex("10 02 06 00 06 12 34 56 BA 09 78 10 03 24 C3"));
        assert_eq!(
            wire(&authorization(11000, Some(978))),
            hex("10 02 06 01 0A 04 00 00 00 01 10 10 00 49 09 78 10 03 F2 FF")
        );
        assert_eq!(wire(&authorization(1010, None)), hex("10 02 06 01 07 04 00 00 00 00 10 10 10 10 10 03 F3 04"));
        assert_eq!(wire(&status_enquiry(123456, None)), hex("10 02 05 01 03 12 34 56 10 03 E0 43"));
        assert_eq!(wire(&status_enquiry(123456, Some(0x04))), hex("10 02 05 01 05 12 34 56 03 04 10 03 30 94"));
        assert_eq!(wire(&diagnosis()), hex("10 02 06 70 00 10 03 D9 F9"));
        assert_eq!(wire(&repeat_receipt(123456, false)), hex("10 02 06 20 03 12 34 56 10 03 C5 6A"));
        assert_eq!(wire(&end_of_day(123456)), hex("10 02 06 50 03 12 34 56 10 03 C4 AF"));
        assert_eq!(wire(&abort()), hex("10 02 06 B0 00 10 03 43 F3"));
        assert_eq!(wire(&log_off()), hex("10 02 06 02 00 10 03 B9 CC"));
        assert_eq!(wire(&Apdu::new(0x04, 0xFF, vec![0x0A])), hex("10 02 04 FF 01 0A 10 03 F5 7D"));
        assert_eq!(wire(&Apdu::new(0x06, 0x0F, vec![])), hex("10 02 06 0F 00 10 03 C6 33"));
        assert_eq!(wire(&Apdu::new(0x06, 0x1E, vec![0x6C])), hex("10 02 06 1E 01 6C 10 03 C9 F2"));
        let version = Apdu::decode(&hex("06 0F 0B F0 F0 F7 32 2E 31 34 2E 31 35 00")).unwrap();
        assert_eq!(wire(&version), hex("10 02 06 0F 0B F0 F0 F7 32 2E 31 34 2E 31 35 00 10 03 B1 11"));
        match PtMessage::decode(&version).unwrap() {
            PtMessage::Completion(c) => {
                assert_eq!(c.sw_version.as_deref(), Some("2.14.15"));
                assert_eq!(c.terminal_status, Some(0x00));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn end_of_day_totals_trace() {
        let mut bytes = hex(
            "04 0F 49 27 00 04 00 00 00 00 01 00 0C 17 28 46 0D 04 16 60 F0 F5 F3 00 00 00 00 01 00 00 00 00 01 00",
        );
        bytes.resize(3 + 0x49, 0x00);
        let apdu = Apdu::decode(&bytes).unwrap();
        let PtMessage::Status(s) = PtMessage::decode(&apdu).unwrap() else { panic!() };
        assert_eq!(s.result_code, Some(0));
        assert_eq!(s.amount_minor, Some(100));
        assert_eq!(s.time, Some(172846));
        assert_eq!(s.date, Some(416));
        let t = s.totals.unwrap();
        assert_eq!(t.by_card[0], (1, 100));
        assert_eq!(t.total_count(), 1);
        assert_eq!(t.total_amount(), 100);
        assert_eq!(EodTotals::decode(&t.encode()).unwrap(), t);
    }

    #[test]
    fn status_information_of_a_payment() {
        let mut data = vec![0x27, 0x00];
        push_bmp(&mut data, 0x04, &to_bcd(1234, 6));
        push_bmp(&mut data, 0x0B, &to_bcd(42, 3));
        push_bmp(&mut data, 0x22, &hex("47 48 43 EE EE EE 77 43"));
        push_bmp(&mut data, 0x29, &to_bcd(52500038, 4));
        push_bmp(&mut data, 0x2A, b"455600000012345");
        push_bmp(&mut data, 0x3B, b"A0000000");
        push_bmp(&mut data, 0x87, &to_bcd(17, 2));
        push_bmp(&mut data, 0x8A, &[0x0A]);
        push_bmp(&mut data, 0x8B, b"VISA\0");
        let s = StatusInfo::decode(&data).unwrap();
        assert!(s.approved());
        assert_eq!(s.masked_pan.as_deref(), Some("474843******7743"));
        assert_eq!(s.terminal_id.as_deref(), Some("52500038"));
        assert_eq!(s.merchant_no.as_deref(), Some("455600000012345"));
        assert_eq!(s.receipt_no, Some(17));
        assert_eq!(s.card_name.as_deref(), Some("VISA"));
        assert_eq!(s.trace, Some(42));
    }

    #[test]
    fn end_of_day_totals_of_other_lengths_are_taken_as_far_as_they_go() {
        // Receipts 1–5, girocard 2 × 10.00 only (11 bytes), and a partial slot after it.
        let mut v = vec![0x00, 0x01, 0x00, 0x05, 0x02, 0, 0, 0, 0, 0x10, 0x00];
        let t = EodTotals::decode(&v).unwrap();
        assert_eq!((t.first_receipt, t.last_receipt, t.by_card[0], t.by_card[1]), (1, 5, (2, 1000), (0, 0)));
        v.extend([0x01, 0x00]);
        assert_eq!(EodTotals::decode(&v).unwrap().by_card[0], (2, 1000));
        assert!(EodTotals::decode(&[0x00, 0x01]).is_err());
    }
}
