//! A bounded cache of frame ids seen inside their validity window.
//!
//! A frame is only accepted inside `[issuedAt - skew, expiresAt + skew]`, so its id can be
//! forgotten once that window has passed: a replay after it is refused as expired. Memory is
//! therefore bounded by the rate of valid frames times [`MAX_FRAME_TTL_SECS`], and hard-capped at
//! [`MAX_REPLAY_ENTRIES`], beyond which new frames are refused rather than old ids forgotten.
//!
//! [`MAX_FRAME_TTL_SECS`]: crate::limits::MAX_FRAME_TTL_SECS

use std::collections::HashMap;

use crate::error::{ProtocolError, Result};
use crate::limits::{CLOCK_SKEW_SECS, MAX_REPLAY_ENTRIES};

/// Frame ids seen, with the time after which each can be dropped.
#[derive(Debug)]
pub struct ReplayCache {
    seen: HashMap<String, u64>,
    capacity: usize,
    next_prune: usize,
}

impl Default for ReplayCache {
    fn default() -> Self {
        Self::with_capacity(MAX_REPLAY_ENTRIES)
    }
}

impl ReplayCache {
    /// A cache holding at most `capacity` live ids.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            seen: HashMap::new(),
            capacity,
            next_prune: 1024.min(capacity),
        }
    }

    /// Records `id` (valid until `expires_at`), refusing it if it was already seen.
    pub fn insert(&mut self, id: &str, expires_at: u64, now: u64) -> Result<()> {
        if self.seen.contains_key(id) {
            return Err(ProtocolError::Replay { id: id.to_owned() });
        }
        if self.seen.len() >= self.next_prune {
            self.prune(now);
            // Amortised: prune again only once the cache has doubled.
            self.next_prune = (self.seen.len() * 2).clamp(1024.min(self.capacity), self.capacity);
        }
        if self.seen.len() >= self.capacity {
            return Err(ProtocolError::CacheFull {
                what: "replay cache",
                limit: self.capacity,
            });
        }
        self.seen
            .insert(id.to_owned(), expires_at.saturating_add(CLOCK_SKEW_SECS));
        Ok(())
    }

    /// Drops every id whose window has passed.
    pub fn prune(&mut self, now: u64) {
        self.seen.retain(|_, forget_after| *forget_after >= now);
    }

    /// Number of ids held.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no id is held.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}
