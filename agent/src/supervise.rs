//! The supervisor's side of a job: start its worker, check its recipe's version once the
//! worker has read the script, follow the job's spool into the journal, pass a cancel on, and
//! end the job with a sentence however the worker ends — exited, crashed, killed, out of
//! memory, or deaf to a cancel (then it is killed with everything it started). Runs on one
//! blocking thread per job.
//!
//! A restarted supervisor adopts a worker still running ([`adopt`]): the spool is a file and
//! the journal records how far into it it goes, so no line is lost or repeated.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use cairn_protocol::Message;
use cairn_protocol::messages::{FailureKind, JobFailed, JobStarted};

use crate::cancel::Cancel;
use crate::journal::{JobWriter, is_terminal, stamp};
use crate::procs::WorkerId;
use crate::runner::{self, JobContext, JobRequest};
use crate::work::{Control, Reply, Request, SpoolRecord, WorkerLimits};

/// Most spool records journaled in one batch, and their bytes of text.
const BATCH_RECORDS: usize = 200;
const BATCH_BYTES: usize = 256 * 1024;
/// How often an adopted worker (no pipe to wake the supervisor) is looked at.
const ADOPTED_POLL: Duration = Duration::from_millis(20);

/// The worker's executable, installed next to `cairn-agent`.
pub const WORKER_BIN: &str = "cairn-agent-worker";

/// How workers are started and limited.
#[derive(Debug, Clone)]
pub struct Workers {
    /// The worker's program and arguments: by default `cairn-agent-worker` next to this
    /// executable.
    pub program: PathBuf,
    pub args: Vec<String>,
    /// `RLIMIT_AS` of a worker and what it runs, bytes.
    pub memory: u64,
    /// The interpreter's ceiling on memory growth (`None`: the engine's default, 256 MiB).
    pub engine_memory: Option<u64>,
    /// How long a cancelled worker has to stop before it is killed.
    pub cancel_grace: Duration,
    /// `RLIMIT_CPU` of a detector worker, seconds.
    pub detect_cpu_seconds: u64,
}

impl Default for Workers {
    fn default() -> Self {
        Self {
            program: std::env::current_exe()
                .ok()
                .and_then(|exe| Some(exe.parent()?.join(WORKER_BIN)))
                .unwrap_or_else(|| PathBuf::from(WORKER_BIN)),
            args: Vec::new(),
            memory: 4 << 30,
            engine_memory: None,
            cancel_grace: Duration::from_secs(10),
            detect_cpu_seconds: 60,
        }
    }
}

impl Workers {
    /// The command of a worker process: stdin and stdout piped, stderr to `log` (or
    /// inherited: the agent's own log).
    pub fn command(&self, log: Option<&Path>) -> std::io::Result<Command> {
        // A log that cannot be created (a full disk) is the agent's own.
        let stderr = log
            .and_then(|path| std::fs::File::create(path).ok())
            .map_or_else(Stdio::inherit, Stdio::from);
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            // Two allocator arenas at most: less address space for RLIMIT_AS to count.
            .env("MALLOC_ARENA_MAX", "2");
        Ok(command)
    }

    /// The sentence for a worker that could not be started (the binary missing, most likely).
    pub fn not_started(&self, error: &std::io::Error) -> String {
        format!(
            "the agent could not start its worker {} ({error}); install the agent again with the command from Connect node, which puts cairn-agent-worker next to cairn-agent",
            self.program.display()
        )
    }

    /// A job's limits.
    pub fn job_limits(&self) -> WorkerLimits {
        WorkerLimits {
            address_space: self.memory,
            cpu_seconds: None,
            read_only: false,
            engine_memory: self.engine_memory,
        }
    }

    /// Detectors' limits: processor time too, and only the privilege to read.
    pub fn detect_limits(&self) -> WorkerLimits {
        WorkerLimits {
            address_space: self.memory,
            cpu_seconds: Some(self.detect_cpu_seconds),
            read_only: true,
            engine_memory: self.engine_memory,
        }
    }
}

/// Where a job's worker files live: `<jobId>.spool`, `.worker` (pid and start time) and
/// `.worker.log` (its standard error).
#[derive(Debug, Clone)]
pub struct JobFiles {
    pub spool: PathBuf,
    pub worker: PathBuf,
    pub log: PathBuf,
}

impl JobFiles {
    pub fn new(dir: &Path, job_id: &str) -> Self {
        Self {
            spool: dir.join(format!("{job_id}.spool")),
            worker: dir.join(format!("{job_id}.worker")),
            log: dir.join(format!("{job_id}.worker.log")),
        }
    }

    fn remove(&self) {
        for path in [&self.spool, &self.worker, &self.log] {
            let _ = std::fs::remove_file(path);
        }
    }

    /// The worker's log, at most its last 8 KiB.
    fn log_tail(&self) -> String {
        let Ok(mut file) = std::fs::File::open(&self.log) else {
            return String::new();
        };
        let len = file.metadata().map_or(0, |m| m.len());
        let _ = file.seek(SeekFrom::Start(len.saturating_sub(8192)));
        let mut text = String::new();
        let _ = file.read_to_string(&mut text);
        text
    }
}

/// Runs one job to its terminal event. Blocking.
pub fn run_job(ctx: &JobContext, req: JobRequest, mut writer: JobWriter, cancel: Cancel) {
    let (recipe, header) = match runner::prepare(ctx, &req) {
        Ok(v) => v,
        Err(message) => return reject(&mut writer, &req.job_id, message),
    };
    let files = JobFiles::new(&ctx.journal_dir, &req.job_id);
    files.remove();
    let mut child = match ctx
        .workers
        .command(Some(&files.log))
        .and_then(|mut c| c.spawn())
    {
        Ok(c) => c,
        Err(e) => return end(&mut writer, FailureKind::Error, ctx.workers.not_started(&e)),
    };
    let id = WorkerId::of(child.id());
    if let Some(id) = id
        && let Err(e) = id.save(&files.worker)
    {
        tracing::warn!(error = %e, "could not record the worker; an agent restart would not find it");
    }
    let request = Request::Job {
        job_id: req.job_id.clone(),
        kind: req.kind,
        name: req.name.clone(),
        entry: req.entry.clone(),
        action: req.action.clone(),
        params: req.params.clone(),
        recipe,
        plan: req.plan.clone(),
        spool: files.spool.clone(),
        limits: ctx.workers.job_limits(),
    };
    let mut stdin = child.stdin.take();
    let replies = read_replies(child.stdout.take());
    send(&mut stdin, &request);

    // The worker reads the script and checks it; the version is recorded only then.
    let ready = loop {
        match replies.recv_timeout(Duration::from_millis(100)) {
            Ok(Reply::Ready) => break Ok(()),
            Ok(Reply::Refused { message }) => break Err(Some(message)),
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) if !cancel.is_cancelled() => {}
            Err(_) => break Err(None),
        }
    };
    match ready {
        Ok(()) => {}
        Err(refused) => {
            drop(stdin);
            let status = stop(&mut child, id, Duration::from_secs(2));
            let log = files.log_tail();
            files.remove();
            return match refused {
                Some(message) => reject(&mut writer, &req.job_id, message),
                None if cancel.is_cancelled() => end(
                    &mut writer,
                    FailureKind::Cancelled,
                    "the job was cancelled before it started; nothing ran".to_owned(),
                ),
                None => end(
                    &mut writer,
                    FailureKind::Error,
                    crate::procs::ended(status, &log, ctx.workers.memory),
                ),
            };
        }
    }
    if let Err(message) = runner::record(ctx, &req, &header) {
        drop(stdin);
        stop(&mut child, id, Duration::from_secs(2));
        files.remove();
        return reject(&mut writer, &req.job_id, message);
    }
    writer.emit(|job_id, seq| {
        Message::JobStarted(JobStarted {
            job_id,
            seq,
            recipe_id: header.recipe_id.clone(),
            recipe_version: header.version,
        })
    });
    writer.flush();
    tracing::info!(job_id = %req.job_id, recipe = %header.recipe_id, version = header.version, "job started");
    send(&mut stdin, &Control::Go);
    let mut worker = Worker {
        child: Some(child),
        id,
        stdin,
        replies: Some(replies),
    };
    follow(ctx, &mut writer, &files, &mut worker, &cancel, 0);
}

/// Goes on with a job whose worker `id` outlived the supervisor that started it.
pub fn adopt(ctx: &JobContext, mut writer: JobWriter, id: WorkerId, spool: u64, cancel: Cancel) {
    let files = JobFiles::new(&ctx.journal_dir, writer.job_id());
    tracing::info!(job_id = %writer.job_id(), pid = id.pid, "adopting a job's worker still running");
    let mut worker = Worker {
        child: None,
        id: Some(id),
        stdin: None,
        replies: None,
    };
    follow(ctx, &mut writer, &files, &mut worker, &cancel, spool);
}

/// Journals what an unfinished job's worker wrote before it ended while no supervisor ran,
/// then ends the job: with the worker's own terminal event if it wrote one.
pub fn finish_orphan(ctx: &JobContext, mut writer: JobWriter, spool: u64, had_worker: bool) {
    let files = JobFiles::new(&ctx.journal_dir, writer.job_id());
    let mut reader = SpoolReader::open(&files.spool, spool);
    let done = reader.as_mut().is_some_and(|r| r.drain(&mut writer));
    if !done {
        let message = if had_worker {
            crate::procs::ended(None, &files.log_tail(), ctx.workers.memory)
        } else {
            crate::journal::INTERRUPTED_MESSAGE.to_owned()
        };
        end(&mut writer, FailureKind::Interrupted, message);
    }
    files.remove();
}

/// A running worker: its process if this supervisor started it, its pipes.
struct Worker {
    child: Option<Child>,
    id: Option<WorkerId>,
    stdin: Option<ChildStdin>,
    replies: Option<Receiver<Reply>>,
}

impl Worker {
    /// Whether the worker has ended (reaped if it is this supervisor's child).
    fn ended(&mut self) -> Option<Option<ExitStatus>> {
        match &mut self.child {
            Some(child) => match child.try_wait() {
                Ok(Some(status)) => Some(Some(status)),
                Ok(None) => None,
                Err(_) => Some(None),
            },
            None => (!self.id.is_some_and(|id| id.alive())).then_some(None),
        }
    }

    /// Waits for a wake-up from the worker, or a little while. Returns the records it sent on
    /// stdout because its spool could not take them.
    fn wait(&mut self) -> Vec<SpoolRecord> {
        let mut records = Vec::new();
        let Some(rx) = &self.replies else {
            std::thread::sleep(ADOPTED_POLL);
            return records;
        };
        let mut next = rx.recv_timeout(Duration::from_millis(100));
        loop {
            match next {
                Ok(Reply::Record { record }) => records.push(record),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    // Its stdout closed: it is ending. Look again soon, without the pipe.
                    self.replies = None;
                    break;
                }
            }
            next = rx.try_recv().map_err(|e| match e {
                std::sync::mpsc::TryRecvError::Empty => RecvTimeoutError::Timeout,
                std::sync::mpsc::TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
            });
        }
        records
    }

    /// Everything still in the pipe of a worker that has ended.
    fn rest(&mut self) -> Vec<SpoolRecord> {
        let mut records = Vec::new();
        if let Some(rx) = self.replies.take() {
            // A grandchild holding the pipe open must not hold the job: 2 s of silence ends it.
            while let Ok(reply) = rx.recv_timeout(Duration::from_secs(2)) {
                if let Reply::Record { record } = reply {
                    records.push(record);
                }
            }
        }
        records
    }

    fn cancel(&mut self) {
        if self.stdin.is_some() {
            send(&mut self.stdin, &Control::Cancel);
        } else if let Some(id) = self.id {
            // An adopted worker has no pipe: SIGTERM stops it (its children are killed by
            // the kernel's SIGKILL below if they linger).
            crate::procs::kill_session(id.pid, rustix::process::Signal::TERM);
        }
    }
}

/// Follows the spool until the terminal event, or until the worker ends without one.
fn follow(
    ctx: &JobContext,
    writer: &mut JobWriter,
    files: &JobFiles,
    worker: &mut Worker,
    cancel: &Cancel,
    start: u64,
) {
    let mut reader = SpoolReader::open(&files.spool, start);
    let mut cancelled_at: Option<Instant> = None;
    let mut killed = false;
    let done = loop {
        let piped = worker.wait();
        if reader.is_none() {
            reader = SpoolReader::open(&files.spool, start);
        }
        if reader.as_mut().is_some_and(|r| r.drain(writer)) || apply_all(writer, piped) {
            break true;
        }
        if cancel.is_cancelled() {
            match cancelled_at {
                None => {
                    tracing::info!(job_id = %writer.job_id(), "cancelling the job's worker");
                    worker.cancel();
                    cancelled_at = Some(Instant::now());
                }
                Some(at) if !killed && at.elapsed() >= ctx.workers.cancel_grace => {
                    tracing::warn!(job_id = %writer.job_id(), "the worker did not stop after the cancel; killing it");
                    if let Some(id) = worker.id {
                        id.kill_all();
                    }
                    killed = true;
                }
                Some(_) => {}
            }
        }
        if let Some(status) = worker.ended() {
            // What it wrote last, then how it ended.
            if reader.is_none() {
                reader = SpoolReader::open(&files.spool, start);
            }
            if reader.as_mut().is_some_and(|r| r.drain(writer)) || apply_all(writer, worker.rest())
            {
                break true;
            }
            let (kind, message) = if cancel.is_cancelled() {
                let message = if killed {
                    format!(
                        "the job was cancelled; it did not stop within {} s of the cancel, so it was killed with everything it had started",
                        ctx.workers.cancel_grace.as_secs()
                    )
                } else {
                    "the job was cancelled".to_owned()
                };
                (FailureKind::Cancelled, message)
            } else {
                let message = crate::procs::ended(status, &files.log_tail(), ctx.workers.memory);
                (FailureKind::Error, message)
            };
            end(writer, kind, message);
            break false;
        }
    };
    if done {
        // The worker exits right after its terminal event; one that lingers is stopped.
        if let Some(child) = &mut worker.child {
            stop(child, worker.id, Duration::from_secs(5));
        }
    }
    let log = files.log_tail();
    if !log.trim().is_empty() {
        tracing::info!(job_id = %writer.job_id(), worker_log = %log.trim_end(), "the job's worker wrote to its log");
    }
    files.remove();
}

/// Reads a job's spool from a byte offset, complete lines only.
struct SpoolReader {
    file: BufReader<std::fs::File>,
    /// Bytes read and journaled (or being journaled) so far.
    pos: u64,
    partial: Vec<u8>,
}

impl SpoolReader {
    fn open(path: &Path, start: u64) -> Option<Self> {
        let mut file = std::fs::File::open(path).ok()?;
        file.seek(SeekFrom::Start(start)).ok()?;
        Some(Self {
            file: BufReader::with_capacity(256 * 1024, file),
            pos: start,
            partial: Vec::new(),
        })
    }

    /// Journals every complete record written so far; true once the terminal event is in.
    fn drain(&mut self, writer: &mut JobWriter) -> bool {
        let (mut records, mut bytes) = (0, 0);
        loop {
            match self.file.read_until(b'\n', &mut self.partial) {
                Ok(0) | Err(_) => break,
                Ok(_) if !self.partial.ends_with(b"\n") => break,
                Ok(_) => {}
            }
            let line = std::mem::take(&mut self.partial);
            self.pos += line.len() as u64;
            bytes += line.len();
            records += 1;
            let terminal = match serde_json::from_slice::<SpoolRecord>(&line) {
                Ok(record) => apply(writer, record),
                Err(e) => {
                    tracing::warn!(job_id = %writer.job_id(), error = %e, "skipping a spool record the agent cannot read");
                    false
                }
            };
            if terminal || records >= BATCH_RECORDS || bytes >= BATCH_BYTES {
                writer.set_spool(self.pos);
                writer.flush();
                (records, bytes) = (0, 0);
            }
            if terminal {
                return true;
            }
        }
        writer.set_spool(self.pos);
        writer.flush();
        false
    }
}

/// Journals records the worker sent on stdout (after the spool's); true once the terminal
/// event is in.
fn apply_all(writer: &mut JobWriter, records: Vec<SpoolRecord>) -> bool {
    if records.is_empty() {
        return false;
    }
    let mut terminal = false;
    for record in records {
        if apply(writer, record) {
            terminal = true;
            break;
        }
    }
    writer.flush();
    terminal
}

/// Queues one spool record; true if it is the job's terminal event.
fn apply(writer: &mut JobWriter, record: SpoolRecord) -> bool {
    match record {
        SpoolRecord::Lines { stream, text } => {
            writer.emit_line(stream, text);
            false
        }
        SpoolRecord::Event { mut message } => {
            if message.job_event().is_none() || matches!(message, Message::JobStarted(_)) {
                return false;
            }
            let terminal = is_terminal(&message);
            writer.emit(|job_id, seq| {
                stamp(&mut message, job_id, seq);
                message
            });
            terminal
        }
    }
}

/// A thread that reads the worker's stdout lines.
fn read_replies(stdout: Option<std::process::ChildStdout>) -> Receiver<Reply> {
    let (tx, rx) = std::sync::mpsc::channel();
    if let Some(stdout) = stdout {
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                match serde_json::from_str::<Reply>(&line) {
                    Ok(reply) => {
                        if tx.send(reply).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the worker wrote a line the agent cannot read")
                    }
                }
            }
        });
    }
    rx
}

/// Writes one line to the worker's stdin; a worker that is gone is noticed elsewhere.
fn send(stdin: &mut Option<ChildStdin>, value: &impl serde::Serialize) {
    if let Some(pipe) = stdin {
        let ok = serde_json::to_vec(value)
            .map(|mut line| {
                line.push(b'\n');
                line
            })
            .is_ok_and(|line| pipe.write_all(&line).is_ok());
        if !ok {
            *stdin = None;
        }
    }
}

/// Waits up to `grace` for the worker to exit, then kills it with its session.
fn stop(child: &mut Child, id: Option<WorkerId>, grace: Duration) -> Option<ExitStatus> {
    let until = Instant::now() + grace;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                if let Some(id) = id {
                    id.kill_all();
                }
                let _ = child.kill();
                return child.wait().ok();
            }
        }
    }
}

fn reject(writer: &mut JobWriter, job_id: &str, message: String) {
    tracing::warn!(%job_id, %message, "job refused");
    end(writer, FailureKind::Rejected, message);
}

fn end(writer: &mut JobWriter, kind: FailureKind, message: String) {
    tracing::info!(job_id = %writer.job_id(), ?kind, %message, "job ended");
    writer.emit(|job_id, seq| {
        Message::JobFailed(JobFailed {
            job_id,
            seq,
            kind,
            message,
            location: None,
        })
    });
    writer.flush();
}
