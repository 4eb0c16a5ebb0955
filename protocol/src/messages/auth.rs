//! Connection and enrollment messages: the agent says who it is, the control plane challenges
//! it, the agent proves it holds its key (or, the first time, enrolls a new key with a one-time
//! token).
//!
//! `HELLO`, `AUTH_RESPONSE` and `ENROLL_REQUEST` are the only messages an agent sends before it
//! is authenticated; they travel as bare messages (see [`crate::parse_bare_message`]) because
//! the control plane does not yet know, or does not yet trust, the agent's key. The two that
//! prove something carry their own signature over a control-plane nonce.

use serde::{Deserialize, Serialize};

/// `HELLO` (agent → control plane): the first message on every connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct Hello {
    pub node_id: String,
    /// The agent's key id; absent when the agent comes to enroll.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    pub agent_version: String,
    pub protocol_version: u32,
    /// The [`crate::ids::detectors_hash`] of the detector bundles the agent kept from an earlier
    /// connection (each verified when it arrived). The control plane then sends
    /// `GET_SERVER_STATUS` with `sameDetectors` and this hash instead of the bundles when it
    /// would send the same ones. Untrusted: it only chooses between two signed requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detectors_hash: Option<String>,
}

/// What a challenge is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum ChallengePurpose {
    /// Answer with `AUTH_RESPONSE`.
    Auth,
    /// Answer with `ENROLL_REQUEST`.
    Enroll,
}

/// `AUTH_CHALLENGE` (control plane → agent): a single-use nonce to sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct AuthChallenge {
    /// 32 random bytes, hex.
    pub nonce: String,
    pub purpose: ChallengePurpose,
    pub control_plane_key_id: String,
    /// The control plane's clock (unix seconds), so the agent can warn about skew.
    pub server_time: u64,
}

/// `AUTH_RESPONSE` (agent → control plane): the nonce signed with the agent's enrolled key
/// (see [`crate::auth_transcript`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct AuthResponse {
    pub node_id: String,
    pub nonce: String,
    /// Ed25519 signature, base64.
    pub signature: String,
}

/// `AUTH_OK` (control plane → agent): the agent is authenticated; every later frame in both
/// directions names `sessionId`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct AuthOk {
    pub session_id: String,
    /// The nonce the agent answered, binding this reply to that challenge.
    pub nonce: String,
    pub server_time: u64,
}

/// `ENROLL_REQUEST` (agent → control plane): a new agent key, the one-time token from the
/// install command, and a proof of possession over the challenge (see
/// [`crate::enroll_transcript`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct EnrollRequest {
    pub node_id: String,
    pub token: String,
    /// The agent's new Ed25519 public key, hex.
    pub public_key: String,
    pub hostname: String,
    pub nonce: String,
    /// Ed25519 signature by the new key, base64.
    pub proof: String,
}

/// `ENROLL_RESPONSE` (control plane → agent): the key is enrolled for the node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct EnrollResponse {
    pub node_id: String,
    pub key_id: String,
    pub control_plane_key_id: String,
}
