//! `recipes/postgresql.rhai` end to end on this machine (as root): a fresh install through
//! `cairn-recipe run`, the connection string it returns works with psql, the password is on no
//! command line (sampled every 50 ms) and in no server log, a second run changes nothing, a
//! second database on the installed server works. Plans for every supported system.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use std::path::Path;

const PARAMS: &[&str] = &["db_name=cairn_e2e", "user=cairn_e2e_user"];

fn psql_url(url: &str, sql: &str) -> (bool, String) {
    sh("psql", &[url, "-X", "-tA", "-c", sql])
}

/// The same connection string for another database.
fn with_db(url: &str, db: &str) -> String {
    let (base, _) = url.rsplit_once('/').unwrap();
    format!("{base}/{db}")
}

fn password_of(url: &str) -> String {
    // postgresql://USER:PW@127.0.0.1:5432/DB
    let rest = url.strip_prefix("postgresql://").unwrap();
    let (userinfo, _) = rest.split_once('@').unwrap();
    userinfo.split_once(':').unwrap().1.to_owned()
}

/// Removes the server (and its cluster) so that the first run really installs it. Clients and
/// postgresql-common stay.
fn purge_server() {
    if Path::new("/usr/bin/pg_lsclusters").exists() {
        let clusters = must("pg_lsclusters", &["--no-header"]);
        for line in clusters.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() >= 2 {
                must("pg_dropcluster", &["--stop", f[0], f[1]]);
            }
        }
    }
    let installed = sh(
        "dpkg-query",
        &["-W", "-f", "${Package}\n", "postgresql-[0-9]*"],
    )
    .1;
    let mut args = vec!["purge", "-y", "postgresql"];
    for p in installed.lines().filter(|p| !p.contains("client")) {
        args.push(p.trim());
    }
    apt_get(&args);
    assert!(
        sh("dpkg-query", &["-W", "-f", "${Status}", "postgresql"])
            .1
            .find(" installed")
            .is_none()
    );
}

#[test]
fn postgresql_installs_creates_a_database_and_keeps_the_password_secret() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    purge_server();

    let sampler = CmdlineSampler::start();
    let first = run("postgresql", PARAMS);
    let (cmdlines, samples) = sampler.finish();
    eprintln!("{}", first.stdout);
    assert!(first.changed(), "{}", first.stdout);
    assert!(first.stdout.contains("$ apt-get"), "{}", first.stdout);
    let url = first.result["connection_string"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        url.starts_with("postgresql://cairn_e2e_user:")
            && url.ends_with("@127.0.0.1:5432/cairn_e2e"),
        "{url}"
    );
    let pw = password_of(&url);
    assert_eq!(pw.len(), 24);
    assert!(samples > 20, "the sampler ran only {samples} times");
    // The console masks the password everywhere but the final result line.
    for l in first.console() {
        assert!(!l.contains(&pw), "the password is on the console: {l}");
    }
    assert_secret_absent(&pw, &cmdlines, &["/var/log/postgresql"]);

    let (ok, out) = psql_url(&url, "select 1");
    assert!(ok && out.trim() == "1", "{out}");
    let (ok, out) = psql_url(&url, "select current_user || ' ' || current_database()");
    assert!(ok && out.trim() == "cairn_e2e_user cairn_e2e", "{out}");

    // Listens on the loopback addresses only.
    let listen = must("ss", &["-H", "-l", "-t", "-n", "sport = :5432"]);
    for l in listen.lines() {
        assert!(
            l.contains("127.0.0.1:5432") || l.contains("[::1]:5432"),
            "{listen}"
        );
    }

    // detect() agrees with psql itself.
    let d = assert_detected("postgresql", &version_output("psql", &["--version"]));
    assert_eq!(d["running"], true);

    // Same parameters again: nothing to do, no new password.
    let second = run("postgresql", PARAMS);
    assert_nothing_changed(&second);
    assert!(
        second.result.get("connection_string").is_none(),
        "{}",
        second.stdout
    );
    let (ok, _) = psql_url(&url, "select 1");
    assert!(ok, "the second run changed the password");

    // A second database and user on the installed server.
    let sampler = CmdlineSampler::start();
    let other = run(
        "postgresql",
        &["db_name=cairn_e2e_two", "user=cairn_e2e_two"],
    );
    let (cmdlines, _) = sampler.finish();
    assert!(other.changed());
    assert!(!other.stdout.contains("$ apt-get"), "{}", other.stdout);
    let url2 = other.result["connection_string"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_secret_absent(&password_of(&url2), &cmdlines, &["/var/log/postgresql"]);
    let (ok, out) = psql_url(&url2, "select current_database()");
    assert!(ok && out.trim() == "cairn_e2e_two", "{out}");
    // Databases are closed to other users.
    let wrong = with_db(&url2, "cairn_e2e");
    let (ok, out) = psql_url(&wrong, "select 1");
    assert!(!ok, "user two reached database one: {out}");

    // An existing user, a new database: no password is shown, the old one works there.
    let third = run(
        "postgresql",
        &["db_name=cairn_e2e_three", "user=cairn_e2e_user"],
    );
    assert!(third.changed());
    assert!(
        third.result.get("connection_string").is_none(),
        "{}",
        third.stdout
    );
    let (ok, out) = psql_url(&with_db(&url, "cairn_e2e_three"), "select 1");
    assert!(ok, "{out}");
}

#[test]
fn postgresql_plans_for_every_supported_system() {
    let _machine = common::machine_lock();
    let plans = plan_everywhere("postgresql", PARAMS);
    for (label, plan) in &plans {
        // Planned on this machine: what is installed here decides the steps. The SQL is always
        // on stdin, never in the arguments.
        if plan.contains("nothing to change") {
            continue;
        }
        assert!(plan.contains("(with input on stdin)"), "{label}: {plan}");
        assert!(!plan.contains("PASSWORD"), "{label}: {plan}");
    }
    let bad = plan(
        "postgresql",
        &["db_name=x; DROP ROLE postgres", "user=u"],
        &fedora(),
    );
    assert!(bad.is_err());
    let bad = plan(
        "postgresql",
        &["db_name=postgres", "user=u"],
        &workspace().join("engine/tests/data/os-release-debian12"),
    )
    .unwrap_err();
    assert!(bad.contains("db_name"), "{bad}");
}
