//! The state every connection shares ([`App`]), built once by `setup::prepare`.

use std::sync::{RwLock, RwLockReadGuard};

use cairn_protocol::{FrameSigner, NonceStore};
use tokio::sync::watch;

use crate::config::Config;
use crate::{alerts, auth, hub, install, metric_writes, node_writes, registry, settings, store};

/// The control plane's id in frames (`from` of its frames, `audience` of the agents').
pub const CONTROL_PLANE_ID: &str = "control-plane";

/// State shared by every connection.
#[derive(Debug)]
pub struct App {
    pub config: Config,
    pub store: store::SharedStore,
    pub signer: FrameSigner,
    pub nonces: NonceStore,
    pub registry: RwLock<registry::Registry>,
    /// The one turn to rebuild and publish the registry (a reload, an approval): whoever holds
    /// it reads the approved submissions, builds and swaps, so a build made before an approval
    /// was stored can never replace the registry that publishes it (`submissions::rebuild`).
    pub registry_turn: tokio::sync::Mutex<()>,
    pub hub: hub::Hub,
    /// Previews waiting to be confirmed (in memory only).
    pub plans: crate::plans::Plans,
    pub agent: install::AgentBinary,
    /// The agent's worker, served from the agent binary's directory.
    pub worker: install::AgentBinary,
    /// Nodes' `last_seen` and `last_status`, written in batches.
    pub node_writes: node_writes::NodeWriter,
    /// Metrics samples, written in batches, summarised and pruned in the background.
    pub metrics: metric_writes::MetricWriter,
    pub throttle: auth::LoginThrottle,
    /// Where each account signed in from; its lockout does not hold these back.
    pub known: auth::KnownAddresses,
    /// The few password checks allowed at once.
    pub verifier: auth::Verifier,
    /// Refused sign-ins, tallied for the audit log.
    pub refusals: auth::RefusalLog,
    /// Browsers between the right password and the two-factor code (`auth::totp`).
    pub half_signed_in: auth::totp::HalfSignedIn,
    /// The public address set in the dashboard (`--public-url` wins over it).
    pub public_address: settings::PublicAddress,
    /// Flips to true when the server shuts down; WebSocket tasks watch it.
    pub shutdown: watch::Receiver<bool>,
    /// Alert rules, their states and channels; fed with [`alerts::Alerts::observe`].
    pub alerts: alerts::Alerts,
    /// Users some of whose sessions just ended (disabled, password changed or reset, signed
    /// out) or whose role or groups changed: each dashboard socket of theirs looks at its
    /// session at once, closes if it ended, and stops watching nodes now out of reach.
    pub session_changes: tokio::sync::broadcast::Sender<String>,
}

impl App {
    /// The binary this control plane serves for `part` of the agent.
    pub fn download(&self, part: install::Part) -> &install::AgentBinary {
        match part {
            install::Part::Agent => &self.agent,
            install::Part::Worker => &self.worker,
        }
    }

    /// Whether this process serves TLS itself (URLs built from `Host` then say `https`).
    pub fn tls(&self) -> bool {
        self.config.tls()
    }

    /// Whether browsers reach the dashboard over https ([`Config::https`]).
    pub fn https(&self) -> bool {
        self.config.https()
    }

    /// Tells `username`'s dashboard sockets that their sessions ended or changed.
    pub fn sessions_changed(&self, username: &str) {
        // No socket listening is no error.
        let _ = self.session_changes.send(username.to_owned());
    }

    /// The current registry, for reading.
    pub fn registry(&self) -> RwLockReadGuard<'_, registry::Registry> {
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
