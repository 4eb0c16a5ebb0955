//! `recipes/redis.rhai` end to end on this machine (as root): a fresh install through
//! `cairn-recipe run --param user=… --param prefix=…` turns off access without a password
//! (`redis-cli ping` answers NOAUTH, `default` is off), keeps Cairn's administrator password in a
//! root-only file that no command line, console or log shows, gives the application user its key
//! prefix and nothing more, and all of it survives a restart; a second run changes nothing; a
//! locked Redis without the administrator file is refused with what to do. (`redis.rs` covers
//! the run with the default parameters on a reinstalled Redis.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::backup::{mode, run_fails};
use common::*;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

pub(crate) const ADMIN: &str = "/etc/cairn/redis/admin";

/// `redis-cli ARGS` with the password `auth` in REDISCLI_AUTH (never on the command line): its
/// stdout and stderr, trimmed.
pub(crate) fn cli(auth: Option<&str>, args: &[&str]) -> String {
    let mut c = Command::new("redis-cli");
    c.args(["--no-auth-warning", "-h", "127.0.0.1"]).args(args);
    if let Some(pw) = auth {
        c.env("REDISCLI_AUTH", pw);
    }
    let out = c.output().expect("redis-cli starts");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    text.trim().to_owned()
}

/// As Cairn's administrator, with the password the recipe keeps in [`ADMIN`].
pub(crate) fn admin(args: &[&str]) -> String {
    let pw = std::fs::read_to_string(ADMIN).expect("the administrator file");
    let mut all = vec!["--user", "cairn-admin"];
    all.extend_from_slice(args);
    cli(Some(pw.trim()), &all)
}

/// Stops Redis without asking it (an unauthenticated SHUTDOWN is refused once Cairn manages it).
pub(crate) fn stop_redis() {
    if Path::new("/etc/init.d/redis-server").exists() {
        let _ = sh("service", &["redis-server", "stop"]);
    }
    let _ = sh("pkill", &["-x", "redis-server"]);
}

/// Waits until Redis answers (PONG or NOAUTH) after a restart.
fn wait_answers() {
    for _ in 0..100 {
        let said = cli(None, &["ping"]);
        if said.contains("PONG") || said.contains("NOAUTH") {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("Redis did not come back after a restart");
}

fn user_url(url: &str, user: &str) -> String {
    url.strip_prefix(&format!("redis://{user}:"))
        .and_then(|r| r.strip_suffix("@127.0.0.1:6379"))
        .unwrap_or_else(|| panic!("unexpected connection string {url}"))
        .to_owned()
}

#[test]
fn redis_refuses_clients_without_a_password_and_keeps_its_admin_password_root_only() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    stop_redis();
    apt_get(&["purge", "-y", "redis-server", "redis-tools"]);
    let _ = std::fs::remove_dir_all("/etc/cairn/redis");
    assert!(!Path::new("/usr/bin/redis-server").exists());

    let sampler = CmdlineSampler::start();
    let first = run("redis", &["user=cairn_e2e", "prefix=e2e:"]);
    let (cmdlines, samples) = sampler.finish();
    eprintln!("{}", first.stdout);
    assert!(first.changed());
    assert!(first.stdout.contains("$ apt-get"), "{}", first.stdout);
    // It says what it will do before doing it.
    let said = first
        .stdout
        .find("Unauthenticated access to Redis will be turned off")
        .expect("the lockdown is announced");
    let done = first.stdout.find("Turned off the default user").unwrap();
    assert!(said < done, "{}", first.stdout);

    let url = first.result["connection_string"]
        .as_str()
        .unwrap()
        .to_owned();
    let pw = user_url(&url, "cairn_e2e");
    assert_eq!(pw.len(), 24);
    let admin_pw = std::fs::read_to_string(ADMIN).unwrap().trim().to_owned();
    assert_eq!(admin_pw.len(), 32);
    assert!(samples > 5, "the sampler ran only {samples} times");
    for l in first.console() {
        assert!(!l.contains(&pw), "the password is on the console: {l}");
        assert!(
            !l.contains(&admin_pw),
            "the admin password is on the console: {l}"
        );
    }
    assert!(!first.stdout.contains(&admin_pw) && !first.stderr.contains(&admin_pw));
    for secret in [&pw, &admin_pw] {
        assert_secret_absent(
            secret,
            &cmdlines,
            &["/var/log/redis", "/etc/redis/redis.conf"],
        );
    }
    // The administrator's password is root's alone.
    assert_eq!(mode(ADMIN), 0o600);
    assert_eq!(mode("/etc/cairn/redis"), 0o700);
    assert_eq!(std::fs::metadata(ADMIN).unwrap().uid(), 0);

    // Nobody gets in without a password: `default` is off and has no password.
    assert!(
        cli(None, &["ping"]).starts_with("NOAUTH"),
        "{}",
        cli(None, &["ping"])
    );
    assert!(cli(None, &["GET", "e2e:x"]).starts_with("NOAUTH"));
    let acl = admin(&["ACL", "LIST"]);
    let default = acl
        .lines()
        .find(|l| l.starts_with("user default "))
        .unwrap();
    assert!(default.starts_with("user default off "), "{acl}");
    assert!(!default.contains("nopass"), "{acl}");

    // The user works within its prefix only, and cannot administer or wipe the server.
    let user = |args: &[&str]| {
        let mut all = vec!["--user", "cairn_e2e"];
        all.extend_from_slice(args);
        cli(Some(&pw), &all)
    };
    assert_eq!(user(&["ping"]), "PONG");
    assert_eq!(user(&["SET", "e2e:k", "v"]), "OK");
    assert_eq!(user(&["GET", "e2e:k"]), "v");
    for refused in [
        &["SET", "other:k", "v"][..],
        &["GET", "other:k"],
        &["FLUSHALL"],
        &["KEYS", "*"],
        &["CONFIG", "GET", "port"],
        &["ACL", "LIST"],
    ] {
        let said = user(refused);
        assert!(said.contains("NOPERM"), "{refused:?}: {said}");
    }
    assert!(
        !cli(
            Some("wrong-password-0123456789"),
            &["--user", "cairn_e2e", "ping"]
        )
        .contains("PONG")
    );

    // The detector still sees Redis running, without a password.
    let d = assert_detected("redis", &version_output("redis-server", &["--version"]));
    assert_eq!(d["running"], true);

    // Persisted: after a restart Redis still refuses strangers and knows both users.
    must("service", &["redis-server", "restart"]);
    wait_answers();
    assert!(cli(None, &["ping"]).starts_with("NOAUTH"));
    assert_eq!(user(&["GET", "e2e:k"]), "v");
    assert_eq!(admin(&["ping"]), "PONG");

    let second = run("redis", &["user=cairn_e2e", "prefix=e2e:"]);
    assert_nothing_changed(&second);
    assert!(second.result.get("connection_string").is_none());
    assert!(
        !second.stdout.contains("will be turned off"),
        "{}",
        second.stdout
    );
    assert_eq!(
        user(&["ping"]),
        "PONG",
        "the second run changed the password"
    );

    // A Redis that refuses strangers, on a server without the administrator file: refused, with
    // what to do, and nothing changed.
    std::fs::rename(ADMIN, "/etc/cairn/redis/admin.moved").unwrap();
    let (console, stderr) = run_fails("redis", &["user=other", "prefix=o:"]);
    std::fs::rename("/etc/cairn/redis/admin.moved", ADMIN).unwrap();
    let both = format!("{console}{stderr}");
    assert!(
        both.contains("already refuses clients without a password") && both.contains(ADMIN),
        "{both}"
    );
    assert!(!admin(&["ACL", "LIST"]).contains("user other "));
    assert_eq!(admin(&["DEL", "e2e:k"]), "1");
}

#[test]
fn redis_plans_for_every_supported_system() {
    let _machine = common::machine_lock();
    plan_everywhere("redis", &[]);
    plan_everywhere("redis", &["user=app", "prefix=app:"]);
    let debian12 = workspace().join("engine/tests/data/os-release-debian12");
    let refused = plan("redis", &["user=default"], &debian12).unwrap_err();
    assert!(refused.contains("default"), "{refused}");
    let refused = plan("redis", &["user=Bad-Name"], &debian12).unwrap_err();
    assert!(refused.contains("user"), "{refused}");
    // A prefix goes into the ACL key pattern `~PREFIX*`: no glob of its own, no blank.
    for bad in ["a*", "a b", "", "x?y"] {
        let refused =
            plan("redis", &["user=app", &format!("prefix={bad}")], &debian12).unwrap_err();
        assert!(refused.contains("prefix"), "{bad}: {refused}");
    }
}
