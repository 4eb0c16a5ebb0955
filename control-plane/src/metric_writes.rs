//! Metrics samples written in batches, and summarised and pruned in the background.
//!
//! Every agent sends a batch every 10 s; one transaction (one WAL sync) each would make 10,000
//! agents cost 1,000 syncs a second. Connections hand their batches to one task that takes
//! everything queued so far and writes it in one transaction, then answers each connection,
//! which acknowledges its agent only then (the agent keeps its samples until acknowledged). A
//! write the database refuses as busy is retried for a while; a write that fails for good is
//! answered as failed, and the connection closes so that the agent sends it again later.
//!
//! A second task summarises complete minutes and hours and prunes old rows every minute
//! (`store::Store::downsample_metrics`).

use std::time::Duration;

use cairn_protocol::messages::Sample;
use tokio::sync::{mpsc, oneshot};

use crate::store::{self, MetricRetention, SharedStore};

/// Most samples written in one transaction.
const MAX_BATCH_SAMPLES: usize = 20_000;
/// How long a busy database is retried before a batch is answered as failed.
const RETRY_FOR: Duration = Duration::from_secs(20);
/// How often minutes and hours are summarised and old rows pruned.
pub const DOWNSAMPLE_EVERY: Duration = Duration::from_secs(60);

type Job = (String, Vec<Sample>, oneshot::Sender<bool>);

/// The sending side; cheap to share.
#[derive(Debug, Clone)]
pub struct MetricWriter {
    tx: mpsc::UnboundedSender<Job>,
}

impl MetricWriter {
    /// Starts the writing and the downsampling tasks on the current runtime.
    pub fn spawn(store: SharedStore, keep: MetricRetention) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(write_loop(store.clone(), rx));
        tokio::spawn(downsample_loop(store, keep));
        Self { tx }
    }

    /// Stores `samples` of `node_id`; true once they are in the database.
    pub async fn store(&self, node_id: &str, samples: Vec<Sample>) -> bool {
        let (done, stored) = oneshot::channel();
        if self.tx.send((node_id.to_owned(), samples, done)).is_err() {
            return false;
        }
        stored.await.unwrap_or(false)
    }
}

async fn write_loop(store: SharedStore, mut rx: mpsc::UnboundedReceiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        let mut count = jobs[0].1.len();
        while count < MAX_BATCH_SAMPLES {
            match rx.try_recv() {
                Ok(job) => {
                    count += job.1.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let (batches, answers): (Vec<_>, Vec<_>) = jobs
            .into_iter()
            .map(|(node, samples, done)| ((node, samples), done))
            .unzip();
        let batches = std::sync::Arc::new(batches);
        let stored = write(&store, &batches).await;
        for done in answers {
            let _ = done.send(stored);
        }
    }
}

async fn write(store: &SharedStore, batches: &std::sync::Arc<Vec<(String, Vec<Sample>)>>) -> bool {
    let start = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(50);
    loop {
        let b = std::sync::Arc::clone(batches);
        match store::blocking(store, move |s| s.store_metrics(&b)).await {
            Ok(_) => return true,
            Err(e) if e.is_busy() && start.elapsed() < RETRY_FOR => {
                tracing::warn!(error = %e, "the database is busy; keeping the metrics samples and trying again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
            Err(error) => {
                tracing::error!(%error, "could not store metrics samples; the agents will send them again");
                return false;
            }
        }
    }
}

async fn downsample_loop(store: SharedStore, keep: MetricRetention) {
    let mut tick = tokio::time::interval(DOWNSAMPLE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = cairn_protocol::unix_now();
        match store::blocking(&store, move |s| s.downsample_metrics(now, &keep)).await {
            Ok(done) => tracing::debug!(?done, "metrics summarised and pruned"),
            Err(error) => {
                tracing::warn!(%error, "could not summarise metrics; trying again in a minute")
            }
        }
    }
}
