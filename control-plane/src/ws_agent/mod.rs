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
//! Modules: [`socket`] (the WebSocket upgrade and its buffer sizes), [`handshake`] (enrollment
//! and authentication), [`session`] (the authenticated connection's loop), [`relay`] (job
//! events stored, acknowledged and relayed; statuses stored). Which detector bundles a status
//! request carries is [`crate::detectors`].

mod handshake;
mod metrics;
mod relay;
mod session;
mod socket;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use cairn_protocol::messages::{ErrorCode, ErrorMessage, Hello};
use cairn_protocol::{Message, PublicKey, parse_bare_message, unix_now};
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub(crate) use handshake::removed_sentence;
pub use socket::upgrade;
use socket::{Socket, send_text};

use crate::app::App;
use crate::gate::Conn;

/// How long a peer may stay silent before the connection is dropped.
pub(super) const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
pub(super) const PING_EVERY: Duration = Duration::from_secs(30);
/// How long one frame may take to go out. An agent that leaves its socket unread this long is
/// stalled: its connection is closed (it reconnects) rather than blocking its session on a
/// full socket forever (threats.md 35, the agent's side).
pub(super) const SEND_TIMEOUT: Duration = Duration::from_secs(60);
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
    tokio::time::timeout(SEND_TIMEOUT, send_text(ws, text))
        .await
        .map_err(|_| stalled())?
        .context("could not send to the agent")
}

pub(super) fn stalled() -> anyhow::Error {
    anyhow!(
        "the agent read nothing for {} s; closing its connection",
        SEND_TIMEOUT.as_secs()
    )
}

/// The handshake's next text message, skipping pings; `None` when the peer closed. From its
/// arrival the server owes the agent an answer: the gate does not evict it meanwhile. No
/// timeout of its own: [`serve`] bounds the whole handshake.
pub(super) async fn next_text(
    ws: &mut Socket,
    conn: Option<&Conn>,
) -> anyhow::Result<Option<Vec<u8>>> {
    loop {
        match ws.next().await {
            None => return Ok(None),
            Some(Err(e)) => return Err(anyhow!("the connection failed: {e}")),
            Some(Ok(WsMessage::Close(_))) => return Ok(None),
            Some(Ok(WsMessage::Text(t))) => {
                if let Some(conn) = conn {
                    conn.server_turn();
                }
                return Ok(Some(t.as_bytes().to_vec()));
            }
            Some(Ok(WsMessage::Binary(_))) => bail!("binary messages are not part of the protocol"),
            Some(Ok(_)) => continue,
        }
    }
}

/// Serves an agent's connection: the handshake, bounded as a whole by the handshake timeout
/// (threats.md 34: an upgrade followed by silence, or a handshake dragged out step by step, is
/// closed), then the authenticated session (the gate trusts it from the verified
/// `AUTH_RESPONSE` on).
pub(crate) async fn serve(
    app: &Arc<App>,
    ws: &mut Socket,
    conn: Option<&Conn>,
) -> anyhow::Result<()> {
    let limit = app.config.limits.handshake_timeout;
    let shaken = tokio::time::timeout(limit, handshake(app, ws, conn))
        .await
        .map_err(|_| {
            anyhow!(
                "the agent did not complete its handshake within {:.0} s",
                limit.as_secs_f64()
            )
        })??;
    let Some((hello, key, session)) = shaken else {
        return Ok(());
    };
    // A hash is 64 hex digits; anything else names nothing the control plane has.
    let held = hello
        .detectors_hash
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    session::connected(app, ws, &hello.node_id, key, &session, held).await
}

/// `HELLO`, then enrollment (`None` once done) or authentication (the agent's key and session).
async fn handshake(
    app: &Arc<App>,
    ws: &mut Socket,
    conn: Option<&Conn>,
) -> anyhow::Result<Option<(Hello, PublicKey, String)>> {
    let Some(first) = next_text(ws, conn).await? else {
        return Ok(None);
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
        None => {
            handshake::enroll(app, ws, &hello, conn).await?;
            Ok(None)
        }
        Some(key_id) => {
            let (key, session) = handshake::authenticate(app, ws, &hello, &key_id, conn).await?;
            Ok(Some((hello, key, session)))
        }
    }
}
