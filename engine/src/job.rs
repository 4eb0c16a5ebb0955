//! Running a recipe: one job, one entry point (`detect`, `install`/`configure`, or one of its
//! declared actions), in execute or plan mode, with events sent as they happen and a final [`Outcome`].

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::rc::Rc;

use rhai::{CallFnOptions, Dynamic, EvalAltResult, Scope};
use serde::{Deserialize, Serialize};

use crate::cancel::{CancelToken, Stop};
use crate::event::{Event, EventSink, EventTx, Outcome};
use crate::host::{Host, api};
use crate::plan::{Done, DoneAction, PlannedAction};
use crate::recipe::Recipe;
use crate::redact::Redactor;
use crate::sandbox::{self, Limits};
use crate::summary::{Change, PlanSummary};

/// Whether side effects happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Execute,
    /// Record side effects instead of executing them; read-only detection still runs.
    Plan,
}

/// Which entry point to call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `detect()`.
    Detect,
    /// `install(params)` or `configure(params)`, by category.
    Apply,
    /// `NAME(params)`, one of the recipe's declared `actions`, with that action's parameters.
    Named(String),
}

impl Action {
    /// The action a job request names: `None` is the category's entry point.
    pub fn from_name(name: Option<&str>) -> Self {
        name.map_or(Self::Apply, |n| Self::Named(n.to_owned()))
    }
}

/// How to run a job.
#[derive(Debug, Clone)]
pub struct JobOptions {
    pub mode: Mode,
    pub limits: Limits,
    pub cancel: CancelToken,
    /// The os-release file `os_release()` reads; recorded files make plans for other systems.
    pub os_release_path: PathBuf,
}

impl Default for JobOptions {
    fn default() -> Self {
        Self {
            mode: Mode::Execute,
            limits: Limits::default(),
            cancel: CancelToken::new(),
            os_release_path: PathBuf::from("/etc/os-release"),
        }
    }
}

/// Everything a finished job left.
#[derive(Debug, Clone)]
pub struct JobReport {
    pub outcome: Outcome,
    /// In plan mode, the side effects in order; empty otherwise.
    pub plan: Vec<PlannedAction>,
    /// In plan mode, what the plan would change, in words; empty otherwise.
    pub summary: PlanSummary,
    /// Outside plan mode, the side effects the run made (also when it then failed), redacted.
    pub done: Done,
}

/// What `detect()` reports about a recipe on this server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detection {
    pub installed: bool,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub running: Option<bool>,
    /// Backup recipes: the schedule (a cron expression) when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Backup recipes: Unix seconds of the last backup run, and whether it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_ok: Option<bool>,
    /// Backup recipes: Unix seconds of the last restore test, and whether the restored files
    /// were byte for byte what was backed up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_restore_test_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_restore_test_ok: Option<bool>,
    /// Backup recipes: the public key the target must accept (rsync over SSH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// Backup recipes: the snapshots kept, newest first (`backup_snapshots()`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapshots: Vec<FoundSnapshot>,
    /// Backup recipes: the restore drills (the restore test cron runs) and the last result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill: Option<FoundDrill>,
    /// Backup recipes: the current configuration, never a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<FoundBackupSettings>,
    /// Runtimes: installations besides the one on the search path, found by
    /// `installations()` (rustup, nvm, pyenv, `/usr/local/go`, …), each with where it came from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub installations: Vec<FoundInstallation>,
    /// Database servers, while they run: the databases they hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub databases: Vec<FoundDatabase>,
    /// Database servers, while they run: their users (roles, accounts, ACL users), never a
    /// password or a hash.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<FoundUser>,
}

/// One snapshot a backup recipe's `detect()` reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundSnapshot {
    pub id: String,
    /// Unix seconds when its backup started.
    pub time: u64,
    pub size_bytes: u64,
    pub files: u64,
    pub duration_s: u64,
}

/// One database a database server's `detect()` reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FoundDatabase {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
}

/// One user a database server's `detect()` reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FoundUser {
    pub name: String,
    /// MariaDB: the host part of the account (`localhost`, `127.0.0.1`, `%`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// PostgreSQL: whether the role may log in; Redis: whether the ACL user is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superuser: Option<bool>,
    /// The databases it owns (PostgreSQL).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owns: Vec<String>,
    /// The databases it may connect to (PostgreSQL) or has grants on (MariaDB).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub databases: Vec<String>,
    /// Redis: what it may do, in words or as ACL rules without passwords or hashes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
}

/// A backup recipe's restore drills, as its `detect()` reports them (`drill`): the schedule
/// and age limit, and the last restore test (Unix seconds, result, failure sentence).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FoundDrill {
    #[serde(default)]
    pub schedule: Option<String>,
    #[serde(default)]
    pub max_age_days: Option<u32>,
    #[serde(default)]
    pub last_at: Option<u64>,
    #[serde(default)]
    pub last_ok: Option<bool>,
    #[serde(default)]
    pub last_error: Option<String>,
}

/// A backup recipe's current configuration, as its `detect()` reports it (`settings`), for the
/// dashboard's Change form. A recipe must never put a secret here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FoundBackupSettings {
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub schedule: Option<String>,
    #[serde(default)]
    pub keep: Option<u32>,
    #[serde(default)]
    pub drill_schedule: Option<String>,
    #[serde(default)]
    pub drill_max_age_days: Option<u32>,
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub port: Option<u32>,
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub bucket: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub access_key_id: Option<String>,
}

/// One installation a runtime's `detect()` reports (see `installations()`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundInstallation {
    pub version: String,
    /// How it was installed and for whom: "rustup (root), stable-x86_64-unknown-linux-gnu".
    pub source: String,
    pub path: String,
}

/// Runs `action` of `recipe`. Events (already redacted) go to `events` as they happen, ending
/// with [`Event::Finished`]; the same outcome is returned.
pub fn run(
    recipe: &Recipe,
    action: Action,
    params: &serde_json::Map<String, serde_json::Value>,
    opts: &JobOptions,
    events: Option<impl Into<EventTx>>,
) -> JobReport {
    let redactor = Redactor::new();
    let sink = match events {
        Some(tx) => EventSink::new(tx.into(), redactor.clone()),
        None => EventSink::discard(redactor.clone()),
    };
    let sink = if opts.mode == Mode::Plan {
        sink.planning()
    } else {
        sink
    };
    let timings = Rc::new(crate::timing::Timings::new());
    let timed = opts.mode != Mode::Plan && action != Action::Detect;
    let done = Rc::new(RefCell::new(Done::default()));
    let (outcome, plan, summary) =
        match execute(recipe, action, params, opts, &sink, &timings, &done) {
            Ok((value, (plan, changes))) => {
                let plan = redact_plan(plan, &redactor);
                let changes = redact_changes(changes, &redactor);
                let summary = if opts.mode == Mode::Plan {
                    PlanSummary::build(&plan, &changes)
                } else {
                    PlanSummary::default()
                };
                let secret_fields = match &value {
                    serde_json::Value::Object(m) => m
                        .iter()
                        .filter(|(_, v)| redactor.contains_secret(&v.to_string()))
                        .map(|(k, _)| k.clone())
                        .collect(),
                    other if redactor.contains_secret(&other.to_string()) => vec![String::new()],
                    _ => Vec::new(),
                };
                (
                    Outcome::Succeeded {
                        value,
                        secret_fields,
                    },
                    plan,
                    summary,
                )
            }
            Err(Failure { error, location }) => (
                Outcome::Failed {
                    error: redactor.redact(&error),
                    location,
                },
                Vec::new(),
                PlanSummary::default(),
            ),
        };
    if timed {
        sink.send(Event::Timings {
            timings: timings.summary(),
        });
    }
    sink.send(Event::Finished {
        outcome: outcome.clone(),
    });
    let mut done = done.take();
    done.actions = done
        .actions
        .into_iter()
        .map(|a| DoneAction {
            step_title: redactor.redact(&a.step_title),
            action: redact_action(a.action, &redactor),
            ..a
        })
        .collect();
    JobReport {
        outcome,
        plan,
        summary,
        done,
    }
}

/// Masks secrets in announced changes (a recipe's warning may quote one).
fn redact_changes(changes: Vec<Change>, r: &Redactor) -> Vec<Change> {
    if r.is_empty() {
        return changes;
    }
    changes
        .into_iter()
        .map(|c| match c {
            Change::User(s) => Change::User(r.redact(&s)),
            Change::Database(s) => Change::Database(r.redact(&s)),
            Change::Port(s) => Change::Port(r.redact(&s)),
            Change::Note(s) => Change::Note(r.redact(&s)),
            package @ Change::Package(_) => package,
        })
        .collect()
}

/// Masks secrets in planned commands: a plan is shown to people and may be stored.
fn redact_plan(plan: Vec<PlannedAction>, r: &Redactor) -> Vec<PlannedAction> {
    if r.is_empty() {
        return plan;
    }
    plan.into_iter().map(|a| redact_action(a, r)).collect()
}

/// One side effect with every secret masked.
fn redact_action(a: PlannedAction, r: &Redactor) -> PlannedAction {
    if r.is_empty() {
        return a;
    }
    match a {
        PlannedAction::Run {
            program,
            args,
            stdin,
        } => PlannedAction::Run {
            program: r.redact(&program),
            args: args.iter().map(|x| r.redact(x)).collect(),
            stdin,
        },
        PlannedAction::WriteFile { path, mode, bytes } => PlannedAction::WriteFile {
            path: r.redact(&path),
            mode,
            bytes,
        },
        PlannedAction::Download { url, dest, sha256 } => PlannedAction::Download {
            url: r.redact(&url),
            dest: r.redact(&dest),
            sha256,
        },
    }
}

/// Plans `apply` with `params`: the ordered side effects it would make on this server.
pub fn plan(
    recipe: &Recipe,
    params: &serde_json::Map<String, serde_json::Value>,
    opts: &JobOptions,
    events: Option<impl Into<EventTx>>,
) -> Result<Vec<PlannedAction>, String> {
    plan_action(recipe, Action::Apply, params, opts, events)
}

/// Plans `action` with `params`, as [`plan`] does the category's entry point.
pub fn plan_action(
    recipe: &Recipe,
    action: Action,
    params: &serde_json::Map<String, serde_json::Value>,
    opts: &JobOptions,
    events: Option<impl Into<EventTx>>,
) -> Result<Vec<PlannedAction>, String> {
    let opts = JobOptions {
        mode: Mode::Plan,
        ..opts.clone()
    };
    let report = run(recipe, action, params, &opts, events);
    match report.outcome.failure_text() {
        None => Ok(report.plan),
        Some(error) => Err(error),
    }
}

/// Runs `detect()`, which must return a map with `installed` (and optionally `version`,
/// `running`).
pub fn detect(recipe: &Recipe, opts: &JobOptions) -> Result<Detection, String> {
    let report = run(
        recipe,
        Action::Detect,
        &serde_json::Map::new(),
        opts,
        None::<EventTx>,
    );
    match report.outcome {
        Outcome::Succeeded { value, .. } => serde_json::from_value(value).map_err(|e| {
            format!(
                "{}: detect() must return #{{installed, version, running}}: {e}",
                recipe.file
            )
        }),
        failed @ Outcome::Failed { .. } => Err(failed.failure_text().unwrap_or_default()),
    }
}

/// Why `execute` failed: a sentence, and where in the script, kept apart so that a page can
/// show the sentence first and the location behind "Details".
struct Failure {
    error: String,
    location: Option<String>,
}

impl From<String> for Failure {
    fn from(error: String) -> Self {
        Self {
            error,
            location: None,
        }
    }
}

type Planned = (Vec<PlannedAction>, Vec<Change>);

fn execute(
    recipe: &Recipe,
    action: Action,
    params: &serde_json::Map<String, serde_json::Value>,
    opts: &JobOptions,
    sink: &EventSink,
    timings: &Rc<crate::timing::Timings>,
    done: &Rc<RefCell<Done>>,
) -> Result<(serde_json::Value, Planned), Failure> {
    let stop = Stop::new(opts.cancel.clone(), opts.limits.deadline);
    // Detection is read-only by contract: whatever side effect a `detect()` attempts is recorded
    // like in a plan, never executed.
    let plan_mode = opts.mode == Mode::Plan || action == Action::Detect;
    let host = Rc::new(Host {
        caps: recipe.meta.capabilities.clone(),
        plan: plan_mode.then(|| RefCell::new(Vec::new())),
        changes: RefCell::new(Vec::new()),
        sink: sink.clone(),
        stop: stop.clone(),
        limits: opts.limits.clone(),
        os_release_path: opts.os_release_path.clone(),
        steps: Cell::new(0),
        timings: timings.clone(),
        // Shared with `run`, which reads it also when the job fails.
        done: done.clone(),
    });
    let mut engine = sandbox::runtime(&opts.limits, stop);
    crate::host::register(&mut engine, &host);
    let ast = crate::recipe::compile(&engine, &recipe.file, &recipe.source)
        .map_err(|e| Failure::from(e.to_string()))?;

    let (entry, specs) = match &action {
        Action::Detect => ("detect", None),
        Action::Apply => (
            recipe.meta.category.entry_point(),
            Some(&recipe.meta.params),
        ),
        Action::Named(name) => {
            let spec = recipe
                .meta
                .action(name)
                .ok_or_else(|| no_such_action(recipe, name))?;
            (spec.name.as_str(), Some(&spec.params))
        }
    };
    let args = match specs {
        None => Vec::new(),
        Some(specs) => {
            check_os(recipe, &opts.os_release_path)?;
            let valid = crate::params::validate_all(specs, params)
                .map_err(|e| Failure::from(e.to_string()))?;
            for secret in crate::params::secret_values(specs, &valid) {
                sink.redactor().add(secret);
            }
            if action == Action::Named(crate::service_action::NAME.to_owned()) {
                // The engine's own action: no script function to call (`service_action.rs`).
                drop(engine);
                let value = crate::service_action::run(&host, &valid)?;
                return Ok((value, take_plan(host)));
            }
            let map = rhai::serde::to_dynamic(serde_json::Value::Object(valid)).map_err(|e| {
                Failure::from(format!(
                    "the parameters cannot be passed to the recipe: {e}"
                ))
            })?;
            vec![map]
        }
    };
    let mut scope = Scope::new();
    let result: Dynamic = engine
        .call_fn_with_options(
            CallFnOptions::new().eval_ast(false).rewind_scope(true),
            &mut scope,
            &ast,
            entry,
            args,
        )
        .map_err(|e| {
            let (error, line) = describe(&e, &opts.limits);
            Failure {
                error,
                location: line.map(|line| format!("{}:{line}", recipe.file)),
            }
        })?;
    let value = rhai::serde::from_dynamic::<serde_json::Value>(&result).map_err(|e| {
        Failure::from(format!(
            "{entry}() returned a value that cannot be reported: {e}"
        ))
    })?;
    drop(engine);
    Ok((value, take_plan(host)))
}

/// What a finished job's host recorded: the plan (plan mode) and the announced changes.
fn take_plan(host: Rc<Host>) -> Planned {
    Rc::try_unwrap(host)
        .ok()
        .map(|h| {
            let plan = h.plan.map(RefCell::into_inner).unwrap_or_default();
            (plan, h.changes.into_inner())
        })
        .unwrap_or_default()
}

/// The sentence for an action the recipe does not declare (an old page, a typo on the CLI).
fn no_such_action(recipe: &Recipe, name: &str) -> Failure {
    let names: Vec<&str> = recipe
        .meta
        .actions
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    Failure::from(format!(
        "{} has no action `{}` (its actions: {}); nothing was changed",
        recipe.meta.title,
        name.escape_debug(),
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    ))
}

/// Refuses to apply a recipe on a system it does not declare.
fn check_os(recipe: &Recipe, os_release: &std::path::Path) -> Result<(), String> {
    let text = std::fs::read_to_string(os_release)
        .map_err(|e| format!("failed to read {}: {e}", os_release.display()))?;
    let fields = api::parse_os_release(&text);
    let get = |k: &str| fields.get(k).map(|v| v.to_string()).unwrap_or_default();
    let (id, version) = (get("ID"), get("VERSION_ID"));
    let supported = recipe
        .meta
        .os
        .iter()
        .any(|o| o.id == id && o.versions.iter().any(|v| v == &version));
    if supported {
        return Ok(());
    }
    let list: Vec<String> = recipe
        .meta
        .os
        .iter()
        .map(|o| format!("{} {}", o.id, o.versions.join("/")))
        .collect();
    Err(format!(
        "{} supports {}; this server runs {id} {version}, so nothing was changed",
        recipe.meta.title,
        list.join(", ")
    ))
}

/// A script error as one sentence, and the line of the script where it happened (when the
/// error has one and the sentence does not already carry it).
fn describe(e: &EvalAltResult, limits: &Limits) -> (String, Option<usize>) {
    let at = |pos: &rhai::Position| pos.line();
    match e {
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => describe(inner, limits),
        EvalAltResult::ErrorTerminated(token, _) => {
            let why = match token
                .clone()
                .into_immutable_string()
                .as_deref()
                .unwrap_or("")
            {
                sandbox::STOP_CANCELLED => "the job was cancelled".to_owned(),
                sandbox::STOP_MEMORY => format!(
                    "the recipe used more than {} MiB of memory and was stopped",
                    limits.max_memory_growth >> 20
                ),
                _ => format!(
                    "the recipe ran past its deadline of {} s and was stopped",
                    limits.deadline.as_secs()
                ),
            };
            (why, None)
        }
        EvalAltResult::ErrorTooManyOperations(pos) => (
            format!(
                "the recipe ran more than {} operations and was stopped; is there an endless loop?",
                limits.max_operations
            ),
            at(pos),
        ),
        EvalAltResult::ErrorStackOverflow(pos) => (
            format!(
                "the recipe nested calls more than {} deep and was stopped; is there an endless recursion?",
                limits.max_call_levels
            ),
            at(pos),
        ),
        EvalAltResult::ErrorDataTooLarge(what, pos) => (
            format!("the recipe built a value larger than allowed ({what}) and was stopped"),
            at(pos),
        ),
        EvalAltResult::ErrorRuntime(value, pos) => {
            let msg = value
                .clone()
                .into_immutable_string()
                .map(|s| s.to_string())
                .unwrap_or_else(|_| value.to_string());
            (msg, at(pos))
        }
        EvalAltResult::ErrorFunctionNotFound(sig, pos) => (
            format!("the recipe calls `{sig}`, which does not exist in the host API"),
            at(pos),
        ),
        // Rhai's own messages already carry their position.
        other => (other.unwrap_inner().to_string(), None),
    }
}
