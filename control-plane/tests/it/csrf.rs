//! Cross-site requests (threats.md 33): every state-changing route of `http::ROUTES` (so a route
//! added later is covered too) refuses another site's Origin, `null`, a browser's cross-site
//! fetch metadata, and bodies that are not JSON, and changes nothing; its own origin and
//! clients that are no browser still work. The cookie is `Secure` whenever the public URL is
//! https.

use cairn_control_plane::http::{ROUTES, Route, RouteId};
use serde_json::Value;

use crate::util::{PASSWORD, Reply, TestServer, http, http_with};

fn state_changing() -> Vec<&'static Route> {
    let routes: Vec<_> = ROUTES.iter().filter(|r| r.method != "GET").collect();
    assert!(routes.len() >= 5, "the route table lost its POST routes");
    routes
}

/// A body the route would accept from its own page.
fn body_for(r: &Route) -> String {
    match r.id {
        RouteId::Login => {
            serde_json::json!({"username": "admin", "password": PASSWORD}).to_string()
        }
        RouteId::CreateToken => r#"{"name": "csrf-web-1"}"#.to_owned(),
        RouteId::ChangeNode => r#"{"name": "csrf-web-2"}"#.to_owned(),
        RouteId::RemoveNode => r#"{"confirm": "csrf-web-2"}"#.to_owned(),
        RouteId::WithdrawSubmission | RouteId::DeleteAlertChannel => {
            r#"{"confirm": "x"}"#.to_owned()
        }
        RouteId::MuteAlerts => r#"{"rule": "disk", "minutes": 1}"#.to_owned(),
        RouteId::CreateAlertChannel => {
            r#"{"kind": "slack", "name": "csrf", "url": "http://127.0.0.1:9/x"}"#.to_owned()
        }
        RouteId::InviteUser => r#"{"username": "csrf", "role": "viewer"}"#.to_owned(),
        RouteId::ChangeUser => r#"{"role": "viewer"}"#.to_owned(),
        RouteId::CreateApiToken => {
            r#"{"name": "csrf", "role": "viewer", "groups": ["web"], "expiresIn": 60}"#.to_owned()
        }
        _ => "{}".to_owned(),
    }
}

/// The status a route answers its own page with `{id}` = `x`: the routes of one node or token
/// answer that there is none (the handler was reached: the check let the request through).
fn status_for(r: &Route) -> u16 {
    match r.id {
        RouteId::ChangeNode
        | RouteId::RemoveNode
        | RouteId::RevokeToken
        | RouteId::ChangeAlertRule
        | RouteId::AlertOverride
        | RouteId::UnmuteAlerts
        | RouteId::ChangeAlertChannel
        | RouteId::DeleteAlertChannel
        | RouteId::TestAlertChannel
        | RouteId::ChangeUser
        | RouteId::ResetUser
        | RouteId::CancelInvite
        | RouteId::RevokeMyApiToken
        | RouteId::RevokeApiToken
        | RouteId::RevokeSession
        | RouteId::EndUserSessions
        | RouteId::ApproveSubmission
        | RouteId::RejectSubmission
        | RouteId::WithdrawSubmission
        | RouteId::CancelSubmission => 404,
        // A new invitation (again: the unused link is replaced), a new API token.
        RouteId::InviteUser | RouteId::CreateApiToken => 201,
        // Reached the handler, which asks for the fields (no link or password guessed here).
        RouteId::AcceptInvite
        | RouteId::ChangePassword
        | RouteId::LoginCode
        | RouteId::LoginEnrol
        | RouteId::LoginEnrolConfirm
        | RouteId::ConfirmTwoFactor
        | RouteId::DisableTwoFactor
        | RouteId::RequireTwoFactor
        // A submission without a recipe.
        | RouteId::SubmitRecipe => 400,
        _ => 200,
    }
}

async fn audit_ids(srv: &TestServer, cookie: &str) -> Vec<Value> {
    let r = http(srv.addr, "GET", "/api/audit", Some(cookie), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
        .as_array()
        .expect("audit list")
        .iter()
        .map(|e| e["id"].clone())
        .collect()
}

/// The session still works and the audit log holds exactly what it held.
async fn nothing_changed(srv: &TestServer, cookie: &str, audit_before: &[Value]) {
    let me = http(srv.addr, "GET", "/api/me", Some(cookie), None).await;
    assert_eq!(me.status, 200, "the session was ended: {}", me.body);
    // Refused sign-ins would be tallied within a second; wait that long before comparing.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(
        audit_ids(srv, cookie).await,
        audit_before,
        "the audit log changed"
    );
}

fn assert_refused(reply: &Reply, status: u16, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.body);
    let sentence = reply.json()["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(sentence.len() > 20, "{what}: no sentence in {}", reply.body);
    assert!(
        reply.header("set-cookie").is_none(),
        "{what}: a cookie was set"
    );
}

#[tokio::test]
async fn every_state_changing_route_refuses_another_sites_origin_and_changes_nothing() {
    let mut srv = TestServer::start().await;
    let cookie = srv.login().await;
    let before = audit_ids(&srv, &cookie).await;
    let other_port = format!("http://127.0.0.1:{}", srv.addr.port() + 1);
    let other_scheme = format!("https://{}", srv.addr);
    let suffixed = format!("http://{}.evil.example", srv.addr);
    let own = srv.origin();
    let mut paths: Vec<(&str, String, String)> = state_changing()
        .iter()
        .map(|r| (r.method, r.path.replace("{id}", "x"), body_for(r)))
        .collect();
    // A route added tomorrow, and other methods on today's paths, meet the same check.
    paths.push(("POST", "/api/not-yet-a-route".into(), "{}".into()));
    paths.push(("DELETE", "/api/nodes".into(), "{}".into()));
    paths.push(("PUT", "/api/enrollment-tokens".into(), "{}".into()));
    paths.push(("PATCH", "/api/me".into(), "{}".into()));
    for (method, path, body) in &paths {
        let origins: [&[(&str, &str)]; 9] = [
            &[("Origin", "http://evil.example")],
            &[("Origin", "null")],
            &[("Origin", &other_port)],
            &[("Origin", &other_scheme)],
            &[("Origin", &suffixed)],
            // Two Origin headers, one of them right: neither is trusted.
            &[("Origin", &own), ("Origin", "http://evil.example")],
            &[("Sec-Fetch-Site", "cross-site")],
            &[("Sec-Fetch-Site", "same-site")],
            // A browser's own word that the request is cross-site wins over the Origin.
            &[("Origin", &own), ("Sec-Fetch-Site", "cross-site")],
        ];
        for extra in origins {
            let mut headers = vec![("Content-Type", "application/json"), ("Cookie", &cookie)];
            headers.extend_from_slice(extra);
            let reply = http_with(srv.addr, method, path, &headers, body).await;
            assert_refused(&reply, 403, &format!("{method} {path} with {extra:?}"));
            assert!(
                reply.json()["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("another site") && e.contains(&own)),
                "{}",
                reply.body
            );
        }
    }
    nothing_changed(&srv, &cookie, &before).await;
    srv.stop().await;
}

#[tokio::test]
async fn every_state_changing_route_refuses_a_body_that_is_not_json() {
    let mut srv = TestServer::start().await;
    let cookie = srv.login().await;
    let before = audit_ids(&srv, &cookie).await;
    let own = srv.origin();
    for r in state_changing() {
        let path = r.path.replace("{id}", "x");
        let body = body_for(r);
        for content_type in [
            Some("text/plain"),
            Some("text/plain; charset=utf-8"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("application/json-seq"),
            Some("text/json"),
            None,
        ] {
            for origin in [Some(own.as_str()), None] {
                let mut headers = vec![("Cookie", cookie.as_str())];
                if let Some(ct) = content_type {
                    headers.push(("Content-Type", ct));
                }
                if let Some(o) = origin {
                    headers.push(("Origin", o));
                }
                let reply = http_with(srv.addr, r.method, &path, &headers, &body).await;
                let what = format!("{} {path} as {content_type:?} from {origin:?}", r.method);
                assert_refused(&reply, 415, &what);
                assert!(
                    reply.body.contains("application/json"),
                    "{what}: {}",
                    reply.body
                );
            }
        }
    }
    nothing_changed(&srv, &cookie, &before).await;
    srv.stop().await;
}

#[tokio::test]
async fn its_own_origin_and_clients_that_are_no_browser_are_served() {
    let mut srv = TestServer::start().await;
    let own = srv.origin();
    let senders: [&[(&str, &str)]; 4] = [
        &[("Origin", &own)],
        &[("Sec-Fetch-Site", "same-origin")],
        &[("Sec-Fetch-Site", "none")],
        // curl, scripts, tests: neither header.
        &[],
    ];
    for extra in senders {
        // Login first, logout last: each sender signs in, uses every route, signs out.
        let mut routes = state_changing();
        routes.sort_by_key(|r| match r.id {
            RouteId::Login => 0,
            RouteId::Logout => 2,
            _ => 1,
        });
        let mut cookie = String::new();
        for r in routes {
            let mut headers = vec![("Content-Type", "application/json; charset=utf-8")];
            if !cookie.is_empty() {
                headers.push(("Cookie", &cookie));
            }
            headers.extend_from_slice(extra);
            let path = r.path.replace("{id}", "x");
            let reply = http_with(srv.addr, r.method, &path, &headers, &body_for(r)).await;
            assert_eq!(
                reply.status,
                status_for(r),
                "{} {path} with {extra:?}: {}",
                r.method,
                reply.body
            );
            if r.id == RouteId::Login {
                cookie = reply
                    .header("set-cookie")
                    .and_then(|c| c.split(';').next())
                    .expect("a session cookie")
                    .to_owned();
            }
        }
        let me = http(srv.addr, "GET", "/api/me", Some(&cookie), None).await;
        assert_eq!(me.status, 401, "logout did not end the session");
    }
    srv.stop().await;
}

#[tokio::test]
async fn the_cookie_is_secure_and_hsts_sent_whenever_the_public_url_is_https() {
    let login = serde_json::json!({"username": "admin", "password": PASSWORD}).to_string();
    // Plain http on loopback (development): no Secure, no HSTS.
    let mut plain = TestServer::start().await;
    let r = http(plain.addr, "POST", "/api/login", None, Some(&login)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let cookie = r.header("set-cookie").expect("cookie").to_ascii_lowercase();
    assert!(!cookie.contains("secure"), "{cookie}");
    assert!(r.header("strict-transport-security").is_none());
    plain.stop().await;

    // Behind a TLS proxy: the public URL says https, this process speaks plain http.
    let mut proxied = TestServer::start_with(|c| {
        c.public_url = Some("https://cairn.example.com".into());
    })
    .await;
    let r = http_with(
        proxied.addr,
        "POST",
        "/api/login",
        &[
            ("Content-Type", "application/json"),
            ("Origin", "https://cairn.example.com"),
        ],
        &login,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let cookie = r.header("set-cookie").expect("cookie").to_ascii_lowercase();
    assert!(
        cookie.contains("; secure") && cookie.contains("httponly"),
        "{cookie}"
    );
    assert!(
        r.header("strict-transport-security")
            .is_some_and(|v| v.starts_with("max-age=")),
        "{}",
        r.headers
    );
    // Logout clears it with Secure too; every answer carries HSTS.
    let session = r
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("cookie");
    let out = http_with(
        proxied.addr,
        "POST",
        "/api/logout",
        &[("Content-Type", "application/json"), ("Cookie", session)],
        "{}",
    )
    .await;
    assert!(
        out.header("set-cookie")
            .is_some_and(|c| c.contains("Secure"))
    );
    assert!(
        http(proxied.addr, "GET", "/healthz", None, None)
            .await
            .header("strict-transport-security")
            .is_some()
    );
    // The page reached at the proxy's address is this control plane's origin, not the Host.
    let r = http_with(
        proxied.addr,
        "POST",
        "/api/login",
        &[
            ("Content-Type", "application/json"),
            ("Origin", &format!("http://{}", proxied.addr)),
        ],
        &login,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    proxied.stop().await;
}
