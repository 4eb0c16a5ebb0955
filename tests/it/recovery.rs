//! Crashes: kill -9 the control plane or the agent in the middle of a job.

use std::collections::HashSet;

use cairn_e2e::{Cluster, lines, seqs};
use serde_json::json;

fn ticks(n: u64) -> Vec<String> {
    (1..=n).map(|i| format!("tick {i}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_plane_killed_mid_job_loses_no_line() {
    const N: u64 = 40;
    let mut c = Cluster::start(&["ticks"]).await;
    let mut d = c.dashboard().await;
    let job = d.start_ticks(&c.node_id, N).await;
    d.recv_until(|m| m["jobId"] == job.as_str() && m["payload"]["message"] == "tick 5")
        .await;
    c.cp.kill();
    drop(d);
    // Down long enough for the agent to notice and go through its back-off.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    c.cp.restart().await;

    c.cp.wait_online(&c.cookie, &c.node_id, true).await;
    assert!(
        c.agent
            .logs()
            .contains("connection to the control plane lost"),
        "the agent never noticed the crash:\n{}",
        c.agent.logs()
    );
    let done = c.cp.wait_job_done(&c.cookie, &job).await;
    assert_eq!(done["status"], "succeeded", "{done}");

    let stored = c.stored_events(&job).await;
    let seq = seqs(&stored);
    let want: Vec<u64> = (1..=stored.len() as u64).collect();
    assert_eq!(seq, want, "stored seq numbers are not 1..=n");
    let unique: HashSet<u64> = seq.iter().copied().collect();
    assert_eq!(unique.len(), seq.len());
    assert_eq!(lines(&stored, "info"), ticks(N), "every tick exactly once");
    assert_eq!(lines(&stored, "command").len() as u64, N);
    assert_eq!(stored[0]["type"], "JOB_STARTED");
    assert_eq!(
        stored.last().map(|e| e["type"].clone()),
        Some(json!("RUNTIME_INSTALLED"))
    );

    // The dashboard, reconnected, works as before.
    let mut d = c.dashboard().await;
    let again = d.start_ticks(&c.node_id, 2).await;
    assert_eq!(d.wait_terminal(&again).await["type"], "RUNTIME_INSTALLED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_killed_mid_job_goes_on_after_restart_and_loses_no_tick() {
    const N: u64 = 40;
    let mut c = Cluster::start(&["ticks"]).await;
    let mut d = c.dashboard().await;
    let job = d.start_ticks(&c.node_id, N).await;
    d.recv_until(|m| m["jobId"] == job.as_str() && m["payload"]["message"] == "tick 3")
        .await;
    // The supervisor dies; the job's worker goes on writing its spool.
    c.agent.kill();
    let off = d
        .recv_until(|m| m["type"] == "NODE_STATUS" && m["payload"]["online"] == false)
        .await;
    assert_eq!(off["nodeId"], c.node_id.as_str());
    c.agent.start();

    // The restarted supervisor adopts the worker: the job ends as it would have.
    let end = d.wait_terminal(&job).await;
    assert_eq!(end["type"], "RUNTIME_INSTALLED", "{end}");
    let j = c.cp.wait_job_done(&c.cookie, &job).await;
    assert_eq!(j["status"], "succeeded", "{j}");
    let stored = c.stored_events(&job).await;
    let want: Vec<u64> = (1..=stored.len() as u64).collect();
    assert_eq!(seqs(&stored), want);
    assert_eq!(
        lines(&stored, "info"),
        ticks(N),
        "every tick exactly once, in order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_worker_dies_with_the_agent_reports_it_interrupted_and_a_rerun_succeeds() {
    let mut c = Cluster::start(&["ticks"]).await;
    let mut d = c.dashboard().await;
    let job = d.start_ticks(&c.node_id, 100).await;
    d.recv_until(|m| m["jobId"] == job.as_str() && m["payload"]["message"] == "tick 3")
        .await;
    // Supervisor and worker both gone (a machine-wide kill, an OOM of both).
    let record = c.agent.config.join(format!("state/journal/{job}.worker"));
    let worker: i32 = std::fs::read_to_string(&record)
        .expect("the worker is recorded")
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a pid");
    c.agent.kill();
    cairn_agent::procs::kill_session(worker, rustix::process::Signal::KILL);
    let off = d
        .recv_until(|m| m["type"] == "NODE_STATUS" && m["payload"]["online"] == false)
        .await;
    assert_eq!(off["nodeId"], c.node_id.as_str());
    c.agent.start();

    // The dashboard sees the job end as interrupted.
    let end = d.wait_terminal(&job).await;
    assert_eq!(end["type"], "JOB_FAILED", "{end}");
    assert_eq!(end["payload"]["kind"], "interrupted", "{end}");
    let msg = end["payload"]["message"].as_str().unwrap_or("");
    assert!(msg.contains("Run the job again"), "{msg}");
    // The control plane knows the agent's sentence: the page says it in its language.
    assert_eq!(end["payload"]["messageCode"], "job.workerGone", "{end}");

    // So does the job history.
    let j = c.cp.wait_job_done(&c.cookie, &job).await;
    assert_eq!(j["status"], "failed", "{j}");
    assert_eq!(j["result"]["kind"], "interrupted", "{j}");
    assert_eq!(j["result"]["messageCode"], "job.workerGone", "{j}");
    let stored = c.stored_events(&job).await;
    let want: Vec<u64> = (1..=stored.len() as u64).collect();
    assert_eq!(seqs(&stored), want);
    let ticks_seen = lines(&stored, "info");
    assert!(
        ticks_seen.len() >= 3 && ticks_seen.len() < 100,
        "{ticks_seen:?}"
    );
    assert_eq!(ticks_seen, ticks(ticks_seen.len() as u64));
    assert_eq!(
        stored.last().map(|e| e["type"].clone()),
        Some(json!("JOB_FAILED"))
    );

    // Running it again works.
    let rerun = d.start_ticks(&c.node_id, 3).await;
    let end = d.wait_terminal(&rerun).await;
    assert_eq!(end["type"], "RUNTIME_INSTALLED", "{end}");
    assert_eq!(lines(&d.job_messages(&rerun), "info"), ticks(3));
}
