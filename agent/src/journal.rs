//! The job journal and outbox: nothing a job says is lost.
//!
//! Every job event is appended to `state/journal/<jobId>.jsonl` (one protocol [`Message`] per
//! line, fsync'd per batch) *before* it is handed to the connection. The [`Outbox`] keeps each
//! job's events in memory until a `LOG_ACK` covers them; after a reconnect everything after the
//! last acknowledged `seq` is sent again ([`Outbox::rewind`]). When the terminal event is
//! acknowledged the journal file is deleted (which also removes a `DATABASE_CONFIGURED`
//! connection string from disk). On startup a journal without a terminal event is an
//! [`Unfinished`] job: the agent adopts its worker if it still runs (`crate::supervise`), or
//! appends `JOB_FAILED{kind: interrupted}` ([`Outbox::finish_interrupted`]); either way the
//! whole journal is sent again (the control plane stores events idempotently by
//! `(jobId, seq)`).
//!
//! A journal also records how far into the job's spool (`<jobId>.spool`, written by its
//! worker) its events go: a `{"spool": BYTES}` line after each batch, in the same write and
//! sync as the batch, so a restarted supervisor goes on exactly where the journal ends.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{BufRead, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use cairn_protocol::Message;
use cairn_protocol::messages::{FailureKind, InfrastructureLog, JobFailed, LogStream};
use tokio::sync::Notify;

use crate::cancel::Cancel;
use crate::error::{AgentError, Result};

/// The message of a job found unfinished at startup.
pub const INTERRUPTED_MESSAGE: &str =
    "the agent restarted while this job was running; run it again";

/// Most messages sent in one frame, and their approximate byte budget (well under the frame cap
/// once base64-encoded and signed).
const MAX_BATCH_MESSAGES: usize = 200;
const MAX_BATCH_BYTES: usize = 1024 * 1024;

/// Most bytes of text one `INFRASTRUCTURE_LOG` carries when consecutive lines are coalesced.
pub const MAX_LOG_EVENT_BYTES: usize = 16 * 1024;

/// Unacknowledged bytes a running job may hold in memory before it waits for acknowledgements.
/// Everything is journaled on disk anyway; this bounds the agent's memory when a job prints
/// faster than the control plane stores (a million-line build once took the agent to 800 MB).
pub const MAX_UNACKED_BYTES: usize = 8 * 1024 * 1024;

/// Roughly what an event costs in memory: its text plus the envelope.
fn approx_size(m: &Message) -> usize {
    match m {
        Message::InfrastructureLog(l) => l.message.len() + 96,
        _ => 256,
    }
}

/// Whether `m` ends its job.
pub fn is_terminal(m: &Message) -> bool {
    matches!(
        m,
        Message::RuntimeInstalled(_)
            | Message::DatabaseConfigured(_)
            | Message::BackupConfigured(_)
            | Message::PlanResult(_)
            | Message::JobFailed(_)
    )
}

/// Job ids become file names: only a safe alphabet is accepted.
pub fn is_valid_job_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// A job whose journal has no terminal event: the agent stopped while it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfinished {
    pub job_id: String,
    /// The `seq` its next event gets.
    pub next_seq: u64,
    /// How many bytes of its spool the journal holds.
    pub spool: u64,
}

#[derive(Debug, Default)]
struct Entry {
    /// Events not yet acknowledged, in `seq` order.
    events: VecDeque<Message>,
    /// Highest `seq` handed to the current connection.
    sent: u64,
    /// Highest `seq` acknowledged.
    acked: u64,
    /// `seq` of the terminal event, once written.
    terminal: Option<u64>,
    /// [`approx_size`] of `events`.
    bytes: usize,
    /// Set while the job runs.
    cancel: Option<Cancel>,
}

/// Why a job could not be registered.
#[derive(Debug, PartialEq, Eq)]
pub enum BeginError {
    /// A job with this id is running or not yet acknowledged.
    Busy,
}

/// Unacknowledged job events of every job, shared by job threads and the connection.
#[derive(Debug)]
pub struct Outbox {
    dir: PathBuf,
    jobs: Mutex<BTreeMap<String, Entry>>,
    notify: Notify,
    /// Signalled when acknowledgements free room (see [`Outbox::wait_for_room`]).
    room: Condvar,
}

impl Outbox {
    /// Opens the journal directory. Returns the outbox and every job whose journal has no
    /// terminal event (its events are in the outbox; the caller adopts its worker or calls
    /// [`Outbox::finish_interrupted`]).
    pub fn open(dir: &Path) -> Result<(Arc<Self>, Vec<Unfinished>)> {
        let outbox = Arc::new(Self {
            dir: dir.to_owned(),
            jobs: Mutex::new(BTreeMap::new()),
            notify: Notify::new(),
            room: Condvar::new(),
        });
        let mut unfinished = Vec::new();
        let read = std::fs::read_dir(dir).map_err(|e| AgentError::io("could not read", dir, e))?;
        for item in read {
            let item = item.map_err(|e| AgentError::io("could not read", dir, e))?;
            let path = item.path();
            let Some(job_id) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".jsonl"))
                .filter(|id| is_valid_job_id(id))
                .map(str::to_owned)
            else {
                continue;
            };
            let journal = read_journal(&path)?;
            if journal.torn {
                rewrite(&path, &journal.events, journal.spool)?;
            }
            let events = journal.events;
            let last = events.back().and_then(|m| m.job_event()).map_or(0, |e| e.1);
            let terminal = events
                .back()
                .filter(|m| is_terminal(m))
                .and_then(|m| m.job_event())
                .map(|e| e.1);
            if terminal.is_none() {
                unfinished.push(Unfinished {
                    job_id: job_id.clone(),
                    next_seq: last + 1,
                    spool: journal.spool,
                });
            }
            let bytes = events.iter().map(approx_size).sum();
            outbox.lock().insert(
                job_id,
                Entry {
                    events,
                    terminal,
                    bytes,
                    ..Entry::default()
                },
            );
        }
        Ok((outbox, unfinished))
    }

    /// The directory of the journals (and of the workers' spools).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Ends an unfinished job with `JOB_FAILED{interrupted}` and `message`.
    pub fn finish_interrupted(self: &Arc<Self>, job: &Unfinished, message: &str) {
        let mut writer = self.resume(job, None);
        writer.emit(|job_id, seq| {
            Message::JobFailed(JobFailed {
                job_id,
                seq,
                kind: FailureKind::Interrupted,
                message: message.to_owned(),
                location: None,
            })
        });
        writer.flush();
    }

    /// A writer that goes on with an unfinished job's journal (after a restart), `cancel`
    /// set while its worker runs.
    pub fn resume(self: &Arc<Self>, job: &Unfinished, cancel: Option<Cancel>) -> JobWriter {
        if let Some(entry) = self.lock().get_mut(&job.job_id) {
            entry.cancel = cancel;
        }
        JobWriter {
            outbox: self.clone(),
            job_id: job.job_id.clone(),
            path: self.dir.join(format!("{}.jsonl", job.job_id)),
            next_seq: job.next_seq,
            batch: Vec::new(),
            batch_bytes: 0,
            spool: Some(job.spool),
            synced_dir: true,
            warned: false,
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Entry>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new job; its events go through the returned writer.
    pub fn begin(
        self: &Arc<Self>,
        job_id: &str,
        cancel: Cancel,
    ) -> std::result::Result<JobWriter, BeginError> {
        let mut jobs = self.lock();
        if jobs.contains_key(job_id) {
            return Err(BeginError::Busy);
        }
        jobs.insert(
            job_id.to_owned(),
            Entry {
                cancel: Some(cancel),
                ..Entry::default()
            },
        );
        Ok(JobWriter {
            outbox: self.clone(),
            job_id: job_id.to_owned(),
            path: self.dir.join(format!("{job_id}.jsonl")),
            next_seq: 1,
            batch: Vec::new(),
            batch_bytes: 0,
            spool: None,
            synced_dir: false,
            warned: false,
        })
    }

    /// Cancels a running job; false if no such job runs.
    pub fn cancel(&self, job_id: &str) -> bool {
        match self.lock().get(job_id).and_then(|e| e.cancel.as_ref()) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// Records a `LOG_ACK`; forgets the job (and deletes its journal) once its terminal event is
    /// covered.
    pub fn ack(&self, job_id: &str, seq: u64) {
        let mut jobs = self.lock();
        let Some(entry) = jobs.get_mut(job_id) else {
            return;
        };
        entry.acked = entry.acked.max(seq);
        while entry
            .events
            .front()
            .and_then(|m| m.job_event())
            .is_some_and(|(_, s)| s <= seq)
        {
            if let Some(m) = entry.events.pop_front() {
                entry.bytes = entry.bytes.saturating_sub(approx_size(&m));
            }
        }
        self.room.notify_all();
        entry.sent = entry.sent.max(entry.acked);
        if entry.terminal.is_some_and(|t| entry.acked >= t) {
            jobs.remove(job_id);
            drop(jobs);
            let path = self.dir.join(format!("{job_id}.jsonl"));
            if let Err(e) = std::fs::remove_file(&path) {
                tracing::warn!(job_id, error = %e, "could not delete an acknowledged journal");
            }
        }
    }

    /// Blocks the job's thread while `job_id` holds more than [`MAX_UNACKED_BYTES`] not yet
    /// acknowledged, so that a flood of output waits for the control plane instead of filling
    /// memory. A cancelled job does not wait. The connection being down means waiting until
    /// it is back: the output is on disk, nothing is dropped.
    pub fn wait_for_room(&self, job_id: &str) {
        let mut jobs = self.lock();
        loop {
            let Some(entry) = jobs.get(job_id) else {
                return;
            };
            if entry.bytes <= MAX_UNACKED_BYTES
                || entry.cancel.as_ref().is_none_or(Cancel::is_cancelled)
            {
                return;
            }
            jobs = self
                .room
                .wait_timeout(jobs, std::time::Duration::from_millis(200))
                .map(|(guard, _)| guard)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    /// After a reconnect: everything not acknowledged must be sent again.
    pub fn rewind(&self) {
        for entry in self.lock().values_mut() {
            entry.sent = entry.acked;
        }
    }

    /// Takes every event not yet sent on this connection, in frame-sized batches, and marks them
    /// sent.
    pub fn take_unsent(&self) -> Vec<Vec<Message>> {
        let mut batches = Vec::new();
        let mut batch = Vec::new();
        let mut bytes = 0;
        for entry in self.lock().values_mut() {
            for m in &entry.events {
                let Some((_, seq)) = m.job_event() else {
                    continue;
                };
                if seq <= entry.sent {
                    continue;
                }
                let size = serde_json::to_vec(m).map_or(0, |v| v.len());
                if !batch.is_empty()
                    && (batch.len() >= MAX_BATCH_MESSAGES || bytes + size > MAX_BATCH_BYTES)
                {
                    batches.push(std::mem::take(&mut batch));
                    bytes = 0;
                }
                bytes += size;
                batch.push(m.clone());
                entry.sent = seq;
            }
        }
        if !batch.is_empty() {
            batches.push(batch);
        }
        batches
    }

    /// Resolves when a job has handed new events over.
    pub async fn changed(&self) {
        self.notify.notified().await;
    }

    /// Number of jobs with unacknowledged events or still running.
    pub fn pending_jobs(&self) -> usize {
        self.lock().len()
    }

    fn deliver(&self, job_id: &str, messages: Vec<Message>, done: bool) {
        let mut jobs = self.lock();
        let entry = jobs.entry(job_id.to_owned()).or_default();
        if let Some(last) = messages.last().and_then(|m| m.job_event())
            && messages.last().is_some_and(is_terminal)
        {
            entry.terminal = Some(last.1);
        }
        entry.bytes += messages.iter().map(approx_size).sum::<usize>();
        entry.events.extend(messages);
        if done {
            entry.cancel = None;
        }
        drop(jobs);
        self.notify.notify_one();
    }
}

/// Appends one job's events to its journal and hands them to the outbox. Used from the job's
/// blocking threads only.
#[derive(Debug)]
pub struct JobWriter {
    outbox: Arc<Outbox>,
    job_id: String,
    path: PathBuf,
    next_seq: u64,
    batch: Vec<Message>,
    /// Bytes of log text in `batch`.
    batch_bytes: usize,
    /// How far into the job's spool the events queued so far go (journaled with them).
    spool: Option<u64>,
    /// Whether the directory entry of the new journal file has been made durable.
    synced_dir: bool,
    /// Whether the job's output already says that its journal could not be written.
    warned: bool,
}

impl JobWriter {
    pub fn job_id(&self) -> &str {
        &self.job_id
    }

    /// Queues the event `make(job_id, seq)` with the next sequence number.
    pub fn emit(&mut self, make: impl FnOnce(String, u64) -> Message) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.batch.push(make(self.job_id.clone(), seq));
    }

    /// Queues one output line. Consecutive lines of the same stream within one batch travel
    /// as one `INFRASTRUCTURE_LOG` whose message holds them separated by `\n` (up to
    /// [`MAX_LOG_EVENT_BYTES`]): one event, one journal entry, one stored row and one dashboard
    /// message per few hundred lines instead of per line, which is what lets a chatty build
    /// stream at hundreds of thousands of lines a second. Latency is unchanged: a batch still
    /// leaves within the runner's flush interval.
    pub fn emit_line(&mut self, stream: LogStream, line: String) {
        self.batch_bytes += line.len() + 1;
        if let Some(Message::InfrastructureLog(last)) = self.batch.last_mut()
            && last.stream == stream
            && last.message.len() + 1 + line.len() <= MAX_LOG_EVENT_BYTES
        {
            last.message.push('\n');
            last.message.push_str(&line);
            return;
        }
        self.emit(|job_id, seq| {
            Message::InfrastructureLog(InfrastructureLog {
                job_id,
                seq,
                message: line,
                stream,
            })
        });
    }

    /// Records that the events queued so far come from the job's spool up to `bytes`.
    pub fn set_spool(&mut self, bytes: u64) {
        self.spool = Some(bytes);
    }

    /// Bytes of log text queued since the last flush.
    pub fn queued_bytes(&self) -> usize {
        self.batch_bytes
    }

    /// Number of queued events.
    pub fn queued(&self) -> usize {
        self.batch.len()
    }

    /// Journals the queued events (fsync) and hands them to the outbox.
    pub fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let mut batch = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        if let Err(e) = append(&self.path, &batch, self.spool) {
            // Sending without a journal is still better than not sending at all.
            tracing::error!(job_id = %self.job_id, error = %e, "could not journal job events");
            if !self.warned {
                // Once per job, the user is told, in the job's own output.
                self.warned = true;
                self.warn_unjournaled(&mut batch, &e);
            }
        } else if !self.synced_dir {
            // A new file's name is durable only once its directory is synced.
            self.synced_dir = true;
            if let Some(dir) = self.path.parent() {
                let _ = File::open(dir).and_then(|d| d.sync_all());
            }
        }
        let done = batch.last().is_some_and(is_terminal);
        self.outbox.deliver(&self.job_id, batch, done);
        if !done {
            self.outbox.wait_for_room(&self.job_id);
        }
    }
}

impl JobWriter {
    /// Adds a warning to `batch` saying the journal could not be written (before the terminal
    /// event if the batch ends the job, which then moves one `seq` up).
    fn warn_unjournaled(&mut self, batch: &mut Vec<Message>, error: &AgentError) {
        let terminal = batch.last().is_some_and(is_terminal).then(|| batch.pop());
        let seq = match terminal.as_ref().and_then(|t| t.as_ref()?.job_event()) {
            Some((_, s)) => s,
            None => {
                self.next_seq += 1;
                self.next_seq - 1
            }
        };
        batch.push(Message::InfrastructureLog(InfrastructureLog {
            job_id: self.job_id.clone(),
            seq,
            stream: LogStream::Warn,
            message: format!(
                "This server's agent cannot save the job's output to its disk ({error}). The \
                 output is kept in memory and still reaches the dashboard, but an agent restart \
                 before the control plane has stored it would lose it: free some space on this \
                 server."
            ),
        }));
        if let Some(Some(mut t)) = terminal {
            set_seq(&mut t, seq + 1);
            self.next_seq = self.next_seq.max(seq + 2);
            batch.push(t);
        }
    }
}

/// Sets the `jobId` and `seq` of a job event (one a worker wrote to its spool).
pub fn stamp(m: &mut Message, job_id: String, seq: u64) {
    if let Some((id, s)) = m.job_event_mut() {
        (*id, *s) = (job_id, seq);
    }
}

/// Sets the `seq` of a job event.
fn set_seq(m: &mut Message, seq: u64) {
    if let Some((_, s)) = m.job_event_mut() {
        *s = seq;
    }
}

fn append(path: &Path, messages: &[Message], spool: Option<u64>) -> Result<()> {
    let mut text = String::new();
    for m in messages {
        let line = serde_json::to_string(m).map_err(|e| AgentError::Other(e.to_string()))?;
        text.push_str(&line);
        text.push('\n');
    }
    if let Some(bytes) = spool {
        text.push_str(&format!("{{\"spool\":{bytes}}}\n"));
    }
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| AgentError::io("could not open", path, e))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_data())
        .map_err(|e| AgentError::io("could not write", path, e))
}

/// Rewrites a journal whose last line was torn, so that later appends start on a fresh line.
fn rewrite(path: &Path, events: &VecDeque<Message>, spool: u64) -> Result<()> {
    let tmp = path.with_extension("jsonl.tmp");
    let _ = std::fs::remove_file(&tmp);
    let list: Vec<Message> = events.iter().cloned().collect();
    append(&tmp, &list, (spool > 0).then_some(spool))?;
    std::fs::rename(&tmp, path).map_err(|e| AgentError::io("could not replace", path, e))
}

/// What a journal holds.
struct Journal {
    events: VecDeque<Message>,
    /// The last spool mark (0 without one).
    spool: u64,
    /// Whether its last line was torn (and dropped).
    torn: bool,
}

/// A `{"spool": BYTES}` line.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SpoolMark {
    spool: u64,
}

/// Reads a journal; a torn last line (the agent died while writing it) is dropped and reported.
fn read_journal(path: &Path) -> Result<Journal> {
    let file = File::open(path).map_err(|e| AgentError::io("could not read", path, e))?;
    let mut journal = Journal {
        events: VecDeque::new(),
        spool: 0,
        torn: false,
    };
    for line in std::io::BufReader::new(file).lines() {
        let line = line.map_err(|e| AgentError::io("could not read", path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Message>(&line) {
            Ok(m) if m.job_event().is_some() => journal.events.push_back(m),
            _ => match serde_json::from_str::<SpoolMark>(&line) {
                Ok(mark) => journal.spool = mark.spool,
                Err(_) => {
                    tracing::warn!(path = %path.display(), "dropping an unreadable journal line");
                    journal.torn = true;
                    return Ok(journal);
                }
            },
        }
    }
    Ok(journal)
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
