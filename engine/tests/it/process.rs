//! The child-process runner against real processes: streaming, environment, stdin, timeouts,
//! cancel and deadline (whole process group killed), daemons left alone after a normal exit.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use cairn_engine::cancel::{CancelToken, Stop};
use cairn_engine::event::Stream;
use cairn_engine::process::{CAPTURE_LIMIT, Output, ProcessError, Spec, run};

fn spec(program: &str, args: &[&str]) -> Spec {
    Spec {
        program: PathBuf::from(program),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        env: vec![],
        stdin: None,
        cwd: None,
        timeout: Duration::from_secs(30),
    }
}

fn sh(script: &str) -> Spec {
    spec("/bin/sh", &["-c", script])
}

fn no_stop() -> Stop {
    Stop::new(CancelToken::new(), Duration::from_secs(120))
}

/// Runs `spec`, returning the result and every line delivered to `on_line`.
fn collect(spec: &Spec, stop: &Stop) -> (Result<Output, ProcessError>, Vec<(Stream, String)>) {
    let mut lines = Vec::new();
    let res = run(spec, stop, &mut |s, l| lines.push((s, l.to_owned())));
    (res, lines)
}

fn of(lines: &[(Stream, String)], stream: Stream) -> Vec<&str> {
    lines
        .iter()
        .filter(|(s, _)| *s == stream)
        .map(|(_, l)| l.as_str())
        .collect()
}

/// The state letter from /proc/PID/stat, or `None` when the process no longer exists.
fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ...": comm may contain spaces, so look after the last ')'.
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

/// Whether `pid` is dead: gone, or a zombie/dead entry nobody reaped yet (the container's init
/// may not reap orphans).
fn is_dead(pid: i32) -> bool {
    matches!(proc_state(pid), None | Some('Z' | 'X' | 'x'))
}

fn wait_dead(pid: i32, within: Duration) -> bool {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if is_dead(pid) {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    is_dead(pid)
}

#[test]
fn output_arrives_line_by_line_per_stream_with_exit_code() {
    let (res, lines) = collect(
        &sh("echo out1; echo err1 >&2; echo out2; echo err2 >&2; exit 3"),
        &no_stop(),
    );
    let out = res.unwrap();
    assert_eq!(out.code, Some(3));
    assert_eq!(of(&lines, Stream::Stdout), ["out1", "out2"]);
    assert_eq!(of(&lines, Stream::Stderr), ["err1", "err2"]);
    assert_eq!(out.stdout, "out1\nout2\n");
    assert_eq!(out.stderr, "err1\nerr2\n");
}

#[test]
fn lines_are_delivered_while_the_child_still_runs() {
    let t0 = Instant::now();
    let mut seen = Vec::new();
    let out = run(
        &sh("echo first; sleep 2; echo second"),
        &no_stop(),
        &mut |_, l| seen.push((l.to_owned(), t0.elapsed())),
    )
    .unwrap();
    assert_eq!(out.code, Some(0));
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].0, "first");
    assert!(
        seen[1].1 - seen[0].1 >= Duration::from_millis(1500),
        "the first line must arrive before the child finishes: {seen:?}"
    );
}

#[test]
fn crlf_unterminated_last_line_and_invalid_utf8() {
    let (res, lines) = collect(&spec("/usr/bin/printf", &[r"a\r\nb\n\377c"]), &no_stop());
    let out = res.unwrap();
    assert_eq!(of(&lines, Stream::Stdout), ["a", "b", "\u{fffd}c"]);
    assert_eq!(out.stdout, "a\nb\n\u{fffd}c");
}

#[test]
fn killed_by_a_signal_has_no_exit_code() {
    let out = collect(&sh("kill -9 $$"), &no_stop()).0.unwrap();
    assert_eq!(out.code, None);
}

#[test]
fn environment_is_exactly_the_spec_env() {
    // Setting a variable in this process is `unsafe` in edition 2024 (and unsafe code is
    // forbidden), so rely on the variables cargo gives every test process.
    assert!(std::env::var_os("PATH").is_some());
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
    let mut s = spec("/usr/bin/env", &[]);
    s.env = vec![("CAIRN_VISIBLE".into(), "yes".into())];
    let (res, lines) = collect(&s, &no_stop());
    assert_eq!(res.unwrap().code, Some(0));
    assert_eq!(of(&lines, Stream::Stdout), ["CAIRN_VISIBLE=yes"]);
}

#[test]
fn working_directory_defaults_to_root() {
    let out = collect(&spec("/bin/pwd", &[]), &no_stop()).0.unwrap();
    assert_eq!(out.stdout, "/\n");

    let dir = tempfile::tempdir().unwrap();
    let mut s = spec("/bin/pwd", &["-P"]);
    s.cwd = Some(dir.path().to_owned());
    let out = collect(&s, &no_stop()).0.unwrap();
    let want = dir.path().canonicalize().unwrap();
    assert_eq!(out.stdout.trim_end(), want.to_str().unwrap());
}

#[test]
fn timeout_kills_the_whole_group_including_grandchildren() {
    let mut s = sh("sleep 300 & echo $!; sleep 300");
    s.timeout = Duration::from_secs(1);
    let t0 = Instant::now();
    let (res, lines) = collect(&s, &no_stop());
    assert!(
        matches!(res, Err(ProcessError::TimedOut(d)) if d == s.timeout),
        "{res:?}"
    );
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
    let grandchild: i32 = lines[0].1.parse().unwrap();
    assert!(
        wait_dead(grandchild, Duration::from_secs(3)),
        "grandchild {grandchild} survived: state {:?}",
        proc_state(grandchild)
    );
}

#[test]
fn cancel_from_another_thread_stops_promptly() {
    let token = CancelToken::new();
    let stop = Stop::new(token.clone(), Duration::from_secs(120));
    let canceller = thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        token.cancel();
    });
    let t0 = Instant::now();
    let (res, _) = collect(&spec("/bin/sleep", &["300"]), &stop);
    canceller.join().unwrap();
    assert!(matches!(res, Err(ProcessError::Cancelled)), "{res:?}");
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
}

#[test]
fn cancel_stops_a_child_that_never_stops_printing() {
    let token = CancelToken::new();
    let stop = Stop::new(token.clone(), Duration::from_secs(120));
    let mut count = 0u32;
    let t0 = Instant::now();
    let res = run(&spec("/usr/bin/yes", &[]), &stop, &mut |_, _| {
        count += 1;
        if count == 1000 {
            token.cancel();
        }
    });
    assert!(matches!(res, Err(ProcessError::Cancelled)), "{res:?}");
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
}

#[test]
fn job_deadline_stops_the_child() {
    let stop = Stop::new(CancelToken::new(), Duration::from_millis(400));
    let t0 = Instant::now();
    let (res, _) = collect(&spec("/bin/sleep", &["300"]), &stop);
    assert!(matches!(res, Err(ProcessError::Deadline)), "{res:?}");
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
}

#[test]
fn large_stdin_round_trips_through_cat_without_deadlock() {
    let mut input = String::new();
    let mut i = 0u32;
    while input.len() < 4 << 20 {
        input.push_str(&format!("{i:08}\n"));
        i += 1;
    }
    let mut s = spec("/bin/cat", &[]);
    s.stdin = Some(input.clone().into_bytes());
    s.timeout = Duration::from_secs(20);
    let mut echoed = String::with_capacity(input.len());
    let out = run(&s, &no_stop(), &mut |_, l| {
        echoed.push_str(l);
        echoed.push('\n');
    })
    .unwrap();
    assert_eq!(out.code, Some(0));
    assert!(echoed == input, "cat must echo all 4 MiB in order");
}

#[test]
fn no_stdin_means_immediate_eof() {
    let mut s = spec("/bin/cat", &[]);
    s.timeout = Duration::from_secs(5);
    let t0 = Instant::now();
    let out = collect(&s, &no_stop()).0.unwrap();
    assert_eq!(out.code, Some(0));
    assert_eq!(out.stdout, "");
    assert!(t0.elapsed() < Duration::from_secs(2));
}

#[test]
fn daemon_holding_the_pipe_does_not_stall_and_is_not_killed() {
    let t0 = Instant::now();
    let (res, lines) = collect(&sh("sleep 30 & echo $!; exit 0"), &no_stop());
    let elapsed = t0.elapsed();
    let out = res.unwrap();
    let daemon: i32 = lines[0].1.parse().unwrap();
    let alive = !is_dead(daemon);
    // Clean up before asserting so a failure does not leave the sleep behind.
    let _ = rustix::process::kill_process(
        rustix::process::Pid::from_raw(daemon).unwrap(),
        rustix::process::Signal::KILL,
    );
    assert_eq!(out.code, Some(0));
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
    assert!(alive, "the daemon started by the command must survive");
}

#[test]
fn nonexistent_program_is_a_spawn_error_naming_it() {
    let (res, lines) = collect(&spec("/nonexistent/cairn-no-such-tool", &[]), &no_stop());
    match res {
        Err(e @ ProcessError::Spawn { .. }) => {
            assert!(
                e.to_string().contains("/nonexistent/cairn-no-such-tool"),
                "{e}"
            );
        }
        other => panic!("expected a spawn error, got {other:?}"),
    }
    assert!(lines.is_empty());
}

#[test]
fn capture_keeps_the_tail_while_every_line_is_delivered() {
    let (res, lines) = collect(&spec("/usr/bin/seq", &["1", "300000"]), &no_stop());
    let out = res.unwrap();
    assert_eq!(lines.len(), 300_000, "the console gets every line");
    assert_eq!(lines[0].1, "1");
    assert!(out.stdout.len() <= CAPTURE_LIMIT);
    assert!(out.stdout.len() > CAPTURE_LIMIT - 8, "{}", out.stdout.len());
    assert!(out.stdout.ends_with("\n299999\n300000\n"));
    assert!(!out.stdout.starts_with("1\n2\n"));
}

#[test]
fn very_long_lines_are_split() {
    let (res, lines) = collect(
        &sh("head -c 200000 /dev/zero | tr '\\0' a; echo; echo end"),
        &no_stop(),
    );
    let out = res.unwrap();
    let texts = of(&lines, Stream::Stdout);
    assert!(texts.len() >= 5, "a 200 kB line must arrive in pieces");
    assert!(texts.iter().all(|l| l.len() <= 64 * 1024));
    assert_eq!(texts[..texts.len() - 1].concat(), "a".repeat(200_000));
    assert_eq!(texts.last(), Some(&"end"));
    assert_eq!(out.stdout, format!("{}\nend\n", "a".repeat(200_000)));
}

#[test]
fn debug_never_shows_stdin() {
    let mut s = spec("/bin/cat", &[]);
    s.stdin = Some(b"hunter2-secret".to_vec());
    assert!(!format!("{s:?}").contains("hunter2"));
}
