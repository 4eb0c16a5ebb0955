//! `recipes/redis.rhai`'s `uninstall` action on this machine's real Redis (as root): its plan
//! names what stays (or each path that goes) and changes nothing; without `delete_data` the
//! package goes and /var/lib/redis, /etc/redis and Cairn's administrator password stay, and a
//! later setup reinstalls Redis and finds its data and ACL users again; with `delete_data` all
//! three are deleted too; on a server without Redis it is refused and nothing runs. Redis is
//! left as found: installed and set up, running or stopped; or not installed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use crate::common;
use crate::recipe_redis::{ADMIN, admin, cli, stop_redis};

use common::db::{action_refused, run_action};
use common::*;

const SETUP: &[&str] = &["user=cairn_un", "prefix=un:"];

fn answers() -> bool {
    let said = cli(None, &["ping"]);
    said.contains("PONG") || said.contains("NOAUTH")
}

/// `cairn-recipe plan recipes/redis.rhai --action uninstall --param …`: its stdout.
pub(crate) fn plan_action(name: &str, action: &str, params: &[&str]) -> String {
    let path = recipe(name).display().to_string();
    let mut args = vec!["plan", &path, "--action", action];
    for p in params {
        args.extend(["--param", p]);
    }
    let out = cairn(&args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn redis_uninstall_keeps_its_data_for_the_next_setup_unless_asked_to_delete_it() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    let was_installed = dpkg_installed("redis-server");
    let was_running = was_installed && answers();

    // Set up, with a key saved to disk (SAVE writes /var/lib/redis/dump.rdb).
    run("redis", SETUP);
    assert_eq!(admin(&["SET", "un:kept", "still here"]), "OK");
    assert_eq!(admin(&["SAVE"]), "OK");

    // The plan says what stays and changes nothing.
    let plan = plan_action("redis", "uninstall", &["server=redis"]);
    assert!(
        plan.contains("apt-get") && plan.contains("remove -- redis-server"),
        "{plan}"
    );
    assert!(
        plan.contains("warning: Redis's data in /var/lib/redis, its configuration with the ACL users in /etc/redis and Cairn's administrator password in /etc/cairn/redis stay"),
        "{plan}"
    );
    assert!(!plan.contains("rm -rf"), "{plan}");
    let plan = plan_action("redis", "uninstall", &["server=redis", "delete_data=true"]);
    for path in ["/var/lib/redis", "/etc/redis", "/etc/cairn/redis"] {
        assert!(plan.contains(&format!("rm -rf -- {path}")), "{plan}");
        assert!(
            plan.contains(&format!("warning: {path} will be deleted for good")),
            "{plan}"
        );
    }
    assert!(
        dpkg_installed("redis-server") && answers(),
        "a plan changed the server"
    );
    assert_eq!(admin(&["GET", "un:kept"]), "still here");

    // Uninstall: the package goes, the data, configuration and Cairn's password stay.
    let done = run_action("redis", "uninstall", &["server=redis"]);
    let msg = done.result["message"].as_str().unwrap();
    assert!(msg.starts_with("Redis is removed (redis-server"), "{msg}");
    assert!(
        msg.contains("its data stays in /var/lib/redis, its configuration in /etc/redis"),
        "{msg}"
    );
    assert!(!dpkg_installed("redis-server"));
    // redis-cli went too (redis-tools, an orphan): ask the process table.
    assert!(
        !sh("pgrep", &["-x", "redis-server"]).0,
        "Redis still runs after its uninstall"
    );
    for kept in ["/var/lib/redis/dump.rdb", "/etc/redis/redis.conf", ADMIN] {
        assert!(Path::new(kept).exists(), "{kept} was not kept");
    }

    // Nothing to uninstall now: refused, nothing runs.
    let said = action_refused("redis", "uninstall", &["server=redis"]);
    assert!(
        said.contains("Redis is not installed on this server; there is nothing to uninstall"),
        "{said}"
    );

    // Set up again: reinstalled, it finds its key, its ACL user and Cairn's administrator.
    let again = run("redis", SETUP);
    assert!(
        again.result.get("connection_string").is_none(),
        "{}",
        again.stdout
    );
    assert!(
        again.result["message"]
            .as_str()
            .unwrap()
            .contains("the ACL user cairn_un already existed and keeps its password"),
        "{}",
        again.stdout
    );
    assert_eq!(admin(&["GET", "un:kept"]), "still here");

    // Uninstall deleting the data: all three paths go.
    let done = run_action("redis", "uninstall", &["server=redis", "delete_data=true"]);
    let msg = done.result["message"].as_str().unwrap();
    assert!(
        msg.contains(
            "its data and configuration are deleted (/var/lib/redis, /etc/redis, /etc/cairn/redis)"
        ),
        "{msg}"
    );
    assert!(!dpkg_installed("redis-server"));
    for gone in ["/var/lib/redis", "/etc/redis", "/etc/cairn/redis"] {
        assert!(!Path::new(gone).exists(), "{gone} is still there");
    }

    // A fresh setup after the deletion works (a new administrator password, no old key).
    let fresh = run("redis", SETUP);
    assert!(
        fresh.result["connection_string"].is_string(),
        "{}",
        fresh.stdout
    );
    assert_eq!(admin(&["GET", "un:kept"]), "");

    // As found.
    if was_installed {
        admin(&["ACL", "DELUSER", "cairn_un"]);
        admin(&["CONFIG", "REWRITE"]);
        if !was_running {
            stop_redis();
        }
    } else {
        run_action("redis", "uninstall", &["server=redis", "delete_data=true"]);
    }
}
