//! STUB until the system helpers land.
use crate::error::HostError;
use crate::exec::Exec;
pub fn download(
    exec: &dyn Exec,
    url: &str,
    dest: &std::path::Path,
    sha256: &str,
) -> Result<(), HostError> {
    let _ = (exec, url, dest, sha256);
    Err(HostError::Invalid("download is not available yet".into()))
}
