//! Secret redaction. Every secret generated in a job (`secret()`) is registered here, and every
//! string that leaves the engine (console lines, step titles, errors) passes through
//! [`Redactor::redact`].

use std::sync::{Arc, Mutex, PoisonError};

/// What a secret is replaced with.
pub const MASK: &str = "********";

/// The set of secrets of one job. Cheap to clone; clones share the set.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Arc<Mutex<Vec<String>>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secrets themselves.
        f.debug_struct("Redactor")
            .field("secrets", &self.len())
            .finish()
    }
}

impl Redactor {
    /// An empty redactor.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a secret. `secret()` makes them at least 16 characters long, so masking never
    /// turns ordinary text into stars.
    pub fn add(&self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let mut secrets = self.secrets.lock().unwrap_or_else(PoisonError::into_inner);
        if !secrets.iter().any(|s| s == secret) {
            secrets.push(secret.to_owned());
            // Longest first, so a secret that contains another is masked whole.
            secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// How many secrets are registered.
    pub fn len(&self) -> usize {
        self.secrets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no secret is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `text` contains a registered secret.
    pub fn contains_secret(&self, text: &str) -> bool {
        let secrets = self.secrets.lock().unwrap_or_else(PoisonError::into_inner);
        secrets.iter().any(|s| text.contains(s.as_str()))
    }

    /// `text` with every registered secret replaced by [`MASK`].
    pub fn redact(&self, text: &str) -> String {
        let secrets = self.secrets.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = text.to_owned();
        for s in secrets.iter() {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MASK);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence_and_longest_first() {
        let r = Redactor::new();
        r.add("abcd");
        r.add("abcdefgh");
        assert_eq!(
            r.redact("x abcdefgh y abcd z"),
            format!("x {MASK} y {MASK} z")
        );
        assert!(r.contains_secret("..abcd.."));
        assert!(!r.contains_secret("abc"));
        assert_eq!(format!("{r:?}"), "Redactor { secrets: 2 }");
    }
}
