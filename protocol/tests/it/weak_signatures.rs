//! threats.md row 4: weak signatures. Each case builds the bytes explicitly and shows that a lax
//! verifier (`verify`) would accept them where Cairn's (`verify_strict`) refuses.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use cairn_protocol::keys::{DOMAIN_BUNDLE, verify_strict_raw};
use cairn_protocol::{KeyRing, ProtocolError, PublicKey};
use curve25519_dalek::Scalar;
use ed25519_dalek::{Signature, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha512};

use crate::util::*;

const IDENTITY: [u8; 32] = {
    let mut b = [0u8; 32];
    b[0] = 1;
    b
};

/// The eight small-order points' canonical encodings (and a non-canonical one).
const SMALL_ORDER: [&str; 8] = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
];

fn with_domain(msg: &[u8]) -> Vec<u8> {
    [DOMAIN_BUNDLE, msg].concat()
}

#[test]
fn small_order_public_keys_are_refused() {
    for hex_key in SMALL_ORDER {
        let bytes: [u8; 32] = hex::decode(hex_key).unwrap().try_into().unwrap();
        let err = PublicKey::from_bytes(&bytes).unwrap_err();
        assert!(
            matches!(
                err,
                ProtocolError::WeakKey { .. } | ProtocolError::Malformed { .. }
            ),
            "{hex_key}: {err}"
        );
    }
}

#[test]
fn identity_key_with_identity_r_and_zero_s_verifies_laxly_but_not_strictly() {
    // R = identity, s = 0: sB = 0 = R + k·A for A = identity, for every message.
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&IDENTITY);
    let msg = b"any header at all";
    let lax = VerifyingKey::from_bytes(&IDENTITY).unwrap();
    assert!(
        lax.verify(&with_domain(msg), &Signature::from_bytes(&sig))
            .is_ok(),
        "the forged bytes must be a valid lax signature, or the test proves nothing"
    );
    assert!(!verify_strict_raw(&IDENTITY, DOMAIN_BUNDLE, msg, &sig));
}

/// A signature by `sk` over `msg` whose R is the identity point (small order): s = k·a, so
/// s·B = k·A = R + k·A holds.
fn small_order_r_signature(sk: &SigningKey, msg: &[u8]) -> [u8; 64] {
    let a = sk.to_scalar();
    let public = sk.verifying_key().to_bytes();
    let mut h = Sha512::new();
    h.update(IDENTITY);
    h.update(public);
    h.update(msg);
    let mut wide = [0u8; 64];
    wide.copy_from_slice(&h.finalize());
    let k = Scalar::from_bytes_mod_order_wide(&wide);
    let s = k * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&IDENTITY);
    sig[32..].copy_from_slice(s.as_bytes());
    sig
}

#[test]
fn small_order_r_is_refused_even_with_an_honest_key() {
    let sk = SigningKey::from_bytes(&[1; 32]);
    let k = key(1);
    let b = bundle(&k, 5);
    let header = B64.decode(&b.header).unwrap();
    let sig = small_order_r_signature(&sk, &with_domain(&header));
    assert!(
        sk.verifying_key()
            .verify(&with_domain(&header), &Signature::from_bytes(&sig))
            .is_ok(),
        "lax verification accepts a small-order R"
    );
    assert!(!verify_strict_raw(
        &sk.verifying_key().to_bytes(),
        DOMAIN_BUNDLE,
        &header,
        &sig
    ));
    // And through the bundle path.
    let mut forged = b.clone();
    forged.signature = B64.encode(sig);
    let err = forged.verify(&ring(&k), NOW).unwrap_err();
    assert!(matches!(err, ProtocolError::BadSignature { .. }), "{err}");
}

/// l, the order of the prime-order subgroup, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

#[test]
fn non_canonical_s_is_refused() {
    let k = key(1);
    let b = bundle(&k, 5);
    let header = B64.decode(&b.header).unwrap();
    let good: [u8; 64] = B64.decode(&b.signature).unwrap().try_into().unwrap();
    assert!(verify_strict_raw(
        &k.public().to_bytes(),
        DOMAIN_BUNDLE,
        &header,
        &good
    ));
    // s' = s + l: the same scalar mod l, but not its canonical encoding.
    let mut bad = good;
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(bad[32 + i]) + u16::from(L[i]) + carry;
        bad[32 + i] = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    assert_ne!(bad, good);
    assert!(!verify_strict_raw(
        &k.public().to_bytes(),
        DOMAIN_BUNDLE,
        &header,
        &bad
    ));
    let mut forged = b.clone();
    forged.signature = B64.encode(bad);
    let err = forged.verify(&ring(&k), NOW).unwrap_err();
    assert!(matches!(err, ProtocolError::BadSignature { .. }), "{err}");
}

#[test]
fn a_weak_key_cannot_enter_a_key_ring_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weak.pub");
    std::fs::write(&path, format!("{}\n", hex::encode(IDENTITY))).unwrap();
    let err = PublicKey::read_file(&path).unwrap_err();
    assert!(matches!(err, ProtocolError::WeakKey { .. }), "{err}");
    let _ = KeyRing::default();
}
