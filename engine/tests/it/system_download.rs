//! `download` against a real HTTP server on 127.0.0.1.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use cairn_engine::system::download::{download, download_limited};
use cairn_engine::{HostError, PlannedAction};
use common::{RealExec, TestServer};
use sha2::{Digest, Sha256};

const BODY: &[u8] = b"pretend this is a release tarball\n";

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The names in `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn matching_checksum_puts_the_file_in_place() {
    let server = TestServer::start(BODY);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("tool.tar.gz");
    let exec = RealExec::new();

    // Upper-case hex is accepted too.
    download(&exec, &server.url, &dest, &sha(BODY).to_uppercase()).unwrap();

    assert_eq!(std::fs::read(&dest).unwrap(), BODY);
    assert_eq!(entries(dir.path()), ["tool.tar.gz"]);
    let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(server.hits(), 1);
}

#[test]
fn wrong_checksum_deletes_the_download_and_keeps_dest() {
    let server = TestServer::start(BODY);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("tool.tar.gz");
    let wrong = sha(b"something else");
    let exec = RealExec::new();

    let err = download(&exec, &server.url, &dest, &wrong).unwrap_err();
    match &err {
        HostError::ChecksumMismatch {
            expected, actual, ..
        } => {
            assert_eq!(expected, &wrong);
            assert_eq!(actual, &sha(BODY));
        }
        other => panic!("expected ChecksumMismatch, got {other:?}"),
    }
    assert!(!dest.exists());
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));

    // An existing file at dest is left exactly as it was.
    std::fs::write(&dest, b"the old version").unwrap();
    download(&exec, &server.url, &dest, &wrong).unwrap_err();
    assert_eq!(std::fs::read(&dest).unwrap(), b"the old version");
    assert_eq!(entries(dir.path()), ["tool.tar.gz"]);
}

#[test]
fn malformed_checksum_is_refused_before_any_request() {
    let server = TestServer::start(BODY);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("tool.tar.gz");
    let good = sha(BODY);
    for bad in [
        "",
        "abc",
        &good[..63],
        &format!("{good}0"),
        &format!("{}g", &good[..63]),
    ] {
        let exec = RealExec::new();
        let err = download(&exec, &server.url, &dest, bad).unwrap_err();
        assert!(matches!(err, HostError::Invalid(_)), "{bad}: {err:?}");
    }
    assert_eq!(server.hits(), 0);
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn only_http_and_https_are_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("passwd");
    for url in [
        "file:///etc/passwd",
        "ftp://example.invalid/x",
        "/etc/passwd",
        "httpx://x",
    ] {
        let err = download(&RealExec::new(), url, &dest, &sha(BODY)).unwrap_err();
        assert!(matches!(err, HostError::Invalid(_)), "{url}: {err:?}");
        // Refused in plan mode too: a plan must not promise what the run would refuse.
        let plan = RealExec::plan();
        assert!(download(&plan, url, &dest, &sha(BODY)).is_err());
        assert!(plan.planned.lock().unwrap().is_empty());
    }
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn plan_mode_records_and_fetches_nothing() {
    let server = TestServer::start(BODY);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("tool.tar.gz");
    let exec = RealExec::plan();

    download(&exec, &server.url, &dest, &sha(BODY)).unwrap();

    assert_eq!(
        *exec.planned.lock().unwrap(),
        [PlannedAction::Download {
            url: server.url.clone(),
            dest: dest.display().to_string(),
            sha256: sha(BODY),
        }]
    );
    assert_eq!(server.hits(), 0);
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn a_body_over_the_size_cap_is_refused() {
    let server = TestServer::start(BODY);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("tool.tar.gz");
    let exec = RealExec::new();

    let err = download_limited(&exec, &server.url, &dest, &sha(BODY), 10).unwrap_err();

    assert!(matches!(err, HostError::Download { .. }), "{err:?}");
    assert!(err.to_string().contains("limit"), "{err}");
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn a_body_without_length_is_capped_while_streaming() {
    let server = TestServer::start_without_length(BODY);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("tool.tar.gz");
    let exec = RealExec::new();

    let err = download_limited(&exec, &server.url, &dest, &sha(BODY), 10).unwrap_err();
    assert!(err.to_string().contains("larger than the limit"), "{err}");
    assert!(entries(dir.path()).is_empty());

    // Without a cap problem the same server's body arrives whole.
    download(&exec, &server.url, &dest, &sha(BODY)).unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), BODY);
}

#[test]
fn a_cancelled_job_downloads_nothing() {
    let server = TestServer::start(BODY);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("tool.tar.gz");
    let cancel = cairn_engine::CancelToken::new();
    cancel.cancel();
    let exec = RealExec::with_cancel(cancel, false);

    let err = download(&exec, &server.url, &dest, &sha(BODY)).unwrap_err();

    assert!(matches!(err, HostError::Cancelled), "{err:?}");
    assert_eq!(server.hits(), 0);
    assert!(entries(dir.path()).is_empty());
}
