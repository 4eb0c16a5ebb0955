//! What an authenticated agent sends: job events stored idempotently by `(jobId, seq)` (one
//! transaction per frame), acknowledged with `LOG_ACK` and relayed to the dashboards watching
//! the node; statuses stored in batches and broadcast; errors shown.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cairn_protocol::messages::{ErrorCode, ErrorMessage, LogAck};
use cairn_protocol::{Message, unix_now};

use super::{Socket, error_message, send_signed};
use crate::store::{self, JobEvent, StoreError};
use crate::{App, mask};

/// How long a frame's events are retried while the database is busy (another program holding
/// its write lock) before the connection is given up; the agent then sends them again after it
/// reconnects. Below the agent's 60 s silence limit: the connection reads nothing meanwhile.
const STORE_RETRY_FOR: Duration = Duration::from_secs(30);

type EventBatch = Vec<(JobEvent, Option<(String, serde_json::Value)>)>;

/// Stores a frame's job events, retrying while the database is busy. The agent is acknowledged
/// only after they are stored, so it keeps them meanwhile.
async fn store_events(
    app: &App,
    node_id: &str,
    batch: EventBatch,
) -> anyhow::Result<Vec<store::StoreResult<store::Appended>>> {
    let batch = Arc::new(batch);
    let start = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(100);
    loop {
        let (node, b) = (node_id.to_owned(), Arc::clone(&batch));
        match store::blocking(&app.store, move |s| s.append_events(&node, &b)).await {
            Ok(results) => return Ok(results),
            Err(e) if e.is_busy() && start.elapsed() < STORE_RETRY_FOR => {
                tracing::warn!(node_id = %node_id, error = %e, events = batch.len(),
                    "the database is busy; keeping the agent's events and trying again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The job status a terminal event sets, if it is one.
fn terminal_status(msg: &Message) -> Option<&'static str> {
    match msg {
        Message::RuntimeInstalled(m) => Some(if m.success { "succeeded" } else { "failed" }),
        Message::DatabaseConfigured(m) => Some(if m.success { "succeeded" } else { "failed" }),
        Message::BackupConfigured(m) => Some(if m.success { "succeeded" } else { "failed" }),
        Message::PlanResult(_) => Some("succeeded"),
        Message::JobFailed(_) => Some("failed"),
        _ => None,
    }
}

fn payload_of(msg: &Message) -> serde_json::Value {
    serde_json::to_value(msg)
        .ok()
        .and_then(|mut v| v.get_mut("payload").map(serde_json::Value::take))
        .unwrap_or(serde_json::Value::Null)
}

pub(super) async fn handle_frame(
    app: &Arc<App>,
    ws: &mut Socket,
    node_id: &str,
    session: &str,
    messages: Vec<Message>,
) -> anyhow::Result<()> {
    let mut acks: BTreeMap<String, u64> = BTreeMap::new();
    let mut replies = Vec::new();
    // Job events (log lines, steps, results) are stored together, in one transaction per
    // frame: the agent batches up to hundreds of lines per frame, and one disk sync per line
    // capped the pipeline at about 1,500 lines/s.
    let (events, others): (Vec<Message>, Vec<Message>) =
        messages.into_iter().partition(|m| m.job_event().is_some());
    if !events.is_empty() {
        let mut batch = Vec::with_capacity(events.len());
        let mut forwards = Vec::with_capacity(events.len());
        for msg in &events {
            let Some((job_id, seq)) = msg.job_event() else {
                continue;
            };
            let kind = msg.type_name();
            let payload = payload_of(msg);
            let masked = mask::mask_payload(kind, &payload);
            let terminal = terminal_status(msg);
            batch.push((
                JobEvent {
                    job_id: job_id.to_owned(),
                    seq,
                    kind: kind.to_owned(),
                    payload: masked.clone(),
                    received_at: unix_now(),
                },
                terminal.map(|t| (t.to_owned(), masked)),
            ));
            forwards.push((job_id.to_owned(), kind, payload, terminal.is_some()));
        }
        let results = store_events(app, node_id, batch).await?;
        for ((job_id, kind, payload, terminal), stored) in forwards.into_iter().zip(results) {
            match stored {
                Ok(appended) => {
                    acks.insert(job_id.clone(), appended.contiguous);
                    if appended.inserted {
                        app.hub
                            .forward_job_event(node_id, &job_id, kind, &payload, terminal);
                    }
                }
                Err(StoreError::Refused(why)) => {
                    replies.push(Message::Error(ErrorMessage {
                        code: ErrorCode::UnknownJob,
                        message: why,
                        frame_id: None,
                        job_id: Some(job_id),
                    }));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    for msg in others {
        match msg {
            Message::ServerStatus(status) => {
                // Serialized once, straight to the text that is stored and shown (a fan-out
                // brings 10,000 of these within seconds).
                let text = serde_json::to_string(&status)?;
                // Stored in a batch with other nodes' statuses; shown and counted once stored.
                let (app2, id, shown) = (Arc::clone(app), node_id.to_owned(), text.clone());
                let request = status.request_id;
                let after = Box::new(move || {
                    app2.hub.broadcast_with(&id, || {
                        crate::hub::dashboard_message_raw("SERVER_STATUS", &id, &shown)
                    });
                    if let Some(request) = &request {
                        app2.hub.status_answered(request);
                    }
                });
                app.node_writes.status(node_id, text, unix_now(), after);
            }
            Message::Error(e) => {
                tracing::warn!(node_id = %node_id, code = ?e.code, message = %e.message, "the agent reported an error");
                let value = serde_json::to_value(&e)?;
                app.hub.broadcast(
                    node_id,
                    &crate::hub::dashboard_message(
                        "AGENT_ERROR",
                        node_id,
                        e.job_id.as_deref(),
                        value,
                    ),
                );
            }
            other => replies.push(error_message(
                ErrorCode::BadFrame,
                format!("{} is not expected after authentication", other.type_name()),
            )),
        }
    }
    replies.extend(
        acks.into_iter()
            .map(|(job_id, seq)| Message::LogAck(LogAck { job_id, seq })),
    );
    if !replies.is_empty() {
        send_signed(app, ws, node_id, Some(session), &replies).await?;
    }
    Ok(())
}
