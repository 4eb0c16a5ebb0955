//! Batched writes of nodes' `last_seen` and `last_status`.
//!
//! Every agent connection, disconnection and `SERVER_STATUS` updates its node's row. One
//! SQLite transaction each (a WAL commit with an fsync) made a reconnect storm or a status
//! fan-out over 10,000 agents wait for 10,000 syncs. Instead, connections hand their updates to
//! one task that takes everything queued so far, keeps the latest per node, and writes it in one
//! transaction. A write that fails (the database busy or locked by another program) is kept,
//! merged with what arrives meanwhile, and retried with a growing pause: nothing is dropped,
//! and memory stays bounded by the number of nodes.
//!
//! An update can carry actions to run once it is stored ([`NodeWriter::status`]): the control
//! plane shows a status to dashboards only after it is in the database, so the node list never
//! lags behind what a dashboard saw.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::store::{self, NodeUpdate, SharedStore};

/// Run after the update that carried it is stored.
pub type AfterStored = Box<dyn FnOnce() + Send>;

enum Write {
    Seen(String, u64),
    Status(String, String, u64, AfterStored),
}

/// Most node rows written in one transaction.
const MAX_BATCH: usize = 4096;
const RETRY_FIRST: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(2);

/// The sending side; cheap to share.
#[derive(Debug, Clone)]
pub struct NodeWriter {
    tx: mpsc::UnboundedSender<Write>,
}

impl std::fmt::Debug for Write {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Write::Seen(id, at) => write!(f, "Seen({id}, {at})"),
            Write::Status(id, _, at, _) => write!(f, "Status({id}, {at})"),
        }
    }
}

impl NodeWriter {
    /// Starts the writing task on the current tokio runtime. It ends when every
    /// [`NodeWriter`] is dropped, after writing what was queued.
    pub fn spawn(store: SharedStore) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(store, rx));
        Self { tx }
    }

    /// Records that `node_id` was seen at `at`.
    pub fn seen(&self, node_id: &str, at: u64) {
        let _ = self.tx.send(Write::Seen(node_id.to_owned(), at));
    }

    /// Records `node_id`'s latest status (JSON text); `after` runs once it is stored.
    pub fn status(&self, node_id: &str, status: String, at: u64, after: AfterStored) {
        let _ = self
            .tx
            .send(Write::Status(node_id.to_owned(), status, at, after));
    }
}

#[derive(Default)]
struct Pending {
    updates: HashMap<String, NodeUpdate>,
    after: Vec<AfterStored>,
}

impl Pending {
    /// Puts back a batch that could not be stored, under what arrived meanwhile (newer).
    fn restore(&mut self, batch: Vec<NodeUpdate>) {
        for old in batch {
            match self.updates.get_mut(&old.node_id) {
                Some(new) => {
                    new.seen_at = new.seen_at.max(old.seen_at);
                    if new.status.is_none() {
                        new.status = old.status;
                    }
                }
                None => {
                    self.updates.insert(old.node_id.clone(), old);
                }
            }
        }
    }

    fn add(&mut self, w: Write) {
        let (node_id, at, status) = match w {
            Write::Seen(id, at) => (id, at, None),
            Write::Status(id, st, at, after) => {
                self.after.push(after);
                (id, at, Some(st))
            }
        };
        let u = self
            .updates
            .entry(node_id.clone())
            .or_insert_with(|| NodeUpdate {
                node_id,
                seen_at: at,
                status: None,
            });
        u.seen_at = u.seen_at.max(at);
        if status.is_some() {
            u.status = status;
        }
    }
}

async fn run(store: SharedStore, mut rx: mpsc::UnboundedReceiver<Write>) {
    let mut pending = Pending::default();
    let mut pause = RETRY_FIRST;
    loop {
        if pending.updates.is_empty() {
            match rx.recv().await {
                Some(w) => pending.add(w),
                None => return,
            }
        }
        while pending.updates.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(w) => pending.add(w),
                Err(_) => break,
            }
        }
        // Moved to the writing thread, not copied; given back if it could not be stored.
        let batch: Vec<NodeUpdate> = pending.updates.drain().map(|(_, u)| u).collect();
        let after = std::mem::take(&mut pending.after);
        let written = store::blocking(&store, move |s| {
            Ok(s.node_updates(&batch).map_err(|e| (e, batch)))
        })
        .await;
        match written {
            Ok(Ok(())) => {
                pause = RETRY_FIRST;
                for f in after {
                    f();
                }
            }
            Ok(Err((error, batch))) => {
                tracing::warn!(%error, nodes = batch.len(), retry_in_ms = pause.as_millis() as u64,
                    "could not store nodes' last status; keeping it and trying again");
                // Nothing was taken from the queue meanwhile: `pending` is empty, and what
                // arrives next is merged over this (newer wins).
                pending.restore(batch);
                pending.after = after;
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(RETRY_MAX);
            }
            Err(error) => {
                // The writing thread panicked with the batch: those updates are lost (each
                // node's next one is written), and so are their actions, which would announce
                // statuses as stored.
                tracing::error!(%error, dropped = after.len(), "could not store nodes' last status");
            }
        }
    }
}
