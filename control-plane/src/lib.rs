//! Cairn's control plane, as a library: the binary only parses arguments and calls [`run`].
//!
//! - [`http`]: the router (built from one route table, [`http::ROUTES`]) and the REST handlers.
//! - [`agent_socket`]: the agents' WebSocket upgrade and buffer sizes.
//! - [`ws_agent`]: agents' connections: enrollment, authentication, signed frames, job events.
//! - [`ws_dashboard`]: dashboards' connections: commands that become jobs, event relay.
//! - [`hub`]: routing between the two; [`outbox`]: a dashboard socket's bounded queue.
//! - [`store`]: users, sessions, tokens, nodes, jobs, events, audit ([`store::SqliteStore`]).
//! - [`node_writes`]: nodes' last seen time and status, written in batches.
//! - [`registry`]: recipes checked with the engine and signed into bundles.
//! - [`install`]: `install.sh` (minijinja template) and the agent binary new servers download.
//! - [`auth`], [`mask`]: passwords, sessions and the sign-in defences; secret masking.
//! - [`server`]: the accept loop (plain TCP or TLS) serving the warp router through hyper.
//! - [`gate`], [`limits`]: who may hold a connection, for how long (caps, eviction, timeouts).

pub mod agent_socket;
pub mod auth;
pub mod gate;
pub mod http;
pub mod hub;
pub mod install;
pub mod limits;
pub mod mask;
pub mod node_writes;
pub mod outbox;
pub mod registry;
pub mod server;
pub mod setup;
pub mod store;
pub mod ws_agent;
pub mod ws_dashboard;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use cairn_protocol::{FrameSigner, NonceStore};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use setup::check_listen_address;

/// The control plane's id in frames (`from` of its frames, `audience` of the agents').
pub const CONTROL_PLANE_ID: &str = "control-plane";

/// Default lifetime of an enrollment token.
pub const TOKEN_TTL_SECS: u64 = 3600;

/// TLS certificate chain and key files (PEM).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Everything [`run`] needs.
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
    /// 2.31); default `DATA_DIR/cairn-agent-x86_64-linux-gnu`.
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
    pub login_first_lockout: std::time::Duration,
    pub token_ttl_secs: u64,
    /// Connection caps and timeouts, dashboard queues; [`run`] lowers the caps to fit the
    /// open-files limit.
    pub limits: limits::Limits,
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
        }
    }
}

/// State shared by every connection.
#[derive(Debug)]
pub struct App {
    pub config: Config,
    pub store: store::SharedStore,
    pub signer: FrameSigner,
    pub nonces: NonceStore,
    pub registry: RwLock<registry::Registry>,
    pub hub: hub::Hub,
    pub agent: install::AgentBinary,
    /// Nodes' `last_seen` and `last_status`, written in batches.
    pub node_writes: node_writes::NodeWriter,
    pub throttle: auth::LoginThrottle,
    /// Where each account signed in from; its lockout does not hold these back.
    pub known: auth::KnownAddresses,
    /// The few password checks allowed at once.
    pub verifier: auth::Verifier,
    /// Refused sign-ins, tallied for the audit log.
    pub refusals: auth::RefusalLog,
    /// Flips to true when the server shuts down; WebSocket tasks watch it.
    pub shutdown: watch::Receiver<bool>,
}

impl App {
    /// Whether this process serves TLS itself (URLs built from `Host` then say `https`).
    pub fn tls(&self) -> bool {
        self.config.tls.is_some()
    }

    /// Whether browsers reach the dashboard over https: own TLS, or an https `--public-url`
    /// (a TLS proxy in front). Cookies get `Secure` and answers HSTS.
    pub fn https(&self) -> bool {
        self.tls()
            || self
                .config
                .public_url
                .as_deref()
                .is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("https://"))
    }

    /// The current registry, for reading.
    pub fn registry(&self) -> std::sync::RwLockReadGuard<'_, registry::Registry> {
        self.registry.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Records an audit entry; a failure to record is logged, never fatal to the request.
    pub async fn audit(&self, who: &str, what: &str, target: &str, result: &str) {
        let (who, what, target, result) = (
            who.to_owned(),
            what.to_owned(),
            target.to_owned(),
            result.to_owned(),
        );
        let now = cairn_protocol::unix_now();
        if let Err(error) = store::blocking(&self.store, move |s| {
            s.audit(&who, &what, &target, &result, now)
        })
        .await
        {
            tracing::error!(%error, "could not write the audit log");
        }
    }
}

/// Serves the control plane on `listener` until `shutdown` resolves: prepares the data
/// directory (key, database, admin account) on first start, loads the recipes, and serves
/// HTTP, the dashboard and agent WebSockets (over TLS if configured).
pub async fn run(
    listener: TcpListener,
    mut config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let open_files = limits::open_files_limit();
    let fitted = config.limits.fit(open_files);
    if fitted != config.limits {
        tracing::warn!(
            open_files,
            max_connections = fitted.max_connections,
            max_pending = fitted.max_pending,
            max_pending_per_address = fitted.max_pending_per_address,
            "the open files limit is too low for the configured connection caps; lowered them (raise the limit, e.g. LimitNOFILE= in the systemd unit)"
        );
    }
    config.limits = fitted;
    tracing::info!(limits = ?config.limits, open_files, "connection limits");
    let (stop_tx, stop_rx) = watch::channel(false);
    let app = Arc::new(setup::prepare(config, stop_rx).await?);
    let addr: SocketAddr = listener.local_addr()?;
    tracing::info!(%addr, tls = app.tls(), "control plane listening");
    // Refused sign-ins are written once a second, and once more when the server has stopped
    // (however it stopped).
    let (served_tx, served_rx) = tokio::sync::oneshot::channel();
    let refusals = tokio::spawn(auth::refusals::flush_until(Arc::clone(&app), served_rx));
    let served = server::serve(listener, app, shutdown, stop_tx).await;
    let _ = served_tx.send(());
    let _ = refusals.await;
    served
}
