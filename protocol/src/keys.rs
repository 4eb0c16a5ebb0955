//! Ed25519 keys, key ids, key files and domain-separated signatures.
//!
//! Every signature in Cairn is over `domain || message`, where `domain` names what is signed
//! (`cairn-bundle-v1\0`, `cairn-frame-cp-v1\0`, …), so that a signature made for one purpose can
//! never be replayed as another. Verification always uses `verify_strict`, which refuses
//! small-order keys and `R` values and non-canonical `s`.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::error::{ProtocolError, Result};

/// Domain prefix of recipe bundle headers.
pub const DOMAIN_BUNDLE: &[u8] = b"cairn-bundle-v1\0";
/// Domain prefix of frames sent by the control plane to an agent.
pub const DOMAIN_FRAME_TO_AGENT: &[u8] = b"cairn-frame-cp-v1\0";
/// Domain prefix of frames sent by an agent to the control plane.
pub const DOMAIN_FRAME_TO_CONTROL_PLANE: &[u8] = b"cairn-frame-agent-v1\0";
/// Domain prefix of the agent's answer to an authentication challenge.
pub const DOMAIN_AUTH: &[u8] = b"cairn-auth-v1\0";
/// Domain prefix of the agent's proof of key possession at enrollment.
pub const DOMAIN_ENROLL: &[u8] = b"cairn-enroll-v1\0";

/// The short, stable name of a public key: the first 16 hex characters of sha256(public key).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// The key id of raw public key bytes.
    pub fn of(public_key: &[u8; 32]) -> Self {
        let digest = Sha256::digest(public_key);
        Self(hex::encode(&digest[..8]))
    }

    /// The id as 16 lowercase hex characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

/// A verified-usable Ed25519 public key (never a weak, small-order one).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
    id: KeyId,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.id)
    }
}

impl PublicKey {
    /// Reads a public key from its 32 bytes, refusing invalid points and small-order keys.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self> {
        let id = KeyId::of(bytes);
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| ProtocolError::Malformed {
            what: "public key",
            reason: format!("{} is not a valid Ed25519 point", hex::encode(bytes)),
        })?;
        if key.is_weak() {
            return Err(ProtocolError::WeakKey {
                key_id: id.to_string(),
            });
        }
        Ok(Self { key, id })
    }

    /// Reads a public key from 64 hex characters.
    pub fn from_hex(text: &str) -> Result<Self> {
        let bytes = decode_32(text.trim(), "public key")?;
        Self::from_bytes(&bytes)
    }

    /// The key as 64 lowercase hex characters (the format of `signing.pub`).
    pub fn to_hex(&self) -> String {
        hex::encode(self.key.as_bytes())
    }

    /// The raw 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The key's id.
    pub fn key_id(&self) -> &KeyId {
        &self.id
    }

    /// Whether `signature` is a valid strict signature of `domain || message` by this key.
    pub fn verify(&self, domain: &[u8], message: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = <[u8; 64]>::try_from(signature) else {
            return false;
        };
        // The key decompressed once, when this `PublicKey` was built: decompressing it again
        // for every frame was about a fifth of each check.
        verify_strict_with(&self.key, domain, message, &sig)
    }

    /// Reads a public key file (`signing.pub`: 64 hex characters).
    pub fn read_file(path: &Path) -> Result<Self> {
        let text = read_small_text(path)?;
        Self::from_hex(&text)
    }
}

/// Verifies a strict Ed25519 signature of `domain || message` from raw bytes. This and
/// [`PublicKey::verify`] are the only places where Cairn checks signatures (both through
/// `verify_strict_with`); it exists separately from [`PublicKey`] so that tests can
/// feed it weak keys that [`PublicKey::from_bytes`] would refuse to build.
pub fn verify_strict_raw(
    public_key: &[u8; 32],
    domain: &[u8],
    message: &[u8],
    signature: &[u8; 64],
) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(public_key) else {
        return false;
    };
    verify_strict_with(&key, domain, message, signature)
}

fn verify_strict_with(
    key: &VerifyingKey,
    domain: &[u8],
    message: &[u8],
    signature: &[u8; 64],
) -> bool {
    let sig = Signature::from_bytes(signature);
    key.verify_strict(&signed_bytes(domain, message), &sig)
        .is_ok()
}

fn signed_bytes(domain: &[u8], message: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(domain.len() + message.len());
    buf.extend_from_slice(domain);
    buf.extend_from_slice(message);
    buf
}

/// An Ed25519 signing key with its public half.
pub struct KeyPair {
    signing: SigningKey,
    public: PublicKey,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        write!(f, "KeyPair({})", self.public.id)
    }
}

impl KeyPair {
    /// A new key from the operating system's random number generator.
    pub fn generate() -> Result<Self> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| ProtocolError::Random(e.to_string()))?;
        Self::from_secret_bytes(&secret)
    }

    /// The key whose 32-byte secret is `secret`.
    pub fn from_secret_bytes(secret: &[u8; 32]) -> Result<Self> {
        let signing = SigningKey::from_bytes(secret);
        let public = PublicKey::from_bytes(signing.verifying_key().as_bytes())?;
        Ok(Self { signing, public })
    }

    /// The public half.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The public key's id.
    pub fn key_id(&self) -> &KeyId {
        &self.public.id
    }

    /// Signs `domain || message`.
    pub fn sign(&self, domain: &[u8], message: &[u8]) -> [u8; 64] {
        self.signing.sign(&signed_bytes(domain, message)).to_bytes()
    }

    /// Writes `signing.key` (the secret as hex, created with mode 0600, never overwritten) and
    /// `signing.pub` (the public key as hex, mode 0644) into `dir`.
    pub fn write_files(&self, dir: &Path) -> Result<()> {
        let secret = dir.join("signing.key");
        let public = dir.join("signing.pub");
        let secret_hex = format!("{}\n", hex::encode(self.signing.as_bytes()));
        write_new_file(&secret, secret_hex.as_bytes(), 0o600)?;
        write_new_file(
            &public,
            format!("{}\n", self.public.to_hex()).as_bytes(),
            0o644,
        )
    }

    /// Reads a secret key file (`signing.key`: 64 hex characters).
    pub fn read_file(path: &Path) -> Result<Self> {
        let text = read_small_text(path)?;
        let bytes = decode_32(text.trim(), "secret key")?;
        Self::from_secret_bytes(&bytes)
    }
}

/// Creates `path` with `mode` from the start (no window where a secret is world-readable) and
/// refuses to overwrite an existing file.
fn write_new_file(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| ProtocolError::io("could not create", path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| ProtocolError::io("could not write", path, e))
}

fn read_small_text(path: &Path) -> Result<String> {
    let meta = std::fs::metadata(path).map_err(|e| ProtocolError::io("could not read", path, e))?;
    if meta.len() > 4096 {
        return Err(ProtocolError::Malformed {
            what: "key file",
            reason: format!(
                "{} is {} bytes; a key file is 65",
                path.display(),
                meta.len()
            ),
        });
    }
    std::fs::read_to_string(path).map_err(|e| ProtocolError::io("could not read", path, e))
}

fn decode_32(text: &str, what: &'static str) -> Result<[u8; 32]> {
    let bytes = hex::decode(text).map_err(|e| ProtocolError::Malformed {
        what,
        reason: format!("not hex: {e}"),
    })?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| ProtocolError::Malformed {
        what,
        reason: format!("{} bytes instead of 32", bytes.len()),
    })
}

/// The public keys a verifier trusts, by key id (the control plane's current and next key, for
/// rotation).
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: BTreeMap<KeyId, PublicKey>,
}

impl KeyRing {
    /// A key ring holding `keys`.
    pub fn new(keys: impl IntoIterator<Item = PublicKey>) -> Self {
        Self {
            keys: keys.into_iter().map(|k| (k.id.clone(), k)).collect(),
        }
    }

    /// Adds a key.
    pub fn insert(&mut self, key: PublicKey) {
        self.keys.insert(key.id.clone(), key);
    }

    /// The key with id `key_id`, if trusted.
    pub fn get(&self, key_id: &str) -> Option<&PublicKey> {
        self.keys.get(&KeyId(key_id.to_owned()))
    }
}

impl From<PublicKey> for KeyRing {
    fn from(key: PublicKey) -> Self {
        Self::new([key])
    }
}

/// Fills `N` bytes from the operating system's random number generator.
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| ProtocolError::Random(e.to_string()))?;
    Ok(buf)
}
