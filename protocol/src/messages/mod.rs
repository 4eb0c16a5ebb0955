//! Every message of the protocol: one serde enum, tagged `{"type": "...", "payload": {...}}`,
//! one struct per payload, one module per family.
//!
//! Messages travel inside signed [`crate::Frame`]s (a frame can carry several, which is how log
//! lines are batched). See `docs/protocol.md` for every message with an example.

pub mod auth;
pub mod events;
pub mod jobs;
pub mod metrics;
pub mod plans;
pub mod services;
pub mod status;

use serde::{Deserialize, Serialize};

pub use auth::{
    AuthChallenge, AuthOk, AuthResponse, ChallengePurpose, EnrollRequest, EnrollResponse, Hello,
};
pub use events::{
    BackupConfigured, CountedPart, DatabaseConfigured, FailureKind, InfrastructureLog, JobFailed,
    JobProgress, JobStarted, JobStep, JobTimings, JobWaiting, LogStream, PlanResult, PlannedStep,
    RuntimeInstalled, TimedPart, WaitReason,
};
pub use jobs::{
    CancelJob, ConfigureBackup, ConfigureDatabase, InstallRuntime, LogAck, PlanRequest,
};
pub use metrics::{DiskSample, Metrics, MetricsAck, NetSample, Sample, ServiceSample};
pub use plans::{FileChange, PackageAction, PackageChange, PlanBasis, PlanSummary, ServiceChange};
pub use services::{GetServiceLog, LogProblem, ServiceInfo, ServiceLog, ServiceState};
pub use status::{
    BackupDrill, BackupInfo, BackupSettings, BackupSnapshot, CpuInfo, DatabaseInfo, DbDatabase,
    DbUser, GetServerStatus, Installation, RuntimeInfo, ServerStatus, SystemInfo, Usage,
};

/// Version of this protocol, sent in `HELLO`.
pub const PROTOCOL_VERSION: u32 = 1;

/// One protocol message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "type", content = "payload", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Message {
    // Connection and enrollment.
    Hello(Hello),
    AuthChallenge(AuthChallenge),
    AuthResponse(AuthResponse),
    AuthOk(AuthOk),
    EnrollRequest(EnrollRequest),
    EnrollResponse(EnrollResponse),
    // Status.
    GetServerStatus(GetServerStatus),
    ServerStatus(ServerStatus),
    GetServiceLog(GetServiceLog),
    ServiceLog(ServiceLog),
    // Job commands.
    InstallRuntime(InstallRuntime),
    ConfigureDatabase(ConfigureDatabase),
    ConfigureBackup(ConfigureBackup),
    PlanRequest(PlanRequest),
    CancelJob(CancelJob),
    LogAck(LogAck),
    // Job events.
    JobStarted(JobStarted),
    InfrastructureLog(InfrastructureLog),
    JobStep(JobStep),
    JobProgress(JobProgress),
    JobWaiting(JobWaiting),
    JobTimings(JobTimings),
    RuntimeInstalled(RuntimeInstalled),
    DatabaseConfigured(DatabaseConfigured),
    BackupConfigured(BackupConfigured),
    PlanResult(PlanResult),
    JobFailed(JobFailed),
    // Either direction.
    Error(ErrorMessage),
    // Metrics.
    Metrics(Metrics),
    MetricsAck(MetricsAck),
}

/// Who may send a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Control plane → agent.
    ToAgent,
    /// Agent → control plane.
    ToControlPlane,
    /// Either side.
    Both,
}

impl Direction {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::ToAgent => "from the control plane to an agent",
            Self::ToControlPlane => "from an agent to the control plane",
            Self::Both => "in either direction",
        }
    }
}

impl Message {
    /// Every message type, as it appears in `"type"`.
    pub const ALL_TYPES: &'static [&'static str] = &[
        "HELLO",
        "AUTH_CHALLENGE",
        "AUTH_RESPONSE",
        "AUTH_OK",
        "ENROLL_REQUEST",
        "ENROLL_RESPONSE",
        "GET_SERVER_STATUS",
        "SERVER_STATUS",
        "GET_SERVICE_LOG",
        "SERVICE_LOG",
        "INSTALL_RUNTIME",
        "CONFIGURE_DATABASE",
        "CONFIGURE_BACKUP",
        "PLAN_REQUEST",
        "CANCEL_JOB",
        "LOG_ACK",
        "JOB_STARTED",
        "INFRASTRUCTURE_LOG",
        "JOB_STEP",
        "JOB_PROGRESS",
        "JOB_WAITING",
        "JOB_TIMINGS",
        "RUNTIME_INSTALLED",
        "DATABASE_CONFIGURED",
        "BACKUP_CONFIGURED",
        "PLAN_RESULT",
        "JOB_FAILED",
        "ERROR",
        "METRICS",
        "METRICS_ACK",
    ];

    /// The message's `"type"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Hello(_) => "HELLO",
            Self::AuthChallenge(_) => "AUTH_CHALLENGE",
            Self::AuthResponse(_) => "AUTH_RESPONSE",
            Self::AuthOk(_) => "AUTH_OK",
            Self::EnrollRequest(_) => "ENROLL_REQUEST",
            Self::EnrollResponse(_) => "ENROLL_RESPONSE",
            Self::GetServerStatus(_) => "GET_SERVER_STATUS",
            Self::ServerStatus(_) => "SERVER_STATUS",
            Self::GetServiceLog(_) => "GET_SERVICE_LOG",
            Self::ServiceLog(_) => "SERVICE_LOG",
            Self::InstallRuntime(_) => "INSTALL_RUNTIME",
            Self::ConfigureDatabase(_) => "CONFIGURE_DATABASE",
            Self::ConfigureBackup(_) => "CONFIGURE_BACKUP",
            Self::PlanRequest(_) => "PLAN_REQUEST",
            Self::CancelJob(_) => "CANCEL_JOB",
            Self::LogAck(_) => "LOG_ACK",
            Self::JobStarted(_) => "JOB_STARTED",
            Self::InfrastructureLog(_) => "INFRASTRUCTURE_LOG",
            Self::JobStep(_) => "JOB_STEP",
            Self::JobProgress(_) => "JOB_PROGRESS",
            Self::JobWaiting(_) => "JOB_WAITING",
            Self::JobTimings(_) => "JOB_TIMINGS",
            Self::RuntimeInstalled(_) => "RUNTIME_INSTALLED",
            Self::DatabaseConfigured(_) => "DATABASE_CONFIGURED",
            Self::BackupConfigured(_) => "BACKUP_CONFIGURED",
            Self::PlanResult(_) => "PLAN_RESULT",
            Self::JobFailed(_) => "JOB_FAILED",
            Self::Error(_) => "ERROR",
            Self::Metrics(_) => "METRICS",
            Self::MetricsAck(_) => "METRICS_ACK",
        }
    }

    /// Who may send this message. Receivers refuse messages sent the wrong way, so that, say, a
    /// compromised agent cannot send a command to another agent through the relay.
    pub fn direction(&self) -> Direction {
        match self {
            Self::AuthChallenge(_)
            | Self::AuthOk(_)
            | Self::EnrollResponse(_)
            | Self::GetServerStatus(_)
            | Self::GetServiceLog(_)
            | Self::InstallRuntime(_)
            | Self::ConfigureDatabase(_)
            | Self::ConfigureBackup(_)
            | Self::PlanRequest(_)
            | Self::CancelJob(_)
            | Self::LogAck(_)
            | Self::MetricsAck(_) => Direction::ToAgent,
            Self::Error(_) => Direction::Both,
            _ => Direction::ToControlPlane,
        }
    }

    /// `(jobId, seq)` of a job event, which the agent journals until acknowledged.
    pub fn job_event(&self) -> Option<(&str, u64)> {
        match self {
            Self::JobStarted(m) => Some((&m.job_id, m.seq)),
            Self::InfrastructureLog(m) => Some((&m.job_id, m.seq)),
            Self::JobStep(m) => Some((&m.job_id, m.seq)),
            Self::JobProgress(m) => Some((&m.job_id, m.seq)),
            Self::JobWaiting(m) => Some((&m.job_id, m.seq)),
            Self::JobTimings(m) => Some((&m.job_id, m.seq)),
            Self::RuntimeInstalled(m) => Some((&m.job_id, m.seq)),
            Self::DatabaseConfigured(m) => Some((&m.job_id, m.seq)),
            Self::BackupConfigured(m) => Some((&m.job_id, m.seq)),
            Self::PlanResult(m) => Some((&m.job_id, m.seq)),
            Self::JobFailed(m) => Some((&m.job_id, m.seq)),
            _ => None,
        }
    }

    /// [`Message::job_event`], mutable: the job id and sequence number of a job event, for the
    /// agent that numbers events as it journals them.
    pub fn job_event_mut(&mut self) -> Option<(&mut String, &mut u64)> {
        match self {
            Self::JobStarted(m) => Some((&mut m.job_id, &mut m.seq)),
            Self::InfrastructureLog(m) => Some((&mut m.job_id, &mut m.seq)),
            Self::JobStep(m) => Some((&mut m.job_id, &mut m.seq)),
            Self::JobProgress(m) => Some((&mut m.job_id, &mut m.seq)),
            Self::JobWaiting(m) => Some((&mut m.job_id, &mut m.seq)),
            Self::JobTimings(m) => Some((&mut m.job_id, &mut m.seq)),
            Self::RuntimeInstalled(m) => Some((&mut m.job_id, &mut m.seq)),
            Self::DatabaseConfigured(m) => Some((&mut m.job_id, &mut m.seq)),
            Self::BackupConfigured(m) => Some((&mut m.job_id, &mut m.seq)),
            Self::PlanResult(m) => Some((&mut m.job_id, &mut m.seq)),
            Self::JobFailed(m) => Some((&mut m.job_id, &mut m.seq)),
            _ => None,
        }
    }

    /// Whether this message may travel outside a signed frame: only the agent's pre-session
    /// messages, whose sender the control plane cannot yet check (see [`auth`]).
    pub fn may_be_bare(&self) -> bool {
        matches!(
            self,
            Self::Hello(_) | Self::AuthResponse(_) | Self::EnrollRequest(_)
        )
    }
}

/// Machine-readable error categories of `ERROR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame could not be read (size, JSON, duplicate keys, unknown type, …).
    BadFrame,
    /// Signature, key, audience, session, window or replay check failed.
    Unauthenticated,
    /// Enrollment refused.
    EnrollmentRefused,
    /// The command names a job the receiver does not know.
    UnknownJob,
    /// The command conflicts with a job already running.
    Busy,
    /// Anything else; `message` says what.
    Internal,
    /// The node was removed from Cairn (its key revoked): the agent stops dialing often and
    /// logs the sentence, which says to enroll again or uninstall.
    NodeRemoved,
    /// A code this version does not know (sent by a newer peer).
    #[serde(other)]
    Unknown,
}

/// `ERROR` (either direction): something the peer sent was refused, or failed outside a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct ErrorMessage {
    pub code: ErrorCode,
    /// A sentence for the user.
    pub message: String,
    /// The frame this answers, if it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
}
