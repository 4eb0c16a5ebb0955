//! What the supervisor and a worker say to each other (the worker is `cairn-agent-worker`, a
//! short-lived process that runs the engine for one job or one batch of detectors).
//!
//! Three channels, each one JSON value per line:
//! - the worker's **stdin**: one [`Request`], then [`Control`] lines (`go` once the supervisor
//!   has recorded the recipe's version, `cancel`). End of file means the supervisor is gone;
//!   a job's worker then carries on, since a restarted supervisor adopts it;
//! - the worker's **stdout**: [`Reply`] lines (the job's checks passed or failed, a detector's
//!   result, "the spool grew");
//! - a job's **spool** (`state/journal/<jobId>.spool`): every event of the job as
//!   [`SpoolRecord`]s, appended by the worker and read by the supervisor, which journals them.
//!   It is a file, not a pipe, so a supervisor that restarts mid-job finds every line the
//!   worker wrote while it was gone.
//!
//! The supervisor verifies every signature, expiry and version before a worker gets a recipe:
//! a worker receives recipe source only, never a key.

use std::path::PathBuf;

use cairn_protocol::Message;
use cairn_protocol::messages::{LogStream, PlanBasis};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What a job command asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Runtime,
    Database,
    Backup,
    Plan,
}

/// A recipe whose bundle the supervisor verified: its script and the capabilities signed for it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifiedRecipe {
    /// The script's file name in the bundle.
    pub file: String,
    pub source: String,
    /// The recipe id the signed header names.
    pub recipe_id: String,
    pub version: u64,
    pub capabilities: cairn_protocol::Capabilities,
}

/// Kernel limits a worker puts on itself before it reads a recipe.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct WorkerLimits {
    /// `RLIMIT_AS`, bytes: the worker and every program it runs.
    pub address_space: u64,
    /// `RLIMIT_CPU`, seconds (detectors only).
    pub cpu_seconds: Option<u64>,
    /// Keep only `CAP_DAC_READ_SEARCH` (detectors: see `crate::worker::limits`).
    #[serde(default)]
    pub read_only: bool,
    /// The interpreter's own ceiling on memory growth, bytes (`Limits::max_memory_growth`);
    /// `None`: the engine's default.
    pub engine_memory: Option<u64>,
}

/// The first line a worker reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Run one job; its events go to `spool`.
    Job {
        job_id: String,
        kind: JobKind,
        /// `type` or `provider`: the recipe id the command names (empty for a plan).
        name: String,
        /// For a plan: the entry point asked for.
        entry: Option<String>,
        /// One of the recipe's declared actions instead of its entry point (absent in a
        /// request from an older supervisor: the entry point).
        #[serde(default)]
        action: Option<String>,
        params: Map<String, Value>,
        recipe: VerifiedRecipe,
        /// The plan a confirmed run comes from (planned again before it runs).
        plan: Option<PlanBasis>,
        spool: PathBuf,
        limits: WorkerLimits,
    },
    /// Run these detectors (in parallel) and report each result on stdout.
    Detect {
        recipes: Vec<VerifiedRecipe>,
        timeout_ms: u64,
        limits: WorkerLimits,
    },
    /// Read the end of `service`'s log, as the first of `recipes` (verified, each declaring
    /// it) that declares a log file for it says (the journal with systemd).
    ServiceLog {
        recipes: Vec<VerifiedRecipe>,
        service: String,
        request_id: String,
        limits: WorkerLimits,
    },
    /// Read these scripts (not verified, never run) and say what each is: which card an error
    /// about a bundle that failed verification belongs on.
    Identify {
        recipes: Vec<VerifiedRecipe>,
        limits: WorkerLimits,
    },
}

/// Lines the supervisor sends after the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    /// The recipe's version is recorded: run.
    Go,
    /// Stop the job at its next operation and kill what it runs.
    Cancel,
}

/// What a detector found (the engine's `Detection`, field for field).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Found {
    pub installed: bool,
    pub version: Option<String>,
    pub running: Option<bool>,
    pub schedule: Option<String>,
    pub last_run_at: Option<u64>,
    pub last_run_ok: Option<bool>,
    pub last_restore_test_at: Option<u64>,
    pub last_restore_test_ok: Option<bool>,
    pub public_key: Option<String>,
    pub snapshots: Vec<cairn_protocol::messages::BackupSnapshot>,
    pub drill: Option<cairn_protocol::messages::BackupDrill>,
    pub settings: Option<cairn_protocol::messages::BackupSettings>,
    pub installations: Vec<cairn_protocol::messages::Installation>,
    pub databases: Vec<cairn_protocol::messages::DbDatabase>,
    pub users: Vec<cairn_protocol::messages::DbUser>,
}

/// A recipe's category, as the card it belongs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Card {
    Runtime,
    Database,
    Backup,
}

/// What a worker writes on stdout.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    /// The job's recipe passed the worker's checks (id, category, entry point, capabilities):
    /// the worker waits for [`Control::Go`].
    Ready,
    /// The job's recipe failed them: a sentence for the user. The worker exits.
    Refused { message: String },
    /// The spool grew.
    Wrote,
    /// A record the worker could not append to the spool (its disk is full): sent here
    /// instead, after every record the spool holds. Once one comes this way, all later ones do.
    Record { record: SpoolRecord },
    /// One detector's result (or what an identified script is).
    Detected {
        /// Index in the request's `recipes`.
        index: usize,
        id: String,
        card: Card,
        estimated_size_mb: Option<u64>,
        result: Result<Found, String>,
        /// The services the recipe declares (`capabilities.services`), as they are now.
        #[serde(default)]
        services: Vec<cairn_protocol::messages::ServiceInfo>,
        /// The pid file the recipe declares for each of them, if any (the metrics sampler
        /// checks it between statuses, `crate::sampler`).
        #[serde(default)]
        pid_files: std::collections::BTreeMap<String, String>,
    },
    /// The answer to [`Request::ServiceLog`].
    ServiceLog {
        log: cairn_protocol::messages::ServiceLog,
    },
}

/// One entry of a job's spool.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum SpoolRecord {
    /// Output lines of one stream, joined with `\n` (the worker coalesces as the journal does).
    Lines { stream: LogStream, text: String },
    /// Any other event, its `jobId` and `seq` left for the supervisor to fill in. The job's
    /// terminal event is the last record.
    Event { message: Message },
}
