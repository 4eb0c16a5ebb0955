//! One job in a worker: the recipe checked against the command (id, category, entry point) and
//! against what was signed (capabilities), then — once the supervisor says `go` — run, every
//! event appended to the job's spool, the terminal event last.

use std::io::Write;
use std::path::Path;
use std::sync::mpsc::{Receiver, TryRecvError};

use cairn_engine::job::{self, Action, JobOptions, Mode};
use cairn_engine::{
    CancelToken, Category, Event, Outcome, PlannedAction, Recipe, Stream, WaitReason,
};
use cairn_protocol::Message;
use cairn_protocol::messages::{
    self, BackupConfigured, DatabaseConfigured, FailureKind, JobFailed, JobProgress, JobStep,
    JobWaiting, LogStream, PlanBasis, PlanResult, PlannedStep, RuntimeInstalled,
};
use serde_json::{Map, Value};

use crate::work::{Control, JobKind, Reply, SpoolRecord, VerifiedRecipe};

/// Engine events in flight between the recipe's thread and the spool.
const EVENT_CHANNEL_DEPTH: usize = 4096;
/// Most records, and bytes of text, written between two `wrote` notices.
const FLUSH_RECORDS: usize = 200;
const FLUSH_BYTES: usize = 256 * 1024;
/// Most bytes of text one spool record carries (the journal's event size).
const MAX_RECORD_BYTES: usize = 16 * 1024;

/// A job as the worker gets it.
#[derive(Debug)]
pub struct Job {
    pub job_id: String,
    pub kind: JobKind,
    pub name: String,
    pub entry: Option<String>,
    /// One of the recipe's declared actions instead of its entry point.
    pub action: Option<String>,
    pub params: Map<String, Value>,
    pub recipe: VerifiedRecipe,
    pub plan: Option<PlanBasis>,
    pub options: JobOptions,
}

/// Runs the job: checks, `ready`, waits for `go`, runs. Returns when the terminal event is in
/// the spool (or when the job was refused or the supervisor never said `go`).
pub fn run(job: Job, spool: &Path) -> Result<(), String> {
    let recipe = match check(&job) {
        Ok(r) => r,
        Err(message) => {
            super::reply(&Reply::Refused { message });
            return Ok(());
        }
    };
    super::reply(&Reply::Ready);
    match super::read_control(&mut std::io::stdin().lock()) {
        Some(Control::Go) => {}
        // Cancelled before it started, or the supervisor is gone before recording the
        // version: nothing ran.
        _ => return Ok(()),
    }
    let cancel = job.options.cancel.clone();
    // Later lines: `cancel`. End of file (the supervisor restarted) does not stop the job.
    std::thread::spawn(move || {
        let mut lines = std::io::stdin().lines();
        while let Some(Ok(line)) = lines.next() {
            if serde_json::from_str::<Control>(&line).is_ok_and(|c| c == Control::Cancel) {
                cancel.cancel();
            }
        }
    });
    let mut out = Spool::open(spool);
    execute(&job, &recipe, &mut out);
    Ok(())
}

fn execute(job: &Job, recipe: &Recipe, out: &mut Spool) {
    let action = Action::from_name(job.action.as_deref());
    // The parameters the entry point (or the action) declares; `check` has refused an action
    // the recipe does not declare.
    let specs = match &job.action {
        Some(name) => recipe
            .meta
            .action(name)
            .map_or(&[][..], |a| a.params.as_slice()),
        None => recipe.meta.params.as_slice(),
    };
    let declared: Map<String, Value> = job
        .params
        .iter()
        .filter(|(k, _)| specs.iter().any(|p| &p.name == *k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let opts = JobOptions {
        mode: if job.kind == JobKind::Plan {
            Mode::Plan
        } else {
            Mode::Execute
        },
        ..job.options.clone()
    };
    if let Some(basis) = job.plan.as_ref().filter(|_| job.kind != JobKind::Plan) {
        let (sentence, changed) =
            super::plans::recheck(recipe, action.clone(), &declared, &opts, basis);
        let stream = if changed {
            LogStream::Warn
        } else {
            LogStream::Info
        };
        out.line(stream, &sentence);
        out.flush();
    }
    // Bounded: a job printing faster than the spool is written waits (its children block on
    // their pipes).
    let (tx, rx) = std::sync::mpsc::sync_channel(EVENT_CHANNEL_DEPTH);
    let report = std::thread::scope(|s| {
        let pump = s.spawn(|| pump(rx, &mut *out, &job.job_id));
        let report = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            job::run(recipe, action, &declared, &opts, Some(tx))
        }));
        let _ = pump.join();
        report
    });
    let terminal = match report {
        Ok(report) => terminal(job, report.outcome, report.plan, report.summary),
        Err(_) => failed(
            &job.job_id,
            FailureKind::Error,
            "the agent hit an internal error while running this job; see its log".to_owned(),
            None,
        ),
    };
    out.event(terminal);
    out.flush();
}

/// The checks a worker makes before it runs anything (the supervisor has verified the
/// signature, the expiry, the version and that the command names the bundle's recipe).
fn check(job: &Job) -> Result<Recipe, String> {
    let recipe = recipe_of(&job.recipe)?;
    let expected = match job.kind {
        JobKind::Runtime => Some(Category::Runtime),
        JobKind::Database => Some(Category::Database),
        JobKind::Backup => Some(Category::Backup),
        JobKind::Plan => None,
    };
    if let Some(category) = expected
        && recipe.meta.category != category
    {
        return Err(format!(
            "recipe {} is a {:?} recipe, which this command cannot run",
            recipe.meta.id, recipe.meta.category
        ));
    }
    if let Some(entry) = &job.entry
        && entry != recipe.meta.category.entry_point()
    {
        return Err(format!(
            "recipe {} has no {entry}() to plan; its entry point is {}()",
            recipe.meta.id,
            recipe.meta.category.entry_point()
        ));
    }
    if let Some(name) = &job.action
        && recipe.meta.action(name).is_none()
    {
        let names: Vec<&str> = recipe
            .meta
            .actions
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        return Err(format!(
            "recipe {} has no action {name} (its actions: {}); nothing was run",
            recipe.meta.id,
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        ));
    }
    Ok(recipe)
}

/// Reads a verified recipe's script and checks that what the engine reads from it is what the
/// control plane signed (id and capabilities).
pub fn recipe_of(v: &VerifiedRecipe) -> Result<Recipe, String> {
    let recipe = Recipe::parse(&v.file, &v.source).map_err(|e| e.to_string())?;
    if recipe.meta.id != v.recipe_id {
        return Err(format!(
            "the bundle is signed for recipe {} but its script declares {}",
            v.recipe_id, recipe.meta.id
        ));
    }
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v.dedup();
        v
    };
    let (signed, declared) = (&v.capabilities, &recipe.meta.capabilities);
    if sorted(&signed.programs) != sorted(&declared.programs)
        || sorted(&signed.paths) != sorted(&declared.paths)
        || sorted(&signed.services) != sorted(&declared.services)
    {
        return Err(format!(
            "recipe {}: the capabilities its script declares differ from the signed ones; nothing was run",
            v.recipe_id
        ));
    }
    Ok(recipe)
}

fn failed(job_id: &str, kind: FailureKind, message: String, location: Option<String>) -> Message {
    Message::JobFailed(JobFailed {
        job_id: job_id.to_owned(),
        seq: 0,
        kind,
        message,
        location,
    })
}

/// The terminal event of a job that ran.
fn terminal(
    job: &Job,
    outcome: Outcome,
    plan: Vec<PlannedAction>,
    summary: cairn_engine::PlanSummary,
) -> Message {
    let job_id = job.job_id.clone();
    let (value, secret_fields) = match outcome {
        Outcome::Succeeded {
            value,
            secret_fields,
        } => (value, secret_fields),
        Outcome::Failed { error, location } => {
            let kind = if job.options.cancel.is_cancelled() {
                FailureKind::Cancelled
            } else {
                FailureKind::Error
            };
            return failed(&job_id, kind, error, location);
        }
    };
    let text = |key: &str| match value.get(key) {
        // A backup's report never carries a credential; one that would is dropped. (A
        // database's connection string is the exception the protocol masks downstream.)
        _ if job.kind == JobKind::Backup && secret_fields.iter().any(|f| f == key) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    let name = job.name.clone();
    match job.kind {
        JobKind::Runtime => Message::RuntimeInstalled(RuntimeInstalled {
            job_id,
            seq: 0,
            kind: name,
            version: text("version"),
            success: true,
        }),
        JobKind::Database => Message::DatabaseConfigured(DatabaseConfigured {
            job_id,
            seq: 0,
            kind: name,
            connection_string: text("connection_string"),
            success: true,
        }),
        JobKind::Backup => {
            let flag = |key: &str| value.get(key).and_then(Value::as_bool);
            Message::BackupConfigured(BackupConfigured {
                job_id,
                seq: 0,
                provider: name,
                schedule: text("schedule"),
                success: true,
                message: text("message"),
                public_key: text("public_key"),
                last_run_ok: flag("last_run_ok"),
                last_restore_test_ok: flag("last_restore_test_ok"),
                first_backup_due: flag("first_backup_due"),
            })
        }
        JobKind::Plan => Message::PlanResult(PlanResult {
            job_id,
            seq: 0,
            actions: plan.into_iter().map(planned_step).collect(),
            summary: super::plans::to_protocol(&summary),
        }),
    }
}

fn planned_step(a: PlannedAction) -> PlannedStep {
    match a {
        PlannedAction::Run {
            program,
            args,
            stdin,
        } => PlannedStep::Run {
            program,
            args,
            stdin,
        },
        PlannedAction::WriteFile { path, mode, bytes } => {
            PlannedStep::WriteFile { path, mode, bytes }
        }
        PlannedAction::Download { url, dest, sha256 } => {
            PlannedStep::Download { url, dest, sha256 }
        }
    }
}

/// Writes the engine's events to the spool until the job finishes. A batch is whatever queued
/// while the previous one was written: a quiet job's line leaves at once, a chatty job's lines
/// leave together.
fn pump(rx: Receiver<Event>, out: &mut Spool, job_id: &str) {
    let mut done = false;
    while !done {
        let Ok(first) = rx.recv() else { break };
        done = queue(out, first, job_id);
        while !done && out.records < FLUSH_RECORDS && out.bytes < FLUSH_BYTES {
            match rx.try_recv() {
                Ok(event) => done = queue(out, event, job_id),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => done = true,
            }
        }
        out.flush();
    }
}

/// Queues one engine event; true when it was the last (`Finished`, reported by the caller).
fn queue(out: &mut Spool, event: Event, job_id: &str) -> bool {
    let job_id = job_id.to_owned();
    match event {
        Event::Log { stream, line } => out.line(
            match stream {
                Stream::Stdout => LogStream::Stdout,
                Stream::Stderr => LogStream::Stderr,
                Stream::Info => LogStream::Info,
                Stream::Warn => LogStream::Warn,
                Stream::Command => LogStream::Command,
            },
            &line,
        ),
        Event::Step { index, title } => out.event(Message::JobStep(JobStep {
            job_id,
            seq: 0,
            index,
            title,
        })),
        Event::Progress { percent } => out.event(Message::JobProgress(JobProgress {
            job_id,
            seq: 0,
            percent,
        })),
        Event::Waiting { reason, holder } => out.event(Message::JobWaiting(JobWaiting {
            job_id,
            seq: 0,
            reason: reason.map(|r| match r {
                WaitReason::PackageManager => messages::WaitReason::PackageManager,
                WaitReason::CairnJob => messages::WaitReason::CairnJob,
            }),
            holder,
        })),
        Event::Timings { timings: t } => {
            let timed = |v: Vec<cairn_engine::timing::Timed>| {
                v.into_iter()
                    .map(|t| messages::TimedPart {
                        what: t.what,
                        start_ms: t.start_ms,
                        ms: t.ms,
                    })
                    .collect()
            };
            let counted = |v: Vec<cairn_engine::timing::Counted>| {
                v.into_iter()
                    .map(|c| messages::CountedPart {
                        what: c.what,
                        count: c.count,
                        ms: c.ms,
                    })
                    .collect()
            };
            out.event(Message::JobTimings(messages::JobTimings {
                job_id,
                seq: 0,
                total_ms: t.total_ms,
                script_ms: t.script_ms,
                steps: timed(t.steps),
                calls: counted(t.calls),
                processes: timed(t.processes),
                programs: counted(t.programs),
                waits: counted(t.waits),
            }))
        }
        Event::Finished { .. } => return true,
    }
    false
}

/// The job's spool, written in batches: consecutive lines of one stream become one record.
/// When the spool cannot be written (a full disk), the batch that failed is cut off the file
/// and it and every later record go to the supervisor on stdout instead: the job's output
/// still arrives, in order (the supervisor warns the user that it is not on disk).
struct Spool {
    file: Option<std::fs::File>,
    /// Records not yet written, and lines not yet made a record.
    queued: Vec<SpoolRecord>,
    pending: Option<(LogStream, String)>,
    records: usize,
    bytes: usize,
}

impl Spool {
    fn open(path: &Path) -> Self {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path);
        if let Err(e) = &file {
            tracing::error!(error = %e, path = %path.display(), "could not open the job's spool; its output goes on stdout");
        }
        Self {
            file: file.ok(),
            queued: Vec::new(),
            pending: None,
            records: 0,
            bytes: 0,
        }
    }

    fn line(&mut self, stream: LogStream, line: &str) {
        self.bytes += line.len() + 1;
        if let Some((s, text)) = &mut self.pending
            && *s == stream
            && text.len() + 1 + line.len() <= MAX_RECORD_BYTES
        {
            text.push('\n');
            text.push_str(line);
            return;
        }
        self.take_pending();
        self.pending = Some((stream, line.to_owned()));
    }

    fn event(&mut self, message: Message) {
        self.take_pending();
        self.records += 1;
        self.queued.push(SpoolRecord::Event { message });
    }

    fn take_pending(&mut self) {
        if let Some((stream, text)) = self.pending.take() {
            self.records += 1;
            self.queued.push(SpoolRecord::Lines { stream, text });
        }
    }

    /// Writes what is queued (or sends it on stdout) and tells the supervisor.
    fn flush(&mut self) {
        self.take_pending();
        let records = std::mem::take(&mut self.queued);
        (self.records, self.bytes) = (0, 0);
        if records.is_empty() {
            return;
        }
        if let Some(file) = &mut self.file {
            let mut text = Vec::new();
            for record in &records {
                if serde_json::to_writer(&mut text, record).is_ok() {
                    text.push(b'\n');
                }
            }
            let before = file.metadata().map(|m| m.len());
            match file.write_all(&text) {
                Ok(()) => {
                    super::reply(&Reply::Wrote);
                    return;
                }
                Err(e) => {
                    tracing::error!(error = %e, "could not write the job's spool; its output goes on stdout");
                    // No torn record may stay for the supervisor to wait on.
                    if let Ok(len) = before {
                        let _ = file.set_len(len);
                    }
                    self.file = None;
                }
            }
        }
        for record in records {
            super::reply(&Reply::Record { record });
        }
    }
}

/// The options of a job from the worker's limits.
pub fn options(cancel: CancelToken, engine_memory: Option<u64>) -> JobOptions {
    let mut options = JobOptions {
        cancel,
        ..JobOptions::default()
    };
    if let Some(bytes) = engine_memory {
        options.limits.max_memory_growth = bytes;
    }
    options
}
