//! Approvals on the command line. Who approves is named (`--by ID`, or `--user ID` for a
//! settlement); their PIN is read from the terminal without echo, or as one line of standard
//! input for scripts — never from an argument, which `ps` and the shell's history would show.
//! The core checks the approval (with the lockout) and journals who gave it.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use rust_i18n::t;

use super::fail;
use crate::auth::{Approval, Permission};
use crate::ledger::Ledger;

/// Reads one secret line after `prompt` (on standard error): without echo from a terminal, else
/// the next line of standard input. None at the end of input.
pub fn read_secret(prompt: &str) -> Option<String> {
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    if tty {
        eprint!("{prompt} ");
        let _ = std::io::stderr().flush();
    }
    let echo = tty.then(echo_off);
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if let Some(Some(saved)) = echo {
        restore_echo(&saved);
        eprintln!();
    }
    match read {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim_end_matches(['\n', '\r']).to_string()),
    }
}

/// Turns the terminal's echo off; the settings to restore, when it could.
fn echo_off() -> Option<libc::termios> {
    // SAFETY: tcgetattr and tcsetattr only read and write the termios struct we own, on fd 0.
    unsafe {
        let mut term: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(0, &mut term) != 0 {
            return None;
        }
        let saved = term;
        term.c_lflag &= !libc::ECHO;
        (libc::tcsetattr(0, libc::TCSANOW, &term) == 0).then_some(saved)
    }
}

fn restore_echo(saved: &libc::termios) {
    // SAFETY: as above; `saved` came from tcgetattr.
    unsafe {
        libc::tcsetattr(0, libc::TCSANOW, saved);
    }
}

/// The PIN of `user`, asked for by name.
pub fn read_pin(user: &str, locale: &str) -> Result<String, ExitCode> {
    read_secret(&t!("cli.pin_prompt", locale = locale, user = user))
        .ok_or_else(|| fail(t!("cli.pin_missing", locale = locale, user = user)))
}

/// A new PIN for `user`: typed twice at a terminal, one line from a script.
pub fn read_new_pin(user: &str, locale: &str) -> Result<String, ExitCode> {
    let pin = read_secret(&t!("cli.new_pin_prompt", locale = locale, user = user))
        .ok_or_else(|| fail(t!("cli.pin_missing", locale = locale, user = user)))?;
    if std::io::stdin().is_terminal() {
        let again = read_secret(&t!("cli.new_pin_again", locale = locale)).unwrap_or_default();
        if again != pin {
            return Err(fail(crate::admin::UserError::PinsDiffer.localized(locale)));
        }
    }
    Ok(pin)
}

/// An approval of `permission` by the user `by` of this ledger, their PIN read as above.
pub fn approval(
    ledger: &mut Ledger,
    by: Option<&str>,
    permission: Permission,
    locale: &str,
) -> Result<Approval, ExitCode> {
    let Some(by) = by.map(str::trim).filter(|b| !b.is_empty()) else {
        let key = permission.key();
        let what = t!(&key, locale = locale).into_owned();
        return Err(fail(t!("cli.needs_approval", locale = locale, permission = what)));
    };
    let pin = read_pin(by, locale)?;
    crate::admin::approval_of(ledger, by, &pin, permission).map_err(|e| fail(e.localized(locale)))
}

/// An approval where the ledger is a store's (it has an installer); None on a ledger still being
/// set up or rehearsed, which has no one to ask yet. A store cannot be turned back into one: its
/// users are tied to the chain (`ledger verify` names a removed installer).
pub fn approval_in_store(
    ledger: &mut Ledger,
    by: Option<&str>,
    permission: Permission,
    locale: &str,
) -> Result<Option<Approval>, ExitCode> {
    if crate::admin::has_installer(ledger).map_err(|e| fail(e.localized(locale)))? {
        approval(ledger, by, permission, locale).map(Some)
    } else {
        Ok(None)
    }
}
