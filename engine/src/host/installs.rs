//! `installations(tool)`: the installations of a runtime that version managers and manual
//! installs leave where a distribution's package manager does not look (issue 15, "detection
//! that sees what is there"): rustup in `~/.rustup`, nvm, pyenv, rbenv, rvm, asdf, a Go tree in
//! `/usr/local/go`, for root and for every user with a home under `/home`.
//!
//! Nothing found is run. These files belong to users other than root, and running
//! `~alice/.cargo/bin/rustc --version` as root would run whatever alice put there; the version
//! is read from names and small metadata files instead (a toolchain's manifest, Go's `VERSION`,
//! a version manager's folder names). Files are opened like `read_file` does (regular files
//! only, without blocking, bounded in size, no link as the last component), folders are listed
//! up to a bound, and only the version pattern of what is read ever leaves this module.

use std::path::{Path, PathBuf};

use rhai::{Array, Dynamic, Map};

/// Tools this function knows the layouts of.
pub const TOOLS: &[&str] = &["node", "python", "ruby", "go", "rust"];

/// Entries looked at per folder, and homes looked at in all.
const MAX_ENTRIES: usize = 200;

/// A rustup channel manifest lists every target's download (about 1 MB; `[pkg.rustc]` comes
/// late), so it is read up to this much.
const MANIFEST_BYTES: u64 = 4 << 20;

/// One installation found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    pub version: String,
    /// How it was installed and for whom: "rustup (root)", "nvm (alice)", "/usr/local/go".
    pub source: String,
    /// Where it lives.
    pub path: String,
}

impl Installation {
    pub fn to_map(&self) -> Map {
        let mut m = Map::new();
        m.insert("version".into(), Dynamic::from(self.version.clone()));
        m.insert("source".into(), Dynamic::from(self.source.clone()));
        m.insert("path".into(), Dynamic::from(self.path.clone()));
        m
    }
}

/// Every installation of `tool` found under `root` (`/` on a server; a test's folder in tests).
pub fn find(tool: &str, root: &Path) -> Result<Vec<Installation>, String> {
    if !TOOLS.contains(&tool) {
        return Err(format!(
            "installations(): `{tool}` is not a tool Cairn knows the install locations of ({})",
            TOOLS.join(", ")
        ));
    }
    let mut found = Vec::new();
    for (user, home) in homes(root) {
        let by = |manager: &str| format!("{manager} ({user})");
        match tool {
            "node" => {
                versions_in(&home.join(".nvm/versions/node"), &by("nvm"), &mut found);
                versions_in(&home.join(".asdf/installs/nodejs"), &by("asdf"), &mut found);
                versions_in(
                    &home.join(".volta/tools/image/node"),
                    &by("volta"),
                    &mut found,
                );
                versions_in(
                    &home.join(".local/share/fnm/node-versions"),
                    &by("fnm"),
                    &mut found,
                );
            }
            "python" => {
                versions_in(&home.join(".pyenv/versions"), &by("pyenv"), &mut found);
                versions_in(&home.join(".asdf/installs/python"), &by("asdf"), &mut found);
            }
            "ruby" => {
                versions_in(&home.join(".rbenv/versions"), &by("rbenv"), &mut found);
                versions_in(&home.join(".rvm/rubies"), &by("rvm"), &mut found);
                versions_in(&home.join(".asdf/installs/ruby"), &by("asdf"), &mut found);
            }
            "go" => {
                versions_in(&home.join(".goenv/versions"), &by("goenv"), &mut found);
                versions_in(&home.join(".asdf/installs/golang"), &by("asdf"), &mut found);
                versions_in(&home.join("sdk"), &by("go install"), &mut found);
            }
            "rust" => rustup(&home.join(".rustup/toolchains"), &by("rustup"), &mut found),
            _ => {}
        }
    }
    if tool == "go" {
        let go = root.join("usr/local/go");
        if let Some(v) = read_small(&go.join("VERSION"), 4 << 10).and_then(|t| version_in(&t)) {
            found.push(Installation {
                version: v,
                source: "/usr/local/go".into(),
                path: go.display().to_string(),
            });
        }
    }
    Ok(found)
}

/// The installations as a Rhai array of maps (`version`, `source`, `path`).
pub fn to_array(found: &[Installation]) -> Array {
    found
        .iter()
        .map(|i| Dynamic::from_map(i.to_map()))
        .collect()
}

/// root's home, then each folder under `/home`, with the name shown for it.
fn homes(root: &Path) -> Vec<(String, PathBuf)> {
    let mut out = vec![("root".to_owned(), root.join("root"))];
    for name in list(&root.join("home")) {
        out.push((name.clone(), root.join("home").join(name)));
    }
    out
}

/// Folder names under `dir`, sorted, at most [`MAX_ENTRIES`]; none if it is not a folder
/// (a link to one is not followed: `symlink_metadata`).
fn list(dir: &Path) -> Vec<String> {
    if !std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .take(MAX_ENTRIES)
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// A version manager's folder of versions: each folder name that holds a version
/// (`v20.11.1`, `3.11.7`, `ruby-3.2.2`, `go1.21.5`) is one installation.
fn versions_in(dir: &Path, source: &str, found: &mut Vec<Installation>) {
    for name in list(dir) {
        if let Some(version) = version_in(&name) {
            found.push(Installation {
                version,
                source: source.to_owned(),
                path: dir.join(&name).display().to_string(),
            });
        }
    }
}

/// rustup's toolchains: the version is in each toolchain's channel manifest
/// (`[pkg.rustc] version = "1.83.0 (90b35a623 2024-11-26)"`).
fn rustup(dir: &Path, source: &str, found: &mut Vec<Installation>) {
    for name in list(dir) {
        let manifest = dir
            .join(&name)
            .join("lib/rustlib/multirust-channel-manifest.toml");
        let version = read_small(&manifest, MANIFEST_BYTES).and_then(|text| {
            let mut in_rustc = false;
            for line in text.lines() {
                let line = line.trim();
                if line.starts_with('[') {
                    in_rustc = line == "[pkg.rustc]";
                } else if in_rustc && line.starts_with("version") {
                    return version_in(line);
                }
            }
            None
        });
        if let Some(version) = version {
            found.push(Installation {
                version,
                source: format!("{source}, {name}"),
                path: dir.join(&name).display().to_string(),
            });
        }
    }
}

/// The first `N.N[.N…]` in `text` (after an optional `v`, `go` or `ruby-`).
fn version_in(text: &str) -> Option<String> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let v: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let v = v.trim_end_matches('.');
    (v.contains('.') && v.len() <= 32).then(|| v.to_owned())
}

/// A small regular file's text, opened without following a link as its last component and
/// without blocking; `None` for anything else.
fn read_small(path: &Path, limit: u64) -> Option<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc_flags())
        .open(path)
        .ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// `O_NOFOLLOW | O_NONBLOCK | O_NOCTTY`.
fn libc_flags() -> i32 {
    use rustix::fs::OFlags;
    (OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY).bits() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_names() {
        assert_eq!(version_in("v20.11.1").as_deref(), Some("20.11.1"));
        assert_eq!(version_in("ruby-3.2.2").as_deref(), Some("3.2.2"));
        assert_eq!(version_in("go1.21.5\ntime 2023").as_deref(), Some("1.21.5"));
        assert_eq!(
            version_in(r#"version = "1.83.0 (90b35a623 2024-11-26)""#).as_deref(),
            Some("1.83.0")
        );
        assert_eq!(version_in("miniconda3-latest"), None);
        assert_eq!(version_in("system"), None);
    }
}
