//! A plan in words (`PLAN_RESULT`'s `summary`): what a recipe would change, for a person to read
//! before confirming, and what a confirmed run carries so the agent can tell whether the server
//! changed since the preview ([`PlanBasis`]). Same JSON shape as the engine's `PlanSummary`.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What apt would do to one package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PackageAction {
    Install,
    Upgrade,
    Remove,
}

/// One package from apt's simulation, with apt's sizes (bytes), when apt gave them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PackageChange {
    pub name: String,
    pub version: String,
    pub action: PackageAction,
    #[serde(default, alias = "download_bytes")]
    pub download_bytes: Option<u64>,
    #[serde(default, alias = "installed_bytes")]
    pub installed_bytes: Option<u64>,
}

/// A service the plan would start, restart, reload, stop, enable or disable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ServiceChange {
    pub name: String,
    pub action: String,
}

/// A file the plan would write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FileChange {
    pub path: String,
    pub mode: u32,
    pub bytes: usize,
}

/// What a plan would change, in words.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct PlanSummary {
    pub packages: Vec<PackageChange>,
    pub services: Vec<ServiceChange>,
    pub users: Vec<String>,
    pub databases: Vec<String>,
    pub files: Vec<FileChange>,
    /// URLs `download()` would fetch.
    pub downloads: Vec<String>,
    /// Addresses a service would listen on.
    pub ports: Vec<String>,
    /// Warnings the recipe gave while planning.
    pub notes: Vec<String>,
}

/// What a confirmed job carries of the plan its user previewed: the plan's id and what it said
/// would change. The agent plans again before it runs and says in the job's console what differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PlanBasis {
    pub plan_id: String,
    pub summary: PlanSummary,
}
