//! The receipt printer. Only this module knows ESC/POS bytes.
//!
//! So far: `receipt` (a receipt as data, from a posted sale, in the receipt's language) and
//! `layout` (that data laid out for 58 mm or 80 mm paper by display width). The ESC/POS encoding,
//! the serial and device-file drivers, printer status and the printer emulator come next (issue 4).

pub mod layout;
pub mod receipt;
