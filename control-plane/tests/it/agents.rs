//! Enrollment and agent authentication: token reuse and expiry (threats.md 23), impersonation
//! (24).

use cairn_protocol::messages::Hello;
use cairn_protocol::{Message, bare_message_json};

use crate::util::{Agent, TestServer, http};

#[tokio::test]
async fn the_same_token_twice_in_parallel_enrolls_exactly_once() {
    let mut srv = TestServer::start().await;
    let cookie = srv.login().await;
    let cp = srv.cp_key().await;
    let (token, node_id) = srv.token(&cookie, "web-1").await;
    assert!(
        node_id.starts_with("node-") && node_id.len() == 17,
        "{node_id}"
    );
    assert!(token.starts_with(&format!("{node_id}.")));
    let agents: Vec<Agent> = (0..4).map(|_| Agent::new(&node_id)).collect();
    let results =
        futures_util::future::join_all(agents.iter().map(|a| a.enroll(srv.addr, &cp, &token)))
            .await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "{results:?}");
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(e.contains("already") || e.contains("used"), "{e}");
    }
    // The winner can authenticate; a loser's key cannot.
    let winner = results.iter().position(Result::is_ok).unwrap_or(0);
    let _winner_conn = agents[winner].connect(srv.addr, &cp).await;
    let loser = &agents[(winner + 1) % agents.len()];
    let refused = loser
        .connect_with(srv.addr, &cp, None, None)
        .await
        .err()
        .expect("loser refused");
    assert!(refused.contains("enrolled with key"), "{refused}");
    let nodes = http(srv.addr, "GET", "/api/nodes", Some(&cookie), None)
        .await
        .json();
    assert_eq!(nodes.as_array().map(Vec::len), Some(1));
    assert_eq!(nodes[0]["name"], "web-1");
    assert_eq!(nodes[0]["online"], true);
    srv.stop().await;
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let mut srv = TestServer::start_with(|c| c.token_ttl_secs = 0).await;
    let cookie = srv.login().await;
    let cp = srv.cp_key().await;
    let (token, node_id) = srv.token(&cookie, "web-2").await;
    let err = Agent::new(&node_id)
        .enroll(srv.addr, &cp, &token)
        .await
        .expect_err("expired");
    assert!(err.contains("expired"), "{err}");
    // A token for another node and an unknown token are refused too.
    let (token2, _) = srv.token(&cookie, "web-3").await;
    let err = Agent::new(&node_id)
        .enroll(srv.addr, &cp, &token2)
        .await
        .expect_err("other node");
    assert!(err.contains("another node"), "{err}");
    let audit = http(srv.addr, "GET", "/api/audit", Some(&cookie), None)
        .await
        .body;
    assert!(
        audit.contains("node.enroll") && audit.contains("refused"),
        "{audit}"
    );
    srv.stop().await;
}

#[tokio::test]
async fn another_key_and_a_replayed_auth_response_are_refused() {
    let mut srv = TestServer::start().await;
    let cookie = srv.login().await;
    let cp = srv.cp_key().await;
    let (token, node_id) = srv.token(&cookie, "web-4").await;
    let agent = Agent::new(&node_id);
    agent.enroll(srv.addr, &cp, &token).await.expect("enroll");
    // Enrolling again, with the used token and a new key: refused.
    let intruder = Agent::new(&node_id);
    let err = intruder
        .enroll(srv.addr, &cp, &token)
        .await
        .expect_err("second key");
    assert!(err.contains("already"), "{err}");
    // A new key presented for the enrolled node: refused.
    let err = intruder
        .connect_with(srv.addr, &cp, None, None)
        .await
        .err()
        .expect("other key");
    assert!(err.contains("enrolled with key"), "{err}");
    // The enrolled key id with another key's signature: refused.
    let err = intruder
        .connect_with(srv.addr, &cp, Some(agent.key().key_id().to_string()), None)
        .await
        .err()
        .expect("wrong signature");
    assert!(err.contains("signature"), "{err}");
    // A captured AUTH_RESPONSE replayed on a new connection: refused.
    let (conn, captured) = agent
        .connect_with(srv.addr, &cp, None, None)
        .await
        .expect("auth");
    drop(conn);
    let err = agent
        .connect_with(srv.addr, &cp, None, Some(captured))
        .await
        .err()
        .expect("replay");
    assert!(err.contains("challenge refused"), "{err}");
    // Another message where AUTH_RESPONSE belongs, or bytes that are no message: refused,
    // naming what was expected.
    let hello = bare_message_json(&Message::Hello(Hello {
        node_id: node_id.clone(),
        key_id: None,
        agent_version: "test".into(),
        protocol_version: 1,
        detectors_hash: None,
    }))
    .expect("json");
    let err = agent
        .connect_with(srv.addr, &cp, None, Some(hello))
        .await
        .err()
        .expect("wrong message");
    assert!(err.contains("expected AUTH_RESPONSE, got HELLO"), "{err}");
    let err = agent
        .connect_with(srv.addr, &cp, None, Some("not json".into()))
        .await
        .err()
        .expect("not a message");
    assert!(!err.contains("expected AUTH_RESPONSE"), "{err}");
    // The enrolled agent still authenticates afterwards.
    agent.connect(srv.addr, &cp).await;
    srv.stop().await;
}
