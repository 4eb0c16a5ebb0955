//! `recipes/docker.rhai` end to end on this machine (as root): Docker and Compose installed
//! through `cairn-recipe run` on a server without them, the daemon started without systemd, the
//! client talks to it (`docker version` shows a server), detect() agrees with `docker --version`,
//! a second run changes nothing. Plans for every supported system.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;

#[test]
fn docker_installs_starts_the_daemon_and_a_second_run_changes_nothing() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    if std::path::Path::new("/etc/init.d/docker").exists() {
        let _ = sh("service", &["docker", "stop"]);
    }
    let (first, _) = runtime_e2e(
        "docker",
        &[],
        &["docker-compose", "docker.io", "containerd", "runc", "tini"],
        &["/usr/bin/docker", "--version"],
    );
    let server = must(
        "/usr/bin/docker",
        &["version", "--format", "{{.Server.Version}}"],
    );
    assert!(
        server
            .trim()
            .starts_with(first.result["version"].as_str().unwrap()),
        "{server}"
    );
    assert_eq!(detect("docker")["running"], true);
    let compose = must("/usr/bin/docker-compose", &["version", "--short"]);
    assert!(
        compose.contains(first.result["compose"].as_str().unwrap()),
        "{compose}"
    );
}

#[test]
fn docker_plans_for_every_supported_system() {
    let _machine = common::machine_lock();
    plan_everywhere("docker", &[]);
}
