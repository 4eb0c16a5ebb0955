//! The `cairn-recipe` command line as recipe authors use it: exit codes and output formats.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::workspace as root;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cairn-recipe"))
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write_recipe(dir: &Path, name: &str, programs: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            r#"const RECIPE = #{{
    id: "t", title: "T", category: "runtime", version: 1, estimated_size_mb: 1,
    os: [#{{ id: "debian", versions: ["11", "12"] }}],
    capabilities: #{{ programs: {programs}, paths: ["{dir}"] }},
}};
fn detect() {{ #{{ installed: false, version: () }} }}
fn install(params) {{
{body}
}}
"#,
            dir = dir.display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn check_accepts_the_shipped_recipes() {
    let recipes: Vec<PathBuf> = std::fs::read_dir(root().join("recipes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rhai"))
        .collect();
    assert!(!recipes.is_empty());
    let out = bin().arg("check").args(&recipes).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.ends_with(')') && l.contains(": ok ("))
            .count(),
        recipes.len()
    );
}

#[test]
fn check_says_what_each_declared_program_can_be_made_to_do() {
    let out = bin()
        .arg("check")
        .arg(root().join("recipes/go.rhai"))
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    for line in [
        "  tar: extracts archives into /opt/cairn/go,",
        "  ln: makes symbolic links within /opt/cairn/go,",
        "  go: its own program (the recipe may write /usr/local/bin/go, where the name is looked up): runs anything, as root",
        "  apt-get: installs Debian packages",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(line)),
            "{line}\n{stdout}"
        );
    }
}

#[test]
fn check_reports_file_line_col_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_recipe(dir.path(), "good.rhai", "[]", "()");
    let bad = write_recipe(dir.path(), "bad.rhai", "[]", "let = 5;");
    let out = bin().arg("check").arg(&good).arg(&bad).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout.contains("good.rhai: ok"), "{stdout}");
    // A recipe without its French words passes, with a warning.
    assert!(
        stdout.contains("good.rhai: warning: no `translations.fr`"),
        "{stdout}"
    );
    let line = stderr.lines().next().unwrap();
    assert!(
        line.starts_with(&format!("{}:8:5: ", bad.display())),
        "{stderr}"
    );
}

#[test]
fn plan_prints_the_commands_without_running_them() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let r = write_recipe(
        dir.path(),
        "p.rhai",
        r#"["touch"]"#,
        &format!(r#"run("touch", ["{}"]);"#, marker.display()),
    );
    let os = root().join("engine/tests/data/os-release-debian12");
    let out = bin()
        .arg("plan")
        .arg(&r)
        .arg("--os-release")
        .arg(&os)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("1. run    touch {}", marker.display())),
        "{stdout}"
    );
    assert!(!marker.exists());

    let json = bin()
        .args(["plan", "--json"])
        .arg(&r)
        .arg("--os-release")
        .arg(&os)
        .output()
        .unwrap();
    let plan: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(plan[0]["action"], "run");
    assert_eq!(plan[0]["program"], "touch");
}

#[test]
fn run_exits_0_only_on_success_and_hides_the_parent_environment() {
    let dir = tempfile::tempdir().unwrap();
    let ok = write_recipe(
        dir.path(),
        "ok.rhai",
        r#"["printenv"]"#,
        r#"step("Env"); run("printenv", []); #{ message: "fine" }"#,
    );
    let out = bin()
        .arg("run")
        .arg(&ok)
        .env("CAIRN_PARENT_ONLY", "should-not-leak")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("==> [1] Env"), "{stdout}");
    assert!(stdout.contains("$ printenv"), "{stdout}");
    assert!(stdout.contains("PATH=/usr/local/sbin"), "{stdout}");
    assert!(stdout.contains("✔ fine"), "{stdout}");
    assert!(!stdout.contains("CAIRN_PARENT_ONLY"), "{stdout}");

    let bad = write_recipe(
        dir.path(),
        "bad.rhai",
        r#"["false"]"#,
        r#"run("false", []);"#,
    );
    let out = bin().arg("run").arg(&bad).output().unwrap();
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.contains("✘ `false` failed with exit code 1"),
        "{stdout}"
    );
}

/// Seconds of a `--timings` line such as `  step         1.03 s  Wait`.
fn seconds_of(line: &str) -> f64 {
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no seconds in {line:?}"))
}

#[test]
fn run_with_timings_says_where_the_time_went_and_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let recipe = write_recipe(
        dir.path(),
        "slow.rhai",
        r#"["printenv"]"#,
        r#"step("Wait"); sleep(1); step("Env"); run("printenv", []); run("printenv", ["PATH"]); #{ message: "fine" }"#,
    );
    let out = bin()
        .args(["run", "--timings"])
        .arg(&recipe)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    // The summary goes to stderr: stdout stays the console and the result's JSON.
    assert!(!stdout.contains("Timing:"), "{stdout}");
    let line = |prefix: &str, what: &str| {
        stderr
            .lines()
            .find(|l| l.trim_start().starts_with(prefix) && l.contains(what))
            .unwrap_or_else(|| panic!("no {prefix} line for {what}: {stderr}"))
            .to_owned()
    };
    assert!(stderr.starts_with("Timing: "), "{stderr}");
    let total = stderr
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap();
    // The one-second sleep is in its step, in the `sleep` call and in the waits; the whole run
    // lasted at least that long.
    assert!(seconds_of(&line("step", "Wait")) >= 1.0, "{stderr}");
    assert!(seconds_of(&line("call", "sleep ×1")) >= 1.0, "{stderr}");
    assert!(seconds_of(&line("wait", "sleep ×1")) >= 1.0, "{stderr}");
    assert!(total >= 1.0, "{stderr}");
    assert!(line("call", "run ×2").contains("run ×2"));
    assert!(line("program", "printenv ×2").contains("printenv ×2"));
    assert!(
        line("process", "printenv PATH").contains(" at "),
        "{stderr}"
    );

    let out = bin().arg("run").arg(&recipe).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success());
    assert!(
        !stderr.contains("Timing:") && !stdout.contains("Timing:"),
        "{stdout}{stderr}"
    );
}

#[test]
fn run_shows_escape_sequences_inert() {
    let dir = tempfile::tempdir().unwrap();
    let r = write_recipe(
        dir.path(),
        "esc.rhai",
        r#"["printf"]"#,
        r#"run("printf", ["\u001b[2J\u001b[Hfake ok\n"]);"#,
    );
    let out = bin().arg("run").arg(&r).output().unwrap();
    let (stdout, _) = text(&out);
    assert!(out.status.success());
    assert!(
        !stdout.contains('\u{1b}'),
        "raw escape reached the terminal: {stdout:?}"
    );
    assert!(stdout.contains("\\u{1b}[2J\\u{1b}[Hfake ok"), "{stdout}");
}

#[test]
fn params_are_passed_and_validated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.rhai");
    std::fs::write(
        &path,
        r#"const RECIPE = #{ id: "db", title: "DB", category: "database", version: 1, estimated_size_mb: 1,
  os: [#{ id: "debian", versions: ["11", "12"] }], capabilities: #{},
  params: [#{ name: "db_name", type: "identifier" }] };
fn detect() { #{ installed: false } }
fn configure(params) { #{ message: "db " + params.db_name } }
"#,
    )
    .unwrap();
    let os = root().join("engine/tests/data/os-release-debian12");
    let out = bin()
        .arg("run")
        .arg(&path)
        .args(["--param", "db_name=shop"])
        .arg("--os-release")
        .arg(&os)
        .output()
        .unwrap();
    assert!(text(&out).0.contains("✔ db shop"), "{:?}", text(&out));
    let out = bin()
        .arg("run")
        .arg(&path)
        .args(["--param", "db_name=x; DROP"])
        .arg("--os-release")
        .arg(&os)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).0.contains("parameter `db_name`"),
        "{:?}",
        text(&out)
    );
}

#[test]
fn detect_prints_json_per_recipe() {
    let dir = tempfile::tempdir().unwrap();
    let r = write_recipe(dir.path(), "d.rhai", "[]", "()");
    let out = bin().arg("detect").arg(&r).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({ "t": { "installed": false, "version": null, "running": null } })
    );
}

/// threats.md row 31: nothing a recipe says reaches the terminal as a control sequence. Escapes
/// in step titles, logs, results, errors, plan arguments and paths (and in the recipe file
/// itself, quoted by a compile error) are printed escaped.
#[test]
fn escapes_from_a_recipe_are_printed_inert() {
    let dir = tempfile::tempdir().unwrap();
    let head = |paths: &str| {
        format!(
            r#"const RECIPE = #{{
    id: "t", title: "T", category: "runtime", version: 1, estimated_size_mb: 1,
    os: [#{{ id: "debian", versions: ["11", "12"] }}],
    capabilities: #{{ paths: {paths} }},
}};
fn detect() {{ #{{ installed: false, version: "\x1b[2J1.0" }} }}
"#
        )
    };
    let talk = dir.path().join("talk.rhai");
    std::fs::write(
        &talk,
        head("[]")
            + r#"fn install(params) {
    step("\x1b[2J\x1b[Hclean \u202Eeltit");
    log("\x1b]0;owned\x07 and \x9b31m");
    warn("\x1b[1A\x1b[2K✔ fake success");
    #{ message: "\x1b[32mdone\x1b[0m", detail: "\x7f\x9b" }
}
"#,
    )
    .unwrap();
    let fail = dir.path().join("fail.rhai");
    std::fs::write(
        &fail,
        head("[]") + "fn install(params) { throw \"\\x1b[1A\\x1b[2K\\x1b[32m✔ installed\"; }\n",
    )
    .unwrap();
    let target = dir.path().join("out");
    let plan = dir.path().join("plan.rhai");
    std::fs::write(
        &plan,
        head(&format!(r#"["{}"]"#, target.display()))
            + format!(
                "fn install(params) {{ write_file(\"{}/\\x1b[31mred\\u202E\", \"x\"); }}\n",
                target.display()
            )
            .as_str(),
    )
    .unwrap();
    let broken = dir.path().join("broken.rhai");
    std::fs::write(
        &broken,
        head("[]") + "fn install(params) { let a = 1 \x1b[2J; }\n",
    )
    .unwrap();

    let runs: Vec<(&str, Vec<&std::ffi::OsStr>)> = vec![
        ("run", vec!["run".as_ref(), talk.as_os_str()]),
        ("run (failing)", vec!["run".as_ref(), fail.as_os_str()]),
        ("plan", vec!["plan".as_ref(), plan.as_os_str()]),
        (
            "plan --json",
            vec!["plan".as_ref(), plan.as_os_str(), "--json".as_ref()],
        ),
        ("detect", vec!["detect".as_ref(), talk.as_os_str()]),
        ("check", vec!["check".as_ref(), broken.as_os_str()]),
    ];
    for (what, args) in runs {
        let out = bin().args(&args).output().unwrap();
        let all = [out.stdout.as_slice(), out.stderr.as_slice()].concat();
        let shown = String::from_utf8_lossy(&all).into_owned();
        for bad in ['\x1b', '\x07', '\u{9b}', '\u{7f}', '\u{202e}'] {
            assert!(
                !shown.contains(bad),
                "{what}: {bad:?} reached the terminal: {shown:?}"
            );
        }
        assert!(
            shown.contains("\\u{1b}") || shown.contains("\\u001b"),
            "{what}: the escape is shown escaped: {shown}"
        );
    }
}
