//! Keeps `docs/recipes.md` honest: every example recipe it shows must pass `cairn-recipe check`,
//! and the worked example's plan must look the way the document says it does.
//!
//! The plan depends on this machine (planning asks dpkg what is installed), so the expectation is
//! computed from `dpkg-query` rather than assumed.

use std::path::PathBuf;
use std::process::Command;

use crate::common::{cairn as cairn_recipe, workspace};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn examples() -> Vec<PathBuf> {
    let dir = workspace().join("docs/examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("docs/examples exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rhai"))
        .collect();
    files.sort();
    files
}

/// Whether dpkg says memcached is installed (no dpkg at all counts as not installed, which is
/// also what the engine concludes).
fn memcached_installed() -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f", "${Status}", "memcached"])
        .output()
        .is_ok_and(|o| text(&o.stdout).trim_end().ends_with(" installed"))
}

const MEMCACHED: &str = "docs/examples/memcached.rhai";
const DEBIAN12: &str = "engine/tests/data/os-release-debian12";

#[test]
fn every_example_passes_check() {
    let files = examples();
    assert!(
        files.iter().any(|f| f.ends_with("memcached.rhai")),
        "the worked example is missing from docs/examples: {files:?}"
    );
    for file in &files {
        let shown = file.display().to_string();
        let out = cairn_recipe(&["check", &shown]);
        assert!(
            out.status.success(),
            "`cairn-recipe check {shown}` failed:\n{}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stdout).starts_with(&format!("{shown}: ok (")),
            "unexpected check output: {}",
            text(&out.stdout)
        );
    }
}

#[test]
fn check_reports_errors_as_file_line_col() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broken = dir.path().join("broken.rhai");
    let source = std::fs::read_to_string(workspace().join(MEMCACHED))
        .expect("example readable")
        .replace("let started = false;", "let started = ;");
    std::fs::write(&broken, source).expect("write broken copy");
    let shown = broken.display().to_string();

    let out = cairn_recipe(&["check", &shown]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let prefix = format!("{shown}:");
    let rest = stderr
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("error does not start with the file name: {stderr}"));
    let mut parts = rest.splitn(3, ':');
    let line: usize = parts.next().and_then(|l| l.parse().ok()).expect("a line");
    let col: usize = parts.next().and_then(|c| c.parse().ok()).expect("a column");
    assert!(line > 1 && col > 1, "{stderr}");
    assert!(
        parts.next().is_some_and(|m| !m.trim().is_empty()),
        "{stderr}"
    );
}

#[test]
fn memcached_plan_matches_what_dpkg_says() {
    let out = cairn_recipe(&["plan", MEMCACHED, "--os-release", DEBIAN12]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "plan failed:\n{}{}",
        stdout,
        text(&out.stderr)
    );
    let install = "install -- memcached";
    let install_line = stdout
        .lines()
        .find(|l| l.contains("run    apt-get ") && l.ends_with(install));
    if memcached_installed() {
        assert!(install_line.is_none(), "memcached is installed:\n{stdout}");
        assert!(
            stdout.starts_with("memcached would:\n")
                || stdout == "memcached: nothing to change on this machine\n",
            "{stdout}"
        );
    } else {
        assert!(
            stdout.starts_with("memcached would:\n"),
            "unexpected header:\n{stdout}"
        );
        let line = install_line
            .unwrap_or_else(|| panic!("no apt-get install of memcached planned:\n{stdout}"));
        // Numbered like the document shows: "  1. run    apt-get ...".
        let (number, _) = line.trim_start().split_once(". ").expect("a numbered line");
        assert!(number.parse::<usize>().is_ok(), "{line}");
        assert!(
            line.contains("--no-install-recommends"),
            "apt_install's options changed; update docs/recipes.md: {line}"
        );
        // The service is started after the install.
        let start = stdout.lines().position(|l| {
            l.ends_with("service memcached start") || l.ends_with("start -- memcached")
        });
        let apt = stdout.lines().position(|l| l == line);
        assert!(start > apt, "the start must follow the install:\n{stdout}");
    }
}

#[test]
fn memcached_plan_json_has_the_documented_shape() {
    let out = cairn_recipe(&["plan", MEMCACHED, "--os-release", DEBIAN12, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let actions: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("plan --json prints JSON");
    let actions = actions.as_array().expect("a list of actions");
    for a in actions {
        assert_eq!(a["action"], "run", "{a}");
        assert!(a["program"].is_string() && a["args"].is_array(), "{a}");
        assert_eq!(a["stdin"], false, "{a}");
    }
    let installs = actions.iter().any(|a| {
        a["program"] == "apt-get"
            && a["args"].as_array().and_then(|v| v.last()) == Some(&"memcached".into())
    });
    assert_eq!(installs, !memcached_installed(), "{actions:?}");
}

#[test]
fn plan_refuses_an_unsupported_system() {
    let out = cairn_recipe(&[
        "plan",
        MEMCACHED,
        "--os-release",
        "engine/tests/data/os-release-fedora40",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: planning {MEMCACHED}: Memcached supports debian 11/12"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("this server runs fedora 40"), "{stderr}");
}
