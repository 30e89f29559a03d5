//! The ZVT serial transport's frames (PA00P016): `DLE STX <APDU> DLE ETX CRC-lo CRC-hi`, with
//! every DLE inside the APDU doubled and the two CRC bytes sent raw (never doubled, even 0x10).
//! The CRC is CRC-16/KERMIT over the unstuffed APDU plus ETX (the specification says "XModem";
//! the wire says KERMIT).

pub const DLE: u8 = 0x10;
pub const STX: u8 = 0x02;
pub const ETX: u8 = 0x03;
pub const ACK: u8 = 0x06;
pub const NAK: u8 = 0x15;

/// The longest APDU: 3 header bytes, `FF lo hi`, 65 535 data bytes.
pub const MAX_APDU: usize = 3 + 2 + 65_535;

/// CRC-16/KERMIT (poly 0x1021 reflected = 0x8408, init 0, no final xor).
pub fn crc16_kermit(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in bytes {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x8408 } else { crc >> 1 };
        }
    }
    crc
}

/// The frame's CRC: over the APDU and the ETX byte.
pub fn frame_crc(apdu: &[u8]) -> u16 {
    let mut crc = crc16_kermit(apdu);
    // Continue the same register over ETX.
    crc ^= u16::from(ETX);
    for _ in 0..8 {
        crc = if crc & 1 != 0 { (crc >> 1) ^ 0x8408 } else { crc >> 1 };
    }
    crc
}

/// The bytes that cross the cable for one APDU.
pub fn encode_frame(apdu: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(apdu.len() + 8);
    out.extend_from_slice(&[DLE, STX]);
    for &b in apdu {
        out.push(b);
        if b == DLE {
            out.push(DLE);
        }
    }
    out.extend_from_slice(&[DLE, ETX]);
    let crc = frame_crc(apdu);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// What the receiving side made of the bytes so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A whole frame with a good CRC: the APDU, unstuffed. Answer ACK.
    Frame(Vec<u8>),
    /// A whole frame whose CRC did not match. Answer NAK.
    BadCrc,
    /// A frame broken off by bytes that cannot follow a DLE, or too long. Answer NAK.
    BadFrame,
    Ack,
    Nak,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    IdleDle,
    Body,
    BodyDle,
    CrcLow,
    CrcHigh(u8),
}

/// A byte-at-a-time frame decoder. It never panics and never grows past [`MAX_APDU`]; bytes
/// outside a frame other than ACK, NAK and `DLE STX` are line noise and are skipped.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    state: State,
    apdu: Vec<u8>,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder { state: State::Idle, apdu: Vec::new() }
    }
}

impl FrameDecoder {
    pub fn new() -> FrameDecoder {
        FrameDecoder::default()
    }

    /// True while a frame has started but not ended (the T1 inter-byte timer runs).
    pub fn in_frame(&self) -> bool {
        !matches!(self.state, State::Idle | State::IdleDle)
    }

    /// How many more bytes the frame under way has at least, from its APDU's announced length
    /// (doubled DLEs may add more); 0 outside a frame. A reader can wait that long on a slow
    /// line instead of waking for every byte.
    pub fn bytes_still_expected(&self) -> usize {
        let tail = 4; // DLE ETX CRC CRC
        match self.state {
            State::Idle | State::IdleDle => 0,
            State::CrcLow => 2,
            State::CrcHigh(_) => 1,
            State::Body | State::BodyDle => {
                let total = match self.apdu.as_slice() {
                    [_, _, 0xFF, lo, hi, ..] => 5 + usize::from(u16::from_le_bytes([*lo, *hi])),
                    [_, _, 0xFF, ..] => 5,
                    [_, _, len, ..] => 3 + usize::from(*len),
                    _ => 3,
                };
                total.saturating_sub(self.apdu.len()) + tail
            }
        }
    }

    /// Forgets a partial frame (after T1 expired).
    pub fn reset(&mut self) {
        self.state = State::Idle;
        self.apdu.clear();
    }

    pub fn push(&mut self, byte: u8) -> Option<Received> {
        match self.state {
            State::Idle => match byte {
                ACK => return Some(Received::Ack),
                NAK => return Some(Received::Nak),
                DLE => self.state = State::IdleDle,
                _ => {}
            },
            State::IdleDle => {
                self.state = match byte {
                    STX => {
                        self.apdu.clear();
                        State::Body
                    }
                    DLE => State::IdleDle,
                    _ => State::Idle,
                }
            }
            State::Body => {
                if byte == DLE {
                    self.state = State::BodyDle;
                } else {
                    return self.take(byte);
                }
            }
            State::BodyDle => match byte {
                DLE => {
                    self.state = State::Body;
                    return self.take(DLE);
                }
                ETX => self.state = State::CrcLow,
                STX => {
                    // A new frame began inside the old one: the old one is lost.
                    self.apdu.clear();
                    self.state = State::Body;
                    return Some(Received::BadFrame);
                }
                _ => {
                    self.reset();
                    return Some(Received::BadFrame);
                }
            },
            State::CrcLow => self.state = State::CrcHigh(byte),
            State::CrcHigh(low) => {
                let got = u16::from_le_bytes([low, byte]);
                let apdu = std::mem::take(&mut self.apdu);
                self.state = State::Idle;
                return Some(if got == frame_crc(&apdu) { Received::Frame(apdu) } else { Received::BadCrc });
            }
        }
        None
    }

    fn take(&mut self, byte: u8) -> Option<Received> {
        if self.apdu.len() >= MAX_APDU {
            self.reset();
            return Some(Received::BadFrame);
        }
        self.apdu.push(byte);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_check_values() {
        assert_eq!(crc16_kermit(b"123456789"), 0x2189);
        assert_eq!(crc16_kermit(&[0x80, 0x00, 0x00, 0x03]), 0x1FF5);
        assert_eq!(frame_crc(&[0x80, 0x00, 0x00]), 0x1FF5);
    }

    #[test]
    fn a_crc_byte_of_0x10_is_sent_raw() {
        let wire = encode_frame(&[0x04, 0xFF, 0x01, 0x68]);
        assert_eq!(wire, vec![0x10, 0x02, 0x04, 0xFF, 0x01, 0x68, 0x10, 0x03, 0x10, 0x2B]);
        let mut d = FrameDecoder::new();
        let got: Vec<Received> = wire.iter().filter_map(|b| d.push(*b)).collect();
        assert_eq!(got, vec![Received::Frame(vec![0x04, 0xFF, 0x01, 0x68])]);
    }

    #[test]
    fn stuffing_round_trips_and_noise_is_skipped() {
        let apdu = vec![0x06, 0x01, 0x07, 0x04, 0x00, 0x00, 0x00, 0x00, 0x10, 0x10];
        let wire = encode_frame(&apdu);
        assert_eq!(
            wire,
            vec![
                0x10, 0x02, 0x06, 0x01, 0x07, 0x04, 0x00, 0x00, 0x00, 0x00, 0x10, 0x10, 0x10, 0x10, 0x10, 0x03, 0xF3,
                0x04
            ]
        );
        let mut d = FrameDecoder::new();
        let mut noisy = vec![0xFF, 0x00, 0x10, 0x55, ACK];
        noisy.extend(&wire);
        noisy.push(NAK);
        let got: Vec<Received> = noisy.iter().filter_map(|b| d.push(*b)).collect();
        assert_eq!(got, vec![Received::Ack, Received::Frame(apdu), Received::Nak]);
    }

    #[test]
    fn corruption_is_reported() {
        let mut wire = encode_frame(&[0x80, 0x00, 0x00]);
        wire[3] ^= 0x01;
        let mut d = FrameDecoder::new();
        assert_eq!(wire.iter().filter_map(|b| d.push(*b)).collect::<Vec<_>>(), vec![Received::BadCrc]);
        let mut d = FrameDecoder::new();
        let broken = [0x10, 0x02, 0x80, 0x10, 0x41, 0x00];
        assert_eq!(broken.iter().filter_map(|b| d.push(*b)).collect::<Vec<_>>(), vec![Received::BadFrame]);
        assert!(!d.in_frame());
    }
}
