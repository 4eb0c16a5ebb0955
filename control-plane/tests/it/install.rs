//! `install.sh` and the agent download: the script is rendered for this control plane and
//! pins the served binary's sha256; the download serves exactly that file; a missing binary is
//! a sentence, in the script and on the download route. (The script running on a real Debian
//! 11 system is the e2e test `install::…` in `tests/`.)

use sha2::{Digest, Sha256};

use crate::util::{TestServer, http};

const DOWNLOAD: &str = "/downloads/cairn-agent-x86_64-linux-gnu";

#[tokio::test]
async fn install_sh_pins_the_served_binary_and_the_key_id() {
    // ASCII, so the test client's text body is the bytes.
    let bytes: Vec<u8> = (0..100_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let bin_dir = tempfile::tempdir().expect("tmp");
    let bin = bin_dir.path().join("agent");
    std::fs::write(&bin, &bytes).expect("write binary");
    let sha = hex::encode(Sha256::digest(&bytes));
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

    // The download is the file, byte for byte; the checksum route agrees.
    let dl = http(srv.addr, "GET", DOWNLOAD, None, None).await;
    assert_eq!(dl.status, 200);
    assert_eq!(hex::encode(Sha256::digest(dl.body.as_bytes())), sha);
    let sum = http(srv.addr, "GET", &format!("{DOWNLOAD}.sha256"), None, None).await;
    assert_eq!(sum.body, format!("{sha}  cairn-agent-x86_64-linux-gnu\n"));

    // A rebuilt binary is picked up without a restart.
    std::fs::write(&bin, b"rebuilt").expect("rewrite");
    let new_sha = hex::encode(Sha256::digest(b"rebuilt"));
    let body = http(srv.addr, "GET", "/install.sh", None, None).await.body;
    assert!(
        body.contains(&format!("AGENT_SHA256='{new_sha}'")),
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
