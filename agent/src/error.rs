//! The agent library's error type: every variant says what failed and on what.

use std::path::PathBuf;

/// Everything the agent library can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a valid agent configuration: {reason}", path.display())]
    Config { path: PathBuf, reason: String },
    #[error("{0}")]
    Protocol(#[from] cairn_protocol::ProtocolError),
    #[error("could not connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("the connection to the control plane failed: {0}")]
    Connection(String),
    #[error("the control plane did not answer within {0} s")]
    Timeout(u64),
    #[error("the control plane refused us: {0}")]
    Refused(String),
    #[error("enrollment refused: {0}")]
    Enroll(String),
    /// The control plane says this server was removed from Cairn (`NODE_REMOVED`).
    #[error("{0}")]
    Removed(String),
    #[error("{0}")]
    Other(String),
}

impl AgentError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// A short, stable name of the kind of failure, so the dial loop logs each kind once.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Io { .. } => "io",
            Self::Config { .. } => "config",
            Self::Protocol(_) => "protocol",
            Self::Connect { .. } => "connect",
            Self::Connection(_) => "connection",
            Self::Timeout(_) => "timeout",
            Self::Refused(_) => "refused",
            Self::Enroll(_) => "enroll",
            Self::Removed(_) => "removed",
            Self::Other(_) => "other",
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = AgentError> = std::result::Result<T, E>;
