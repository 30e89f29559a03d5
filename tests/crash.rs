//! Power-cut rehearsal: `till simulate` killed with SIGKILL at random moments, many times over,
//! must always leave a ledger that verifies, with no half-written sale.

use std::process::{Command, Stdio};
use std::time::Duration;

use rusqlite::Connection;
use till::simulate::Rng;

const KILLS: usize = 25;

fn verify(dir: &std::path::Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_till"))
        .args(["ledger", "verify", "--lang", "en", "--data-dir"])
        .arg(dir)
        .output()
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn sigkill_at_random_moments_never_leaves_a_half_written_sale() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(2026);
    let mut sales_before = 0i64;
    let mut killed_mid_run = 0;
    for round in 0..KILLS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_till"))
            .args(["simulate", "--sales", "1000000", "--seed"])
            .arg(round.to_string())
            .arg("--data-dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // From right after start (mid-migration, mid-catalog-seed) to well into the sales.
        let wait = if round < 3 { rng.range(0, 40) } else { rng.range(20, 400) };
        std::thread::sleep(Duration::from_millis(wait));
        if child.try_wait().unwrap().is_none() {
            killed_mid_run += 1;
        }
        child.kill().unwrap(); // SIGKILL on Unix: no destructor, no flush, no rollback.
        child.wait().unwrap();

        if !dir.path().join("ledger.db").exists() {
            continue;
        }
        let (ok, text) = verify(dir.path());
        assert!(ok, "round {round}, killed after {wait} ms: {text}");

        // Every sale row is whole: lines and payments exist and add up (verify checks the sums;
        // here the counts are checked directly as well).
        let conn = Connection::open(dir.path().join("ledger.db")).unwrap();
        // Killed while the ledger was being created: the first migration is one transaction, so
        // the file holds either no tables at all or the whole schema.
        let tables: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('journal', 'sales')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        if tables == 0 {
            assert_eq!(sales_before, 0, "round {round}: a ledger with sales lost its tables");
            continue;
        }
        assert_eq!(tables, 2, "round {round}: half a schema");
        let half: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sales s WHERE NOT EXISTS (SELECT 1 FROM sale_lines l WHERE l.seq = s.seq) \
                 OR NOT EXISTS (SELECT 1 FROM payments p WHERE p.seq = s.seq) \
                 OR NOT EXISTS (SELECT 1 FROM journal j WHERE j.seq = s.seq)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(half, 0, "round {round}: half-written sales");
        let sales: i64 = conn.query_row("SELECT COUNT(*) FROM sales", [], |r| r.get(0)).unwrap();
        assert!(sales >= sales_before, "round {round}: sales went from {sales_before} to {sales}");
        sales_before = sales;
    }
    assert!(killed_mid_run >= KILLS - 2, "the kills must land while simulate runs");
    assert!(sales_before > 0, "the rounds must have posted sales");
}
