//! The alerts' threads: the evaluator (owns the [`Engine`], takes what the [`Inbox`] holds —
//! each node's observations merged — and evaluates only the rules they can change; evaluates
//! every node each tick) and the sender (`sender.rs`: one thread per channel, each delivering
//! the notices to its channel, retrying each failed delivery a bounded number of times, the
//! failures recorded on the alert).
//!
//! A notice is stored as pending in the same transaction as the alert's change
//! (`alert_notices`), and leaves that table only once every channel's sender has tried it and
//! the outcome is recorded on the alert: no bound in memory can drop one, and one pending when
//! the process dies is sent after the restart to the channels that had not tried it (at least
//! once: one whose sending was under way may be sent twice). Between the threads passes only a
//! wake-up.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use std::sync::mpsc::{Receiver, SyncSender, TrySendError};

use super::db::{AlertRow, Db};
use super::engine::{Engine, Open, Transition};
use super::inbox::{self, Batch, Inbox};
use super::read;
use super::rules::RuleSet;
use super::sender::{self, Names};
use crate::store::SharedStore;

/// After evaluating what it took, the thread lets the inbox gather this long before it looks
/// again: an alert is evaluated at most this much later than it could be.
const GATHER: Duration = Duration::from_millis(50);

/// How long the history keeps an alert after it ended, and how often it is pruned.
const KEEP_SECS: u64 = 90 * 86_400;
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Tells the sender that notices are pending: one wake-up waiting is enough, whatever number
/// of notices came since (they are in the table).
#[derive(Debug, Clone)]
pub(super) struct Wake(SyncSender<()>);

impl Wake {
    pub(super) fn new() -> (Self, Receiver<()>) {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        (Self(tx), rx)
    }

    pub(super) fn wake(&self) {
        match self.0.try_send(()) {
            Ok(()) | Err(TrySendError::Full(())) => {}
            Err(TrySendError::Disconnected(())) => {
                tracing::error!("the alert sender stopped; notices stay pending until a restart");
            }
        }
    }
}

pub(super) fn spawn(
    db: Arc<Db>,
    store: SharedStore,
    rules: Arc<RwLock<RuleSet>>,
    tick: Duration,
    nodes: &[String],
    inbox: Arc<Inbox>,
) -> anyhow::Result<()> {
    let (send_tx, send_rx) = Wake::new();
    let mut engine = Engine::default();
    // Alerts firing when the control plane stopped stay firing, without a second notice.
    for a in db.firing()? {
        if !nodes.contains(&a.node_id) {
            // Its node was removed while the control plane was down.
            db.end_alert(a.id, "closed", cairn_protocol::unix_now())?;
            continue;
        }
        let open = Open {
            alert_id: a.id,
            notified: a.notified,
        };
        engine.restore((a.rule, a.node_id, a.subject), a.fired_at, open);
    }
    let d = Arc::clone(&db);
    std::thread::Builder::new()
        .name("alerts".into())
        .spawn(move || {
            // Whether it returns or panics, later observations are refused and said so.
            let _closed = CloseOnDrop(&inbox);
            evaluate_loop(&inbox, &mut engine, &d, &rules, tick, &send_tx);
        })?;
    let names: Names = Arc::new(move |node: &str| {
        store
            .node(node)
            .ok()
            .flatten()
            .map_or_else(|| node.to_owned(), |n| n.name)
    });
    std::thread::Builder::new()
        .name("alert-sender".into())
        .spawn(move || sender::send_loop(&send_rx, &db, &names, sender::PACE))?;
    Ok(())
}

struct CloseOnDrop<'a>(&'a Inbox);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

fn evaluate_loop(
    inbox: &Inbox,
    engine: &mut Engine,
    db: &Db,
    rules: &RwLock<RuleSet>,
    tick: Duration,
    send: &Wake,
) {
    let mut last_tick = Instant::now();
    let mut last_prune: Option<Instant> = None;
    loop {
        if last_prune.is_none_or(|p| p.elapsed() >= PRUNE_EVERY) {
            last_prune = Some(Instant::now());
            let before = cairn_protocol::unix_now().saturating_sub(KEEP_SECS);
            if let Err(error) = db.prune(before) {
                tracing::error!(%error, "could not prune the alerts' history");
            }
        }
        let batch = inbox.take(tick.saturating_sub(last_tick.elapsed()));
        let took = !batch.is_empty();
        take_in(engine, db, rules, batch, send);
        if took {
            // Lets what comes next gather in the inbox: while the thread sleeps nobody wakes
            // it, so a fan-out or a reconnect storm (tens of thousands of observations in
            // seconds) costs a wake-up every GATHER, not one per observation (a futex wake on
            // the socket's thread and a switch to this one: a tenth of the control plane's CPU
            // in a fan-out of 10,000, BENCHMARKS.md issue 19).
            std::thread::sleep(GATHER);
        }
        if last_tick.elapsed() >= tick {
            // What came meanwhile first: a node back online is not counted offline.
            take_in(engine, db, rules, inbox.take(Duration::ZERO), send);
            last_tick = Instant::now();
            let set = read(rules);
            let now = cairn_protocol::unix_now();
            let changes = engine.evaluate_all(&set, now);
            apply(engine, db, &set, changes, now, send);
        }
    }
}

/// Evaluates what one take of the inbox holds: nodes forgotten, each node's observations, the
/// rules read again.
fn take_in(engine: &mut Engine, db: &Db, rules: &RwLock<RuleSet>, batch: Batch, send: &Wake) {
    let mut set = read(rules);
    let now = cairn_protocol::unix_now();
    for node in batch.forget {
        let changes = engine.forget(&node);
        apply(engine, db, &set, changes, now, send);
    }
    for (node, pending) in batch.nodes {
        inbox::evaluate(engine, &set, &node, pending, now, |engine, changes| {
            apply(engine, db, &set, changes, now, send);
        });
    }
    if batch.reload {
        match db.rule_set() {
            Ok(fresh) => {
                *rules.write().unwrap_or_else(|e| e.into_inner()) = fresh.clone();
                set = fresh;
                let changes = engine.evaluate_all(&set, now);
                apply(engine, db, &set, changes, now, send);
            }
            Err(error) => tracing::error!(%error, "could not read the alert rules"),
        }
    }
}

/// Stores what changed and queues the notices due.
fn apply(
    engine: &mut Engine,
    db: &Db,
    set: &RuleSet,
    changes: Vec<Transition>,
    now: u64,
    send: &Wake,
) {
    for t in changes {
        let result = match t {
            Transition::Fired {
                key,
                value,
                threshold,
            } => {
                let muted = set.muted(key.0, &key.1, now);
                let mut row = AlertRow {
                    id: 0,
                    rule: key.0,
                    node_id: key.1.clone(),
                    subject: key.2.clone(),
                    state: "firing".into(),
                    value,
                    threshold,
                    fired_at: now,
                    resolved_at: None,
                    notified: !muted,
                    delivery_error: None,
                    delivery_failures: Vec::new(),
                };
                db.open_alert(&row).map(|id| {
                    row.id = id;
                    engine.opened(&key, Open { alert_id: id, notified: !muted });
                    tracing::info!(alert = id, rule = key.0.name(), node_id = %key.1, subject = %key.2, muted, "alert firing");
                    if !muted {
                        send.wake();
                    }
                })
            }
            Transition::Resolved { key, open, value } => {
                // Only a firing that was notified gets its resolution, and not while muted.
                let notify = open.notified && !set.muted(key.0, &key.1, now);
                db.resolve_alert(open.alert_id, now, value, notify).map(|()| {
                    tracing::info!(alert = open.alert_id, rule = key.0.name(), node_id = %key.1, "alert resolved");
                    if notify {
                        send.wake();
                    }
                })
            }
            Transition::Closed { open, .. } => db.end_alert(open.alert_id, "closed", now),
        };
        if let Err(error) = result {
            tracing::error!(%error, "could not store an alert");
        }
    }
}
