//! Enrollment and authentication primitives.
//!
//! Enrollment: the dashboard issues a one-time, expiring token for a node id; only its hash is
//! stored. The agent generates its key, receives a challenge nonce, and sends `ENROLL_REQUEST`
//! with the token, its public key and a proof: a signature by the new key over
//! [`enroll_transcript`], which binds the nonce, node id, token hash, key and hostname. The
//! token is consumed atomically: two concurrent requests with the same token, exactly one wins.
//!
//! Later connections: the control plane sends a single-use nonce, the agent signs
//! [`auth_transcript`] with its enrolled key. [`NonceStore`] makes every nonce single-use.
//!
//! [`EnrollmentLedger`] is an in-memory reference implementation of the control plane's side
//! (token table and node keys); a persistent store must keep the same rules, in particular
//! "mark the token used" and "record the node's key" in one transaction.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};

use crate::error::{ProtocolError, Result};
use crate::keys::{DOMAIN_AUTH, DOMAIN_ENROLL, KeyPair, PublicKey};
use crate::limits::{MAX_OUTSTANDING_NONCES, NONCE_TTL_SECS};
use crate::messages::{AuthResponse, ChallengePurpose, EnrollRequest};

const TOKEN_HASH_DOMAIN: &[u8] = b"cairn-enroll-token-v1\0";

/// A new enrollment token: 32 random bytes, hex. Show it once; store only [`hash_token`].
pub fn new_token() -> Result<String> {
    Ok(hex::encode(crate::keys::random_bytes::<32>()?))
}

/// The stored form of a token (sha256 with a domain prefix, hex). Tokens are 256-bit random, so
/// a fast hash is enough: there is nothing to brute-force.
pub fn hash_token(token: &str) -> String {
    let mut h = Sha256::new();
    h.update(TOKEN_HASH_DOMAIN);
    h.update(token.as_bytes());
    hex::encode(h.finalize())
}

/// Whether `token` hashes to `stored_hash`, compared in constant time.
pub fn token_matches(token: &str, stored_hash: &str) -> bool {
    let a = hash_token(token);
    a.len() == stored_hash.len()
        && a.bytes()
            .zip(stored_hash.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Length-prefixed concatenation, so that no two field lists give the same bytes.
fn transcript(fields: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in fields {
        out.extend_from_slice(&(f.len() as u32).to_be_bytes());
        out.extend_from_slice(f);
    }
    out
}

/// The bytes an enrolling agent signs (after [`DOMAIN_ENROLL`]).
pub fn enroll_transcript(
    nonce: &str,
    node_id: &str,
    token: &str,
    public_key_hex: &str,
    hostname: &str,
) -> Vec<u8> {
    transcript(&[
        nonce.as_bytes(),
        node_id.as_bytes(),
        hash_token(token).as_bytes(),
        public_key_hex.as_bytes(),
        hostname.as_bytes(),
    ])
}

/// The bytes an agent signs to answer an authentication challenge (after [`DOMAIN_AUTH`]).
pub fn auth_transcript(nonce: &str, node_id: &str) -> Vec<u8> {
    transcript(&[nonce.as_bytes(), node_id.as_bytes()])
}

/// Builds the agent's `ENROLL_REQUEST` for challenge `nonce`.
pub fn sign_enroll_request(
    key: &KeyPair,
    node_id: &str,
    token: &str,
    hostname: &str,
    nonce: &str,
) -> EnrollRequest {
    let public_key = key.public().to_hex();
    let proof = key.sign(
        DOMAIN_ENROLL,
        &enroll_transcript(nonce, node_id, token, &public_key, hostname),
    );
    EnrollRequest {
        node_id: node_id.to_owned(),
        token: token.to_owned(),
        public_key,
        hostname: hostname.to_owned(),
        nonce: nonce.to_owned(),
        proof: B64.encode(proof),
    }
}

/// Builds the agent's `AUTH_RESPONSE` for challenge `nonce`.
pub fn sign_auth_response(key: &KeyPair, node_id: &str, nonce: &str) -> AuthResponse {
    let signature = key.sign(DOMAIN_AUTH, &auth_transcript(nonce, node_id));
    AuthResponse {
        node_id: node_id.to_owned(),
        nonce: nonce.to_owned(),
        signature: B64.encode(signature),
    }
}

/// Checks an `ENROLL_REQUEST`'s proof of possession; returns the offered key.
/// Does not check the token or the nonce (see [`EnrollmentLedger::enroll`]).
pub fn verify_enroll_proof(req: &EnrollRequest) -> Result<PublicKey> {
    let key = PublicKey::from_hex(&req.public_key)?;
    let proof = B64.decode(&req.proof).unwrap_or_default();
    let message = enroll_transcript(
        &req.nonce,
        &req.node_id,
        &req.token,
        &req.public_key,
        &req.hostname,
    );
    if !key.verify(DOMAIN_ENROLL, &message, &proof) {
        return Err(ProtocolError::BadSignature {
            what: "enrollment proof",
            key_id: key.key_id().to_string(),
        });
    }
    Ok(key)
}

/// Checks an `AUTH_RESPONSE` against the node's enrolled key.
/// Does not check the nonce (see [`NonceStore::consume`]).
pub fn verify_auth_response(resp: &AuthResponse, key: &PublicKey) -> Result<()> {
    let signature = B64.decode(&resp.signature).unwrap_or_default();
    if key.verify(
        DOMAIN_AUTH,
        &auth_transcript(&resp.nonce, &resp.node_id),
        &signature,
    ) {
        Ok(())
    } else {
        Err(ProtocolError::BadSignature {
            what: "authentication response",
            key_id: key.key_id().to_string(),
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section below leaves the state consistent before it can panic.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug)]
struct NonceRecord {
    node_id: String,
    purpose: ChallengePurpose,
    expires_at: u64,
}

/// Outstanding challenge nonces; each can be consumed once, by one node, for one purpose.
#[derive(Debug, Default)]
pub struct NonceStore {
    nonces: Mutex<HashMap<String, NonceRecord>>,
}

impl NonceStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new nonce (32 random bytes, hex) for `node_id`, valid [`NONCE_TTL_SECS`].
    pub fn issue(&self, node_id: &str, purpose: ChallengePurpose, now: u64) -> Result<String> {
        let nonce = hex::encode(crate::keys::random_bytes::<32>()?);
        let mut nonces = lock(&self.nonces);
        if nonces.len() >= MAX_OUTSTANDING_NONCES {
            nonces.retain(|_, r| r.expires_at >= now);
            if nonces.len() >= MAX_OUTSTANDING_NONCES {
                return Err(ProtocolError::CacheFull {
                    what: "challenge store",
                    limit: MAX_OUTSTANDING_NONCES,
                });
            }
        }
        nonces.insert(
            nonce.clone(),
            NonceRecord {
                node_id: node_id.to_owned(),
                purpose,
                expires_at: now + NONCE_TTL_SECS,
            },
        );
        Ok(nonce)
    }

    /// Consumes `nonce`: succeeds once, if it was issued to `node_id` for `purpose` and has not
    /// expired. A nonce is removed even when the check fails, so it can never be retried.
    pub fn consume(
        &self,
        nonce: &str,
        node_id: &str,
        purpose: ChallengePurpose,
        now: u64,
    ) -> Result<()> {
        let record = lock(&self.nonces)
            .remove(nonce)
            .ok_or(ProtocolError::Nonce("unknown or already used"))?;
        if record.expires_at < now {
            return Err(ProtocolError::Nonce("expired"));
        }
        if record.node_id != node_id || record.purpose != purpose {
            return Err(ProtocolError::Nonce("issued for another node or purpose"));
        }
        Ok(())
    }
}

#[derive(Debug)]
struct TokenRecord {
    node_id: String,
    expires_at: u64,
    used: bool,
}

#[derive(Debug, Default)]
struct LedgerState {
    /// Keyed by token hash.
    tokens: HashMap<String, TokenRecord>,
    nodes: HashMap<String, PublicKey>,
}

/// The control plane's enrollment tokens and node keys (in memory; reference implementation).
#[derive(Debug, Default)]
pub struct EnrollmentLedger {
    state: Mutex<LedgerState>,
}

impl EnrollmentLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// Issues a token for `node_id` valid for `ttl_secs`; returns the token (shown once).
    pub fn issue_token(&self, node_id: &str, ttl_secs: u64, now: u64) -> Result<String> {
        let token = new_token()?;
        lock(&self.state).tokens.insert(
            hash_token(&token),
            TokenRecord {
                node_id: node_id.to_owned(),
                expires_at: now + ttl_secs,
                used: false,
            },
        );
        Ok(token)
    }

    /// Enrolls the key in `req`: consumes the nonce, checks the proof, then — atomically —
    /// checks and consumes the token and records the key for the node.
    pub fn enroll(&self, req: &EnrollRequest, nonces: &NonceStore, now: u64) -> Result<PublicKey> {
        nonces.consume(&req.nonce, &req.node_id, ChallengePurpose::Enroll, now)?;
        let key = verify_enroll_proof(req)?;
        let mut state = lock(&self.state);
        let record = state
            .tokens
            .get(&hash_token(&req.token))
            .ok_or(ProtocolError::Token("unknown token"))?;
        if record.used {
            return Err(ProtocolError::Token("this token has already been used"));
        }
        if record.expires_at < now {
            return Err(ProtocolError::Token(
                "this token has expired; create a new one in the dashboard",
            ));
        }
        if record.node_id != req.node_id {
            return Err(ProtocolError::Token(
                "this token was issued for another node",
            ));
        }
        if let Some(enrolled) = state.nodes.get(&req.node_id) {
            return Err(ProtocolError::AlreadyEnrolled {
                node_id: req.node_id.clone(),
                enrolled_key_id: enrolled.key_id().to_string(),
                offered_key_id: key.key_id().to_string(),
            });
        }
        if let Some(record) = state.tokens.get_mut(&hash_token(&req.token)) {
            record.used = true;
        }
        state.nodes.insert(req.node_id.clone(), key.clone());
        Ok(key)
    }

    /// The key enrolled for `node_id`.
    pub fn node_key(&self, node_id: &str) -> Option<PublicKey> {
        lock(&self.state).nodes.get(node_id).cloned()
    }

    /// Authenticates a later connection: consumes the nonce and checks the response against the
    /// node's enrolled key.
    pub fn authenticate(
        &self,
        resp: &AuthResponse,
        nonces: &NonceStore,
        now: u64,
    ) -> Result<PublicKey> {
        nonces.consume(&resp.nonce, &resp.node_id, ChallengePurpose::Auth, now)?;
        let key = self
            .node_key(&resp.node_id)
            .ok_or_else(|| ProtocolError::NotEnrolled {
                node_id: resp.node_id.clone(),
            })?;
        verify_auth_response(resp, &key)?;
        Ok(key)
    }
}
