//! Helpers for the engine's integration tests: build a recipe around a snippet, run it, and
//! collect its events; the policy tests' helpers in [`policy`] and [`dbpolicy`].
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::mpsc;
use std::time::Duration;

use cairn_engine::job::{self, Action, JobOptions, Mode};
use cairn_engine::{Event, Limits, Outcome, PlannedAction, Recipe, Stream};

/// A runtime recipe whose `install(params)` is `body`, with the given capability lists (Rhai
/// array literals) and parameters (a Rhai array literal of maps).
pub fn recipe_with(
    programs: &str,
    paths: &str,
    services: &str,
    params: &str,
    body: &str,
) -> Recipe {
    let src = format!(
        r#"
const RECIPE = #{{
    id: "test", title: "Test", category: "runtime", version: 1, estimated_size_mb: 1,
    os: [#{{ id: "debian", versions: ["11", "12"] }}, #{{ id: "ubuntu", versions: ["22.04"] }}],
    params: {params},
    capabilities: #{{ programs: {programs}, paths: {paths}, services: {services} }},
}};
fn detect() {{ #{{ installed: false }} }}
fn install(params) {{
{body}
}}
"#
    );
    Recipe::parse("test.rhai", &src).unwrap_or_else(|e| panic!("{e}\n{src}"))
}

/// A recipe allowed to run `programs` and write under `paths`.
pub fn recipe(programs: &str, paths: &str, body: &str) -> Recipe {
    recipe_with(programs, paths, "[]", "[]", body)
}

/// Small limits so that runaway scripts are stopped quickly.
pub fn quick_limits() -> Limits {
    Limits {
        deadline: Duration::from_secs(20),
        ..Limits::default()
    }
}

pub struct Ran {
    pub events: Vec<Event>,
    pub outcome: Outcome,
    pub plan: Vec<PlannedAction>,
    pub summary: cairn_engine::PlanSummary,
    /// What a run did (`JobReport::done`); empty for a plan.
    pub done: cairn_engine::Done,
}

impl Ran {
    /// The error of a failed job with its location, as a terminal shows it (panics on
    /// success).
    pub fn error(&self) -> String {
        match self.outcome.failure_text() {
            Some(text) => text,
            None => panic!("expected a failure, got {:?}", self.outcome),
        }
    }

    /// The value of a successful job (panics on failure).
    pub fn value(&self) -> &serde_json::Value {
        match &self.outcome {
            Outcome::Succeeded { value, .. } => value,
            Outcome::Failed { error, .. } => panic!("expected success, got: {error}"),
        }
    }

    /// Console lines of one stream.
    pub fn lines(&self, stream: Stream) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Log { stream: s, line } if *s == stream => Some(line.clone()),
                _ => None,
            })
            .collect()
    }

    /// Every string in every event, for leak checks.
    pub fn all_text(&self) -> String {
        self.events
            .iter()
            .map(|e| serde_json::to_string(e).unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

pub fn run_opts(recipe: &Recipe, params: serde_json::Value, opts: &JobOptions) -> Ran {
    let (tx, rx) = mpsc::channel();
    let params = params.as_object().cloned().unwrap_or_default();
    let report = job::run(recipe, Action::Apply, &params, opts, Some(tx));
    let events: Vec<Event> = rx.into_iter().collect();
    assert!(
        matches!(events.last(), Some(Event::Finished { .. })),
        "the last event must be Finished"
    );
    Ran {
        events,
        outcome: report.outcome,
        plan: report.plan,
        summary: report.summary,
        done: report.done,
    }
}

/// Runs `install(params)` for real on this machine (as Debian 12).
pub fn run(recipe: &Recipe, params: serde_json::Value) -> Ran {
    run_opts(
        recipe,
        params,
        &JobOptions {
            limits: quick_limits(),
            os_release_path: debian12(),
            ..JobOptions::default()
        },
    )
}

/// Plans `install(params)`.
pub fn plan(recipe: &Recipe, params: serde_json::Value) -> Ran {
    run_opts(
        recipe,
        params,
        &JobOptions {
            mode: Mode::Plan,
            limits: quick_limits(),
            os_release_path: debian12(),
            ..JobOptions::default()
        },
    )
}

/// A recorded Debian 12 os-release, so tests do not depend on the machine's.
pub fn debian12() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/os-release-debian12")
}

/// A temporary directory that is not under /tmp's sticky-bit quirks for symlink tests.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("cairn-engine-test")
        .tempdir()
        .unwrap()
}

pub mod dbpolicy;
pub mod policy;
