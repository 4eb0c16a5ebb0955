//! threats.md rows 11-14: runaway scripts are stopped with a clear error and the process survives.
#![allow(clippy::unwrap_used)]

use crate::util;

use std::time::{Duration, Instant};

use cairn_engine::job::JobOptions;
use cairn_engine::{EngineError, Limits, Recipe};
use util::{recipe, run, run_opts};

fn with_limits(limits: Limits) -> JobOptions {
    JobOptions {
        limits,
        os_release_path: util::debian12(),
        ..JobOptions::default()
    }
}

#[test]
fn endless_loop_is_stopped_by_the_deadline() {
    let r = recipe("[]", "[]", "loop { }");
    let limits = Limits {
        max_operations: 0, // unlimited: only the wall clock can stop it
        deadline: Duration::from_millis(500),
        ..Limits::default()
    };
    let started = Instant::now();
    let ran = run_opts(&r, serde_json::json!({}), &with_limits(limits));
    assert!(ran.error().contains("deadline"), "{}", ran.error());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn endless_loop_is_stopped_by_the_operation_limit() {
    let r = recipe("[]", "[]", "let i = 0; loop { i += 1; }");
    let limits = Limits {
        max_operations: 100_000,
        ..Limits::default()
    };
    let ran = run_opts(&r, serde_json::json!({}), &with_limits(limits));
    assert!(
        ran.error().contains("more than 100000 operations"),
        "{}",
        ran.error()
    );
}

#[test]
fn unbounded_recursion_is_stopped() {
    let src = r#"
const RECIPE = #{ id: "rec", title: "R", category: "runtime", version: 1, estimated_size_mb: 1,
  os: [#{ id: "debian", versions: ["12"] }], capabilities: #{} };
fn detect() { #{ installed: false } }
fn deeper(n) { deeper(n + 1) }
fn install(params) { deeper(0) }
"#;
    let r = Recipe::parse("rec.rhai", src).unwrap();
    let ran = run(&r, serde_json::json!({}));
    assert!(ran.error().contains("endless recursion"), "{}", ran.error());
}

#[test]
fn thousands_of_nested_parentheses_are_a_parse_error() {
    let deep = format!("let x = {}1{};", "(".repeat(5000), ")".repeat(5000));
    let src = format!(
        r#"const RECIPE = #{{ id: "p", title: "P", category: "runtime", version: 1, estimated_size_mb: 1,
  os: [#{{ id: "debian", versions: ["12"] }}], capabilities: #{{}} }};
fn detect() {{ #{{ installed: false }} }}
fn install(params) {{ {deep} }}"#
    );
    match Recipe::parse("deep.rhai", &src) {
        Err(EngineError::Compile {
            file,
            line,
            message,
            ..
        }) => {
            assert_eq!(file, "deep.rhai");
            assert_eq!(line, 4);
            assert!(
                message.to_lowercase().contains("too deep") || message.contains("complex"),
                "{message}"
            );
        }
        other => panic!("expected a compile error, got {other:?}"),
    }
}

#[test]
fn string_doubling_is_stopped() {
    let r = recipe("[]", "[]", r#"let s = "x"; loop { s += s; }"#);
    let ran = run(&r, serde_json::json!({}));
    assert!(
        ran.error().contains("larger than allowed"),
        "{}",
        ran.error()
    );
    assert!(
        ran.error().to_lowercase().contains("string"),
        "{}",
        ran.error()
    );
}

#[test]
fn array_growth_is_stopped() {
    let r = recipe("[]", "[]", "let a = []; loop { a.push(1); }");
    let ran = run(&r, serde_json::json!({}));
    assert!(
        ran.error().contains("larger than allowed"),
        "{}",
        ran.error()
    );
}

#[test]
fn eval_is_rejected_at_compile_time() {
    let src = r#"const RECIPE = #{ id: "e", title: "E", category: "runtime", version: 1, estimated_size_mb: 1,
  os: [#{ id: "debian", versions: ["12"] }], capabilities: #{} };
fn detect() { #{ installed: false } }
fn install(params) { eval("run(\"rm\", [\"-rf\", \"/\"])") }"#;
    let e = Recipe::parse("eval.rhai", src).unwrap_err().to_string();
    assert!(e.starts_with("eval.rhai:4:"), "{e}");
    assert!(e.contains("eval"), "{e}");
}

#[test]
fn import_is_rejected_at_compile_time() {
    let src = r#"import "evil" as evil;
const RECIPE = #{ id: "i", title: "I", category: "runtime", version: 1, estimated_size_mb: 1,
  os: [#{ id: "debian", versions: ["12"] }], capabilities: #{} };
fn detect() { #{ installed: false } }
fn install(params) { }"#;
    let e = Recipe::parse("import.rhai", src).unwrap_err().to_string();
    assert!(e.starts_with("import.rhai:1:"), "{e}");
    assert!(e.contains("import"), "{e}");
}

#[test]
fn too_many_variables_and_functions_are_refused() {
    let vars: String = (0..300).map(|i| format!("let v{i} = {i};\n")).collect();
    let r = recipe("[]", "[]", &vars);
    let ran = run(&r, serde_json::json!({}));
    assert!(
        ran.error().to_lowercase().contains("variables"),
        "{}",
        ran.error()
    );

    let fns: String = (0..200).map(|i| format!("fn f{i}() {{ {i} }}\n")).collect();
    let src = format!(
        r#"const RECIPE = #{{ id: "f", title: "F", category: "runtime", version: 1, estimated_size_mb: 1,
  os: [#{{ id: "debian", versions: ["12"] }}], capabilities: #{{}} }};
fn detect() {{ #{{ installed: false }} }}
fn install(params) {{ }}
{fns}"#
    );
    let e = Recipe::parse("fns.rhai", &src).unwrap_err().to_string();
    assert!(e.to_lowercase().contains("function"), "{e}");
}

#[test]
fn cancel_stops_a_running_script() {
    let r = recipe("[]", "[]", "loop { }");
    let opts = JobOptions {
        limits: Limits {
            max_operations: 0,
            ..Limits::default()
        },
        os_release_path: util::debian12(),
        ..JobOptions::default()
    };
    let cancel = opts.cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        cancel.cancel();
    });
    let ran = run_opts(&r, serde_json::json!({}), &opts);
    assert_eq!(ran.error(), "the job was cancelled");
}
