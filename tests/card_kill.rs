//! Power cuts during card payments: the till process killed (SIGKILL) just before and just after
//! it answers an approval, and a terminal that goes silent mid-payment, through the shell's test
//! payment (`till terminal pay`, a manager's, reversing itself at once). After the till restarts
//! and recovers — by the terminal's answer where it can tell, by a manager's settlement from the
//! terminal's journal where it cannot — the till's ledger and the terminal emulator's batch agree
//! on every payment and every reversal, and no payment was taken twice.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use till::ledger::{Ledger, card_outcome};
use till::terminal::emulator::EmulatorState;

const FAST: [&str; 4] = ["--t2-ms", "200", "--t3-ms", "800"];

struct Terminal {
    child: Child,
    port: String,
    /// The emulator's control interface.
    control: std::process::ChildStdin,
}

impl Terminal {
    fn start(state: &Path, scenario: &str) -> Terminal {
        let mut child = Command::new(env!("CARGO_BIN_EXE_till"))
            .args(["emulate", "terminal", "--pty", "--scenario", scenario, "--state"])
            .arg(state)
            .args(FAST)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let control = child.stdin.take().unwrap();
        Terminal { child, port: line.trim().to_string(), control }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const MANAGER: [&str; 2] = ["--user", "mgr"];
const MANAGER_PIN: &str = "246813";

/// Runs `cmd` with `input` on its standard input (where the shell reads PINs from).
fn with_stdin(cmd: &mut Command, input: &str) -> Output {
    use std::io::Write;
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    child.wait_with_output().unwrap()
}

fn till(data: &Path, port: &str, args: &[&str], fault: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_till"));
    cmd.arg("terminal").args(args).args(["--port", port, "--lang", "en", "--t4-s", "2"]).args(FAST);
    let approves = matches!(args.first(), Some(&"pay" | &"reverse" | &"settle" | &"end-of-day"));
    if approves {
        cmd.args(MANAGER);
    }
    cmd.arg("--data-dir").arg(data);
    if let Some(f) = fault {
        cmd.env("TILL_FAULT", f);
    }
    with_stdin(&mut cmd, &if approves { format!("{MANAGER_PIN}\n") } else { String::new() })
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// (receipt, amount, reversed) of every payment the terminal booked, per the till and per the
/// terminal; the ledger verifies and no intent is left open.
fn agree(data: &Path, state: &Path) -> BTreeSet<(i64, i64, bool)> {
    let ledger = Ledger::open_read_only(&data.join("ledger.db")).unwrap();
    let report = ledger.verify().unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
    assert!(ledger.open_card_intents().unwrap().is_empty(), "every intent is resolved");
    let booked = |r: &till::ledger::CardResultRecord| {
        r.outcome == card_outcome::APPROVED || r.outcome == card_outcome::RESOLVED_BOOKED
    };
    let results = ledger.card_results().unwrap();
    let mut pays = Vec::new();
    let mut reversed = BTreeSet::new();
    for r in results.iter().filter(|r| booked(r)) {
        let (receipt, amount) = (r.receipt_no.unwrap(), r.amount_minor.unwrap());
        // The emulator's reversal answers with the receipt it reversed and a new trace.
        if pays.iter().any(|(p, a, t)| *p == receipt && *a == amount && Some(*t) != r.trace) {
            reversed.insert(receipt);
        } else {
            pays.push((receipt, amount, r.trace.unwrap()));
        }
    }
    let till: BTreeSet<(i64, i64, bool)> = pays.iter().map(|(p, a, _)| (*p, *a, reversed.contains(p))).collect();
    let terminal: BTreeSet<(i64, i64, bool)> = EmulatorState::load(state)
        .unwrap()
        .batch
        .into_iter()
        .map(|e| (i64::from(e.receipt_no), e.amount_minor, e.reversed))
        .collect();
    assert_eq!(till, terminal, "the till and the terminal agree");
    till
}

/// The one card intent left open.
fn open_intent(data: &Path) -> String {
    let ledger = Ledger::open_read_only(&data.join("ledger.db")).unwrap();
    let open = ledger.open_card_intents().unwrap();
    assert_eq!(open.len(), 1);
    open[0].intent_id.to_string()
}

fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let state = dir.path().join("terminal.state");
    // The first installer (no approval: the ledger has none), then the manager they approve.
    let added = with_stdin(
        Command::new(env!("CARGO_BIN_EXE_till"))
            .args(["users", "add", "ins", "--name", "Installer", "--role", "installer", "--data-dir"])
            .arg(&data),
        "135790\n",
    );
    assert!(added.status.success(), "{}", text(&added));
    let added = with_stdin(
        Command::new(env!("CARGO_BIN_EXE_till"))
            .args(["users", "add", "mgr", "--name", "Manager", "--role", "manager", "--by", "ins", "--data-dir"])
            .arg(&data),
        &format!("135790\n{MANAGER_PIN}\n"),
    );
    assert!(added.status.success(), "{}", text(&added));
    (dir, data, state)
}

#[test]
fn killed_just_before_answering_an_approval() {
    let (_dir, data, state) = setup();
    let pt = Terminal::start(&state, "approve");
    let paid = till(&data, &pt.port, &["pay", "12.34"], Some("before_ack"));
    assert_eq!(paid.status.signal(), Some(9), "{}", text(&paid));
    // The terminal waits T3 for the answer that never comes, then reverses on its own; its last
    // receipt is that abort, naming the trace the till stored: positive evidence, not booked.
    std::thread::sleep(Duration::from_millis(2500));
    let recovered = till(&data, &pt.port, &["recover"], None);
    assert!(text(&recovered).contains("did not book it"), "{}", text(&recovered));
    assert!(agree(&data, &state).is_empty(), "nothing was charged");
    // The test payment goes through once, and reverses itself.
    let again = till(&data, &pt.port, &["pay", "12.34"], None);
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("reversed"), "{}", text(&again));
    let stands = agree(&data, &state);
    assert_eq!(stands.iter().map(|(_, a, rev)| (*a, *rev)).collect::<Vec<_>>(), vec![(1234, true)]);
}

#[test]
fn killed_just_after_answering_an_approval() {
    let (_dir, data, state) = setup();
    let pt = Terminal::start(&state, "approve");
    let paid = till(&data, &pt.port, &["pay", "56.78"], Some("after_ack"));
    assert_eq!(paid.status.signal(), Some(9), "{}", text(&paid));
    // A new card payment cannot start while this one is open: the restart recovers it first,
    // and reverses the test payment the kill left standing.
    let next = till(&data, &pt.port, &["pay", "1.00"], None);
    assert!(text(&next).contains("the terminal booked it"), "{}", text(&next));
    assert!(next.status.success(), "{}", text(&next));
    let stands = agree(&data, &state);
    assert_eq!(stands.iter().map(|(_, a, rev)| (*a, *rev)).collect::<Vec<_>>(), vec![(5678, true), (100, true)]);
}

#[test]
fn a_terminal_that_goes_silent_mid_payment() {
    let (_dir, data, state) = setup();
    {
        let pt = Terminal::start(&state, "silent");
        let paid = till(&data, &pt.port, &["pay", "9.99"], None);
        assert!(!paid.status.success());
        // It took the command and said nothing more: it may have booked.
        assert!(text(&paid).contains("may have"), "{}", text(&paid));
    }
    // The terminal comes back (same batch, never a transaction): it cannot tell; the manager
    // settles by its journal, and the next payment goes through.
    let pt = Terminal::start(&state, "approve");
    let blocked = till(&data, &pt.port, &["pay", "9.99"], None);
    assert!(text(&blocked).contains("cannot tell"), "{}", text(&blocked));
    // Nor does the terminal's batch close over it.
    let eod = till(&data, &pt.port, &["end-of-day"], None);
    assert!(text(&eod).contains("The day cannot close yet: card payment"), "{}", text(&eod));
    // The manager reads the terminal's journal (a note is required) and settles it.
    let intent = open_intent(&data);
    let no_note = till(&data, &pt.port, &["settle", &intent, "--not-booked", "--note", " "], None);
    assert!(text(&no_note).contains("--note"), "{}", text(&no_note));
    let settled = till(&data, &pt.port, &["settle", &intent, "--not-booked", "--note", "journal empty"], None);
    assert!(settled.status.success(), "{}", text(&settled));
    let paid = till(&data, &pt.port, &["pay", "9.99"], None);
    assert!(paid.status.success(), "{}", text(&paid));
    assert_eq!(agree(&data, &state).len(), 1);
}

#[test]
fn a_rehearsal_changes_the_scenario_through_the_control_interface() {
    use std::io::Write;
    let (_dir, data, state) = setup();
    let mut pt = Terminal::start(&state, "approve");
    writeln!(pt.control, "decline:05").unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let declined = till(&data, &pt.port, &["pay", "3.00"], None);
    assert!(text(&declined).contains("Declined"), "{}", text(&declined));
    writeln!(pt.control, "approve").unwrap();
    // The line acts up: the next two frames the terminal sends are corrupted (and repeated).
    writeln!(pt.control, "corrupt 2").unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let approved = till(&data, &pt.port, &["pay", "3.00"], None);
    assert!(approved.status.success(), "{}", text(&approved));
    // Now it answers for another merchant.
    writeln!(pt.control, "merchant 455600000077777").unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let foreign = till(&data, &pt.port, &["pay", "3.00", "--expect-merchant", "455600000012345"], None);
    assert!(text(&foreign).contains("merchant 455600000077777"), "{}", text(&foreign));
    assert_eq!(agree(&data, &state).len(), 1);
}

#[test]
fn a_terminal_answering_for_another_merchant_is_refused_and_flagged() {
    let (_dir, data, state) = setup();
    let pt = Terminal::start(&state, "approve");
    let paid = till(&data, &pt.port, &["pay", "88.00", "--expect-merchant", "455600000099999"], None);
    assert!(!paid.status.success());
    assert!(
        text(&paid).contains("REFUSED: the terminal reports terminal 52500038, merchant 455600000012345"),
        "{}",
        text(&paid)
    );
    // Nothing stands on either side, and the manager has a risk event to look at.
    assert!(agree(&data, &state).is_empty());
    let conn = rusqlite::Connection::open(data.join("ledger.db")).unwrap();
    let risk: String = conn
        .query_row("SELECT CAST(payload AS TEXT) FROM journal WHERE kind = 'risk_event'", [], |r| r.get(0))
        .unwrap();
    assert!(risk.contains("risk=merchant_identity") && risk.contains("merchant_no=455600000012345"), "{risk}");
}
