//! The till's binary as a shell user runs it: arguments, a data directory, and standard input
//! (where it reads PINs from). Shared by the command-line tests.
// Each test file is its own crate and uses some of these.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// `till ARGS --data-dir DIR` with `input` on its standard input.
pub fn run(dir: &Path, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_till"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    child.wait_with_output().unwrap()
}

/// What it said, standard output then standard error.
pub fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// `run` in English.
pub fn in_english(dir: &Path, args: &[&str], input: &str) -> Output {
    let mut all = vec!["--lang", "en"];
    all.extend_from_slice(args);
    run(dir, &all, input)
}
