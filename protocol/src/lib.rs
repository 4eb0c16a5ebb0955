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
//!
//! This crate knows bytes and signatures only: no processes, HTTP or storage beyond the small
//! rollback state file. Times are unix seconds passed in by the caller ([`unix_now`]), which
//! keeps every check testable.

pub mod bundle;
pub mod enroll;
pub mod error;
pub mod frame;
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
pub use keys::{KeyId, KeyPair, KeyRing, PublicKey};
pub use messages::{Direction, Message, PROTOCOL_VERSION};
pub use replay::ReplayCache;
pub use rollback::RollbackStore;

/// The identity of a set of detector bundles, as `HELLO` and `GET_SERVER_STATUS` name it:
/// SHA-256, hex, of the bundles' JSON in order. Both sides compute it over the same
/// [`SignedBundle`] values; it identifies bytes and proves nothing (each bundle is verified
/// on its own before it runs).
pub fn detectors_hash(bundles: &[SignedBundle]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for b in bundles {
        // serde_json writes a struct's fields in order and a BTreeMap sorted: one encoding.
        let json = serde_json::to_vec(b).unwrap_or_default();
        h.update((json.len() as u64).to_be_bytes());
        h.update(&json);
    }
    hex::encode(h.finalize())
}

/// A new random 128-bit id (32 hex characters), for frames, jobs and sessions.
pub fn new_id() -> Result<String> {
    Ok(hex::encode(keys::random_bytes::<16>()?))
}

/// The current time in unix seconds (0 if the clock is before 1970).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
