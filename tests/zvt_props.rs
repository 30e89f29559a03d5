//! ZVT codec properties: encode → decode round trips, and decoders that never panic on
//! arbitrary bytes from the line.

use proptest::prelude::*;
use till::terminal::zvt::apdu::{Apdu, Tlv, bcd_digits, encode_tlv, from_bcd, parse_bmps, parse_tlv, to_bcd};
use till::terminal::zvt::frame::{FrameDecoder, Received, encode_frame};
use till::terminal::zvt::messages::{EodTotals, PtMessage, StatusInfo};

fn decode_all(wire: &[u8]) -> Vec<Received> {
    let mut d = FrameDecoder::new();
    wire.iter().filter_map(|b| d.push(*b)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn frames_round_trip(class in any::<u8>(), instr in any::<u8>(), data in prop::collection::vec(any::<u8>(), 0..600)) {
        let apdu = Apdu::new(class, instr, data);
        let bytes = apdu.encode();
        prop_assert_eq!(decode_all(&encode_frame(&bytes)), vec![Received::Frame(bytes.clone())]);
        prop_assert_eq!(Apdu::decode(&bytes).unwrap(), apdu);
    }

    #[test]
    fn one_flipped_bit_never_passes_as_a_good_frame(data in prop::collection::vec(any::<u8>(), 1..100), at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let apdu = Apdu::new(0x04, 0x0F, data).encode();
        let mut wire = encode_frame(&apdu);
        let i = 2 + at.index(wire.len() - 2);
        wire[i] ^= 1 << bit;
        let got = decode_all(&wire);
        prop_assert!(!got.contains(&Received::Frame(apdu)), "{:?}", got);
    }

    #[test]
    fn bcd_round_trips(value in 0u64..1_000_000_000_000) {
        prop_assert_eq!(from_bcd(&to_bcd(value, 6)), Some(value));
        prop_assert_eq!(bcd_digits(&to_bcd(value, 6)).unwrap(), format!("{value:012}"));
    }

    #[test]
    fn tlv_round_trips(items in prop::collection::vec((prop::sample::select(vec![0x01u32, 0x24, 0x1F10, 0x1F8101, 0x60]), prop::collection::vec(any::<u8>(), 0..300)), 0..6)) {
        let items: Vec<Tlv> = items.into_iter().map(|(tag, value)| Tlv { tag, value }).collect();
        prop_assert_eq!(parse_tlv(&encode_tlv(&items)).unwrap(), items);
    }

    #[test]
    fn eod_totals_round_trip(counts in prop::array::uniform7(any::<u8>()), amounts in prop::array::uniform7(0u64..1_000_000_000_000), first in 0u16..10000, last in 0u16..10000) {
        let mut t = EodTotals { first_receipt: first, last_receipt: last, ..Default::default() };
        for i in 0..7 { t.by_card[i] = (counts[i], amounts[i]); }
        prop_assert_eq!(EodTotals::decode(&t.encode()).unwrap(), t);
    }

    #[test]
    fn decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = decode_all(&bytes);
        let _ = parse_bmps(&bytes);
        let _ = parse_tlv(&bytes);
        let _ = StatusInfo::decode(&bytes);
        if let Ok(apdu) = Apdu::decode(&bytes) {
            let _ = PtMessage::decode(&apdu);
        }
        for (class, instr) in [(0x04, 0x0F), (0x04, 0xFF), (0x06, 0x0F), (0x06, 0xD1), (0x06, 0x1E), (0x84, 0x9C)] {
            let _ = PtMessage::decode(&Apdu::new(class, instr, bytes.clone()));
        }
    }

    #[test]
    fn framed_garbage_never_panics(bytes in prop::collection::vec(prop::sample::select(vec![0x10u8, 0x02, 0x03, 0x06, 0x15, 0x00, 0xFF]), 0..400)) {
        let _ = decode_all(&bytes);
    }
}
