//! Path operands of programs that write files (ln, rm, chmod, chown, mkdir, touch, tar's
//! extraction directory, ssh-keygen's key file): they must stay inside the recipe's declared
//! write paths, for real and not only as strings.
//!
//! A path is accepted under the same rules as `write_file()`: absolute, no `.` or `..`, under a
//! declared prefix, and no symbolic link anywhere on the way from `/`. That last rule is what
//! keeps `ln -s /etc /opt/cairn/go/etc` followed by `touch /opt/cairn/go/etc/cron.d/x` from
//! writing outside: the programs themselves would follow the link. The checks run just before
//! the program starts; a recipe runs one program at a time, so nothing of its own can swap a
//! folder for a link in between (its own programs could, but those may do anything anyway).
//!
//! tar also follows links that are already inside the folder it extracts into (a member
//! `etc/cron.d/x` goes through an existing `etc -> /etc`), so [`extraction_dir`] looks at every
//! link in that folder and refuses one that leads outside the declared paths.

use std::path::{Component, Path, PathBuf};

use crate::error::HostError;
use crate::host::caps::Capabilities;

/// Whether the last component of a path operand may itself be a symbolic link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Last {
    /// The program would follow it (chmod, chown, touch, mkdir, tar's folder).
    NotALink,
    /// The program acts on the link itself (rm, `ln -n`).
    MayBeALink,
}

/// The most entries [`extraction_dir`] looks at before giving up.
const MAX_SCAN: usize = 200_000;

/// Whether `path` lies under one of the recipe's declared write paths (component-wise).
pub(super) fn under_declared(caps: &Capabilities, path: &Path) -> bool {
    caps.paths.iter().any(|prefix| path.starts_with(prefix))
}

/// Checks a path a program will create, change or remove.
pub(super) fn writable(caps: &Capabilities, path: &str, last: Last) -> Result<(), String> {
    if path.len() > 1 && path.ends_with('/') {
        return Err(format!(
            "`{path}` ends with `/`, which would make the program follow a link there; give the path without it"
        ));
    }
    let checked = caps.check_write_path(path).map_err(|e| match e {
        HostError::PathNotAllowed { reason, .. } => format!("`{path}`: {reason}"),
        other => other.to_string(),
    })?;
    let mut ancestors: Vec<&Path> = checked.ancestors().skip(1).collect();
    ancestors.reverse();
    for dir in ancestors {
        match std::fs::symlink_metadata(dir) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(format!(
                    "`{path}` goes through the symbolic link {}, which the program would follow (Cairn never writes through a link)",
                    dir.display()
                ));
            }
            Ok(_) => {}
            // What does not exist yet cannot be a link; the program creates it or fails.
            Err(_) => return Ok(()),
        }
    }
    if last == Last::NotALink
        && std::fs::symlink_metadata(&checked).is_ok_and(|m| m.file_type().is_symlink())
    {
        return Err(format!(
            "`{path}` is a symbolic link, which the program would follow (Cairn never writes through a link)"
        ));
    }
    Ok(())
}

/// Checks the folder tar extracts into: writable, and every symbolic link already inside it
/// leads to a place under the declared paths.
pub(super) fn extraction_dir(caps: &Capabilities, dir: &str) -> Result<(), String> {
    writable(caps, dir, Last::NotALink)?;
    let mut stack = vec![PathBuf::from(dir)];
    let mut seen = 0usize;
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_SCAN {
                return Err(format!(
                    "{dir} holds more than {MAX_SCAN} files, too many to check for links that would lead tar outside the declared paths; extract into a new folder"
                ));
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_symlink() && !link_stays_inside(caps, &path) {
                return Err(format!(
                    "{} is a symbolic link that leads outside the declared paths, and tar would write through it; remove it first",
                    path.display()
                ));
            }
        }
    }
    Ok(())
}

/// Whether the link at `link` leads under the declared paths, both as written and as the
/// file system resolves what exists of it.
fn link_stays_inside(caps: &Capabilities, link: &Path) -> bool {
    let Ok(target) = std::fs::read_link(link) else {
        return false;
    };
    let joined = link.parent().unwrap_or(Path::new("/")).join(target);
    let Some(lexical) = normalize(&joined) else {
        return false;
    };
    if !under_declared(caps, &lexical) {
        return false;
    }
    // The longest part that exists, resolved; the rest appended as written.
    let mut existing = lexical.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(existing) {
            let resolved = rest.iter().rev().fold(real, |p: PathBuf, c| p.join(c));
            return under_declared(caps, &resolved);
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return false,
        }
    }
}

/// `path` with `.` and `..` resolved as text; `None` if `..` climbs above `/`.
pub(super) fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Normal(n) => out.push(n),
        }
    }
    Some(out)
}
