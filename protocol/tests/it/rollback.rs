//! threats.md row 5: rollback, across a restart (the store is dropped and reopened from disk).

use std::sync::Arc;

use cairn_protocol::{ProtocolError, RollbackStore, open_bundle};

use crate::util::*;

#[test]
fn version_survives_a_restart_and_older_versions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rollback.json");
    {
        let store = RollbackStore::open(&path).unwrap();
        store.check_and_record("redis", 5).unwrap();
    } // "process exit"
    let store = RollbackStore::open(&path).unwrap();
    assert_eq!(store.highest("redis"), Some(5));
    let err = store.check_and_record("redis", 4).unwrap_err();
    assert_eq!(
        err.to_string(),
        "bundle for redis version 4 is older than version 5 already run on this server"
    );
    store.check_and_record("redis", 5).unwrap();
    store.check_and_record("redis", 6).unwrap();
    // Other recipes are independent.
    store.check_and_record("postgresql", 1).unwrap();
    drop(store);
    let store = RollbackStore::open(&path).unwrap();
    assert_eq!(store.highest("redis"), Some(6));
    assert_eq!(store.highest("postgresql"), Some(1));
    assert!(!dir.path().join("rollback.tmp").exists());
}

#[test]
fn a_validly_signed_older_bundle_is_refused_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rollback.json");
    let k = key(1);
    {
        let store = RollbackStore::open(&path).unwrap();
        let v = open_bundle(&bundle(&k, 5), &ring(&k), &store, NOW).unwrap();
        assert_eq!(v.header().version, 5);
    }
    let store = RollbackStore::open(&path).unwrap();
    let old = bundle(&k, 4);
    old.verify(&ring(&k), NOW).unwrap(); // validly signed…
    let err = open_bundle(&old, &ring(&k), &store, NOW).unwrap_err(); // …but older
    assert!(
        matches!(err, ProtocolError::Rollback { highest: 5, .. }),
        "{err}"
    );
    open_bundle(&bundle(&k, 5), &ring(&k), &store, NOW).unwrap();
    open_bundle(&bundle(&k, 6), &ring(&k), &store, NOW).unwrap();
    assert_eq!(store.highest("redis"), Some(6));
}

#[test]
fn a_rejected_bundle_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = RollbackStore::open(&dir.path().join("r.json")).unwrap();
    let k = key(1);
    let mut b = bundle(&k, 9);
    let mut sig =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &b.signature).unwrap();
    sig[10] ^= 1;
    b.signature = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, sig);
    assert!(open_bundle(&b, &ring(&k), &store, NOW).is_err());
    assert_eq!(store.highest("redis"), None);
    assert!(!dir.path().join("r.json").exists());
}

#[test]
fn a_corrupt_state_file_is_an_error_not_an_empty_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rollback.json");
    for content in [
        "garbage",
        "{\"format\":\"cairn-rollback-v1\",\"highest\":{\"redis\":5,\"redis\":1}}",
        "{\"format\":\"other\",\"highest\":{}}",
    ] {
        std::fs::write(&path, content).unwrap();
        assert!(RollbackStore::open(&path).is_err(), "{content}");
    }
}

#[test]
fn concurrent_jobs_keep_the_highest_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rollback.json");
    let store = Arc::new(RollbackStore::open(&path).unwrap());
    let handles: Vec<_> = (1..=16u64)
        .map(|v| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || store.check_and_record("redis", v).is_ok())
        })
        .collect();
    let accepted = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|ok| *ok)
        .count();
    assert!(accepted >= 1);
    assert_eq!(store.highest("redis"), Some(16));
    drop(store);
    assert_eq!(
        RollbackStore::open(&path).unwrap().highest("redis"),
        Some(16)
    );
}
