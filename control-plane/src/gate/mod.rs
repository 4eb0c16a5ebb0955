//! Who may hold a connection (THREATS 34). Every accepted connection is admitted here first and
//! counted until its socket closes. A connection is a *stranger* until it proves something: an
//! agent that completed `AUTH_OK`, or a request or dashboard socket carrying a live session
//! ([`Conn::trust`]). Strangers are capped per client address and as a pool; every connection
//! counts toward the overall cap.
//!
//! When a cap is reached the newcomer is not simply refused, which would let a few thousand
//! idle sockets lock agents out: the *stalest* stranger (the one whose last step forward, see
//! [`Conn::progress`], is oldest) is evicted to make room, so a new agent still gets in and an
//! attacker's idle sockets are the ones that go. Only when every stranger moved within the last
//! [`GRACE`] (a connect storm of real agents, or a flood faster than the pool turns over) is
//! the newcomer refused instead: evicting handshakes about to finish would only waste them.
//! Trusted connections are never evicted.
//!
//! [`conn`] holds a connection's phase and deadlines, [`io`] the socket and body wrappers that
//! move it between phases, [`supervise`] the task side that enforces them.

mod conn;
mod io;

pub use conn::{Conn, Phase, Stopped, supervise};
pub use io::{TrackedBody, TrackedIo};

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::limits::Limits;

/// A stranger that moved forward more recently than this is not evicted for a newcomer.
pub const GRACE: Duration = Duration::from_secs(1);

/// How often, at most, the log says that caps were reached.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// What strangers are counted by: an IPv4 address, or an IPv6 /64 (one host is commonly given
/// a whole /64, so counting single IPv6 addresses would cap nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddrKey {
    V4(u32),
    V6(u64),
}

impl AddrKey {
    pub fn of(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Self::V4(u32::from(v4)),
            IpAddr::V6(v6) => Self::V6((u128::from(v6) >> 64) as u64),
        }
    }
}

/// Why a newcomer was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Its address holds its share of strangers, all of them busy.
    Address,
    /// The stranger pool is full, all of them busy.
    Pending,
    /// Every connection is held, none by a stranger that could go.
    Total,
}

#[derive(Debug, Default)]
struct State {
    total: usize,
    strangers: HashMap<u64, Arc<conn::Shared>>,
    by_address: HashMap<AddrKey, Vec<u64>>,
}

#[derive(Debug, Default)]
struct Counters {
    evicted: AtomicU64,
    refused: AtomicU64,
    last_warn_ms: AtomicU64,
}

/// See the module documentation.
#[derive(Debug)]
pub struct Gate {
    limits: Limits,
    grace: Duration,
    epoch: Instant,
    next_id: AtomicU64,
    state: Mutex<State>,
    counters: Counters,
}

impl Gate {
    pub fn new(limits: Limits) -> Arc<Self> {
        Self::with_grace(limits, GRACE)
    }

    /// [`Gate::new`] with another [`GRACE`] (tests).
    pub fn with_grace(limits: Limits, grace: Duration) -> Arc<Self> {
        Arc::new(Self {
            limits,
            grace,
            epoch: Instant::now(),
            next_id: AtomicU64::new(1),
            state: Mutex::new(State::default()),
            counters: Counters::default(),
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Milliseconds since the gate was made: the clock of every phase and progress mark.
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Connections held now, and how many of them are strangers.
    pub fn counts(&self) -> (usize, usize) {
        let st = self.lock();
        (st.total, st.strangers.len())
    }

    /// Admits a connection from `peer`, evicting the stalest stranger where a cap is reached.
    pub fn admit(self: &Arc<Self>, peer: SocketAddr) -> Result<Conn, Refused> {
        let key = AddrKey::of(peer.ip());
        let now = self.now_ms();
        let grace = self.grace.as_millis() as u64;
        let mut st = self.lock();
        let evicted_before = self.counters.evicted.load(Ordering::Relaxed);
        let result = (|| {
            let here = st.by_address.get(&key).map_or(0, Vec::len);
            if here >= self.limits.max_pending_per_address {
                let ids = st.by_address.get(&key).cloned().unwrap_or_default();
                let victim = stalest(ids.iter().filter_map(|id| st.strangers.get(id)), now, grace)
                    .ok_or(Refused::Address)?;
                self.evict(&mut st, victim);
            }
            if st.strangers.len() >= self.limits.max_pending {
                let victim = stalest(st.strangers.values(), now, grace).ok_or(Refused::Pending)?;
                self.evict(&mut st, victim);
            }
            if st.total >= self.limits.max_connections {
                let victim = stalest(st.strangers.values(), now, grace).ok_or(Refused::Total)?;
                self.evict(&mut st, victim);
            }
            Ok(())
        })();
        if let Err(why) = result {
            let counts = (st.total, st.strangers.len());
            drop(st);
            self.counters.refused.fetch_add(1, Ordering::Relaxed);
            self.warn_now_and_then(&format!("{why:?}"), counts);
            return Err(why);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let shared = Arc::new(conn::Shared::new(id, key, now));
        st.total += 1;
        st.strangers.insert(id, Arc::clone(&shared));
        st.by_address.entry(key).or_default().push(id);
        let counts = (st.total, st.strangers.len());
        drop(st);
        if self.counters.evicted.load(Ordering::Relaxed) != evicted_before {
            self.warn_now_and_then("evicted", counts);
        }
        Ok(Conn::new(Arc::clone(self), shared))
    }

    /// Takes stranger `id` out of every count and tells its tasks to close it.
    fn evict(&self, st: &mut State, id: u64) {
        if let Some(victim) = self.forget_stranger(st, id) {
            st.total -= 1;
            victim.kill();
            self.counters.evicted.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn forget_stranger(&self, st: &mut State, id: u64) -> Option<Arc<conn::Shared>> {
        let shared = st.strangers.remove(&id)?;
        if let Some(ids) = st.by_address.get_mut(&shared.addr) {
            ids.retain(|i| *i != id);
            if ids.is_empty() {
                st.by_address.remove(&shared.addr);
            }
        }
        Some(shared)
    }

    /// A stranger proved itself: it leaves the stranger counts (it still counts in the total).
    fn trust(&self, shared: &conn::Shared) {
        let mut st = self.lock();
        if shared.is_counted() && !shared.is_trusted() {
            self.forget_stranger(&mut st, shared.id);
            shared.set_trusted();
        }
    }

    /// The connection's socket closed: it leaves every count (unless evicted already).
    fn release(&self, shared: &conn::Shared) {
        let mut st = self.lock();
        if shared.uncount() {
            self.forget_stranger(&mut st, shared.id);
            st.total -= 1;
        }
    }

    fn warn_now_and_then(&self, what: &str, (total, strangers): (usize, usize)) {
        let now = self.now_ms();
        let last = self.counters.last_warn_ms.load(Ordering::Relaxed);
        if last != 0 && now.saturating_sub(last) < WARN_EVERY.as_millis() as u64 {
            return;
        }
        self.counters
            .last_warn_ms
            .store(now.max(1), Ordering::Relaxed);
        tracing::warn!(
            what,
            total,
            strangers,
            evicted = self.counters.evicted.load(Ordering::Relaxed),
            refused = self.counters.refused.load(Ordering::Relaxed),
            "connection limits reached: stale unauthenticated connections are being closed and newcomers refused (see --max-connections, --max-pending)"
        );
    }
}

/// The id of the stranger whose last progress is oldest, if that is older than `grace`.
fn stalest<'a>(
    candidates: impl Iterator<Item = &'a Arc<conn::Shared>>,
    now: u64,
    grace: u64,
) -> Option<u64> {
    candidates
        .map(|c| (c.progress_ms(), c.id))
        .min()
        .filter(|(at, _)| now.saturating_sub(*at) >= grace)
        .map(|(_, id)| id)
}

#[cfg(test)]
mod tests;
