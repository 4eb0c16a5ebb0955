//! An agent's connection (`/ws/agent`), as docs/protocol.md "Connection" describes it.
//!
//! 1. `HELLO` (bare). Without `keyId`: enrollment — `AUTH_CHALLENGE {purpose: enroll}`,
//!    `ENROLL_REQUEST`, then the token is consumed and the key recorded in one store
//!    transaction, `ENROLL_RESPONSE`, close. With `keyId`: authentication —
//!    `AUTH_CHALLENGE {purpose: auth}`, `AUTH_RESPONSE` checked against the enrolled key with a
//!    single-use nonce, `AUTH_OK {sessionId}`.
//! 2. After `AUTH_OK` every frame in both directions is signed and names the session. The
//!    control plane sends `GET_SERVER_STATUS` with the published recipes' bundles, stores job
//!    events idempotently by `(jobId, seq)`, acknowledges them with `LOG_ACK`, and relays them
//!    to the dashboards watching the node.
//!
//! Frames sent before the session (`AUTH_CHALLENGE`, `AUTH_OK`, `ENROLL_RESPONSE`, errors) are
//! signed without a session: the agent's verifier learns the session from `AUTH_OK`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use cairn_protocol::messages::{
    AuthChallenge, AuthOk, ChallengePurpose, EnrollResponse, ErrorCode, ErrorMessage,
    GetServerStatus, Hello, LogAck,
};
use cairn_protocol::{
    FrameVerifier, Message, ProtocolError, PublicKey, parse_bare_message, unix_now,
    verify_auth_response, verify_enroll_proof,
};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::agent_socket::send_text;
pub use crate::agent_socket::{Socket, upgrade};

use crate::store::{self, Enrollment, JobEvent, StoreError};
use crate::{App, CONTROL_PLANE_ID, mask};

/// How long a peer may stay silent before the connection is dropped.
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
const PING_EVERY: Duration = Duration::from_secs(30);
/// How long the handshake may take, per step.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// Refused frames tolerated on one connection before it is closed.
const MAX_BAD_FRAMES: u32 = 16;

fn error_message(code: ErrorCode, message: impl Into<String>) -> Message {
    Message::Error(ErrorMessage {
        code,
        message: message.into(),
        frame_id: None,
        job_id: None,
    })
}

async fn send_signed(
    app: &App,
    ws: &mut Socket,
    node_id: &str,
    session: Option<&str>,
    messages: &[Message],
) -> anyhow::Result<()> {
    let text = app
        .signer
        .sign_slice(node_id, session, messages, unix_now())
        .context("could not sign a frame")?;
    send_text(ws, text)
        .await
        .context("could not send to the agent")
}

/// The next text message, skipping pings; `None` when the peer closed.
async fn next_text(ws: &mut Socket, timeout: Duration) -> anyhow::Result<Option<Vec<u8>>> {
    loop {
        let next = tokio::time::timeout(timeout, ws.next())
            .await
            .map_err(|_| anyhow!("the agent was silent for {} s", timeout.as_secs()))?;
        match next {
            None => return Ok(None),
            Some(Err(e)) => return Err(anyhow!("the connection failed: {e}")),
            Some(Ok(WsMessage::Close(_))) => return Ok(None),
            Some(Ok(WsMessage::Text(t))) => return Ok(Some(t.as_bytes().to_vec())),
            Some(Ok(WsMessage::Binary(_))) => bail!("binary messages are not part of the protocol"),
            Some(Ok(_)) => continue,
        }
    }
}

pub(crate) async fn serve(app: &Arc<App>, ws: &mut Socket) -> anyhow::Result<()> {
    let Some(first) = next_text(ws, HANDSHAKE_TIMEOUT).await? else {
        return Ok(());
    };
    let hello = match parse_bare_message(&first) {
        Ok(Message::Hello(h)) => h,
        Ok(other) => bail!("expected HELLO first, got {}", other.type_name()),
        Err(e) => bail!("unreadable first message: {e}"),
    };
    if hello.protocol_version != cairn_protocol::PROTOCOL_VERSION {
        send_signed(
            app,
            ws,
            &hello.node_id,
            None,
            &[error_message(
                ErrorCode::BadFrame,
                format!(
                    "this control plane speaks protocol version {}; upgrade the agent",
                    cairn_protocol::PROTOCOL_VERSION
                ),
            )],
        )
        .await?;
        bail!("protocol version {} refused", hello.protocol_version);
    }
    match hello.key_id.clone() {
        None => enroll(app, ws, &hello).await,
        Some(key_id) => {
            let (key, session) = authenticate(app, ws, &hello, &key_id).await?;
            connected(app, ws, &hello.node_id, key, &session).await
        }
    }
}

async fn challenge(
    app: &App,
    ws: &mut Socket,
    node_id: &str,
    purpose: ChallengePurpose,
) -> anyhow::Result<String> {
    let now = unix_now();
    let nonce = app.nonces.issue(node_id, purpose, now)?;
    let msg = Message::AuthChallenge(AuthChallenge {
        nonce: nonce.clone(),
        purpose,
        control_plane_key_id: app.signer.key().key_id().to_string(),
        server_time: now,
    });
    send_signed(app, ws, node_id, None, &[msg]).await?;
    Ok(nonce)
}

async fn refuse(
    app: &App,
    ws: &mut Socket,
    node_id: &str,
    code: ErrorCode,
    why: &str,
) -> anyhow::Error {
    let _ = send_signed(app, ws, node_id, None, &[error_message(code, why)]).await;
    anyhow!("{why}")
}

/// The enrollment token's secret: the agent may send it as the user saw it (`NODEID.SECRET`) or
/// the secret alone.
fn token_secret<'a>(token: &'a str, node_id: &str) -> Option<&'a str> {
    match token.split_once('.') {
        Some((node, secret)) if node == node_id => Some(secret),
        Some(_) => None,
        None => Some(token),
    }
}

async fn enroll(app: &App, ws: &mut Socket, hello: &Hello) -> anyhow::Result<()> {
    let node_id = hello.node_id.clone();
    challenge(app, ws, &node_id, ChallengePurpose::Enroll).await?;
    let Some(bytes) = next_text(ws, HANDSHAKE_TIMEOUT).await? else {
        return Ok(());
    };
    let req = match parse_bare_message(&bytes) {
        Ok(Message::EnrollRequest(r)) => r,
        Ok(other) => {
            return Err(refuse(
                app,
                ws,
                &node_id,
                ErrorCode::BadFrame,
                &format!("expected ENROLL_REQUEST, got {}", other.type_name()),
            )
            .await);
        }
        Err(e) => {
            return Err(refuse(app, ws, &node_id, ErrorCode::BadFrame, &e.to_string()).await);
        }
    };
    let refused = |why: String| {
        let node_id = node_id.clone();
        async move {
            app.audit(
                &format!("agent:{node_id}"),
                "node.enroll",
                &node_id,
                &format!("refused: {why}"),
            )
            .await;
            why
        }
    };
    if req.node_id != node_id {
        let why = refused("the enrollment request names another node than HELLO".into()).await;
        return Err(refuse(app, ws, &node_id, ErrorCode::EnrollmentRefused, &why).await);
    }
    let key = match app
        .nonces
        .consume(&req.nonce, &node_id, ChallengePurpose::Enroll, unix_now())
        .and_then(|()| verify_enroll_proof(&req))
    {
        Ok(k) => k,
        Err(e) => {
            let why = refused(e.to_string()).await;
            return Err(refuse(app, ws, &node_id, ErrorCode::EnrollmentRefused, &why).await);
        }
    };
    let Some(secret) = token_secret(&req.token, &node_id) else {
        let why = refused("this enrollment token was issued for another node".into()).await;
        return Err(refuse(app, ws, &node_id, ErrorCode::EnrollmentRefused, &why).await);
    };
    let enrollment = Enrollment {
        token_hash: cairn_protocol::hash_token(secret),
        node_id: node_id.clone(),
        public_key: key.to_hex(),
        key_id: key.key_id().to_string(),
        hostname: req.hostname.chars().take(253).collect(),
        now: unix_now(),
    };
    match store::blocking(&app.store, move |s| s.enroll(&enrollment)).await {
        Ok(node) => {
            app.audit(
                &format!("agent:{node_id}"),
                "node.enroll",
                &node_id,
                &format!("ok: key {}", node.key_id),
            )
            .await;
            tracing::info!(node_id = %node_id, key_id = %node.key_id, "node enrolled");
            let msg = Message::EnrollResponse(EnrollResponse {
                node_id: node_id.clone(),
                key_id: node.key_id,
                control_plane_key_id: app.signer.key().key_id().to_string(),
            });
            send_signed(app, ws, &node_id, None, &[msg]).await
        }
        Err(StoreError::Refused(why)) => {
            let why = refused(why).await;
            Err(refuse(app, ws, &node_id, ErrorCode::EnrollmentRefused, &why).await)
        }
        Err(e) => Err(refuse(
            app,
            ws,
            &node_id,
            ErrorCode::Internal,
            &format!("enrollment failed on the control plane: {e}"),
        )
        .await),
    }
}

async fn authenticate(
    app: &App,
    ws: &mut Socket,
    hello: &Hello,
    key_id: &str,
) -> anyhow::Result<(PublicKey, String)> {
    let node_id = hello.node_id.clone();
    let lookup = node_id.clone();
    let node = store::blocking(&app.store, move |s| s.node(&lookup)).await?;
    let Some(node) = node else {
        return Err(refuse(
            app,
            ws,
            &node_id,
            ErrorCode::Unauthenticated,
            &format!("node {node_id} is not enrolled; enroll it with a token from the dashboard"),
        )
        .await);
    };
    if node.key_id != key_id {
        let why = format!(
            "node {node_id} is enrolled with key {}; refusing key {key_id}",
            node.key_id
        );
        app.audit(
            &format!("agent:{node_id}"),
            "node.auth",
            &node_id,
            &format!("refused: {why}"),
        )
        .await;
        return Err(refuse(app, ws, &node_id, ErrorCode::Unauthenticated, &why).await);
    }
    let key = PublicKey::from_hex(&node.public_key)?;
    challenge(app, ws, &node_id, ChallengePurpose::Auth).await?;
    let Some(bytes) = next_text(ws, HANDSHAKE_TIMEOUT).await? else {
        bail!("the agent left during authentication");
    };
    let resp = match parse_bare_message(&bytes) {
        Ok(Message::AuthResponse(r)) => r,
        Ok(other) => {
            return Err(refuse(
                app,
                ws,
                &node_id,
                ErrorCode::BadFrame,
                &format!("expected AUTH_RESPONSE, got {}", other.type_name()),
            )
            .await);
        }
        Err(e) => {
            return Err(refuse(app, ws, &node_id, ErrorCode::BadFrame, &e.to_string()).await);
        }
    };
    let checked: Result<(), ProtocolError> = if resp.node_id != node_id {
        Err(ProtocolError::Nonce("issued for another node or purpose"))
    } else {
        app.nonces
            .consume(&resp.nonce, &node_id, ChallengePurpose::Auth, unix_now())
            .and_then(|()| verify_auth_response(&resp, &key))
    };
    if let Err(e) = checked {
        let why = e.to_string();
        app.audit(
            &format!("agent:{node_id}"),
            "node.auth",
            &node_id,
            &format!("refused: {why}"),
        )
        .await;
        return Err(refuse(app, ws, &node_id, ErrorCode::Unauthenticated, &why).await);
    }
    let session = cairn_protocol::new_id()?;
    let ok = Message::AuthOk(AuthOk {
        session_id: session.clone(),
        nonce: resp.nonce,
        server_time: unix_now(),
    });
    send_signed(app, ws, &node_id, None, &[ok]).await?;
    Ok((key, session))
}

/// `GET_SERVER_STATUS` with the published recipes' bundles, and the registry load they come
/// from.
pub fn status_request(app: &App, request_id: Option<String>) -> (Message, u64) {
    let registry = app.registry();
    let msg = Message::GetServerStatus(GetServerStatus {
        request_id,
        detectors: registry.bundles(),
        same_detectors: false,
    });
    (msg, registry.generation)
}

/// `GET_SERVER_STATUS` asking the agent to run the detectors this connection already sent it
/// (tens of kB less per request; 10,000 agents made a fan-out of full requests hundreds of MB
/// to sign and send). The connection replaces it by a full request when the recipes were
/// reloaded since.
pub fn status_request_same(request_id: Option<String>) -> Message {
    Message::GetServerStatus(GetServerStatus {
        request_id,
        detectors: Vec::new(),
        same_detectors: true,
    })
}

/// `messages`, with a `sameDetectors` status request made full if this connection's agent has
/// not got the current registry's bundles (`sent` is the registry load it got).
fn with_current_detectors(app: &App, messages: &[Message], sent: &mut u64) -> Option<Vec<Message>> {
    let stale = messages.iter().any(
        |m| matches!(m, Message::GetServerStatus(r) if r.same_detectors && r.detectors.is_empty()),
    ) && app.registry().generation != *sent;
    if !stale {
        return None;
    }
    Some(
        messages
            .iter()
            .map(|m| match m {
                Message::GetServerStatus(r) if r.same_detectors && r.detectors.is_empty() => {
                    let (full, generation) = status_request(app, r.request_id.clone());
                    *sent = generation;
                    full
                }
                other => other.clone(),
            })
            .collect(),
    )
}

async fn connected(
    app: &Arc<App>,
    ws: &mut Socket,
    node_id: &str,
    key: PublicKey,
    session: &str,
) -> anyhow::Result<()> {
    let mut verifier = FrameVerifier::for_control_plane(key, node_id, CONTROL_PLANE_ID);
    verifier.set_session(Some(session.to_owned()));
    let conn = app.hub.next_conn();
    let (tx, mut rx) = mpsc::unbounded_channel::<Arc<[Message]>>();
    app.hub.register_agent(node_id, conn, tx);
    tracing::info!(node_id = %node_id, "agent connected");
    let result = connected_loop(app, ws, node_id, session, &mut verifier, &mut rx).await;
    app.hub.unregister_agent(node_id, conn);
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
    rx: &mut mpsc::UnboundedReceiver<Arc<[Message]>>,
) -> anyhow::Result<()> {
    app.node_writes.seen(node_id, unix_now());
    let (first, mut detectors_sent) = status_request(app, None);
    send_signed(app, ws, node_id, Some(session), &[first]).await?;
    let mut shutdown = app.shutdown.clone();
    let mut ping = tokio::time::interval(PING_EVERY);
    let mut last_heard = tokio::time::Instant::now();
    let mut bad_frames = 0u32;
    loop {
        tokio::select! {
            _ = shutdown.changed() => return Ok(()),
            cmd = rx.recv() => match cmd {
                Some(messages) => match with_current_detectors(app, &messages, &mut detectors_sent) {
                    Some(full) => send_signed(app, ws, node_id, Some(session), &full).await?,
                    None => send_signed(app, ws, node_id, Some(session), &messages).await?,
                },
                None => bail!("a newer connection of this node replaced this one"),
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > IDLE_TIMEOUT {
                    bail!("the agent was silent for {} s", IDLE_TIMEOUT.as_secs());
                }
                ws.send(WsMessage::Ping(bytes::Bytes::new())).await?;
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
                    Ok(frame) => handle_frame(app, ws, node_id, session, frame.messages).await?,
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

async fn handle_frame(
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
                let value = serde_json::to_value(&status)?;
                // Stored in a batch with other nodes' statuses; shown and counted once stored.
                let (app2, id, v) = (Arc::clone(app), node_id.to_owned(), value.clone());
                let after = Box::new(move || {
                    app2.hub.broadcast(
                        &id,
                        &crate::hub::dashboard_message("SERVER_STATUS", &id, None, v),
                    );
                    if let Some(request) = &status.request_id {
                        app2.hub.status_answered(request);
                    }
                });
                app.node_writes.status(node_id, value, unix_now(), after);
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
