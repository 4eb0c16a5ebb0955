//! Withdrawing an approved recipe submission against a real control plane: the page is shown
//! what a withdrawal publishes first (the content before it, one version above what is
//! published, with its diff); only an admin's dashboard session that types the recipe's id
//! withdraws, and only the version published now; what came before — the approved submission
//! below, then the recipe shipped in `recipes/` — is published again under a higher version
//! (agents refuse a lower one), a submission must then be above it, it survives a restart, and
//! each withdrawal is audited. A recipe that only ever came from submissions leaves the
//! catalogue.

use serde_json::{Value, json};

use crate::submissions::{bearer, hello, person, published, send, submissions};
use crate::util::{TestServer, http, runtime_recipe};

/// Submits `source` as `cookie` and approves it as `admin`; the submission's id.
async fn approved(srv: &TestServer, cookie: &str, admin: &str, source: String) -> String {
    let made = send(
        srv,
        cookie,
        "POST",
        "/api/recipes/submissions",
        &json!({ "source": source }),
    )
    .await;
    assert_eq!(made["status"], 201, "{made}");
    let id = made["submission"]["id"].as_str().expect("id").to_owned();
    let ok = send(
        srv,
        admin,
        "POST",
        &format!("/api/recipes/submissions/{id}/approve"),
        &json!({}),
    )
    .await;
    assert_eq!(ok["status"], 200, "{ok}");
    id
}

fn withdraw_path(id: &str) -> String {
    format!("/api/recipes/submissions/{id}/withdraw")
}

async fn audit(srv: &TestServer, cookie: &str) -> Vec<Value> {
    http(srv.addr, "GET", "/api/audit", Some(cookie), None)
        .await
        .json()
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_withdrawal_publishes_what_came_before_one_version_above_and_only_an_admin_typing_the_id_may()
 {
    let mut srv = TestServer::start().await;
    let owner = srv.login().await;
    let (operator, _) = person(&srv, &owner, "olga", "operator").await;
    let (admin, admin_token) = person(&srv, &owner, "alice", "admin").await;
    // v4 runs echo (sub a); v5 logs "five" besides (sub b).
    let a = approved(&srv, &operator, &admin, hello(4)).await;
    let five = hello(5).replace(
        "log(\"installing\");",
        "log(\"installing\");\n    log(\"five\");",
    );
    let b = approved(&srv, &operator, &admin, five).await;
    assert_eq!(published(&srv, &owner, "hello").await["version"], 5);

    // The plan, shown with the submission published now: a's content again, as v6.
    let shown = send(
        &srv,
        &admin,
        "GET",
        &format!("/api/recipes/submissions/{b}"),
        &json!({}),
    )
    .await;
    let plan = &shown["withdrawal"];
    assert_eq!(plan["fromVersion"], 5, "{shown}");
    assert_eq!(plan["publishedAs"], 6, "{shown}");
    assert_eq!(
        plan["restores"],
        json!({"kind": "submission", "id": a, "version": 4})
    );
    let diff = plan["diff"]["source"].as_str().unwrap_or_default();
    assert!(
        diff.contains("-    version: 5,\n+    version: 6,"),
        "{diff}"
    );
    assert!(diff.contains("-    log(\"five\");"), "{diff}");
    // The submission below is not published: no plan for it.
    let older = send(
        &srv,
        &admin,
        "GET",
        &format!("/api/recipes/submissions/{a}"),
        &json!({}),
    )
    .await;
    assert!(older.get("withdrawal").is_none(), "{older}");

    // Refused, and nothing changes: an operator, an admin's API token, a wrong or missing
    // confirmation, a submission that is not the one published.
    let refusals = [
        (
            send(
                &srv,
                &operator,
                "POST",
                &withdraw_path(&b),
                &json!({"confirm": "hello"}),
            )
            .await,
            403,
            "may not",
        ),
        (
            bearer(
                &srv,
                &admin_token,
                "POST",
                &withdraw_path(&b),
                &json!({"confirm": "hello"}),
            )
            .await,
            403,
            "may not",
        ),
        (
            send(
                &srv,
                &admin,
                "POST",
                &withdraw_path(&b),
                &json!({"confirm": "hell"}),
            )
            .await,
            400,
            "type the recipe's id \"hello\"",
        ),
        (
            send(&srv, &admin, "POST", &withdraw_path(&b), &json!({})).await,
            400,
            "needs its id typed",
        ),
        (
            send(
                &srv,
                &admin,
                "POST",
                &withdraw_path(&a),
                &json!({"confirm": "hello"}),
            )
            .await,
            409,
            "only the version published now can be withdrawn",
        ),
    ];
    for (r, status, words) in refusals {
        assert_eq!(r["status"], status, "{r}");
        assert!(
            r["error"].as_str().is_some_and(|e| e.contains(words)),
            "{words}: {r}"
        );
    }
    assert_eq!(published(&srv, &owner, "hello").await["version"], 5);
    assert!(
        !audit(&srv, &owner)
            .await
            .iter()
            .any(|e| e["what"] == "recipe.withdraw")
    );

    let ok = send(
        &srv,
        &admin,
        "POST",
        &withdraw_path(&b),
        &json!({"confirm": " hello "}),
    )
    .await;
    assert_eq!(ok["status"], 200, "{ok}");
    assert_eq!(ok["state"], "withdrawn");
    assert!(
        ok["message"]
            .as_str()
            .is_some_and(|m| m.contains("Withdrew hello v5") && m.contains("hello v6")),
        "{ok}"
    );
    let entry = published(&srv, &owner, "hello").await;
    assert_eq!(entry["version"], 6, "{entry}");
    assert_eq!(entry["submission"], a.as_str());
    let source = entry["source"].as_str().unwrap_or_default();
    assert!(source.contains("    version: 6,") && source.contains("run(\"echo\""));
    assert!(!source.contains("five"), "{source}");
    let listed = submissions(&srv, &owner).await;
    let row = listed.iter().find(|s| s["id"] == b.as_str()).expect("b");
    assert_eq!(row["state"], "withdrawn");
    assert_eq!(row["withdrawn"]["by"], "alice");
    assert_eq!(row["withdrawn"]["publishedAs"], 6);
    let again = send(
        &srv,
        &admin,
        "POST",
        &withdraw_path(&b),
        &json!({"confirm": "hello"}),
    )
    .await;
    assert_eq!(again["status"], 409, "{again}");
    assert!(audit(&srv, &owner).await.iter().any(|e| {
        e["what"] == "recipe.withdraw"
            && e["who"] == "alice"
            && e["target"] == "hello v5"
            && e["result"]
                .as_str()
                .is_some_and(|r| r.contains(&format!("withdrew {b}")) && r.contains("as v6"))
    }));

    // A submission must now be above v6 (v6 was published by the withdrawal).
    let same = send(
        &srv,
        &operator,
        "POST",
        "/api/recipes/submissions",
        &json!({"source": hello(6)}),
    )
    .await;
    assert_eq!(same["status"], 409, "{same}");

    // Withdrawing a (published now as v6) goes one step further back: the shipped file, as v7.
    let ok = send(
        &srv,
        &admin,
        "POST",
        &withdraw_path(&a),
        &json!({"confirm": "hello"}),
    )
    .await;
    assert_eq!(ok["status"], 200, "{ok}");
    assert_eq!(ok["withdrawal"]["restores"], json!({"kind": "shipped"}));
    let entry = published(&srv, &owner, "hello").await;
    assert_eq!(entry["version"], 7, "{entry}");
    assert!(entry.get("submission").is_none(), "{entry}");
    assert_eq!(
        entry["source"].as_str().unwrap_or_default(),
        runtime_recipe("hello", 7),
        "the shipped text, its version raised"
    );
    // The shipped recipe is no submission: nothing is left to withdraw.
    let none = send(
        &srv,
        &admin,
        "POST",
        &withdraw_path(&a),
        &json!({"confirm": "hello"}),
    )
    .await;
    assert_eq!(none["status"], 409, "{none}");

    // A reload and a restart publish the same v7.
    let r = http(srv.addr, "POST", "/api/recipes/reload", Some(&owner), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(published(&srv, &owner, "hello").await["version"], 7);
    srv.stop().await;
    let data = srv.dir.path().join("data");
    let again = TestServer::start_with(|c| c.data_dir = data.clone()).await;
    let owner = again.login().await;
    let entry = published(&again, &owner, "hello").await;
    assert_eq!(
        (entry["version"].clone(), entry["published"].clone()),
        (json!(7), json!(true)),
        "{entry}"
    );
}

#[tokio::test]
async fn a_recipe_that_only_came_from_submissions_leaves_the_catalogue_and_keeps_its_floor() {
    let srv = TestServer::start().await;
    let owner = srv.login().await;
    let id = approved(&srv, &owner, &owner, runtime_recipe("stamp", 2)).await;
    assert_eq!(published(&srv, &owner, "stamp").await["version"], 2);
    let shown = send(
        &srv,
        &owner,
        "GET",
        &format!("/api/recipes/submissions/{id}"),
        &json!({}),
    )
    .await;
    assert_eq!(shown["withdrawal"]["restores"], json!({"kind": "nothing"}));
    assert_eq!(shown["withdrawal"]["publishedAs"], Value::Null);
    let ok = send(
        &srv,
        &owner,
        "POST",
        &withdraw_path(&id),
        &json!({"confirm": "stamp"}),
    )
    .await;
    assert_eq!(ok["status"], 200, "{ok}");
    assert!(
        ok["message"]
            .as_str()
            .is_some_and(|m| m.contains("no longer offers stamp")),
        "{ok}"
    );
    assert_eq!(published(&srv, &owner, "stamp").await, Value::Null);
    // Servers may have run v2: a new submission must be v3 or higher.
    let low = send(
        &srv,
        &owner,
        "POST",
        "/api/recipes/submissions",
        &json!({"source": runtime_recipe("stamp", 2)}),
    )
    .await;
    assert_eq!(low["status"], 409, "{low}");
    assert!(
        low["error"]
            .as_str()
            .is_some_and(|e| e.contains("v3 or higher")),
        "{low}"
    );
    approved(&srv, &owner, &owner, runtime_recipe("stamp", 3)).await;
    assert_eq!(published(&srv, &owner, "stamp").await["version"], 3);
}
