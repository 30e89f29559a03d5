//! A laid-out receipt as ESC/POS bytes, through the `escpos` crate's command builder into a
//! buffer (the bytes are then stored as a print job and sent by a driver of ours, so that a job
//! can be kept, retried and checked against the printer's status).
//!
//! Chinese receipts switch the printer to Chinese mode (FS &) and send what the profile's Hanzi
//! charset holds; Latin receipts select code page 858 (with €) and print any character it lacks
//! as a visible `?`, never as bytes of another encoding (a line with Hanzi goes in Chinese mode).
//! What the profile's printer lacks is not sent: a QR code goes as a raster image where there is
//! no QR command, a barcode is left out where there is no CODE128. One init per job; styles are
//! sent only when they change.

use std::cell::RefCell;
use std::rc::Rc;

use escpos::driver::Driver;
use escpos::errors::{PrinterError, Result};
use escpos::printer::Printer;
use escpos::printer_options::PrinterOptions;
use escpos::utils::{Encoder, JustifyMode, PageCode, Protocol, QRCodeCorrectionLevel, QRCodeModel, QRCodeOption};

use super::layout::{Align, Block, Document};
use super::profile::{DrawerCommand, Profile};

/// FS & / FS .: Chinese (double-byte) mode on and off.
pub const CHINESE_ON: [u8; 2] = [0x1C, 0x26];
pub const CHINESE_OFF: [u8; 2] = [0x1C, 0x2E];
/// GS a 0: automatic status back off.
pub const ASB_OFF: [u8; 3] = [0x1D, 0x61, 0x00];
/// DLE ENQ 2: recover from a recoverable error (a cutter freed), clearing the buffers.
pub const RECOVER: [u8; 3] = [0x10, 0x05, 0x02];
/// DLE DC4 8 1 3 20 1 6 2 8: clear the receive and print buffers (the printer answers 37 25 00).
pub const CLEAR_BUFFERS: [u8; 10] = [0x10, 0x14, 0x08, 0x01, 0x03, 0x14, 0x01, 0x06, 0x02, 0x08];

/// The drawer pulse of a profile, on its pin. Sent on its own, never in a kept job: a receipt
/// printed again later (after a reload) does not open the drawer again.
/// - DLE DC4 1 m 1: 100 ms in real time, whatever the paper;
/// - ESC p m 25 250: 50 ms on, 500 ms off, in order with the print data.
pub fn drawer_pulse(profile: &Profile, pin: u8) -> Vec<u8> {
    let m = u8::from(pin == 5);
    match profile.drawer {
        DrawerCommand::RealTime => vec![0x10, 0x14, 0x01, m, 0x01],
        DrawerCommand::EscP => vec![0x1B, 0x70, m, 25, 250],
    }
}

/// GS ( H fn 48: the printer answers `37 22 id 00` once all before it is printed.
pub fn process_id(id: [u8; 4]) -> Vec<u8> {
    let mut cmd = vec![0x1D, 0x28, 0x48, 0x06, 0x00, 0x30, 0x30];
    cmd.extend_from_slice(&id);
    cmd
}

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

/// The bytes of a line of text: the profile's Hanzi charset in Chinese mode; code page 858
/// otherwise, with `?` for what it lacks. Encoded here, byte by byte, so that nothing but these
/// bytes reaches the paper.
pub fn text_bytes(text: &str, chinese: bool, profile: &Profile) -> Vec<u8> {
    if chinese {
        // Nothing but what the printer prints: a control character would be a command to it.
        let text = super::layout::printable(text, true, profile);
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

/// Encodes a document for its profile's printer, in the mode its `chinese` flag says.
pub fn encode(doc: &Document) -> Result<Vec<u8>> {
    let profile = doc.profile;
    let mut chinese = doc.chinese;
    let buffer = Buffer::default();
    // Text is encoded by `text_bytes`; the builder's encoder only sees the QR payload (ASCII).
    let encoding = encoding_rs::GB18030;
    let options = PrinterOptions::new(None, None, u8::try_from(doc.columns()).unwrap_or(48));
    let mut p = Printer::new(buffer.clone(), Protocol::new(Encoder::new(encoding)), Some(options));
    p.init()?;
    if chinese {
        p.custom(&CHINESE_ON)?;
    } else {
        // Many printers sold in China start in Chinese mode: leave it before single-byte text.
        p.custom(&CHINESE_OFF)?;
        p.page_code(PageCode::PC858)?;
    }
    // GS a 0: no automatic status back (ESC @ keeps it on where it was set): the printer speaks
    // only when asked, so a status byte read is an answer.
    p.custom(&ASB_OFF)?;
    let (mut align, mut bold, mut double) = (Align::Left, false, false);
    for block in &doc.blocks {
        match block {
            Block::Text { text, align: a, bold: b, double: d } => {
                // A line of a Latin receipt with Hanzi goes in Chinese mode (the layout counted
                // its columns so), and the mode goes back for the next line.
                let line_chinese = doc.line_is_chinese(text);
                if line_chinese != chinese {
                    p.custom(if line_chinese { &CHINESE_ON } else { &CHINESE_OFF })?;
                    chinese = line_chinese;
                }
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
                p.custom(&text_bytes(text, chinese, profile))?.custom(&[0x0A])?;
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
                let line: String = std::iter::repeat_n(*c, doc.columns()).collect();
                p.custom(&text_bytes(&line, chinese, profile))?.custom(&[0x0A])?;
            }
            Block::Qr(data) if profile.qr => {
                if align != Align::Center {
                    p.justify(JustifyMode::CENTER)?;
                    align = Align::Center;
                }
                // Model 2: what phones read (escpos's default is Model 1, which most cannot).
                p.qrcode_option(data, QRCodeOption::new(QRCodeModel::Model2, 6, QRCodeCorrectionLevel::M))?;
            }
            Block::Qr(data) => {
                // No QR command (POS-58): the code drawn as a raster image, centred in its bits.
                if profile.raster {
                    p.custom(&qr_raster(data, profile)?)?;
                }
            }
            Block::Image(image) if profile.raster => {
                p.custom(&raster_command(image))?;
            }
            Block::Image(_) => {}
            // No CODE128 command: left out; the QR code carries the same id.
            Block::Barcode(_) if !profile.code128 => {}
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

/// A QR code (Model 2, level M) as GS v 0: modules of up to 6 dots, with the quiet zone of 4
/// modules, centred across the profile's dots (cheap printers ignore ESC a for images).
pub fn qr_raster(data: &str, profile: &Profile) -> Result<Vec<u8>> {
    let code = qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| PrinterError::Input(format!("not printable as a QR code: {e}")))?;
    let modules = code.width();
    let dots = usize::from(profile.dots);
    let module = (dots / (modules + 8)).clamp(1, 6);
    let side = modules * module;
    let left = (dots - side) / 2;
    let row_bytes = dots.div_ceil(8);
    let colors = code.to_colors();
    let rows = side + 8 * module;
    let mut cmd = vec![0x1D, 0x76, 0x30, 0x00, row_bytes as u8, (row_bytes >> 8) as u8, rows as u8, (rows >> 8) as u8];
    let quiet = vec![0u8; row_bytes * 4 * module];
    cmd.reserve(row_bytes * rows);
    cmd.extend_from_slice(&quiet);
    // Each row of modules is drawn once and sent `module` times.
    for my in 0..modules {
        let mut row = vec![0u8; row_bytes];
        for mx in (0..modules).filter(|mx| colors[my * modules + mx] == qrcode::Color::Dark) {
            for dot in left + mx * module..left + (mx + 1) * module {
                row[dot / 8] |= 0x80 >> (dot % 8);
            }
        }
        for _ in 0..module {
            cmd.extend_from_slice(&row);
        }
    }
    cmd.extend_from_slice(&quiet);
    Ok(cmd)
}

/// GS v 0 for a raster image (normal density).
pub fn raster_command(image: &super::logo::Raster) -> Vec<u8> {
    let row_bytes = image.width / 8;
    let mut cmd = vec![0x1D, 0x76, 0x30, 0x00, row_bytes as u8, (row_bytes >> 8) as u8];
    cmd.extend_from_slice(&[image.height as u8, (image.height >> 8) as u8]);
    cmd.extend_from_slice(&image.bits);
    cmd
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
            profile: Profile::generic(58),
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
        let doc =
            Document { profile: Profile::generic(58), chinese: false, blocks: vec![Block::Qr("R1-00000001".into())] };
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
            // The name's ESC, p and NUL as printed text: ? p ? 2 2.
            assert!(bytes.windows(5).any(|w| w == b"?p?22"), "{bytes:02X?}");
            assert!(!bytes.windows(2).any(|w| w == [b'p', 0x00]), "no NUL in the text: {bytes:02X?}");
        }
    }

    #[test]
    fn latin_uses_cp858_and_marks_what_it_cannot_print() {
        assert_eq!(printable_latin("Café 5,00 € 收"), "Café 5,00 € ?");
        let bytes = encode(&doc("5,00 €", false)).unwrap();
        assert_eq!(&bytes[..7], &[0x1B, 0x40, 0x1C, 0x2E, 0x1B, 0x74, 19], "init, Chinese mode off, ESC t 19 (CP858)");
        assert!(bytes.windows(2).any(|w| w == [b' ', 0xD5]), "€ is D5 in CP858: {bytes:02X?}");
        assert_eq!(CP858_HIGH.chars().count(), 128);
        assert_eq!(text_bytes("a-b €", false, Profile::generic_80()), vec![b'a', b'-', b'b', b' ', 0xD5]);
    }
}
