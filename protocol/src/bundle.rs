//! Signed recipe bundles.
//!
//! A bundle is a JSON object holding a signed header, kept as the exact bytes that were signed
//! (base64 of the header JSON), and the files it lists (the recipe first, then its templates):
//!
//! ```json
//! {"format":"cairn-bundle-v1","keyId":"3f2a…","signature":"<base64>",
//!  "header":"<base64 of the header JSON>","files":{"redis.rhai":"<base64>"}}
//! ```
//!
//! The header is parsed only after its signature verifies, and every field the agent acts on
//! (recipe id, version, file hashes and sizes, capabilities, validity window, key id) is inside
//! it. [`SignedBundle::verify`] checks, in order: signature (with a trusted key), header,
//! hashes (every file listed, none extra, none missing), validity window. [`open_bundle`] adds
//! the rollback check and records the version before anything runs. The size cap is checked
//! before any of this, by [`SignedBundle::from_bytes`] or by the frame that carried the bundle.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{ProtocolError, Result};
use crate::keys::{DOMAIN_BUNDLE, KeyPair, KeyRing};
use crate::limits::{CLOCK_SKEW_SECS, MAX_BUNDLE_BYTES, MAX_BUNDLE_FILES};
use crate::rollback::RollbackStore;
use crate::strict_json;

/// The `format` of bundles this crate reads and writes.
pub const BUNDLE_FORMAT: &str = "cairn-bundle-v1";

/// A bundle as it travels and is stored: nothing in it is trusted until [`Self::verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignedBundle {
    pub format: String,
    /// The signing key's id (lookup hint; the signed header repeats it).
    pub key_id: String,
    /// Ed25519 signature over `cairn-bundle-v1\0 || header bytes`, base64.
    pub signature: String,
    /// The exact signed header bytes (JSON), base64.
    pub header: String,
    /// File name → content, base64.
    pub files: BTreeMap<String, String>,
}

/// What a recipe may do on the server, as declared by the recipe and signed in its bundle.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// Programs the recipe may run.
    pub programs: Vec<String>,
    /// Path prefixes the recipe may write under.
    pub paths: Vec<String>,
    /// Services the recipe may start, stop or enable.
    pub services: Vec<String>,
}

/// One file's entry in the signed manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileEntry {
    pub name: String,
    /// Lowercase hex.
    pub sha256: String,
    pub size: u64,
}

/// The signed header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundleHeader {
    pub recipe_id: String,
    pub version: u64,
    /// The recipe (`.rhai`) first, then companion files.
    pub files: Vec<FileEntry>,
    pub capabilities: Capabilities,
    /// Unix seconds.
    pub issued_at: u64,
    /// Unix seconds.
    pub expires_at: u64,
    pub key_id: String,
}

/// A file of a verified bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// A bundle whose signature, manifest and validity window have been checked.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    header: BundleHeader,
    files: Vec<BundleFile>,
}

impl VerifiedBundle {
    /// The signed header.
    pub fn header(&self) -> &BundleHeader {
        &self.header
    }

    /// The recipe script (the first file).
    pub fn recipe(&self) -> &BundleFile {
        // validate_header guarantees at least one file.
        &self.files[0]
    }

    /// Every file, in manifest order.
    pub fn files(&self) -> &[BundleFile] {
        &self.files
    }

    /// The file called `name`.
    pub fn file(&self, name: &str) -> Option<&BundleFile> {
        self.files.iter().find(|f| f.name == name)
    }
}

/// The facts and files of a bundle to sign.
#[derive(Debug, Clone)]
pub struct UnsignedBundle {
    pub recipe_id: String,
    pub version: u64,
    pub capabilities: Capabilities,
    /// The recipe (`.rhai`) first, then companion files: (name, content).
    pub files: Vec<(String, Vec<u8>)>,
    pub issued_at: u64,
    pub expires_at: u64,
}

impl UnsignedBundle {
    /// Signs the bundle with `key`.
    pub fn sign(&self, key: &KeyPair) -> Result<SignedBundle> {
        let header = BundleHeader {
            recipe_id: self.recipe_id.clone(),
            version: self.version,
            files: self
                .files
                .iter()
                .map(|(name, bytes)| FileEntry {
                    name: name.clone(),
                    sha256: hex::encode(Sha256::digest(bytes)),
                    size: bytes.len() as u64,
                })
                .collect(),
            capabilities: self.capabilities.clone(),
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            key_id: key.key_id().to_string(),
        };
        validate_header(&header)?;
        let header_bytes = serde_json::to_vec(&header).map_err(|e| ProtocolError::Malformed {
            what: "bundle header",
            reason: e.to_string(),
        })?;
        let signature = key.sign(DOMAIN_BUNDLE, &header_bytes);
        let bundle = SignedBundle {
            format: BUNDLE_FORMAT.to_owned(),
            key_id: key.key_id().to_string(),
            signature: B64.encode(signature),
            header: B64.encode(&header_bytes),
            files: self
                .files
                .iter()
                .map(|(name, bytes)| (name.clone(), B64.encode(bytes)))
                .collect(),
        };
        let size = bundle.to_json().len();
        if size > MAX_BUNDLE_BYTES {
            return Err(ProtocolError::TooLarge {
                what: "bundle",
                size,
                limit: MAX_BUNDLE_BYTES,
            });
        }
        Ok(bundle)
    }
}

impl SignedBundle {
    /// Reads a bundle file's bytes, refusing more than [`MAX_BUNDLE_BYTES`] before parsing.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        strict_json::parse(bytes, "bundle", MAX_BUNDLE_BYTES)
    }

    /// The bundle as JSON text.
    pub fn to_json(&self) -> String {
        // Serializing plain strings and maps cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Checks signature, header, manifest and validity window at time `now` (unix seconds).
    /// Does not check rollback: see [`open_bundle`].
    pub fn verify(&self, keys: &KeyRing, now: u64) -> Result<VerifiedBundle> {
        if self.format != BUNDLE_FORMAT {
            return Err(malformed(format!(
                "format \"{}\" is not {BUNDLE_FORMAT}",
                self.format
            )));
        }
        // 1. Signature, over the exact header bytes, with a trusted key.
        let key = keys
            .get(&self.key_id)
            .ok_or_else(|| ProtocolError::UnknownKey {
                what: "bundle",
                key_id: self.key_id.clone(),
            })?;
        let bad_signature = || ProtocolError::BadSignature {
            what: "bundle",
            key_id: self.key_id.clone(),
        };
        let signature = B64.decode(&self.signature).map_err(|_| bad_signature())?;
        let header_bytes = B64
            .decode(&self.header)
            .map_err(|e| malformed(format!("header is not base64: {e}")))?;
        if !key.verify(DOMAIN_BUNDLE, &header_bytes, &signature) {
            return Err(bad_signature());
        }
        // 2. The header, now that it is known to come from the key holder.
        let header: BundleHeader =
            strict_json::parse(&header_bytes, "bundle header", MAX_BUNDLE_BYTES)?;
        if header.key_id != self.key_id {
            return Err(malformed(format!(
                "signed key id {} differs from the envelope's {}",
                header.key_id, self.key_id
            )));
        }
        validate_header(&header)?;
        // 3. Manifest: no extra file, none missing, each with its signed hash and size.
        let listed: BTreeSet<&str> = header.files.iter().map(|f| f.name.as_str()).collect();
        if let Some(extra) = self.files.keys().find(|n| !listed.contains(n.as_str())) {
            return Err(ProtocolError::UnlistedFile {
                name: extra.clone(),
            });
        }
        let mut files = Vec::with_capacity(header.files.len());
        for entry in &header.files {
            let encoded =
                self.files
                    .get(&entry.name)
                    .ok_or_else(|| ProtocolError::MissingFile {
                        name: entry.name.clone(),
                    })?;
            let bytes = B64
                .decode(encoded)
                .map_err(|e| malformed(format!("file \"{}\" is not base64: {e}", entry.name)))?;
            let actual = hex::encode(Sha256::digest(&bytes));
            if actual != entry.sha256 || bytes.len() as u64 != entry.size {
                return Err(ProtocolError::HashMismatch {
                    name: entry.name.clone(),
                    expected: entry.sha256.clone(),
                    expected_size: entry.size,
                    actual,
                    actual_size: bytes.len() as u64,
                });
            }
            files.push(BundleFile {
                name: entry.name.clone(),
                bytes,
            });
        }
        // 4. Validity window.
        check_window("bundle", header.issued_at, header.expires_at, now)?;
        Ok(VerifiedBundle { header, files })
    }
}

/// Verifies `bundle` and records its version in `rollback` (refusing a version lower than one
/// already run for the same recipe). Call this, not [`SignedBundle::verify`], before running a
/// recipe: on success the version is on disk before the first command starts.
pub fn open_bundle(
    bundle: &SignedBundle,
    keys: &KeyRing,
    rollback: &RollbackStore,
    now: u64,
) -> Result<VerifiedBundle> {
    let verified = bundle.verify(keys, now)?;
    rollback.check_and_record(&verified.header.recipe_id, verified.header.version)?;
    Ok(verified)
}

pub(crate) fn check_window(
    what: &'static str,
    issued_at: u64,
    expires_at: u64,
    now: u64,
) -> Result<()> {
    if now > expires_at.saturating_add(CLOCK_SKEW_SECS) {
        return Err(ProtocolError::Expired {
            what,
            expires_at,
            now,
        });
    }
    if issued_at > now.saturating_add(CLOCK_SKEW_SECS) {
        return Err(ProtocolError::NotYetValid {
            what,
            issued_at,
            now,
        });
    }
    Ok(())
}

fn malformed(reason: String) -> ProtocolError {
    ProtocolError::Malformed {
        what: "bundle",
        reason,
    }
}

/// Recipe ids: 1–64 of `a-z 0-9 - _`, starting with a letter or digit.
pub fn is_valid_recipe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Bundle file names are plain names (no directories), so no file can name a path.
fn is_valid_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

fn validate_header(header: &BundleHeader) -> Result<()> {
    let fail = |reason: String| {
        Err(ProtocolError::Malformed {
            what: "bundle header",
            reason,
        })
    };
    if !is_valid_recipe_id(&header.recipe_id) {
        return fail(format!("\"{}\" is not a valid recipe id", header.recipe_id));
    }
    if header.files.is_empty() || header.files.len() > MAX_BUNDLE_FILES {
        return fail(format!(
            "{} files listed; a bundle holds 1 to {MAX_BUNDLE_FILES}",
            header.files.len()
        ));
    }
    if !header.files[0].name.ends_with(".rhai") {
        return fail(format!(
            "the first file \"{}\" is not a .rhai recipe",
            header.files[0].name
        ));
    }
    let mut seen = BTreeSet::new();
    for f in &header.files {
        if !is_valid_file_name(&f.name) {
            return fail(format!("\"{}\" is not a valid bundle file name", f.name));
        }
        if !seen.insert(f.name.as_str()) {
            return fail(format!("\"{}\" is listed twice", f.name));
        }
    }
    if header.expires_at <= header.issued_at {
        return fail("it expires before it is issued".to_owned());
    }
    Ok(())
}
