//! An authenticated connection: the first status request, then frames from the hub (status
//! requests, jobs) signed and sent, frames from the agent verified and handed to [`super::relay`],
//! pings, and the idle limit.

use std::sync::Arc;

use anyhow::bail;
use cairn_protocol::messages::ErrorCode;
use cairn_protocol::{FrameVerifier, Message, ProtocolError, PublicKey, unix_now};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::{
    IDLE_TIMEOUT, MAX_BAD_FRAMES, PING_EVERY, SEND_TIMEOUT, Socket, error_message, send_signed,
    stalled,
};
use crate::app::{App, CONTROL_PLANE_ID};
use crate::detectors::{first_request, turn_for_bundles, with_current_detectors};
use crate::hub::AGENT_QUEUE;

pub(super) async fn connected(
    app: &Arc<App>,
    ws: &mut Socket,
    node_id: &str,
    key: PublicKey,
    session: &str,
    detectors_held: Option<String>,
) -> anyhow::Result<()> {
    let mut verifier = FrameVerifier::for_control_plane(key, node_id, CONTROL_PLANE_ID);
    verifier.set_session(Some(session.to_owned()));
    let conn = app.hub.next_conn();
    let (tx, mut rx) = mpsc::channel::<Arc<[Message]>>(AGENT_QUEUE);
    if !app.hub.register_agent(node_id, conn, tx) {
        let why = super::handshake::removed_sentence(node_id, None);
        let refusal = error_message(ErrorCode::NodeRemoved, why.clone());
        let _ = send_signed(app, ws, node_id, Some(session), &[refusal]).await;
        bail!("{why}");
    }
    tracing::info!(node_id = %node_id, "agent connected");
    app.alerts.observe(
        node_id,
        crate::alerts::Observation::online(unix_now(), true),
    );
    let result = connected_loop(
        app,
        ws,
        node_id,
        session,
        &mut verifier,
        &mut rx,
        detectors_held,
    )
    .await;
    app.hub.unregister_agent(node_id, conn);
    // A newer connection of the node may have taken over: only then is it still online.
    // A removed node's alerts were closed with it.
    if !app.hub.is_online(node_id) && !app.hub.was_removed(node_id) {
        app.alerts.observe(
            node_id,
            crate::alerts::Observation::online(unix_now(), false),
        );
    }
    app.node_writes.seen(node_id, unix_now());
    tracing::info!(node_id = %node_id, "agent disconnected");
    result
}

async fn connected_loop(
    app: &Arc<App>,
    ws: &mut Socket,
    node_id: &str,
    session: &str,
    verifier: &mut FrameVerifier,
    rx: &mut mpsc::Receiver<Arc<[Message]>>,
    mut detectors_held: Option<String>,
) -> anyhow::Result<()> {
    app.node_writes.seen(node_id, unix_now());
    // The detector bundles the agent holds: what it named in HELLO, then what it was sent.
    {
        // Dropped once sent: with the bundles it is hundreds of kB, and held for the
        // connection's life it cost that much per connected agent (BENCHMARKS.md, issue 19).
        let _turn = turn_for_bundles(app, detectors_held.as_deref(), None).await;
        let first = first_request(app, &mut detectors_held);
        send_signed(app, ws, node_id, Some(session), &[first]).await?;
    }
    let mut shutdown = app.shutdown.clone();
    let mut ping = tokio::time::interval(PING_EVERY);
    let mut last_heard = tokio::time::Instant::now();
    let mut bad_frames = 0u32;
    loop {
        tokio::select! {
            _ = shutdown.changed() => return Ok(()),
            cmd = rx.recv() => match cmd {
                Some(messages) => {
                    let _turn = turn_for_bundles(app, detectors_held.as_deref(), Some(&messages)).await;
                    match with_current_detectors(app, &messages, &mut detectors_held) {
                        Some(full) => send_signed(app, ws, node_id, Some(session), &full).await?,
                        None => send_signed(app, ws, node_id, Some(session), &messages).await?,
                    }
                }
                None if app.hub.was_removed(node_id) => bail!("node {node_id} was removed from Cairn; its connection is closed"),
                None => bail!("a newer connection of this node replaced this one"),
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > IDLE_TIMEOUT {
                    bail!("the agent was silent for {} s", IDLE_TIMEOUT.as_secs());
                }
                tokio::time::timeout(SEND_TIMEOUT, ws.send(WsMessage::Ping(bytes::Bytes::new())))
                    .await
                    .map_err(|_| stalled())??;
            }
            msg = ws.next() => {
                last_heard = tokio::time::Instant::now();
                let msg = match msg {
                    None => return Ok(()),
                    Some(Err(e)) => bail!("the connection failed: {e}"),
                    Some(Ok(m)) => m,
                };
                let text = match msg {
                    WsMessage::Close(_) => return Ok(()),
                    WsMessage::Text(t) => t,
                    _ => continue,
                };
                match verifier.verify(text.as_bytes(), unix_now()) {
                    Ok(frame) => super::relay::handle_frame(app, ws, node_id, session, frame.messages).await?,
                    Err(e) => {
                        bad_frames += 1;
                        tracing::warn!(node_id = %node_id, error = %e, "refused a frame from the agent");
                        let code = match e {
                            ProtocolError::TooLarge { .. }
                            | ProtocolError::Json { .. }
                            | ProtocolError::DuplicateKey { .. }
                            | ProtocolError::TooDeep { .. }
                            | ProtocolError::Malformed { .. } => ErrorCode::BadFrame,
                            _ => ErrorCode::Unauthenticated,
                        };
                        send_signed(app, ws, node_id, Some(session), &[error_message(code, e.to_string())]).await?;
                        if bad_frames >= MAX_BAD_FRAMES {
                            bail!("too many refused frames");
                        }
                    }
                }
            }
        }
    }
}
