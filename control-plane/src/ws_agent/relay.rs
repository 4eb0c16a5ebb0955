//! What an authenticated agent sends: job events stored idempotently by `(jobId, seq)` (one
//! transaction per frame), acknowledged with `LOG_ACK` and relayed to the dashboards watching
//! the node; statuses stored in batches and broadcast; errors shown.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cairn_protocol::dashboard::{AgentErrorEvent, DashboardEvent, DashboardEventBody, JobStatus};
use cairn_protocol::messages::{ErrorCode, ErrorMessage, FailureKind, LogAck, LogStream};
use cairn_protocol::{Message, unix_now};

use super::{Socket, error_message, send_signed};
use crate::app::App;
use crate::mask;
use crate::store::{self, JobEvent, StoreError};

/// How long a frame's events are retried while the database is busy (another program holding
/// its write lock) before the connection is given up; the agent then sends them again after it
/// reconnects. Below the agent's 60 s silence limit: the connection reads nothing meanwhile.
const STORE_RETRY_FOR: Duration = Duration::from_secs(30);

type EventBatch = Vec<(JobEvent, Option<(JobStatus, serde_json::Value)>)>;

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
fn terminal_status(event: &DashboardEventBody) -> Option<JobStatus> {
    let ended = |success| {
        Some(if success {
            JobStatus::Succeeded
        } else {
            JobStatus::Failed
        })
    };
    match event {
        DashboardEventBody::RuntimeInstalled(m) => ended(m.success),
        DashboardEventBody::DatabaseConfigured(m) => ended(m.success),
        DashboardEventBody::BackupConfigured(m) => ended(m.success),
        DashboardEventBody::PlanResult(_) => ended(true),
        // A person stopped it: the recipe did not fail, and the page says so.
        DashboardEventBody::JobFailed(m) if m.failed.kind == FailureKind::Cancelled => {
            Some(JobStatus::Cancelled)
        }
        DashboardEventBody::JobFailed(_) => ended(false),
        _ => None,
    }
}

/// The event's payload, as stored.
fn payload_of(event: &DashboardEventBody) -> serde_json::Value {
    serde_json::to_value(event)
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
    let mut batch = Vec::new();
    let mut forwards = Vec::new();
    let mut others = Vec::new();
    for msg in messages {
        let Some((job_id, seq)) = msg.job_event() else {
            others.push(msg);
            continue;
        };
        let (job_id, kind) = (job_id.to_owned(), msg.type_name());
        let Ok(mut body) = DashboardEventBody::try_from(msg) else {
            continue;
        };
        // The agent's failure has no code: the control plane names its sentence, if it knows
        // it, so that the page says it in its language (stored with it, for the job's page).
        match &mut body {
            DashboardEventBody::JobFailed(m) => m.said = crate::said::said(&m.failed.message),
            // The agent's and the engine's own lines; a command's output is never a sentence
            // of theirs (and is most of the lines: they are not looked at).
            DashboardEventBody::InfrastructureLog(m)
                if matches!(m.line.stream, LogStream::Info | LogStream::Warn) =>
            {
                m.said = crate::said::said(&m.line.message);
            }
            _ => {}
        }
        if crate::plans::is_plan(&job_id) {
            // A preview is not stored: acknowledged at once, shown to its asker only (and only
            // if it is this node's: another agent cannot answer for it).
            let ack = acks.entry(job_id.clone()).or_insert(0);
            *ack = (*ack).max(seq);
            if !app.plans.knows(&job_id, node_id) {
                continue;
            }
            let terminal = terminal_status(&body).is_some();
            match &body {
                DashboardEventBody::PlanResult(r) => {
                    app.plans.finished(&job_id, Some(r.summary.clone()));
                }
                DashboardEventBody::JobFailed(_) => app.plans.finished(&job_id, None),
                _ => {}
            }
            let event = DashboardEvent::new(node_id, Some(&job_id), body);
            app.hub.forward_plan_event(&event, terminal);
            continue;
        }
        // Stored masked; the requester alone sees the secret, once (`Hub::forward_job_event`).
        let stored = payload_of(mask::masked(&body).as_ref().unwrap_or(&body));
        let terminal = terminal_status(&body);
        batch.push((
            JobEvent {
                job_id: job_id.clone(),
                seq,
                kind: kind.to_owned(),
                payload: stored.clone(),
                received_at: unix_now(),
            },
            terminal.map(|t| (t, stored)),
        ));
        // A backup's configure that changed something: its first backup follows as a job of
        // its own, for the session that asked (read now: the hub forgets it with the end).
        let chain = match &body {
            DashboardEventBody::BackupConfigured(m)
                if m.success && m.first_backup_due == Some(true) =>
            {
                Some(app.hub.job_owner(&job_id))
            }
            _ => None,
        };
        let event = DashboardEvent::new(node_id, Some(&job_id), body);
        forwards.push((job_id, event, terminal.is_some(), chain));
    }
    if !batch.is_empty() {
        let results = store_events(app, node_id, batch).await?;
        for ((job_id, event, terminal, chain), stored) in forwards.into_iter().zip(results) {
            match stored {
                Ok(appended) => {
                    if appended.inserted {
                        app.hub.forward_job_event(&event, terminal);
                        // Once: an event sent again after a reconnection is not inserted.
                        if let Some(owner) = chain {
                            let (app, node, job) =
                                (Arc::clone(app), node_id.to_owned(), job_id.clone());
                            tokio::spawn(crate::ws_dashboard::first_backup::start(
                                app, node, job, owner,
                            ));
                        }
                    }
                    acks.insert(job_id, appended.contiguous);
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
            Message::ServerStatus(status) if status.system_only => {
                let obs = crate::alerts::Observation::from_status(&status, unix_now());
                app.alerts.observe(node_id, obs);
                // The machine's facts alone: shown, never stored as the node's status (whose
                // detections it would blank).
                let body = DashboardEventBody::ServerStatus(status);
                app.hub.broadcast(&DashboardEvent::new(node_id, None, body));
            }
            Message::ServerStatus(status) => {
                let obs = crate::alerts::Observation::from_status(&status, unix_now());
                app.alerts.observe(node_id, obs);
                // Serialized once for the store, in a batch with other nodes' statuses (a
                // fan-out brings 10,000 of these within seconds); shown and counted once stored,
                // written for the dashboards only if one watches the node.
                let text = serde_json::to_string(&status)?;
                let (app2, id) = (Arc::clone(app), node_id.to_owned());
                let request = status.request_id.clone();
                let after = Box::new(move || {
                    app2.hub.broadcast_with(&id, || {
                        DashboardEvent::new(&id, None, DashboardEventBody::ServerStatus(status))
                    });
                    if let Some(request) = &request {
                        app2.hub.status_answered(request);
                    }
                });
                app.node_writes.status(node_id, text, unix_now(), after);
            }
            Message::Metrics(m) => replies.extend(super::metrics::receive(app, node_id, m).await?),
            // Shown to the page that asked; never stored, never logged (it may hold secrets).
            Message::ServiceLog(log) => app.hub.forward_service_log(node_id, log),
            Message::Error(e) => {
                tracing::warn!(node_id = %node_id, code = ?e.code, message = %e.message, "the agent reported an error");
                let job_id = e.job_id.clone();
                let said = crate::said::said(&e.message);
                let body = DashboardEventBody::AgentError(AgentErrorEvent { error: e, said });
                app.hub
                    .broadcast(&DashboardEvent::new(node_id, job_id.as_deref(), body));
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
