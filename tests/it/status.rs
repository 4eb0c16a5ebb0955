//! Enrollment and server status: what the user sees right after installing an agent.

use cairn_e2e::Cluster;
use serde_json::{Value, json};

/// What this machine says about Redis: (installed, version, answering: PONG, or NOAUTH once
/// Cairn has turned off access without a password).
fn local_redis() -> (bool, Option<String>, bool) {
    let version = std::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            let v = text
                .split("v=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .to_owned();
            Some(v)
        });
    let pong = std::process::Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "ping"])
        .output()
        .map(|o| {
            let said = String::from_utf8_lossy(&o.stdout);
            said.contains("PONG") || said.contains("NOAUTH")
        })
        .unwrap_or(false);
    (version.is_some(), version, pong)
}

fn meminfo_total_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

fn find<'a>(list: &'a Value, key: &str, id: &str) -> &'a Value {
    list.as_array()
        .and_then(|a| a.iter().find(|e| e[key] == id))
        .unwrap_or_else(|| panic!("no {id} in {list}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enrolled_agent_is_online_and_answers_server_status_with_every_detector() {
    let c = Cluster::start(&["redis", "lines", "ticks"]).await;

    // The node list shows the node online, under the name given to its token.
    let nodes = c.cp.get_json(&c.cookie, "/api/nodes").await;
    let node = find(&nodes, "id", &c.node_id);
    assert_eq!(node["online"], true, "{node}");
    assert_eq!(node["name"], "web-1", "{node}");

    let mut d = c.dashboard().await;
    d.send(json!({"type": "GET_SERVER_STATUS", "nodeId": c.node_id}))
        .await;
    let status = d.recv_until(|m| m["type"] == "SERVER_STATUS").await;
    assert_eq!(status["nodeId"], c.node_id.as_str());
    let p = &status["payload"];

    // System facts, checked against this machine.
    let sys = &p["system"];
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let os = sys["os"].as_str().expect("os");
    assert!(
        !os.is_empty() && os_release.contains(os.split(' ').next().unwrap_or("?")),
        "{sys}"
    );
    let cores = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count() as u64;
    assert_eq!(sys["cpu"]["cores"].as_u64(), Some(cores), "{sys}");
    let ram = sys["ram"]["totalBytes"].as_u64().expect("ram");
    let local = meminfo_total_bytes();
    assert!(
        ram.abs_diff(local) <= local / 50,
        "ram {ram} vs MemTotal {local}"
    );
    assert!(sys["uptime"].as_u64().expect("uptime") > 0, "{sys}");

    // Every recipe's detector ran: redis as this machine has it, the test runtimes absent.
    let (installed, version, running) = local_redis();
    let redis = find(&p["databases"], "type", "redis");
    assert_eq!(redis["installed"], installed, "{redis}");
    assert_eq!(redis["running"], running, "{redis}");
    if let Some(v) = version {
        assert_eq!(redis["version"], v.as_str(), "{redis}");
    }
    assert!(redis.get("error").is_none_or(Value::is_null), "{redis}");
    for id in ["lines", "ticks"] {
        let r = find(&p["runtimes"], "type", id);
        assert_eq!(r["installed"], false, "{r}");
        assert!(r.get("error").is_none_or(Value::is_null), "{r}");
    }

    // The answer is kept as the node's last status.
    let nodes = c.cp.get_json(&c.cookie, "/api/nodes").await;
    let last = &find(&nodes, "id", &c.node_id)["lastStatus"];
    assert!(last["databases"].is_array(), "{last}");
}
