//! Alerts: rules evaluated against what each node is observed to be, notifications to
//! channels. Everything enters through [`Alerts::observe`] with an [`Observation`] (today: each
//! `SERVER_STATUS` the control plane relays, and an agent's socket opening or closing; the
//! metrics sampler's samples at merge time). One thread ([`worker`]) owns the state machine
//! ([`engine::Engine`]), so a node's observations are evaluated in order; it also evaluates
//! every node each tick (10 s by default), which is what fires "offline" and the rules with a
//! duration. Another thread delivers notices ([`deliver`]), each to every channel, retried a
//! bounded number of times with each failure recorded on the alert.
//!
//! - [`rules`]: the rules, their defaults, nodes' overrides, mutes.
//! - [`db`]: their tables; [`seal`]: channel secrets sealed at rest; [`queue`]: the bounded
//!   queues between the threads, allocated as they fill; [`channels`]: channels
//!   checked and shown masked; [`notice`]: what a notification says.

pub mod channels;
pub mod db;
mod deliver;
mod engine;
mod notice;
mod observation;
mod queue;
pub mod rules;
pub mod seal;
mod worker;

use std::path::Path;
use std::sync::mpsc::TrySendError;
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub use deliver::signature;
pub use observation::Observation;

use crate::store::SharedStore;

/// Most observations waiting for the worker; past that one is dropped, and said in the log
/// (the next status of the node brings the same facts).
const QUEUE: usize = 65_536;

/// What the worker is asked to do.
#[derive(Debug)]
enum Cmd {
    Observe(String, Observation),
    /// The rules, overrides or mutes changed: read them again and evaluate every node.
    Reload,
    /// The node was removed from Cairn: close its alerts.
    Forget(String),
}

/// The shared handle: the page's handlers and the sockets use it.
#[derive(Debug)]
pub struct Alerts {
    pub db: Arc<db::Db>,
    tx: queue::Sender<Cmd>,
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
        let tx = worker::spawn(Arc::clone(&db), store, Arc::clone(&rules), tick, &nodes)?;
        let alerts = Self { db, tx, rules };
        let now = cairn_protocol::unix_now();
        for node in nodes {
            alerts.observe(&node, Observation::online(now, false));
        }
        Ok(alerts)
    }

    /// Tells the engine what `node_id` is observed to be; evaluated at once, in order.
    pub fn observe(&self, node_id: &str, obs: Observation) {
        self.send(Cmd::Observe(node_id.to_owned(), obs));
    }

    /// The rules, overrides or mutes were changed in the database.
    pub fn reload(&self) {
        self.send(Cmd::Reload);
    }

    /// The node was removed: its firing alerts are closed.
    pub fn forget(&self, node_id: &str) {
        self.send(Cmd::Forget(node_id.to_owned()));
    }

    fn send(&self, cmd: Cmd) {
        match self.tx.try_send(cmd) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                tracing::warn!("the alert engine is behind; an observation was left out");
            }
            Err(TrySendError::Disconnected(_)) => {
                tracing::error!("the alert engine stopped; alerts are not evaluated");
            }
        }
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
