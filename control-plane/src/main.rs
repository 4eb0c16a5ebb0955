//! `cairn-control-plane`: parses arguments, sets up logging and signals, and calls
//! [`cairn_control_plane::run`].

use std::net::SocketAddr;
use std::path::PathBuf;

use std::time::Duration;

use anyhow::Context;
use cairn_control_plane::limits::Limits;
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "cairn-control-plane",
    version,
    about = "Cairn's control plane: dashboard, API and agent relay"
)]
struct Args {
    /// Where the database and the signing key live (created 0700 on first start).
    #[arg(long)]
    data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8420")]
    listen: SocketAddr,
    /// The recipes to publish.
    #[arg(long, default_value = "recipes")]
    recipes: PathBuf,
    /// The built dashboard, served if it exists.
    #[arg(long, default_value = "ui/build")]
    ui: PathBuf,
    /// The URL users and servers reach this control plane at (the origin browsers must send,
    /// install commands). Without it, the address set in the dashboard, else the request's.
    #[arg(long, env = "CAIRN_PUBLIC_URL")]
    public_url: Option<String>,
    /// The agent binary new servers download (built for glibc 2.31 by
    /// scripts/build-agent-glibc231). Default: cairn-agent-x86_64-linux-gnu next to this
    /// executable, else in the data directory. Its worker,
    /// cairn-agent-worker-x86_64-linux-gnu, is served from the same directory.
    #[arg(long, env = "CAIRN_AGENT_BINARY")]
    agent_binary: Option<PathBuf>,
    /// A file holding the bearer token Prometheus sends to scrape GET /metrics (at least 16
    /// characters; `openssl rand -hex 32`). Without it, /metrics is off.
    #[arg(long, env = "CAIRN_METRICS_TOKEN_FILE")]
    metrics_token_file: Option<PathBuf>,
    /// Allow listening on a non-loopback address without TLS.
    #[arg(long)]
    insecure: bool,
    /// PEM certificate chain for TLS.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for TLS.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Connections held at once, of every kind (lowered to fit the open files limit).
    #[arg(long, env = "CAIRN_MAX_CONNECTIONS", default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// Connections not yet authenticated (no agent AUTH_OK, no session): when full, the one idle
    /// longest is closed to make room.
    #[arg(long, env = "CAIRN_MAX_PENDING", default_value_t = Limits::default().max_pending)]
    max_pending: usize,
    /// Unauthenticated connections per client address (IPv6: per /64).
    #[arg(long, env = "CAIRN_MAX_PENDING_PER_ADDRESS", default_value_t = Limits::default().max_pending_per_address)]
    max_pending_per_address: usize,
    /// Seconds for the TLS handshake and a request's head and body to arrive.
    #[arg(long, env = "CAIRN_HEADER_TIMEOUT", default_value_t = Limits::default().header_timeout.as_secs_f64())]
    header_timeout: f64,
    /// Seconds a connection may stay idle between requests.
    #[arg(long, env = "CAIRN_IDLE_TIMEOUT", default_value_t = Limits::default().idle_timeout.as_secs_f64())]
    idle_timeout: f64,
    /// Seconds for an agent's WebSocket handshake (enrollment or authentication).
    #[arg(long, env = "CAIRN_HANDSHAKE_TIMEOUT", default_value_t = Limits::default().handshake_timeout.as_secs_f64())]
    handshake_timeout: f64,
    /// KiB queued for one dashboard socket before it is closed as too far behind.
    #[arg(long, env = "CAIRN_DASHBOARD_QUEUE_KIB", default_value_t = Limits::default().dashboard_queue_bytes / 1024)]
    dashboard_queue_kib: usize,
    /// Seconds a dashboard socket may lag behind live events before it is closed.
    #[arg(long, env = "CAIRN_DASHBOARD_MAX_LAG", default_value_t = Limits::default().dashboard_max_lag.as_secs_f64())]
    dashboard_max_lag: f64,
    /// Seconds an enrollment token stays valid (1 to 604800; default an hour).
    #[arg(long, env = "CAIRN_ENROLLMENT_TOKEN_TTL", default_value_t = cairn_control_plane::TOKEN_TTL_SECS)]
    enrollment_token_ttl: u64,
    /// Seconds between two evaluations of every node's alert rules.
    #[arg(long, env = "CAIRN_ALERT_TICK", default_value_t = 10.0)]
    alert_tick: f64,
}

/// `secs` as a duration, or the sentence saying what is wrong with it.
fn seconds(flag: &str, secs: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero() && d.as_secs() <= 86_400)
        .with_context(|| {
            format!("--{flag} takes a number of seconds above 0 and at most 86400; got {secs}")
        })
}

impl Args {
    fn limits(&self) -> anyhow::Result<Limits> {
        Ok(Limits {
            max_connections: self.max_connections,
            max_pending: self.max_pending,
            max_pending_per_address: self.max_pending_per_address,
            header_timeout: seconds("header-timeout", self.header_timeout)?,
            idle_timeout: seconds("idle-timeout", self.idle_timeout)?,
            handshake_timeout: seconds("handshake-timeout", self.handshake_timeout)?,
            dashboard_queue_bytes: self.dashboard_queue_kib.max(1).saturating_mul(1024),
            dashboard_max_lag: seconds("dashboard-max-lag", self.dashboard_max_lag)?,
        })
    }
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CAIRN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal: a log file or a pipe gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match real_main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("cairn-control-plane: {e:#}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}

fn real_main() -> anyhow::Result<()> {
    let args = Args::parse();
    let limits = args.limits()?;
    let tls = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => Some(cairn_control_plane::TlsFiles { cert, key }),
        _ => None,
    };
    cairn_control_plane::check_listen_address(args.listen, tls.is_some(), args.insecure)?;
    let mut config = cairn_control_plane::Config::new(args.data_dir);
    config.recipes_dir = args.recipes;
    config.ui_dir = args.ui;
    config.public_url = args.public_url;
    config.tls = tls;
    if let Some(path) = &args.metrics_token_file {
        config.metrics_token = Some(cairn_control_plane::MetricsToken::read(path)?);
    }
    if let Some(path) = args.agent_binary {
        config.agent_binary = path;
    } else if let Some(next_to_us) = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join(cairn_control_plane::install::AGENT_FILE)))
        .filter(|p| p.is_file())
    {
        config.agent_binary = next_to_us;
    }
    config.admin_password = std::env::var("CAIRN_ADMIN_PASSWORD").ok();
    if !(1..=604_800).contains(&args.enrollment_token_ttl) {
        anyhow::bail!(
            "--enrollment-token-ttl takes a number of seconds from 1 to 604800 (a week); got {}",
            args.enrollment_token_ttl
        );
    }
    config.token_ttl_secs = args.enrollment_token_ttl;
    config.alert_tick = seconds("alert-tick", args.alert_tick)?;
    let open_files =
        cairn_control_plane::limits::raise_open_files_limit(limits.open_files_wanted());
    tracing::info!(open_files, "open files limit (one per connection)");
    config.limits = limits;
    let runtime = tokio::runtime::Runtime::new().context("could not start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("could not listen on {}", args.listen))?;
        cairn_control_plane::run(listener, config, shutdown_signal()).await
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term.recv() => {},
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
