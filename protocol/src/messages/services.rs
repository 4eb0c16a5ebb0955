//! Services: what each service a recipe declares is doing (in `SERVER_STATUS`), and the end of
//! its log, asked for one service at a time (`GET_SERVICE_LOG`, answered by `SERVICE_LOG`).

use serde::{Deserialize, Serialize};

/// Whether a service runs, meaning exactly what it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ServiceState {
    /// Its main process is alive, or systemd says it is active.
    Running,
    /// Installed, not running.
    Stopped,
    /// No systemd unit and no init script (or only what a removed package left).
    NotInstalled,
}

/// One service, as the server page's Services card shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct ServiceInfo {
    /// The unit or init script name (`redis-server`).
    pub name: String,
    pub state: ServiceState,
    /// Unix seconds its main process started (with systemd: when it became active). Absent
    /// when it is not running, or when nothing says (no pid file known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub since: Option<u64>,
    /// Whether it starts at boot; absent when that cannot be said (not installed, a systemd
    /// unit that is `static`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub enabled_at_boot: Option<bool>,
    /// Where its log is read from: `journal`, or a file's path (a pattern such as
    /// `/var/log/postgresql/postgresql-*-main.log` until read). Absent: it has none Cairn
    /// knows of (no systemd, and its recipe declares no log file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub log: Option<String>,
    /// The recipes that declare it (`redis`).
    pub recipes: Vec<String>,
}

/// `GET_SERVICE_LOG` (control plane → agent): the last 50 lines of one declared service's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct GetServiceLog {
    /// Echoed in the answer, so the control plane gives it to the page that asked, only.
    pub request_id: String,
    /// A service of `capabilities.services` of a recipe the agent keeps as a detector; any
    /// other is refused.
    pub service: String,
}

/// `SERVICE_LOG` (agent → control plane): the answer to `GET_SERVICE_LOG`. The lines may hold
/// secrets: the control plane shows them to the page that asked and neither stores nor logs them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct ServiceLog {
    pub request_id: String,
    pub service: String,
    /// `journal` or the file read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub source: Option<String>,
    /// Oldest first, at most 50.
    #[serde(default)]
    pub lines: Vec<String>,
    /// Why there are no lines, for the page to say in its language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub problem: Option<LogProblem>,
    /// The same, as an English sentence with its details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub error: Option<String>,
}

/// Why a `SERVICE_LOG` has no lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum LogProblem {
    /// No systemd, and no recipe declares a log file for it.
    NoLog,
    /// Its log file does not exist.
    Missing,
    /// The journal or the file could not be read.
    Unreadable,
    /// No recipe the agent keeps declares this service.
    NotDeclared,
    /// A newer agent's reason.
    #[serde(other)]
    Other,
}
