//! Checked downloads: the body is streamed into a private temp file beside the destination and
//! hashed on the way; only a file whose sha256 matches is renamed into place. A mismatch, a
//! cancel or any error deletes the temp file and leaves the destination as it was.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::error::HostError;
use crate::event::Stream;
use crate::exec::Exec;
use crate::fs::AtomicFile;
use crate::plan::PlannedAction;

/// The largest file [`download`] accepts.
pub const DEFAULT_MAX_BYTES: u64 = 2 << 30;

/// Connecting, and each read of the body, give up after this long: a stalled server ends the
/// download instead of hanging it (and the cancel checks between reads) forever.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Upper bound for a whole download, within the job's own deadline.
const TOTAL_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// Progress is reported at most this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

const CHUNK: usize = 64 * 1024;

/// Downloads `url` to `dest` if its sha256 is `sha256_hex`, with a size cap of
/// [`DEFAULT_MAX_BYTES`]. In plan mode it records [`PlannedAction::Download`] and does nothing.
///
/// The file arrives with mode 0600 (it is created private and renamed into place); whoever needs
/// it executable or world-readable changes the mode afterwards.
pub fn download(
    exec: &dyn Exec,
    url: &str,
    dest: &Path,
    sha256_hex: &str,
) -> Result<(), HostError> {
    download_limited(exec, url, dest, sha256_hex, DEFAULT_MAX_BYTES)
}

/// [`download`] with a size cap of `max_bytes`.
pub fn download_limited(
    exec: &dyn Exec,
    url: &str,
    dest: &Path,
    sha256_hex: &str,
    max_bytes: u64,
) -> Result<(), HostError> {
    let expected = check_sha256(sha256_hex)?;
    check_url(url)?;
    if exec.plan_mode() {
        exec.record(PlannedAction::Download {
            url: url.to_owned(),
            dest: dest.display().to_string(),
            sha256: expected,
        });
        return Ok(());
    }
    exec.log(
        Stream::Info,
        &format!("Downloading {url} to {}", dest.display()),
    );
    let mut out = AtomicFile::create(dest, 0o600)?;
    let actual = fetch_into(exec, url, &mut out.file, max_bytes)?;
    if actual != expected {
        // Dropping `out` removes the temporary file; `dest` was never touched.
        return Err(HostError::ChecksumMismatch {
            url: url.to_owned(),
            expected,
            actual,
        });
    }
    out.commit()?;
    exec.did(PlannedAction::Download {
        url: url.to_owned(),
        dest: dest.display().to_string(),
        sha256: expected,
    });
    Ok(())
}

/// Streams the body of `url` into `file`, returning its sha256 (lower-case hex).
fn fetch_into(
    exec: &dyn Exec,
    url: &str,
    file: &mut File,
    max_bytes: u64,
) -> Result<String, HostError> {
    let fail = |reason: String| HostError::Download {
        url: url.to_owned(),
        reason,
    };
    let stop = exec.stop();
    stop.check()?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(stop.remaining().min(TOTAL_TIMEOUT)))
        .timeout_connect(Some(IDLE_TIMEOUT))
        .timeout_per_read(Some(IDLE_TIMEOUT))
        .user_agent("cairn-agent")
        .build()
        .into();
    let mut response = agent.get(url).call().map_err(|e| fail(e.to_string()))?;
    let total = response.body().content_length();
    if let Some(total) = total
        && total > max_bytes
    {
        return Err(fail(format!(
            "the server announced {}, more than the limit of {}",
            mib(total),
            mib(max_bytes)
        )));
    }

    let mut reader = response.body_mut().as_reader();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut received: u64 = 0;
    let mut last_report = Instant::now();
    loop {
        stop.check()?;
        let n = reader.read(&mut buf).map_err(|e| fail(e.to_string()))?;
        if n == 0 {
            break;
        }
        received += n as u64;
        if received > max_bytes {
            return Err(fail(format!(
                "it is larger than the limit of {}",
                mib(max_bytes)
            )));
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n])
            .map_err(|e| HostError::io("failed to write the download", e))?;
        if last_report.elapsed() >= PROGRESS_EVERY {
            exec.log(Stream::Info, &progress(received, total));
            last_report = Instant::now();
        }
    }
    exec.log(Stream::Info, &progress(received, total));
    Ok(hex::encode(hasher.finalize()))
}

/// The expected checksum in lower case, or why it is unusable.
fn check_sha256(sha256_hex: &str) -> Result<String, HostError> {
    if sha256_hex.len() != 64 || !sha256_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(HostError::Invalid(format!(
            "`{sha256_hex}` is not a sha256 checksum: give the 64 hexadecimal digits the publisher lists for the file"
        )));
    }
    Ok(sha256_hex.to_ascii_lowercase())
}

fn check_url(url: &str) -> Result<(), HostError> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        Ok(())
    } else {
        Err(HostError::Invalid(format!(
            "`{url}` cannot be downloaded: only http:// and https:// addresses are allowed"
        )))
    }
}

fn progress(received: u64, total: Option<u64>) -> String {
    match total {
        Some(total) => format!("Downloaded {} of {}", mib(received), mib(total)),
        None => format!("Downloaded {}", mib(received)),
    }
}

fn mib(bytes: u64) -> String {
    // Precision loss above 2^53 bytes is irrelevant for a progress line.
    #[allow(clippy::cast_precision_loss)]
    let m = bytes as f64 / (1024.0 * 1024.0);
    format!("{m:.1} MiB")
}
