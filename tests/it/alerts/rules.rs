//! Rules as a person sets them: disabled, muted, overridden for one node; and the conditions
//! of real processes: a killed agent, a stopped Redis.

use std::path::Path;
use std::process::Command;

use cairn_e2e::debian11::is_root;
use cairn_e2e::eventually;
use serde_json::{Value, json};

use super::receivers::Webhook;
use super::{alert, notices, send, set_rule, start, status, wait_notice, webhook_channel};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_rule_fires_nothing_and_a_muted_alert_sends_nothing() {
    let hook = Webhook::start().await;
    let c = start(&[]).await;
    set_rule(&c, "disk", json!({"enabled": false, "threshold": 1})).await;
    // The agent's first status came before: a disk that was already over 90 % fired then, and
    // is closed now. Nothing of disk may fire from here on.
    let path = format!("/api/alerts?node={}", c.node_id);
    let disk_rows = |all: &Value| -> Vec<Value> {
        all.as_array()
            .expect("list")
            .iter()
            .filter(|a| a["rule"] == "disk")
            .cloned()
            .collect()
    };
    let before = eventually("no disk alert firing", || async {
        let rows = disk_rows(&c.cp.get_json(&c.cookie, &path).await);
        rows.iter().all(|a| a["state"] == "closed").then_some(rows)
    })
    .await;
    webhook_channel(&c, &hook).await;
    let mute = json!({"rule": "memory", "nodeId": c.node_id, "minutes": 60});
    let muted = send(&c.cp, &c.cookie, "POST", "/api/alert-mutes", mute).await;
    set_rule(&c, "memory", json!({"threshold": 1, "durationSecs": 0})).await;
    status(&c).await;
    // Memory fired (so this status was evaluated, disk with it), muted: not notified.
    let mem = alert(&c, "memory", "firing").await;
    assert_eq!(
        (mem["notified"].clone(), mem["muted"].clone()),
        (json!(false), json!(true)),
        "{mem}"
    );
    let after = disk_rows(&c.cp.get_json(&c.cookie, &path).await);
    assert_eq!(after, before, "a disabled rule fired");

    // Enabling disk fires it, notified: the queue has been through, and held nothing else.
    set_rule(&c, "disk", json!({"enabled": true})).await;
    wait_notice(&hook, "disk", "firing").await;
    let rules: Vec<Value> = hook
        .hits()
        .iter()
        .map(|h| h.json()["rule"].clone())
        .collect();
    assert_eq!(rules, vec![json!("disk")]);

    // Disabled again, the firing disk alert is closed, without a notice.
    set_rule(&c, "disk", json!({"enabled": false})).await;
    alert(&c, "disk", "closed").await;
    let r =
        c.cp.request(
            "DELETE",
            &format!("/api/alert-mutes/{}", muted["id"]),
            Some(&c.cookie),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Unmuted, memory resolving is not notified either: its firing never was.
    set_rule(&c, "memory", json!({"threshold": 100})).await;
    status(&c).await;
    alert(&c, "memory", "resolved").await;
    set_rule(&c, "disk", json!({"enabled": true})).await;
    eventually("the second disk notice", || async {
        (notices(&hook, "disk", "firing").len() == 2).then_some(())
    })
    .await;
    assert!(notices(&hook, "memory", "resolved").is_empty());
    let audit = c.cp.get_json(&c.cookie, "/api/audit").await.to_string();
    for what in [
        "alert.rule",
        "alert.mute",
        "alert.unmute",
        "alert.channel.create",
    ] {
        assert!(audit.contains(what), "no {what} in the audit log");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nodes_override_wins_over_its_rule_until_it_is_taken_away() {
    let hook = Webhook::start().await;
    let c = start(&[]).await;
    webhook_channel(&c, &hook).await;
    let over = format!("/api/alert-rules/disk/nodes/{}", c.node_id);
    send(&c.cp, &c.cookie, "PUT", &over, json!({"threshold": 100})).await;
    set_rule(&c, "disk", json!({"threshold": 1})).await;
    set_rule(&c, "memory", json!({"threshold": 1, "durationSecs": 0})).await;
    status(&c).await;
    // Memory fired from this status; disk, over 1 % but not over this node's 100 %, did not.
    wait_notice(&hook, "memory", "firing").await;
    assert!(notices(&hook, "disk", "firing").is_empty());
    let rules = c.cp.get_json(&c.cookie, "/api/alert-rules").await;
    assert_eq!(rules["overrides"][0]["threshold"], 100.0, "{rules}");
    // Bad input changes nothing.
    let r =
        c.cp.request("PUT", &over, Some(&c.cookie), Some(r#"{"threshold": 250}"#))
            .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("threshold is from 1 to 100"), "{}", r.body);
    // Taken away: the rule's 1 % applies, and disk fires.
    send(
        &c.cp,
        &c.cookie,
        "PUT",
        &over,
        json!({"enabled": null, "threshold": null}),
    )
    .await;
    let fired = wait_notice(&hook, "disk", "firing").await;
    assert_eq!(fired["threshold"], 1.0);
    assert_eq!(
        c.cp.get_json(&c.cookie, "/api/alert-rules").await["overrides"],
        json!([])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_agent_fires_offline_once_the_rules_duration_has_passed() {
    let hook = Webhook::start().await;
    let mut c = start(&[]).await;
    webhook_channel(&c, &hook).await;
    set_rule(&c, "offline", json!({"durationSecs": 2})).await;
    let killed_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    c.agent.kill();
    let fired = alert(&c, "offline", "firing").await;
    assert!(
        fired["firedAt"].as_u64().expect("firedAt") >= killed_at + 2,
        "{fired}"
    );
    let n = wait_notice(&hook, "offline", "firing").await;
    assert_eq!(n["nodeId"], c.node_id.as_str());
    c.agent.start();
    alert(&c, "offline", "resolved").await;
    wait_notice(&hook, "offline", "resolved").await;
}

/// Puts redis-server back running or stopped, as the test found it.
struct Restore(bool);

impl Drop for Restore {
    fn drop(&mut self) {
        let op = if self.0 { "start" } else { "stop" };
        let _ = Command::new("service").args(["redis-server", op]).output();
    }
}

fn service(op: &str) -> bool {
    Command::new("service")
        .args(["redis-server", op])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Stops this machine's Redis: run under the machine lock
/// (`flock -o /tmp/cairn-system.lock cargo test -p cairn-e2e --test e2e alerts::rules::a_stopped`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_redis_fires_its_service_alert_and_resolves_when_it_runs_again() {
    let why = if !is_root() {
        "it stops Redis and needs root"
    } else if Path::new("/run/systemd/system").is_dir() {
        "systemd is PID 1 here"
    } else if !Path::new("/etc/init.d/redis-server").exists() {
        "Redis is not installed"
    } else {
        ""
    };
    if !why.is_empty() {
        eprintln!("skipped: {why}");
        return;
    }
    let _restore = Restore(service("status"));
    assert!(
        service("start") || service("status"),
        "Redis does not start"
    );
    let hook = Webhook::start().await;
    let c = start(&["redis"]).await;
    webhook_channel(&c, &hook).await;
    status(&c).await;
    assert!(service("stop"), "Redis did not stop");
    status(&c).await;
    let fired = alert(&c, "service", "firing").await;
    assert_eq!(fired["subject"], "redis-server");
    let n = wait_notice(&hook, "service", "firing").await;
    assert!(
        n["text"]
            .as_str()
            .is_some_and(|t| t.contains("redis-server is stopped")),
        "{n}"
    );
    assert!(service("start"), "Redis did not start again");
    status(&c).await;
    alert(&c, "service", "resolved").await;
    wait_notice(&hook, "service", "resolved").await;
}
