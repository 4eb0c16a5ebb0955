//! The limits that keep connections from exhausting the control plane (threats.md 34, 35): how many
//! connections it holds, how many of them may be strangers (not yet an authenticated agent or a
//! dashboard with a session), per client address too, how long a request head, an idle
//! connection and an agent's handshake may take, and how far a dashboard socket may fall behind.
//! `docs/api.md` ("Connection limits") says the same for operators; `main.rs` makes each a flag.
//!
//! The caps must sit below the open-files limit, or accepting fails for everyone once it is
//! reached: [`raise_open_files_limit`] raises it as far as allowed and [`Limits::fit`] lowers the
//! caps to what the limit allows.

use std::time::Duration;

/// Descriptors kept for everything that is not a connection: the database and its journal, the
/// log, recipes being read, the blocking pool's files.
const RESERVED_FDS: u64 = 256;

/// See the module documentation; [`Limits::default`] gives the defaults `main.rs` documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Connections held at once, of every kind. Beyond it a stranger is evicted to make room,
    /// or the newcomer is refused when only agents and dashboards hold connections.
    pub max_connections: usize,
    /// Connections held by strangers: not an authenticated agent, not a request or dashboard
    /// socket carrying a live session.
    pub max_pending: usize,
    /// Strangers per client address (per /64 for IPv6, where one attacker holds a whole prefix).
    pub max_pending_per_address: usize,
    /// From accepting a connection (TLS handshake included) or from the first byte of a later
    /// request, to the end of its head and body.
    pub header_timeout: Duration,
    /// A connection with no request in flight and no bytes moving is closed after this.
    pub idle_timeout: Duration,
    /// An agent's WebSocket, from the upgrade to `AUTH_OK` (or the end of its enrollment).
    pub handshake_timeout: Duration,
    /// Bytes waiting for one dashboard socket before it is closed as too far behind.
    pub dashboard_queue_bytes: usize,
    /// How old the oldest message waiting for a dashboard socket may get before it is closed
    /// as too far behind.
    pub dashboard_max_lag: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 16_384,
            max_pending: 4_096,
            max_pending_per_address: 64,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            handshake_timeout: Duration::from_secs(30),
            dashboard_queue_bytes: 8 * 1024 * 1024,
            dashboard_max_lag: Duration::from_secs(15),
        }
    }
}

impl Limits {
    /// Open files these limits need: a descriptor per connection; two more per possible
    /// stranger, for a socket waiting to be admitted (the accept loop's lobby, as many as
    /// `max_pending`) and for the file a stranger's download holds open (the agent binary
    /// streamed to an installing server); and the reserve.
    pub fn open_files_wanted(&self) -> u64 {
        (self.max_connections as u64) + 2 * (self.max_pending as u64) + RESERVED_FDS
    }

    /// These limits lowered, if needed, so that they fit under `open_files`; a nonsensical zero
    /// becomes one, and the per-address cap never exceeds the pool it is part of.
    pub fn fit(&self, open_files: u64) -> Self {
        let mut fitted = self.clone();
        fitted.max_connections = fitted.max_connections.max(1);
        fitted.max_pending = fitted.max_pending.clamp(1, fitted.max_connections);
        let room = open_files.saturating_sub(RESERVED_FDS).max(2);
        if fitted.open_files_wanted() > open_files {
            // Strangers get at most a quarter of what is left (and as much again for the
            // lobby and downloads), connections the rest.
            let pending = (fitted.max_pending as u64).min(room / 4).max(1);
            let total = room.saturating_sub(2 * pending).max(pending);
            fitted.max_pending = pending as usize;
            fitted.max_connections = (fitted.max_connections as u64).min(total) as usize;
        }
        fitted.max_pending_per_address =
            fitted.max_pending_per_address.clamp(1, fitted.max_pending);
        fitted
    }
}

/// Raises the open-files limit as far as allowed: the hard limit to `wanted` when the process
/// may (`CAP_SYS_RESOURCE`), then the soft limit to the hard one. Returns the soft limit now in
/// force (`u64::MAX` for unlimited).
pub fn raise_open_files_limit(wanted: u64) -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let now = getrlimit(Resource::Nofile);
    if now.maximum.is_some_and(|hard| hard < wanted) {
        let more = Rlimit {
            current: Some(wanted),
            maximum: Some(wanted),
        };
        // Refused without the privilege: the hard limit below stays what it was.
        let _ = setrlimit(Resource::Nofile, more);
    }
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        if let Err(error) = setrlimit(Resource::Nofile, limit) {
            tracing::warn!(%error, "could not raise the open files limit");
        }
    }
    open_files_limit()
}

/// The soft open-files limit in force.
pub fn open_files_limit() -> u64 {
    rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_fit_a_limit_that_holds_them() {
        let limits = Limits::default();
        assert_eq!(limits.fit(limits.open_files_wanted()), limits);
        assert_eq!(limits.fit(u64::MAX), limits);
    }

    #[test]
    fn a_low_open_files_limit_lowers_every_cap_below_it() {
        for open_files in [64, 1024, 4096, 20_000] {
            let fitted = Limits::default().fit(open_files);
            assert!(
                fitted.open_files_wanted() <= open_files.max(RESERVED_FDS + 4),
                "{open_files}: {fitted:?}"
            );
            assert!(fitted.max_pending >= 1 && fitted.max_pending <= fitted.max_connections);
            assert!(fitted.max_pending_per_address <= fitted.max_pending);
        }
        let fitted = Limits::default().fit(4096);
        assert_eq!(fitted.max_pending, 960);
        assert_eq!(fitted.max_connections, 1920);
    }

    #[test]
    fn zero_caps_become_one() {
        let limits = Limits {
            max_connections: 0,
            max_pending: 0,
            max_pending_per_address: 0,
            ..Limits::default()
        };
        let fitted = limits.fit(u64::MAX);
        assert_eq!(
            (
                fitted.max_connections,
                fitted.max_pending,
                fitted.max_pending_per_address
            ),
            (1, 1, 1)
        );
    }
}
