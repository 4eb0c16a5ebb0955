//! Running one job: verify the bundle, check it against the command, run the recipe on this
//! blocking thread while a second thread journals and batches its events, then report the
//! terminal event.

use std::sync::mpsc::{Receiver, TryRecvError};

use cairn_engine::job::{self, Action, JobOptions, Mode};
use cairn_engine::{
    CancelToken, Category, Event, Outcome, PlannedAction, Recipe, Stream, WaitReason,
};
use cairn_protocol::messages::{
    self, BackupConfigured, DatabaseConfigured, FailureKind, JobFailed, JobProgress, JobStarted,
    JobStep, JobWaiting, LogStream, PlanBasis, PlanResult, PlannedStep, RuntimeInstalled,
};
use cairn_protocol::{BundleHeader, KeyRing, Message, RollbackStore, SignedBundle};
use serde_json::{Map, Value};

use crate::journal::JobWriter;

/// Most events journaled and sent in one batch...
const FLUSH_EVENTS: usize = 200;
/// ... and most bytes of log text.
const FLUSH_BYTES: usize = 256 * 1024;
/// Engine events in flight between the recipe's thread and the journal.
const EVENT_CHANNEL_DEPTH: usize = 4096;

/// What a job command asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Runtime,
    Database,
    Backup,
    Plan,
}

/// A job command, reduced to what the runner needs.
#[derive(Debug, Clone)]
pub struct JobRequest {
    pub job_id: String,
    pub kind: JobKind,
    /// `type` or `provider`: the recipe id the command names (empty for a plan).
    pub name: String,
    /// For a plan: the entry point asked for.
    pub entry: Option<String>,
    pub params: Map<String, Value>,
    pub bundle: SignedBundle,
    /// The plan a confirmed run comes from: planned again before it runs, and what differs said.
    pub plan: Option<PlanBasis>,
}

impl JobRequest {
    /// The job a message starts, if it starts one (parameters mapped as contract §7 says).
    pub fn from_message(m: Message) -> Option<Self> {
        Some(match m {
            Message::InstallRuntime(c) => Self {
                job_id: c.job_id,
                kind: JobKind::Runtime,
                name: c.kind,
                entry: None,
                params: c.params,
                bundle: c.bundle,
                plan: c.plan,
            },
            Message::ConfigureDatabase(c) => {
                let mut params = c.params;
                if !c.db_name.is_empty() {
                    params.insert("db_name".into(), Value::String(c.db_name));
                }
                params.insert("user".into(), Value::String(c.user));
                Self {
                    job_id: c.job_id,
                    kind: JobKind::Database,
                    name: c.kind,
                    entry: None,
                    params,
                    bundle: c.bundle,
                    plan: c.plan,
                }
            }
            Message::ConfigureBackup(c) => Self {
                job_id: c.job_id,
                kind: JobKind::Backup,
                name: c.provider,
                entry: None,
                params: c
                    .config
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect(),
                bundle: c.bundle,
                plan: c.plan,
            },
            Message::PlanRequest(c) => Self {
                job_id: c.job_id,
                kind: JobKind::Plan,
                name: String::new(),
                entry: Some(c.entry),
                params: c.params,
                bundle: c.bundle,
                plan: None,
            },
            _ => return None,
        })
    }
}

/// What every job shares.
#[derive(Debug)]
pub struct JobContext {
    pub keys: KeyRing,
    pub rollback: RollbackStore,
    pub options: JobOptions,
    /// Refuse every job but plans (`cairn-agent run --plan-only`).
    pub plan_only: bool,
    /// Detectors running now (`status.rs`): never two runs of one recipe's at once.
    pub detectors: crate::status::InFlight,
}

/// Why a plan-only agent refuses a job that would change the server.
pub const PLAN_ONLY_MESSAGE: &str = "this agent runs in plan-only mode (it was not started as root): it can show what this would change, but not change it; run the agent as root to install";

/// Runs the job to its terminal event. Blocking: call it on a blocking thread.
pub fn run(ctx: &JobContext, req: JobRequest, mut writer: JobWriter, cancel: CancelToken) {
    let (recipe, header) = match prepare(ctx, &req) {
        Ok(v) => v,
        Err(message) => {
            tracing::warn!(job_id = %req.job_id, %message, "job refused");
            writer.emit(|job_id, seq| {
                Message::JobFailed(JobFailed {
                    job_id,
                    seq,
                    kind: FailureKind::Rejected,
                    message,
                    location: None,
                })
            });
            writer.flush();
            return;
        }
    };
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

    let declared: Map<String, Value> = req
        .params
        .iter()
        .filter(|(k, _)| recipe.meta.params.iter().any(|p| &p.name == *k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let opts = JobOptions {
        mode: if req.kind == JobKind::Plan {
            Mode::Plan
        } else {
            Mode::Execute
        },
        cancel: cancel.clone(),
        ..ctx.options.clone()
    };
    if let Some(basis) = req.plan.as_ref().filter(|_| req.kind != JobKind::Plan) {
        let (sentence, changed) = crate::plans::recheck(&recipe, &declared, &opts, basis);
        let stream = if changed {
            LogStream::Warn
        } else {
            LogStream::Info
        };
        writer.emit_line(stream, sentence);
        writer.flush();
    }
    // Bounded: a job printing faster than its events leave waits (see `Outbox::wait_for_room`).
    let (tx, rx) = std::sync::mpsc::sync_channel(EVENT_CHANNEL_DEPTH);
    let report = std::thread::scope(|s| {
        let pump = s.spawn(|| pump(rx, &mut writer));
        let report = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            job::run(&recipe, Action::Apply, &declared, &opts, Some(tx))
        }));
        let _ = pump.join();
        report
    });
    let terminal = match report {
        Ok(report) => terminal(&req, &cancel, report.outcome, report.plan, report.summary),
        Err(_) => Err(Failed {
            kind: FailureKind::Error,
            message: "the agent hit an internal error while running this job; see its log"
                .to_owned(),
            location: None,
        }),
    };
    match &terminal {
        Ok(_) => tracing::info!(job_id = %req.job_id, "job succeeded"),
        Err(f) => {
            tracing::info!(job_id = %req.job_id, kind = ?f.kind, message = %f.message, location = ?f.location, "job failed");
        }
    }
    writer.emit(|job_id, seq| match terminal {
        Ok(make) => make(job_id, seq),
        Err(f) => Message::JobFailed(JobFailed {
            job_id,
            seq,
            kind: f.kind,
            message: f.message,
            location: f.location,
        }),
    });
    writer.flush();
}

type MakeTerminal = Box<dyn FnOnce(String, u64) -> Message>;

/// How a job ended without success: `JOB_FAILED`'s fields but its job and sequence number.
struct Failed {
    kind: FailureKind,
    message: String,
    location: Option<String>,
}

fn terminal(
    req: &JobRequest,
    cancel: &CancelToken,
    outcome: Outcome,
    plan: Vec<PlannedAction>,
    summary: cairn_engine::PlanSummary,
) -> Result<MakeTerminal, Failed> {
    let (value, secret_fields) = match outcome {
        Outcome::Succeeded {
            value,
            secret_fields,
        } => (value, secret_fields),
        Outcome::Failed { error, location } => {
            let kind = if cancel.is_cancelled() {
                FailureKind::Cancelled
            } else {
                FailureKind::Error
            };
            return Err(Failed {
                kind,
                message: error,
                location,
            });
        }
    };
    let text = |key: &str| match value.get(key) {
        // A backup's report never carries a credential; one that would is dropped. (A
        // database's connection string is the exception the protocol masks downstream.)
        _ if req.kind == JobKind::Backup && secret_fields.iter().any(|f| f == key) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    let name = req.name.clone();
    Ok(match req.kind {
        JobKind::Runtime => {
            let version = text("version");
            Box::new(move |job_id, seq| {
                Message::RuntimeInstalled(RuntimeInstalled {
                    job_id,
                    seq,
                    kind: name,
                    version,
                    success: true,
                })
            })
        }
        JobKind::Database => {
            let connection_string = text("connection_string");
            Box::new(move |job_id, seq| {
                Message::DatabaseConfigured(DatabaseConfigured {
                    job_id,
                    seq,
                    kind: name,
                    connection_string,
                    success: true,
                })
            })
        }
        JobKind::Backup => {
            let schedule = text("schedule");
            let message = text("message");
            let public_key = text("public_key");
            let flag = |key: &str| value.get(key).and_then(Value::as_bool);
            let last_run_ok = flag("last_run_ok");
            let last_restore_test_ok = flag("last_restore_test_ok");
            Box::new(move |job_id, seq| {
                Message::BackupConfigured(BackupConfigured {
                    job_id,
                    seq,
                    provider: name,
                    schedule,
                    success: true,
                    message,
                    public_key,
                    last_run_ok,
                    last_restore_test_ok,
                })
            })
        }
        JobKind::Plan => {
            let actions: Vec<PlannedStep> = plan.into_iter().map(planned_step).collect();
            let summary = crate::plans::to_protocol(&summary);
            Box::new(move |job_id, seq| {
                Message::PlanResult(PlanResult {
                    job_id,
                    seq,
                    actions,
                    summary,
                })
            })
        }
    })
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

/// Journals and batches the engine's events until the job finishes. A batch is whatever has
/// queued up by the time the previous one is journaled: a quiet job's line leaves at once, and
/// a chatty job's lines pile up during each journal sync and leave together (up to
/// [`FLUSH_EVENTS`] events or [`FLUSH_BYTES`] of text). No timer: latency stays one disk sync.
fn pump(rx: Receiver<Event>, writer: &mut JobWriter) {
    let mut done = false;
    while !done {
        let Ok(first) = rx.recv() else { break };
        done = queue(writer, first);
        while !done && writer.queued() < FLUSH_EVENTS && writer.queued_bytes() < FLUSH_BYTES {
            match rx.try_recv() {
                Ok(event) => done = queue(writer, event),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => done = true,
            }
        }
        writer.flush();
    }
}

/// Queues one engine event; true when it was the last (`Finished`, reported by the caller).
fn queue(writer: &mut JobWriter, event: Event) -> bool {
    match event {
        Event::Log { stream, line } => writer.emit_line(
            match stream {
                Stream::Stdout => LogStream::Stdout,
                Stream::Stderr => LogStream::Stderr,
                Stream::Info => LogStream::Info,
                Stream::Warn => LogStream::Warn,
                Stream::Command => LogStream::Command,
            },
            line,
        ),
        Event::Step { index, title } => writer.emit(|job_id, seq| {
            Message::JobStep(JobStep {
                job_id,
                seq,
                index,
                title,
            })
        }),
        Event::Progress { percent } => writer.emit(|job_id, seq| {
            Message::JobProgress(JobProgress {
                job_id,
                seq,
                percent,
            })
        }),
        Event::Waiting { reason, holder } => writer.emit(|job_id, seq| {
            Message::JobWaiting(JobWaiting {
                job_id,
                seq,
                reason: reason.map(|r| match r {
                    WaitReason::PackageManager => messages::WaitReason::PackageManager,
                    WaitReason::CairnJob => messages::WaitReason::CairnJob,
                }),
                holder,
            })
        }),
        Event::Finished { .. } => return true,
    }
    false
}

/// Verifies the bundle and checks it against the command; records the version (rollback) for
/// jobs that change the server. A refusal is a sentence for the user.
fn prepare(ctx: &JobContext, req: &JobRequest) -> Result<(Recipe, BundleHeader), String> {
    if ctx.plan_only && req.kind != JobKind::Plan {
        return Err(PLAN_ONLY_MESSAGE.to_owned());
    }
    let now = cairn_protocol::unix_now();
    let verified = req
        .bundle
        .verify(&ctx.keys, now)
        .map_err(|e| e.to_string())?;
    let header = verified.header().clone();
    if req.kind != JobKind::Plan && req.name != header.recipe_id {
        return Err(format!(
            "the command names recipe {} but its bundle holds {}; nothing was run",
            req.name, header.recipe_id
        ));
    }
    let recipe = recipe_of(&verified)?;
    let expected = match req.kind {
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
    if let Some(entry) = &req.entry
        && entry != recipe.meta.category.entry_point()
    {
        return Err(format!(
            "recipe {} has no {entry}() to plan; its entry point is {}()",
            recipe.meta.id,
            recipe.meta.category.entry_point()
        ));
    }
    if req.kind == JobKind::Plan {
        // Planning changes nothing, so it records nothing, but never plans an old version.
        check_not_older(&ctx.rollback, &header)?;
    } else {
        // The second half of `open_bundle`, after the checks above, so that a refused bundle
        // leaves no trace in the rollback state.
        ctx.rollback
            .check_and_record(&header.recipe_id, header.version)
            .map_err(|e| e.to_string())?;
    }
    Ok((recipe, header))
}

/// Refuses a bundle older than the highest version run here, without recording anything.
pub fn check_not_older(rollback: &RollbackStore, header: &BundleHeader) -> Result<(), String> {
    match rollback.highest(&header.recipe_id) {
        Some(h) if header.version < h => Err(cairn_protocol::ProtocolError::Rollback {
            recipe_id: header.recipe_id.clone(),
            version: header.version,
            highest: h,
        }
        .to_string()),
        _ => Ok(()),
    }
}

/// Parses a verified bundle's recipe and checks that what the engine reads from it is what the
/// control plane signed (id and capabilities).
pub fn recipe_of(verified: &cairn_protocol::VerifiedBundle) -> Result<Recipe, String> {
    let header = verified.header();
    let file = verified.recipe();
    let source = std::str::from_utf8(&file.bytes)
        .map_err(|_| format!("recipe file {} is not UTF-8 text", file.name))?;
    let recipe = Recipe::parse(&file.name, source).map_err(|e| e.to_string())?;
    if recipe.meta.id != header.recipe_id {
        return Err(format!(
            "the bundle is signed for recipe {} but its script declares {}",
            header.recipe_id, recipe.meta.id
        ));
    }
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v.dedup();
        v
    };
    let (signed, declared) = (&header.capabilities, &recipe.meta.capabilities);
    if sorted(&signed.programs) != sorted(&declared.programs)
        || sorted(&signed.paths) != sorted(&declared.paths)
        || sorted(&signed.services) != sorted(&declared.services)
    {
        return Err(format!(
            "recipe {}: the capabilities its script declares differ from the signed ones; nothing was run",
            header.recipe_id
        ));
    }
    Ok(recipe)
}
