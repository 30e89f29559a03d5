//! A serial line at its real speed, for rehearsals, benchmarks and tests: two pseudo-terminal
//! pairs with a carrier between them that delivers each byte when a UART at the given speed
//! would (9600 baud 8N2, the ZVT line: 11 bits, about 1.15 ms a byte), in order and one
//! direction independent of the other — and, on demand, flips bits (noise) or drops everything
//! (the cable unplugged). Both ends are real serial ports to the code on them (`TTYPort`), set to
//! the simulated speed, so a transport computes the same wire time a real port has.
//!
//! Pseudo-terminals alone move bytes at memory speed: a 1,000-byte print block arrives at once,
//! and a timer that starts when a frame was written, not when it was on the wire, can never be
//! seen firing early. Through this line it takes its 1.15 s.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serialport::{SerialPort, StopBits, TTYPort};

/// How fast the line carries bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineSpeed {
    pub baud: u32,
    /// Start bit, data bits, parity and stop bits.
    pub bits_per_byte: u32,
}

impl LineSpeed {
    /// ZVT over RS-232: 9600 baud, 8 data bits, no parity, 2 stop bits (PA00P016 §2.1).
    pub const ZVT: LineSpeed = LineSpeed { baud: 9600, bits_per_byte: 11 };

    /// The time one byte takes on the wire.
    pub fn byte_time(&self) -> Duration {
        self.wire_time(1)
    }

    /// The time `bytes` take on the wire, back to back.
    pub fn wire_time(&self, bytes: usize) -> Duration {
        let bits = bytes as u64 * u64::from(self.bits_per_byte);
        Duration::from_nanos(bits * 1_000_000_000 / u64::from(self.baud.max(1)))
    }

    /// The speed a serial port is set to (its baud rate and framing).
    pub fn of_port(port: &dyn SerialPort) -> Option<LineSpeed> {
        let baud = port.baud_rate().ok()?;
        let data = match port.data_bits().ok()? {
            serialport::DataBits::Five => 5,
            serialport::DataBits::Six => 6,
            serialport::DataBits::Seven => 7,
            serialport::DataBits::Eight => 8,
        };
        let parity = u32::from(port.parity().ok()? != serialport::Parity::None);
        let stop = if port.stop_bits().ok()? == StopBits::Two { 2 } else { 1 };
        Some(LineSpeed { baud, bits_per_byte: 1 + data + parity + stop })
    }
}

/// What a rehearsal can do to the line while it runs; clones share the line.
#[derive(Debug, Clone, Default)]
pub struct LineControl {
    unplugged: Arc<AtomicBool>,
    /// One byte in this many gets a bit flipped; 0: no noise.
    noise_one_in: Arc<AtomicU32>,
    /// Bytes delivered: towards the terminal, towards the till.
    carried: Arc<[AtomicU64; 2]>,
    /// When the last byte reached the till, if it has not answered since.
    waiting_for_till: Arc<std::sync::Mutex<Option<Instant>>>,
    /// The till's response times in all, in nanoseconds: from the last byte it got to the
    /// first byte of its answer.
    till_ns: Arc<AtomicU64>,
}

impl LineControl {
    /// From now on nothing passes, either way (bytes on the wire are lost).
    pub fn unplug(&self) {
        self.unplugged.store(true, Ordering::SeqCst);
    }

    pub fn plug_in(&self) {
        self.unplugged.store(false, Ordering::SeqCst);
    }

    /// One byte in `one_in` gets one bit flipped (0: a clean line).
    pub fn set_noise(&self, one_in: u32) {
        self.noise_one_in.store(one_in, Ordering::SeqCst);
    }

    /// The till's own time on this line so far: each time, from the last byte it received to
    /// the first byte of its answer (an ACK, a command) — what it adds to the wire time.
    pub fn till_time(&self) -> Duration {
        Duration::from_nanos(self.till_ns.load(Ordering::SeqCst))
    }

    /// Bytes delivered so far: (to the terminal, to the till).
    pub fn carried(&self) -> (u64, u64) {
        (self.carried[0].load(Ordering::SeqCst), self.carried[1].load(Ordering::SeqCst))
    }
}

/// The line itself: the carrier threads run until it is dropped.
pub struct SimulatedLine {
    pub control: LineControl,
    pub speed: LineSpeed,
    stop: Arc<AtomicBool>,
    carriers: Vec<JoinHandle<()>>,
}

impl SimulatedLine {
    /// A line at `speed`: returns the till's end, the terminal's end and the line.
    pub fn open(speed: LineSpeed) -> std::io::Result<(TTYPort, TTYPort, SimulatedLine)> {
        let (mut till_end, till_side) = TTYPort::pair().map_err(std::io::Error::other)?;
        let (terminal_side, mut terminal_end) = TTYPort::pair().map_err(std::io::Error::other)?;
        for end in [&mut till_end, &mut terminal_end] {
            // What the ends are told the line is: their transports compute wire times from it.
            // A pseudo-terminal takes the setting as a real port does.
            let _ = end.set_baud_rate(speed.baud);
            let _ = end.set_stop_bits(if speed.bits_per_byte >= 11 { StopBits::Two } else { StopBits::One });
        }
        let control = LineControl::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (a_in, a_out) = (till_side.try_clone_native().map_err(std::io::Error::other)?, till_side);
        let (b_in, b_out) = (terminal_side.try_clone_native().map_err(std::io::Error::other)?, terminal_side);
        let carriers = vec![
            carrier(a_in, b_out, speed, control.clone(), TO_TERMINAL, stop.clone()),
            carrier(b_in, a_out, speed, control.clone(), TO_TILL, stop.clone()),
        ];
        Ok((till_end, terminal_end, SimulatedLine { control, speed, stop, carriers }))
    }
}

impl Drop for SimulatedLine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for c in self.carriers.drain(..) {
            let _ = c.join();
        }
    }
}

/// The carriers' directions (indexes of `LineControl::carried`).
const TO_TERMINAL: usize = 0;
const TO_TILL: usize = 1;

/// The end of a byte's wait spent spinning, not sleeping.
const SPIN: Duration = Duration::from_micros(200);

/// Carries bytes from `from` to `to`: each leaves when the previous one has (a UART sends one
/// at a time) and arrives a byte time later.
fn carrier(
    mut from: TTYPort,
    mut to: TTYPort,
    speed: LineSpeed,
    control: LineControl,
    direction: usize,
    stop: Arc<AtomicBool>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let _ = from.set_timeout(Duration::from_millis(1));
        let byte_time = speed.byte_time();
        let mut free_at = Instant::now();
        // A fixed seed per direction: a noisy rehearsal is the same every time.
        let mut rng: u64 = 0x9E37_79B9_7F4A_7C15 ^ direction as u64;
        let mut buf = [0u8; 256];
        while !stop.load(Ordering::SeqCst) {
            let n = match from.read(&mut buf) {
                Ok(n) => n,
                Err(e) if matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) => 0,
                Err(_) => break,
            };
            let now = Instant::now();
            if n > 0 && direction == TO_TERMINAL {
                let waited = control.waiting_for_till.lock().map(|mut w| w.take()).unwrap_or_default();
                if let Some(since) = waited {
                    let took = now.saturating_duration_since(since).as_nanos() as u64;
                    control.till_ns.fetch_add(took, Ordering::SeqCst);
                }
            }
            free_at = free_at.max(now);
            for &byte in &buf[..n] {
                free_at += byte_time;
                // Sleep most of the wait, then spin: a sleep alone wakes up to 0.1 ms late, and
                // a frame's last byte late is time nobody on the line spent.
                let wait = free_at.saturating_duration_since(Instant::now());
                if wait > SPIN {
                    std::thread::sleep(wait - SPIN);
                }
                while Instant::now() < free_at {
                    std::hint::spin_loop();
                }
                if control.unplugged.load(Ordering::SeqCst) {
                    continue;
                }
                let mut byte = byte;
                let one_in = control.noise_one_in.load(Ordering::SeqCst);
                if one_in > 0 {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    if rng.is_multiple_of(u64::from(one_in)) {
                        byte ^= 1 << ((rng >> 32) % 8);
                    }
                }
                // Counted and timed before it is written: whoever has read the byte sees it
                // counted (a line that fails the write is dead anyway).
                control.carried[direction].fetch_add(1, Ordering::SeqCst);
                if direction == TO_TILL
                    && let Ok(mut w) = control.waiting_for_till.lock()
                {
                    *w = Some(Instant::now());
                }
                if to.write_all(&[byte]).is_err() {
                    return;
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_at_9600_8n2_takes_eleven_bit_times() {
        assert_eq!(LineSpeed::ZVT.byte_time(), Duration::from_nanos(1_145_833));
        assert_eq!(LineSpeed::ZVT.wire_time(1000), Duration::from_nanos(1_145_833_333));
    }

    #[test]
    fn bytes_arrive_at_the_lines_speed_in_order_and_not_while_unplugged() {
        let (mut till, mut terminal, line) = SimulatedLine::open(LineSpeed::ZVT).unwrap();
        assert_eq!(LineSpeed::of_port(&till), Some(LineSpeed::ZVT), "the ends know the line's speed");
        terminal.set_timeout(Duration::from_millis(50)).unwrap();
        let sent: Vec<u8> = (0..200u8).collect();
        let started = Instant::now();
        till.write_all(&sent).unwrap();
        let mut got: Vec<u8> = Vec::new();
        let mut buf = [0u8; 64];
        while got.len() < sent.len() && started.elapsed() < Duration::from_secs(2) {
            if let Ok(n) = terminal.read(&mut buf) {
                got.extend(&buf[..n]);
            }
        }
        let took = started.elapsed();
        assert_eq!(got, sent);
        assert!(took >= LineSpeed::ZVT.wire_time(200), "{took:?}");
        assert_eq!(line.control.carried(), (200, 0));
        line.control.unplug();
        terminal.write_all(b"lost").unwrap();
        std::thread::sleep(LineSpeed::ZVT.wire_time(10));
        till.set_timeout(Duration::from_millis(20)).unwrap();
        assert!(till.read(&mut buf).is_err(), "nothing passes an unplugged line");
    }
}
