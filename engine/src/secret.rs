//! Secrets made on the server: random URL-safe strings from the OS CSPRNG. The caller registers
//! each one with the job's [`Redactor`](crate::redact::Redactor) so it never leaves the engine
//! unmasked, except in the job's result.

use crate::error::HostError;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `len` characters of `[A-Za-z0-9_-]`, 6 bits of entropy each (64 symbols: no modulo bias).
pub fn generate(len: usize) -> Result<String, HostError> {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes)
        .map_err(|e| HostError::Invalid(format!("the system random generator failed: {e}")))?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[(b & 63) as usize] as char)
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_url_safe_and_distinct() {
        let a = super::generate(32).unwrap_or_default();
        let b = super::generate(32).unwrap_or_default();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }
}
