//! The supervisor and its workers (issue 16): a worker killed mid-job, a worker allocating past
//! its kernel limit, a worker deaf to a cancel, a supervisor restarted mid-job. Each job ends
//! with the right state and every line its worker wrote, and the agent answers status
//! throughout.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use cairn_agent::Tuning;
use cairn_agent::supervise::Workers;
use cairn_protocol::Message;
use cairn_protocol::messages::{CancelJob, FailureKind, GetServerStatus};
use serde_json::json;
use support::{Conn, ControlPlane, HELLO, JobLog, enrolled_dir, install, run_to_end};
use tokio::sync::watch;

const BIN: &str = env!("CARGO_BIN_EXE_cairn-agent");

fn start_agent(dir: &Path, workers: Workers) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let tuning = Tuning {
        backoff_base: Duration::from_millis(100),
        workers,
        ..Tuning::default()
    };
    support::start_agent_with(dir, tuning)
}

/// Every stdout line of the job, one per printed line (the journal joins consecutive ones).
fn lines(log: &JobLog) -> Vec<String> {
    log.stdout()
        .iter()
        .flat_map(|m| m.split('\n').map(str::to_owned).collect::<Vec<_>>())
        .collect()
}

async fn until_line(conn: &mut Conn, job_id: &str, log: &mut JobLog, line: &str) {
    while !lines(log).iter().any(|l| l == line) {
        let messages = conn.recv().await;
        log.take(job_id, messages);
    }
}

/// The pid the supervisor recorded for the job's worker.
fn worker_pid(dir: &Path, job_id: &str) -> i32 {
    let text = std::fs::read_to_string(dir.join(format!("state/journal/{job_id}.worker")))
        .expect("the worker is recorded");
    text.split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a pid")
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, r)| !r.trim_start().starts_with('Z'))
    })
}

/// Asks for the machine's facts while a job runs; the answer comes (other messages are the
/// job's and go to `log`).
async fn status_answers(conn: &mut Conn, job_id: &str, log: &mut JobLog) {
    conn.send(vec![Message::GetServerStatus(GetServerStatus {
        request_id: Some("during".into()),
        detectors: Vec::new(),
        same_detectors: false,
        detectors_hash: None,
        system_only: true,
    })])
    .await;
    loop {
        let others = log.take(job_id, conn.recv().await);
        if others.iter().any(
            |m| matches!(m, Message::ServerStatus(s) if s.request_id.as_deref() == Some("during")),
        ) {
            return;
        }
    }
}

fn last_failure(log: &JobLog) -> (FailureKind, String) {
    match log.events.values().last() {
        Some(Message::JobFailed(f)) => (f.kind, f.message.clone()),
        other => panic!("the job should have failed, its last event is {other:?}"),
    }
}

#[tokio::test]
async fn a_worker_killed_mid_job_fails_the_job_with_a_sentence_and_keeps_its_lines() {
    let mut cp = ControlPlane::start().await;
    let dir = enrolled_dir(&cp);
    let (stop, task) = start_agent(dir.path(), support::workers());
    let mut conn = cp.next_conn().await;
    conn.send(vec![install(
        "job-k",
        cp.bundle(HELLO),
        json!({"lines": 3, "pause": 30}),
    )])
    .await;
    let mut log = JobLog::default();
    until_line(&mut conn, "job-k", &mut log, "line 1").await;
    let pid = worker_pid(dir.path(), "job-k");
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid).unwrap(),
        rustix::process::Signal::KILL,
    )
    .expect("kill -9 the worker");
    run_to_end(&mut conn, "job-k", &mut log, true).await;
    let (kind, message) = last_failure(&log);
    assert_eq!(kind, FailureKind::Error);
    assert!(
        message.contains("SIGKILL") && message.contains("Run the job again"),
        "{message}"
    );
    assert_eq!(lines(&log), ["line 1"]);
    assert_eq!(log.contiguous(), log.events.len() as u64, "no gap");
    // The supervisor lives on.
    status_answers(&mut conn, "job-k", &mut log).await;
    let _ = stop.send(true);
    task.await.expect("agent stops");
}

/// A recipe that keeps 240 strings of a megabyte each (a recipe's values are capped at 1 MiB
/// each and 256 variables, so this is about the most one can hold).
fn hog() -> String {
    let mut body =
        String::from("    log(\"allocating\");\n    let s0 = \"\";\n    s0.pad(1000000, \"x\");\n");
    for i in 1..240 {
        body.push_str(&format!("    let s{i} = s{} + \"{i}\";\n", i - 1));
    }
    format!(
        r#"
const RECIPE = #{{
    id: "hello", title: "Hog", category: "runtime", version: 1, estimated_size_mb: 1,
    os: [#{{ id: "debian", versions: ["11", "12", "13"] }}, #{{ id: "ubuntu", versions: ["20.04", "22.04", "24.04"] }}],
    capabilities: #{{}},
}};
fn detect() {{ #{{ installed: false }} }}
fn install(params) {{
{body}    #{{ version: "held" }}
}}
"#
    )
}

#[tokio::test]
async fn a_worker_allocating_past_its_kernel_limit_is_stopped_and_the_job_says_why() {
    let mut cp = ControlPlane::start().await;
    let dir = enrolled_dir(&cp);
    // The interpreter's own ceiling set out of the way: the kernel's limit must hold alone.
    let workers = Workers {
        // The worker maps about 100 MiB before it runs anything (debug build).
        memory: 256 << 20,
        engine_memory: Some(64 << 30),
        ..support::workers()
    };
    let (stop, task) = start_agent(dir.path(), workers);
    let mut conn = cp.next_conn().await;
    conn.send(vec![install("job-m", cp.bundle(&hog()), json!({}))])
        .await;
    let mut log = JobLog::default();
    run_to_end(&mut conn, "job-m", &mut log, true).await;
    let (kind, message) = last_failure(&log);
    assert_eq!(kind, FailureKind::Error);
    assert!(
        message.contains("more memory than its limit of 256 MiB"),
        "{message}"
    );
    let said: Vec<String> = log
        .events
        .values()
        .filter_map(|m| match m {
            Message::InfrastructureLog(l) => Some(l.message.clone()),
            _ => None,
        })
        .collect();
    assert!(said.iter().any(|l| l.contains("allocating")), "{said:?}");
    status_answers(&mut conn, "job-m", &mut log).await;
    let _ = stop.send(true);
    task.await.expect("agent stops");
}

/// A worker that says it is ready, starts a child, then never reads its cancel and ignores
/// SIGTERM: only a kill of its whole session stops it.
fn deaf_worker(dir: &Path) -> (Workers, PathBuf) {
    let mark = dir.join("child.pid");
    let script = dir.join("deaf-worker.sh");
    std::fs::write(
        &script,
        format!(
            "read request\necho '{{\"type\":\"ready\"}}'\nread go\nsleep 1000 &\necho $! > {}\ntrap '' TERM\nwhile true; do sleep 1; done\n",
            mark.display()
        ),
    )
    .expect("write the script");
    let workers = Workers {
        // setsid: the script leads its own session, as a real worker does.
        program: PathBuf::from("setsid"),
        args: vec!["sh".into(), script.display().to_string()],
        cancel_grace: Duration::from_secs(1),
        ..support::workers()
    };
    (workers, mark)
}

#[tokio::test]
async fn a_worker_that_never_exits_after_cancel_is_killed_with_what_it_started() {
    let mut cp = ControlPlane::start().await;
    let dir = enrolled_dir(&cp);
    let scratch = tempfile::tempdir().expect("tempdir");
    let (workers, mark) = deaf_worker(scratch.path());
    let (stop, task) = start_agent(dir.path(), workers);
    let mut conn = cp.next_conn().await;
    conn.send(vec![install("job-d", cp.bundle(HELLO), json!({}))])
        .await;
    let mut log = JobLog::default();
    while log.events.is_empty() {
        log.take("job-d", conn.recv().await);
    }
    assert!(matches!(
        log.events.values().next(),
        Some(Message::JobStarted(_))
    ));
    while std::fs::read_to_string(&mark).map_or(true, |s| s.trim().is_empty()) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let child: i32 = std::fs::read_to_string(&mark)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let worker = worker_pid(dir.path(), "job-d");
    assert!(alive(child) && alive(worker));
    conn.send(vec![Message::CancelJob(CancelJob {
        job_id: "job-d".into(),
    })])
    .await;
    run_to_end(&mut conn, "job-d", &mut log, true).await;
    let (kind, message) = last_failure(&log);
    assert_eq!(kind, FailureKind::Cancelled);
    assert!(message.contains("did not stop within 1 s"), "{message}");
    assert!(!alive(worker), "the worker is gone");
    assert!(!alive(child), "and the child it started");
    status_answers(&mut conn, "job-d", &mut log).await;
    let _ = stop.send(true);
    task.await.expect("agent stops");
}

fn spawn_supervisor(dir: &Path) -> std::process::Child {
    Command::new(BIN)
        .args(["run", "--config"])
        .arg(dir)
        .env("CAIRN_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn cairn-agent run")
}

#[tokio::test]
async fn a_supervisor_killed_mid_job_adopts_its_worker_after_restart_and_loses_no_line() {
    let mut cp = ControlPlane::start().await;
    let dir = enrolled_dir(&cp);
    let mut supervisor = spawn_supervisor(dir.path());
    let mut conn = cp.next_conn().await;
    conn.send(vec![install(
        "job-r",
        cp.bundle(HELLO),
        json!({"lines": 40, "pause": 4}),
    )])
    .await;
    let mut log = JobLog::default();
    until_line(&mut conn, "job-r", &mut log, "line 1").await;
    let worker = worker_pid(dir.path(), "job-r");
    supervisor.kill().expect("kill -9 the supervisor");
    let _ = supervisor.wait();
    drop(conn);
    assert!(alive(worker), "the worker goes on without its supervisor");

    let mut supervisor = spawn_supervisor(dir.path());
    let mut conn = cp.next_conn().await;
    // Status is answered while the adopted job still runs.
    status_answers(&mut conn, "job-r", &mut log).await;
    assert!(
        !log.finished(),
        "the job was still running when status was answered"
    );
    run_to_end(&mut conn, "job-r", &mut log, true).await;
    match log.events.values().last() {
        Some(Message::RuntimeInstalled(r)) => assert!(r.success),
        other => panic!("the job should have succeeded, its last event is {other:?}"),
    }
    let want: Vec<String> = (1..=40).map(|i| format!("line {i}")).collect();
    assert_eq!(lines(&log), want, "every line once, in order");
    assert_eq!(log.contiguous(), log.events.len() as u64, "no gap");
    let journal = dir.path().join("state/journal");
    for _ in 0..100 {
        if std::fs::read_dir(&journal).map_or(0, |d| d.count()) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let left: Vec<_> = std::fs::read_dir(&journal)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        left.is_empty(),
        "journal, spool and worker record are gone: {left:?}"
    );
    // SIGTERM stops it cleanly.
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(supervisor.id() as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .expect("kill -TERM");
    let status = tokio::task::spawn_blocking(move || supervisor.wait())
        .await
        .expect("join")
        .expect("wait");
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn a_worker_that_dies_while_its_supervisor_is_down_is_reported_with_its_lines() {
    let mut cp = ControlPlane::start().await;
    let dir = enrolled_dir(&cp);
    let mut supervisor = spawn_supervisor(dir.path());
    let mut conn = cp.next_conn().await;
    conn.send(vec![install(
        "job-o",
        cp.bundle(HELLO),
        json!({"lines": 3, "pause": 30}),
    )])
    .await;
    let mut log = JobLog::default();
    until_line(&mut conn, "job-o", &mut log, "line 1").await;
    let worker = worker_pid(dir.path(), "job-o");
    supervisor.kill().expect("kill -9 the supervisor");
    let _ = supervisor.wait();
    drop(conn);
    cairn_agent::procs::kill_session(worker, rustix::process::Signal::KILL);
    while alive(worker) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let mut supervisor = spawn_supervisor(dir.path());
    let mut conn = cp.next_conn().await;
    run_to_end(&mut conn, "job-o", &mut log, true).await;
    let (kind, message) = last_failure(&log);
    assert_eq!(kind, FailureKind::Interrupted);
    assert!(message.contains("restarting"), "{message}");
    assert_eq!(lines(&log), ["line 1"]);
    assert_eq!(log.contiguous(), log.events.len() as u64, "no gap");
    supervisor.kill().expect("stop");
    let _ = supervisor.wait();
}

/// A runtime whose `detect()` spins until its worker is stopped.
const SPINNER: &str = r#"
const RECIPE = #{
    id: "spinner", title: "Spinner", category: "runtime", version: 1, estimated_size_mb: 1,
    os: [#{ id: "debian", versions: ["11", "12", "13"] }, #{ id: "ubuntu", versions: ["20.04", "22.04", "24.04"] }],
    capabilities: #{},
};
fn detect() { let i = 0; loop { i += 1; } }
fn install(params) { }
"#;

/// `/proc/PID/status` field `name`, and the soft limit `name` of `/proc/PID/limits`.
fn status_field(pid: i32, name: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{name}:"))
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default()
}

fn soft_limit(pid: i32, name: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/limits"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(name)
                .and_then(|rest| rest.split_whitespace().next().map(str::to_owned))
        })
        .unwrap_or_default()
}

/// The worker processes this test process started.
fn my_workers() -> Vec<i32> {
    let me = format!("PPid:\t{}", std::process::id());
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/status"))
                .is_ok_and(|s| s.lines().any(|l| l == me))
                && std::fs::read_link(format!("/proc/{pid}/exe"))
                    .is_ok_and(|p| p.ends_with("cairn-agent-worker"))
        })
        .collect()
}

#[tokio::test]
async fn workers_run_under_kernel_limits_and_detectors_keep_only_the_privilege_to_read() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: capabilities are dropped only by a worker started as root");
        return;
    }
    let mut cp = ControlPlane::start().await;
    let dir = enrolled_dir(&cp);
    let (stop, task) = start_agent(dir.path(), support::workers());
    let mut conn = cp.next_conn().await;
    conn.send(vec![Message::GetServerStatus(GetServerStatus {
        request_id: Some("spin".into()),
        detectors: vec![cp.bundle(SPINNER)],
        same_detectors: false,
        detectors_hash: None,
        system_only: false,
    })])
    .await;
    let detector = loop {
        if let Some(pid) = my_workers().first() {
            break *pid;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Give it time to drop what it drops (it does so before running anything).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let dac_read_search = format!("{:016x}", 1u64 << 2);
    assert_eq!(status_field(detector, "CapEff"), dac_read_search);
    assert_eq!(status_field(detector, "CapPrm"), dac_read_search);
    assert_eq!(
        status_field(detector, "CapBnd"),
        dac_read_search,
        "nothing it runs gets more"
    );
    assert_eq!(status_field(detector, "NoNewPrivs"), "1");
    assert_eq!(soft_limit(detector, "Max cpu time"), "60");
    assert_eq!(
        soft_limit(detector, "Max address space"),
        (4u64 << 30).to_string()
    );

    conn.send(vec![install(
        "job-l",
        cp.bundle(HELLO),
        json!({"lines": 2, "pause": 30}),
    )])
    .await;
    let mut log = JobLog::default();
    until_line(&mut conn, "job-l", &mut log, "line 1").await;
    let job = worker_pid(dir.path(), "job-l");
    assert_eq!(status_field(job, "NoNewPrivs"), "1");
    assert_eq!(
        soft_limit(job, "Max address space"),
        (4u64 << 30).to_string()
    );
    assert_eq!(
        soft_limit(job, "Max cpu time"),
        "unlimited",
        "a job may build for long"
    );
    assert_ne!(
        status_field(job, "CapEff"),
        dac_read_search,
        "a job installs: it keeps root's powers"
    );
    // Its own session: the supervisor can stop everything it starts.
    let session = std::fs::read_to_string(format!("/proc/{job}/stat")).unwrap();
    let sid: i32 = session
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .nth(3)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(sid, job);
    conn.send(vec![Message::CancelJob(CancelJob {
        job_id: "job-l".into(),
    })])
    .await;
    run_to_end(&mut conn, "job-l", &mut log, true).await;
    assert_eq!(last_failure(&log).0, FailureKind::Cancelled);
    let _ = stop.send(true);
    task.await.expect("agent stops");
}

#[tokio::test]
async fn a_missing_worker_fails_the_job_and_the_detectors_with_a_sentence_that_says_what_to_do() {
    let mut cp = ControlPlane::start().await;
    let dir = enrolled_dir(&cp);
    let workers = Workers {
        program: PathBuf::from("/nonexistent/cairn-agent-worker"),
        ..support::workers()
    };
    let (stop, task) = start_agent(dir.path(), workers);
    let mut conn = cp.next_conn().await;
    conn.send(vec![install("job-w", cp.bundle(HELLO), json!({}))])
        .await;
    let mut log = JobLog::default();
    run_to_end(&mut conn, "job-w", &mut log, true).await;
    let (kind, message) = last_failure(&log);
    assert_eq!(kind, FailureKind::Error);
    assert!(
        message.contains("/nonexistent/cairn-agent-worker")
            && message.contains("install the agent again"),
        "{message}"
    );
    conn.send(vec![Message::GetServerStatus(GetServerStatus {
        request_id: Some("no-worker".into()),
        detectors: vec![cp.bundle(HELLO)],
        same_detectors: false,
        detectors_hash: None,
        system_only: false,
    })])
    .await;
    let status = loop {
        let found = conn.recv().await.into_iter().find_map(|m| match m {
            Message::ServerStatus(s) if s.request_id.as_deref() == Some("no-worker") => Some(s),
            _ => None,
        });
        if let Some(s) = found {
            break s;
        }
    };
    let error = status.runtimes[0].error.clone().unwrap_or_default();
    assert!(error.contains("install the agent again"), "{error}");
    let _ = stop.send(true);
    task.await.expect("agent stops");
}
