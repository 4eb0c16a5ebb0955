//! The dashboard's wire: what the page and the control plane say to each other on the dashboard
//! socket, and the nodes and jobs the HTTP API answers with (`docs/api.md`). The control plane
//! and the page compile against these types (the page through `typescript.rs`), so neither
//! picks fields by name.
//!
//! - [`commands`]: what the page sends, [`DashboardCommand`] (`{type, nodeId, jobId?,
//!   payload?}`).
//! - [`events`]: what the control plane sends the page, [`DashboardEvent`] (`{type, nodeId,
//!   jobId?, payload}`); a job's events carry the agent's messages as they are.
//! - [`views`]: [`Node`], [`Job`] with its [`JobKind`] and [`JobStatus`], and a stored
//!   [`JobEvent`].

pub mod commands;
pub mod events;
pub mod views;

pub use commands::{
    ActionJobRequest, BackupJobRequest, CancelJobRequest, DashboardCommand, DatabaseJobRequest,
    PlanJobRequest, RuntimeJobRequest,
};
pub use events::{
    AgentErrorEvent, DashboardError, DashboardEvent, DashboardEventBody, JobCreated,
    JobFailedEvent, LogLineEvent, NodeStatus, Said,
};
pub use views::{Job, JobEvent, JobKind, JobStatus, Node};

/// Reads `null` as the default, as a missing field is: the page may send `"params": null`.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de> + Default,
{
    use serde::Deserialize;
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
