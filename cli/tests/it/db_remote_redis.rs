//! `recipes/redis.rhai`'s `remote_access` action on this machine's real Redis (as root):
//! allowing an ACL user makes Redis listen on every address (saved in redis.conf) and lets the
//! user in with its password on the machine's own network address, with warnings that a
//! firewall must also allow port 6379 and that Redis cannot limit a user by address; allowing
//! again changes nothing; refusing the last user gives Redis back the bind it had (running and
//! in redis.conf) and the network address is refused; bad input changes nothing. Redis is left
//! running or stopped as found.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use crate::common;
use crate::db_remote_postgresql::own_address;
use crate::recipe_redis::{admin, cli};

use common::db::{Server, action_refused, run_action};
use common::*;

const USER: &str = "cairn_remote";
const STATE: &str = "/etc/cairn/redis/remote";

fn answers() -> bool {
    let said = cli(None, &["ping"]);
    said.contains("PONG") || said.contains("NOAUTH")
}

/// `redis-cli -h HOST --user USER PING` with the password in the environment.
fn ping_at(host: &str, pw: &str) -> String {
    let out = Command::new("redis-cli")
        .args(["--no-auth-warning", "-h", host, "--user", USER, "ping"])
        .env("REDISCLI_AUTH", pw)
        .output()
        .expect("redis-cli starts");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn bind_now() -> String {
    admin(&["CONFIG", "GET", "bind"])
        .lines()
        .nth(1)
        .unwrap_or_default()
        .to_owned()
}

fn bind_saved() -> String {
    std::fs::read_to_string("/etc/redis/redis.conf")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("bind "))
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn redis_remote_access_listens_on_every_address_for_an_allowed_user_and_gives_the_bind_back() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    if !dpkg_installed("redis-server") {
        run("redis", &["user=cairn_e2e", "prefix=e2e:"]);
    }
    let _server = Server::keep("redis-server", answers);
    if std::fs::read_to_string(STATE).is_ok_and(|s| s.contains(&format!("user {USER}\n"))) {
        run_action(
            "redis",
            "remote_access",
            &[&format!("user={USER}"), "allow=false"],
        );
    }
    if std::path::Path::new("/etc/cairn/redis/admin").exists() {
        admin(&["ACL", "DELUSER", USER]);
    }
    let setup = run("redis", &[&format!("user={USER}"), "prefix=rem:"]);
    let url = setup.result["connection_string"].as_str().unwrap();
    let pw = url.split(':').nth(2).unwrap().split('@').next().unwrap();
    let (bind_before, saved_before) = (bind_now(), bind_saved());
    assert_ne!(bind_before, "* -::*");
    let addr = own_address();

    let allowed = run_action(
        "redis",
        "remote_access",
        &[&format!("user={USER}"), "allow=true"],
    );
    assert!(allowed.changed(), "{}", allowed.stdout);
    for said in [
        "! A firewall must also allow TCP port 6379 from where cairn_remote connects",
        "! Redis cannot limit a user to some addresses",
        "Redis listens on every address (*:6379)",
    ] {
        assert!(allowed.stdout.contains(said), "{said}: {}", allowed.stdout);
    }
    assert_eq!(bind_now(), "* -::*");
    // Saved: CONFIG REWRITE leaves out a bind equal to Redis's default (every address).
    assert!(
        ["", "bind * -::*"].contains(&bind_saved().as_str()),
        "{}",
        bind_saved()
    );
    assert_eq!(ping_at(&addr, pw).trim(), "PONG");
    // Protected mode stays on, and a client without a password is still refused.
    assert_eq!(
        admin(&["CONFIG", "GET", "protected-mode"]),
        "protected-mode\nyes"
    );
    assert!(cli(None, &["-h", &addr, "ping"]).contains("NOAUTH"));

    let again = run_action(
        "redis",
        "remote_access",
        &[&format!("user={USER}"), "allow=true"],
    );
    assert!(!again.changed(), "{}", again.stdout);

    let refused = run_action(
        "redis",
        "remote_access",
        &[&format!("user={USER}"), "allow=false"],
    );
    assert!(refused.changed(), "{}", refused.stdout);
    assert_eq!(bind_now(), bind_before);
    assert_eq!(bind_saved(), saved_before);
    if addr != "127.0.0.1" {
        let said = ping_at(&addr, pw);
        assert!(said.contains("Connection refused"), "{said}");
    }
    assert_eq!(ping_at("127.0.0.1", pw).trim(), "PONG");
    assert!(!std::fs::read_to_string(STATE).unwrap().contains(USER));
    let twice = run_action(
        "redis",
        "remote_access",
        &[&format!("user={USER}"), "allow=false"],
    );
    assert!(!twice.changed(), "{}", twice.stdout);

    // Bad input: a sentence, and nothing changes.
    let said = action_refused("redis", "remote_access", &["user=default", "allow=true"]);
    assert!(said.contains("default is Redis's own"), "{said}");
    let said = action_refused(
        "redis",
        "remote_access",
        &["user=nobody_here", "allow=true"],
    );
    assert!(said.contains("There is no ACL user nobody_here"), "{said}");
    assert_eq!(bind_now(), bind_before);

    assert_eq!(admin(&["ACL", "DELUSER", USER]), "1");
    admin(&["CONFIG", "REWRITE"]);
}
