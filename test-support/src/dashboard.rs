//! The dashboard's WebSocket (`/ws/dashboard`) as a browser opens it: the session cookie and
//! the page's `Origin` on the upgrade request. Reading and writing messages is each suite's
//! own (the end-to-end `Dashboard` records everything it sees; the control plane's tests read
//! one message at a time).

use std::net::SocketAddr;

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A client WebSocket over plain TCP.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The upgrade request for `url` (`ws://…/ws/dashboard` or `wss://…`), with `cookie` when
/// given and `origin`.
pub fn request(url: &str, cookie: Option<&str>, origin: &str) -> Request {
    let mut req = url.into_client_request().expect("a WebSocket request");
    if let Some(c) = cookie {
        req.headers_mut()
            .insert("cookie", c.parse().expect("a cookie header"));
    }
    req.headers_mut()
        .insert("origin", origin.parse().expect("an origin header"));
    req
}

/// Opens `ws://addr/ws/dashboard` with `cookie` and `origin`; the refusal when the upgrade is
/// refused.
pub async fn connect(
    addr: SocketAddr,
    cookie: Option<&str>,
    origin: &str,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let req = request(&format!("ws://{addr}/ws/dashboard"), cookie, origin);
    tokio_tungstenite::connect_async(req)
        .await
        .map(|(ws, _)| ws)
}
