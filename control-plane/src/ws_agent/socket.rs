//! The agent's WebSocket itself: the RFC 6455 upgrade of `/ws/agent` and the socket's buffer
//! sizes. Done here rather than with warp's `ws()` filter, whose configuration cannot set
//! tungstenite's read chunk or write buffering; at 10,000 agents those defaults cost about
//! 240 kB of resident memory per connection (`BENCHMARKS.md`, issue 8). The protocol on top is
//! the parent module's [`serve`].

use std::net::SocketAddr;
use std::sync::Arc;

use cairn_protocol::limits::MAX_FRAME_BYTES;
use futures_util::SinkExt;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use warp::Reply;
use warp::http::{HeaderMap, StatusCode};
use warp::reply::Response;

use super::serve;
use crate::app::App;
use crate::gate::Conn;
use crate::web::json_error;

/// An agent's WebSocket, upgraded by [`upgrade`] itself rather than warp's `ws()` filter,
/// whose configuration cannot set tungstenite's buffer sizes.
pub(super) type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Bytes read from the socket at a time. tungstenite zero-fills this much of its read buffer
/// before every read and keeps it for the connection's life: its 128 KiB default cost 1.25 GB
/// of resident memory with 10,000 agents connected. Larger frames still arrive whole (the
/// buffer grows for them).
const READ_CHUNK: usize = 4 * 1024;

/// Frames larger than this go out as fragments of this size. tungstenite's write buffer keeps
/// the capacity of the largest frame written through it, and every `GET_SERVER_STATUS` carries
/// all published recipes' bundles (tens of kB): one such frame per connection made the write
/// buffers alone about 80 kB per agent.
const FRAGMENT: usize = 4 * 1024;

fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_CHUNK)
        .write_buffer_size(0)
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES))
}

/// Sends `text` as one WebSocket message, fragmented above [`FRAGMENT`] bytes.
pub(super) async fn send_text(
    ws: &mut Socket,
    text: String,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    if text.len() <= FRAGMENT {
        return ws.send(WsMessage::text(text)).await;
    }
    let bytes = bytes::Bytes::from(text);
    let mut offset = 0;
    while offset < bytes.len() {
        let end = (offset + FRAGMENT).min(bytes.len());
        let opcode = if offset == 0 {
            Data::Text
        } else {
            Data::Continue
        };
        let frame = Frame::message(
            bytes.slice(offset..end),
            OpCode::Data(opcode),
            end == bytes.len(),
        );
        ws.feed(WsMessage::Frame(frame)).await?;
        offset = end;
    }
    ws.flush().await
}

fn header_has(headers: &HeaderMap, name: &str, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

/// Upgrades to an agent connection (RFC 6455 handshake), or refuses a request that is not a
/// WebSocket upgrade.
pub fn upgrade(
    headers: &HeaderMap,
    on_upgrade: Option<OnUpgrade>,
    app: Arc<App>,
    peer: Option<SocketAddr>,
    conn: Option<Conn>,
) -> Response {
    let key = headers
        .get("sec-websocket-key")
        .map(|k| k.as_bytes().to_vec());
    let (Some(key), Some(on_upgrade)) = (key, on_upgrade) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "this address takes a WebSocket upgrade",
        );
    };
    if !header_has(headers, "connection", "upgrade")
        || !header_has(headers, "upgrade", "websocket")
        || !header_has(headers, "sec-websocket-version", "13")
    {
        return json_error(
            StatusCode::BAD_REQUEST,
            "this address takes a WebSocket upgrade (version 13)",
        );
    }
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(&key);
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(error) => {
                tracing::info!(peer = ?peer, %error, "agent WebSocket upgrade failed");
                return;
            }
        };
        let mut ws = WebSocketStream::from_raw_socket(
            TokioIo::new(upgraded),
            Role::Server,
            Some(socket_config()),
        )
        .await;
        let served = serve(&app, &mut ws, conn.as_ref());
        // A stranger still in its handshake may be evicted for a newcomer (threats.md 34).
        let evicted = async {
            match &conn {
                Some(conn) => conn.killed().await,
                None => std::future::pending().await,
            }
        };
        let ended = tokio::select! {
            ended = served => ended,
            _ = evicted => Err(anyhow::anyhow!("closed to make room: the handshake was the stalest")),
        };
        if let Err(error) = ended {
            tracing::info!(peer = ?peer, error = %format!("{error:#}"), "agent connection ended");
        }
        let _ = ws.close(None).await;
    });
    let reply = warp::reply::with_header(warp::reply(), "connection", "upgrade");
    let reply = warp::reply::with_header(reply, "upgrade", "websocket");
    let reply = warp::reply::with_header(reply, "sec-websocket-accept", accept);
    warp::reply::with_status(reply, StatusCode::SWITCHING_PROTOCOLS).into_response()
}
