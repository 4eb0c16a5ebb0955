//! Connections as an attacker or a stalled page holds them (threats.md 34 and 35), for the
//! connection tests (`it/connections.rs`, `it/stalled.rs`) and their benchmark
//! (`benches/connections.rs`): idle sockets from many loopback source addresses (Linux routes
//! all of 127/8 to loopback), whether the server closed them, a process's open descriptors,
//! `/healthz` latencies, and dashboard sockets that stop reading.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

pub use cairn_test_support::procfs::{fd_limit, open_fds};

use cairn_test_support::dashboard::request;
use futures_util::stream::FuturesUnordered;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

/// Raises this process's open-files soft limit to its hard limit (children inherit it);
/// returns the limit now.
pub fn raise_nofile() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut lim = getrlimit(Resource::Nofile);
    lim.current = lim.maximum;
    let _ = setrlimit(Resource::Nofile, lim);
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// `count` loopback source addresses from 127.0.<third>.1 on.
pub fn sources(third: u8, count: u8) -> Vec<Ipv4Addr> {
    (1..=count)
        .map(|i| Ipv4Addr::new(127, 0, third, i))
        .collect()
}

/// A TCP connection to `addr` from `source`.
pub async fn connect_from(source: Ipv4Addr, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source.into(), 0))?;
    socket.connect(addr).await
}

/// Opens `count` connections to `addr` that send nothing, from `sources` in turn, 256 at a
/// time. Returns them as standard sockets (so that [`still_open`] asks the kernel directly)
/// and how many could not be opened at all.
pub async fn idle_connections(
    addr: SocketAddr,
    sources: &[Ipv4Addr],
    count: usize,
) -> (Vec<std::net::TcpStream>, usize) {
    let mut open = Vec::with_capacity(count);
    let mut failed = 0;
    let mut running = FuturesUnordered::new();
    for i in 0..count {
        let source = sources[i % sources.len()];
        if running.len() >= 256
            && let Some(r) = running.next().await
        {
            take(r, &mut open, &mut failed);
        }
        running.push(async move {
            tokio::time::timeout(Duration::from_secs(20), connect_from(source, addr)).await
        });
    }
    while let Some(r) = running.next().await {
        take(r, &mut open, &mut failed);
    }
    (open, failed)
}

fn take(
    r: Result<std::io::Result<TcpStream>, tokio::time::error::Elapsed>,
    open: &mut Vec<std::net::TcpStream>,
    failed: &mut usize,
) {
    match r {
        Ok(Ok(s)) => match s.into_std() {
            Ok(s) => open.push(s),
            Err(_) => *failed += 1,
        },
        _ => *failed += 1,
    }
}

/// Whether the server has not closed `s` (it sent nothing: nothing to read, no end of stream).
pub fn still_open(s: &std::net::TcpStream) -> bool {
    let _ = s.set_nonblocking(true);
    matches!(s.peek(&mut [0u8; 1]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// How many of `conns` the server has not closed.
pub fn count_open(conns: &[std::net::TcpStream]) -> usize {
    conns.iter().filter(|s| still_open(s)).count()
}

/// `GET /healthz` on a fresh connection from 127.0.0.1: its status (0 when nothing answered
/// within `limit`) and how long it took.
pub async fn healthz(addr: SocketAddr, limit: Duration) -> (u16, Duration) {
    let t = Instant::now();
    let status = tokio::time::timeout(limit, crate::http(addr, "GET", "/healthz", None, None))
        .await
        .map_or(0, |r| r.status);
    (status, t.elapsed())
}

/// A dashboard socket that subscribed to a node and then never reads, with a small receive
/// buffer so that the control plane's writes stall soon.
pub type StalledSocket = WebSocketStream<TcpStream>;

/// Opens the dashboard socket of `cookie`'s session from `source`, subscribes it to `node_id`
/// and returns it unread.
pub async fn stalled_dashboard(
    addr: SocketAddr,
    source: Ipv4Addr,
    cookie: &str,
    origin: &str,
    node_id: &str,
) -> StalledSocket {
    let socket = TcpSocket::new_v4().expect("a socket");
    socket
        .set_recv_buffer_size(4096)
        .expect("a small receive buffer");
    socket
        .bind(SocketAddr::new(source.into(), 0))
        .expect("bind to a loopback address");
    let stream = socket.connect(addr).await.expect("connect");
    let req = request(&format!("ws://{addr}/ws/dashboard"), Some(cookie), origin);
    let (mut ws, _) = tokio_tungstenite::client_async(req, stream)
        .await
        .expect("dashboard upgrade");
    ws.send(WsMessage::text(
        json!({"type": "SUBSCRIBE", "nodeId": node_id}).to_string(),
    ))
    .await
    .expect("subscribe");
    ws
}

/// How a stalled socket looked once read again.
#[derive(Debug)]
pub struct Drained {
    /// The control plane closed it (close frame, end of stream or reset) within the time.
    pub closed: bool,
    /// The close frame, if one arrived.
    pub close: Option<CloseFrame>,
    /// Text messages read before the end.
    pub messages: usize,
}

/// Reads `ws` until it ends or `limit` passes.
pub async fn drain(ws: &mut StalledSocket, limit: Duration) -> Drained {
    let mut d = Drained {
        closed: false,
        close: None,
        messages: 0,
    };
    let end = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(end, ws.next()).await {
            Err(_) => return d,
            Ok(None) | Ok(Some(Err(_))) => {
                d.closed = true;
                return d;
            }
            Ok(Some(Ok(WsMessage::Close(frame)))) => {
                d.closed = true;
                d.close = frame;
                return d;
            }
            Ok(Some(Ok(WsMessage::Text(_)))) => d.messages += 1,
            Ok(Some(Ok(_))) => {}
        }
    }
}
