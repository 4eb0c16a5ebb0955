//! Refused sign-ins, counted into the audit log (threats.md 32).
//!
//! One row per refused attempt (about 700 a second under a flood) pushed every other entry out
//! of the audit view and made one disk sync each. Instead, refusals are tallied in memory per
//! (username as typed, client address) and written once a second as one `login.refused` row
//! per pair, updated in place (`count`, `lastAt`, and a result that says how many were wrong
//! passwords and how many were refused unchecked). A pair idle for [`CLOSE_AFTER_SECS`] is
//! closed: its next refusal starts a new row. At most [`MAX_OPEN`] pairs are open at once;
//! beyond that, refusals are counted in one row for "(many accounts)" at "(many addresses)".
//! The audit view also shows at most 100 `login.refused` rows (`store::AUDIT_REFUSED_SHOWN`),
//! so even a flood lasting days cannot hide the other entries.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use crate::store::{self, AuditCount};

/// The audit action of the tallied rows.
pub use crate::store::AUDIT_REFUSED as WHAT;
/// A tally idle this long is closed.
pub const CLOSE_AFTER_SECS: u64 = 600;
/// Most (username, address) tallies open at once.
pub const MAX_OPEN: usize = 32;
const MANY_ACCOUNTS: &str = "(many accounts)";
const MANY_ADDRESSES: &str = "(many addresses)";
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Why a sign-in was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Checked: no such user, or the wrong password.
    WrongPassword,
    /// Refused unchecked: too many failures from this address.
    AddressLocked,
    /// Refused unchecked: too many failures of this account from unknown addresses.
    AccountLocked,
    /// Refused unchecked: too many sign-ins being checked at once.
    Busy,
    /// The password was right, the two-factor code (or recovery code) was not, or was used
    /// already.
    WrongCode,
}

const REASONS: [(Reason, &str); 5] = [
    (Reason::WrongPassword, "wrong username or password"),
    (
        Reason::AddressLocked,
        "refused unchecked: address locked out",
    ),
    (
        Reason::AccountLocked,
        "refused unchecked: account locked out",
    ),
    (Reason::Busy, "refused unchecked: too many sign-ins at once"),
    (Reason::WrongCode, "wrong or reused two-factor code"),
];

#[derive(Debug, Default)]
struct Tally {
    row: Option<i64>,
    first_at: u64,
    last_at: u64,
    counts: [u64; REASONS.len()],
    dirty: bool,
}

impl Tally {
    fn result(&self) -> String {
        REASONS
            .iter()
            .zip(self.counts)
            .filter(|(_, n)| *n > 0)
            .map(|((_, text), n)| format!("{n} × {text}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

type Key = (String, String);

/// See the module docs.
#[derive(Debug, Default)]
pub struct RefusalLog {
    open: Mutex<HashMap<Key, Tally>>,
    /// Refused sign-ins since the control plane started (`GET /metrics`).
    total: std::sync::atomic::AtomicU64,
}

impl RefusalLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Tally>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one refused sign-in of `who` from `addr`.
    pub fn record(&self, who: &str, addr: IpAddr, reason: Reason, now: u64) {
        self.total
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut open = self.lock();
        let mut key = (who.to_owned(), addr.to_string());
        if !open.contains_key(&key) && open.len() >= MAX_OPEN {
            key = (MANY_ACCOUNTS.to_owned(), MANY_ADDRESSES.to_owned());
        }
        let tally = open.entry(key).or_insert_with_key(|(who, target)| {
            // Logged once per tally, not once per attempt.
            tracing::warn!(username = %who, address = %target, "refused sign-in; further ones are counted in the audit log");
            Tally {
                first_at: now,
                ..Tally::default()
            }
        });
        let i = REASONS.iter().position(|(r, _)| *r == reason).unwrap_or(0);
        tally.counts[i] += 1;
        tally.last_at = now;
        tally.dirty = true;
    }

    /// Refused sign-ins since the control plane started.
    pub fn total(&self) -> u64 {
        self.total.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The rows to write now (marked clean), and closes idle tallies that are written.
    fn take(&self, now: u64) -> Vec<(Key, AuditCount)> {
        let mut open = self.lock();
        open.retain(|_, t| t.dirty || t.last_at + CLOSE_AFTER_SECS > now);
        open.iter_mut()
            .filter(|(_, t)| t.dirty)
            .map(|(key, t)| {
                t.dirty = false;
                let row = AuditCount {
                    id: t.row,
                    at: t.first_at,
                    last_at: t.last_at,
                    who: key.0.clone(),
                    what: WHAT.to_owned(),
                    target: key.1.clone(),
                    result: t.result(),
                    count: t.counts.iter().sum(),
                };
                (key.clone(), row)
            })
            .collect()
    }

    /// Writes what changed since the last flush in one transaction. Flushes must not overlap
    /// (one task does them): a new tally's row id is known before the next flush.
    pub async fn flush(&self, store: &store::SharedStore) {
        let batch = self.take(cairn_protocol::unix_now());
        if batch.is_empty() {
            return;
        }
        let (keys, rows): (Vec<Key>, Vec<AuditCount>) = batch.into_iter().unzip();
        match store::blocking(store, move |s| s.audit_counts(&rows)).await {
            Ok(ids) => {
                let mut open = self.lock();
                for (key, id) in keys.into_iter().zip(ids) {
                    if let Some(t) = open.get_mut(&key) {
                        t.row = Some(id);
                    }
                }
            }
            Err(error) => {
                tracing::error!(%error, "could not write refused sign-ins to the audit log; retrying");
                let mut open = self.lock();
                for key in keys {
                    if let Some(t) = open.get_mut(&key) {
                        t.dirty = true;
                    }
                }
            }
        }
    }

    /// Flushes every second until `done` fires (or its sender is dropped), then once more.
    pub async fn flush_until(
        &self,
        store: &store::SharedStore,
        mut done: tokio::sync::oneshot::Receiver<()>,
    ) {
        loop {
            let stopping = tokio::select! {
                _ = tokio::time::sleep(FLUSH_EVERY) => false,
                _ = &mut done => true,
            };
            self.flush(store).await;
            if stopping {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_tallied_per_user_and_address_and_overflow_into_one_row() {
        let log = RefusalLog::default();
        let ip: IpAddr = [127, 0, 0, 2].into();
        for _ in 0..5 {
            log.record("admin", ip, Reason::WrongPassword, 100);
        }
        for _ in 0..35 {
            log.record("admin", ip, Reason::AddressLocked, 101);
        }
        let rows = log.take(101);
        assert_eq!(rows.len(), 1);
        let row = &rows[0].1;
        assert_eq!((row.count, row.at, row.last_at), (40, 100, 101));
        assert_eq!(
            row.result,
            "5 × wrong username or password; 35 × refused unchecked: address locked out"
        );
        assert!(log.take(102).is_empty(), "nothing new to write");
        for i in 0..200u32 {
            log.record(&format!("u{i}"), ip, Reason::WrongPassword, 103);
        }
        let rows = log.take(103);
        assert_eq!(rows.len(), MAX_OPEN);
        let many = rows
            .iter()
            .find(|(k, _)| k.0 == MANY_ACCOUNTS)
            .expect("an overflow row");
        assert_eq!(many.1.count, 200 - (MAX_OPEN as u64 - 1));
        // Idle tallies close; the next refusal starts a new row.
        assert!(log.take(103 + CLOSE_AFTER_SECS).is_empty());
        log.record("admin", ip, Reason::Busy, 2_000);
        assert_eq!(log.take(2_000)[0].1.id, None);
    }
}
