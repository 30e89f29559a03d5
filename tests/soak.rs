//! The kill soak as part of `cargo test`: `till simulate` with card payments and the counter driven
//! headless through its workers (`till drive`), in turn, killed (SIGKILL) at 50 random instants
//! against the terminal emulator in its own process, with line faults between the kills. The terminal's batch must equal the ledger's card payments of posted sales, count for
//! count and to the cent; the ledger must verify; no charge without a sale, none twice.

use std::process::Command;

#[test]
fn fifty_kills_leave_no_charge_without_a_sale_and_none_twice() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_till"))
        .args(["soak", "--kills", "50", "--seed", "7", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("kills: 50"), "{text}");
    assert!(text.contains("charged without a sale: 0") && text.contains("charged twice: 0"), "{text}");
    assert!(text.contains("ledger verify: sound") && text.trim_end().ends_with("HOLDS"), "{text}");
    // Card payments really happened: the check is not over an empty batch.
    let batch = text.lines().find(|l| l.starts_with("terminal batch: ")).unwrap();
    let count: u32 = batch["terminal batch: ".len()..].split(' ').next().unwrap().parse().unwrap();
    assert!(count >= 10, "{text}");
    // Both tills sold: the counter's sales carry its cashier, simulate's its own name.
    let ledger = till::ledger::Ledger::open_read_only(&dir.path().join("data").join("ledger.db")).unwrap();
    let cashiers: Vec<String> =
        (1..=ledger.counts().unwrap().1).filter_map(|r| ledger.sale_by_receipt(r).ok().map(|s| s.cashier)).collect();
    assert!(cashiers.iter().any(|c| c == "simulate") && cashiers.iter().any(|c| c != "simulate"), "{cashiers:?}");
}
