//! An agent's connection (`/ws/agent`), as docs/protocol.md "Connection" describes it.
//!
//! 1. `HELLO` (bare). Without `keyId`: enrollment — `AUTH_CHALLENGE {purpose: enroll}`,
//!    `ENROLL_REQUEST`, then the token is consumed and the key recorded in one store
//!    transaction, `ENROLL_RESPONSE`, close. With `keyId`: authentication —
//!    `AUTH_CHALLENGE {purpose: auth}`, `AUTH_RESPONSE` checked against the enrolled key with a
//!    single-use nonce, `AUTH_OK {sessionId}`.
//! 2. After `AUTH_OK` every frame in both directions is signed and names the session. The
//!    control plane sends `GET_SERVER_STATUS` with the published recipes' bundles (or, when
//!    `HELLO` named them by hash because the agent kept them, `sameDetectors`), stores job
//!    events idempotently by `(jobId, seq)`, acknowledges them with `LOG_ACK`, and relays them
//!    to the dashboards watching the node.
//!
//! Frames sent before the session (`AUTH_CHALLENGE`, `AUTH_OK`, `ENROLL_RESPONSE`, errors) are
//! signed without a session: the agent's verifier learns the session from `AUTH_OK`.
//!
//! Modules: [`handshake`] (enrollment and authentication), [`session`] (the authenticated
//! connection's loop), [`detectors`] (which detector bundles a status request carries),
//! [`relay`] (job events stored, acknowledged and relayed; statuses stored).

mod detectors;
mod handshake;
mod relay;
mod session;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use cairn_protocol::messages::{ErrorCode, ErrorMessage};
use cairn_protocol::{Message, parse_bare_message, unix_now};
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::agent_socket::send_text;
pub use crate::agent_socket::{Socket, upgrade};
pub use detectors::{status_request, status_request_same};

use crate::App;

/// How long a peer may stay silent before the connection is dropped.
pub(super) const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
pub(super) const PING_EVERY: Duration = Duration::from_secs(30);
/// How long the handshake may take, per step.
pub(super) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// Refused frames tolerated on one connection before it is closed.
pub(super) const MAX_BAD_FRAMES: u32 = 16;

pub(super) fn error_message(code: ErrorCode, message: impl Into<String>) -> Message {
    Message::Error(ErrorMessage {
        code,
        message: message.into(),
        frame_id: None,
        job_id: None,
    })
}

pub(super) async fn send_signed(
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
pub(super) async fn next_text(
    ws: &mut Socket,
    timeout: Duration,
) -> anyhow::Result<Option<Vec<u8>>> {
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
        None => handshake::enroll(app, ws, &hello).await,
        Some(key_id) => {
            let (key, session) = handshake::authenticate(app, ws, &hello, &key_id).await?;
            // A hash is 64 hex digits; anything else names nothing the control plane has.
            let held = hello
                .detectors_hash
                .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
            session::connected(app, ws, &hello.node_id, key, &session, held).await
        }
    }
}
