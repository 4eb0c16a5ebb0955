//! threats.md row 28: a `detect()` that never returns, asked for again and again, runs once at a
//! time and really stops at its timeout. Before, every status request started another run and
//! a run whose loop lined up with Rhai's discarded errors ignored the cancel: four requests
//! pegged both cores for good.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use cairn_agent::{Agent, ConfigDir, Tuning};
use cairn_protocol::Message;
use cairn_protocol::messages::GetServerStatus;
use support::{ControlPlane, enrolled_dir};
use tokio::sync::watch;

/// A runtime recipe whose `detect()` spins for ever, most of its operations inside string
/// interpolations (where a stop used to be lost).
const SPINNER: &str = r#"
const RECIPE = #{
    id: "spinner", title: "Spinner", category: "runtime", version: 1, estimated_size_mb: 1,
    os: [#{ id: "debian", versions: ["11", "12", "13"] }, #{ id: "ubuntu", versions: ["20.04", "22.04", "24.04"] }],
    capabilities: #{},
};
fn detect() { let i = 0; loop { let s = `${i}${i}${i}`; i += 1; } }
fn install(params) { }
"#;

const TIMEOUT: Duration = Duration::from_secs(3);

/// CPU time (user + system, in clock ticks) of each thread of this process.
fn thread_ticks() -> HashMap<String, u64> {
    let mut out = HashMap::new();
    for entry in std::fs::read_dir("/proc/self/task")
        .expect("task dir")
        .flatten()
    {
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // Fields after the command name, which is in parentheses and may hold spaces.
        let Some(rest) = stat.rsplit_once(") ").map(|(_, r)| r) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if let (Some(u), Some(s)) = (f.get(11), f.get(12)) {
            let ticks = u.parse::<u64>().unwrap_or(0) + s.parse::<u64>().unwrap_or(0);
            out.insert(entry.file_name().to_string_lossy().into_owned(), ticks);
        }
    }
    out
}

/// How many threads used at least a twentieth of a core during `window` (the machine may be
/// busy with other work: a spinning thread gets its share, an idle one nothing).
async fn busy_threads(window: Duration) -> usize {
    let before = thread_ticks();
    tokio::time::sleep(window).await;
    let after = thread_ticks();
    let ticks_per_sec = 100; // USER_HZ on Linux
    let threshold = (window.as_secs_f64() * ticks_per_sec as f64 / 20.0) as u64;
    after
        .iter()
        .filter(|(tid, t)| **t - before.get(*tid).copied().unwrap_or(0) >= threshold.max(1))
        .count()
}

#[tokio::test]
async fn a_detector_that_never_returns_runs_once_at_a_time_and_stops_at_its_timeout() {
    let mut cp = ControlPlane::start().await;
    let dir = enrolled_dir(&cp);
    let tuning = Tuning {
        backoff_base: Duration::from_millis(100),
        detect_timeout: TIMEOUT,
        workers: support::workers(),
        ..Tuning::default()
    };
    let agent = Arc::new(Agent::open(&ConfigDir::new(dir.path()), tuning).expect("agent opens"));
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(async move { cairn_agent::dial::run(&agent, stopped).await });
    let mut conn = cp.next_conn().await;

    let idle = busy_threads(Duration::from_millis(500)).await;
    let requests = 6;
    for i in 0..requests {
        conn.send(vec![Message::GetServerStatus(GetServerStatus {
            request_id: Some(format!("r-{i}")),
            detectors: vec![cp.bundle(SPINNER)],
            same_detectors: false,
            detectors_hash: None,
            system_only: false,
        })])
        .await;
    }
    // Every request has arrived and is waiting on the one run.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let spinning = busy_threads(Duration::from_secs(1)).await;
    assert!(
        spinning <= idle + 1,
        "{spinning} busy threads for {requests} requests of one detector (idle: {idle})"
    );

    let mut answered = 0;
    while answered < requests {
        for m in conn.recv().await {
            if let Message::ServerStatus(s) = m {
                let card = s
                    .runtimes
                    .iter()
                    .find(|r| r.kind == "spinner")
                    .expect("card");
                let error = card.error.as_deref().unwrap_or("");
                assert!(error.contains("did not finish within 3 s"), "{error}");
                answered += 1;
            }
        }
    }
    // Cancelled at the timeout, the run has really ended: nothing spins any more.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = busy_threads(Duration::from_secs(1)).await;
    assert!(
        after <= idle,
        "{after} threads still busy after the timeout (idle: {idle})"
    );

    let _ = stop.send(true);
    task.await.expect("agent stops");
}
