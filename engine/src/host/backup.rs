//! What backup recipes share beyond files and cron: the list of paths to back up, checked and
//! normalised, and the state file their scripts write after each run, read into typed values.
//!
//! The state file is the convention of the shipped backup scripts (docs/recipes.md, "Backup
//! recipes"): `KEY='value'` lines with `last_run_at` and `last_restore_test_at` in Unix
//! seconds, `last_run_ok` and `last_restore_test_ok` as `true`/`false`, and `last_snapshot`.

use std::collections::BTreeMap;
use std::path::Path;

/// The most paths one list may name.
pub const MAX_PATHS: usize = 1000;

/// `text` (absolute paths separated by blanks) as a single-spaced list, or a sentence naming
/// the first path that cannot be backed up. `exists` says whether a path exists on the server.
///
/// Backup scripts read the list unquoted as words (`for p in $PATHS`, `rsync $PATHS`), so a
/// path may contain only characters that are text to the shell: no blank, glob or quote.
pub fn paths(text: &str, exists: impl Fn(&Path) -> bool) -> Result<String, String> {
    let mut out = Vec::new();
    for p in text.split_ascii_whitespace() {
        if !p.starts_with('/') || p.trim_matches('/').is_empty() {
            return Err(format!(
                "`{p}` cannot be backed up: give absolute folders or files below /"
            ));
        }
        if !p
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-+@/".contains(c))
        {
            return Err(format!(
                "`{p}` cannot be backed up: a path may contain only letters, digits and . _ - + @ / \
                 (the backup script reads the list as words)"
            ));
        }
        if p.split('/').any(|c| c == "." || c == "..") {
            return Err(format!(
                "`{p}` cannot be backed up: it contains a . or .. component"
            ));
        }
        if out.len() == MAX_PATHS {
            return Err(format!("give at most {MAX_PATHS} paths to back up"));
        }
        if !exists(Path::new(p)) {
            return Err(format!(
                "`{p}` does not exist on this server, so it cannot be backed up"
            ));
        }
        out.push(p);
    }
    if out.is_empty() {
        return Err("nothing to back up: give at least one absolute path".into());
    }
    Ok(out.join(" "))
}

/// The state of a backup as its script last recorded it; `None` for what is missing or not of
/// its type.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct State {
    pub last_run_at: Option<i64>,
    pub last_run_ok: Option<bool>,
    pub last_restore_test_at: Option<i64>,
    pub last_restore_test_ok: Option<bool>,
    pub snapshot: Option<String>,
}

impl State {
    /// Reads the assignments of a state file.
    pub fn from_kv(kv: &BTreeMap<String, String>) -> Self {
        let get = |k: &str| kv.get(k).map(String::as_str).filter(|v| !v.is_empty());
        let time = |k: &str| get(k).and_then(|v| v.parse().ok());
        let flag = |k: &str| match get(k) {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        };
        Self {
            last_run_at: time("last_run_at"),
            last_run_ok: flag("last_run_ok"),
            last_restore_test_at: time("last_restore_test_at"),
            last_restore_test_ok: flag("last_restore_test_ok"),
            snapshot: get("last_snapshot").map(str::to_owned),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn paths_are_normalised_and_each_refusal_names_the_path() {
        let yes = |_: &Path| true;
        assert_eq!(paths("  /etc   /home/a-b ", yes).unwrap(), "/etc /home/a-b");
        for (bad, why) in [
            ("etc", "absolute"),
            ("/", "absolute"),
            ("//", "absolute"),
            ("/etc/../root", ". or .."),
            ("/etc/./x", ". or .."),
            ("/etc/*", "only letters"),
            ("/etc/$(id)", "only letters"),
            ("/a'b", "only letters"),
            ("", "nothing to back up"),
        ] {
            let e = paths(bad, yes).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        let e = paths("/etc /gone", |p: &Path| p != Path::new("/gone")).unwrap_err();
        assert!(e.contains("`/gone` does not exist"), "{e}");
    }

    #[test]
    fn the_state_is_typed_and_tolerates_what_is_missing_or_odd() {
        let kv: BTreeMap<String, String> = [
            ("last_run_at", "1732590000"),
            ("last_run_ok", "true"),
            ("last_restore_test_at", "soon"),
            ("last_restore_test_ok", ""),
            ("last_snapshot", "20241126T030000Z"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let s = State::from_kv(&kv);
        assert_eq!(s.last_run_at, Some(1_732_590_000));
        assert_eq!(s.last_run_ok, Some(true));
        assert_eq!(s.last_restore_test_at, None);
        assert_eq!(s.last_restore_test_ok, None);
        assert_eq!(s.snapshot.as_deref(), Some("20241126T030000Z"));
        assert_eq!(State::from_kv(&BTreeMap::new()), State::default());
    }
}
