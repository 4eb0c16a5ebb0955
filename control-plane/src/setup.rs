//! First start and every start: the data directory (0700), the signing key (0600), the
//! database, the `admin` account, the recipe registry.

use std::net::SocketAddr;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;
use std::sync::RwLock;

use anyhow::{Context, bail};
use cairn_protocol::{FrameSigner, KeyPair, NonceStore};
use tokio::sync::watch;

use crate::app::{App, CONTROL_PLANE_ID};
use crate::config::Config;
use crate::roles::{Access, Role};
use crate::store::{SqliteStore, User};
use crate::{auth, hub, install, node_writes, registry, settings, store};

/// Refuses to listen on a non-loopback address without TLS unless `insecure` says so.
pub fn check_listen_address(addr: SocketAddr, tls: bool, insecure: bool) -> anyhow::Result<()> {
    if !addr.ip().is_loopback() && !tls && !insecure {
        bail!(
            "refusing to listen on {addr} without TLS: database connection strings and session \
             cookies cross this link, so anyone on the network could read them; pass \
             --tls-cert and --tls-key, listen on 127.0.0.1 behind a TLS proxy, or pass \
             --insecure if you really mean it"
        );
    }
    Ok(())
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("could not create the data directory {}", dir.display()))?;
    }
    let mode = std::fs::metadata(dir)
        .with_context(|| format!("could not read {}", dir.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("could not make {} private (0700)", dir.display()))?;
        tracing::warn!(dir = %dir.display(), "the data directory was readable by others; it is now 0700");
    }
    Ok(())
}

fn load_or_create_key(dir: &Path) -> anyhow::Result<KeyPair> {
    let path = dir.join("signing.key");
    if path.exists() {
        return KeyPair::read_file(&path)
            .with_context(|| format!("could not read the signing key {}", path.display()));
    }
    let key = KeyPair::generate()?;
    key.write_files(dir)
        .with_context(|| format!("could not write a new signing key into {}", dir.display()))?;
    tracing::info!(key_id = %key.key_id(), "created the control plane's signing key");
    Ok(key)
}

/// Builds the shared state, creating what a first start needs.
pub async fn prepare(config: Config, shutdown: watch::Receiver<bool>) -> anyhow::Result<App> {
    create_private_dir(&config.data_dir)?;
    let key = load_or_create_key(&config.data_dir)?;
    let db_path = config.data_dir.join("cairn.db");
    let db = SqliteStore::open(&db_path)
        .with_context(|| format!("could not open the database {}", db_path.display()))?;
    let store: store::SharedStore = std::sync::Arc::new(db);

    if store::blocking(&store, |s| s.user_count()).await? == 0 {
        let (password, generated) = match &config.admin_password {
            Some(p) if !p.is_empty() => (p.clone(), false),
            _ => (cairn_protocol::new_token()?[..24].to_owned(), true),
        };
        let hash = auth::hash_password(&password, &config.argon2_params)?;
        // The first account, as before issue 20, is the owner: every right.
        let user = User {
            username: "admin".to_owned(),
            password_hash: hash,
            access: Access {
                role: Role::Owner,
                groups: Vec::new(),
                destroy: false,
            },
            disabled: false,
            created_at: 0,
            password_changed_at: 0,
        };
        let now = cairn_protocol::unix_now();
        store::blocking(&store, move |s| s.create_user(&user, now)).await?;
        if generated {
            // Shown once, on the operator's terminal only; never logged.
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "Created the dashboard account \"admin\" with the password: {password}\n\
                     Write it down now: it is not shown again. (Set CAIRN_ADMIN_PASSWORD before \
                     the first start to choose it.)"
                );
            }
        }
        tracing::info!("created the dashboard account admin");
    }

    let signer = FrameSigner::control_plane(key, CONTROL_PLANE_ID);
    let registry = {
        let dir = config.recipes_dir.clone();
        // Recipes approved through a submission are published over their files (issue 22).
        let layers = store::blocking(&store, crate::submissions::layers).await?;
        let reg =
            registry::Registry::load_with(&dir, &layers, signer.key(), cairn_protocol::unix_now());
        tracing::info!(
            recipes = reg.catalogue.len(),
            published = reg.catalogue.iter().filter(|e| e.published).count(),
            "recipes loaded"
        );
        reg
    };
    let known = auth::KnownAddresses::default();
    let since = cairn_protocol::unix_now().saturating_sub(auth::known::KEEP_SECS);
    for (username, address, at) in
        store::blocking(&store, move |s| s.login_addresses(since)).await?
    {
        if let Some(addr) = auth::AddressKey::parse(&address) {
            known.remember(&username, addr, at);
        }
    }
    let public_address = settings::PublicAddress::new(
        store::blocking(&store, |s| s.setting(settings::PUBLIC_URL_KEY)).await?,
    );
    let verifier = auth::Verifier::new(config.login_checks, &config.argon2_params)?;
    let throttle = auth::LoginThrottle::new(config.login_first_lockout);
    let enrolled: Vec<String> = store::blocking(&store, |s| s.nodes())
        .await?
        .into_iter()
        .filter(|n| n.removed_at.is_none())
        .map(|n| n.id)
        .collect();
    let alerts = crate::alerts::Alerts::start(
        &config.data_dir,
        std::sync::Arc::clone(&store),
        config.alert_tick,
        enrolled,
    )
    .context("could not start the alerts")?;
    Ok(App {
        agent: install::AgentBinary::new(config.agent_binary.clone()),
        worker: install::AgentBinary::worker_next_to(&config.agent_binary),
        config,
        node_writes: node_writes::NodeWriter::spawn(std::sync::Arc::clone(&store)),
        metrics: crate::metric_writes::MetricWriter::spawn(
            std::sync::Arc::clone(&store),
            store::MetricRetention::default(),
        ),
        store,
        signer,
        nonces: NonceStore::new(),
        registry: RwLock::new(registry),
        registry_turn: tokio::sync::Mutex::new(()),
        hub: hub::Hub::default(),
        plans: crate::plans::Plans::default(),
        throttle,
        known,
        verifier,
        refusals: auth::RefusalLog::default(),
        half_signed_in: auth::totp::HalfSignedIn::default(),
        session_changes: tokio::sync::broadcast::channel(64).0,
        public_address,
        shutdown,
        alerts,
    })
}
