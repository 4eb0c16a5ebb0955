//! Who may hold a connection (threats.md 34). Every accepted connection is admitted here first and
//! counted until its socket closes. A connection is a *stranger* until it proves something: an
//! agent that completed `AUTH_OK`, or a request or dashboard socket carrying a live session
//! ([`Conn::trust`]). Strangers are capped per client address and as a pool; every connection
//! counts toward the overall cap.
//!
//! When a cap is reached the newcomer is not simply refused, which would let a few thousand
//! idle sockets lock agents out: the *stalest* stranger (the one the server has waited for
//! longest, see [`Conn::client_turn`]) is evicted to make room, so a new agent still gets in
//! and an attacker's idle sockets are the ones that go. Trusted connections are never
//! evicted, nor strangers the server owes work ([`Conn::server_turn`]), nor one the server
//! waited for only briefly: evicting handshakes about to finish would only waste them. Then:
//!
//! - an address past its cap has its newcomer refused (unless one of its strangers has been
//!   still for [`ADDRESS_GRACE`]): only that address waits;
//! - a full pool makes the newcomer *wait* ([`Refused::Full`]): the accept loop pauses and
//!   later arrivals wait in the kernel's listen queue, in order, until a stranger leaves, proves
//!   itself or has been still for [`POOL_GRACE`]. A connect storm of 10,000 real agents (all
//!   moving, the server busy) is served in arrival order instead of being turned away and
//!   retried; an idle flood waits at most [`POOL_GRACE`] for its first evictions.
//!
//! [`conn`] holds a connection's phase and deadlines, [`io`] the socket and body wrappers that
//! move it between phases, [`supervise`] the task side that enforces them.

mod conn;
mod io;

pub use conn::{Conn, supervise};
pub use io::{TrackedBody, TrackedIo};

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::limits::Limits;

/// A stranger still for this long may be evicted for a newcomer from its own address.
pub const ADDRESS_GRACE: Duration = Duration::from_secs(1);

/// A stranger still for this long may be evicted for any newcomer. Longer than
/// [`ADDRESS_GRACE`]: in a connect storm an agent may wait seconds for the server's turn.
pub const POOL_GRACE: Duration = Duration::from_secs(3);

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

/// Why a newcomer was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Its address holds its share of strangers, all of them moving: turned away.
    Address,
    /// The stranger pool (or the total, with strangers in it) is full of strangers that are
    /// all moving: ask again after `retry_in`, or when [`Gate::room`] says a place freed.
    Full { retry_in: Duration },
    /// Every connection is held by an agent or a dashboard: turned away.
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
    address_grace: Duration,
    pool_grace: Duration,
    /// Woken when a stranger leaves the counts (closed, evicted or trusted).
    room: tokio::sync::Notify,
    epoch: Instant,
    next_id: AtomicU64,
    state: Mutex<State>,
    counters: Counters,
}

impl Gate {
    pub fn new(limits: Limits) -> Arc<Self> {
        Self::with_grace(limits, ADDRESS_GRACE, POOL_GRACE)
    }

    /// [`Gate::new`] with other graces (tests).
    pub fn with_grace(limits: Limits, address_grace: Duration, pool_grace: Duration) -> Arc<Self> {
        Arc::new(Self {
            limits,
            address_grace,
            pool_grace,
            room: tokio::sync::Notify::new(),
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

    /// Admits a connection from `peer`, evicting the stalest stranger where a cap is reached;
    /// see the module documentation for when it is refused or must wait instead.
    pub fn admit(self: &Arc<Self>, peer: SocketAddr) -> Result<Conn, Refused> {
        let key = AddrKey::of(peer.ip());
        let now = self.now_ms();
        let mut st = self.lock();
        let evicted_before = self.counters.evicted.load(Ordering::Relaxed);
        let result = self.make_room(&mut st, key, now);
        if let Err(why) = result {
            let counts = (st.total, st.strangers.len());
            drop(st);
            if !matches!(why, Refused::Full { .. }) {
                self.counters.refused.fetch_add(1, Ordering::Relaxed);
            }
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

    /// Evicts what a newcomer from `key` needs evicted, or says why it cannot come in now.
    fn make_room(&self, st: &mut State, key: AddrKey, now: u64) -> Result<(), Refused> {
        let ms = |d: Duration| d.as_millis() as u64;
        if st.by_address.get(&key).map_or(0, Vec::len) >= self.limits.max_pending_per_address {
            let ids = st.by_address.get(&key).cloned().unwrap_or_default();
            let here = ids.iter().filter_map(|id| st.strangers.get(id));
            match stalest(here) {
                Some((at, id)) if now.saturating_sub(at) >= ms(self.address_grace) => {
                    self.evict(st, id);
                }
                _ => return Err(Refused::Address),
            }
        }
        let full = |st: &State| {
            st.strangers.len() >= self.limits.max_pending || st.total >= self.limits.max_connections
        };
        if full(st) {
            match stalest(st.strangers.values()) {
                Some((at, id)) if now.saturating_sub(at) >= ms(self.pool_grace) => {
                    self.evict(st, id);
                }
                Some((at, _)) => {
                    let still = Duration::from_millis(now.saturating_sub(at));
                    return Err(Refused::Full {
                        retry_in: self.pool_grace.saturating_sub(still),
                    });
                }
                // Strangers the server owes work: they finish or time out soon.
                None if !st.strangers.is_empty() => {
                    return Err(Refused::Full {
                        retry_in: self.pool_grace,
                    });
                }
                None => return Err(Refused::Total),
            }
        }
        Ok(())
    }

    /// Resolves when a stranger may have left the counts since the last time it resolved.
    pub async fn room(&self) {
        self.room.notified().await;
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
        self.room.notify_one();
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
            self.room.notify_one();
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
            "connection limits reached: the unauthenticated connections still longest are closed to make room, newcomers wait or are refused (see --max-connections, --max-pending, --max-pending-per-address)"
        );
    }
}

/// Since when the server has waited for the stalest of `candidates` (those it waits for),
/// and its id.
fn stalest<'a>(candidates: impl Iterator<Item = &'a Arc<conn::Shared>>) -> Option<(u64, u64)> {
    candidates
        .filter_map(|c| Some((c.waiting_since_ms()?, c.id)))
        .min()
}

#[cfg(test)]
mod tests;
