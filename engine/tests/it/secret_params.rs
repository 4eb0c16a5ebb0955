//! Parameters declared `secret: true` (a backup's S3 secret key): masked in every console line,
//! error and plan like a `secret()`, never repeated by a validation error, refused when too
//! short to mask safely, and allowed on `string` parameters only. Also: what `detect()` of a
//! backup recipe may report beside `installed`.
#![allow(clippy::unwrap_used)]

use crate::util;

use cairn_engine::job::{self, JobOptions};
use cairn_engine::redact::MASK;
use cairn_engine::{Outcome, PlannedAction, Recipe, Stream};
use util::{plan, recipe_with, run};

const KEY_PARAM: &str = r#"[
    #{ name: "key", type: "string", secret: true, default_value: "",
       pattern: "([A-Za-z0-9/+=]{8,64})?" },
    #{ name: "bucket", type: "string", default_value: "b" },
]"#;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn key_recipe(body: &str) -> Recipe {
    recipe_with(r#"["cat", "ls"]"#, "[]", "[]", KEY_PARAM, body)
}

#[test]
fn a_secret_parameter_is_masked_in_output_errors_and_plans() {
    let r = key_recipe(
        r#"run("cat", [], #{ stdin: "key=" + params.key + "\n" });
           log("using " + params.key);
           step("upload with " + params.key);
           run("ls", ["/nonexistent-" + params.key]);"#,
    );
    let ran = run(&r, serde_json::json!({ "key": SECRET }));
    assert_eq!(ran.lines(Stream::Stdout), vec![format!("key={MASK}")]);
    assert!(ran.lines(Stream::Info).contains(&format!("using {MASK}")));
    assert!(
        ran.error().contains(&format!("/nonexistent-{MASK}")),
        "{}",
        ran.error()
    );
    assert!(!ran.all_text().contains(SECRET), "{}", ran.all_text());
    let every_event: String = ran
        .events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    assert!(!every_event.contains(SECRET));

    // A plan records the command with the key masked.
    let planned = plan(&r, serde_json::json!({ "key": SECRET }));
    let text = serde_json::to_string(&planned.plan).unwrap();
    assert!(!text.contains(SECRET), "{text}");
    assert!(
        planned.plan.iter().any(|a| matches!(a,
            PlannedAction::Run { program, args, .. }
                if program == "ls" && args == &[format!("/nonexistent-{MASK}")])),
        "{text}"
    );
}

#[test]
fn an_empty_secret_parameter_masks_nothing_and_other_parameters_stay_visible() {
    let r = key_recipe(r#"log("bucket " + params.bucket + " key [" + params.key + "]"); #{}"#);
    let ran = run(&r, serde_json::json!({ "bucket": "bbbbbbbb" }));
    assert!(matches!(ran.outcome, Outcome::Succeeded { .. }));
    assert!(
        ran.lines(Stream::Info)
            .contains(&"bucket bbbbbbbb key []".to_owned()),
        "{:?}",
        ran.lines(Stream::Info)
    );
}

#[test]
fn a_rejected_secret_is_never_repeated() {
    let r = key_recipe("#{}");
    // Matches nothing of the pattern: the error names the parameter, not the value.
    let bad = "not a key; it has spaces";
    let ran = run(&r, serde_json::json!({ "key": bad }));
    let e = ran.error();
    assert!(e.contains("parameter `key`"), "{e}");
    assert!(!e.contains(bad), "{e}");
    assert!(!e.contains("has spaces"), "{e}");
    // Too short to be masked safely.
    let ran = run(&r, serde_json::json!({ "key": "abc" }));
    assert!(
        ran.error().contains("at least 8 characters"),
        "{}",
        ran.error()
    );
    assert!(!ran.error().contains("abc"), "{}", ran.error());
}

#[test]
fn only_a_string_parameter_can_be_secret() {
    let src = r#"const RECIPE = #{ id: "p", title: "P", category: "runtime", version: 1, estimated_size_mb: 1,
  os: [#{ id: "debian", versions: ["12"] }], capabilities: #{},
  params: [#{ name: "port", type: "integer", secret: true, default_value: 1 }] };
fn detect() { #{ installed: false } }
fn install(params) { }"#;
    let e = Recipe::parse("p.rhai", src).unwrap_err().to_string();
    assert!(
        e.contains("only a `string` parameter can be `secret`"),
        "{e}"
    );
}

#[test]
fn detect_reports_the_backup_fields() {
    let src = r#"const RECIPE = #{ id: "b", title: "B", category: "backup", version: 1, estimated_size_mb: 1,
  os: [#{ id: "debian", versions: ["12"] }], capabilities: #{} };
fn detect() { #{ installed: true, schedule: "0 3 * * *", last_run_at: 1700000000, last_run_ok: true,
  last_restore_test_at: 1700000060, last_restore_test_ok: false, public_key: "ssh-ed25519 AAAA x" } }
fn configure(params) { }"#;
    let r = Recipe::parse("b.rhai", src).unwrap();
    let d = job::detect(&r, &JobOptions::default()).unwrap();
    assert!(d.installed);
    assert_eq!(d.schedule.as_deref(), Some("0 3 * * *"));
    assert_eq!(d.last_run_at, Some(1_700_000_000));
    assert_eq!(d.last_run_ok, Some(true));
    assert_eq!(d.last_restore_test_at, Some(1_700_000_060));
    assert_eq!(d.last_restore_test_ok, Some(false));
    assert_eq!(d.public_key.as_deref(), Some("ssh-ed25519 AAAA x"));
    // A runtime's detection leaves them out of its JSON.
    let plain = cairn_engine::Detection {
        installed: true,
        ..Default::default()
    };
    let json = serde_json::to_value(&plain).unwrap();
    assert!(
        json.get("schedule").is_none() && json.get("last_run_at").is_none(),
        "{json}"
    );
}
