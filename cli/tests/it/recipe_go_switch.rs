//! `recipes/go.rhai` switching versions on this machine (as root, holding the machine lock):
//! the distribution's Go → Debian's backports' Go → the distribution's again → uninstalled, and
//! the machine put back as it was (golang-go reinstalled if it was there, Cairn's backports
//! source removed), whatever happens in between.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::*;

const SOURCE: &str = "/etc/apt/sources.list.d/cairn-backports.sources";
const PIN: &str = "/etc/apt/preferences.d/cairn-backports";

/// Installed packages, by name.
fn installed_packages() -> BTreeSet<String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${Package} ${db:Status-Status}\\n"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_suffix(" installed").map(str::to_owned))
        .collect()
}

fn go_version() -> String {
    let out = Command::new("/usr/bin/go").arg("version").output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn apt_get(args: &[&str]) -> bool {
    Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .is_ok_and(|s| s.success())
}

/// Puts the machine back on drop: Cairn's backports source gone (and the lists read again),
/// golang-go installed again if it was.
struct Restore {
    had_go: bool,
}

impl Drop for Restore {
    fn drop(&mut self) {
        let had_source = Path::new(SOURCE).exists();
        let _ = std::fs::remove_file(SOURCE);
        let _ = std::fs::remove_file(PIN);
        if had_source {
            apt_get(&["update", "-qq"]);
        }
        if self.had_go {
            apt_get(&["install", "-y", "--no-install-recommends", "golang-go"]);
        }
    }
}

fn run_action(action: &str, params: &[&str]) -> (bool, String) {
    let path = recipe("go").display().to_string();
    let mut args = vec!["run", &path, "--action", action];
    for p in params {
        args.push("--param");
        args.push(p);
    }
    let out = cairn(&args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn go_switches_to_backports_and_back_then_uninstalls_leaving_other_packages_alone() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    assert!(
        !Path::new(SOURCE).exists(),
        "{SOURCE} is already there: another run did not clean up"
    );
    let start = installed_packages();
    let _restore = Restore {
        had_go: start.contains("golang-go"),
    };

    let dist = run("go", &["version=distribution"]);
    assert_eq!(dist.result["source"], "distribution", "{}", dist.stdout);
    assert!(go_version().contains("go1.19"), "{}", go_version());

    // To backports: a newer Go, from a source derived from the system's own.
    let bp = run("go", &["version=backports"]);
    eprintln!("{}", bp.stdout);
    assert!(bp.changed(), "{}", bp.stdout);
    let v = go_version();
    assert!(
        v.starts_with("go version go1.2") && !v.contains("go1.19"),
        "{v}"
    );
    let source = std::fs::read_to_string(SOURCE).unwrap();
    assert!(source.contains("Suites: bookworm-backports\n"), "{source}");
    let system = std::fs::read_to_string("/etc/apt/sources.list.d/debian.sources")
        .or_else(|_| std::fs::read_to_string("/etc/apt/sources.list"))
        .unwrap();
    let uri = source
        .lines()
        .find_map(|l| l.strip_prefix("URIs: "))
        .unwrap();
    assert!(system.contains(uri), "{uri} is not the system's own source");
    assert!(
        std::fs::read_to_string(PIN)
            .unwrap()
            .contains("Pin: release n=bookworm-backports\nPin-Priority: 100\n")
    );
    assert_eq!(
        detect("go")["version"].as_str(),
        v.split_whitespace()
            .nth(2)
            .and_then(|g| g.strip_prefix("go"))
    );
    // Nothing else would come from backports.
    let sim = Command::new("apt-get")
        .args(["-s", "upgrade"])
        .output()
        .unwrap();
    let sim = String::from_utf8_lossy(&sim.stdout);
    assert!(
        !sim.lines()
            .any(|l| l.starts_with("Inst") && l.contains("backports")),
        "{sim}"
    );
    let again = run("go", &["version=backports"]);
    assert_nothing_changed(&again);

    // Back to the distribution's: what only the backports' Go needed goes.
    let back = run("go", &["version=distribution"]);
    eprintln!("{}", back.stdout);
    assert!(back.changed(), "{}", back.stdout);
    assert!(go_version().contains("go1.19"), "{}", go_version());
    let now = installed_packages();
    let leftovers: Vec<&String> = now.iter().filter(|p| p.starts_with("golang-1.2")).collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");

    // Uninstall: Go and what only it needed go, nothing else.
    let (ok, out) = run_action("uninstall", &["runtime=go"]);
    assert!(ok, "{out}");
    assert!(!Path::new("/usr/bin/go").exists(), "{out}");
    let after = installed_packages();
    for p in [
        "golang-go",
        "golang-src",
        "golang-1.19-go",
        "golang-1.19-src",
    ] {
        assert!(!after.contains(p), "{p} is still installed:\n{out}");
    }
    let lost: Vec<&String> = start
        .iter()
        .filter(|p| !after.contains(*p) && !p.starts_with("golang-"))
        .collect();
    assert!(lost.is_empty(), "unrelated packages were removed: {lost:?}");
    assert!(out.contains("Go is removed ("), "{out}");

    // Nothing left to remove: nothing runs, and it says so.
    let (ok, out) = run_action("uninstall", &["runtime=go"]);
    assert!(ok, "{out}");
    assert!(!out.contains("\n$ "), "{out}");
    assert!(
        out.contains("Go was not installed by this recipe; nothing changed"),
        "{out}"
    );
}
