//! `recipes/go.rhai`: the distribution's Go end to end on this machine (as root), and the pinned
//! release branch in plans (the release server is not reachable from the test machine): the plan
//! fetches the tarball with its SHA-256, unpacks it under /opt/cairn/go and links it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;

#[test]
fn go_installs_from_the_distribution_and_a_second_run_changes_nothing() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    assert!(
        !std::path::Path::new("/usr/local/bin/go").exists(),
        "a Go in /usr/local/bin would shadow the distribution's"
    );
    let (first, _) = runtime_e2e(
        "go",
        &[],
        &[
            "golang-go",
            "golang-1.19-go",
            "golang-src",
            "golang-1.19-src",
        ],
        &["/usr/bin/go", "version"],
    );
    assert_eq!(first.result["source"], "distribution");
    // It compiles.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.go"),
        "package main\nfunc main() { println(\"hi\") }\n",
    )
    .unwrap();
    let out = std::process::Command::new("/usr/bin/go")
        .args(["run", "main.go"])
        .current_dir(dir.path())
        .env("GOCACHE", dir.path().join("cache"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn go_plans_the_distribution_or_a_pinned_release() {
    let _machine = common::machine_lock();
    for (label, plan) in plan_everywhere("go", &[]) {
        assert!(!plan.contains("fetch"), "{label}: {plan}");
    }
    let arch = std::env::consts::ARCH;
    let (goarch, sha) = match arch {
        "x86_64" => (
            "amd64",
            "fc5d49b7a5035f1f1b265c17aa86e9819e6dc9af8260ad61430ee7fbe27881bb",
        ),
        _ => (
            "arm64",
            "ed695684438facbd7e0f286c30b7bc2411cfc605516d8127dc25c62fe5b03885",
        ),
    };
    for (label, plan) in plan_everywhere("go", &["version=1.22.7"]) {
        let fetch = format!(
            "fetch  https://go.dev/dl/go1.22.7.linux-{goarch}.tar.gz -> /opt/cairn/go/1.22.7/go1.22.7.linux-{goarch}.tar.gz (sha256 {sha})"
        );
        assert!(plan.contains(&fetch), "{label}: {plan}");
        assert!(
            plan.contains(
                "run    tar -C /opt/cairn/go/1.22.7 --no-same-owner --no-same-permissions -xzf"
            ),
            "{plan}"
        );
        assert!(
            plan.contains("run    ln -sfn /opt/cairn/go/1.22.7/go/bin/go /usr/local/bin/go"),
            "{plan}"
        );
        assert!(!plan.contains("apt-get"), "{plan}");
    }
    let debian12 = workspace().join("engine/tests/data/os-release-debian12");
    let bad = plan("go", &["version=1.21.0"], &debian12).unwrap_err();
    assert!(bad.contains("version"), "{bad}");
}
