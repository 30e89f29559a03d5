//! Printer profiles: what one model of receipt printer prints and understands. The layout takes
//! its columns from here, the encoder its charset and which commands exist, the driver how to
//! tell that a job is done and how to open the drawer, and the emulator plays the same model.
//!
//! The table is our own, built from the escpos-printer-db capability profiles
//! (receipt-print-hq, CC BY 4.0: dots, Font A/B columns, QR/barcode/raster features, cutter) and
//! the makers' manuals for what that database does not hold (the Hanzi charset of the Chinese
//! firmware, Epson's real-time drawer pulse and process-ID response, flow control). Installers
//! pick one in the set-up wizard; "generic 58 / 80 mm" suit a printer not in the list.

/// The double-byte charset of the printer's Chinese mode (FS &).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hanzi {
    /// GB18030 (Epson's Chinese models): two- and four-byte codes.
    Gb18030,
    /// GBK (most Chinese printers): two-byte codes only; a four-byte GB18030 code prints as garbage.
    Gbk,
    /// GB2312 (the cheapest fonts): both bytes A1–FE; anything else prints blank.
    Gb2312,
}

/// How the printer opens the drawer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrawerCommand {
    /// DLE DC4 1 m t: in real time, whatever the paper (Epson TM since the T88III).
    RealTime,
    /// ESC p m t1 t2: processed in order with the print data, so it is sent only when the
    /// printer says it can print (else a kick would wait in its buffer and open the drawer later).
    EscP,
}

/// How the till learns that a job is on paper (DLE EOT answers at once, before the buffer printed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// GS ( H fn 48: the printer answers the job's process ID once everything before it printed.
    ProcessId,
    /// Wait the job's print time (its lines at `lines_per_second`), then ask DLE EOT.
    Timed,
}

/// Serial flow control, as the printer's DIP switches or memory switch set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    None,
    /// XON/XOFF: the printer sends DC3 when its buffer fills and DC1 when it has room again.
    XonXoff,
    /// RTS/CTS (DTR/DSR wired to it on most printer cables).
    Hardware,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// The settings file's name for it (`printer_model = "epson-tm-t88"`).
    pub id: &'static str,
    pub name: &'static str,
    pub paper_mm: u8,
    /// Printable dots across the paper.
    pub dots: u16,
    /// Font A columns (12×24 dots).
    pub columns: usize,
    /// GS ( k: QR codes. Without it the QR code is sent as a raster image.
    pub qr: bool,
    /// GS k m=73: CODE128. Without it the barcode is left out (the QR code carries the same id).
    pub code128: bool,
    /// GS v 0: raster images.
    pub raster: bool,
    pub hanzi: Hanzi,
    pub cutter: bool,
    pub drawer: DrawerCommand,
    /// The drawer's connector pin: 2 (most drawers) or 5.
    pub drawer_pin: u8,
    pub completion: Completion,
    /// DLE DC4 8: clear the receive and print buffers (before a job is sent again).
    pub clear_buffer: bool,
    pub flow: Flow,
    /// Lines of Font A printed per second (speed in mm/s over the 4.23 mm line), for timed completion.
    pub lines_per_second: u16,
}

const GENERIC_80: Profile = Profile {
    id: "generic-80",
    name: "Generic 80 mm (48 columns)",
    paper_mm: 80,
    dots: 576,
    columns: 48,
    qr: true,
    code128: true,
    raster: true,
    hanzi: Hanzi::Gbk,
    cutter: true,
    drawer: DrawerCommand::EscP,
    drawer_pin: 2,
    completion: Completion::Timed,
    clear_buffer: false,
    flow: Flow::None,
    lines_per_second: 20,
};

const GENERIC_58: Profile = Profile {
    id: "generic-58",
    name: "Generic 58 mm (32 columns)",
    paper_mm: 58,
    dots: 384,
    columns: 32,
    cutter: false,
    lines_per_second: 15,
    ..GENERIC_80
};

/// Every profile, generic ones first.
pub const PROFILES: &[Profile] = &[
    GENERIC_80,
    GENERIC_58,
    Profile {
        id: "epson-tm-t88",
        name: "Epson TM-T88V/VI (42 columns)",
        dots: 512,
        columns: 42,
        hanzi: Hanzi::Gb18030,
        drawer: DrawerCommand::RealTime,
        completion: Completion::ProcessId,
        clear_buffer: true,
        flow: Flow::Hardware,
        lines_per_second: 70,
        ..GENERIC_80
    },
    Profile {
        id: "epson-tm-t20",
        name: "Epson TM-T20II/III (48 columns)",
        hanzi: Hanzi::Gb18030,
        drawer: DrawerCommand::RealTime,
        completion: Completion::ProcessId,
        clear_buffer: true,
        flow: Flow::Hardware,
        lines_per_second: 47,
        ..GENERIC_80
    },
    Profile { id: "xprinter-xp80", name: "Xprinter XP-80 (48 columns)", flow: Flow::XonXoff, ..GENERIC_80 },
    Profile { id: "xprinter-xp58", name: "Xprinter XP-58 (32 columns)", flow: Flow::XonXoff, ..GENERIC_58 },
    Profile {
        id: "pos-58",
        name: "POS-58 / ZJ-5890 (no QR, no barcode)",
        qr: false,
        code128: false,
        hanzi: Hanzi::Gb2312,
        ..GENERIC_58
    },
];

impl Profile {
    pub fn by_id(id: &str) -> Option<&'static Profile> {
        PROFILES.iter().find(|p| p.id == id)
    }

    /// The generic profile of a paper width (the settings' older `paper_mm`).
    pub fn generic(paper_mm: u8) -> &'static Profile {
        if paper_mm <= 58 { &PROFILES[1] } else { &PROFILES[0] }
    }

    pub fn generic_80() -> &'static Profile {
        &PROFILES[0]
    }

    /// Whether the printer's Chinese mode prints this character (as a two-byte code, or four
    /// bytes on GB18030 firmware).
    pub fn has_hanzi(&self, c: char) -> bool {
        if c.is_ascii() {
            return true;
        }
        // The common case, without an encoder: GBK (and so GB18030) has every ideograph of
        // the CJK Unified Ideographs block up to U+9FA5; GB2312 only the 6,763 in common use.
        if ('\u{4E00}'..='\u{9FA5}').contains(&c) {
            let i = c as usize - 0x4E00;
            return self.hanzi != Hanzi::Gb2312 || gb2312_ideographs()[i / 64] & (1 << (i % 64)) != 0;
        }
        let mut buffer = [0u8; 4];
        let text = c.encode_utf8(&mut buffer);
        if self.hanzi == Hanzi::Gb18030 {
            // Outside the Basic Multilingual Plane (emoji) no printer font has a glyph.
            let (_, _, unmappable) = encoding_rs::GB18030.encode(text);
            return !unmappable && (c as u32) < 0x10000;
        }
        // encoding_rs's GBK is Windows's: € is its single byte 0x80, which no printer font has.
        let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
        let two_bytes = !unmappable && bytes.len() == 2;
        match self.hanzi {
            Hanzi::Gb2312 => two_bytes && bytes.iter().all(|b| (0xA1..=0xFE).contains(b)),
            _ => two_bytes,
        }
    }

    /// Seconds the printer takes for `lines` lines of Font A.
    pub fn print_time(&self, lines: usize) -> std::time::Duration {
        let per_second = u64::from(self.lines_per_second.max(1));
        std::time::Duration::from_millis((lines as u64 * 1000).div_ceil(per_second))
    }
}

/// Which ideographs of U+4E00–U+9FA5 GB2312 has (both bytes A1–FE), a bit each: asked of
/// the encoder once, then looked up (a receipt asks for every character).
fn gb2312_ideographs() -> &'static [u64] {
    static BITS: std::sync::OnceLock<Vec<u64>> = std::sync::OnceLock::new();
    BITS.get_or_init(|| {
        let mut bits = vec![0u64; (0x9FA5 - 0x4E00) / 64 + 1];
        for code in 0x4E00..=0x9FA5u32 {
            let Some(c) = char::from_u32(code) else { continue };
            let mut buffer = [0u8; 4];
            let (bytes, _, unmappable) = encoding_rs::GBK.encode(c.encode_utf8(&mut buffer));
            if !unmappable && bytes.len() == 2 && bytes.iter().all(|b| (0xA1..=0xFE).contains(b)) {
                let i = code as usize - 0x4E00;
                bits[i / 64] |= 1 << (i % 64);
            }
        }
        bits
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_columns_fit_the_dots() {
        for (i, p) in PROFILES.iter().enumerate() {
            assert!(PROFILES[i + 1..].iter().all(|q| q.id != p.id), "{}", p.id);
            // Font A is 12 dots wide.
            assert!(p.columns * 12 <= usize::from(p.dots), "{}", p.id);
            assert_eq!(Profile::by_id(p.id), Some(p));
        }
        assert_eq!(Profile::generic(58).columns, 32);
        assert_eq!(Profile::generic(80).columns, 48);
        assert_eq!(Profile::by_id("epson-tm-t88").unwrap().columns, 42);
    }

    #[test]
    fn charsets() {
        let (gb18030, gbk, gb2312) = (PROFILES[2], PROFILES[0], PROFILES[6]);
        assert!(gb18030.has_hanzi('€') && gbk.has_hanzi('收') && gb2312.has_hanzi('收'));
        assert!(!gbk.has_hanzi('¥'), "¥ is four bytes in GB18030");
        assert!(gb18030.has_hanzi('¥'));
        assert!(!gbk.has_hanzi('€') && !gb2312.has_hanzi('€'), "€ is A2E3 in GB18030 only");
        assert!(!gb2312.has_hanzi('堃') && gbk.has_hanzi('堃'));
        assert!(!gb18030.has_hanzi('🍵'));
    }
}
