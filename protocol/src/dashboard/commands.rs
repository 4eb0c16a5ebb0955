//! What a dashboard sends on its socket (`docs/api.md`, "Dashboard → control plane"): one
//! [`DashboardCommand`], tagged by `type`. Fields the page leaves out read as empty, so a
//! command missing one is refused by the control plane with a sentence naming it rather than
//! by the parser.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use ts_rs::TS;

use super::null_as_default;

/// One message from the page: `{type, nodeId, jobId?, payload?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DashboardCommand {
    /// Receive every event of `nodeId`; answered with `NODE_STATUS`.
    #[serde(rename_all = "camelCase")]
    Subscribe {
        #[serde(default)]
        node_id: String,
    },
    /// Ask the node's agent for its status; the answer arrives as `SERVER_STATUS`. With
    /// `systemOnly`, only the machine's facts (no detector runs).
    #[serde(rename_all = "camelCase")]
    GetServerStatus {
        #[serde(default)]
        node_id: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        #[ts(as = "Option<bool>", optional)]
        system_only: bool,
    },
    /// Ask the node's agent for the last 50 lines of a service's log; the answer arrives as
    /// `SERVICE_LOG`, to this page only.
    #[serde(rename_all = "camelCase")]
    GetServiceLog {
        #[serde(default)]
        node_id: String,
        #[serde(default)]
        service: String,
    },
    /// A job with a runtime recipe.
    #[serde(rename_all = "camelCase")]
    InstallRuntime {
        #[serde(default)]
        node_id: String,
        #[serde(default, deserialize_with = "null_as_default")]
        payload: RuntimeJobRequest,
    },
    /// A job with a database recipe (the password is made on the server).
    #[serde(rename_all = "camelCase")]
    ConfigureDatabase {
        #[serde(default)]
        node_id: String,
        #[serde(default, deserialize_with = "null_as_default")]
        payload: DatabaseJobRequest,
    },
    /// A job with a backup recipe.
    #[serde(rename_all = "camelCase")]
    ConfigureBackup {
        #[serde(default)]
        node_id: String,
        #[serde(default, deserialize_with = "null_as_default")]
        payload: BackupJobRequest,
    },
    /// A job running one of a recipe's declared actions (`RECIPE.actions`); preview it with a
    /// `PLAN_REQUEST` naming the same `action`.
    #[serde(rename_all = "camelCase")]
    RunAction {
        #[serde(default)]
        node_id: String,
        #[serde(default, deserialize_with = "null_as_default")]
        payload: ActionJobRequest,
    },
    /// A plan-mode job: what the recipe would do, done by nothing.
    #[serde(rename_all = "camelCase")]
    PlanRequest {
        #[serde(default)]
        node_id: String,
        #[serde(default, deserialize_with = "null_as_default")]
        payload: PlanJobRequest,
    },
    /// Ask the agent to stop a job: `jobId` at the top level, or in the payload.
    #[serde(rename_all = "camelCase")]
    CancelJob {
        #[serde(default)]
        node_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        job_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        payload: Option<CancelJobRequest>,
    },
}

/// `INSTALL_RUNTIME`'s payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeJobRequest {
    /// The recipe id (`python`, `go`, …).
    #[serde(rename = "type", default)]
    pub recipe: String,
    /// A specific version, when the recipe offers a choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub version: Option<String>,
    /// The recipe's parameters; the recipe validates them.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Map::is_empty"
    )]
    #[ts(optional, type = "Record<string, unknown>")]
    pub params: Map<String, Value>,
    /// The preview this run confirms (`JOB_CREATED`'s `jobId` of its `PLAN_REQUEST`): the
    /// control plane refuses the run when the recipe or the parameters differ from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub plan_id: Option<String>,
}

/// `CONFIGURE_DATABASE`'s payload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseJobRequest {
    /// The recipe id (`postgresql`, `mysql`, `redis`).
    #[serde(rename = "type", default)]
    pub recipe: String,
    /// The database to create; required when the recipe takes a `db_name` (Redis has none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[ts(type = "string | undefined", optional)]
    pub db_name: String,
    #[serde(default)]
    pub user: String,
    /// The preview this run confirms (`JOB_CREATED`'s `jobId` of its `PLAN_REQUEST`): the
    /// control plane refuses the run when the recipe or the parameters differ from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub plan_id: Option<String>,
    /// The recipe's other parameters (Redis's key `prefix`); the recipe validates them.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Map::is_empty"
    )]
    #[ts(optional, type = "Record<string, unknown>")]
    pub params: Map<String, Value>,
}

/// `CONFIGURE_BACKUP`'s payload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BackupJobRequest {
    /// The recipe id (`s3`, `rsync`, …).
    #[serde(default)]
    pub provider: String,
    /// Provider settings, relayed to the agent and never stored (they may hold a credential).
    #[serde(default, deserialize_with = "null_as_default")]
    pub config: BTreeMap<String, String>,
    /// The preview this run confirms (`JOB_CREATED`'s `jobId` of its `PLAN_REQUEST`): the
    /// control plane refuses the run when the recipe or the parameters differ from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub plan_id: Option<String>,
}

/// `RUN_ACTION`'s payload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ActionJobRequest {
    /// The recipe id.
    #[serde(rename = "type", default)]
    pub recipe: String,
    /// The action's name, as the recipe declares it.
    #[serde(default)]
    pub action: String,
    /// The action's own parameters; the recipe validates them.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Map::is_empty"
    )]
    #[ts(optional, type = "Record<string, unknown>")]
    pub params: Map<String, Value>,
    /// A destructive action's confirmation: the value of its `confirm` parameter, typed again.
    /// The control plane refuses the run unless it is exactly that value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub confirm: Option<String>,
    /// The preview this run confirms (`JOB_CREATED`'s `jobId` of its `PLAN_REQUEST`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub plan_id: Option<String>,
}

/// `PLAN_REQUEST`'s payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PlanJobRequest {
    /// The recipe id.
    #[serde(rename = "type", default)]
    pub recipe: String,
    /// The entry point to plan; the recipe's own (`install` or `configure`) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub entry: Option<String>,
    /// One of the recipe's declared actions to plan instead of its entry point; `params` are
    /// then that action's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub action: Option<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Map::is_empty"
    )]
    #[ts(optional, type = "Record<string, unknown>")]
    pub params: Map<String, Value>,
}

/// `CANCEL_JOB`'s payload, for pages that put the job there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CancelJobRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub job_id: Option<String>,
}
