//! A user's sessions (issue 20): listed with their device, address and times (the current one
//! marked), one revoked (its cookie then gets 401 while the others work), and the owner ending
//! every session of a user.

use serde_json::{Value, json};

use crate::util::{PASSWORD, Reply, TestServer, http, http_with};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const CHROME: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36";

async fn sign_in(srv: &TestServer, user: &str, agent: &str) -> String {
    let body = json!({"username": user, "password": PASSWORD}).to_string();
    let r = http_with(
        srv.addr,
        "POST",
        "/api/login",
        &[("Content-Type", "application/json"), ("User-Agent", agent)],
        &body,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.cookie().expect("a session")
}

async fn sessions(srv: &TestServer, cookie: &str) -> Vec<Value> {
    let r = http(srv.addr, "GET", "/api/me/sessions", Some(cookie), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json().as_array().cloned().expect("a list")
}

async fn me(srv: &TestServer, cookie: &str) -> Reply {
    http(srv.addr, "GET", "/api/me", Some(cookie), None).await
}

#[tokio::test]
async fn sessions_are_listed_and_a_revoked_one_gets_401() {
    let mut srv = TestServer::start().await;
    let firefox = sign_in(&srv, "admin", FIREFOX).await;
    let chrome = sign_in(&srv, "admin", CHROME).await;
    let list = sessions(&srv, &firefox).await;
    assert_eq!(list.len(), 2, "{list:?}");
    let mine = list
        .iter()
        .find(|s| s["current"] == true)
        .expect("current marked");
    assert_eq!(mine["device"], "Firefox on Linux", "{mine}");
    assert_eq!(mine["address"], "127.0.0.1", "{mine}");
    assert!(mine["createdAt"].as_u64().is_some_and(|t| t > 0), "{mine}");
    assert!(
        mine["lastUsed"].as_u64() >= mine["createdAt"].as_u64(),
        "{mine}"
    );
    let other = list
        .iter()
        .find(|s| s["current"] == false)
        .expect("the other");
    assert_eq!(other["device"], "Chrome on Windows", "{other}");
    // Nothing that opens a session is listed.
    let text = serde_json::to_string(&list).expect("json");
    for cookie in [&firefox, &chrome] {
        let id = cookie.split('=').nth(1).expect("id");
        assert!(!text.contains(id), "a session id is in the list");
    }

    // A malformed or unknown id changes nothing.
    for bad in ["x", "0000000000000000"] {
        let r = http(
            srv.addr,
            "DELETE",
            &format!("/api/me/sessions/{bad}"),
            Some(&firefox),
            None,
        )
        .await;
        assert_eq!(r.status, 404, "{}", r.body);
    }
    let id = other["id"].as_str().expect("id");
    let r = http(
        srv.addr,
        "DELETE",
        &format!("/api/me/sessions/{id}"),
        Some(&firefox),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        me(&srv, &chrome).await.status,
        401,
        "the revoked session still works"
    );
    assert_eq!(me(&srv, &firefox).await.status, 200);
    assert_eq!(sessions(&srv, &firefox).await.len(), 1);
    srv.stop().await;
}

#[tokio::test]
async fn the_owner_ends_every_session_of_a_user() {
    let mut srv = TestServer::start().await;
    let owner = srv.login().await;
    let r = http(
        srv.addr,
        "POST",
        "/api/users",
        Some(&owner),
        Some(&json!({"username": "ola", "role": "operator", "groups": []}).to_string()),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let accept = json!({"token": r.json()["token"], "password": PASSWORD}).to_string();
    let r = http(srv.addr, "POST", "/api/invites/accept", None, Some(&accept)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let a = sign_in(&srv, "ola", FIREFOX).await;
    let b = sign_in(&srv, "ola", CHROME).await;
    // She may not end another user's sessions.
    let r = http(
        srv.addr,
        "DELETE",
        "/api/users/admin/sessions",
        Some(&a),
        None,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = http(
        srv.addr,
        "DELETE",
        "/api/users/nobody/sessions",
        Some(&owner),
        None,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = http(
        srv.addr,
        "DELETE",
        "/api/users/ola/sessions",
        Some(&owner),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["ended"], 2, "{}", r.body);
    for cookie in [&a, &b] {
        assert_eq!(me(&srv, cookie).await.status, 401);
    }
    assert_eq!(
        me(&srv, &owner).await.status,
        200,
        "the owner's own session ended"
    );
    srv.stop().await;
}
