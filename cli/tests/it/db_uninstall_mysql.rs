//! `recipes/mysql.rhai`'s `uninstall` action on this machine's real MariaDB (as root): its plan
//! names what stays (or /var/lib/mysql, with `delete_data`) and changes nothing; the uninstall
//! removes the server package and keeps /var/lib/mysql; a later setup reinstalls MariaDB and
//! finds the earlier database again. Left as found: installed, set up, running or stopped (a
//! server that was not installed is uninstalled again, its databases deleted).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use crate::common;
use crate::db_uninstall_redis::plan_action;

use common::db::{action_refused, run_action};
use common::*;

const DB: &str = "cairn_unkept";
const USER: &str = "cairn_unkept_user";

fn databases() -> Vec<String> {
    detect("mysql")["databases"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn mysql_uninstall_keeps_the_databases_and_a_new_setup_finds_them_again() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    let was_installed = dpkg_installed("mariadb-server");
    let was_running = was_installed && sh("mariadb", &["--no-defaults", "-e", "SELECT 1"]).0;

    let params = [format!("db_name={DB}"), format!("user={USER}")];
    let params: Vec<&str> = params.iter().map(String::as_str).collect();
    run("mysql", &params);
    assert!(databases().contains(&DB.to_owned()));

    let plan = plan_action("mysql", "uninstall", &["server=mysql"]);
    assert!(plan.contains("remove -- mariadb-server"), "{plan}");
    assert!(
        plan.contains("warning: MariaDB's databases (with its users and grants) in /var/lib/mysql and its configuration in /etc/mysql stay"),
        "{plan}"
    );
    assert!(!plan.contains("rm -rf"), "{plan}");
    let plan = plan_action("mysql", "uninstall", &["server=mysql", "delete_data=true"]);
    assert!(plan.contains("rm -rf -- /var/lib/mysql"), "{plan}");
    assert!(
        plan.contains("warning: /var/lib/mysql will be deleted for good"),
        "{plan}"
    );
    assert!(dpkg_installed("mariadb-server") && databases().contains(&DB.to_owned()));

    let done = run_action("mysql", "uninstall", &["server=mysql"]);
    let msg = done.result["message"].as_str().unwrap();
    assert!(
        msg.starts_with("MariaDB is removed (mariadb-server"),
        "{msg}"
    );
    assert!(!dpkg_installed("mariadb-server"));
    assert!(
        !sh("pgrep", &["-x", "mariadbd"]).0,
        "MariaDB still runs after its uninstall"
    );
    assert!(
        Path::new(&format!("/var/lib/mysql/{DB}")).is_dir(),
        "the database's folder was not kept"
    );

    let said = action_refused("mysql", "uninstall", &["server=mysql"]);
    assert!(
        said.contains("MariaDB is not installed on this server; there is nothing to uninstall"),
        "{said}"
    );

    // Set up again: reinstalled, the kept database and user are there (no new password).
    let again = run("mysql", &params);
    assert!(again.stdout.contains("$ apt-get"), "{}", again.stdout);
    assert!(
        again.result.get("connection_string").is_none(),
        "{}",
        again.stdout
    );
    assert!(
        databases().contains(&DB.to_owned()),
        "the kept database is gone"
    );

    // As found.
    run_action("mysql", "drop_database", &[&format!("db_name={DB}")]);
    run_action("mysql", "drop_user", &[&format!("user={USER}")]);
    if !was_installed {
        run_action("mysql", "uninstall", &["server=mysql", "delete_data=true"]);
        assert!(!Path::new("/var/lib/mysql").exists());
    } else if !was_running {
        must("service", &["mariadb", "stop"]);
    }
}
