//! The receipt printer. Only this module knows ESC/POS bytes.
//!
//! So far: `receipt` (a receipt as data, from a posted sale, in the receipt's language),
//! `layout` (that data laid out for 58 mm or 80 mm paper by display width), `escpos` (the layout
//! as ESC/POS bytes: Chinese mode with GB18030, or code page 858 with visible `?`), and the
//! emulator's `Decoder` (bytes back to what the paper shows, status answers by paper sensor).
//! Still to come with issue 4: the serial and device-file drivers, status before and after each
//! job, the job queue in the ledger, the drawer, `till emulate printer`, PNG rendering, `till print`.

pub mod driver;
pub mod emulator;
pub mod escpos;
pub mod layout;
pub mod logo;
pub mod profile;
pub mod receipt;
pub mod render;
