//! Parameter validation before anything runs (threats.md row 17): the error names the parameter
//! and no command is started.
#![allow(clippy::unwrap_used)]

use crate::util;

use cairn_engine::Stream;
use util::{recipe_with, run};

const PARAMS: &str = r#"[
    #{ name: "db_name", type: "identifier", label: "Database" },
    #{ name: "port", type: "integer", min: 1, max: 65535, default_value: 5432 },
    #{ name: "flavour", type: "choice", options: ["small", "large"], default_value: "small" },
    #{ name: "note", type: "string", pattern: "[a-z ]*", default_value: "" },
]"#;

fn db_recipe() -> cairn_engine::Recipe {
    recipe_with(
        r#"["printf"]"#,
        "[]",
        "[]",
        PARAMS,
        r#"run("printf", ["create %s", params.db_name]); params"#,
    )
}

#[test]
fn valid_parameters_are_typed_and_defaulted() {
    let ran = run(
        &db_recipe(),
        serde_json::json!({ "db_name": "shop_2", "port": "6000" }),
    );
    assert_eq!(
        ran.value(),
        &serde_json::json!({ "db_name": "shop_2", "port": 6000, "flavour": "small", "note": "" })
    );
}

#[test]
fn injection_attempts_are_refused_before_any_command() {
    for (params, needle) in [
        (
            serde_json::json!({ "db_name": "x\"; DROP ROLE postgres;--" }),
            "parameter `db_name`",
        ),
        (
            serde_json::json!({ "db_name": "-oProxyCommand=x" }),
            "parameter `db_name`",
        ),
        (
            serde_json::json!({ "db_name": "a".repeat(64) }),
            "parameter `db_name`",
        ),
        (serde_json::json!({ "db_name": "select" }), "reserved word"),
        (
            serde_json::json!({ "db_name": "postgres" }),
            "reserved word",
        ),
        (serde_json::json!({}), "parameter `db_name`: is required"),
        (
            serde_json::json!({ "db_name": "ok", "port": 70000 }),
            "parameter `port`",
        ),
        (
            serde_json::json!({ "db_name": "ok", "flavour": "huge" }),
            "parameter `flavour`",
        ),
        (
            serde_json::json!({ "db_name": "ok", "note": "Bad!" }),
            "parameter `note`",
        ),
        (
            serde_json::json!({ "db_name": "ok", "extra": "1" }),
            "parameter `extra`",
        ),
    ] {
        let ran = run(&db_recipe(), params.clone());
        assert!(ran.error().contains(needle), "{params}: {}", ran.error());
        assert!(
            ran.lines(Stream::Command).is_empty(),
            "{params}: a command ran"
        );
    }
}

#[test]
fn a_bad_declaration_is_a_load_error() {
    let src = r#"const RECIPE = #{ id: "p", title: "P", category: "runtime", version: 1, estimated_size_mb: 1,
  os: [#{ id: "debian", versions: ["12"] }], capabilities: #{},
  params: [#{ name: "port", type: "integer", min: 1, max: 10, default_value: 99 }] };
fn detect() { #{ installed: false } }
fn install(params) { }"#;
    let e = cairn_engine::Recipe::parse("p.rhai", src)
        .unwrap_err()
        .to_string();
    assert!(e.contains("parameter `port`: default"), "{e}");
}
