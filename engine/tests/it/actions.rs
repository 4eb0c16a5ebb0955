//! A recipe's declared actions (`RECIPE.actions`): each checked at load time (its function, its
//! name, its confirmation, its French), run and planned like the category's entry point, with
//! its own parameters.
#![allow(clippy::unwrap_used)]

use std::sync::mpsc;

use cairn_engine::job::{self, Action, JobOptions, Mode};
use cairn_engine::{Event, Outcome, PlannedAction, Recipe};

use crate::util;

/// A runtime recipe under `dir` with a `touch_file` action (its own `name` parameter) and a
/// destructive `forget` action confirmed by its `name`; `extra` is spliced into `RECIPE`.
fn source(dir: &str, actions: &str, extra: &str) -> String {
    format!(
        r#"
const RECIPE = #{{
    id: "acts", title: "Acts", category: "runtime", version: 1, estimated_size_mb: 1,
    os: [#{{ id: "debian", versions: ["12"] }}],
    params: [#{{ name: "flavour", type: "string", label: "Flavour" }}],
    capabilities: #{{ programs: ["touch"], paths: ["{dir}"] }},
    actions: {actions},
    {extra}
}};
fn detect() {{ #{{ installed: false }} }}
fn install(params) {{ "installed " + params.flavour }}
fn touch_file(params) {{
    log(`Touching ${{params.name}}`);
    run("touch", ["{dir}/" + params.name]);
    "touched " + params.name
}}
fn forget(params) {{ "forgot " + params.name }}
"#
    )
}

const ACTIONS: &str = r#"[
    #{ name: "touch_file", title: "Touch a file", description: "Creates an empty file.",
       params: [#{ name: "name", type: "identifier", label: "File name" }] },
    #{ name: "forget", title: "Forget a file", destructive: true, confirm: "name",
       params: [#{ name: "name", type: "identifier", label: "File name" }] },
]"#;

fn parse(src: &str) -> Result<Recipe, String> {
    Recipe::parse("acts.rhai", src).map_err(|e| e.to_string())
}

fn run(recipe: &Recipe, action: Action, params: serde_json::Value, mode: Mode) -> Outcome {
    let (tx, rx) = mpsc::channel::<Event>();
    let opts = JobOptions {
        mode,
        limits: util::quick_limits(),
        os_release_path: util::debian12(),
        ..JobOptions::default()
    };
    let params = params.as_object().cloned().unwrap_or_default();
    let report = job::run(recipe, action, &params, &opts, Some(tx));
    drop(rx);
    report.outcome
}

fn value(outcome: &Outcome) -> &serde_json::Value {
    match outcome {
        Outcome::Succeeded { value, .. } => value,
        Outcome::Failed { error, .. } => panic!("expected success, got: {error}"),
    }
}

#[test]
fn a_declared_action_is_read_with_its_parameters_and_confirmation() {
    let r = parse(&source("/tmp/x", ACTIONS, "")).unwrap();
    let names: Vec<&str> = r.meta.actions.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["touch_file", "forget"]);
    let forget = r.meta.action("forget").unwrap();
    assert!(forget.destructive);
    assert_eq!(forget.confirm.as_deref(), Some("name"));
    assert_eq!(forget.params[0].name, "name");
}

#[test]
fn running_an_action_calls_its_function_with_its_own_parameters() {
    let dir = util::tempdir();
    let d = dir.path().display().to_string();
    let r = parse(&source(&d, ACTIONS, "")).unwrap();
    let out = run(
        &r,
        Action::Named("touch_file".into()),
        serde_json::json!({ "name": "made" }),
        Mode::Execute,
    );
    assert_eq!(value(&out), "touched made");
    assert!(dir.path().join("made").exists(), "the action did not run");
}

#[test]
fn planning_an_action_records_its_side_effects_and_executes_none() {
    let dir = util::tempdir();
    let d = dir.path().display().to_string();
    let r = parse(&source(&d, ACTIONS, "")).unwrap();
    let plan = job::plan_action(
        &r,
        Action::Named("touch_file".into()),
        serde_json::json!({ "name": "planned" })
            .as_object()
            .unwrap(),
        &JobOptions {
            limits: util::quick_limits(),
            os_release_path: util::debian12(),
            ..JobOptions::default()
        },
        None::<cairn_engine::EventTx>,
    )
    .unwrap();
    assert_eq!(
        plan,
        vec![PlannedAction::Run {
            program: "touch".into(),
            args: vec![format!("{d}/planned")],
            stdin: false,
        }]
    );
    assert!(!dir.path().join("planned").exists(), "a planned action ran");
}

#[test]
fn an_action_validates_its_own_parameters_not_the_recipes() {
    let dir = util::tempdir();
    let d = dir.path().display().to_string();
    let r = parse(&source(&d, ACTIONS, "")).unwrap();
    let touch = || Action::Named("touch_file".into());
    // The recipe's own `flavour` is not the action's, and the action's `name` is required.
    for (params, needle) in [
        (
            serde_json::json!({ "name": "a", "flavour": "x" }),
            "`flavour`",
        ),
        (serde_json::json!({}), "parameter `name`: is required"),
        (serde_json::json!({ "name": "../etc" }), "not a valid name"),
    ] {
        let out = run(&r, touch(), params, Mode::Execute);
        let text = out.failure_text().unwrap();
        assert!(text.contains(needle), "expected {needle} in: {text}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // And the category's entry point still takes the recipe's parameters.
    let out = run(
        &r,
        Action::Apply,
        serde_json::json!({ "flavour": "plain" }),
        Mode::Execute,
    );
    assert_eq!(value(&out), "installed plain");
}

#[test]
fn an_action_the_recipe_does_not_declare_is_refused_with_its_actions_named() {
    let r = parse(&source("/tmp/x", ACTIONS, "")).unwrap();
    // `detect` exists as a function but is not an action; `install` neither.
    for name in ["nope", "detect", "install"] {
        let out = run(
            &r,
            Action::Named(name.into()),
            serde_json::json!({}),
            Mode::Plan,
        );
        let text = out.failure_text().unwrap();
        assert!(
            text.contains(&format!(
                "Acts has no action `{name}` (its actions: touch_file, forget)"
            )),
            "{text}"
        );
    }
}

#[test]
fn an_action_is_refused_on_a_system_the_recipe_does_not_declare() {
    let r = parse(&source("/tmp/x", ACTIONS, "")).unwrap();
    let (tx, _rx) = mpsc::channel::<Event>();
    let opts = JobOptions {
        os_release_path: std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/os-release-fedora40"),
        ..JobOptions::default()
    };
    let params = serde_json::json!({ "name": "a" });
    let report = job::run(
        &r,
        Action::Named("forget".into()),
        params.as_object().unwrap(),
        &opts,
        Some(tx),
    );
    let text = report.outcome.failure_text().unwrap();
    assert!(text.contains("so nothing was changed"), "{text}");
}

#[test]
fn check_refuses_each_kind_of_bad_action_with_a_sentence() {
    let one = |decl: &str| format!("[{decl}]");
    for (actions, needle) in [
        (
            one(r#"#{ name: "vanish", title: "Vanish" }"#),
            "actions.vanish is declared but the recipe has no `fn vanish(params)`",
        ),
        (
            one(r#"#{ name: "Touch-File", title: "T" }"#),
            "`Touch-File` is not a valid action name",
        ),
        (
            one(r#"#{ name: "install", title: "Install again" }"#),
            "`install` is reserved",
        ),
        (
            one(r#"#{ name: "detect", title: "Detect" }"#),
            "`detect` is reserved",
        ),
        (
            one(r#"#{ name: "forget", title: "Forget", destructive: true,
                      params: [#{ name: "name", type: "identifier" }] }"#),
            "actions.forget is destructive and needs `confirm`",
        ),
        (
            one(
                r#"#{ name: "forget", title: "Forget", destructive: true, confirm: "db",
                      params: [#{ name: "name", type: "identifier" }] }"#,
            ),
            "`confirm` names `db`, which is not one of its parameters",
        ),
        (
            one(r#"#{ name: "forget", title: "Forget",
                      params: [#{ name: "v", type: "choice", options: ["a"],
                                  option_notes: #{ a: "from A" } }] }"#),
            "option_notes are for the recipe's own `params`",
        ),
        (
            one(r#"#{ name: "forget", title: "Forget", confirm: "name",
                      params: [#{ name: "name", type: "identifier" }] }"#),
            "`confirm` is only for a destructive action",
        ),
        (
            one(r#"#{ name: "forget", title: "" }"#),
            "actions.forget.title must not be empty",
        ),
        (
            one(r#"#{ name: "forget", title: "F", colour: "red" }"#),
            "colour",
        ),
        (
            r#"[#{ name: "forget", title: "F" }, #{ name: "forget", title: "G" }]"#.into(),
            "`forget` is declared twice",
        ),
    ] {
        let e = parse(&source("/tmp/x", &actions, "")).unwrap_err();
        assert!(e.starts_with("acts.rhai:"), "{e}");
        assert!(e.contains(needle), "expected `{needle}` in: {e}");
    }
}

/// French for the recipe with its `flavour` label; `actions` is the `fr.actions` map.
fn french(actions: &str) -> String {
    format!(
        r#"translations: #{{ fr: #{{ title: "Actes", params: #{{ flavour: "Parfum" }},
             messages: #{{ "Touching ${{params.name}}": "Je touche ${{params.name}}" }},
             actions: {actions} }} }},"#
    )
}

#[test]
fn french_must_name_every_action_with_its_title_description_and_labels() {
    let whole = r#"#{
        touch_file: #{ title: "Toucher un fichier", description: "Crée un fichier vide.",
                       params: #{ name: "Nom du fichier" } },
        forget: #{ title: "Oublier un fichier", params: #{ name: "Nom du fichier" } },
    }"#;
    parse(&source("/tmp/x", ACTIONS, &french(whole))).unwrap();
    for (actions, needle) in [
        (
            r#"#{ touch_file: #{ title: "Toucher", description: "Crée.", params: #{ name: "Nom" } } }"#,
            "translations.fr.actions has no `forget`",
        ),
        (
            r#"#{ touch_file: #{ title: "Toucher", params: #{ name: "Nom" } },
                  forget: #{ title: "Oublier", params: #{ name: "Nom" } } }"#,
            "translations.fr.actions.touch_file.description is missing",
        ),
        (
            r#"#{ touch_file: #{ title: "Toucher", description: "Crée." },
                  forget: #{ title: "Oublier", params: #{ name: "Nom" } } }"#,
            "translations.fr.actions.touch_file.params has no label for `name` (\"File name\")",
        ),
        (
            r#"#{ touch_file: #{ title: "Toucher", description: "Crée.", params: #{ name: "Nom" } },
                  forget: #{ title: "Oublier", params: #{ name: "Nom" } },
                  vanish: #{ title: "Disparaître" } }"#,
            "translations.fr.actions names `vanish`, which is not an action",
        ),
    ] {
        let e = parse(&source("/tmp/x", ACTIONS, &french(actions))).unwrap_err();
        assert!(e.contains(needle), "expected `{needle}` in: {e}");
    }
}
