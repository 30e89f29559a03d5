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

pub fn role_code(role: Role) -> &'static str {
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

/// A lockout's end, by the wall clock and, within the same boot, by the machine's clock since boot
/// (`CLOCK_BOOTTIME`, which no one sets): moving the wall clock forward or back does not end it
/// early. After a restart only the wall clock is left to go by.
struct Lockout {
    until: DateTime<Utc>,
    /// (boot id, milliseconds since boot at the end).
    boot: Option<(String, i64)>,
}

fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok().map(|s| s.trim().to_string())
}

fn since_boot_ms() -> Option<i64> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec we own.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) } == 0;
    ok.then(|| ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000)
}

impl Lockout {
    fn from(now: DateTime<Utc>) -> Lockout {
        let minutes = Duration::minutes(LOCKOUT_MINUTES);
        Lockout {
            until: now + minutes,
            boot: boot_id().zip(since_boot_ms()).map(|(id, ms)| (id, ms + minutes.num_milliseconds())),
        }
    }

    /// `until|boot id|ms since boot` (the older form, the time alone, still reads).
    fn to_text(&self) -> String {
        match &self.boot {
            Some((id, ms)) => format!("{}|{id}|{ms}", rfc3339(self.until)),
            None => rfc3339(self.until),
        }
    }

    fn parse(text: &str) -> Option<Lockout> {
        let mut parts = text.split('|');
        let until = DateTime::parse_from_rfc3339(parts.next()?).ok()?.with_timezone(&Utc);
        let boot = match (parts.next(), parts.next().and_then(|m| m.parse().ok())) {
            (Some(id), Some(ms)) => Some((id.to_string(), ms)),
            _ => None,
        };
        Some(Lockout { until, boot })
    }

    /// The end shown to the user, while it has not come: within the boot that locked, by the
    /// clock since boot alone (no one sets it); after a restart, by the wall clock.
    fn still_locked(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let locked = match (&self.boot, boot_id(), since_boot_ms()) {
            (Some((id, end)), Some(current), Some(ms)) if *id == current => ms < *end,
            _ => self.until > now,
        };
        locked.then_some(self.until)
    }
}

pub fn role_of(code: &str) -> Option<Role> {
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
        // The entry and the row in one transaction: a crash between them would leave a user their
        // journal does not speak for.
        let payload = |h: &super::records::EntryHeader| {
            let mut c = super::records::Canon::new(h);
            for (k, v) in &fields {
                c.field(k, v);
            }
            c.into_bytes()
        };
        let row = |tx: &rusqlite::Transaction<'_>, _| -> Result<(), LedgerError> {
            tx.execute(
                "INSERT INTO users(id, name, role, pin_hash) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT(id) DO UPDATE SET name = excluded.name, role = excluded.role, \
                 pin_hash = excluded.pin_hash, failed = 0, locked_until = NULL, active = 1",
                params![user.id, user.name, role_code(user.role), user.pin_hash()],
            )?;
            Ok(())
        };
        self.post_entry("user_saved", super::Content::InPayload, now, |_| Ok(()), payload, row)?;
        Ok(())
    }

    /// Saves several users in one transaction, each with its `user_saved` entry: a version of the
    /// store's users from the head office, applied whole or not at all. Users an earlier version
    /// brought (their last entry's `by` begins with `shipped_by`) and this one no longer lists are
    /// removed in the same transaction; users of the till's own are left as they are. A user whose
    /// PIN did not change keeps their failed PINs and lockout.
    pub fn save_users(
        &mut self,
        users: &[User],
        by: &str,
        shipped_by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let day = super::current_day_of(&tx, self.currency)?.map(|d| d.day_no);
        let mut head = None;
        // Who brought each user last.
        let mut brought_by = std::collections::HashMap::new();
        {
            let mut stmt = tx.prepare("SELECT payload FROM journal WHERE kind = 'user_saved' ORDER BY seq")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let payload: Vec<u8> = row.get(0)?;
                if let Some(id) = super::records::field_of(&payload, "user") {
                    brought_by.insert(id, super::records::field_of(&payload, "by").unwrap_or_default());
                }
            }
        }
        let retired: Vec<String> = tx
            .prepare("SELECT id FROM users WHERE active ORDER BY rowid")?
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|id| !users.iter().any(|u| &u.id == id))
            .filter(|id| brought_by.get(id).is_some_and(|b| b.starts_with(shipped_by)))
            .collect();
        for id in &retired {
            let (seq, hash) =
                super::append_in(&tx, &self.register, "user_removed", day, now, super::Content::InPayload, |h| {
                    let mut c = super::records::Canon::new(h);
                    c.field("user", id).field("by", by);
                    c.into_bytes()
                })?;
            tx.execute("UPDATE users SET active = 0 WHERE id = ?1", [id])?;
            head = Some(super::Head { seq, hash });
        }
        for user in users {
            let (seq, hash) =
                super::append_in(&tx, &self.register, "user_saved", day, now, super::Content::InPayload, |h| {
                    let mut c = super::records::Canon::new(h);
                    c.field("user", &user.id)
                        .field("name", &user.name)
                        .field("role", role_code(user.role))
                        .field("by", by)
                        .field("pin_sha256", pin_digest(user.pin_hash()));
                    c.into_bytes()
                })?;
            tx.execute(
                "INSERT INTO users(id, name, role, pin_hash) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT(id) DO UPDATE SET name = excluded.name, role = excluded.role, \
                 failed = CASE WHEN users.pin_hash = excluded.pin_hash THEN users.failed ELSE 0 END, \
                 locked_until = CASE WHEN users.pin_hash = excluded.pin_hash THEN users.locked_until END, \
                 pin_hash = excluded.pin_hash, active = 1",
                params![user.id, user.name, role_code(user.role), user.pin_hash()],
            )?;
            head = Some(super::Head { seq, hash });
        }
        tx.commit()?;
        if head.is_some() {
            self.write_witness(head);
        }
        Ok(())
    }

    /// Removes a user: they can no longer sign in; the entries they made stay theirs.
    pub fn remove_user(&mut self, id: &str, by: &str, now: DateTime<Utc>) -> Result<(), LedgerError> {
        let payload = |h: &super::records::EntryHeader| {
            let mut c = super::records::Canon::new(h);
            c.field("user", id).field("by", by);
            c.into_bytes()
        };
        let row = |tx: &rusqlite::Transaction<'_>, _| -> Result<(), LedgerError> {
            tx.execute("UPDATE users SET active = 0 WHERE id = ?1", [id])?;
            Ok(())
        };
        self.post_entry("user_removed", super::Content::InPayload, now, |_| Ok(()), payload, row)?;
        Ok(())
    }

    /// Until when a user is locked out, if they are (by the wall clock; see `Lockout`).
    pub fn locked_until(&self, id: &str, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, LedgerError> {
        let until: Option<Option<String>> =
            self.conn.query_row("SELECT locked_until FROM users WHERE id = ?1", [id], |r| r.get(0)).optional()?;
        Ok(until.flatten().and_then(|t| Lockout::parse(&t)).and_then(|l| l.still_locked(now)))
    }

    /// Reserves one PIN check for `id`, counted as wrong until `pin_ok` clears it: refused
    /// (Some(end)) while the user is locked out, or when the checks counted reached the limit
    /// (which locks). One transaction: processes guessing in parallel are counted one after
    /// another, so together they get no more than `MAX_FAILED` checks before the lockout.
    pub fn pin_attempt(&mut self, id: &str, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, LedgerError> {
        let register = self.register.clone();
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let row: Option<(i64, Option<String>)> = tx
            .query_row("SELECT failed, locked_until FROM users WHERE id = ?1", [id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((failed, locked)) = row else {
            tx.commit()?;
            return Ok(None);
        };
        if let Some(until) = locked.as_deref().and_then(Lockout::parse).and_then(|l| l.still_locked(now)) {
            tx.commit()?;
            return Ok(Some(until));
        }
        if failed >= MAX_FAILED {
            let until = lock_in(&tx, &register, id, now)?;
            tx.commit()?;
            self.write_witness(super::head_of(&self.conn)?);
            return Ok(Some(until));
        }
        tx.execute("UPDATE users SET failed = failed + 1 WHERE id = ?1", [id])?;
        tx.commit()?;
        Ok(None)
    }

    /// After a wrong PIN (already counted by `pin_attempt`): the fifth in a row locks the user
    /// out (journaled). Returns the lockout's end.
    pub fn pin_failed(&mut self, id: &str, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, LedgerError> {
        let register = self.register.clone();
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let failed: Option<i64> =
            tx.query_row("SELECT failed FROM users WHERE id = ?1", [id], |r| r.get(0)).optional()?;
        if failed.unwrap_or(0) < MAX_FAILED {
            tx.commit()?;
            return Ok(None);
        }
        let until = lock_in(&tx, &register, id, now)?;
        tx.commit()?;
        self.write_witness(super::head_of(&self.conn)?);
        Ok(Some(until))
    }
}

/// Locks `id` out inside `tx` and journals it.
fn lock_in(
    tx: &rusqlite::Transaction<'_>,
    register: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, LedgerError> {
    let lockout = Lockout::from(now);
    tx.execute("UPDATE users SET failed = 0, locked_until = ?2 WHERE id = ?1", params![id, lockout.to_text()])?;
    let fields = [("user", id.to_string()), ("until", rfc3339(lockout.until))];
    super::append_in(tx, register, "user_locked", None, now, super::Content::InPayload, |h| {
        let mut c = super::records::Canon::new(h);
        for (k, v) in &fields {
            c.field(k, v);
        }
        c.into_bytes()
    })?;
    Ok(lockout.until)
}

impl Ledger {
    /// A right PIN clears the count of wrong ones.
    pub fn pin_ok(&mut self, id: &str) -> Result<(), LedgerError> {
        self.conn.execute("UPDATE users SET failed = 0, locked_until = NULL WHERE id = ?1", [id])?;
        Ok(())
    }
}
