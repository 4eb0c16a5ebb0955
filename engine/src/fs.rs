//! Files opened without ever following a symbolic link: the folder of a path is walked from `/`
//! with `openat(O_NOFOLLOW | O_DIRECTORY)` one component at a time, so a link anywhere on the
//! path is refused at the moment of opening (a check-then-open on path strings could be raced
//! by swapping a folder for a link in between), and [`AtomicFile`] writes next to its
//! destination and renames into place. Used by `write_file`/`read_file` (`host/files.rs`) and by
//! `download` (`system/download.rs`); it knows nothing of recipes or capabilities.

use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::error::HostError;

pub(crate) fn symlink_refused(path: &Path) -> HostError {
    HostError::PathNotAllowed {
        path: path.display().to_string(),
        reason: "a component of it is a symbolic link, which the engine never follows".into(),
    }
}

/// Opens the directory that will hold `path`, creating missing directories (0755) on the way,
/// refusing any symlink. Returns the directory and the file name.
pub(crate) fn open_parent(path: &Path, create: bool) -> Result<(OwnedFd, String), HostError> {
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
