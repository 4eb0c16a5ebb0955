//! threats.md row 26: a stop, once seen, is never lost. Rhai discards the error `on_progress`
//! returns when the operation is counted inside a string interpolation's conversion (and in a
//! sort's comparator); before the stop was sticky, a loop whose body lined its checks up with
//! those places ran past cancel, the deadline and the memory ceiling for ever. Each body runs
//! on its own thread so that a lost stop fails the test instead of hanging it.
#![allow(clippy::unwrap_used)]

use crate::util;

use std::sync::mpsc;
use std::time::Duration;

use cairn_engine::Limits;
use cairn_engine::job::JobOptions;

/// Loop bodies whose operations are mostly, or at regular intervals, inside an interpolation's
/// conversion or a comparator, in many sizes so that some line up with any check interval.
fn bodies() -> Vec<String> {
    let mut out = Vec::new();
    for k in 1..=24 {
        let interp = "${i}".repeat(k);
        out.push(format!("let i = 0; loop {{ let s = `{interp}`; i += 1; }}"));
        out.push(format!("let i = 0; loop {{ let s = `{interp}`; }}"));
        out.push(format!(
            "let i = 0; loop {{ i += 1; let s = `{interp}`; let t = i; }}"
        ));
    }
    out.push("let a = []; for i in 0..500 { a.push(500 - i); } loop { a.sort(|x, y| { let z = 0; loop { z += 1; } }); }".into());
    out
}

/// Runs `body` with `deadline`, cancels it after 50 ms when `cancel` is set, and waits up to
/// 60 s for the job to end. Returns its error.
fn stopped(body: &str, deadline: Duration, cancel: bool) -> Result<String, String> {
    let r = util::recipe("[]", "[]", body);
    let opts = JobOptions {
        limits: Limits {
            max_operations: 0,
            deadline,
            ..Limits::default()
        },
        os_release_path: util::debian12(),
        ..JobOptions::default()
    };
    let token = opts.cancel.clone();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let ran = util::run_opts(&r, serde_json::json!({}), &opts);
        let _ = tx.send(ran.error().to_owned());
    });
    if cancel {
        std::thread::sleep(Duration::from_millis(50));
        token.cancel();
    }
    rx.recv_timeout(Duration::from_secs(60))
        .map_err(|_| "still running 60 s after it should have stopped".to_owned())
}

fn cancelled(body: &str) -> Result<String, String> {
    stopped(body, Duration::from_secs(3600), true)
}

#[test]
fn cancel_stops_every_loop_shape_even_inside_interpolations() {
    let mut lost = Vec::new();
    for body in bodies() {
        match cancelled(&body) {
            Ok(e) if e == "the job was cancelled" => {}
            Ok(e) => lost.push(format!("{body}: ended with `{e}`")),
            Err(e) => lost.push(format!("{body}: {e}")),
        }
    }
    assert!(lost.is_empty(), "{}", lost.join("\n"));
}

#[test]
fn the_deadline_stops_every_loop_shape_even_inside_interpolations() {
    let mut lost = Vec::new();
    for body in bodies() {
        match stopped(&body, Duration::from_millis(100), false) {
            Ok(e) if e.contains("deadline") => {}
            Ok(e) => lost.push(format!("{body}: ended with `{e}`")),
            Err(e) => lost.push(format!("{body}: {e}")),
        }
    }
    assert!(lost.is_empty(), "{}", lost.join("\n"));
}

#[test]
fn a_stop_caught_by_try_catch_still_stops_the_script() {
    let body = "loop { try { let i = 0; loop { i += 1; } } catch (e) { } }";
    assert_eq!(cancelled(body).unwrap(), "the job was cancelled");
}
