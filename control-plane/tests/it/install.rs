//! `install.sh` and the agent's two downloads (the agent and its worker): the script is rendered
//! for this control plane and pins both served binaries' sha256; each download serves exactly
//! its file; a missing binary is a sentence, in the script and on its download routes. (The
//! script running on a real Debian 11 system is the e2e test `install::…` in `tests/`.)

use sha2::{Digest, Sha256};

use crate::util::{TestServer, http};

const DOWNLOAD: &str = "/downloads/cairn-agent-x86_64-linux-gnu";
const WORKER_DOWNLOAD: &str = "/downloads/cairn-agent-worker-x86_64-linux-gnu";
/// Where the control plane looks for the worker: next to the agent binary, under this name.
const WORKER_FILE: &str = "cairn-agent-worker-x86_64-linux-gnu";

/// ASCII (so the test client's text body is the bytes), `len` long, starting at `first`.
fn ascii(len: u32, first: u8) -> Vec<u8> {
    (0..len).map(|i| first + (i % 26) as u8).collect()
}

#[tokio::test]
async fn install_sh_pins_both_served_binaries_and_the_key_id() {
    let bytes = ascii(100_000, b'a');
    let worker_bytes = ascii(70_000, b'A');
    let bin_dir = tempfile::tempdir().expect("tmp");
    let bin = bin_dir.path().join("agent");
    std::fs::write(&bin, &bytes).expect("write binary");
    std::fs::write(bin_dir.path().join(WORKER_FILE), &worker_bytes).expect("write worker");
    let sha = hex::encode(Sha256::digest(&bytes));
    let worker_sha = hex::encode(Sha256::digest(&worker_bytes));
    assert_ne!(sha, worker_sha);
    let path = bin.clone();
    let mut srv = TestServer::start_with(move |c| c.agent_binary = path).await;

    let key = http(srv.addr, "GET", "/api/control-plane-key", None, None)
        .await
        .json();
    let script = http(srv.addr, "GET", "/install.sh", None, None).await;
    assert_eq!(script.status, 200);
    assert!(
        script.headers.contains("text/x-shellscript"),
        "{}",
        script.headers
    );
    let body = &script.body;
    assert!(
        body.contains(&format!("CAIRN_URL='http://{}'", srv.addr)),
        "{body}"
    );
    let key_id = key["keyId"].as_str().expect("keyId");
    assert!(body.contains(&format!("CAIRN_KEY_ID='{key_id}'")), "{body}");
    assert!(body.contains(&format!("AGENT_SHA256='{sha}'")), "{body}");
    assert!(body.contains(&format!("AGENT_PATH='{DOWNLOAD}'")), "{body}");
    assert!(
        body.contains(&format!("WORKER_SHA256='{worker_sha}'")),
        "{body}"
    );
    assert!(
        body.contains(&format!("WORKER_PATH='{WORKER_DOWNLOAD}'")),
        "{body}"
    );

    // Each download is its file, byte for byte, as a binary never cached stale; the checksum
    // routes agree.
    for (path, sha) in [(DOWNLOAD, &sha), (WORKER_DOWNLOAD, &worker_sha)] {
        let dl = http(srv.addr, "GET", path, None, None).await;
        assert_eq!(dl.status, 200, "{path}");
        assert_eq!(
            &hex::encode(Sha256::digest(dl.body.as_bytes())),
            sha,
            "{path}"
        );
        assert!(
            dl.headers.contains("application/octet-stream"),
            "{path}: {}",
            dl.headers
        );
        assert!(dl.headers.contains("no-cache"), "{path}: {}", dl.headers);
        let sum = http(srv.addr, "GET", &format!("{path}.sha256"), None, None).await;
        assert_eq!(sum.status, 200, "{path}");
        let name = path.trim_start_matches("/downloads/");
        assert_eq!(sum.body, format!("{sha}  {name}\n"));
    }

    // A rebuilt binary is picked up without a restart.
    std::fs::write(&bin, b"rebuilt").expect("rewrite");
    let new_sha = hex::encode(Sha256::digest(b"rebuilt"));
    let body = http(srv.addr, "GET", "/install.sh", None, None).await.body;
    assert!(
        body.contains(&format!("AGENT_SHA256='{new_sha}'")),
        "{body}"
    );
    std::fs::write(bin_dir.path().join(WORKER_FILE), b"rebuilt worker").expect("rewrite");
    let new_worker_sha = hex::encode(Sha256::digest(b"rebuilt worker"));
    let body = http(srv.addr, "GET", "/install.sh", None, None).await.body;
    assert!(
        body.contains(&format!("WORKER_SHA256='{new_worker_sha}'")),
        "{body}"
    );
    srv.stop().await;
}

#[tokio::test]
async fn without_a_binary_the_script_and_the_download_say_how_to_provide_one() {
    let mut srv = TestServer::start().await;
    let script = http(srv.addr, "GET", "/install.sh", None, None).await;
    assert_eq!(script.status, 200);
    assert!(script.body.contains("AGENT_SHA256=''"), "{}", script.body);
    assert!(script.body.contains("WORKER_SHA256=''"), "{}", script.body);
    assert!(
        script.body.contains("has no agent binary to serve"),
        "{}",
        script.body
    );
    for path in [DOWNLOAD.to_owned(), format!("{DOWNLOAD}.sha256")] {
        let r = http(srv.addr, "GET", &path, None, None).await;
        assert_eq!(r.status, 404, "{path}");
        let error = r.json()["error"].as_str().unwrap_or("").to_owned();
        assert!(error.contains("--agent-binary"), "{path}: {error}");
    }
    srv.stop().await;
}

#[tokio::test]
async fn an_agent_without_its_worker_beside_it_is_not_installable_and_says_where_the_worker_goes() {
    let bin_dir = tempfile::tempdir().expect("tmp");
    let bin = bin_dir.path().join("cairn-agent-x86_64-linux-gnu");
    std::fs::write(&bin, ascii(1_000, b'a')).expect("write binary");
    let path = bin.clone();
    let mut srv = TestServer::start_with(move |c| c.agent_binary = path).await;

    // The script pins the agent but has no worker to pin: it stops before installing anything.
    let script = http(srv.addr, "GET", "/install.sh", None, None).await;
    assert_eq!(script.status, 200);
    assert!(!script.body.contains("AGENT_SHA256=''"), "{}", script.body);
    assert!(script.body.contains("WORKER_SHA256=''"), "{}", script.body);
    assert!(
        script.body.contains("has no agent worker binary to serve"),
        "{}",
        script.body
    );
    // The agent itself is still served; the worker's routes say where it must be.
    assert_eq!(
        http(srv.addr, "GET", DOWNLOAD, None, None).await.status,
        200
    );
    let expected = bin_dir.path().join(WORKER_FILE);
    for path in [
        WORKER_DOWNLOAD.to_owned(),
        format!("{WORKER_DOWNLOAD}.sha256"),
    ] {
        let r = http(srv.addr, "GET", &path, None, None).await;
        assert_eq!(r.status, 404, "{path}");
        let error = r.json()["error"].as_str().unwrap_or("").to_owned();
        assert!(
            error.contains(&format!("({} does not exist)", expected.display())),
            "{path}: {error}"
        );
        assert!(
            error.contains("next to the agent binary"),
            "{path}: {error}"
        );
    }

    // Put beside the agent, it is served without a restart.
    std::fs::write(&expected, b"worker").expect("write worker");
    let r = http(srv.addr, "GET", WORKER_DOWNLOAD, None, None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "worker");
    srv.stop().await;
}
