//! `recipes/mysql.rhai` (MariaDB) end to end on this machine (as root): a fresh install through
//! `cairn-recipe run`, the returned connection string works with the `mariadb` client, the
//! password is on no command line (sampled every 50 ms) and in no server log, a second run changes
//! nothing, a second database works. Plans for every supported system.
//!
//! Throughout, root has a bogus `~/.my.cnf` (another user, a wrong password, a socket that does
//! not exist; the file the test finds there is put back after): the recipe's client calls read
//! no option file (`--no-defaults`), so it must not matter.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use std::io::Write;
use std::path::Path;

const PARAMS: &[&str] = &["db_name=cairn_e2e", "user=cairn_e2e_user"];

struct Url {
    user: String,
    password: String,
    host: String,
    port: String,
    db: String,
}

fn parse(url: &str) -> Url {
    let rest = url.strip_prefix("mysql://").unwrap();
    let (userinfo, rest) = rest.split_once('@').unwrap();
    let (user, password) = userinfo.split_once(':').unwrap();
    let (hostport, db) = rest.split_once('/').unwrap();
    let (host, port) = hostport.split_once(':').unwrap();
    Url {
        user: user.into(),
        password: password.into(),
        host: host.into(),
        port: port.into(),
        db: db.into(),
    }
}

/// Runs SQL as the connection string's user over TCP. The password goes in a 0600 option file,
/// not on the command line; `--defaults-file` (first) makes it the only file read, so root's
/// bogus ~/.my.cnf does not apply.
fn query(url: &Url, db: &str, sql: &str) -> (bool, String) {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    writeln!(f, "[client]\npassword={}", url.password).unwrap();
    let defaults = format!("--defaults-file={}", f.path().display());
    sh(
        "mariadb",
        &[
            &defaults,
            "--protocol=TCP",
            "-h",
            &url.host,
            "-P",
            &url.port,
            "-u",
            &url.user,
            "--batch",
            "--skip-column-names",
            "-e",
            sql,
            db,
        ],
    )
}

fn purge_server() {
    if Path::new("/usr/bin/mariadb-admin").exists() {
        let _ = sh("mariadb-admin", &["shutdown"]);
    }
    apt_get(&[
        "purge",
        "-y",
        "mariadb-server",
        "mariadb-server-core",
        "mariadb-client",
        "mariadb-client-core",
        "mariadb-common",
    ]);
    let _ = std::fs::remove_dir_all("/var/lib/mysql");
    assert!(!Path::new("/usr/sbin/mariadbd").exists());
}

const MY_CNF: &str = "/root/.my.cnf";

/// A bogus root `~/.my.cnf` while alive; whatever was there before (or nothing) comes back on
/// drop, however the test ends.
struct BogusMyCnf(Option<Vec<u8>>);

impl BogusMyCnf {
    fn install() -> Self {
        let before = std::fs::read(MY_CNF).ok();
        std::fs::write(
            MY_CNF,
            "[client]\nuser=cairn_nobody\npassword=not-the-password\n\
             socket=/nonexistent/cairn/mysqld.sock\n[mysql]\ndatabase=cairn_missing\n",
        )
        .unwrap();
        std::fs::set_permissions(MY_CNF, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        Self(before)
    }
}

impl Drop for BogusMyCnf {
    fn drop(&mut self) {
        match &self.0 {
            Some(bytes) => std::fs::write(MY_CNF, bytes).unwrap(),
            None => {
                let _ = std::fs::remove_file(MY_CNF);
            }
        }
    }
}

fn server_logs() -> Vec<&'static str> {
    vec![
        "/var/log/mysql",
        "/var/lib/mysql",
        "/var/log/syslog",
        "/var/log/daemon.log",
    ]
}

#[test]
fn mysql_installs_creates_a_database_and_keeps_the_password_secret() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    purge_server();
    let _my_cnf = BogusMyCnf::install();

    let sampler = CmdlineSampler::start();
    let first = run("mysql", PARAMS);
    let (cmdlines, samples) = sampler.finish();
    eprintln!("{}", first.stdout);
    assert!(first.changed());
    assert!(first.stdout.contains("$ apt-get"), "{}", first.stdout);
    let raw = first.result["connection_string"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = parse(&raw);
    assert_eq!(
        (
            url.user.as_str(),
            url.host.as_str(),
            url.port.as_str(),
            url.db.as_str()
        ),
        ("cairn_e2e_user", "127.0.0.1", "3306", "cairn_e2e")
    );
    assert_eq!(url.password.len(), 24);
    assert!(samples > 20, "the sampler ran only {samples} times");
    for l in first.console() {
        assert!(
            !l.contains(&url.password),
            "the password is on the console: {l}"
        );
    }
    assert_secret_absent(&url.password, &cmdlines, &server_logs());

    let (ok, out) = query(
        &url,
        &url.db,
        "SELECT CONCAT(CURRENT_USER(), ' ', DATABASE())",
    );
    assert!(ok, "{out}");
    assert!(
        out.trim().starts_with("cairn_e2e_user@") && out.trim().ends_with(" cairn_e2e"),
        "{out}"
    );
    let (ok, out) = query(
        &url,
        &url.db,
        "CREATE TABLE t (x INT); INSERT INTO t VALUES (1); SELECT x FROM t",
    );
    assert!(ok && out.trim() == "1", "{out}");

    let listen = must("ss", &["-H", "-l", "-t", "-n", "sport = :3306"]);
    assert!(listen.contains("127.0.0.1:3306"), "{listen}");
    assert!(
        !listen.contains("0.0.0.0:3306") && !listen.contains("*:3306"),
        "{listen}"
    );

    let d = assert_detected("mysql", &version_output("mariadb", &["--version"]));
    assert_eq!(d["running"], true);
    // The bogus ~/.my.cnf is in force: a client that reads it cannot connect.
    let (ok, out) = sh("mariadb", &["--batch", "-e", "SELECT 1"]);
    assert!(
        !ok && out.contains("/nonexistent/cairn/mysqld.sock"),
        "root's ~/.my.cnf was not read: {out}"
    );

    let second = run("mysql", PARAMS);
    assert_nothing_changed(&second);
    assert!(second.result.get("connection_string").is_none());
    assert!(
        query(&url, &url.db, "SELECT 1").0,
        "the second run changed the password"
    );

    // A second database and user on the installed server.
    let sampler = CmdlineSampler::start();
    let other = run("mysql", &["db_name=cairn_e2e_two", "user=cairn_e2e_two"]);
    let (cmdlines, _) = sampler.finish();
    assert!(!other.stdout.contains("$ apt-get"), "{}", other.stdout);
    let url2 = parse(other.result["connection_string"].as_str().unwrap());
    assert_secret_absent(&url2.password, &cmdlines, &server_logs());
    let (ok, out) = query(&url2, &url2.db, "SELECT DATABASE()");
    assert!(ok && out.trim() == "cairn_e2e_two", "{out}");
    let (ok, _) = query(&url2, "cairn_e2e", "SELECT 1");
    assert!(!ok, "user two reached database one");
}

#[test]
fn mysql_plans_for_every_supported_system() {
    let _machine = common::machine_lock();
    for (label, plan) in plan_everywhere("mysql", PARAMS) {
        assert!(
            plan.contains("nothing to change") || plan.contains("(with input on stdin)"),
            "{label}: {plan}"
        );
    }
}
