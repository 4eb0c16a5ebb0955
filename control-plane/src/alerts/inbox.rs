//! What the alerts' thread has still to look at: per node, the observations not yet taken,
//! merged as they arrive ([`Pending`]). A node that reports ten times while the thread is busy
//! costs one evaluation, nothing is ever dropped (the inbox holds at most one entry per node,
//! so it cannot outgrow the fleet), and the socket's tasks only take a short lock: no
//! allocation in a queue, and a wakeup only when the thread was waiting with nothing to do.
//!
//! Merging keeps what the rules need: the latest of each part (disks, memory, load, services,
//! backups), and every change of the node's online state in order with its time
//! ([`Pending::online`]), so that "offline for 2 min" counts from the disconnection and a node
//! that came back in between is seen to have come back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::engine::{Engine, Transition};
use super::observation::Observation;
use super::rules::RuleSet;

/// Most online changes kept for one node between two takes; past that the oldest blip (an
/// off-and-on or on-and-off pair after the first change) is merged away. A node reconnects
/// at most a few times a second, and the thread takes its inbox many times a second.
const MOST_CHANGES: usize = 64;

/// A node's observations not yet evaluated, merged.
#[derive(Debug, Default, PartialEq)]
pub struct Pending {
    /// Each change of the online state, in order, with its time (consecutive equal states
    /// are kept once, at the first one's time: a second "offline" does not restart the count).
    pub online: Vec<(bool, u64)>,
    /// The latest of every other part (`online` is always `None` here).
    pub facts: Observation,
}

impl Pending {
    /// Merges `obs`, said after what is here.
    pub fn merge(&mut self, obs: Observation) {
        let Observation {
            at,
            online,
            disks,
            memory,
            load1,
            cores,
            services,
            backups,
        } = obs;
        if let Some(online) = online
            && self.online.last().is_none_or(|(was, _)| *was != online)
        {
            if self.online.len() >= MOST_CHANGES {
                // [a, b, a, b, …]: removing the pair after the first leaves the order intact.
                self.online.drain(1..3);
            }
            self.online.push((online, at));
        }
        let f = &mut self.facts;
        let said = disks.is_some()
            || memory.is_some()
            || load1.is_some()
            || cores.is_some()
            || services.is_some()
            || backups.is_some();
        if said {
            f.at = f.at.max(at);
        }
        if disks.is_some() {
            f.disks = disks;
        }
        if memory.is_some() {
            f.memory = memory;
        }
        if load1.is_some() {
            f.load1 = load1;
        }
        if cores.is_some() {
            f.cores = cores;
        }
        if services.is_some() {
            f.services = services;
        }
        if backups.is_some() {
            f.backups = backups;
        }
    }
}

/// What the thread takes at once.
#[derive(Debug, Default)]
pub struct Batch {
    /// Nodes removed from Cairn (before any observation below, which came after).
    pub forget: Vec<String>,
    /// The rules, overrides or mutes changed.
    pub reload: bool,
    /// Each node's observations, merged.
    pub nodes: Vec<(String, Pending)>,
}

impl Batch {
    /// Nothing to evaluate.
    pub fn is_empty(&self) -> bool {
        self.forget.is_empty() && !self.reload && self.nodes.is_empty()
    }
}

#[derive(Debug, Default)]
struct State {
    batch: Batch,
    /// Where each node's entry is in `batch.nodes`.
    index: HashMap<String, usize>,
    /// The thread is waiting for something to do.
    waiting: bool,
    /// The thread is gone: nothing will be taken.
    closed: bool,
}

/// The inbox: filled by the sockets' tasks and the API, taken by the alerts' thread.
#[derive(Debug, Default)]
pub struct Inbox {
    state: Mutex<State>,
    ready: Condvar,
    /// Observations merged into one already waiting for their node, since the start.
    coalesced: AtomicU64,
    /// Nodes waiting to be evaluated at the last put or take.
    depth: AtomicUsize,
}

impl Inbox {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts one observation of `node_id`; false when the thread is gone.
    pub fn observe(&self, node_id: &str, obs: Observation) -> bool {
        let mut s = self.lock();
        if s.closed {
            return false;
        }
        let State { batch, index, .. } = &mut *s;
        if let Some(&i) = index.get(node_id) {
            batch.nodes[i].1.merge(obs);
            self.coalesced.fetch_add(1, Ordering::Relaxed);
        } else {
            let mut p = Pending::default();
            p.merge(obs);
            index.insert(node_id.to_owned(), batch.nodes.len());
            batch.nodes.push((node_id.to_owned(), p));
        }
        self.depth.store(batch.nodes.len(), Ordering::Relaxed);
        self.wake(s)
    }

    /// The rules changed: read them again.
    pub fn reload(&self) -> bool {
        let mut s = self.lock();
        s.batch.reload = true;
        self.wake(s)
    }

    /// `node_id` was removed: what it said before is dropped with it.
    pub fn forget(&self, node_id: &str) -> bool {
        let mut s = self.lock();
        let State { batch, index, .. } = &mut *s;
        if let Some(i) = index.remove(node_id) {
            batch.nodes.swap_remove(i);
            if let Some((moved, _)) = batch.nodes.get(i) {
                index.insert(moved.clone(), i);
            }
        }
        if !batch.forget.iter().any(|n| n == node_id) {
            batch.forget.push(node_id.to_owned());
        }
        self.depth.store(batch.nodes.len(), Ordering::Relaxed);
        self.wake(s)
    }

    fn wake(&self, s: MutexGuard<'_, State>) -> bool {
        let (waiting, closed) = (s.waiting, s.closed);
        drop(s);
        if waiting {
            self.ready.notify_one();
        }
        !closed
    }

    /// Everything waiting, or an empty batch after `wait` with nothing.
    pub fn take(&self, wait: Duration) -> Batch {
        let mut s = self.lock();
        if s.batch.is_empty() && !wait.is_zero() {
            s.waiting = true;
            s = self
                .ready
                .wait_timeout_while(s, wait, |s| s.batch.is_empty())
                .unwrap_or_else(|e| e.into_inner())
                .0;
            s.waiting = false;
        }
        s.index.clear();
        self.depth.store(0, Ordering::Relaxed);
        std::mem::take(&mut s.batch)
    }

    /// The thread stopped: later puts say so.
    pub fn close(&self) {
        self.lock().closed = true;
    }

    /// Observations merged into one already waiting, since the start.
    pub fn coalesced(&self) -> u64 {
        self.coalesced.load(Ordering::Relaxed)
    }

    /// Nodes with observations waiting.
    pub fn depth(&self) -> usize {
        self.depth.load(Ordering::Relaxed)
    }
}

/// Evaluates one node's observations taken from the inbox: each change of its online state in
/// order, the `offline` rule evaluated at the time of the change that followed (so a node back
/// within the rule's duration does not fire, however late the thread is), then its latest
/// facts against only the rules they can change. `apply` stores each step's transitions before
/// the next step (an alert that fires gets its id before it can resolve).
pub fn evaluate(
    engine: &mut Engine,
    set: &RuleSet,
    node: &str,
    pending: Pending,
    now: u64,
    mut apply: impl FnMut(&mut Engine, Vec<Transition>),
) {
    let Pending { online, facts } = pending;
    for (i, &(is_online, at)) in online.iter().enumerate() {
        let changed = engine.observe(node, Observation::online(at, is_online));
        if changed.is_empty() {
            continue;
        }
        let until = online.get(i + 1).map_or(now, |next| next.1.min(now));
        let changes = engine.evaluate_only(set, node, changed, until);
        if !changes.is_empty() {
            apply(engine, changes);
        }
    }
    let changed = engine.observe(node, facts);
    if !changed.is_empty() {
        let changes = engine.evaluate_only(set, node, changed, now);
        if !changes.is_empty() {
            apply(engine, changes);
        }
    }
}

#[cfg(test)]
#[path = "inbox_tests.rs"]
mod tests;
