//! A job command as the supervisor reads it, and the checks the supervisor makes before a
//! worker gets the recipe: the bundle's signature and validity window, the recipe it names,
//! and that its version is not older than one run here. (The worker checks the rest against
//! the script itself: category, entry point, capabilities; see `crate::worker::job`.)

use cairn_protocol::messages::PlanBasis;
use cairn_protocol::{BundleHeader, KeyRing, Message, RollbackStore, SignedBundle};
use serde_json::{Map, Value};

pub use crate::work::JobKind;
use crate::work::VerifiedRecipe;

/// A job command, reduced to what the runner needs.
#[derive(Debug, Clone)]
pub struct JobRequest {
    pub job_id: String,
    pub kind: JobKind,
    /// `type` or `provider`: the recipe id the command names (empty for a plan).
    pub name: String,
    /// For a plan: the entry point asked for.
    pub entry: Option<String>,
    /// One of the recipe's declared actions instead of its entry point.
    pub action: Option<String>,
    pub params: Map<String, Value>,
    pub bundle: SignedBundle,
    /// The plan a confirmed run comes from: planned again before it runs, and what differs said.
    pub plan: Option<PlanBasis>,
}

impl JobRequest {
    /// The job a message starts, if it starts one (parameters mapped as contract §7 says).
    pub fn from_message(m: Message) -> Option<Self> {
        Some(match m {
            Message::InstallRuntime(c) => Self {
                job_id: c.job_id,
                kind: JobKind::Runtime,
                name: c.kind,
                entry: None,
                action: c.action,
                params: c.params,
                bundle: c.bundle,
                plan: c.plan,
            },
            Message::ConfigureDatabase(c) => {
                let mut params = c.params;
                // An action takes its own parameters only: no `db_name` and `user` of the
                // entry point's.
                if c.action.is_none() {
                    if !c.db_name.is_empty() {
                        params.insert("db_name".into(), Value::String(c.db_name));
                    }
                    params.insert("user".into(), Value::String(c.user));
                }
                Self {
                    job_id: c.job_id,
                    kind: JobKind::Database,
                    name: c.kind,
                    entry: None,
                    action: c.action,
                    params,
                    bundle: c.bundle,
                    plan: c.plan,
                }
            }
            Message::ConfigureBackup(c) => Self {
                job_id: c.job_id,
                kind: JobKind::Backup,
                name: c.provider,
                entry: None,
                action: c.action,
                params: c
                    .config
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect(),
                bundle: c.bundle,
                plan: c.plan,
            },
            Message::PlanRequest(c) => Self {
                job_id: c.job_id,
                kind: JobKind::Plan,
                name: String::new(),
                entry: Some(c.entry),
                action: c.action,
                params: c.params,
                bundle: c.bundle,
                plan: None,
            },
            _ => return None,
        })
    }
}

/// What every job shares.
#[derive(Debug)]
pub struct JobContext {
    pub keys: KeyRing,
    pub rollback: RollbackStore,
    /// How workers are started and limited.
    pub workers: crate::supervise::Workers,
    /// The journal directory, where each job's spool and worker record live.
    pub journal_dir: std::path::PathBuf,
    /// Refuse every job but plans (`cairn-agent run --plan-only`).
    pub plan_only: bool,
    /// Detectors running now (`status.rs`): never two runs of one recipe's at once.
    pub detectors: crate::status::InFlight,
    /// The services the last status's detections declared, for the metrics sampler.
    pub services: crate::metrics::Services,
}

/// Why a plan-only agent refuses a job that would change the server.
pub const PLAN_ONLY_MESSAGE: &str = "this agent runs in plan-only mode (it was not started as root): it can show what this would change, but not change it; run the agent as root to install";

/// Verifies the bundle and checks it against the command and against the versions run here
/// (without recording anything: see [`record`]). A refusal is a sentence for the user.
pub fn prepare(
    ctx: &JobContext,
    req: &JobRequest,
) -> Result<(VerifiedRecipe, BundleHeader), String> {
    if ctx.plan_only && req.kind != JobKind::Plan {
        return Err(PLAN_ONLY_MESSAGE.to_owned());
    }
    let now = cairn_protocol::unix_now();
    let verified = req
        .bundle
        .verify(&ctx.keys, now)
        .map_err(|e| e.to_string())?;
    let header = verified.header().clone();
    if req.kind != JobKind::Plan && req.name != header.recipe_id {
        return Err(format!(
            "the command names recipe {} but its bundle holds {}; nothing was run",
            req.name, header.recipe_id
        ));
    }
    check_not_older(&ctx.rollback, &header)?;
    Ok((verified_recipe(&verified)?, header))
}

/// Records the version of a job that changes the server (after the worker's checks, so a
/// refused bundle leaves no trace in the rollback state). Planning changes nothing and records
/// nothing.
pub fn record(ctx: &JobContext, req: &JobRequest, header: &BundleHeader) -> Result<(), String> {
    if req.kind == JobKind::Plan {
        return check_not_older(&ctx.rollback, header);
    }
    ctx.rollback
        .check_and_record(&header.recipe_id, header.version)
        .map_err(|e| e.to_string())
}

/// Refuses a bundle older than the highest version run here, without recording anything.
pub fn check_not_older(rollback: &RollbackStore, header: &BundleHeader) -> Result<(), String> {
    match rollback.highest(&header.recipe_id) {
        Some(h) if header.version < h => Err(cairn_protocol::ProtocolError::Rollback {
            recipe_id: header.recipe_id.clone(),
            version: header.version,
            highest: h,
        }
        .to_string()),
        _ => Ok(()),
    }
}

/// A verified bundle's recipe script, as a worker gets it.
pub fn verified_recipe(
    verified: &cairn_protocol::VerifiedBundle,
) -> Result<VerifiedRecipe, String> {
    let header = verified.header();
    let file = verified.recipe();
    let source = std::str::from_utf8(&file.bytes)
        .map_err(|_| format!("recipe file {} is not UTF-8 text", file.name))?;
    Ok(VerifiedRecipe {
        file: file.name.clone(),
        source: source.to_owned(),
        recipe_id: header.recipe_id.clone(),
        version: header.version,
        capabilities: header.capabilities.clone(),
    })
}
