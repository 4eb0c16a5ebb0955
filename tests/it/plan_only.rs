//! An agent run with `--plan-only` (what `scripts/start` starts when it is not root): status and
//! plans work, every job that would change the server is refused with a sentence, and nothing
//! runs.

use cairn_e2e::{Agent, ControlPlane, lines, recipes_dir};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_only_agent_plans_but_refuses_to_install() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let recipes = recipes_dir(root, &["lines"]);
    let cp = ControlPlane::start(root, &recipes).await;
    let cookie = cp.login().await;
    let (token, node_id) = cp.token(&cookie, "plan-only").await;
    let mut agent = Agent::enroll(
        &cp.url(),
        &token,
        &root.join("agent"),
        &root.join("agent.log"),
    )
    .await;
    agent.start_with(&["--plan-only"]);
    cp.wait_online(&cookie, &node_id, true).await;

    let mut d = cairn_e2e::Dashboard::connect(cp.addr, Some(&cookie), &cp.origin())
        .await
        .expect("dashboard");
    d.send(json!({"type": "SUBSCRIBE", "nodeId": node_id}))
        .await;
    d.recv_until(|m| m["type"] == "NODE_STATUS").await;

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
    let job = d
        .start_job(
            "INSTALL_RUNTIME",
            &node_id,
            json!({"type": "lines", "params": {"count": 7}}),
        )
        .await;
    let end = d.wait_terminal(&job).await;
    assert_eq!(end["type"], "JOB_FAILED", "{end}");
    let message = end["payload"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("plan-only") && message.contains("as root"),
        "{message}"
    );
    assert!(lines(&d.job_messages(&job), "stdout").is_empty());
    assert!(lines(&d.job_messages(&job), "command").is_empty());
    drop(agent);
}
