//! The till's users as the ledger keeps them: names, roles, PIN hashes, failed PIN counts and
//! lockouts. Working data, changed in place; each change is also a journal entry (never the PIN).

use chrono::{DateTime, Duration, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Ledger, LedgerError, rfc3339};
use crate::auth::{Role, User};

/// Wrong PINs in a row before a user is locked out.
pub const MAX_FAILED: i64 = 5;
/// How long a lockout lasts.
pub const LOCKOUT_MINUTES: i64 = 5;

fn role_code(role: Role) -> &'static str {
    match role {
        Role::Cashier => "cashier",
        Role::Manager => "manager",
        Role::Installer => "installer",
    }
}

/// The SHA-256 of a user's PIN hash (a PHC string), as their journal entries record it.
pub(super) fn pin_digest(pin_hash: &str) -> String {
    use sha2::{Digest, Sha256};
    super::records::hex(&Sha256::digest(pin_hash.as_bytes()))
}

fn role_of(code: &str) -> Option<Role> {
    Some(match code {
        "cashier" => Role::Cashier,
        "manager" => Role::Manager,
        "installer" => Role::Installer,
        _ => return None,
    })
}

impl Ledger {
    /// The active users, in the order they were added.
    pub fn users(&self) -> Result<Vec<User>, LedgerError> {
        let mut stmt = self.conn.prepare("SELECT id, name, role, pin_hash FROM users WHERE active ORDER BY rowid")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
        })?;
        let mut users = Vec::new();
        for row in rows {
            let (id, name, role, hash) = row?;
            let role = role_of(&role).ok_or_else(|| LedgerError::Corrupt(format!("user {id}: role {role}")))?;
            users.push(User::new(&id, &name, role, hash));
        }
        Ok(users)
    }

    /// Adds a user (or replaces the name, role and PIN of one with the same id).
    pub fn save_user(&mut self, user: &User, by: &str, now: DateTime<Utc>) -> Result<(), LedgerError> {
        // The PIN's hash is tied to the chain by its digest: a hash swapped in the users table
        // (a PIN reset behind the till's back) no longer matches the user's last entry.
        let fields = [
            ("user", user.id.clone()),
            ("name", user.name.clone()),
            ("role", role_code(user.role).to_string()),
            ("by", by.to_string()),
            ("pin_sha256", pin_digest(user.pin_hash())),
        ];
        self.append("user_saved", &fields, now)?;
        self.conn.execute(
            "INSERT INTO users(id, name, role, pin_hash) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT(id) DO UPDATE SET name = excluded.name, role = excluded.role, pin_hash = excluded.pin_hash, \
             failed = 0, locked_until = NULL, active = 1",
            params![user.id, user.name, role_code(user.role), user.pin_hash()],
        )?;
        Ok(())
    }

    /// Removes a user: they can no longer sign in; the entries they made stay theirs.
    pub fn remove_user(&mut self, id: &str, by: &str, now: DateTime<Utc>) -> Result<(), LedgerError> {
        self.append("user_removed", &[("user", id.to_string()), ("by", by.to_string())], now)?;
        self.conn.execute("UPDATE users SET active = 0 WHERE id = ?1", [id])?;
        Ok(())
    }

    /// Until when a user is locked out, if they are.
    pub fn locked_until(&self, id: &str, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, LedgerError> {
        let until: Option<Option<String>> =
            self.conn.query_row("SELECT locked_until FROM users WHERE id = ?1", [id], |r| r.get(0)).optional()?;
        let until = until.flatten().and_then(|t| DateTime::parse_from_rfc3339(&t).ok()).map(|t| t.with_timezone(&Utc));
        Ok(until.filter(|t| *t > now))
    }

    /// Counts a wrong PIN; the fifth in a row locks the user out (journaled). Returns the lockout's end.
    pub fn pin_failed(&mut self, id: &str, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, LedgerError> {
        self.conn.execute("UPDATE users SET failed = failed + 1 WHERE id = ?1", [id])?;
        let failed: Option<i64> =
            self.conn.query_row("SELECT failed FROM users WHERE id = ?1", [id], |r| r.get(0)).optional()?;
        if failed.unwrap_or(0) < MAX_FAILED {
            return Ok(None);
        }
        let until = now + Duration::minutes(LOCKOUT_MINUTES);
        self.conn
            .execute("UPDATE users SET failed = 0, locked_until = ?2 WHERE id = ?1", params![id, rfc3339(until)])?;
        self.append("user_locked", &[("user", id.to_string()), ("until", rfc3339(until))], now)?;
        Ok(Some(until))
    }

    /// A right PIN clears the count of wrong ones.
    pub fn pin_ok(&mut self, id: &str) -> Result<(), LedgerError> {
        self.conn.execute("UPDATE users SET failed = 0, locked_until = NULL WHERE id = ?1", [id])?;
        Ok(())
    }
}
