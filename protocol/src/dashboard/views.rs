//! The nodes and jobs the HTTP API answers with (`GET /api/nodes`, `GET /api/jobs…`), and the
//! words a job's kind and status are stored and sent as.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

/// An enrolled node, as `GET /api/nodes` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    pub id: String,
    pub name: String,
    pub hostname: String,
    pub key_id: String,
    pub enrolled_at: u64,
    /// Whether its agent has a live, authenticated connection.
    pub online: bool,
    pub last_seen: Option<u64>,
    /// The last `SERVER_STATUS` payload its agent sent, as stored (`null` before the first).
    #[ts(as = "Option<crate::messages::ServerStatus>")]
    pub last_status: Option<Value>,
    /// Its tags, set in the dashboard (`[a-z0-9][a-z0-9-]{0,31}`, at most 10).
    #[serde(default)]
    pub tags: Vec<String>,
}

/// What a job does: the dashboard command that created it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobKind {
    InstallRuntime,
    ConfigureDatabase,
    ConfigureBackup,
    PlanRequest,
}

/// Where a job is: `pending` → `running` (its first event) → `succeeded` | `failed` |
/// `cancelled` (a person stopped it: not a failure of the recipe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Pending,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// The word of a unit variant, as serde writes it (no allocation: checked by a test against
/// serde's own output), and back.
macro_rules! words {
    ($t:ty { $($v:ident = $w:literal),* $(,)? }) => {
        impl $t {
            /// Every value.
            pub const ALL: &'static [Self] = &[$(Self::$v),*];

            /// The word it is sent and stored as.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$v => $w),*
                }
            }

            /// The value `word` names, if any.
            pub fn from_word(word: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == word)
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

words!(JobKind {
    InstallRuntime = "INSTALL_RUNTIME",
    ConfigureDatabase = "CONFIGURE_DATABASE",
    ConfigureBackup = "CONFIGURE_BACKUP",
    PlanRequest = "PLAN_REQUEST",
});

words!(JobStatus {
    Pending = "pending",
    Running = "running",
    Succeeded = "succeeded",
    Failed = "failed",
    Cancelled = "cancelled",
});

/// A job, as `GET /api/jobs` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub id: String,
    pub node_id: String,
    /// The recipe id.
    pub recipe: String,
    pub kind: JobKind,
    pub requested_by: String,
    pub status: JobStatus,
    pub created_at: u64,
    pub finished_at: Option<u64>,
    /// The terminal event's payload, masked.
    #[ts(type = "Record<string, unknown> | null")]
    pub result: Option<Value>,
    /// What the job was asked with, for Retry: a runtime's `params`, a database's `dbName` and
    /// `user`, a backup's `config` without any secret field (those are asked again, never
    /// stored). `null` for a job stored before this was kept.
    #[serde(default)]
    #[ts(type = "Record<string, unknown> | null")]
    pub params: Option<Value>,
    /// The recipe's declared action the job ran (`RECIPE.actions`); absent: its entry point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub action: Option<String>,
}

/// One stored event of a job (`GET /api/jobs/ID/events`), its payload masked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct JobEvent {
    pub job_id: String,
    pub seq: u64,
    /// The agent's message type (`JOB_STARTED`, `INFRASTRUCTURE_LOG`, …).
    #[serde(rename = "type")]
    pub kind: String,
    #[ts(type = "Record<string, unknown>")]
    pub payload: Value,
    pub received_at: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_words_are_serdes_own() {
        for s in JobStatus::ALL {
            assert_eq!(serde_json::to_value(s).ok(), Some(Value::from(s.as_str())));
            assert_eq!(JobStatus::from_word(s.as_str()), Some(*s));
        }
        for k in JobKind::ALL {
            assert_eq!(serde_json::to_value(k).ok(), Some(Value::from(k.as_str())));
            assert_eq!(JobKind::from_word(k.as_str()), Some(*k));
        }
        assert_eq!(JobStatus::from_word("done"), None);
    }
}
