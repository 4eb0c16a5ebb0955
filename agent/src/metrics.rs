//! Metrics: a sample of the machine every 10 s ([`crate::sampler`]), kept on disk until the
//! control plane acknowledges it, so that a disconnect or an agent restart loses nothing.
//!
//! `state/metrics.jsonl` holds one sample per line, oldest first. A sample is appended as it is
//! taken; the connection sends what the file holds in batches of at most
//! [`MAX_SAMPLES_PER_BATCH`], one batch in flight at a time; `METRICS_ACK` deletes the samples
//! the batch carried (by time, so a late acknowledgement cannot delete newer ones). The file is
//! read and rewritten line by line, never held in memory: a day of samples resent after an
//! outage costs the supervisor one line buffer. At most [`MAX_PENDING`] samples are kept; beyond
//! that the oldest tenth is dropped at once (one rewrite, not one per sample) and counted.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use cairn_protocol::messages::metrics::MAX_SAMPLES_PER_BATCH;
use cairn_protocol::messages::{Metrics, Sample};
use tokio::sync::{Notify, watch};

use crate::sampler::{Sampler, Watched};

/// Most samples kept unacknowledged: 24 h at the 10 s default (about 5 MB on disk with one file system, four interfaces and two services).
pub const MAX_PENDING: usize = 8640;

/// The sampling interval by default.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

/// The services the last status's detections declared, for the sampler.
#[derive(Debug, Default)]
pub struct Services(Mutex<Vec<Watched>>);

impl Services {
    pub fn set(&self, services: Vec<Watched>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = services;
    }

    pub fn get(&self) -> Vec<Watched> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[derive(Debug, Default)]
struct State {
    /// Lines in the file.
    count: usize,
    /// Time of the newest sample (a sample in the same second is not taken).
    last_t: u64,
    next_batch: u64,
    /// The batch sent and not yet acknowledged: its number, its newest sample's time and the
    /// drop count it reported.
    in_flight: Option<(u64, u64, u64)>,
    /// Samples dropped since the last acknowledged batch.
    dropped: u64,
    /// A failed append was logged (once, until one succeeds: a full disk fails every sample).
    append_failed: bool,
}

/// The on-disk buffer of unacknowledged samples.
#[derive(Debug)]
pub struct Buffer {
    path: PathBuf,
    max: usize,
    state: Mutex<State>,
    notify: Notify,
}

impl Buffer {
    /// Opens (or starts) the buffer at `path`, keeping at most `max` samples.
    pub fn open(path: &Path, max: usize) -> Arc<Self> {
        let mut state = State {
            next_batch: 1,
            ..State::default()
        };
        // A line cut by a crash must not swallow the next sample appended after it.
        if let Ok(bytes) = std::fs::read(path).map(|b| b.last().copied())
            && bytes.is_some_and(|b| b != b'\n')
            && let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(path)
        {
            let _ = f.write_all(b"\n");
        }
        for sample in read_samples(path, usize::MAX) {
            state.count += 1;
            state.last_t = sample.t;
        }
        Arc::new(Self {
            path: path.to_owned(),
            max: max.max(10),
            state: Mutex::new(state),
            notify: Notify::new(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Samples waiting for an acknowledgement.
    pub fn pending(&self) -> usize {
        self.state().count
    }

    /// Samples dropped since the last acknowledged batch.
    pub fn dropped(&self) -> u64 {
        self.state().dropped
    }

    /// Appends a sample (unless one of the same second is already kept), dropping the oldest
    /// tenth when the buffer is full.
    pub fn push(&self, sample: &Sample) {
        let mut state = self.state();
        if sample.t <= state.last_t {
            return;
        }
        let Ok(mut line) = serde_json::to_string(sample) else {
            return;
        };
        line.push('\n');
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(error) = appended {
            if !state.append_failed {
                tracing::warn!(%error, path = %self.path.display(), "could not keep a metrics sample; samples are lost until this is fixed");
                state.append_failed = true;
            }
            return;
        }
        state.append_failed = false;
        state.count += 1;
        state.last_t = sample.t;
        if state.count > self.max {
            let drop = state.count - self.max + self.max / 10;
            let newest_dropped = nth_time(&self.path, drop).unwrap_or(0);
            let removed = self.remove_through(newest_dropped);
            state.count -= removed;
            state.dropped += removed as u64;
            // A batch in flight may hold dropped samples: it goes again from the new oldest.
            state.in_flight = None;
            tracing::warn!(
                dropped = removed,
                "the metrics buffer is full; dropped the oldest samples"
            );
        }
        drop(state);
        self.notify.notify_one();
    }

    /// A new connection: whatever was in flight goes again.
    pub fn rewind(&self) {
        self.state().in_flight = None;
    }

    /// The next batch to send, unless one is in flight or nothing is pending.
    pub fn next_batch(&self) -> Option<Metrics> {
        let mut state = self.state();
        if state.in_flight.is_some() || state.count == 0 {
            return None;
        }
        let samples = read_samples(&self.path, MAX_SAMPLES_PER_BATCH);
        let last = samples.last()?.t;
        let batch = state.next_batch;
        state.next_batch += 1;
        state.in_flight = Some((batch, last, state.dropped));
        Some(Metrics {
            batch,
            samples,
            dropped: state.dropped,
        })
    }

    /// `METRICS_ACK`: deletes the batch's samples. An acknowledgement of another batch (one
    /// sent before a reconnect) changes nothing.
    pub fn ack(&self, batch: u64) {
        let mut state = self.state();
        match state.in_flight {
            Some((b, last, dropped)) if b == batch => {
                let removed = self.remove_through(last);
                state.count = state.count.saturating_sub(removed);
                state.dropped = state.dropped.saturating_sub(dropped);
                state.in_flight = None;
            }
            _ => return,
        }
        drop(state);
        self.notify.notify_one();
    }

    /// Wakes when a sample was added or a batch acknowledged.
    pub async fn changed(&self) {
        self.notify.notified().await;
    }

    /// Removes every sample up to time `t` from the head of the file (and lines that do not
    /// read as samples: the end of a write cut by a crash); returns how many lines went.
    fn remove_through(&self, t: u64) -> usize {
        let Ok(file) = File::open(&self.path) else {
            return 0;
        };
        let tmp = self.path.with_extension("jsonl.tmp");
        let result = (|| -> std::io::Result<usize> {
            let mut out = BufWriter::new(File::create(&tmp)?);
            let (mut removed, mut keeping) = (0, false);
            for line in BufReader::new(file).lines() {
                let line = line?;
                if !keeping {
                    match serde_json::from_str::<Sample>(&line) {
                        Ok(s) if s.t > t => keeping = true,
                        _ => {
                            removed += 1;
                            continue;
                        }
                    }
                }
                out.write_all(line.as_bytes())?;
                out.write_all(b"\n")?;
            }
            out.into_inner()?.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            Ok(removed)
        })();
        result.unwrap_or_else(|error| {
            tracing::warn!(%error, path = %self.path.display(), "could not rewrite the metrics buffer");
            let _ = std::fs::remove_file(&tmp);
            0
        })
    }
}

/// The first `n` samples of the file (lines that do not read as one are skipped).
fn read_samples(path: &Path, n: usize) -> Vec<Sample> {
    let Ok(file) = File::open(path) else {
        return Vec::new();
    };
    BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str(&l).ok())
        .take(n)
        .collect()
}

/// The time of the `n`th sample (from 1), read without keeping the others.
fn nth_time(path: &Path, n: usize) -> Option<u64> {
    let file = File::open(path).ok()?;
    BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str::<Sample>(&l).ok())
        .take(n)
        .last()
        .map(|s| s.t)
}

/// Takes a sample every `interval` until shutdown, on the connection's own thread: a sample is
/// a few small reads of `/proc` and one append.
pub async fn run(
    buffer: Arc<Buffer>,
    ctx: Arc<crate::runner::JobContext>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut sampler = Sampler::default();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let sample = sampler.sample(cairn_protocol::unix_now(), &ctx.services.get());
                buffer.push(&sample);
            }
            _ = shutdown.changed() => return,
        }
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
