//! Helpers shared by the end-to-end recipe tests (`recipe_*.rs`): running the real
//! `cairn-recipe` binary, reading its result, the recorded os-release files for plan tests,
//! and one lock for every test that changes this machine's packages. Running programs, the
//! package queries and the `/proc/*/cmdline` sampler are `cairn-test-support`'s (the Debian 11
//! suite in `tests/` uses them too), re-exported here.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use cairn_test_support::apt::{apt_get, dpkg_installed, purge};
pub use cairn_test_support::process::{is_root, must, sh};
pub use cairn_test_support::recipe_run::result as result_of;
pub use cairn_test_support::repo_root as workspace;
pub use cairn_test_support::secrets::{CmdlineSampler, assert_secret_absent};

pub mod backup;
pub mod backup_steps;
pub mod db;

/// Prints why an end-to-end test does nothing and returns true when not root.
pub fn skip_unless_root() -> bool {
    if is_root() {
        false
    } else {
        eprintln!("skipped: installing packages needs root (CI runs as root)");
        true
    }
}

pub fn recipe(name: &str) -> PathBuf {
    workspace().join("recipes").join(format!("{name}.rhai"))
}

/// The recorded os-release files a recipe's plan is tested against, by label.
pub fn os_releases() -> Vec<(&'static str, PathBuf)> {
    let engine = workspace().join("engine/tests/data");
    let cli = workspace().join("cli/tests/data");
    vec![
        ("debian 11", cli.join("os-release-debian11")),
        ("debian 12", engine.join("os-release-debian12")),
        ("ubuntu 20.04", cli.join("os-release-ubuntu2004")),
        ("ubuntu 22.04", engine.join("os-release-ubuntu2204")),
        ("ubuntu 24.04", cli.join("os-release-ubuntu2404")),
    ]
}

pub fn fedora() -> PathBuf {
    workspace().join("engine/tests/data/os-release-fedora40")
}

pub fn cairn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cairn-recipe"))
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("cairn-recipe starts")
}

/// One `cairn-recipe run`: its console, its result (the JSON it ends with) and its wall time.
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub result: serde_json::Value,
    pub took: Duration,
}

impl Run {
    /// Lines that start a command (`$ program args`).
    pub fn commands(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with("$ "))
            .collect()
    }

    /// The console lines before the result, which alone may carry a connection string.
    pub fn console(&self) -> std::str::Lines<'_> {
        cairn_test_support::recipe_run::split(&self.stdout)
            .0
            .lines()
    }

    pub fn changed(&self) -> bool {
        self.result["changed"] == true
    }
}

/// `--param NAME=VALUE` for each of `params`, or `--param-file NAME=PATH` for one written
/// `file:NAME=PATH` (a secret read from a file, never on a command line).
pub fn push_params(args: &mut Vec<String>, params: &[&str]) {
    for p in params {
        match p.strip_prefix("file:") {
            Some(f) => {
                args.push("--param-file".into());
                args.push(f.to_owned());
            }
            None => {
                args.push("--param".into());
                args.push((*p).to_owned());
            }
        }
    }
}

/// `cairn-recipe run RECIPE --param ...`, which must succeed.
pub fn run(name: &str, params: &[&str]) -> Run {
    let path = recipe(name);
    let mut args = vec!["run".to_owned(), path.display().to_string()];
    push_params(&mut args, params);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let start = Instant::now();
    let out = cairn(&argv);
    let took = start.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "cairn-recipe run {name} failed:\n{stdout}\n{stderr}"
    );
    let result = result_of(&stdout);
    eprintln!(
        "cairn-recipe run {name} {params:?}: {:.1} s",
        took.as_secs_f64()
    );
    Run {
        stdout,
        stderr,
        result,
        took,
    }
}

/// Asserts a run that found everything in place: no command started, `"changed": false`.
pub fn assert_nothing_changed(run: &Run) {
    assert!(
        run.commands().is_empty(),
        "the second run started commands: {:?}\n{}",
        run.commands(),
        run.stdout
    );
    assert_eq!(run.result["changed"], false, "{}", run.stdout);
}

/// `cairn-recipe detect RECIPE`: the recipe's entry.
pub fn detect(name: &str) -> serde_json::Value {
    let out = cairn(&["detect", &recipe(name).display().to_string()]);
    assert!(
        out.status.success(),
        "detect {name} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v[name].clone()
}

/// `cairn-recipe plan RECIPE [--param ...] --os-release FILE`: stdout, or the error on stderr.
pub fn plan(name: &str, params: &[&str], os_release: &Path) -> Result<String, String> {
    let path = recipe(name);
    let mut args = vec![
        "plan".to_owned(),
        path.display().to_string(),
        "--os-release".into(),
        os_release.display().to_string(),
    ];
    for p in params {
        args.push("--param".into());
        args.push((*p).to_owned());
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = cairn(&argv);
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Plans the recipe for every supported system (it must succeed) and for Fedora (it must be
/// refused before anything is planned). Returns the plans by label.
pub fn plan_everywhere(name: &str, params: &[&str]) -> Vec<(&'static str, String)> {
    let mut plans = Vec::new();
    for (label, file) in os_releases() {
        assert!(
            file.exists(),
            "missing recorded os-release {}",
            file.display()
        );
        let p = plan(name, params, &file)
            .unwrap_or_else(|e| panic!("planning {name} for {label} failed: {e}"));
        plans.push((label, p));
    }
    let refused = plan(name, params, &fedora()).expect_err("Fedora must be refused");
    assert!(refused.contains("this server runs fedora 40"), "{refused}");
    plans
}

/// The first line of a program's version output, for comparing with `detect()`.
pub fn version_output(program: &str, args: &[&str]) -> String {
    sh(program, args).1
}

/// `installed` and `version` of detect(), checked against the program's own version output.
pub fn assert_detected(name: &str, own_output: &str) -> serde_json::Value {
    let d = detect(name);
    assert_eq!(d["installed"], true, "{d}");
    let v = d["version"]
        .as_str()
        .unwrap_or_else(|| panic!("no version: {d}"));
    assert!(
        own_output.contains(v),
        "detect() says {v}, the program says {own_output}"
    );
    d
}

/// The end-to-end check of a runtime recipe: from a server without `packages` (purged first),
/// `cairn-recipe run` installs them, detect() reports the version the program itself prints
/// (`own_version`, run after the install), and a second run changes nothing. Returns both runs.
pub fn runtime_e2e(
    name: &str,
    params: &[&str],
    packages: &[&str],
    own_version: &[&str],
) -> (Run, Run) {
    purge(packages);
    let first = run(name, params);
    eprintln!("{}", first.stdout);
    assert!(first.changed(), "{}", first.stdout);
    assert!(first.stdout.contains("$ apt-get"), "{}", first.stdout);
    let own = version_output(own_version[0], &own_version[1..]);
    assert_detected(name, &own);
    assert_eq!(
        first.result["version"].as_str(),
        detect(name)["version"].as_str(),
        "the result and detect() disagree"
    );
    let second = run(name, params);
    assert_nothing_changed(&second);
    (first, second)
}

/// One test at a time (every recipe test is in this one binary) for everything that installs,
/// purges or plans against this machine's packages: a plan read while another test is half-way through `apt-get` would
/// see a state no user ever sees.
pub fn machine_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
