//! `apt::remove` (the `apt_remove()` helper) against the real dpkg/apt of the machine, with
//! packages no other test uses: `toilet` (which pulls `toilet-fonts` and `libcaca0`, installed as
//! dependencies) and `tree` (made an orphan before the removal, which must survive it). Needs
//! root (skipped, saying so, without it); hold the machine lock (`flock -o
//! /tmp/cairn-system.lock`) when running it on a shared machine.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::process::Command;
use std::sync::{MutexGuard, PoisonError};

use cairn_engine::summary::{Change, PackageAction};
use cairn_engine::system::apt;
use cairn_engine::{HostError, Stream};
use common::RealExec;

const TOILET: [&str; 3] = ["toilet", "toilet-fonts", "libcaca0"];

/// Shares the apt tests' lock: one test's apt-get would otherwise find dpkg locked by another's.
fn root_test(test: &str) -> Option<MutexGuard<'static, ()>> {
    if !common::is_root() {
        eprintln!("skipping {test}: it installs and removes packages and needs root");
        return None;
    }
    let guard = crate::system_apt::PACKAGE_TESTS
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    common::ensure_apt_lists();
    Some(guard)
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn apt_get(args: &[&str]) {
    let out = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "apt-get {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn installed(name: &str) -> bool {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${Status}", name])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).ends_with(" installed")
}

/// toilet installed by hand (its two dependencies marked automatic by apt), and tree installed
/// then marked automatic: an orphan that was there before any removal.
fn set_up() {
    apt_get(&["purge", "-y", "toilet", "toilet-fonts", "libcaca0", "tree"]);
    apt_get(&["install", "-y", "--no-install-recommends", "toilet", "tree"]);
    let out = Command::new("apt-mark")
        .args(["auto", "tree"])
        .output()
        .unwrap();
    assert!(out.status.success());
    for p in TOILET.iter().chain(&["tree"]) {
        assert!(installed(p), "{p} is not installed after the set-up");
    }
}

fn clean_up() {
    apt_get(&["purge", "-y", "toilet", "toilet-fonts", "libcaca0", "tree"]);
}

#[test]
fn removing_a_package_takes_the_dependencies_only_it_needed_and_leaves_older_orphans() {
    let Some(_g) = root_test("removing_a_package_takes_the_dependencies_only_it_needed") else {
        return;
    };
    set_up();

    // Planned first: it names what goes and changes nothing.
    let plan = RealExec::plan();
    let report = apt::remove(&plan, &strings(&["toilet"])).unwrap();
    assert_eq!(report.removed, strings(&["toilet"]));
    let mut orphans = report.orphans.clone();
    orphans.sort();
    assert_eq!(orphans, strings(&["libcaca0", "toilet-fonts"]));
    let notes = plan.notes.lock().unwrap().clone();
    let mut going: Vec<String> = notes
        .iter()
        .filter_map(|c| match c {
            Change::Package(p) if p.action == PackageAction::Remove => Some(p.name.clone()),
            _ => None,
        })
        .collect();
    going.sort();
    assert_eq!(going, strings(&["libcaca0", "toilet", "toilet-fonts"]));
    let planned = format!("{:?}", plan.planned.lock().unwrap());
    assert!(planned.contains("\"remove\""), "{planned}");
    assert!(!planned.contains("\"tree\""), "{planned}");
    for p in TOILET {
        assert!(installed(p), "planning removed {p}");
    }
    // Purging (`apt_remove(…, #{ purge: true })`) takes the same set, with `purge`.
    let plan = RealExec::plan();
    let purged = apt::purge(&plan, &strings(&["toilet"])).unwrap();
    assert_eq!(purged, report);
    let planned = format!("{:?}", plan.planned.lock().unwrap());
    assert!(
        planned.contains("\"purge\"") && !planned.contains("\"remove\""),
        "{planned}"
    );
    for p in TOILET {
        assert!(installed(p), "planning a purge removed {p}");
    }

    let exec = RealExec::new();
    let report = apt::remove(&exec, &strings(&["toilet"])).unwrap();
    assert!(report.changed());
    for p in TOILET {
        assert!(!installed(p), "{p} is still installed");
    }
    assert!(
        installed("tree"),
        "an orphan from before the removal was removed"
    );
    let info = exec.lines_of(Stream::Info);
    assert!(
        info.iter().any(|l| l.starts_with("Removed toilet ")),
        "{info:?}"
    );
    let removes = exec.ran_program("apt-get");
    assert_eq!(removes.len(), 1, "{removes:?}");
    assert!(
        !removes[0]
            .args
            .iter()
            .any(|a| a == "--autoremove" || a == "tree"),
        "{:?}",
        removes[0].args
    );

    // Again: nothing is installed, nothing runs, and it says so.
    let again = RealExec::new();
    let report = apt::remove(&again, &strings(&["toilet"])).unwrap();
    assert!(!report.changed());
    assert_eq!(report.not_installed, strings(&["toilet"]));
    assert!(again.ran.lock().unwrap().is_empty());
    assert!(
        again
            .lines_of(Stream::Info)
            .contains(&"Not installed: toilet; nothing to remove".to_owned())
    );
    clean_up();
}

#[test]
fn removing_a_library_an_installed_program_needs_is_refused_and_removes_nothing() {
    let Some(_g) = root_test("removing_a_library_an_installed_program_needs_is_refused") else {
        return;
    };
    set_up();
    for plan in [true, false] {
        let exec = if plan {
            RealExec::plan()
        } else {
            RealExec::new()
        };
        let err = apt::remove(&exec, &strings(&["libcaca0"])).unwrap_err();
        let HostError::Invalid(msg) = &err else {
            panic!("expected a sentence, got {err:?}");
        };
        assert_eq!(
            msg,
            "Removing libcaca0 would also remove toilet, which depends on it; nothing was removed. Remove it first, or keep libcaca0."
        );
        assert!(exec.ran.lock().unwrap().is_empty());
        assert!(exec.planned.lock().unwrap().is_empty());
    }
    for p in TOILET.iter().chain(&["tree"]) {
        assert!(installed(p), "{p} was removed by a refused removal");
    }
    clean_up();
}

#[test]
fn a_version_or_an_invalid_name_is_refused_before_anything_runs() {
    let exec = RealExec::new();
    for bad in ["toilet=0.3-1.4", "-oAPT::Get::Remove=1", "Toilet"] {
        let err = apt::remove(&exec, &strings(&[bad])).unwrap_err();
        assert!(matches!(err, HostError::Invalid(_)), "{bad}: {err:?}");
    }
    assert!(apt::remove(&exec, &[]).is_err());
    assert!(exec.ran.lock().unwrap().is_empty());
    assert!(exec.queries.lock().unwrap().is_empty());
}

#[test]
fn apt_remove_takes_purge_as_its_one_option_and_refuses_others_before_anything_runs() {
    for (opts, why) in [
        (r#"#{ purge: "yes" }"#, "`purge` must be true or false"),
        (r#"#{ autoremove: true }"#, "unknown option `autoremove`"),
    ] {
        let r = crate::util::recipe(
            r#"["apt-get"]"#,
            "[]",
            &format!(r#"apt_remove(["toilet"], {opts});"#),
        );
        let ran = crate::util::plan(&r, serde_json::json!({}));
        let e = ran.error();
        assert!(e.contains(why), "{opts}: {e}");
        assert!(ran.plan.is_empty(), "{opts}: {:?}", ran.plan);
    }
}
