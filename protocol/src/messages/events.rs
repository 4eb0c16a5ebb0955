//! Job events (agent → control plane). Each names its job and carries a per-job sequence
//! number starting at 1, with no gaps; the agent keeps events in its journal until `LOG_ACK`
//! covers them and resends the rest after a reconnect, so the control plane must treat
//! `(jobId, seq)` as idempotent.

use serde::{Deserialize, Serialize};

/// `JOB_STARTED`: the bundle verified and the recipe started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct JobStarted {
    pub job_id: String,
    pub seq: u64,
    pub recipe_id: String,
    pub recipe_version: u64,
}

/// Where a console line came from (the engine's `Stream`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    Stdout,
    Stderr,
    Info,
    Warn,
    /// The echo of a command about to run.
    Command,
}

/// `INFRASTRUCTURE_LOG`: one console line, redacted by the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct InfrastructureLog {
    pub job_id: String,
    pub seq: u64,
    pub message: String,
    pub stream: LogStream,
}

/// `JOB_STEP`: the recipe started a named step; `index` counts from 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct JobStep {
    pub job_id: String,
    pub seq: u64,
    pub index: u32,
    pub title: String,
}

/// `JOB_PROGRESS`: overall progress, 0–100.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct JobProgress {
    pub job_id: String,
    pub seq: u64,
    pub percent: u8,
}

/// What a job is waiting for before it can go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum WaitReason {
    /// Another program on the server holds dpkg's lock (an unattended upgrade, an admin's
    /// `apt-get`).
    PackageManager,
    /// Another Cairn job on this server is installing packages.
    CairnJob,
}

/// `JOB_WAITING`: the job is blocked, and on what; `reason: null` when the wait is over. The
/// page shows this instead of a moving progress bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct JobWaiting {
    pub job_id: String,
    pub seq: u64,
    pub reason: Option<WaitReason>,
    /// Who holds what it waits for ("process 1234 (apt-get)"), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub holder: Option<String>,
}

/// One timed thing of a job (`JOB_TIMINGS`): a step, or a child process (its program and
/// first arguments); when it started (ms after the job did) and how long it took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct TimedPart {
    pub what: String,
    pub start_ms: u64,
    pub ms: u64,
}

/// Calls of one host function, runs of one program, or waits of one kind: how many, how long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct CountedPart {
    pub what: String,
    pub count: u64,
    pub ms: u64,
}

/// `JOB_TIMINGS`: where a run's time went, sent once just before its end (never by a plan).
/// The console shows it on request; `cairn-recipe run --timings` prints the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct JobTimings {
    pub job_id: String,
    pub seq: u64,
    pub total_ms: u64,
    /// Outside every timed host call: the interpreter and the quick host functions.
    pub script_ms: u64,
    pub steps: Vec<TimedPart>,
    pub calls: Vec<CountedPart>,
    pub processes: Vec<TimedPart>,
    pub programs: Vec<CountedPart>,
    pub waits: Vec<CountedPart>,
}

/// `RUNTIME_INSTALLED`: an `INSTALL_RUNTIME` job ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeInstalled {
    pub job_id: String,
    pub seq: u64,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub success: bool,
}

/// `DATABASE_CONFIGURED`: a `CONFIGURE_DATABASE` job ended. `connectionString` holds the
/// generated password: the control plane relays it to the dashboard that asked and never
/// stores or logs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseConfigured {
    pub job_id: String,
    pub seq: u64,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_string: Option<String>,
    pub success: bool,
}

/// `BACKUP_CONFIGURED`: a `CONFIGURE_BACKUP` job ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct BackupConfigured {
    pub job_id: String,
    pub seq: u64,
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    pub success: bool,
    /// The recipe's sentence for the user (`result.message`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The public key the backup target must accept (rsync over SSH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// Whether the backup this job ran (or the last one, if it ran none) succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_ok: Option<bool>,
    /// Whether the restore test this job ran (or the last one) found every file identical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_restore_test_ok: Option<bool>,
    /// A configure that changed something: its first backup and restore test are due, as their
    /// own job (the backup recipes' `first_backup`, which the control plane starts next).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_backup_due: Option<bool>,
}

/// One side effect a planned recipe would make (same JSON shape as the engine's
/// `PlannedAction`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum PlannedStep {
    Run {
        program: String,
        args: Vec<String>,
        stdin: bool,
    },
    WriteFile {
        path: String,
        mode: u32,
        bytes: usize,
    },
    Download {
        url: String,
        dest: String,
        sha256: String,
    },
}

/// `PLAN_RESULT`: the ordered commands and file writes a `PLAN_REQUEST` would make, and what
/// they would change in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct PlanResult {
    pub job_id: String,
    pub seq: u64,
    pub actions: Vec<PlannedStep>,
    #[serde(default)]
    pub summary: super::PlanSummary,
}

/// Why a job failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum FailureKind {
    /// The recipe or a command failed.
    Error,
    /// `CANCEL_JOB` stopped it.
    Cancelled,
    /// The agent restarted while the job ran.
    Interrupted,
    /// The command or its bundle was refused (bad signature, rollback, …); nothing ran.
    Rejected,
}

/// `JOB_FAILED`: the job ended without success. Always the job's last event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct JobFailed {
    pub job_id: String,
    pub seq: u64,
    pub kind: FailureKind,
    /// A sentence for the user, redacted, without where in the script it happened.
    pub message: String,
    /// Where in the recipe it happened (`rust.rhai:67`), for the page's "Details", when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub location: Option<String>,
}
