//! An open Server Settings page keeps the machine's figures current with `GET_SERVER_STATUS`
//! `systemOnly`: the agent is asked for its facts alone (no detector travels), the answer reaches
//! the page, and the node's stored status keeps its detections instead of being blanked.

use cairn_protocol::Message;
use serde_json::json;

use crate::jobs::status;
use crate::util::{TestServer, dashboard, enrolled_agent, http, recv_type, send_json};

#[tokio::test]
async fn a_system_only_status_updates_the_figures_and_keeps_the_detections() {
    let srv = TestServer::start().await;
    let cookie = srv.login().await;
    let (_agent, mut conn) = enrolled_agent(&srv, &cookie, "web-1").await;
    let node = conn.node_id.clone();
    conn.recv_where(|m| matches!(m, Message::GetServerStatus(_)))
        .await;
    conn.send(vec![Message::ServerStatus(status())]).await;

    let mut dash = dashboard(srv.addr, Some(&cookie), &srv.origin())
        .await
        .expect("dashboard");
    send_json(&mut dash, json!({"type": "SUBSCRIBE", "nodeId": node})).await;
    recv_type(&mut dash, "NODE_STATUS").await;
    send_json(
        &mut dash,
        json!({"type": "GET_SERVER_STATUS", "nodeId": node, "systemOnly": true}),
    )
    .await;
    let asked = conn
        .recv_where(|m| matches!(m, Message::GetServerStatus(r) if r.system_only))
        .await;
    let Message::GetServerStatus(asked) = asked else {
        unreachable!()
    };
    assert!(
        asked.detectors.is_empty() && !asked.same_detectors,
        "a system-only request carries no detector: {asked:?}"
    );

    let mut fresh = status();
    fresh.request_id = asked.request_id;
    fresh.system_only = true;
    fresh.runtimes.clear();
    fresh.system.uptime = 4242;
    conn.send(vec![Message::ServerStatus(fresh)]).await;
    // The full status sent before the subscription may be relayed after it: skip it.
    let shown = loop {
        let m = recv_type(&mut dash, "SERVER_STATUS").await;
        if m["payload"]["system"]["uptime"] != 1 {
            break m;
        }
    };
    assert_eq!(shown["payload"]["systemOnly"], true, "{shown}");
    assert_eq!(shown["payload"]["system"]["uptime"], 4242, "{shown}");

    // The stored status still holds the detections of the full one (and its older figures).
    let nodes = http(srv.addr, "GET", "/api/nodes", Some(&cookie), None)
        .await
        .json();
    let stored = &nodes[0]["lastStatus"];
    assert_eq!(stored["runtimes"][0]["type"], "hello", "{stored}");
    assert_eq!(stored["system"]["uptime"], 1, "{stored}");
}
