//! Alerts: rules evaluated against what each node is observed to be, notifications to
//! channels. Everything enters through [`Alerts::observe`] with an [`Observation`] (today: each
//! `SERVER_STATUS` the control plane relays, and an agent's socket opening or closing; the
//! metrics sampler's samples at merge time). They wait in an [`inbox`] that merges each node's
//! observations until the thread takes them (never dropping one, keeping every online change in
//! order with its time). One thread ([`worker`]) owns the state machine ([`engine::Engine`]),
//! so a node's observations are evaluated in order, each against only the rules it can change;
//! it also evaluates every node each tick (10 s by default), which is what fires "offline" and
//! the rules with a duration. One thread per channel ([`sender`]) delivers the notices
//! ([`deliver`]) to its channel, oldest first, retried a bounded number of times with each
//! failure recorded on the alert, so a channel that hangs holds back only its own notices; a
//! notice waits as a row of the database ([`queue`]), stored with the alert's change, never in
//! a bounded queue, and each channel's place among them is stored too.
//!
//! - [`rules`]: the rules, their defaults, nodes' overrides, mutes.
//! - [`db`]: their tables (the notices pending among them); [`seal`]: channel secrets sealed
//!   at rest; [`channels`]: channels checked and shown masked; [`notice`]: what a notification
//!   says.

pub mod channels;
pub mod db;
mod deliver;
mod engine;
mod inbox;
mod notice;
mod observation;
mod queue;
mod queue_schema;
pub mod rules;
pub mod seal;
mod sender;
#[cfg(test)]
mod test_http;
mod worker;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub use deliver::signature;
pub use observation::Observation;

use crate::store::SharedStore;

/// The shared handle: the page's handlers and the sockets use it.
#[derive(Debug)]
pub struct Alerts {
    pub db: Arc<db::Db>,
    inbox: Arc<inbox::Inbox>,
    /// The worker's end was logged (once, not at every observation after it).
    stopped: AtomicBool,
    /// The rule set the worker evaluates with (the API reads it too).
    pub rules: Arc<RwLock<rules::RuleSet>>,
}

impl Alerts {
    /// Opens the alerts' tables and starts the worker (evaluating every `tick`) and the
    /// delivery thread. `nodes` are the enrolled nodes: offline until their agent connects.
    pub fn start(
        data_dir: &Path,
        store: SharedStore,
        tick: Duration,
        nodes: Vec<String>,
    ) -> anyhow::Result<Self> {
        let db = Arc::new(db::Db::open(data_dir)?);
        let rules = Arc::new(RwLock::new(db.rule_set()?));
        let inbox = Arc::new(inbox::Inbox::default());
        worker::spawn(
            Arc::clone(&db),
            store,
            Arc::clone(&rules),
            tick,
            &nodes,
            Arc::clone(&inbox),
        )?;
        let alerts = Self {
            db,
            inbox,
            stopped: AtomicBool::new(false),
            rules,
        };
        let now = cairn_protocol::unix_now();
        for node in nodes {
            alerts.observe(&node, Observation::online(now, false));
        }
        Ok(alerts)
    }

    /// Tells the engine what `node_id` is observed to be: merged with what the node said
    /// since the engine last looked, evaluated in order.
    pub fn observe(&self, node_id: &str, obs: Observation) {
        let taken = self.inbox.observe(node_id, obs);
        self.check(taken);
    }

    /// The rules, overrides or mutes were changed in the database.
    pub fn reload(&self) {
        let taken = self.inbox.reload();
        self.check(taken);
    }

    /// The node was removed: its firing alerts are closed.
    pub fn forget(&self, node_id: &str) {
        let taken = self.inbox.forget(node_id);
        self.check(taken);
    }

    fn check(&self, taken: bool) {
        if !taken && !self.stopped.swap(true, Ordering::Relaxed) {
            tracing::error!("the alert engine stopped; alerts are not evaluated");
        }
    }

    /// Nodes whose observations wait for the engine, and the observations merged into one
    /// already waiting since the start (for `/metrics`).
    pub fn backlog(&self) -> (usize, u64) {
        (self.inbox.depth(), self.inbox.coalesced())
    }

    /// Sends a test notice through `ch` once, now (the page's "Send test").
    pub fn test(ch: &channels::Channel) -> Result<(), String> {
        deliver::send(ch, &notice::test(ch))
    }
}

/// The current rule set, for reading.
pub fn read(rules: &RwLock<rules::RuleSet>) -> rules::RuleSet {
    rules.read().unwrap_or_else(|e| e.into_inner()).clone()
}
