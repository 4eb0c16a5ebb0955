//! What the control plane is started with ([`Config`], built by `main.rs` from its arguments).

use std::path::PathBuf;
use std::time::Duration;

use crate::{auth, install, limits};

/// Default lifetime of an enrollment token.
pub const TOKEN_TTL_SECS: u64 = 3600;

/// TLS certificate chain and key files (PEM).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Everything [`crate::run`] needs.
#[derive(Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub recipes_dir: PathBuf,
    /// Served if it exists (the built dashboard).
    pub ui_dir: PathBuf,
    /// The URL users and agents reach this control plane at (`https://cairn.example.com`); it
    /// is the allowed WebSocket `Origin` and the base of install commands. Without it, the
    /// request's `Host` header is used.
    pub public_url: Option<String>,
    pub tls: Option<TlsFiles>,
    /// The agent binary served at `/downloads/cairn-agent-x86_64-linux-gnu` (built for glibc
    /// 2.31); default `DATA_DIR/cairn-agent-x86_64-linux-gnu`. Its worker is served from the
    /// same directory (`install::WORKER_FILE`).
    pub agent_binary: PathBuf,
    /// The first start's admin password; generated (and printed once to stderr) when absent.
    pub admin_password: Option<String>,
    /// argon2id cost for new password hashes.
    pub argon2_params: argon2::Params,
    /// Password checks run at once; more sign-ins wait briefly or get 429
    /// (`auth::verifier`). Default: the number of cores, at most 4.
    pub login_checks: usize,
    /// The first lockout after the free failed sign-ins (`auth::throttle`); it doubles from
    /// there. Default 30 s.
    pub login_first_lockout: Duration,
    pub token_ttl_secs: u64,
    /// Connection caps and timeouts, dashboard queues; [`crate::run`] lowers the caps to fit
    /// the open-files limit.
    pub limits: limits::Limits,
    /// How often every node's alerts are evaluated besides when an observation arrives
    /// (`alerts`); default 10 s, shorter in tests.
    pub alert_tick: Duration,
    /// The bearer token `GET /metrics` requires; without one, it is off.
    pub metrics_token: Option<MetricsToken>,
}

/// Prometheus's bearer token for `GET /metrics`, kept only as its sha256 (compared in
/// constant time, never logged).
#[derive(Clone)]
pub struct MetricsToken([u8; 32]);

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(<set>)")
    }
}

impl MetricsToken {
    /// Shortest token accepted.
    pub const MIN_LEN: usize = 16;

    /// The token in `text` (surrounding white space ignored).
    pub fn new(text: &str) -> Result<Self, String> {
        let token = text.trim();
        if token.len() < Self::MIN_LEN || token.chars().any(char::is_whitespace) {
            return Err(format!(
                "the metrics token must be one word of at least {} characters; write a random one (openssl rand -hex 32)",
                Self::MIN_LEN
            ));
        }
        Ok(Self(Self::digest(token)))
    }

    /// Reads the token from `path`.
    pub fn read(path: &std::path::Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!(
                "could not read the metrics token file {}: {e}",
                path.display()
            )
        })?;
        Self::new(&text).map_err(|why| anyhow::anyhow!("{}: {why}", path.display()))
    }

    fn digest(token: &str) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(token.as_bytes()).into()
    }

    /// Whether `offered` is the token. Both sides are hashed first, so the comparison takes
    /// the same time whatever the offered token's length or its first wrong byte.
    pub fn matches(&self, offered: &str) -> bool {
        let offered = Self::digest(offered);
        self.0
            .iter()
            .zip(offered.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("recipes_dir", &self.recipes_dir)
            .field("ui_dir", &self.ui_dir)
            .field("public_url", &self.public_url)
            .field("tls", &self.tls)
            .field("agent_binary", &self.agent_binary)
            .field("limits", &self.limits)
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "<set>"),
            )
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Defaults for `data_dir`, everything else from the current directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir: PathBuf = data_dir.into();
        Self {
            agent_binary: data_dir.join(install::AGENT_FILE),
            data_dir,
            recipes_dir: PathBuf::from("recipes"),
            ui_dir: PathBuf::from("ui/build"),
            public_url: None,
            tls: None,
            admin_password: None,
            argon2_params: argon2::Params::default(),
            login_checks: auth::verifier::default_concurrency(),
            login_first_lockout: auth::throttle::FIRST_LOCKOUT,
            token_ttl_secs: TOKEN_TTL_SECS,
            limits: limits::Limits::default(),
            alert_tick: Duration::from_secs(10),
            metrics_token: None,
        }
    }

    /// Whether this process serves TLS itself (URLs built from `Host` then say `https`).
    pub fn tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Whether browsers reach the dashboard over https: own TLS, or an https `--public-url`
    /// (a TLS proxy in front). Cookies get `Secure` and answers HSTS.
    pub fn https(&self) -> bool {
        self.tls()
            || self
                .public_url
                .as_deref()
                .is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("https://"))
    }
}
