//! The receipt printer emulator's decoder: an ESC/POS byte stream back into what the paper shows
//! (text with its alignment and size, QR codes, barcodes, feeds, cuts) and what else the printer
//! did (drawer kicks, status answers). Training mode shows receipts through it; the golden tests
//! decode the till's own bytes with it. It never panics, whatever the bytes.

use super::escpos::CP858_HIGH;
use super::layout::width;

/// The paper sensor, as the emulator's operator sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paper {
    #[default]
    Ok,
    NearEnd,
    Out,
}

/// Something the printer did besides printing text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Cut,
    DrawerKick {
        pin: u8,
    },
    /// A DLE EOT query and the byte the printer answered.
    Status {
        query: u8,
        answer: u8,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Center,
    Right,
}

/// The decoder's state between bytes.
#[derive(Debug, Clone)]
pub struct Decoder {
    columns: usize,
    chinese: bool,
    align: Align,
    double: bool,
    line: Vec<u8>,
    qr_data: Vec<u8>,
    /// What the paper shows, in the text convention of `layout::Document::to_text`.
    pub text: String,
    pub events: Vec<Event>,
    /// Characters outside GB2312, which older printers print as blanks.
    pub outside_gb2312: Vec<char>,
    pub paper: Paper,
}

/// The real-time status byte for DLE EOT `n` (bits 1 and 4 always set, bit 7 clear).
pub fn status_byte(query: u8, paper: Paper) -> u8 {
    let base = 0b0001_0010;
    match (query, paper) {
        (2, Paper::Out) => base | 0b0010_0000,
        (4, Paper::NearEnd) => base | 0b0000_1100,
        (4, Paper::Out) => base | 0b0110_1100,
        _ => base,
    }
}

impl Decoder {
    pub fn new(columns: usize) -> Decoder {
        Decoder {
            columns,
            chinese: false,
            align: Align::Left,
            double: false,
            line: Vec::new(),
            qr_data: Vec::new(),
            text: String::new(),
            events: Vec::new(),
            outside_gb2312: Vec::new(),
            paper: Paper::Ok,
        }
    }

    /// Decodes a whole stream; answers to status queries are in `events`.
    pub fn feed(&mut self, bytes: &[u8]) {
        let mut i = 0;
        let arg = |at: usize| bytes.get(at).copied().unwrap_or(0);
        while i < bytes.len() {
            let b = bytes[i];
            i += 1;
            match b {
                0x0A => self.end_line(),
                0x1B => {
                    let cmd = arg(i);
                    i += 1;
                    match cmd {
                        b'@' => {
                            self.line.clear();
                            self.align = Align::Left;
                            self.double = false;
                        }
                        b'a' => {
                            self.align = match arg(i) % 48 {
                                1 => Align::Center,
                                2 => Align::Right,
                                _ => Align::Left,
                            };
                            i += 1;
                        }
                        b'd' => {
                            // Print what is buffered and feed n lines: the first feed ends it.
                            let mut n = arg(i);
                            if !self.line.is_empty() && n > 0 {
                                self.end_line();
                                n -= 1;
                            }
                            for _ in 0..n {
                                self.text.push('\n');
                            }
                            i += 1;
                        }
                        b'p' => {
                            self.events.push(Event::DrawerKick { pin: arg(i) % 48 });
                            i += 3;
                        }
                        // One-byte parameters: ESC E (bold), ESC t (code page), ESC - , ESC M, ESC !…
                        _ => i += 1,
                    }
                }
                0x1C => {
                    match arg(i) {
                        0x26 => self.chinese = true,
                        0x2E => self.chinese = false,
                        _ => {}
                    }
                    i += 1;
                }
                0x1D => {
                    let cmd = arg(i);
                    i += 1;
                    match cmd {
                        b'!' => {
                            self.double = arg(i) & 0x11 != 0;
                            i += 1;
                        }
                        b'V' => {
                            let m = arg(i);
                            i += if m >= 65 { 2 } else { 1 };
                            self.end_line_if_any();
                            self.text.push_str("[CUT]\n");
                            self.events.push(Event::Cut);
                        }
                        b'(' if arg(i) == b'k' => {
                            let len = usize::from(arg(i + 1)) | (usize::from(arg(i + 2)) << 8);
                            let body = bytes.get(i + 3..(i + 3 + len).min(bytes.len())).unwrap_or_default();
                            // cn fn …: 49 80 48 stores QR data, 49 81 48 prints it.
                            match body {
                                [49, 80, 48, data @ ..] => self.qr_data = data.to_vec(),
                                [49, 81, ..] => {
                                    self.end_line_if_any();
                                    self.text.push_str(&format!("[QR {}]\n", String::from_utf8_lossy(&self.qr_data)));
                                }
                                _ => {}
                            }
                            i += 3 + len;
                        }
                        b'k' => {
                            let m = arg(i);
                            let (data, skip) = if m >= 65 {
                                let n = usize::from(arg(i + 1));
                                (bytes.get(i + 2..(i + 2 + n).min(bytes.len())).unwrap_or_default(), 2 + n)
                            } else {
                                let end = bytes[i..].iter().position(|b| *b == 0).map_or(bytes.len(), |p| i + p);
                                (bytes.get(i + 1..end).unwrap_or_default(), end - i + 1)
                            };
                            let shown = data.strip_prefix(b"{B").unwrap_or(data);
                            self.end_line_if_any();
                            self.text.push_str(&format!("[BARCODE {}]\n", String::from_utf8_lossy(shown)));
                            i += skip;
                        }
                        // GS h, GS w, GS H and other one-byte parameters.
                        _ => i += 1,
                    }
                }
                0x10 if arg(i) == 0x04 => {
                    let query = arg(i + 1);
                    self.events.push(Event::Status { query, answer: status_byte(query, self.paper) });
                    i += 2;
                }
                0x00..=0x1F => {}
                _ => self.line.push(b),
            }
        }
    }

    fn end_line_if_any(&mut self) {
        if !self.line.is_empty() {
            self.end_line();
        }
    }

    fn end_line(&mut self) {
        let bytes = std::mem::take(&mut self.line);
        let text = if self.chinese {
            let (text, _, _) = encoding_rs::GB18030.decode(&bytes);
            self.outside_gb2312.extend(text.chars().filter(|c| !c.is_ascii() && !in_gb2312(*c)));
            text.into_owned()
        } else {
            bytes
                .iter()
                .map(|&b| {
                    if b < 0x80 { char::from(b) } else { CP858_HIGH.chars().nth(usize::from(b - 0x80)).unwrap_or('?') }
                })
                .collect()
        };
        let columns = if self.double { self.columns / 2 } else { self.columns };
        let pad = columns.saturating_sub(width(&text));
        let left = match self.align {
            Align::Left => 0,
            Align::Center => pad / 2,
            Align::Right => pad,
        };
        self.text.push_str(&" ".repeat(left));
        self.text.push_str(&text);
        self.text.push('\n');
    }
}

/// GB2312 is the part of GBK whose two bytes both lie in A1–FE.
fn in_gb2312(c: char) -> bool {
    let text = c.to_string();
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(&text);
    !unmappable && bytes.len() == 2 && (0xA1..=0xFE).contains(&bytes[0]) && (0xA1..=0xFE).contains(&bytes[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_bytes_have_the_fixed_bits() {
        for q in 1..=4 {
            for p in [Paper::Ok, Paper::NearEnd, Paper::Out] {
                let b = status_byte(q, p);
                assert_eq!(b & 0b1001_0010, 0b0001_0010, "{q} {p:?}");
            }
        }
        assert_eq!(status_byte(4, Paper::NearEnd) & 0x0C, 0x0C);
        assert_eq!(status_byte(4, Paper::Out) & 0x60, 0x60);
    }

    #[test]
    fn rare_hanzi_are_flagged() {
        let mut d = Decoder::new(32);
        let mut bytes = vec![0x1C, 0x26];
        let (encoded, _, _) = encoding_rs::GB18030.encode("收银台 堃");
        bytes.extend_from_slice(&encoded);
        bytes.push(0x0A);
        d.feed(&bytes);
        assert_eq!(d.text, "收银台 堃\n");
        assert_eq!(d.outside_gb2312, vec!['堃']);
    }
}
