//! API tokens (issue 20), with the real binaries: a token is authorized exactly like a session of
//! its role and groups, capped by its user's; every private route walked with a viewer token
//! and an admin token of an admin, asserting the allowed set exactly (the session-only routes
//! refuse any token); a revoked token, an expired one, a disabled user's and an unknown one are
//! refused on every route; the secret is in the creation's answer only, never in a later
//! answer, the database or the log; the audit names the token.

use cairn_control_plane::http::{ROUTES, RouteId};
use cairn_control_plane::roles::Role;
use cairn_e2e::{Cluster, ControlPlane};
use serde_json::{Value, json};

use crate::roles::{least_role, path_of, send, user};

/// One request with `Authorization: Bearer TOKEN` and no cookie.
async fn bearer(
    cp: &ControlPlane,
    token: &str,
    method: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    let headers = [
        ("Content-Type", "application/json"),
        ("Authorization", auth.as_str()),
    ];
    let r = cairn_test_support::http::http_with(cp.addr, method, path, &headers, &body.to_string())
        .await;
    (
        r.status,
        serde_json::from_str(&r.body).unwrap_or(Value::Null),
    )
}

/// Makes a token as the holder of `cookie`; its answer (the secret in `token`).
async fn make(cp: &ControlPlane, cookie: &str, body: Value) -> Value {
    let (status, made) = send(cp, Some(cookie), "POST", "/api/me/tokens", body).await;
    assert_eq!(status, 201, "{made}");
    made
}

/// Walks every private route with the token: each must be allowed exactly when `role` may use
/// it and it is not session-only, else refused with 403 and a sentence.
async fn walk(cp: &ControlPlane, token: &str, role: Role) {
    for r in ROUTES.iter().filter(|r| !r.public) {
        let path = path_of(r.path);
        let path = if r.id == RouteId::NodesStatus {
            format!("{path}?wait=0")
        } else {
            path
        };
        let (status, body) = bearer(cp, token, r.method, &path, json!({})).await;
        let need = least_role(r.id).expect("a private route has a role");
        let may = role >= need && !r.id.session_only();
        let e = body["error"].as_str().unwrap_or_default();
        if may {
            assert!(
                status != 401 && status != 403,
                "{role} token refused {} {path}: {body}",
                r.method
            );
        } else {
            assert_eq!(
                status, 403,
                "{role} token allowed {} {path}: {body}",
                r.method
            );
            assert!(e.contains("may not"), "{} {path}: {body}", r.method);
        }
    }
}

/// Every private route answers 401 with a sentence containing `why`.
async fn all_refused(cp: &ControlPlane, token: &str, why: &str) {
    for r in ROUTES.iter().filter(|r| !r.public) {
        let (status, body) = bearer(cp, token, r.method, &path_of(r.path), json!({})).await;
        assert_eq!(status, 401, "{why}: {} {}: {body}", r.method, r.path);
        assert!(
            body["error"].as_str().is_some_and(|e| e.contains(why)),
            "{why}: {} {}: {body}",
            r.method,
            r.path
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_checked_like_a_session_of_its_role_and_never_exceeds_its_user() {
    let c = Cluster::start(&[]).await;
    let node = format!("/api/nodes/{}", c.node_id);
    let (status, _) = send(
        &c.cp,
        Some(&c.cookie),
        "PATCH",
        &node,
        json!({"tags": ["web"]}),
    )
    .await;
    assert_eq!(status, 200);
    let alice = user(&c, "alice", Role::Admin, &[]).await;

    // Bad input: a clear error, nothing made.
    for (body, says) in [
        (
            json!({"name": "x", "role": "owner", "expiresIn": 60}),
            "higher than yours",
        ),
        (
            json!({"name": "x", "role": "viewer", "expiresIn": 60}),
            "group",
        ),
        (
            json!({"name": "x", "role": "admin", "expiresIn": 40_000_000}),
            "within a year",
        ),
        (
            json!({"name": "", "role": "admin", "expiresIn": 60}),
            "name the token",
        ),
    ] {
        let (status, answer) = send(&c.cp, Some(&alice), "POST", "/api/me/tokens", body).await;
        assert_eq!(status, 400, "{answer}");
        assert!(
            answer["error"].as_str().is_some_and(|e| e.contains(says)),
            "{answer}"
        );
    }
    assert_eq!(c.cp.get_json(&alice, "/api/me/tokens").await, json!([]));

    let viewer = make(
        &c.cp,
        &alice,
        json!({"name": "read", "role": "viewer", "groups": ["web"], "expiresIn": 3600}),
    )
    .await;
    let admin = make(
        &c.cp,
        &alice,
        json!({"name": "deploy", "role": "admin", "expiresIn": 3600}),
    )
    .await;
    let (v_secret, a_secret) = (
        viewer["token"].as_str().expect("a secret").to_owned(),
        admin["token"].as_str().expect("a secret").to_owned(),
    );
    assert!(
        v_secret.starts_with("cairn_") && v_secret.len() > 60,
        "{viewer}"
    );

    // Each token is allowed exactly its role's routes, the session-only ones excepted.
    walk(&c.cp, &v_secret, Role::Viewer).await;
    walk(&c.cp, &a_secret, Role::Admin).await;
    // A viewer token of an admin starts nothing: no status refresh, no dashboard socket.
    let (status, body) = bearer(
        &c.cp,
        &v_secret,
        "POST",
        "/api/nodes/status?wait=0",
        json!({}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = bearer(&c.cp, &v_secret, "GET", "/ws/dashboard", json!({})).await;
    assert_eq!(status, 403, "{body}");
    // Its groups hold: the node tagged web is listed; once retagged, it is not.
    let nodes = bearer(&c.cp, &v_secret, "GET", "/api/nodes", json!({}))
        .await
        .1;
    assert_eq!(nodes.as_array().map(Vec::len), Some(1), "{nodes}");

    // An action made with a token is audited under the token's name, found by user.
    let (status, body) = bearer(&c.cp, &a_secret, "PATCH", &node, json!({"tags": ["db"]})).await;
    assert_eq!(status, 200, "{body}");
    let nodes = bearer(&c.cp, &v_secret, "GET", "/api/nodes", json!({}))
        .await
        .1;
    assert_eq!(nodes, json!([]), "{nodes}");
    let audit = c.cp.get_json(&c.cookie, "/api/audit?user=alice").await;
    assert!(
        audit
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["who"] == "alice (token deploy)"),
        "{audit}"
    );

    // Listed without the secret, its last use recorded; the owner sees everyone's.
    let mine = c.cp.get_json(&alice, "/api/me/tokens").await;
    assert_eq!(mine.as_array().map(Vec::len), Some(2), "{mine}");
    assert!(
        mine.as_array()
            .into_iter()
            .flatten()
            .all(|t| t.get("token").is_none() && t["lastUsedAt"].is_u64()),
        "{mine}"
    );
    let all = c.cp.get_json(&c.cookie, "/api/api-tokens").await;
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
    for answer in [mine.to_string(), all.to_string()] {
        assert!(!answer.contains(&v_secret[6..]) && !answer.contains(&a_secret[6..]));
    }

    // The user lowered below the token: the token goes down with them.
    let (status, _) = send(
        &c.cp,
        Some(&c.cookie),
        "PATCH",
        "/api/users/alice",
        json!({"role": "viewer", "groups": ["db"]}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = bearer(&c.cp, &a_secret, "GET", "/api/settings", json!({})).await;
    assert_eq!(status, 403, "{body}");
    walk(&c.cp, &a_secret, Role::Viewer).await;
    let (status, _) = send(
        &c.cp,
        Some(&c.cookie),
        "PATCH",
        "/api/users/alice",
        json!({"role": "admin"}),
    )
    .await;
    assert_eq!(status, 200);

    // Revoked (by its user), expired, unknown: refused everywhere with a sentence.
    let id = viewer["id"].as_str().expect("an id");
    let (status, body) = send(
        &c.cp,
        Some(&alice),
        "DELETE",
        &format!("/api/me/tokens/{id}"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    all_refused(&c.cp, &v_secret, "revoked").await;
    let short = make(
        &c.cp,
        &alice,
        json!({"name": "short", "role": "admin", "expiresIn": 1}),
    )
    .await;
    let short = short["token"].as_str().expect("a secret").to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    all_refused(&c.cp, &short, "expired").await;
    all_refused(&c.cp, "cairn_0000", "not known").await;
    // A token cannot make a token.
    let (status, body) = bearer(
        &c.cp,
        &a_secret,
        "POST",
        "/api/me/tokens",
        json!({"name": "x", "role": "admin", "expiresIn": 60}),
    )
    .await;
    assert_eq!(status, 403, "{body}");

    // The owner revokes anyone's token.
    let ci = make(
        &c.cp,
        &alice,
        json!({"name": "ci", "role": "admin", "expiresIn": 3600}),
    )
    .await;
    let ci_secret = ci["token"].as_str().expect("a secret").to_owned();
    let (status, body) = bearer(&c.cp, &ci_secret, "GET", "/api/me", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let ci_id = ci["id"].as_str().expect("an id");
    let (status, body) = send(
        &c.cp,
        Some(&c.cookie),
        "DELETE",
        &format!("/api/api-tokens/{ci_id}"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    all_refused(&c.cp, &ci_secret, "revoked").await;

    // A disabled user's token: refused everywhere, and revoked for good (enabling the user
    // again does not revive it).
    let (status, _) = send(
        &c.cp,
        Some(&c.cookie),
        "PATCH",
        "/api/users/alice",
        json!({"disabled": true}),
    )
    .await;
    assert_eq!(status, 200);
    all_refused(&c.cp, &a_secret, "disabled").await;
    let (status, _) = send(
        &c.cp,
        Some(&c.cookie),
        "PATCH",
        "/api/users/alice",
        json!({"disabled": false}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = bearer(&c.cp, &a_secret, "GET", "/api/me", json!({})).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("revoked")),
        "{body}"
    );

    // The secrets are nowhere at rest or in the log: only their hashes are stored.
    let db = String::from_utf8_lossy(&c.cp.db_bytes()).into_owned();
    let logs = c.cp.logs();
    for secret in [&v_secret, &a_secret, &short, &ci_secret] {
        assert!(
            !db.contains(&secret[6..]),
            "a token's secret is in the database"
        );
        assert!(
            !logs.contains(&secret[6..]),
            "a token's secret is in the log"
        );
    }
    assert!(db.contains("api_tokens"), "the database was not read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_served_without_a_session_and_lists_every_route() {
    let c = Cluster::start(&[]).await;
    let r = c.cp.request("GET", "/api/openapi.json", None, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let doc: Value = serde_json::from_str(&r.body).expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    for route in ROUTES {
        let op = &doc["paths"][route.path][route.method.to_ascii_lowercase()];
        let role = if route.public {
            "public"
        } else {
            route.role.as_str()
        };
        assert_eq!(op["x-cairn-role"], role, "{} {}", route.method, route.path);
    }
}
