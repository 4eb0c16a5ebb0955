//! The helpers that schedule and run a recipe's own script: `cron_schedule`, `cron_text`,
//! `cron_schedule_of`, `service_ensure_running`, `run_with_state`. Cron runs what it is given
//! as root, so only the recipe's own programs may be scheduled and every word of the line is
//! checked; running goes through the argument policies exactly like `run()`.

use crate::common;
use crate::util;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use cairn_engine::PlannedAction;
use cairn_engine::system::service;
use util::{plan, recipe, recipe_with, run};

fn paths(dir: &Path) -> String {
    format!(r#"["{}/allowed"]"#, dir.display())
}

/// A script of the recipe's own that records a state file like the backup scripts do.
fn own_script(dir: &Path) -> PathBuf {
    let allowed = dir.join("allowed");
    std::fs::create_dir_all(&allowed).unwrap();
    let script = allowed.join("backup");
    let state = allowed.join("state");
    std::fs::write(
        &script,
        format!(
            r#"#!/bin/sh
touch "{marker}"
case "$1" in
  ok) printf "last_run_ok='true'\nlast_run_error=''\n" > "{state}"; exit 0 ;;
  fail) printf "last_run_ok='false'\nlast_run_error='could not reach backup.example.org on port 22'\n" > "{state}"; exit 4 ;;
  mute) printf "last_run_ok='false'\n" > "{state}"; echo "boom" >&2; exit 3 ;;
esac
"#,
            marker = dir.join("ran").display(),
            state = state.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, PermissionsExt::from_mode(0o755)).unwrap();
    script
}

#[test]
fn cron_schedule_normalises_a_valid_expression_and_names_the_wrong_field() {
    let call = |text: &str| {
        let r = recipe("[]", "[]", &format!("cron_schedule({text:?})"));
        run(&r, serde_json::json!({}))
    };
    assert_eq!(call("  30 1  * * 1-5 ").value(), "30 1 * * 1-5");
    assert_eq!(
        call("*/15 0-23/2 1,15 1-12 0,7").value(),
        "*/15 0-23/2 1,15 1-12 0,7"
    );
    for (bad, why) in [
        (
            "61 * * * *",
            "the minute field `61` must use numbers from 0 to 59",
        ),
        ("*/0 3 * * *", "the minute field `*/0`"),
        ("0 24 * * *", "the hour field `24`"),
        ("0 3 32 * *", "the day of month field `32`"),
        ("0 3 * 0 *", "the month field `0`"),
        ("0 3 * * 8", "the day of week field `8`"),
        (
            "0 9-5 * * *",
            "the hour field `9-5` has a range that ends before it starts",
        ),
        ("0 3 * * * ; reboot", "not a cron expression of 5 fields"),
        ("0 3 * *", "not a cron expression of 5 fields"),
        ("0 3 * * mon", "the day of week field `mon`"),
    ] {
        let e = call(bad).error().to_owned();
        assert!(e.contains(why), "{bad}: {e}");
    }
}

#[test]
fn cron_text_schedules_only_the_recipes_own_program_with_plain_words() {
    let dir = util::tempdir();
    let script = own_script(dir.path());
    let s = script.display();
    let programs = format!(r#"["{s}", "tar", "true"]"#);
    let call = |body: &str| {
        let r = recipe(&programs, &paths(dir.path()), body);
        run(&r, serde_json::json!({}))
    };
    let text = call(&format!(
        r#"cron_text("15 2  * * *", "{s}", ["run"], "/var/log/cairn-backup-x.log", "Cairn: x backup of /etc")"#
    ));
    assert_eq!(
        text.value(),
        &format!(
            "# Cairn: x backup of /etc\nSHELL=/bin/sh\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n15 2 * * * root {s} run >>/var/log/cairn-backup-x.log 2>&1\n"
        )
    );
    let log = "/var/log/cairn-x.log";
    for (body, why) in [
        (
            format!(r#"cron_text("0 3 * * *", "tar", ["-xf", "/x"], "{log}", "c")"#),
            "`tar` is not one of the recipe's own programs",
        ),
        (
            format!(r#"cron_text("0 3 * * *", "/usr/bin/true", [], "{log}", "c")"#),
            "not among the programs it declared",
        ),
        (
            format!(r#"cron_text("0 3 * * *", "{s}", ["run; reboot"], "{log}", "c")"#),
            "the argument `run; reboot` may contain only",
        ),
        (
            format!(r#"cron_text("0 3 * * *", "{s}", ["100%"], "{log}", "c")"#),
            "reads % as a line break",
        ),
        (
            format!(r#"cron_text("0 3 * * *", "{s}", ["run"], "/etc/passwd", "c")"#),
            "the log file `/etc/passwd` is refused",
        ),
        (
            format!(
                r#"cron_text("0 3 * * *", "{s}", ["run"], "/var/log/cairn-../../etc/x.log", "c")"#
            ),
            "is refused",
        ),
        (
            format!(
                r#"cron_text("0 3 * * *", "{s}", ["run"], "{log}", "x\n* * * * * root reboot")"#
            ),
            "the comment contains a line break",
        ),
        (
            format!(r#"cron_text("0 3 * * * *", "{s}", ["run"], "{log}", "c")"#),
            "not a cron expression of 5 fields",
        ),
    ] {
        let e = call(&body).error().to_owned();
        assert!(e.contains(why), "{body}: {e}");
    }
}

#[test]
fn cron_schedule_of_reads_back_the_schedule_of_the_line_that_runs_the_program() {
    let dir = util::tempdir();
    let script = own_script(dir.path());
    let cron = dir.path().join("allowed/cron");
    let r = recipe(
        &format!(r#"["{}"]"#, script.display()),
        &paths(dir.path()),
        &format!(
            r##"let s = "{s}";
               write_file("{c}", "# 1 2 3 4 5 root {s} run\n" + cron_text("5 4  * * 0", s, ["run"], "/var/log/cairn-x.log", "x"));
               [cron_schedule_of("{c}", s), cron_schedule_of("{c}", "/other"), cron_schedule_of("{c}.none", s)]"##,
            s = script.display(),
            c = cron.display()
        ),
    );
    assert_eq!(
        run(&r, serde_json::json!({})).value(),
        &serde_json::json!(["5 4 * * 0", null, null])
    );
}

#[test]
fn run_with_state_fails_with_the_scripts_own_sentence_and_returns_its_state() {
    let dir = util::tempdir();
    let script = own_script(dir.path());
    let state = dir.path().join("allowed/state");
    let call = |arg: &str| {
        let r = recipe(
            &format!(r#"["{}"]"#, script.display()),
            &paths(dir.path()),
            &format!(
                r#"run_with_state("{}", ["{arg}"], "{}", "last_run_error")"#,
                script.display(),
                state.display()
            ),
        );
        run(&r, serde_json::json!({}))
    };
    assert_eq!(
        call("ok").value(),
        &serde_json::json!({"last_run_ok": "true", "last_run_error": ""})
    );
    let e = call("fail").error().to_owned();
    assert!(
        e.starts_with("could not reach backup.example.org on port 22 (at test.rhai:"),
        "{e}"
    );
    let e = call("mute").error().to_owned();
    assert!(
        e.starts_with(&format!(
            "`{} mute` failed with exit code 3: boom",
            script.display()
        )),
        "{e}"
    );
}

#[test]
fn run_with_state_is_checked_like_run_before_anything_starts_and_only_recorded_in_a_plan() {
    let dir = util::tempdir();
    let script = own_script(dir.path());
    let state = dir.path().join("allowed/state");
    std::fs::write(&state, "last_run_ok='true'\n").unwrap();
    let s = script.display();
    let st = state.display();
    let programs = format!(r#"["{s}", "tar"]"#);
    let planned = plan(
        &recipe(
            &programs,
            &paths(dir.path()),
            &format!(r#"run_with_state("{s}", ["ok"], "{st}", "last_run_error")"#),
        ),
        serde_json::json!({}),
    );
    assert_eq!(planned.value(), &serde_json::json!({"last_run_ok": "true"}));
    assert!(
        matches!(&planned.plan[..], [PlannedAction::Run { program, args, .. }]
            if program == &s.to_string() && args == &["ok"]),
        "{:?}",
        planned.plan
    );
    for (body, why) in [
        (
            r#"run_with_state("/usr/bin/id", [], STATE, "e")"#.to_owned(),
            "not among the programs it declared".to_owned(),
        ),
        (
            r#"run_with_state("tar", ["-xf", "/x", "--checkpoint-action=exec=sh"], STATE, "e")"#
                .to_owned(),
            "the recipe may not run `tar".to_owned(),
        ),
        (
            format!(r#"run_with_state("{s}", ["ok"], "/etc/state", "e")"#),
            "the recipe may not write /etc/state".to_owned(),
        ),
        (
            format!(r#"run_with_state("{s}", ["ok"], STATE, "not a key")"#),
            "the error key `not a key` is not a shell variable name".to_owned(),
        ),
    ] {
        let body = body.replace("STATE", &format!("{st:?}"));
        let r = recipe(&programs, &paths(dir.path()), &body);
        for ran in [
            plan(&r, serde_json::json!({})),
            run(&r, serde_json::json!({})),
        ] {
            assert!(ran.error().contains(&why), "{body}: {}", ran.error());
        }
    }
    assert!(!dir.path().join("ran").exists(), "the script ran");
}

#[test]
fn service_ensure_running_needs_the_service_declared_and_records_a_start_in_a_plan() {
    let r = recipe_with("[]", "[]", "[]", "[]", r#"service_ensure_running("cron")"#);
    let e = run(&r, serde_json::json!({})).error().to_owned();
    assert!(
        e.starts_with("the recipe may not control the service `cron`"),
        "{e}"
    );
    let r = recipe_with(
        "[]",
        "[]",
        r#"["cairn-test-absent"]"#,
        "[]",
        r#"service_ensure_running("cairn-test-absent")"#,
    );
    let planned = plan(&r, serde_json::json!({}));
    assert_eq!(planned.value(), true);
    assert!(
        matches!(&planned.plan[..], [PlannedAction::Run { args, .. }]
            if args.contains(&"cairn-test-absent".to_owned()) && args.contains(&"start".to_owned())),
        "{:?}",
        planned.plan
    );
}

const INIT: &str = "/etc/init.d/cairn-test-ensure";

/// Stops and removes the throw-away init script.
struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::process::Command::new(INIT).arg("stop").status();
        let _ = std::fs::remove_file(INIT);
    }
}

#[test]
fn service_ensure_running_starts_a_stopped_service_once() {
    if service::has_systemd() || !common::is_root() {
        eprintln!("skipping: it drives an init script in /etc/init.d, without systemd, as root");
        return;
    }
    let _cleanup = Cleanup;
    std::fs::write(
        INIT,
        r#"#!/bin/sh
PIDFILE=/run/cairn-test-ensure.pid
running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
case "$1" in
  start) running || { sleep 600 >/dev/null 2>&1 </dev/null & echo $! > "$PIDFILE"; } ;;
  stop) if running; then kill "$(cat "$PIDFILE")"; fi; rm -f "$PIDFILE" ;;
  status) running ;;
esac
"#,
    )
    .unwrap();
    std::fs::set_permissions(INIT, PermissionsExt::from_mode(0o755)).unwrap();
    let r = recipe_with(
        "[]",
        "[]",
        r#"["cairn-test-ensure"]"#,
        "[]",
        r#"[service_ensure_running("cairn-test-ensure"), service_ensure_running("cairn-test-ensure")]"#,
    );
    let ran = run(&r, serde_json::json!({}));
    assert_eq!(ran.value(), &serde_json::json!([true, false]));
    assert!(
        ran.lines(cairn_engine::Stream::Info)
            .contains(&"cairn-test-ensure is already running".to_owned())
    );
    assert!(
        std::process::Command::new(INIT)
            .arg("status")
            .status()
            .unwrap()
            .success()
    );
}
