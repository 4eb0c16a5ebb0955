//! `SERVER_STATUS`: the machine's facts (`facts.rs`) plus every detector recipe's `detect()`, run
//! in parallel on blocking threads, each with a timeout.
//!
//! A recipe's detector never runs twice at once (threats.md row 28): a status request that finds
//! the previous run of a detector still alive waits for that run's result instead of starting
//! another, and a run that outlives its timeout is cancelled, which stops the script at its next
//! operation and kills its children. Before, a `detect()` that never returned left one spinning
//! thread per status request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use cairn_engine::job::{self, Detection, JobOptions};
use cairn_engine::{CancelToken, Category, Recipe};
use cairn_protocol::messages::{
    BackupInfo, DatabaseInfo, GetServerStatus, Installation, RuntimeInfo, ServerStatus,
};
use cairn_protocol::{BundleHeader, SignedBundle};

use crate::runner::{JobContext, check_not_older, recipe_of};

/// The detectors running now, by recipe id: the result each run will publish, and its cancel.
#[derive(Debug, Default)]
pub struct InFlight(Mutex<HashMap<String, Run>>);

#[derive(Debug, Clone)]
struct Run {
    result: tokio::sync::watch::Receiver<Option<Arc<Detected>>>,
    cancel: CancelToken,
}

impl InFlight {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Run>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many detectors are running now.
    pub fn running(&self) -> usize {
        self.lock().len()
    }
}

/// Removes a run from [`InFlight`] when its thread ends, however it ends.
struct Finished<'a> {
    in_flight: &'a InFlight,
    id: String,
}

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        self.in_flight.lock().remove(&self.id);
    }
}

/// One detector's result.
#[derive(Debug, Clone)]
struct Detected {
    id: String,
    category: Category,
    estimated_size_mb: Option<u64>,
    result: Result<Detection, String>,
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
    let detections = bundles.into_iter().map(|bundle| {
        let ctx = ctx.clone();
        async move {
            let guess = identity_unverified(&bundle);
            let prepared = {
                let ctx = ctx.clone();
                tokio::task::spawn_blocking(move || prepare(&ctx, &bundle, now)).await
            };
            let recipe = match prepared {
                Ok(Ok(recipe)) => recipe,
                Ok(Err(e)) => {
                    return Detected {
                        result: Err(e),
                        ..guess
                    };
                }
                Err(_) => {
                    return Detected {
                        result: Err("the detector stopped unexpectedly".to_owned()),
                        ..guess
                    };
                }
            };
            let mut run = start_or_join(&ctx, recipe, timeout);
            let finished =
                tokio::time::timeout(timeout, run.result.wait_for(Option::is_some)).await;
            match finished {
                Ok(Ok(done)) => done.as_deref().cloned().unwrap_or(guess),
                Ok(Err(_)) => Detected {
                    result: Err("the detector stopped unexpectedly".to_owned()),
                    ..guess
                },
                Err(_) => {
                    // Stops the script at its next operation and kills its children; the
                    // thread ends on its own and leaves `InFlight`.
                    run.cancel.cancel();
                    Detected {
                        result: Err(format!(
                            "detection did not finish within {} s",
                            timeout.as_secs()
                        )),
                        ..guess
                    }
                }
            }
        }
    });
    let detected = futures_util::future::join_all(detections).await;
    let system = system
        .await
        .unwrap_or_else(|_| crate::facts::empty_system());
    let mut status = ServerStatus {
        request_id: req.request_id,
        runtimes: Vec::new(),
        databases: Vec::new(),
        backups: Vec::new(),
        system,
        system_only: req.system_only,
    };
    for d in detected {
        let estimated_size = d.estimated_size_mb.map(|mb| format!("{mb} MB"));
        let (ok, error) = match d.result {
            Ok(ok) => (ok, None),
            Err(e) => (Detection::default(), Some(e)),
        };
        match d.category {
            Category::Runtime => status.runtimes.push(RuntimeInfo {
                kind: d.id,
                installed: ok.installed,
                version: ok.version,
                estimated_size,
                error,
                installations: ok
                    .installations
                    .into_iter()
                    .map(|i| Installation {
                        version: i.version,
                        source: i.source,
                        path: i.path,
                    })
                    .collect(),
            }),
            Category::Database => status.databases.push(DatabaseInfo {
                kind: d.id,
                installed: ok.installed,
                running: ok.running.unwrap_or(false),
                version: ok.version,
                estimated_size,
                error,
            }),
            Category::Backup => status.backups.push(BackupInfo {
                provider: d.id,
                configured: ok.installed,
                schedule: ok.schedule,
                last_run_at: ok.last_run_at,
                last_run_ok: ok.last_run_ok,
                last_restore_test_at: ok.last_restore_test_at,
                last_restore_test_ok: ok.last_restore_test_ok,
                public_key: ok.public_key,
                error,
            }),
        }
    }
    status.runtimes.sort_by(|a, b| a.kind.cmp(&b.kind));
    status.databases.sort_by(|a, b| a.kind.cmp(&b.kind));
    status.backups.sort_by(|a, b| a.provider.cmp(&b.provider));
    status
}

/// The running detector of `recipe`, or a new run of it started on a blocking thread.
fn start_or_join(ctx: &Arc<JobContext>, recipe: Recipe, timeout: Duration) -> Run {
    let id = recipe.meta.id.clone();
    let mut running = ctx.detectors.lock();
    if let Some(run) = running.get(&id) {
        tracing::debug!(recipe = %id, "detector still running; waiting for its result");
        return run.clone();
    }
    let (tx, rx) = tokio::sync::watch::channel(None);
    let run = Run {
        result: rx,
        cancel: CancelToken::new(),
    };
    running.insert(id.clone(), run.clone());
    drop(running);
    let (ctx, cancel) = (ctx.clone(), run.cancel.clone());
    tokio::task::spawn_blocking(move || {
        let _finished = Finished {
            in_flight: &ctx.detectors,
            id,
        };
        let detected = detect_one(&ctx, &recipe, cancel, timeout);
        let _ = tx.send(Some(Arc::new(detected)));
    });
    run
}

/// Verifies a detector's bundle (signature, expiry, not older than what ran) and reads its
/// recipe.
fn prepare(ctx: &JobContext, bundle: &SignedBundle, now: u64) -> Result<Recipe, String> {
    let verified = bundle.verify(&ctx.keys, now).map_err(|e| e.to_string())?;
    check_not_older(&ctx.rollback, verified.header())?;
    recipe_of(&verified)
}

fn detect_one(
    ctx: &JobContext,
    recipe: &Recipe,
    cancel: CancelToken,
    timeout: Duration,
) -> Detected {
    let mut opts = JobOptions {
        cancel,
        ..ctx.options.clone()
    };
    opts.limits.deadline = timeout + Duration::from_secs(5);
    let mut result = job::detect(recipe, &opts);
    if result.is_err() && opts.cancel.is_cancelled() {
        // Cancelled because a request's timeout passed: requests that joined this run say so.
        result = Err(format!(
            "detection did not finish within {} s",
            timeout.as_secs()
        ));
    }
    Detected {
        id: recipe.meta.id.clone(),
        category: recipe.meta.category,
        estimated_size_mb: Some(recipe.meta.estimated_size_mb),
        result,
    }
}

/// Which card a detector belongs to, read from the bundle *without* trusting it: used only to
/// place an error message when the bundle fails verification or detection times out.
fn identity_unverified(bundle: &SignedBundle) -> Detected {
    let b64 = base64::engine::general_purpose::STANDARD;
    let header: Option<BundleHeader> = b64
        .decode(&bundle.header)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok());
    let recipe = header.as_ref().and_then(|h| {
        let first = h.files.first()?;
        let bytes = b64.decode(bundle.files.get(&first.name)?).ok()?;
        Recipe::parse(&first.name, std::str::from_utf8(&bytes).ok()?).ok()
    });
    Detected {
        id: header.map_or_else(|| "unknown".to_owned(), |h| h.recipe_id),
        category: recipe
            .as_ref()
            .map_or(Category::Runtime, |r| r.meta.category),
        estimated_size_mb: recipe.map(|r| r.meta.estimated_size_mb),
        result: Err(String::new()),
    }
}
