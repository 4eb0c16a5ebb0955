//! The chain end to end on this machine: `cairn-recipe run recipes/redis.rhai` with its default
//! parameters installs Redis from the distribution's packages, starts it (with or without
//! systemd), creates the user `app` and turns off access without a password; a second run
//! reports it is already there and changes nothing. Redis is purged first but the
//! administrator file of an earlier setup is kept, as on a server where Redis was reinstalled:
//! the recipe gives its password back to `cairn-admin`.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use crate::common::{machine_lock, result_of, sh, skip_unless_root};
use crate::recipe_redis::{ADMIN, admin, cli, stop_redis};

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
    stop_redis();
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
    // The administrator file an earlier setup left (written here as the recipe writes it).
    let kept = "kept-admin-password-0123456789ab";
    std::fs::create_dir_all("/etc/cairn/redis").unwrap();
    std::fs::write(ADMIN, format!("{kept}\n")).unwrap();
    std::fs::set_permissions(ADMIN, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();

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
        stdout.contains(
            "is running on 127.0.0.1:6379 with the ACL user app (keys starting with app:)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("Redis does not know the administrator password kept in"),
        "{stdout}"
    );
    assert_eq!(result_of(&stdout)["changed"], true, "{stdout}");
    assert!(cli(None, &["ping"]).starts_with("NOAUTH"));
    // The kept password is the administrator's again, and the file was not rewritten.
    assert_eq!(cli(Some(kept), &["--user", "cairn-admin", "ping"]), "PONG");
    assert_eq!(std::fs::read_to_string(ADMIN).unwrap(), format!("{kept}\n"));
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
        stdout.contains(
            "already has the ACL user app and refuses clients without a password; nothing changed"
        ),
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
    // Leave the machine's Redis without the test's user.
    assert_eq!(admin(&["ACL", "DELUSER", "app"]), "1");
    assert_eq!(admin(&["CONFIG", "REWRITE"]), "OK");
}
