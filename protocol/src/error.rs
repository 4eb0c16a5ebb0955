//! The protocol's error type. Every message names what failed and on what, so that the agent can
//! report it to the dashboard as is ("bundle signature does not verify with key 3f2a…").

/// Everything that can go wrong while reading, verifying or producing protocol data.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("{what} is {size} bytes, more than the limit of {limit} bytes; it was not read")]
    TooLarge {
        what: &'static str,
        size: usize,
        limit: usize,
    },
    #[error("{what} is not valid JSON: {reason}")]
    Json { what: &'static str, reason: String },
    #[error("{what} contains the key \"{key}\" twice; documents with duplicate keys are refused")]
    DuplicateKey { what: &'static str, key: String },
    #[error("{what} is nested more than {limit} levels deep")]
    TooDeep { what: &'static str, limit: usize },
    #[error("{what} is malformed: {reason}")]
    Malformed { what: &'static str, reason: String },
    #[error("{what} is signed with key {key_id}, which this side does not trust")]
    UnknownKey { what: &'static str, key_id: String },
    #[error("{what} signature does not verify with key {key_id}")]
    BadSignature { what: &'static str, key_id: String },
    #[error("the public key {key_id} is a weak (small-order) key and is refused")]
    WeakKey { key_id: String },
    #[error("bundle file \"{name}\" is not listed in the signed manifest")]
    UnlistedFile { name: String },
    #[error("bundle file \"{name}\" is listed in the signed manifest but missing from the bundle")]
    MissingFile { name: String },
    #[error(
        "bundle file \"{name}\" does not match the signed manifest (expected sha256 {expected} and {expected_size} bytes, got sha256 {actual} and {actual_size} bytes)"
    )]
    HashMismatch {
        name: String,
        expected: String,
        expected_size: u64,
        actual: String,
        actual_size: u64,
    },
    #[error("{what} expired at {expires_at} (now {now}, unix seconds)")]
    Expired {
        what: &'static str,
        expires_at: u64,
        now: u64,
    },
    #[error("{what} is not valid before {issued_at} (now {now}, unix seconds); check the clocks")]
    NotYetValid {
        what: &'static str,
        issued_at: u64,
        now: u64,
    },
    #[error(
        "bundle for {recipe_id} version {version} is older than version {highest} already run on this server"
    )]
    Rollback {
        recipe_id: String,
        version: u64,
        highest: u64,
    },
    #[error("frame {id} was already received; replayed frames are refused")]
    Replay { id: String },
    #[error("frame is addressed to \"{audience}\", not to \"{expected}\"")]
    WrongAudience { audience: String, expected: String },
    #[error("frame belongs to session \"{got}\", not to the current session \"{expected}\"")]
    WrongSession { got: String, expected: String },
    #[error("message {message_type} may not be sent {direction}")]
    WrongDirection {
        message_type: &'static str,
        direction: &'static str,
    },
    #[error("{what} is full ({limit} entries still valid); try again shortly")]
    CacheFull { what: &'static str, limit: usize },
    #[error("enrollment token refused: {0}")]
    Token(&'static str),
    #[error("challenge refused: {0}")]
    Nonce(&'static str),
    #[error(
        "node {node_id} is already enrolled with key {enrolled_key_id}; refusing key {offered_key_id}"
    )]
    AlreadyEnrolled {
        node_id: String,
        enrolled_key_id: String,
        offered_key_id: String,
    },
    #[error("node {node_id} is not enrolled")]
    NotEnrolled { node_id: String },
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl ProtocolError {
    pub(crate) fn io(action: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.display().to_string(),
            source,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = ProtocolError> = std::result::Result<T, E>;
