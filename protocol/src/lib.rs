//! Cairn's wire protocol, shared by the agent and the control plane.
//!
//! - [`messages`]: every message, one serde enum ([`Message`]) with one struct per payload.
//! - [`frame`]: signed frames carrying messages, with audience, session, validity window and
//!   replay protection ([`FrameSigner`], [`FrameVerifier`]).
//! - [`bundle`]: signed recipe bundles ([`UnsignedBundle::sign`], [`open_bundle`]) and
//!   [`RollbackStore`].
//! - [`keys`]: Ed25519 keys, key ids, key files, domain-separated strict signatures.
//! - [`enroll`]: enrollment tokens, challenge nonces, proofs of possession.
//! - [`strict_json`]: size-capped, depth-limited JSON that refuses duplicate keys.
//! - [`ids`]: random ids, the clock, and the identity of a set of detector bundles.
//! - [`dashboard`]: the dashboard's wire: commands from the page, events to it, and the nodes
//!   and jobs of the HTTP API (exported to TypeScript by [`typescript`]).
//!
//! This crate knows bytes and signatures only: no processes, HTTP or storage beyond the small
//! rollback state file. Times are unix seconds passed in by the caller ([`unix_now`]), which
//! keeps every check testable.

pub mod bundle;
pub mod dashboard;
pub mod enroll;
pub mod error;
pub mod frame;
pub mod ids;
pub mod keys;
pub mod limits;
pub mod messages;
pub mod replay;
pub mod rollback;
pub mod strict_json;
pub mod typescript;

pub use bundle::{
    BundleFile, BundleHeader, Capabilities, FileEntry, SignedBundle, UnsignedBundle,
    VerifiedBundle, open_bundle,
};
pub use enroll::{
    EnrollmentLedger, NonceStore, auth_transcript, enroll_transcript, hash_token, new_token,
    sign_auth_response, sign_enroll_request, token_matches, verify_auth_response,
    verify_enroll_proof,
};
pub use error::{ProtocolError, Result};
pub use frame::{
    Frame, FrameBody, FrameSigner, FrameVerifier, VerifiedFrame, bare_message_json,
    parse_bare_message,
};
pub use ids::{detectors_hash, new_id, unix_now};
pub use keys::{KeyId, KeyPair, KeyRing, PublicKey};
pub use messages::{Direction, Message, PROTOCOL_VERSION};
pub use replay::ReplayCache;
pub use rollback::RollbackStore;
