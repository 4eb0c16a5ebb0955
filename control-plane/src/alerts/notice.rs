//! What a notification says, in English (the page says the same alerts in its own language
//! from their rule, subject and value): a title, a text, and the webhook's JSON.

use serde_json::json;

use super::channels::Channel;
use super::db::AlertRow;
use super::deliver::Notice;
use super::rules::RuleId;

/// The condition, as a phrase: "disk / is 95 % full (over 90 %)".
fn what(rule: RuleId, subject: &str, value: f64, threshold: f64) -> String {
    match rule {
        RuleId::Offline => format!("its agent has been offline for {value:.0} s"),
        RuleId::Disk => {
            format!("disk {subject} is {value:.1} % full (alert over {threshold:.0} %)")
        }
        RuleId::Memory => format!("memory is {value:.1} % used (alert over {threshold:.0} %)"),
        RuleId::Load => format!("the load is {value:.2} (alert over {threshold} × cores)"),
        RuleId::Service => format!("the service {subject} is stopped"),
        RuleId::Backup => format!("the last run of the {subject} backup failed"),
        RuleId::Drill => format!(
            "the restore drill of the {subject} backup failed or is {value:.0} days old (limit {threshold:.0})"
        ),
    }
}

/// What is fine again: "disk / is back to 40.0 %".
fn fine(rule: RuleId, subject: &str, value: f64) -> String {
    match rule {
        RuleId::Offline => "its agent is connected again".to_owned(),
        RuleId::Disk => format!("disk {subject} is back to {value:.1} %"),
        RuleId::Memory => format!("memory is back to {value:.1} %"),
        RuleId::Load => format!("the load is back to {value:.2}"),
        RuleId::Service => format!("the service {subject} runs again"),
        RuleId::Backup => format!("the {subject} backup succeeded again"),
        RuleId::Drill => format!("the restore drill of the {subject} backup is fine again"),
    }
}

/// The notice of an alert that fired (`resolved`: `Some(value)` when it resolved).
pub fn of_alert(a: &AlertRow, node_name: &str, resolved: Option<f64>) -> Notice {
    let (event, title, text) = match resolved {
        None => {
            let w = what(a.rule, &a.subject, a.value, a.threshold);
            (
                "firing",
                format!("[Cairn] Firing on {node_name}: {w}"),
                format!("On {node_name}, {w}."),
            )
        }
        Some(v) => {
            let w = fine(a.rule, &a.subject, v);
            (
                "resolved",
                format!("[Cairn] Resolved on {node_name}: {w}"),
                format!("On {node_name}, {w}."),
            )
        }
    };
    Notice {
        body: json!({
            "event": event,
            "alertId": a.id,
            "rule": a.rule,
            "nodeId": a.node_id,
            "node": node_name,
            "subject": a.subject,
            "value": resolved.unwrap_or(a.value),
            "threshold": a.threshold,
            "firedAt": a.fired_at,
            "resolvedAt": a.resolved_at,
            "title": title,
            "text": text,
        }),
        title,
        text,
    }
}

/// The page's "Send test".
pub fn test(ch: &Channel) -> Notice {
    let title = "[Cairn] Test notification".to_owned();
    let text = format!(
        "This is a test from Cairn: the channel \"{}\" works.",
        ch.name
    );
    Notice {
        body: json!({"event": "test", "channel": ch.name, "title": title, "text": text}),
        title,
        text,
    }
}
