//! `cairn-control-plane`: parses arguments, sets up logging and signals, and calls
//! [`cairn_control_plane::run`].

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
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
    /// The URL users reach this control plane at (allowed WebSocket origin, install commands).
    #[arg(long)]
    public_url: Option<String>,
    /// The agent binary new servers download (built for glibc 2.31 by
    /// scripts/build-agent-glibc231). Default: cairn-agent-x86_64-linux-gnu next to this
    /// executable, else in the data directory.
    #[arg(long, env = "CAIRN_AGENT_BINARY")]
    agent_binary: Option<PathBuf>,
    /// Allow listening on a non-loopback address without TLS.
    #[arg(long)]
    insecure: bool,
    /// PEM certificate chain for TLS.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for TLS.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CAIRN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
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
    raise_open_files_limit();
    let runtime = tokio::runtime::Runtime::new().context("could not start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("could not listen on {}", args.listen))?;
        cairn_control_plane::run(listener, config, shutdown_signal()).await
    })
}

/// Every agent holds a connection (one descriptor each): the common default soft limit of 1024
/// open files would refuse agents beyond about a thousand. Raises the soft limit to the hard one.
fn raise_open_files_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        if let Err(error) = setrlimit(Resource::Nofile, limit) {
            tracing::warn!(%error, "could not raise the open files limit");
        }
    }
    let now = getrlimit(Resource::Nofile).current;
    tracing::info!(open_files_limit = ?now, "open files limit (one per connected agent)");
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
