//! Queries change nothing ("plan mode executes nothing"): `detect()` and `wait_for()` run for
//! real even in a plan and in every status request, so a policed program may run there only in
//! a form that reads. A recipe that tried `detect("rm", …)` or `detect("pg_ctlcluster",
//! [v, "main", "stop"])` made a preview (or the dashboard's status) delete a file or stop a
//! database; now such a query is refused before anything starts, and the same call through
//! `run()` still works in a real run.

use crate::util;

use util::{plan, recipe, run};

fn query_error(programs: &str, paths: &str, body: &str) -> String {
    let r = recipe(programs, paths, body);
    plan(&r, serde_json::json!({})).error().to_owned()
}

#[test]
fn queries_that_would_change_files_are_refused_and_change_nothing() {
    let dir = util::tempdir();
    let allowed = dir.path().join("allowed");
    std::fs::create_dir_all(&allowed).unwrap();
    let victim = allowed.join("victim");
    std::fs::write(&victim, "keep me").unwrap();
    let paths = format!(r#"["{}"]"#, allowed.display());
    let v = victim.display().to_string();
    for (program, call) in [
        ("rm", format!(r#"detect("rm", ["-f", "--", "{v}"], "x")"#)),
        ("chmod", format!(r#"detect("chmod", ["0600", "{v}"], "x")"#)),
        ("touch", format!(r#"detect("touch", ["{v}.new"], "x")"#)),
        (
            "ln",
            format!(r#"detect("ln", ["-sfn", "{v}", "{v}.link"], "x")"#),
        ),
        (
            "rm",
            format!(r#"wait_for("rm", ["-f", "--", "{v}"], "x", 1)"#),
        ),
    ] {
        let e = query_error(&format!(r#"["{program}"]"#), &paths, &call);
        assert!(
            e.contains(&format!("{program} changes the server"))
                && e.contains("may only ask questions")
                && e.contains("nothing was started"),
            "{call}: {e}"
        );
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    assert!(!allowed.join("victim.new").exists() && !allowed.join("victim.link").exists());
    // The same change through run() in a real run still works.
    let r = recipe(
        r#"["rm"]"#,
        &paths,
        &format!(r#"run("rm", ["-f", "--", "{v}"]);"#),
    );
    run(&r, serde_json::json!({})).value();
    assert!(!victim.exists());
}

#[test]
fn database_queries_may_only_read() {
    let sock = "/var/run/postgresql";
    for (programs, call, why) in [
        (
            r#"["pg_ctlcluster"]"#,
            r#"detect("pg_ctlcluster", ["15", "main", "stop"], "x")"#.to_owned(),
            "starts or stops the server",
        ),
        (
            r#"["pg_dropcluster"]"#,
            r#"detect("pg_dropcluster", ["--stop", "15", "main"], "x")"#.to_owned(),
            "pg_dropcluster changes the server",
        ),
        (
            r#"["psql"]"#,
            format!(
                r#"detect("psql", ["-X", "-h", "{sock}", "-U", "postgres", "-c", "SELECT 1; DROP DATABASE app"], "x")"#
            ),
            "statement 2, changes the server",
        ),
        (
            r#"["psql"]"#,
            format!(
                r#"detect("psql", ["-X", "-h", "{sock}", "-U", "postgres", "-c", "ALTER ROLE app PASSWORD 'x'"], "x")"#
            ),
            "changes the server",
        ),
        (
            r#"["mariadb"]"#,
            r#"detect("mariadb", ["--no-defaults", "-e", "DROP USER app"], "x")"#.to_owned(),
            "changes the server",
        ),
        (
            r#"["mariadb"]"#,
            r#"detect("mariadb", ["--no-defaults", "-e", "SET PASSWORD FOR app = PASSWORD('x')"], "x")"#
                .to_owned(),
            "changes the server",
        ),
        (
            r#"["redis-cli"]"#,
            r#"detect("redis-cli", ["-h", "127.0.0.1", "CONFIG", "SET", "maxmemory", "1mb"], "x")"#
                .to_owned(),
            "`CONFIG SET` changes the server",
        ),
        (
            r#"["redis-cli"]"#,
            r#"wait_for("redis-cli", ["-h", "127.0.0.1", "ACL", "DELUSER", "app"], "x", 1)"#
                .to_owned(),
            "`ACL DELUSER` changes the server",
        ),
    ] {
        let e = query_error(programs, "[]", &call);
        assert!(e.contains(why) && e.contains("nothing was started"), "{call}: {e}");
    }
    // Reading forms are queries as before (the programs may be missing here: `()` then).
    for (programs, call) in [
        (
            r#"["pg_ctlcluster"]"#,
            r#"detect("pg_ctlcluster", ["15", "main", "status"], "x")"#.to_owned(),
        ),
        (
            r#"["psql"]"#,
            format!(
                r#"detect("psql", ["-X", "-h", "{sock}", "-U", "postgres", "-tA", "-c", "SELECT 'cairn' || ':up'"], "x")"#
            ),
        ),
        (
            r#"["mariadb"]"#,
            r#"detect("mariadb", ["--no-defaults", "-e", "SHOW DATABASES"], "x")"#.to_owned(),
        ),
        (
            r#"["redis-cli"]"#,
            r#"detect("redis-cli", ["-h", "127.0.0.1", "ACL", "LIST"], "x")"#.to_owned(),
        ),
    ] {
        let r = recipe(programs, "[]", &format!("{call}; 1"));
        plan(&r, serde_json::json!({})).value();
    }
}
