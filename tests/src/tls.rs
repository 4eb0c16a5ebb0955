//! TLS for the tests of a control plane that serves it: a self-signed certificate for
//! 127.0.0.1 with its pin, and HTTPS requests through the agent's own pinned-certificate client.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::{Reply, http_over};

/// A self-signed certificate for 127.0.0.1 and its sha256 pin, written to files.
#[derive(Debug, Clone)]
pub struct TlsCert {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// sha256 of the DER certificate, hex: what `cairn-agent enroll --tls-pin` takes.
    pub pin: String,
}

impl TlsCert {
    /// Makes a new self-signed certificate for `127.0.0.1` and `localhost` in `dir`.
    pub fn self_signed(dir: &Path) -> Self {
        use sha2::Digest;
        let made = rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
        ])
        .expect("a self-signed certificate");
        let (cert, key) = (dir.join("tls.crt"), dir.join("tls.key"));
        std::fs::write(&cert, made.cert.pem()).expect("write tls.crt");
        std::fs::write(&key, made.signing_key.serialize_pem()).expect("write tls.key");
        let pin = hex::encode(sha2::Sha256::digest(made.cert.der()));
        Self { cert, key, pin }
    }
}

/// [`http`](crate::http) over TLS, trusting only the certificate whose sha256 is `pin` (the agent's own
/// pinned-certificate client); status 0 if nothing listens or the handshake fails.
pub async fn https(
    addr: SocketAddr,
    pin: &str,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: Option<&str>,
) -> Reply {
    let endpoint = cairn_agent::transport::Endpoint::parse(&format!("https://{addr}"))
        .expect("an https endpoint");
    match cairn_agent::transport::connect(&endpoint, Some(pin)).await {
        Ok(s) => http_over(s, &addr.to_string(), method, path, cookie, body).await,
        Err(_) => Reply::failed(),
    }
}
