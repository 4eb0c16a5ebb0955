//! Small shared values: random ids, the clock in unix seconds, and the identity of a set of
//! detector bundles. A leaf: it imports nothing else of this crate but keys' randomness and the
//! bundle type.

use crate::bundle::SignedBundle;
use crate::error::Result;
use crate::keys;

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
