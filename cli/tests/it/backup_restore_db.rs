//! The backup recipes' database dumps (issue 18), on this machine's real PostgreSQL and MariaDB
//! (as root; each server left running or stopped as found), backed up by `s3.rhai` to moto's S3
//! server on loopback: a database named in `databases` is dumped before the files, `restore`
//! loads the dump into a NEW database `NAME_restored_YYYYMMDD_HHMM` holding the same rows, and
//! after rows are deleted from the original, `restore_over` puts them back. A database that
//! cannot be dumped fails the backup with a sentence and makes no snapshot.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::backup_restore::configure_s3;
use crate::common;

use common::backup::{free_port, reset, run_fails, start_moto};
use common::db::{Server, run_action};
use common::*;
use std::path::Path;

/// One database server as the test drives it.
struct Engine {
    /// The recipe's word: `postgresql` or `mysql`.
    engine: &'static str,
    db: &'static str,
    /// SQL in a database, as its superuser over the socket: the output, trimmed.
    sql: fn(&str, &str) -> String,
    /// The query naming the databases a restore made.
    restored: &'static str,
    /// One line that changes with any row: count, sum of ids, MD5 of the names in order.
    digest: &'static str,
}

fn psql(db: &str, sql: &str) -> String {
    // As the postgres account (peer authentication), whatever Cairn's login map says yet: a
    // machine where PostgreSQL was installed before any recipe ran has none.
    let args = [
        "-u",
        "postgres",
        "--",
        "psql",
        "-X",
        "-h",
        "/run/postgresql",
        "-U",
        "postgres",
        "-d",
        db,
        "-tA",
        "-c",
        sql,
    ];
    let (ok, out) = sh("runuser", &args);
    assert!(ok, "{db}: {sql}: {out}");
    out.trim().to_owned()
}

fn mariadb(db: &str, sql: &str) -> String {
    let args = [
        "--no-defaults",
        "--batch",
        "--skip-column-names",
        "-D",
        db,
        "-e",
        sql,
    ];
    let (ok, out) = sh("mariadb", &args);
    assert!(ok, "{db}: {sql}: {out}");
    out.trim().to_owned()
}

const POSTGRESQL: Engine = Engine {
    engine: "postgresql",
    db: "cairn_restore_src",
    sql: psql,
    restored: "SELECT datname FROM pg_database WHERE datname LIKE 'cairn\\_restore\\_src\\_restored\\_%'",
    digest: "SELECT count(*) || ':' || sum(id) || ':' || md5(string_agg(name, ',' ORDER BY id)) FROM items",
};

const MYSQL: Engine = Engine {
    engine: "mysql",
    db: "cairn_restore_src",
    sql: mariadb,
    restored: "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'cairn\\_restore\\_src\\_restored\\_%'",
    digest: "SET SESSION group_concat_max_len = 1000000; \
             SELECT CONCAT(COUNT(*), ':', SUM(id), ':', MD5(GROUP_CONCAT(name ORDER BY id))) FROM items",
};

impl Engine {
    fn admin(&self) -> &'static str {
        if self.engine == "postgresql" {
            "postgres"
        } else {
            "mysql"
        }
    }
    fn run(&self, db: &str, sql: &str) -> String {
        (self.sql)(db, sql)
    }
    fn drop_restored(&self) {
        for n in self.run(self.admin(), self.restored).lines() {
            self.run(self.admin(), &format!("DROP DATABASE {n}"));
        }
    }
    fn fresh(&self) {
        self.drop_restored();
        self.run(
            self.admin(),
            &format!("DROP DATABASE IF EXISTS {}", self.db),
        );
        self.run(self.admin(), &format!("CREATE DATABASE {}", self.db));
        self.run(
            self.db,
            "CREATE TABLE items (id int PRIMARY KEY, name text)",
        );
        let values: Vec<String> = (1..=250).map(|i| format!("({i}, 'item {i}')")).collect();
        self.run(
            self.db,
            &format!("INSERT INTO items VALUES {}", values.join(",")),
        );
    }
}

/// Backs `e.db` up with s3.rhai, restores it into a new database, then over the original.
fn round_trip(e: &Engine) {
    e.fresh();
    let before = e.run(e.db, e.digest);
    assert!(before.starts_with("250:31375:"), "{before}");

    reset("s3");
    let tmp = tempfile::Builder::new()
        .prefix("cairn-restore-db")
        .tempdir_in("/var/tmp")
        .unwrap();
    let port = free_port();
    let _moto = start_moto(tmp.path(), port);
    let source = tmp.path().join("source");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(source.join("a.txt"), "a\n").unwrap();
    let dbs = format!("databases={}/{}", e.engine, e.db);
    configure_s3(tmp.path(), port, source.to_str().unwrap(), &[dbs.as_str()]);
    let dump = Path::new("/var/lib/cairn/backups/dumps")
        .join(e.engine)
        .join(e.db);
    assert!(dump.is_file(), "the dump was taken");
    let d = detect("s3");
    let id = d["snapshots"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        d["snapshots"][0]["files"], 3,
        "a.txt, the dump and the list of dumps: {d}"
    );

    // Into a new folder: the dump goes into a new database named after the original.
    let snapshot = format!("snapshot={id}");
    let r = run_action("s3", "restore", &[snapshot.as_str()]);
    let restored = e.run(e.admin(), e.restored);
    assert_eq!(restored.lines().count(), 1, "{restored}");
    assert_eq!(
        restored.len(),
        e.db.len() + "_restored_YYYYMMDD_HHMM".len(),
        "{restored}"
    );
    assert_eq!(
        e.run(&restored, e.digest),
        before,
        "the same rows in {restored}"
    );
    assert!(
        r.stdout.contains(&format!(
            "Databases restored: {}/{} into {restored}",
            e.engine, e.db
        )),
        "{}",
        r.stdout
    );
    let _ = std::fs::remove_dir_all(format!("/var/lib/cairn/restores/s3-{id}"));

    // Over the original: the rows deleted since come back.
    e.run(e.db, "DELETE FROM items WHERE id > 10");
    assert_ne!(e.run(e.db, e.digest), before);
    run_action("s3", "restore_over", &[snapshot.as_str()]);
    assert_eq!(
        e.run(e.db, e.digest),
        before,
        "restore_over put the rows back"
    );

    e.drop_restored();
    e.run(e.admin(), &format!("DROP DATABASE {}", e.db));
    reset("s3");
    let _ = std::fs::remove_dir_all("/var/lib/cairn/backups/dumps");
}

#[test]
fn a_postgresql_database_dumped_by_the_backup_is_restored_into_a_new_database_with_the_same_rows() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    if !dpkg_installed("postgresql") {
        run("postgresql", &["db_name=cairn_e2e", "user=cairn_e2e_user"]);
    }
    let _server = Server::keep("postgresql", || {
        sh("pg_isready", &["-h", "/run/postgresql", "-p", "5432"]).0
    });
    round_trip(&POSTGRESQL);

    // A database that cannot be dumped fails the backup with a sentence; no snapshot is made.
    let tmp = tempfile::Builder::new()
        .prefix("cairn-restore-db")
        .tempdir_in("/var/tmp")
        .unwrap();
    let port = free_port();
    let _moto = start_moto(tmp.path(), port);
    let source = tmp.path().join("source");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(source.join("a.txt"), "a\n").unwrap();
    configure_s3(tmp.path(), port, source.to_str().unwrap(), &[]);
    let endpoint = format!("endpoint=http://127.0.0.1:{port}");
    let paths = format!("paths={}", source.display());
    // The configure writes the settings; the first backup after it is what fails.
    let configured = run(
        "s3",
        &[
            endpoint.as_str(),
            paths.as_str(),
            "bucket=cairn-e2e",
            "access_key_id=AKIACAIRNE2E",
            "region=eu-west-1",
            "keep=3",
            "databases=postgresql/cairn_no_such_db",
        ],
    );
    assert_eq!(
        configured.result["first_backup_due"], true,
        "{}",
        configured.stdout
    );
    let (out, _) = run_fails("s3", &["action=first_backup"]);
    assert!(
        out.contains(
            "the dump of postgresql database cairn_no_such_db failed, so no backup was made"
        ) && out.contains("does not exist"),
        "{out}"
    );
    assert_eq!(detect("s3")["snapshots"].as_array().unwrap().len(), 1);
    reset("s3");
}

#[test]
fn a_mariadb_database_dumped_by_the_backup_is_restored_into_a_new_database_with_the_same_rows() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    if !dpkg_installed("mariadb-server") {
        run("mysql", &["db_name=cairn_e2e", "user=cairn_e2e_user"]);
    }
    let _server = Server::keep("mariadb", || {
        sh("mariadb", &["--no-defaults", "-e", "SELECT 1"]).0
    });
    round_trip(&MYSQL);
}
