//! `recipes/mysql.rhai`'s `remote_access` action on this machine's real MariaDB (as root):
//! allowing a user makes the account USER@'%' with the user's password and database privileges,
//! makes MariaDB listen on every address (the one-line file of `mariadb_bind()`), warns that a
//! firewall must also allow port 3306, and the user signs in on the machine's own network
//! address; allowing again changes nothing; refusing drops USER@'%', removes the file, and the
//! network address is refused while localhost still works; MariaDB's own and unknown users are
//! refused with a sentence. MariaDB is left running or stopped as found.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use crate::common;
use crate::db_remote_postgresql::own_address;

use common::db::{Server, action_refused, run_action};
use common::*;

const USER: &str = "cairn_remote";
const DB: &str = "cairn_remote_db";
const STATE: &str = "/etc/cairn/mysql/remote";
const CNF: &str = "/etc/mysql/mariadb.conf.d/90-cairn-remote.cnf";

fn answers() -> bool {
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

/// `SELECT 1` as USER over TCP to `host`, the password in the environment (never in argv).
fn connect_at(host: &str, pw: &str) -> (bool, String) {
    let out = Command::new("mariadb")
        .args([
            "--no-defaults",
            "--protocol=TCP",
            "-h",
            host,
            "-u",
            USER,
            "--batch",
            "--skip-column-names",
            "-e",
            &format!("SELECT COUNT(*) FROM {DB}.t"),
        ])
        .env("MYSQL_PWD", pw)
        .output()
        .expect("mariadb starts");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text.trim().to_owned())
}

fn remote_accounts() -> String {
    root(&format!(
        "SELECT COUNT(*) FROM mysql.user WHERE User = '{USER}' AND Host = '%'"
    ))
}

fn remote(allow: bool) -> Run {
    run_action(
        "mysql",
        "remote_access",
        &[&format!("user={USER}"), &format!("allow={allow}")],
    )
}

#[test]
fn mysql_remote_access_lets_a_user_in_from_the_network_and_takes_it_back() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    if !dpkg_installed("mariadb-server") {
        run("mysql", &["db_name=cairn_e2e", "user=cairn_e2e_user"]);
    }
    let _server = Server::keep("mariadb", answers);
    // Nothing of an earlier failed run left.
    if std::fs::read_to_string(STATE).is_ok_and(|s| s.contains(&format!("user {USER}\n"))) {
        remote(false);
    }
    root(&format!("DROP DATABASE IF EXISTS {DB}"));
    root(&format!(
        "DROP USER IF EXISTS '{USER}'@'localhost', '{USER}'@'127.0.0.1', '{USER}'@'%'"
    ));
    let setup = run(
        "mysql",
        &[&format!("db_name={DB}"), &format!("user={USER}")],
    );
    let url = setup.result["connection_string"].as_str().unwrap();
    let pw = url.split(':').nth(2).unwrap().split('@').next().unwrap();
    root(&format!("CREATE TABLE {DB}.t (x INT)"));
    let addr = own_address();
    assert!(!std::path::Path::new(CNF).exists());

    let allowed = remote(true);
    assert!(allowed.changed(), "{}", allowed.stdout);
    for said in [
        "! A firewall must also allow TCP port 3306 from where cairn_remote connects",
        "MariaDB listens on every address (0.0.0.0:3306)",
    ] {
        assert!(allowed.stdout.contains(said), "{said}: {}", allowed.stdout);
    }
    assert!(
        !allowed.stdout.contains(pw),
        "the password reached the console"
    );
    assert_eq!(
        std::fs::read_to_string(CNF).unwrap(),
        "[mysqld]\nbind-address = 0.0.0.0\n"
    );
    assert_eq!(remote_accounts(), "1");
    assert_eq!(connect_at(&addr, pw), (true, "0".to_owned()));
    // The same privileges: on its own database only.
    let grants = root(&format!("SHOW GRANTS FOR '{USER}'@'%'"));
    assert!(grants.contains(&format!("ON `{DB}`.*")), "{grants}");
    assert!(
        !grants.contains("ON *.*") || grants.contains("GRANT USAGE ON *.*"),
        "{grants}"
    );

    let again = remote(true);
    assert!(!again.changed(), "{}", again.stdout);

    let refused = remote(false);
    assert!(refused.changed(), "{}", refused.stdout);
    assert!(
        refused
            .stdout
            .contains("MariaDB listens on 127.0.0.1 again"),
        "{}",
        refused.stdout
    );
    assert!(!std::path::Path::new(CNF).exists());
    assert_eq!(remote_accounts(), "0");
    if addr != "127.0.0.1" {
        let (ok, said) = connect_at(&addr, pw);
        assert!(!ok, "{said}");
    }
    assert_eq!(connect_at("127.0.0.1", pw), (true, "0".to_owned()));
    assert!(!std::fs::read_to_string(STATE).unwrap().contains(USER));
    let twice = remote(false);
    assert!(!twice.changed(), "{}", twice.stdout);

    // Bad input: a sentence, and nothing changes.
    let said = action_refused("mysql", "remote_access", &["user=root", "allow=true"]);
    // MariaDB's own accounts are already refused by the parameter's type (reserved words).
    assert!(said.contains("`root` is a reserved word"), "{said}");
    let said = action_refused("mysql", "remote_access", &["user=mysql", "allow=false"]);
    assert!(said.contains("`mysql` is a reserved word"), "{said}");
    let said = action_refused(
        "mysql",
        "remote_access",
        &["user=nobody_here", "allow=true"],
    );
    assert!(said.contains("There is no user nobody_here"), "{said}");
    assert!(!std::path::Path::new(CNF).exists());

    root(&format!("DROP DATABASE {DB}"));
    root(&format!(
        "DROP USER '{USER}'@'localhost', '{USER}'@'127.0.0.1'"
    ));
}
