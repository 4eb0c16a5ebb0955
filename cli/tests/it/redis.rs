//! The chain end to end on this machine: `cairn-recipe run recipes/redis.rhai` installs Redis
//! from the distribution's packages and starts it (with or without systemd); a second run
//! reports it is already there and changes nothing.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use crate::common::{machine_lock, result_of, sh, skip_unless_root};

#[test]
fn redis_installs_starts_and_a_second_run_changes_nothing() {
    if skip_unless_root() {
        return;
    }
    // It installs and purges Redis: not while another test changes this machine's packages.
    let _machine = machine_lock();
    let recipe = Path::new(env!("CARGO_MANIFEST_DIR")).join("../recipes/redis.rhai");
    // Start from a server without Redis, so the first run really installs it. Packages do not
    // stop services here (policy-rc.d), so stop it first.
    if Path::new("/usr/bin/redis-cli").exists() {
        let _ = sh("redis-cli", &["-h", "127.0.0.1", "shutdown", "nosave"]);
    }
    let (purged, log) = sh(
        "apt-get",
        &[
            "-o",
            "DPkg::Lock::Timeout=600",
            "purge",
            "-y",
            "redis-server",
            "redis-tools",
        ],
    );
    assert!(purged, "{log}");
    assert!(!Path::new("/usr/bin/redis-server").exists());

    let first = Command::new(env!("CARGO_BIN_EXE_cairn-recipe"))
        .arg("run")
        .arg(&recipe)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(stdout.contains("$ apt-get"), "{stdout}");
    assert!(
        stdout.contains("is installed and running on 127.0.0.1:6379"),
        "{stdout}"
    );
    assert_eq!(
        sh("redis-cli", &["-h", "127.0.0.1", "ping"]).1.trim(),
        "PONG"
    );
    let conf = std::fs::metadata("/etc/redis/redis.conf")
        .unwrap()
        .modified()
        .unwrap();

    let second = Command::new(env!("CARGO_BIN_EXE_cairn-recipe"))
        .arg("run")
        .arg(&recipe)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(second.status.success(), "{stdout}");
    assert!(
        stdout.contains("was already installed and running; nothing changed"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("\n$ "),
        "the second run started a command: {stdout}"
    );
    assert_eq!(result_of(&stdout)["changed"], false, "{stdout}");
    assert_eq!(
        std::fs::metadata("/etc/redis/redis.conf")
            .unwrap()
            .modified()
            .unwrap(),
        conf
    );

    let detect = Command::new(env!("CARGO_BIN_EXE_cairn-recipe"))
        .arg("detect")
        .arg(&recipe)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&detect.stdout).unwrap();
    assert_eq!(v["redis"]["installed"], true);
    assert_eq!(v["redis"]["running"], true);
    let version = sh("redis-server", &["--version"]).1;
    assert!(
        version.contains(&format!("v={}", v["redis"]["version"].as_str().unwrap())),
        "{version}"
    );
}
