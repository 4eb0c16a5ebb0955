//! `--action NAME`: `cairn-recipe check` lists and checks a recipe's actions, `plan` and `run`
//! call the named action with its own parameters (the test recipe `tests/recipes/shelf.rhai`).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::workspace as root;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cairn-recipe"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `tests/recipes/shelf.rhai` with its shelf under `dir`, edited by `edit`.
fn shelf(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let source = std::fs::read_to_string(root().join("tests/recipes/shelf.rhai")).unwrap();
    let path = dir.join("shelf.rhai");
    std::fs::write(
        &path,
        edit(source.replace("@DIR@", &dir.display().to_string())),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("shelf")).unwrap();
    path
}

fn job(verb: &str, recipe: &Path, args: &[&str]) -> Output {
    bin()
        .arg(verb)
        .arg(recipe)
        .arg("--os-release")
        .arg(root().join("engine/tests/data/os-release-debian12"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn check_lists_the_actions_and_which_one_asks_for_a_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .arg("check")
        .arg(shelf(dir.path(), |s| s))
        .output()
        .unwrap();
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("  action add_box: Add a box\n"), "{all}");
    assert!(
        all.contains(
            "  action remove_box: Remove a box (destructive: the person types `box_name` again)"
        ),
        "{all}"
    );
}

#[test]
fn check_refuses_a_destructive_action_without_a_confirmation_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let bad = shelf(dir.path(), |s| s.replace("confirm: \"box_name\",", ""));
    let out = bin().arg("check").arg(&bad).output().unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("actions.remove_box is destructive and needs `confirm`"),
        "{all}"
    );
}

#[test]
fn check_refuses_an_action_without_its_function() {
    let dir = tempfile::tempdir().unwrap();
    let bad = shelf(dir.path(), |s| {
        s.replace("fn remove_box(params)", "fn remove(params)")
    });
    let out = bin().arg("check").arg(&bad).output().unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains(
            "actions.remove_box is declared but the recipe has no `fn remove_box(params)`"
        ),
        "{all}"
    );
}

#[test]
fn plan_of_an_action_names_what_it_removes_and_removes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let r = shelf(dir.path(), |s| s);
    let kept = dir.path().join("shelf/books");
    std::fs::write(&kept, "").unwrap();
    let out = job(
        "plan",
        &r,
        &["--action", "remove_box", "--param", "box_name=books"],
    );
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(
        all.contains(&format!("1. run    rm -f {}", kept.display())),
        "{all}"
    );
    assert!(kept.exists(), "a plan removed the box");
}

#[test]
fn run_of_an_action_does_its_work_with_its_own_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let r = shelf(dir.path(), |s| s);
    let out = job(
        "run",
        &r,
        &[
            "--action",
            "add_box",
            "--param",
            "box_name=toys",
            "--param",
            "lock_code=opensesame",
        ],
    );
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("Added the box toys"), "{all}");
    assert!(!all.contains("opensesame"), "the secret was printed: {all}");
    let box_file = dir.path().join("shelf/toys");
    assert_eq!(std::fs::read_to_string(&box_file).unwrap(), "opensesame");

    let out = job(
        "run",
        &r,
        &["--action", "remove_box", "--param", "box_name=toys"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(!box_file.exists(), "remove_box left the box");
}

#[test]
fn run_of_an_unknown_action_or_a_parameter_of_another_changes_nothing_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let r = shelf(dir.path(), |s| s);
    let out = job(
        "run",
        &r,
        &["--action", "paint", "--param", "box_name=toys"],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("Shelf has no action `paint` (its actions: add_box, remove_box)"),
        "{all}"
    );
    let out = job(
        "run",
        &r,
        &[
            "--action",
            "remove_box",
            "--param",
            "box_name=toys",
            "--param",
            "lock_code=x",
        ],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("parameter `lock_code`"), "{all}");
    assert_eq!(
        std::fs::read_dir(dir.path().join("shelf")).unwrap().count(),
        0
    );
}
