//! Size, depth and time limits. They are checked before any parsing, so that a hostile peer
//! cannot make either side allocate or recurse without bound.

/// Largest signed frame either side accepts, in bytes (the WebSocket layer should close the
/// connection at this size too; tungstenite's default is 64 MiB, far above it).
pub const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;

/// Largest recipe bundle, in bytes, including its JSON envelope and base64 encoding. A bundle
/// travels inside a frame, so it must also fit in [`MAX_FRAME_BYTES`] when sent over the wire.
pub const MAX_BUNDLE_BYTES: usize = 8 * 1024 * 1024;

/// Deepest JSON nesting accepted anywhere (objects and arrays). serde_json's own recursion
/// limit (128) is a second line of defence; this one is lower and applies to every document.
pub const MAX_JSON_DEPTH: usize = 32;

/// Most messages one frame may carry (log batching).
pub const MAX_MESSAGES_PER_FRAME: usize = 1024;

/// Most files one bundle may carry (the recipe and its templates).
pub const MAX_BUNDLE_FILES: usize = 64;

/// Clock skew tolerated between the control plane and an agent, in seconds.
pub const CLOCK_SKEW_SECS: u64 = 60;

/// Longest validity window a frame may declare, in seconds. The replay cache keeps each frame id
/// until its window has passed, so this bounds how long ids are kept.
pub const MAX_FRAME_TTL_SECS: u64 = 300;

/// Default validity window of a frame, in seconds.
pub const DEFAULT_FRAME_TTL_SECS: u64 = 120;

/// Most frame ids a replay cache keeps; beyond this it refuses new frames rather than forget
/// ids that are still inside their window.
pub const MAX_REPLAY_ENTRIES: usize = 100_000;

/// Lifetime of an authentication or enrollment challenge nonce, in seconds.
pub const NONCE_TTL_SECS: u64 = 60;

/// Most outstanding nonces a [`crate::NonceStore`] keeps.
pub const MAX_OUTSTANDING_NONCES: usize = 10_000;
