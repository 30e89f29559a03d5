//! The kill soak (`till soak`, `scripts/soak KILLS`): the proof that no customer is charged
//! without a sale and none twice. The terminal emulator runs as its own process with its batch on
//! disk (and the printer emulator beside it); `till simulate` with card payments and the counter
//! driven headless through its own workers (`till drive`) are started in turn, again and again,
//! and killed with SIGKILL at a random instant (20 ms to 1.5 s in: inside the ZVT exchange,
//! between the approval and the post, while printing); between kills the line to the
//! terminal is given a fault (corrupt, drop, lost ACK, answer lost, silence). Each restart
//! recovers by itself where the terminal can tell. At the end one clean run finishes what is
//! left; an intent the terminal cannot tell is settled as a manager would, from the terminal's
//! own journal (its batch file), and counted. Then the terminal's batch must equal the ledger's
//! card payments of posted sales, count for count and to the cent, and the ledger must verify.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::ledger::{Ledger, card_outcome};
use crate::simulate::Rng;
use crate::terminal::emulator::EmulatorState;

/// What a soak did and found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub kills: u32,
    /// Runs that ended by themselves before their kill, with the reason they gave (an open card
    /// payment the terminal could not tell yet, say): counted, the soak goes on.
    pub ended_early: u32,
    pub early_reasons: BTreeMap<String, u32>,
    pub sales: i64,
    pub card_payments: i64,
    pub card_total_minor: i64,
    pub terminal_count: i64,
    pub terminal_total_minor: i64,
    /// Intents recovery settled with the terminal's own answer.
    pub recovered: i64,
    /// Intents the terminal could not tell, settled by the (scripted) manager from its journal.
    pub settled_by_manager: usize,
    /// Terminal bookings no posted sale carries.
    pub charged_without_sale: usize,
    /// Terminal bookings carried by more than one sale.
    pub charged_twice: usize,
    /// Payments the terminal reversed by itself because the till's mirrored transaction id
    /// (TLV 1F1F, PA00P015 §4.2) showed the ledger did not hold them: the money came right, but
    /// only because this terminal offers the synchronisation; the till's ledger was wrong.
    pub reversed_by_synchronisation: u32,
    /// `ledger verify`'s problems, in words.
    pub problems: Vec<String>,
}

impl Report {
    pub fn holds(&self) -> bool {
        self.problems.is_empty()
            && self.charged_without_sale == 0
            && self.charged_twice == 0
            && self.reversed_by_synchronisation == 0
            && self.card_payments == self.terminal_count
            && self.card_total_minor == self.terminal_total_minor
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "kills: {}", self.kills)?;
        writeln!(f, "runs that stopped by themselves before their kill: {}", self.ended_early)?;
        for (reason, n) in &self.early_reasons {
            writeln!(f, "  {n} × {reason}")?;
        }
        writeln!(f, "sales posted: {}", self.sales)?;
        writeln!(f, "card payments in the ledger: {} = {}", self.card_payments, minor(self.card_total_minor))?;
        writeln!(f, "terminal batch: {} = {}", self.terminal_count, minor(self.terminal_total_minor))?;
        writeln!(f, "unknowns recovered with the terminal: {}", self.recovered)?;
        writeln!(f, "unknowns settled by a manager: {}", self.settled_by_manager)?;
        writeln!(f, "charged without a sale: {}", self.charged_without_sale)?;
        writeln!(f, "charged twice: {}", self.charged_twice)?;
        writeln!(f, "reversed by the terminal's synchronisation (1F1F): {}", self.reversed_by_synchronisation)?;
        writeln!(
            f,
            "ledger verify: {}",
            if self.problems.is_empty() { "sound".to_string() } else { self.problems.join("; ") }
        )?;
        write!(f, "{}", if self.holds() { "HOLDS" } else { "BROKEN" })
    }
}

fn minor(m: i64) -> String {
    format!("{}.{:02}", m / 100, (m % 100).abs())
}

struct Emulator {
    child: Child,
    port: String,
    control: std::process::ChildStdin,
}

impl Emulator {
    fn start(exe: &Path, args: &[&str]) -> std::io::Result<Emulator> {
        let mut child =
            Command::new(exe).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn()?;
        let mut line = String::new();
        let stdout = child.stdout.take().ok_or_else(|| std::io::Error::other("no stdout"))?;
        let mut reader = BufReader::new(stdout);
        reader.read_line(&mut line)?;
        // Keep draining what it prints (the printer prints every receipt) so it never blocks.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while reader.read_line(&mut sink).is_ok_and(|n| n > 0) {
                sink.clear();
            }
        });
        let control = child.stdin.take().ok_or_else(|| std::io::Error::other("no stdin"))?;
        Ok(Emulator { child, port: line.trim().to_string(), control })
    }

    fn tell(&mut self, line: &str) {
        let _ = writeln!(self.control, "{line}");
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the soak in `dir` (created; its `data` holds the ledger, `pt.state` the terminal's batch).
pub fn run(exe: &Path, dir: &Path, kills: u32, seed: u64, mut progress: impl FnMut(&str)) -> std::io::Result<Report> {
    std::fs::create_dir_all(dir)?;
    let data = dir.join("data");
    let state = dir.join("pt.state");
    let state_arg = state.to_string_lossy().to_string();
    let mut pt = Emulator::start(exe, &["emulate", "terminal", "--pty", "--state", &state_arg])?;
    let printer = Emulator::start(exe, &["emulate", "printer", "--pty", "--model", "epson-tm-t20"])?;
    let mut rng = Rng::new(seed);
    let (pt_port, printer_port) = (pt.port.clone(), printer.port.clone());
    // Even runs: `till simulate`; odd runs: the counter, headless.
    let till_run = |counter: bool, seed: u64, sales: u32| -> std::io::Result<Child> {
        let mut cmd = Command::new(exe);
        if counter {
            cmd.args(["drive", "--sales", &sales.to_string(), "--seed", &seed.to_string()])
                .args(["--terminal", &pt_port])
                .arg("--printer")
                .arg(format!("serial:{printer_port}"));
        } else {
            cmd.args(["simulate", "--sales", &sales.to_string(), "--card-share", "0.8", "--seed", &seed.to_string()])
                .arg("--terminal")
                .arg(format!("serial:{pt_port}"))
                .arg("--printer")
                .arg(format!("serial:{printer_port}"))
                .args(["--printer-model", "epson-tm-t20"]);
        }
        cmd.arg("--data-dir").arg(&data).args(["--lang", "en"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn()
    };
    let mut report = Report::default();
    let mut stuck = false;
    for n in 0..kills {
        let mut child = till_run(n % 2 == 1, seed.wrapping_mul(1000) + u64::from(n), 40)?;
        let at = Duration::from_millis(rng.range(20, 1500));
        let started = Instant::now();
        let mut ended = None;
        while started.elapsed() < at {
            if let Some(status) = child.try_wait()? {
                ended = Some(status);
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = child.kill(); // SIGKILL: no clean-up of any kind
        let _ = child.wait();
        if ended.is_some_and(|s| !s.success()) {
            let mut reason = String::new();
            if let Some(mut err) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut err, &mut reason);
            }
            let reason: String = reason.lines().next().unwrap_or("").chars().filter(|c| !c.is_ascii_digit()).collect();
            report.ended_early += 1;
            *report.early_reasons.entry(reason).or_default() += 1;
            // It stopped on a card payment still open. The next start asks the terminal again
            // (as the cashier's "Check with terminal" would); stopped on it twice running, it
            // is one the terminal cannot tell: the manager settles it from the terminal's journal,
            // as a shop would, and the soak goes on.
            let open_now =
                !open(&data)?.open_card_intents().map_err(|e| std::io::Error::other(e.to_string()))?.is_empty();
            if open_now && stuck {
                report.settled_by_manager += settle_from_journal(&data, &state)?;
                stuck = false;
            } else {
                stuck = open_now;
            }
        } else {
            stuck = false;
        }
        report.kills += 1;
        // The line acts up before the next start (or not).
        pt.tell("approve");
        match rng.range(0, 9) {
            0 => pt.tell("corrupt 1"),
            1 => pt.tell("drop 1"),
            2 => pt.tell("lost-ack 1"),
            3 => pt.tell("answer-lost"),
            4 => pt.tell("silent"),
            _ => {}
        }
        if n % 10 == 9 {
            progress(&format!("{} kills", n + 1));
        }
    }
    // A clean run finishes what the kills left. Where the terminal cannot tell, a manager settles
    // by its journal: the batch on disk.
    pt.tell("approve");
    std::thread::sleep(Duration::from_millis(200));
    for counter in [false, true] {
        for _ in 0..3 {
            let status = till_run(counter, seed.wrapping_mul(1000) + 999, 3)?.wait()?;
            if status.success() {
                break;
            }
            report.settled_by_manager += settle_from_journal(&data, &state)?;
        }
    }
    drop(pt);
    drop(printer);
    check(&data, &state, &mut report)?;
    Ok(report)
}

/// The manager's last resort, scripted: each open intent settled by the terminal's journal.
fn settle_from_journal(data: &Path, state: &Path) -> std::io::Result<usize> {
    let io = |e: &dyn std::fmt::Display| std::io::Error::other(e.to_string());
    let mut ledger = open(data)?;
    let batch = EmulatorState::load(state)?.batch;
    let manager = crate::auth::User::new(
        "soak-manager",
        "Soak manager",
        crate::auth::Role::Manager,
        crate::auth::hash_pin("2468").map_err(|e| io(&e))?,
    );
    let approval = crate::auth::approve(&manager, "2468", crate::auth::Permission::Settlement).map_err(|e| io(&e))?;
    let open_intents = ledger.open_card_intents().map_err(|e| io(&e))?;
    let results = ledger.card_results().map_err(|e| io(&e))?;
    for intent in &open_intents {
        let stored = results.iter().rev().find(|r| r.intent_id == intent.intent_id && r.receipt_no.is_some());
        let booked = stored.and_then(|r| {
            batch.iter().find(|e| Some(i64::from(e.receipt_no)) == r.receipt_no && Some(i64::from(e.trace)) == r.trace)
        });
        let evidence = match booked {
            Some(e) => crate::card::Evidence::Booked { receipt_no: e.receipt_no, trace: Some(e.trace) },
            None => crate::card::Evidence::NotBooked,
        };
        crate::card::settle(&mut ledger, intent.intent_id, &evidence, "read from the terminal's journal", &approval)
            .map_err(|e| io(&e))?;
    }
    Ok(open_intents.len())
}

fn open(data: &Path) -> std::io::Result<Ledger> {
    let store = crate::config::StoreSettings::demo();
    Ledger::open(&crate::config::ledger_path(data), &store.register, store.currency)
        .map_err(|e| std::io::Error::other(e.to_string()))
}

fn check(data: &Path, state: &Path, report: &mut Report) -> std::io::Result<()> {
    let io = |e: &dyn std::fmt::Display| std::io::Error::other(e.to_string());
    let ledger = open(data)?;
    let verify = ledger.verify().map_err(|e| io(&e))?;
    report.problems = verify.problems.iter().map(|p| p.localized("en")).collect();
    if !ledger.open_card_intents().map_err(|e| io(&e))?.is_empty() {
        report.problems.push("card intents left open".into());
    }
    if !ledger.in_progress(None).map_err(|e| io(&e))?.is_empty() {
        report.problems.push("sales left in progress".into());
    }
    report.recovered = ledger
        .card_results()
        .map_err(|e| io(&e))?
        .iter()
        .filter(|r| r.outcome == card_outcome::RESOLVED_BOOKED || r.outcome == card_outcome::RESOLVED_NOT_BOOKED)
        .count() as i64
        - report.settled_by_manager as i64;
    // (terminal receipt, trace) → amount, per the ledger's posted sales (refunds negative).
    let mut carried: BTreeMap<(i64, i64), Vec<i64>> = BTreeMap::new();
    for (receipt, trace, amount) in ledger.posted_card_payments().map_err(|e| io(&e))? {
        carried.entry((receipt, trace)).or_default().push(amount);
    }
    report.sales = ledger.counts().map_err(|e| io(&e))?.1;
    report.card_payments = carried.values().map(|v| v.len() as i64).sum();
    report.card_total_minor = carried.values().flatten().sum();
    let terminal = EmulatorState::load(state)?;
    report.reversed_by_synchronisation = terminal.implicit_reversals;
    let batch: Vec<_> = terminal.batch.into_iter().filter(|e| !e.reversed).collect();
    report.terminal_count = batch.len() as i64;
    report.terminal_total_minor = batch.iter().map(|e| e.amount_minor).sum();
    for e in &batch {
        match carried.get(&(i64::from(e.receipt_no), i64::from(e.trace))) {
            None => report.charged_without_sale += 1,
            Some(v) if v.len() > 1 => report.charged_twice += 1,
            Some(v) if v[0] != e.amount_minor => {
                report.problems.push(format!("receipt {} amount differs", e.receipt_no))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Where `till soak` works when no directory is given.
pub fn default_dir() -> PathBuf {
    std::env::temp_dir().join(format!("till-soak-{}", std::process::id()))
}
