//! The TypeScript declarations of every message, and of the dashboard's own wire
//! ([`crate::dashboard`]), generated from the Rust types with ts-rs, so the dashboard compiles
//! against exactly what the agent, the control plane and the page exchange.
//! `protocol/tests/it/typescript.rs` fails when `ui/src/lib/protocol.generated.ts` differs from
//! what this produces; run it with `CAIRN_UPDATE_TS=1` to rewrite the file.

use ts_rs::{Config, TS};

use crate::bundle::{Capabilities, SignedBundle};
use crate::dashboard::*;
use crate::messages::*;

macro_rules! declarations {
    ($cfg:expr; $($t:ty),* $(,)?) => {
        vec![$(format!("export {}", <$t as TS>::decl($cfg))),*]
    };
}

/// The whole generated file.
pub fn declarations() -> String {
    // JSON numbers are JavaScript numbers: every integer here (unix seconds, sizes, sequence
    // numbers) stays far below 2^53.
    let cfg = Config::new().with_large_int("number");
    let decls = declarations![&cfg;
        Message, Hello, ChallengePurpose, AuthChallenge, AuthResponse, AuthOk, EnrollRequest,
        EnrollResponse, GetServerStatus, ServerStatus, RuntimeInfo, Installation, DatabaseInfo, DbDatabase, DbUser, BackupInfo, BackupSnapshot, BackupDrill, BackupSettings,
        ServiceState, ServiceInfo, GetServiceLog, ServiceLog, LogProblem,
        SystemInfo, CpuInfo, Usage, InstallRuntime, ConfigureDatabase, ConfigureBackup,
        PlanRequest, CancelJob, LogAck, JobStarted, LogStream, InfrastructureLog, JobStep,
        JobProgress, WaitReason, JobWaiting, TimedPart, CountedPart, JobTimings, RuntimeInstalled, DatabaseConfigured, BackupConfigured,
        PlannedStep, PlanResult, PackageAction, PackageChange, ServiceChange, FileChange,
        PlanSummary, PlanBasis, FailureKind, JobFailed, ErrorCode, ErrorMessage, SignedBundle,
        Capabilities, Metrics, MetricsAck, Sample, DiskSample, NetSample, ServiceSample,
        DashboardCommand, RuntimeJobRequest, DatabaseJobRequest, BackupJobRequest,
        PlanJobRequest, ActionJobRequest, CancelJobRequest, DashboardEvent, DashboardEventBody, JobCreated,
        NodeStatus, DashboardError, Said, JobFailedEvent, AgentErrorEvent, LogLineEvent, Node, JobKind, JobStatus,
        Job, JobEvent, serde_json::Value,
    ];
    let mut out = String::from(
        "// Generated from the cairn-protocol crate by protocol/src/typescript.rs. Do not edit:\n\
         // change the Rust types, then run `CAIRN_UPDATE_TS=1 cargo test -p cairn-protocol typescript`.\n\n",
    );
    for d in decls {
        out.push_str(&d);
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}
