//! The PIN pad (card terminal). Only this module knows ZVT bytes.
//!
//! `zvt` speaks the protocol: frames on the serial line (`frame`), APDUs and their fields
//! (`apdu`), and the messages of a payment (`messages`). The session, the `PaymentTerminal`
//! interface the sale uses, and the terminal emulator build on these.

pub mod zvt;
