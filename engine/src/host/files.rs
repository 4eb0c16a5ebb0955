//! Files: `write_file` (declared prefixes only, never through a symbolic link, temp file +
//! fsync + rename, exact mode) and `read_file` (regular files only, opened without blocking).
//! Both open through `crate::fs`, which never follows a symbolic link; `read_file_if_exists`
//! is `read_file` for the helpers that treat a missing file as empty (`helpers.rs`).

use std::io::Write;
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::error::HostError;
use crate::fs::{AtomicFile, open_parent, symlink_refused};

/// The largest file `write_file` writes or `read_file` returns.
pub const MAX_FILE_BYTES: usize = 4 << 20;

/// Writes `content` to `path` with `mode`, atomically, never through a symlink. The caller has
/// already checked the path against the recipe's capabilities.
pub fn write_file(path: &Path, content: &[u8], mode: u32) -> Result<(), HostError> {
    if content.len() > MAX_FILE_BYTES {
        return Err(HostError::Invalid(format!(
            "{} would be {} bytes; the limit is {MAX_FILE_BYTES}",
            path.display(),
            content.len()
        )));
    }
    let mut file = AtomicFile::create(path, mode)?;
    file.file
        .write_all(content)
        .map_err(|e| HostError::io(format!("failed to write {}", path.display()), e))?;
    file.commit()
}

/// Reads a text file of at most [`MAX_FILE_BYTES`], never through a symlink, and only if it is
/// a regular file (threats.md row 29). It is opened with `O_NONBLOCK` and checked with `fstat`
/// before any read: opening a FIFO for reading would otherwise wait for a writer, and reading
/// one (or a device such as `/dev/zero` or a terminal) could block or never end, past the job's
/// cancel and deadline.
pub fn read_file(path: &Path) -> Result<String, HostError> {
    let (dir, name) = open_parent(path, false)?;
    // Checked before opening (a socket cannot even be opened) and again on the open file (a
    // swap in between cannot slip a FIFO in).
    if let Ok(st) = rustix::fs::statat(&dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
        not_regular(path, FileType::from_raw_mode(st.st_mode))?;
    }
    let fd = rustix::fs::openat(
        &dir,
        name.as_str(),
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| match e {
        Errno::LOOP => symlink_refused(path),
        e => HostError::io(format!("failed to read {}", path.display()), e.into()),
    })?;
    let kind = rustix::fs::fstat(&fd)
        .map(|st| FileType::from_raw_mode(st.st_mode))
        .map_err(|e| HostError::io(format!("failed to read {}", path.display()), e.into()))?;
    not_regular(path, kind)?;
    let mut buf = Vec::new();
    use std::io::Read;
    std::fs::File::from(fd)
        .take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| HostError::io(format!("failed to read {}", path.display()), e))?;
    if buf.len() > MAX_FILE_BYTES {
        return Err(HostError::Invalid(format!(
            "{} is larger than {MAX_FILE_BYTES} bytes",
            path.display()
        )));
    }
    String::from_utf8(buf)
        .map_err(|_| HostError::Invalid(format!("{} is not UTF-8 text", path.display())))
}

/// [`read_file`], with a missing file (or a missing folder on its way) as `None`.
pub fn read_file_if_exists(path: &Path) -> Result<Option<String>, HostError> {
    match read_file(path) {
        Ok(text) => Ok(Some(text)),
        Err(HostError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

fn not_regular(path: &Path, kind: FileType) -> Result<(), HostError> {
    if kind == FileType::Symlink {
        return Err(symlink_refused(path));
    }
    if kind == FileType::RegularFile {
        return Ok(());
    }
    Err(HostError::Invalid(format!(
        "{} is {}, not a regular file; only regular files can be read",
        path.display(),
        describe_kind(kind)
    )))
}

fn describe_kind(kind: FileType) -> &'static str {
    match kind {
        FileType::Fifo => "a named pipe (FIFO)",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        FileType::Socket => "a socket",
        FileType::Directory => "a folder",
        FileType::Symlink => "a symbolic link",
        _ => "not a regular file",
    }
}
