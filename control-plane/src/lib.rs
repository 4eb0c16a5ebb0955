//! Cairn's control plane, as a library: the binary only parses arguments and calls [`run`].
//!
//! - [`config`]: what it is started with; [`app`]: the state every connection shares.
//! - [`server`]: the accept loop (plain TCP or TLS) serving the warp router through hyper;
//!   [`gate`], [`limits`]: who may hold a connection, for how long (caps, eviction, timeouts).
//! - [`http`]: the router (built from one route table, [`http::ROUTES`]) and the REST handlers;
//!   [`web`]: what handlers and sockets share (the session, the client's address, JSON errors,
//!   this control plane's own origin).
//! - [`ws_agent`]: agents' connections: the socket, enrollment, authentication, signed frames,
//!   job events; [`detectors`]: which detector bundles a status request carries.
//! - [`ws_dashboard`]: dashboards' connections: commands that become jobs, events out.
//! - [`hub`]: routing between the two; [`outbox`]: a dashboard socket's bounded queue.
//! - [`store`]: users, sessions, tokens, nodes, jobs, events, audit (`store::SqliteStore`).
//! - [`node_writes`]: nodes' last seen time and status, written in batches.
//! - [`metric_writes`]: agents' metrics samples, written in batches, summarised and pruned.
//! - [`prometheus`]: the text `GET /metrics` answers Prometheus with.
//! - [`registry`]: recipes checked with the engine and signed into bundles.
//! - [`install`]: `install.sh` (minijinja template) and the agent binary new servers download.
//! - [`auth`], [`mask`]: passwords, sessions and the sign-in defences; secret masking.
//! - [`roles`]: the users' roles and node groups, which every route and command is checked against.
//! - [`alerts`]: alert rules evaluated on what nodes are observed to be, notices to channels.
//! - [`setup`]: the data directory, key, database and admin account on start; [`settings`]: what
//!   the dashboard can change about the control plane (its public address).

pub mod alerts;
pub(crate) mod app;
pub mod auth;
pub(crate) mod config;
pub(crate) mod detectors;
pub(crate) mod gate;
pub(crate) mod heap_trim;
pub mod http;
pub(crate) mod hub;
pub mod install;
pub mod limits;
pub(crate) mod mask;
pub(crate) mod metric_writes;
pub(crate) mod node_writes;
pub(crate) mod outbox;
pub(crate) mod plans;
pub(crate) mod prometheus;
pub(crate) mod registry;
pub(crate) mod reversion;
pub mod roles;
pub(crate) mod said;
pub(crate) mod server;
pub(crate) mod settings;
pub(crate) mod setup;
pub(crate) mod store;
pub(crate) mod submissions;
pub(crate) mod web;
pub(crate) mod ws_agent;
pub(crate) mod ws_dashboard;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

pub use app::CONTROL_PLANE_ID;
pub use config::{Config, MetricsToken, TOKEN_TTL_SECS, TlsFiles};
pub use setup::check_listen_address;

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
    heap_trim::spawn(app.shutdown.clone());
    let addr: SocketAddr = listener.local_addr()?;
    tracing::info!(%addr, tls = app.tls(), "control plane listening");
    // Refused sign-ins are written once a second, and once more when the server has stopped
    // (however it stopped).
    let (served_tx, served_rx) = tokio::sync::oneshot::channel();
    let tallies = Arc::clone(&app);
    let refusals = tokio::spawn(async move {
        tallies
            .refusals
            .flush_until(&tallies.store, served_rx)
            .await;
    });
    let served = server::serve(listener, app, shutdown, stop_tx).await;
    let _ = served_tx.send(());
    let _ = refusals.await;
    served
}
