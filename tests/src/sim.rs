//! Simulated agents for the 10,000-agent benchmark (`benches/agents.rs`): each has its own
//! Ed25519 key, enrolls with a real one-time token over `/ws/agent`, authenticates with the
//! real challenge-response and answers `GET_SERVER_STATUS` with a small `SERVER_STATUS` in
//! signed frames, through the same `cairn-protocol` code the agent uses ([`FrameSigner`],
//! [`FrameVerifier`], `sign_enroll_request`, `sign_auth_response`). It runs no detectors: the
//! point is the control plane's side of many connections, not the agent's work. Like the real
//! agent it keeps the detector bundles of the last full `GET_SERVER_STATUS` across
//! connections, names them by hash in `HELLO`, answers `sameDetectors` requests naming them,
//! and reconnects naming none when a request names others (it keeps only the hash: it never
//! runs them).
//!
//! Many of them live in one tokio process. Connections are spread over loopback source
//! addresses (`127.0.0.2` on; Linux routes all of 127/8 to loopback), each with its own range
//! of ephemeral ports, as agents on as many servers would be: the control plane caps the
//! connections of one address that are not authenticated yet (64 by default), and a
//! reconnect storm of 10,000 from one address would hit that cap.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cairn_protocol::messages::{ChallengePurpose, CpuInfo, Hello, ServerStatus, SystemInfo, Usage};
use cairn_protocol::{
    FrameSigner, FrameVerifier, KeyPair, KeyRing, Message, PROTOCOL_VERSION, PublicKey,
    bare_message_json, sign_auth_response, sign_enroll_request, unix_now,
};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// A simulated agent's WebSocket.
pub type SimWs = WebSocketStream<TcpStream>;

/// What every simulated agent shares: where the control plane is, and its key.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub cp_key: PublicKey,
    /// How many loopback source addresses to spread connections over (127.0.0.2 on, at most
    /// 250).
    pub sources: u8,
}

/// Counters the agents update and the benchmark reads.
#[derive(Debug, Default)]
pub struct Stats {
    /// Successful authentications (`AUTH_OK`), over every connection.
    pub authenticated: AtomicU64,
    /// `SERVER_STATUS` answers sent.
    pub answered: AtomicU64,
    /// Failed connection attempts (connect, upgrade or handshake), each retried.
    pub errors: AtomicU64,
    /// Connections that ended while the agent wanted to stay connected.
    pub dropped: AtomicU64,
    /// `GET_SERVER_STATUS` requests that carried the detector bundles.
    pub full_requests: AtomicU64,
    /// `GET_SERVER_STATUS` requests that named kept bundles (`sameDetectors`).
    pub same_requests: AtomicU64,
    /// When the first and the last `GET_SERVER_STATUS` arrived and the last answer was sent, in
    /// microseconds since the unix epoch (reset with [`Stats::reset_times`]).
    pub first_request_us: AtomicU64,
    pub last_request_us: AtomicU64,
    pub last_answer_us: AtomicU64,
    /// Every agent sends one `METRICS` sample this often (ms) while connected; 0: never.
    /// Read at each connection, so it can be switched on while they run.
    pub metrics_every_ms: AtomicU64,
    /// `METRICS` samples sent, and `METRICS_ACK`s received.
    pub metrics_sent: AtomicU64,
    pub metrics_acked: AtomicU64,
}

/// Microseconds since the unix epoch.
pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

impl Stats {
    /// Forgets the request and answer times.
    pub fn reset_times(&self) {
        self.first_request_us.store(u64::MAX, Ordering::Relaxed);
        self.last_request_us.store(0, Ordering::Relaxed);
        self.last_answer_us.store(0, Ordering::Relaxed);
    }
}

/// One simulated agent.
#[derive(Debug)]
pub struct SimAgent {
    pub index: usize,
    pub node_id: String,
    signer: FrameSigner,
    /// The hash of the detector bundles this agent was last sent.
    detectors: std::sync::Mutex<Option<String>>,
}

fn err(what: &str, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

impl SimAgent {
    /// A new agent with a fresh key, for node `node_id`.
    pub fn new(index: usize, node_id: &str) -> Self {
        let key = KeyPair::generate().expect("a random key");
        Self {
            index,
            node_id: node_id.to_owned(),
            signer: FrameSigner::agent(key, node_id),
            detectors: std::sync::Mutex::new(None),
        }
    }

    fn verifier(&self, t: &Target) -> FrameVerifier {
        FrameVerifier::for_agent(
            KeyRing::from(t.cp_key.clone()),
            "control-plane",
            &self.node_id,
        )
    }

    /// Opens `/ws/agent` from this agent's loopback source address.
    pub async fn connect(&self, t: &Target) -> Result<SimWs, String> {
        let source = Ipv4Addr::new(
            127,
            0,
            0,
            2 + (self.index % usize::from(t.sources.clamp(1, 250))) as u8,
        );
        let socket = TcpSocket::new_v4().map_err(|e| err("socket", e))?;
        socket
            .bind(SocketAddr::new(source.into(), 0))
            .map_err(|e| err("bind", e))?;
        let stream = socket
            .connect(t.addr)
            .await
            .map_err(|e| err("connect", e))?;
        let _ = stream.set_nodelay(true);
        // Small buffers: ten thousand of these live in the benchmark process.
        let config = WebSocketConfig::default()
            .read_buffer_size(8 * 1024)
            .write_buffer_size(0);
        let url = format!("ws://{}/ws/agent", t.addr);
        let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
            .await
            .map_err(|e| err("upgrade", e))?;
        Ok(ws)
    }

    async fn send_bare(ws: &mut SimWs, m: &Message) -> Result<(), String> {
        let text = bare_message_json(m).map_err(|e| err("encode", e))?;
        ws.send(WsMessage::text(text))
            .await
            .map_err(|e| err("send", e))
    }

    /// The next signed frame's first message.
    async fn recv(ws: &mut SimWs, verifier: &mut FrameVerifier) -> Result<Message, String> {
        loop {
            let m = tokio::time::timeout(std::time::Duration::from_secs(60), ws.next())
                .await
                .map_err(|_| "no answer within 60 s".to_owned())?
                .ok_or("closed")?
                .map_err(|e| err("read", e))?;
            if let WsMessage::Text(t) = m {
                let frame = verifier
                    .verify(t.as_bytes(), unix_now())
                    .map_err(|e| err("verify", e))?;
                return frame
                    .messages
                    .into_iter()
                    .next()
                    .ok_or("empty frame".into());
            }
        }
    }

    /// Sends `messages` in one signed frame of `session`, then returns every message of the
    /// next frame that is not a `GET_SERVER_STATUS` (the control plane's first request).
    pub async fn exchange(
        &self,
        ws: &mut SimWs,
        verifier: &mut FrameVerifier,
        session: &str,
        messages: Vec<Message>,
    ) -> Result<Vec<Message>, String> {
        let text = self
            .signer
            .sign("control-plane", Some(session), messages, unix_now())
            .map_err(|e| err("sign", e))?;
        ws.send(WsMessage::text(text))
            .await
            .map_err(|e| err("send", e))?;
        loop {
            let m = tokio::time::timeout(std::time::Duration::from_secs(60), ws.next())
                .await
                .map_err(|_| "no answer within 60 s".to_owned())?
                .ok_or("closed")?
                .map_err(|e| err("read", e))?;
            let WsMessage::Text(t) = m else { continue };
            let frame = verifier
                .verify(t.as_bytes(), unix_now())
                .map_err(|e| err("verify", e))?;
            let answer: Vec<Message> = frame
                .messages
                .into_iter()
                .filter(|m| !matches!(m, Message::GetServerStatus(_)))
                .collect();
            if !answer.is_empty() {
                return Ok(answer);
            }
        }
    }

    fn held(&self) -> Option<String> {
        self.detectors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn hello(&self, key_id: Option<String>) -> Message {
        let detectors_hash = key_id.as_ref().and_then(|_| self.held());
        Message::Hello(Hello {
            node_id: self.node_id.clone(),
            key_id,
            agent_version: "sim".to_owned(),
            protocol_version: PROTOCOL_VERSION,
            detectors_hash,
        })
    }

    /// Enrolls with `token` (as the dashboard shows it); one connection, closed after.
    pub async fn enroll(&self, t: &Target, token: &str) -> Result<(), String> {
        let mut ws = self.connect(t).await?;
        let mut verifier = self.verifier(t);
        Self::send_bare(&mut ws, &self.hello(None)).await?;
        let nonce = match Self::recv(&mut ws, &mut verifier).await? {
            Message::AuthChallenge(c) if c.purpose == ChallengePurpose::Enroll => c.nonce,
            other => {
                return Err(format!(
                    "expected AUTH_CHALLENGE, got {}",
                    other.type_name()
                ));
            }
        };
        let req = sign_enroll_request(self.signer.key(), &self.node_id, token, "sim", &nonce);
        Self::send_bare(&mut ws, &Message::EnrollRequest(req)).await?;
        match Self::recv(&mut ws, &mut verifier).await? {
            Message::EnrollResponse(_) => {
                let _ = ws.close(None).await;
                Ok(())
            }
            other => Err(format!("expected ENROLL_RESPONSE, got {other:?}")),
        }
    }

    /// Connects and authenticates; returns the socket, its verifier and the session.
    pub async fn authenticate(&self, t: &Target) -> Result<(SimWs, FrameVerifier, String), String> {
        let mut ws = self.connect(t).await?;
        let mut verifier = self.verifier(t);
        let key_id = self.signer.key().key_id().to_string();
        Self::send_bare(&mut ws, &self.hello(Some(key_id))).await?;
        let nonce = match Self::recv(&mut ws, &mut verifier).await? {
            Message::AuthChallenge(c) if c.purpose == ChallengePurpose::Auth => c.nonce,
            other => return Err(format!("expected AUTH_CHALLENGE, got {other:?}")),
        };
        let resp = sign_auth_response(self.signer.key(), &self.node_id, &nonce);
        Self::send_bare(&mut ws, &Message::AuthResponse(resp)).await?;
        let session = match Self::recv(&mut ws, &mut verifier).await? {
            Message::AuthOk(ok) if ok.nonce == nonce => ok.session_id,
            other => return Err(format!("expected AUTH_OK, got {other:?}")),
        };
        verifier.set_session(Some(session.clone()));
        Ok((ws, verifier, session))
    }

    /// The `SERVER_STATUS` every simulated agent answers with.
    pub fn status(request_id: Option<String>) -> Message {
        let usage = Usage {
            total_bytes: 2 << 30,
            used_bytes: 1 << 30,
            available_bytes: Some(1 << 30),
        };
        Message::ServerStatus(ServerStatus {
            request_id,
            runtimes: Vec::new(),
            databases: Vec::new(),
            backups: Vec::new(),
            services: Vec::new(),
            system_only: false,
            system: SystemInfo {
                os: "Debian GNU/Linux 12 (bookworm)".to_owned(),
                kernel: "6.1.0".to_owned(),
                arch: "x86_64".to_owned(),
                hostname: "sim".to_owned(),
                cpu: CpuInfo {
                    cores: 2,
                    model: "simulated".to_owned(),
                    usage_percent: Some(1.0),
                },
                ram: usage,
                disk: usage,
                uptime: 1000,
                addresses: vec!["10.0.0.1".to_owned()],
            },
        })
    }

    /// A plausible 10 s sample of a small server: CPU, memory, swap, load, two file systems,
    /// two interfaces and three services, counters growing with `n`.
    pub fn sample(index: usize, n: u64) -> cairn_protocol::messages::Sample {
        use cairn_protocol::messages::{DiskSample, NetSample, Sample, ServiceSample};
        let gib = 1u64 << 30;
        let wobble = ((index as u64 * 7 + n * 13) % 100) as f64;
        Sample {
            t: unix_now(),
            cpu: Some(wobble / 3.0),
            mem: [gib + (wobble as u64) * (1 << 20), 4 * gib],
            swap: [0, gib],
            load: [wobble / 50.0, 0.5, 0.4],
            disks: vec![
                DiskSample {
                    m: "/".into(),
                    u: 20 * gib,
                    s: 80 * gib,
                    r: n * 40_960,
                    w: n * 409_600,
                },
                DiskSample {
                    m: "/srv".into(),
                    u: 5 * gib,
                    s: 200 * gib,
                    r: n * 4_096,
                    w: n * 81_920,
                },
            ],
            nets: vec![
                NetSample {
                    i: "eth0".into(),
                    rx: n * 1_000_000,
                    tx: n * 250_000,
                },
                NetSample {
                    i: "eth1".into(),
                    rx: n * 10_000,
                    tx: n * 10_000,
                },
            ],
            svcs: vec![
                ServiceSample {
                    n: "redis-server".into(),
                    up: true,
                },
                ServiceSample {
                    n: "postgresql".into(),
                    up: true,
                },
                ServiceSample {
                    n: "cron".into(),
                    up: true,
                },
            ],
        }
    }

    /// Serves an authenticated connection: every `GET_SERVER_STATUS` gets a signed
    /// `SERVER_STATUS` echoing its request id. Returns when the connection ends (`Err`) or
    /// `drop_now` changes (`Ok`: the socket is dropped without a close handshake, as a
    /// network failure would).
    pub async fn serve(
        &self,
        mut ws: SimWs,
        mut verifier: FrameVerifier,
        session: &str,
        stats: &Stats,
        drop_now: &mut watch::Receiver<u64>,
    ) -> Result<(), String> {
        let every = stats.metrics_every_ms.load(Ordering::Relaxed);
        // Each agent at its own moment of the interval, as real ones are.
        let period = std::time::Duration::from_millis(every.max(1));
        let offset = period.mul_f64((self.index % 997) as f64 / 997.0);
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut batch = 0u64;
        loop {
            tokio::select! {
                _ = drop_now.changed() => return Ok(()),
                _ = tick.tick(), if every > 0 => {
                    batch += 1;
                    let m = Message::Metrics(cairn_protocol::messages::Metrics {
                        batch,
                        samples: vec![Self::sample(self.index, batch)],
                        dropped: 0,
                    });
                    let text = self
                        .signer
                        .sign("control-plane", Some(session), vec![m], unix_now())
                        .map_err(|e| err("sign", e))?;
                    ws.send(WsMessage::text(text)).await.map_err(|e| err("send", e))?;
                    stats.metrics_sent.fetch_add(1, Ordering::Relaxed);
                }
                m = ws.next() => {
                    let m = m.ok_or("closed by the control plane")?.map_err(|e| err("read", e))?;
                    let WsMessage::Text(t) = m else { continue };
                    let frame = verifier.verify(t.as_bytes(), unix_now()).map_err(|e| err("verify", e))?;
                    for msg in frame.messages {
                        if let Message::MetricsAck(_) = msg {
                            stats.metrics_acked.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        if let Message::GetServerStatus(req) = msg {
                            let at = now_us();
                            stats.first_request_us.fetch_min(at, Ordering::Relaxed);
                            stats.last_request_us.fetch_max(at, Ordering::Relaxed);
                            if req.same_detectors && req.detectors.is_empty() {
                                stats.same_requests.fetch_add(1, Ordering::Relaxed);
                                if req.detectors_hash.is_some() && req.detectors_hash != self.held() {
                                    *self.detectors.lock().unwrap_or_else(|e| e.into_inner()) = None;
                                    return Err("sameDetectors names bundles this agent does not hold".into());
                                }
                            } else {
                                stats.full_requests.fetch_add(1, Ordering::Relaxed);
                                let hash = cairn_protocol::detectors_hash(&req.detectors);
                                *self.detectors.lock().unwrap_or_else(|e| e.into_inner()) = Some(hash);
                            }
                            let text = self
                                .signer
                                .sign("control-plane", Some(session), vec![Self::status(req.request_id)], unix_now())
                                .map_err(|e| err("sign", e))?;
                            ws.send(WsMessage::text(text)).await.map_err(|e| err("send", e))?;
                            stats.answered.fetch_add(1, Ordering::Relaxed);
                            stats.last_answer_us.fetch_max(now_us(), Ordering::Relaxed);
                        }
                    }
                }
            }
        }
    }

    /// Stays connected until `stop` is set: authenticates (retrying after a short pause on
    /// failure), serves, and when `drop_now` changes drops the connection and comes back at once.
    pub async fn run(
        self: Arc<Self>,
        t: Arc<Target>,
        stats: Arc<Stats>,
        mut drop_now: watch::Receiver<u64>,
        stop: watch::Receiver<bool>,
    ) {
        let mut pause = std::time::Duration::from_millis(100);
        while !*stop.borrow() {
            match self.authenticate(&t).await {
                Ok((ws, verifier, session)) => {
                    pause = std::time::Duration::from_millis(100);
                    stats.authenticated.fetch_add(1, Ordering::Relaxed);
                    drop_now.borrow_and_update();
                    if self
                        .serve(ws, verifier, &session, &stats, &mut drop_now)
                        .await
                        .is_err()
                    {
                        stats.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(e) => {
                    if stats.errors.fetch_add(1, Ordering::Relaxed) < 5 {
                        eprintln!("agent {}: {e}", self.node_id);
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(std::time::Duration::from_secs(5));
                }
            }
        }
    }
}
