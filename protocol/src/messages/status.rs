//! Server status: what is installed and running, and the machine itself.

use serde::{Deserialize, Serialize};

/// `GET_SERVER_STATUS` (control plane → agent): asks for a [`ServerStatus`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct GetServerStatus {
    /// Echoed in the answer, so the control plane can match it to the dashboard that asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The signed bundles of the recipes whose `detect()` the agent runs for this status. The
    /// agent verifies each like any bundle (signature, manifest, expiry, not older than what it
    /// ran) but records nothing: detection is read-only. A bundle that fails verification is
    /// reported as that recipe's `error`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detectors: Vec<crate::bundle::SignedBundle>,
    /// Run the detectors the agent kept from the last `GET_SERVER_STATUS` that carried some,
    /// in this connection or an earlier one (each verified again when it runs: signature,
    /// expiry, not older than what it ran): the control plane sends the bundles once instead
    /// of with every request and every reconnection. Ignored when `detectors` is not empty.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub same_detectors: bool,
    /// With `sameDetectors`: the [`crate::ids::detectors_hash`] of the bundles meant. An agent that
    /// does not hold exactly those runs none of its kept ones: it forgets them and reconnects
    /// without a hash in `HELLO`, so the control plane sends the bundles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detectors_hash: Option<String>,
    /// Only the machine's facts (`system`), no detector: what an open page asks for every
    /// half minute to keep the server's figures current without running every recipe's
    /// `detect()`. The detectors the agent keeps are neither used nor replaced.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub system_only: bool,
}

/// `SERVER_STATUS` (agent → control plane): the result of every recipe's `detect()` plus the
/// machine's facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct ServerStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub runtimes: Vec<RuntimeInfo>,
    pub databases: Vec<DatabaseInfo>,
    pub backups: Vec<BackupInfo>,
    /// Every service the recipes' `capabilities.services` declare, once each, by name.
    /// Absent from older agents.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(as = "Option<Vec<crate::messages::ServiceInfo>>", optional)]
    pub services: Vec<crate::messages::ServiceInfo>,
    pub system: SystemInfo,
    /// The answer to a `systemOnly` request: `runtimes`, `databases` and `backups` are empty
    /// because nothing was detected, not because nothing is there. The control plane does not
    /// store it as the node's status; the page keeps what it showed and updates `system`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[ts(as = "Option<bool>", optional)]
    pub system_only: bool,
}

/// One runtime recipe's detection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeInfo {
    /// The recipe id (`python`, `go`, `docker`, `rust`, `ruby`, …).
    #[serde(rename = "type")]
    pub kind: String,
    pub installed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Human size estimate from the recipe ("350 MB").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_size: Option<String>,
    /// Set when detection failed or timed out; the other fields are then best effort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Every installation the detector found besides the distribution's package (rustup, nvm,
    /// pyenv, asdf, `/usr/local/go`, for root and each user), each with where it came from, so
    /// the page shows what is there instead of offering to install over it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(as = "Option<Vec<Installation>>", optional)]
    pub installations: Vec<Installation>,
}

/// One installation of a runtime found on the server (see [`RuntimeInfo::installations`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct Installation {
    pub version: String,
    /// How it was installed and for whom: "rustup (root), stable-x86_64-unknown-linux-gnu".
    pub source: String,
    /// Where it lives ("/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu").
    pub path: String,
}

/// One database recipe's detection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseInfo {
    /// The recipe id (`postgresql`, `mysql`, `redis`, …).
    #[serde(rename = "type")]
    pub kind: String,
    pub installed: bool,
    pub running: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// While the server runs: the databases it holds (PostgreSQL, MariaDB).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(as = "Option<Vec<DbDatabase>>", optional)]
    pub databases: Vec<DbDatabase>,
    /// While the server runs: its users (PostgreSQL roles, MariaDB accounts, Redis ACL users),
    /// never a password or a hash.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(as = "Option<Vec<DbUser>>", optional)]
    pub users: Vec<DbUser>,
}

/// One database on a database server (see [`DatabaseInfo::databases`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct DbDatabase {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub owner: Option<String>,
    /// What it takes on disk, in bytes. (`size_bytes` is how the engine's detection, which the
    /// agent reads into this type, spells it.)
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "size_bytes")]
    #[ts(optional)]
    pub size_bytes: Option<u64>,
}

/// One user of a database server (see [`DatabaseInfo::users`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct DbUser {
    pub name: String,
    /// MariaDB: the account's host part (`localhost`, `127.0.0.1`, `%`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub host: Option<String>,
    /// PostgreSQL: whether the role may log in; Redis: whether the ACL user is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub login: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub superuser: Option<bool>,
    /// The databases it owns (PostgreSQL).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(as = "Option<Vec<String>>", optional)]
    pub owns: Vec<String>,
    /// The databases it may connect to (PostgreSQL) or has grants on (MariaDB).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(as = "Option<Vec<String>>", optional)]
    pub databases: Vec<String>,
    /// Redis: what it may do (its ACL rules, passwords and hashes left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub access: Option<String>,
}

/// One backup recipe's detection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct BackupInfo {
    /// `s3`, `rsync`, …
    pub provider: String,
    pub configured: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Unix seconds of the last run, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_ok: Option<bool>,
    /// Unix seconds of the last restore test: the latest backup restored into a scratch
    /// directory and compared byte for byte with what was backed up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_restore_test_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_restore_test_ok: Option<bool>,
    /// The public key the backup target must accept (rsync over SSH); the private half stays
    /// on the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// The snapshots kept, newest first, at most 50 (issue 18).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(as = "Option<Vec<BackupSnapshot>>", optional)]
    pub snapshots: Vec<BackupSnapshot>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The restore drills: the restore test cron runs on its own schedule, and its last result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub drill: Option<BackupDrill>,
    /// The current configuration, for the Change form (never a secret key or password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub settings: Option<BackupSettings>,
}

/// A backup's restore drills (see [`BackupInfo::drill`]). A drill is the restore test run by
/// cron; a restore test asked for by hand counts as a verified restore too, so `last_*` are
/// the last restore test's. (The engine's detection spells the fields in snake_case; the
/// aliases read it.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct BackupDrill {
    /// The drills' cron expression; absent when none is scheduled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub schedule: Option<String>,
    /// A verified restore older than this many days is overdue.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "max_age_days"
    )]
    #[ts(optional)]
    pub max_age_days: Option<u32>,
    /// Unix seconds of the last restore test.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "last_at")]
    #[ts(optional)]
    pub last_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "last_ok")]
    #[ts(optional)]
    pub last_ok: Option<bool>,
    /// Why the last restore test failed, in a sentence.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "last_error")]
    #[ts(optional)]
    pub last_error: Option<String>,
}

/// A backup's current configuration (see [`BackupInfo::settings`]): what the Change form
/// starts from. Never a secret: the S3 secret key and the repository password stay on the
/// server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct BackupSettings {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(as = "Option<Vec<String>>", optional)]
    pub paths: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub schedule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub keep: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "drill_schedule"
    )]
    #[ts(optional)]
    pub drill_schedule: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "drill_max_age_days"
    )]
    #[ts(optional)]
    pub drill_max_age_days: Option<u32>,
    /// rsync: `user@host:/path` and the SSH port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub port: Option<u32>,
    /// s3: where the repository is, and the access key id (not the secret key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub bucket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub region: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "access_key_id"
    )]
    #[ts(optional)]
    pub access_key_id: Option<String>,
}

/// One snapshot of a backup (see [`BackupInfo::snapshots`]). (`size_bytes` and `duration_s`
/// are how the engine's detection, which the agent reads into this type, spells them.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct BackupSnapshot {
    /// The snapshot's name at the target: rsync's UTC time, restic's short id.
    pub id: String,
    /// Unix seconds when its backup started.
    pub time: u64,
    /// The bytes of the files it holds, as they were on the server.
    #[serde(alias = "size_bytes")]
    pub size_bytes: u64,
    pub files: u64,
    /// How long its backup took, in seconds.
    #[serde(alias = "duration_s")]
    pub duration_s: u64,
}

/// The machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct SystemInfo {
    /// Pretty name from os-release ("Debian GNU/Linux 12 (bookworm)").
    pub os: String,
    pub kernel: String,
    pub arch: String,
    pub hostname: String,
    pub cpu: CpuInfo,
    pub ram: Usage,
    /// The root filesystem.
    pub disk: Usage,
    /// Seconds since boot.
    pub uptime: u64,
    /// Non-loopback IP addresses.
    pub addresses: Vec<String>,
}

/// Processor facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct CpuInfo {
    pub cores: u32,
    pub model: String,
    /// Average load over all cores, 0–100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_percent: Option<f32>,
}

/// Total, used and available bytes of memory or disk. For a disk these are `df`'s figures
/// (used = allocated blocks; available = what may still be written), and used + available can
/// be less than total (blocks reserved for root): the share used is used / (used + available).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub total_bytes: u64,
    pub used_bytes: u64,
    /// Absent from older agents (which sent total − available as used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub available_bytes: Option<u64>,
}
