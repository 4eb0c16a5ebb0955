//! `recipes/mysql.rhai`'s and `recipes/redis.rhai`'s actions on this machine's real servers (as
//! root). MariaDB: `create` adds a database and user whose connection string works with the
//! `mariadb` client over TCP, `detect()` lists them (size, user@host with its grants), `rotate`
//! makes the old password fail and the new one work, `drop_database` and `drop_user` leave
//! nothing behind (no grant either); refusals (root, a system schema, missing ones, a user still
//! the definer of a view) change nothing. Redis: `rotate` gives an ACL user a new password (the
//! old refused, the new accepted by redis-cli), `detect()` lists ACL users without hashes. Each
//! server is left running or stopped as found.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::recipe_redis::{admin, cli};

use common::db::{Server, action_refused, run_action};
use common::*;
use std::io::Write;

const DB: &str = "cairn_act";
const USER: &str = "cairn_act_user";

fn mariadb_answers() -> bool {
    sh("mariadb", &["--no-defaults", "-e", "SELECT 1"]).0
}

/// SQL as root over the socket.
fn root(sql: &str) -> String {
    let (ok, out) = sh(
        "mariadb",
        &["--no-defaults", "--batch", "--skip-column-names", "-e", sql],
    );
    assert!(ok, "{sql}: {out}");
    out.trim().to_owned()
}

/// SQL as the user of `url` (mysql://USER:PW@HOST:PORT/DB) over TCP; the password in a 0600
/// option file, never on the command line.
fn as_user(url: &str, sql: &str) -> (bool, String) {
    let rest = url.strip_prefix("mysql://").unwrap();
    let (userinfo, rest) = rest.split_once('@').unwrap();
    let (user, password) = userinfo.split_once(':').unwrap();
    let (hostport, db) = rest.split_once('/').unwrap();
    let (host, port) = hostport.split_once(':').unwrap();
    let mut f = tempfile::NamedTempFile::new().unwrap();
    writeln!(f, "[client]\npassword={password}").unwrap();
    let defaults = format!("--defaults-file={}", f.path().display());
    sh(
        "mariadb",
        &[
            &defaults,
            "--protocol=TCP",
            "-h",
            host,
            "-P",
            port,
            "-u",
            user,
            "--batch",
            "--skip-column-names",
            "-e",
            sql,
            db,
        ],
    )
}

fn prepare_mariadb() -> Server {
    if !dpkg_installed("mariadb-server") {
        run("mysql", &["db_name=cairn_e2e", "user=cairn_e2e_user"]);
    }
    let server = Server::keep("mariadb", mariadb_answers);
    root(&format!("DROP DATABASE IF EXISTS {DB}"));
    root(&format!(
        "DROP USER IF EXISTS '{USER}'@'localhost', '{USER}'@'127.0.0.1'"
    ));
    server
}

#[test]
fn mysql_actions_create_a_database_rotate_its_password_and_drop_it() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    let _server = prepare_mariadb();

    let created = run_action(
        "mysql",
        "create",
        &[&format!("db_name={DB}"), &format!("user={USER}")],
    );
    let url = created.result["connection_string"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ok, out) = as_user(&url, "SELECT CONCAT(CURRENT_USER(), ' ', DATABASE())");
    assert!(
        ok && out.trim().starts_with(&format!("{USER}@"))
            && out.trim().ends_with(&format!(" {DB}")),
        "{out}"
    );
    assert!(as_user(&url, "CREATE TABLE t (i INT); INSERT INTO t VALUES (1)").0);

    let d = detect("mysql");
    let pw = url.split(':').nth(2).unwrap().split('@').next().unwrap();
    assert!(
        !d.to_string().contains(pw),
        "detect() shows the password: {d}"
    );
    assert!(
        d["databases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["name"] == DB),
        "{d}"
    );
    let accounts: Vec<_> = d["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["name"] == USER)
        .collect();
    assert_eq!(accounts.len(), 2, "{d}");
    for a in &accounts {
        assert_eq!(a["databases"], serde_json::json!([DB]), "{a}");
    }
    let root_user = d["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "root")
        .unwrap();
    assert_eq!(root_user["superuser"], true);

    let rotated = run_action("mysql", "rotate", &[&format!("user={USER}")]);
    let new_url = rotated.result["connection_string"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_url, url);
    let (ok, out) = as_user(&url, "SELECT 1");
    assert!(!ok && out.contains("Access denied"), "{out}");
    let (ok, out) = as_user(&new_url, "SELECT i FROM t");
    assert!(ok && out.trim() == "1", "{out}");

    run_action("mysql", "drop_database", &[&format!("db_name={DB}")]);
    assert_eq!(
        root(&format!(
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{DB}'"
        )),
        "0"
    );
    assert_eq!(
        root(&format!("SELECT COUNT(*) FROM mysql.db WHERE Db = '{DB}'")),
        "0",
        "a grant was left"
    );
    run_action("mysql", "drop_user", &[&format!("user={USER}")]);
    assert_eq!(
        root(&format!(
            "SELECT COUNT(*) FROM mysql.user WHERE User = '{USER}'"
        )),
        "0"
    );
    assert!(
        !as_user(&new_url, "SELECT 1").0,
        "the dropped user still logs in"
    );
}

#[test]
fn mysql_refuses_to_drop_its_own_or_missing_things_and_changes_nothing() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    let _server = prepare_mariadb();
    let snapshot = || {
        root(
            "SELECT CONCAT(GROUP_CONCAT(CONCAT(User, '@', Host) ORDER BY User, Host), ' / ', \
              (SELECT GROUP_CONCAT(SCHEMA_NAME ORDER BY SCHEMA_NAME) FROM information_schema.SCHEMATA)) FROM mysql.user",
        )
    };
    let before = snapshot();

    let said = action_refused("mysql", "drop_user", &["user=root"]);
    assert!(said.contains("`root` is a reserved word"), "{said}");
    let said = action_refused("mysql", "drop_database", &["db_name=mysql"]);
    assert!(said.contains("`mysql` is a reserved word"), "{said}");
    let said = action_refused("mysql", "drop_database", &["db_name=performance_schema"]);
    assert!(
        said.contains("`performance_schema` is a reserved word"),
        "{said}"
    );
    let said = action_refused("mysql", "drop_database", &[&format!("db_name={DB}")]);
    assert!(
        said.contains(&format!(
            "There is no database {DB} on this server; nothing changed"
        )),
        "{said}"
    );
    let said = action_refused("mysql", "drop_user", &[&format!("user={USER}")]);
    assert!(
        said.contains(&format!(
            "There is no user {USER} on this server; nothing changed"
        )),
        "{said}"
    );
    let said = action_refused("mysql", "rotate", &[&format!("user={USER}")]);
    assert!(said.contains(&format!("There is no user {USER}")), "{said}");
    assert_eq!(snapshot(), before, "a refused action changed the server");

    // A user still the definer of a view: refused, the user and the view stay.
    root(&format!(
        "CREATE DATABASE {DB}; CREATE USER '{USER}'@'localhost'; \
                   CREATE DEFINER = '{USER}'@'localhost' VIEW {DB}.v AS SELECT 1 AS one"
    ));
    let said = action_refused("mysql", "drop_user", &[&format!("user={USER}")]);
    assert!(
        said.contains(&format!(
            "The user {USER} is still the definer of view {DB}.v"
        )),
        "{said}"
    );
    assert_eq!(
        root(&format!(
            "SELECT COUNT(*) FROM mysql.user WHERE User = '{USER}'"
        )),
        "1"
    );
    root(&format!(
        "DROP DATABASE {DB}; DROP USER '{USER}'@'localhost'"
    ));
    assert_eq!(snapshot(), before);
}

fn redis_answers() -> bool {
    let said = cli(None, &["ping"]);
    said.contains("PONG") || said.contains("NOAUTH")
}

#[test]
fn redis_rotate_gives_an_acl_user_a_new_password_and_the_old_one_stops_working() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    let _server = Server::keep("redis-server", redis_answers);
    // The ACL user, made by the recipe's setup (which also installs Redis and Cairn's admin).
    let setup = run("redis", &["user=cairn_act", "prefix=act:"]);
    let old = setup.result["connection_string"]
        .as_str()
        .map(str::to_owned);
    let old_pw = old.as_ref().map(|u| {
        u.split(':')
            .nth(2)
            .unwrap()
            .split('@')
            .next()
            .unwrap()
            .to_owned()
    });

    let rotated = run_action("redis", "rotate", &["user=cairn_act"]);
    let url = rotated.result["connection_string"]
        .as_str()
        .unwrap()
        .to_owned();
    let pw = url
        .split(':')
        .nth(2)
        .unwrap()
        .split('@')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(pw.len(), 24);
    assert_eq!(
        cli(Some(&pw), &["--user", "cairn_act", "set", "act:k", "v"]),
        "OK"
    );
    if let Some(old_pw) = old_pw {
        let said = cli(Some(&old_pw), &["--user", "cairn_act", "set", "act:k", "v"]);
        assert!(
            said.contains("WRONGPASS") || said.contains("NOAUTH"),
            "{said}"
        );
    }
    // Saved: the rules Redis would load again hold the new password's hash.
    let d = detect("redis");
    let user = d["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "cairn_act")
        .unwrap()
        .clone();
    assert_eq!(user["login"], true);
    assert!(
        user["access"].as_str().unwrap().contains("~act:*"),
        "{user}"
    );
    assert!(
        !d.to_string().contains('#') && !d.to_string().contains(&pw),
        "detect() shows a hash: {d}"
    );

    let said = action_refused("redis", "rotate", &["user=default"]);
    assert!(said.contains("default is Redis's own"), "{said}");
    let said = action_refused("redis", "rotate", &["user=nobody_here"]);
    assert!(said.contains("There is no ACL user nobody_here"), "{said}");
    assert_eq!(
        cli(Some(&pw), &["--user", "cairn_act", "get", "act:k"]),
        "v"
    );

    admin(&["del", "act:k"]);
    assert_eq!(admin(&["ACL", "DELUSER", "cairn_act"]), "1");
    admin(&["CONFIG", "REWRITE"]);
}
