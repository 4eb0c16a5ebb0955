//! The network between the agent and the control plane fails mid-job: a proxy in between first
//! stalls (holds every byte), then drops the connections with what it held and refuses new
//! ones, then lets traffic through again.

use std::time::Duration;

use cairn_e2e::proxy::Proxy;
use cairn_e2e::{Cluster, eventually, lines, seqs};

fn ticks(n: u64) -> Vec<String> {
    (1..=n).map(|i| format!("tick {i}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_cut_mid_job_delivers_every_line_once_and_in_order() {
    const N: u64 = 60;
    let mut c = Cluster::start(&["ticks"]).await;
    let proxy = Proxy::start(c.cp.addr).await;
    c.agent.kill();
    c.agent.set_url(&proxy.url());
    c.agent.start();
    c.cp.wait_online(&c.cookie, &c.node_id, true).await;
    assert_eq!(
        proxy.connections(),
        1,
        "the agent connects through the proxy"
    );

    // The dashboard talks to the control plane directly; only the agent's link fails.
    let mut d = c.dashboard().await;
    let job = d.start_ticks(&c.node_id, N).await;
    d.recv_until(|m| m["jobId"] == job.as_str() && m["payload"]["message"] == "tick 5")
        .await;
    proxy.stall();
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.cut();
    // The control plane notices the agent is gone.
    d.recv_until(|m| m["type"] == "NODE_STATUS" && m["payload"]["online"] == false)
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.restore();

    let end = d.wait_terminal(&job).await;
    assert_eq!(end["type"], "RUNTIME_INSTALLED", "{end}");
    assert!(
        proxy.connections() >= 2,
        "the agent came back through the proxy"
    );

    // What the dashboard saw: every event exactly once, in order, every tick.
    let seen = d.job_messages(&job);
    let want: Vec<u64> = (1..=seen.len() as u64).collect();
    assert_eq!(
        seqs(&seen),
        want,
        "the dashboard got seq 1..=n once each, in order"
    );
    assert_eq!(lines(&seen, "info"), ticks(N), "every tick once, in order");
    assert_eq!(seen[0]["type"], "JOB_STARTED");

    // What the control plane stored: the same.
    let stored = c.stored_events(&job).await;
    assert_eq!(seqs(&stored), want);
    assert_eq!(lines(&stored, "info"), ticks(N));
    let done = c.cp.wait_job_done(&c.cookie, &job).await;
    assert_eq!(done["status"], "succeeded", "{done}");

    // The agent got its acknowledgement: the job's journal is gone.
    eventually("the agent's journal to be acknowledged", || async {
        c.agent.journal_files().is_empty().then_some(())
    })
    .await;
    assert!(c.agent.running(), "the agent is still running");
    assert!(
        c.agent
            .logs()
            .contains("connection to the control plane lost"),
        "{}",
        c.agent.logs()
    );
}
