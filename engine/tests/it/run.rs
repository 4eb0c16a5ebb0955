//! `run()`: argv only, capabilities checked before spawn, a cleared environment, timeouts that
//! kill the whole process group (threats.md rows 15-16).
#![allow(clippy::unwrap_used)]

use crate::util;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use cairn_engine::Stream;
use cairn_test_support::procfs::is_dead;
use util::{recipe, run};

#[test]
fn run_streams_output_and_returns_code_and_capture() {
    let r = recipe(
        r#"["printf", "ls"]"#,
        "[]",
        r#"let out = run("printf", ["one\ntwo\n"]);
           let bad = run("ls", ["/no/such/dir"], #{ check: false });
           #{ code: out.code, stdout: out.stdout, bad: bad.code, err: bad.stderr }"#,
    );
    let ran = run(&r, serde_json::json!({}));
    let v = ran.value();
    assert_eq!(v["code"], 0);
    assert_eq!(v["stdout"], "one\ntwo\n");
    assert_eq!(v["bad"], 2);
    assert!(v["err"].as_str().unwrap().contains("No such file"));
    assert_eq!(ran.lines(Stream::Stdout), vec!["one", "two"]);
    assert!(
        ran.lines(Stream::Stderr)
            .iter()
            .any(|l| l.contains("No such file"))
    );
    assert!(
        ran.lines(Stream::Command)
            .contains(&"$ printf 'one\ntwo\n'".to_owned())
    );
}

#[test]
fn non_zero_exit_fails_the_recipe_with_the_command_and_its_stderr() {
    let r = recipe(
        r#"["ls"]"#,
        "[]",
        r#"run("ls", ["/no/such/dir"]); log("not reached");"#,
    );
    let ran = run(&r, serde_json::json!({}));
    let e = ran.error();
    assert!(
        e.starts_with("`ls /no/such/dir` failed with exit code 2: "),
        "{e}"
    );
    assert!(e.contains("No such file"), "{e}");
    assert!(e.contains("(at test.rhai:"), "{e}");
    assert!(!ran.lines(Stream::Info).contains(&"not reached".to_owned()));
}

#[test]
fn a_failure_keeps_its_sentence_and_its_place_in_the_script_apart() {
    let r = recipe(
        r#"["ls"]"#,
        "[]",
        "log(\"first\");\nthrow \"the disk is full\";",
    );
    let ran = run(&r, serde_json::json!({}));
    match &ran.outcome {
        cairn_engine::Outcome::Failed { error, location } => {
            assert_eq!(error, "the disk is full");
            let at = location.as_deref().unwrap_or_default();
            assert!(
                at.starts_with("test.rhai:") && at["test.rhai:".len()..].parse::<u32>().is_ok(),
                "{location:?}"
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    // The finished event carries the same two fields.
    assert!(ran.events.iter().any(|e| matches!(
        e,
        cairn_engine::Event::Finished {
            outcome: cairn_engine::Outcome::Failed {
                location: Some(_),
                ..
            }
        }
    )));
}

#[test]
fn undeclared_programs_are_refused_before_they_are_spawned() {
    let dir = util::tempdir();
    let marker = dir.path().join("ran");
    let script = dir.path().join("x");
    std::fs::write(&script, format!("#!/bin/sh\ntouch {}\n", marker.display())).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    for call in [
        r#"run("bash", ["-c", "id"])"#.to_owned(),
        format!(r#"run("{}", [])"#, script.display()),
        r#"run("/usr/bin/apt-get", ["update"])"#.to_owned(),
        r#"detect("bash", ["--version"], ".*")"#.to_owned(),
    ] {
        let r = recipe(r#"["apt-get", "touch"]"#, "[]", &call);
        let ran = run(&r, serde_json::json!({}));
        assert!(
            ran.error().contains("not among the programs it declared"),
            "{call}: {}",
            ran.error()
        );
        assert!(
            ran.lines(Stream::Command).is_empty(),
            "{call}: something was echoed"
        );
    }
    assert!(!marker.exists(), "the undeclared program ran");
}

#[test]
fn shells_cannot_even_be_declared() {
    let src = r#"const RECIPE = #{ id: "s", title: "S", category: "runtime", version: 1, estimated_size_mb: 1,
  os: [#{ id: "debian", versions: ["12"] }], capabilities: #{ programs: ["bash"] } };
fn detect() { #{ installed: false } }
fn install(params) { }"#;
    let e = cairn_engine::Recipe::parse("s.rhai", src)
        .unwrap_err()
        .to_string();
    assert!(e.contains("capabilities.programs: `bash`"), "{e}");
}

/// A copy of printenv as the recipe's own program (policed programs take no environment), and
/// the capability lists that declare it; the folder must outlive the test's recipe.
fn own_printenv() -> (tempfile::TempDir, String, String, String) {
    let dir = util::tempdir();
    let copy = dir.path().join("printenv");
    std::fs::copy("/usr/bin/printenv", &copy).unwrap();
    let program = copy.display().to_string();
    let programs = format!(r#"["{program}"]"#);
    let paths = format!(r#"["{}"]"#, dir.path().display());
    (dir, program, programs, paths)
}

#[test]
fn the_agents_environment_does_not_reach_children() {
    // This test process has CARGO_* and the developer's variables; the child sees only the
    // engine's fixed environment.
    assert!(std::env::var("CARGO_MANIFEST_DIR").is_ok());
    let (_dir, printenv, programs, paths) = own_printenv();
    let r = recipe(
        &programs,
        &paths,
        &format!(r#"run("{printenv}", [], #{{ env: #{{ CAIRN_EXTRA: "yes" }} }}).stdout"#),
    );
    let ran = run(&r, serde_json::json!({}));
    let mut names: Vec<String> = ran
        .value()
        .as_str()
        .unwrap()
        .lines()
        .map(|l| l.split('=').next().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "CAIRN_EXTRA",
            "DEBIAN_FRONTEND",
            "HOME",
            "LANG",
            "LC_ALL",
            "PATH"
        ]
    );
}

#[test]
fn dangerous_environment_variables_are_refused() {
    let (_dir, printenv, programs, paths) = own_printenv();
    let r = recipe(
        &programs,
        &paths,
        &format!(r#"run("{printenv}", [], #{{ env: #{{ LD_PRELOAD: "/tmp/x.so" }} }})"#),
    );
    let ran = run(&r, serde_json::json!({}));
    assert!(ran.error().contains("LD_PRELOAD"), "{}", ran.error());
}

#[test]
fn a_blocking_command_is_killed_with_its_whole_process_group() {
    let dir = util::tempdir();
    let script = dir.path().join("spawner");
    // The child starts a grandchild, prints its pid and blocks.
    std::fs::write(&script, "#!/bin/sh\nsleep 3600 &\necho $!\nsleep 3600\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let r = recipe(
        &format!(r#"["{}"]"#, script.display()),
        &format!(r#"["{}"]"#, dir.path().display()),
        &format!(r#"run("{}", [], #{{ timeout: 1 }})"#, script.display()),
    );
    let started = Instant::now();
    let ran = run(&r, serde_json::json!({}));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        ran.error().contains("did not finish within 1 s"),
        "{}",
        ran.error()
    );
    let pid: u32 = ran.lines(Stream::Stdout)[0].trim().parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !is_dead(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(is_dead(pid), "grandchild {pid} survived the timeout");
}

#[test]
fn sleep_3600_is_stopped_by_the_host_call_timeout() {
    let r = recipe(
        r#"["sleep"]"#,
        "[]",
        r#"run("sleep", ["3600"], #{ timeout: 1 })"#,
    );
    let started = Instant::now();
    let ran = run(&r, serde_json::json!({}));
    assert!(
        ran.error()
            .starts_with("`sleep 3600` did not finish within 1 s"),
        "{}",
        ran.error()
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn stdin_reaches_the_program() {
    let r = recipe(
        r#"["cat"]"#,
        "[]",
        r#"run("cat", [], #{ stdin: "hello from stdin" }).stdout"#,
    );
    let ran = run(&r, serde_json::json!({}));
    assert_eq!(ran.value(), "hello from stdin");
}

#[test]
fn unknown_run_options_are_refused() {
    let r = recipe(r#"["true"]"#, "[]", r#"run("true", [], #{ shell: true })"#);
    let ran = run(&r, serde_json::json!({}));
    assert!(
        ran.error().contains("unknown option `shell`"),
        "{}",
        ran.error()
    );
}

#[test]
fn command_runners_are_refused_even_as_absolute_paths() {
    for program in [
        "/bin/sh",
        "/usr/bin/env",
        "busybox",
        "/usr/bin/setsid",
        "nohup",
    ] {
        let src = format!(
            r#"const RECIPE = #{{ id: "s", title: "S", category: "runtime", version: 1, estimated_size_mb: 1,
  os: [#{{ id: "debian", versions: ["12"] }}], capabilities: #{{ programs: ["{program}"] }} }};
fn detect() {{ #{{ installed: false }} }}
fn install(params) {{ }}"#
        );
        let e = cairn_engine::Recipe::parse("s.rhai", &src)
            .unwrap_err()
            .to_string();
        assert!(e.contains("runs other commands"), "{program}: {e}");
    }
}

#[test]
fn a_refused_environment_variable_fails_the_plan_too_and_nothing_is_echoed() {
    let (_dir, printenv, programs, paths) = own_printenv();
    let r = recipe(
        &programs,
        &paths,
        &format!(r#"run("{printenv}", [], #{{ env: #{{ LD_PRELOAD: "/tmp/x.so" }} }})"#),
    );
    let planned = util::plan(&r, serde_json::json!({}));
    assert!(
        planned.error().contains("LD_PRELOAD"),
        "{}",
        planned.error()
    );
    let ran = run(&r, serde_json::json!({}));
    assert!(
        ran.lines(Stream::Command).is_empty(),
        "the refused command was echoed"
    );
}

#[test]
fn detect_is_read_only_even_if_it_calls_run() {
    let dir = util::tempdir();
    let marker = dir.path().join("detect-ran");
    let src = format!(
        r#"const RECIPE = #{{ id: "d", title: "D", category: "runtime", version: 1, estimated_size_mb: 1,
  os: [#{{ id: "debian", versions: ["12"] }}], capabilities: #{{ programs: ["touch"], paths: ["{}"] }} }};
fn detect() {{ run("touch", ["{}"]); #{{ installed: true }} }}
fn install(params) {{ }}"#,
        dir.path().display(),
        marker.display()
    );
    let r = cairn_engine::Recipe::parse("d.rhai", &src).unwrap();
    let d = cairn_engine::job::detect(&r, &cairn_engine::JobOptions::default()).unwrap();
    assert!(d.installed);
    assert!(!marker.exists(), "detect() had a side effect");
}
