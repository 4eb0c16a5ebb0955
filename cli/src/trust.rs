//! `keygen`, `sign` and `verify`: the recipe author's side of bundle signing.
//!
//! All logic lives here; `main.rs` only parses arguments and reads the recipe's facts (id,
//! version, capabilities) with the engine's metadata parser.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use cairn_protocol::limits::MAX_BUNDLE_BYTES;
use cairn_protocol::{Capabilities, KeyPair, KeyRing, PublicKey, SignedBundle, UnsignedBundle};

/// Default validity of a signed bundle.
pub const DEFAULT_EXPIRY: &str = "90d";

/// What the recipe declares about itself, read by the caller from the recipe's metadata.
#[derive(Debug, Clone)]
pub struct RecipeFacts {
    pub id: String,
    pub version: u64,
    pub capabilities: Capabilities,
}

/// Writes a new `signing.key` (mode 0600) and `signing.pub` into `dir`, creating `dir` (mode
/// 0700) if needed. Refuses to overwrite an existing key.
pub fn keygen(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("could not create {}", dir.display()))?;
    }
    let key = KeyPair::generate()?;
    key.write_files(dir)
        .with_context(|| format!("could not write a new key pair into {}", dir.display()))?;
    Ok(())
}

/// Signs `files` (the recipe `.rhai` first, then companion files) into the bundle `out`,
/// valid from now for `expires_in` (e.g. `30d`, `12h`, `90m`; default [`DEFAULT_EXPIRY`]).
pub fn sign(
    key: &Path,
    expires_in: Option<&str>,
    files: &[PathBuf],
    out: &Path,
    facts: RecipeFacts,
) -> anyhow::Result<()> {
    let key = KeyPair::read_file(key)
        .with_context(|| format!("could not load the signing key {}", key.display()))?;
    let ttl = parse_duration(expires_in.unwrap_or(DEFAULT_EXPIRY))?;
    if files.is_empty() {
        bail!("no recipe given: pass the recipe's .rhai file first, then its templates");
    }
    let mut contents = Vec::with_capacity(files.len());
    for path in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("{} has no usable file name", path.display()))?;
        contents.push((name.to_owned(), read_capped(path)?));
    }
    let now = cairn_protocol::unix_now();
    let bundle = UnsignedBundle {
        recipe_id: facts.id,
        version: facts.version,
        capabilities: facts.capabilities,
        files: contents,
        issued_at: now,
        expires_at: now + ttl,
    }
    .sign(&key)
    .context("could not sign the bundle")?;
    std::fs::write(out, bundle.to_json())
        .with_context(|| format!("could not write {}", out.display()))
}

/// Verifies the bundle file `bundle` with the public key file `pub_key` at the current time;
/// returns a one-paragraph summary of what it contains and allows.
pub fn verify(pub_key: &Path, bundle: &Path) -> anyhow::Result<String> {
    let key = PublicKey::read_file(pub_key)
        .with_context(|| format!("could not load the public key {}", pub_key.display()))?;
    let bytes = read_capped(bundle)?;
    let signed = SignedBundle::from_bytes(&bytes)
        .with_context(|| format!("{} is not a readable bundle", bundle.display()))?;
    let verified = signed
        .verify(&KeyRing::from(key), cairn_protocol::unix_now())
        .with_context(|| format!("{} is not valid", bundle.display()))?;
    let h = verified.header();
    let files = verified
        .files()
        .iter()
        .map(|f| format!("{} ({} bytes)", f.name, f.bytes.len()))
        .collect::<Vec<_>>()
        .join(", ");
    let list = |v: &[String]| {
        if v.is_empty() {
            "nothing".to_owned()
        } else {
            v.join(", ")
        }
    };
    Ok(format!(
        "OK: {} version {} signed by key {}, issued {} and valid until {}. Files: {}. \
         It may run {}; write under {}; and control the services {}.",
        h.recipe_id,
        h.version,
        h.key_id,
        utc(h.issued_at),
        utc(h.expires_at),
        files,
        list(&h.capabilities.programs),
        list(&h.capabilities.paths),
        list(&h.capabilities.services),
    ))
}

/// Reads a file, refusing anything larger than a bundle may be before reading it.
fn read_capped(path: &Path) -> anyhow::Result<Vec<u8>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("could not open {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_BUNDLE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("could not read {}", path.display()))?;
    if bytes.len() > MAX_BUNDLE_BYTES {
        bail!(
            "{} is larger than the bundle limit of {} MiB",
            path.display(),
            MAX_BUNDLE_BYTES / (1024 * 1024)
        );
    }
    Ok(bytes)
}

/// Parses `30d`, `12h`, `90m` or `45s` into seconds.
pub fn parse_duration(text: &str) -> anyhow::Result<u64> {
    let text = text.trim();
    let split = text.len().saturating_sub(1);
    let (number, unit) = (
        text.get(..split).unwrap_or(""),
        text.get(split..).unwrap_or(""),
    );
    let scale = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        _ => {
            bail!("\"{text}\" is not a duration: use a number followed by d, h, m or s (e.g. 30d)")
        }
    };
    let n: u64 = number.parse().ok().filter(|n| *n > 0).with_context(|| {
        format!("\"{text}\" is not a duration: the number must be a positive integer")
    })?;
    n.checked_mul(scale)
        .filter(|s| *s <= 10 * 365 * 86_400)
        .with_context(|| format!("\"{text}\" is longer than ten years"))
}

/// Unix seconds as `YYYY-MM-DD HH:MM UTC`.
fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3_600,
        rem % 3_600 / 60
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30d").unwrap(), 30 * 86_400);
        assert_eq!(parse_duration("12h").unwrap(), 12 * 3_600);
        assert_eq!(parse_duration("90m").unwrap(), 90 * 60);
        for bad in [
            "",
            "d",
            "0d",
            "-1d",
            "30",
            "30w",
            "1.5h",
            "99999999999d",
            "é",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_735_689_600), "2025-01-01 00:00 UTC");
        assert_eq!(utc(1_709_210_096), "2024-02-29 12:34 UTC");
    }
}
