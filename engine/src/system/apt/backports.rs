//! Debian's backports as a package source, derived from the system's own: the archive address
//! and keyring of the system's Debian source for its release (read from
//! `/etc/apt/sources.list.d/debian.sources` or `/etc/apt/sources.list` at run time), the suite
//! `CODENAME-backports`, component `main`. Nothing in it comes from a recipe, so a recipe that
//! asks for backports cannot point apt anywhere else.
//!
//! It is pinned at priority 100 (Debian's own default for backports, written down so that it
//! holds whatever the archive says): nothing is installed or upgraded from it unless asked for
//! by version ([`super::switch`] names each package's version), and what was installed from it
//! follows its updates.

use std::io::Write;
use std::path::Path;

use crate::error::HostError;
use crate::exec::Exec;
use crate::fs::AtomicFile;
use crate::plan::PlannedAction;

/// The source Cairn writes, and the pin beside it.
pub const SOURCE_FILE: &str = "/etc/apt/sources.list.d/cairn-backports.sources";
pub const PIN_FILE: &str = "/etc/apt/preferences.d/cairn-backports";

const DEB822: &str = "/etc/apt/sources.list.d/debian.sources";
const ONE_LINE: &str = "/etc/apt/sources.list";

/// One `deb` entry of the system's sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub uri: String,
    pub suites: Vec<String>,
    pub components: Vec<String>,
    pub signed_by: Option<String>,
}

/// What enabling backports found: its suite, and whether the files were (or, planning, would
/// be) written, after which apt's lists must be downloaded again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enabled {
    pub suite: String,
    pub written: bool,
}

/// Makes sure `CODENAME-backports` is a source: nothing when the system's sources already have
/// it or Cairn's files say exactly what they would; otherwise writes [`SOURCE_FILE`] and
/// [`PIN_FILE`] (recorded, not written, in plan mode).
pub fn enable(exec: &dyn Exec) -> Result<Enabled, HostError> {
    let os = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let field = |k: &str| {
        os.lines()
            .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
            .map(|v| v.trim().trim_matches('"').to_owned())
    };
    let id = field("ID").unwrap_or_default();
    if id != "debian" {
        return Err(HostError::Invalid(format!(
            "Debian's backports are offered on Debian only; this server runs {id}"
        )));
    }
    let Some(codename) = field("VERSION_CODENAME").filter(|c| is_word(c)) else {
        return Err(HostError::Invalid(
            "/etc/os-release names no release codename, so the backports suite is not known"
                .to_owned(),
        ));
    };
    let suite = format!("{codename}-backports");
    let mut entries = parse_deb822(&std::fs::read_to_string(DEB822).unwrap_or_default());
    entries.extend(parse_one_line(
        &std::fs::read_to_string(ONE_LINE).unwrap_or_default(),
    ));
    if entries.iter().any(|e| e.suites.contains(&suite)) {
        return Ok(Enabled {
            suite,
            written: false,
        });
    }
    let Some(base) = entries
        .iter()
        .find(|e| e.suites.contains(&codename) && e.components.iter().any(|c| c == "main"))
    else {
        return Err(HostError::Invalid(format!(
            "No Debian source for {codename} (component main) was found in {DEB822} or {ONE_LINE}, so backports cannot be added from it"
        )));
    };
    let (source, pin) = files(base, &suite);
    let same = |path: &str, text: &str| std::fs::read_to_string(path).is_ok_and(|t| t == text);
    if same(SOURCE_FILE, &source) && same(PIN_FILE, &pin) {
        return Ok(Enabled {
            suite,
            written: false,
        });
    }
    for (path, text) in [(PIN_FILE, &pin), (SOURCE_FILE, &source)] {
        if exec.plan_mode() {
            exec.record(PlannedAction::WriteFile {
                path: path.to_owned(),
                mode: 0o644,
                bytes: text.len(),
            });
            continue;
        }
        let mut file = AtomicFile::create(Path::new(path), 0o644)?;
        file.file
            .write_all(text.as_bytes())
            .map_err(|e| HostError::io(format!("failed to write {path}"), e))?;
        file.commit()?;
        exec.did(PlannedAction::WriteFile {
            path: path.to_owned(),
            mode: 0o644,
            bytes: text.len(),
        });
        exec.log(
            crate::event::Stream::Info,
            &format!("Wrote {path} ({suite}, from the system's own Debian source)"),
        );
    }
    Ok(Enabled {
        suite,
        written: true,
    })
}

/// The source and pin files for `suite`, from the system's entry `base`.
pub fn files(base: &Entry, suite: &str) -> (String, String) {
    let signed = base
        .signed_by
        .as_ref()
        .map(|k| format!("Signed-By: {k}\n"))
        .unwrap_or_default();
    let source = format!(
        "# Written by Cairn: Debian's backports, from the same archive as this system's own Debian\n\
         # source. Pinned by {PIN_FILE}: only what is asked for by version comes from it.\n\
         Types: deb\nURIs: {}\nSuites: {suite}\nComponents: main\n{signed}",
        base.uri
    );
    let pin = format!(
        "# Written by Cairn with {SOURCE_FILE}: nothing is installed or upgraded from\n\
         # backports unless asked for.\nPackage: *\nPin: release n={suite}\nPin-Priority: 100\n"
    );
    (source, pin)
}

/// Letters, digits, `.`, `_`, `-` only: a codename or suite put into a file line.
fn is_word(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// An archive address or keyring path: printable, no spaces (each is put on one line).
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic())
}

/// The enabled `deb` stanzas of a deb822 sources file.
pub fn parse_deb822(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    for stanza in text.split("\n\n") {
        let field = |name: &str| -> Option<String> {
            stanza.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_owned())
            })
        };
        let words = |name: &str| -> Vec<String> {
            field(name)
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect()
        };
        if !words("Types").iter().any(|t| t == "deb")
            || field("Enabled").is_some_and(|e| e.eq_ignore_ascii_case("no"))
        {
            continue;
        }
        let Some(uri) = words("URIs").into_iter().next().filter(|u| is_token(u)) else {
            continue;
        };
        out.push(Entry {
            uri,
            suites: words("Suites").into_iter().filter(|s| is_word(s)).collect(),
            components: words("Components"),
            signed_by: field("Signed-By").filter(|k| k.starts_with('/') && is_token(k)),
        });
    }
    out
}

/// The `deb` lines of a one-line sources file (`deb [options] URI SUITE COMPONENT…`).
pub fn parse_one_line(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        let Some(rest) = line.strip_prefix("deb ") else {
            continue;
        };
        let mut rest = rest.trim_start();
        let mut signed_by = None;
        if let Some(opts) = rest.strip_prefix('[') {
            let Some((opts, after)) = opts.split_once(']') else {
                continue;
            };
            signed_by = opts
                .split_whitespace()
                .find_map(|o| o.strip_prefix("signed-by="))
                .filter(|k| k.starts_with('/') && is_token(k))
                .map(str::to_owned);
            rest = after;
        }
        let mut words = rest.split_whitespace();
        let (Some(uri), Some(suite)) = (words.next(), words.next()) else {
            continue;
        };
        if !is_token(uri) || !is_word(suite) {
            continue;
        }
        out.push(Entry {
            uri: uri.to_owned(),
            suites: vec![suite.to_owned()],
            components: words.map(str::to_owned).collect(),
            signed_by,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_systems_source_from_either_format() {
        let deb822 = "Types: deb\nURIs: http://archive.example/debian\nSuites: bookworm bookworm-updates\n\
                      Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n\
                      Types: deb-src\nURIs: http://x/y\nSuites: bookworm\nComponents: main\n";
        let got = parse_deb822(deb822);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].uri, "http://archive.example/debian");
        assert_eq!(got[0].suites, ["bookworm", "bookworm-updates"]);
        let one = "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://archive.example/debian bookworm main contrib\n\
                   deb-src http://x bookworm main\n";
        let got = parse_one_line(one);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].signed_by.as_deref(), Some("/k.gpg"));
        assert_eq!(got[0].components, ["main", "contrib"]);
    }

    #[test]
    fn the_written_source_has_the_systems_archive_and_a_pin_at_100() {
        let base = Entry {
            uri: "http://archive.example/debian".into(),
            suites: vec!["bookworm".into()],
            components: vec!["main".into()],
            signed_by: Some("/usr/share/keyrings/debian-archive-keyring.gpg".into()),
        };
        let (source, pin) = files(&base, "bookworm-backports");
        assert!(source.contains("URIs: http://archive.example/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"));
        assert!(
            pin.ends_with("Package: *\nPin: release n=bookworm-backports\nPin-Priority: 100\n")
        );
    }
}
