//! An agent run with `--plan-only` (what `scripts/start` starts when it is not root): status and
//! plans work, every job that would change the server is refused with a sentence, and nothing
//! runs.

use cairn_e2e::{Cluster, lines};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_only_agent_plans_but_refuses_to_install() {
    let c = Cluster::start_with(&["lines"], &["--plan-only"]).await;
    let node_id = c.node_id.clone();

    let mut d = c.dashboard().await;

    // A plan works: it shows the command the install would run.
    let plan = d
        .start_job(
            "PLAN_REQUEST",
            &node_id,
            json!({"type": "lines", "params": {"count": 7}}),
        )
        .await;
    let end = d.wait_terminal(&plan).await;
    assert_eq!(end["type"], "PLAN_RESULT", "{end}");
    let actions = end["payload"]["actions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        actions
            .iter()
            .any(|a| a["program"] == "seq" && a["args"] == json!(["1", "7"])),
        "{end}"
    );

    // An install is refused, says why and what to do, and runs nothing.
    let job = d.start_lines(&node_id, 7).await;
    let end = d.wait_terminal(&job).await;
    assert_eq!(end["type"], "JOB_FAILED", "{end}");
    let message = end["payload"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("plan-only") && message.contains("as root"),
        "{message}"
    );
    // The control plane knows the agent's sentence: the page says it in its language.
    assert_eq!(end["payload"]["messageCode"], "job.planOnly", "{end}");
    assert!(lines(&d.job_messages(&job), "stdout").is_empty());
    assert!(lines(&d.job_messages(&job), "command").is_empty());
}
