//! Dashboard authentication: argon2 password hashes, session ids, the session cookie, and the
//! login throttle (THREATS 25).
//!
//! A session id is 256 random bits shown only to the browser (in the cookie); the store keeps
//! its sha256, so a copy of the database opens no session.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "cairn_session";
/// How long a session lives, in seconds.
pub const SESSION_TTL_SECS: u64 = 12 * 3600;

/// Failed logins (per username and address) allowed before the lockout starts.
pub const FREE_FAILURES: u32 = 5;
/// Longest lockout, in seconds.
pub const MAX_LOCKOUT_SECS: u64 = 15 * 60;

/// Hashes `password` with argon2id and `params`.
pub fn hash_password(password: &str, params: &Params) -> anyhow::Result<String> {
    let salt_bytes = cairn_protocol::keys::random_bytes::<16>()?;
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|e| anyhow::anyhow!("could not encode a password salt: {e}"))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    Ok(argon
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("could not hash the password: {e}"))?
        .to_string())
}

/// Whether `password` matches the PHC string `hash` (its own parameters are used).
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A new session id (256 random bits, hex) for the cookie.
pub fn new_session_id() -> anyhow::Result<String> {
    Ok(hex::encode(cairn_protocol::keys::random_bytes::<32>()?))
}

/// The stored form of a session id.
pub fn hash_session_id(id: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"cairn-session-v1\0");
    h.update(id.as_bytes());
    hex::encode(h.finalize())
}

/// The `Set-Cookie` value for a new session.
pub fn session_cookie(id: &str, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_TTL_SECS}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The session id in a `Cookie` header, if any.
pub fn session_from_cookie_header(header: &str) -> Option<&str> {
    header.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == SESSION_COOKIE && !value.is_empty()).then_some(value)
    })
}

#[derive(Debug, Default, Clone, Copy)]
struct Failures {
    count: u32,
    locked_until: u64,
}

/// Failed logins per (username, address): after [`FREE_FAILURES`] failures every further
/// failure doubles a lockout (1 s, 2 s, 4 s, … up to [`MAX_LOCKOUT_SECS`]) during which even the
/// right password is refused without being checked. A success clears the record.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<(String, IpAddr), Failures>>,
}

/// Whether a login attempt may be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Open,
    /// Locked for this many more seconds.
    Locked(u64),
}

impl LoginThrottle {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, IpAddr), Failures>> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `username` from `ip` may try now.
    pub fn check(&self, username: &str, ip: IpAddr, now: u64) -> Gate {
        match self.lock().get(&(username.to_owned(), ip)) {
            Some(f) if f.locked_until > now => Gate::Locked(f.locked_until - now),
            _ => Gate::Open,
        }
    }

    /// Records a failure; returns the lockout it starts, in seconds (0 if none yet).
    pub fn failed(&self, username: &str, ip: IpAddr, now: u64) -> u64 {
        let mut map = self.lock();
        if map.len() > 100_000 {
            // Bound memory under a spray of usernames: forget records whose lockout passed.
            map.retain(|_, f| f.locked_until > now);
        }
        let f = map.entry((username.to_owned(), ip)).or_default();
        f.count = f.count.saturating_add(1);
        if f.count < FREE_FAILURES {
            return 0;
        }
        let exp = (f.count - FREE_FAILURES).min(20);
        let secs = (1u64 << exp).min(MAX_LOCKOUT_SECS);
        f.locked_until = now + secs;
        secs
    }

    /// Clears the record after a successful login.
    pub fn succeeded(&self, username: &str, ip: IpAddr) {
        self.lock().remove(&(username.to_owned(), ip));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_locks_after_free_failures_and_doubles() {
        let t = LoginThrottle::default();
        let ip: IpAddr = [127, 0, 0, 1].into();
        for _ in 0..FREE_FAILURES - 1 {
            assert_eq!(t.failed("a", ip, 100), 0);
        }
        assert_eq!(t.check("a", ip, 100), Gate::Open);
        assert_eq!(t.failed("a", ip, 100), 1);
        assert_eq!(t.check("a", ip, 100), Gate::Locked(1));
        assert_eq!(t.failed("a", ip, 101), 2);
        assert_eq!(t.check("b", ip, 101), Gate::Open);
        t.succeeded("a", ip);
        assert_eq!(t.check("a", ip, 101), Gate::Open);
    }

    #[test]
    fn cookie_parsing() {
        assert_eq!(
            session_from_cookie_header("a=b; cairn_session=xyz; c=d"),
            Some("xyz")
        );
        assert_eq!(session_from_cookie_header("cairn_session="), None);
    }
}
