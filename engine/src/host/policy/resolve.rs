//! Which file a policed program name really starts, and whether the recipe could have put it
//! there.
//!
//! A policy describes a program Cairn knows (`tar`, `docker`). It says nothing about a file the
//! recipe wrote itself and named `tar`: a bare name is looked up on the engine's search path,
//! whose first directory (`/usr/local/sbin`) a recipe may be allowed to write, and an absolute
//! name may be a link into the recipe's own folders (`/usr/local/bin/go` pointing into
//! `/opt/cairn/go`, which `write_file()` can fill). So the name is classified statically
//! ([`own_path`]: could the recipe write the file it would start?) and, just before it starts,
//! resolved for real ([`check_file`]): every link on the way is followed, and the program is
//! refused if any step lies under the recipe's declared paths, or in a folder anyone but root
//! may write (a `/tmp/docker` would be whoever wrote it).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::paths::{normalize, under_declared};
use crate::host::caps::Capabilities;
use crate::host::caps::{self, SAFE_PATH};

/// The most links followed from a program name to its file (the kernel's own limit).
const MAX_LINKS: usize = 40;

/// The search-path directories, in lookup order.
pub(super) fn search_dirs() -> impl Iterator<Item = &'static Path> {
    SAFE_PATH.split(':').map(Path::new)
}

/// Where the recipe could write the file `program` names: the absolute path itself when it lies
/// under a declared path, or, for a bare name, the first search-path candidate that does.
pub(super) fn own_path(program: &str, caps: &Capabilities) -> Option<PathBuf> {
    let path = Path::new(program);
    if path.is_absolute() {
        return under_declared(caps, path).then(|| path.to_path_buf());
    }
    search_dirs()
        .map(|dir| dir.join(program))
        .find(|candidate| under_declared(caps, candidate))
}

/// Checks, just before it starts, the file a policed `program` resolves to, and the interpreter
/// its `#!` line names (`npm` is a script run by whichever `node` comes first on the search
/// path). A program that is not installed passes: starting it fails with its own sentence.
pub(super) fn check_file(program: &str, caps: &Capabilities) -> Result<(), String> {
    check_file_at(program, caps, 0)
}

fn check_file_at(program: &str, caps: &Capabilities, depth: usize) -> Result<(), String> {
    let Some(first) = caps::resolve(program) else {
        return Ok(());
    };
    let own = |step: &Path| {
        format!(
            "`{program}` is {}, which leads to {}, a file this recipe may write itself; a program \
             the recipe can replace is its own, so declare it by that path",
            first.display(),
            step.display()
        )
    };
    let mut path = first.clone();
    for _ in 0..MAX_LINKS {
        if under_declared(caps, &path) {
            return Err(own(&path));
        }
        if let Some(dir) = path.parent() {
            untrusted(program, dir)?;
        }
        match std::fs::read_link(&path) {
            Ok(target) => {
                let parent = path.parent().unwrap_or(Path::new("/"));
                path = normalize(&parent.join(target)).unwrap_or_else(|| PathBuf::from("/"));
            }
            Err(_) => break,
        }
    }
    let Ok(real) = std::fs::canonicalize(&path) else {
        return Ok(());
    };
    if under_declared(caps, &real) {
        return Err(own(&real));
    }
    untrusted(program, &real)?;
    match interpreter(&real) {
        // The kernel itself follows at most a few levels of `#!`.
        Some(interp) if depth < 4 => check_file_at(&interp, caps, depth + 1)
            .map_err(|why| format!("`{program}` is a script run by {interp}, and {why}")),
        _ => Ok(()),
    }
}

/// The program a script's `#!` line starts: the interpreter's path, or for `/usr/bin/env NAME`
/// the name, which is looked up on the search path.
fn interpreter(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let n = std::fs::File::open(path).ok()?.read(&mut head).ok()?;
    let line = head[..n].strip_prefix(b"#!")?;
    let line = line.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut words = line.split_whitespace();
    let first = words.next()?;
    if Path::new(first).file_name().is_some_and(|n| n == "env") {
        return words.find(|w| !w.starts_with('-')).map(str::to_owned);
    }
    Some(first.to_owned())
}

/// Refuses `path` when it or a folder above it belongs to someone other than root or may be
/// written by anyone.
fn untrusted(program: &str, path: &Path) -> Result<(), String> {
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    for p in real.ancestors() {
        let Ok(m) = std::fs::metadata(p) else {
            continue;
        };
        if m.uid() != 0 || m.mode() & 0o002 != 0 {
            return Err(format!(
                "`{program}` resolves to a file under {}, which {}; only a program that root alone \
                 controls runs under its policy",
                p.display(),
                if m.uid() != 0 {
                    "does not belong to root"
                } else {
                    "anyone may write"
                }
            ));
        }
    }
    Ok(())
}
