//! A dashboard's connection (`/ws/dashboard`): session cookie required, `Origin` must be this
//! control plane's own (threats.md 22). Both ways, messages are the dashboard wire of the protocol
//! crate (`cairn_protocol::dashboard`): [`DashboardCommand`]s in, [`DashboardEvent`]s out;
//! docs/api.md lists them.
//!
//! - This module: the upgrade, and the socket's life: its queue registered with the hub, its
//!   reader and writer side by side, its last words; and what commands share (the node must
//!   exist, or be online; a command queued for the agent, or the sentence saying why not).
//! - [`commands`]: commands in, each answered through the hub (an `ERROR` when it fails);
//!   [`access`]: the least role each command needs, checked for every command before it runs.
//! - [`jobs`]: the commands that become jobs: a `jobs` row and an audit entry, `JOB_CREATED` to
//!   the requester (subscribed to the node, so it sees the job's events), then the signed
//!   command with the signed bundle to the agent.
//! - [`first_backup`]: the job the control plane starts itself after a backup's configure that
//!   changed something: the recipe's first backup and its restore test.
//! - [`events`]: events out: what the hub queued for the page, written in batches.
//!
//! [`DashboardCommand`]: cairn_protocol::dashboard::DashboardCommand

mod access;
mod actions;
mod commands;
mod events;
pub(crate) mod first_backup;
mod jobs;

use std::sync::Arc;
use std::time::Duration;

use cairn_protocol::dashboard::DashboardEvent;
use futures_util::{SinkExt, StreamExt};
use warp::Reply;
use warp::http::{HeaderMap, StatusCode};
use warp::reply::Response;
use warp::ws::{Message as WsMessage, WebSocket, Ws};

use crate::app::App;
use crate::hub::Delivery;
use crate::web::{Session, json_error, origin_allowed};
use crate::{outbox, store};

/// Largest message a dashboard may send.
const MAX_DASHBOARD_MESSAGE: usize = 64 * 1024;
/// How long the last words (close frame, session-ended error) may take to go out.
const CLOSE_WITHIN: Duration = Duration::from_secs(2);

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

/// How a dashboard socket ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// The page closed it, or the network did.
    Gone,
    /// Its queue overflowed or its oldest message waited too long (threats.md 35).
    Behind,
    /// Its session was ended (logout, its user disabled, a password change or reset): told
    /// so, then closed.
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
        ended = events::write_loop(&mut sink, &mut rx, limits.dashboard_max_lag) => ended,
        ended = commands::read_loop(&mut stream, &app, conn, &session) => ended,
        ended = session_ended(&app, &session, conn) => ended,
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
        End::LoggedOut => {
            let why = "your session has ended; sign in again";
            serde_json::to_string(&DashboardEvent::error_said(
                why,
                Some(crate::said::said(why)),
            ))
        }
        .ok()
        .map(WsMessage::text),
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

/// Resolves once this socket's session has ended (its user disabled, their password changed or
/// reset, or signed out), told by [`App::sessions_changed`]: the socket closes at once, not at
/// its next command. When the user's role or groups changed instead, the socket stops watching
/// the nodes now out of their reach.
async fn session_ended(app: &App, session: &Session, conn: u64) -> End {
    let mut changes = app.session_changes.subscribe();
    loop {
        match changes.recv().await {
            Ok(user) if user != session.username => continue,
            // Ours, or missed among too many: look at the session itself.
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                let Some(now) = commands::live(app, session).await else {
                    return End::LoggedOut;
                };
                if now.access.role.scoped() {
                    let nodes = store::blocking(&app.store, |s| s.nodes()).await;
                    let reach: std::collections::HashSet<String> = nodes
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|n| now.access.sees(&n.tags))
                        .map(|n| n.id)
                        .collect();
                    app.hub
                        .unwatch_unless(conn, |node_id| reach.contains(node_id));
                }
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                std::future::pending::<()>().await;
            }
        }
    }
}

fn offline(node_id: &str) -> String {
    format!("node {node_id} is offline; wait for its agent to reconnect, then try again")
}

/// A command queued for the agent, or the sentence saying why not.
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
        .filter(|n| n.removed_at.is_none())
        .ok_or_else(|| format!("there is no node \"{node_id}\""))
}

/// The node, if it exists and its agent is connected.
async fn node_online(app: &App, node_id: &str) -> Result<store::Node, String> {
    let node = node_exists(app, node_id).await?;
    if !app.hub.is_online(node_id) {
        return Err(offline(node_id));
    }
    Ok(node)
}
