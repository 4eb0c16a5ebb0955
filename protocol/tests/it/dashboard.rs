//! The dashboard's wire (`cairn_protocol::dashboard`) is the one docs/api.md describes: every
//! JSON example under "Dashboard WebSocket" reads into its type and writes back the same JSON,
//! and what the page leaves out reads as empty, for the control plane to name in its answer.

use cairn_protocol::dashboard::{
    DashboardCommand, DashboardEvent, DashboardEventBody, JobStatus, NodeStatus, RuntimeJobRequest,
};
use serde_json::{Value, json};

/// The JSON lines of the ```json blocks under the `### heading` of docs/api.md.
fn examples(heading: &str) -> Vec<String> {
    let doc = include_str!("../../../docs/api.md");
    let section = doc
        .split("\n### ")
        .find(|s| s.starts_with(heading))
        .unwrap_or_else(|| panic!("docs/api.md has no heading {heading}"));
    let section = section.split("\n## ").next().unwrap();
    let mut lines = Vec::new();
    let mut inside = false;
    for line in section.lines() {
        match line.trim() {
            "```json" => inside = true,
            "```" => inside = false,
            l if inside && !l.is_empty() => lines.push(l.to_owned()),
            _ => {}
        }
    }
    assert!(!lines.is_empty(), "no examples under {heading}");
    lines
}

fn same_json_after_a_round_trip<T>(line: &str)
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    let read: T = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    let written = serde_json::to_value(&read).unwrap();
    let original: Value = serde_json::from_str(line).unwrap();
    assert_eq!(written, original, "{line}");
}

#[test]
fn every_documented_dashboard_command_reads_and_writes_back_the_same_json() {
    let lines = examples("Dashboard → control plane");
    for line in &lines {
        same_json_after_a_round_trip::<DashboardCommand>(line);
    }
    for kind in [
        "SUBSCRIBE",
        "INSTALL_RUNTIME",
        "CONFIGURE_DATABASE",
        "CONFIGURE_BACKUP",
        "PLAN_REQUEST",
        "CANCEL_JOB",
    ] {
        let tag = format!("\"type\": \"{kind}\"");
        assert!(
            lines.iter().any(|l| l.contains(&tag)),
            "{kind} has no example"
        );
    }
}

#[test]
fn every_documented_dashboard_event_reads_and_writes_back_the_same_json() {
    for line in examples("Control plane → dashboard") {
        same_json_after_a_round_trip::<DashboardEvent>(&line);
    }
}

#[test]
fn an_event_is_written_as_type_node_job_and_payload() {
    let event = DashboardEvent::new(
        "node-1",
        None,
        DashboardEventBody::NodeStatus(NodeStatus { online: true }),
    );
    assert_eq!(
        serde_json::to_value(&event).unwrap(),
        json!({"type": "NODE_STATUS", "nodeId": "node-1", "payload": {"online": true}})
    );
    assert_eq!(
        serde_json::to_value(DashboardEvent::error("sign in again")).unwrap(),
        json!({"type": "ERROR", "nodeId": "", "payload": {"message": "sign in again"}})
    );
    assert_eq!(
        serde_json::to_value(JobStatus::Succeeded).unwrap(),
        json!("succeeded")
    );
}

#[test]
fn what_the_page_leaves_out_or_sends_as_null_reads_as_empty() {
    let read = |v: Value| serde_json::from_value::<DashboardCommand>(v).unwrap();
    assert_eq!(
        read(json!({"type": "INSTALL_RUNTIME", "payload": {"params": null}})),
        DashboardCommand::InstallRuntime {
            node_id: String::new(),
            payload: RuntimeJobRequest::default(),
        }
    );
    assert_eq!(
        read(json!({"type": "INSTALL_RUNTIME", "nodeId": "n", "payload": null})),
        read(json!({"type": "INSTALL_RUNTIME", "nodeId": "n"}))
    );
    // A payload where none is expected is ignored, as it always was.
    assert_eq!(
        read(json!({"type": "SUBSCRIBE", "nodeId": "n", "payload": {}})),
        DashboardCommand::Subscribe {
            node_id: "n".into()
        }
    );
    let unknown = serde_json::from_value::<DashboardCommand>(json!({"type": "REBOOT"}));
    assert!(unknown.unwrap_err().to_string().contains("REBOOT"));
}
