//! The agent's configuration directory.
//!
//! ```text
//! DIR/agent.json          {"url", "nodeId", "controlPlanePublicKey", "controlPlaneKeyId", "tlsPin"?}
//! DIR/agent.key           the agent's Ed25519 secret key, hex, mode 0600
//! DIR/agent.pub           its public key, hex
//! DIR/state/rollback.json highest recipe version run, per recipe id
//! DIR/state/journal/      one <jobId>.jsonl per job not yet acknowledged
//! DIR/state/metrics.jsonl metrics samples not yet acknowledged (`crate::metrics`)
//! ```

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use cairn_protocol::{KeyPair, KeyRing, PublicKey};
use serde::{Deserialize, Serialize};

use crate::error::{AgentError, Result};

/// The `from` of every frame the control plane signs (docs/protocol.md uses it in its
/// examples; the contract leaves it implicit).
pub const DEFAULT_CONTROL_PLANE_ID: &str = "control-plane";

/// `DIR/agent.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentConfig {
    /// The control plane's base URL (`http://…` or `https://…`).
    pub url: String,
    pub node_id: String,
    /// The pinned control plane public key, 64 hex.
    pub control_plane_public_key: String,
    pub control_plane_key_id: String,
    /// Optional sha256 (hex) of the control plane's TLS certificate, for self-signed setups:
    /// when set, the certificate must match it and the web PKI is not consulted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_pin: Option<String>,
    /// The control plane's frame sender id; `control-plane` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_plane_id: Option<String>,
}

impl AgentConfig {
    /// The key ring holding the pinned control plane key, after checking it matches its id.
    pub fn control_plane_keys(&self, path: &Path) -> Result<KeyRing> {
        let key = PublicKey::from_hex(&self.control_plane_public_key).map_err(|e| {
            AgentError::Config {
                path: path.to_owned(),
                reason: format!("controlPlanePublicKey: {e}"),
            }
        })?;
        if key.key_id().as_str() != self.control_plane_key_id {
            return Err(AgentError::Config {
                path: path.to_owned(),
                reason: format!(
                    "controlPlaneKeyId {} is not the id of controlPlanePublicKey ({})",
                    self.control_plane_key_id,
                    key.key_id()
                ),
            });
        }
        Ok(KeyRing::from(key))
    }

    /// The frame sender id of the control plane.
    pub fn control_plane_id(&self) -> &str {
        self.control_plane_id
            .as_deref()
            .unwrap_or(DEFAULT_CONTROL_PLANE_ID)
    }
}

/// The files of one configuration directory.
#[derive(Debug, Clone)]
pub struct ConfigDir {
    pub root: PathBuf,
}

impl ConfigDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    pub fn config_file(&self) -> PathBuf {
        self.root.join("agent.json")
    }
    pub fn key_file(&self) -> PathBuf {
        self.root.join("agent.key")
    }
    pub fn public_key_file(&self) -> PathBuf {
        self.root.join("agent.pub")
    }
    pub fn state_dir(&self) -> PathBuf {
        self.root.join("state")
    }
    pub fn rollback_file(&self) -> PathBuf {
        self.state_dir().join("rollback.json")
    }
    pub fn journal_dir(&self) -> PathBuf {
        self.state_dir().join("journal")
    }
    pub fn metrics_file(&self) -> PathBuf {
        self.state_dir().join("metrics.jsonl")
    }

    /// Creates the directory tree (mode 0700: it holds the agent's key).
    pub fn create(&self) -> Result<()> {
        for dir in [self.root.clone(), self.state_dir(), self.journal_dir()] {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(|e| AgentError::io("could not create", &dir, e))?;
        }
        Ok(())
    }

    /// Reads `agent.json`.
    pub fn load(&self) -> Result<AgentConfig> {
        let path = self.config_file();
        let bytes = std::fs::read(&path).map_err(|e| AgentError::io("could not read", &path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| AgentError::Config {
            path,
            reason: e.to_string(),
        })
    }

    /// Writes `agent.json` atomically (temp file, fsync, rename).
    pub fn save(&self, config: &AgentConfig) -> Result<()> {
        let path = self.config_file();
        let mut text = serde_json::to_string_pretty(config).map_err(|e| AgentError::Config {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        text.push('\n');
        write_atomic(&path, text.as_bytes(), 0o644)
    }

    /// Reads the agent's key.
    pub fn load_key(&self) -> Result<KeyPair> {
        Ok(KeyPair::read_file(&self.key_file())?)
    }

    /// Returns the agent's key, creating it (mode 0600 from the start) if there is none yet, so
    /// that an enrollment interrupted after the control plane recorded the key can be retried.
    pub fn load_or_create_key(&self) -> Result<KeyPair> {
        let path = self.key_file();
        if path.exists() {
            return self.load_key();
        }
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret)
            .map_err(|e| AgentError::Other(format!("the system random generator failed: {e}")))?;
        let key = KeyPair::from_secret_bytes(&secret)?;
        let tmp = path.with_extension("key.tmp");
        let _ = std::fs::remove_file(&tmp);
        write_new(&tmp, format!("{}\n", hex::encode(secret)).as_bytes(), 0o600)?;
        std::fs::rename(&tmp, &path).map_err(|e| AgentError::io("could not create", &path, e))?;
        write_atomic(
            &self.public_key_file(),
            format!("{}\n", key.public().to_hex()).as_bytes(),
            0o644,
        )?;
        Ok(key)
    }
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| AgentError::io("could not create", path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| AgentError::io("could not write", path, e))
}

/// Writes `path` through a temp file, fsync and rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    write_new(&tmp, bytes, mode)?;
    std::fs::rename(&tmp, path).map_err(|e| AgentError::io("could not replace", path, e))
}
