//! What dpkg says is installed, read from its database file instead of asking `dpkg-query`.
//!
//! Every detector asks `apt_installed()` once or twice, and a status request runs all of them:
//! one `dpkg-query` per question cost about 8 ms of processor time each, a third of what the
//! cheap detectors cost. The status file (`/var/lib/dpkg/status`, under 1 MB on a server) is
//! parsed once per process and kept while it stays the same file: dpkg replaces it by renaming a
//! new one over it, so a new inode, size or modification time means a fresh parse, and a job
//! that installs a package sees it at once.
//!
//! dpkg-query also applies the journal entries in `updates/` that a dpkg run has not merged into
//! the status file yet (a dpkg that was killed leaves them): while any exist, the answer comes
//! from `dpkg-query` as before, so the two ways never disagree.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// dpkg's database directory.
pub const ADMIN_DIR: &str = "/var/lib/dpkg";

/// Installed packages by name, with their version.
pub type Installed = BTreeMap<String, String>;

/// What the status file says: the installed packages, and which package each configuration file
/// belongs to (its `Conffiles`, kept while a removed package's configuration stays).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Database {
    pub installed: Installed,
    pub conffiles: BTreeMap<String, String>,
}

impl Database {
    /// Whether `path` is a configuration file of a package that is no longer installed (an
    /// init script `apt remove` left behind); `false` for a file no package declares.
    pub fn conffile_left_behind(&self, path: &str) -> bool {
        self.conffiles
            .get(path)
            .is_some_and(|package| !self.installed.contains_key(package))
    }
}

/// The identity of a status file: a new one (rename), or the same one changed, differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileKey {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: i64,
    mtime_nsec: i64,
}

static CACHE: Mutex<Option<(FileKey, Arc<Database>)>> = Mutex::new(None);

/// The installed packages according to `admin_dir/status`, or `None` when the file cannot be
/// read or dpkg has journal entries not merged into it yet (then ask `dpkg-query`).
pub fn installed(admin_dir: &Path) -> Option<Arc<Database>> {
    if has_pending_updates(admin_dir) {
        return None;
    }
    let path = admin_dir.join("status");
    let key = key_of(&path)?;
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((k, map)) = cache.as_ref()
        && *k == key
    {
        return Some(map.clone());
    }
    let text = std::fs::read_to_string(&path).ok()?;
    // Read again after reading: a rename between the two would give the old file's key to
    // the new file's text, or the other way round; then this answer is not cached.
    let map = Arc::new(parse(&text));
    if key_of(&path) == Some(key) {
        *cache = Some((key, map.clone()));
    }
    Some(map)
}

fn key_of(path: &Path) -> Option<FileKey> {
    let m = std::fs::metadata(path).ok()?;
    Some(FileKey {
        dev: m.dev(),
        ino: m.ino(),
        size: m.size(),
        mtime: m.mtime(),
        mtime_nsec: m.mtime_nsec(),
    })
}

/// Whether `updates/` holds journal entries (files named by digits) dpkg has not merged yet.
fn has_pending_updates(admin_dir: &Path) -> bool {
    let Ok(dir) = std::fs::read_dir(admin_dir.join("updates")) else {
        return false;
    };
    dir.flatten().any(|e| {
        let name = e.file_name();
        let name = name.to_string_lossy();
        !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Parses a status file: paragraphs of `Field: value` lines. A package counts as installed when
/// its `Status` ends in `installed` (`install ok installed`, `hold ok installed`), as
/// `dpkg-query -W` with `${Status}` would say; half-installed and config-files do not.
/// Each conffile line (` /etc/init.d/x 0123… [obsolete]`) under `Conffiles:` names a file of
/// the paragraph's package.
pub fn parse(text: &str) -> Database {
    let mut db = Database::default();
    let mut package: Option<&str> = None;
    let mut status_installed = false;
    let mut version: Option<&str> = None;
    let mut in_conffiles = false;
    let flush = |db: &mut Database,
                 package: &mut Option<&str>,
                 ok: &mut bool,
                 version: &mut Option<&str>| {
        if let (Some(p), true) = (package.take(), *ok) {
            db.installed
                .insert(p.to_owned(), version.unwrap_or_default().to_owned());
        }
        *ok = false;
        *version = None;
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(' ') {
            if in_conffiles && let (Some(p), Some(file)) = (package, rest.split_whitespace().next())
            {
                db.conffiles.insert(file.to_owned(), p.to_owned());
            }
            continue;
        }
        in_conffiles = line.starts_with("Conffiles:");
        if line.is_empty() {
            flush(&mut db, &mut package, &mut status_installed, &mut version);
        } else if let Some(v) = line.strip_prefix("Package:") {
            flush(&mut db, &mut package, &mut status_installed, &mut version);
            package = Some(v.trim());
        } else if let Some(v) = line.strip_prefix("Status:") {
            status_installed = v.split_whitespace().nth(2) == Some("installed");
        } else if let Some(v) = line.strip_prefix("Version:") {
            version = Some(v.trim());
        }
    }
    flush(&mut db, &mut package, &mut status_installed, &mut version);
    db
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn installed_packages_are_read_with_their_version_and_others_are_not() {
        let text = "Package: coreutils\nEssential: yes\nStatus: install ok installed\n\
                    Priority: required\nVersion: 9.1-1\nDescription: GNU core\n utilities\n\n\
                    Package: nginx\nStatus: deinstall ok config-files\nVersion: 1.22.1-9\n\n\
                    Package: half\nStatus: install ok half-configured\nVersion: 2.0\n\n\
                    Package: held\nStatus: hold ok installed\nVersion: 3.0\n\
                    Package: last\nStatus: install ok installed\nVersion: 1:4.0-1";
        let got = parse(text).installed;
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got.get("coreutils").map(String::as_str), Some("9.1-1"));
        assert_eq!(got.get("held").map(String::as_str), Some("3.0"));
        assert_eq!(got.get("last").map(String::as_str), Some("1:4.0-1"));
    }

    #[test]
    fn an_init_script_of_a_removed_package_is_left_behind_and_one_of_an_installed_is_not() {
        let text = "Package: redis-server\nStatus: deinstall ok config-files\nVersion: 7\n\
                    Conffiles:\n /etc/init.d/redis-server 0123abcd\n \
                    /etc/redis/redis.conf 4567 obsolete\n\n\
                    Package: cron\nStatus: install ok installed\nConffiles:\n \
                    /etc/init.d/cron 89ab\nVersion: 3.0\n";
        let db = parse(text);
        assert!(db.conffile_left_behind("/etc/init.d/redis-server"));
        assert!(db.conffile_left_behind("/etc/redis/redis.conf"));
        assert!(!db.conffile_left_behind("/etc/init.d/cron"));
        assert!(!db.conffile_left_behind("/etc/init.d/made-by-hand"));
        assert_eq!(db.installed.get("cron").map(String::as_str), Some("3.0"));
    }

    #[test]
    fn a_journal_entry_not_merged_yet_sends_the_question_to_dpkg_query() {
        let dir = std::env::temp_dir().join(format!("cairn-dpkg-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("updates")).unwrap();
        std::fs::write(
            dir.join("status"),
            "Package: a\nStatus: install ok installed\nVersion: 1\n",
        )
        .unwrap();
        std::fs::write(dir.join("updates/tmp.i"), "").unwrap();
        assert!(installed(&dir).is_some_and(|db| db.installed.contains_key("a")));
        std::fs::write(
            dir.join("updates/0001"),
            "Package: a\nStatus: purge ok not-installed\n",
        )
        .unwrap();
        assert!(installed(&dir).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
