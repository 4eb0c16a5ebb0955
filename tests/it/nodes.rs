//! A node's day 2 with the real binaries (issue 18): renamed and tagged through the API,
//! removed (its live agent told and disconnected, its agent refused when it dials again, saying
//! so in its log and waiting long before the next try), enrollment tokens listed and revoked
//! (a revoked or expired one refused by `cairn-agent enroll` with a sentence).

use cairn_e2e::{Agent, Cluster, ControlPlane, eventually, recipes_dir};
use serde_json::{Value, json};

async fn send(cp: &ControlPlane, cookie: &str, method: &str, path: &str, body: Value) -> Value {
    let r = cp
        .request(method, path, Some(cookie), Some(&body.to_string()))
        .await;
    let mut v = r.json();
    v["status"] = json!(r.status);
    v
}

fn audit_has(audit: &Value, what: &str, target: &str) -> bool {
    audit
        .as_array()
        .is_some_and(|a| a.iter().any(|e| e["what"] == what && e["target"] == target))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_is_renamed_and_tagged_through_the_api_and_bad_input_changes_nothing() {
    let c = Cluster::start(&[]).await;
    let path = format!("/api/nodes/{}", c.node_id);
    let ok = send(
        &c.cp,
        &c.cookie,
        "PATCH",
        &path,
        json!({"name": "  db-main  ", "tags": ["db", "prod", "db"]}),
    )
    .await;
    assert_eq!(ok["status"], 200, "{ok}");
    let nodes = c.cp.get_json(&c.cookie, "/api/nodes").await;
    assert_eq!(nodes[0]["name"], "db-main", "{nodes}");
    assert_eq!(nodes[0]["tags"], json!(["db", "prod"]), "{nodes}");
    for bad in [
        json!({"tags": ["Web"]}),
        json!({"tags": ["-web"]}),
        json!({"tags": (0..11).map(|i| format!("t{i}")).collect::<Vec<_>>()}),
        json!({"name": ""}),
        json!({"name": "a\u{7}b"}),
        json!({"name": "x".repeat(65)}),
        json!({}),
    ] {
        let r = send(&c.cp, &c.cookie, "PATCH", &path, bad.clone()).await;
        assert_eq!(r["status"], 400, "{bad}: {r}");
        assert!(r["error"].as_str().is_some_and(|e| e.len() > 20), "{r}");
    }
    let after = c.cp.get_json(&c.cookie, "/api/nodes").await;
    assert_eq!(after[0]["name"], "db-main");
    assert_eq!(after[0]["tags"], json!(["db", "prod"]));
    let missing = send(
        &c.cp,
        &c.cookie,
        "PATCH",
        "/api/nodes/node-nope",
        json!({"name": "x"}),
    )
    .await;
    assert_eq!(missing["status"], 404, "{missing}");
    let audit = c.cp.get_json(&c.cookie, "/api/audit").await;
    assert!(audit_has(&audit, "node.change", &c.node_id), "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_nodes_agent_is_disconnected_and_refused_when_it_dials_again_and_says_so() {
    let mut c = Cluster::start(&[]).await;
    let path = format!("/api/nodes/{}", c.node_id);
    // The typed confirmation is checked on the server.
    let wrong = send(
        &c.cp,
        &c.cookie,
        "DELETE",
        &path,
        json!({"confirm": "web-2"}),
    )
    .await;
    assert_eq!(wrong["status"], 400, "{wrong}");
    assert!(
        wrong["error"].as_str().unwrap_or("").contains("\"web-1\""),
        "{wrong}"
    );
    c.cp.wait_online(&c.cookie, &c.node_id, true).await;

    let removed = send(
        &c.cp,
        &c.cookie,
        "DELETE",
        &path,
        json!({"confirm": "web-1"}),
    )
    .await;
    assert_eq!(removed["status"], 200, "{removed}");
    assert_eq!(
        removed["uninstallCommand"],
        format!(
            "curl -fsSL {}/install.sh | sudo bash -s -- --uninstall",
            c.cp.url()
        ),
    );
    let nodes = c.cp.get_json(&c.cookie, "/api/nodes").await;
    assert_eq!(nodes, json!([]), "the removed node is still listed");

    // The live connection was told and closed: the agent logs the sentence and waits long.
    let sentence = "this server was removed from Cairn by admin";
    eventually("the agent to log its removal", || async {
        c.agent.logs().contains(sentence).then_some(())
    })
    .await;
    assert!(
        c.agent.logs().contains("trying again in 3600 s"),
        "{}",
        c.agent.logs()
    );
    assert!(
        c.agent
            .logs()
            .contains("enroll it again with a new token or uninstall the agent"),
        "{}",
        c.agent.logs()
    );

    // Started again (as a reboot would), it dials, is refused at authentication, says so.
    let before = c.agent.logs().matches(sentence).count();
    c.agent.kill();
    c.agent.start();
    eventually("the restarted agent to be refused", || async {
        (c.agent
            .logs()
            .matches("this server was removed from Cairn")
            .count()
            > before)
            .then_some(())
    })
    .await;
    let audit = c.cp.get_json(&c.cookie, "/api/audit").await;
    assert!(audit_has(&audit, "node.remove", &c.node_id), "{audit}");
    let refused = audit.as_array().and_then(|a| {
        a.iter().find(|e| {
            e["what"] == "node.auth"
                && e["result"]
                    .as_str()
                    .is_some_and(|r| r.contains("removed from Cairn"))
        })
    });
    assert!(
        refused.is_some(),
        "no refused authentication audited: {audit}"
    );
    // Its jobs' history stays readable, and nothing can be sent to it.
    let jobs =
        c.cp.request(
            "GET",
            &format!("/api/jobs?node={}", c.node_id),
            Some(&c.cookie),
            None,
        )
        .await;
    assert_eq!(jobs.status, 200, "{}", jobs.body);
    let again = send(
        &c.cp,
        &c.cookie,
        "DELETE",
        &path,
        json!({"confirm": "web-1"}),
    )
    .await;
    assert_eq!(again["status"], 404, "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_and_an_expired_one_are_listed_as_such_and_refused_at_enrollment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let recipes = recipes_dir(root, &[]);
    let args: Vec<std::ffi::OsString> = vec!["--enrollment-token-ttl".into(), "2".into()];
    let cp = ControlPlane::start_with_args(root, &recipes, &args).await;
    let cookie = cp.login().await;
    let (revoked, revoked_id) = cp.token(&cookie, "revoked-1").await;
    let (expiring, expiring_id) = cp.token(&cookie, "expiring-1").await;

    let list = cp.get_json(&cookie, "/api/enrollment-tokens").await;
    let listed = list.as_array().expect("a list");
    assert_eq!(listed.len(), 2, "{list}");
    for t in listed {
        assert_eq!(t["createdBy"], "admin", "{t}");
        assert!(t["expiresAt"].as_u64().is_some(), "{t}");
        assert!(
            !t.to_string()
                .contains(revoked.split('.').nth(1).unwrap_or("-"))
        );
        assert!(
            !t.to_string()
                .contains(expiring.split('.').nth(1).unwrap_or("-"))
        );
    }

    let r = send(
        &cp,
        &cookie,
        "DELETE",
        &format!("/api/enrollment-tokens/{revoked_id}"),
        json!({}),
    )
    .await;
    assert_eq!(r["status"], 200, "{r}");
    let (status, said) = Agent::enroll_command(&cp.url(), &revoked, &root.join("a1")).await;
    assert!(!status.success(), "a revoked token enrolled: {said}");
    assert!(
        said.contains(
            "this enrollment token was revoked by admin; create a new one in the dashboard"
        ),
        "{said}"
    );

    // Once expired, the other is listed as expired and refused.
    let expired = eventually("the token to be listed as expired", || async {
        let list = cp.get_json(&cookie, "/api/enrollment-tokens").await;
        list.as_array()?
            .iter()
            .find(|t| t["id"] == expiring_id.as_str() && t["expired"] == true)
            .cloned()
    })
    .await;
    assert_eq!(expired["name"], "expiring-1");
    let list = cp.get_json(&cookie, "/api/enrollment-tokens").await;
    assert!(
        !list.to_string().contains(&revoked_id),
        "a revoked token is still listed: {list}"
    );
    let (status, said) = Agent::enroll_command(&cp.url(), &expiring, &root.join("a2")).await;
    assert!(!status.success(), "an expired token enrolled: {said}");
    assert!(said.contains("this enrollment token has expired"), "{said}");

    let audit = cp.get_json(&cookie, "/api/audit").await;
    assert!(
        audit_has(&audit, "enrollment-token.revoke", &revoked_id),
        "{audit}"
    );
    let unknown = send(
        &cp,
        &cookie,
        "DELETE",
        "/api/enrollment-tokens/node-nope",
        json!({}),
    )
    .await;
    assert_eq!(unknown["status"], 404, "{unknown}");
}
