//! Job commands (control plane → agent). Every command that runs a recipe carries the signed
//! recipe bundle; the agent verifies it (see [`crate::bundle`]) before anything runs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::PlanBasis;
use crate::bundle::SignedBundle;

/// `INSTALL_RUNTIME`: install a runtime with a runtime recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct InstallRuntime {
    pub job_id: String,
    /// The recipe id (`python`, `go`, …); must equal the bundle's recipe id.
    #[serde(rename = "type")]
    pub kind: String,
    /// A specific version, when the recipe offers a choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Recipe parameters; the recipe validates them.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub params: Map<String, Value>,
    /// The plan the user previewed and confirmed, when the run comes from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanBasis>,
    /// One of the recipe's declared actions (`RECIPE.actions`) to run instead of its
    /// category's entry point; absent: the entry point. `params` are then that action's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    pub bundle: SignedBundle,
}

/// `CONFIGURE_DATABASE`: install (if needed) a database server and create a database and user.
/// The password is generated on the agent and only ever returned in `DATABASE_CONFIGURED`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct ConfigureDatabase {
    pub job_id: String,
    /// The recipe id (`postgresql`, `mysql`, `redis`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Empty for a recipe without databases (Redis): the agent then passes no `db_name`.
    #[serde(default)]
    pub db_name: String,
    pub user: String,
    /// The plan the user previewed and confirmed, when the run comes from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanBasis>,
    /// The recipe's other parameters (Redis's key `prefix`); the recipe validates them.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub params: Map<String, Value>,
    /// One of the recipe's declared actions (`RECIPE.actions`) to run instead of its
    /// category's entry point; absent: the entry point. `params` are then that action's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    pub bundle: SignedBundle,
}

/// `CONFIGURE_BACKUP`: set up a backup with a backup recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct ConfigureBackup {
    pub job_id: String,
    /// `s3`, `rsync`, … (the recipe id).
    pub provider: String,
    /// Provider settings (bucket, target host, schedule…). The control plane relays them and
    /// must not persist any credential among them.
    pub config: BTreeMap<String, String>,
    /// The plan the user previewed and confirmed, when the run comes from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanBasis>,
    /// One of the recipe's declared actions (`RECIPE.actions`) to run instead of its
    /// category's entry point; absent: the entry point. `params` are then that action's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    pub bundle: SignedBundle,
}

/// `PLAN_REQUEST`: run the recipe in plan mode and return what it would do, without doing it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct PlanRequest {
    pub job_id: String,
    /// The entry point to plan (`install` or `configure`), even when `action` names another.
    pub entry: String,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub params: Map<String, Value>,
    /// One of the recipe's declared actions (`RECIPE.actions`) to run instead of its
    /// category's entry point; absent: the entry point. `params` are then that action's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    pub bundle: SignedBundle,
}

/// `CANCEL_JOB`: stop a running job (its process group is killed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct CancelJob {
    pub job_id: String,
}

/// `LOG_ACK`: the control plane has stored every event of `jobId` up to and including `seq`
/// (the highest contiguous sequence number); the agent may drop them from its journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct LogAck {
    pub job_id: String,
    pub seq: u64,
}
