//! The built-in action `service` (`service_action.rs`): listed for every recipe that declares a
//! service and only for those, with its French; reserved; planned as the command it would run
//! and nothing else; refusing a service the recipe does not declare before anything runs; and a
//! real stop and start of redis-server through the shipped recipe. The last one changes a shared
//! service: run it under the machine lock
//! (`flock -o /tmp/cairn-system.lock cargo test -p cairn-engine --test it service_action`); it
//! leaves redis-server as it found it, and skips, saying so, without root, without Debian's
//! redis-server, or with systemd as PID 1.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::mpsc;

use cairn_engine::job::{self, Action, JobOptions, Mode};
use cairn_engine::system::service;
use cairn_engine::{Event, Outcome, PlannedAction, Recipe, Stream};

use crate::common;
use crate::util;

struct Ran {
    outcome: Outcome,
    plan: Vec<PlannedAction>,
    events: Vec<Event>,
}

fn run_service(recipe: &Recipe, name: &str, operation: &str, mode: Mode) -> Ran {
    let (tx, rx) = mpsc::channel::<Event>();
    let opts = JobOptions {
        mode,
        limits: util::quick_limits(),
        os_release_path: util::debian12(),
        ..JobOptions::default()
    };
    let params = serde_json::json!({ "service": name, "operation": operation });
    let report = job::run(
        recipe,
        Action::Named("service".into()),
        params.as_object().unwrap(),
        &opts,
        Some(tx),
    );
    Ran {
        outcome: report.outcome,
        plan: report.plan,
        events: rx.into_iter().collect(),
    }
}

fn shipped(file: &str) -> Recipe {
    Recipe::load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../recipes")
            .join(file),
    )
    .unwrap()
}

/// A database recipe declaring the services `services` (a JSON-ish list) and an action `extra`.
fn declaring(services: &str, actions: &str) -> Result<Recipe, String> {
    let src = format!(
        r#"
const RECIPE = #{{
    id: "svc", title: "Svc", category: "database", version: 1, estimated_size_mb: 1,
    os: [#{{ id: "debian", versions: ["12"] }}],
    capabilities: #{{ programs: [], paths: [], services: {services} }},
    actions: {actions},
    translations: #{{ fr: #{{ title: "Svc" }} }},
}};
fn detect() {{ #{{ installed: true }} }}
fn configure(params) {{ () }}
fn service(params) {{ 42 }}
"#
    );
    Recipe::parse("svc.rhai", &src).map_err(|e| e.to_string())
}

/// The commands a job's console says it started (`$ …` lines), whatever the stream.
fn commands(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Log {
                stream: Stream::Command,
                line,
            } => Some(line.trim_start_matches("$ ").to_owned()),
            _ => None,
        })
        .collect()
}

#[test]
fn every_recipe_declaring_a_service_offers_the_service_action_with_its_french_and_no_other_does() {
    let redis = shipped("redis.rhai");
    let action = redis.meta.action("service").expect("the built-in action");
    assert_eq!(action.params[0].name, "service");
    assert_eq!(action.params[0].options, ["redis-server"]);
    assert_eq!(
        action.params[1].options,
        ["start", "stop", "restart", "enable", "disable"]
    );
    assert!(!action.destructive);
    let fr = &redis.meta.translations["fr"].actions["service"];
    assert_eq!(fr.title, "Piloter un service");
    assert_eq!(fr.params["operation"], "Opération");

    let mysql = shipped("mysql.rhai");
    let options = &mysql.meta.action("service").unwrap().params[0].options;
    assert_eq!(options, &["mariadb", "mysql"]);

    assert!(shipped("rust.rhai").meta.action("service").is_none());
}

#[test]
fn a_recipe_may_not_declare_an_action_called_service() {
    let err = declaring(r#"["cron"]"#, r#"[#{ name: "service", title: "Mine" }]"#).unwrap_err();
    assert!(err.contains("`service` is reserved"), "{err}");
}

#[test]
fn the_plan_of_a_service_action_is_the_service_command_and_runs_nothing() {
    let redis = shipped("redis.rhai");
    let ran = run_service(&redis, "redis-server", "restart", Mode::Plan);
    assert!(
        matches!(ran.outcome, Outcome::Succeeded { .. }),
        "{:?}",
        ran.outcome
    );
    let expected = if service::has_systemd() {
        ("systemctl", vec!["restart", "--", "redis-server"])
    } else {
        ("service", vec!["redis-server", "restart"])
    };
    assert_eq!(
        ran.plan,
        [PlannedAction::Run {
            program: expected.0.into(),
            args: expected.1.iter().map(|s| (*s).to_owned()).collect(),
            stdin: false,
        }]
    );

    // A service with no init script and no unit: had the plan run it, the job would fail.
    let ghost = declaring(r#"["cairn-no-such-service"]"#, "[]").unwrap();
    let ran = run_service(&ghost, "cairn-no-such-service", "stop", Mode::Plan);
    match &ran.outcome {
        // The engine's action, not the recipe's own `fn service` (which returns 42).
        Outcome::Succeeded { value, .. } => assert_eq!(
            value,
            &serde_json::json!({"service": "cairn-no-such-service", "operation": "stop"})
        ),
        failed => panic!("the plan failed: {failed:?}"),
    }
    assert_eq!(ran.plan.len(), 1, "{:?}", ran.plan);
    assert!(commands(&ran.events).is_empty(), "{:?}", ran.events);
}

#[test]
fn a_service_the_recipe_does_not_declare_is_refused_with_a_sentence_and_nothing_runs() {
    let redis = shipped("redis.rhai");
    for mode in [Mode::Execute, Mode::Plan] {
        let ran = run_service(&redis, "ssh", "stop", mode);
        let Outcome::Failed { error, .. } = &ran.outcome else {
            panic!("an undeclared service was accepted: {:?}", ran.outcome);
        };
        assert!(
            error.contains("service") && error.contains("redis-server"),
            "the sentence does not say which services may be controlled: {error}"
        );
        assert!(ran.plan.is_empty(), "{:?}", ran.plan);
        assert!(commands(&ran.events).is_empty(), "{:?}", ran.events);
    }
    // An operation that is none of the five: the same.
    let ran = run_service(&redis, "redis-server", "reload", Mode::Execute);
    let Outcome::Failed { error, .. } = &ran.outcome else {
        panic!("`reload` was accepted: {:?}", ran.outcome);
    };
    assert!(error.contains("start, stop, restart"), "{error}");
    assert!(commands(&ran.events).is_empty(), "{:?}", ran.events);
}

/// Puts redis-server back running or stopped, as it was found.
struct Restore(bool);

impl Drop for Restore {
    fn drop(&mut self) {
        let exec = common::RealExec::new();
        let _ = if self.0 {
            service::start(&exec, "redis-server")
        } else {
            service::stop(&exec, "redis-server")
        };
    }
}

#[test]
fn the_service_action_stops_and_starts_redis_server_for_real() {
    let why = if service::has_systemd() {
        "systemd is PID 1 here (this test checks the init script's pid file)"
    } else if !common::is_root() {
        "it stops and starts redis-server and needs root"
    } else if !Path::new("/etc/init.d/redis-server").exists() {
        "redis-server is not installed"
    } else {
        ""
    };
    if !why.is_empty() {
        eprintln!("skipping the service action's real stop and start: {why}");
        return;
    }
    let _one = common::REDIS.lock().unwrap_or_else(|e| e.into_inner());
    let redis = shipped("redis.rhai");
    let exec = common::RealExec::new();
    let was_running = service::is_running(&exec, "redis-server").unwrap();
    let _restore = Restore(was_running);

    let stopped = run_service(&redis, "redis-server", "stop", Mode::Execute);
    match &stopped.outcome {
        Outcome::Succeeded { value, .. } => assert_eq!(value["running"], false, "{value}"),
        failed => panic!("the stop failed: {failed:?}"),
    }
    assert_eq!(
        commands(&stopped.events),
        ["service redis-server stop"],
        "{:?}",
        stopped.events
    );
    assert!(!service::is_running(&exec, "redis-server").unwrap());

    let started = run_service(&redis, "redis-server", "start", Mode::Execute);
    match &started.outcome {
        Outcome::Succeeded { value, .. } => assert_eq!(value["running"], true, "{value}"),
        failed => panic!("the start failed: {failed:?}"),
    }
    assert!(service::is_running(&exec, "redis-server").unwrap());
}
