//! A laid-out receipt as ESC/POS bytes, through the `escpos` crate's command builder into a
//! buffer (the bytes are then stored as a print job and sent by a driver of ours, so that a job
//! can be kept, retried and checked against the printer's status).
//!
//! Chinese receipts switch the printer to Chinese mode (FS &) and send GB18030; Latin receipts
//! select code page 858 (with €) and print any character it lacks as a visible `?`, never as
//! bytes of another encoding. One init per job; styles are sent only when they change.

use std::cell::RefCell;
use std::rc::Rc;

use escpos::driver::Driver;
use escpos::errors::{PrinterError, Result};
use escpos::printer::Printer;
use escpos::printer_options::PrinterOptions;
use escpos::utils::{Encoder, JustifyMode, PageCode, Protocol, QRCodeCorrectionLevel, QRCodeModel, QRCodeOption};

use super::layout::{Align, Block, Document};

/// FS & / FS .: Chinese (double-byte) mode on and off.
pub const CHINESE_ON: [u8; 2] = [0x1C, 0x26];
pub const CHINESE_OFF: [u8; 2] = [0x1C, 0x2E];
/// DLE DC4 1 0 1: a drawer pulse on pin 2 for 100 ms, in real time. Sent on its own, never in
/// a kept job: the drawer opens at the sale whatever the paper does, and a receipt printed
/// again later (after a reload) does not open it again.
pub const DRAWER_PULSE: [u8; 5] = [0x10, 0x14, 0x01, 0x00, 0x01];

/// Collects what the printer builder writes.
#[derive(Clone, Default)]
struct Buffer(Rc<RefCell<Vec<u8>>>);

impl Driver for Buffer {
    fn name(&self) -> String {
        "buffer".into()
    }
    fn write(&self, data: &[u8]) -> Result<()> {
        self.0.borrow_mut().extend_from_slice(data);
        Ok(())
    }
    fn read(&self, _buf: &mut [u8]) -> Result<usize> {
        Ok(0)
    }
    fn flush(&self) -> Result<()> {
        Ok(())
    }
}

/// The characters of code page 858 above 0x7F, in byte order (CP850 with € at 0xD5).
pub const CP858_HIGH: &str = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜø£Ø×ƒáíóúñÑªº¿®¬½¼¡«»░▒▓│┤ÁÂÀ©╣║╗╝¢¥┐└┴┬├─┼ãÃ╚╔╩╦╠═╬¤ðÐÊËÈ€ÍÎÏ┘┌█▄¦Ì▀ÓßÔÒõÕµþÞÚÛÙýÝ¯´\u{ad}±‗¾¶§÷¸°¨·¹³²■\u{a0}";

/// Text a Latin receipt can print: characters of CP858 as they are, anything else as `?`.
pub fn printable_latin(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii() && !c.is_ascii_control() || CP858_HIGH.contains(c) { c } else { '?' })
        .collect()
}

/// The bytes of a line of text: GB18030 in Chinese mode; code page 858 otherwise, with `?` for
/// what it lacks. Encoded here, byte by byte, so that nothing but these bytes reaches the paper.
pub fn text_bytes(text: &str, chinese: bool) -> Vec<u8> {
    if chinese {
        // Nothing but printable text: a control character would be a command to the printer.
        let text = super::layout::printable(text, true);
        let (bytes, _, _) = encoding_rs::GB18030.encode(&text);
        return bytes.into_owned();
    }
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            _ => CP858_HIGH.chars().position(|h| h == c).map_or(b'?', |i| 0x80 + i as u8),
        })
        .collect()
}

/// Encodes a document as its `chinese` flag says.
pub fn encode(doc: &Document) -> Result<Vec<u8>> {
    let chinese = doc.chinese;
    let buffer = Buffer::default();
    // Text is encoded by `text_bytes`; the builder's encoder only sees the QR payload (ASCII).
    let encoding = encoding_rs::GB18030;
    let options = PrinterOptions::new(None, None, u8::try_from(doc.columns).unwrap_or(48));
    let mut p = Printer::new(buffer.clone(), Protocol::new(Encoder::new(encoding)), Some(options));
    p.init()?;
    if chinese {
        p.custom(&CHINESE_ON)?;
    } else {
        // Many printers sold in China start in Chinese mode: leave it before single-byte text.
        p.custom(&CHINESE_OFF)?;
        p.page_code(PageCode::PC858)?;
    }
    let (mut align, mut bold, mut double) = (Align::Left, false, false);
    for block in &doc.blocks {
        match block {
            Block::Text { text, align: a, bold: b, double: d } => {
                if *a != align {
                    p.justify(match a {
                        Align::Left => JustifyMode::LEFT,
                        Align::Center => JustifyMode::CENTER,
                        Align::Right => JustifyMode::RIGHT,
                    })?;
                    align = *a;
                }
                if *b != bold {
                    p.bold(*b)?;
                    bold = *b;
                }
                if *d != double {
                    if *d {
                        p.size(2, 2)?
                    } else {
                        p.reset_size()?
                    };
                    double = *d;
                }
                p.custom(&text_bytes(text, chinese))?.custom(&[0x0A])?;
            }
            Block::Rule(c) => {
                // A rule spans the paper in normal size, whatever came before it.
                if double {
                    p.reset_size()?;
                    double = false;
                }
                if bold {
                    p.bold(false)?;
                    bold = false;
                }
                let line: String = std::iter::repeat_n(*c, doc.columns).collect();
                p.custom(&text_bytes(&line, chinese))?.custom(&[0x0A])?;
            }
            Block::Qr(data) => {
                if align != Align::Center {
                    p.justify(JustifyMode::CENTER)?;
                    align = Align::Center;
                }
                // Model 2: what phones read (escpos's default is Model 1, which most cannot).
                p.qrcode_option(data, QRCodeOption::new(QRCodeModel::Model2, 6, QRCodeCorrectionLevel::M))?;
            }
            Block::Barcode(data) => {
                if align != Align::Center {
                    p.justify(JustifyMode::CENTER)?;
                    align = Align::Center;
                }
                p.custom(&code128(data)?)?;
            }
            Block::Feed(n) => {
                p.feeds(*n)?;
            }
            Block::Cut => {
                p.cut()?;
            }
        }
    }
    p.print()?;
    let bytes = buffer.0.borrow().clone();
    Ok(bytes)
}

/// GS k CODE128 (code set B), bars 80 dots high, module width 2, human-readable text below.
fn code128(data: &str) -> Result<Vec<u8>> {
    if !data.bytes().all(|b| (0x20..0x7F).contains(&b)) || data.len() > 250 {
        return Err(PrinterError::Input(format!("not printable as CODE128: {data}")));
    }
    let mut cmd =
        vec![0x1D, 0x68, 80, 0x1D, 0x77, 2, 0x1D, 0x48, 2, 0x1D, 0x6B, 73, (data.len() + 2) as u8, b'{', b'B'];
    cmd.extend_from_slice(data.as_bytes());
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::printer::layout::{Block, Document};

    fn doc(text: &str, chinese: bool) -> Document {
        Document {
            columns: 32,
            chinese,
            blocks: vec![Block::Text { text: text.into(), align: Align::Left, bold: false, double: false }],
        }
    }

    #[test]
    fn chinese_is_gb18030_in_chinese_mode() {
        let bytes = encode(&doc("收银台", true)).unwrap();
        assert_eq!(&bytes[..4], &[0x1B, 0x40, 0x1C, 0x26], "init once, then Chinese mode");
        let at = bytes.windows(6).position(|w| w == [0xCA, 0xD5, 0xD2, 0xF8, 0xCC, 0xA8]);
        assert!(at.is_some(), "{bytes:02X?}");
        assert_eq!(bytes.iter().filter(|b| **b == 0x40).count(), 1, "one init per job");
    }

    #[test]
    fn the_qr_code_is_model_2_which_phones_read() {
        let doc = Document { columns: 32, chinese: false, blocks: vec![Block::Qr("R1-00000001".into())] };
        let bytes = encode(&doc).unwrap();
        // GS ( k 4 0 49 65 50 0: model 2 (the Model 1 escpos sends by default is 49).
        assert!(bytes.windows(8).any(|w| w == [0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x32]), "{bytes:02X?}");
        assert!(!bytes.windows(8).any(|w| w == [0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x31]));
    }

    #[test]
    fn a_drawer_kick_hidden_in_a_name_never_reaches_the_printer() {
        for chinese in [true, false] {
            let bytes = encode(&doc("绿茶\u{1b}p\u{0}22", chinese)).unwrap();
            assert!(!bytes.windows(2).any(|w| w == [0x1B, 0x70]), "no ESC p: {bytes:02X?}");
            assert!(!bytes.contains(&0x00), "no NUL either: {bytes:02X?}");
        }
    }

    #[test]
    fn latin_uses_cp858_and_marks_what_it_cannot_print() {
        assert_eq!(printable_latin("Café 5,00 € 收"), "Café 5,00 € ?");
        let bytes = encode(&doc("5,00 €", false)).unwrap();
        assert_eq!(&bytes[..7], &[0x1B, 0x40, 0x1C, 0x2E, 0x1B, 0x74, 19], "init, Chinese mode off, ESC t 19 (CP858)");
        assert!(bytes.windows(2).any(|w| w == [b' ', 0xD5]), "€ is D5 in CP858: {bytes:02X?}");
        assert_eq!(CP858_HIGH.chars().count(), 128);
        assert_eq!(text_bytes("a-b €", false), vec![b'a', b'-', b'b', b' ', 0xD5]);
    }
}
