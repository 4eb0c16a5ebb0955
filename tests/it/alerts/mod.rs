//! Issue 19's alerts against the real control plane and agent, with real receivers on
//! loopback (`receivers.rs`): a webhook server checking the HMAC signature, and Python's
//! aiosmtpd requiring STARTTLS. The control plane evaluates every second (`--alert-tick 1`)
//! and the tests shorten rules' durations through the API, as a person could.
//!
//! `delivery.rs` lowers the disk rule's threshold under the root's real usage (and raises it
//! again to resolve it), the observation coming from the real agent's `SERVER_STATUS`;
//! `filled.rs` fills a real loop-mounted file system past the default 90 %, the observation
//! coming from the agent's metrics samples, which list every real file system.

mod delivery;
mod filled;
mod receivers;
mod rules;

use cairn_e2e::{Agent, Cluster, ControlPlane, eventually};
use receivers::{Hit, Webhook, hmac_sha256};
use serde_json::{Value, json};

const SECRET: &str = "hmac-secret-for-the-test-4711";

async fn send(cp: &ControlPlane, cookie: &str, method: &str, path: &str, body: Value) -> Value {
    let r = cp
        .request(method, path, Some(cookie), Some(&body.to_string()))
        .await;
    assert_eq!(r.status, 200, "{method} {path}: {}", r.body);
    r.json()
}

/// Changes rule `rule` (`PUT /api/alert-rules/RULE`) as the Alerts page does.
async fn set_rule(c: &Cluster, rule: &str, body: Value) -> Value {
    send(
        &c.cp,
        &c.cookie,
        "PUT",
        &format!("/api/alert-rules/{rule}"),
        body,
    )
    .await
}

/// A control plane evaluating every second, with one agent, enrolled once the disk rule's
/// threshold is 100 %: this machine's own disk may be over 90 %, and nothing must fire before
/// a test says so.
async fn start(recipes: &[&str]) -> Cluster {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let recipes_dir = cairn_e2e::recipes_dir(root, recipes);
    let cp =
        ControlPlane::start_with_args(root, &recipes_dir, &["--alert-tick".into(), "1".into()])
            .await;
    let cookie = cp.login().await;
    send(
        &cp,
        &cookie,
        "PUT",
        "/api/alert-rules/disk",
        json!({"threshold": 100}),
    )
    .await;
    let (token, node_id) = cp.token(&cookie, "web-1").await;
    let mut agent = Agent::enroll(
        &cp.url(),
        &token,
        &root.join("agent"),
        &root.join("agent.log"),
    )
    .await;
    agent.start();
    cp.wait_online(&cookie, &node_id, true).await;
    Cluster {
        agent,
        cp,
        cookie,
        node_id,
        token,
        dir,
    }
}

/// Asks every agent for its status and waits for the answers (each one is an observation).
async fn status(c: &Cluster) {
    let r = send(
        &c.cp,
        &c.cookie,
        "POST",
        "/api/nodes/status?wait=20",
        json!({}),
    )
    .await;
    assert_eq!(r["answered"], 1, "{r}");
}

async fn webhook_channel(c: &Cluster, hook: &Webhook) -> Value {
    let body = json!({"kind": "webhook", "name": "hook", "url": hook.url, "secret": SECRET});
    send(&c.cp, &c.cookie, "POST", "/api/alert-channels", body).await
}

/// The alert of `rule` on the node in `state`, once there is one.
async fn alert(c: &Cluster, rule: &str, state: &str) -> Value {
    let path = format!("/api/alerts?node={}&state={state}", c.node_id);
    eventually(&format!("a {state} {rule} alert"), || async {
        let all = c.cp.get_json(&c.cookie, &path).await;
        all.as_array()?.iter().find(|a| a["rule"] == rule).cloned()
    })
    .await
}

/// The webhook's notices of `rule` and `event`, each checked for its signature.
fn notices(hook: &Webhook, rule: &str, event: &str) -> Vec<Value> {
    hook.hits()
        .iter()
        .filter(|h: &&Hit| {
            let want = format!("sha256={}", hmac_sha256(SECRET.as_bytes(), &h.body));
            assert_eq!(
                h.headers.get("x-cairn-signature"),
                Some(&want),
                "unsigned or badly signed"
            );
            h.json()["rule"] == rule && h.json()["event"] == event
        })
        .map(Hit::json)
        .collect()
}

async fn wait_notice(hook: &Webhook, rule: &str, event: &str) -> Value {
    eventually(&format!("a {event} notice of {rule}"), || async {
        notices(hook, rule, event).first().cloned()
    })
    .await
}
