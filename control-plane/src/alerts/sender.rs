//! The alert sender: one thread per channel, each going through the pending notices on its
//! own, oldest first, retrying a failed delivery a bounded number of times (each try bounded
//! by `deliver::TIMEOUT`). A webhook that never answers holds back only its own channel's
//! notices; every other channel gets each notice as soon as it is stored, in order.
//!
//! Notices wait as rows (`queue.rs`), each channel's place among them stored as it tries
//! each, so nothing lives only in memory: after a restart every channel goes on where it
//! stood. [`send_loop`] keeps one thread per channel (started when a notice finds a channel
//! without one; a deleted channel's thread ends) and passes the evaluator's wake-ups on.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender};
use std::thread::JoinHandle;
use std::time::Duration;

use super::db::{AlertRow, Db, Failure};
use super::{deliver, notice};

/// How hard a channel is tried with one notice: tries, the pause before the first retry
/// (doubled each time), and how long one try may take.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pace {
    pub attempts: u32,
    pub first_pause: Duration,
    pub timeout: Duration,
}

/// Three tries of at most 15 s, 2 s and 4 s apart: a channel that never answers takes 51 s
/// per notice, and holds back only its own.
pub(super) const PACE: Pace = Pace {
    attempts: 3,
    first_pause: Duration::from_secs(2),
    timeout: deliver::TIMEOUT,
};

/// How many pending notices a channel's thread reads at a time.
const BATCH: usize = 64;

/// A node's name, from its id (notices name the node).
pub(super) type Names = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// One channel's thread and the way to wake it.
struct ChannelSender {
    wake: SyncSender<()>,
    thread: JoinHandle<()>,
}

/// Keeps one sender per channel and passes each wake-up on to all of them; finishes the
/// notices no channel waits for (all of them when there is no channel). Ends when the
/// evaluator is gone (its end of `wake` dropped) and every channel's thread has sent what is
/// pending.
pub(super) fn send_loop(wake: &Receiver<()>, db: &Arc<Db>, names: &Names, pace: Pace) {
    let mut senders: BTreeMap<i64, ChannelSender> = BTreeMap::new();
    loop {
        // A thread ends when its channel is deleted (or, a bug, panics): started again below
        // if its channel is still there.
        senders.retain(|_, s| !s.thread.is_finished());
        match db.channel_ids() {
            Ok(ids) => {
                // A deleted channel's thread ends once idle, its wake-up gone.
                senders.retain(|id, _| ids.contains(id));
                for id in ids {
                    if let std::collections::btree_map::Entry::Vacant(v) = senders.entry(id) {
                        match start(id, db, names, pace) {
                            Ok(s) => {
                                v.insert(s);
                            }
                            Err(error) => {
                                tracing::error!(%error, channel = id, "could not start an alert channel's sender");
                            }
                        }
                    }
                }
            }
            Err(error) => tracing::error!(%error, "could not read the alert channels"),
        }
        if let Err(error) = db.finish_tried() {
            tracing::error!(%error, "could not record the alerts' deliveries");
        }
        for s in senders.values() {
            // Full: it is woken already; gone: it ended, and is started again next time.
            let _ = s.wake.try_send(());
        }
        if wake.recv().is_err() {
            break;
        }
    }
    // Their wake-ups dropped, the threads send what is pending and end.
    let threads: Vec<JoinHandle<()>> = senders.into_values().map(|s| s.thread).collect();
    for t in threads {
        let _ = t.join();
    }
    if let Err(error) = db.finish_tried() {
        tracing::error!(%error, "could not record the alerts' deliveries");
    }
}

fn start(id: i64, db: &Arc<Db>, names: &Names, pace: Pace) -> std::io::Result<ChannelSender> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let (db, names) = (Arc::clone(db), Arc::clone(names));
    let thread = std::thread::Builder::new()
        .name(format!("alert-channel-{id}"))
        .spawn(move || channel_loop(id, &rx, &db, &names, pace))?;
    Ok(ChannelSender { wake: tx, thread })
}

/// Sends channel `id` every notice it has not tried, oldest first, then waits for a wake-up;
/// ends when the channel is deleted, or when nothing is pending and no wake-up can come.
fn channel_loop(id: i64, wake: &Receiver<()>, db: &Db, names: &Names, pace: Pace) {
    loop {
        let mut more = false;
        match db.notices_for(id, BATCH) {
            Ok(batch) => {
                more = !batch.is_empty();
                for (notice, alert, resolved) in batch {
                    let failure = send_one(db, id, &alert, &names(&alert.node_id), resolved, pace);
                    match db.tried(id, notice, failure.as_ref()) {
                        Ok(true) => {}
                        // Deleted while it was being sent: nothing more for it.
                        Ok(false) => return,
                        Err(error) => {
                            tracing::error!(%error, channel = id, "could not record an alert's delivery");
                            // Still pending: tried again after the next wake-up, not in a loop.
                            more = false;
                            break;
                        }
                    }
                }
            }
            Err(error) => {
                tracing::error!(%error, channel = id, "could not read the pending alert notices");
            }
        }
        if !more && wake.recv().is_err() {
            return;
        }
    }
}

/// Sends one notice through channel `id`, read now (an edit applies from the next notice);
/// its failure, `None` when it took it.
fn send_one(
    db: &Db,
    id: i64,
    alert: &AlertRow,
    node_name: &str,
    resolved: Option<f64>,
    pace: Pace,
) -> Option<Failure> {
    let ch = match db.channel(id) {
        Ok(Some(ch)) => ch,
        // Deleted: `Db::tried` records nothing for it.
        Ok(None) => return None,
        Err(error) => {
            tracing::error!(%error, channel = id, "could not read an alert channel");
            return Some(Failure::new(
                "",
                0,
                "the channels could not be read; see the control plane's log",
            ));
        }
    };
    let notice = notice::of_alert(alert, node_name, resolved);
    let mut pause = pace.first_pause;
    let mut last = Err(String::new());
    for attempt in 1..=pace.attempts.max(1) {
        last = deliver::send_within(&ch, &notice, pace.timeout);
        if last.is_ok() || attempt >= pace.attempts {
            break;
        }
        std::thread::sleep(pause);
        pause *= 2;
    }
    let error = last.err()?;
    tracing::warn!(alert = alert.id, channel = id, error = %error, "an alert notice was not delivered");
    Some(Failure::new(&ch.name, pace.attempts, &error))
}

#[cfg(test)]
#[path = "sender_tests.rs"]
mod tests;
