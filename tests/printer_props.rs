//! The printer emulator's decoder never panics on arbitrary bytes, and text it is given comes
//! back as printed.

use proptest::prelude::*;
use till::printer::emulator::Decoder;
use till::printer::escpos::encode;
use till::printer::layout::{Align, Document, printable};
use till::printer::profile::Profile;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decoding_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let mut d = Decoder::new(Profile::generic(80));
        d.feed(&bytes);
    }

    #[test]
    fn escpos_heavy_garbage_never_panics(bytes in prop::collection::vec(prop::sample::select(vec![0x1Bu8, 0x1D, 0x1C, 0x10, 0x04, 0x28, 0x6B, 0x0A, 0x00, 0xFF, 0x41, 0x31]), 0..600)) {
        let mut d = Decoder::new(Profile::generic(58));
        d.feed(&bytes);
    }

    #[test]
    fn text_round_trips(text in "[a-zA-Z0-9 .,:€é收银台小票]{0,30}", chinese in any::<bool>(), center in any::<bool>()) {
        let align = if center { Align::Center } else { Align::Left };
        // What the layout hands the encoder: printable in its mode (€ is `?` for GBK firmware).
        let shown = printable(text.trim_end(), chinese, Profile::generic_80());
        // Laid out as the layout does (wrapped at the paper's columns: in Chinese mode é and the
        // Hanzi take two, and thirty of them are wider than a line).
        let mut doc = Document::new(Profile::generic(80), chinese);
        doc.text(&shown, align, false, false);
        let mut d = Decoder::new(Profile::generic(80));
        d.feed(&encode(&doc).unwrap());
        prop_assert_eq!(d.text, doc.to_text());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A raster image of any bits (what a QR reader sees) never makes the emulator panic.
    #[test]
    fn raster_images_never_panic(x in 1u8..12, y in 1u8..80, seed in any::<u64>(), model in 0usize..7) {
        let mut bits = Vec::with_capacity(usize::from(x) * usize::from(y));
        let mut state = seed | 1;
        for _ in 0..usize::from(x) * usize::from(y) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            bits.push(state as u8);
        }
        let mut bytes = vec![0x1D, 0x76, 0x30, 0x00, x, 0x00, y, 0x00];
        bytes.extend_from_slice(&bits);
        bytes.push(0x0A);
        let mut d = Decoder::new(&till::printer::profile::PROFILES[model]);
        d.feed(&bytes);
        prop_assert!(d.text.starts_with("[IMAGE") || d.text.starts_with("[QR"));
    }

    /// A real QR code's image with dots flipped (a smudged receipt): what the QR reader does with
    /// it stays inside the emulator.
    #[test]
    fn a_smudged_qr_image_never_panics(flips in prop::collection::vec((0usize..384, 0usize..400), 0..600)) {
        let profile = till::printer::profile::Profile::by_id("pos-58").unwrap();
        let mut bytes = till::printer::escpos::qr_raster("R1-00000042", profile).unwrap();
        let rows = (bytes.len() - 8) / 48;
        for (x, y) in flips {
            let at = 8 + (y % rows) * 48 + x / 8;
            bytes[at] ^= 0x80 >> (x % 8);
        }
        bytes.push(0x0A);
        let mut d = Decoder::new(profile);
        d.feed(&bytes);
        prop_assert!(d.text.starts_with("[QR") || d.text.starts_with("[IMAGE"));
    }
}
