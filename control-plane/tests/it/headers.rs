//! Browser hardening: every GET route of `http::ROUTES` answers HEAD like GET without a body;
//! every answer forbids framing and sniffing and API answers are not cached; the dashboard's
//! pages get a strict Content-Security-Policy holding only the hashes of their own inline code.

use std::path::Path;

use cairn_control_plane::http::ROUTES;

use crate::util::{Reply, TestServer, http, http_with};

/// The kind of page SvelteKit's static build writes: a policy with the start-up script's
/// hash, and the script. The `'unsafe-inline'` must not survive into the header.
const INDEX: &str = r#"<!doctype html><html><head>
<meta http-equiv="content-security-policy" content="default-src 'self'; style-src 'self' 'unsafe-hashes' 'sha256-S8qMpvofolR8Mpjy4kQvEm7m1q8clzU4dfDH0AmvZjo='; script-src 'self' 'unsafe-inline' 'unsafe-eval' 'sha256-vQOC5AaKUaDwMBN0nBCfiqGGsL0af36YUogbn5S+geM='">
</head><body><div><script>start()</script></div></body></html>"#;

fn write_ui(dir: &Path) {
    std::fs::create_dir_all(dir.join("_app/immutable/entry")).expect("ui dir");
    std::fs::write(dir.join("index.html"), INDEX).expect("index");
    std::fs::write(dir.join("_app/immutable/entry/start.js"), "export {}").expect("js");
}

fn get(r: &Reply, name: &str) -> String {
    r.header(name).unwrap_or_default().to_owned()
}

fn assert_hardened(r: &Reply, what: &str) {
    assert_eq!(get(r, "x-frame-options"), "DENY", "{what}: {}", r.headers);
    assert_eq!(get(r, "x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get(r, "referrer-policy"), "no-referrer", "{what}");
    let csp = get(r, "content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{what}: {csp}"
    );
    // Served over plain http on loopback: no HSTS.
    assert!(r.header("strict-transport-security").is_none(), "{what}");
}

#[tokio::test]
async fn every_get_route_answers_head_like_get_without_a_body() {
    let mut srv = TestServer::start_with(|c| {
        c.ui_dir = c.data_dir.with_file_name("ui");
        write_ui(&c.ui_dir);
    })
    .await;
    let cookie = srv.login().await;
    let mut paths: Vec<String> = ROUTES
        .iter()
        .filter(|r| r.method == "GET")
        .map(|r| r.path.replace("{id}", "job-x"))
        .collect();
    assert!(paths.len() >= 10, "the route table lost GET routes");
    paths.extend([
        "/".into(),
        "/nodes/node-1".into(),
        "/_app/immutable/entry/start.js".into(),
    ]);
    for path in &paths {
        for cookie in [Some(cookie.as_str()), None] {
            let mut headers = vec![];
            if let Some(c) = cookie {
                headers.push(("Cookie", c));
            }
            let g = http_with(srv.addr, "GET", path, &headers, "").await;
            let h = http_with(srv.addr, "HEAD", path, &headers, "").await;
            let what = format!("HEAD {path} (session: {})", cookie.is_some());
            assert_ne!(h.status, 405, "{what}");
            assert_eq!(h.status, g.status, "{what}: GET said {}", g.body);
            assert!(h.body.is_empty(), "{what} sent a body: {}", h.body);
            assert_eq!(get(&h, "content-type"), get(&g, "content-type"), "{what}");
            assert_eq!(
                get(&h, "content-security-policy"),
                get(&g, "content-security-policy"),
                "{what}"
            );
        }
    }
    srv.stop().await;
}

#[tokio::test]
async fn every_answer_forbids_framing_and_api_answers_are_never_cached() {
    let mut srv = TestServer::start().await;
    let cookie = srv.login().await;
    let token = http(
        srv.addr,
        "POST",
        "/api/enrollment-tokens",
        Some(&cookie),
        Some(r#"{"name": "web-1"}"#),
    )
    .await;
    assert_eq!(token.status, 200);
    assert_eq!(
        get(&token, "cache-control"),
        "no-store",
        "a token must not be cached"
    );
    let mut replies = vec![("POST /api/enrollment-tokens".to_owned(), token)];
    for r in ROUTES.iter().filter(|r| r.method == "GET") {
        let path = r.path.replace("{id}", "job-x");
        for cookie in [Some(cookie.as_str()), None] {
            let reply = http(srv.addr, "GET", &path, cookie, None).await;
            replies.push((format!("GET {path} (session: {})", cookie.is_some()), reply));
        }
    }
    replies.push((
        "an unknown path".into(),
        http(srv.addr, "GET", "/api/nope", None, None).await,
    ));
    for (what, r) in &replies {
        assert_hardened(r, what);
        // Not a page: nothing in it may run, even opened directly.
        assert!(
            get(r, "content-security-policy").starts_with("default-src 'none'"),
            "{what}"
        );
        let cache = get(r, "cache-control");
        if what.contains("/downloads/") {
            assert!(
                cache == "no-cache" || cache == "no-store",
                "{what}: {cache}"
            );
        } else {
            assert_eq!(cache, "no-store", "{what}");
        }
    }
    srv.stop().await;
}

#[tokio::test]
async fn the_dashboard_page_gets_a_strict_policy_with_only_its_own_hashes() {
    let mut srv = TestServer::start_with(|c| {
        c.ui_dir = c.data_dir.with_file_name("ui");
        write_ui(&c.ui_dir);
    })
    .await;
    for path in ["/", "/login", "/nodes/node-1"] {
        let r = http(srv.addr, "GET", path, None, None).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(r.body.contains("start()"), "{path}: not the page");
        assert_hardened(&r, path);
        let csp = get(&r, "content-security-policy");
        for directive in [
            "default-src 'self'",
            "script-src 'self' 'sha256-vQOC5AaKUaDwMBN0nBCfiqGGsL0af36YUogbn5S+geM=';",
            "style-src 'self' 'unsafe-hashes' 'sha256-S8qMpvofolR8Mpjy4kQvEm7m1q8clzU4dfDH0AmvZjo=';",
            "object-src 'none'",
            "base-uri 'none'",
            &format!("connect-src 'self' ws://{};", srv.addr),
        ] {
            assert!(
                csp.contains(directive),
                "{path}: {directive} missing from {csp}"
            );
        }
        assert_eq!(get(&r, "cache-control"), "no-cache", "{path}");
    }
    let js = http(
        srv.addr,
        "GET",
        "/_app/immutable/entry/start.js",
        None,
        None,
    )
    .await;
    assert_eq!(js.status, 200);
    assert!(get(&js, "cache-control").contains("immutable"));
    assert_hardened(&js, "a script file");
    srv.stop().await;
}
