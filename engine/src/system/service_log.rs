//! The last lines of a service's log, read when someone asks (never with every status): the
//! journal with systemd, otherwise the log file its recipe declares (`RECIPE.services`).
//!
//! Log lines may hold secrets: the agent sends them to the control plane, which shows them to
//! the page that asked and never stores or logs them.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::service::{has_systemd, validate_name};
use super::service_status::{ServiceDecl, newest_match, query};

/// How many lines the page gets.
pub const LINES: usize = 50;

/// How much of a log file's end is read to find them (a log line is rarely longer than 4 KiB).
const TAIL_BYTES: u64 = 200 * 1024;

/// The longest line sent; longer ones are cut with `…`.
const MAX_LINE: usize = 2000;

/// Where the lines came from and the lines, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTail {
    /// `journal` or the file's path.
    pub source: String,
    pub lines: Vec<String>,
}

/// Why there are no lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoLines {
    /// No systemd, and the recipe declares no log file.
    NoLog,
    /// The declared file does not exist.
    Missing,
    /// The journal or the file could not be read.
    Unreadable,
}

/// [`NoLines`] with its sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogError {
    pub kind: NoLines,
    pub message: String,
}

fn fail(kind: NoLines, message: String) -> LogError {
    LogError { kind, message }
}

/// The last [`LINES`] lines of `name`'s log, or why there are none.
pub fn tail(name: &str, decl: Option<&ServiceDecl>) -> Result<LogTail, LogError> {
    validate_name(name).map_err(|e| fail(NoLines::Unreadable, e.to_string()))?;
    if has_systemd() {
        let n = LINES.to_string();
        let unreadable = |why: String| fail(NoLines::Unreadable, why);
        let (code, out) = query(
            "journalctl",
            &["-u", name, "-n", &n, "--no-pager", "-q", "-o", "short-iso"],
        )
        .ok_or_else(|| unreadable(format!("journalctl could not be run to read {name}'s log")))?;
        if code != 0 {
            return Err(unreadable(format!(
                "journalctl could not read {name}'s log (exit code {code})"
            )));
        }
        return Ok(LogTail {
            source: "journal".to_owned(),
            lines: last_lines(out.as_bytes()),
        });
    }
    let Some(pattern) = decl.and_then(|d| d.log.as_deref()) else {
        return Err(fail(
            NoLines::NoLog,
            format!(
                "systemd is not running here, and {name} writes no log file Cairn knows of: its recipe declares none"
            ),
        ));
    };
    let path = newest_match(Path::new(pattern)).ok_or_else(|| {
        fail(
            NoLines::Missing,
            format!("{name}'s log file {pattern} does not exist (yet)"),
        )
    })?;
    let lines = read_tail(&path).map_err(|e| {
        fail(
            NoLines::Unreadable,
            format!(
                "{name}'s log file {} could not be read: {e}",
                path.display()
            ),
        )
    })?;
    Ok(LogTail {
        source: path.display().to_string(),
        lines,
    })
}

fn read_tail(path: &Path) -> std::io::Result<Vec<String>> {
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let start = len.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.take(TAIL_BYTES).read_to_end(&mut bytes)?;
    if start > 0 {
        // The first line read is most likely cut: drop it.
        let cut = bytes.iter().position(|b| *b == b'\n').map_or(0, |i| i + 1);
        bytes.drain(..cut);
    }
    Ok(last_lines(&bytes))
}

/// The last [`LINES`] lines of `bytes` (lossy UTF-8, each cut at [`MAX_LINE`] characters,
/// control characters but tabs removed so nothing can steer a terminal it is pasted in).
pub(crate) fn last_lines(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(LINES)..]
        .iter()
        .map(|l| {
            let clean: String = l
                .chars()
                .filter(|c| *c == '\t' || !c.is_control())
                .collect();
            match clean.char_indices().nth(MAX_LINE) {
                Some((i, _)) => format!("{}…", &clean[..i]),
                None => clean,
            }
        })
        .collect()
}
