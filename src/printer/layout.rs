//! Receipt layout for the paper's columns, by display width: a Hanzi takes two columns of a
//! receipt printer's Font A, so lines are measured with `unicode-width`, never by counting chars.
//! 58 mm paper has 32 columns, 80 mm has 48.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::receipt::Receipt;

pub const COLUMNS_58MM: usize = 32;
pub const COLUMNS_80MM: usize = 48;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
    Right,
}

/// One piece of a laid-out receipt. Text is already cut to the width (double-size text to half).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Text {
        text: String,
        align: Align,
        bold: bool,
        double: bool,
    },
    /// A full-width line of this character.
    Rule(char),
    Qr(String),
    Barcode(String),
    Feed(u8),
    Cut,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub columns: usize,
    /// Printed in Chinese mode (GB18030); otherwise on a Latin code page, where a character the
    /// page lacks is laid out (and printed) as `?`.
    pub chinese: bool,
    pub blocks: Vec<Block>,
}

pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// Cuts text into lines of at most `columns` display columns, at a blank where Latin text has
/// one, anywhere between Hanzi.
pub fn wrap(text: &str, columns: usize) -> Vec<String> {
    let columns = columns.max(2);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut line_width = 0;
    for word in split_keep_spaces(text) {
        let w = width(&word);
        if line_width + w <= columns {
            line.push_str(&word);
            line_width += w;
            continue;
        }
        // A word that fits on a line of its own goes there whole; only a longer one (a run of
        // Hanzi has no blanks to break at) is cut between characters.
        if w <= columns && !word.trim().is_empty() && line_width > 0 {
            lines.push(line.trim_end().to_string());
            line = word.trim_start().to_string();
            line_width = width(&line);
            continue;
        }
        for c in word.chars() {
            let cw = UnicodeWidthChar::width(c).unwrap_or(0);
            if line_width + cw > columns {
                lines.push(line.trim_end().to_string());
                line.clear();
                line_width = 0;
                if c == ' ' {
                    continue;
                }
            }
            line.push(c);
            line_width += cw;
        }
    }
    if !line.trim().is_empty() || lines.is_empty() {
        lines.push(line.trim_end().to_string());
    }
    lines
}

/// Words with their trailing blanks, so that rejoining them gives the text back.
fn split_keep_spaces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        if c != ' ' && current.ends_with(' ') {
            out.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// `left` and `right` on one line of `columns`, right flush; when they do not fit, `left` wraps
/// and `right` goes on its last line (or a line of its own).
pub fn two_columns(left: &str, right: &str, columns: usize) -> Vec<String> {
    let right_width = width(right);
    let mut lines = wrap(left, columns);
    let last = lines.pop().unwrap_or_default();
    let gap = columns.saturating_sub(width(&last) + right_width);
    if gap >= 1 {
        lines.push(format!("{last}{}{right}", " ".repeat(gap)));
    } else {
        lines.push(last);
        lines.push(format!("{}{right}", " ".repeat(columns.saturating_sub(right_width))));
    }
    lines
}

impl Document {
    fn printable(&self, text: &str) -> String {
        if self.chinese { text.to_string() } else { super::escpos::printable_latin(text) }
    }

    fn text(&mut self, text: &str, align: Align, bold: bool, double: bool) {
        let columns = if double { self.columns / 2 } else { self.columns };
        for line in wrap(&self.printable(text), columns) {
            self.blocks.push(Block::Text { text: line, align, bold, double });
        }
    }

    fn pair(&mut self, left: &str, right: &str, bold: bool, double: bool) {
        let columns = if double { self.columns / 2 } else { self.columns };
        for line in two_columns(&self.printable(left), &self.printable(right), columns) {
            self.blocks.push(Block::Text { text: line, align: Align::Left, bold, double });
        }
    }

    /// The receipt as the paper shows it, in plain text: what the printer emulator must decode
    /// the bytes back into. Double-size lines are written as their characters (the paper shows
    /// them twice as wide).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for block in &self.blocks {
            match block {
                Block::Text { text, align, double, .. } => {
                    let columns = if *double { self.columns / 2 } else { self.columns };
                    let pad = columns.saturating_sub(width(text));
                    let left = match align {
                        Align::Left => 0,
                        Align::Center => pad / 2,
                        Align::Right => pad,
                    };
                    out.push_str(&" ".repeat(left));
                    out.push_str(text);
                    out.push('\n');
                }
                Block::Rule(c) => {
                    out.extend(std::iter::repeat_n(*c, self.columns));
                    out.push('\n');
                }
                Block::Qr(data) => out.push_str(&format!("[QR {data}]\n")),
                Block::Barcode(data) => out.push_str(&format!("[BARCODE {data}]\n")),
                Block::Feed(n) => out.push_str(&"\n".repeat(usize::from(*n))),
                Block::Cut => out.push_str("[CUT]\n"),
            }
        }
        out
    }
}

/// The card terminal's own receipt (its print lines) as the paper shows it: the terminal's
/// lines as it formatted them, wrapped where it formatted wider than the paper, then a cut.
/// Latin code page: terminals print in CP437's repertoire.
pub fn terminal_receipt(lines: &[String], columns: usize) -> Document {
    let mut d = Document { columns, chinese: false, blocks: Vec::new() };
    for line in lines {
        if line.is_empty() {
            d.blocks.push(Block::Feed(1));
        } else {
            d.text(line, Align::Left, false, false);
        }
    }
    d.blocks.push(Block::Feed(3));
    d.blocks.push(Block::Cut);
    d
}

/// Lays a receipt out for `columns` (32 for 58 mm paper, 48 for 80 mm). Chinese receipts print
/// in Chinese mode; others on a Latin code page.
pub fn layout(r: &Receipt, columns: usize) -> Document {
    let l = r.locale.as_str();
    let mut d = Document { columns, chinese: l.starts_with("zh"), blocks: Vec::new() };
    d.text(&r.store_name, Align::Center, true, false);
    for line in &r.store_lines {
        d.text(line, Align::Center, false, false);
    }
    d.text(&r.title, Align::Center, true, true);
    if r.copy {
        d.text(&rust_i18n::t!("receipt.copy", locale = l), Align::Center, true, false);
    }
    d.blocks.push(Block::Rule('-'));
    for (label, value) in &r.meta {
        d.pair(label, value, false, false);
    }
    d.blocks.push(Block::Rule('-'));
    for line in &r.lines {
        d.text(&line.name, Align::Left, false, false);
        d.pair(&format!("  {} × {}", line.quantity, line.unit_price), &line.amount, false, false);
        if let Some(discount) = &line.discount {
            d.pair(&format!("  {}", rust_i18n::t!("receipt.line_discount", locale = l)), discount, false, false);
        }
    }
    d.blocks.push(Block::Rule('-'));
    let last = r.totals.len().saturating_sub(1);
    for (i, (label, value)) in r.totals.iter().enumerate() {
        d.pair(label, value, i == last, i == last);
    }
    if !r.tenders.is_empty() {
        d.blocks.push(Block::Rule('-'));
        for (label, value) in &r.tenders {
            d.pair(label, value, false, false);
        }
    }
    for card in &r.cards {
        d.blocks.push(Block::Rule('-'));
        d.pair(&card.card_name, &card.masked_pan, false, false);
        for (key, value) in [
            ("receipt.card_receipt", &card.terminal_receipt),
            ("receipt.card_trace", &card.trace),
            ("receipt.card_terminal", &card.terminal_id),
            ("receipt.card_aid", &card.aid),
        ] {
            d.pair(&rust_i18n::t!(key, locale = l), value, false, false);
        }
    }
    if !r.taxes.is_empty() {
        d.blocks.push(Block::Rule('-'));
        d.text(&rust_i18n::t!("receipt.tax_heading", locale = l), Align::Left, false, false);
        for tax in &r.taxes {
            d.pair(&format!("  {} {}", tax.rate, tax.net), &tax.tax, false, false);
        }
    }
    d.blocks.push(Block::Rule('-'));
    for line in &r.footer {
        d.text(line, Align::Center, false, false);
    }
    // A slip without a receipt id (a voided cart) carries no codes to scan back.
    if !r.code.is_empty() {
        d.blocks.push(Block::Barcode(r.code.clone()));
        d.blocks.push(Block::Qr(r.code.clone()));
    }
    d.blocks.push(Block::Feed(3));
    d.blocks.push(Block::Cut);
    d
}

/// The test page, in the receipt language.
pub fn test_page(columns: usize, locale: &str) -> Document {
    let chinese = locale.starts_with("zh");
    let text = |t: &str, align, bold, double| Block::Text { text: t.to_string(), align, bold, double };
    Document {
        columns,
        chinese,
        blocks: vec![
            text(&rust_i18n::t!("printer.test_title", locale = locale), Align::Center, true, true),
            Block::Rule('='),
            text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", Align::Left, false, false),
            text("abcdefghijklmnopqrstuvwxyz", Align::Left, false, false),
            text("0123456789", Align::Left, false, false),
            text(if chinese { "收银台 中文打印测试 ¥12.50" } else { "Café 12,50 € Grüße" }, Align::Left, false, false),
            text(&format!("{columns} columns"), Align::Right, true, false),
            Block::Rule('-'),
            Block::Barcode("TILL-TEST".into()),
            Block::Qr("TILL-TEST".into()),
            Block::Feed(3),
            Block::Cut,
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hanzi_take_two_columns() {
        assert_eq!(width("农夫山泉"), 8);
        assert_eq!(width("Cola"), 4);
        assert_eq!(wrap("农夫山泉饮用天然水550毫升装", 10), vec!["农夫山泉饮", "用天然水55", "0毫升装"]);
        assert_eq!(wrap("Nongfu Spring natural water 550ml", 16), vec!["Nongfu Spring", "natural water", "550ml"]);
        for line in wrap("农夫山泉饮用天然水550毫升装 Nongfu Spring", 7) {
            assert!(width(&line) <= 7, "{line}");
        }
    }

    #[test]
    fn two_columns_line_up() {
        assert_eq!(two_columns("合计", "12.50", 16), vec!["合计       12.50"]);
        assert_eq!(width(&two_columns("合计", "12.50", 16)[0]), 16);
        let long = two_columns("一个非常非常长的商品名称", "1234.50", 16);
        assert!(long.iter().all(|l| width(l) <= 16), "{long:?}");
        assert!(long.last().unwrap().ends_with("1234.50"));
    }
}
