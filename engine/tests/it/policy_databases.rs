//! The argument policies of the database programs (threats.md row 30): GTFOBins' shell, command,
//! file-write and library-load entries and the server-side ways to run programs or load code
//! are refused before anything starts, whether they come in options, in `-c`/`-e` text or on
//! stdin, hidden in multi-statement input, comments or odd casing; what the shipped recipes send
//! is allowed (their exact statements are copied here).
#![allow(clippy::unwrap_used)]

use crate::util::dbpolicy;

use cairn_engine::Capabilities;
use cairn_engine::host::policy;
use dbpolicy::{PW, allowed, check, refused};

// ---------- psql ----------

const PSQL: &[&str] = &[
    "-X",
    "-q",
    "-h",
    "/run/postgresql",
    "-U",
    "postgres",
    "-d",
    "postgres",
    "-v",
    "ON_ERROR_STOP=1",
];

fn psql_stdin(sql: &str) -> Result<(), String> {
    check("psql", PSQL, Some(sql), &[])
}

fn psql_c(sql: &str) -> Result<(), String> {
    check(
        "psql",
        &[
            "-X",
            "-h",
            "/run/postgresql",
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-tA",
            "-c",
            sql,
        ],
        None,
        &[],
    )
}

#[test]
fn what_the_postgresql_recipe_sends_is_allowed() {
    allowed("psql", &["--version"], None);
    allowed(
        "pg_isready",
        &["-h", "/run/postgresql", "-p", "5432", "-U", "postgres"],
        None,
    );
    for action in ["start", "restart", "reload", "stop", "status"] {
        allowed("pg_ctlcluster", &["15", "main", action], None);
    }
    let quiet = "SET log_statement = 'none';\nSET password_encryption = 'scram-sha-256';\n\
                 SET log_min_error_statement = 'panic';\n\
                 SET log_min_duration_statement = -1;\nSET track_activities = off;\n";
    for sql in [
        format!("{quiet}CREATE ROLE app_user LOGIN PASSWORD '{PW}';\n"),
        format!("{quiet}CREATE DATABASE app OWNER app_user;\nREVOKE ALL ON DATABASE app FROM PUBLIC;\n"),
        format!("{quiet}ALTER SYSTEM SET listen_addresses = 'localhost';\nALTER SYSTEM SET password_encryption = 'scram-sha-256';\n"),
        // Day 2 (issue 17): rotate, grant, drop.
        format!("{quiet}ALTER ROLE app_user PASSWORD '{PW}';\n"),
        "GRANT CONNECT, TEMPORARY ON DATABASE app TO app_user;\nDROP DATABASE IF EXISTS app WITH (FORCE);\nDROP ROLE IF EXISTS app_user;".into(),
        "BEGIN; ALTER DATABASE app OWNER TO app_user; COMMIT;".into(),
    ] {
        psql_stdin(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    for sql in [
        "SELECT 'cairn' || ':up'",
        "SELECT 'cairn' || ':found' FROM pg_roles WHERE rolname = 'app_user'",
        "SELECT 'cairn' || ':found' FROM pg_database WHERE datname = 'app'",
        "SELECT 'cairn' || ':found' FROM pg_file_settings WHERE name = 'listen_addresses' AND sourcefile LIKE '%postgresql.auto.conf'",
        "SELECT pg_reload_conf()",
        "SELECT 'cairn' || ':found' FROM pg_settings WHERE name = 'listen_addresses' AND setting <> 'localhost'",
        "SELECT 'cairn' || ':found' FROM pg_file_settings WHERE sourcefile LIKE '%/postgresql.auto.conf' AND ((name = 'listen_addresses' AND setting = 'localhost') OR (name = 'password_encryption' AND setting = 'scram-sha-256')) HAVING count(*) = 2",
        "SELECT d.datname, pg_get_userbyid(d.datdba), pg_size_pretty(pg_database_size(d.datname)) FROM pg_database d WHERE NOT d.datistemplate ORDER BY 1",
        "SELECT rolname FROM pg_roles WHERE rolname NOT LIKE 'pg_%'",
        // A keyword or a `;` inside a literal or a quoted name is text, not a statement.
        "SELECT 'COPY x TO PROGRAM ''touch /tmp/x''; LOAD ''x'''",
        "SELECT \"COPY\" FROM (SELECT 1 AS \"COPY\") s",
        "SELECT count(*)::text FROM pg_roles WHERE rolname IN (SELECT 'a')",
    ] {
        psql_c(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

#[test]
fn psql_meta_commands_are_refused_on_stdin_and_in_dash_c() {
    for meta in [
        "\\! touch /tmp/cairn-marker",
        "SELECT 1;\n\\! touch /tmp/cairn-marker",
        "\\o |touch /tmp/cairn-marker",
        "SELECT 1 \\g |sh",
        "SELECT 1 \\w |sh",
        "\\copy (select 1) to program 'sh'",
        "\\setenv PAGER 'sh -c id'",
        "\\e",
        "\\i /tmp/evil.sql",
        "\\ir evil.sql",
        "SELECT 'CREATE ROLE x' \\gexec",
        "\\?",
        "SELECT 'a\\'; \\! sh; SELECT '",
    ] {
        refused("psql", PSQL, Some(meta), "backslash");
        refused("psql", &["-X", "-c", meta], None, "backslash");
    }
    refused("psql", &["-Xc", "\\! sh"], None, "backslash");
    refused("psql", &["-X", "--command=\\! sh"], None, "backslash");
}

#[test]
fn psql_sql_that_runs_programs_or_loads_code_on_the_server_is_refused() {
    for (sql, why) in [
        (
            "COPY (SELECT 1) TO PROGRAM 'touch /tmp/cairn-marker'",
            "`COPY` statements are not",
        ),
        ("copy t from program 'id'", "`COPY` statements"),
        ("  CoPy\t(select 1)\nTO PROGRAM 'id'", "`COPY` statements"),
        ("SELECT 1; COPY t TO PROGRAM 'id'", "statement 2"),
        ("SELECT 'a;b'; COPY t TO PROGRAM 'id'", "statement 2"),
        (
            "SELECT 1 -- ; harmless\n; COPY t TO PROGRAM 'id'",
            "statement 2",
        ),
        ("/* SELECT */ COPY t TO PROGRAM 'id'", "`COPY`"),
        ("/* /* */ */ COPY t TO PROGRAM 'id'", "`COPY`"),
        ("/* /* */ COPY t TO PROGRAM 'id'", "never ends"),
        ("SELECT (1; COPY t TO PROGRAM 'id')", "`COPY`"),
        (
            "ALTER SYSTEM SET archive_command = 'touch /tmp/x'",
            "listen_addresses, password_encryption",
        ),
        (
            "alter system set shared_preload_libraries = '/tmp/x.so'",
            "ALTER SYSTEM may only",
        ),
        (
            "ALTER SYSTEM SET ssl_passphrase_command = 'sh'",
            "ALTER SYSTEM may only",
        ),
        ("LOAD '/tmp/evil.so'", "`LOAD` statements"),
        (
            "ALTER ROLE app SET session_preload_libraries = '/tmp/x'",
            "per-role settings",
        ),
        (
            "ALTER USER app IN DATABASE app SET local_preload_libraries = 'x'",
            "`IN`",
        ),
        (
            "ALTER DATABASE app SET session_preload_libraries = 'x'",
            "per-database settings",
        ),
        (
            "SET session_preload_libraries = '/tmp/x.so'",
            "SET may only",
        ),
        ("SET search_path = evil, pg_catalog", "SET may only"),
        (
            "CREATE FUNCTION sys(cstring) RETURNS int AS '/lib/x86_64-linux-gnu/libc.so.6', 'system' LANGUAGE c STRICT",
            "`CREATE FUNCTION`",
        ),
        ("CREATE EXTENSION plpython3u", "`CREATE EXTENSION`"),
        ("CREATE LANGUAGE plperlu", "`CREATE LANGUAGE`"),
        ("DO 'BEGIN PERFORM 1; END'", "`DO`"),
        (
            "DO $$ BEGIN EXECUTE 'COPY t TO PROGRAM ''id'''; END $$",
            "`$`",
        ),
        ("SELECT $1", "`$`"),
        ("PREPARE p AS SELECT 1", "`PREPARE`"),
        ("CALL evil()", "`CALL`"),
        (
            "SELECT lo_export(lo_from_bytea(0, 'x'), '/tmp/x')",
            "function `lo_export`",
        ),
        (
            "SELECT pg_catalog.lo_export(1, '/etc/cron.d/x')",
            "`pg_catalog.lo_export`",
        ),
        ("SELECT LO_EXPORT (1, '/tmp/x')", "`LO_EXPORT`"),
        ("SELECT lo_export/**/(1, '/tmp/x')", "`lo_export`"),
        ("SELECT \"lo_export\"(1, '/tmp/x')", "quoted name"),
        ("SELECT public.count(1)", "`public.count`"),
        (
            "SELECT query_to_xml('COPY t TO PROGRAM ''id''', true, true, '')",
            "`query_to_xml`",
        ),
        ("SELECT ts_stat('COPY t TO PROGRAM ''id''')", "`ts_stat`"),
        ("SELECT pg_read_file('/etc/shadow')", "`pg_read_file`"),
        (
            "SELECT dblink_exec('dbname=postgres', 'COPY t TO PROGRAM ''id''')",
            "`dblink_exec`",
        ),
        ("SELECT * INTO evil FROM pg_roles", "INTO"),
        ("SELECT :'var'", "psql variable"),
        ("SELECT :var", "psql variable"),
        ("SELECT U&'!0041' UESCAPE '!'", "Unicode escape"),
    ] {
        let e = psql_stdin(sql)
            .err()
            .unwrap_or_else(|| panic!("allowed: {sql}"));
        assert!(e.contains(why), "{sql}: expected “{why}” in: {e}");
        let e = psql_c(sql)
            .err()
            .unwrap_or_else(|| panic!("allowed in -c: {sql}"));
        assert!(e.contains(why), "-c {sql}: expected “{why}” in: {e}");
    }
}

#[test]
fn psql_roles_cannot_be_given_the_servers_power() {
    for (sql, why) in [
        ("CREATE ROLE x SUPERUSER LOGIN PASSWORD 'p'", "`SUPERUSER`"),
        ("CREATE USER x WITH LOGIN CREATEROLE", "`CREATEROLE`"),
        ("ALTER ROLE x REPLICATION", "`REPLICATION`"),
        ("CREATE ROLE x IN ROLE pg_execute_server_program", "`IN`"),
        ("CREATE ROLE x ROLE postgres", "`ROLE`"),
        (
            "GRANT pg_execute_server_program TO x",
            "never membership in a role",
        ),
        ("GRANT postgres TO x", "never membership"),
        (
            "GRANT pg_write_server_files, pg_read_server_files TO x",
            "never membership",
        ),
        (
            "ALTER ROLE postgres PASSWORD 'known'",
            "`postgres` is PostgreSQL's own",
        ),
        ("ALTER USER \"postgres\" PASSWORD 'known'", "`postgres`"),
        ("ALTER ROLE CURRENT_USER PASSWORD 'known'", "`current_user`"),
        ("DROP ROLE pg_monitor", "`pg_monitor`"),
        (
            "GRANT EXECUTE ON FUNCTION pg_read_file(text) TO x",
            "never membership",
        ),
        (
            "GRANT SET ON PARAMETER archive_command TO x",
            "never membership",
        ),
        ("GRANT ALL ON LANGUAGE c TO x", "`LANGUAGE`"),
        ("GRANT ALL ON FUNCTION f() TO x", "`FUNCTION`"),
        ("GRANT ALL ON LARGE OBJECT 1 TO x", "`LARGE`"),
        ("GRANT UPDATE ON pg_authid TO x", "`pg_authid`"),
        (
            "GRANT ALL ON TABLE pg_catalog.pg_authid TO x",
            "`pg_catalog.pg_authid`",
        ),
        ("GRANT CREATE ON SCHEMA pg_catalog TO x", "system catalogs"),
        (
            "GRANT SELECT ON ALL TABLES IN SCHEMA information_schema TO x",
            "system catalogs",
        ),
        (
            "ALTER DATABASE template1 OWNER TO x",
            "`template1` is PostgreSQL's own",
        ),
        ("DROP DATABASE postgres", "`postgres` is PostgreSQL's own"),
    ] {
        let e = psql_stdin(sql)
            .err()
            .unwrap_or_else(|| panic!("allowed: {sql}"));
        assert!(e.contains(why), "{sql}: expected “{why}” in: {e}");
    }
}

#[test]
fn psql_options_that_read_run_or_write_files_are_refused() {
    refused(
        "psql",
        &["-h", "/run/postgresql", "-c", "SELECT 1"],
        None,
        "-X",
    );
    for (args, why) in [
        (&["-X", "-f", "/tmp/evil.sql"][..], "`-f`"),
        (&["-X", "-o", "/tmp/out"], "`-o`"),
        (&["-X", "-L", "/tmp/log"], "`-L`"),
        (&["-X", "--log-file=/tmp/log"], "`--log-file`"),
        (&["-X", "--output", "/tmp/out"], "`--output`"),
        (&["-X", "-P", "pager=always"], "`-P`"),
        (&["-X", "--pset=pager=always"], "`--pset`"),
        (&["-X", "--no-psql", "-c", "SELECT 1"], "`--no-psql`"),
        (&["-X", "-v", "PAGER=sh"], "ON_ERROR_STOP"),
        (&["-X", "--set=PROMPT1=%`id`"], "ON_ERROR_STOP"),
        (
            &[
                "-X",
                "-d",
                "host=/tmp options='-c session_preload_libraries=/tmp/x.so'",
            ],
            "connection string",
        ),
        (
            &[
                "-X",
                "-d",
                "postgresql://postgres@/postgres?options=-csession_preload_libraries%3D/tmp/x",
            ],
            "connection string",
        ),
        (&["-X", "-h", "db.example.org"], "loopback"),
        (&["-X", "postgres"], "other arguments"),
        (&["-X", "--", "-c"], "`--`"),
        (&["-Xf", "/tmp/evil.sql"], "`-f`"),
    ] {
        refused("psql", args, None, why);
    }
    for var in ["PAGER", "PSQL_PAGER", "PSQLRC", "PGOPTIONS", "PSQL_EDITOR"] {
        let e = check("psql", &["-X", "-c", "SELECT 1"], None, &[(var, "sh")]).unwrap_err();
        assert!(e.contains(var), "{e}");
    }
}

#[test]
fn pg_isready_and_pg_ctlcluster_do_only_what_they_are_for() {
    refused(
        "pg_isready",
        &[
            "-d",
            "host=/run/postgresql options='-c session_preload_libraries=/tmp/x.so'",
        ],
        None,
        "connection string",
    );
    refused("pg_isready", &["-h", "10.0.0.1"], None, "loopback");
    refused("pg_isready", &["postgres"], None, "no operands");
    refused(
        "pg_isready",
        &["-h", "/run/postgresql"],
        Some("x"),
        "standard input",
    );
    for args in [
        &[
            "15",
            "main",
            "start",
            "--",
            "-c",
            "shared_preload_libraries=/tmp/x.so",
        ][..],
        &["-o", "-c archive_command=id", "15", "main", "start"],
        &["--options=-c archive_command=id", "15", "main", "restart"],
        &["15", "main", "promote"],
        &["15", "../../tmp/x", "start"],
        &["15", "main"],
    ] {
        refused("pg_ctlcluster", args, None, "exactly a version");
    }
}

#[test]
fn pg_dropcluster_may_only_drop_one_named_cluster_with_or_without_stop() {
    // The uninstall action of recipes/postgresql.rhai sends the first form.
    allowed("pg_dropcluster", &["--stop", "15", "main"], None);
    allowed("pg_dropcluster", &["15", "main"], None);
    for args in [
        // Other options, or --stop elsewhere or twice.
        &["--stop-server", "15", "main"][..],
        &["-s", "15", "main"],
        &["--stop", "--stop", "15", "main"],
        &["15", "main", "--stop"],
        &["--", "15", "main"],
        // A version that is not digits, a cluster that is not an identifier.
        &["--stop", "15.2", "main"],
        &["--stop", "x15", "main"],
        &["--stop", "15", "../../etc"],
        &["--stop", "15", "main cluster"],
        &["--stop", "15", "-main"],
        &["--stop", "15", ""],
        // Missing or extra operands.
        &["--stop", "15"],
        &["15"],
        &[],
        &["--stop", "15", "main", "other"],
    ] {
        refused(
            "pg_dropcluster",
            args,
            None,
            "exactly [--stop] VERSION CLUSTER",
        );
    }
    refused(
        "pg_dropcluster",
        &["--stop", "15", "main"],
        Some("x"),
        "standard input",
    );
}

#[test]
fn the_catalogue_says_what_each_database_program_can_do() {
    let caps = Capabilities::default();
    assert!(policy::describe("psql", &caps).contains("PostgreSQL superuser"));
    assert!(policy::describe("/usr/bin/mariadb", &caps).contains("MariaDB root"));
    assert!(policy::describe("mysql", &caps).contains("MariaDB root"));
    assert!(policy::describe("redis-cli", &caps).contains("ACL users"));
    assert!(policy::describe("redis-server", &caps).contains("version"));
    assert!(policy::describe("pg_ctlcluster", &caps).contains("cluster"));
    assert!(policy::describe("pg_dropcluster", &caps).contains("deletes a PostgreSQL cluster"));
    assert!(policy::describe("pg_isready", &caps).contains("accepts connections"));
}
