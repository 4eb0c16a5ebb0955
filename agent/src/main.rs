//! `cairn-agent`: `enroll` once (from install.sh), then `run` (from the service manager).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use cairn_agent::enroll::{EnrollOptions, enroll};
use cairn_agent::{Agent, ConfigDir, Tuning};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cairn-agent", version, about = "Cairn's server agent")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Enroll this server with a control plane, using a one-time token from the dashboard.
    Enroll {
        /// The control plane's URL (http://… or https://…).
        #[arg(long)]
        url: String,
        /// The token from the dashboard's install command (NODEID.SECRET). Prefer the
        /// environment variable: a command line is visible to every user of the server.
        #[arg(long, env = "CAIRN_ENROLL_TOKEN", hide_env_values = true)]
        token: String,
        /// The configuration directory to create.
        #[arg(long, default_value = "/etc/cairn-agent")]
        config: PathBuf,
        /// Refuse to enroll unless the control plane's key has this id.
        #[arg(long)]
        cp_key_id: Option<String>,
        /// sha256 (hex) of the control plane's TLS certificate, for self-signed setups.
        #[arg(long)]
        tls_pin: Option<String>,
    },
    /// Connect to the control plane and serve it until SIGTERM or SIGINT.
    Run {
        /// The configuration directory written by `enroll`.
        #[arg(long, default_value = "/etc/cairn-agent")]
        config: PathBuf,
        /// Only report status and plan: refuse every job that would change this server (for an
        /// agent that does not run as root).
        #[arg(long)]
        plan_only: bool,
        /// Seconds between two samples of this server's metrics (CPU, memory, disks, …).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
        metrics_interval: u64,
    },
}

fn main() -> ExitCode {
    cairn_agent::init_log();
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cairn-agent: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn real_main(cli: Cli) -> anyhow::Result<()> {
    // One thread is plenty for the connection; recipes and detectors run on blocking threads.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(64)
        // An idle agent holds no threads: a blocking thread (a detector, a job) ends 2 s after
        // its last task instead of tokio's 10 s, with its stack and allocator arena use.
        .thread_keep_alive(std::time::Duration::from_secs(2))
        .build()
        .context("could not start the async runtime")?;
    let result = runtime.block_on(async {
        match cli.command {
            Command::Enroll {
                url,
                token,
                config,
                cp_key_id,
                tls_pin,
            } => {
                let written = enroll(EnrollOptions {
                    url,
                    token,
                    dir: ConfigDir::new(&config),
                    cp_key_id,
                    tls_pin,
                })
                .await
                .context("enrollment failed")?;
                eprintln!(
                    "cairn-agent: enrolled as {} with {}; configuration in {}",
                    written.node_id,
                    written.url,
                    config.display()
                );
                Ok(())
            }
            Command::Run {
                config,
                plan_only,
                metrics_interval,
            } => run(config, plan_only, Duration::from_secs(metrics_interval)).await,
        }
    });
    // Running jobs are not waited for (see `run`).
    runtime.shutdown_timeout(Duration::from_millis(200));
    result
}

/// Serves until SIGTERM or SIGINT. Shutdown closes the connection and exits without waiting for
/// running jobs: their children live in their own process groups, and the journal reports the
/// jobs as interrupted on the next start, which is safer than killing a package manager halfway.
async fn run(config: PathBuf, plan_only: bool, metrics_interval: Duration) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let dir = ConfigDir::new(&config);
    if plan_only {
        tracing::info!("plan-only mode: jobs that would change this server are refused");
    }
    let tuning = Tuning {
        plan_only,
        metrics_interval,
        ..Tuning::default()
    };
    let agent = Agent::open(&dir, tuning)
        .with_context(|| format!("could not load the agent from {}", config.display()))?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut term = signal(SignalKind::terminate()).context("could not watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("could not watch SIGINT")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = int.recv() => tracing::info!("SIGINT: shutting down"),
        }
        let _ = stop.send(true);
    });
    cairn_agent::dial::run(&agent, stopped).await;
    let pending = agent.outbox().pending_jobs();
    if pending > 0 {
        tracing::info!(
            pending,
            "jobs not finished or not acknowledged stay in the journal"
        );
    }
    Ok(())
}
