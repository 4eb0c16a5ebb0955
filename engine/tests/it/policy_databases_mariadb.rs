//! The MariaDB client's argument policy (threats.md row 30): its shell (`\!`, `system`), file
//! (`source`, `tee`, `pager`, `--init-command`) and library-load (`--plugin-dir`,
//! `--default-auth`) entries and the server's file-writing and code-loading statements are
//! refused, in `-e` and on stdin, behind comments, version comments and odd casing; what the
//! shipped `mysql.rhai` sends is allowed.
#![allow(clippy::unwrap_used)]

use crate::util::dbpolicy;

use dbpolicy::{PW, allowed, refused};

const BATCH: &[&str] = &["--no-defaults", "--batch"];

fn e(sql: &str) -> Vec<&str> {
    vec!["--no-defaults", "--batch", "--skip-column-names", "-e", sql]
}

#[test]
fn what_the_mysql_recipe_sends_is_allowed() {
    for client in ["mariadb", "mysql", "/usr/bin/mariadb"] {
        allowed(client, &["--no-defaults", "--version"], None);
        for sql in [
            "SELECT CONCAT('cairn', ':found')",
            "SELECT CONCAT('cairn', ':up')",
            "SELECT CONCAT('cairn', ':found') FROM mysql.user WHERE User = 'app_user'",
            "SELECT CONCAT('cairn', ':found') FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'app'",
            // Day 2 (issue 17): sizes, grants.
            "SELECT table_schema, SUM(data_length + index_length) FROM information_schema.tables GROUP BY table_schema",
            "SHOW GRANTS FOR 'app_user'@'localhost'",
            "SHOW DATABASES",
        ] {
            allowed(client, &e(sql), None);
        }
        for stdin in [
            format!(
                "SET SESSION sql_log_off = 1;\nCREATE USER 'app_user'@'localhost' IDENTIFIED BY '{PW}';\n\
                 CREATE USER 'app_user'@'127.0.0.1' IDENTIFIED BY '{PW}';\n"
            ),
            "SET SESSION sql_log_off = 1;\nCREATE DATABASE app CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;\n\
             GRANT ALL PRIVILEGES ON app.* TO 'app_user'@'localhost', 'app_user'@'127.0.0.1';\n"
                .to_owned(),
            format!(
                "SET SESSION sql_log_off = 1;\nALTER USER 'app_user'@'localhost' IDENTIFIED BY '{PW}';\n\
                 DROP USER IF EXISTS 'app_user'@'127.0.0.1';\nDROP DATABASE IF EXISTS app;\n\
                 REVOKE ALL PRIVILEGES ON app.* FROM 'app_user'@'localhost';\nFLUSH PRIVILEGES;\n"
            ),
            // `--` comments, `#` comments, and keywords inside literals are fine.
            "-- a comment\nSELECT 'system touch /tmp/x; INTO OUTFILE' # another\n;".to_owned(),
        ] {
            allowed(client, BATCH, Some(&stdin));
        }
    }
}

#[test]
fn client_commands_that_run_read_or_write_are_refused() {
    for (text, why) in [
        ("\\! /bin/sh", "backslash"),
        ("\\! touch /tmp/cairn-marker", "backslash"),
        ("SELECT 1;\n\\! touch /tmp/cairn-marker", "backslash"),
        ("system touch /tmp/cairn-marker", "`system`"),
        ("  SYSTEM touch /tmp/cairn-marker", "`system`"),
        ("SELECT 1;\nsystem touch /tmp/cairn-marker", "`system`"),
        ("SELECT 1; system touch /tmp/cairn-marker", "`system`"),
        ("SELECT 'a\nsystem touch /tmp/cairn-marker\n'", "`system`"),
        ("source /tmp/evil.sql", "`source`"),
        ("\\. /tmp/evil.sql", "backslash"),
        ("pager sh -c 'touch /tmp/x'", "`pager`"),
        ("tee /tmp/cairn-marker", "`tee`"),
        ("edit", "`edit`"),
        ("connect mysql db.example.org", "`connect`"),
        ("delimiter //", "`delimiter`"),
        ("SELECT 1 delimiter //", "`delimiter`"),
        ("use mysql", "`use`"),
        ("SELECT 1 \\G", "backslash"),
    ] {
        refused("mariadb", BATCH, Some(text), why);
        refused("mysql", &e(text), None, why);
    }
}

#[test]
fn server_statements_that_write_files_or_load_code_are_refused() {
    for (sql, why) in [
        ("SELECT 'x' INTO OUTFILE '/tmp/cairn-marker'", "INTO"),
        (
            "select unhex('7f454c46') into dumpfile '/usr/lib/mysql/plugin/x.so'",
            "`unhex`",
        ),
        (
            "select 0x7f454c46 into dumpfile '/usr/lib/mysql/plugin/x.so'",
            "INTO",
        ),
        ("SELECT 1 INTO @v", "INTO"),
        ("SELECT 1 PROCEDURE ANALYSE()", "PROCEDURE"),
        (
            "LOAD DATA INFILE '/etc/shadow' INTO TABLE t",
            "`LOAD` statements",
        ),
        (
            "LOAD DATA LOCAL INFILE '/root/.ssh/id_rsa' INTO TABLE t",
            "`LOAD`",
        ),
        (
            "CREATE FUNCTION sys_exec RETURNS string SONAME 'lib_mysqludf_sys.so'",
            "`CREATE` statements",
        ),
        ("INSTALL PLUGIN x SONAME 'x.so'", "`INSTALL`"),
        ("install soname 'x'", "`INSTALL`"),
        (
            "SET GLOBAL general_log_file = '/var/www/x.php'",
            "sql_log_off",
        ),
        ("SET @@global.general_log = 1", "sql_log_off"),
        (
            "SET STATEMENT max_statement_time=1 FOR SELECT 1",
            "sql_log_off",
        ),
        ("SELECT LOAD_FILE('/etc/shadow')", "`LOAD_FILE`"),
        ("SELECT sys_exec('touch /tmp/x')", "`sys_exec`"),
        ("SELECT sys.format_bytes(1)", "`format_bytes`"),
        ("SELECT `load_file`('/etc/shadow')", "quoted name"),
        (
            "/*!50000 SELECT 1 INTO OUTFILE '/tmp/x' */",
            "executable comment",
        ),
        ("SELECT 1 /*!INTO OUTFILE '/tmp/x' */", "executable comment"),
        ("/*M!100000 INSTALL SONAME 'x' */", "executable comment"),
        ("SELECT 1 # ;\n; INSTALL SONAME 'x'", "statement 2"),
        ("SELECT 1 -- ;\n; INSTALL SONAME 'x'", "statement 2"),
        ("SELECT 1 /* ; */; INSTALL SONAME 'x'", "statement 2"),
        ("SELECT 'a;b'; INSTALL SONAME 'x'", "statement 2"),
        ("SELECT \"a';\"; INSTALL SONAME 'x'", "statement 2"),
        ("SELECT 1--1; INSTALL SONAME 'x'", "statement 2"),
        ("PREPARE s FROM 'SELECT 1'", "`PREPARE`"),
        ("EXECUTE s", "`EXECUTE`"),
        ("CREATE PROCEDURE p() SELECT 1", "`CREATE`"),
        (
            "CREATE EVENT e ON SCHEDULE EVERY 1 SECOND DO SELECT 1",
            "`CREATE`",
        ),
        ("HANDLER t OPEN", "`HANDLER`"),
    ] {
        refused("mariadb", BATCH, Some(sql), why);
        refused("mariadb", &e(sql), None, why);
    }
}

#[test]
fn grants_and_accounts_cannot_reach_the_server_itself() {
    for (sql, why) in [
        ("GRANT ALL ON *.* TO 'x'@'%'", "`*.*`"),
        ("GRANT FILE ON *.* TO x", "`FILE`"),
        ("GRANT SUPER, FILE ON *.* TO x", "`SUPER`"),
        ("GRANT ALL ON mysql.* TO x", "system schemas"),
        ("GRANT ALL ON mysql.user TO x", "system schemas"),
        ("GRANT ALL ON mysq_.* TO x", "system schemas"),
        ("GRANT ALL ON `my%`.* TO x", "wildcards"),
        ("GRANT INSERT ON `mysql`.`func` TO x", "system schemas"),
        ("GRANT PROXY ON 'root'@'localhost' TO x", "`PROXY`"),
        ("GRANT admin_role TO x", "`admin_role`"),
        ("GRANT ALL ON app.* TO x IDENTIFIED BY 'p'", "goes on"),
        ("GRANT EXECUTE ON FUNCTION app.f TO x", "GRANT needs"),
        (
            "ALTER USER 'root'@'localhost' IDENTIFIED BY 'known'",
            "`root`",
        ),
        (
            "ALTER USER root@localhost IDENTIFIED VIA mysql_native_password",
            "`root`",
        ),
        (
            "SET PASSWORD FOR root@localhost = PASSWORD('known')",
            "`root`",
        ),
        ("DROP USER 'mariadb.sys'@'localhost'", "`mariadb.sys`"),
        (
            "CREATE USER x IDENTIFIED VIA ed25519 USING PASSWORD('p')",
            "IDENTIFIED BY only",
        ),
        (
            "CREATE USER x IDENTIFIED WITH auth_socket",
            "IDENTIFIED BY only",
        ),
        ("DROP DATABASE mysql", "system schemas"),
    ] {
        refused("mariadb", BATCH, Some(sql), why);
    }
}

#[test]
fn client_options_that_run_programs_load_plugins_or_read_option_files_are_refused() {
    refused(
        "mariadb",
        &["--batch", "-e", "SELECT 1"],
        None,
        "--no-defaults as its first",
    );
    refused(
        "mariadb",
        &["--batch", "--no-defaults"],
        None,
        "--no-defaults as its first",
    );
    refused("mysql", &[], Some("SELECT 1"), "--no-defaults as its first");
    for (args, why) in [
        (&["--pager=/bin/sh"][..], "`--pager`"),
        (&["--pag=/bin/sh"], "`--pag`"),
        (&["--tee=/tmp/x"], "`--tee`"),
        (&["--init-command=system id"], "`--init-command`"),
        (&["--plugin-dir=/tmp"], "`--plugin-dir`"),
        (&["--default-auth=../../../../tmp/evil"], "`--default-auth`"),
        (&["--defaults-file=/tmp/evil.cnf"], "`--defaults-file`"),
        (
            &["--defaults-extra-file=/tmp/evil.cnf"],
            "`--defaults-extra-file`",
        ),
        (&["--load-data-local-dir=/"], "`--load-data-local-dir`"),
        (&["--local-infile=1"], "`--local-infile`"),
        (&["-p", "secret"], "`-p`"),
        (&["--password=secret"], "`--password`"),
        (&["--exec=SELECT 1"], "`--exec`"),
        (&["-h", "db.example.org"], "loopback"),
        (&["mysql"], "other arguments"),
        (&["-BNe", "\\! sh"], "backslash"),
        (&["--execute=system id"], "`system`"),
    ] {
        let mut full = vec!["--no-defaults"];
        full.extend_from_slice(args);
        refused("mariadb", &full, None, why);
    }
    let e = dbpolicy::check("mariadb", BATCH, Some("SELECT 1"), &[("MYSQL_PWD", "x")]).unwrap_err();
    assert!(e.contains("MYSQL_PWD"), "{e}");
    let e = dbpolicy::check(
        "mariadb",
        BATCH,
        Some("SELECT 1"),
        &[("LIBMYSQL_PLUGIN_DIR", "/tmp")],
    )
    .unwrap_err();
    assert!(e.contains("LIBMYSQL_PLUGIN_DIR"), "{e}");
}
