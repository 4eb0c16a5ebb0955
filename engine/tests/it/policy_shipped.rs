//! The shipped recipes against the argument policies (threats.md row 30): every program any recipe
//! in `recipes/` declares has a policy or is the recipe's own program, so a recipe change cannot
//! slip an unpoliced program through; and what the recipes do passes their policies (each one
//! planned with each of its choices, which checks every `run()` as a real run would).
#![allow(clippy::unwrap_used)]

use crate::util;

use std::path::PathBuf;

use cairn_engine::Outcome;
use cairn_engine::host::policy::{self, Kind};

fn shipped() -> Vec<PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../recipes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rhai"))
        .collect();
    files.sort();
    assert!(files.len() >= 11, "{files:?}");
    files
}

#[test]
fn every_program_a_shipped_recipe_declares_has_a_policy_or_is_its_own() {
    let mut problems = Vec::new();
    for file in shipped() {
        let recipe = match cairn_engine::Recipe::load(&file) {
            Ok(r) => r,
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        let caps = &recipe.meta.capabilities;
        for program in &caps.programs {
            match policy::classify(program, caps) {
                Ok(Kind::Policed(p)) => assert!(!p.power.is_empty()),
                Ok(Kind::Own) => assert!(
                    policy::describe(program, caps).contains("runs anything, as root"),
                    "{program}"
                ),
                Err(e) => problems.push(format!("{}: {program} {e}", file.display())),
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn what_the_shipped_recipes_run_passes_their_policies() {
    // The plans read apt's package lists (which source offers a version, what apt would
    // install): not while an apt test rewrites them with `apt-get update`.
    let _apt = crate::system_apt::PACKAGE_TESTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let plans: &[(&str, serde_json::Value)] = &[
        ("go", serde_json::json!({"version": "distribution"})),
        ("go", serde_json::json!({"version": "1.26.1"})),
        ("go", serde_json::json!({"version": "1.22.7"})),
        ("node", serde_json::json!({"major": "distribution"})),
        ("node", serde_json::json!({"major": "22"})),
        ("rust", serde_json::json!({"source": "distribution"})),
        ("rust", serde_json::json!({"source": "rustup"})),
        ("docker", serde_json::json!({})),
        ("python", serde_json::json!({})),
        ("ruby", serde_json::json!({})),
        (
            "rsync",
            serde_json::json!({"paths": "/etc/hostname", "target": "backup@127.0.0.1:/srv/backups"}),
        ),
        (
            "s3",
            serde_json::json!({"paths": "/etc/hostname", "bucket": "cairn-backups", "access_key_id": "AKIAEXAMPLEKEY", "secret_access_key": "example-secret-key"}),
        ),
    ];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../recipes");
    for (id, params) in plans {
        let recipe = cairn_engine::Recipe::load(&dir.join(format!("{id}.rhai"))).unwrap();
        let planned = util::plan(&recipe, params.clone());
        if let Outcome::Failed { error, .. } = &planned.outcome {
            panic!("{id} {params}: {error}");
        }
    }
}

#[test]
fn every_policed_program_is_in_the_documented_table() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/recipes.md"),
    )
    .unwrap();
    let start = doc.find("### Programs and their policies").unwrap();
    let end = start + doc[start..].find("**Adding a policy.**").unwrap();
    let table = &doc[start..end];
    let missing: Vec<&str> = policy::all()
        .flat_map(|p| p.names.iter().copied())
        .filter(|n| !table.contains(&format!("`{n}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "not in docs/recipes.md's table: {missing:?}"
    );
}
