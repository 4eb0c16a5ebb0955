//! `recipes/postgresql.rhai`'s `uninstall` action on this machine's real server (as root): its
//! plan names the cluster that stays (or goes, with `delete_data`) and changes nothing; the
//! uninstall removes the server packages and keeps the cluster's data and configuration; a later
//! setup reinstalls PostgreSQL and finds the kept cluster, its earlier database still there; on a
//! server without PostgreSQL it is refused and nothing runs. Left as found: installed, set up,
//! running or stopped (a server that was not installed is uninstalled again, data deleted).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use crate::common;
use crate::db_uninstall_redis::plan_action;

use common::db::{action_refused, run_action};
use common::*;

const DB: &str = "cairn_unkept";
const USER: &str = "cairn_unkept_user";

fn answers() -> bool {
    sh("pg_isready", &["-h", "/run/postgresql", "-p", "5432"]).0
}

/// The major version of the installed server ("15+248" -> "15").
fn major() -> String {
    let (_, v) = sh("dpkg-query", &["-W", "-f", "${Version}", "postgresql"]);
    v.split('+').next().unwrap().trim().to_owned()
}

fn databases() -> Vec<String> {
    detect("postgresql")["databases"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn postgresql_uninstall_keeps_the_cluster_and_a_new_setup_finds_its_database_again() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    let was_installed = dpkg_installed("postgresql");
    let was_running = was_installed && answers();

    let params = [format!("db_name={DB}"), format!("user={USER}")];
    let params: Vec<&str> = params.iter().map(String::as_str).collect();
    run("postgresql", &params);
    assert!(databases().contains(&DB.to_owned()));
    let m = major();
    let data = format!("/var/lib/postgresql/{m}/main");
    let conf = format!("/etc/postgresql/{m}/main");

    // The plan names what stays, or the cluster that goes, and changes nothing.
    let plan = plan_action("postgresql", "uninstall", &["server=postgresql"]);
    assert!(
        plan.contains(&format!("remove -- postgresql postgresql-{m}")),
        "{plan}"
    );
    assert!(
        plan.contains(&format!(
            "warning: The databases in {data} and the configuration in {conf} stay"
        )),
        "{plan}"
    );
    assert!(!plan.contains("pg_dropcluster"), "{plan}");
    let plan = plan_action(
        "postgresql",
        "uninstall",
        &["server=postgresql", "delete_data=true"],
    );
    assert!(
        plan.contains(&format!("pg_dropcluster --stop {m} main")),
        "{plan}"
    );
    assert!(
        plan.contains(&format!("warning: The cluster {m}/main will be deleted for good: its databases in {data}, its configuration in {conf}")),
        "{plan}"
    );
    assert!(
        dpkg_installed("postgresql") && answers(),
        "a plan changed the server"
    );
    assert!(databases().contains(&DB.to_owned()));

    // Uninstall: the server packages go, the cluster stays.
    let done = run_action("postgresql", "uninstall", &["server=postgresql"]);
    let msg = done.result["message"].as_str().unwrap();
    assert!(
        msg.starts_with(&format!(
            "PostgreSQL {m} is removed (postgresql, postgresql-{m}"
        )),
        "{msg}"
    );
    assert!(
        msg.contains(&format!(
            "its databases stay in {data} and its configuration in {conf}"
        )),
        "{msg}"
    );
    assert!(!dpkg_installed("postgresql") && !dpkg_installed(&format!("postgresql-{m}")));
    assert!(!answers(), "PostgreSQL still answers after its uninstall");
    for kept in [
        format!("{data}/PG_VERSION"),
        format!("{conf}/postgresql.conf"),
        format!("{conf}/pg_ident.conf"),
    ] {
        assert!(Path::new(&kept).exists(), "{kept} was not kept");
    }

    let said = action_refused("postgresql", "uninstall", &["server=postgresql"]);
    assert!(
        said.contains("PostgreSQL is not installed on this server; there is nothing to uninstall"),
        "{said}"
    );

    // Set up again: the packages come back, the kept cluster (not a new one) runs, with the
    // database made before the uninstall and its owner, whose password is not reset.
    let again = run("postgresql", &params);
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
    run_action("postgresql", "drop_database", &[&format!("db_name={DB}")]);
    run_action("postgresql", "drop_user", &[&format!("user={USER}")]);
    if !was_installed {
        run_action(
            "postgresql",
            "uninstall",
            &["server=postgresql", "delete_data=true"],
        );
        assert!(!Path::new(&data).exists() && !Path::new(&conf).exists());
    } else if !was_running {
        must("service", &["postgresql", "stop"]);
    }
}
