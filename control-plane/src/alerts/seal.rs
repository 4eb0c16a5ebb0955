//! Secrets sealed at rest (alert channels' secrets, users' TOTP secrets): ChaCha20-Poly1305 with a 32-byte key kept in
//! `alerts.key` in the data directory (0600, made on first use). A copy of the database alone
//! does not give the SMTP passwords, webhook secrets or tokens in URLs. A sealed value is
//! base64 of nonce (12 bytes) then ciphertext.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

/// The key that seals secrets at rest.
pub struct Sealer(ChaCha20Poly1305);

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// Reads `dir/alerts.key`, or makes it (0600) on first start.
    pub fn open_or_create(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join("alerts.key");
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).context("could not get random bytes for alerts.key")?;
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .with_context(|| format!("could not create {}", path.display()))?;
                f.write_all(&key)
                    .and_then(|()| f.sync_all())
                    .with_context(|| format!("could not write {}", path.display()))?;
                key.to_vec()
            }
            Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
        };
        if bytes.len() != 32 {
            bail!(
                "{} is not a key of 32 bytes; restore it from a backup (without it the alert channels' secrets cannot be read)",
                path.display()
            );
        }
        Ok(Self(ChaCha20Poly1305::new(Key::from_slice(&bytes))))
    }

    pub fn seal(&self, plain: &str) -> anyhow::Result<String> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).context("could not get random bytes")?;
        let ct = self
            .0
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .map_err(|_| anyhow::anyhow!("could not seal a secret"))?;
        let mut all = nonce.to_vec();
        all.extend(ct);
        Ok(STANDARD.encode(all))
    }

    pub fn open(&self, sealed: &str) -> anyhow::Result<String> {
        let all = STANDARD
            .decode(sealed)
            .context("a sealed secret is not base64")?;
        if all.len() < 12 {
            bail!("a sealed secret is too short");
        }
        let (nonce, ct) = all.split_at(12);
        let plain = self.0.decrypt(Nonce::from_slice(nonce), ct).map_err(|_| {
            anyhow::anyhow!(
                "a sealed secret could not be opened with alerts.key (was the key replaced?)"
            )
        })?;
        Ok(String::from_utf8(plain)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_with_the_same_key_file_only_and_does_not_show_in_clear()
    -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let s = Sealer::open_or_create(dir.path())?;
        let sealed = s.seal("hunter2-password")?;
        assert!(!sealed.contains("hunter2"));
        assert_eq!(
            Sealer::open_or_create(dir.path())?.open(&sealed)?,
            "hunter2-password"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("alerts.key"))?
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let other = tempfile::tempdir()?;
        assert!(Sealer::open_or_create(other.path())?.open(&sealed).is_err());
        Ok(())
    }
}
