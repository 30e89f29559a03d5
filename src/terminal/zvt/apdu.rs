//! APDUs (`CLASS INSTR LEN data`, LEN = 00–FE or `FF lo hi`) and the field encodings inside them:
//! BCD numbers (with masked digits), LLVAR/LLLVAR, BER-style TLV containers, and BMP fields.

use std::fmt;

/// What can be wrong with bytes a terminal (or anything on the line) sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZvtDecodeError {
    #[error("APDU shorter than its header")]
    Short,
    #[error("APDU length {declared} but {actual} data bytes")]
    LengthMismatch { declared: usize, actual: usize },
    #[error("field {bmp:02X} runs past the end of the data")]
    Truncated { bmp: u8 },
    #[error("unknown field {0:02X}")]
    UnknownBmp(u8),
    #[error("bad length prefix in field {0:02X}")]
    BadVarLength(u8),
    #[error("bad BCD digit in field {0:02X}")]
    BadBcd(u8),
    #[error("bad TLV")]
    BadTlv,
}

#[derive(Clone, PartialEq, Eq)]
pub struct Apdu {
    pub class: u8,
    pub instr: u8,
    pub data: Vec<u8>,
}

impl fmt::Debug for Apdu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Apdu({:02X} {:02X} [", self.class, self.instr)?;
        for (i, b) in self.data.iter().enumerate() {
            if i > 0 {
                write!(f, " ")?;
            }
            write!(f, "{b:02X}")?;
        }
        write!(f, "])")
    }
}

impl Apdu {
    pub fn new(class: u8, instr: u8, data: Vec<u8>) -> Apdu {
        Apdu { class, instr, data }
    }

    pub fn command(&self) -> (u8, u8) {
        (self.class, self.instr)
    }

    /// The bytes of the APDU (before framing). Data longer than 65 535 bytes is cut: no command
    /// or answer of ours comes near it.
    pub fn encode(&self) -> Vec<u8> {
        let data = &self.data[..self.data.len().min(0xFFFF)];
        let mut out = Vec::with_capacity(data.len() + 5);
        out.push(self.class);
        out.push(self.instr);
        if data.len() < 0xFF {
            out.push(data.len() as u8);
        } else {
            out.push(0xFF);
            out.extend_from_slice(&(data.len() as u16).to_le_bytes());
        }
        out.extend_from_slice(data);
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Apdu, ZvtDecodeError> {
        if bytes.len() < 3 {
            return Err(ZvtDecodeError::Short);
        }
        let (declared, start) = if bytes[2] == 0xFF {
            if bytes.len() < 5 {
                return Err(ZvtDecodeError::Short);
            }
            (usize::from(u16::from_le_bytes([bytes[3], bytes[4]])), 5)
        } else {
            (usize::from(bytes[2]), 3)
        };
        let actual = bytes.len() - start;
        if declared != actual {
            return Err(ZvtDecodeError::LengthMismatch { declared, actual });
        }
        Ok(Apdu { class: bytes[0], instr: bytes[1], data: bytes[start..].to_vec() })
    }
}

// ----- BCD -----

/// `value` as `n` bytes of packed BCD, most significant first (amounts: 6 bytes, 12 digits).
pub fn to_bcd(mut value: u64, n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    for byte in out.iter_mut().rev() {
        let low = (value % 10) as u8;
        value /= 10;
        let high = (value % 10) as u8;
        value /= 10;
        *byte = (high << 4) | low;
    }
    out
}

/// Packed BCD to a number; None on a nibble above 9.
pub fn from_bcd(bytes: &[u8]) -> Option<u64> {
    let mut value: u64 = 0;
    for &b in bytes {
        for nibble in [b >> 4, b & 0x0F] {
            if nibble > 9 {
                return None;
            }
            value = value.checked_mul(10)?.checked_add(u64::from(nibble))?;
        }
    }
    Some(value)
}

/// Packed BCD to digits, masked nibbles (E) as `*`, padding (F) dropped: a PAN as printed.
pub fn bcd_digits(bytes: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        for nibble in [b >> 4, b & 0x0F] {
            match nibble {
                0..=9 => out.push(char::from(b'0' + nibble)),
                0x0E => out.push('*'),
                0x0F => {}
                _ => return None,
            }
        }
    }
    Some(out)
}

/// A 6-digit password as the 3 BCD bytes ZVT sends.
pub fn password_bcd(password: u32) -> [u8; 3] {
    let b = to_bcd(u64::from(password % 1_000_000), 3);
    [b[0], b[1], b[2]]
}

/// A currency's ISO 4217 numeric code as 2 BCD bytes (978 → 09 78).
pub fn currency_bcd(numeric: u16) -> [u8; 2] {
    let b = to_bcd(u64::from(numeric), 2);
    [b[0], b[1]]
}

// ----- LLVAR / LLLVAR -----

/// The `Fx Fy (Fz)` prefix of a variable-length field.
pub fn var_prefix(len: usize, digits: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(digits);
    let mut n = len;
    let mut nibbles = vec![0u8; digits];
    for d in nibbles.iter_mut().rev() {
        *d = (n % 10) as u8;
        n /= 10;
    }
    for d in nibbles {
        out.push(0xF0 | d);
    }
    out
}

fn read_var_len(bytes: &[u8], digits: usize, bmp: u8) -> Result<usize, ZvtDecodeError> {
    if bytes.len() < digits {
        return Err(ZvtDecodeError::Truncated { bmp });
    }
    let mut len = 0usize;
    for &b in &bytes[..digits] {
        if b & 0xF0 != 0xF0 || b & 0x0F > 9 {
            return Err(ZvtDecodeError::BadVarLength(bmp));
        }
        len = len * 10 + usize::from(b & 0x0F);
    }
    Ok(len)
}

// ----- TLV (BER-style tags and lengths) -----

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlv {
    /// The tag bytes as one number (1–3 bytes).
    pub tag: u32,
    pub value: Vec<u8>,
}

impl Tlv {
    /// Constructed tags (bit 6 of the first byte) hold further TLVs.
    pub fn is_constructed(&self) -> bool {
        let first = if self.tag > 0xFFFF {
            self.tag >> 16
        } else if self.tag > 0xFF {
            self.tag >> 8
        } else {
            self.tag
        };
        first & 0x20 != 0
    }

    pub fn children(&self) -> Result<Vec<Tlv>, ZvtDecodeError> {
        parse_tlv(&self.value)
    }
}

pub fn parse_tlv(mut bytes: &[u8]) -> Result<Vec<Tlv>, ZvtDecodeError> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let mut tag = u32::from(bytes[0]);
        let mut i = 1;
        if bytes[0] & 0x1F == 0x1F {
            loop {
                let b = *bytes.get(i).ok_or(ZvtDecodeError::BadTlv)?;
                tag = (tag << 8) | u32::from(b);
                i += 1;
                if b & 0x80 == 0 {
                    break;
                }
                if i > 3 {
                    return Err(ZvtDecodeError::BadTlv);
                }
            }
        }
        let first = *bytes.get(i).ok_or(ZvtDecodeError::BadTlv)?;
        i += 1;
        let len = match first {
            0x00..=0x7F => usize::from(first),
            0x81 => {
                let l = *bytes.get(i).ok_or(ZvtDecodeError::BadTlv)?;
                i += 1;
                usize::from(l)
            }
            0x82 => {
                let hi = *bytes.get(i).ok_or(ZvtDecodeError::BadTlv)?;
                let lo = *bytes.get(i + 1).ok_or(ZvtDecodeError::BadTlv)?;
                i += 2;
                usize::from(u16::from_be_bytes([hi, lo]))
            }
            _ => return Err(ZvtDecodeError::BadTlv),
        };
        let value = bytes.get(i..i + len).ok_or(ZvtDecodeError::BadTlv)?.to_vec();
        out.push(Tlv { tag, value });
        bytes = &bytes[i + len..];
    }
    Ok(out)
}

pub fn encode_tlv(items: &[Tlv]) -> Vec<u8> {
    let mut out = Vec::new();
    for t in items {
        let tag = t.tag.to_be_bytes();
        let skip = tag.iter().take(3).take_while(|b| **b == 0).count();
        out.extend_from_slice(&tag[skip..]);
        let len = t.value.len().min(0xFFFF);
        match len {
            0..=0x7F => out.push(len as u8),
            0x80..=0xFF => out.extend_from_slice(&[0x81, len as u8]),
            _ => {
                out.push(0x82);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
        }
        out.extend_from_slice(&t.value[..len]);
    }
    out
}

// ----- BMP fields -----

/// How long a BMP's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BmpLen {
    Fixed(usize),
    LlVar,
    LllVar,
    /// BMP 06: a TLV container with a BER length.
    Tlv,
}

/// Every BMP of PA00P015 (rev 13.08, §13 "Summary of utilised BMPs") with its length class.
pub fn bmp_len(bmp: u8) -> Option<BmpLen> {
    use BmpLen::*;
    Some(match bmp {
        0x01
        | 0x02
        | 0x03
        | 0x05
        | 0x19
        | 0x27
        | 0x72..=0x75
        | 0x8A
        | 0x8C
        | 0xA0
        | 0xD0
        | 0xD2
        | 0xD3
        | 0xE0
        | 0xE9
        | 0xEA
        | 0xF0
        | 0xF9..=0xFD => Fixed(1),
        0x0D | 0x0E | 0x17 | 0x3A | 0x49 | 0x87 => Fixed(2),
        0x0B | 0x0C | 0x37 | 0x3D | 0x88 | 0xAA => Fixed(3),
        0x29 | 0x70 | 0x71 => Fixed(4),
        0xBA => Fixed(5),
        0x04 => Fixed(6),
        0x3B | 0xEB => Fixed(8),
        0x2A => Fixed(15),
        // 4C (blocked goods groups) is not in §13's summary but in §3.1.1's status information.
        0x22 | 0x23 | 0x2D | 0x4C | 0x8B | 0xA7 | 0xD1 | 0xE1..=0xE8 | 0xF1..=0xF8 => LlVar,
        // 92 is not in rev 13.08's summary; older terminals send it (LLL, additional data).
        0x24 | 0x2E | 0x3C | 0x60 | 0x92 | 0x9A | 0xAF => LllVar,
        0x06 => Tlv,
        _ => return None,
    })
}

/// One BMP field: its number and its value (without any length prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bmp {
    pub id: u8,
    pub value: Vec<u8>,
}

/// Splits APDU data into BMP fields as far as they can be read: the fields before a field the
/// specification does not list (its length cannot be known), and the rest raw. A terminal's
/// newer field must not turn an approval into a refusal (which makes the terminal reverse it).
pub fn parse_bmps_lenient(data: &[u8]) -> (Vec<Bmp>, Option<Vec<u8>>) {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        match parse_bmps(take_one(rest)) {
            Ok(mut one) if one.len() == 1 => {
                let used = field_len(rest).unwrap_or(rest.len());
                out.append(&mut one);
                rest = &rest[used..];
            }
            _ => return (out, Some(rest.to_vec())),
        }
    }
    (out, None)
}

/// The bytes of the first field of `data` (all of `data` when its length cannot be read).
fn take_one(data: &[u8]) -> &[u8] {
    match field_len(data) {
        Some(n) => &data[..n],
        None => data,
    }
}

/// How many bytes the first field of `data` takes, id and length prefix included.
fn field_len(data: &[u8]) -> Option<usize> {
    let (&id, rest) = data.split_first()?;
    let (start, len) = match bmp_len(id)? {
        BmpLen::Fixed(n) => (0, n),
        BmpLen::LlVar => (2, read_var_len(rest, 2, id).ok()?),
        BmpLen::LllVar => (3, read_var_len(rest, 3, id).ok()?),
        BmpLen::Tlv => match *rest.first()? {
            n @ 0x00..=0x7F => (1, usize::from(n)),
            0x81 => (2, usize::from(*rest.get(1)?)),
            0x82 => (3, usize::from(u16::from_be_bytes([*rest.get(1)?, *rest.get(2)?]))),
            _ => return None,
        },
    };
    (1 + start + len <= data.len()).then_some(1 + start + len)
}

/// Splits APDU data into BMP fields.
pub fn parse_bmps(mut data: &[u8]) -> Result<Vec<Bmp>, ZvtDecodeError> {
    let mut out = Vec::new();
    while let Some((&id, rest)) = data.split_first() {
        let (start, len) = match bmp_len(id).ok_or(ZvtDecodeError::UnknownBmp(id))? {
            BmpLen::Fixed(n) => (0, n),
            BmpLen::LlVar => (2, read_var_len(rest, 2, id)?),
            BmpLen::LllVar => (3, read_var_len(rest, 3, id)?),
            BmpLen::Tlv => {
                let first = *rest.first().ok_or(ZvtDecodeError::Truncated { bmp: id })?;
                match first {
                    0x00..=0x7F => (1, usize::from(first)),
                    0x81 => (2, usize::from(*rest.get(1).ok_or(ZvtDecodeError::Truncated { bmp: id })?)),
                    0x82 => {
                        let hi = *rest.get(1).ok_or(ZvtDecodeError::Truncated { bmp: id })?;
                        let lo = *rest.get(2).ok_or(ZvtDecodeError::Truncated { bmp: id })?;
                        (3, usize::from(u16::from_be_bytes([hi, lo])))
                    }
                    _ => return Err(ZvtDecodeError::BadTlv),
                }
            }
        };
        let value = rest.get(start..start + len).ok_or(ZvtDecodeError::Truncated { bmp: id })?;
        out.push(Bmp { id, value: value.to_vec() });
        data = &rest[start + len..];
    }
    Ok(out)
}

/// Appends a BMP with the prefix its kind needs.
pub fn push_bmp(out: &mut Vec<u8>, id: u8, value: &[u8]) {
    out.push(id);
    match bmp_len(id) {
        Some(BmpLen::LlVar) => out.extend(var_prefix(value.len(), 2)),
        Some(BmpLen::LllVar) => out.extend(var_prefix(value.len(), 3)),
        Some(BmpLen::Tlv) => {
            let len = value.len();
            match len {
                0..=0x7F => out.push(len as u8),
                0x80..=0xFF => out.extend_from_slice(&[0x81, len as u8]),
                _ => {
                    out.push(0x82);
                    out.extend_from_slice(&(len.min(0xFFFF) as u16).to_be_bytes());
                }
            }
        }
        _ => {}
    }
    out.extend_from_slice(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_length() {
        let data = vec![0xAB; 300];
        let bytes = Apdu::new(0x06, 0xD3, data.clone()).encode();
        assert_eq!(&bytes[..5], &[0x06, 0xD3, 0xFF, 0x2C, 0x01]);
        assert_eq!(Apdu::decode(&bytes).unwrap().data, data);
        // 254 bytes still fit the short form; 255 needs the long one.
        assert_eq!(Apdu::new(1, 2, vec![0; 254]).encode()[2], 0xFE);
        assert_eq!(&Apdu::new(1, 2, vec![0; 255]).encode()[2..5], &[0xFF, 0xFF, 0x00]);
        assert_eq!(
            Apdu::decode(&[0x80, 0x00, 0x02, 0x01]),
            Err(ZvtDecodeError::LengthMismatch { declared: 2, actual: 1 })
        );
    }

    #[test]
    fn bcd() {
        assert_eq!(to_bcd(11000, 6), vec![0, 0, 0, 0x01, 0x10, 0x00]);
        assert_eq!(from_bcd(&[0x00, 0x00, 0x00, 0x01, 0x10, 0x00]), Some(11000));
        assert_eq!(from_bcd(&[0x1A]), None);
        assert_eq!(password_bcd(123456), [0x12, 0x34, 0x56]);
        assert_eq!(currency_bcd(978), [0x09, 0x78]);
        assert_eq!(currency_bcd(156), [0x01, 0x56]);
    }

    #[test]
    fn masked_pan() {
        let bmps = parse_bmps(&[0x22, 0xF0, 0xF8, 0x47, 0x48, 0x43, 0xEE, 0xEE, 0xEE, 0x77, 0x43]).unwrap();
        assert_eq!(bmps[0].id, 0x22);
        assert_eq!(bcd_digits(&bmps[0].value).unwrap(), "474843******7743");
        // Odd length: padded with F.
        assert_eq!(bcd_digits(&[0x12, 0x3F]).unwrap(), "123");
    }

    #[test]
    fn tlv_round_trip() {
        let items = vec![Tlv { tag: 0x1F10, value: vec![1, 2, 3] }, Tlv { tag: 0x24, value: vec![0x55; 200] }];
        let bytes = encode_tlv(&items);
        assert_eq!(&bytes[..5], &[0x1F, 0x10, 0x03, 1, 2]);
        assert_eq!(parse_tlv(&bytes).unwrap(), items);
        assert!(items[1].is_constructed());
        assert_eq!(parse_tlv(&[0x1F]), Err(ZvtDecodeError::BadTlv));
    }

    #[test]
    fn bmp_errors() {
        assert_eq!(parse_bmps(&[0x04, 0x00]), Err(ZvtDecodeError::Truncated { bmp: 0x04 }));
        assert_eq!(parse_bmps(&[0x7E]), Err(ZvtDecodeError::UnknownBmp(0x7E)));
        assert_eq!(parse_bmps(&[0x22, 0xF0, 0x3F]), Err(ZvtDecodeError::BadVarLength(0x22)));
    }
}
