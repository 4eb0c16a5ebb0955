//! Signed frames: the unit sent over the WebSocket, in both directions.
//!
//! ```json
//! {"keyId":"3f2a…","signature":"<base64>","body":"<base64 of the body JSON>"}
//! ```
//!
//! The body names the sender (`from`), the audience (the node id, or the control plane's id),
//! the session (after authentication), a random 128-bit `id`, a validity window, and one or
//! more messages (batching makes signing every agent event cheap). The signature covers the
//! exact body bytes behind a per-direction domain prefix, so a frame signed for one direction
//! can never be accepted in the other.
//!
//! [`FrameVerifier::verify`] checks, in order: size cap, envelope, key, signature, body,
//! sender, audience, session, validity window, message directions, replay.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::bundle::check_window;
use crate::error::{ProtocolError, Result};
use crate::keys::{DOMAIN_FRAME_TO_AGENT, DOMAIN_FRAME_TO_CONTROL_PLANE, KeyPair, KeyRing};
use crate::limits::{MAX_FRAME_BYTES, MAX_FRAME_TTL_SECS, MAX_MESSAGES_PER_FRAME};
use crate::messages::{Direction, Message};
use crate::replay::ReplayCache;
use crate::strict_json;

/// A frame as it travels: nothing in it is trusted until verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Frame {
    pub key_id: String,
    /// Ed25519 signature over `domain || body bytes`, base64.
    pub signature: String,
    /// The exact signed body bytes (JSON of [`FrameBody`]), base64.
    pub body: String,
}

/// The signed content of a frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FrameBody {
    /// 128 random bits, 32 hex characters; never reused.
    pub id: String,
    /// The sender: a node id, or the control plane's id.
    pub from: String,
    /// The intended receiver.
    pub audience: String,
    /// The session from `AUTH_OK`; absent before authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// Unix seconds.
    pub issued_at: u64,
    /// Unix seconds; at most [`MAX_FRAME_TTL_SECS`] after `issued_at`.
    pub expires_at: u64,
    pub messages: Vec<Message>,
}

/// A frame whose signature, addressing, window and freshness have been checked.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedFrame {
    pub id: String,
    pub from: String,
    pub session: Option<String>,
    pub issued_at: u64,
    pub expires_at: u64,
    pub messages: Vec<Message>,
}

fn domain(direction: Direction) -> &'static [u8] {
    match direction {
        Direction::ToAgent | Direction::Both => DOMAIN_FRAME_TO_AGENT,
        Direction::ToControlPlane => DOMAIN_FRAME_TO_CONTROL_PLANE,
    }
}

fn check_directions(messages: &[Message], direction: Direction) -> Result<()> {
    if messages.is_empty() || messages.len() > MAX_MESSAGES_PER_FRAME {
        return Err(ProtocolError::Malformed {
            what: "frame",
            reason: format!(
                "{} messages; a frame carries 1 to {MAX_MESSAGES_PER_FRAME}",
                messages.len()
            ),
        });
    }
    for m in messages {
        let d = m.direction();
        if d != Direction::Both && d != direction {
            return Err(ProtocolError::WrongDirection {
                message_type: m.type_name(),
                direction: direction.describe(),
            });
        }
    }
    Ok(())
}

/// Produces signed frames for one sender.
#[derive(Debug)]
pub struct FrameSigner {
    key: KeyPair,
    from: String,
    direction: Direction,
    ttl: u64,
}

impl FrameSigner {
    /// The control plane's signer (`from` is its id, e.g. `control-plane`).
    pub fn control_plane(key: KeyPair, from: impl Into<String>) -> Self {
        Self::new(key, from.into(), Direction::ToAgent)
    }

    /// An agent's signer (`from` is its node id).
    pub fn agent(key: KeyPair, node_id: impl Into<String>) -> Self {
        Self::new(key, node_id.into(), Direction::ToControlPlane)
    }

    fn new(key: KeyPair, from: String, direction: Direction) -> Self {
        Self {
            key,
            from,
            direction,
            ttl: crate::limits::DEFAULT_FRAME_TTL_SECS,
        }
    }

    /// Sets the validity window of frames signed from now on (capped at
    /// [`MAX_FRAME_TTL_SECS`]).
    pub fn set_ttl(&mut self, secs: u64) {
        self.ttl = secs.min(MAX_FRAME_TTL_SECS);
    }

    /// The signing key.
    pub fn key(&self) -> &KeyPair {
        &self.key
    }

    /// Signs `messages` for `audience` at time `now`, returning the frame's JSON text.
    pub fn sign(
        &self,
        audience: &str,
        session: Option<&str>,
        messages: Vec<Message>,
        now: u64,
    ) -> Result<String> {
        self.sign_slice(audience, session, &messages, now)
    }

    /// [`sign`](Self::sign) for borrowed messages: one message list (a status request with every
    /// recipe's bundle) can be signed for many receivers without a copy per receiver.
    pub fn sign_slice(
        &self,
        audience: &str,
        session: Option<&str>,
        messages: &[Message],
        now: u64,
    ) -> Result<String> {
        check_directions(messages, self.direction)?;
        let body = FrameBodyRef {
            id: crate::ids::new_id()?,
            from: &self.from,
            audience,
            session,
            issued_at: now,
            expires_at: now + self.ttl,
            messages,
        };
        let body_bytes = serde_json::to_vec(&body).map_err(|e| ProtocolError::Malformed {
            what: "frame",
            reason: e.to_string(),
        })?;
        let signature = self.key.sign(domain(self.direction), &body_bytes);
        let frame = Frame {
            key_id: self.key.key_id().to_string(),
            signature: B64.encode(signature),
            body: B64.encode(&body_bytes),
        };
        let text = serde_json::to_string(&frame).map_err(|e| ProtocolError::Malformed {
            what: "frame",
            reason: e.to_string(),
        })?;
        if text.len() > MAX_FRAME_BYTES {
            return Err(ProtocolError::TooLarge {
                what: "frame",
                size: text.len(),
                limit: MAX_FRAME_BYTES,
            });
        }
        Ok(text)
    }
}

/// [`FrameBody`] with borrowed fields, serialized the same way.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FrameBodyRef<'a> {
    id: String,
    from: &'a str,
    audience: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<&'a str>,
    issued_at: u64,
    expires_at: u64,
    messages: &'a [Message],
}

/// Checks frames received by one side of one connection.
#[derive(Debug)]
pub struct FrameVerifier {
    keys: KeyRing,
    expected_from: String,
    audience: String,
    direction: Direction,
    session: Option<String>,
    replay: ReplayCache,
}

impl FrameVerifier {
    /// The agent's verifier: frames from the control plane `control_plane_id`, signed by one of
    /// `control_plane_keys`, addressed to `node_id`.
    pub fn for_agent(control_plane_keys: KeyRing, control_plane_id: &str, node_id: &str) -> Self {
        Self::new(
            control_plane_keys,
            control_plane_id,
            node_id,
            Direction::ToAgent,
        )
    }

    /// The control plane's verifier for one agent connection: frames from `node_id`, signed
    /// with its enrolled key, addressed to `control_plane_id`.
    pub fn for_control_plane(
        agent_key: crate::PublicKey,
        node_id: &str,
        control_plane_id: &str,
    ) -> Self {
        Self::new(
            KeyRing::from(agent_key),
            node_id,
            control_plane_id,
            Direction::ToControlPlane,
        )
    }

    fn new(keys: KeyRing, from: &str, audience: &str, direction: Direction) -> Self {
        Self {
            keys,
            expected_from: from.to_owned(),
            audience: audience.to_owned(),
            direction,
            session: None,
            replay: ReplayCache::default(),
        }
    }

    /// Requires every later frame to name `session` (after `AUTH_OK`), or none (`None`).
    pub fn set_session(&mut self, session: Option<String>) {
        self.session = session;
    }

    /// Number of frame ids held for replay detection.
    pub fn replay_entries(&self) -> usize {
        self.replay.len()
    }

    /// Checks `bytes` (one WebSocket text frame) at time `now` (unix seconds).
    pub fn verify(&mut self, bytes: &[u8], now: u64) -> Result<VerifiedFrame> {
        let frame: Frame = strict_json::parse(bytes, "frame", MAX_FRAME_BYTES)?;
        let key = self
            .keys
            .get(&frame.key_id)
            .ok_or_else(|| ProtocolError::UnknownKey {
                what: "frame",
                key_id: frame.key_id.clone(),
            })?;
        let bad_signature = || ProtocolError::BadSignature {
            what: "frame",
            key_id: frame.key_id.clone(),
        };
        let signature = B64.decode(&frame.signature).map_err(|_| bad_signature())?;
        let body_bytes = B64
            .decode(&frame.body)
            .map_err(|e| ProtocolError::Malformed {
                what: "frame",
                reason: format!("body is not base64: {e}"),
            })?;
        if !key.verify(domain(self.direction), &body_bytes, &signature) {
            return Err(bad_signature());
        }
        let body: FrameBody = strict_json::parse(&body_bytes, "frame body", MAX_FRAME_BYTES)?;
        if body.id.len() != 32 || !body.id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ProtocolError::Malformed {
                what: "frame",
                reason: "id is not 32 hex characters".to_owned(),
            });
        }
        if body.from != self.expected_from {
            return Err(ProtocolError::Malformed {
                what: "frame",
                reason: format!(
                    "sent by \"{}\", expected \"{}\"",
                    body.from, self.expected_from
                ),
            });
        }
        if body.audience != self.audience {
            return Err(ProtocolError::WrongAudience {
                audience: body.audience,
                expected: self.audience.clone(),
            });
        }
        if body.session != self.session {
            return Err(ProtocolError::WrongSession {
                got: body.session.unwrap_or_default(),
                expected: self.session.clone().unwrap_or_default(),
            });
        }
        if body.expires_at.saturating_sub(body.issued_at) > MAX_FRAME_TTL_SECS {
            return Err(ProtocolError::Malformed {
                what: "frame",
                reason: format!("validity window longer than {MAX_FRAME_TTL_SECS} s"),
            });
        }
        check_window("frame", body.issued_at, body.expires_at, now)?;
        check_directions(&body.messages, self.direction)?;
        self.replay.insert(&body.id, body.expires_at, now)?;
        Ok(VerifiedFrame {
            id: body.id,
            from: body.from,
            session: body.session,
            issued_at: body.issued_at,
            expires_at: body.expires_at,
            messages: body.messages,
        })
    }
}

/// Reads a message sent outside a frame: only `HELLO`, `AUTH_RESPONSE` and `ENROLL_REQUEST`,
/// which an agent sends before it has a session (see [`crate::messages::auth`]).
pub fn parse_bare_message(bytes: &[u8]) -> Result<Message> {
    let message: Message = strict_json::parse(bytes, "message", MAX_FRAME_BYTES)?;
    if !message.may_be_bare() {
        return Err(ProtocolError::Malformed {
            what: "message",
            reason: format!("{} must arrive in a signed frame", message.type_name()),
        });
    }
    Ok(message)
}

/// A message as JSON text, for sending bare (see [`parse_bare_message`]).
pub fn bare_message_json(message: &Message) -> Result<String> {
    serde_json::to_string(message).map_err(|e| ProtocolError::Malformed {
        what: "message",
        reason: e.to_string(),
    })
}
