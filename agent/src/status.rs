//! `SERVER_STATUS`: the machine's facts (`facts.rs`) plus every detector recipe's `detect()`,
//! run in parallel in one short-lived worker process per request (`crate::worker::detect`),
//! each bundle verified here first, the worker killed with everything it started once the
//! timeout has passed. The engine's memory leaves with the worker.
//!
//! A recipe's detector never runs twice at once (threats.md row 28): a status request that finds
//! the previous run of a detector still alive waits for that run's result instead of starting
//! another; a run outliving its timeout ends with its worker.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use cairn_protocol::messages::{
    BackupInfo, DatabaseInfo, GetServerStatus, RuntimeInfo, ServerStatus, ServiceInfo,
};
use cairn_protocol::{BundleHeader, SignedBundle};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::sync::watch;

use crate::runner::{JobContext, check_not_older, verified_recipe};
use crate::work::{Card, Found, Reply, Request, VerifiedRecipe};

type Published = watch::Receiver<Option<Arc<Detected>>>;

/// The detectors running now, by recipe id: the result each run will publish. And the card
/// (and size) each recipe id was last reported with, to place a timeout's sentence.
#[derive(Debug, Default)]
pub struct InFlight(
    Mutex<HashMap<String, Published>>,
    Mutex<HashMap<String, Place>>,
);

type Place = (Card, Option<u64>);

impl InFlight {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Published>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn places(&self) -> std::sync::MutexGuard<'_, HashMap<String, Place>> {
        self.1.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One detector's result.
#[derive(Debug, Clone)]
struct Detected {
    id: String,
    card: Card,
    estimated_size_mb: Option<u64>,
    result: Result<Found, String>,
    services: Vec<ServiceInfo>,
    pid_files: std::collections::BTreeMap<String, String>,
}

/// What one bundle of a request becomes.
enum Pending {
    /// A run (this request's or an earlier one's) will publish the result.
    Run(Published),
    /// The bundle failed verification: this sentence, on the card its script names.
    Refused { index: usize, error: String },
}

/// Builds the answer to `GET_SERVER_STATUS`, running `req.detectors` (each verified first).
pub async fn collect(
    ctx: Arc<JobContext>,
    req: GetServerStatus,
    timeout: Duration,
) -> ServerStatus {
    collect_at(ctx, req, timeout, cairn_protocol::unix_now()).await
}

/// [`collect`], verifying the bundles' validity windows at `now` (unix seconds).
pub async fn collect_at(
    ctx: Arc<JobContext>,
    req: GetServerStatus,
    timeout: Duration,
    now: u64,
) -> ServerStatus {
    let system = tokio::task::spawn_blocking(crate::facts::system_info);
    // A `systemOnly` request runs no detector, whatever it carries.
    let bundles = if req.system_only {
        Vec::new()
    } else {
        req.detectors
    };
    let mut pending = Vec::new();
    let mut batch = Vec::new();
    let mut refused = Vec::new();
    for bundle in &bundles {
        match prepare(&ctx, bundle, now) {
            Ok(recipe) => {
                let mut running = ctx.detectors.lock();
                match running.get(&recipe.recipe_id) {
                    Some(run) => {
                        tracing::debug!(recipe = %recipe.recipe_id, "detector still running; waiting for its result");
                        pending.push(Pending::Run(run.clone()));
                    }
                    None => {
                        let (tx, rx) = watch::channel(None);
                        running.insert(recipe.recipe_id.clone(), rx.clone());
                        pending.push(Pending::Run(rx));
                        batch.push((recipe, tx));
                    }
                }
            }
            Err(error) => {
                pending.push(Pending::Refused {
                    index: refused.len(),
                    error,
                });
                refused.push(unverified(bundle));
            }
        }
    }
    if !batch.is_empty() {
        tokio::spawn(run_batch(ctx.clone(), batch, timeout));
    }
    let identities = if refused.is_empty() {
        HashMap::new()
    } else {
        identify(&ctx, refused.clone()).await
    };
    let waits = pending.into_iter().map(|p| {
        let refused = &refused;
        let identities = &identities;
        async move {
            match p {
                Pending::Run(mut rx) => {
                    match tokio::time::timeout(timeout, rx.wait_for(Option::is_some)).await {
                        Ok(Ok(done)) => done.as_deref().cloned(),
                        // The run ends with its worker; this request stops waiting.
                        _ => None,
                    }
                    .unwrap_or_else(|| Detected {
                        id: String::new(),
                        card: Card::Runtime,
                        estimated_size_mb: None,
                        result: Err(late(timeout)),
                        services: Vec::new(),
                        pid_files: Default::default(),
                    })
                }
                Pending::Refused { index, error } => {
                    let (id, card, estimated_size_mb) = identities
                        .get(&index)
                        .cloned()
                        .unwrap_or_else(|| (refused[index].recipe_id.clone(), Card::Runtime, None));
                    Detected {
                        id,
                        card,
                        estimated_size_mb,
                        result: Err(error),
                        services: Vec::new(),
                        pid_files: Default::default(),
                    }
                }
            }
        }
    });
    let mut detected = futures_util::future::join_all(waits).await;
    // A request that stopped waiting names the detector from its bundle.
    for (d, bundle) in detected.iter_mut().zip(&bundles) {
        if d.id.is_empty() {
            d.id = unverified(bundle).recipe_id;
            if let Some((card, size)) = ctx.detectors.places().get(&d.id) {
                (d.card, d.estimated_size_mb) = (*card, *size);
            }
        }
    }
    if !req.system_only {
        ctx.services.set(watched(&detected));
    }
    let system = system
        .await
        .unwrap_or_else(|_| crate::facts::empty_system());
    assemble(req.request_id, req.system_only, system, detected)
}

/// The installed services the detections declared, for the metrics sampler.
fn watched(detected: &[Detected]) -> Vec<crate::sampler::Watched> {
    let mut out: Vec<crate::sampler::Watched> = Vec::new();
    for d in detected {
        for s in &d.services {
            // A service not installed is not down: it is not watched.
            if s.state == cairn_protocol::messages::ServiceState::NotInstalled
                || out.iter().any(|w| w.name == s.name)
            {
                continue;
            }
            out.push(crate::sampler::Watched {
                name: s.name.clone(),
                pid_file: d.pid_files.get(&s.name).cloned(),
                last_up: s.state == cairn_protocol::messages::ServiceState::Running,
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn late(timeout: Duration) -> String {
    format!("detection did not finish within {} s", timeout.as_secs())
}

fn assemble(
    request_id: Option<String>,
    system_only: bool,
    system: cairn_protocol::messages::SystemInfo,
    detected: Vec<Detected>,
) -> ServerStatus {
    let mut status = ServerStatus {
        request_id,
        runtimes: Vec::new(),
        databases: Vec::new(),
        backups: Vec::new(),
        services: Vec::new(),
        system,
        system_only,
    };
    let mut services = std::collections::BTreeMap::<String, ServiceInfo>::new();
    for d in detected {
        for s in d.services {
            // A service two recipes declare (cron) is one line, naming both.
            match services.get_mut(&s.name) {
                Some(known) => known.recipes.extend(s.recipes),
                None => {
                    services.insert(s.name.clone(), s);
                }
            }
        }
        let estimated_size = d.estimated_size_mb.map(|mb| format!("{mb} MB"));
        let (ok, error) = match d.result {
            Ok(ok) => (ok, None),
            Err(e) => (Found::default(), Some(e)),
        };
        match d.card {
            Card::Runtime => status.runtimes.push(RuntimeInfo {
                kind: d.id,
                installed: ok.installed,
                version: ok.version,
                estimated_size,
                error,
                installations: ok.installations,
            }),
            Card::Database => status.databases.push(DatabaseInfo {
                kind: d.id,
                installed: ok.installed,
                running: ok.running.unwrap_or(false),
                version: ok.version,
                estimated_size,
                error,
                databases: ok.databases,
                users: ok.users,
            }),
            Card::Backup => status.backups.push(BackupInfo {
                provider: d.id,
                configured: ok.installed,
                schedule: ok.schedule,
                last_run_at: ok.last_run_at,
                last_run_ok: ok.last_run_ok,
                last_restore_test_at: ok.last_restore_test_at,
                last_restore_test_ok: ok.last_restore_test_ok,
                public_key: ok.public_key,
                snapshots: ok.snapshots,
                error,
                drill: ok.drill,
                settings: ok.settings,
            }),
        }
    }
    status.runtimes.sort_by(|a, b| a.kind.cmp(&b.kind));
    status.databases.sort_by(|a, b| a.kind.cmp(&b.kind));
    status.backups.sort_by(|a, b| a.provider.cmp(&b.provider));
    status.services = services.into_values().collect();
    for s in &mut status.services {
        s.recipes.sort();
        s.recipes.dedup();
    }
    status
}

/// Runs a batch of detectors in one worker; publishes each result as it arrives, and a
/// sentence for every detector the worker did not report (timeout or crash).
async fn run_batch(
    ctx: Arc<JobContext>,
    batch: Vec<(VerifiedRecipe, watch::Sender<Option<Arc<Detected>>>)>,
    timeout: Duration,
) {
    let recipes: Vec<VerifiedRecipe> = batch.iter().map(|(r, _)| r.clone()).collect();
    let request = Request::Detect {
        recipes,
        timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        limits: ctx.workers.detect_limits(),
    };
    let mut reported = vec![false; batch.len()];
    let outcome = talk(&ctx, &request, timeout + Duration::from_secs(1), |reply| {
        if let Reply::Detected {
            index,
            id,
            card,
            estimated_size_mb,
            result,
            services,
            pid_files,
        } = reply
            && let Some((_, tx)) = batch.get(index)
        {
            reported[index] = true;
            ctx.detectors
                .places()
                .insert(id.clone(), (card, estimated_size_mb));
            let _ = tx.send(Some(Arc::new(Detected {
                id,
                card,
                estimated_size_mb,
                result,
                services,
                pid_files,
            })));
        }
    })
    .await;
    let unplaced: Vec<VerifiedRecipe> = batch
        .iter()
        .enumerate()
        .filter(|(i, (r, _))| !reported[*i] && !ctx.detectors.places().contains_key(&r.recipe_id))
        .map(|(_, (r, _))| r.clone())
        .collect();
    if !unplaced.is_empty() {
        for (_, (id, card, size)) in identify(&ctx, unplaced).await {
            ctx.detectors.places().insert(id, (card, size));
        }
    }
    for (i, (recipe, tx)) in batch.iter().enumerate() {
        if !reported[i] {
            let (card, estimated_size_mb) = ctx
                .detectors
                .places()
                .get(&recipe.recipe_id)
                .copied()
                .unwrap_or((Card::Runtime, None));
            let error = match &outcome {
                Talk::Late => late(timeout),
                Talk::Failed(why) => format!("the detector stopped unexpectedly: {why}"),
                Talk::Done => "the detector stopped unexpectedly".to_owned(),
            };
            let _ = tx.send(Some(Arc::new(Detected {
                id: recipe.recipe_id.clone(),
                card,
                estimated_size_mb,
                result: Err(error),
                services: Vec::new(),
                pid_files: Default::default(),
            })));
        }
        ctx.detectors.lock().remove(&recipe.recipe_id);
    }
}

/// Which card each refused bundle's script names (read by a worker, never run).
async fn identify(
    ctx: &JobContext,
    recipes: Vec<VerifiedRecipe>,
) -> HashMap<usize, (String, Card, Option<u64>)> {
    let mut found = HashMap::new();
    let request = Request::Identify {
        recipes,
        limits: ctx.workers.detect_limits(),
    };
    talk(ctx, &request, Duration::from_secs(5), |reply| {
        if let Reply::Detected {
            index,
            id,
            card,
            estimated_size_mb,
            ..
        } = reply
        {
            found.insert(index, (id, card, estimated_size_mb));
        }
    })
    .await;
    found
}

/// How a conversation with a detector worker ended.
pub(crate) enum Talk {
    Done,
    Late,
    Failed(String),
}

/// Starts a worker, sends `request`, hands every reply to `on_reply` until the worker closes
/// its stdout or `deadline` passes (then it is killed with everything it started).
pub(crate) async fn talk(
    ctx: &JobContext,
    request: &Request,
    deadline: Duration,
    mut on_reply: impl FnMut(Reply),
) -> Talk {
    let spawned = ctx
        .workers
        .command(None)
        .and_then(|c| tokio::process::Command::from(c).spawn());
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => return Talk::Failed(ctx.workers.not_started(&e)),
    };
    let pid = child.id().and_then(|p| i32::try_from(p).ok());
    if let Some(mut stdin) = child.stdin.take() {
        let mut line = serde_json::to_vec(request).unwrap_or_default();
        line.push(b'\n');
        // Closed after the request: a detector worker reads nothing else.
        let _ = stdin.write_all(&line).await;
    }
    let Some(stdout) = child.stdout.take() else {
        return Talk::Failed("the worker has no output".to_owned());
    };
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let read = async {
        while let Ok(Some(line)) = lines.next_line().await {
            match serde_json::from_str::<Reply>(&line) {
                Ok(reply) => on_reply(reply),
                Err(e) => {
                    tracing::warn!(error = %e, "a detector worker wrote a line the agent cannot read")
                }
            }
        }
    };
    let late = tokio::time::timeout(deadline, read).await.is_err();
    if late && let Some(pid) = pid {
        crate::procs::kill_session(pid, rustix::process::Signal::KILL);
    }
    let status = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
    match (late, status) {
        (true, _) => Talk::Late,
        (false, Ok(Ok(s))) if s.success() => Talk::Done,
        (false, Ok(Ok(s))) => Talk::Failed(crate::procs::ended(Some(s), "", ctx.workers.memory)),
        (false, _) => Talk::Failed("its worker did not exit".to_owned()),
    }
}

/// Verifies a detector's bundle (signature, expiry, not older than what ran) and reads its
/// recipe script.
pub(crate) fn prepare(
    ctx: &JobContext,
    bundle: &SignedBundle,
    now: u64,
) -> Result<VerifiedRecipe, String> {
    let verified = bundle.verify(&ctx.keys, now).map_err(|e| e.to_string())?;
    check_not_older(&ctx.rollback, verified.header())?;
    verified_recipe(&verified)
}

/// A bundle's recipe *without* trusting it: used only to place an error message on the card
/// its script names, by a worker that reads the script and runs nothing.
fn unverified(bundle: &SignedBundle) -> VerifiedRecipe {
    let b64 = base64::engine::general_purpose::STANDARD;
    let header: Option<BundleHeader> = b64
        .decode(&bundle.header)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok());
    let (file, source) = header
        .as_ref()
        .and_then(|h| {
            let first = h.files.first()?;
            let bytes = b64.decode(bundle.files.get(&first.name)?).ok()?;
            Some((first.name.clone(), String::from_utf8(bytes).ok()?))
        })
        .unwrap_or_default();
    VerifiedRecipe {
        file,
        source,
        recipe_id: header
            .as_ref()
            .map_or_else(|| "unknown".to_owned(), |h| h.recipe_id.clone()),
        version: header.as_ref().map_or(0, |h| h.version),
        capabilities: header.map(|h| h.capabilities).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// What a database's `detect()` lists reaches the status whole: the engine's detection, read
    /// as the worker reads it, ends up in the card's `DatabaseInfo` with every field.
    #[test]
    fn a_database_detectors_lists_reach_the_status_with_sizes_and_users() {
        let detection: cairn_engine::Detection = serde_json::from_value(serde_json::json!({
            "installed": true, "version": "15.20", "running": true,
            "databases": [{ "name": "shop", "owner": "shop_app", "size_bytes": 7545347 }],
            "users": [{ "name": "shop_app", "login": true, "superuser": false,
                        "owns": ["shop"], "databases": ["shop", "postgres"] }],
        }))
        .unwrap();
        let found: Found =
            serde_json::from_value(serde_json::to_value(detection).unwrap()).unwrap();
        let status = assemble(
            None,
            false,
            crate::facts::empty_system(),
            vec![Detected {
                id: "postgresql".into(),
                card: Card::Database,
                estimated_size_mb: Some(60),
                result: Ok(found),
                services: Vec::new(),
                pid_files: Default::default(),
            }],
        );
        let db = &status.databases[0];
        assert_eq!(db.databases[0].size_bytes, Some(7545347));
        assert_eq!(db.databases[0].owner.as_deref(), Some("shop_app"));
        assert_eq!(db.users[0].owns, vec!["shop".to_owned()]);
        assert_eq!(db.users[0].databases.len(), 2);
        assert_eq!(db.users[0].login, Some(true));
        let wire = serde_json::to_value(&status).unwrap();
        assert_eq!(wire["databases"][0]["databases"][0]["sizeBytes"], 7545347);
    }
}
