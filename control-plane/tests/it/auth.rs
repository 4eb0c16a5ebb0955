//! Login, sessions, the route table (threats.md 21), WebSocket origin (22), brute force (25).

use cairn_control_plane::http::ROUTES;
use tokio_tungstenite::tungstenite::Error as WsError;

use crate::util::{PASSWORD, TestServer, dashboard, http, login, wait_for_audit};

#[tokio::test]
async fn login_succeeds_with_the_password_and_fails_without() {
    let mut srv = TestServer::start().await;
    let cookie = login(srv.addr, "admin", PASSWORD).await.expect("login");
    assert!(cookie.starts_with("cairn_session="));
    let r = http(
        srv.addr,
        "POST",
        "/api/login",
        None,
        Some(r#"{"username":"admin","password":"x"}"#),
    )
    .await;
    assert_eq!(r.status, 401);
    assert!(
        r.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("wrong"))
    );
    let raw = http(
        srv.addr,
        "POST",
        "/api/login",
        None,
        Some(&format!(
            r#"{{"username":"admin","password":"{PASSWORD}"}}"#
        )),
    )
    .await;
    let set_cookie = raw.headers.to_ascii_lowercase();
    assert!(
        set_cookie.contains("httponly") && set_cookie.contains("samesite=strict"),
        "{set_cookie}"
    );
    let me = http(srv.addr, "GET", "/api/me", Some(&cookie), None).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["username"], "admin");
    // Logout ends the session.
    assert_eq!(
        http(srv.addr, "POST", "/api/logout", Some(&cookie), None)
            .await
            .status,
        200
    );
    assert_eq!(
        http(srv.addr, "GET", "/api/me", Some(&cookie), None)
            .await
            .status,
        401
    );
    srv.stop().await;
}

#[tokio::test]
async fn every_private_route_answers_401_without_a_session() {
    let mut srv = TestServer::start().await;
    let private: Vec<_> = ROUTES.iter().filter(|r| !r.public).collect();
    assert!(private.len() >= 10, "the route table lost routes");
    for r in &private {
        let path = r.path.replace("{id}", "job-x");
        for cookie in [None, Some("cairn_session=0000"), Some("cairn_session=")] {
            let reply = http(srv.addr, r.method, &path, cookie, Some("{}")).await;
            assert_eq!(
                reply.status, 401,
                "{} {path} with {cookie:?}: {}",
                r.method, reply.body
            );
            assert!(
                reply.json()["error"]
                    .as_str()
                    .is_some_and(|e| !e.is_empty()),
                "{}",
                reply.body
            );
        }
    }
    // Unknown API paths do not answer with data either.
    assert_ne!(
        http(srv.addr, "GET", "/api/secret-stuff", None, None)
            .await
            .status,
        200
    );
    // The dashboard socket refuses an upgrade without a session.
    match dashboard(srv.addr, None, &srv.origin()).await {
        Err(WsError::Http(resp)) => assert_eq!(resp.status(), 401),
        other => panic!(
            "dashboard socket without a session: {:?}",
            other.map(|_| ())
        ),
    }
    // Public routes stay reachable.
    assert_eq!(
        http(srv.addr, "GET", "/healthz", None, None).await.body,
        "ok"
    );
    assert_eq!(
        http(srv.addr, "GET", "/api/control-plane-key", None, None)
            .await
            .status,
        200
    );
    assert_eq!(
        http(srv.addr, "GET", "/install.sh", None, None)
            .await
            .status,
        200
    );
    srv.stop().await;
}

#[tokio::test]
async fn dashboard_socket_refuses_a_foreign_origin() {
    let mut srv = TestServer::start().await;
    let cookie = srv.login().await;
    for origin in [
        "http://evil.example",
        "null",
        &format!("https://{}", srv.addr),
        "http://127.0.0.1:1",
    ] {
        match dashboard(srv.addr, Some(&cookie), origin).await {
            Err(WsError::Http(resp)) => assert_eq!(resp.status(), 403, "{origin}"),
            other => panic!(
                "foreign origin {origin} was accepted: {:?}",
                other.map(|_| ())
            ),
        }
    }
    dashboard(srv.addr, Some(&cookie), &srv.origin())
        .await
        .expect("own origin accepted");
    srv.stop().await;
}

#[tokio::test]
async fn many_wrong_logins_are_locked_out_and_audited() {
    // A 1 s first lockout (30 s by default) so the test can wait it out.
    let mut srv = TestServer::start_with(|c| {
        c.login_first_lockout = std::time::Duration::from_secs(1);
    })
    .await;
    let wrong = r#"{"username":"admin","password":"guess"}"#;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(
            http(srv.addr, "POST", "/api/login", None, Some(wrong))
                .await
                .status,
        );
    }
    assert_eq!(&statuses[..5], &[401; 5]);
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    // While locked, even the right password is refused unchecked.
    let locked = login(srv.addr, "admin", PASSWORD)
        .await
        .expect_err("locked out");
    assert_eq!(locked.status, 429);
    assert!(
        locked.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("try again"))
    );
    // After the lockout passes (1 s after the fifth failure, 2^n later), the owner gets in.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let cookie = login(srv.addr, "admin", PASSWORD)
        .await
        .expect("login after lockout");
    // The 9 refusals (8 wrong, then the right password while locked) are one tallied entry,
    // written within a second; the success is an entry of its own.
    let audit = wait_for_audit(&srv, &cookie, |entries| {
        entries
            .iter()
            .any(|e| e["what"] == "login.refused" && e["count"] == 9)
    })
    .await;
    let entries = audit.as_array().expect("audit list");
    let tally: Vec<_> = entries
        .iter()
        .filter(|e| e["what"] == "login.refused")
        .collect();
    assert_eq!(tally.len(), 1, "{audit}");
    assert_eq!(tally[0]["who"], "admin");
    assert_eq!(tally[0]["target"], "127.0.0.1");
    assert_eq!(
        tally[0]["result"],
        "5 × wrong username or password; 4 × refused unchecked: address locked out"
    );
    assert!(tally[0]["lastAt"].as_u64() >= tally[0]["at"].as_u64());
    let ok = entries
        .iter()
        .filter(|e| e["what"] == "login" && e["result"] == "ok")
        .count();
    assert_eq!(ok, 1, "{audit}");
    srv.stop().await;
}
