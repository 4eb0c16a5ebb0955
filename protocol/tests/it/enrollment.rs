//! threats.md rows 23 (enrollment token reuse, also concurrent; expiry) and 24 (agent
//! impersonation: replayed challenge response, another key for an enrolled node).

use std::sync::{Arc, Barrier};

use cairn_protocol::messages::ChallengePurpose::{Auth, Enroll};
use cairn_protocol::{
    EnrollmentLedger, KeyPair, NonceStore, ProtocolError, hash_token, limits, sign_auth_response,
    sign_enroll_request, token_matches,
};

use crate::util::*;

fn enroll(
    ledger: &EnrollmentLedger,
    nonces: &NonceStore,
    token: &str,
    k: &KeyPair,
) -> Result<(), ProtocolError> {
    let nonce = nonces.issue(NODE, Enroll, NOW).unwrap();
    let req = sign_enroll_request(k, NODE, token, "web-1", &nonce);
    ledger.enroll(&req, nonces, NOW).map(|_| ())
}

#[test]
fn tokens_are_stored_hashed_and_compared_by_hash() {
    let token = cairn_protocol::new_token().unwrap();
    let stored = hash_token(&token);
    assert_eq!(token.len(), 64);
    assert_ne!(stored, token);
    assert!(token_matches(&token, &stored));
    assert!(!token_matches(&format!("{token}x"), &stored));
    assert!(!token_matches(&token, &stored[..63]));
}

#[test]
fn enrollment_then_authentication() {
    let ledger = EnrollmentLedger::new();
    let nonces = NonceStore::new();
    let token = ledger.issue_token(NODE, 3600, NOW).unwrap();
    let agent = key(7);
    enroll(&ledger, &nonces, &token, &agent).unwrap();
    assert_eq!(ledger.node_key(NODE).unwrap(), *agent.public());
    let nonce = nonces.issue(NODE, Auth, NOW).unwrap();
    let resp = sign_auth_response(&agent, NODE, &nonce);
    assert_eq!(
        ledger.authenticate(&resp, &nonces, NOW).unwrap(),
        *agent.public()
    );
}

#[test]
fn a_token_works_once() {
    let ledger = EnrollmentLedger::new();
    let nonces = NonceStore::new();
    let token = ledger.issue_token(NODE, 3600, NOW).unwrap();
    enroll(&ledger, &nonces, &token, &key(7)).unwrap();
    let err = enroll(&ledger, &nonces, &token, &key(8)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "enrollment token refused: this token has already been used"
    );
    assert_eq!(ledger.node_key(NODE).unwrap(), *key(7).public());
}

#[test]
fn the_same_token_in_parallel_enrolls_exactly_once() {
    for _round in 0..20 {
        let ledger = Arc::new(EnrollmentLedger::new());
        let nonces = Arc::new(NonceStore::new());
        let token = ledger.issue_token(NODE, 3600, NOW).unwrap();
        let n = 8;
        let barrier = Arc::new(Barrier::new(n));
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (ledger, nonces, token, barrier) = (
                    Arc::clone(&ledger),
                    Arc::clone(&nonces),
                    token.clone(),
                    Arc::clone(&barrier),
                );
                std::thread::spawn(move || {
                    let k = key(10 + i as u8);
                    let nonce = nonces.issue(NODE, Enroll, NOW).unwrap();
                    let req = sign_enroll_request(&k, NODE, &token, "web-1", &nonce);
                    barrier.wait();
                    ledger.enroll(&req, &nonces, NOW).is_ok()
                })
            })
            .collect();
        let wins = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|w| *w)
            .count();
        assert_eq!(wins, 1);
    }
}

#[test]
fn an_expired_token_is_refused() {
    let ledger = EnrollmentLedger::new();
    let nonces = NonceStore::new();
    let token = ledger.issue_token(NODE, 600, NOW - 601).unwrap();
    let err = enroll(&ledger, &nonces, &token, &key(7)).unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");
    assert!(ledger.node_key(NODE).is_none());
}

#[test]
fn unknown_and_foreign_tokens_are_refused() {
    let ledger = EnrollmentLedger::new();
    let nonces = NonceStore::new();
    let other = ledger.issue_token("node-other", 600, NOW).unwrap();
    assert!(
        enroll(&ledger, &nonces, &other, &key(7))
            .unwrap_err()
            .to_string()
            .contains("another node")
    );
    assert!(
        enroll(&ledger, &nonces, "guess", &key(7))
            .unwrap_err()
            .to_string()
            .contains("unknown token")
    );
}

#[test]
fn a_proof_for_other_fields_is_refused() {
    let ledger = EnrollmentLedger::new();
    let nonces = NonceStore::new();
    let token = ledger.issue_token(NODE, 600, NOW).unwrap();
    let nonce = nonces.issue(NODE, Enroll, NOW).unwrap();
    let mut req = sign_enroll_request(&key(7), NODE, &token, "web-1", &nonce);
    req.public_key = key(8).public().to_hex(); // someone else's key, with key 7's proof
    let err = ledger.enroll(&req, &nonces, NOW).unwrap_err();
    assert!(matches!(err, ProtocolError::BadSignature { .. }), "{err}");
    // The failed attempt did not burn the token.
    enroll(&ledger, &nonces, &token, &key(7)).unwrap();
}

#[test]
fn a_replayed_enroll_request_is_refused() {
    let ledger = EnrollmentLedger::new();
    let nonces = NonceStore::new();
    let token = ledger.issue_token(NODE, 600, NOW).unwrap();
    let nonce = nonces.issue(NODE, Enroll, NOW).unwrap();
    let req = sign_enroll_request(&key(7), NODE, &token, "web-1", &nonce);
    ledger.enroll(&req, &nonces, NOW).unwrap();
    let err = ledger.enroll(&req, &nonces, NOW).unwrap_err();
    assert!(matches!(err, ProtocolError::Nonce(_)), "{err}");
}

#[test]
fn a_replayed_challenge_response_is_refused() {
    let ledger = EnrollmentLedger::new();
    let nonces = NonceStore::new();
    let token = ledger.issue_token(NODE, 600, NOW).unwrap();
    let agent = key(7);
    enroll(&ledger, &nonces, &token, &agent).unwrap();
    let nonce = nonces.issue(NODE, Auth, NOW).unwrap();
    let resp = sign_auth_response(&agent, NODE, &nonce);
    ledger.authenticate(&resp, &nonces, NOW).unwrap();
    let err = ledger.authenticate(&resp, &nonces, NOW + 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "challenge refused: unknown or already used"
    );
    // A response to a nonce that was never issued (an attacker picks it) is refused too.
    let forged = sign_auth_response(&agent, NODE, "00");
    assert!(ledger.authenticate(&forged, &nonces, NOW).is_err());
}

#[test]
fn another_key_for_an_enrolled_node_is_refused() {
    let ledger = EnrollmentLedger::new();
    let nonces = NonceStore::new();
    let t1 = ledger.issue_token(NODE, 600, NOW).unwrap();
    enroll(&ledger, &nonces, &t1, &key(7)).unwrap();
    // Even with a fresh valid token for the same node id.
    let t2 = ledger.issue_token(NODE, 600, NOW).unwrap();
    let err = enroll(&ledger, &nonces, &t2, &key(8)).unwrap_err();
    assert!(
        matches!(err, ProtocolError::AlreadyEnrolled { .. }),
        "{err}"
    );
    // And an impostor answering an auth challenge with its own key.
    let nonce = nonces.issue(NODE, Auth, NOW).unwrap();
    let resp = sign_auth_response(&key(8), NODE, &nonce);
    let err = ledger.authenticate(&resp, &nonces, NOW).unwrap_err();
    assert!(matches!(err, ProtocolError::BadSignature { .. }), "{err}");
    assert_eq!(ledger.node_key(NODE).unwrap(), *key(7).public());
}

#[test]
fn nonces_are_single_use_under_concurrency() {
    for _round in 0..50 {
        let nonces = Arc::new(NonceStore::new());
        let nonce = nonces.issue(NODE, Auth, NOW).unwrap();
        let barrier = Arc::new(Barrier::new(8));
        let wins = (0..8)
            .map(|_| {
                let (nonces, nonce, barrier) =
                    (Arc::clone(&nonces), nonce.clone(), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    nonces.consume(&nonce, NODE, Auth, NOW).is_ok()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|w| *w)
            .count();
        assert_eq!(wins, 1);
    }
}

#[test]
fn nonces_expire_and_are_bound_to_node_and_purpose() {
    let nonces = NonceStore::new();
    let n = nonces.issue(NODE, Auth, NOW).unwrap();
    assert!(
        nonces
            .consume(&n, NODE, Auth, NOW + limits::NONCE_TTL_SECS + 1)
            .is_err()
    );
    let n = nonces.issue(NODE, Auth, NOW).unwrap();
    assert!(nonces.consume(&n, "node-other", Auth, NOW).is_err());
    let n = nonces.issue(NODE, Auth, NOW).unwrap();
    assert!(nonces.consume(&n, NODE, Enroll, NOW).is_err());
}
