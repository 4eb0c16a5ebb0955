//! `recipes/redis.rhai` with an ACL user, end to end on this machine (as root): a fresh install
//! through `cairn-recipe run --param user=…`, `redis-cli -u URL ping` works with the returned
//! connection string, the password is on no command line (sampled every 50 ms), not in Redis's
//! log and not in redis.conf in clear, the user survives a restart, a second run changes nothing.
//! (`redis.rs` covers the run without a user.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use std::path::Path;

fn ping(url: &str) -> (bool, String) {
    let (ok, out) = sh("redis-cli", &["--no-auth-warning", "-u", url, "ping"]);
    (ok && out.trim() == "PONG", out)
}

#[test]
fn redis_creates_an_acl_user_that_persists_and_keeps_its_password_secret() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    if Path::new("/usr/bin/redis-cli").exists() {
        let _ = sh("redis-cli", &["-h", "127.0.0.1", "shutdown", "nosave"]);
    }
    apt_get(&["purge", "-y", "redis-server", "redis-tools"]);
    assert!(!Path::new("/usr/bin/redis-server").exists());

    let sampler = CmdlineSampler::start();
    let first = run("redis", &["user=cairn_e2e"]);
    let (cmdlines, samples) = sampler.finish();
    eprintln!("{}", first.stdout);
    assert!(first.changed());
    assert!(first.stdout.contains("$ apt-get"), "{}", first.stdout);
    let url = first.result["connection_string"]
        .as_str()
        .unwrap()
        .to_owned();
    let pw = url
        .strip_prefix("redis://cairn_e2e:")
        .and_then(|r| r.strip_suffix("@127.0.0.1:6379"))
        .unwrap_or_else(|| panic!("unexpected connection string {url}"))
        .to_owned();
    assert_eq!(pw.len(), 24);
    assert!(samples > 5, "the sampler ran only {samples} times");
    for l in first.console() {
        assert!(!l.contains(&pw), "the password is on the console: {l}");
    }
    assert_secret_absent(&pw, &cmdlines, &["/var/log/redis", "/etc/redis/redis.conf"]);

    let (ok, out) = ping(&url);
    assert!(ok, "{out}");
    // A wrong password is refused.
    let (ok, _) = ping(&url.replace(&pw, "wrong-password-0123456789"));
    assert!(!ok);
    // The user may use keys, not administer the server.
    let (_, out) = sh(
        "redis-cli",
        &["--no-auth-warning", "-u", &url, "CONFIG", "GET", "port"],
    );
    assert!(out.contains("NOPERM"), "{out}");

    let d = assert_detected("redis", &version_output("redis-server", &["--version"]));
    assert_eq!(d["running"], true);

    // Persisted: the user is still there after a restart.
    must("service", &["redis-server", "restart"]);
    let mut up = false;
    for _ in 0..50 {
        if ping(&url).0 {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(up, "the ACL user did not survive a restart");

    let second = run("redis", &["user=cairn_e2e"]);
    assert_nothing_changed(&second);
    assert!(second.result.get("connection_string").is_none());
    assert!(ping(&url).0, "the second run changed the password");
}

#[test]
fn redis_plans_for_every_supported_system() {
    let _machine = common::machine_lock();
    plan_everywhere("redis", &[]);
    plan_everywhere("redis", &["user=app"]);
    let refused = plan(
        "redis",
        &["user=default"],
        &workspace().join("engine/tests/data/os-release-debian12"),
    )
    .unwrap_err();
    assert!(refused.contains("default"), "{refused}");
    let refused = plan(
        "redis",
        &["user=Bad-Name"],
        &workspace().join("engine/tests/data/os-release-debian12"),
    )
    .unwrap_err();
    assert!(refused.contains("user"), "{refused}");
}
