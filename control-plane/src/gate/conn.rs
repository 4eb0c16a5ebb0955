//! One admitted connection: its phase, the deadline the phase sets, its last step forward (what
//! eviction orders strangers by), and the signal that closes it.
//!
//! | phase | entered | deadline |
//! |---|---|---|
//! | `Head` | accepted (TLS handshake included), or first byte after a quiet spell | that moment + header timeout |
//! | `Body` | head read, body still coming | the same deadline as its head |
//! | `Handling` | request received, handler running | none: handlers bound themselves |
//! | `Quiet` | response ready (then written, then idle) | last byte moved + idle timeout |
//! | `Upgraded` | `101 Switching Protocols` | the WebSocket task's own (agent handshake) |
//!
//! Besides its phase, a connection has a *turn*: the server's while it owes work (accepted but
//! not yet looked at, a handler running, a handshake message being checked), the client's while
//! the server waits for it. Only a stranger whose turn it is can be evicted, the one whose turn
//! began longest ago first: a busy server (a connect storm) never evicts the agents it has
//! not got to yet, and an idle or slowloris client is the first to go. A byte trickled into a
//! head moves neither its deadline nor its turn.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

use super::{AddrKey, Gate};

/// Where a connection is in its life; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Head = 0,
    Body = 1,
    Handling = 2,
    Quiet = 3,
    Upgraded = 4,
}

impl Phase {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Head,
            1 => Self::Body,
            2 => Self::Handling,
            3 => Self::Quiet,
            _ => Self::Upgraded,
        }
    }
}

/// The state the gate and the connection's tasks share. Times are the gate's milliseconds.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) id: u64,
    pub(super) addr: AddrKey,
    phase: AtomicU8,
    /// When the current `Head` (and its `Body`) began.
    since_ms: AtomicU64,
    /// When the client's turn began (or a download last moved).
    progress_ms: AtomicU64,
    /// The server owes work: not evictable.
    server_turn: AtomicBool,
    last_io_ms: AtomicU64,
    trusted: AtomicBool,
    /// Still in the gate's counts (false once evicted or released).
    counted: AtomicBool,
    killed: AtomicBool,
    /// Woken on every phase change and on eviction.
    notify: Notify,
}

impl Shared {
    pub(super) fn new(id: u64, addr: AddrKey, now: u64) -> Self {
        Self {
            id,
            addr,
            phase: AtomicU8::new(Phase::Head as u8),
            since_ms: AtomicU64::new(now),
            progress_ms: AtomicU64::new(now),
            // Accepted, not yet looked at: the server's turn.
            server_turn: AtomicBool::new(true),
            last_io_ms: AtomicU64::new(now),
            trusted: AtomicBool::new(false),
            counted: AtomicBool::new(true),
            killed: AtomicBool::new(false),
            notify: Notify::new(),
        }
    }

    /// When the client's turn began, if it is the client's turn.
    pub(super) fn waiting_since_ms(&self) -> Option<u64> {
        (!self.server_turn.load(Ordering::Relaxed))
            .then(|| self.progress_ms.load(Ordering::Relaxed))
    }

    pub(super) fn is_counted(&self) -> bool {
        self.counted.load(Ordering::Relaxed)
    }

    pub(super) fn is_trusted(&self) -> bool {
        self.trusted.load(Ordering::Relaxed)
    }

    pub(super) fn set_trusted(&self) {
        self.trusted.store(true, Ordering::Relaxed);
    }

    /// Leaves the counts; true if it was still in them.
    pub(super) fn uncount(&self) -> bool {
        self.counted.swap(false, Ordering::Relaxed)
    }

    pub(super) fn kill(&self) {
        self.counted.store(false, Ordering::Relaxed);
        self.killed.store(true, Ordering::Relaxed);
        self.notify.notify_waiters();
    }
}

#[derive(Debug)]
struct Handle {
    gate: Arc<Gate>,
    shared: Arc<Shared>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.gate.release(&self.shared);
    }
}

/// An admitted connection. The socket wrapper holds one, so the connection stays counted until
/// its socket closes; requests and WebSocket tasks hold clones to trust it or wait for eviction.
#[derive(Debug, Clone)]
pub struct Conn(Arc<Handle>);

impl Conn {
    pub(super) fn new(gate: Arc<Gate>, shared: Arc<Shared>) -> Self {
        Self(Arc::new(Handle { gate, shared }))
    }

    fn shared(&self) -> &Shared {
        &self.0.shared
    }

    fn now(&self) -> u64 {
        self.0.gate.now_ms()
    }

    pub fn phase(&self) -> Phase {
        Phase::from_u8(self.shared().phase.load(Ordering::Relaxed))
    }

    fn set_phase(&self, phase: Phase) {
        self.shared().phase.store(phase as u8, Ordering::Relaxed);
        self.shared().notify.notify_waiters();
    }

    /// The connection proved itself (authenticated agent, live session): never evicted, no
    /// longer counted as a stranger.
    pub fn trust(&self) {
        self.0.gate.trust(self.shared());
    }

    /// The server owes work (a request or handshake message to handle): not evictable.
    pub fn server_turn(&self) {
        self.shared().server_turn.store(true, Ordering::Relaxed);
    }

    /// The server waits for the client from now on (the connection was looked at, an answer
    /// or a challenge was sent): evictable once the wait is the longest.
    pub fn client_turn(&self) {
        let s = self.shared();
        s.progress_ms.store(self.now(), Ordering::Relaxed);
        s.server_turn.store(false, Ordering::Relaxed);
    }

    pub fn is_killed(&self) -> bool {
        self.shared().killed.load(Ordering::Relaxed)
    }

    /// Resolves once the connection is evicted (or at once if it was).
    pub async fn killed(&self) {
        loop {
            let notified = self.shared().notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_killed() {
                return;
            }
            notified.await;
        }
    }

    pub(super) fn on_read(&self, n: usize) {
        let phase = self.phase();
        // A WebSocket's traffic is its own task's business (and the log pipeline's hot path).
        if n == 0 || phase == Phase::Upgraded {
            return;
        }
        let now = self.now();
        self.shared().last_io_ms.store(now, Ordering::Relaxed);
        if phase == Phase::Quiet {
            // The first byte of the next request: its head must be in within the timeout.
            self.shared().since_ms.store(now, Ordering::Relaxed);
            self.set_phase(Phase::Head);
        }
    }

    pub(super) fn on_write(&self, n: usize) {
        let phase = self.phase();
        if n == 0 || phase == Phase::Upgraded {
            return;
        }
        let now = self.now();
        self.shared().last_io_ms.store(now, Ordering::Relaxed);
        if phase == Phase::Quiet {
            // A response on its way (a download): the client is taking it.
            self.shared().progress_ms.store(now, Ordering::Relaxed);
        }
    }

    /// hyper read a request's head; `has_body` if a body follows (the client's to send).
    pub(crate) fn request_started(&self, has_body: bool) {
        if has_body {
            self.client_turn();
            self.set_phase(Phase::Body);
        } else {
            self.server_turn();
            self.set_phase(Phase::Handling);
        }
    }

    pub(crate) fn body_done(&self) {
        if self.phase() == Phase::Body {
            self.server_turn();
            self.set_phase(Phase::Handling);
        }
    }

    /// The handler answered; `upgrade` if with `101 Switching Protocols` (then the client
    /// speaks first, too).
    pub(crate) fn response_ready(&self, upgrade: bool) {
        self.shared()
            .last_io_ms
            .store(self.now(), Ordering::Relaxed);
        self.client_turn();
        self.set_phase(if upgrade {
            Phase::Upgraded
        } else {
            Phase::Quiet
        });
    }

    /// When the current phase's deadline falls, in the gate's milliseconds.
    fn deadline_ms(&self) -> Option<u64> {
        let limits = self.0.gate.limits();
        let ms = |d: Duration| d.as_millis() as u64;
        let s = self.shared();
        match self.phase() {
            Phase::Head | Phase::Body => {
                Some(s.since_ms.load(Ordering::Relaxed) + ms(limits.header_timeout))
            }
            Phase::Quiet => Some(s.last_io_ms.load(Ordering::Relaxed) + ms(limits.idle_timeout)),
            Phase::Handling | Phase::Upgraded => None,
        }
    }

    /// The phase whose deadline has passed, if one has.
    pub fn expired(&self) -> Option<Phase> {
        let phase = self.phase();
        self.deadline_ms()
            .filter(|d| self.now() >= *d)
            .map(|_| phase)
    }

    /// Waits for a phase change, an eviction, or the current deadline.
    async fn changed_or_due(&self) {
        let notified = self.shared().notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.is_killed() {
            return;
        }
        match self.deadline_ms() {
            Some(at) => {
                let wait = Duration::from_millis(at.saturating_sub(self.now()));
                tokio::select! {
                    _ = notified => {}
                    _ = tokio::time::sleep(wait) => {}
                }
            }
            None => notified.await,
        }
    }
}

/// Why [`supervise`] stopped a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The phase's deadline passed.
    TimedOut(Phase),
    /// Evicted to make room for a newcomer.
    Evicted,
}

/// Runs `fut` (a TLS handshake, a connection's HTTP) until it ends, the connection's deadline
/// passes or it is evicted; the caller then drops it, which closes the socket.
pub async fn supervise<F: Future>(conn: &Conn, fut: F) -> Result<F::Output, Stopped> {
    tokio::pin!(fut);
    loop {
        if conn.is_killed() {
            return Err(Stopped::Evicted);
        }
        if let Some(phase) = conn.expired() {
            return Err(Stopped::TimedOut(phase));
        }
        tokio::select! {
            out = &mut fut => return Ok(out),
            _ = conn.changed_or_due() => {}
        }
    }
}
