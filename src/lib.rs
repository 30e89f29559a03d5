//! till — a desktop cashier (收银台). See ARCHITECTURE.md for the map of the house.

rust_i18n::i18n!("locales", fallback = "en");

pub mod admin;
pub mod auth;
pub mod card;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod counter;
pub mod dayclose;
pub mod demo;
pub mod fonts;
pub mod ledger;
pub mod locale_fmt;
pub mod log;
pub mod money;
pub mod print_queue;
pub mod printer;
pub mod resume;
pub mod sale;
pub mod setup;
pub mod simulate;
pub mod soak;
pub mod store;
pub mod terminal;
pub mod ui;
