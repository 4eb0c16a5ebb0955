//! A TCP proxy for network faults: put between the agent and the control plane, it forwards
//! bytes both ways until told to [`stall`](Proxy::stall) (bytes are read but held, as on a link
//! that stopped delivering), [`cut`](Proxy::cut) (every connection dropped with whatever it
//! held, new ones refused) or [`restore`](Proxy::restore) (forwarding again).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the proxy does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Forward,
    /// Bytes are read from both sides and held; nothing is delivered.
    Stall,
    /// No connection is accepted (each is closed at once).
    Refuse,
}

#[derive(Debug)]
struct Shared {
    mode: watch::Sender<Mode>,
    conns: Mutex<Vec<JoinHandle<()>>>,
    accepted: AtomicU64,
}

/// See the module documentation. Dropping it stops everything.
#[derive(Debug)]
pub struct Proxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut mode: watch::Receiver<Mode>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // Held while stalled; lost if the connection is cut meanwhile.
        if mode.wait_for(|m| *m == Mode::Forward).await.is_err() {
            break;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (mode, _) = watch::channel(Mode::Forward);
        let shared = Arc::new(Shared {
            mode,
            conns: Mutex::new(Vec::new()),
            accepted: AtomicU64::new(0),
        });
        let s = Arc::clone(&shared);
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *s.mode.borrow() == Mode::Refuse {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                s.accepted.fetch_add(1, Ordering::Relaxed);
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                let (m1, m2) = (s.mode.subscribe(), s.mode.subscribe());
                let task = tokio::spawn(async move {
                    tokio::join!(pipe(cr, sw, m1), pipe(sr, cw, m2));
                });
                s.conns.lock().unwrap_or_else(|e| e.into_inner()).push(task);
            }
        });
        Self {
            addr,
            shared,
            accept,
        }
    }

    /// `http://ADDR`, for an agent's configuration.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Holds every byte from now on (connections stay open).
    pub fn stall(&self) {
        self.shared.mode.send_replace(Mode::Stall);
    }

    /// Drops every connection with the bytes it held, and refuses new ones.
    pub fn cut(&self) {
        self.shared.mode.send_replace(Mode::Refuse);
        for task in self
            .shared
            .conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            task.abort();
        }
    }

    /// Forwards again (and accepts new connections).
    pub fn restore(&self) {
        self.shared.mode.send_replace(Mode::Forward);
    }

    /// Connections accepted and forwarded so far.
    pub fn connections(&self) -> u64 {
        self.shared.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}
