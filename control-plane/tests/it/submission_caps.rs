//! THREATS row 58 against a real control plane: an operator's API tokens (one leaked from CI,
//! say) cannot fill the control plane's disk with recipe submissions. An account keeps at most
//! 8 pending, of at most 4 MiB together, whichever of its tokens sent them; the next is refused
//! with 429 and a sentence saying what to do, and nothing of it is stored or audited. Sending
//! the next version of a recipe already waiting replaces it, and a decided one makes room.

use serde_json::{Value, json};

use crate::submissions::{bearer, person, send, submissions};
use crate::util::{TestServer, http, runtime_recipe};

const SUBMIT: &str = "/api/recipes/submissions";

/// A new recipe `id` at `version`, carrying `marker` in a comment.
fn upload(id: &str, version: u64, marker: &str) -> Value {
    json!({"source": format!("// {marker}\n{}", runtime_recipe(id, version))})
}

async fn audit_mentions(srv: &TestServer, owner: &str, word: &str) -> bool {
    let audit = http(srv.addr, "GET", "/api/audit", Some(owner), None).await;
    assert_eq!(audit.status, 200, "{}", audit.body);
    audit.body.contains(word)
}

#[tokio::test]
async fn an_account_keeps_at_most_eight_pending_submissions_whichever_token_sends_them() {
    let srv = TestServer::start().await;
    let owner = srv.login().await;
    let (olga, token) = person(&srv, &owner, "olga", "operator").await;
    let second = send(
        &srv,
        &olga,
        "POST",
        "/api/me/tokens",
        &json!({"name": "ci2", "role": "operator", "groups": ["web"], "expiresIn": 3600}),
    )
    .await;
    assert_eq!(second["status"], 201, "{second}");
    let second = second["token"].as_str().expect("secret").to_owned();

    let mut first_id = String::new();
    for n in 0..8 {
        let r = bearer(
            &srv,
            &token,
            "POST",
            SUBMIT,
            &upload(&format!("cap{n}"), 1, "ok"),
        )
        .await;
        assert_eq!(r["status"], 201, "submission {n}: {r}");
        if n == 0 {
            first_id = r["submission"]["id"].as_str().expect("id").to_owned();
        }
    }
    for t in [&token, &second] {
        let r = bearer(&srv, t, "POST", SUBMIT, &upload("capx", 1, "refused-9th")).await;
        assert_eq!(r["status"], 429, "{r}");
        assert_eq!(r["code"], "submissions.pendingYours", "{r}");
        assert_eq!(r["args"]["held"], "8", "{r}");
        assert_eq!(r["args"]["max"], "8", "{r}");
        let error = r["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("nothing was stored") && error.contains("wait until an admin"),
            "{r}"
        );
    }
    // Nothing of the refused one: not listed, not in the database, not audited.
    assert_eq!(submissions(&srv, &owner).await.len(), 8);
    let db = String::from_utf8_lossy(&srv.db_bytes()).into_owned();
    assert!(
        !db.contains("refused-9th"),
        "a refused submission was stored"
    );
    assert!(!audit_mentions(&srv, &owner, "capx").await);

    // The next version of a recipe already waiting replaces it.
    let r = bearer(&srv, &token, "POST", SUBMIT, &upload("cap0", 2, "replaces")).await;
    assert_eq!(r["status"], 201, "{r}");
    assert_eq!(r["superseded"], json!([first_id]), "{r}");

    // Another account is not held by olga's cap.
    let r = send(&srv, &owner, "POST", SUBMIT, &upload("mine", 1, "owner")).await;
    assert_eq!(r["status"], 201, "{r}");

    // Once an admin rejects one of hers, she can send another.
    let listed = submissions(&srv, &owner).await;
    let cap1 = listed
        .iter()
        .find(|s| s["recipeId"] == "cap1")
        .and_then(|s| s["id"].as_str())
        .expect("cap1")
        .to_owned();
    let r = send(
        &srv,
        &owner,
        "POST",
        &format!("{SUBMIT}/{cap1}/reject"),
        &json!({}),
    )
    .await;
    assert_eq!(r["status"], 200, "{r}");
    let r = bearer(&srv, &second, "POST", SUBMIT, &upload("capx", 1, "after")).await;
    assert_eq!(r["status"], 201, "{r}");
}

#[tokio::test]
async fn an_account_keeps_at_most_four_mib_of_pending_submissions() {
    let srv = TestServer::start().await;
    let owner = srv.login().await;
    let (_olga, token) = person(&srv, &owner, "olga", "operator").await;
    // Each just under the 1 MiB body: 14 companion files of 64 KiB (896 KiB stored).
    let big = |id: &str, marker: &str| {
        let mut body = upload(id, 1, marker);
        for f in 0..14 {
            body["files"][format!("{id}.part{f}")] = json!("x".repeat(64 * 1024));
        }
        body
    };
    for n in 0..4 {
        let r = bearer(&srv, &token, "POST", SUBMIT, &big(&format!("big{n}"), "ok")).await;
        assert_eq!(r["status"], 201, "submission {n}: {}", r["error"]);
    }
    let r = bearer(&srv, &token, "POST", SUBMIT, &big("big4", "refused-5th")).await;
    assert_eq!(r["status"], 429, "{}", r["error"]);
    assert_eq!(r["code"], "submissions.pendingYoursBytes", "{r}");
    assert_eq!(r["args"]["max"], "4096", "{r}");
    let held: u64 = r["args"]["held"]
        .as_str()
        .and_then(|h| h.parse().ok())
        .expect("held KiB");
    let size: u64 = r["args"]["size"]
        .as_str()
        .and_then(|h| h.parse().ok())
        .expect("size KiB");
    assert!(held >= 4 * 896 && size >= 896 && held + size > 4096, "{r}");
    assert_eq!(submissions(&srv, &owner).await.len(), 4);
    let db = String::from_utf8_lossy(&srv.db_bytes()).into_owned();
    assert!(
        !db.contains("refused-5th"),
        "a refused submission was stored"
    );
    assert!(!audit_mentions(&srv, &owner, "big4").await);
}
