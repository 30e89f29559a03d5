//! The receipt printer emulator's decoder: an ESC/POS byte stream back into what the paper shows
//! (text with its alignment and size, QR codes, barcodes, images, feeds, cuts) and what else the
//! printer did (drawer kicks, status answers). Training mode shows receipts through it; the
//! golden tests decode the till's own bytes with it. It never panics, whatever the bytes.
//!
//! It plays one printer model (a `Profile`) as a real one behaves:
//! - bytes go into a receive buffer and print in order, at the model's speed when made
//!   `at_print_speed`; real-time commands (DLE EOT, DLE DC4, DLE ENQ) are answered on arrival, so a status
//!   asked right after a job tells the state *before* the job printed;
//! - when the paper runs out mid-job it stops and keeps the rest in its buffer, and prints it
//!   once paper is loaded (unless DLE DC4 8 cleared the buffer first);
//! - GS ( H answers a job's process ID once everything before it is on paper;
//! - it prints only what the model prints: a line wider than its columns wraps, a QR code it
//!   has no command for comes out as nothing, Model 1 QR codes as unreadable, a four-byte
//!   GB18030 code on GBK firmware as garbage and a code outside GB2312 on GB2312 firmware as a
//!   blank.

use std::collections::VecDeque;

use super::escpos::CP858_HIGH;
use super::profile::{Hanzi, Profile};

/// The paper sensor, as the emulator's operator sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paper {
    #[default]
    Ok,
    NearEnd,
    Out,
}

/// One thing on the paper, with its style: what the PNG rendering draws.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaperItem {
    /// `chinese`: printed in Chinese mode, where every non-ASCII character is a two-column glyph.
    Text {
        text: String,
        centered: bool,
        right: bool,
        double: bool,
        bold: bool,
        chinese: bool,
    },
    Qr(String),
    Barcode(String),
    /// A raster image (GS v 0): `width` dots by `height` rows, one bit a dot, rows of
    /// `width / 8` bytes, the first bit the leftmost.
    Image {
        width: usize,
        height: usize,
        bits: Vec<u8>,
    },
    Cut,
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
    /// DLE DC4 8: the receive and print buffers were cleared (this many commands dropped).
    BufferCleared {
        dropped: usize,
    },
    /// GS ( H: the process ID answered once all before it was printed.
    ProcessId([u8; 4]),
    /// The end of a job on a printer without a cutter (GS V ignored): torn off at the bar.
    TearOff,
    /// A command this model does not have, ignored as the real one ignores it.
    Unsupported(&'static str),
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
    profile: &'static Profile,
    chinese: bool,
    align: Align,
    double: bool,
    line: Vec<u8>,
    qr_data: Vec<u8>,
    /// The QR model selected (GS ( k fn 65): 50, Model 2, as a printer starts.
    qr_model: u8,
    /// The code page selected (ESC t): 0, PC437, as a printer starts; the emulator has the
    /// glyphs of 19 (CP858) only, and prints others' upper half as garbage.
    code_page: u8,
    /// Bytes of a command not yet complete.
    pending: Vec<u8>,
    /// Commands received and not yet printed: the printer's buffer.
    buffer: VecDeque<Vec<u8>>,
    /// Lines the head may still print before the next `tick` (None: as fast as bytes come).
    budget: Option<usize>,
    /// What the paper shows, in the text convention of `layout::Document::to_text`.
    pub text: String,
    pub events: Vec<Event>,
    /// Characters outside GB2312, which older printers print as blanks.
    pub outside_gb2312: Vec<char>,
    /// Double-byte codes the model's charset does not have, printed as garbage or blanks.
    pub misprinted: usize,
    pub paper: Paper,
    /// What is on the paper, item by item (the text above, with styles, QR and barcode data).
    pub items: Vec<PaperItem>,
    bold: bool,
    /// Rehearsal: the roll runs out after this many more printed lines.
    pub paper_lines_left: Option<usize>,
    /// Rehearsal: the cutter is jammed (the next cut fails; freeing it removes the cause).
    pub cutter_jammed: bool,
    /// The autocutter error: printing stops until DLE ENQ recovers it with the cause removed.
    cutter_error: bool,
}

/// The real-time status byte for DLE EOT `n` (bits 1 and 4 always set, bits 0 and 7 clear).
/// With the paper out the printer is offline (bit 3 of DLE EOT 1) and stopped (bit 5 of 2).
pub fn status_byte(query: u8, paper: Paper) -> u8 {
    let base = 0b0001_0010;
    match (query, paper) {
        (1, Paper::Out) => base | 0b0000_1000,
        (2, Paper::Out) => base | 0b0010_0000,
        (4, Paper::NearEnd) => base | 0b0000_1100,
        (4, Paper::Out) => base | 0b0110_1100,
        _ => base,
    }
}

/// How many bytes the command at the start of `b` takes, or None while it is incomplete.
fn command_len(b: &[u8]) -> Option<usize> {
    let at = |i: usize| b.get(i).copied();
    let word = |i: usize| Some(usize::from(at(i)?) | (usize::from(at(i + 1)?) << 8));
    let len = match at(0)? {
        0x1B => match at(1)? {
            b'@' => 2,
            b'p' => 5,
            _ => 3,
        },
        0x1C => 2,
        0x1D => match at(1)? {
            // GS V m, or GS V m n for the modes with a feed (65, 66).
            b'V' => 3 + usize::from(at(2)? >= 65),
            b'(' => 5 + word(3)?,
            b'k' => {
                if at(2)? >= 65 {
                    4 + usize::from(at(3)?)
                } else {
                    // Function A: data up to a NUL, at most 255 bytes (after that, garbage).
                    match b.get(3..)?.iter().take(256).position(|x| *x == 0) {
                        Some(nul) => nul + 4,
                        None if b.len() >= 3 + 256 => 3 + 256,
                        None => return None,
                    }
                }
            }
            // An image past a receipt's size (1 MiB of bits) is taken for garbage, its header
            // skipped: waiting for gigabytes would swallow every later status query.
            b'v' => match word(4)? * word(6)? {
                bits if bits <= 1 << 20 => 8 + bits,
                _ => 8,
            },
            _ => 3,
        },
        0x10 => match at(1)? {
            0x04 | 0x05 => 3,
            0x14 if at(2)? == 8 => 10,
            0x14 => 5,
            _ => 1,
        },
        // A run of text (GBK and GB18030 bytes never fall below 0x20 either).
        0x20.. => b.iter().position(|x| *x < 0x20).unwrap_or(b.len()),
        _ => 1,
    };
    (b.len() >= len).then_some(len)
}

/// Whether a command puts something on the paper (and so waits for paper and the head).
fn prints(cmd: &[u8]) -> bool {
    match cmd {
        [0x0A] => true,
        [0x1B, b'd', n] => *n > 0,
        [0x1D, b'V', ..] | [0x1D, b'k', ..] | [0x1D, b'v', ..] => true,
        [0x1D, b'(', b'k', _, _, 49, 81, ..] => true,
        _ => false,
    }
}

impl Decoder {
    pub fn new(profile: &'static Profile) -> Decoder {
        Decoder {
            profile,
            chinese: false,
            align: Align::Left,
            double: false,
            line: Vec::new(),
            qr_data: Vec::new(),
            qr_model: 50,
            code_page: 0,
            pending: Vec::new(),
            buffer: VecDeque::new(),
            budget: None,
            text: String::new(),
            events: Vec::new(),
            outside_gb2312: Vec::new(),
            misprinted: 0,
            paper: Paper::Ok,
            items: Vec::new(),
            bold: false,
            paper_lines_left: None,
            cutter_jammed: false,
            cutter_error: false,
        }
    }

    /// The answer to DLE EOT `n`: the paper sensor's, and during an autocutter error offline
    /// (DLE EOT 1 bit 3, 2 bit 6: stopped by an error) with the cutter's bit (3 bit 3).
    pub fn status(&self, query: u8) -> u8 {
        let paper = status_byte(query, self.paper);
        match (query, self.cutter_error) {
            (1, true) => paper | 0b0000_1000,
            (2, true) => paper | 0b0100_0000,
            (3, true) => paper | 0b0000_1000,
            _ => paper,
        }
    }

    pub fn profile(&self) -> &'static Profile {
        self.profile
    }

    /// Prints at the model's speed: from now on the head prints only the lines `tick` allows.
    pub fn at_print_speed(mut self) -> Decoder {
        self.budget = Some(0);
        self
    }

    /// Lines (and codes, images, cuts) waiting in the printer's buffer: the rest of a job
    /// stopped by paper out.
    pub fn buffered(&self) -> usize {
        self.buffer.iter().filter(|cmd| prints(cmd)).count()
    }

    /// Takes the next bytes of the stream; a command cut off at the end waits for the rest.
    /// Returns what the printer sends back (status answers at once, process IDs once printed).
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.pending.extend_from_slice(bytes);
        let mut answers = Vec::new();
        let mut at = 0;
        while let Some(n) = command_len(&self.pending[at..]) {
            let cmd = self.pending[at..at + n].to_vec();
            at += n;
            self.receive(cmd, &mut answers);
        }
        self.pending.drain(..at);
        self.run(&mut answers);
        answers
    }

    /// Lets the head print `lines` more lines (at print speed); returns what it sends back.
    pub fn tick(&mut self, lines: usize) -> Vec<u8> {
        let idle = self.buffered() == 0;
        if let Some(budget) = self.budget.as_mut() {
            // An idle head banks no time: the next job starts printing when it comes.
            *budget = if idle { 0 } else { budget.saturating_add(lines) };
        }
        let mut answers = Vec::new();
        self.run(&mut answers);
        answers
    }

    /// A command as it arrives: real-time ones at once, the rest into the buffer.
    fn receive(&mut self, cmd: Vec<u8>, answers: &mut Vec<u8>) {
        match cmd.as_slice() {
            [0x10, 0x04, n] => {
                let answer = self.status(*n);
                answers.push(answer);
                self.events.push(Event::Status { query: *n, answer });
            }
            // DLE DC4 1 m t: a drawer pulse in real time (pin 2 when m is 0, pin 5 when 1),
            // done at once whatever the paper — never buffered behind a job.
            [0x10, 0x14, 0x01, m, _] => self.events.push(Event::DrawerKick { pin: if *m == 1 { 5 } else { 2 } }),
            [0x10, 0x14, 0x08, 1, 3, 20, 1, 6, 2, 8] => {
                let dropped = self.buffer.len();
                self.buffer.clear();
                self.line.clear();
                self.events.push(Event::BufferCleared { dropped });
                answers.extend_from_slice(&[0x37, 0x25, 0x00]);
            }
            // DLE ENQ 1 and 2: recover from an error whose cause is gone (2 clears the buffers;
            // 1 prints again from where it stopped).
            [0x10, 0x05, n @ (1 | 2)] if self.cutter_error && !self.cutter_jammed => {
                self.cutter_error = false;
                if *n == 2 {
                    self.buffer.clear();
                    self.line.clear();
                }
            }
            [0x10, ..] => {}
            _ => self.buffer.push_back(cmd),
        }
    }

    /// Processes the buffer as far as paper and print speed allow.
    fn run(&mut self, answers: &mut Vec<u8>) {
        while let Some(cmd) = self.buffer.front() {
            if prints(cmd) {
                if self.paper_lines_left == Some(0) {
                    self.paper = Paper::Out;
                    self.paper_lines_left = None;
                }
                if self.paper == Paper::Out || self.cutter_error || self.budget == Some(0) {
                    return;
                }
                if self.cutter_jammed && cmd.starts_with(&[0x1D, b'V']) && self.profile.cutter {
                    // The blade sticks: the paper stays uncut and the printer stops, in error.
                    self.cutter_error = true;
                    return;
                }
                if let Some(budget) = self.budget.as_mut() {
                    *budget -= 1;
                }
                if let Some(left) = self.paper_lines_left.as_mut() {
                    *left -= 1;
                }
            }
            let cmd = self.buffer.pop_front().unwrap_or_default();
            self.execute(&cmd, answers);
        }
    }

    /// Carries out one complete buffered command.
    fn execute(&mut self, b: &[u8], answers: &mut Vec<u8>) {
        match b {
            [0x0A] => self.end_line(),
            [0x1B, b'@'] => {
                // Back to the power-on state: single-byte mode, left, normal size.
                self.line.clear();
                self.align = Align::Left;
                self.double = false;
                self.bold = false;
                self.chinese = false;
                self.qr_model = 50;
                self.code_page = 0;
            }
            [0x1B, b'a', n] => {
                self.align = match n % 48 {
                    1 => Align::Center,
                    2 => Align::Right,
                    _ => Align::Left,
                };
            }
            [0x1B, b'd', n] => {
                // Print what is buffered and feed n lines: the first feed ends it.
                let mut n = *n;
                if !self.line.is_empty() && n > 0 {
                    self.end_line();
                    n -= 1;
                }
                for _ in 0..n {
                    self.print("\n", self.styled(String::new()));
                }
            }
            [0x1B, b'E', n] => self.bold = n & 1 == 1,
            [0x1B, b't', n] => self.code_page = *n,
            [0x1B, b'p', m, ..] => self.events.push(Event::DrawerKick { pin: if m % 48 == 1 { 5 } else { 2 } }),
            [0x1C, 0x26] => self.chinese = true,
            [0x1C, 0x2E] => self.chinese = false,
            [0x1D, b'!', n] => self.double = n & 0x11 != 0,
            [0x1D, b'V', ..] => {
                self.end_line_if_any();
                if self.profile.cutter {
                    self.print("[CUT]\n", PaperItem::Cut);
                    self.events.push(Event::Cut);
                } else {
                    self.print("[TEAR OFF]\n", PaperItem::Cut);
                    self.events.push(Event::TearOff);
                }
            }
            [0x1D, b'(', b'H', 6, 0, 48, 48, d1, d2, d3, d4] => {
                let id = [*d1, *d2, *d3, *d4];
                if self.profile.completion == super::profile::Completion::ProcessId {
                    answers.extend_from_slice(&[0x37, 0x22, *d1, *d2, *d3, *d4, 0x00]);
                    self.events.push(Event::ProcessId(id));
                } else {
                    self.events.push(Event::Unsupported("GS ( H"));
                }
            }
            [0x1D, b'(', b'k', _, _, rest @ ..] => self.qr(rest),
            [0x1D, b'k', m, rest @ ..] => {
                if !self.profile.code128 {
                    self.events.push(Event::Unsupported("GS k"));
                    return;
                }
                let data =
                    if *m >= 65 { rest.get(1..).unwrap_or_default() } else { rest.strip_suffix(&[0]).unwrap_or(rest) };
                let shown = data.strip_prefix(b"{B").unwrap_or(data);
                self.end_line_if_any();
                let data = String::from_utf8_lossy(shown).into_owned();
                self.print(&format!("[BARCODE {data}]\n"), PaperItem::Barcode(data.clone()));
            }
            [0x1D, b'v', b'0', _, xl, xh, yl, yh, bits @ ..] => {
                self.end_line_if_any();
                let width = (usize::from(*xl) | usize::from(*xh) << 8) * 8;
                let height = usize::from(*yl) | usize::from(*yh) << 8;
                if !self.profile.raster {
                    self.events.push(Event::Unsupported("GS v 0"));
                    return;
                }
                // A header whose image never came (too large to wait for): nothing printed.
                if bits.len() != width / 8 * height || width == 0 || height == 0 {
                    return;
                }
                // What a phone would read off the image, if it is a QR code.
                let shown = match read_qr(width, height, bits) {
                    Some(data) => format!("[QR {data}]\n"),
                    None => format!("[IMAGE {width}x{height}]\n"),
                };
                self.print(&shown, PaperItem::Image { width, height, bits: bits.to_vec() });
            }
            [0x00..=0x1F, ..] | [] => {}
            text => self.line.extend_from_slice(text),
        }
    }

    /// GS ( k cn fn …: 49 80 48 stores QR data, 49 65 the model, 49 81 48 prints it.
    fn qr(&mut self, function: &[u8]) {
        match function {
            [49, 80, 48, data @ ..] => self.qr_data = data.to_vec(),
            // fn 65: the model (49 Model 1, 50 Model 2, 51 Micro).
            [49, 65, model, ..] => self.qr_model = *model,
            [49, 81, ..] if !self.profile.qr => self.events.push(Event::Unsupported("GS ( k")),
            [49, 81, ..] => {
                self.end_line_if_any();
                let data = String::from_utf8_lossy(&self.qr_data).into_owned();
                if self.qr_model == 50 {
                    self.print(&format!("[QR {data}]\n"), PaperItem::Qr(data.clone()));
                } else {
                    // Printed, but not for a phone: most scanners read Model 2 only.
                    let text = format!("[QR unreadable: model {}]", self.qr_model.saturating_sub(48));
                    let item = self.styled(text.clone());
                    self.print(&format!("{text}\n"), item);
                }
            }
            _ => {}
        }
    }

    fn styled(&self, text: String) -> PaperItem {
        PaperItem::Text {
            text,
            centered: self.align == Align::Center,
            right: self.align == Align::Right,
            double: self.double,
            bold: self.bold,
            chinese: self.chinese,
        }
    }

    /// Puts something on the paper.
    fn print(&mut self, text: &str, item: PaperItem) {
        self.text.push_str(text);
        self.items.push(item);
    }

    fn end_line_if_any(&mut self) {
        if !self.line.is_empty() {
            self.end_line();
        }
    }

    fn end_line(&mut self) {
        let bytes = std::mem::take(&mut self.line);
        // Columns as the head spends them, counted from the bytes (not from the layout's rule):
        // one a single byte, two a double-byte glyph.
        let glyphs = if self.chinese {
            self.hanzi(&bytes)
        } else {
            let cp858 = self.code_page == 19;
            let glyphs: Vec<(char, usize)> =
                bytes.iter().map(|&b| (if b < 0x80 || cp858 { latin(b) } else { '\u{FFFD}' }, 1)).collect();
            self.misprinted += glyphs.iter().filter(|(c, _)| *c == '\u{FFFD}').count();
            glyphs
        };
        let columns = if self.double { self.profile.columns / 2 } else { self.profile.columns };
        // The head wraps what is wider than the paper, as the printer does.
        let mut pieces = vec![(String::new(), 0usize)];
        for (glyph, width) in glyphs {
            if pieces.last().is_some_and(|(_, used)| used + width > columns.max(2)) {
                pieces.push((String::new(), 0));
            }
            if let Some((text, used)) = pieces.last_mut() {
                text.push(glyph);
                *used += width;
            }
        }
        for (piece, width) in pieces {
            let pad = columns.saturating_sub(width);
            let left = match self.align {
                Align::Left => 0,
                Align::Center => pad / 2,
                Align::Right => pad,
            };
            let shown = format!("{}{piece}\n", " ".repeat(left));
            let item = self.styled(piece);
            self.print(&shown, item);
        }
    }

    /// Double-byte text as this model's font prints it: each glyph with the columns it takes.
    fn hanzi(&mut self, bytes: &[u8]) -> Vec<(char, usize)> {
        let mut glyphs = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let lead = bytes[i];
            if lead < 0x80 {
                glyphs.push((char::from(lead), 1));
                i += 1;
                continue;
            }
            // GB18030 firmware reads a four-byte code as one glyph; GBK and GB2312 firmware
            // take every byte from 0x81 on as the first of a pair.
            let four = bytes.get(i..i + 4).filter(|b| {
                self.profile.hanzi == Hanzi::Gb18030 && (0x30..=0x39).contains(&b[1]) && (0x30..=0x39).contains(&b[3])
            });
            let code = match four {
                Some(code) => code,
                None => match bytes.get(i..i + 2) {
                    Some(pair) => pair,
                    None => break,
                },
            };
            i += code.len();
            let (decoded, _, _) = encoding_rs::GB18030.decode(code);
            let mut chars = decoded.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if !c.is_ascii() && c != '\u{FFFD}' && self.profile.has_hanzi(c) => {
                    if !in_gb2312(c) {
                        self.outside_gb2312.push(c);
                    }
                    glyphs.push((c, 2));
                }
                // GB2312 fonts print what they lack as a blank, in both columns.
                _ if self.profile.hanzi == Hanzi::Gb2312 => {
                    self.misprinted += 1;
                    glyphs.extend([(' ', 1), (' ', 1)]);
                }
                // Garbage: a glyph from elsewhere in the font.
                _ => {
                    self.misprinted += 1;
                    glyphs.push(('\u{FFFD}', 2));
                }
            }
        }
        glyphs
    }
}

/// A byte of code page 858.
fn latin(b: u8) -> char {
    if b < 0x80 { char::from(b) } else { CP858_HIGH.chars().nth(usize::from(b - 0x80)).unwrap_or('?') }
}

/// Reads a QR code off a raster image, as a phone's camera would (rqrr, not the code that drew
/// it). Images beyond a receipt's size are not searched, and whatever the reader does with odd
/// bits (it has asserted on some) stays inside: the emulator never panics on input.
fn read_qr(width: usize, height: usize, bits: &[u8]) -> Option<String> {
    let row = width / 8;
    if width == 0 || height == 0 || width > 2048 || height > 4096 || bits.len() < row * height {
        return None;
    }
    std::panic::catch_unwind(|| {
        let mut image = rqrr::PreparedImage::prepare_from_bitmap(width, height, |x, y| {
            bits.get(y * row + x / 8).is_some_and(|b| b & (0x80 >> (x % 8)) != 0)
        });
        let grids = image.detect_grids();
        let (_, content) = grids.first()?.decode().ok()?;
        Some(content)
    })
    .ok()
    .flatten()
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
    use crate::printer::profile::PROFILES;

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
        let mut d = Decoder::new(Profile::generic(58));
        let mut bytes = vec![0x1C, 0x26];
        // Sent in two pieces that cut the command and a Hanzi in half.
        let (encoded, _, _) = encoding_rs::GB18030.encode("收银台 堃");
        bytes.extend_from_slice(&encoded);
        bytes.push(0x0A);
        d.feed(&bytes[..1]);
        d.feed(&bytes[1..4]);
        d.feed(&bytes[4..]);
        assert_eq!(d.text, "收银台 堃\n");
        assert_eq!(d.outside_gb2312, vec!['堃']);
    }

    #[test]
    fn every_model_answers_a_status_at_once_and_keeps_a_job_its_paper_cannot_take() {
        for profile in PROFILES {
            let mut d = Decoder::new(profile).at_print_speed();
            // A job and a status query behind it: the answer comes before anything printed.
            let answers = d.feed(b"one\ntwo\nthree\n\x10\x04\x04");
            assert_eq!(answers, vec![status_byte(4, Paper::Ok)], "{}", profile.id);
            assert_eq!((d.text.as_str(), d.buffered()), ("", 3), "{}", profile.id);
            d.paper_lines_left = Some(1);
            d.tick(10);
            assert_eq!((d.text.as_str(), d.paper), ("one\n", Paper::Out), "{}", profile.id);
            assert_eq!(d.feed(&[0x10, 0x04, 0x02]), vec![status_byte(2, Paper::Out)]);
            // A new roll: the rest, once.
            d.paper = Paper::Ok;
            d.tick(10);
            assert_eq!(d.text, "one\ntwo\nthree\n", "{}", profile.id);
            // GS ( H answers only where the model has it, once all before it printed.
            let answers = d.feed(&[0x1D, 0x28, 0x48, 0x06, 0x00, 0x30, 0x30, b'A', b'B', b'C', b'D']);
            let has = profile.completion == crate::printer::profile::Completion::ProcessId;
            assert_eq!(answers.is_empty(), !has, "{}", profile.id);
            if has {
                assert_eq!(answers, vec![0x37, 0x22, b'A', b'B', b'C', b'D', 0x00]);
            }
        }
    }

    #[test]
    fn latin_text_needs_its_code_page_selected() {
        // "Café €" in CP858 bytes: garbage on the power-on page (PC437), right after ESC t 19.
        let text = [b'C', b'a', b'f', 0x82, b' ', 0xD5, 0x0A];
        let mut d = Decoder::new(Profile::generic_80());
        d.feed(&text);
        assert_eq!((d.text.as_str(), d.misprinted), ("Caf\u{FFFD} \u{FFFD}\n", 2));
        let mut d = Decoder::new(Profile::generic_80());
        d.feed(&[&[0x1B, b't', 19][..], &text[..]].concat());
        assert_eq!((d.text.as_str(), d.misprinted), ("Café €\n", 0));
    }

    #[test]
    fn a_buffer_clear_drops_the_kept_rest_and_answers() {
        let mut d = Decoder::new(Profile::by_id("epson-tm-t88").unwrap());
        d.paper = Paper::Out;
        d.feed(b"kept\nrest\n");
        assert_eq!(d.buffered(), 2);
        let answers = d.feed(&crate::printer::escpos::CLEAR_BUFFERS);
        assert_eq!(answers, vec![0x37, 0x25, 0x00]);
        d.paper = Paper::Ok;
        d.tick(0);
        assert_eq!((d.text.as_str(), d.buffered()), ("", 0));
    }

    #[test]
    fn a_model_1_qr_code_comes_out_unreadable() {
        let store = [0x1D, 0x28, 0x6B, 0x07, 0x00, 49, 80, 48, b'R', b'1', b'-', b'9'];
        let print = [0x1D, 0x28, 0x6B, 0x03, 0x00, 49, 81, 48];
        let model = |m: u8| [0x1D, 0x28, 0x6B, 0x04, 0x00, 49, 65, m, 0];
        let mut d = Decoder::new(Profile::generic(58));
        d.feed(&[&model(49)[..], &store[..], &print[..]].concat());
        assert_eq!(d.text, "[QR unreadable: model 1]\n", "what escpos sends by default");
        let mut d = Decoder::new(Profile::generic(58));
        d.feed(&[&model(50)[..], &store[..], &print[..]].concat());
        assert_eq!(d.text, "[QR R1-9]\n");
    }
}

/// What the emulator's operator can change while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaperControl {
    Set(Paper),
    /// The roll runs out after this many more lines (paper out mid-job).
    RunsOutAfter(usize),
    /// The cutter jams at the next cut (true), or is freed (false).
    CutterJammed(bool),
}

impl PaperControl {
    /// `paper ok`, `paper near-end`, `paper out`, `paper runs-out N`, `cutter jam`, `cutter free`.
    pub fn parse(line: &str) -> Option<PaperControl> {
        let words: Vec<&str> = line.split_whitespace().collect();
        Some(match words.as_slice() {
            ["paper", "ok"] | ["paper", "loaded"] => PaperControl::Set(Paper::Ok),
            ["paper", "near-end"] => PaperControl::Set(Paper::NearEnd),
            ["paper", "out"] => PaperControl::Set(Paper::Out),
            ["paper", "runs-out", n] => PaperControl::RunsOutAfter(n.parse().ok()?),
            ["cutter", "jam"] => PaperControl::CutterJammed(true),
            ["cutter", "free"] => PaperControl::CutterJammed(false),
            _ => return None,
        })
    }
}

/// One finished receipt (up to a cut) as the emulator shows it.
pub struct Printed<'a> {
    pub text: &'a str,
    /// What else the printer did meanwhile (drawer kicks, status answers, the cut).
    pub events: &'a [Event],
    /// The paper's items, for a picture.
    pub items: &'a [PaperItem],
}

/// Serves a printer on a line: decodes what comes, answers real-time queries at once, prints at
/// the model's speed if the decoder was made `at_print_speed`, applies the operator's paper
/// changes (a reload prints the rest a paper-out kept), and hands each finished receipt (up to a
/// cut or a tear-off) to `printed`: its text, what else the printer did, and its items.
pub fn serve(
    port: &mut dyn serialport::SerialPort,
    decoder: &mut Decoder,
    controls: &std::sync::mpsc::Receiver<PaperControl>,
    keep_going: &dyn Fn() -> bool,
    printed: &mut dyn FnMut(Printed<'_>),
) -> std::io::Result<()> {
    let mut buf = [0u8; 1024];
    let (mut shown, mut events_shown, mut items_shown) = (0, 0, 0);
    port.set_timeout(std::time::Duration::from_millis(10)).map_err(std::io::Error::other)?;
    let apply = |decoder: &mut Decoder| {
        while let Ok(control) = controls.try_recv() {
            match control {
                PaperControl::Set(p) => {
                    decoder.paper = p;
                    decoder.paper_lines_left = None;
                }
                PaperControl::RunsOutAfter(n) => decoder.paper_lines_left = Some(n),
                PaperControl::CutterJammed(jammed) => decoder.cutter_jammed = jammed,
            }
        }
    };
    // The head's time: lines printed since the last tick, at the model's speed.
    let per_line = decoder.profile().print_time(1);
    let mut clock = std::time::Instant::now();
    while keep_going() {
        apply(decoder);
        let n = match port.read(&mut buf) {
            Ok(n) => n,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) => 0,
            Err(e) => return Err(e),
        };
        // The operator's change made while the printer waited counts for what just came.
        apply(decoder);
        let lines = (clock.elapsed().as_micros() / per_line.as_micros().max(1)) as usize;
        clock += per_line * lines as u32;
        let mut answers = decoder.tick(lines);
        if n > 0 {
            answers.extend(decoder.feed(&buf[..n]));
        }
        // The receipt is handed on before any answer goes out: a till that learns the job
        // printed finds it already shown.
        while let Some(end) =
            decoder.events[events_shown..].iter().position(|e| matches!(e, Event::Cut | Event::TearOff))
        {
            let events_end = events_shown + end + 1;
            let items_end = items_shown
                + decoder.items[items_shown..].iter().position(|i| *i == PaperItem::Cut).map_or(0, |i| i + 1);
            let text_end = shown
                + decoder.text[shown..]
                    .find("[CUT]\n")
                    .or_else(|| decoder.text[shown..].find("[TEAR OFF]\n"))
                    .map_or(decoder.text.len() - shown, |i| {
                        i + if decoder.text[shown + i..].starts_with("[CUT]") { 6 } else { 11 }
                    });
            printed(Printed {
                text: &decoder.text[shown..text_end],
                events: &decoder.events[events_shown..events_end],
                items: &decoder.items[items_shown..items_end],
            });
            (shown, events_shown, items_shown) = (text_end, events_end, items_end);
        }
        if !answers.is_empty() {
            port.write_all(&answers)?;
            port.flush()?;
        }
    }
    Ok(())
}
