//! Two-factor sign-in with TOTP (RFC 6238, issue 20): the codes, recovery codes, and the
//! half-signed-in state between the password and the code.
//!
//! - A secret is 160 random bits, sealed at rest with the alerts' key (`alerts::seal`), shown
//!   to its user once while they enrol (text, `otpauth://` address and QR code) and never again.
//! - A code is accepted for the step before, the current one and the one after (30 s each), and
//!   only for a step later than the last one accepted ([`matching_step`] finds the step, the
//!   store moves the user's last step forward in one `UPDATE`), so a code is never accepted
//!   twice. Wrong codes are counted by the sign-in throttle, per account and address.
//! - Recovery codes: ten of 50 random bits each, shown once, stored as sha256; each works once.
//! - [`HalfSignedIn`]: after a right password, a 256-bit token (kept as its sha256, in memory,
//!   for [`PENDING_TTL_SECS`]) that only a code (or enrolment, when two-factor is required)
//!   turns into a session. It opens nothing else.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, TOTP};

/// Seconds per code.
pub const STEP_SECS: u64 = 30;
/// How many recovery codes a user gets.
pub const RECOVERY_CODES: usize = 10;
/// How long the half-signed-in state lasts, in seconds.
pub const PENDING_TTL_SECS: u64 = 5 * 60;
/// Most half-signed-in states kept at once (each needs a right password).
const MAX_PENDING: usize = 4096;

/// A new secret: 160 random bits (RFC 4226's recommended length).
pub fn new_secret() -> anyhow::Result<Vec<u8>> {
    Ok(cairn_protocol::keys::random_bytes::<20>()?.to_vec())
}

fn totp(secret: &[u8], username: &str) -> anyhow::Result<TOTP> {
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        STEP_SECS,
        secret.to_vec(),
        Some("Cairn".into()),
        username.into(),
    )
    .map_err(|e| anyhow::anyhow!("could not make a TOTP generator: {e}"))
}

/// What a user needs to enrol: the secret in base32, the `otpauth://` address and its QR code
/// as an SVG data URL.
pub struct Enrolment {
    pub secret: String,
    pub url: String,
    pub qr: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment(..)")
    }
}

/// The enrolment details of `secret` for `username`.
pub fn enrolment(secret: &[u8], username: &str) -> anyhow::Result<Enrolment> {
    let t = totp(secret, username)?;
    let url = t.get_url();
    let code = qrcode::QrCode::new(url.as_bytes())
        .map_err(|e| anyhow::anyhow!("could not make the QR code: {e}"))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    Ok(Enrolment {
        secret: t.get_secret_base32(),
        url,
        qr: format!(
            "data:image/svg+xml;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(svg)
        ),
    })
}

/// The step (time / 30 s) whose code `code` is, among the step before `now`'s, its own and
/// the one after; `None` when it is none of them.
pub fn matching_step(secret: &[u8], code: &str, now: u64) -> Option<u64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = totp(secret, "-").ok()?;
    let step = now / STEP_SECS;
    let mut found = None;
    // Every candidate is compared (in constant time), whichever matches.
    for s in [step.saturating_sub(1), step, step + 1] {
        let want = t.generate(s * STEP_SECS);
        let same = want
            .bytes()
            .zip(code.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
        if same {
            found = Some(s);
        }
    }
    found
}

/// Ten new recovery codes (`xxxxx-xxxxx`, base32 lowercase) and their stored hashes.
pub fn new_recovery_codes() -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let raw = cairn_protocol::keys::random_bytes::<7>()?;
        let text = data_encoding::BASE32_NOPAD
            .encode(&raw)
            .to_ascii_lowercase();
        codes.push(format!("{}-{}", &text[..5], &text[5..10]));
    }
    let hashes = codes.iter().map(|c| hash_recovery_code(c)).collect();
    Ok((codes, hashes))
}

/// The stored form of a recovery code (dashes, spaces and case ignored).
pub fn hash_recovery_code(code: &str) -> String {
    let norm: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let mut h = Sha256::new();
    h.update(b"cairn-recovery-v1\0");
    h.update(norm.as_bytes());
    hex::encode(h.finalize())
}

/// What a half-signed-in browser may do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Enter a code (or a recovery code).
    Code,
    /// Enrol first: two-factor is required for the user's role and they have none.
    Enrol,
}

#[derive(Debug, Clone)]
struct Pending {
    username: String,
    next: Next,
    expires: u64,
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct HalfSignedIn {
    map: Mutex<HashMap<String, Pending>>,
}

fn hash_token(token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"cairn-pending-v1\0");
    h.update(token.as_bytes());
    hex::encode(h.finalize())
}

impl HalfSignedIn {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new token for `username`, who typed the right password.
    pub fn start(&self, username: &str, next: Next, now: u64) -> anyhow::Result<String> {
        let token = hex::encode(cairn_protocol::keys::random_bytes::<32>()?);
        let mut map = self.lock();
        map.retain(|_, p| p.expires > now);
        if map.len() >= MAX_PENDING {
            // The oldest goes: its owner types their password again.
            if let Some(k) = map
                .iter()
                .min_by_key(|(_, p)| p.expires)
                .map(|(k, _)| k.clone())
            {
                map.remove(&k);
            }
        }
        map.insert(
            hash_token(&token),
            Pending {
                username: username.to_owned(),
                next,
                expires: now + PENDING_TTL_SECS,
            },
        );
        Ok(token)
    }

    /// The user and next step of a live token.
    pub fn get(&self, token: &str, now: u64) -> Option<(String, Next)> {
        let map = self.lock();
        map.get(&hash_token(token))
            .filter(|p| p.expires > now)
            .map(|p| (p.username.clone(), p.next))
    }

    /// Ends a token (used, or its user signed in).
    pub fn end(&self, token: &str) {
        self.lock().remove(&hash_token(token));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_matches_its_step_and_its_neighbours_only() -> anyhow::Result<()> {
        // RFC 6238's SHA-1 test secret, 8-digit vector 94287082 at t=59 → 6 digits 287082.
        let secret = b"12345678901234567890";
        assert_eq!(matching_step(secret, "287082", 59), Some(1));
        assert_eq!(matching_step(secret, "287082", 59 + 30), Some(1));
        assert_eq!(matching_step(secret, "287082", 59 + 90), None);
        assert_eq!(matching_step(secret, "28708", 59), None);
        assert_eq!(matching_step(secret, "abcdef", 59), None);
        Ok(())
    }

    #[test]
    fn recovery_codes_are_distinct_and_hashed_loosely() -> anyhow::Result<()> {
        let (codes, hashes) = new_recovery_codes()?;
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut uniq = hashes.clone();
        uniq.dedup();
        assert_eq!(uniq.len(), RECOVERY_CODES);
        assert_eq!(
            hash_recovery_code(&codes[0].to_uppercase().replace('-', " ")),
            hashes[0]
        );
        Ok(())
    }

    #[test]
    fn a_pending_token_expires() -> anyhow::Result<()> {
        let h = HalfSignedIn::default();
        let t = h.start("ann", Next::Code, 100)?;
        assert_eq!(h.get(&t, 101), Some(("ann".into(), Next::Code)));
        assert_eq!(h.get(&t, 100 + PENDING_TTL_SECS), None);
        h.end(&t);
        assert_eq!(h.get(&t, 101), None);
        Ok(())
    }
}
