//! Issue 17's "restart PostgreSQL from the page and see its state change", against the real
//! control plane and agent: the Services card's buttons are `RUN_ACTION`s of the declaring
//! recipe's built-in action `service`. A preview names the command and changes nothing; the
//! restart moves the service's `since`; a stop shows it stopped and a start running again; each
//! run is audited. It stops and starts this machine's PostgreSQL: run it under the machine lock
//! (`flock -o /tmp/cairn-system.lock cargo test -p cairn-e2e --test e2e services`). It leaves
//! PostgreSQL as it found it, and skips, saying so, without root, without Debian's init script
//! for PostgreSQL, or with systemd as PID 1 (where the init script is not what runs).

use std::path::Path;
use std::process::Command;

use cairn_e2e::Cluster;
use cairn_e2e::debian11::is_root;
use serde_json::{Value, json};

const NAME: &str = "postgresql";

/// Puts PostgreSQL back running or stopped, as the test found it.
struct Restore(bool);

impl Drop for Restore {
    fn drop(&mut self) {
        let op = if self.0 { "start" } else { "stop" };
        let _ = Command::new("service").args([NAME, op]).output();
    }
}

fn running_here() -> bool {
    Command::new("service")
        .args([NAME, "status"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Asks for a fresh status, as the page does when a job ends; returns the service's entry.
async fn service_status(d: &mut cairn_e2e::Dashboard, node_id: &str) -> Value {
    let before = d.seen.len();
    d.send(json!({"type": "GET_SERVER_STATUS", "nodeId": node_id}))
        .await;
    let status = d
        .recv_from(before, |m| {
            m["type"] == "SERVER_STATUS" && m["payload"]["systemOnly"] != true
        })
        .await;
    status["payload"]["services"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == NAME))
        .cloned()
        .unwrap_or_else(|| panic!("no {NAME} in the status: {status}"))
}

/// Runs `operation` on PostgreSQL as the page's button does; returns the terminal event.
async fn control(d: &mut cairn_e2e::Dashboard, node_id: &str, operation: &str) -> Value {
    let payload = json!({"type": "postgresql", "action": "service",
                         "params": {"service": NAME, "operation": operation}});
    let job = d.start_job("RUN_ACTION", node_id, payload).await;
    d.wait_terminal(&job).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_is_restarted_stopped_and_started_from_the_services_card_and_its_state_follows()
{
    let why = if !is_root() {
        "it stops and starts PostgreSQL and needs root"
    } else if Path::new("/run/systemd/system").is_dir() {
        "systemd is PID 1 here"
    } else if !Path::new("/etc/init.d/postgresql").exists() {
        "PostgreSQL is not installed"
    } else {
        ""
    };
    if !why.is_empty() {
        eprintln!("skipped: {why}");
        return;
    }
    let _restore = Restore(running_here());
    let c = Cluster::start(&["postgresql"]).await;
    let node_id = c.node_id.clone();
    let mut d = c.dashboard().await;

    // The catalogue offers the built-in action for the service the recipe declares.
    let recipes = c.cp.get_json(&c.cookie, "/api/recipes").await;
    let pg = recipes
        .as_array()
        .and_then(|a| a.iter().find(|r| r["id"] == "postgresql"))
        .expect("the postgresql recipe")
        .clone();
    let action = pg["actions"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == "service"))
        .unwrap_or_else(|| panic!("no service action: {pg}"));
    assert_eq!(action["params"][0]["options"], json!([NAME]), "{action}");
    assert_eq!(
        pg["translations"]["fr"]["actions"]["service"]["title"],
        "Piloter un service"
    );

    // Running, with a start time, to begin with.
    if service_status(&mut d, &node_id).await["state"] != "running" {
        let end = control(&mut d, &node_id, "start").await;
        assert_eq!(end["payload"]["success"], true, "{end}");
    }
    let first = service_status(&mut d, &node_id).await;
    assert_eq!(first["state"], "running", "{first}");
    assert_eq!(first["recipes"], json!(["postgresql"]), "{first}");
    let since = first["since"].as_u64().expect("a start time");

    // The preview names the command and restarts nothing.
    let plan = d
        .start_job(
            "PLAN_REQUEST",
            &node_id,
            json!({"type": "postgresql", "action": "service",
                   "params": {"service": NAME, "operation": "restart"}}),
        )
        .await;
    let preview = d.wait_terminal(&plan).await;
    assert_eq!(preview["type"], "PLAN_RESULT", "{preview}");
    let steps = preview["payload"]["actions"].to_string();
    assert!(
        steps.contains("\"service\"") && steps.contains(NAME) && steps.contains("restart"),
        "the preview does not show `service {NAME} restart`: {preview}"
    );
    assert_eq!(
        service_status(&mut d, &node_id).await["since"],
        json!(since),
        "the preview restarted PostgreSQL"
    );

    // `since` is in seconds: a restart in the second PostgreSQL started would not show.
    while unix_now() <= since {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let mut run = json!({"type": "postgresql", "action": "service",
                         "params": {"service": NAME, "operation": "restart"}});
    run["planId"] = json!(plan);
    let job = d.start_job("RUN_ACTION", &node_id, run).await;
    let end = d.wait_terminal(&job).await;
    assert_eq!(end["type"], "DATABASE_CONFIGURED", "{end}");
    assert_eq!(end["payload"]["success"], true, "{end}");
    let restarted = service_status(&mut d, &node_id).await;
    assert_eq!(restarted["state"], "running", "{restarted}");
    let since_after = restarted["since"].as_u64().expect("a start time");
    assert!(
        since_after > since,
        "the restart did not change since: {since} then {since_after}"
    );

    // Stop: stopped, no start time. Start: running again.
    let end = control(&mut d, &node_id, "stop").await;
    assert_eq!(end["payload"]["success"], true, "{end}");
    let stopped = service_status(&mut d, &node_id).await;
    assert_eq!(stopped["state"], "stopped", "{stopped}");
    assert!(stopped["since"].is_null(), "{stopped}");
    assert!(
        !running_here(),
        "the agent says stopped; the init script disagrees"
    );

    let end = control(&mut d, &node_id, "start").await;
    assert_eq!(end["payload"]["success"], true, "{end}");
    let started = service_status(&mut d, &node_id).await;
    assert_eq!(started["state"], "running", "{started}");
    assert!(running_here());

    // Each run is audited with who, node, recipe, action and its parameters.
    let audit = c.cp.get_json(&c.cookie, "/api/audit").await;
    let runs = audit
        .as_array()
        .expect("the audit log")
        .iter()
        .filter(|e| {
            let t = e["target"].as_str().unwrap_or_default();
            e["what"] == "job.create action"
                && e["result"] == "ok"
                && e["who"] == "admin"
                && t.starts_with(&node_id)
                && t.contains("postgresql service")
                && t.contains("\"service\":\"postgresql\"")
        })
        .count();
    assert!(runs >= 3, "{audit}");
}
