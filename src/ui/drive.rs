//! The counter driven headless through its own messages and workers (`till drive`, hidden): the
//! kill soak's second till. The same `Till` the window runs — the same card path, the same sale in
//! progress, posting and printing on the same workers — with a scripted cashier: sign in, scan a
//! few products, pay by card (or in cash), and at start finish what a killed run left (complete a
//! paid sale brought back, pay the rest of an open one).

use std::sync::{Arc, Mutex};

use iced::futures::executor::block_on_stream;

use super::devices::{Devices, PrinterDevice, TerminalDevice};
use super::workers::Worker;
use super::{CardState, Job, Message, Screen, Till};
use crate::config::{self, StoreSettings};
use crate::counter::Counter;
use crate::ledger::Ledger;
use crate::sale::SaleState;
use crate::simulate::Rng;
use crate::terminal::zvt::session::Session;
use crate::terminal::zvt::transport::{SerialTransport, Timers, open_serial};
use crate::terminal::{ExpectedIdentity, PaymentTerminal, ZvtTerminal};

/// Applies a message and everything the jobs it started send back, as iced would.
fn send(till: &mut Till, message: Message) {
    let jobs = till.handle(message);
    drain(till, jobs);
}

fn drain(till: &mut Till, jobs: Vec<Job>) {
    for job in jobs {
        for message in block_on_stream(job) {
            send(till, message);
        }
    }
}

/// Opens the counter on `data_dir` with the PIN pad and the printer on these serial ports.
fn open(data_dir: &std::path::Path, terminal_port: &str, printer_spec: &str) -> Result<Till, String> {
    // The soak's printer emulator plays an Epson TM-T20, which confirms each job (GS ( H).
    let model = crate::printer::profile::Profile::by_id("epson-tm-t20");
    let store =
        StoreSettings { printer_model: model.unwrap_or(StoreSettings::demo().printer_model), ..StoreSettings::demo() };
    let mut ledger =
        Ledger::open(&config::ledger_path(data_dir), &store.register, store.currency).map_err(|e| e.localized("en"))?;
    let catalog = Arc::new(crate::demo::load_catalog(&mut ledger, &store, true).map_err(|e| e.to_string())?);
    let shared = Arc::new(Mutex::new(ledger));
    let port = open_serial(std::path::Path::new(terminal_port), 9600).map_err(|e| e.to_string())?;
    let zvt = ZvtTerminal::new(
        Session::new(SerialTransport::new(port, Timers::default())),
        123456,
        store.currency.numeric,
        ExpectedIdentity::default(),
    );
    let abort = zvt.abort_handle();
    let printer = crate::printer::driver::open_spec(printer_spec, store.printer_model).map_err(|e| e.to_string())?;
    let devices = Devices {
        ledger: Worker::spawn("ledger", shared.clone()).map_err(|e| e.to_string())?,
        shared,
        catalog: catalog.clone(),
        terminal: Some(Worker::spawn("terminal", TerminalDevice::zvt(zvt, None)).map_err(|e| e.to_string())?),
        abort: Some(abort),
        printer: Some(Worker::spawn("printer", PrinterDevice::new(printer)).map_err(|e| e.to_string())?),
        training: None,
    };
    let counter = Counter::new(store, catalog);
    let users = crate::auth::demo_users();
    Ok(Till::new("en", true, counter, users, devices))
}

/// Rings up `sales` sales at the counter (share `card` paid by card). Stops with an error when a
/// card payment's outcome stays unknown (a manager must settle it) or the ledger refuses.
pub fn drive(
    data_dir: &std::path::Path,
    terminal_port: &str,
    printer_spec: &str,
    sales: u32,
    card: f64,
    seed: u64,
) -> Result<u32, String> {
    let mut till = open(data_dir, terminal_port, printer_spec)?;
    let jobs = till.start();
    drain(&mut till, jobs);
    // The scripted cashier signs in (her PIN was checked at the counter; the driver is her).
    let cashier = till.users[0].clone();
    till.counter.sign_in(cashier);
    till.screen = Screen::Sale;
    let mut rng = Rng::new(seed);
    let mut done = 0;
    // What a killed run left: finish it first.
    finish(&mut till, &mut rng, card)?;
    if till.counter.in_progress().is_some() || !till.counter.sale().lines().is_empty() {
        return Err("a sale in progress could not be finished".into());
    }
    let products = till.counter.catalog().products().len() as u64;
    for _ in 0..sales {
        for _ in 0..rng.range(1, 4) {
            let sku = till.counter.catalog().products()[rng.range(0, products - 1) as usize].sku.to_string();
            send(&mut till, Message::Sale(super::sale::Msg::AddSku(sku)));
            if till.weighing.is_some() {
                // Sold by weight: the cashier types what the scale shows.
                let grams = rng.range(100, 2500);
                send(
                    &mut till,
                    Message::Sale(super::sale::Msg::ScanChanged(format!("{}.{:03}", grams / 1000, grams % 1000))),
                );
                send(&mut till, Message::Sale(super::sale::Msg::ScanSubmitted));
            }
        }
        send(&mut till, Message::Sale(super::sale::Msg::Pay));
        finish(&mut till, &mut rng, card)?;
        done += 1;
    }
    if !till.posting.is_empty() {
        return Err(format!("{} sales not posted", till.posting.len()));
    }
    Ok(done)
}

/// Pays and posts the current sale whatever state it is in.
fn finish(till: &mut Till, rng: &mut Rng, card: f64) -> Result<(), String> {
    for _ in 0..4 {
        match till.counter.sale().state() {
            SaleState::Open if till.counter.sale().lines().is_empty() => return Ok(()),
            SaleState::Open => send(till, Message::Sale(super::sale::Msg::Pay)),
            SaleState::Paid => send(till, Message::Payment(super::payment::Msg::CompleteSale)),
            SaleState::Tendering if till.card == CardState::Unknown => {
                send(till, Message::Payment(super::payment::Msg::Recover));
                if till.card == CardState::Unknown {
                    return Err("a card payment's outcome is unknown: a manager must settle it".into());
                }
            }
            SaleState::Tendering => {
                if (rng.next_u64() % 10_000) < (card * 10_000.0) as u64 {
                    send(till, Message::Payment(super::payment::Msg::Card));
                }
                if till.counter.sale().state() == SaleState::Tendering && till.card == CardState::Idle {
                    send(till, Message::Payment(super::payment::Msg::Cash(None)));
                }
            }
            other => return Err(format!("the sale is {other:?}")),
        }
        if let Some(super::Notice::Error(e)) = &till.notice
            && !till.posting.is_empty()
        {
            return Err(e.clone());
        }
    }
    if till.counter.sale().lines().is_empty() { Ok(()) } else { Err("the sale did not finish".into()) }
}
