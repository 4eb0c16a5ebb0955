//! The control plane's database is busy: another program holds SQLite's write lock on it for
//! longer than the control plane's busy timeout while a job streams its lines.

use std::time::Duration;

use cairn_e2e::{Cluster, eventually, http, lines, seqs};
use cairn_test_support::process::hold_lock;

fn ticks(n: u64) -> Vec<String> {
    (1..=n).map(|i| format!("tick {i}")).collect()
}

/// Holds the write lock (`BEGIN IMMEDIATE`) on the database until its stdin closes.
const HOLD_LOCK: &str = r#"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
db.execute("ROLLBACK")
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_written_while_sqlite_is_locked_are_stored_once_it_is_released() {
    const N: u64 = 30;
    let mut c = Cluster::start(&["ticks"]).await;
    let mut d = c.dashboard().await;
    let job = d.start_ticks(&c.node_id, N).await;
    d.recv_until(|m| m["jobId"] == job.as_str() && m["payload"]["message"] == "tick 3")
        .await;

    let db = c.cp.data_dir.join("cairn.db");
    let mut holder = hold_lock(HOLD_LOCK, &[&db]);

    // Longer than the control plane's busy timeout (5 s), and long enough for the job to end.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let during = c.stored_events(&job).await.len();
    assert!(c.cp.running(), "the control plane died:\n{}", c.cp.logs());
    // Closing its stdin makes it roll back and exit.
    drop(holder.stdin.take());
    let _ = holder.wait();

    // Once the lock is gone, everything is stored and the dashboard sees the end.
    let end = d.wait_terminal(&job).await;
    assert_eq!(end["type"], "RUNTIME_INSTALLED", "{end}");
    let done = c.cp.wait_job_done(&c.cookie, &job).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let stored = c.stored_events(&job).await;
    assert!(
        stored.len() > during,
        "events were stored after the release ({during} before, {} after)",
        stored.len()
    );
    let want: Vec<u64> = (1..=stored.len() as u64).collect();
    assert_eq!(seqs(&stored), want, "every event stored once");
    assert_eq!(lines(&stored, "info"), ticks(N), "every tick, in order");
    let seen = d.job_messages(&job);
    assert_eq!(
        seqs(&seen),
        want,
        "the dashboard saw each event once, in order"
    );

    // The agent was acknowledged (its journal is gone) and the control plane still serves.
    eventually("the agent's journal to be acknowledged", || async {
        c.agent.journal_files().is_empty().then_some(())
    })
    .await;
    assert!(c.cp.running());
    assert_eq!(
        http(c.cp.addr, "GET", "/healthz", None, None).await.status,
        200
    );
    assert!(!c.cp.logs().contains("panicked"), "{}", c.cp.logs());
    // It waited the lock out with the agent's connection up, rather than dropping it.
    assert!(
        c.cp.logs()
            .contains("the database is busy; keeping the agent's events"),
        "{}",
        c.cp.logs()
    );
    assert!(
        !d.seen
            .iter()
            .any(|m| m["type"] == "NODE_STATUS" && m["payload"]["online"] == false),
        "the node went offline while the database was busy"
    );
}
