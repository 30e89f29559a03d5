//! Moving APDUs over a line: the serial transport (frames, ACK/NAK, T1/T2, two repeats).
//!
//! Both ends use this: the till (ECR) and the terminal emulator (PT). The receiver answers every
//! frame at once with one raw byte, ACK for a good one, NAK for a bad one (or one broken off
//! for longer than T1 between bytes); the sender repeats after a NAK or after T2 without an answer,
//! at most twice, then gives up with a transmission error.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use super::apdu::{Apdu, ZvtDecodeError};
use super::frame::{ACK, FrameDecoder, NAK, Received, encode_frame};

/// The protocol's timers and repeat count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// Longest gap between the bytes of a frame.
    pub t1: Duration,
    /// Longest wait for ACK/NAK after a frame.
    pub t2: Duration,
    /// Longest wait for the answer (80 00 / 84 xx) to a command.
    pub t3: Duration,
    /// Longest wait for the completion of a command that handed over mastership, re-armed by
    /// every intermediate status and status information.
    pub t4: Duration,
    /// Repeats after NAK or T2 (2: three attempts in all).
    pub repeats: u32,
}

impl Default for Timers {
    fn default() -> Timers {
        Timers {
            t1: Duration::from_millis(200),
            t2: Duration::from_secs(5),
            t3: Duration::from_secs(5),
            t4: Duration::from_secs(180),
            repeats: 2,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("line: {0}")]
    Io(#[from] io::Error),
    #[error("no acknowledgement after {0} attempts")]
    NoAck(u32),
    #[error(transparent)]
    Decode(#[from] ZvtDecodeError),
}

/// Something that moves whole APDUs: the serial transport (frames, ACK/NAK) or the TCP one
/// (raw APDUs). The session and the emulator speak through it.
pub trait ApduLine: Send {
    /// Sends one APDU, with whatever the line needs to be sure it arrived.
    fn send(&mut self, apdu: &Apdu) -> Result<(), TransportError>;
    /// Waits up to `timeout` for one APDU.
    fn receive(&mut self, timeout: Duration) -> Result<Option<Apdu>, TransportError>;
    /// Drops what the peer still says about an exchange that is over.
    fn drain(&mut self) -> Result<usize, TransportError>;
    fn timers(&self) -> Timers;
    fn set_timers(&mut self, timers: Timers);
    /// The line's rehearsal faults, where the line has any (serial).
    fn faults_mut(&mut self) -> Option<&mut LineFaults> {
        None
    }
    /// After a command got no answer in time or the line failed: a TCP connection is closed
    /// (PA00P016 §5.2.5) and opened again by the next command; a serial line stays.
    fn close_after_timeout(&mut self) {}
}

/// A byte line: a serial port or a pseudo-terminal.
pub trait Link: Send {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Reads what is there, waiting at most `timeout`; 0 bytes means nothing came.
    fn receive(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize>;
    /// How long `bytes` take on the wire at the line's speed (zero where there is no wire).
    fn wire_time(&self, bytes: usize) -> Duration {
        let _ = bytes;
        Duration::ZERO
    }
}

/// Writes and flushes; the port's own timeout bounds a stuck write.
fn serial_send(port: &mut dyn serialport::SerialPort, bytes: &[u8]) -> io::Result<()> {
    port.write_all(bytes)?;
    port.flush()
}

/// Reads what is there within `timeout`; a timeout is "nothing came", not an error.
fn serial_receive(port: &mut dyn serialport::SerialPort, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
    port.set_timeout(timeout.max(Duration::from_millis(1))).map_err(io::Error::other)?;
    match port.read(buf) {
        Ok(n) => Ok(n),
        Err(e) if matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) => Ok(0),
        Err(e) => Err(e),
    }
}

fn serial_wire_time(port: &dyn serialport::SerialPort, bytes: usize) -> Duration {
    crate::terminal::line::LineSpeed::of_port(port).map_or(Duration::ZERO, |s| s.wire_time(bytes))
}

impl Link for Box<dyn serialport::SerialPort> {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        serial_send(self.as_mut(), bytes)
    }

    fn receive(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        serial_receive(self.as_mut(), buf, timeout)
    }

    fn wire_time(&self, bytes: usize) -> Duration {
        serial_wire_time(self.as_ref(), bytes)
    }
}

impl Link for serialport::TTYPort {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        serial_send(self, bytes)
    }

    fn receive(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        serial_receive(self, buf, timeout)
    }

    fn wire_time(&self, bytes: usize) -> Duration {
        serial_wire_time(self, bytes)
    }
}

/// A serial port opened by its path and opened again after it vanished — a USB-serial adapter
/// unplugged and plugged back, a terminal's own USB port after it rebooted. While it is gone
/// every send and receive fails (the command in flight ends unknown; recovery asks the
/// terminal once it is back), and each next command tries to open it again.
pub struct ReopeningPort {
    path: std::path::PathBuf,
    baud: u32,
    port: Option<serialport::TTYPort>,
}

impl ReopeningPort {
    pub fn open(path: &std::path::Path, baud: u32) -> Result<ReopeningPort, serialport::Error> {
        let port = open_serial(path, baud)?;
        Ok(ReopeningPort { path: path.to_path_buf(), baud, port: Some(port) })
    }

    /// Whether the port is open now.
    pub fn is_open(&self) -> bool {
        self.port.is_some()
    }

    fn port(&mut self) -> io::Result<&mut serialport::TTYPort> {
        if self.port.is_none() {
            self.port = Some(open_serial(&self.path, self.baud).map_err(io::Error::other)?);
        }
        Ok(self.port.as_mut().expect("opened above"))
    }

    /// A failed read or write means the device is gone (a timeout is no failure): closed, to be
    /// opened again.
    fn check<T>(&mut self, result: io::Result<T>) -> io::Result<T> {
        if result.is_err() {
            self.port = None;
        }
        result
    }
}

impl Link for ReopeningPort {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        let sent = self.port().and_then(|p| serial_send(p, bytes));
        self.check(sent)
    }

    fn receive(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        let got = self.port().and_then(|p| serial_receive(p, buf, timeout));
        self.check(got)
    }

    fn wire_time(&self, bytes: usize) -> Duration {
        self.port.as_ref().map_or(Duration::ZERO, |p| serial_wire_time(p, bytes))
    }
}

/// How the line should misbehave, for the emulator's rehearsal scenarios: the next frames this
/// side sends can be corrupted (a CRC byte flipped) or dropped (never sent), and the next frames
/// it receives can go unacknowledged (as if the ACK were lost on the cable).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineFaults {
    /// The faults below start after this many APDUs were sent cleanly (to aim at one step).
    pub after_sends: u32,
    pub corrupt_next_sends: u32,
    pub drop_next_sends: u32,
    pub swallow_next_acks: u32,
}

pub struct SerialTransport<L: Link> {
    link: L,
    decoder: FrameDecoder,
    timers: Timers,
    /// Bytes read from the line but not yet fed to the decoder (a read can end mid-frame or hold
    /// the start of the next frame).
    inbox: std::collections::VecDeque<u8>,
    /// The last frame delivered, and how many frames this side sent since. The same frame again
    /// before this side answered is the sender's repeat after a lost ACK: acknowledged again, not
    /// delivered twice (the exchange is half-duplex: a new frame needs an answer first).
    last_delivered: Option<Vec<u8>>,
    sends_since_delivery: u32,
    /// Frames that came while this side waited for an ACK: the peer took our frame (it could
    /// not send otherwise), so they count as its acknowledgement and wait here for `receive`.
    queued: std::collections::VecDeque<Vec<u8>>,
    pub faults: LineFaults,
    /// One byte's time on the wire, asked of the link once (it asks the port's settings).
    byte_time: Option<Duration>,
    /// How many bytes the last read brought (a slow line brings them one by one).
    last_read: usize,
}

/// What the line brought.
enum Event {
    Decoded(Received),
    /// Nothing until the deadline.
    Timeout,
    /// T1 ran out mid-frame.
    Broken,
}

impl<L: Link> ApduLine for SerialTransport<L> {
    fn send(&mut self, apdu: &Apdu) -> Result<(), TransportError> {
        SerialTransport::send(self, apdu)
    }
    fn receive(&mut self, timeout: Duration) -> Result<Option<Apdu>, TransportError> {
        SerialTransport::receive(self, timeout)
    }
    fn drain(&mut self) -> Result<usize, TransportError> {
        SerialTransport::drain(self)
    }
    fn timers(&self) -> Timers {
        self.timers
    }
    fn set_timers(&mut self, timers: Timers) {
        self.timers = timers;
    }
    fn faults_mut(&mut self) -> Option<&mut LineFaults> {
        Some(&mut self.faults)
    }
}

impl<L: Link> SerialTransport<L> {
    pub fn new(link: L, timers: Timers) -> SerialTransport<L> {
        SerialTransport {
            link,
            decoder: FrameDecoder::new(),
            timers,
            inbox: Default::default(),
            last_delivered: None,
            sends_since_delivery: 0,
            queued: Default::default(),
            faults: LineFaults::default(),
            byte_time: None,
            last_read: 0,
        }
    }

    pub fn timers(&self) -> Timers {
        self.timers
    }

    pub fn set_timers(&mut self, timers: Timers) {
        self.timers = timers;
    }

    pub fn link_mut(&mut self) -> &mut L {
        &mut self.link
    }

    /// The time `bytes` take on the wire at the line's speed.
    fn wire_time(&mut self, bytes: usize) -> Duration {
        let byte = *self.byte_time.get_or_insert_with(|| self.link.wire_time(1));
        byte * u32::try_from(bytes).unwrap_or(u32::MAX)
    }

    /// The next decoder event, reading the line until `deadline` (or T1 inside a frame).
    fn next_event(&mut self, deadline: Instant) -> Result<Event, TransportError> {
        loop {
            while let Some(b) = self.inbox.pop_front() {
                if let Some(r) = self.decoder.push(b) {
                    return Ok(Event::Decoded(r));
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let in_frame = self.decoder.in_frame();
            if left.is_zero() && !in_frame {
                return Ok(Event::Timeout);
            }
            let wait = if in_frame { self.timers.t1 } else { left };
            // Inside a frame arriving byte by byte (a slow line), the rest takes its wire time:
            // wait for most of it at once rather than waking for every byte (1.15 ms apart at
            // 9600 baud). A frame that came whole (a pseudo-terminal, a USB adapter's burst)
            // is not waited for.
            let rest = self.wire_time(self.decoder.bytes_still_expected().saturating_sub(1));
            if in_frame && self.last_read <= 2 && rest >= Duration::from_millis(2) {
                std::thread::sleep(rest.min(self.timers.t1 / 2));
            }
            let mut buf = [0u8; 512];
            let n = self.link.receive(&mut buf, wait)?;
            self.last_read = n;
            if n == 0 && in_frame {
                self.decoder.reset();
                return Ok(Event::Broken);
            }
            self.inbox.extend(&buf[..n]);
        }
    }

    /// Sends one APDU and waits for its ACK, repeating after NAK or T2 as the protocol allows.
    pub fn send(&mut self, apdu: &Apdu) -> Result<(), TransportError> {
        self.sends_since_delivery += 1;
        let frame = encode_frame(&apdu.encode());
        // 06 B0 goes out while the terminal may be sending (PA00P015 rev 13.08 §2.23, the
        // collision the Read Card chapter describes): a frame of the terminal's then is its own
        // message, not a sign that it took ours.
        let unsolicited = apdu.command() == (0x06, 0xB0);
        let attempts = self.timers.repeats + 1;
        let faulty = self.faults.after_sends == 0;
        self.faults.after_sends = self.faults.after_sends.saturating_sub(1);
        for _ in 0..attempts {
            // T2 runs from the moment the frame's last byte is on the wire: a real port's flush
            // waits for that; a line that takes the bytes at once (a pseudo-terminal, a USB
            // adapter's buffer) is given the frame's wire time at the port's speed.
            let on_wire = Instant::now() + self.wire_time(frame.len());
            if !faulty {
                self.link.send(&frame)?;
            } else if self.faults.drop_next_sends > 0 {
                self.faults.drop_next_sends -= 1;
            } else if self.faults.corrupt_next_sends > 0 {
                self.faults.corrupt_next_sends -= 1;
                let mut bad = frame.clone();
                let last = bad.len() - 1;
                bad[last] ^= 0x5A;
                self.link.send(&bad)?;
            } else {
                self.link.send(&frame)?;
            }
            if self.wait_ack(on_wire, unsolicited)? {
                return Ok(());
            }
        }
        Err(TransportError::NoAck(attempts))
    }

    /// True on ACK (or a new frame from the peer, which implies it); false on NAK or T2.
    fn wait_ack(&mut self, on_wire: Instant, unsolicited: bool) -> Result<bool, TransportError> {
        let deadline = on_wire.max(Instant::now()) + self.timers.t2;
        loop {
            match self.next_event(deadline)? {
                Event::Decoded(Received::Ack) => return Ok(true),
                Event::Decoded(Received::Nak) | Event::Timeout => return Ok(false),
                Event::Decoded(Received::Frame(bytes)) => {
                    self.link.send(&[ACK])?;
                    // The peer's repeat of what we already took (our ACK was lost): drop it.
                    if self.last_delivered.as_ref() != Some(&bytes) {
                        self.queued.push_back(bytes);
                        // An answer's frame after ours shows the peer took ours (its ACK may be
                        // lost); a frame crossing an unsolicited one shows nothing: wait on.
                        if !unsolicited {
                            return Ok(true);
                        }
                    }
                }
                Event::Decoded(Received::BadCrc | Received::BadFrame) | Event::Broken => self.link.send(&[NAK])?,
            }
        }
    }

    /// Waits up to `timeout` for one APDU, acknowledging each good frame at once and NAKing bad
    /// ones (and frames broken off for longer than T1). Ok(None) when nothing came in time.
    pub fn receive(&mut self, timeout: Duration) -> Result<Option<Apdu>, TransportError> {
        if let Some(bytes) = self.queued.pop_front() {
            return self.deliver(bytes).map(Some);
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.next_event(deadline)? {
                Event::Timeout => return Ok(None),
                Event::Decoded(Received::Frame(bytes)) => {
                    if self.faults.swallow_next_acks > 0 {
                        // Rehearsal: the ACK is "lost on the cable".
                        self.faults.swallow_next_acks -= 1;
                    } else {
                        self.link.send(&[ACK])?;
                    }
                    if self.sends_since_delivery == 0 && self.last_delivered.as_ref() == Some(&bytes) {
                        continue;
                    }
                    return self.deliver(bytes).map(Some);
                }
                Event::Decoded(Received::BadCrc | Received::BadFrame) | Event::Broken => self.link.send(&[NAK])?,
                Event::Decoded(Received::Ack | Received::Nak) => {}
            }
        }
    }

    /// Takes (and acknowledges) whatever the peer still had to say about an exchange that is
    /// over — a terminal's repeated abort after a till went quiet — so it is not taken for the
    /// answer to the next command. Returns how many frames were dropped.
    pub fn drain(&mut self) -> Result<usize, TransportError> {
        self.queued.clear();
        let mut dropped = 0;
        while self.receive(Duration::from_millis(5))?.is_some() {
            dropped += 1;
        }
        self.last_delivered = None;
        Ok(dropped)
    }

    fn deliver(&mut self, bytes: Vec<u8>) -> Result<Apdu, TransportError> {
        self.sends_since_delivery = 0;
        let apdu = Apdu::decode(&bytes);
        self.last_delivered = Some(bytes);
        Ok(apdu?)
    }
}

/// ZVT over TCP (port 20007 by default): APDUs back to back, no framing, no ACK/NAK bytes
/// (TCP already delivers them whole and in order).
pub struct TcpTransport {
    /// Where the terminal listens: the connection is made again from here after the terminal
    /// rebooted, dropped an idle connection, or the till closed it after a timeout.
    addr: std::net::SocketAddr,
    /// None while closed: the next send connects anew.
    stream: Option<std::net::TcpStream>,
    timers: Timers,
    inbox: Vec<u8>,
}

impl TcpTransport {
    pub fn new(stream: std::net::TcpStream, timers: Timers) -> io::Result<TcpTransport> {
        stream.set_nodelay(true)?;
        Ok(TcpTransport { addr: stream.peer_addr()?, stream: Some(stream), timers, inbox: Vec::new() })
    }

    /// Connects to `addr` ("host:port"), giving up after T3 (not the system's minutes).
    pub fn connect(addr: &str, timers: Timers) -> io::Result<TcpTransport> {
        use std::net::ToSocketAddrs;
        let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{addr}: no address"));
        for a in addr.to_socket_addrs()? {
            match std::net::TcpStream::connect_timeout(&a, timers.t3) {
                Ok(stream) => return TcpTransport::new(stream, timers),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// The open connection, or a new one to the same address.
    fn stream(&mut self) -> io::Result<&mut std::net::TcpStream> {
        if self.stream.is_none() {
            let stream = std::net::TcpStream::connect_timeout(&self.addr, self.timers.t3)?;
            stream.set_nodelay(true)?;
            self.inbox.clear();
            self.stream = Some(stream);
        }
        Ok(self.stream.as_mut().expect("connected above"))
    }

    /// Closes the connection (PA00P016 §5.2.5: after a timeout the socket is closed and the
    /// next command opens it again).
    pub fn close(&mut self) {
        if let Some(s) = self.stream.take() {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        self.inbox.clear();
    }

    /// Whether a connection is open now.
    pub fn is_open(&self) -> bool {
        self.stream.is_some()
    }

    /// The length of the first whole APDU in the inbox, if there is one.
    fn whole(&self) -> Option<usize> {
        let b = &self.inbox;
        if b.len() < 3 {
            return None;
        }
        let total = if b[2] == 0xFF {
            if b.len() < 5 {
                return None;
            }
            5 + usize::from(u16::from_le_bytes([b[3], b[4]]))
        } else {
            3 + usize::from(b[2])
        };
        (b.len() >= total).then_some(total)
    }
}

impl ApduLine for TcpTransport {
    /// Writes the APDU (a write is no acknowledgement: the terminal's 80 00 00 is). A broken
    /// connection is closed, to be opened again by the next command.
    fn send(&mut self, apdu: &Apdu) -> Result<(), TransportError> {
        let written = self.stream().and_then(|s| s.write_all(&apdu.encode()));
        if written.is_err() {
            self.close();
        }
        Ok(written?)
    }

    fn receive(&mut self, timeout: Duration) -> Result<Option<Apdu>, TransportError> {
        let got = self.receive_open(timeout);
        if matches!(got, Err(TransportError::Io(_))) {
            self.close();
        }
        got
    }

    fn drain(&mut self) -> Result<usize, TransportError> {
        if self.stream.is_none() {
            return Ok(0);
        }
        let mut dropped = 0;
        while self.receive(Duration::from_millis(5))?.is_some() {
            dropped += 1;
        }
        Ok(dropped)
    }

    fn timers(&self) -> Timers {
        self.timers
    }

    fn set_timers(&mut self, timers: Timers) {
        self.timers = timers;
    }

    fn close_after_timeout(&mut self) {
        self.close();
    }
}

impl TcpTransport {
    fn receive_open(&mut self, timeout: Duration) -> Result<Option<Apdu>, TransportError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(n) = self.whole() {
                let bytes: Vec<u8> = self.inbox.drain(..n).collect();
                return Ok(Some(Apdu::decode(&bytes)?));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let Some(stream) = self.stream.as_mut() else {
                return Err(io::Error::new(io::ErrorKind::NotConnected, "no connection to the terminal").into());
            };
            stream.set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
            let mut buf = [0u8; 1024];
            match stream.read(&mut buf) {
                Ok(0) => {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the peer closed the connection").into());
                }
                Ok(n) => self.inbox.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Opens a PIN pad's serial port as ZVT wants it: 8N2 at `baud` (9600 by default), short read
/// timeouts, DTR and RTS up where the port has them.
pub fn open_serial(path: &std::path::Path, baud: u32) -> Result<serialport::TTYPort, serialport::Error> {
    use serialport::SerialPort;
    let mut port = serialport::new(path.to_string_lossy(), baud)
        .data_bits(serialport::DataBits::Eight)
        .parity(serialport::Parity::None)
        .stop_bits(serialport::StopBits::Two)
        .timeout(Duration::from_millis(100))
        .open_native()?;
    port.clear(serialport::ClearBuffer::All)?;
    // Some terminals want DTR/RTS up; a pseudo-terminal refuses the ioctl: best effort.
    let _ = port.write_data_terminal_ready(true);
    let _ = port.write_request_to_send(true);
    Ok(port)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terminal::zvt::messages;

    fn pair(timers: Timers) -> (SerialTransport<serialport::TTYPort>, SerialTransport<serialport::TTYPort>) {
        let (a, b) = serialport::TTYPort::pair().expect("pseudo-terminal pair");
        (SerialTransport::new(a, timers), SerialTransport::new(b, timers))
    }

    fn fast() -> Timers {
        Timers { t2: Duration::from_millis(300), ..Timers::default() }
    }

    #[test]
    fn apdus_cross_a_pty_both_ways() {
        let (mut ecr, mut pt) = pair(fast());
        let peer = std::thread::spawn(move || {
            let got = pt.receive(Duration::from_secs(2)).unwrap().unwrap();
            pt.send(&messages::ack()).unwrap();
            (got, pt)
        });
        ecr.send(&messages::authorization(1010, Some(978))).unwrap();
        let answer = ecr.receive(Duration::from_secs(2)).unwrap().unwrap();
        assert_eq!(answer, messages::ack());
        assert_eq!(peer.join().unwrap().0, messages::authorization(1010, Some(978)));
    }

    #[test]
    fn a_corrupted_frame_is_nakked_and_repeated() {
        let (mut ecr, mut pt) = pair(fast());
        ecr.faults.corrupt_next_sends = 2;
        // The peer hands its end back, so the line stays open until both sides are done.
        let peer = std::thread::spawn(move || (pt.receive(Duration::from_secs(3)).unwrap(), pt));
        ecr.send(&messages::diagnosis()).unwrap();
        assert_eq!(peer.join().unwrap().0, Some(messages::diagnosis()));
    }

    #[test]
    fn three_bad_attempts_are_a_transmission_error() {
        let (mut ecr, mut pt) = pair(fast());
        ecr.faults.corrupt_next_sends = 3;
        let peer = std::thread::spawn(move || (pt.receive(Duration::from_secs(2)).unwrap(), pt));
        assert!(matches!(ecr.send(&messages::diagnosis()), Err(TransportError::NoAck(3))));
        assert_eq!(peer.join().unwrap().0, None);
    }

    #[test]
    fn a_lost_ack_delivers_once() {
        let (mut ecr, mut pt) = pair(fast());
        pt.faults.swallow_next_acks = 1;
        let peer = std::thread::spawn(move || {
            let first = pt.receive(Duration::from_secs(2)).unwrap();
            // The repeat (after the ECR's T2) is acknowledged but not delivered again.
            let second = pt.receive(Duration::from_millis(800)).unwrap();
            (first, second, pt)
        });
        ecr.send(&messages::log_off()).unwrap();
        let (first, second, _pt) = peer.join().unwrap();
        assert_eq!(first, Some(messages::log_off()));
        assert_eq!(second, None);
    }

    #[test]
    fn a_dropped_frame_is_repeated_after_t2() {
        let (mut ecr, mut pt) = pair(fast());
        ecr.faults.drop_next_sends = 1;
        let started = Instant::now();
        let peer = std::thread::spawn(move || (pt.receive(Duration::from_secs(3)).unwrap(), pt));
        ecr.send(&messages::abort()).unwrap();
        assert_eq!(peer.join().unwrap().0, Some(messages::abort()));
        assert!(started.elapsed() >= fast().t2);
    }
}
