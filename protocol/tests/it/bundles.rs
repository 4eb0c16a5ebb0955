//! Recipe bundles: threats.md rows 1 (tampering), 2 (header tampering), 3 (wrong key),
//! 7 (expiry), 8 (mix-and-match), 10 (oversize).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use cairn_protocol::{KeyPair, ProtocolError, SignedBundle, UnsignedBundle, limits};
use serde_json::Value;

use crate::util::*;

fn edit_file(b: &mut SignedBundle, name: &str, f: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = B64.decode(&b.files[name]).unwrap();
    f(&mut bytes);
    b.files.insert(name.into(), B64.encode(bytes));
}

fn edit_header(b: &mut SignedBundle, f: impl FnOnce(&mut Value)) {
    let mut header: Value = serde_json::from_slice(&B64.decode(&b.header).unwrap()).unwrap();
    f(&mut header);
    b.header = B64.encode(serde_json::to_vec(&header).unwrap());
}

#[test]
fn valid_bundle_verifies_and_round_trips_through_bytes() {
    let k = key(1);
    let b = bundle(&k, 5);
    let again = SignedBundle::from_bytes(b.to_json().as_bytes()).unwrap();
    let v = again.verify(&ring(&k), NOW + 1).unwrap();
    assert_eq!(v.header().recipe_id, "redis");
    assert_eq!(v.header().version, 5);
    assert_eq!(v.recipe().name, "redis.rhai");
    assert_eq!(v.recipe().bytes, SCRIPT);
    assert_eq!(v.file("redis.conf.j2").unwrap().bytes, TEMPLATE);
    assert_eq!(v.header().capabilities.programs, ["apt-get", "systemctl"]);
    assert_eq!(v.header().key_id, k.key_id().as_str());
}

#[test]
fn one_flipped_byte_in_the_script_is_rejected() {
    let k = key(1);
    for i in 0..SCRIPT.len() {
        let mut b = bundle(&k, 5);
        edit_file(&mut b, "redis.rhai", |s| s[i] ^= 0x01);
        let err = b.verify(&ring(&k), NOW).unwrap_err();
        assert!(
            matches!(err, ProtocolError::HashMismatch { ref name, .. } if name == "redis.rhai"),
            "byte {i}: {err}"
        );
    }
}

#[test]
fn one_flipped_byte_in_a_template_is_rejected() {
    let k = key(1);
    let mut b = bundle(&k, 5);
    edit_file(&mut b, "redis.conf.j2", |s| s[0] ^= 0x80);
    let err = b.verify(&ring(&k), NOW).unwrap_err();
    assert!(err.to_string().contains("redis.conf.j2"), "{err}");
}

#[test]
fn header_tampering_is_rejected_by_the_signature() {
    let k = key(1);
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("version", Box::new(|h| h["version"] = 6.into())),
        (
            "expiry",
            Box::new(|h| h["expiresAt"] = (NOW + 3650 * DAY).into()),
        ),
        (
            "capabilities",
            Box::new(|h| h["capabilities"]["programs"] = serde_json::json!(["apt-get", "bash"])),
        ),
        (
            "recipe id",
            Box::new(|h| h["recipeId"] = "postgresql".into()),
        ),
    ];
    for (what, edit) in cases {
        let mut b = bundle(&k, 5);
        edit_header(&mut b, edit);
        let err = b.verify(&ring(&k), NOW).unwrap_err();
        assert!(
            matches!(err, ProtocolError::BadSignature { .. }),
            "{what}: {err}"
        );
        assert_eq!(
            err.to_string(),
            format!("bundle signature does not verify with key {}", k.key_id())
        );
    }
}

#[test]
fn a_bundle_signed_by_another_key_is_rejected() {
    let trusted = key(1);
    let attacker = KeyPair::generate().unwrap();
    // Honest key id of the attacker's key: unknown.
    let b = bundle(&attacker, 5);
    let err = b.verify(&ring(&trusted), NOW).unwrap_err();
    assert!(matches!(err, ProtocolError::UnknownKey { .. }), "{err}");
    // Claiming the trusted key id: the signature does not verify.
    let mut b = bundle(&attacker, 5);
    b.key_id = trusted.key_id().to_string();
    let err = b.verify(&ring(&trusted), NOW).unwrap_err();
    assert!(matches!(err, ProtocolError::BadSignature { .. }), "{err}");
}

#[test]
fn an_envelope_key_id_that_differs_from_the_signed_one_is_rejected() {
    // Two trusted keys; the header names key 1 and is signed by key 1; the envelope claims key 2
    // while carrying a signature by key 2 over the same header: key-id confusion.
    let k1 = key(1);
    let k2 = key(2);
    let mut b = bundle(&k1, 5);
    let header = B64.decode(&b.header).unwrap();
    b.key_id = k2.key_id().to_string();
    b.signature = B64.encode(k2.sign(cairn_protocol::keys::DOMAIN_BUNDLE, &header));
    let both = cairn_protocol::KeyRing::new([k1.public().clone(), k2.public().clone()]);
    let err = b.verify(&both, NOW).unwrap_err();
    assert!(err.to_string().contains("differs"), "{err}");
}

#[test]
fn expired_and_not_yet_valid_bundles_are_rejected() {
    let k = key(1);
    let b = bundle(&k, 5);
    let late = NOW + 30 * DAY + limits::CLOCK_SKEW_SECS + 1;
    let err = b.verify(&ring(&k), late).unwrap_err();
    assert!(matches!(err, ProtocolError::Expired { .. }), "{err}");
    // Inside the skew allowance: still accepted.
    b.verify(&ring(&k), NOW + 30 * DAY + limits::CLOCK_SKEW_SECS)
        .unwrap();
    let early = NOW - limits::CLOCK_SKEW_SECS - 1;
    let err = b.verify(&ring(&k), early).unwrap_err();
    assert!(matches!(err, ProtocolError::NotYetValid { .. }), "{err}");
}

#[test]
fn a_file_not_in_the_manifest_is_rejected() {
    let k = key(1);
    let mut b = bundle(&k, 5);
    b.files
        .insert("evil.rhai".into(), B64.encode(b"run(\"bash\")"));
    let err = b.verify(&ring(&k), NOW).unwrap_err();
    assert!(
        matches!(err, ProtocolError::UnlistedFile { ref name } if name == "evil.rhai"),
        "{err}"
    );
}

#[test]
fn a_missing_file_is_rejected() {
    let k = key(1);
    let mut b = bundle(&k, 5);
    b.files.remove("redis.conf.j2");
    let err = b.verify(&ring(&k), NOW).unwrap_err();
    assert!(matches!(err, ProtocolError::MissingFile { .. }), "{err}");
}

#[test]
fn a_file_from_an_older_bundle_is_rejected() {
    let k = key(1);
    let mut old = unsigned(4);
    old.files[1].1 = b"bind 0.0.0.0\nprotected-mode no\n".to_vec();
    let old = old.sign(&k).unwrap();
    old.verify(&ring(&k), NOW).unwrap();
    // New files with the old template.
    let mut b = bundle(&k, 5);
    b.files
        .insert("redis.conf.j2".into(), old.files["redis.conf.j2"].clone());
    assert!(matches!(
        b.verify(&ring(&k), NOW).unwrap_err(),
        ProtocolError::HashMismatch { .. }
    ));
    // Old signed header with new files, and new header with old files.
    let mut b = bundle(&k, 5);
    b.header = old.header.clone();
    b.signature = old.signature.clone();
    assert!(b.verify(&ring(&k), NOW).is_err());
}

#[test]
fn file_names_that_could_name_a_path_cannot_be_signed() {
    let k = key(1);
    for bad in ["../x.rhai", "a/b.j2", ".hidden", ""] {
        let mut u = unsigned(5);
        u.files.push((bad.into(), b"x".to_vec()));
        assert!(u.sign(&k).is_err(), "{bad:?}");
    }
    let mut u = unsigned(5);
    u.files.swap(0, 1);
    assert!(u.sign(&k).is_err(), "the recipe must come first");
}

#[test]
fn a_100_mib_bundle_is_refused_at_the_cap_before_parsing() {
    // Invalid JSON: if it were parsed the error would be a JSON error, not TooLarge.
    let huge = vec![b'{'; 100 * 1024 * 1024];
    let start = std::time::Instant::now();
    let err = SignedBundle::from_bytes(&huge).unwrap_err();
    assert!(
        matches!(err, ProtocolError::TooLarge { limit, .. } if limit == limits::MAX_BUNDLE_BYTES),
        "{err}"
    );
    assert!(
        start.elapsed().as_millis() < 100,
        "the cap must not read the bytes"
    );
}

#[test]
fn a_bundle_larger_than_the_cap_cannot_be_signed() {
    let k = key(1);
    let mut u: UnsignedBundle = unsigned(5);
    u.files
        .push(("big.j2".into(), vec![b'a'; limits::MAX_BUNDLE_BYTES]));
    assert!(matches!(
        u.sign(&k).unwrap_err(),
        ProtocolError::TooLarge { .. }
    ));
}
