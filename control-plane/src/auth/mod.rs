//! Dashboard authentication: argon2 password hashes, session ids and the session cookie;
//! the sign-in defences live in the submodules (threats.md 25 and 32):
//!
//! - [`throttle`]: failures per address ([`address`]) and per account, reserved before the
//!   password check;
//! - [`known`]: the addresses each account signed in from, which its lockout does not hold back;
//! - [`verifier`]: a few password checks at a time, in reused memory;
//! - [`refusals`]: refused sign-ins counted into one audit entry per account and address.
//! - [`totp`]: two-factor codes, recovery codes and the half-signed-in state.
//!
//! A session id is 256 random bits shown only to the browser (in the cookie); the store keeps
//! its sha256, so a copy of the database opens no session.

pub(crate) mod address;
pub(crate) mod known;
pub mod refusals;
pub mod throttle;
pub mod totp;
pub(crate) mod verifier;

pub use address::AddressKey;
pub use known::KnownAddresses;
pub use refusals::RefusalLog;
pub use throttle::{LoginThrottle, Refusal};
pub use verifier::Verifier;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "cairn_session";
/// How long a session lives, in seconds.
pub const SESSION_TTL_SECS: u64 = 12 * 3600;

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

/// How long an invitation or password-reset link works, in seconds.
pub const INVITE_TTL_SECS: u64 = 48 * 3600;

/// The stored form of an invitation or password-reset link's secret.
pub fn hash_invite_token(token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"cairn-invite-v1\0");
    h.update(token.as_bytes());
    hex::encode(h.finalize())
}

/// The `Set-Cookie` value for a new session; `secure` whenever the dashboard is reached over
/// https (own TLS or an https public URL behind a proxy).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_parsing() {
        assert_eq!(
            session_from_cookie_header("a=b; cairn_session=xyz; c=d"),
            Some("xyz")
        );
        assert_eq!(session_from_cookie_header("cairn_session="), None);
    }
}
