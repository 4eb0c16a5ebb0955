//! The handshake of an agent's connection: `AUTH_CHALLENGE`, then either enrollment
//! (`ENROLL_REQUEST` checked against a one-time token, the key recorded) or authentication
//! (`AUTH_RESPONSE` checked against the enrolled key with a single-use nonce, `AUTH_OK`).

use anyhow::{anyhow, bail};
use cairn_protocol::messages::{
    AuthChallenge, AuthOk, ChallengePurpose, EnrollResponse, ErrorCode, Hello,
};
use cairn_protocol::{
    Message, ProtocolError, PublicKey, parse_bare_message, unix_now, verify_auth_response,
    verify_enroll_proof,
};

use super::{Socket, error_message, next_text, send_signed};
use crate::app::App;
use crate::gate::Conn;
use crate::store::{self, Enrollment, StoreError};

/// What a removed node's agent is told (and logs) when it connects: what happened and the two
/// ways out.
pub(crate) fn removed_sentence(node_id: &str, by: Option<&str>) -> String {
    let by = by.map(|b| format!(" by {b}")).unwrap_or_default();
    format!(
        "this server was removed from Cairn{by} (node {node_id}): enroll it again with a new token or uninstall the agent"
    )
}

async fn challenge(
    app: &App,
    ws: &mut Socket,
    node_id: &str,
    purpose: ChallengePurpose,
    conn: Option<&Conn>,
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
    // The agent's turn to answer.
    if let Some(conn) = conn {
        conn.client_turn();
    }
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

/// Refuses an authentication (`UNAUTHENTICATED`) and records the refusal in the audit log.
async fn refuse_auth(app: &App, ws: &mut Socket, node_id: &str, why: &str) -> anyhow::Error {
    app.audit(
        &format!("agent:{node_id}"),
        "node.auth",
        node_id,
        &format!("refused: {why}"),
    )
    .await;
    refuse(app, ws, node_id, ErrorCode::Unauthenticated, why).await
}

/// The agent's next handshake message, read as a bare message: what `take` accepts, or a
/// `BAD_FRAME` refusal naming what was `expected` (or why the bytes are not a message).
async fn expect<T>(
    app: &App,
    ws: &mut Socket,
    node_id: &str,
    bytes: &[u8],
    expected: &str,
    take: impl FnOnce(Message) -> Option<T>,
) -> anyhow::Result<T> {
    let why = match parse_bare_message(bytes) {
        Ok(message) => {
            let got = message.type_name();
            match take(message) {
                Some(value) => return Ok(value),
                None => format!("expected {expected}, got {got}"),
            }
        }
        Err(e) => e.to_string(),
    };
    Err(refuse(app, ws, node_id, ErrorCode::BadFrame, &why).await)
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

pub(super) async fn enroll(
    app: &App,
    ws: &mut Socket,
    hello: &Hello,
    conn: Option<&Conn>,
) -> anyhow::Result<()> {
    let node_id = hello.node_id.clone();
    challenge(app, ws, &node_id, ChallengePurpose::Enroll, conn).await?;
    let Some(bytes) = next_text(ws, conn).await? else {
        return Ok(());
    };
    let req = expect(app, ws, &node_id, &bytes, "ENROLL_REQUEST", |m| match m {
        Message::EnrollRequest(r) => Some(r),
        _ => None,
    })
    .await?;
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

pub(super) async fn authenticate(
    app: &App,
    ws: &mut Socket,
    hello: &Hello,
    key_id: &str,
    conn: Option<&Conn>,
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
    if node.removed_at.is_some() {
        let why = removed_sentence(&node_id, node.removed_by.as_deref());
        app.audit(
            &format!("agent:{node_id}"),
            "node.auth",
            &node_id,
            &format!("refused: {why}"),
        )
        .await;
        return Err(refuse(app, ws, &node_id, ErrorCode::NodeRemoved, &why).await);
    }
    if node.key_id != key_id {
        let why = format!(
            "node {node_id} is enrolled with key {}; refusing key {key_id}",
            node.key_id
        );
        return Err(refuse_auth(app, ws, &node_id, &why).await);
    }
    let key = PublicKey::from_hex(&node.public_key)?;
    challenge(app, ws, &node_id, ChallengePurpose::Auth, conn).await?;
    let Some(bytes) = next_text(ws, conn).await? else {
        bail!("the agent left during authentication");
    };
    let resp = expect(app, ws, &node_id, &bytes, "AUTH_RESPONSE", |m| match m {
        Message::AuthResponse(r) => Some(r),
        _ => None,
    })
    .await?;
    let checked: Result<(), ProtocolError> = if resp.node_id != node_id {
        Err(ProtocolError::Nonce("issued for another node or purpose"))
    } else {
        app.nonces
            .consume(&resp.nonce, &node_id, ChallengePurpose::Auth, unix_now())
            .and_then(|()| verify_auth_response(&resp, &key))
    };
    if let Err(e) = checked {
        let why = e.to_string();
        return Err(refuse_auth(app, ws, &node_id, &why).await);
    }
    // Proved: from now on the gate never evicts this connection (threats.md 34). Before AUTH_OK
    // is sent, or a newcomer could evict an agent that believes itself connected.
    if let Some(conn) = conn {
        conn.trust();
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
