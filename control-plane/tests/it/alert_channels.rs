//! Deleting an alert channel against a real control plane: it destroys the secrets the channel
//! holds (nobody can read them back to add it again), so it needs the channel's name typed — a
//! missing or wrong confirmation is a sentence and the channel stays — and it is audited.

use serde_json::{Value, json};

use crate::submissions::send;
use crate::util::{TestServer, http};

async fn names(srv: &TestServer, cookie: &str) -> Vec<Value> {
    let r = http(srv.addr, "GET", "/api/alert-channels", Some(cookie), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
        .as_array()
        .map(|l| l.iter().map(|c| c["name"].clone()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn deleting_an_alert_channel_needs_its_name_typed_and_is_audited() {
    let srv = TestServer::start().await;
    let cookie = srv.login().await;
    let made = send(
        &srv,
        &cookie,
        "POST",
        "/api/alert-channels",
        &json!({"kind": "webhook", "name": "ops", "url": "http://127.0.0.1:9/hook",
                "secret": "a-webhook-secret-long-enough"}),
    )
    .await;
    assert!(made["status"] == 200 || made["status"] == 201, "{made}");
    let path = format!("/api/alert-channels/{}", made["id"]);

    for (body, words) in [
        (json!({}), "needs its name typed"),
        (json!({"confirm": "op"}), "type the channel's name \"ops\""),
    ] {
        let r = send(&srv, &cookie, "DELETE", &path, &body).await;
        assert_eq!(r["status"], 400, "{r}");
        assert!(
            r["error"].as_str().is_some_and(|e| e.contains(words)),
            "{words}: {r}"
        );
        assert_eq!(names(&srv, &cookie).await, [json!("ops")]);
    }

    let r = send(&srv, &cookie, "DELETE", &path, &json!({"confirm": "ops"})).await;
    assert_eq!(r["status"], 200, "{r}");
    assert!(names(&srv, &cookie).await.is_empty());
    let audit = http(srv.addr, "GET", "/api/audit", Some(&cookie), None)
        .await
        .json();
    let deletes: Vec<&Value> = audit
        .as_array()
        .expect("audit")
        .iter()
        .filter(|e| e["what"] == "alert.channel.delete")
        .collect();
    assert_eq!(deletes.len(), 1, "{audit}");
    assert_eq!(deletes[0]["result"], "ok: \"ops\"");
}
