//! A dashboard's connection (`/ws/dashboard`): session cookie required, `Origin` must be this
//! control plane's own (THREATS 22). Messages both ways are `{type, nodeId, jobId?, payload}`;
//! docs/api.md lists them.
//!
//! A command that runs a recipe becomes a job: a `jobs` row and an audit entry, `JOB_CREATED`
//! to the requester, then the signed command (with the signed bundle) to the agent. The
//! requester is subscribed to the node, so it sees the job's events.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cairn_engine::Category;
use cairn_protocol::Message;
use cairn_protocol::messages::{
    CancelJob, ConfigureBackup, ConfigureDatabase, InstallRuntime, PlanRequest,
};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use warp::Reply;
use warp::http::{HeaderMap, StatusCode};
use warp::reply::Response;
use warp::ws::{Message as WsMessage, WebSocket, Ws};

use crate::App;
use crate::http::{Session, json_error};
use crate::hub::{Delivery, dashboard_message};
use crate::outbox;
use crate::store::{self, Job};

/// Largest message a dashboard may send.
const MAX_DASHBOARD_MESSAGE: usize = 64 * 1024;
const PING_EVERY: Duration = Duration::from_secs(30);
/// Messages written to the socket before one flush: fewer system calls while a job streams.
const BATCH_MESSAGES: usize = 64;
const BATCH_BYTES: usize = 256 * 1024;
/// How long the last words (close frame, session-ended error) may take to go out.
const CLOSE_WITHIN: Duration = Duration::from_secs(2);

/// Whether the request's `Origin` is this control plane's own (`http::origin`).
pub fn origin_allowed(app: &App, headers: &HeaderMap) -> bool {
    headers
        .get(warp::http::header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .is_some_and(|o| crate::http::origin::is_own_origin(app, headers, o))
}

/// Upgrades to a dashboard connection, or refuses a foreign `Origin`.
pub fn upgrade(ws: Ws, app: Arc<App>, session: Session, headers: &HeaderMap) -> Response {
    if !origin_allowed(&app, headers) {
        tracing::warn!(username = %session.username, "refused a dashboard WebSocket from a foreign origin");
        return json_error(
            StatusCode::FORBIDDEN,
            "this WebSocket was opened from another site; open the dashboard from the control plane's own address",
        );
    }
    ws.max_message_size(MAX_DASHBOARD_MESSAGE)
        .max_frame_size(MAX_DASHBOARD_MESSAGE)
        .on_upgrade(move |socket| serve(socket, app, session))
        .into_response()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Incoming {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    node_id: String,
    #[serde(default)]
    job_id: Option<String>,
    #[serde(default)]
    payload: Value,
}

/// How a dashboard socket ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// The page closed it, or the network did.
    Gone,
    /// Its queue overflowed or its oldest message waited too long (THREATS 35).
    Behind,
    /// Its session was ended (logout): told so, then closed.
    LoggedOut,
    Shutdown,
}

async fn serve(socket: WebSocket, app: Arc<App>, session: Session) {
    let (mut sink, mut stream) = socket.split();
    let conn = app.hub.next_conn();
    let limits = &app.config.limits;
    let (tx, mut rx) = outbox::channel(limits.dashboard_queue_bytes, outbox::MAX_MESSAGES);
    app.hub.register_dashboard(conn, &session.id_hash, tx);
    let mut shutdown = app.shutdown.clone();
    // Writing and reading run side by side: a page that stops reading stalls only its writer,
    // which the queue's bounds and the lag limit then close.
    let ended = tokio::select! {
        _ = shutdown.changed() => End::Shutdown,
        ended = write_loop(&mut sink, &mut rx, limits.dashboard_max_lag) => ended,
        ended = read_loop(&mut stream, &app, conn, &session) => ended,
    };
    app.hub.unregister_dashboard(conn);
    drop(rx);
    let last = match ended {
        End::Behind => {
            tracing::info!(username = %session.username, "closed a dashboard socket that fell too far behind");
            Some(WsMessage::close_with(
                outbox::BEHIND_CODE,
                outbox::BEHIND_REASON,
            ))
        }
        End::LoggedOut => Some(WsMessage::text(error_text(
            "",
            "your session has ended; sign in again",
        ))),
        End::Gone | End::Shutdown => None,
    };
    // A page that stopped reading will not take these either: bounded, then the socket goes.
    let _ = tokio::time::timeout(CLOSE_WITHIN, async {
        if let Some(last) = last {
            sink.send(last).await?;
        }
        sink.close().await
    })
    .await;
}

/// Sends what the hub queued, in batches, and a ping now and then. Ends when the queue
/// overflows, or when a batch is not out before its oldest message is `max_lag` old.
async fn write_loop(
    sink: &mut SplitSink<WebSocket, WsMessage>,
    rx: &mut outbox::Receiver,
    max_lag: Duration,
) -> End {
    let mut ping = tokio::time::interval(PING_EVERY);
    loop {
        let (messages, due) = tokio::select! {
            batch = rx.next_batch(BATCH_MESSAGES, BATCH_BYTES) => match batch {
                Ok(batch) => {
                    let due = batch.oldest + max_lag;
                    let messages: Vec<_> = batch.messages.into_iter().map(|m| WsMessage::text(outbox::take(m))).collect();
                    (messages, due)
                }
                Err(_) => return End::Behind,
            },
            _ = ping.tick() => (vec![WsMessage::ping(Vec::new())], tokio::time::Instant::now() + max_lag),
        };
        let send = tokio::time::timeout_at(due, async {
            for m in messages {
                sink.feed(m).await?;
            }
            sink.flush().await
        });
        // A socket that takes nothing blocks the write; the queue may overflow meanwhile.
        let sent = tokio::select! {
            sent = send => sent,
            _ = rx.overflowed() => return End::Behind,
        };
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return End::Gone,
            Err(_) => return End::Behind,
        }
    }
}

/// Reads the page's commands until it closes; replies go through the hub (the same queue).
async fn read_loop(
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
        // A session ended by logout closes its sockets at their next command.
        if session_of_hash(app, session).await.is_none() {
            return End::LoggedOut;
        }
        let reply = match serde_json::from_slice::<Incoming>(msg.as_bytes()) {
            Ok(m) => handle(app, conn, session, m).await,
            Err(e) => Err(format!("the message could not be read: {e}")),
        };
        if let Err(why) = reply {
            app.hub.send_to_dashboard(conn, error_text("", &why));
        }
    }
    End::Gone
}

async fn session_of_hash(app: &App, session: &Session) -> Option<String> {
    let hash = session.id_hash.clone();
    let now = cairn_protocol::unix_now();
    store::blocking(&app.store, move |s| s.session_user(&hash, now))
        .await
        .ok()
        .flatten()
}

fn error_text(node_id: &str, message: &str) -> String {
    dashboard_message("ERROR", node_id, None, json!({"message": message}))
}

async fn handle(app: &Arc<App>, conn: u64, session: &Session, m: Incoming) -> Result<(), String> {
    match m.kind.as_str() {
        "SUBSCRIBE" => {
            node_exists(app, &m.node_id).await?;
            app.hub.subscribe(conn, &m.node_id);
            let online = app.hub.is_online(&m.node_id);
            app.hub.send_to_dashboard(
                conn,
                dashboard_message("NODE_STATUS", &m.node_id, None, json!({"online": online})),
            );
            Ok(())
        }
        "GET_SERVER_STATUS" => {
            node_online(app, &m.node_id).await?;
            app.hub.subscribe(conn, &m.node_id);
            let request_id = cairn_protocol::new_id().map_err(|e| e.to_string())?;
            let msg = crate::ws_agent::status_request_same(app, Some(request_id));
            delivered(app.hub.send_to_agent(&m.node_id, vec![msg]), &m.node_id)
        }
        "INSTALL_RUNTIME" | "CONFIGURE_DATABASE" | "CONFIGURE_BACKUP" | "PLAN_REQUEST" => {
            create_job(app, conn, session, m).await
        }
        "CANCEL_JOB" => {
            let job_id = m
                .job_id
                .clone()
                .or_else(|| {
                    m.payload
                        .get("jobId")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .ok_or("CANCEL_JOB needs a jobId")?;
            let lookup = job_id.clone();
            let job = store::blocking(&app.store, move |s| s.job(&lookup))
                .await
                .map_err(|e| e.to_string())?
                .filter(|j| j.node_id == m.node_id)
                .ok_or_else(|| format!("there is no job {job_id} on node {}", m.node_id))?;
            delivered(
                app.hub.send_to_agent(
                    &job.node_id,
                    vec![Message::CancelJob(CancelJob {
                        job_id: job_id.clone(),
                    })],
                ),
                &job.node_id,
            )?;
            app.audit(&session.username, "job.cancel", &job_id, "sent")
                .await;
            Ok(())
        }
        other => Err(format!("unknown message type \"{other}\"")),
    }
}

fn offline(node_id: &str) -> String {
    format!("node {node_id} is offline; wait for its agent to reconnect, then try again")
}

fn delivered(delivery: Delivery, node_id: &str) -> Result<(), String> {
    match delivery {
        Delivery::Queued => Ok(()),
        Delivery::Offline => Err(offline(node_id)),
        Delivery::Busy => Err(format!(
            "node {node_id}'s agent is not taking commands as fast as they come; try again in a minute"
        )),
    }
}

async fn node_exists(app: &App, node_id: &str) -> Result<store::Node, String> {
    let lookup = node_id.to_owned();
    store::blocking(&app.store, move |s| s.node(&lookup))
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("there is no node \"{node_id}\""))
}

async fn node_online(app: &App, node_id: &str) -> Result<store::Node, String> {
    let node = node_exists(app, node_id).await?;
    if !app.hub.is_online(node_id) {
        return Err(offline(node_id));
    }
    Ok(node)
}

fn str_field(payload: &Value, name: &str) -> Result<String, String> {
    payload
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| format!("the payload needs a non-empty \"{name}\""))
}

fn params_field(payload: &Value) -> Result<Map<String, Value>, String> {
    match payload.get("params") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err("\"params\" must be an object".into()),
    }
}

async fn create_job(
    app: &Arc<App>,
    conn: u64,
    session: &Session,
    m: Incoming,
) -> Result<(), String> {
    let kind = m.kind.as_str();
    let recipe_id = if kind == "CONFIGURE_BACKUP" {
        str_field(&m.payload, "provider")?
    } else {
        str_field(&m.payload, "type")?
    };
    let published = {
        let reg = app.registry();
        match reg.get(&recipe_id) {
            Some(p) => p.clone(),
            None => {
                let why = reg
                    .catalogue
                    .iter()
                    .find(|e| e.id == recipe_id)
                    .and_then(|e| e.error.clone())
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default();
                return Err(format!("the recipe \"{recipe_id}\" is not published{why}"));
            }
        }
    };
    let category = published.recipe.meta.category;
    let wanted = match kind {
        "INSTALL_RUNTIME" => Some(Category::Runtime),
        "CONFIGURE_DATABASE" => Some(Category::Database),
        "CONFIGURE_BACKUP" => Some(Category::Backup),
        _ => None,
    };
    if let Some(w) = wanted
        && w != category
    {
        return Err(format!(
            "\"{recipe_id}\" is a {category:?} recipe; {kind} needs a {w:?} recipe"
        ));
    }
    node_online(app, &m.node_id).await?;
    let job_id = format!(
        "job-{}",
        cairn_protocol::new_id().map_err(|e| e.to_string())?
    );
    let bundle = published.bundle;
    let command = match kind {
        "INSTALL_RUNTIME" => Message::InstallRuntime(InstallRuntime {
            job_id: job_id.clone(),
            kind: recipe_id.clone(),
            version: m
                .payload
                .get("version")
                .and_then(Value::as_str)
                .map(str::to_owned),
            params: params_field(&m.payload)?,
            bundle,
        }),
        "CONFIGURE_DATABASE" => Message::ConfigureDatabase(ConfigureDatabase {
            job_id: job_id.clone(),
            kind: recipe_id.clone(),
            db_name: str_field(&m.payload, "dbName")?,
            user: str_field(&m.payload, "user")?,
            bundle,
        }),
        "CONFIGURE_BACKUP" => {
            let config: BTreeMap<String, String> = match m.payload.get("config") {
                None | Some(Value::Null) => BTreeMap::new(),
                Some(v) => serde_json::from_value(v.clone())
                    .map_err(|_| "\"config\" must be an object of strings".to_owned())?,
            };
            Message::ConfigureBackup(ConfigureBackup {
                job_id: job_id.clone(),
                provider: recipe_id.clone(),
                config,
                bundle,
            })
        }
        _ => Message::PlanRequest(PlanRequest {
            job_id: job_id.clone(),
            entry: m
                .payload
                .get("entry")
                .and_then(Value::as_str)
                .unwrap_or(category.entry_point())
                .to_owned(),
            params: params_field(&m.payload)?,
            bundle,
        }),
    };
    let job = Job {
        id: job_id.clone(),
        node_id: m.node_id.clone(),
        recipe: recipe_id.clone(),
        kind: kind.to_owned(),
        requested_by: session.username.clone(),
        status: "pending".to_owned(),
        created_at: cairn_protocol::unix_now(),
        finished_at: None,
        result: None,
    };
    store::blocking(&app.store, move |s| s.create_job(&job))
        .await
        .map_err(|e| e.to_string())?;
    app.audit(
        &session.username,
        &format!("job.create {kind}"),
        &format!("{} {job_id} {recipe_id}", m.node_id),
        "ok",
    )
    .await;
    app.hub.set_job_owner(&job_id, &session.id_hash);
    app.hub.subscribe(conn, &m.node_id);
    app.hub.send_to_dashboard(
        conn,
        dashboard_message(
            "JOB_CREATED",
            &m.node_id,
            Some(&job_id),
            json!({"jobId": job_id, "nodeId": m.node_id, "recipe": recipe_id}),
        ),
    );
    delivered(app.hub.send_to_agent(&m.node_id, vec![command]), &m.node_id)?;
    tracing::info!(node_id = %m.node_id, job_id = %job_id, recipe = %recipe_id, kind, "job sent");
    Ok(())
}
