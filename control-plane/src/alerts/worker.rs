//! The two threads of the alerts: the evaluator (owns the [`Engine`], takes what the [`Inbox`]
//! holds — each node's observations merged — and evaluates only the rules they can change;
//! evaluates every node each tick) and the sender (delivers notices to every channel, retrying
//! each failed delivery a bounded number of times, the last failure recorded on the alert).

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::db::{AlertRow, Db};
use super::engine::{Engine, Open, Transition};
use super::inbox::{self, Batch, Inbox};
use super::queue::{self, Receiver, Sender};
use super::rules::RuleSet;
use super::{QUEUE, deliver, notice, read};
use crate::store::SharedStore;

/// Tries per channel for one notice, and the pause before each retry (doubled each time).
const ATTEMPTS: u32 = 3;
const FIRST_PAUSE: Duration = Duration::from_secs(2);

/// How long the history keeps an alert after it ended, and how often it is pruned.
const KEEP_SECS: u64 = 90 * 86_400;
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// One notice to send: the alert, and its value when it resolved.
type Job = (AlertRow, Option<f64>);

pub(super) fn spawn(
    db: Arc<Db>,
    store: SharedStore,
    rules: Arc<RwLock<RuleSet>>,
    tick: Duration,
    nodes: &[String],
    inbox: Arc<Inbox>,
) -> anyhow::Result<()> {
    let (send_tx, send_rx) = queue::bounded::<Job>(QUEUE);
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
    std::thread::Builder::new()
        .name("alert-sender".into())
        .spawn(move || send_loop(&send_rx, &db, &store))?;
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
    send: &Sender<Job>,
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
        take_in(engine, db, rules, batch, send);
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
fn take_in(
    engine: &mut Engine,
    db: &Db,
    rules: &RwLock<RuleSet>,
    batch: Batch,
    send: &Sender<Job>,
) {
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
    send: &Sender<Job>,
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
                };
                db.open_alert(&row).map(|id| {
                    row.id = id;
                    engine.opened(&key, Open { alert_id: id, notified: !muted });
                    tracing::info!(alert = id, rule = key.0.name(), node_id = %key.1, subject = %key.2, muted, "alert firing");
                    if !muted {
                        queue(send, (row, None));
                    }
                })
            }
            Transition::Resolved { key, open, value } => {
                db.end_alert(open.alert_id, "resolved", now).and_then(|()| {
                    tracing::info!(alert = open.alert_id, rule = key.0.name(), node_id = %key.1, "alert resolved");
                    // Only a firing that was notified gets its resolution, and not while muted.
                    if open.notified && !set.muted(key.0, &key.1, now)
                        && let Some(row) = db.alert(open.alert_id)?
                    {
                        queue(send, (row, Some(value)));
                    }
                    Ok(())
                })
            }
            Transition::Closed { open, .. } => db.end_alert(open.alert_id, "closed", now),
        };
        if let Err(error) = result {
            tracing::error!(%error, "could not store an alert");
        }
    }
}

fn queue(send: &Sender<Job>, job: Job) {
    if send.try_send(job).is_err() {
        tracing::error!("the alert sender is behind; a notice was not queued");
    }
}

fn send_loop(rx: &Receiver<Job>, db: &Db, store: &SharedStore) {
    while let Ok((alert, resolved)) = rx.recv() {
        let channels = match db.channels() {
            Ok(c) => c,
            Err(error) => {
                tracing::error!(%error, "could not read the alert channels");
                let _ = db.delivery(
                    alert.id,
                    Some("the channels could not be read; see the control plane's log"),
                );
                continue;
            }
        };
        let name = store
            .node(&alert.node_id)
            .ok()
            .flatten()
            .map_or_else(|| alert.node_id.clone(), |n| n.name);
        let notice = notice::of_alert(&alert, &name, resolved);
        let mut failures = Vec::new();
        for ch in &channels {
            let mut pause = FIRST_PAUSE;
            let mut last = Err(String::new());
            for attempt in 1..=ATTEMPTS {
                last = deliver::send(ch, &notice);
                if last.is_ok() || attempt == ATTEMPTS {
                    break;
                }
                std::thread::sleep(pause);
                pause *= 2;
            }
            let error = last.err();
            let _ = db.channel_result(ch.id, error.as_deref());
            if let Some(e) = error {
                tracing::warn!(alert = alert.id, channel = ch.id, error = %e, "an alert notice was not delivered");
                failures.push(format!("{}: {e} (tried {ATTEMPTS} times)", ch.name));
            }
        }
        let error = (!failures.is_empty()).then(|| failures.join("; "));
        if let Err(error) = db.delivery(alert.id, error.as_deref()) {
            tracing::error!(%error, "could not record an alert's delivery");
        }
    }
}
