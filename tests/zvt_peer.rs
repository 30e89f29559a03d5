//! ZVT as real terminals speak it, played by a scripted peer with exact bytes (tests/common/peer.rs,
//! not the project's codec): fields our emulator never sends, a card number sent unmasked, a
//! girocard approval without a VU number, a 04 FF timeout byte of 00, a Status Enquiry completion
//! without a software version, registration's status bit field, the terminal's own receipts in
//! print lines and text blocks; and real terminals' messages from public traces (three
//! terminals, from two public sources). PA00P015 rev 13.08.

use std::time::Duration;

use serialport::TTYPort;
use till::terminal::zvt::session::Session;
use till::terminal::zvt::transport::{SerialTransport, Timers};
use till::terminal::{ExpectedIdentity, Outcome, PaymentTerminal, ZvtTerminal};

mod common;

use common::peer::{Peer, frame};
use till::terminal::zvt::messages::Charset;

fn till_and_peer(expected: ExpectedIdentity, t4: Duration) -> (ZvtTerminal<SerialTransport<TTYPort>>, Peer) {
    till_and_peer_in(156, expected, t4)
}

/// A till whose store keeps `currency` (ISO numeric), talking to the scripted peer.
fn till_and_peer_in(
    currency: u16,
    expected: ExpectedIdentity,
    t4: Duration,
) -> (ZvtTerminal<SerialTransport<TTYPort>>, Peer) {
    let (ecr, peer) = common::peer::line();
    let timers = Timers { t2: Duration::from_millis(400), t3: Duration::from_secs(1), t4, ..Timers::default() };
    let till = ZvtTerminal::new(Session::new(SerialTransport::new(ecr, timers)), 123456, currency, expected);
    (till, peer)
}

/// Runs `act` on the till while the peer plays `script`.
fn against<R>(
    till: &mut ZvtTerminal<SerialTransport<TTYPort>>,
    peer: Peer,
    script: impl FnOnce(&mut Peer) + Send + 'static,
    act: impl FnOnce(&mut ZvtTerminal<SerialTransport<TTYPort>>) -> R,
) -> (R, Peer) {
    let peer = std::thread::spawn(move || {
        let mut peer = peer;
        script(&mut peer);
        peer
    });
    let r = act(till);
    (r, peer.join().unwrap())
}

/// An approval's 04 0F: result 00, 10.50, trace 42, receipt 17, terminal 52500038, then `extra`.
fn approval(extra: &[u8]) -> Vec<u8> {
    let mut d = vec![0x27, 0x00, 0x04, 0, 0, 0, 0, 0x10, 0x50, 0x0B, 0, 0, 0x42, 0x87, 0x00, 0x17];
    d.extend([0x29, 0x52, 0x50, 0x00, 0x38]);
    d.extend(extra);
    let mut apdu = vec![0x04, 0x0F, d.len() as u8];
    apdu.extend(d);
    apdu
}

/// The command, 80 00 00, the approval taken (80 00 00 back), the completion.
fn pay_script(status: Vec<u8>) -> impl FnOnce(&mut Peer) + Send + 'static {
    move |peer| {
        let cmd = peer.receive();
        assert_eq!(&cmd[..2], [0x06, 0x01]);
        peer.send(&frame(&[0x80, 0x00, 0x00]));
        peer.tell(&status);
        peer.send(&frame(&[0x06, 0x0F, 0x00]));
        assert_eq!(peer.receive(), [0x80, 0x00, 0x00]);
    }
}

#[test]
fn fields_the_emulator_never_sends_do_not_refuse_an_approval() {
    let (mut till, peer) = till_and_peer(ExpectedIdentity::default(), Duration::from_secs(2));
    // E9 and F9 are one byte (not LL-var); FA–FD exist; 70–75 (display image); then a field the
    // specification does not list at all (7E): decoded up to it, the approval stands.
    let extra = [0xE9, 0x14, 0xF9, 0x02, 0xFA, 0x00, 0xFD, 0x01, 0x70, 0, 0, 0, 1, 0x72, 0x03, 0x7E, 0x01, 0x02];
    let (outcome, _) = against(&mut till, peer, pay_script(approval(&extra)), |t| t.pay(1050, &mut |_| true));
    let Outcome::Approved(a) = outcome else { panic!("{outcome:?}") };
    assert_eq!((a.amount_minor, a.trace, a.receipt_no), (1050, 42, 17));
}

#[test]
fn a_card_number_sent_unmasked_is_masked_and_the_payment_stands() {
    let (mut till, peer) = till_and_peer(ExpectedIdentity::default(), Duration::from_secs(2));
    // 22 LL-var BCD: 16 digits in full, as a public Feig trace shows a girocard approval.
    let extra = [0x22, 0xF0, 0xF8, 0x47, 0x48, 0x43, 0x00, 0x00, 0x00, 0x77, 0x43];
    let mut seen = Vec::new();
    let (outcome, _) = against(&mut till, peer, pay_script(approval(&extra)), |t| {
        t.pay(1050, &mut |a| {
            seen.push(a.masked_pan.clone());
            true
        })
    });
    let Outcome::Approved(a) = outcome else { panic!("{outcome:?}") };
    assert_eq!(a.masked_pan, "474843******7743");
    assert!(a.pan_was_unmasked);
    assert_eq!(seen, vec!["474843******7743".to_string()], "what is recorded is already masked");
    assert!(till::sale::is_masked_pan(&a.masked_pan));
}

#[test]
fn a_girocard_approval_without_a_vu_number_is_not_a_foreign_merchant() {
    let expected =
        ExpectedIdentity { terminal_id: Some("52500038".into()), merchant_no: Some("455600000012345".into()) };
    let (mut till, peer) = till_and_peer(expected, Duration::from_secs(2));
    let (outcome, peer) = against(&mut till, peer, pay_script(approval(&[])), |t| t.pay(1050, &mut |_| true));
    assert!(matches!(outcome, Outcome::Approved(_)), "{outcome:?}");
    // With a VU number, it is checked.
    let (outcome, _) = against(
        &mut till,
        peer,
        |peer| {
            peer.receive();
            peer.send(&frame(&[0x80, 0x00, 0x00]));
            let mut a = approval(&[]);
            let extra = {
                let mut v = vec![0x2A];
                v.extend(b"455600000077777");
                v
            };
            a[2] += extra.len() as u8;
            a.extend(extra);
            peer.send(&frame(&a));
            // Goods not issued: 84 66.
            assert_eq!(peer.receive(), [0x84, 0x66, 0x00]);
            peer.send(&frame(&[0x06, 0x1E, 0x01, 0x6C]));
            peer.receive();
        },
        |t| t.pay(1050, &mut |_| true),
    );
    assert!(matches!(outcome, Outcome::IdentityMismatch { .. }), "{outcome:?}");
}

/// An approval with VU number (2A, 15 bytes) `vu`.
fn approval_with_vu(vu: &[u8; 15]) -> Vec<u8> {
    let mut a = approval(&[]);
    a[2] += 16;
    a.push(0x2A);
    a.extend(vu);
    a
}

#[test]
fn a_vu_number_is_checked_against_the_list_of_the_shops_acquirers_one_each() {
    // Two acquirers (credit cards through one, girocard's without VU): either VU is the shop's.
    let expected = ExpectedIdentity {
        terminal_id: Some("52500038".into()),
        merchant_no: Some("455600000012345, 100764992".into()),
    };
    let (mut till, mut peer) = till_and_peer(expected, Duration::from_secs(2));
    for vu in [b"455600000012345", b"100764992      "] {
        let (outcome, back) =
            against(&mut till, peer, pay_script(approval_with_vu(vu)), |t| t.pay(1050, &mut |_| true));
        assert!(matches!(outcome, Outcome::Approved(_)), "{vu:?}: {outcome:?}");
        peer = back;
    }
    let (outcome, _) = against(
        &mut till,
        peer,
        |peer| {
            peer.receive();
            peer.send(&frame(&[0x80, 0x00, 0x00]));
            peer.send(&frame(&approval_with_vu(b"100764993      ")));
            assert_eq!(peer.receive(), [0x84, 0x66, 0x00], "a VU of none of them: goods not issued");
            peer.send(&frame(&[0x06, 0x1E, 0x01, 0x6C]));
            peer.receive();
        },
        |t| t.pay(1050, &mut |_| true),
    );
    assert!(matches!(outcome, Outcome::IdentityMismatch { .. }), "{outcome:?}");
}

#[test]
fn a_04_ff_timeout_byte_of_00_keeps_the_current_t4() {
    let (mut till, peer) = till_and_peer(ExpectedIdentity::default(), Duration::from_secs(2));
    let (outcome, _) = against(
        &mut till,
        peer,
        |peer| {
            peer.receive();
            peer.send(&frame(&[0x80, 0x00, 0x00]));
            // "Insert card", timeout 00 minutes: not "abort now".
            peer.tell(&[0x04, 0xFF, 0x02, 0x0A, 0x00]);
            std::thread::sleep(Duration::from_millis(400));
            peer.tell(&approval(&[]));
            peer.send(&frame(&[0x06, 0x0F, 0x00]));
            peer.receive();
        },
        |t| t.pay(1050, &mut |_| true),
    );
    assert!(matches!(outcome, Outcome::Approved(_)), "{outcome:?}");
}

#[test]
fn a_status_enquiry_completion_without_a_software_version_is_read() {
    let (mut till, peer) = till_and_peer(ExpectedIdentity::default(), Duration::from_secs(2));
    let (info, _) = against(
        &mut till,
        peer,
        |peer| {
            let cmd = peer.receive();
            assert_eq!(&cmd[..2], [0x05, 0x01]);
            peer.send(&frame(&[0x80, 0x00, 0x00]));
            // §2.56.5: the terminal status byte alone.
            peer.send(&frame(&[0x06, 0x0F, 0x01, 0x00]));
            peer.receive();
        },
        |t| t.status(),
    );
    let info = info.unwrap();
    assert_eq!((info.status, info.sw_version), (Some(0x00), None));
}

#[test]
fn registrations_status_byte_is_a_bit_field() {
    let (mut till, peer) = till_and_peer(ExpectedIdentity::default(), Duration::from_secs(2));
    let (info, _) = against(
        &mut till,
        peer,
        |peer| {
            let cmd = peer.receive();
            assert_eq!(&cmd[..2], [0x06, 0x00]);
            peer.send(&frame(&[0x80, 0x00, 0x00]));
            // 19 = 01: "PT initialisation necessary" (Table 3), not a status code 01.
            peer.send(&frame(&[0x06, 0x0F, 0x07, 0x19, 0x01, 0x29, 0x52, 0x50, 0x00, 0x38]));
            peer.receive();
        },
        |t| t.register(),
    );
    let info = info.unwrap();
    assert_eq!(info.needs(), vec!["initialisation"]);
    assert_eq!(info.terminal_id.as_deref(), Some("52500038"));
    assert!(till::setup::describe_terminal(&info, "en").contains("initialisation necessary"));
    // 19 = 1E: diagnosis and OPT action necessary, filling-station and vending mode (08, 10:
    // how it works, nothing to do).
    let (mut till, peer) = till_and_peer(ExpectedIdentity::default(), Duration::from_secs(2));
    let (info, _) = against(
        &mut till,
        peer,
        |peer| {
            peer.receive();
            peer.send(&frame(&[0x80, 0x00, 0x00]));
            peer.send(&frame(&[0x06, 0x0F, 0x02, 0x19, 0x1E]));
            peer.receive();
        },
        |t| t.register(),
    );
    assert_eq!(info.unwrap().needs(), vec!["diagnosis", "opt_action"]);
}

#[test]
fn a_terminal_command_the_till_does_not_support_is_answered_84_83() {
    let (mut till, peer) = till_and_peer(ExpectedIdentity::default(), Duration::from_secs(2));
    let (outcome, _) = against(
        &mut till,
        peer,
        |peer| {
            peer.receive();
            peer.send(&frame(&[0x80, 0x00, 0x00]));
            // 04 0E: a menu request the till does not offer.
            peer.send(&frame(&[0x04, 0x0E, 0x01, 0x00]));
            assert_eq!(peer.receive(), [0x84, 0x83, 0x00], "function not possible");
            peer.tell(&approval(&[]));
            peer.send(&frame(&[0x06, 0x0F, 0x00]));
            peer.receive();
        },
        |t| t.pay(1050, &mut |_| true),
    );
    assert!(matches!(outcome, Outcome::Approved(_)), "{outcome:?}");
}

#[test]
fn what_the_terminal_says_is_data_not_trust() {
    let (mut till, peer) = till_and_peer(ExpectedIdentity::default(), Duration::from_secs(2));
    // A card name carrying a spreadsheet formula and a whole card number (8B, LL-var).
    let name = b"=HYPERLINK(\"x\") 4111111111111111";
    let mut extra = vec![0x8B, 0xF0 + (name.len() / 10) as u8, 0xF0 + (name.len() % 10) as u8];
    extra.extend(name);
    let (outcome, _) = against(&mut till, peer, pay_script(approval(&extra)), |t| t.pay(1050, &mut |_| true));
    let Outcome::Approved(a) = outcome else { panic!("{outcome:?}") };
    assert_eq!(a.card_name, "=HYPERLINK(\"x\") 411111******1111", "the number masked");
    assert!(a.pan_was_unmasked, "flagged for the installer");
    // Exported, the formula is text.
    assert_eq!(till::dayclose::output::spreadsheet_safe(&a.card_name), format!("'{}", a.card_name));
    assert_eq!(till::dayclose::output::spreadsheet_safe("VISA"), "VISA");
    // Bounded: an endless name is cut and flagged.
    let (long, flagged) = till::terminal::zvt::messages::terminal_text(&[b'A'; 300]);
    assert_eq!((long.len(), flagged), (till::terminal::zvt::messages::TEXT_MAX, true));
    let (plain, flagged) = till::terminal::zvt::messages::terminal_text(b"Debit Mastercard\x00");
    assert_eq!((plain.as_str(), flagged), ("Debit Mastercard", false));
}

/// The command, 80 00 00, the approval taken, these print lines (06 D1: attribute, text), each
/// acknowledged, and the completion.
fn pay_with_lines(status: Vec<u8>, lines: Vec<(u8, Vec<u8>)>) -> impl FnOnce(&mut Peer) + Send + 'static {
    move |peer| {
        peer.receive();
        peer.send(&frame(&[0x80, 0x00, 0x00]));
        peer.tell(&status);
        for (attribute, text) in lines {
            let mut apdu = vec![0x06, 0xD1, (text.len() + 1) as u8, attribute];
            apdu.extend(text);
            peer.tell(&apdu);
        }
        peer.send(&frame(&[0x06, 0x0F, 0x00]));
        assert_eq!(peer.receive(), [0x80, 0x00, 0x00]);
    }
}

#[test]
fn the_terminals_print_lines_are_its_receipt_in_cp437_with_card_numbers_masked() {
    let (mut till, peer) = till_and_peer(ExpectedIdentity::default(), Duration::from_secs(2));
    let lines = vec![
        // 8E is "Ä" in CP437, the default character set (§15.2).
        (0x00, b"** H\x8eNDLERBELEG **".to_vec()),
        (0x00, b"Karte 4111 1111 1111 1111".to_vec()),
        (0xFF, vec![2]),
        // 81: the last line of this receipt.
        (0x81, b"Unterschrift".to_vec()),
        (0x00, b"** KUNDENBELEG **".to_vec()),
    ];
    let (outcome, _) = against(&mut till, peer, pay_with_lines(approval(&[]), lines), |t| t.pay(1050, &mut |_| true));
    let Outcome::Approved(a) = outcome else { panic!("{outcome:?}") };
    assert_eq!(a.receipts.len(), 2, "{:?}", a.receipts);
    assert_eq!(
        a.receipts[0].lines,
        ["** H\u{c4}NDLERBELEG **", "Karte 4111 11** **** 1111", "", "", "Unterschrift"],
        "FF with a count of 2: two line feeds (§3.5)"
    );
    assert_eq!(a.receipts[1].lines, ["** KUNDENBELEG **"], "what was open at the completion is a receipt");
    assert!(a.pan_was_unmasked, "a whole card number in a print line is flagged");
}

#[test]
fn a_break_during_the_print_lines_leaves_the_payment_unknown() {
    let (mut till, peer) = till_and_peer(ExpectedIdentity::default(), Duration::from_millis(600));
    let (outcome, _) = against(
        &mut till,
        peer,
        |peer| {
            peer.receive();
            peer.send(&frame(&[0x80, 0x00, 0x00]));
            peer.tell(&approval(&[]));
            peer.tell(&[0x06, 0xD1, 0x05, 0x00, b'V', b'I', b'S', b'A']);
            // The line goes dead before the last print line and the completion (§2.2.8: the
            // terminal books only once every line was acknowledged).
        },
        |t| t.pay(1050, &mut |_| true),
    );
    assert!(matches!(outcome, Outcome::Unknown { .. }), "{outcome:?}");
}

#[test]
fn an_abort_after_the_approval_leaves_the_payment_unknown() {
    let (mut till, peer) = till_and_peer(ExpectedIdentity::default(), Duration::from_secs(2));
    let (outcome, _) = against(
        &mut till,
        peer,
        |peer| {
            peer.receive();
            peer.send(&frame(&[0x80, 0x00, 0x00]));
            peer.tell(&approval(&[]));
            // The terminal gave up on its print lines and reverses on its own.
            peer.send(&frame(&[0x06, 0x1E, 0x01, 0x6C]));
            peer.receive();
        },
        |t| t.pay(1050, &mut |_| true),
    );
    assert!(matches!(outcome, Outcome::Unknown { .. }), "{outcome:?}");
}

// Real terminals' messages, from the public test data of bezahl-online/zvt
// (command/testdata/*.hex, APDUs as a terminal sent them, recorded in 2021).

/// 1618593839564PT: a Maestro approval of 18.80 EUR with TLV container (06), 3C text, card type
/// 8A 2E, card name 8B, AID 3B and an all-masked card number (E nibbles).
const MAESTRO_APPROVAL: &str = "040fd42700040000000018800b0001530c1923360d0416170001197022f1f0eeeeeeeeeeeeeee4281f29290010062a3130303736343939322020202020203b39353835323000003cf0f1f447454e2e4e522e3a393538353230490978870153880001538a2e8bf0f84d41455354524f0006652410070e47454e2e4e522e3a3935383532304307a0000000043060461f41303030303030303034333036302043363134323339433930424533413534471f413030303030303030343330363020433631343233394339304245334135341f1001001f120102";
/// data081649050: a Debit Mastercard approval of 0.01 EUR, card ending 5726.
const DEBIT_MASTERCARD_APPROVAL: &str = "040fdb2700040000000000010b0000220c1649230d0308170001197022f0f8eeeeeeeeeeee572629290010062a3130303736343939322020202020203b32393136373500003cf0f1f447454e2e4e522e3a323931363735490978870022880000228a2e8bf1f74465626974204d6173746572636172640006652410070e47454e2e4e522e3a3239313637354307a0000000041010461f41303030303030303034313031302035463236304546433544323845343531471f413030303030303030343130313020354632363045464335443238453435311f1001001f120102";
/// data051327012: the same terminal's merchant receipt (1F07 01) for a 0.01 EUR payment with the
/// card ending 5726, as one 06 D3 text block of extended length (FF 0E 02). Its text is
/// ISO 8859-1 ("H\xc4NDLERBELEG") though its registration agreed no character set.
const MERCHANT_RECEIPT_BLOCK: &str = "06d3ff0e020682020a1f0701012582020209014007122a2a2048c44e444c455242454c4547202a2a0717544553542042455a41484c2e4f4e4c494e4520452e552e07064e522031323207133636343520564f52444552484f524e424143480700070009010007012009014007075645524b415546090100071830352e30332e3230323120202020202031333a32363a353207185465726d696e616c2d49443a202020203239303031303036071856552d4e723a202020202020202020313030373634393932071842656c65672d4e723a202020202020202030302f30303139071854726163652d4e723a202020202020202020303030323635090140070a4b4f4e54414b544c4f53070e4d61657374726f2f444d432041540901000714202020204465626974204d61737465726361726407134149443a204130303030303030303431303130071843727970746f3a204343304344374342443945303241324107184e723a20202a2a2a2a202a2a2a2a202a2a2a2a203537323607185345513a2020202020202020202020202020202020303031070c452e4d6f6465284729202020090140070742455a41484c54090100070e47454e2e4e522e3a37393034393807184245545241473a20204555522020202020202020302c303107182020202020202020203d3d3d3d3d3d3d3d3d3d3d3d3d3d3d070120090140070007000700090100070120070120070120070120090181";
/// 1618046758827PT: a decline (27 05) with the text "Karte abgelehnt" in 3C and in a TLV.
const DECLINE: &str =
    "040f31270529290010063cf0f1f54b6172746520616267656c65686e748a0d06132411070f4b6172746520616267656c65686e74";
/// 1620218414428PT: the completion of a registration: 19 00, terminal 29001006, currency 978.
const REGISTRATION_COMPLETION: &str = "060f0a19002929001006490978";

// A second terminal (id 28004869) and a third (id 00000006, TLV-heavy, long trace), from the
// public test data of Portalum/Portalum.Zvt (src/Portalum.Zvt.UnitTest/
// StatusInformationParserTest.cs: "PaymentGood1", "TlvInfos2", "AbortByKey").

/// A Debit Mastercard approval of 20.40 EUR: VU 100461763, AID field 3B "611804", card type 2E.
const SECOND_TERMINAL_APPROVAL: &str = "040f772700040000000020400b0004700c2239530d10060e2512170001197022f0f8eeeeeeeeeeee477129280048692a3130303436313736332020202020203b36313138303400003cf0f1f447454e2e4e522e3a363131383034490978870470880004708a2e8bf1f74465626974204d61737465726361726400";
/// A contactless-era approval of 20.40 EUR: result-code-AS (A0), 0B of 000000 with the trace in
/// TLV 1F2B, and inside 06: 2F (payment type: 1F12 chip, 1F10 offline PIN) and 60 (43 AID,
/// 44 application label).
const THIRD_TERMINAL_APPROVAL: &str = "040f6c2700040000000020400c2109160d11010e999922f0f8eeeeeeeeeeee4771a00129000000068700050b0000008a068bf1f14d41535445524341524400062e2f081f1201011f100103601b4307a000000004101044104465626974204d6173746572636172641f2b0410016005";
/// The second terminal's abort by the customer (27 6C), "Abbruch durch Kunde" in 3C.
const SECOND_TERMINAL_ABORT: &str = "040f1e276c29280048693cf0f1f941626272756368206475726368204b756e6465";

fn bytes(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

fn euro_till() -> (ZvtTerminal<SerialTransport<TTYPort>>, Peer) {
    let expected = ExpectedIdentity { terminal_id: Some("29001006".into()), merchant_no: Some("100764992".into()) };
    till_and_peer_in(978, expected, Duration::from_secs(2))
}

#[test]
fn a_real_maestro_approval_with_tlv_and_texts_is_approved_as_sent() {
    let (mut till, peer) = euro_till();
    let (outcome, _) = against(
        &mut till,
        peer,
        |peer| {
            let cmd = peer.receive();
            assert_eq!(&cmd[..10], [0x06, 0x01, 0x0A, 0x04, 0, 0, 0, 0, 0x18, 0x80], "{cmd:02X?}");
            peer.send(&frame(&[0x80, 0x00, 0x00]));
            peer.tell(&bytes(MAESTRO_APPROVAL));
            peer.send(&frame(&[0x06, 0x0F, 0x00]));
            peer.receive();
        },
        |t| t.pay(1880, &mut |_| true),
    );
    let Outcome::Approved(a) = outcome else { panic!("{outcome:?}") };
    assert_eq!((a.amount_minor, a.trace, a.receipt_no, a.turnover_no), (1880, 153, 153, Some(153)));
    assert_eq!((a.terminal_id.as_str(), a.merchant_no.as_str()), ("29001006", "100764992"));
    assert_eq!((a.card_type, a.card_name.as_str()), (Some(0x2E), "MAESTRO"));
    assert!(a.masked_pan.ends_with("4281") && till::sale::is_masked_pan(&a.masked_pan), "{}", a.masked_pan);
    assert!(!a.pan_was_unmasked);
    // Kept as received: the TLV container and the 3C text, the card number masked.
    assert!(a.status_kept.contains("3C=47454E2E4E522E3A393538353230"), "{}", a.status_kept);
    assert!(a.status_kept.contains("06=2410070E"), "{}", a.status_kept);
    assert!(a.status_kept.contains(&format!("22={}", a.masked_pan)), "{}", a.status_kept);
}

#[test]
fn a_real_terminal_registers_then_approves_and_sends_its_merchant_receipt_as_a_text_block() {
    let (mut till, peer) = euro_till();
    let (info, peer) = against(
        &mut till,
        peer,
        |peer| {
            let cmd = peer.receive();
            assert_eq!(&cmd[..2], [0x06, 0x00]);
            peer.send(&frame(&[0x80, 0x00, 0x00]));
            peer.send(&frame(&bytes(REGISTRATION_COMPLETION)));
            peer.receive();
        },
        |t| t.register(),
    );
    let info = info.unwrap();
    assert_eq!((info.terminal_id.as_deref(), info.currency), (Some("29001006"), Some(978)));
    assert!(info.needs().is_empty());
    // No character set agreed, and the terminal prints ISO 8859-1: the installer's setting.
    till.session_mut().charset = Charset::Latin1;
    let (outcome, _) = against(
        &mut till,
        peer,
        |peer| {
            peer.receive();
            peer.send(&frame(&[0x80, 0x00, 0x00]));
            peer.tell(&bytes(DEBIT_MASTERCARD_APPROVAL));
            peer.tell(&bytes(MERCHANT_RECEIPT_BLOCK));
            peer.send(&frame(&[0x06, 0x0F, 0x00]));
            peer.receive();
        },
        |t| t.pay(1, &mut |_| true),
    );
    let Outcome::Approved(a) = outcome else { panic!("{outcome:?}") };
    assert_eq!(
        (a.amount_minor, a.masked_pan.as_str(), a.card_name.as_str()),
        (1, "************5726", "Debit Mastercard")
    );
    assert_eq!(a.receipts.len(), 1, "{:?}", a.receipts);
    let receipt = &a.receipts[0];
    assert_eq!(receipt.receipt_type, Some(0x01), "merchant");
    assert_eq!(receipt.lines[0], "** H\u{c4}NDLERBELEG **");
    // Its AID (A0000000041010) and masked number are no card number to flag.
    assert!(!a.pan_was_unmasked);
    for line in ["Terminal-ID:    29001006", "Nr:  **** **** **** 5726", "BETRAG:  EUR        0,01"] {
        assert!(receipt.lines.iter().any(|l| l == line), "{line:?} in {:#?}", receipt.lines);
    }
    // In the default character set the same byte is a box-drawing line: the setting matters.
    let block = bytes(MERCHANT_RECEIPT_BLOCK);
    let cp437 = till::terminal::zvt::messages::TextBlock::decode(&block[5..], Charset::Cp437);
    assert_eq!(cp437.lines[0].text, "** H\u{2500}NDLERBELEG **");
}

#[test]
fn a_real_decline_with_its_text_is_a_decline() {
    let (mut till, peer) = euro_till();
    let (outcome, _) = against(
        &mut till,
        peer,
        |peer| {
            peer.receive();
            peer.send(&frame(&[0x80, 0x00, 0x00]));
            peer.tell(&bytes(DECLINE));
            peer.send(&frame(&[0x06, 0x1E, 0x01, 0x05]));
            peer.receive();
        },
        |t| t.pay(1880, &mut |_| true),
    );
    assert_eq!(outcome, Outcome::Declined { code: 0x05 });
}

#[test]
fn a_thousand_byte_print_block_takes_its_wire_time_and_no_timer_fires_early() {
    use till::terminal::line::LineSpeed;
    // T4 of 1 s, shorter than the block's own time on the wire (1,100 bytes: 1.26 s): the till
    // must not give up on a terminal that is still sending.
    let (mut till, peer) = till_and_peer(ExpectedIdentity::default(), Duration::from_secs(1));
    let mut lines = Vec::new();
    for i in 0..42 {
        let text = format!("line {i:02} of the receipt..");
        lines.extend([0x07, text.len() as u8]);
        lines.extend(text.as_bytes());
    }
    let mut texts = vec![0x25, 0x82];
    // TLV lengths are big-endian (BER); the APDU's FF length is little-endian.
    texts.extend((lines.len() as u16).to_be_bytes());
    texts.extend(&lines);
    let mut container = vec![0x06, 0x82];
    container.extend((texts.len() as u16 + 4).to_be_bytes());
    container.extend([0x1F, 0x07, 0x01, 0x01]);
    container.extend(&texts);
    let mut block = vec![0x06, 0xD3, 0xFF];
    block.extend((container.len() as u16).to_le_bytes());
    block.extend(&container);
    let wire = frame(&block).len();
    assert!(wire > 1000, "{wire}");
    assert!(LineSpeed::ZVT.wire_time(wire) > Duration::from_secs(1), "longer on the wire than T4");
    let (outcome, _) = against(
        &mut till,
        peer,
        move |peer| {
            peer.receive();
            peer.send(&frame(&[0x80, 0x00, 0x00]));
            peer.tell(&approval(&[]));
            peer.tell(&block);
            peer.send(&frame(&[0x06, 0x0F, 0x00]));
            peer.receive();
        },
        |t| t.pay(1050, &mut |_| true),
    );
    let Outcome::Approved(a) = outcome else { panic!("{outcome:?}") };
    assert_eq!(a.receipts[0].lines.len(), 42);
}

#[test]
fn a_refusal_84_1e_with_a_result_code_is_read_as_that_code() {
    let (mut till, peer) = till_and_peer(ExpectedIdentity::default(), Duration::from_secs(2));
    let (outcome, _) = against(
        &mut till,
        peer,
        |peer| {
            peer.receive();
            // 84 1E, one byte of data: 6F, wrong currency.
            peer.send(&frame(&[0x84, 0x1E, 0x01, 0x6F]));
        },
        |t| t.pay(1050, &mut |_| true),
    );
    assert_eq!(outcome, Outcome::Declined { code: 0x6F });
    assert_eq!(till::terminal::result_text(0x6F, "en"), "wrong currency");
}

#[test]
fn a_long_trace_number_comes_in_tlv_1f2b() {
    let (mut till, peer) = till_and_peer(ExpectedIdentity::default(), Duration::from_secs(2));
    // 0B set to 000000, the trace 12345678 in tag 1F2B of the TLV container (BMP 06).
    let mut d = vec![0x27, 0x00, 0x04, 0, 0, 0, 0, 0x10, 0x50, 0x0B, 0, 0, 0, 0x87, 0x00, 0x17];
    d.extend([0x29, 0x52, 0x50, 0x00, 0x38, 0x06, 0x07, 0x1F, 0x2B, 0x04, 0x12, 0x34, 0x56, 0x78]);
    let mut status = vec![0x04, 0x0F, d.len() as u8];
    status.extend(d);
    let (outcome, _) = against(&mut till, peer, pay_script(status), |t| t.pay(1050, &mut |_| true));
    let Outcome::Approved(a) = outcome else { panic!("{outcome:?}") };
    assert_eq!((a.trace, a.receipt_no), (12_345_678, 17));
}

#[test]
fn an_approval_arriving_during_a_status_enquiry_is_refused_not_booked_unseen() {
    let (mut till, peer) = till_and_peer(ExpectedIdentity::default(), Duration::from_secs(2));
    let (info, _) = against(
        &mut till,
        peer,
        |peer| {
            assert_eq!(&peer.receive()[..2], [0x05, 0x01]);
            peer.send(&frame(&[0x80, 0x00, 0x00]));
            // An earlier payment's status information, still held by the terminal.
            peer.send(&frame(&approval(&[])));
            assert_eq!(peer.receive(), [0x84, 0x66, 0x00], "goods not issued: the terminal reverses it");
            peer.send(&frame(&[0x06, 0x0F, 0x01, 0x00]));
            peer.receive();
        },
        |t| t.status(),
    );
    assert_eq!(info.unwrap().status, Some(0x00));
}

#[test]
fn an_abort_that_crosses_the_terminals_frame_is_not_taken_as_acknowledged() {
    // T4 of 600 ms: after it the till is master again and sends 06 B0 (§2.23).
    let (mut till, peer) = till_and_peer(ExpectedIdentity::default(), Duration::from_millis(600));
    let (outcome, _) = against(
        &mut till,
        peer,
        move |peer| {
            peer.receive();
            peer.send(&frame(&[0x80, 0x00, 0x00]));
            // The terminal says nothing until T4 has run out; the till's 06 B0 then crosses the
            // terminal's late "insert card".
            assert_eq!(&peer.receive_unacknowledged()[..2], [0x06, 0xB0]);
            peer.send(&frame(&[0x04, 0xFF, 0x01, 0x0A]));
            // The terminal's frame was no acknowledgement of the abort: after T2 it comes again.
            let again = peer.receive();
            assert_eq!(&again[..2], [0x06, 0xB0], "the abort repeated, not taken as acknowledged");
        },
        |t| t.pay(1050, &mut |_| true),
    );
    assert!(matches!(outcome, Outcome::Unknown { .. }), "{outcome:?}");
}

#[test]
fn an_auto_reversal_announced_with_04_ff_05_is_noted_for_recovery() {
    let (mut till, peer) = till_and_peer(ExpectedIdentity::default(), Duration::from_secs(2));
    let (info, _) = against(
        &mut till,
        peer,
        |peer| {
            assert_eq!(&peer.receive()[..2], [0x06, 0x00]);
            peer.send(&frame(&[0x80, 0x00, 0x00]));
            // After a power loss: "PT is sending auto-reversal" (§3.7, code 05).
            peer.tell(&[0x04, 0xFF, 0x01, 0x05]);
            peer.send(&frame(&[0x06, 0x0F, 0x07, 0x19, 0x00, 0x29, 0x52, 0x50, 0x00, 0x38]));
            peer.receive();
        },
        |t| t.register(),
    );
    assert!(info.is_ok());
    assert!(till.take_auto_reversal());
    assert!(!till.take_auto_reversal(), "told once");
}

/// 1617777384987PT: the same terminal's end-of-day receipt ("** KASSENSCHNITT **", 1F07 03,
/// administration) as one 06 D3 block, with its totals by card only in its text.
const END_OF_DAY_RECEIPT_BLOCK: &str = "06d3ff2d04068204291f0701032582042109014007132a2a204b415353454e5343484e495454202a2a0717544553542042455a41484c2e4f4e4c494e4520452e552e07064e522031323207133636343520564f52444552484f524e424143480700070009010007012007185465726d696e616c2d49443a202020203239303031303036071430372e30342e323032312030383a33363a303820070120071820202020202020416e7a61686c202020202020202045555207165669736120202020202020202020202020202020202007182020202020202020202020203020202020202020302c303007165620504159202020202020202020202020202020202007182020202020202020202020203020202020202020302c303007164d61737465726361726420202020202020202020202007182020202020202020202020203020202020202020302c303007164d61657374726f2f444d43204154202020202020202007182020202020202020202020203020202020202020302c303007162d20202020202020202020202020202020202020202007182020202020202020202020203020202020202020302c303007164a43422020202020202020202020202020202020202007182020202020202020202020203020202020202020302c303007164368696e6120556e696f6e205061792020202020202007182020202020202020202020203020202020202020302c303007182d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d0718476573616d742020202020203020202020202020302c303007012007012007164461766f6e204261726175737a61686c756e67656e3a07182020202020202020202020202020202020202020302c303007012007182d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d071856697361202020202020202020202020233a303030313035071856553a202020202020202020202020313030373634393932071856205041592020202020202020202020233a303030313035071856553a20202020202020202020202031303037363439393207184d617374657263617264202020202020233a303030313035071856553a20202020202020202020202031303037363439393207184d61657374726f2f444d432041542020233a303030313035071856553a20202020202020202020202031303037363439393207182d202020202020202020202020202020233a303030313035071856553a20202020202020202020202031303037363439393207184a434220202020202020202020202020233a303030313035071856553a20202020202020202020202031303037363439393207184368696e6120556e696f6e2050617920233a303030313035071856553a20202020202020202020202031303037363439393207183d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d070120070120070120070120090181";

#[test]
fn an_end_of_day_without_bmp_60_is_taken_with_its_total_and_the_terminals_receipt() {
    let (mut till, peer) = euro_till();
    till.session_mut().charset = Charset::Latin1;
    let (eod, _) = against(
        &mut till,
        peer,
        |peer| {
            assert_eq!(peer.receive(), [0x06, 0x50, 0x03, 0x12, 0x34, 0x56]);
            peer.send(&frame(&[0x80, 0x00, 0x00]));
            // Result 00 and the total (04), no BMP 60; then the receipt, then the completion.
            peer.tell(&[0x04, 0x0F, 0x09, 0x27, 0x00, 0x04, 0, 0, 0, 0, 0, 0]);
            peer.tell(&bytes(END_OF_DAY_RECEIPT_BLOCK));
            peer.send(&frame(&[0x06, 0x0F, 0x00]));
            peer.receive();
        },
        |t| t.end_of_day(),
    );
    let eod = eod.expect("the batch is closed: no error");
    assert_eq!((&eod.totals, eod.total_minor), (&None, Some(0)));
    assert_eq!(eod.receipts.len(), 1);
    assert_eq!(eod.receipts[0].receipt_type, Some(0x03), "administration");
    assert_eq!(eod.receipts[0].lines[0], "** KASSENSCHNITT **");
    assert!(eod.receipts[0].lines.iter().any(|l| l.starts_with("Gesamt")), "{:#?}", eod.receipts[0].lines);
    assert_eq!(till::dayclose::terminal_totals(&eod), till::ledger::TerminalTotals::Total(0));
}

/// Recovery after the till refused (84 66) an approval that came during its Status Enquiry, the
/// Repeat Receipt still showing that approval; `stored` is whether the till had recorded it.
fn recovery_after_a_refused_approval(stored: bool) -> till::card::Verdict {
    use till::card;
    use till::ledger::{CardResultRecord, Ledger};
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(&dir.path().join("ledger.db"), "R1", till::money::Currency::CNY).unwrap();
    let intent = ledger.begin_card_intent("pay", 1050, "sale-1", None, chrono::Utc::now()).unwrap();
    if stored {
        // Its approval (receipt 17, trace 42) recorded before the answer, which went astray.
        let record = CardResultRecord {
            intent_id: intent.intent_id,
            outcome: "unknown".into(),
            result_code: Some(0),
            amount_minor: Some(1050),
            receipt_no: Some(17),
            trace: Some(42),
            ..Default::default()
        };
        ledger.record_card_result(&record, chrono::Utc::now()).unwrap();
    }
    let (mut till, peer) = till_and_peer(ExpectedIdentity::default(), Duration::from_secs(2));
    let (resolved, _) = against(
        &mut till,
        peer,
        |peer| {
            peer.receive();
            peer.send(&frame(&[0x80, 0x00, 0x00]));
            peer.send(&frame(&approval(&[])));
            assert_eq!(peer.receive(), [0x84, 0x66, 0x00]);
            peer.send(&frame(&[0x06, 0x0F, 0x01, 0x00]));
            peer.receive();
            peer.repeat_receipt_shows(&approval(&[]));
        },
        |t| {
            t.status().unwrap();
            card::recover(&mut ledger, t).unwrap()
        },
    );
    assert_eq!(resolved.len(), 1);
    resolved[0].verdict.clone()
}

#[test]
fn an_approval_the_till_never_answered_and_then_refused_is_not_booked_by_recovery() {
    // Nothing stored, so the till never said 80 00 00 to it: the terminal cannot have booked
    // it, and the refusal reversed it.
    assert_eq!(recovery_after_a_refused_approval(false), till::card::Verdict::NotBooked);
}

#[test]
fn a_refused_copy_of_an_approval_the_till_had_stored_is_left_to_the_terminals_journal() {
    // Stored, the refused message may have been the fresh approval (reversed by the refusal) or
    // a Repeat Receipt's copy for a till that died (the kill soak's case: booked long before,
    // and a refusal undoes nothing). Neither "not booked" (a customer charged without a sale)
    // nor "booked" (a sale paid with reversed money) can be told from here.
    assert_eq!(recovery_after_a_refused_approval(true), till::card::Verdict::Unknown);
}

#[test]
fn the_transaction_id_offered_in_tlv_1f1f_is_read_kept_and_mirrored_in_the_next_payment() {
    // §4.2: the terminal offers its receipt number in TLV 1F1F (here 00 2A = 42); the ECR
    // mirrors it in its next transaction command.
    let (mut till, peer) = till_and_peer(ExpectedIdentity::default(), Duration::from_secs(2));
    let offered = approval(&[0x06, 0x05, 0x1F, 0x1F, 0x02, 0x00, 0x2A]);
    let (outcome, peer) = against(&mut till, peer, pay_script(offered), |t| t.pay(1050, &mut |_| true));
    let Outcome::Approved(a) = outcome else { panic!("{outcome:?}") };
    let kept = till::terminal::zvt::messages::transaction_id_in_kept(&a.status_kept);
    assert_eq!(kept, Some(vec![0x00, 0x2A]), "{}", a.status_kept);
    till.mirror_transaction_id(kept);
    let (outcome, _) = against(
        &mut till,
        peer,
        |peer| {
            // 06 01: amount 20.00, currency 156, then BMP 06 holding 1F1F 00 2A.
            let cmd = peer.receive();
            assert_eq!(
                cmd,
                [
                    0x06, 0x01, 0x11, 0x04, 0, 0, 0, 0, 0x20, 0x00, 0x49, 0x01, 0x56, 0x06, 0x05, 0x1F, 0x1F, 0x02,
                    0x00, 0x2A
                ]
            );
            peer.send(&frame(&[0x80, 0x00, 0x00]));
            peer.tell(&[0x04, 0x0F, 0x02, 0x27, 0x05]);
            peer.send(&frame(&[0x06, 0x1E, 0x01, 0x05]));
            peer.receive();
        },
        |t| t.pay(2000, &mut |_| true),
    );
    assert_eq!(outcome, Outcome::Declined { code: 0x05 });
}

#[test]
fn an_end_of_day_with_neither_bmp_60_nor_a_total_takes_the_total_its_receipt_prints() {
    // The real KASSENSCHNITT block ("Gesamt      0      0,00") after a status of result 00 only.
    let (mut till, peer) = euro_till();
    till.session_mut().charset = Charset::Latin1;
    let (eod, peer) = against(
        &mut till,
        peer,
        |peer| {
            peer.receive();
            peer.send(&frame(&[0x80, 0x00, 0x00]));
            peer.tell(&[0x04, 0x0F, 0x02, 0x27, 0x00]);
            peer.tell(&bytes(END_OF_DAY_RECEIPT_BLOCK));
            peer.send(&frame(&[0x06, 0x0F, 0x00]));
            peer.receive();
        },
        |t| t.end_of_day(),
    );
    let eod = eod.unwrap();
    assert_eq!((&eod.totals, eod.total_minor), (&None, None));
    assert_eq!(till::dayclose::terminal_totals(&eod), till::ledger::TerminalTotals::Total(0));
    // Print lines (06 D1) with a German grand total of 1.234,56 among the card lines.
    let lines: [&[u8]; 4] = [
        b"** KASSENSCHNITT **",
        b"girocard     3    1.034,06",
        b"Visa         1      200,50",
        b"Gesamt       4    1.234,56",
    ];
    let (eod, _) = against(
        &mut till,
        peer,
        move |peer| {
            peer.receive();
            peer.send(&frame(&[0x80, 0x00, 0x00]));
            peer.tell(&[0x04, 0x0F, 0x02, 0x27, 0x00]);
            for (n, line) in lines.iter().enumerate() {
                let mut apdu = vec![0x06, 0xD1, (line.len() + 1) as u8, if n == 3 { 0x81 } else { 0x00 }];
                apdu.extend(*line);
                peer.tell(&apdu);
            }
            peer.send(&frame(&[0x06, 0x0F, 0x00]));
            peer.receive();
        },
        |t| t.end_of_day(),
    );
    assert_eq!(till::dayclose::terminal_totals(&eod.unwrap()), till::ledger::TerminalTotals::Total(123_456));
}

#[test]
fn the_till_registers_with_config_byte_be_and_reverses_by_a_four_digit_bcd_receipt() {
    let (mut till, peer) = till_and_peer(ExpectedIdentity::default(), Duration::from_secs(2));
    let (info, peer) = against(
        &mut till,
        peer,
        |peer| {
            // Password 123456, config BE (§2.1 Table 1: 80 print lines, 20/10 the ECR in control,
            // 08 intermediate status, 04/02 the ECR prints administration and payment receipts),
            // currency 0156.
            assert_eq!(peer.receive(), [0x06, 0x00, 0x06, 0x12, 0x34, 0x56, 0xBE, 0x01, 0x56]);
            peer.send(&frame(&[0x80, 0x00, 0x00]));
            peer.send(&frame(&[0x06, 0x0F, 0x07, 0x19, 0x00, 0x29, 0x52, 0x50, 0x00, 0x38]));
            peer.receive();
        },
        |t| t.register(),
    );
    assert_eq!(info.unwrap().terminal_id.as_deref(), Some("52500038"));
    let (outcome, _) = against(
        &mut till,
        peer,
        |peer| {
            // Reversal of receipt 9999: password, then BMP 87 as two BCD bytes.
            assert_eq!(peer.receive(), [0x06, 0x30, 0x06, 0x12, 0x34, 0x56, 0x87, 0x99, 0x99]);
            peer.send(&frame(&[0x80, 0x00, 0x00]));
            peer.tell(&[0x04, 0x0F, 0x02, 0x27, 0xB5]);
            peer.send(&frame(&[0x06, 0x1E, 0x01, 0xB5]));
            peer.receive();
        },
        |t| t.reverse(9999, &mut |_| true),
    );
    assert_eq!(outcome, Outcome::Declined { code: 0xB5 });
}

#[test]
fn an_unmasked_card_number_is_booked_and_flagged_for_the_installer_on_the_z_not_as_a_foreign_merchant() {
    use till::card::{self, CardOp};
    use till::dayclose::RiskFlag;
    let dir = tempfile::tempdir().unwrap();
    let mut ledger =
        till::ledger::Ledger::open(&dir.path().join("ledger.db"), "R1", till::money::Currency::CNY).unwrap();
    let float = till::money::Money::from_minor(0, till::money::Currency::CNY).unwrap();
    let day = ledger.ensure_day(float, chrono::Utc::now()).unwrap().day_no;
    let (mut till, peer) = till_and_peer(ExpectedIdentity::default(), Duration::from_secs(2));
    let extra = [0x22, 0xF0, 0xF8, 0x47, 0x48, 0x43, 0x00, 0x00, 0x00, 0x77, 0x43];
    let (paid, _) = against(&mut till, peer, pay_script(approval(&extra)), |t| {
        card::run(&mut ledger, t, CardOp::Pay, 1050, "sale-1").unwrap()
    });
    assert!(matches!(paid.outcome, Outcome::Approved(_)), "{paid:?}");
    let results = ledger.card_results().unwrap();
    assert!(results.iter().all(|r| r.masked_pan.as_deref().is_none_or(till::sale::is_masked_pan)));
    assert!(results.iter().all(|r| !r.status_kept.as_deref().unwrap_or("").contains("4748430000007743")));
    let flags = till::dayclose::risk_flags(&ledger.day_figures(day, day, false).unwrap(), &[]);
    assert_eq!(flags, vec![RiskFlag::TerminalSentCardNumbers(1)], "not a merchant mismatch");
}

#[test]
fn every_text_field_of_the_terminal_is_checked_not_only_the_card_name() {
    let (mut till, peer) = till_and_peer(ExpectedIdentity::default(), Duration::from_secs(2));
    // 3C (LLL-var): an escape sequence and a whole card number; 2A (15 bytes): a formula with a
    // control character; 3B (AID, 8 bytes): a NUL and a BEL.
    let text = b"AUTH 4111111111111111 \x1b[2J";
    let mut extra = vec![0x3C, 0xF0, 0xF0 + (text.len() / 10) as u8, 0xF0 + (text.len() % 10) as u8];
    extra.extend(text);
    extra.push(0x2A);
    extra.extend(b"=cmd|'/C'!A0\x07xx");
    extra.push(0x3B);
    extra.extend(b"A\x00\x07D2760");
    let (outcome, _) = against(&mut till, peer, pay_script(approval(&extra)), |t| t.pay(1050, &mut |_| true));
    let Outcome::Approved(a) = outcome else { panic!("{outcome:?}") };
    assert!(a.pan_was_unmasked, "flagged");
    let printable = |s: &str| s.chars().all(|c| !c.is_control());
    assert!(printable(&a.merchant_no) && printable(&a.aid), "{:?} {:?}", a.merchant_no, a.aid);
    assert!(a.merchant_no.starts_with("=cmd"), "kept as data: {:?}", a.merchant_no);
    assert_eq!(till::dayclose::output::spreadsheet_safe(&a.merchant_no), format!("'{}", a.merchant_no));
    // What is kept of 3C has the number masked (hex of "4111111111111111" nowhere).
    let whole: String = b"4111111111111111".iter().map(|b| format!("{b:02X}")).collect();
    assert!(!a.status_kept.contains(&whole), "{}", a.status_kept);
    let masked: String = b"411111******1111".iter().map(|b| format!("{b:02X}")).collect();
    assert!(a.status_kept.contains(&masked), "{}", a.status_kept);
}

/// Pays `amount` on a till of 978 (EUR) expecting no identity, against a peer that answers with
/// `status` and completes.
fn real_approval(status: &str, amount: u64) -> Outcome {
    let (mut till, peer) = till_and_peer_in(978, ExpectedIdentity::default(), Duration::from_secs(2));
    against(&mut till, peer, pay_script(bytes(status)), |t| t.pay(amount, &mut |_| true)).0
}

#[test]
fn a_second_terminals_real_approval_decodes_to_what_it_sent() {
    let Outcome::Approved(a) = real_approval(SECOND_TERMINAL_APPROVAL, 2040) else { panic!() };
    assert_eq!((a.amount_minor, a.trace, a.receipt_no, a.turnover_no), (2040, 470, 470, Some(470)));
    assert_eq!((a.date, a.time), (Some(1006), Some(223_953)));
    assert_eq!((a.terminal_id.as_str(), a.merchant_no.as_str()), ("28004869", "100461763"));
    assert_eq!((a.card_type, a.card_name.as_str()), (Some(0x2E), "Debit Mastercard"));
    assert!(a.masked_pan.ends_with("4771") && till::sale::is_masked_pan(&a.masked_pan), "{}", a.masked_pan);
    assert!(!a.pan_was_unmasked);
    assert!(a.status_kept.contains("0E=2512"), "the expiry kept: {}", a.status_kept);
}

#[test]
fn a_third_terminals_real_approval_with_result_code_as_and_nested_tlv_decodes() {
    let outcome = real_approval(THIRD_TERMINAL_APPROVAL, 2040);
    let Outcome::Approved(a) = outcome else { panic!("{outcome:?}") };
    // The trace from 1F2B (0B is 000000), receipt 0005, terminal 00000006, card type 06.
    assert_eq!((a.amount_minor, a.trace, a.receipt_no), (2040, 10_016_005, 5));
    assert_eq!((a.terminal_id.as_str(), a.card_type, a.card_name.as_str()), ("00000006", Some(0x06), "MASTERCARD"));
    assert!(a.status_kept.contains("A0=01"), "result-code-AS kept: {}", a.status_kept);
    assert!(a.status_kept.contains("06=2F081F1201011F100103601B"), "{}", a.status_kept);
}

#[test]
fn a_second_terminals_real_abort_by_the_customer_is_an_abort() {
    let (mut till, peer) = till_and_peer_in(978, ExpectedIdentity::default(), Duration::from_secs(2));
    let (outcome, _) = against(
        &mut till,
        peer,
        |peer| {
            peer.receive();
            peer.send(&frame(&[0x80, 0x00, 0x00]));
            peer.tell(&bytes(SECOND_TERMINAL_ABORT));
            peer.send(&frame(&[0x06, 0x1E, 0x01, 0x6C]));
            peer.receive();
        },
        |t| t.pay(2040, &mut |_| true),
    );
    assert_eq!(outcome, Outcome::Declined { code: 0x6C });
}
