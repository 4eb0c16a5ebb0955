//! What the control plane sends a dashboard (`docs/api.md`, "Control plane → dashboard"): one
//! [`DashboardEvent`], an envelope naming the node (and the job) around a
//! [`DashboardEventBody`] tagged by `type`. A job's events and the agent's status and errors
//! are the agent's own messages (`crate::messages`), relayed as they are (masked where they
//! carry a secret the viewer did not ask for).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::Message;
use crate::messages::{
    BackupConfigured, DatabaseConfigured, ErrorMessage, InfrastructureLog, JobFailed, JobProgress,
    JobStarted, JobStep, JobTimings, JobWaiting, PlanResult, RuntimeInstalled, ServerStatus,
    ServiceLog,
};

/// One message to the page: `{type, nodeId, jobId?, payload}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DashboardEvent {
    /// The node it is about; empty for an `ERROR` that answers no node.
    pub node_id: String,
    /// The job it is about, on a job's messages only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub job_id: Option<String>,
    #[serde(flatten)]
    pub body: DashboardEventBody,
}

impl DashboardEvent {
    pub fn new(node_id: &str, job_id: Option<&str>, body: DashboardEventBody) -> Self {
        Self {
            node_id: node_id.to_owned(),
            job_id: job_id.map(str::to_owned),
            body,
        }
    }

    /// `ERROR`: a command of this page failed; `message` says why and what to do.
    pub fn error(message: impl Into<String>) -> Self {
        Self::error_said(message, None)
    }

    /// `ERROR` with the code of its sentence, for the page to say it in its language.
    pub fn error_said(message: impl Into<String>, said: Option<Said>) -> Self {
        let body = DashboardEventBody::Error(DashboardError {
            message: message.into(),
            said: said.unwrap_or_default(),
        });
        Self::new("", None, body)
    }
}

/// What happened, tagged by `type`, with its `payload`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", content = "payload", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DashboardEventBody {
    /// To the page whose command became a job.
    JobCreated(JobCreated),
    /// The node's agent connected or left; also the answer to `SUBSCRIBE`.
    NodeStatus(NodeStatus),
    /// The agent's `SERVER_STATUS`, as stored.
    ServerStatus(ServerStatus),
    /// The agent's `SERVICE_LOG`, to the page that asked only (never stored).
    ServiceLog(ServiceLog),
    // A job's events, from the agent.
    JobStarted(JobStarted),
    InfrastructureLog(LogLineEvent),
    JobStep(JobStep),
    JobProgress(JobProgress),
    JobWaiting(JobWaiting),
    JobTimings(JobTimings),
    RuntimeInstalled(RuntimeInstalled),
    DatabaseConfigured(DatabaseConfigured),
    BackupConfigured(BackupConfigured),
    PlanResult(PlanResult),
    JobFailed(JobFailedEvent),
    /// An `ERROR` the agent sent.
    AgentError(AgentErrorEvent),
    /// A command of this page failed.
    Error(DashboardError),
}

/// A job event of the agent as it is relayed; any other message is handed back.
impl TryFrom<Message> for DashboardEventBody {
    type Error = Message;

    fn try_from(message: Message) -> Result<Self, Message> {
        Ok(match message {
            Message::JobStarted(m) => Self::JobStarted(m),
            Message::InfrastructureLog(line) => Self::InfrastructureLog(LogLineEvent {
                line,
                said: Said::default(),
            }),
            Message::JobStep(m) => Self::JobStep(m),
            Message::JobProgress(m) => Self::JobProgress(m),
            Message::JobWaiting(m) => Self::JobWaiting(m),
            Message::JobTimings(m) => Self::JobTimings(m),
            Message::RuntimeInstalled(m) => Self::RuntimeInstalled(m),
            Message::DatabaseConfigured(m) => Self::DatabaseConfigured(m),
            Message::BackupConfigured(m) => Self::BackupConfigured(m),
            Message::PlanResult(m) => Self::PlanResult(m),
            Message::JobFailed(failed) => Self::JobFailed(JobFailedEvent {
                failed,
                said: Said::default(),
            }),
            other => return Err(other),
        })
    }
}

/// `JOB_CREATED`'s payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct JobCreated {
    pub job_id: String,
    pub node_id: String,
    /// The recipe id.
    pub recipe: String,
}

/// `NODE_STATUS`'s payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NodeStatus {
    /// Whether the node's agent has a live, authenticated connection.
    pub online: bool,
}

/// `ERROR`'s payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DashboardError {
    /// A sentence: what failed and what to do.
    pub message: String,
    #[serde(flatten)]
    pub said: Said,
}

/// Which sentence a `message` is, for the page to say it in its own language: a stable
/// `messageCode` and the sentence's variable parts (`messageArgs`, by name; named apart from
/// the agent's own `code`, a category). Absent when the control plane does not know the
/// sentence; the page then shows `message` as it is (docs/api.md, "Sentences").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Said {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub message_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub message_args: Option<BTreeMap<String, String>>,
}

/// `JOB_FAILED` as the page gets it: the agent's message, with the code of its sentence when
/// the control plane knows it (the agent's message itself has no code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct JobFailedEvent {
    #[serde(flatten)]
    pub failed: JobFailed,
    #[serde(flatten)]
    pub said: Said,
}

/// `INFRASTRUCTURE_LOG` as the page gets it: the agent's line, with the code of its sentence
/// when it is one of the agent's or the engine's own the control plane knows (a command's
/// output never is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LogLineEvent {
    #[serde(flatten)]
    pub line: InfrastructureLog,
    #[serde(flatten)]
    pub said: Said,
}

/// `AGENT_ERROR`'s payload: the agent's `ERROR`, with the code of its sentence when the control
/// plane knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AgentErrorEvent {
    #[serde(flatten)]
    pub error: ErrorMessage,
    #[serde(flatten)]
    pub said: Said,
}
