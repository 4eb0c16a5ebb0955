//! The public address (`GET`/`PUT /api/settings`): what other servers are told to reach the
//! control plane at. Set in the dashboard, it goes into every install command and `install.sh`,
//! survives a restart and is audited; a wrong one is refused with a sentence and changes
//! nothing; `--public-url` wins and cannot be changed from the page; and the dashboard's own
//! origin check keeps following the address the browser uses, so nobody is locked out.

use serde_json::{Value, json};

use crate::util::{TestServer, http, http_with};

async fn put(srv: &TestServer, cookie: &str, body: Value) -> (u16, Value) {
    let r = http(
        srv.addr,
        "PUT",
        "/api/settings",
        Some(cookie),
        Some(&body.to_string()),
    )
    .await;
    (r.status, r.json())
}

async fn install_command(srv: &TestServer, cookie: &str) -> String {
    let r = http(
        srv.addr,
        "POST",
        "/api/enrollment-tokens",
        Some(cookie),
        Some(r#"{"name": "web-2"}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["installCommand"]
        .as_str()
        .expect("command")
        .to_owned()
}

#[tokio::test]
async fn the_public_address_set_in_the_dashboard_reaches_install_commands_and_survives_a_restart() {
    let mut srv = TestServer::start().await;
    let cookie = srv.login().await;
    let own = format!("http://{}", srv.addr);

    let shown = http(srv.addr, "GET", "/api/settings", Some(&cookie), None)
        .await
        .json();
    assert_eq!(shown["publicUrlSource"], "request", "{shown}");
    assert_eq!(shown["installBase"], own.as_str(), "{shown}");
    assert!(
        install_command(&srv, &cookie)
            .await
            .contains(&format!("{own}/install.sh"))
    );

    // Refused with a sentence, nothing changed.
    for bad in [
        "cairn.example.com",
        "https://x.example/$(reboot)",
        "https://a@b.example",
    ] {
        let (status, body) = put(&srv, &cookie, json!({"publicUrl": bad})).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(
            body["error"]
                .as_str()
                .is_some_and(|e| e.contains("address")),
            "{body}"
        );
    }
    let (status, body) = put(&srv, &cookie, json!({"nothing": 1})).await;
    assert_eq!(status, 400, "{body}");
    let shown = http(srv.addr, "GET", "/api/settings", Some(&cookie), None)
        .await
        .json();
    assert_eq!(shown["publicUrlSource"], "request", "{shown}");

    let (status, body) = put(
        &srv,
        &cookie,
        json!({"publicUrl": "https://cairn.example.test/"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["publicUrl"], "https://cairn.example.test");
    assert_eq!(body["publicUrlSource"], "dashboard");
    assert_eq!(body["installBase"], "https://cairn.example.test");
    let command = install_command(&srv, &cookie).await;
    assert!(
        command.starts_with("curl -fsSL https://cairn.example.test/install.sh "),
        "{command}"
    );
    let script = http(srv.addr, "GET", "/install.sh", None, None).await.body;
    assert!(
        script.contains("https://cairn.example.test"),
        "install.sh: {script}"
    );
    assert!(!script.contains(&own), "install.sh still names {own}");

    // The browser's own address still passes the origin check (the PUTs above needed it).
    let audit = http(srv.addr, "GET", "/api/audit", Some(&cookie), None)
        .await
        .json();
    let entry = audit
        .as_array()
        .expect("audit")
        .iter()
        .find(|e| e["what"] == "settings.public-url")
        .expect("an audit entry for the change");
    assert_eq!(entry["target"], "https://cairn.example.test", "{entry}");

    // A restart keeps it.
    srv.stop().await;
    let data = srv.dir.path().join("data");
    let again = TestServer::start_with(|c| c.data_dir = data.clone()).await;
    let cookie = again.login().await;
    let shown = http(again.addr, "GET", "/api/settings", Some(&cookie), None)
        .await
        .json();
    assert_eq!(
        shown["installBase"], "https://cairn.example.test",
        "{shown}"
    );

    // Cleared: back to the request's address.
    let (status, body) = put(&again, &cookie, json!({"publicUrl": ""})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["publicUrlSource"], "request");
    assert_eq!(
        body["installBase"],
        format!("http://{}", again.addr).as_str()
    );
}

#[tokio::test]
async fn an_address_given_by_flag_wins_and_cannot_be_changed_from_the_page() {
    let srv = TestServer::start_with(|c| {
        c.public_url = Some("https://fixed.example.test".into());
    })
    .await;
    // The flag is also the origin browsers must send: the change comes from that origin.
    let cookie = srv.login().await;
    let shown = http(srv.addr, "GET", "/api/settings", Some(&cookie), None)
        .await
        .json();
    assert_eq!(shown["publicUrlSource"], "flag", "{shown}");
    assert_eq!(
        shown["installBase"], "https://fixed.example.test",
        "{shown}"
    );
    let r = http_with(
        srv.addr,
        "PUT",
        "/api/settings",
        &[
            ("Origin", "https://fixed.example.test"),
            ("Cookie", &cookie),
            ("Content-Type", "application/json"),
        ],
        r#"{"publicUrl": "https://other.example"}"#,
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("--public-url"), "{}", r.body);
    let shown = http(srv.addr, "GET", "/api/settings", Some(&cookie), None)
        .await
        .json();
    assert_eq!(
        shown["installBase"], "https://fixed.example.test",
        "{shown}"
    );
}
