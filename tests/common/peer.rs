//! The terminal's side of a ZVT serial line played byte for byte by a test: its own framing
//! (DLE STX … DLE ETX, CRC-16/KERMIT), checked against the ZVT notes' vectors in
//! tests/recovery_peer.rs — not the project's codec, so a misreading cannot hide on both sides.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use serialport::{SerialPort, TTYPort};
use till::terminal::line::{LineSpeed, SimulatedLine};

pub const ACK: u8 = 0x06;

/// CRC-16/KERMIT, bit by bit (this test's own).
pub fn crc(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in bytes {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x8408 } else { crc >> 1 };
        }
    }
    crc
}

/// An APDU on the wire: DLE STX, the APDU with each 10 doubled, DLE ETX, the CRC low byte first.
pub fn frame(apdu: &[u8]) -> Vec<u8> {
    let mut crc_input = apdu.to_vec();
    crc_input.push(0x03);
    let c = crc(&crc_input);
    let mut out = vec![0x10, 0x02];
    for &b in apdu {
        out.push(b);
        if b == 0x10 {
            out.push(0x10);
        }
    }
    out.extend([0x10, 0x03, (c & 0xFF) as u8, (c >> 8) as u8]);
    out
}

/// The terminal's side of the line, byte for byte.
pub struct Peer {
    pub port: TTYPort,
    /// The line at 9600 baud 8N2 between the till and this peer, while it lives.
    pub line: SimulatedLine,
}

/// The till's end and the peer's, joined by a line at the ZVT speed (9600 baud 8N2): every
/// byte takes its 1.15 ms, so no timer of the till's can fire early unseen.
pub fn line() -> (TTYPort, Peer) {
    let (till, mut terminal, line) = SimulatedLine::open(LineSpeed::ZVT).unwrap();
    terminal.set_timeout(Duration::from_millis(20)).unwrap();
    (till, Peer { port: terminal, line })
}

impl Peer {
    fn byte(&mut self, deadline: Instant) -> Option<u8> {
        let mut b = [0u8];
        while Instant::now() < deadline {
            match self.port.read(&mut b) {
                Ok(1) => return Some(b[0]),
                _ => continue,
            }
        }
        None
    }

    /// Reads one frame from the till (its APDU, unstuffed) and acknowledges it.
    pub fn receive(&mut self) -> Vec<u8> {
        let apdu = self.receive_unacknowledged();
        self.port.write_all(&[ACK]).unwrap();
        apdu
    }

    /// Reads one frame from the till and leaves it unacknowledged (as if lost in a collision).
    pub fn receive_unacknowledged(&mut self) -> Vec<u8> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut apdu = Vec::new();
        loop {
            match self.byte(deadline) {
                Some(0x10) => break,
                Some(_) => {}
                None => panic!("no frame from the other side within 5 s"),
            }
        }
        assert_eq!(self.byte(deadline), Some(0x02), "STX");
        loop {
            let b = self.byte(deadline).expect("a whole frame");
            if b == 0x10 {
                match self.byte(deadline).expect("after DLE") {
                    0x10 => apdu.push(0x10),
                    0x03 => break,
                    other => panic!("DLE {other:02X} inside a frame"),
                }
            } else {
                apdu.push(b);
            }
        }
        let lo = self.byte(deadline).unwrap();
        let hi = self.byte(deadline).unwrap();
        let mut crc_input = apdu.clone();
        crc_input.push(0x03);
        assert_eq!(u16::from(lo) | (u16::from(hi) << 8), crc(&crc_input), "CRC of {apdu:02X?}");
        apdu
    }

    /// Sends exact wire bytes and waits for the till's ACK.
    pub fn send(&mut self, wire: &[u8]) {
        self.port.write_all(wire).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        assert_eq!(self.byte(deadline), Some(ACK), "the till acknowledges {wire:02X?}");
    }

    /// Sends a PT message and takes the till's `80 00 00` for it.
    pub fn tell(&mut self, apdu: &[u8]) {
        self.send(&frame(apdu));
        assert_eq!(self.receive(), [0x80, 0x00, 0x00], "the till answers {apdu:02X?}");
    }

    /// Answers a Repeat Receipt (06 20) with this status information, then completes.
    pub fn repeat_receipt_shows(&mut self, status: &[u8]) {
        let cmd = self.receive();
        assert_eq!(&cmd[..2], [0x06, 0x20], "Repeat Receipt");
        self.send(&frame(&[0x80, 0x00, 0x00]));
        self.tell(status);
        self.send(&frame(&[0x06, 0x0F, 0x00]));
        assert_eq!(self.receive(), [0x80, 0x00, 0x00]);
    }
}

/// A status information (04 0F) as a terminal sends it: result 00, amount (6-byte BCD), trace
/// (3-byte BCD), terminal id 52500038, receipt (2-byte BCD).
pub fn status(amount: [u8; 6], trace: [u8; 3], receipt: [u8; 2]) -> Vec<u8> {
    let mut d = vec![0x27, 0x00, 0x04];
    d.extend(amount);
    d.push(0x0B);
    d.extend(trace);
    d.extend([0x29, 0x52, 0x50, 0x00, 0x38, 0x87]);
    d.extend(receipt);
    let mut apdu = vec![0x04, 0x0F, d.len() as u8];
    apdu.extend(d);
    apdu
}
