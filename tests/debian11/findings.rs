//! The four findings of `cairn-recipe test` (`cli/src/test/verdict.rs`), held here for every
//! recipe of the suite without installing any recipe a second time: the install succeeds,
//! `detect()` agrees with it, a second run changes nothing, and the plan made before the
//! install named every side effect it made (the plan-truthfulness class, threats.md row 40).
//!
//! Each `cairn-recipe run` of the suite writes its record (`--record`, [`RECORD`]): the
//! engine's own account of every command started through a side-effecting host call, file
//! written and download kept (`cairn_engine::Done`), held to the plan with the same
//! comparison `cairn-recipe test` makes (`Done::against`). "Changes nothing" is the same
//! account, empty, not only a console without `$` lines (a file written is a change too).

use cairn_e2e::debian11::Debian11;
use cairn_engine::{Done, PlannedAction};
use serde_json::Value;

use super::{Case, recipe_cmd};

/// Where every run of the suite records what it did (inside; the last run's).
pub(crate) const RECORD: &str = "/root/cairn-run.json";

/// `cairn-recipe plan --json` inside, with the case's parameters (read only).
pub(crate) fn plan(deb: &Debian11, case: &Case) -> Vec<PlannedAction> {
    let plan = deb.bash(None, &recipe_cmd("plan", case, "--json"));
    assert!(plan.ok, "plan {}: {}", case.recipe, plan.text());
    serde_json::from_str(&plan.stdout).unwrap_or_else(|e| {
        panic!(
            "plan {} printed no list ({e}): {}",
            case.recipe, plan.stdout
        )
    })
}

/// `cairn-recipe detect` inside: the recipe's own entry.
pub(crate) fn detect(deb: &Debian11, recipe: &str) -> Value {
    let det = deb.bash(
        None,
        &format!("cairn-recipe detect /root/recipes/{recipe}.rhai"),
    );
    assert!(det.ok, "detect: {}", det.text());
    let v: Value = serde_json::from_str(&det.stdout).expect("detect JSON");
    v[recipe].clone()
}

/// What the last run did, from its record.
pub(crate) fn last_done(deb: &Debian11) -> Done {
    let text = std::fs::read(deb.path(RECORD)).expect("the run's record");
    let record: Value = serde_json::from_slice(&text).expect("the record is JSON");
    serde_json::from_value(record["done"].clone()).expect("the record's side effects")
}

/// `detect()` before the install said not installed; after it, installed with a version, the
/// version the install's result names when it names one (`versioned`: false for a recipe
/// whose detect() names no version, rsync's backups).
pub(crate) fn assert_detect_agrees(
    recipe: &str,
    before: &Value,
    after: &Value,
    result: &Value,
    versioned: bool,
) {
    assert_eq!(
        before["installed"], false,
        "{recipe}: detect() said installed before the install: {before}"
    );
    assert_eq!(
        after["installed"], true,
        "{recipe}: detect() does not say installed after a successful install: {after}"
    );
    if !versioned {
        return;
    }
    let version = after["version"]
        .as_str()
        .unwrap_or_else(|| panic!("{recipe}: detect() gives no version after the install"));
    if let Some(said) = result["version"].as_str() {
        assert_eq!(
            version, said,
            "{recipe}: detect() says version {version}, the install's result says {said}"
        );
    }
}

/// Every side effect of the install was named by the plan made before it.
pub(crate) fn assert_plan_named_everything(recipe: &str, plan: &[PlannedAction], done: &Done) {
    assert!(
        !done.actions.is_empty(),
        "{recipe}: the install's record holds no side effect"
    );
    let coverage = done.against(plan);
    let unplanned: Vec<String> = coverage
        .unplanned
        .iter()
        .map(|a| format!("{} (step {} \"{}\")", a.action, a.step, a.step_title))
        .collect();
    assert!(
        unplanned.is_empty() && done.left_out == 0,
        "{recipe}: the install did what its plan never named (a plan must show what will run):\n  \
         {}\n{} more past the record's limit; the plan was:\n  {}",
        unplanned.join("\n  "),
        done.left_out,
        plan.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n  ")
    );
    eprintln!(
        "{recipe}: the plan named every side effect of the install ({} made, {} planned)",
        done.actions.len(),
        plan.len()
    );
}

/// The second run made no side effect and says it changed nothing.
pub(crate) fn assert_changed_nothing(recipe: &str, done: &Done, result: &Value) {
    let made: Vec<String> = done.actions.iter().map(|a| a.action.to_string()).collect();
    assert!(
        done.is_empty(),
        "{recipe}: the second run changed something (a recipe must leave a server as one run \
         did):\n  {}",
        made.join("\n  ")
    );
    assert_eq!(result["changed"], false, "{recipe}: {result}");
}
