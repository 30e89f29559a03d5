//! ZVT as real terminals speak it, played by a scripted peer with exact bytes (tests/common/peer.rs,
//! not the project's codec): fields our emulator never sends, a card number sent unmasked, a
//! girocard approval without a VU number, a 04 FF timeout byte of 00, a Status Enquiry completion
//! without a software version, registration's status bit field. PA00P015 rev 13.08.

use std::time::Duration;

use serialport::{SerialPort, TTYPort};
use till::terminal::zvt::session::Session;
use till::terminal::zvt::transport::{SerialTransport, Timers};
use till::terminal::{ExpectedIdentity, Outcome, PaymentTerminal, ZvtTerminal};

mod common;

use common::peer::{Peer, frame};

fn till_and_peer(expected: ExpectedIdentity, t4: Duration) -> (ZvtTerminal<SerialTransport<TTYPort>>, Peer) {
    let (ecr, mut pt) = TTYPort::pair().unwrap();
    pt.set_timeout(Duration::from_millis(20)).unwrap();
    let timers = Timers { t2: Duration::from_millis(400), t3: Duration::from_secs(1), t4, ..Timers::default() };
    let till = ZvtTerminal::new(Session::new(SerialTransport::new(ecr, timers)), 123456, 156, expected);
    (till, Peer { port: pt })
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
    let name = b"=HYPERLINK(\"x\") 4748430000007743";
    let mut extra = vec![0x8B, 0xF0 + (name.len() / 10) as u8, 0xF0 + (name.len() % 10) as u8];
    extra.extend(name);
    let (outcome, _) = against(&mut till, peer, pay_script(approval(&extra)), |t| t.pay(1050, &mut |_| true));
    let Outcome::Approved(a) = outcome else { panic!("{outcome:?}") };
    assert_eq!(a.card_name, "=HYPERLINK(\"x\") 474843******7743", "the number masked");
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
