//! Receipt layout for the paper's columns, by the columns each character takes *on the
//! printer*: in Chinese mode every non-ASCII character comes from the double-byte font and takes
//! two (GB2312's × is A1C1, a full-width glyph — `unicode-width` says one and the line wraps); on
//! a Latin code page every character is one byte and one column. 58 mm paper has 32 columns,
//! 80 mm has 48 on most printers, an Epson TM-T88 42: the columns come from the printer's
//! profile. Every text is made printable on its way in: a control character (ESC p hidden in a
//! product's name would kick the drawer) is printed as `?`, and so is what the profile's charset
//! lacks. On a Latin receipt, a line with Hanzi (the store's name "Demo Store 示例便利店") is
//! printed in Chinese mode rather than as `?????`.

use unicode_width::UnicodeWidthStr;

use super::profile::Profile;
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
    /// A raster image (the store's logo), already fitted to the profile's dots.
    Image(super::logo::Raster),
    Feed(u8),
    Cut,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The printer it is laid out for: columns, charset, commands.
    pub profile: &'static Profile,
    /// Printed in Chinese mode (the profile's Hanzi charset); otherwise on a Latin code page,
    /// where a line is printed in Chinese mode only if it holds Hanzi (see `line_is_chinese`).
    pub chinese: bool,
    pub blocks: Vec<Block>,
}

/// Display width by Unicode's rules, for drawing glyphs (the PNG renderer).
pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// The columns a character takes on the printer (see the module's doc).
pub fn char_columns(c: char, chinese: bool) -> usize {
    if chinese && !c.is_ascii() { 2 } else { 1 }
}

/// The columns a text takes on the printer, in Chinese mode or on a Latin code page.
pub fn width_in(text: &str, chinese: bool) -> usize {
    text.chars().map(|c| char_columns(c, chinese)).sum()
}

/// Text the printer prints and never takes as a command: control characters become `?`; on a
/// Latin code page, so does what the page lacks. In Chinese mode `¥` (U+00A5, a four-byte
/// GB18030 sequence that GBK and GB2312 firmware prints as garbage) is the full-width `￥`
/// (A3A4), and what the profile's charset lacks is a visible `?`, never bytes it misreads.
pub fn printable(text: &str, chinese: bool, profile: &Profile) -> String {
    if chinese {
        text.chars()
            .map(|c| match c {
                '¥' => '￥',
                c if c.is_control() || !profile.has_hanzi(c) => '?',
                c => c,
            })
            .collect()
    } else {
        super::escpos::printable_latin(text)
    }
}

/// Whether a line prints in Chinese mode: every line of a Chinese receipt, and a line of a
/// Latin receipt that holds characters the code page lacks and the Hanzi font has (so a mixed
/// name keeps its Chinese part). The encoder asks the same for each line it sends.
pub fn line_is_chinese(text: &str, chinese: bool, profile: &Profile) -> bool {
    chinese
        || text
            .chars()
            .any(|c| !c.is_ascii() && !super::escpos::CP858_HIGH.contains(c) && !c.is_control() && profile.has_hanzi(c))
}

/// Cuts text into lines of at most `columns` display columns, at a blank where Latin text has
/// one, anywhere between Hanzi.
pub fn wrap(text: &str, columns: usize, chinese: bool) -> Vec<String> {
    let columns = columns.max(2);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut line_width = 0;
    for word in split_keep_spaces(text) {
        let w = width_in(&word, chinese);
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
            line_width = width_in(&line, chinese);
            continue;
        }
        for c in word.chars() {
            let cw = char_columns(c, chinese);
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
pub fn two_columns(left: &str, right: &str, columns: usize, chinese: bool) -> Vec<String> {
    let right_width = width_in(right, chinese);
    let mut lines = wrap(left, columns, chinese);
    let last = lines.pop().unwrap_or_default();
    let gap = columns.saturating_sub(width_in(&last, chinese) + right_width);
    if gap >= 1 {
        lines.push(format!("{last}{}{right}", " ".repeat(gap)));
    } else {
        lines.push(last);
        lines.push(format!("{}{right}", " ".repeat(columns.saturating_sub(right_width))));
    }
    lines
}

impl Document {
    pub fn new(profile: &'static Profile, chinese: bool) -> Document {
        Document { profile, chinese, blocks: Vec::new() }
    }

    pub fn columns(&self) -> usize {
        self.profile.columns
    }

    /// Whether this line prints in Chinese mode (see `line_is_chinese`).
    pub fn line_is_chinese(&self, text: &str) -> bool {
        line_is_chinese(text, self.chinese, self.profile)
    }

    pub fn text(&mut self, text: &str, align: Align, bold: bool, double: bool) {
        let columns = if double { self.columns() / 2 } else { self.columns() };
        let chinese = self.line_is_chinese(text);
        for line in wrap(&printable(text, chinese, self.profile), columns, chinese) {
            self.blocks.push(Block::Text { text: line, align, bold, double });
        }
    }

    pub fn pair(&mut self, left: &str, right: &str, bold: bool, double: bool) {
        let columns = if double { self.columns() / 2 } else { self.columns() };
        let chinese = self.line_is_chinese(left) || self.line_is_chinese(right);
        let (left, right) = (printable(left, chinese, self.profile), printable(right, chinese, self.profile));
        for line in two_columns(&left, &right, columns, chinese) {
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
                    let columns = if *double { self.columns() / 2 } else { self.columns() };
                    let pad = columns.saturating_sub(width_in(text, self.line_is_chinese(text)));
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
                    out.extend(std::iter::repeat_n(*c, self.columns()));
                    out.push('\n');
                }
                // What the printer has no command for is not sent (a QR code goes as an image).
                Block::Qr(_) if !self.profile.qr && !self.profile.raster => {}
                Block::Qr(data) => out.push_str(&format!("[QR {data}]\n")),
                Block::Image(_) if !self.profile.raster => {}
                Block::Image(image) => out.push_str(&format!("[IMAGE {}x{}]\n", image.width, image.height)),
                Block::Barcode(_) if !self.profile.code128 => {}
                Block::Barcode(data) => out.push_str(&format!("[BARCODE {data}]\n")),
                Block::Feed(n) => out.push_str(&"\n".repeat(usize::from(*n))),
                // A printer without a cutter ignores the cut: the paper is torn off at the bar.
                Block::Cut if !self.profile.cutter => out.push_str("[TEAR OFF]\n"),
                Block::Cut => out.push_str("[CUT]\n"),
            }
        }
        out
    }
}

/// The card terminal's own receipt (its print lines) as the paper shows it: the terminal's
/// lines as it formatted them, wrapped where it formatted wider than the paper, then a cut.
/// Latin code page: terminals print in CP437's repertoire.
pub fn terminal_receipt(lines: &[String], profile: &'static Profile) -> Document {
    let mut d = Document::new(profile, false);
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

/// Lays a receipt out for a printer (its profile's columns and charset). Chinese receipts print
/// in Chinese mode; others on a Latin code page.
pub fn layout(r: &Receipt, profile: &'static Profile) -> Document {
    let l = r.locale.as_str();
    let mut d = Document::new(profile, l.starts_with("zh"));
    if let Some(logo) = r.logo.as_ref().filter(|_| profile.raster) {
        d.blocks.push(Block::Image(logo.raster(usize::from(profile.dots))));
    }
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
    // A slip without items (the card slip) has one rule under its facts, not two.
    if !r.lines.is_empty() {
        d.blocks.push(Block::Rule('-'));
    }
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
    if let Some(anchor) = &r.anchor {
        d.text(&rust_i18n::t!("receipt.anchor", locale = l, anchor = anchor), Align::Center, false, false);
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
pub fn test_page(profile: &'static Profile, locale: &str) -> Document {
    let chinese = locale.starts_with("zh");
    let columns = profile.columns;
    let text = |t: &str, align, bold, double| Block::Text { text: t.to_string(), align, bold, double };
    Document {
        profile,
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
        assert_eq!(width_in("农夫山泉", true), 8);
        assert_eq!(width_in("Cola", true), 4);
        assert_eq!(wrap("农夫山泉饮用天然水550毫升装", 10, true), vec!["农夫山泉饮", "用天然水55", "0毫升装"]);
        assert_eq!(
            wrap("Nongfu Spring natural water 550ml", 16, false),
            vec!["Nongfu Spring", "natural water", "550ml"]
        );
        for line in wrap("农夫山泉饮用天然水550毫升装 Nongfu Spring", 7, true) {
            assert!(width_in(&line, true) <= 7, "{line}");
        }
    }

    #[test]
    fn in_chinese_mode_every_non_ascii_character_takes_two_columns() {
        // × is GB2312 A1C1, printed full width: Unicode's width (1) wrapped the line's last digit.
        for text in ["×", "·", "°", "±", "—", "…", "“", "”", "é", "￥"] {
            assert_eq!(width_in(text, true), 2, "{text}");
            assert_eq!(width_in(text, false), 1, "{text} on a Latin code page");
        }
        assert_eq!(width("×"), 1, "what unicode-width says, and the printer does not");
        // An item line of a Chinese receipt fits its 48 (80 mm) and 32 (58 mm) columns.
        for columns in [COLUMNS_58MM, COLUMNS_80MM] {
            for line in two_columns("  1 × 4.50", "4.50", columns, true) {
                assert!(width_in(&line, true) <= columns, "{line:?} in {columns}");
            }
            assert_eq!(two_columns("  1 × 4.50", "4.50", columns, true).len(), 1, "one line");
        }
    }

    #[test]
    fn control_characters_never_reach_the_paper_as_commands() {
        // ESC p 0 50 50: a drawer kick hidden in a product's name.
        let name = "绿茶\u{1b}p\u{0}22";
        let gbk = Profile::generic_80();
        assert_eq!(printable(name, true, gbk), "绿茶?p?22");
        assert_eq!(printable(name, false, gbk), "???p?22");
        assert!(printable("a\nb\u{7f}\u{9b}", true, gbk).chars().all(|c| !c.is_control()));
    }

    #[test]
    fn a_chinese_receipt_prints_what_gbk_firmware_prints() {
        // ¥ is four bytes in GB18030: the full-width ￥ (A3A4) instead; € and emoji: a visible ?.
        let gbk = Profile::generic_80();
        assert_eq!(printable("合计 ¥12.50", true, gbk), "合计 ￥12.50");
        let yuan = printable("¥", true, gbk);
        let (bytes, _, _) = encoding_rs::GB18030.encode(&yuan);
        assert_eq!(&bytes[..], &[0xA3, 0xA4]);
        assert_eq!(printable("5 € 🍵", true, gbk), "5 ? ?");
        assert_eq!(printable("农夫山泉 Café", true, gbk), "农夫山泉 Café", "GBK has é");
        // GB2312 fonts (POS-58) lack 堃: a visible ?, not a blank.
        let gb2312 = Profile::by_id("pos-58").unwrap();
        assert_eq!(printable("堃", true, gb2312), "?");
    }

    #[test]
    fn a_latin_receipt_prints_the_chinese_part_of_a_name_in_chinese_mode() {
        let p = Profile::generic_80();
        assert!(line_is_chinese("Demo Convenience Store 示例便利店", false, p));
        assert!(!line_is_chinese("Café 5,00 €", false, p));
        assert!(!line_is_chinese("Emoji 🍵", false, p), "nothing a Hanzi font has");
        let mut d = Document::new(p, false);
        d.text("Demo Store 示例便利店", Align::Center, false, false);
        assert_eq!(d.to_text().trim(), "Demo Store 示例便利店");
    }

    #[test]
    fn two_columns_line_up() {
        assert_eq!(two_columns("合计", "12.50", 16, true), vec!["合计       12.50"]);
        assert_eq!(width_in(&two_columns("合计", "12.50", 16, true)[0], true), 16);
        let long = two_columns("一个非常非常长的商品名称", "1234.50", 16, true);
        assert!(long.iter().all(|l| width_in(l, true) <= 16), "{long:?}");
        assert!(long.last().unwrap().ends_with("1234.50"));
    }
}
