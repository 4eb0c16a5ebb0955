//! The end-to-end harness: starts the real `cairn-control-plane` and `cairn-agent` binaries as
//! child processes on 127.0.0.1, and talks to them the way a user does — HTTP for the API, a
//! WebSocket with the session cookie and the right `Origin` for the dashboard, the agent's own
//! command line for enrollment.
//!
//! The binaries are not built by this crate: `cargo test --workspace` (and `cargo build`) put
//! them next to the test executable's directory (`target/<profile>/`), where [`bin`] finds
//! them. Every child is killed (SIGKILL) when its handle drops, and every file lives in a temp
//! directory that goes with the [`Cluster`].

pub mod conns;
pub mod flood;
pub mod proxy;
pub mod sim;

use std::fs::{File, OpenOptions};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub mod debian11;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The admin password every control plane in these tests starts with.
pub const PASSWORD: &str = "e2e correct horse battery staple";

/// How long any single wait may take before the test fails. Generous: debug builds on two
/// cores, with other tests running beside.
pub const WAIT: Duration = Duration::from_secs(60);

/// Terminal job events: exactly one ends every job.
pub const TERMINAL: &[&str] = &[
    "RUNTIME_INSTALLED",
    "DATABASE_CONFIGURED",
    "BACKUP_CONFIGURED",
    "PLAN_RESULT",
    "JOB_FAILED",
];

// ---------- binaries and files ----------

/// The directory holding the built binaries: `$CAIRN_E2E_BIN_DIR`, else the parent of the
/// directory of the running executable (`target/debug/deps/e2e-…` → `target/debug`).
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CAIRN_E2E_BIN_DIR") {
        return dir.into();
    }
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("the test executable lives in target/<profile>/deps")
}

/// The agent binary chosen by [`use_shipped_agent`], if it was called.
static SHIPPED_AGENT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Makes [`bin`] return the agent as servers get it, built with the `agent` profile
/// (`target/agent/cairn-agent`, optimised for size), unless `$CAIRN_E2E_AGENT_BIN` names one.
/// For benchmarks, which run from `target/release`.
pub fn use_shipped_agent() {
    if std::env::var_os("CAIRN_E2E_AGENT_BIN").is_some() {
        return;
    }
    let shipped = bin_dir()
        .parent()
        .map(|target| target.join("agent").join("cairn-agent"))
        .expect("target/<profile> has a parent");
    assert!(
        shipped.is_file(),
        "{} does not exist; build it first: cargo build --profile agent -p cairn-agent",
        shipped.display()
    );
    let _ = SHIPPED_AGENT.set(shipped);
}

/// The path of binary `name` (`cairn-agent`, `cairn-control-plane`), which must exist.
/// `$CAIRN_E2E_AGENT_BIN` names the agent binary when it was built apart (the benchmarks run
/// the `agent` profile's build, see [`use_shipped_agent`]).
pub fn bin(name: &str) -> PathBuf {
    let path = match (std::env::var_os("CAIRN_E2E_AGENT_BIN"), SHIPPED_AGENT.get()) {
        (Some(agent), _) if name == "cairn-agent" => PathBuf::from(agent),
        (None, Some(agent)) if name == "cairn-agent" => agent.clone(),
        _ => bin_dir().join(name),
    };
    assert!(
        path.is_file(),
        "{} does not exist; build it first (`cargo test --workspace` does, or `cargo build -p {name}`)",
        path.display()
    );
    path
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .expect("the e2e crate lives in the repository")
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Copies recipe `name` (`redis` from `recipes/`, anything else from `tests/recipes/`) into
/// `dir`, replacing `@DIR@` with `root` (test recipes declare paths under the test's temp dir).
pub fn add_recipe(dir: &Path, name: &str, root: &Path) {
    let file = format!("{name}.rhai");
    let shipped = repo_root().join("recipes").join(&file);
    let source = if shipped.is_file() {
        shipped
    } else {
        repo_root().join("tests/recipes").join(&file)
    };
    let text = std::fs::read_to_string(&source)
        .unwrap_or_else(|e| panic!("reading {}: {e}", source.display()));
    let text = text.replace("@DIR@", &root.display().to_string());
    std::fs::write(dir.join(&file), text).expect("write recipe");
}

/// Makes `root/recipes` holding the recipes `names` (see [`add_recipe`]); returns its path.
pub fn recipes_dir(root: &Path, names: &[&str]) -> PathBuf {
    let dir = root.join("recipes");
    std::fs::create_dir(&dir).expect("recipes dir");
    for name in names {
        add_recipe(&dir, name, root);
    }
    dir
}

fn log_file(path: &Path) -> (Stdio, Stdio) {
    let f: File = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open log file");
    let g = f.try_clone().expect("clone log file");
    (Stdio::from(f), Stdio::from(g))
}

/// Resident set size and its peak (kB) of process `pid`, from /proc/PID/status.
pub fn rss_kb(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// CPU seconds (user + system) in a `/proc/.../stat` file's text: fields 14 and 15 (utime,
/// stime), counted after the command name, in 10 ms ticks.
fn stat_cpu_secs(stat: &str) -> f64 {
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) / 100.0
}

/// CPU seconds process `pid` used so far: a figure that stays CPU time however busy the
/// machine is.
pub fn cpu_secs(pid: u32) -> f64 {
    stat_cpu_secs(&std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default())
}

/// CPU seconds the calling thread used so far.
pub fn thread_cpu_secs() -> f64 {
    stat_cpu_secs(&std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default())
}

/// Polls `f` every 50 ms until it returns `Some`, for at most [`WAIT`].
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------- the control plane ----------

/// A `cairn-control-plane` child process. Killed on drop.
#[derive(Debug)]
pub struct ControlPlane {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub recipes_dir: PathBuf,
    /// stdout and stderr of every run, appended.
    pub log: PathBuf,
    /// Set when the control plane serves TLS (`--tls-cert`, `--tls-key`).
    pub tls: Option<TlsCert>,
    workdir: PathBuf,
    extra_args: Vec<std::ffi::OsString>,
    /// The open-files limit (soft and hard) the process starts under, through `prlimit`.
    nofile: Option<u64>,
    child: Option<Child>,
}

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

impl ControlPlane {
    /// Starts a control plane in `workdir` (data in `workdir/data`, log in `workdir/cp.log`)
    /// on a free port, and waits until `/healthz` answers.
    pub async fn start(workdir: &Path, recipes_dir: &Path) -> Self {
        Self::launch(workdir, recipes_dir, None, &[]).await
    }

    /// [`start`](Self::start), serving TLS with `tls` when given.
    pub async fn start_with(workdir: &Path, recipes_dir: &Path, tls: Option<TlsCert>) -> Self {
        Self::launch(workdir, recipes_dir, tls, &[]).await
    }

    /// [`start`](Self::start) with more command-line arguments (`--agent-binary PATH`, …).
    pub async fn start_with_args(
        workdir: &Path,
        recipes_dir: &Path,
        extra_args: &[std::ffi::OsString],
    ) -> Self {
        Self::launch(workdir, recipes_dir, None, extra_args).await
    }

    /// [`start_with_args`](Self::start_with_args) under an open-files limit of `nofile` (soft
    /// and hard, set by `prlimit`): the control plane cannot raise it.
    pub async fn start_limited(
        workdir: &Path,
        recipes_dir: &Path,
        extra_args: &[std::ffi::OsString],
        nofile: Option<u64>,
    ) -> Self {
        Self::start_opts(workdir, recipes_dir, None, extra_args, nofile).await
    }

    async fn launch(
        workdir: &Path,
        recipes_dir: &Path,
        tls: Option<TlsCert>,
        extra_args: &[std::ffi::OsString],
    ) -> Self {
        Self::start_opts(workdir, recipes_dir, tls, extra_args, None).await
    }

    /// Every way to start one: TLS, more arguments, an open-files limit.
    pub async fn start_opts(
        workdir: &Path,
        recipes_dir: &Path,
        tls: Option<TlsCert>,
        extra_args: &[std::ffi::OsString],
        nofile: Option<u64>,
    ) -> Self {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port())
            .parse()
            .expect("address");
        let mut cp = Self {
            addr,
            data_dir: workdir.join("data"),
            recipes_dir: recipes_dir.to_path_buf(),
            log: workdir.join("cp.log"),
            tls,
            workdir: workdir.to_path_buf(),
            extra_args: extra_args.to_vec(),
            nofile,
            child: None,
        };
        cp.restart().await;
        cp
    }

    /// Starts the process again (same data dir, port, recipes) and waits until it answers.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "the control plane is still running");
        let (out, err) = log_file(&self.log);
        // prlimit sets the limit, then executes the control plane in its place (same pid).
        let mut cmd = match self.nofile {
            Some(n) => {
                let mut c = Command::new("prlimit");
                c.arg(format!("--nofile={n}:{n}"))
                    .arg("--")
                    .arg(bin("cairn-control-plane"));
                c
            }
            None => Command::new(bin("cairn-control-plane")),
        };
        if let Some(tls) = &self.tls {
            cmd.arg("--tls-cert")
                .arg(&tls.cert)
                .arg("--tls-key")
                .arg(&tls.key);
        }
        let child = cmd
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--listen")
            .arg(self.addr.to_string())
            .arg("--recipes")
            .arg(&self.recipes_dir)
            .arg("--ui")
            .arg(self.workdir.join("no-ui"))
            .args(&self.extra_args)
            .env("CAIRN_ADMIN_PASSWORD", PASSWORD)
            .current_dir(&self.workdir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start cairn-control-plane");
        self.child = Some(child);
        let start = Instant::now();
        while self.request("GET", "/healthz", None, None).await.status != 200 {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("the control plane exited ({status}):\n{}", self.logs());
            }
            assert!(
                start.elapsed() < WAIT,
                "the control plane did not answer:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// kill -9, and reap.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("running")
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// One request to this control plane, over TLS when it serves TLS.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        body: Option<&str>,
    ) -> Reply {
        match &self.tls {
            Some(tls) => https(self.addr, &tls.pin, method, path, cookie, body).await,
            None => http(self.addr, method, path, cookie, body).await,
        }
    }

    /// The `Origin` a browser sends for pages served by this control plane.
    pub fn origin(&self) -> String {
        self.url()
    }

    /// Everything the process printed so far.
    pub fn logs(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    /// The bytes of the SQLite database and its -wal and -shm files.
    pub fn db_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(&self.data_dir).into_iter().flatten() {
            let Ok(entry) = entry else { continue };
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.contains(".db") || name.contains("sqlite") {
                all.extend(std::fs::read(entry.path()).unwrap_or_default());
            }
        }
        all
    }

    /// The names of the database files found by [`db_bytes`](Self::db_bytes).
    pub fn db_files(&self) -> Vec<String> {
        std::fs::read_dir(&self.data_dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".db") || n.contains("sqlite"))
            .collect()
    }

    pub async fn login(&self) -> String {
        let body = json!({ "username": "admin", "password": PASSWORD }).to_string();
        let r = self.request("POST", "/api/login", None, Some(&body)).await;
        assert_eq!(r.status, 200, "admin login refused: {r:?}");
        r.cookie().expect("a session cookie")
    }

    /// GET `path` with `cookie`; the body as JSON (panics unless 200).
    pub async fn get_json(&self, cookie: &str, path: &str) -> Value {
        let r = self.request("GET", path, Some(cookie), None).await;
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        r.json()
    }

    /// Creates an enrollment token; returns (token as the user sees it, node id).
    pub async fn token(&self, cookie: &str, name: &str) -> (String, String) {
        let r = self
            .request(
                "POST",
                "/api/enrollment-tokens",
                Some(cookie),
                Some(&json!({ "name": name }).to_string()),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        (
            v["token"].as_str().expect("token").to_owned(),
            v["nodeId"].as_str().expect("node id").to_owned(),
        )
    }

    /// Waits until `/api/nodes` shows `node_id` with `online == want`.
    pub async fn wait_online(&self, cookie: &str, node_id: &str, want: bool) -> Value {
        eventually(&format!("{node_id} online == {want}"), || async {
            let nodes = self.get_json(cookie, "/api/nodes").await;
            nodes
                .as_array()?
                .iter()
                .find(|n| n["id"] == node_id && n["online"] == want)
                .cloned()
        })
        .await
    }

    /// Waits until the job's stored status is final; returns the job.
    pub async fn wait_job_done(&self, cookie: &str, job_id: &str) -> Value {
        eventually(&format!("job {job_id} to finish"), || async {
            let job = self.get_json(cookie, &format!("/api/jobs/{job_id}")).await;
            matches!(job["status"].as_str(), Some("succeeded" | "failed")).then_some(job)
        })
        .await
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------- the agent ----------

/// A `cairn-agent` with its configuration directory. The process is killed on drop.
#[derive(Debug)]
pub struct Agent {
    pub config: PathBuf,
    /// stderr and stdout of every run, appended.
    pub log: PathBuf,
    child: Option<Child>,
}

impl Agent {
    /// Runs `cairn-agent enroll`; returns its exit status and output (stdout + stderr).
    pub async fn enroll_command(
        url: &str,
        token: &str,
        config: &Path,
    ) -> (std::process::ExitStatus, String) {
        Self::enroll_command_with(url, token, config, &[]).await
    }

    /// [`enroll_command`](Self::enroll_command) with more arguments (`--tls-pin PIN`, …).
    pub async fn enroll_command_with(
        url: &str,
        token: &str,
        config: &Path,
        extra: &[&str],
    ) -> (std::process::ExitStatus, String) {
        let mut cmd = Command::new(bin("cairn-agent"));
        cmd.args(["enroll", "--url", url, "--token", token, "--config"])
            .arg(config)
            .args(extra)
            .stdin(Stdio::null());
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .expect("join")
            .expect("run cairn-agent enroll");
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (out.status, text)
    }

    /// Enrolls with `token` into `config` (must succeed); does not start the agent.
    pub async fn enroll(url: &str, token: &str, config: &Path, log: &Path) -> Self {
        let (status, text) = Self::enroll_command(url, token, config).await;
        assert!(status.success(), "cairn-agent enroll failed: {text}");
        std::fs::write(log, &text).expect("write agent log");
        Self {
            config: config.to_path_buf(),
            log: log.to_path_buf(),
            child: None,
        }
    }

    /// An agent already enrolled into `config` (not started), logging to `log`.
    pub fn enroll_from(config: &Path, log: &Path) -> Self {
        Self {
            config: config.to_path_buf(),
            log: log.to_path_buf(),
            child: None,
        }
    }

    /// Starts `cairn-agent run`.
    pub fn start(&mut self) {
        self.start_with(&[]);
    }

    /// Starts `cairn-agent run` with more arguments (`--plan-only`).
    pub fn start_with(&mut self, extra: &[&str]) {
        assert!(self.child.is_none(), "the agent is still running");
        let (out, err) = log_file(&self.log);
        let child = Command::new(bin("cairn-agent"))
            .arg("run")
            .arg("--config")
            .arg(&self.config)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start cairn-agent");
        self.child = Some(child);
    }

    /// kill -9, and reap.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("running")
    }

    /// The node id from `agent.json`.
    pub fn node_id(&self) -> String {
        let text = std::fs::read_to_string(self.config.join("agent.json")).expect("agent.json");
        let v: Value = serde_json::from_str(&text).expect("agent.json is JSON");
        v["nodeId"].as_str().expect("nodeId").to_owned()
    }

    pub fn logs(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    /// Points the agent at another control plane URL (a proxy): rewrites `agent.json`. Takes
    /// effect at the next start.
    pub fn set_url(&self, url: &str) {
        let path = self.config.join("agent.json");
        let text = std::fs::read_to_string(&path).expect("agent.json");
        let mut v: Value = serde_json::from_str(&text).expect("agent.json is JSON");
        v["url"] = Value::String(url.to_owned());
        std::fs::write(&path, v.to_string()).expect("write agent.json");
    }

    /// The agent's state directory (rollback record and job journal).
    pub fn state_dir(&self) -> PathBuf {
        self.config.join("state")
    }

    /// The journal files of jobs not yet acknowledged by the control plane.
    pub fn journal_files(&self) -> Vec<String> {
        std::fs::read_dir(self.state_dir().join("journal"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------- a whole installation ----------

/// A control plane with one enrolled, connected agent, and an admin session.
#[derive(Debug)]
pub struct Cluster {
    pub agent: Agent,
    pub cp: ControlPlane,
    pub cookie: String,
    pub node_id: String,
    /// The (used) enrollment token, as the user saw it.
    pub token: String,
    // Last: removed after both processes are dead.
    pub dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts a control plane publishing `recipes`, logs in, creates a token, enrolls an agent
    /// with `cairn-agent enroll`, starts `cairn-agent run` and waits until the node is online.
    pub async fn start(recipes: &[&str]) -> Self {
        Self::start_with(recipes, &[]).await
    }

    /// [`Cluster::start`] with `agent_args` added to `cairn-agent run` (e.g. `--plan-only`).
    pub async fn start_with(recipes: &[&str], agent_args: &[&str]) -> Self {
        Self::start_full(recipes, agent_args, &[], None).await
    }

    /// [`Cluster::start`] with arguments for the agent and for the control plane, and the
    /// control plane under an open-files limit of `nofile` ([`ControlPlane::start_limited`]).
    pub async fn start_full(
        recipes: &[&str],
        agent_args: &[&str],
        cp_args: &[&str],
        nofile: Option<u64>,
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let recipes_dir = recipes_dir(root, recipes);
        let cp_args: Vec<std::ffi::OsString> = cp_args.iter().map(Into::into).collect();
        let cp = ControlPlane::start_limited(root, &recipes_dir, &cp_args, nofile).await;
        let cookie = cp.login().await;
        let (token, node_id) = cp.token(&cookie, "web-1").await;
        let mut agent = Agent::enroll(
            &cp.url(),
            &token,
            &root.join("agent"),
            &root.join("agent.log"),
        )
        .await;
        assert_eq!(agent.node_id(), node_id);
        agent.start_with(agent_args);
        cp.wait_online(&cookie, &node_id, true).await;
        Self {
            agent,
            cp,
            cookie,
            node_id,
            token,
            dir,
        }
    }

    /// A dashboard socket of the admin session, subscribed to the node.
    pub async fn dashboard(&self) -> Dashboard {
        self.dashboard_of(&self.cookie).await
    }

    /// A dashboard socket of `cookie`'s session, subscribed to the node.
    pub async fn dashboard_of(&self, cookie: &str) -> Dashboard {
        let mut d = Dashboard::connect(self.cp.addr, Some(cookie), &self.cp.origin())
            .await
            .expect("dashboard upgrade");
        d.send(json!({"type": "SUBSCRIBE", "nodeId": self.node_id}))
            .await;
        let status = d.recv_until(|m| m["type"] == "NODE_STATUS").await;
        assert_eq!(status["payload"]["online"], true, "{status}");
        d
    }

    /// The stored events of a job, as `/api/jobs/ID/events` returns them.
    pub async fn stored_events(&self, job_id: &str) -> Vec<Value> {
        let v = self
            .cp
            .get_json(&self.cookie, &format!("/api/jobs/{job_id}/events"))
            .await;
        v.as_array().cloned().expect("an array of events")
    }
}

// ---------- HTTP ----------

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

impl Reply {
    pub(crate) fn failed() -> Self {
        Self {
            status: 0,
            headers: String::new(),
            body: String::new(),
        }
    }

    /// The `name=value` pair of the first `Set-Cookie` header, if any.
    pub fn cookie(&self) -> Option<String> {
        self.set_cookie()
            .map(|v| v.split(';').next().unwrap_or("").to_owned())
    }

    /// The whole value of the first `Set-Cookie` header, attributes included.
    pub fn set_cookie(&self) -> Option<String> {
        self.headers.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("set-cookie")
                .then(|| value.trim().to_owned())
        })
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// One HTTP/1.1 request over a fresh connection; status 0 if nothing listens.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: Option<&str>,
) -> Reply {
    let Ok(s) = TcpStream::connect(addr).await else {
        return Reply::failed();
    };
    http_over(s, &addr.to_string(), method, path, cookie, body).await
}

/// [`http`] over TLS, trusting only the certificate whose sha256 is `pin` (the agent's own
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

/// One HTTP/1.1 request (`Connection: close`) over an open stream.
pub async fn http_over<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    host: &str,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: Option<&str>,
) -> Reply {
    let body = body.unwrap_or("");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
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

/// Logs in; returns the `cairn_session=…` cookie pair, or the refusal.
pub async fn login(addr: SocketAddr, user: &str, password: &str) -> Result<String, Reply> {
    let r = http(
        addr,
        "POST",
        "/api/login",
        None,
        Some(&json!({ "username": user, "password": password }).to_string()),
    )
    .await;
    if r.status != 200 {
        return Err(r);
    }
    r.cookie().ok_or(r)
}

// ---------- the dashboard ----------

/// A dashboard WebSocket client. Every message received through [`recv_until`] is kept in
/// [`seen`](Self::seen), so a test can wait for one thing and later look at everything.
#[derive(Debug)]
pub struct Dashboard {
    pub ws: Ws,
    pub seen: Vec<Value>,
}

impl Dashboard {
    /// Upgrades `/ws/dashboard` with `cookie` and `origin`.
    pub async fn connect(
        addr: SocketAddr,
        cookie: Option<&str>,
        origin: &str,
    ) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        let mut req = format!("ws://{addr}/ws/dashboard")
            .into_client_request()
            .expect("request");
        if let Some(c) = cookie {
            req.headers_mut()
                .insert("cookie", c.parse().expect("cookie header"));
        }
        req.headers_mut()
            .insert("origin", origin.parse().expect("origin header"));
        let (ws, _) = tokio_tungstenite::connect_async(req).await?;
        Ok(Self {
            ws,
            seen: Vec::new(),
        })
    }

    /// [`connect`](Self::connect) over TLS (`wss://`), trusting only the certificate `pin`.
    pub async fn connect_tls(
        addr: SocketAddr,
        pin: &str,
        cookie: &str,
        origin: &str,
    ) -> Result<Self, String> {
        let endpoint = cairn_agent::transport::Endpoint::parse(&format!("https://{addr}"))
            .map_err(|e| e.to_string())?;
        let stream = cairn_agent::transport::connect(&endpoint, Some(pin))
            .await
            .map_err(|e| e.to_string())?;
        let mut req = format!("wss://{addr}/ws/dashboard")
            .into_client_request()
            .expect("request");
        req.headers_mut()
            .insert("cookie", cookie.parse().expect("cookie header"));
        req.headers_mut()
            .insert("origin", origin.parse().expect("origin header"));
        let (ws, _) = tokio_tungstenite::client_async(req, stream)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Self {
            ws,
            seen: Vec::new(),
        })
    }

    pub async fn send(&mut self, v: Value) {
        self.ws
            .send(WsMessage::text(v.to_string()))
            .await
            .expect("send to the dashboard socket");
    }

    /// The next JSON message, not recorded; `None` when the socket closes.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            let m = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a dashboard message in time")?;
            match m {
                Ok(WsMessage::Text(t)) => {
                    return Some(serde_json::from_str(t.as_str()).expect("JSON message"));
                }
                Ok(WsMessage::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// Reads (and records) messages until one satisfies `pred`; returns it. Messages already
    /// recorded count too.
    pub async fn recv_until(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        self.recv_from(0, pred).await
    }

    /// Like [`recv_until`](Self::recv_until), looking only at recorded messages from index
    /// `from` on.
    pub async fn recv_from(&mut self, from: usize, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(v) = self.seen.iter().skip(from).find(|v| pred(v)) {
            return v.clone();
        }
        loop {
            let v = self
                .next()
                .await
                .expect("the dashboard socket closed while waiting");
            self.seen.push(v.clone());
            if pred(&v) {
                return v;
            }
        }
    }

    /// Sends a job command (`INSTALL_RUNTIME`, …) and returns the job id from `JOB_CREATED`.
    pub async fn start_job(&mut self, kind: &str, node_id: &str, payload: Value) -> String {
        let before = self.seen.len();
        self.send(json!({"type": kind, "nodeId": node_id, "payload": payload}))
            .await;
        let reply = self
            .recv_from(before, |v| {
                v["type"] == "JOB_CREATED" || v["type"] == "ERROR"
            })
            .await;
        assert_eq!(reply["type"], "JOB_CREATED", "{kind} refused: {reply}");
        reply["jobId"].as_str().expect("jobId").to_owned()
    }

    /// Starts the `ticks` test recipe (`count` lines `tick N`, a tenth of a second apart) on
    /// `node_id`; returns the job id.
    pub async fn start_ticks(&mut self, node_id: &str, count: u64) -> String {
        self.start_job(
            "INSTALL_RUNTIME",
            node_id,
            json!({"type": "ticks", "params": {"count": count}}),
        )
        .await
    }

    /// Waits for the job's terminal event; returns it.
    pub async fn wait_terminal(&mut self, job_id: &str) -> Value {
        self.recv_until(|v| v["jobId"] == job_id && TERMINAL.iter().any(|t| v["type"] == *t))
            .await
    }

    /// Every recorded event of `job_id` (the agent's messages, which carry a `seq`; not
    /// `JOB_CREATED`), in arrival order.
    pub fn job_messages(&self, job_id: &str) -> Vec<Value> {
        self.seen
            .iter()
            .filter(|v| v["jobId"] == job_id && v["payload"]["seq"].is_u64())
            .cloned()
            .collect()
    }
}

/// The `message` of every `INFRASTRUCTURE_LOG` on `stream` among `events` (dashboard messages
/// or stored events: both carry the protocol payload under `payload`).
pub fn lines(events: &[Value], stream: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["type"] == "INFRASTRUCTURE_LOG" && e["payload"]["stream"] == stream)
        .flat_map(|e| {
            // The agent coalesces consecutive lines into one message, separated by \n.
            let message = e["payload"]["message"].as_str().unwrap_or("");
            message.split('\n').map(str::to_owned).collect::<Vec<_>>()
        })
        .collect()
}

/// The `seq` of every event, in order.
pub fn seqs(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .map(|e| e["payload"]["seq"].as_u64().expect("seq"))
        .collect()
}
