//! What backup recipes share beyond files and cron: the list of paths to back up, checked and
//! normalised, and the state file their scripts write after each run, read into typed values.
//!
//! The state file is the convention of the shipped backup scripts (docs/recipes.md, "Backup
//! recipes"): `KEY='value'` lines with `last_run_at` and `last_restore_test_at` in Unix
//! seconds, `last_run_ok` and `last_restore_test_ok` as `true`/`false`, and `last_snapshot`.
//! Their history file (`history` beside it) has one line per snapshot still kept, appended
//! after each backup: `ID TIME SIZE_BYTES FILES DURATION_S`, separated by blanks.

use std::collections::BTreeMap;
use std::path::Path;

/// The most paths one list may name.
pub const MAX_PATHS: usize = 1000;

/// `text` as the list of paths to back up, or a sentence naming the first path that cannot be
/// backed up. `exists` says whether a path exists on the server.
///
/// `text` holds one absolute path a line (blanks around a line and empty lines ignored); a text
/// without a line break is read as paths separated by blanks, as the settings written before
/// paths could hold a space. The list comes back one path a line; the backup scripts read it
/// line by line and quote every path.
pub fn paths(text: &str, exists: impl Fn(&Path) -> bool) -> Result<String, String> {
    let items: Vec<&str> = if text.contains('\n') {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    } else {
        text.split_ascii_whitespace().collect()
    };
    let mut out = Vec::new();
    for p in items {
        if !p.starts_with('/') || p.trim_matches('/').is_empty() {
            return Err(format!(
                "`{p}` cannot be backed up: give absolute folders or files below /"
            ));
        }
        // Quoted in the scripts, a path could hold anything but a line break; the other
        // characters cron, the state files and the sentences quoting a path read specially
        // are still refused.
        if !p
            .chars()
            .all(|c| c.is_alphanumeric() || "._-+@/ ,=:~()&".contains(c))
        {
            return Err(format!(
                "`{p}` cannot be backed up: a path may contain only letters, digits, spaces and \
                 . _ - + @ / , = : ~ ( ) &"
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
    Ok(out.join("\n"))
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

/// The most snapshots [`snapshots`] returns.
pub const MAX_SNAPSHOTS: usize = 50;

/// One snapshot of a backup's history file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub id: String,
    /// Unix seconds when the backup that made it started.
    pub time: i64,
    /// The bytes of the files it holds (their sizes as backed up, not what the target stores).
    pub size_bytes: i64,
    pub files: i64,
    pub duration_s: i64,
}

/// The snapshots of a history file, newest first (the script appends), at most
/// [`MAX_SNAPSHOTS`]. A line that is not five fields (a run cut short while writing) is skipped
/// rather than failing the whole detection.
pub fn snapshots(text: &str) -> Vec<Snapshot> {
    text.lines()
        .rev()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_ascii_whitespace().collect();
            let [id, time, size, files, duration] = f.as_slice() else {
                return None;
            };
            let ok_id =
                !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric());
            Some(Snapshot {
                id: ok_id.then(|| (*id).to_owned())?,
                time: time.parse().ok()?,
                size_bytes: size.parse().ok()?,
                files: files.parse().ok()?,
                duration_s: duration.parse().ok()?,
            })
        })
        .take(MAX_SNAPSHOTS)
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn paths_are_normalised_and_each_refusal_names_the_path() {
        let yes = |_: &Path| true;
        assert_eq!(
            paths("  /etc   /home/a-b ", yes).unwrap(),
            "/etc\n/home/a-b"
        );
        for (bad, why) in [
            ("etc", "absolute"),
            ("/", "absolute"),
            ("//", "absolute"),
            ("/etc/../root", ". or .."),
            ("/etc/./x", ". or .."),
            ("/etc/*", "only letters"),
            ("/a\tb\n/c", "only letters"),
            ("/a\"b", "only letters"),
            ("/etc/$(id)", "only letters"),
            ("/a'b", "only letters"),
            ("", "nothing to back up"),
        ] {
            let e = paths(bad, yes).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        // One a line, a path may hold spaces.
        assert_eq!(
            paths(" /srv/My Files \n\n/etc\n", yes).unwrap(),
            "/srv/My Files\n/etc"
        );
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

    #[test]
    fn the_history_is_read_newest_first_at_most_fifty_and_odd_lines_are_skipped() {
        let mut text = String::from("20241126T030000Z 1732590000 2048 3 1\nhalf a line\n");
        text.push_str("a1b2c3d4 1732593600 4096 5 2\n");
        let s = snapshots(&text);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].id, "a1b2c3d4");
        assert_eq!(
            (s[0].time, s[0].size_bytes, s[0].files, s[0].duration_s),
            (1732593600, 4096, 5, 2)
        );
        assert_eq!(s[1].id, "20241126T030000Z");
        let many: String = (0..60).map(|i| format!("s{i} {i} 1 1 0\n")).collect();
        let s = snapshots(&many);
        assert_eq!(s.len(), MAX_SNAPSHOTS);
        assert_eq!(s[0].id, "s59");
        assert!(snapshots("x;rm 1 1 1 1\n").is_empty());
    }
}
