//! The recipes on a real Debian 11 system (issue 5, "the same suite in a Debian 11 chroot"):
//! for each recipe, a fresh bullseye system (`cairn_e2e::debian11`), `cairn-recipe run` built
//! for glibc 2.31 inside it; `detect()` reports it installed with the version the program
//! itself prints; a second run starts no command and reports `"changed": false`.
//!
//! It also measures: the same apt-get commands the recipe runs (read from `cairn-recipe plan
//! --json` on a fresh copy), alone, in another fresh copy; the ratio goes to BENCHMARKS.md.
//!
//! The databases (PostgreSQL, MariaDB, Redis with an ACL user) return a connection string
//! whose generated password must appear on no `/proc/*/cmdline` sampled every 50 ms while the
//! recipe runs, in no file under the system's `/var/log`, and nowhere in the recipe's console.
//! The backups (rsync over SSH, S3 with restic) are in [`backups`]; Docker's `uninstall` action
//! (keeping its data, then deleting it) in [`docker_uninstall`].
//!
//! Every recipe is also held to the four findings of `cairn-recipe test` ([`findings`]): its
//! install's record against the plan made before it, `detect()` before and after, and a
//! second run's record, empty. So no recipe is installed twice for them.
//!
//! Slow (real installs from Debian's archive), so it runs only when asked:
//! `scripts/debian11-suite [RECIPE...]` (root; sets `CAIRN_DEBIAN11_SUITE=1`).

mod backups;
mod checks;
mod docker_uninstall;
mod findings;

use std::time::Instant;

use cairn_e2e::debian11::{Debian11, Run, glibc231_bin, is_root};
use cairn_e2e::repo_root;
use cairn_engine::PlannedAction;
// The cmdline sampler and the backup targets are the Debian 12 recipe tests' own (cli/).
use cairn_test_support::recipe_run;
use cairn_test_support::secrets::{CmdlineSampler, assert_secret_absent};
use checks::{assert_connects, assert_docker, assert_password_secret};
use serde_json::Value;

/// One recipe of the suite: its parameters and the command printing the version detect()
/// must report.
struct Case {
    recipe: &'static str,
    params: &'static [&'static str],
    version_cmd: &'static str,
    /// A daemon (a database, Docker): runs in its own network namespace (this host may
    /// already have one on the same port), its packages downloaded first; the daemon (any of
    /// these names) must run inside.
    daemon: &'static [&'static str],
    /// How the daemon's own package starts it on a booted system (its maintainer script, through
    /// invoke-rc.d, which does nothing in a chroot): the bare column runs it after apt-get, so
    /// that both columns end with the daemon running, as `apt-get install` leaves it on a server.
    start: &'static str,
    /// A database returning a connection string with a generated password, which must stay
    /// secret (see the module's documentation).
    password: bool,
    /// Other files inside that must not hold the password (besides everything under /var/log).
    secret_free: &'static [&'static str],
}

/// The fields most cases share.
const RUNTIME: Case = Case {
    recipe: "",
    params: &[],
    version_cmd: "",
    daemon: &[],
    start: "",
    password: false,
    secret_free: &[],
};

const CASES: &[Case] = &[
    Case {
        recipe: "redis",
        params: &["user=cairn_d11", "prefix=d11:"],
        version_cmd: "redis-server --version",
        daemon: &["redis-server"],
        start: "service redis-server start",
        password: true,
        secret_free: &["/etc/redis"],
    },
    Case {
        recipe: "node",
        version_cmd: "node --version",
        ..RUNTIME
    },
    Case {
        recipe: "python",
        version_cmd: "python3 --version",
        ..RUNTIME
    },
    Case {
        recipe: "ruby",
        version_cmd: "ruby --version",
        ..RUNTIME
    },
    Case {
        recipe: "go",
        version_cmd: "go version",
        ..RUNTIME
    },
    Case {
        recipe: "rust",
        version_cmd: "rustc --version",
        ..RUNTIME
    },
    Case {
        recipe: "docker",
        version_cmd: "/usr/bin/docker --version",
        daemon: &["dockerd"],
        // Debian's init script stops at `ulimit -n` in this sandbox (the recipe adjusts it, see
        // recipes/docker.rhai): the bare column leaves the daemon stopped, Cairn's starts it.
        start: "",
        ..RUNTIME
    },
    Case {
        recipe: "postgresql",
        params: &["db_name=cairn_d11", "user=cairn_d11_user"],
        version_cmd: "psql --version",
        daemon: &["postgres"],
        start: "service postgresql start",
        password: true,
        secret_free: &["/etc/postgresql"],
    },
    Case {
        recipe: "mysql",
        params: &["db_name=cairn_d11", "user=cairn_d11_user"],
        version_cmd: "mariadb --version || mysql --version",
        daemon: &["mariadbd", "mysqld"],
        start: "service mariadb start",
        password: true,
        secret_free: &["/etc/mysql"],
    },
];

/// Whether the suite was asked for; prints why not otherwise.
fn wanted(recipe: &str) -> bool {
    if std::env::var("CAIRN_DEBIAN11_SUITE").as_deref() != Ok("1") {
        eprintln!("skipped: run scripts/debian11-suite (real installs in a Debian 11 system)");
        return false;
    }
    if !is_root() {
        eprintln!("skipped: needs root (chroot, mounts, apt)");
        return false;
    }
    match std::env::var("CAIRN_DEBIAN11_RECIPES") {
        Ok(list) if !list.trim().is_empty() => list.split_whitespace().any(|r| r == recipe),
        _ => true,
    }
}

/// A fresh system with `cairn-recipe` (glibc 2.31) and the recipe in /root/recipes.
fn prepare(case: &Case) -> Debian11 {
    let recipe = case.recipe;
    // A daemon runs in a network of its own; dockerd needs the cgroup hierarchies (the fresh
    // /sys has none mounted).
    let deb = Debian11::with(!case.daemon.is_empty(), recipe == "docker");
    let bin = deb.path("/usr/local/bin/cairn-recipe");
    std::fs::copy(glibc231_bin("cairn-recipe"), &bin).expect("copy cairn-recipe");
    std::fs::create_dir_all(deb.path("/root/recipes")).expect("recipes dir");
    std::fs::copy(
        repo_root().join("recipes").join(format!("{recipe}.rhai")),
        deb.path(&format!("/root/recipes/{recipe}.rhai")),
    )
    .expect("copy the recipe");
    if recipe == "mysql" {
        // root's own client options, all wrong: the recipe's `--no-defaults` must ignore them.
        std::fs::write(
            deb.path("/root/.my.cnf"),
            "[client]\nuser=cairn_nobody\npassword=not-the-password\n\
             socket=/nonexistent/cairn/mysqld.sock\n[mysql]\ndatabase=cairn_missing\n",
        )
        .expect("write ~/.my.cnf");
    }
    deb
}

fn recipe_cmd(verb: &str, case: &Case, extra: &str) -> String {
    let mut cmd = format!("cairn-recipe {verb} /root/recipes/{}.rhai", case.recipe);
    for p in case.params {
        // `file:NAME=PATH`: a secret read from a file inside, never on a command line.
        match p.strip_prefix("file:") {
            Some(f) => cmd.push_str(&format!(" --param-file {}", quote(f))),
            None => cmd.push_str(&format!(" --param {}", quote(p))),
        }
    }
    cmd.push(' ');
    cmd.push_str(extra);
    cmd
}

/// `script` inside: in its own network for a database, else with the host's.
fn inside(deb: &Debian11, case: &Case, script: &str) -> Run {
    if case.daemon.is_empty() {
        deb.bash(None, script)
    } else {
        deb.bash_isolated(script)
    }
}

/// `cairn-recipe run` inside; must succeed. Returns the run, its JSON result and seconds.
fn run(deb: &Debian11, case: &Case) -> (Run, Value, f64) {
    let start = Instant::now();
    let r = inside(
        deb,
        case,
        &recipe_cmd(
            "run",
            case,
            &format!("--timings --record {}", findings::RECORD),
        ),
    );
    let secs = start.elapsed().as_secs_f64();
    // An action's summary is headed with it (`rsync action=first_backup`).
    let label = match case.params.iter().find(|p| p.starts_with("action=")) {
        Some(a) => format!("{} {a}", case.recipe),
        None => case.recipe.to_owned(),
    };
    keep_timings(&label, &r.stderr);
    assert!(
        r.ok,
        "cairn-recipe run {} failed:\n{}",
        case.recipe,
        r.text()
    );
    let result = recipe_run::result(&r.stdout);
    (r, result, secs)
}

/// The `$ program args` lines of a console.
fn commands(r: &Run) -> Vec<String> {
    r.stdout
        .lines()
        .filter(|l| l.starts_with("$ "))
        .map(str::to_owned)
        .collect()
}

/// Quotes for bash.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The apt-get commands `cairn-recipe plan --json` lists on `deb` (read only).
fn planned_apt(deb: &Debian11, case: &Case) -> Vec<String> {
    apt_of(case, &findings::plan(deb, case))
}

/// The apt-get commands of a plan, for bash.
fn apt_of(case: &Case, plan: &[PlannedAction]) -> Vec<String> {
    let apt: Vec<String> = plan
        .iter()
        .filter_map(|a| match a {
            PlannedAction::Run { program, args, .. } if program == "apt-get" => Some(format!(
                "apt-get {}",
                args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
            )),
            _ => None,
        })
        .collect();
    assert!(
        !apt.is_empty(),
        "{} plans no apt-get: {plan:?}",
        case.recipe
    );
    apt
}

/// Downloads what `apt` will install (`apt-get -d`), with the host's network: a database's
/// own network has no route out, and for every recipe both columns of the figures then time
/// the install itself, not the archive's speed of the moment (which moved a row by up to 2×
/// between runs).
fn predownload(deb: &Debian11, case: &Case, apt: &[String]) {
    let script = apt
        .iter()
        .map(|c| c.replacen("apt-get ", "apt-get -d ", 1))
        .collect::<Vec<_>>()
        .join(" && ");
    let r = deb.bash(None, &script);
    assert!(r.ok, "download for {}: {}", case.recipe, r.text());
}

/// The apt-get commands of the recipe's plan, run alone in another fresh system (as the
/// recipe ran: packages pre-downloaded, databases in their own network), then a daemon's start
/// as its package makes it on a booted system ([`Case::start`]); their wall time in seconds.
fn bare_apt_seconds(case: &Case) -> (f64, Vec<String>) {
    let deb = prepare(case);
    let mut apt = planned_apt(&deb, case);
    predownload(&deb, case, &apt);
    if !case.start.is_empty() {
        apt.push(case.start.to_owned());
    }
    let script = format!(
        "export DEBIAN_FRONTEND=noninteractive; set -e; {}",
        apt.join("; ")
    );
    let start = Instant::now();
    let r = inside(&deb, case, &script);
    let secs = start.elapsed().as_secs_f64();
    assert!(r.ok, "bare apt-get for {}: {}", case.recipe, r.text());
    (secs, apt)
}

fn suite(recipe: &str) {
    if !wanted(recipe) {
        return;
    }
    let case = CASES.iter().find(|c| c.recipe == recipe).expect("a case");
    let deb = prepare(case);
    let before = findings::detect(&deb, recipe);
    let plan = findings::plan(&deb, case);
    let apt = apt_of(case, &plan);
    predownload(&deb, case, &apt);

    // 1. Install, every process's command line sampled meanwhile.
    let sampler = CmdlineSampler::start();
    let (first, result, cairn_secs) = run(&deb, case);
    let (cmdlines, samples) = sampler.finish();
    // The console without the result (which carries a connection string).
    eprintln!("{}", recipe_run::split(&first.stdout).0);
    findings::assert_plan_named_everything(recipe, &plan, &findings::last_done(&deb));
    assert_eq!(result["changed"], true, "{}", first.text());
    assert!(
        commands(&first).iter().any(|c| c.starts_with("$ apt-get")),
        "{}",
        first.text()
    );

    // 2. detect() says installed, with the version the program prints.
    let own = deb.bash(None, case.version_cmd);
    assert!(own.ok, "{}: {}", case.version_cmd, own.text());
    let d = &findings::detect(&deb, recipe);
    assert_eq!(d["installed"], true, "{d}");
    let version = d["version"]
        .as_str()
        .unwrap_or_else(|| panic!("no version: {d}"));
    assert!(
        own.stdout.contains(version),
        "detect() says {version}, `{}` says {}",
        case.version_cmd,
        own.stdout
    );
    findings::assert_detect_agrees(recipe, &before, d, &result, true);

    // A database's daemon runs inside this system (not the host's answering for it).
    if !case.daemon.is_empty() {
        let procs = deb.processes();
        assert!(
            procs
                .iter()
                .any(|(_, c)| case.daemon.iter().any(|d| c.contains(d))),
            "no {:?} inside: {procs:?}",
            case.daemon
        );
    }

    if case.password {
        let url = result["connection_string"]
            .as_str()
            .unwrap_or_else(|| panic!("no connection string: {result}"));
        assert_password_secret(&deb, case, url, &first, &cmdlines, samples);
        assert_connects(&deb, case, url);
    }
    if case.recipe == "mysql" {
        // The bogus ~/.my.cnf was in force: a client that reads it cannot connect.
        let plain = deb.bash_isolated("mariadb --batch -e 'SELECT 1'");
        assert!(
            !plain.ok && plain.text().contains("/nonexistent/cairn/mysqld.sock"),
            "root's ~/.my.cnf was not read: {}",
            plain.text()
        );
    }
    if case.recipe == "docker" {
        assert_docker(&deb, &result);
    }
    // The tools' versions come from their packages, without starting them: they must be what
    // each tool says (program, key of the result).
    let tools: &[(&str, &str)] = match case.recipe {
        "python" => &[("gunicorn", "gunicorn"), ("uvicorn", "uvicorn")],
        "ruby" => &[("bundle", "bundler"), ("puma", "puma")],
        _ => &[],
    };
    for (tool, key) in tools {
        let own = deb.bash(None, &format!("{tool} --version"));
        let said = result[key].as_str().unwrap_or("?");
        assert!(
            own.ok && own.stdout.contains(&format!(" {said}")),
            "{tool} --version says {:?}, the recipe {said}",
            own.stdout.trim()
        );
    }
    if case.recipe == "node" {
        // npm's version comes from its package, without starting npm: it must be npm's own.
        let npm = deb.bash(None, "npm --version");
        assert!(
            npm.ok && Some(npm.stdout.trim()) == result["npm"].as_str(),
            "npm --version says {:?}, the recipe {}",
            npm.stdout.trim(),
            result["npm"]
        );
    }

    // 3. Again: nothing to do.
    let (second, again, _) = run(&deb, case);
    assert!(commands(&second).is_empty(), "{}", second.text());
    findings::assert_changed_nothing(recipe, &findings::last_done(&deb), &again);
    drop(deb);

    // 4. The same apt-get work without Cairn, for BENCHMARKS.md: a benchmark, not a check,
    // left out when `CAIRN_DEBIAN11_NO_BARE` is set (`scripts/test` does: it is half the
    // suite's time, every package downloaded and installed again).
    if std::env::var_os("CAIRN_DEBIAN11_NO_BARE").is_some() {
        eprintln!("{recipe}: through Cairn in {cairn_secs:.1} s (bare apt-get not run)");
        return;
    }
    let (bare_secs, apt) = bare_apt_seconds(case);
    record(
        recipe,
        version,
        cairn_secs,
        bare_secs,
        beyond_apt(&first.stderr),
        &apt,
    );
}

/// Where a run's time went (`--timings`, on stderr): printed, and appended to
/// `target/debian11-timings.md` (or `$CAIRN_DEBIAN11_TIMINGS`), first run then second, for
/// BENCHMARKS.md (issue 21).
fn keep_timings(recipe: &str, stderr: &str) {
    let Some(at) = stderr.find("Timing: ") else {
        return;
    };
    let summary = &stderr[at..];
    eprintln!("{summary}");
    let out = std::env::var_os("CAIRN_DEBIAN11_TIMINGS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/debian11-timings.md"));
    let mut text = std::fs::read_to_string(&out).unwrap_or_default();
    text.push_str(&format!(
        "### {recipe}\n\n```text\n{}\n```\n\n",
        summary.trim_end()
    ));
    std::fs::write(&out, text).expect("write timings");
}

/// Seconds of a run outside apt-get, from its timing summary (`--timings`): what Cairn and
/// the recipe's other programs took, which the machine's load moves far less than apt-get.
fn beyond_apt(stderr: &str) -> Option<f64> {
    let total: f64 = stderr.lines().find_map(|l| {
        l.strip_prefix("Timing: ")?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    })?;
    let apt: f64 = stderr
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next()? == "program").then_some(())?;
            let secs: f64 = w.next()?.parse().ok()?;
            (w.next()? == "s" && w.next()? == "apt-get").then_some(secs)
        })
        .sum();
    Some(total - apt)
}

/// One row of the figures: printed, and appended to `target/debian11-figures.md` (or
/// `$CAIRN_DEBIAN11_FIGURES`). `beyond` is the run's time outside apt-get ([`beyond_apt`]).
fn record(
    recipe: &str,
    version: &str,
    cairn_secs: f64,
    bare_secs: f64,
    beyond: Option<f64>,
    apt: &[String],
) {
    let beyond = beyond.map_or("?".to_owned(), |b| format!("{b:.2}"));
    let line = format!(
        "| {recipe} | {version} | {cairn_secs:.1} | {bare_secs:.1} | {:.2} | {beyond} |",
        cairn_secs / bare_secs
    );
    eprintln!("bare: {}\nFIGURES {line}", apt.join(" && "));
    let out = std::env::var_os("CAIRN_DEBIAN11_FIGURES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/debian11-figures.md"));
    let mut text = std::fs::read_to_string(&out).unwrap_or_default();
    text.push_str(&line);
    text.push('\n');
    std::fs::write(&out, text).expect("write figures");
}

#[test]
fn redis_on_debian_11() {
    suite("redis");
}

#[test]
fn node_on_debian_11() {
    suite("node");
}

#[test]
fn python_on_debian_11() {
    suite("python");
}

#[test]
fn ruby_on_debian_11() {
    suite("ruby");
}

#[test]
fn postgresql_on_debian_11() {
    suite("postgresql");
}

#[test]
fn mysql_on_debian_11() {
    suite("mysql");
}

#[test]
fn go_on_debian_11() {
    suite("go");
}

#[test]
fn rust_on_debian_11() {
    suite("rust");
}

#[test]
fn docker_on_debian_11() {
    suite("docker");
}
