//! Commands in: each message the page sends is read as a [`DashboardCommand`] and carried out;
//! a command that fails is answered with an `ERROR` saying why, through the hub (the same
//! queue as everything else the page gets).

use std::sync::Arc;

use cairn_protocol::Message;
use cairn_protocol::dashboard::{DashboardCommand, DashboardEvent, DashboardEventBody, NodeStatus};
use cairn_protocol::messages::{CancelJob, GetServiceLog};
use futures_util::StreamExt;
use futures_util::stream::SplitStream;
use warp::ws::WebSocket;

use super::access;
use super::jobs::{self, JobRequest};
use super::{End, delivered, node_exists, node_online};
use crate::app::App;
use crate::web::Session;
use crate::{detectors, store};

/// Reads the page's commands until it closes.
pub(super) async fn read_loop(
    stream: &mut SplitStream<WebSocket>,
    app: &Arc<App>,
    conn: u64,
    session: &Session,
) -> End {
    while let Some(Ok(msg)) = stream.next().await {
        if msg.is_close() {
            break;
        }
        if !msg.is_text() {
            continue;
        }
        // A session ended (logout, its user disabled or their password changed) closes its
        // sockets at their next command; a changed role applies from the next command on.
        let Some(session) = live(app, session).await else {
            return End::LoggedOut;
        };
        let reply = match serde_json::from_slice::<DashboardCommand>(msg.as_bytes()) {
            Ok(command) => match access::check(app, &session, &command).await {
                Ok(()) => handle(app, conn, &session, command).await,
                Err(refused) => Err(refused),
            },
            Err(e) => Err(format!("the message could not be read: {e}")),
        };
        if let Err(why) = reply {
            let said = crate::said::said(&why);
            app.hub
                .send_to_dashboard(conn, &DashboardEvent::error_said(why, Some(said)));
        }
    }
    End::Gone
}

/// The session as it is now (its user's current role and groups), if it is still live: not
/// logged out, its user not disabled, no password change since it was made.
pub(super) async fn live(app: &App, session: &Session) -> Option<Session> {
    let hash = session.id_hash.clone();
    let now = cairn_protocol::unix_now();
    let user = store::blocking(&app.store, move |s| s.session_user(&hash, now))
        .await
        .ok()
        .flatten()?;
    Some(Session {
        username: user.username,
        access: user.access,
        id_hash: session.id_hash.clone(),
        token: None,
    })
}

async fn handle(
    app: &Arc<App>,
    conn: u64,
    session: &Session,
    command: DashboardCommand,
) -> Result<(), String> {
    let job = |node_id: String, request| async move {
        jobs::create(app, conn, session, &node_id, request).await
    };
    match command {
        DashboardCommand::Subscribe { node_id } => subscribe(app, conn, &node_id).await,
        DashboardCommand::GetServerStatus {
            node_id,
            system_only,
        } => status(app, conn, &node_id, system_only).await,
        DashboardCommand::GetServiceLog { node_id, service } => {
            service_log(app, conn, &node_id, &service).await
        }
        DashboardCommand::CancelJob {
            node_id,
            job_id,
            payload,
        } => {
            let job_id = job_id
                .or_else(|| payload.and_then(|p| p.job_id))
                .ok_or("CANCEL_JOB needs a jobId")?;
            cancel(app, session, &node_id, job_id).await
        }
        DashboardCommand::InstallRuntime { node_id, payload } => {
            job(node_id, JobRequest::Runtime(payload)).await
        }
        DashboardCommand::ConfigureDatabase { node_id, payload } => {
            job(node_id, JobRequest::Database(payload)).await
        }
        DashboardCommand::ConfigureBackup { node_id, payload } => {
            job(node_id, JobRequest::Backup(payload)).await
        }
        DashboardCommand::RunAction { node_id, payload } => {
            job(node_id, JobRequest::Action(payload)).await
        }
        DashboardCommand::PlanRequest { node_id, payload } => {
            job(node_id, JobRequest::Plan(payload)).await
        }
    }
}

/// `SUBSCRIBE`: the page receives every event of the node, starting with whether it is online.
async fn subscribe(app: &App, conn: u64, node_id: &str) -> Result<(), String> {
    node_exists(app, node_id).await?;
    app.hub.subscribe(conn, node_id);
    let online = app.hub.is_online(node_id);
    let body = DashboardEventBody::NodeStatus(NodeStatus { online });
    app.hub
        .send_to_dashboard(conn, &DashboardEvent::new(node_id, None, body));
    Ok(())
}

/// `GET_SERVER_STATUS`: the agent is asked; its answer reaches the page as `SERVER_STATUS`.
/// `system_only`: the machine's facts alone, which an open page asks for every half minute.
async fn status(app: &App, conn: u64, node_id: &str, system_only: bool) -> Result<(), String> {
    node_online(app, node_id).await?;
    app.hub.subscribe(conn, node_id);
    let request_id = cairn_protocol::new_id().map_err(|e| e.to_string())?;
    let msg = if system_only {
        detectors::system_request(Some(request_id))
    } else {
        detectors::status_request_same(app, Some(request_id))
    };
    delivered(app.hub.send_to_agent(node_id, vec![msg]), node_id)
}

/// `GET_SERVICE_LOG`: the agent is asked; its answer reaches this page only, as `SERVICE_LOG`.
async fn service_log(app: &App, conn: u64, node_id: &str, service: &str) -> Result<(), String> {
    if !cairn_engine::host::caps::is_service_name(service) {
        return Err(format!(
            "`{service}` is not a service name: use letters, digits, `@`, `.`, `_` and `-`"
        ));
    }
    node_online(app, node_id).await?;
    let request_id = cairn_protocol::new_id().map_err(|e| e.to_string())?;
    app.hub.set_log_asker(&request_id, conn, node_id);
    let msg = Message::GetServiceLog(GetServiceLog {
        request_id,
        service: service.to_owned(),
    });
    delivered(app.hub.send_to_agent(node_id, vec![msg]), node_id)
}

/// `CANCEL_JOB`: sent to the agent of the job's node, and audited.
async fn cancel(app: &App, session: &Session, node_id: &str, job_id: String) -> Result<(), String> {
    if crate::plans::is_plan(&job_id) {
        // A preview changes nothing: stopping it is not audited.
        if !app.plans.knows(&job_id, node_id) {
            return Err(format!("there is no preview {job_id} on node {node_id}"));
        }
        let cancel = Message::CancelJob(CancelJob { job_id });
        return delivered(app.hub.send_to_agent(node_id, vec![cancel]), node_id);
    }
    let lookup = job_id.clone();
    let job = store::blocking(&app.store, move |s| s.job(&lookup))
        .await
        .map_err(|e| e.to_string())?
        .filter(|j| j.node_id == node_id)
        .ok_or_else(|| format!("there is no job {job_id} on node {node_id}"))?;
    let cancel = Message::CancelJob(CancelJob {
        job_id: job_id.clone(),
    });
    delivered(
        app.hub.send_to_agent(&job.node_id, vec![cancel]),
        &job.node_id,
    )?;
    app.audit(&session.who(), "job.cancel", &job_id, "sent")
        .await;
    Ok(())
}
