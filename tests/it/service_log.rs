//! Threat 44: the Services card's "Show log" cannot be turned into "read any file on the
//! server". A page (or a control plane) names a service, never a file; the agent reads only the
//! log a kept, verified recipe declares for a service it declares, and answers anything else
//! with a refusal and no line.

use cairn_e2e::Cluster;
use serde_json::{Value, json};

/// Asks for `service`'s log; returns the `SERVICE_LOG` payload or the `ERROR` payload.
async fn ask(d: &mut cairn_e2e::Dashboard, node_id: &str, service: &str) -> Value {
    let before = d.seen.len();
    d.send(json!({"type": "GET_SERVICE_LOG", "nodeId": node_id, "service": service}))
        .await;
    d.recv_from(before, |v| {
        v["type"] == "SERVICE_LOG" || v["type"] == "ERROR"
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threat_44_a_service_log_request_reads_only_a_declared_services_declared_log() {
    // The shipped Redis recipe declares redis-server and /var/log/redis/redis-server.log.
    let c = Cluster::start(&["redis"]).await;
    let mut d = c.dashboard().await;
    // The agent keeps the detector bundles of a status request; logs are read from those.
    d.send(json!({"type": "GET_SERVER_STATUS", "nodeId": c.node_id}))
        .await;
    d.recv_until(|m| m["type"] == "SERVER_STATUS").await;

    // Paths and names that are no service name never reach the agent.
    for path in [
        "/etc/shadow",
        "../../etc/shadow",
        "redis-server/../../etc/shadow",
        "",
    ] {
        let reply = ask(&mut d, &c.node_id, path).await;
        assert_eq!(reply["type"], "ERROR", "{path}: {reply}");
        assert!(
            reply.to_string().contains("is not a service name"),
            "{path}: {reply}"
        );
    }
    // Service names no kept recipe declares are refused by the agent, with no line.
    for service in ["ssh", "shadow", "postgresql", "cron"] {
        let reply = ask(&mut d, &c.node_id, service).await;
        assert_eq!(reply["type"], "SERVICE_LOG", "{service}: {reply}");
        let log = &reply["payload"];
        assert_eq!(log["problem"], "not_declared", "{service}: {log}");
        assert_eq!(log["lines"].as_array().map(Vec::len), Some(0), "{log}");
        assert!(
            log.get("source").is_none(),
            "{service}: a file was named: {log}"
        );
    }
    // The declared one is read from where the recipe says, and from nowhere else.
    let reply = ask(&mut d, &c.node_id, "redis-server").await;
    assert_eq!(reply["type"], "SERVICE_LOG", "{reply}");
    let log = &reply["payload"];
    assert_ne!(log["problem"], "not_declared", "{log}");
    if let Some(source) = log["source"].as_str() {
        assert!(
            source == "journal" || source == "/var/log/redis/redis-server.log",
            "read from {source}"
        );
    }
}
