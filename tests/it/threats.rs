//! threats.md 21, 22, 24 and 25 against the running binaries.

use std::net::SocketAddr;

use cairn_control_plane::http::ROUTES;
use cairn_e2e::{Cluster, ControlPlane, Dashboard, PASSWORD, WAIT, http, login};
use cairn_protocol::messages::{ChallengePurpose, Hello};
use cairn_protocol::{
    FrameVerifier, KeyPair, KeyRing, Message, PublicKey, bare_message_json, sign_auth_response,
    sign_enroll_request, unix_now,
};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};

async fn bare_control_plane() -> (tempfile::TempDir, ControlPlane) {
    let dir = tempfile::tempdir().expect("temp dir");
    let recipes = cairn_e2e::recipes_dir(dir.path(), &["lines"]);
    let cp = ControlPlane::start(dir.path(), &recipes).await;
    (dir, cp)
}

fn http_status(e: &WsError) -> Option<u16> {
    match e {
        WsError::Http(resp) => Some(resp.status().as_u16()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threat_21_every_route_without_a_session_is_401() {
    let (_dir, cp) = bare_control_plane().await;
    let guarded: Vec<_> = ROUTES.iter().filter(|r| !r.public).collect();
    assert!(guarded.len() >= 10, "the route table shrank: {ROUTES:?}");
    for r in &guarded {
        let path = r.path.replace("{id}", "job-0123456789abcdef");
        for cookie in [
            None,
            Some("cairn_session=00000000000000000000000000000000000000000000000000000000000000ff"),
            Some("cairn_session="),
        ] {
            let reply = http(cp.addr, r.method, &path, cookie, Some("{}")).await;
            assert_eq!(
                reply.status, 401,
                "{} {path} with {cookie:?}: {reply:?}",
                r.method
            );
            assert!(reply.json()["error"].is_string(), "{reply:?}");
        }
    }
    // The dashboard socket refuses the upgrade itself.
    let err = Dashboard::connect(cp.addr, None, &cp.origin())
        .await
        .expect_err("upgrade without a session");
    assert_eq!(http_status(&err), Some(401), "{err}");
    // And the public routes stay public (the table is what is served).
    assert_eq!(
        http(cp.addr, "GET", "/healthz", None, None).await.status,
        200
    );
    let key = http(cp.addr, "GET", "/api/control-plane-key", None, None).await;
    assert_eq!(key.status, 200);
    // With a real session the same routes answer.
    let cookie = cp.login().await;
    assert_eq!(
        http(cp.addr, "GET", "/api/nodes", Some(&cookie), None)
            .await
            .status,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threat_22_a_foreign_origin_cannot_open_the_dashboard_socket() {
    let (_dir, cp) = bare_control_plane().await;
    let cookie = cp.login().await;
    let other_port = format!("http://127.0.0.1:{}", cp.addr.port() + 1);
    for origin in [
        "http://evil.example",
        "https://127.0.0.1",
        other_port.as_str(),
        "null",
    ] {
        let err = Dashboard::connect(cp.addr, Some(&cookie), origin)
            .await
            .expect_err(origin);
        assert_eq!(http_status(&err), Some(403), "{origin}: {err}");
    }
    Dashboard::connect(cp.addr, Some(&cookie), &cp.origin())
        .await
        .expect("the control plane's own origin is allowed");
}

type Ws = cairn_e2e::Ws;

async fn open(addr: SocketAddr) -> Ws {
    tokio_tungstenite::connect_async(format!("ws://{addr}/ws/agent"))
        .await
        .expect("agent socket")
        .0
}

async fn send_bare(ws: &mut Ws, m: Message) -> Result<(), String> {
    let text = bare_message_json(&m).map_err(|e| e.to_string())?;
    ws.send(WsMessage::text(text))
        .await
        .map_err(|e| e.to_string())
}

async fn hello(ws: &mut Ws, node_id: &str, key_id: Option<String>) {
    send_bare(
        ws,
        Message::Hello(Hello {
            node_id: node_id.to_owned(),
            key_id,
            agent_version: "e2e".into(),
            protocol_version: 1,
            detectors_hash: None,
        }),
    )
    .await
    .expect("send HELLO");
}

/// The one message of the next frame; an `ERROR` or a close is `Err`.
async fn one(ws: &mut Ws, verifier: &mut FrameVerifier) -> Result<Message, String> {
    let text = loop {
        let m = tokio::time::timeout(WAIT, ws.next())
            .await
            .map_err(|_| "timed out".to_owned())?
            .ok_or("closed")?
            .map_err(|e| e.to_string())?;
        match m {
            WsMessage::Text(t) => break t,
            WsMessage::Close(_) => return Err("closed".into()),
            _ => {}
        }
    };
    let frame = verifier
        .verify(text.as_bytes(), unix_now())
        .map_err(|e| format!("bad frame from the control plane: {e}"))?;
    match frame.messages.into_iter().next() {
        Some(Message::Error(e)) => Err(e.message),
        Some(m) => Ok(m),
        None => Err("empty frame".into()),
    }
}

fn nonce_of(m: Message, want: ChallengePurpose) -> String {
    match m {
        Message::AuthChallenge(c) if c.purpose == want => c.nonce,
        other => panic!("expected AUTH_CHALLENGE, got {}", other.type_name()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threat_24_another_key_or_a_replayed_auth_response_is_refused() {
    let c = Cluster::start(&["lines"]).await;
    let addr = c.cp.addr;
    let key_json = c.cp.get_json(&c.cookie, "/api/control-plane-key").await;
    let cp_key = PublicKey::from_hex(key_json["publicKey"].as_str().expect("key")).expect("hex");
    let verifier = || {
        FrameVerifier::for_agent(
            KeyRing::from(cp_key.clone()),
            cairn_control_plane::CONTROL_PLANE_ID,
            &c.node_id,
        )
    };
    let enrolled_key_id = c.cp.get_json(&c.cookie, "/api/nodes").await[0]["keyId"].clone();

    // 1. `cairn-agent enroll` again with the same token (so a fresh key for the same node id):
    //    refused.
    let second = c.dir.path().join("agent-2");
    let token = c.token.clone();
    let (status, out) = cairn_e2e::Agent::enroll_command(&c.cp.url(), &token, &second).await;
    assert!(!status.success(), "a second enrollment succeeded: {out}");
    assert!(!second.join("agent.key").exists() || !second.join("agent.json").exists());

    // 2. A crafted enrollment with another key for the enrolled node id: refused.
    let intruder = KeyPair::generate().expect("key");
    let mut ws = open(addr).await;
    let mut v = verifier();
    hello(&mut ws, &c.node_id, None).await;
    match one(&mut ws, &mut v).await {
        Ok(m) => {
            let nonce = nonce_of(m, ChallengePurpose::Enroll);
            let req = sign_enroll_request(&intruder, &c.node_id, &token, "evil", &nonce);
            send_bare(&mut ws, Message::EnrollRequest(req))
                .await
                .expect("send");
            let refused = one(&mut ws, &mut v)
                .await
                .expect_err("enrolled another key");
            assert!(!refused.is_empty());
        }
        // Refusing at HELLO (the node is enrolled) is just as good.
        Err(refused) => assert!(!refused.is_empty()),
    }

    // 3. Authenticating as the node with another key: refused.
    let mut ws = open(addr).await;
    let mut v = verifier();
    hello(&mut ws, &c.node_id, Some(intruder.key_id().to_string())).await;
    let refused = match one(&mut ws, &mut v).await {
        Ok(m) => {
            let nonce = nonce_of(m, ChallengePurpose::Auth);
            let resp = sign_auth_response(&intruder, &c.node_id, &nonce);
            send_bare(&mut ws, Message::AuthResponse(resp))
                .await
                .expect("send");
            one(&mut ws, &mut v)
                .await
                .expect_err("authenticated another key")
        }
        Err(e) => e,
    };
    assert!(refused.contains("key"), "{refused}");

    // 4. A replayed AUTH_RESPONSE. First a genuine one, with the agent's own key …
    let key = KeyPair::read_file(&c.agent.config.join("agent.key")).expect("agent key");
    let mut ws = open(addr).await;
    let mut v = verifier();
    hello(&mut ws, &c.node_id, Some(key.key_id().to_string())).await;
    let nonce = nonce_of(
        one(&mut ws, &mut v).await.expect("challenge"),
        ChallengePurpose::Auth,
    );
    let genuine = Message::AuthResponse(sign_auth_response(&key, &c.node_id, &nonce));
    send_bare(&mut ws, genuine.clone()).await.expect("send");
    assert!(matches!(one(&mut ws, &mut v).await, Ok(Message::AuthOk(_))));
    drop(ws);
    // … then the same response on a new connection, to a new challenge: refused.
    let mut ws = open(addr).await;
    let mut v = verifier();
    hello(&mut ws, &c.node_id, Some(key.key_id().to_string())).await;
    let fresh = nonce_of(
        one(&mut ws, &mut v).await.expect("challenge"),
        ChallengePurpose::Auth,
    );
    assert_ne!(fresh, nonce);
    send_bare(&mut ws, genuine).await.expect("send");
    let refused = one(&mut ws, &mut v).await.expect_err("replay accepted");
    assert!(!refused.is_empty());

    // The enrolled key is unchanged, the real agent gets back online, and the refusals are in
    // the audit log.
    let nodes = c.cp.wait_online(&c.cookie, &c.node_id, true).await;
    assert_eq!(nodes["keyId"], enrolled_key_id);
    let audit = c.cp.get_json(&c.cookie, "/api/audit").await.to_string();
    assert!(audit.contains("node.auth"), "{audit}");
    assert!(audit.contains("refused"), "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threat_25_many_wrong_logins_are_locked_out_and_audited() {
    let (_dir, cp) = bare_control_plane().await;
    let cookie = cp.login().await;
    // Five failures are free; then every failure doubles a lockout. How many attempts land
    // inside a lockout depends on how long each (argon2) check takes, so count, don't script.
    let mut statuses = Vec::new();
    for i in 0..12 {
        let r = login(cp.addr, "admin", &format!("wrong password {i}"))
            .await
            .expect_err("a wrong password logged in");
        statuses.push(r.status);
        if r.status == 429 {
            assert!(
                r.json()["error"]
                    .as_str()
                    .unwrap_or("")
                    .contains("try again"),
                "{r:?}"
            );
            // Locked out: even the right password is refused, unchecked.
            let started = std::time::Instant::now();
            let right = login(cp.addr, "admin", PASSWORD)
                .await
                .expect_err("logged in while locked out");
            assert_eq!(right.status, 429, "{right:?}");
            assert!(started.elapsed() < std::time::Duration::from_secs(1));
            break;
        }
    }
    assert_eq!(&statuses[..5], &[401; 5], "{statuses:?}");
    assert_eq!(
        statuses.last(),
        Some(&429),
        "never locked out: {statuses:?}"
    );

    // Every wrong attempt and the refused right one, tallied into one entry for this address
    // (written within a second) instead of one row each.
    let attempts = statuses.len() as u64 + 1;
    let tally = cairn_e2e::eventually("the tallied refusals", || async {
        let audit = cp.get_json(&cookie, "/api/audit").await;
        audit
            .as_array()?
            .iter()
            .find(|e| {
                e["what"] == "login.refused"
                    && e["who"] == "admin"
                    && e["target"] == "127.0.0.1"
                    && e["count"] == attempts
            })
            .cloned()
    })
    .await;
    let result = tally["result"].as_str().unwrap_or_default();
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        result.starts_with(&format!("{checked} × wrong username or password"))
            && result.contains("locked out"),
        "{tally}"
    );
}
