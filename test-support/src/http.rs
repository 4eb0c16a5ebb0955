//! A raw HTTP/1.1 client: one request per connection (`Connection: close`), written by hand so
//! a test controls every byte that goes out, and the whole answer read back as text. The
//! control plane's tests and the end-to-end tests talk to the control plane with it.
//!
//! [`http`] sends what the dashboard's JSON client sends (a JSON content type, the session
//! cookie); [`http_with`] exactly the headers given; the `_over` forms use a stream the caller
//! opened (bound to another source address, wrapped in TLS). A connection that cannot be made
//! or breaks reads as status 0; no answer within [`WAIT`] fails the test.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long an answer may take before the test fails. Generous: debug builds on two cores,
/// with other tests running beside.
pub const WAIT: Duration = Duration::from_secs(60);

/// An HTTP answer: status 0 when there was none (nothing listening, the connection broke).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// The status line and the headers, as received.
    pub headers: String,
    pub body: String,
}

impl Reply {
    /// No answer at all.
    pub fn failed() -> Self {
        Self {
            status: 0,
            headers: String::new(),
            body: String::new(),
        }
    }

    /// The body as JSON (`null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The value of header `name` (the first one), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The whole value of the first `Set-Cookie` header, attributes included.
    pub fn set_cookie(&self) -> Option<String> {
        self.header("set-cookie").map(str::to_owned)
    }

    /// The `name=value` pair of the first `Set-Cookie` header, if any.
    pub fn cookie(&self) -> Option<String> {
        self.set_cookie()
            .map(|v| v.split(';').next().unwrap_or("").to_owned())
    }
}

/// The headers a JSON client sends: its content type and, when signed in, the session cookie.
fn json_headers(cookie: Option<&str>) -> Vec<(&str, &str)> {
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(c) = cookie {
        headers.push(("Cookie", c));
    }
    headers
}

/// One request over a fresh connection to `addr`, as the dashboard's JSON client sends it.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: Option<&str>,
) -> Reply {
    let headers = json_headers(cookie);
    http_with(addr, method, path, &headers, body.unwrap_or("")).await
}

/// One request over a fresh connection with exactly these headers (besides `Host`,
/// `Connection` and `Content-Length`).
pub async fn http_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let Ok(s) = TcpStream::connect(addr).await else {
        return Reply::failed();
    };
    http_over_with(s, &addr.to_string(), method, path, headers, body).await
}

/// [`http`] over a stream the caller opened; `host` is the `Host` header.
pub async fn http_over<S: AsyncRead + AsyncWrite + Unpin>(
    s: S,
    host: &str,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: Option<&str>,
) -> Reply {
    let headers = json_headers(cookie);
    http_over_with(s, host, method, path, &headers, body.unwrap_or("")).await
}

/// [`http_with`] over a stream the caller opened; `host` is the `Host` header.
pub async fn http_over_with<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        req.push_str(&format!("{name}: {value}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    if s.write_all(req.as_bytes()).await.is_err() {
        return Reply::failed();
    }
    let mut raw = Vec::new();
    match tokio::time::timeout(WAIT, s.read_to_end(&mut raw)).await {
        Ok(Ok(_)) => {}
        // A TLS peer that closes without close_notify still sent a whole answer.
        Ok(Err(_)) if !raw.is_empty() => {}
        Ok(Err(_)) => return Reply::failed(),
        Err(_) => panic!("{method} {path}: no answer within {WAIT:?}"),
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    Reply {
        status,
        headers: head.to_owned(),
        body,
    }
}

/// The body of a chunked answer, its chunks joined.
fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Signs in at `addr`; returns the `cairn_session=…` cookie pair, or the refusal.
pub async fn login(addr: SocketAddr, user: &str, password: &str) -> Result<String, Reply> {
    let body = json!({ "username": user, "password": password }).to_string();
    let r = http(addr, "POST", "/api/login", None, Some(&body)).await;
    if r.status != 200 {
        return Err(r);
    }
    r.cookie().ok_or(r)
}
