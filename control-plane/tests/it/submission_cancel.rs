//! Cancelling a pending recipe submission (Day 2) against a real control plane: its submitter
//! (a token of theirs too) takes it back, the state says `cancelled` (not `rejected`), the
//! audit says who, the account's pending cap is freed at once, and the registry never offers
//! it, not even after a reload. Another operator is refused with 403, an admin's API token
//! cannot cancel another account's, and a decided submission answers 409; each refusal changes
//! nothing.

use serde_json::{Value, json};

use crate::submissions::{bearer, hello, person, published, send, submissions};
use crate::util::{TestServer, http, runtime_recipe};

const SUBMIT: &str = "/api/recipes/submissions";

fn cancel_path(id: &str) -> String {
    format!("{SUBMIT}/{id}/cancel")
}

fn upload(id: &str, marker: &str) -> Value {
    json!({"source": format!("// {marker}\n{}", runtime_recipe(id, 1))})
}

async fn audit(srv: &TestServer, owner: &str) -> Vec<Value> {
    let r = http(srv.addr, "GET", "/api/audit", Some(owner), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json().as_array().cloned().unwrap_or_default()
}

async fn cancels(srv: &TestServer, owner: &str) -> Vec<Value> {
    audit(srv, owner)
        .await
        .into_iter()
        .filter(|e| e["what"] == "recipe.cancel")
        .collect()
}

/// The listed row of submission `id`.
async fn row(srv: &TestServer, owner: &str, id: &str) -> Value {
    submissions(srv, owner)
        .await
        .into_iter()
        .find(|s| s["id"] == id)
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn the_submitter_cancels_a_pending_submission_which_frees_the_cap_and_is_never_published() {
    let srv = TestServer::start().await;
    let owner = srv.login().await;
    let (olga, token) = person(&srv, &owner, "olga", "operator").await;

    let mut ids = Vec::new();
    for n in 0..8 {
        let r = bearer(
            &srv,
            &token,
            "POST",
            SUBMIT,
            &upload(&format!("cap{n}"), "ok"),
        )
        .await;
        assert_eq!(r["status"], 201, "submission {n}: {r}");
        assert_eq!(r["submission"]["submitter"], "olga", "{r}");
        ids.push(r["submission"]["id"].as_str().expect("id").to_owned());
    }
    let ninth = bearer(&srv, &token, "POST", SUBMIT, &upload("capx", "ninth")).await;
    assert_eq!(ninth["status"], 429, "{ninth}");
    assert!(
        ninth["error"]
            .as_str()
            .is_some_and(|e| e.contains("cancel one of yours")),
        "the refusal says cancelling makes room: {ninth}"
    );

    // Her CI token takes one back: it could send it.
    let r = bearer(&srv, &token, "POST", &cancel_path(&ids[1]), &json!({})).await;
    assert_eq!(r["status"], 200, "{r}");
    assert_eq!(r["state"], "cancelled", "{r}");
    assert_eq!(r["messageCode"], "submissions.cancelled", "{r}");
    assert_eq!(r["messageArgs"]["target"], "cap1 v1", "{r}");
    let listed = row(&srv, &owner, &ids[1]).await;
    assert_eq!(listed["state"], "cancelled", "{listed}");
    assert_eq!(listed["decidedBy"], "olga (token ci)", "{listed}");
    let audited = cancels(&srv, &owner).await;
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(audited[0]["who"], "olga (token ci)");
    assert_eq!(audited[0]["target"], "cap1 v1");
    assert!(
        audited[0]["result"]
            .as_str()
            .is_some_and(|r| r.contains(&ids[1]) && r.contains("by its submitter")),
        "{audited:?}"
    );

    // The cap is freed at once: the upload refused at the cap is accepted now.
    let r = bearer(&srv, &token, "POST", SUBMIT, &upload("capx", "after")).await;
    assert_eq!(r["status"], 201, "{r}");

    // Her dashboard session may cancel too; a second cancel is refused, nothing changed.
    let r = send(&srv, &olga, "POST", &cancel_path(&ids[2]), &json!({})).await;
    assert_eq!(r["status"], 200, "{r}");
    let again = send(&srv, &olga, "POST", &cancel_path(&ids[2]), &json!({})).await;
    assert_eq!(again["status"], 409, "{again}");
    assert_eq!(again["code"], "submissions.cancelledAlready", "{again}");
    assert_eq!(cancels(&srv, &owner).await.len(), 2);

    // An admin cannot approve a cancelled submission, and a reload does not bring it back.
    let r = send(
        &srv,
        &owner,
        "POST",
        &format!("{SUBMIT}/{}/approve", ids[1]),
        &json!({}),
    )
    .await;
    assert_eq!(r["status"], 409, "{r}");
    assert_eq!(r["code"], "submissions.cancelledAlready", "{r}");
    let r = http(
        srv.addr,
        "POST",
        "/api/recipes/reload",
        Some(&owner),
        Some("{}"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    for id in ["cap1", "cap2"] {
        assert_eq!(
            published(&srv, &owner, id).await,
            Value::Null,
            "{id} reached the registry"
        );
    }
    assert_eq!(row(&srv, &owner, &ids[1]).await["state"], "cancelled");
}

#[tokio::test]
async fn another_operator_cannot_cancel_and_an_admin_may_only_from_the_dashboard() {
    let srv = TestServer::start().await;
    let owner = srv.login().await;
    let (olga, _) = person(&srv, &owner, "olga", "operator").await;
    let (pete, pete_token) = person(&srv, &owner, "pete", "operator").await;
    let (alice, alice_token) = person(&srv, &owner, "alice", "admin").await;

    let made = send(&srv, &olga, "POST", SUBMIT, &upload("mine", "olga")).await;
    assert_eq!(made["status"], 201, "{made}");
    let id = made["submission"]["id"].as_str().expect("id").to_owned();
    let path = cancel_path(&id);

    for r in [
        send(&srv, &pete, "POST", &path, &json!({})).await,
        bearer(&srv, &pete_token, "POST", &path, &json!({})).await,
    ] {
        assert_eq!(r["status"], 403, "{r}");
        assert_eq!(r["code"], "submissions.cancelNotYours", "{r}");
        assert_eq!(r["args"]["submitter"], "olga", "{r}");
        assert!(
            r["error"]
                .as_str()
                .is_some_and(|e| e.ends_with("nothing was changed")),
            "{r}"
        );
    }
    // An admin's leaked token cannot clear another account's submissions either.
    let r = bearer(&srv, &alice_token, "POST", &path, &json!({})).await;
    assert_eq!(r["status"], 403, "{r}");
    assert_eq!(r["code"], "submissions.cancelByToken", "{r}");
    let listed = row(&srv, &owner, &id).await;
    assert_eq!(listed["state"], "pending", "{listed}");
    assert_eq!(listed["decidedBy"], Value::Null, "{listed}");
    assert!(cancels(&srv, &owner).await.is_empty());

    // The admin's dashboard session may.
    let r = send(&srv, &alice, "POST", &path, &json!({})).await;
    assert_eq!(r["status"], 200, "{r}");
    let listed = row(&srv, &owner, &id).await;
    assert_eq!(listed["state"], "cancelled", "{listed}");
    assert_eq!(listed["decidedBy"], "alice", "{listed}");
    let audited = cancels(&srv, &owner).await;
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(audited[0]["who"], "alice");
    assert!(
        audited[0]["result"]
            .as_str()
            .is_some_and(|r| r.contains("of olga by an admin")),
        "{audited:?}"
    );
}

#[tokio::test]
async fn an_approved_or_rejected_submission_cannot_be_cancelled_and_nothing_changes() {
    let srv = TestServer::start().await;
    let owner = srv.login().await;
    let (olga, token) = person(&srv, &owner, "olga", "operator").await;

    let approved = send(
        &srv,
        &olga,
        "POST",
        SUBMIT,
        &json!({"source": hello(4), "file": "hello.rhai"}),
    )
    .await;
    assert_eq!(approved["status"], 201, "{approved}");
    let approved = approved["submission"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = send(
        &srv,
        &owner,
        "POST",
        &format!("{SUBMIT}/{approved}/approve"),
        &json!({}),
    )
    .await;
    assert_eq!(r["status"], 200, "{r}");

    let rejected = send(&srv, &olga, "POST", SUBMIT, &upload("nope", "olga")).await;
    assert_eq!(rejected["status"], 201, "{rejected}");
    let rejected = rejected["submission"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = send(
        &srv,
        &owner,
        "POST",
        &format!("{SUBMIT}/{rejected}/reject"),
        &json!({}),
    )
    .await;
    assert_eq!(r["status"], 200, "{r}");

    for (id, state, code) in [
        (&approved, "approved", "submissions.approvedAlready"),
        (&rejected, "rejected", "submissions.rejectedAlready"),
    ] {
        for r in [
            send(&srv, &olga, "POST", &cancel_path(id), &json!({})).await,
            bearer(&srv, &token, "POST", &cancel_path(id), &json!({})).await,
            send(&srv, &owner, "POST", &cancel_path(id), &json!({})).await,
        ] {
            assert_eq!(r["status"], 409, "{r}");
            assert_eq!(r["code"], code, "{r}");
            assert!(
                r["error"].as_str().is_some_and(
                    |e| e.contains(state) && e.ends_with("not pending; nothing was changed")
                ),
                "{r}"
            );
        }
        let listed = row(&srv, &owner, id).await;
        assert_eq!(listed["state"], state, "{listed}");
        assert_eq!(listed["decidedBy"], "admin", "{listed}");
    }
    assert!(cancels(&srv, &owner).await.is_empty());
    assert_eq!(published(&srv, &owner, "hello").await["version"], 4);
    assert_eq!(published(&srv, &owner, "nope").await, Value::Null);

    let none = send(
        &srv,
        &olga,
        "POST",
        &cancel_path("sub-000000000000"),
        &json!({}),
    )
    .await;
    assert_eq!(none["status"], 404, "{none}");
    assert_eq!(none["code"], "submissions.none", "{none}");
}
