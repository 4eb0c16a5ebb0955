//! Test helpers: a real control plane on 127.0.0.1:0 in-process, a dashboard WebSocket client,
//! and a fake agent built from the protocol crate. The raw HTTP/1.1 client and the dashboard
//! socket's upgrade are `cairn-test-support`'s, shared with the end-to-end tests.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Mutex, Once};
use std::time::Duration;

pub use cairn_test_support::repo_root;

use cairn_control_plane::Config;
use cairn_protocol::messages::{ChallengePurpose, Hello};
use cairn_protocol::{
    FrameSigner, FrameVerifier, KeyPair, KeyRing, Message, PublicKey, bare_message_json,
    sign_auth_response, sign_enroll_request, unix_now,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub const PASSWORD: &str = "correct horse battery staple";
const TIMEOUT: Duration = Duration::from_secs(10);

// ---------- captured logs ----------

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogWriter;
impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(|| LogWriter)
            .try_init();
    });
}

/// Everything every server in this test binary has logged so far.
pub fn logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

// ---------- recipes ----------

pub fn runtime_recipe(id: &str, version: u64) -> String {
    format!(
        r#"const RECIPE = #{{
    id: "{id}",
    title: "Test runtime {id}",
    category: "runtime",
    version: {version},
    description: "A runtime for tests.",
    estimated_size_mb: 1,
    os: [ #{{ id: "debian", versions: ["12"] }} ],
    params: [],
    capabilities: #{{ programs: ["true"], paths: [], services: [] }},
}};

fn detect() {{ #{{ installed: false }} }}

fn install(params) {{
    log("installing");
    #{{ changed: true, version: "1.0" }}
}}
"#
    )
}

// ---------- server ----------

pub struct TestServer {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a server with the `hello` runtime recipe and the repo's `redis` recipe.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        init_logs();
        let dir = tempfile::tempdir().expect("tempdir");
        let recipes = dir.path().join("recipes");
        std::fs::create_dir(&recipes).expect("recipes dir");
        std::fs::write(recipes.join("hello.rhai"), runtime_recipe("hello", 3)).expect("write");
        std::fs::copy(
            repo_root().join("recipes/redis.rhai"),
            recipes.join("redis.rhai"),
        )
        .expect("copy redis recipe");
        let mut config = Config::new(dir.path().join("data"));
        config.recipes_dir = recipes;
        config.ui_dir = dir.path().join("no-ui");
        config.admin_password = Some(PASSWORD.to_owned());
        config.argon2_params = argon2::Params::new(64, 1, 1, None).expect("params");
        tweak(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(cairn_control_plane::run(listener, config, async move {
            let _ = rx.await;
        }));
        // Wait until it answers.
        for _ in 0..200 {
            if http(addr, "GET", "/healthz", None, None).await.status == 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Self {
            addr,
            dir,
            stop: Some(tx),
            task: Some(task),
        }
    }

    pub fn recipes_dir(&self) -> PathBuf {
        self.dir.path().join("recipes")
    }

    pub fn db_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for name in ["cairn.db", "cairn.db-wal", "cairn.db-shm"] {
            if let Ok(b) = std::fs::read(self.dir.path().join("data").join(name)) {
                all.extend(b);
            }
        }
        all
    }

    pub async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let r = tokio::time::timeout(TIMEOUT, task).await;
            assert!(matches!(r, Ok(Ok(Ok(())))), "server did not stop cleanly");
        }
    }

    pub async fn login(&self) -> String {
        login(self.addr, "admin", PASSWORD)
            .await
            .expect("admin login")
    }

    pub async fn cp_key(&self) -> PublicKey {
        let r = http(self.addr, "GET", "/api/control-plane-key", None, None).await;
        let hex = r.json()["publicKey"].as_str().expect("key").to_owned();
        PublicKey::from_hex(&hex).expect("public key")
    }

    /// Creates an enrollment token; returns (token as the user sees it, node id).
    pub async fn token(&self, cookie: &str, name: &str) -> (String, String) {
        let r = http(
            self.addr,
            "POST",
            "/api/enrollment-tokens",
            Some(cookie),
            Some(&serde_json::json!({"name": name}).to_string()),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        (
            v["token"].as_str().expect("token").to_owned(),
            v["nodeId"].as_str().expect("node").to_owned(),
        )
    }

    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }
}

// ---------- HTTP ----------

pub use cairn_test_support::http::{Reply, http, http_with, login};

/// Polls `GET /api/audit` until `done` holds for its entries (refused sign-ins are written
/// once a second); panics after 10 s.
pub async fn wait_for_audit(
    srv: &TestServer,
    cookie: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Value {
    let start = std::time::Instant::now();
    loop {
        let audit = http(srv.addr, "GET", "/api/audit", Some(cookie), None)
            .await
            .json();
        if done(audit.as_array().map_or(&[][..], Vec::as_slice)) {
            return audit;
        }
        assert!(
            start.elapsed() < TIMEOUT,
            "the audit log never showed it: {audit}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------- dashboard ----------

pub use cairn_test_support::dashboard::{Ws, connect as dashboard};

pub async fn send_json(ws: &mut Ws, v: Value) {
    ws.send(WsMessage::text(v.to_string())).await.expect("send");
}

/// The next JSON text message.
pub async fn recv_json(ws: &mut Ws) -> Value {
    loop {
        let m = tokio::time::timeout(TIMEOUT, ws.next())
            .await
            .expect("a message in time")
            .expect("open socket")
            .expect("message");
        if let WsMessage::Text(t) = m {
            return serde_json::from_str(t.as_str()).expect("json");
        }
    }
}

/// The next message of type `kind`, skipping others.
pub async fn recv_type(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let v = recv_json(ws).await;
        if v["type"] == kind {
            return v;
        }
    }
}

// ---------- fake agent ----------

pub struct Agent {
    pub node_id: String,
    secret: [u8; 32],
    /// What `HELLO` says about the detector bundles this agent holds.
    pub detectors_hash: Option<String>,
}

pub struct Connected {
    pub ws: Ws,
    pub node_id: String,
    pub session: String,
    signer: FrameSigner,
    verifier: FrameVerifier,
}

impl Agent {
    pub fn new(node_id: &str) -> Self {
        Self {
            node_id: node_id.to_owned(),
            secret: cairn_protocol::keys::random_bytes::<32>().expect("random"),
            detectors_hash: None,
        }
    }

    pub fn key(&self) -> KeyPair {
        KeyPair::from_secret_bytes(&self.secret).expect("key")
    }

    fn verifier(&self, cp: &PublicKey) -> FrameVerifier {
        FrameVerifier::for_agent(
            KeyRing::from(cp.clone()),
            cairn_control_plane::CONTROL_PLANE_ID,
            &self.node_id,
        )
    }

    async fn open(addr: SocketAddr) -> Ws {
        tokio_tungstenite::connect_async(format!("ws://{addr}/ws/agent"))
            .await
            .expect("agent connect")
            .0
    }

    async fn hello(&self, ws: &mut Ws, key_id: Option<String>) {
        let hello = Message::Hello(Hello {
            node_id: self.node_id.clone(),
            key_id,
            agent_version: "test".into(),
            protocol_version: 1,
            detectors_hash: self.detectors_hash.clone(),
        });
        ws.send(WsMessage::text(bare_message_json(&hello).expect("json")))
            .await
            .expect("send hello");
    }

    /// Enrolls this agent's key with `token`; Err is the control plane's refusal.
    pub async fn enroll(
        &self,
        addr: SocketAddr,
        cp: &PublicKey,
        token: &str,
    ) -> Result<(), String> {
        let mut ws = Self::open(addr).await;
        let mut verifier = self.verifier(cp);
        self.hello(&mut ws, None).await;
        let nonce = match one(&mut ws, &mut verifier).await? {
            Message::AuthChallenge(c) if c.purpose == ChallengePurpose::Enroll => c.nonce,
            other => return Err(format!("unexpected {}", other.type_name())),
        };
        let req = sign_enroll_request(&self.key(), &self.node_id, token, "web-1", &nonce);
        ws.send(WsMessage::text(
            bare_message_json(&Message::EnrollRequest(req)).expect("json"),
        ))
        .await
        .map_err(|e| e.to_string())?;
        match one(&mut ws, &mut verifier).await? {
            Message::EnrollResponse(_) => Ok(()),
            other => Err(format!("unexpected {}", other.type_name())),
        }
    }

    /// Authenticates. `replay` sends that AUTH_RESPONSE text instead of a fresh one.
    /// Returns the connection and the AUTH_RESPONSE text that was sent.
    pub async fn connect_with(
        &self,
        addr: SocketAddr,
        cp: &PublicKey,
        key_id: Option<String>,
        replay: Option<String>,
    ) -> Result<(Connected, String), String> {
        let mut ws = Self::open(addr).await;
        let mut verifier = self.verifier(cp);
        let key = self.key();
        self.hello(
            &mut ws,
            Some(key_id.unwrap_or_else(|| key.key_id().to_string())),
        )
        .await;
        let nonce = match one(&mut ws, &mut verifier).await? {
            Message::AuthChallenge(c) if c.purpose == ChallengePurpose::Auth => c.nonce,
            other => return Err(format!("unexpected {}", other.type_name())),
        };
        let text = replay.unwrap_or_else(|| {
            bare_message_json(&Message::AuthResponse(sign_auth_response(
                &key,
                &self.node_id,
                &nonce,
            )))
            .expect("json")
        });
        ws.send(WsMessage::text(text.clone()))
            .await
            .map_err(|e| e.to_string())?;
        let session = match one(&mut ws, &mut verifier).await? {
            Message::AuthOk(ok) => ok.session_id,
            other => return Err(format!("unexpected {}", other.type_name())),
        };
        verifier.set_session(Some(session.clone()));
        Ok((
            Connected {
                ws,
                node_id: self.node_id.clone(),
                session,
                signer: FrameSigner::agent(key, self.node_id.clone()),
                verifier,
            },
            text,
        ))
    }

    pub async fn connect(&self, addr: SocketAddr, cp: &PublicKey) -> Connected {
        self.connect_with(addr, cp, None, None)
            .await
            .expect("agent authenticates")
            .0
    }
}

/// Reads one frame and returns its single message; an ERROR becomes Err(message).
async fn one(ws: &mut Ws, verifier: &mut FrameVerifier) -> Result<Message, String> {
    let text = loop {
        let m = tokio::time::timeout(TIMEOUT, ws.next())
            .await
            .map_err(|_| "timed out".to_owned())?
            .ok_or("closed")?
            .map_err(|e| e.to_string())?;
        match m {
            WsMessage::Text(t) => break t,
            WsMessage::Close(_) => return Err("closed".into()),
            _ => continue,
        }
    };
    let frame = verifier
        .verify(text.as_bytes(), unix_now())
        .map_err(|e| format!("bad frame from the control plane: {e}"))?;
    match frame.messages.into_iter().next() {
        Some(Message::Error(e)) => Err(e.message),
        Some(m) => Ok(m),
        None => Err("empty frame".into()),
    }
}

impl Connected {
    /// The messages of the next frame (verified).
    pub async fn recv(&mut self) -> Vec<Message> {
        self.recv_text().await.1
    }

    /// The next frame as it came (its text) and its messages (verified).
    pub async fn recv_text(&mut self) -> (String, Vec<Message>) {
        loop {
            let m = tokio::time::timeout(TIMEOUT, self.ws.next())
                .await
                .expect("a frame in time")
                .expect("open")
                .expect("frame");
            if let WsMessage::Text(t) = m {
                let messages = self
                    .verifier
                    .verify(t.as_bytes(), unix_now())
                    .expect("control plane frame verifies")
                    .messages;
                return (t.to_string(), messages);
            }
        }
    }

    /// The next message matching `pred`, skipping others.
    pub async fn recv_where(&mut self, pred: impl Fn(&Message) -> bool) -> Message {
        loop {
            for m in self.recv().await {
                if pred(&m) {
                    return m;
                }
            }
        }
    }

    pub async fn send(&mut self, messages: Vec<Message>) {
        let text = self
            .signer
            .sign(
                cairn_control_plane::CONTROL_PLANE_ID,
                Some(&self.session),
                messages,
                unix_now(),
            )
            .expect("sign");
        self.ws.send(WsMessage::text(text)).await.expect("send");
    }
}

/// Enrolls a fresh node named `name` and connects its agent.
pub async fn enrolled_agent(srv: &TestServer, cookie: &str, name: &str) -> (Agent, Connected) {
    let cp = srv.cp_key().await;
    let (token, node_id) = srv.token(cookie, name).await;
    let agent = Agent::new(&node_id);
    agent.enroll(srv.addr, &cp, &token).await.expect("enroll");
    let conn = agent.connect(srv.addr, &cp).await;
    (agent, conn)
}
