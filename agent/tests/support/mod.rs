//! A test double of the control plane: a real tokio-tungstenite server on 127.0.0.1:0 that
//! speaks the real protocol with real keys (enrollment, authentication, signed frames), serves
//! `GET /api/control-plane-key`, and hands every authenticated connection to the test.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cairn_engine::Recipe;
use cairn_protocol::messages::{AuthChallenge, AuthOk, ChallengePurpose, EnrollResponse, LogAck};
use cairn_protocol::{
    Capabilities, FrameSigner, FrameVerifier, KeyPair, Message, PublicKey, SignedBundle,
    UnsignedBundle, hash_token, new_id, new_token, parse_bare_message, token_matches, unix_now,
    verify_auth_response, verify_enroll_proof,
};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub const CP_ID: &str = "control-plane";
pub const WAIT: Duration = Duration::from_secs(30);

/// A recipe that prints `lines` lines with printf, pausing `pause` seconds after the first.
pub const HELLO: &str = r#"
const RECIPE = #{
    id: "hello",
    title: "Hello",
    category: "runtime",
    version: 1,
    description: "Prints a few lines.",
    estimated_size_mb: 3,
    os: [
        #{ id: "debian", versions: ["11", "12", "13"] },
        #{ id: "ubuntu", versions: ["20.04", "22.04", "24.04"] },
    ],
    params: [
        #{ name: "lines", type: "integer", default_value: 3, min: 1, max: 50 },
        #{ name: "pause", type: "integer", default_value: 0, min: 0, max: 60 },
    ],
    capabilities: #{ programs: ["printf"], paths: [], services: [] },
};

fn detect() {
    #{ installed: true, version: detect("printf", ["1.2.3"], "([0-9.]+)"), running: false }
}

fn install(params) {
    step("Say hello");
    let i = 1;
    while i <= params.lines {
        run("printf", ["line %s\n", `${i}`]);
        if i == 1 && params.pause > 0 {
            sleep(params.pause);
        }
        i += 1;
    }
    progress(100);
    #{ version: "1.2.3" }
}
"#;

struct Shared {
    node_id: String,
    token_hash: String,
    agent_key: Mutex<Option<PublicKey>>,
}

/// The control plane double.
pub struct ControlPlane {
    pub url: String,
    pub signer: Arc<FrameSigner>,
    pub node_id: String,
    /// `NODEID.SECRET`, as the dashboard shows it.
    pub token: String,
    shared: Arc<Shared>,
    conns: mpsc::UnboundedReceiver<Conn>,
}

impl ControlPlane {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let key = KeyPair::generate().expect("key");
        let signer = Arc::new(FrameSigner::control_plane(key, CP_ID));
        let node_id = format!("node-{}", &new_id().expect("id")[..12]);
        let secret = new_token().expect("token");
        let shared = Arc::new(Shared {
            node_id: node_id.clone(),
            token_hash: hash_token(&secret),
            agent_key: Mutex::new(None),
        });
        let (tx, conns) = mpsc::unbounded_channel();
        let (s, sh) = (signer.clone(), shared.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (s, sh, tx) = (s.clone(), sh.clone(), tx.clone());
                tokio::spawn(async move {
                    if let Some(conn) = handle(stream, s, sh).await {
                        let _ = tx.send(conn);
                    }
                });
            }
        });
        Self {
            url: format!("http://{addr}"),
            signer,
            token: format!("{node_id}.{secret}"),
            node_id,
            shared,
            conns,
        }
    }

    pub fn key_id(&self) -> String {
        self.signer.key().key_id().to_string()
    }

    pub fn public_key_hex(&self) -> String {
        self.signer.key().public().to_hex()
    }

    /// The agent key the double enrolled, if any.
    pub fn enrolled_key(&self) -> Option<PublicKey> {
        self.shared
            .agent_key
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Records `key` as the node's enrolled key (tests that skip `enroll`).
    pub fn enroll_key(&self, key: PublicKey) {
        *self
            .shared
            .agent_key
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(key);
    }

    /// The next authenticated agent connection.
    pub async fn next_conn(&mut self) -> Conn {
        tokio::time::timeout(WAIT, self.conns.recv())
            .await
            .expect("the agent did not connect in time")
            .expect("server stopped")
    }

    /// `source` as a bundle signed by this control plane.
    pub fn bundle(&self, source: &str) -> SignedBundle {
        sign_bundle(self.signer.key(), source)
    }
}

/// `source` as a bundle signed with `key`.
pub fn sign_bundle(key: &KeyPair, source: &str) -> SignedBundle {
    let recipe = Recipe::parse("hello.rhai", source).expect("test recipe parses");
    let caps = recipe.meta.capabilities;
    let now = unix_now();
    UnsignedBundle {
        recipe_id: recipe.meta.id.clone(),
        version: recipe.meta.version,
        capabilities: Capabilities {
            programs: caps.programs,
            paths: caps.paths,
            services: caps.services,
        },
        files: vec![(
            format!("{}.rhai", recipe.meta.id),
            source.as_bytes().to_vec(),
        )],
        issued_at: now,
        expires_at: now + 3600,
    }
    .sign(key)
    .expect("sign")
}

/// Peeks at the request line; serves the key route over plain HTTP, or upgrades to WebSocket.
async fn handle(mut stream: TcpStream, signer: Arc<FrameSigner>, sh: Arc<Shared>) -> Option<Conn> {
    let mut buf = vec![0u8; 8192];
    let head = loop {
        let n = stream.peek(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        if let Some(end) = buf[..n].windows(4).position(|w| w == b"\r\n\r\n") {
            break String::from_utf8_lossy(&buf[..end]).to_string();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    if head.starts_with("GET /api/control-plane-key ") {
        let mut sink = vec![0u8; head.len() + 4];
        stream.read_exact(&mut sink).await.ok()?;
        let body = format!(
            r#"{{"publicKey":"{}","keyId":"{}"}}"#,
            signer.key().public().to_hex(),
            signer.key().key_id()
        );
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(response.as_bytes()).await.ok()?;
        let _ = stream.shutdown().await;
        return None;
    }
    let mut ws = tokio_tungstenite::accept_async(stream).await.ok()?;
    let hello = match parse_bare_message(next_text(&mut ws).await?.as_bytes()).ok()? {
        Message::Hello(h) => h,
        _ => return None,
    };
    if hello.node_id != sh.node_id {
        return None;
    }
    let hello_detectors_hash = hello.detectors_hash.clone();
    let nonce = new_token().ok()?;
    let frame = |messages: Vec<Message>, session: Option<&str>| {
        signer
            .sign(&sh.node_id, session, messages, unix_now())
            .expect("sign frame")
    };
    let challenge = |purpose| {
        Message::AuthChallenge(AuthChallenge {
            nonce: nonce.clone(),
            purpose,
            control_plane_key_id: signer.key().key_id().to_string(),
            server_time: unix_now(),
        })
    };
    let Some(key_id) = hello.key_id else {
        // Enrollment.
        send_text(
            &mut ws,
            frame(vec![challenge(ChallengePurpose::Enroll)], None),
        )
        .await?;
        let req = match parse_bare_message(next_text(&mut ws).await?.as_bytes()).ok()? {
            Message::EnrollRequest(r) => r,
            _ => return None,
        };
        let key = verify_enroll_proof(&req).ok()?;
        if req.nonce != nonce
            || req.node_id != sh.node_id
            || !token_matches(&req.token, &sh.token_hash)
        {
            return None;
        }
        {
            let mut enrolled = sh.agent_key.lock().unwrap_or_else(|e| e.into_inner());
            if enrolled.is_some() {
                return None;
            }
            *enrolled = Some(key.clone());
        }
        let response = Message::EnrollResponse(EnrollResponse {
            node_id: sh.node_id.clone(),
            key_id: key.key_id().to_string(),
            control_plane_key_id: signer.key().key_id().to_string(),
        });
        send_text(&mut ws, frame(vec![response], None)).await?;
        let _ = ws.close(None).await;
        return None;
    };
    let key = sh
        .agent_key
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .filter(|k| k.key_id().as_str() == key_id)?;
    send_text(
        &mut ws,
        frame(vec![challenge(ChallengePurpose::Auth)], None),
    )
    .await?;
    let resp = match parse_bare_message(next_text(&mut ws).await?.as_bytes()).ok()? {
        Message::AuthResponse(r) => r,
        _ => return None,
    };
    if resp.nonce != nonce
        || resp.node_id != sh.node_id
        || verify_auth_response(&resp, &key).is_err()
    {
        return None;
    }
    let session = new_id().ok()?;
    let ok = Message::AuthOk(AuthOk {
        session_id: session.clone(),
        nonce: nonce.clone(),
        server_time: unix_now(),
    });
    send_text(&mut ws, frame(vec![ok], None)).await?;
    let mut verifier = FrameVerifier::for_control_plane(key, &sh.node_id, CP_ID);
    verifier.set_session(Some(session.clone()));
    Some(Conn {
        ws,
        signer,
        verifier,
        session,
        node_id: sh.node_id.clone(),
        hello_detectors_hash,
    })
}

async fn next_text(ws: &mut WebSocketStream<TcpStream>) -> Option<String> {
    loop {
        match tokio::time::timeout(WAIT, ws.next()).await.ok()?? {
            Ok(WsMessage::Text(t)) => return Some(t.to_string()),
            Ok(WsMessage::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

async fn send_text(ws: &mut WebSocketStream<TcpStream>, text: String) -> Option<()> {
    ws.send(WsMessage::Text(text.into())).await.ok()
}

/// One authenticated agent connection, seen from the control plane.
pub struct Conn {
    ws: WebSocketStream<TcpStream>,
    signer: Arc<FrameSigner>,
    verifier: FrameVerifier,
    pub session: String,
    pub node_id: String,
    /// The detector bundles the agent said it holds, in `HELLO`.
    pub hello_detectors_hash: Option<String>,
}

impl Conn {
    /// Signs and sends `messages`; returns the frame text (to replay it).
    pub async fn send(&mut self, messages: Vec<Message>) -> String {
        let text = self
            .signer
            .sign(&self.node_id, Some(&self.session), messages, unix_now())
            .expect("sign");
        self.send_text(&text).await;
        text
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(WsMessage::Text(text.to_owned().into()))
            .await
            .expect("send");
    }

    /// The messages of the next frame, verified as the real control plane would.
    pub async fn recv(&mut self) -> Vec<Message> {
        loop {
            let next = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("the agent said nothing in time")
                .expect("connection closed")
                .expect("connection failed");
            if let WsMessage::Text(t) = next {
                let frame = self
                    .verifier
                    .verify(t.as_bytes(), unix_now())
                    .expect("the agent's frame verifies");
                return frame.messages;
            }
        }
    }

    pub async fn ack(&mut self, job_id: &str, seq: u64) {
        self.send(vec![Message::LogAck(LogAck {
            job_id: job_id.to_owned(),
            seq,
        })])
        .await;
    }

    /// Drops the connection abruptly (no close handshake).
    pub fn kill(self) {
        drop(self);
    }
}

/// Events of one job, stored idempotently by seq as the control plane must.
#[derive(Debug, Default)]
pub struct JobLog {
    pub events: std::collections::BTreeMap<u64, Message>,
    /// Every (seq) received, duplicates included.
    pub received: Vec<u64>,
}

impl JobLog {
    /// Stores the job events for `job_id` among `messages`; returns the others.
    pub fn take(&mut self, job_id: &str, messages: Vec<Message>) -> Vec<Message> {
        let mut others = Vec::new();
        for m in messages {
            match m.job_event() {
                Some((j, seq)) if j == job_id => {
                    self.received.push(seq);
                    if let Some(old) = self.events.get(&seq) {
                        assert_eq!(old, &m, "seq {seq} was sent twice with different content");
                    }
                    self.events.insert(seq, m);
                }
                _ => others.push(m),
            }
        }
        others
    }

    /// The highest seq with no gap below it.
    pub fn contiguous(&self) -> u64 {
        let mut n = 0;
        while self.events.contains_key(&(n + 1)) {
            n += 1;
        }
        n
    }

    pub fn finished(&self) -> bool {
        self.events
            .values()
            .last()
            .is_some_and(cairn_agent::journal::is_terminal)
    }

    /// stdout lines in order.
    pub fn stdout(&self) -> Vec<String> {
        self.events
            .values()
            .filter_map(|m| match m {
                Message::InfrastructureLog(l)
                    if l.stream == cairn_protocol::messages::LogStream::Stdout =>
                {
                    Some(l.message.clone())
                }
                _ => None,
            })
            .collect()
    }
}

/// Receives on `conn` (acking every frame's job events when `ack` is set) until `job_id` ended.
pub async fn run_to_end(
    conn: &mut Conn,
    job_id: &str,
    log: &mut JobLog,
    ack: bool,
) -> Vec<Message> {
    let mut others = Vec::new();
    while !log.finished() {
        let messages = conn.recv().await;
        let had_events = messages.iter().any(|m| m.job_event().is_some());
        others.extend(log.take(job_id, messages));
        if ack && had_events {
            let seq = log.contiguous();
            conn.ack(job_id, seq).await;
        }
    }
    others
}

/// A configuration directory for an agent already enrolled with `cp` (skips `enroll`).
pub fn enrolled_dir(cp: &ControlPlane) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = cairn_agent::ConfigDir::new(tmp.path());
    dir.create().expect("create");
    let key = dir.load_or_create_key().expect("key");
    cp.enroll_key(key.public().clone());
    dir.save(&cairn_agent::AgentConfig {
        url: cp.url.clone(),
        node_id: cp.node_id.clone(),
        control_plane_public_key: cp.public_key_hex(),
        control_plane_key_id: cp.key_id(),
        tls_pin: None,
        control_plane_id: None,
    })
    .expect("save");
    tmp
}

/// Workers for an in-process agent: the `cairn-agent-worker` built with these tests (the
/// default looks next to the running executable, here the test binary).
pub fn workers() -> cairn_agent::supervise::Workers {
    cairn_agent::supervise::Workers {
        program: std::path::PathBuf::from(env!("CARGO_BIN_EXE_cairn-agent-worker")),
        ..Default::default()
    }
}

/// Starts an in-process agent on `dir` with `tuning`; the returned sender stops it.
pub fn start_agent_with(
    dir: &std::path::Path,
    tuning: cairn_agent::Tuning,
) -> (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
) {
    let agent = Arc::new(
        cairn_agent::Agent::open(&cairn_agent::ConfigDir::new(dir), tuning).expect("agent opens"),
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move { cairn_agent::dial::run(&agent, stopped).await });
    (stop, task)
}

/// `INSTALL_RUNTIME` of the `hello` recipe (or any recipe whose id is `hello`).
pub fn install(job_id: &str, bundle: SignedBundle, params: serde_json::Value) -> Message {
    Message::InstallRuntime(cairn_protocol::messages::InstallRuntime {
        job_id: job_id.to_owned(),
        kind: "hello".to_owned(),
        version: None,
        params: params.as_object().cloned().unwrap_or_default(),
        plan: None,
        action: None,
        bundle,
    })
}
