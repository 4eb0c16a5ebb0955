//! Recipe publishing (issue 22) against a real control plane: a submission is checked as
//! `cairn-recipe check` checks it (errors: 422 with every diagnostic, nothing stored), must be
//! newer than the published version (409 with a sentence), waits unpublished until an admin's
//! dashboard session approves it (an operator's token submits but cannot approve, nor can any
//! API token), a rejected one is never published, and an approval survives a restart and a
//! reload. Every step is audited.

use serde_json::{Value, json};

use crate::util::{TestServer, http, http_with, runtime_recipe};

/// `hello` (published at v3 by the test server) at `version`, running `echo` besides.
pub(crate) fn hello(version: u64) -> String {
    runtime_recipe("hello", version)
        .replace("programs: [\"true\"]", "programs: [\"true\", \"echo\"]")
        .replace(
            "log(\"installing\");",
            "log(\"installing\");\n    run(\"echo\", [\"hi\"]);",
        )
}

pub(crate) async fn send(
    srv: &TestServer,
    cookie: &str,
    method: &str,
    path: &str,
    body: &Value,
) -> Value {
    let r = http(
        srv.addr,
        method,
        path,
        Some(cookie),
        Some(&body.to_string()),
    )
    .await;
    let mut v = r.json();
    v["status"] = r.status.into();
    v
}

pub(crate) async fn bearer(
    srv: &TestServer,
    token: &str,
    method: &str,
    path: &str,
    body: &Value,
) -> Value {
    let auth = format!("Bearer {token}");
    let headers = [
        ("Content-Type", "application/json"),
        ("Authorization", auth.as_str()),
    ];
    let r = http_with(srv.addr, method, path, &headers, &body.to_string()).await;
    let mut v = r.json();
    v["status"] = r.status.into();
    v
}

/// The published catalogue entry of `id`.
pub(crate) async fn published(srv: &TestServer, cookie: &str, id: &str) -> Value {
    let list = http(srv.addr, "GET", "/api/recipes", Some(cookie), None)
        .await
        .json();
    list.as_array()
        .and_then(|l| l.iter().find(|e| e["id"] == id).cloned())
        .unwrap_or(Value::Null)
}

pub(crate) async fn submissions(srv: &TestServer, cookie: &str) -> Vec<Value> {
    let r = http(
        srv.addr,
        "GET",
        "/api/recipes/submissions",
        Some(cookie),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json().as_array().cloned().unwrap_or_default()
}

/// Invites `name` with `role` (groups `web`), accepts the link, signs in; their session cookie
/// and an API token of theirs of the same role.
pub(crate) async fn person(
    srv: &TestServer,
    owner: &str,
    name: &str,
    role: &str,
) -> (String, String) {
    let link = send(
        srv,
        owner,
        "POST",
        "/api/users",
        &json!({"username": name, "role": role, "groups": ["web"]}),
    )
    .await;
    assert_eq!(link["status"], 201, "{link}");
    let password = format!("{name}-password-long");
    let r = http(
        srv.addr,
        "POST",
        "/api/invites/accept",
        None,
        Some(&json!({"token": link["token"], "password": password}).to_string()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let cookie = crate::util::login(srv.addr, name, &password)
        .await
        .expect("sign in");
    let made = send(
        srv,
        &cookie,
        "POST",
        "/api/me/tokens",
        &json!({"name": "ci", "role": role, "groups": ["web"], "expiresIn": 3600}),
    )
    .await;
    assert_eq!(made["status"], 201, "{made}");
    (cookie, made["token"].as_str().expect("secret").to_owned())
}

#[tokio::test]
async fn a_recipe_failing_the_check_or_not_newer_is_refused_and_nothing_is_stored() {
    let srv = TestServer::start().await;
    let cookie = srv.login().await;
    // Two errors: a misspelt host function and an undeclared program.
    let broken = hello(4).replace(
        "log(\"installing\");",
        "apt_instal([\"x\"]);\n    run(\"curl\", []);",
    );
    let r = send(
        &srv,
        &cookie,
        "POST",
        "/api/recipes/submissions",
        &json!({"source": broken, "file": "hello.rhai"}),
    )
    .await;
    assert_eq!(r["status"], 422, "{r}");
    let error = r["error"].as_str().unwrap_or_default();
    assert!(error.contains("did not pass the check (2 errors)"), "{r}");
    assert!(
        error.contains("apt_instal") && error.contains("curl"),
        "{r}"
    );
    let diags = r["diagnostics"].as_array().expect("diagnostics");
    assert!(
        diags.iter().all(|d| d["at"]
            .as_str()
            .is_some_and(|a| a.starts_with(&format!("{}:{}: ", d["line"], d["col"])))),
        "{r}"
    );
    assert!(diags.iter().any(|d| {
        d["hint"]
            .as_str()
            .is_some_and(|h| h.contains("apt_install"))
    }));

    // Not newer than the published v3.
    for version in [2, 3] {
        let r = send(
            &srv,
            &cookie,
            "POST",
            "/api/recipes/submissions",
            &json!({"source": hello(version)}),
        )
        .await;
        assert_eq!(r["status"], 409, "{r}");
        assert!(
            r["error"]
                .as_str()
                .is_some_and(|e| e.contains("hello v3 is published")
                    && e.contains("raise RECIPE.version above 3")),
            "{r}"
        );
    }
    // A companion file named outside the recipe's prefix.
    let r = send(
        &srv,
        &cookie,
        "POST",
        "/api/recipes/submissions",
        &json!({"source": hello(4), "files": {"../etc/passwd": "x"}}),
    )
    .await;
    assert_eq!(r["status"], 400, "{r}");
    assert!(submissions(&srv, &cookie).await.is_empty());
    let db = String::from_utf8_lossy(&srv.db_bytes()).into_owned();
    assert!(
        !db.contains("apt_instal"),
        "the refused source reached the database"
    );
    assert_eq!(published(&srv, &cookie, "hello").await["version"], 3);
}

#[tokio::test]
async fn an_operator_token_submits_but_only_an_admin_session_approves_and_it_survives_a_restart() {
    let mut srv = TestServer::start().await;
    let owner = srv.login().await;
    let (operator, operator_token) = person(&srv, &owner, "olga", "operator").await;
    let (admin, admin_token) = person(&srv, &owner, "alice", "admin").await;

    let made = bearer(
        &srv,
        &operator_token,
        "POST",
        "/api/recipes/submissions",
        &json!({"source": hello(4), "file": "hello.rhai"}),
    )
    .await;
    assert_eq!(made["status"], 201, "{made}");
    let id = made["submission"]["id"].as_str().expect("id").to_owned();
    assert_eq!(made["submission"]["state"], "pending");
    assert_eq!(made["submission"]["submittedBy"], "olga (token ci)");
    assert_eq!(made["diff"]["fromVersion"], 3);
    assert_eq!(
        made["diff"]["grown"],
        json!(["program echo (prints its arguments)"]),
        "{made}"
    );
    assert!(
        made["diff"]["source"]
            .as_str()
            .is_some_and(|d| d.contains("-    version: 3,\n+    version: 4,")),
        "{made}"
    );
    // Pending: still v3 for everyone (agents get what the registry publishes).
    assert_eq!(published(&srv, &owner, "hello").await["version"], 3);
    let shown = send(
        &srv,
        &operator,
        "GET",
        &format!("/api/recipes/submissions/{id}"),
        &json!({}),
    )
    .await;
    assert_eq!(shown["status"], 200, "{shown}");
    let echo = shown["diff"]["capabilities"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "echo").cloned())
        .expect("echo in the capabilities diff");
    assert_eq!(
        (echo["change"].clone(), echo["grown"].clone()),
        (json!("added"), json!(true))
    );

    let approve = format!("/api/recipes/submissions/{id}/approve");
    // The operator (token or session) may not approve; nor may an admin's API token.
    for r in [
        bearer(&srv, &operator_token, "POST", &approve, &json!({})).await,
        send(&srv, &operator, "POST", &approve, &json!({})).await,
        bearer(&srv, &admin_token, "POST", &approve, &json!({})).await,
    ] {
        assert_eq!(r["status"], 403, "{r}");
        assert!(
            r["error"].as_str().is_some_and(|e| e.contains("may not")),
            "{r}"
        );
    }
    assert_eq!(published(&srv, &owner, "hello").await["version"], 3);

    let ok = send(&srv, &admin, "POST", &approve, &json!({})).await;
    assert_eq!(ok["status"], 200, "{ok}");
    assert_eq!(ok["grown"], json!(["program echo (prints its arguments)"]));
    assert!(
        ok["message"]
            .as_str()
            .is_some_and(|m| m.contains("Signed hello v4") && m.contains("it gains: program echo")),
        "{ok}"
    );
    let entry = published(&srv, &owner, "hello").await;
    assert_eq!(
        (entry["version"].clone(), entry["published"].clone()),
        (json!(4), json!(true))
    );
    assert_eq!(entry["submission"], id.as_str());
    // Decided once.
    let again = send(&srv, &admin, "POST", &approve, &json!({})).await;
    assert_eq!(again["status"], 409, "{again}");

    let audit = http(srv.addr, "GET", "/api/audit", Some(&owner), None)
        .await
        .json();
    let whats: Vec<(String, String, String)> = audit
        .as_array()
        .expect("audit")
        .iter()
        .map(|e| {
            (
                e["what"].as_str().unwrap_or_default().to_owned(),
                e["who"].as_str().unwrap_or_default().to_owned(),
                e["result"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(whats.iter().any(|(w, who, r)| w == "recipe.submit"
        && who == "olga (token ci)"
        && r.contains("grew: program echo")));
    assert!(whats.iter().any(|(w, who, r)| w == "recipe.approve"
        && who == "alice"
        && r.contains("grew: program echo")));

    // A reload and a restart keep the approved version published over recipes/hello.rhai (v3).
    let r = http(srv.addr, "POST", "/api/recipes/reload", Some(&owner), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(published(&srv, &owner, "hello").await["version"], 4);
    srv.stop().await;
    let data = srv.dir.path().join("data");
    let again = TestServer::start_with(|c| c.data_dir = data.clone()).await;
    let owner = again.login().await;
    let entry = published(&again, &owner, "hello").await;
    assert_eq!(
        (entry["version"].clone(), entry["published"].clone()),
        (json!(4), json!(true)),
        "{entry}"
    );
    assert!(
        entry["source"]
            .as_str()
            .is_some_and(|s| s.contains("run(\"echo\""))
    );
}

#[tokio::test]
async fn a_rejected_submission_is_never_published() {
    let srv = TestServer::start().await;
    let owner = srv.login().await;
    let made = send(
        &srv,
        &owner,
        "POST",
        "/api/recipes/submissions",
        &json!({"source": hello(5)}),
    )
    .await;
    assert_eq!(made["status"], 201, "{made}");
    let id = made["submission"]["id"].as_str().expect("id").to_owned();
    let r = send(
        &srv,
        &owner,
        "POST",
        &format!("/api/recipes/submissions/{id}/reject"),
        &json!({}),
    )
    .await;
    assert_eq!(r["status"], 200, "{r}");
    assert_eq!(r["state"], "rejected");
    let r = send(
        &srv,
        &owner,
        "POST",
        &format!("/api/recipes/submissions/{id}/approve"),
        &json!({}),
    )
    .await;
    assert_eq!(r["status"], 409, "{r}");
    assert!(
        r["error"]
            .as_str()
            .is_some_and(|e| e.contains("rejected already")),
        "{r}"
    );
    let r = http(srv.addr, "POST", "/api/recipes/reload", Some(&owner), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(published(&srv, &owner, "hello").await["version"], 3);
    let listed = submissions(&srv, &owner).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["state"], "rejected");
    assert_eq!(listed[0]["decidedBy"], "admin");
    assert!(
        listed[0].get("source").is_none(),
        "a list carries no source"
    );

    // A newer submission supersedes a pending one.
    let a = send(
        &srv,
        &owner,
        "POST",
        "/api/recipes/submissions",
        &json!({"source": hello(6)}),
    )
    .await;
    let b = send(
        &srv,
        &owner,
        "POST",
        "/api/recipes/submissions",
        &json!({"source": hello(7)}),
    )
    .await;
    assert_eq!(b["superseded"], json!([a["submission"]["id"]]), "{b}");
}

#[tokio::test]
async fn a_reload_racing_an_approval_never_publishes_a_registry_without_it() {
    let mut srv = TestServer::start().await;
    let owner = srv.login().await;
    for version in 4..24 {
        let made = send(
            &srv,
            &owner,
            "POST",
            "/api/recipes/submissions",
            &json!({"source": hello(version), "file": "hello.rhai"}),
        )
        .await;
        assert_eq!(made["status"], 201, "{made}");
        let id = made["submission"]["id"].as_str().expect("id").to_owned();
        let approve = format!("/api/recipes/submissions/{id}/approve");
        // Both at once, each building the registry off the async threads: whichever finishes
        // last, what stays published must hold the approval.
        let empty = json!({});
        let (approved, reloaded) = tokio::join!(
            send(&srv, &owner, "POST", &approve, &empty),
            http(srv.addr, "POST", "/api/recipes/reload", Some(&owner), None),
        );
        assert_eq!(approved["status"], 200, "{approved}");
        assert_eq!(reloaded.status, 200, "{}", reloaded.body);
        let entry = published(&srv, &owner, "hello").await;
        assert_eq!(
            (entry["version"].clone(), entry["submission"].clone()),
            (json!(version), json!(id)),
            "round {version}: a reload published a registry built before the approval"
        );
    }
    srv.stop().await;
}
