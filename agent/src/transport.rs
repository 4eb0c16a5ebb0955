//! Reaching the control plane: TCP, optional TLS (web PKI roots, or a pinned certificate for
//! self-signed setups), a minimal HTTP GET for the enrollment key, and the WebSocket handshake
//! with the protocol's size caps.

use std::sync::Arc;
use std::time::Duration;

use cairn_protocol::limits::MAX_FRAME_BYTES;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::error::{AgentError, Result};

/// A connection to the control plane, plain or TLS.
pub type Transport = MaybeTlsStream<TcpStream>;
/// The agent's WebSocket.
pub type Socket = WebSocketStream<Transport>;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const MAX_HTTP_RESPONSE: usize = 64 * 1024;

/// Where a base URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Path prefix without a trailing slash ("" for none).
    pub base_path: String,
}

impl Endpoint {
    /// Parses `http://host[:port][/prefix]` or `https://…`.
    pub fn parse(url: &str) -> Result<Self> {
        let bad = |why: &str| {
            AgentError::Other(format!("{url} is not a usable control plane URL: {why}"))
        };
        let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(bad("it must start with http:// or https://"));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let end = v6.find(']').ok_or_else(|| bad("unclosed [ in the host"))?;
            let port = match v6[end + 1..].strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad("bad port"))?,
                None => default_port,
            };
            (v6[..end].to_owned(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| bad("bad port"))?),
                None => (authority.to_owned(), default_port),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        Ok(Self {
            tls,
            host,
            port,
            base_path: path.to_owned(),
        })
    }

    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The URL of `path` (starting with `/`) on this endpoint, with scheme `http`/`ws`.
    pub fn url(&self, ws: bool, path: &str) -> String {
        let scheme = match (ws, self.tls) {
            (true, true) => "wss",
            (true, false) => "ws",
            (false, true) => "https",
            (false, false) => "http",
        };
        format!("{scheme}://{}{}{path}", self.authority(), self.base_path)
    }
}

/// Opens a TCP (and, for https, TLS) connection to `endpoint`.
pub async fn connect(endpoint: &Endpoint, tls_pin: Option<&str>) -> Result<Transport> {
    let target = endpoint.url(false, "");
    let fail = |reason: String| AgentError::Connect {
        url: target.clone(),
        reason,
    };
    let tcp = tokio::time::timeout(
        CONNECT_TIMEOUT,
        TcpStream::connect((endpoint.host.as_str(), endpoint.port)),
    )
    .await
    .map_err(|_| fail(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())))?
    .map_err(|e| fail(e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    if !endpoint.tls {
        return Ok(MaybeTlsStream::Plain(tcp));
    }
    let config = tls_config(tls_pin)?;
    let name = ServerName::try_from(endpoint.host.clone()).map_err(|e| {
        fail(format!(
            "{} is not a valid TLS server name: {e}",
            endpoint.host
        ))
    })?;
    let tls = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio_rustls::TlsConnector::from(config).connect(name, tcp),
    )
    .await
    .map_err(|_| fail("the TLS handshake timed out".to_owned()))?
    .map_err(|e| fail(format!("TLS: {e}")))?;
    Ok(MaybeTlsStream::Rustls(tls))
}

/// The WebSocket settings: the protocol's frame cap, and small buffers (the agent is idle most
/// of its life and should stay a few MB).
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES))
        .read_buffer_size(16 * 1024)
        .write_buffer_size(0)
}

/// Connects the agent WebSocket (`/ws/agent`).
pub async fn connect_ws(endpoint: &Endpoint, tls_pin: Option<&str>) -> Result<Socket> {
    let url = endpoint.url(true, "/ws/agent");
    let transport = connect(endpoint, tls_pin).await?;
    let (socket, _response) = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio_tungstenite::client_async_with_config(url.as_str(), transport, Some(ws_config())),
    )
    .await
    .map_err(|_| AgentError::Connect {
        url: url.clone(),
        reason: "the WebSocket handshake timed out".to_owned(),
    })?
    .map_err(|e| AgentError::Connect {
        url: url.clone(),
        reason: e.to_string(),
    })?;
    Ok(socket)
}

/// A minimal HTTP/1.1 GET (`Connection: close`), enough for the control plane's JSON routes.
/// Returns the status code and the body.
pub async fn http_get(
    endpoint: &Endpoint,
    path: &str,
    tls_pin: Option<&str>,
) -> Result<(u16, Vec<u8>)> {
    let url = endpoint.url(false, path);
    let fail = |reason: String| AgentError::Connect {
        url: url.clone(),
        reason,
    };
    let mut stream = connect(endpoint, tls_pin).await?;
    let request = format!(
        "GET {}{path} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\nConnection: close\r\nUser-Agent: cairn-agent/{}\r\n\r\n",
        endpoint.base_path,
        endpoint.authority(),
        env!("CARGO_PKG_VERSION")
    );
    let mut raw = Vec::new();
    let read = async {
        stream.write_all(request.as_bytes()).await?;
        stream.flush().await?;
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 || raw.len() > MAX_HTTP_RESPONSE {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
        }
        std::io::Result::Ok(())
    };
    tokio::time::timeout(CONNECT_TIMEOUT, read)
        .await
        .map_err(|_| fail("no complete answer in time".to_owned()))?
        .map_err(|e| fail(e.to_string()))?;
    parse_http_response(&raw).map_err(fail)
}

fn parse_http_response(raw: &[u8]) -> std::result::Result<(u16, Vec<u8>), String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the answer is not an HTTP response")?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| "the HTTP head is not text")?;
    let body = &raw[end + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad HTTP status line: {status_line}"))?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
            chunked = true;
        } else if name == "content-length" {
            length = value.parse::<usize>().ok();
        }
    }
    let body = if chunked {
        dechunk(body)?
    } else if let Some(n) = length {
        body.get(..n)
            .ok_or("the HTTP body is shorter than announced")?
            .to_vec()
    } else {
        body.to_vec()
    };
    Ok((status, body))
}

fn dechunk(mut data: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunked body")?;
        let size_text = std::str::from_utf8(&data[..eol]).map_err(|_| "bad chunk size")?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| "bad chunk size")?;
        data = &data[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(data.get(..size).ok_or("truncated chunk")?);
        data = data.get(size + 2..).ok_or("truncated chunk")?;
    }
}

/// The rustls client configuration: the web PKI roots, or only the certificate whose sha256 is
/// `pin` (hex; colons allowed).
pub fn tls_config(pin: Option<&str>) -> Result<Arc<rustls::ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| AgentError::Other(format!("TLS setup failed: {e}")))?;
    let config = match pin {
        Some(pin) => {
            let pin = parse_pin(pin)?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(PinnedCertificate {
                    pin,
                    algorithms: provider.signature_verification_algorithms,
                }))
                .with_no_client_auth()
        }
        None => {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    Ok(Arc::new(config))
}

/// Reads a certificate pin: 64 hex characters, optionally separated by colons.
pub fn parse_pin(pin: &str) -> Result<[u8; 32]> {
    let clean: String = pin.chars().filter(|c| *c != ':').collect();
    hex::decode(clean.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| {
            AgentError::Other(format!(
                "tlsPin \"{pin}\" is not a sha256 in hex (64 hex characters)"
            ))
        })
}

/// Accepts exactly one certificate, by its sha256; the handshake signature is still checked
/// against that certificate's key.
#[derive(Debug)]
struct PinnedCertificate {
    pin: [u8; 32],
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let digest = Sha256::digest(end_entity.as_ref());
        if digest.as_slice() == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "the server certificate (sha256 {}) is not the pinned one",
                hex::encode(digest)
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let e = Endpoint::parse("http://127.0.0.1:8420").expect("parse");
        assert_eq!(e.url(true, "/ws/agent"), "ws://127.0.0.1:8420/ws/agent");
        let e = Endpoint::parse("https://cp.example.invalid/cairn/").expect("parse");
        assert_eq!(e.port, 443);
        assert_eq!(
            e.url(true, "/ws/agent"),
            "wss://cp.example.invalid:443/cairn/ws/agent"
        );
        let e = Endpoint::parse("http://[::1]:9/").expect("parse");
        assert_eq!(e.url(false, "/x"), "http://[::1]:9/x");
        assert!(Endpoint::parse("ftp://x").is_err());
    }

    #[test]
    fn parses_http_responses() {
        let raw = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokEXTRA";
        assert_eq!(parse_http_response(raw), Ok((200, b"ok".to_vec())));
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(parse_http_response(raw), Ok((200, b"abcde".to_vec())));
    }
}
