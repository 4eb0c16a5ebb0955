//! A recipe's declared actions against the real control plane and agent, with the test recipe
//! `tests/recipes/shelf.rhai`: the catalogue lists them, a preview of one changes nothing, a
//! destructive one runs only with its confirmation typed again (refused on the server, nothing
//! run, otherwise), and every run is audited with who, node, recipe, action and the parameters
//! that are not secret.

use cairn_e2e::{Cluster, lines};
use serde_json::{Value, json};

/// Sends a command that must be refused; returns the `ERROR`'s payload.
async fn refused(d: &mut cairn_e2e::Dashboard, kind: &str, node_id: &str, payload: Value) -> Value {
    let before = d.seen.len();
    d.send(json!({"type": kind, "nodeId": node_id, "payload": payload}))
        .await;
    let reply = d
        .recv_from(before, |v| {
            v["type"] == "JOB_CREATED" || v["type"] == "ERROR"
        })
        .await;
    assert_eq!(reply["type"], "ERROR", "{reply}");
    reply["payload"].clone()
}

fn remove(name: &str, confirm: Option<&str>) -> Value {
    let mut p = json!({"type": "shelf", "action": "remove_box", "params": {"box_name": name}});
    if let Some(c) = confirm {
        p["confirm"] = json!(c);
    }
    p
}

/// The audit entries of action runs.
async fn action_audit(c: &Cluster) -> Vec<Value> {
    let audit = c.cp.get_json(&c.cookie, "/api/audit").await;
    audit
        .as_array()
        .expect("the audit log is a list")
        .iter()
        .filter(|e| e["what"] == "job.create action")
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_lists_a_recipes_actions_with_their_confirmation_and_french() {
    let c = Cluster::start(&["shelf"]).await;
    let recipes = c.cp.get_json(&c.cookie, "/api/recipes").await;
    let shelf = recipes
        .as_array()
        .expect("a list")
        .iter()
        .find(|r| r["id"] == "shelf")
        .expect("the shelf recipe")
        .clone();
    assert_eq!(shelf["published"], true, "{shelf}");
    let actions = shelf["actions"].as_array().expect("actions");
    assert_eq!(actions.len(), 2, "{shelf}");
    assert_eq!(actions[0]["name"], "add_box");
    assert_eq!(actions[0]["params"][1]["secret"], true);
    assert_eq!(actions[1]["name"], "remove_box");
    assert_eq!(actions[1]["destructive"], true);
    assert_eq!(actions[1]["confirm"], "box_name");
    assert_eq!(
        shelf["translations"]["fr"]["actions"]["remove_box"]["title"],
        "Retirer une boîte"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destructive_action_runs_only_with_its_confirmation_and_every_run_is_audited() {
    let c = Cluster::start(&["shelf"]).await;
    let shelf = c.dir.path().join("shelf");
    std::fs::create_dir_all(&shelf).expect("the shelf folder");
    let node_id = c.node_id.clone();
    let mut d = c.dashboard().await;

    // A box to remove, put there by an action with a secret parameter.
    let job = d
        .start_job(
            "RUN_ACTION",
            &node_id,
            json!({"type": "shelf", "action": "add_box",
                   "params": {"box_name": "toys", "lock_code": "opensesame-42"}}),
        )
        .await;
    let end = d.wait_terminal(&job).await;
    assert_eq!(end["type"], "RUNTIME_INSTALLED", "{end}");
    assert!(
        lines(&d.job_messages(&job), "info").contains(&"Added the box toys".to_owned()),
        "{:?}",
        d.job_messages(&job)
    );
    let toys = shelf.join("toys");
    assert_eq!(
        std::fs::read_to_string(&toys).expect("the box"),
        "opensesame-42"
    );
    let stored = c.cp.get_json(&c.cookie, &format!("/api/jobs/{job}")).await;
    assert_eq!(stored["action"], "add_box", "{stored}");

    // The preview names what goes and removes nothing.
    let plan = d
        .start_job(
            "PLAN_REQUEST",
            &node_id,
            json!({"type": "shelf", "action": "remove_box", "params": {"box_name": "toys"}}),
        )
        .await;
    let end = d.wait_terminal(&plan).await;
    assert_eq!(end["type"], "PLAN_RESULT", "{end}");
    let steps = end["payload"]["actions"].to_string();
    assert!(
        steps.contains(&format!("{}", toys.display())) && steps.contains("rm"),
        "the preview does not name what goes: {end}"
    );
    assert!(toys.exists(), "the preview removed the box");

    // Without the confirmation, and with a wrong one: refused with a sentence, nothing runs.
    for confirm in [None, Some("books"), Some("toys ")] {
        let error = refused(&mut d, "RUN_ACTION", &node_id, remove("toys", confirm)).await;
        assert_eq!(error["messageCode"], "action.unconfirmed", "{error}");
        assert_eq!(
            error["message"],
            "\"Remove a box\" cannot be undone, so it runs only when Box is typed again exactly \
             as given; it was not, and nothing was run"
        );
        assert!(toys.exists(), "a refused removal ran");
    }
    // An action the recipe does not declare: refused too.
    let error = refused(
        &mut d,
        "RUN_ACTION",
        &node_id,
        json!({"type": "shelf", "action": "paint", "params": {}}),
    )
    .await;
    assert_eq!(error["messageCode"], "action.unknown", "{error}");

    // With the name typed again, confirming the preview: it runs.
    let mut run = remove("toys", Some("toys"));
    run["planId"] = json!(plan);
    let job = d.start_job("RUN_ACTION", &node_id, run).await;
    let end = d.wait_terminal(&job).await;
    assert_eq!(end["type"], "RUNTIME_INSTALLED", "{end}");
    assert!(!toys.exists(), "the confirmed removal left the box");
    let info = lines(&d.job_messages(&job), "info");
    assert!(
        info.contains(&"Removed the box toys".to_owned()),
        "{info:?}"
    );

    // The audit log: who, node, recipe, action and the non-secret parameters, refusals too.
    let audit = action_audit(&c).await;
    let ran = |action: &str| {
        audit
            .iter()
            .filter(|e| {
                let t = e["target"].as_str().unwrap_or_default();
                e["result"] == "ok" && t.starts_with(&node_id) && t.contains(action)
            })
            .count()
    };
    assert_eq!(ran("shelf add_box {\"box_name\":\"toys\"}"), 1, "{audit:?}");
    assert_eq!(
        ran("shelf remove_box {\"box_name\":\"toys\"}"),
        1,
        "{audit:?}"
    );
    assert!(audit.iter().all(|e| e["who"] == "admin"), "{audit:?}");
    let refusals = audit
        .iter()
        .filter(|e| e["result"] == "refused: not confirmed")
        .count();
    assert_eq!(refusals, 3, "{audit:?}");
    let everything = c.cp.get_json(&c.cookie, "/api/audit").await.to_string();
    assert!(
        !everything.contains("opensesame"),
        "a secret is in the audit log"
    );
}
