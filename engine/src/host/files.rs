//! Files: `write_file` (declared prefixes only, never through a symbolic link, temp file +
//! fsync + rename, exact mode) and `read_file` (regular files only, opened without blocking).
//!
//! Directories are walked from `/` with `openat(O_NOFOLLOW | O_DIRECTORY)` one component at a
//! time, so a symlink anywhere on the path is refused at the moment of opening: a check-then-open
//! on path strings could be raced by swapping a directory for a link in between.

use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::error::HostError;

/// The largest file `write_file` writes or `read_file` returns.
pub const MAX_FILE_BYTES: usize = 4 << 20;

fn symlink_refused(path: &Path) -> HostError {
    HostError::PathNotAllowed {
        path: path.display().to_string(),
        reason: "a component of it is a symbolic link, which the engine never follows".into(),
    }
}

/// Opens the directory that will hold `path`, creating missing directories (0755) on the way,
/// refusing any symlink. Returns the directory and the file name.
fn open_parent(path: &Path, create: bool) -> Result<(OwnedFd, String), HostError> {
    let io = |e: Errno| {
        HostError::io(
            format!("failed to open the folder of {}", path.display()),
            e.into(),
        )
    };
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| HostError::Invalid(format!("{} has no file name", path.display())))?
        .to_owned();
    let dir_flags = OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::RDONLY;
    let mut dir = rustix::fs::open("/", dir_flags, Mode::empty()).map_err(io)?;
    let parent = path.parent().unwrap_or(Path::new("/"));
    for comp in parent.components().skip(1) {
        let c = comp.as_os_str();
        let next = match rustix::fs::openat(&dir, c, dir_flags, Mode::empty()) {
            Err(Errno::NOENT) if create => {
                match rustix::fs::mkdirat(&dir, c, Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(io(e)),
                }
                rustix::fs::openat(&dir, c, dir_flags, Mode::empty())
            }
            other => other,
        };
        dir = match next {
            Ok(fd) => fd,
            Err(Errno::LOOP | Errno::NOTDIR) => return Err(symlink_refused(path)),
            Err(e) => return Err(io(e)),
        };
    }
    Ok((dir, name))
}

/// A file being written next to its destination, never through a symlink: created as a temporary
/// file in the destination's folder (walked from `/` without following links), renamed into
/// place by [`commit`](Self::commit), removed if dropped before. Used by `write_file` and
/// `download`.
#[derive(Debug)]
pub struct AtomicFile {
    dir: OwnedFd,
    tmp: String,
    name: String,
    path: std::path::PathBuf,
    pub file: std::fs::File,
    committed: bool,
}

impl AtomicFile {
    /// Starts writing `path` with `mode` (permission bits only: setuid, setgid and sticky are
    /// refused, since a recipe must never be able to plant a setuid binary). Missing folders are
    /// created 0755. A symlink anywhere on the path, or as the file itself, is refused.
    pub fn create(path: &Path, mode: u32) -> Result<Self, HostError> {
        if mode & !0o777 != 0 {
            return Err(HostError::Invalid(format!(
                "mode {mode:04o} for {} is refused: only permission bits (at most 0777) may be set",
                path.display()
            )));
        }
        let (dir, name) = open_parent(path, true)?;
        match rustix::fs::statat(&dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => {
                return Err(symlink_refused(path));
            }
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {
                return Err(HostError::Invalid(format!(
                    "{} is a folder",
                    path.display()
                )));
            }
            _ => {}
        }
        let mut rnd = [0u8; 8];
        getrandom::fill(&mut rnd).map_err(|e| HostError::Invalid(e.to_string()))?;
        let tmp = format!(".{name}.cairn-{}", hex::encode(rnd));
        let io = |e: Errno| {
            HostError::io(
                format!("failed to create a temporary file for {}", path.display()),
                e.into(),
            )
        };
        let fd = rustix::fs::openat(
            &dir,
            tmp.as_str(),
            OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(io)?;
        // fchmod, not the open mode: the umask must not change what the recipe asked for.
        let chmod = rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode));
        let this = Self {
            dir,
            tmp,
            name,
            path: path.to_path_buf(),
            file: std::fs::File::from(fd),
            committed: false,
        };
        chmod.map_err(io)?;
        Ok(this)
    }

    /// Flushes the file to disk and renames it into place, durably.
    pub fn commit(mut self) -> Result<(), HostError> {
        let io = |e: std::io::Error| {
            HostError::io(format!("failed to write {}", self.path.display()), e)
        };
        self.file.sync_all().map_err(io)?;
        rustix::fs::renameat(&self.dir, self.tmp.as_str(), &self.dir, self.name.as_str())
            .map_err(|e| io(e.into()))?;
        self.committed = true;
        rustix::fs::fsync(&self.dir).map_err(|e| io(e.into()))?;
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = rustix::fs::unlinkat(&self.dir, self.tmp.as_str(), AtFlags::empty());
        }
    }
}

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
/// a regular file (THREATS row 29). It is opened with `O_NONBLOCK` and checked with `fstat`
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
