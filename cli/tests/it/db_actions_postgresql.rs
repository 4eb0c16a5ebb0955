//! `recipes/postgresql.rhai`'s actions on this machine's real server (as root): `create` adds a
//! database and user whose connection string works over TCP, `detect()` then lists them (owner,
//! size, what the user owns and may connect to), `rotate` makes the old password fail and the
//! new one work, `drop_database` and `drop_user` leave nothing behind; and every refusal (the
//! server's own database and superuser, a missing database or user, a user still owning a
//! database) says why and changes nothing. The server is left running or stopped as found.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::db::{Server, action_refused, pg_superuser as superuser, run_action};
use common::*;

const DB: &str = "cairn_act";
const USER: &str = "cairn_act_user";

fn answers() -> bool {
    sh("pg_isready", &["-h", "/run/postgresql", "-p", "5432"]).0
}

fn psql_url(url: &str, sql: &str) -> (bool, String) {
    sh("psql", &[url, "-X", "-tA", "-c", sql])
}

/// The server installed and running, with Cairn's way in; nothing of an earlier failed run.
fn prepare() -> Server {
    if !dpkg_installed("postgresql") {
        run("postgresql", &["db_name=cairn_e2e", "user=cairn_e2e_user"]);
    }
    let server = Server::keep("postgresql", answers);
    superuser(&format!("DROP DATABASE IF EXISTS {DB}"));
    superuser(&format!("DROP ROLE IF EXISTS {USER}"));
    server
}

/// What detect() lists, without the sizes (they move as the server writes).
fn inventory() -> (Vec<(String, String)>, Vec<String>) {
    let d = detect("postgresql");
    let dbs = d["databases"].as_array().cloned().unwrap_or_default();
    let users = d["users"].as_array().cloned().unwrap_or_default();
    (
        dbs.iter()
            .map(|x| {
                (
                    x["name"].as_str().unwrap().into(),
                    x["owner"].as_str().unwrap().into(),
                )
            })
            .collect(),
        users.iter().map(|u| u.to_string()).collect(),
    )
}

#[test]
fn postgresql_actions_create_a_database_rotate_its_password_and_drop_it() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    let _server = prepare();

    let created = run_action(
        "postgresql",
        "create",
        &[&format!("db_name={DB}"), &format!("user={USER}")],
    );
    let url = created.result["connection_string"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(url.ends_with(&format!("@127.0.0.1:5432/{DB}")), "{url}");
    let (ok, out) = psql_url(&url, "select current_user || ' ' || current_database()");
    assert!(ok && out.trim() == format!("{USER} {DB}"), "{out}");

    // detect() lists the new database and user, and no password.
    let d = detect("postgresql");
    let text = d.to_string();
    let pw = url.split(':').nth(2).unwrap().split('@').next().unwrap();
    assert!(!text.contains(pw), "detect() shows the password: {text}");
    let db = d["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == DB)
        .unwrap();
    assert_eq!(db["owner"], USER);
    assert!(db["size_bytes"].as_u64().unwrap() > 0, "{db}");
    let user = d["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == USER)
        .unwrap();
    assert_eq!(user["login"], true);
    assert_eq!(user["superuser"], false);
    assert_eq!(user["owns"], serde_json::json!([DB]));
    assert!(
        user["databases"].as_array().unwrap().contains(&DB.into()),
        "{user}"
    );
    let postgres = d["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "postgres")
        .unwrap();
    assert_eq!(postgres["superuser"], true);

    // rotate: the old password is refused, the new one accepted over TCP.
    let rotated = run_action("postgresql", "rotate", &[&format!("user={USER}")]);
    let new_url = rotated.result["connection_string"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_url, url);
    assert!(new_url.ends_with(&format!("/{DB}")), "{new_url}");
    let (ok, out) = psql_url(&url, "select 1");
    assert!(
        !ok && out.contains("password authentication failed"),
        "{out}"
    );
    let (ok, out) = psql_url(&new_url, "select current_user");
    assert!(ok && out.trim() == USER, "{out}");

    // The user still owns its database: refused, and it keeps working.
    let said = action_refused("postgresql", "drop_user", &[&format!("user={USER}")]);
    assert!(
        said.contains(&format!("The user {USER} still owns the database(s) {DB}")),
        "{said}"
    );
    assert!(psql_url(&new_url, "select 1").0);

    // drop_database, then drop_user: both gone.
    run_action("postgresql", "drop_database", &[&format!("db_name={DB}")]);
    assert_eq!(
        superuser(&format!(
            "select count(*) from pg_database where datname = '{DB}'"
        )),
        "0"
    );
    run_action("postgresql", "drop_user", &[&format!("user={USER}")]);
    assert_eq!(
        superuser(&format!(
            "select count(*) from pg_roles where rolname = '{USER}'"
        )),
        "0"
    );
    let (ok, _) = psql_url(&new_url, "select 1");
    assert!(!ok, "the dropped user still logs in");
    assert!(!detect("postgresql").to_string().contains(USER));
}

#[test]
fn postgresql_refuses_to_drop_its_own_or_missing_things_and_changes_nothing() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    let _server = prepare();
    let before = inventory();
    assert!(
        before
            .0
            .iter()
            .any(|(n, o)| n == "postgres" && o == "postgres"),
        "{before:?}"
    );

    let said = action_refused("postgresql", "drop_database", &["db_name=postgres"]);
    assert!(said.contains("`postgres` is a reserved word"), "{said}");
    let said = action_refused("postgresql", "drop_user", &["user=postgres"]);
    assert!(said.contains("`postgres` is a reserved word"), "{said}");
    let said = action_refused("postgresql", "drop_database", &[&format!("db_name={DB}")]);
    assert!(
        said.contains(&format!(
            "There is no database {DB} on this server; nothing changed"
        )),
        "{said}"
    );
    let said = action_refused("postgresql", "drop_user", &[&format!("user={USER}")]);
    assert!(
        said.contains(&format!(
            "There is no user {USER} on this server; nothing changed"
        )),
        "{said}"
    );
    let said = action_refused("postgresql", "rotate", &[&format!("user={USER}")]);
    assert!(said.contains(&format!("There is no user {USER}")), "{said}");
    let said = action_refused("postgresql", "create", &["db_name=postgres", "user=x"]);
    assert!(said.contains("reserved word"), "{said}");
    let said = action_refused("postgresql", "drop_database", &["db_name=x; DROP ROLE u"]);
    assert!(said.contains("db_name"), "{said}");

    assert_eq!(inventory(), before, "a refused action changed the server");
    assert_eq!(
        superuser("select rolsuper from pg_roles where rolname = 'postgres'"),
        "t"
    );
}
