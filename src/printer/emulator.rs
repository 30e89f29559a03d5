//! The receipt printer emulator's decoder: an ESC/POS byte stream back into what the paper shows
//! (text with its alignment and size, QR codes, barcodes, feeds, cuts) and what else the printer
//! did (drawer kicks, status answers). Training mode shows receipts through it; the golden tests
//! decode the till's own bytes with it. It takes the stream in pieces as a serial line delivers
//! it, answers DLE EOT at once from its paper sensor, and never panics, whatever the bytes.

use super::escpos::CP858_HIGH;
use super::layout::width_in;

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
    /// The QR model selected (GS ( k fn 65): 50, Model 2, as a printer starts.
    qr_model: u8,
    /// Bytes of a command not yet complete.
    pending: Vec<u8>,
    /// Lines that came while the paper was out: the job was not fully printed.
    pub lost: usize,
    /// What the paper shows, in the text convention of `layout::Document::to_text`.
    pub text: String,
    pub events: Vec<Event>,
    /// Characters outside GB2312, which older printers print as blanks.
    pub outside_gb2312: Vec<char>,
    pub paper: Paper,
    /// What is on the paper, item by item (the text above, with styles, QR and barcode data).
    pub items: Vec<PaperItem>,
    bold: bool,
    /// Rehearsal: the roll runs out after this many more printed lines.
    pub paper_lines_left: Option<usize>,
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
            qr_model: 50,
            pending: Vec::new(),
            lost: 0,
            text: String::new(),
            events: Vec::new(),
            outside_gb2312: Vec::new(),
            paper: Paper::Ok,
            items: Vec::new(),
            bold: false,
            paper_lines_left: None,
        }
    }

    /// Takes the next bytes of the stream; a command cut off at the end waits for the rest.
    /// Returns the answers to status queries (DLE EOT), to send back at once.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.pending.extend_from_slice(bytes);
        let mut answers = Vec::new();
        let mut at = 0;
        while at < self.pending.len() {
            let buffered = std::mem::take(&mut self.pending);
            let step = self.step(&buffered[at..], &mut answers);
            self.pending = buffered;
            match step {
                Some(n) => at += n,
                None => break,
            }
        }
        self.pending.drain(..at);
        answers
    }

    /// Decodes one command or character at the start of `b`: how many bytes it took, or None
    /// when the command is not complete yet.
    fn step(&mut self, b: &[u8], answers: &mut Vec<u8>) -> Option<usize> {
        let need = |n: usize| (b.len() >= n).then_some(());
        match b[0] {
            0x0A => {
                self.end_line();
                Some(1)
            }
            0x1B => {
                need(2)?;
                match b[1] {
                    b'@' => {
                        // Back to the power-on state: single-byte mode, left, normal size.
                        self.line.clear();
                        self.align = Align::Left;
                        self.double = false;
                        self.bold = false;
                        self.chinese = false;
                        self.qr_model = 50;
                        Some(2)
                    }
                    b'a' => {
                        need(3)?;
                        self.align = match b[2] % 48 {
                            1 => Align::Center,
                            2 => Align::Right,
                            _ => Align::Left,
                        };
                        Some(3)
                    }
                    b'd' => {
                        need(3)?;
                        // Print what is buffered and feed n lines: the first feed ends it.
                        let mut n = b[2];
                        if !self.line.is_empty() && n > 0 {
                            self.end_line();
                            n -= 1;
                        }
                        self.feed_lines(n);
                        Some(3)
                    }
                    b'E' => {
                        need(3)?;
                        self.bold = b[2] & 1 == 1;
                        Some(3)
                    }
                    b'p' => {
                        need(5)?;
                        self.events.push(Event::DrawerKick { pin: b[2] % 48 });
                        Some(5)
                    }
                    // One-byte parameters: ESC E (bold), ESC t (code page), ESC - , ESC M, ESC !…
                    _ => {
                        need(3)?;
                        Some(3)
                    }
                }
            }
            0x1C => {
                need(2)?;
                match b[1] {
                    0x26 => self.chinese = true,
                    0x2E => self.chinese = false,
                    _ => {}
                }
                Some(2)
            }
            0x1D => {
                need(2)?;
                match b[1] {
                    b'!' => {
                        need(3)?;
                        self.double = b[2] & 0x11 != 0;
                        Some(3)
                    }
                    b'V' => {
                        need(3)?;
                        let len = if b[2] >= 65 { 4 } else { 3 };
                        need(len)?;
                        self.end_line_if_any();
                        self.print("[CUT]\n", PaperItem::Cut);
                        self.events.push(Event::Cut);
                        Some(len)
                    }
                    b'(' => {
                        need(5)?;
                        let len = usize::from(b[3]) | (usize::from(b[4]) << 8);
                        need(5 + len)?;
                        // GS ( k: cn fn …: 49 80 48 stores QR data, 49 81 48 prints it.
                        if b[2] == b'k' {
                            match &b[5..5 + len] {
                                [49, 80, 48, data @ ..] => self.qr_data = data.to_vec(),
                                // fn 65: the model (49 Model 1, 50 Model 2, 51 Micro).
                                [49, 65, model, ..] => self.qr_model = *model,
                                [49, 81, ..] => {
                                    self.end_line_if_any();
                                    let data = String::from_utf8_lossy(&self.qr_data).into_owned();
                                    if self.qr_model == 50 {
                                        self.print(&format!("[QR {data}]\n"), PaperItem::Qr(data.clone()));
                                    } else {
                                        // Printed, but not for a phone: most scanners read Model 2 only.
                                        let text =
                                            format!("[QR unreadable: model {}]", self.qr_model.saturating_sub(48));
                                        let item = self.styled(text.clone());
                                        self.print(&format!("{text}\n"), item);
                                    }
                                }
                                _ => {}
                            }
                        }
                        Some(5 + len)
                    }
                    b'k' => {
                        need(3)?;
                        let (data, len) = if b[2] >= 65 {
                            need(4)?;
                            let n = usize::from(b[3]);
                            need(4 + n)?;
                            (&b[4..4 + n], 4 + n)
                        } else {
                            let end = b[3..].iter().position(|x| *x == 0)? + 3;
                            (&b[3..end], end + 1)
                        };
                        let shown = data.strip_prefix(b"{B").unwrap_or(data);
                        self.end_line_if_any();
                        let data = String::from_utf8_lossy(shown).into_owned();
                        self.print(&format!("[BARCODE {data}]\n"), PaperItem::Barcode(data.clone()));
                        Some(len)
                    }
                    // GS h, GS w, GS H and other one-byte parameters.
                    _ => {
                        need(3)?;
                        Some(3)
                    }
                }
            }
            0x10 => {
                need(2)?;
                // DLE DC4 1 m t: a drawer pulse in real time (on pin 2 when m is 0, pin 5 when
                // 1), done at once whatever the paper — never buffered behind a job.
                if b[1] == 0x14 {
                    need(5)?;
                    if b[2] == 1 {
                        self.events.push(Event::DrawerKick { pin: b[3] });
                    }
                    return Some(5);
                }
                if b[1] != 0x04 {
                    return Some(1);
                }
                need(3)?;
                let answer = status_byte(b[2], self.paper);
                answers.push(answer);
                self.events.push(Event::Status { query: b[2], answer });
                Some(3)
            }
            0x00..=0x1F => Some(1),
            other => {
                self.line.push(other);
                Some(1)
            }
        }
    }

    fn feed_lines(&mut self, n: u8) {
        for _ in 0..n {
            self.print("\n", self.styled(String::new()));
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

    /// Puts text on the paper, if there is paper.
    fn print(&mut self, text: &str, item: PaperItem) {
        if let Some(left) = self.paper_lines_left.as_mut() {
            if *left == 0 {
                self.paper = Paper::Out;
                self.paper_lines_left = None;
            } else {
                *left -= 1;
            }
        }
        if self.paper == Paper::Out {
            self.lost += 1;
        } else {
            self.text.push_str(text);
            self.items.push(item);
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
        let pad = columns.saturating_sub(width_in(&text, self.chinese));
        let left = match self.align {
            Align::Left => 0,
            Align::Center => pad / 2,
            Align::Right => pad,
        };
        let shown = format!("{}{text}\n", " ".repeat(left));
        let item = self.styled(text);
        self.print(&shown, item);
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
    fn a_model_1_qr_code_comes_out_unreadable() {
        let store = [0x1D, 0x28, 0x6B, 0x07, 0x00, 49, 80, 48, b'R', b'1', b'-', b'9'];
        let print = [0x1D, 0x28, 0x6B, 0x03, 0x00, 49, 81, 48];
        let model = |m: u8| [0x1D, 0x28, 0x6B, 0x04, 0x00, 49, 65, m, 0];
        let mut d = Decoder::new(32);
        d.feed(&[&model(49)[..], &store[..], &print[..]].concat());
        assert_eq!(d.text, "[QR unreadable: model 1]\n", "what escpos sends by default");
        let mut d = Decoder::new(32);
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
}

impl PaperControl {
    /// `paper ok`, `paper near-end`, `paper out`, `paper runs-out N`.
    pub fn parse(line: &str) -> Option<PaperControl> {
        let words: Vec<&str> = line.split_whitespace().collect();
        Some(match words.as_slice() {
            ["paper", "ok"] | ["paper", "loaded"] => PaperControl::Set(Paper::Ok),
            ["paper", "near-end"] => PaperControl::Set(Paper::NearEnd),
            ["paper", "out"] => PaperControl::Set(Paper::Out),
            ["paper", "runs-out", n] => PaperControl::RunsOutAfter(n.parse().ok()?),
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

/// Serves a printer on a line: decodes what comes, answers status queries at once, applies the
/// operator's paper changes, and hands each finished receipt (up to a cut) to `printed`: its
/// text, what else the printer did, and its items for a picture.
pub fn serve(
    port: &mut dyn serialport::SerialPort,
    decoder: &mut Decoder,
    controls: &std::sync::mpsc::Receiver<PaperControl>,
    keep_going: &dyn Fn() -> bool,
    printed: &mut dyn FnMut(Printed<'_>),
) -> std::io::Result<()> {
    let mut buf = [0u8; 1024];
    let mut shown = 0;
    let mut events_shown = 0;
    let mut items_shown = 0;
    port.set_timeout(std::time::Duration::from_millis(50)).map_err(std::io::Error::other)?;
    let apply = |decoder: &mut Decoder| {
        while let Ok(control) = controls.try_recv() {
            match control {
                PaperControl::Set(p) => {
                    decoder.paper = p;
                    decoder.paper_lines_left = None;
                }
                PaperControl::RunsOutAfter(n) => decoder.paper_lines_left = Some(n),
            }
        }
    };
    while keep_going() {
        apply(decoder);
        let n = match port.read(&mut buf) {
            Ok(n) => n,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) => 0,
            Err(e) => return Err(e),
        };
        if n == 0 {
            continue;
        }
        // The operator's change made while the printer waited counts for what just came.
        apply(decoder);
        let answers = decoder.feed(&buf[..n]);
        // The receipt is handed on before the status answer goes out: a till that asked after
        // the job finds it already shown.
        if decoder.events[events_shown..].contains(&Event::Cut) {
            printed(Printed {
                text: &decoder.text[shown..],
                events: &decoder.events[events_shown..],
                items: &decoder.items[items_shown..],
            });
            shown = decoder.text.len();
            events_shown = decoder.events.len();
            items_shown = decoder.items.len();
        }
        if !answers.is_empty() {
            port.write_all(&answers)?;
            port.flush()?;
        }
    }
    Ok(())
}
