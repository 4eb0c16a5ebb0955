//! Users (issue 20) at the control plane's boundary: an invitation link is throttled like a
//! sign-in and bad input changes nothing; an operator's destructive action is refused on the
//! socket, audited, and no job is made.

use serde_json::{Value, json};

use crate::util::{TestServer, dashboard, enrolled_agent, http, login, recv_type, send_json};

async fn post(srv: &TestServer, cookie: Option<&str>, path: &str, body: Value) -> (u16, Value) {
    let r = http(srv.addr, "POST", path, cookie, Some(&body.to_string())).await;
    (
        r.status,
        serde_json::from_str(&r.body).unwrap_or(Value::Null),
    )
}

async fn invite(srv: &TestServer, owner: &str, name: &str, role: &str) -> String {
    let (status, link) = post(
        srv,
        Some(owner),
        "/api/users",
        json!({"username": name, "role": role, "groups": []}),
    )
    .await;
    assert_eq!(status, 201, "{link}");
    link["token"].as_str().expect("token").to_owned()
}

#[tokio::test]
async fn invitation_links_are_throttled_like_sign_ins_and_bad_input_changes_nothing() {
    let mut srv = TestServer::start().await;
    let owner = srv.login().await;
    for bad in [
        json!({"username": "Ana", "role": "viewer"}),
        json!({"username": "ana", "role": "root"}),
        json!({"username": "ana", "role": "viewer", "groups": ["Not A Tag"]}),
        json!({"username": "admin", "role": "viewer"}),
    ] {
        let (status, body) = post(&srv, Some(&owner), "/api/users", bad.clone()).await;
        assert!(status == 400 || status == 409, "{bad}: {status} {body}");
        assert!(
            body["error"].as_str().is_some_and(|e| e.len() > 20),
            "{body}"
        );
    }
    let users = http(srv.addr, "GET", "/api/users", Some(&owner), None).await;
    assert_eq!(
        users.json().as_array().map(Vec::len),
        Some(1),
        "{}",
        users.body
    );

    // The owner cannot lock themselves out: no reset, no disabling, no demotion of their own.
    let (status, body) = post(&srv, Some(&owner), "/api/users/admin/reset", json!({})).await;
    assert_eq!(status, 409, "{body}");
    for change in [r#"{"disabled": true}"#, r#"{"role": "viewer"}"#] {
        let r = http(
            srv.addr,
            "PATCH",
            "/api/users/admin",
            Some(&owner),
            Some(change),
        )
        .await;
        assert_eq!(r.status, 409, "{change}: {}", r.body);
    }
    let me = http(srv.addr, "GET", "/api/me", Some(&owner), None).await;
    assert_eq!(me.json()["role"], "owner", "{}", me.body);

    let token = invite(&srv, &owner, "ana", "viewer").await;
    // Too short a password: refused, the link still works afterwards.
    let (status, body) = post(
        &srv,
        None,
        "/api/invites/accept",
        json!({"token": token, "password": "short"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    // Guessed links from one address: refused, then locked out, even with the right link.
    let mut statuses = Vec::new();
    for i in 0..6 {
        let (status, _) = post(
            &srv,
            None,
            "/api/invites/accept",
            json!({"token": format!("guess-{i}"), "password": "a-long-password"}),
        )
        .await;
        statuses.push(status);
    }
    assert_eq!(statuses[..5], [404; 5], "{statuses:?}");
    assert_eq!(statuses[5], 429, "{statuses:?}");
    let (status, body) = post(
        &srv,
        None,
        "/api/invites/accept",
        json!({"token": token, "password": "a-long-password"}),
    )
    .await;
    assert_eq!(status, 429, "{body}");
    assert!(login(srv.addr, "ana", "a-long-password").await.is_err());
    let users = http(srv.addr, "GET", "/api/users", Some(&owner), None).await;
    assert_eq!(
        users.json().as_array().map(Vec::len),
        Some(1),
        "{}",
        users.body
    );
    srv.stop().await;
}

#[tokio::test]
async fn an_operator_is_refused_a_destructive_action_on_the_socket_and_it_is_audited() {
    let mut srv = TestServer::start().await;
    let owner = srv.login().await;
    let (_agent, _conn) = enrolled_agent(&srv, &owner, "db-1").await;
    let node_id = _conn.node_id.clone();
    let token = invite(&srv, &owner, "olga", "operator").await;
    let (status, body) = post(
        &srv,
        None,
        "/api/invites/accept",
        json!({"token": token, "password": "olga-password"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let olga = login(srv.addr, "olga", "olga-password")
        .await
        .expect("olga signs in");
    // An operator without groups sees no node at all: give her every node's group.
    let r = http(
        srv.addr,
        "PATCH",
        &format!("/api/nodes/{node_id}"),
        Some(&owner),
        Some(r#"{"tags": ["db"]}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = http(
        srv.addr,
        "PATCH",
        "/api/users/olga",
        Some(&owner),
        Some(r#"{"groups": ["db"]}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut ws = dashboard(srv.addr, Some(&olga), &srv.origin())
        .await
        .expect("socket");
    send_json(
        &mut ws,
        json!({"type": "RUN_ACTION", "nodeId": node_id, "payload": {"type": "redis",
               "action": "uninstall", "params": {"server": "redis"}, "confirm": "redis"}}),
    )
    .await;
    let refused = recv_type(&mut ws, "ERROR").await;
    let message = refused["payload"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("may not run"), "{refused}");
    let jobs = http(srv.addr, "GET", "/api/jobs", Some(&owner), None).await;
    assert_eq!(jobs.json(), json!([]), "{}", jobs.body);
    let audit = http(srv.addr, "GET", "/api/audit?user=olga", Some(&owner), None).await;
    assert!(
        audit
            .json()
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["result"] == "refused: role"),
        "{}",
        audit.body
    );
    // Granted, the same operator gets past the role check (to the recipe's own checks).
    let r = http(
        srv.addr,
        "PATCH",
        "/api/users/olga",
        Some(&owner),
        Some(r#"{"mayDestroy": true}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    send_json(
        &mut ws,
        json!({"type": "RUN_ACTION", "nodeId": node_id, "payload": {"type": "redis",
               "action": "uninstall", "params": {"server": "redis"}, "confirm": "redis"}}),
    )
    .await;
    let next = crate::util::recv_json(&mut ws).await;
    assert!(
        !next["payload"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("may not")),
        "{next}"
    );
    srv.stop().await;
}

#[tokio::test]
async fn a_job_of_a_node_outside_a_viewers_groups_is_neither_listed_nor_shown() {
    let mut srv = TestServer::start().await;
    let owner = srv.login().await;
    let (_agent, conn) = enrolled_agent(&srv, &owner, "web-1").await;
    let node_id = conn.node_id.clone();
    let r = http(
        srv.addr,
        "PATCH",
        &format!("/api/nodes/{node_id}"),
        Some(&owner),
        Some(r#"{"tags": ["web"]}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut ws = dashboard(srv.addr, Some(&owner), &srv.origin())
        .await
        .expect("socket");
    send_json(
        &mut ws,
        json!({"type": "INSTALL_RUNTIME", "nodeId": node_id, "payload": {"type": "hello"}}),
    )
    .await;
    let created = recv_type(&mut ws, "JOB_CREATED").await;
    let job_id = created["payload"]["jobId"]
        .as_str()
        .expect("a job id")
        .to_owned();
    let token = invite(&srv, &owner, "vic", "viewer").await;
    let (status, _) = post(
        &srv,
        None,
        "/api/invites/accept",
        json!({"token": token, "password": "vic-password"}),
    )
    .await;
    assert_eq!(status, 200);
    let vic = login(srv.addr, "vic", "vic-password")
        .await
        .expect("vic signs in");
    // Outside the node's groups: nothing listed, the job and its events are 404.
    let jobs = http(srv.addr, "GET", "/api/jobs", Some(&vic), None).await;
    assert_eq!(jobs.json(), json!([]), "{}", jobs.body);
    for path in [
        format!("/api/jobs/{job_id}"),
        format!("/api/jobs/{job_id}/events"),
    ] {
        let r = http(srv.addr, "GET", &path, Some(&vic), None).await;
        assert_eq!(r.status, 404, "{path}: {}", r.body);
    }
    // In the group: listed and shown, and still refused anything that starts a job.
    let r = http(
        srv.addr,
        "PATCH",
        "/api/users/vic",
        Some(&owner),
        Some(r#"{"groups": ["web"]}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let jobs = http(srv.addr, "GET", "/api/jobs", Some(&vic), None).await;
    assert_eq!(jobs.json()[0]["id"], json!(job_id), "{}", jobs.body);
    let r = http(
        srv.addr,
        "GET",
        &format!("/api/jobs/{job_id}/events"),
        Some(&vic),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut page = dashboard(srv.addr, Some(&vic), &srv.origin())
        .await
        .expect("socket");
    send_json(
        &mut page,
        json!({"type": "INSTALL_RUNTIME", "nodeId": node_id, "payload": {"type": "hello"}}),
    )
    .await;
    let refused = recv_type(&mut page, "ERROR").await;
    assert!(
        refused["payload"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("may not send INSTALL_RUNTIME")),
        "{refused}"
    );
    srv.stop().await;
}

#[tokio::test]
async fn a_pending_invitation_is_listed_without_its_link_and_cancelled_it_no_longer_works() {
    let srv = TestServer::start().await;
    let owner = srv.login().await;
    let token = invite(&srv, &owner, "ana", "operator").await;
    let listed = http(srv.addr, "GET", "/api/invites", Some(&owner), None).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let list = listed.json();
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(
        (
            list[0]["username"].clone(),
            list[0]["role"].clone(),
            list[0]["createdBy"].clone()
        ),
        (json!("ana"), json!("operator"), json!("admin"))
    );
    assert!(!listed.body.contains(&token), "the link's secret is listed");

    let gone = http(
        srv.addr,
        "DELETE",
        "/api/invites/nobody",
        Some(&owner),
        None,
    )
    .await;
    assert_eq!(gone.status, 404, "{}", gone.body);
    let cancelled = http(srv.addr, "DELETE", "/api/invites/ana", Some(&owner), None).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    let listed = http(srv.addr, "GET", "/api/invites", Some(&owner), None).await;
    assert_eq!(listed.json(), json!([]));
    let (status, body) = post(
        &srv,
        None,
        "/api/invites/accept",
        json!({"token": token, "password": "ana-password-long"}),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert!(login(srv.addr, "ana", "ana-password-long").await.is_err());
    let audit = http(srv.addr, "GET", "/api/audit", Some(&owner), None)
        .await
        .json();
    assert!(
        audit
            .as_array()
            .is_some_and(|a| a.iter().any(|e| e["what"] == "user.invite.cancel"
                && e["target"] == "ana"
                && e["who"] == "admin")),
        "{audit}"
    );
}
