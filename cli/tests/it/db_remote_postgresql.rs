//! `recipes/postgresql.rhai`'s `remote_access` action on this machine's real server (as root):
//! allowing a user makes PostgreSQL listen on every address and lets the user in over TCP on
//! the machine's own network address with its password (two pg_hba.conf lines marked as
//! Cairn's, a warning that a firewall must also allow port 5432); allowing again changes
//! nothing; refusing takes exactly those lines out (pg_hba.conf is byte for byte what it was),
//! puts listen_addresses back to `localhost` and the connection is refused; bad input changes
//! nothing. The server is left running or stopped as found.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::db::{Server, action_refused, pg_superuser as superuser, run_action};
use common::*;

const DB: &str = "cairn_remote";
const USER: &str = "cairn_remote_user";
const HBA: &str = "/etc/postgresql/15/main/pg_hba.conf";

fn answers() -> bool {
    sh("pg_isready", &["-h", "/run/postgresql", "-p", "5432"]).0
}

/// This machine's first non-loopback IPv4 address (what a client elsewhere would dial), or
/// 127.0.0.1 when it has none.
pub fn own_address() -> String {
    let (_, out) = sh("hostname", &["-I"]);
    out.split_whitespace()
        .find(|a| a.contains('.') && !a.starts_with("127."))
        .unwrap_or("127.0.0.1")
        .to_owned()
}

fn hba_path() -> String {
    let major = superuser("SHOW server_version_num")[..2].to_owned();
    HBA.replace("15", &major)
}

/// The server running with Cairn's way in, nothing of an earlier failed run left.
fn prepare() -> Server {
    if !dpkg_installed("postgresql") {
        run("postgresql", &["db_name=cairn_e2e", "user=cairn_e2e_user"]);
    }
    let server = Server::keep("postgresql", answers);
    if std::fs::read_to_string(hba_path())
        .unwrap()
        .contains(&format!("# cairn:remote {USER}"))
    {
        run_action(
            "postgresql",
            "remote_access",
            &[&format!("user={USER}"), "allow=false"],
        );
    }
    superuser(&format!("DROP DATABASE IF EXISTS {DB}"));
    superuser(&format!("DROP ROLE IF EXISTS {USER}"));
    server
}

#[test]
fn postgresql_remote_access_lets_a_user_in_over_the_network_and_takes_it_back_exactly() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    let _server = prepare();
    let hba = hba_path();
    let hba_before = std::fs::read_to_string(&hba).unwrap();
    assert_eq!(superuser("SHOW listen_addresses"), "localhost");
    let created = run_action(
        "postgresql",
        "create",
        &[&format!("db_name={DB}"), &format!("user={USER}")],
    );
    let local_url = created.result["connection_string"].as_str().unwrap();
    let addr = own_address();
    let url = local_url.replace("@127.0.0.1:", &format!("@{addr}:"));
    let who = "select current_user || ' ' || inet_server_addr()";

    let allowed = run_action(
        "postgresql",
        "remote_access",
        &[&format!("user={USER}"), "allow=true"],
    );
    assert!(allowed.changed(), "{}", allowed.stdout);
    assert!(
        allowed.stdout.contains(&format!(
            "! A firewall must also allow TCP port 5432 from where {USER} connects"
        )),
        "{}",
        allowed.stdout
    );
    assert!(
        allowed.result["message"]
            .as_str()
            .unwrap()
            .contains("PostgreSQL listens on every address (*:5432)"),
        "{}",
        allowed.result
    );
    assert_eq!(superuser("SHOW listen_addresses"), "*");
    let (ok, out) = sh("psql", &[&url, "-X", "-tA", "-c", who]);
    assert!(ok && out.trim() == format!("{USER} {addr}/32"), "{out}");
    let marked: Vec<String> = std::fs::read_to_string(&hba)
        .unwrap()
        .lines()
        .filter(|l| l.ends_with(&format!("# cairn:remote {USER}")))
        .map(str::to_owned)
        .collect();
    assert_eq!(marked.len(), 2, "{marked:?}");
    assert!(marked[0].contains("0.0.0.0/0") && marked[1].contains("::/0"));
    assert!(
        marked
            .iter()
            .all(|l| l.starts_with(&format!("host    {DB}    {USER}")))
    );

    let again = run_action(
        "postgresql",
        "remote_access",
        &[&format!("user={USER}"), "allow=true"],
    );
    assert!(!again.changed(), "{}", again.stdout);
    assert!(!again.stdout.contains("restart"), "{}", again.stdout);

    let refused = run_action(
        "postgresql",
        "remote_access",
        &[&format!("user={USER}"), "allow=false"],
    );
    assert!(refused.changed(), "{}", refused.stdout);
    assert_eq!(superuser("SHOW listen_addresses"), "localhost");
    assert_eq!(std::fs::read_to_string(&hba).unwrap(), hba_before);
    if addr != "127.0.0.1" {
        let (ok, out) = sh("psql", &[&url, "-X", "-tA", "-c", who]);
        assert!(!ok && out.contains("Connection refused"), "{out}");
    }
    // The local connection string keeps working.
    assert!(sh("psql", &[local_url, "-X", "-tA", "-c", "select 1"]).0);
    let twice = run_action(
        "postgresql",
        "remote_access",
        &[&format!("user={USER}"), "allow=false"],
    );
    assert!(!twice.changed(), "{}", twice.stdout);

    run_action("postgresql", "drop_database", &[&format!("db_name={DB}")]);
    run_action("postgresql", "drop_user", &[&format!("user={USER}")]);
}

#[test]
fn postgresql_remote_access_refuses_the_superuser_and_unknown_users_and_changes_nothing() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    let _server = prepare();
    let hba = hba_path();
    let before = std::fs::read_to_string(&hba).unwrap();

    let said = action_refused(
        "postgresql",
        "remote_access",
        &["user=postgres", "allow=true"],
    );
    assert!(said.contains("`postgres` is a reserved word"), "{said}");
    let said = action_refused(
        "postgresql",
        "remote_access",
        &[&format!("user={USER}"), "allow=true"],
    );
    assert!(
        said.contains(&format!(
            "There is no user {USER} on this server; nothing changed"
        )),
        "{said}"
    );
    let said = action_refused(
        "postgresql",
        "remote_access",
        &[&format!("user={USER}"), "allow=maybe"],
    );
    assert!(said.contains("allow"), "{said}");
    // A user without a password could not sign in from the network: refused.
    superuser(&format!("CREATE ROLE {USER} LOGIN"));
    let said = action_refused(
        "postgresql",
        "remote_access",
        &[&format!("user={USER}"), "allow=true"],
    );
    superuser(&format!("DROP ROLE {USER}"));
    assert!(
        said.contains(&format!("The user {USER} has no password")),
        "{said}"
    );

    assert_eq!(std::fs::read_to_string(&hba).unwrap(), before);
    assert_eq!(superuser("SHOW listen_addresses"), "localhost");
}
