//! Detector bundles kept by the agent across connections: a reconnecting agent that names the
//! current bundles' hash in `HELLO` gets `sameDetectors` (no bundle bytes); a changed recipe
//! on the control plane makes the bundles go again.

use cairn_protocol::messages::GetServerStatus;
use cairn_protocol::{Message, detectors_hash};

use crate::util::{TestServer, enrolled_agent, http, runtime_recipe};

fn status_request(messages: &[Message]) -> GetServerStatus {
    match messages {
        [Message::GetServerStatus(r)] => r.clone(),
        other => panic!("expected one GET_SERVER_STATUS, got {other:?}"),
    }
}

#[tokio::test]
async fn a_reconnecting_agent_gets_no_bundles_it_holds_and_new_ones_after_a_recipe_changes() {
    let mut srv = TestServer::start().await;
    let cookie = srv.login().await;
    let cp = srv.cp_key().await;
    let (mut agent, mut conn) = enrolled_agent(&srv, &cookie, "web-1").await;

    // The first connection names nothing: the bundles come in full.
    let (full_text, msgs) = conn.recv_text().await;
    let first = status_request(&msgs);
    assert!(
        !first.same_detectors && first.detectors.len() >= 2,
        "{first:?}"
    );
    let held = detectors_hash(&first.detectors);
    drop(conn);

    // Reconnecting and naming them: `sameDetectors` with their hash, not one bundle byte.
    agent.detectors_hash = Some(held.clone());
    let mut conn = agent.connect(srv.addr, &cp).await;
    let (text, msgs) = conn.recv_text().await;
    let again = status_request(&msgs);
    assert!(
        again.same_detectors && again.detectors.is_empty(),
        "{again:?}"
    );
    assert_eq!(again.detectors_hash.as_deref(), Some(held.as_str()));
    assert!(
        text.len() < 1024 && full_text.len() > 10 * text.len(),
        "{} bytes, the full request {}",
        text.len(),
        full_text.len()
    );

    // A recipe changes on the control plane: the next request on this connection carries the
    // new bundles (a fan-out's shared `sameDetectors` request is made full for this agent).
    std::fs::write(srv.recipes_dir().join("go.rhai"), runtime_recipe("go", 1)).expect("write");
    let r = http(srv.addr, "POST", "/api/recipes/reload", Some(&cookie), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let fan_out = http(
        srv.addr,
        "POST",
        "/api/nodes/status?wait=1",
        Some(&cookie),
        Some("{}"),
    );
    let (reply, msgs) = tokio::join!(fan_out, conn.recv());
    assert_eq!(reply.status, 200, "{}", reply.body);
    let changed = status_request(&msgs);
    assert!(!changed.same_detectors, "{changed:?}");
    assert!(
        changed.detectors.len() > first.detectors.len(),
        "go was added"
    );
    let current = detectors_hash(&changed.detectors);
    assert_ne!(current, held);
    // The next fan-out to it names the new bundles without sending them.
    let fan_out = http(
        srv.addr,
        "POST",
        "/api/nodes/status?wait=1",
        Some(&cookie),
        Some("{}"),
    );
    let (_, msgs) = tokio::join!(fan_out, conn.recv());
    let same = status_request(&msgs);
    assert!(same.same_detectors && same.detectors.is_empty());
    assert_eq!(same.detectors_hash.as_deref(), Some(current.as_str()));
    drop(conn);

    // An agent still naming the old bundles gets the new ones in full.
    let mut conn = agent.connect(srv.addr, &cp).await;
    let stale = status_request(&conn.recv().await);
    assert!(!stale.same_detectors);
    assert_eq!(detectors_hash(&stale.detectors), current);
    drop(conn);

    // One naming the new ones gets none; a malformed hash names nothing.
    agent.detectors_hash = Some(current.clone());
    let mut conn = agent.connect(srv.addr, &cp).await;
    let fresh = status_request(&conn.recv().await);
    assert!(fresh.same_detectors && fresh.detectors.is_empty());
    drop(conn);
    agent.detectors_hash = Some(format!("{current}00"));
    let mut conn = agent.connect(srv.addr, &cp).await;
    assert!(!status_request(&conn.recv().await).same_detectors);
    srv.stop().await;
}
