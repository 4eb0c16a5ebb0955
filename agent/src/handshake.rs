//! Reading and writing the first messages of a connection, shared by enrollment and
//! authentication: bare messages out, signed frames in.

use std::time::Duration;

use cairn_protocol::messages::{ErrorCode, ErrorMessage};
use cairn_protocol::{FrameVerifier, Message, bare_message_json};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::error::{AgentError, Result};
use crate::transport::Socket;

/// Sends a bare message (HELLO, AUTH_RESPONSE, ENROLL_REQUEST).
pub async fn send_bare(ws: &mut Socket, m: &Message) -> Result<()> {
    let text = bare_message_json(m)?;
    ws.send(WsMessage::Text(text.into()))
        .await
        .map_err(|e| AgentError::Connection(e.to_string()))
}

/// Waits for the next signed frame and returns its first message. An `ERROR` (signed, or bare
/// from a control plane that cannot sign for us yet) is returned as [`AgentError::Refused`].
pub async fn recv_message(
    ws: &mut Socket,
    verifier: &mut FrameVerifier,
    timeout: Duration,
) -> Result<Message> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let next = tokio::time::timeout_at(deadline, ws.next())
            .await
            .map_err(|_| AgentError::Timeout(timeout.as_secs()))?;
        let text = match next {
            None => {
                return Err(AgentError::Connection(
                    "the control plane closed the connection".to_owned(),
                ));
            }
            Some(Err(e)) => return Err(AgentError::Connection(e.to_string())),
            Some(Ok(WsMessage::Text(t))) => t,
            Some(Ok(WsMessage::Close(frame))) => {
                let why = frame.map(|f| f.reason.to_string()).unwrap_or_default();
                return Err(AgentError::Refused(if why.is_empty() {
                    "the control plane closed the connection".to_owned()
                } else {
                    why
                }));
            }
            Some(Ok(_)) => continue,
        };
        let frame = match verifier.verify(text.as_bytes(), cairn_protocol::unix_now()) {
            Ok(f) => f,
            Err(e) => {
                // Not acted upon: only its text is shown, to explain the failure.
                if let Ok(Message::Error(err)) = serde_json::from_str::<Message>(text.as_str()) {
                    return Err(refused(err));
                }
                return Err(e.into());
            }
        };
        let first = frame.messages.into_iter().next();
        return match first {
            Some(Message::Error(err)) => Err(refused(err)),
            Some(m) => Ok(m),
            None => Err(AgentError::Connection("an empty frame".to_owned())),
        };
    }
}

/// An `ERROR` answering the handshake: a removed node's is its own kind (the dial loop then
/// waits long), any other a refusal.
fn refused(err: ErrorMessage) -> AgentError {
    match err.code {
        ErrorCode::NodeRemoved => AgentError::Removed(err.message),
        _ => AgentError::Refused(err.message),
    }
}

/// A message that was not the expected one.
pub fn unexpected(expected: &str, got: &Message) -> AgentError {
    AgentError::Connection(format!(
        "expected {expected} from the control plane, got {}",
        got.type_name()
    ))
}
