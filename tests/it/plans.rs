//! Previews against the real control plane and agent: a preview is no job (not in the job
//! history, its events only to the page that asked, no console line claiming a change), and a
//! run that confirms one must be what was previewed; when the server changed in between, the
//! job says so in a sentence.

use cairn_e2e::{Cluster, lines};
use serde_json::{Value, json};

async fn preview(d: &mut cairn_e2e::Dashboard, node_id: &str, name: &str) -> (String, Value) {
    let plan = d
        .start_job(
            "PLAN_REQUEST",
            node_id,
            json!({"type": "marker", "params": {"name": name}}),
        )
        .await;
    let end = d.wait_terminal(&plan).await;
    assert_eq!(end["type"], "PLAN_RESULT", "{end}");
    (plan, end)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_is_no_job_claims_nothing_and_reaches_only_the_page_that_asked() {
    let c = Cluster::start(&["marker"]).await;
    std::fs::create_dir_all(c.dir.path().join("marker")).expect("the marker folder");
    let node_id = c.node_id.clone();
    let mut asker = c.dashboard().await;
    // Another tab of the same user, on the node's page.
    let mut other = c.dashboard().await;

    let (plan, end) = preview(&mut asker, &node_id, "first").await;
    assert!(plan.starts_with("plan-"), "{plan}");
    assert_eq!(
        end["payload"]["summary"]["users"],
        json!(["first"]),
        "{end}"
    );
    let path = c.dir.path().join("marker/first");
    assert_eq!(
        end["payload"]["summary"]["files"][0]["path"],
        path.display().to_string()
    );
    assert!(!path.exists(), "the preview wrote the file");
    let said = asker.job_messages(&plan);
    assert!(
        said.iter()
            .all(|m| m["type"] != "INFRASTRUCTURE_LOG" && m["type"] != "JOB_STEP"),
        "a preview sent console lines: {said:?}"
    );

    // Another page of the node saw nothing of it (a job started there, it would see).
    let job = other
        .start_job(
            "INSTALL_RUNTIME",
            &node_id,
            json!({"type": "marker", "params": {"name": "other"}}),
        )
        .await;
    other.wait_terminal(&job).await;
    assert!(
        other.seen.iter().all(|m| m["jobId"] != plan.as_str()),
        "another page saw the preview: {:?}",
        other.seen
    );

    let history =
        c.cp.get_json(&c.cookie, &format!("/api/jobs?node={node_id}"))
            .await;
    let ids: Vec<&str> = history
        .as_array()
        .expect("the job history is a list")
        .iter()
        .filter_map(|j| j["id"].as_str())
        .collect();
    assert!(ids.contains(&job.as_str()), "{history}");
    assert!(
        !ids.contains(&plan.as_str()),
        "the preview is in the job history: {history}"
    );
}

async fn refused(d: &mut cairn_e2e::Dashboard, node_id: &str, payload: Value) -> String {
    let before = d.seen.len();
    d.send(json!({"type": "INSTALL_RUNTIME", "nodeId": node_id, "payload": payload}))
        .await;
    let reply = d
        .recv_from(before, |v| {
            v["type"] == "JOB_CREATED" || v["type"] == "ERROR"
        })
        .await;
    assert_eq!(reply["type"], "ERROR", "{reply}");
    reply["payload"]["message"]
        .as_str()
        .expect("a sentence")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_run_is_what_was_previewed_and_says_when_the_server_changed() {
    let c = Cluster::start(&["marker"]).await;
    std::fs::create_dir_all(c.dir.path().join("marker")).expect("the marker folder");
    let node_id = c.node_id.clone();
    let mut d = c.dashboard().await;

    // Other settings than the previewed ones are refused, and nothing runs.
    let (plan, _) = preview(&mut d, &node_id, "same").await;
    let message = refused(
        &mut d,
        &node_id,
        json!({"type": "marker", "params": {"name": "changed"}, "planId": plan}),
    )
    .await;
    assert!(
        message.contains("differ from the ones previewed"),
        "{message}"
    );
    assert!(!c.dir.path().join("marker/changed").exists());

    // The previewed settings run, and the job says the server is as the preview found it.
    let job = d
        .start_job(
            "INSTALL_RUNTIME",
            &node_id,
            json!({"type": "marker", "params": {"name": "same"}, "planId": plan}),
        )
        .await;
    let end = d.wait_terminal(&job).await;
    assert_eq!(end["type"], "RUNTIME_INSTALLED", "{end}");
    let info = lines(&d.job_messages(&job), "info");
    assert!(
        info.iter()
            .any(|l| l.starts_with("The server is as the preview found it")),
        "{info:?}"
    );
    // A preview confirms one run.
    let message = refused(
        &mut d,
        &node_id,
        json!({"type": "marker", "params": {"name": "same"}, "planId": plan}),
    )
    .await;
    assert!(message.contains("no longer known"), "{message}");

    // The file appears between the preview and the run: the job says so in a sentence.
    let (plan, _) = preview(&mut d, &node_id, "meanwhile").await;
    std::fs::write(c.dir.path().join("marker/meanwhile"), "made by hand")
        .expect("write the marker");
    let job = d
        .start_job(
            "INSTALL_RUNTIME",
            &node_id,
            json!({"type": "marker", "params": {"name": "meanwhile"}, "planId": plan}),
        )
        .await;
    d.wait_terminal(&job).await;
    let warned = lines(&d.job_messages(&job), "warn");
    assert!(
        warned
            .iter()
            .any(|l| l.starts_with("The server changed since the preview")
                && l.contains("meanwhile")),
        "{warned:?}"
    );
    assert_eq!(
        std::fs::read_to_string(c.dir.path().join("marker/meanwhile")).expect("the marker"),
        "made by hand"
    );
}
