//! Argument policies: what a recipe can make each declared program do (threats.md row 30).
//!
//! Declaring a program is not enough to run it. Many programs run other programs through their
//! own options (`apt-get -o APT::Update::Pre-Invoke::=…`, `tar --checkpoint-action=exec=…`,
//! `psql`'s `\!`, `python3 -c`), so a declared `apt-get` would be a root shell. Every program a
//! recipe starts through `run()`, `detect()` or `wait_for()` is therefore either
//!
//! * **policed**: its basename has a [`Policy`] here, an allow-list of the argument vectors,
//!   stdin and environment a recipe may give it. Anything not on the list is refused before
//!   the program starts (in plan mode too), with a sentence naming what was refused and what is
//!   allowed; or
//! * **the recipe's own program**: a file the recipe may write itself, so its text is the
//!   recipe's and the catalogue says it may run anything: an absolute path under one of the
//!   recipe's declared write paths (a script it writes, a checked download), or a bare name the
//!   recipe may place on the search path (`go` when it declares `/usr/local/bin/go`).
//!
//! Anything else cannot even be declared ([`classify`], called by the recipe check). Just before
//! a policed program starts, the file its name resolves to is checked too (`resolve.rs`): a
//! name that leads into the recipe's own folders, or to a file someone other than root
//! controls, is refused.
//!
//! The policies are allow-lists, not deny-lists: an option that is not known to be inert is
//! refused, and so is stdin unless a policy reads it, and every environment variable a policy
//! does not name. Programs that write files (`files.rs`) keep every path operand inside the
//! declared write paths without going through a symbolic link (`paths.rs`). The host helpers
//! (`apt_install`, `service_start`, `download`, …) build their argv themselves from validated
//! values and are not policed here.
//!
//! Children never get a terminal (stdout and stderr are pipes, stdin a pipe or /dev/null), so
//! the pagers that GTFOBins' "inherit" entries go through (`systemctl status`, `dpkg -l`) never
//! start; they start in `/`, with `HOME=/root`, and a recipe may declare neither a top-level
//! path nor one under `/root` (`caps.rs`), so no project or user configuration file a runtime
//! reads there (`go.mod`, `rust-toolchain.toml`, `.npmrc`, `.curlrc`, `.ssh/config`) can be the
//! recipe's. GTFOBins' "shell", "command", "file write" and "library load" entries for each
//! program are the list the tests defend against (`engine/tests/policy_*.rs`).

mod archives;
mod argv;
mod databases;
mod feeds;
mod files;
mod french;
mod network;
mod packages;
mod paths;
mod resolve;
mod runtimes;
mod services;
mod utilities;

pub use feeds::{describe_path, describe_path_in};

use std::path::Path;

use crate::error::HostError;
use crate::host::caps::Capabilities;

/// One call a recipe asks for, as the policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The program exactly as the recipe wrote it (bare name or absolute path).
    pub program: &'a str,
    pub args: &'a [String],
    /// Bytes the recipe sends on stdin, if any.
    pub stdin: Option<&'a [u8]>,
    /// Environment variables the recipe adds (the engine's own base environment is not here).
    pub env: &'a [(String, String)],
    /// The recipe's declared capabilities (write paths for programs that write files).
    pub caps: &'a Capabilities,
    /// Whether the call is a query (`detect()`, `wait_for()`): queries run for real even in a
    /// plan and in every status request, so only calls that change nothing may be queries.
    pub query: bool,
}

/// Whether a policed program's calls change the server, for queries ([`Call::query`]).
#[derive(Debug, Clone, Copy)]
pub enum Reads {
    /// Every call the policy allows only reads (a version, a status, a file's text).
    Always,
    /// The program changes the server: it never runs as a query.
    Never,
    /// Some of its calls only read; this says which (the others are refused as queries).
    Check(fn(&Call<'_>) -> Result<(), String>),
}

/// What a recipe may make one program do.
#[derive(Debug)]
pub struct Policy {
    /// Basenames this policy covers (`["mariadb", "mysql"]`).
    pub names: &'static [&'static str],
    /// What a recipe that declares the program can make it do, for the catalogue: a short
    /// phrase such as "prints its version" or "installs and removes Debian packages". `{paths}`
    /// stands for the recipe's declared write paths ("extracts archives into {paths}").
    pub power: &'static str,
    /// Environment variables a recipe may set for it (none unless listed).
    pub env: &'static [&'static str],
    /// Which of its calls only read, and so may run as queries.
    pub reads: Reads,
    /// Checks one call's arguments and stdin; `Err` is the reason, a sentence fragment that
    /// completes "the recipe may not run `cmd`: …".
    pub check: fn(&Call<'_>) -> Result<(), String>,
}

/// How a declared program is governed.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Policed(&'static Policy),
    /// A file the recipe may write itself: its own script or download, or a name it may place
    /// on the search path.
    Own,
}

/// Every policy, one table per family of programs.
fn tables() -> [&'static [Policy]; 7] {
    [
        packages::POLICIES,
        files::POLICIES,
        services::POLICIES,
        network::POLICIES,
        runtimes::POLICIES,
        databases::POLICIES,
        utilities::POLICIES,
    ]
}

/// Every policy Cairn has, for documentation and tests.
pub fn all() -> impl Iterator<Item = &'static Policy> {
    tables().into_iter().flatten()
}

/// The policy for `program` (looked up by its basename), if Cairn has one.
pub fn lookup(program: &str) -> Option<&'static Policy> {
    let base = basename(program);
    all().find(|p| p.names.contains(&base))
}

fn basename(program: &str) -> &str {
    Path::new(program)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(program)
}

/// How `program` is governed for a recipe with `caps`, or why it cannot be declared. A file the
/// recipe may write is its own even when its name is one Cairn polices: the policy describes
/// the system's `tar`, not a script the recipe called `tar`.
pub fn classify(program: &str, caps: &Capabilities) -> Result<Kind, String> {
    if resolve::own_path(program, caps).is_some() {
        return Ok(Kind::Own);
    }
    if let Some(p) = lookup(program) {
        // A policy describes the program installed under that name on the search path; a
        // file called `tar` elsewhere (`/usr/lib/x/tar`, `/tmp/tar`) may be anything.
        let path = Path::new(program);
        if path.is_absolute()
            && !resolve::search_dirs().any(|d| path.parent() == Some(d))
            && !packaged_home(path)
        {
            return Err(format!(
                "is not in a folder of the search path ({}), so it may be another program than \
                 the `{}` Cairn has a policy for; declare it by its name or its path there",
                caps_search_path(),
                basename(program)
            ));
        }
        return Ok(Kind::Policed(p));
    }
    Err(
        "has no argument policy in Cairn, so nothing would stop a recipe from making it run \
         other programs; use a host helper, a program Cairn polices (docs/recipes.md, \
         \"Programs and their policies\"), or a program of the recipe's own under one of its \
         declared paths"
            .to_owned(),
    )
}

/// Folders outside the search path where a distribution package installs the very program a
/// policy describes: PostgreSQL's clients of each major version
/// (`/usr/lib/postgresql/15/bin/pg_isready`), which Debian's Perl wrapper on the search path
/// (`/usr/bin/pg_isready`) starts after 25 ms of its own. Only the policed names of that folder
/// count, and the folder is root's (checked again before it starts, like any program).
fn packaged_home(path: &Path) -> bool {
    const POSTGRES_CLIENTS: &[&str] = &["pg_isready", "psql"];
    let Some(rest) = path
        .to_str()
        .and_then(|p| p.strip_prefix("/usr/lib/postgresql/"))
    else {
        return false;
    };
    let mut parts = rest.split('/');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some(major), Some("bin"), Some(name), None)
            if !major.is_empty()
                && major.bytes().all(|b| b.is_ascii_digit())
                && POSTGRES_CLIENTS.contains(&name)
    )
}

fn caps_search_path() -> String {
    resolve::search_dirs()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a recipe can make `program` do, for the catalogue.
pub fn describe(program: &str, caps: &Capabilities) -> String {
    describe_in(program, caps, "en").unwrap_or_default()
}

/// [`describe`] in `lang` (`"en"` or one of the dashboard's languages), or `None` when the
/// engine has no words for it in that language.
pub fn describe_in(program: &str, caps: &Capabilities, lang: &str) -> Option<String> {
    let fill = |phrase: &'static str, paths: String| {
        french::words(phrase, lang).map(|w| w.replace("{paths}", &paths))
    };
    match classify(program, caps) {
        Ok(Kind::Policed(p)) => {
            let paths = if caps.paths.is_empty() {
                french::words("no path (the recipe declares none)", lang)?.to_owned()
            } else {
                caps.paths.join(", ")
            };
            fill(p.power, paths)
        }
        Ok(Kind::Own) => match resolve::own_path(program, caps) {
            Some(at) if at != Path::new(program) => fill(
                "its own program (the recipe may write {paths}, where the name is looked up): \
                 runs anything, as root",
                at.display().to_string(),
            ),
            _ => fill(
                "its own program (a file the recipe writes or downloads): runs anything, as root",
                String::new(),
            ),
        },
        Err(_) => fill("refused: Cairn has no policy for it", String::new()),
    }
}

/// Checks a declared write path against the search path programs are looked up on: a path
/// that holds a search-path folder would let the recipe replace any program, and a file in one
/// is a program the recipe must declare (so that the catalogue shows it as its own).
pub fn check_path_decl(path: &str, caps: &Capabilities) -> Result<(), String> {
    let p = Path::new(path);
    for dir in resolve::search_dirs() {
        if dir.starts_with(p) {
            return Err(format!(
                "holds {}, where programs are looked up, so the recipe could replace any program \
                 on the server; declare the single files it puts there ({}/NAME)",
                dir.display(),
                dir.display()
            ));
        }
        if let Ok(rest) = p.strip_prefix(dir) {
            let name = rest.to_str().unwrap_or_default();
            if rest.components().count() != 1 || !caps.programs.iter().any(|d| d == name) {
                return Err(format!(
                    "puts a program on the search path ({}); declare its name `{name}` among \
                     the programs too, so that the catalogue shows it as the recipe's own",
                    dir.display()
                ));
            }
        }
    }
    Ok(())
}

/// Checks one call before anything starts: the program was declared, and its arguments, stdin
/// and environment are within its policy.
pub fn check(call: &Call<'_>) -> Result<(), HostError> {
    call.caps.check_program(call.program)?;
    let refused = |reason: String| HostError::ArgumentsRefused {
        command: crate::plan::shell_words(call.program, call.args),
        reason,
    };
    match classify(call.program, call.caps)
        .map_err(|why| refused(format!("`{}` {why}", call.program)))?
    {
        Kind::Own => Ok(()),
        Kind::Policed(policy) => {
            if let Some((name, _)) = call
                .env
                .iter()
                .find(|(k, _)| !policy.env.contains(&k.as_str()))
            {
                return Err(refused(format!(
                    "the environment variable `{name}` may not be set for {} (its policy allows {})",
                    basename(call.program),
                    if policy.env.is_empty() {
                        "none".to_owned()
                    } else {
                        policy.env.join(", ")
                    }
                )));
            }
            (policy.check)(call).map_err(refused)?;
            if call.query {
                queries_only(policy, call).map_err(refused)?;
            }
            resolve::check_file(call.program, call.caps).map_err(refused)
        }
    }
}

/// Refuses a query that could change the server: `detect()` and `wait_for()` run for real in a
/// plan and in every status request, where nothing may change ("plan mode executes nothing").
fn queries_only(policy: &Policy, call: &Call<'_>) -> Result<(), String> {
    let name = basename(call.program);
    let why = match policy.reads {
        Reads::Always => return Ok(()),
        Reads::Never => format!("{name} changes the server"),
        Reads::Check(reads) => match reads(call) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        },
    };
    Err(format!(
        "{why}, and detect() and wait_for() run for real even in a plan and at every status \
         request, so they may only ask questions; change things with run()"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_name_has_two_policies() {
        let mut seen = std::collections::HashSet::new();
        for p in all() {
            for n in p.names {
                assert!(seen.insert(*n), "{n} has two policies");
            }
        }
    }

    #[test]
    fn a_file_the_recipe_may_write_is_its_own_whatever_its_name() {
        let caps = Capabilities {
            programs: vec!["tar".into(), "/opt/x/tar".into()],
            paths: vec!["/opt/x".into(), "/usr/local/bin/tar".into()],
            ..Default::default()
        };
        assert!(matches!(classify("/opt/x/tar", &caps), Ok(Kind::Own)));
        assert!(matches!(classify("tar", &caps), Ok(Kind::Own)));
        assert!(matches!(
            classify("/usr/bin/tar", &caps),
            Ok(Kind::Policed(_))
        ));
        assert!(describe("tar", &caps).contains("/usr/local/bin/tar"));
    }

    #[test]
    fn search_path_folders_cannot_be_declared_and_their_files_are_programs() {
        let caps = Capabilities {
            programs: vec!["go".into()],
            ..Default::default()
        };
        assert!(check_path_decl("/usr/local/bin/go", &caps).is_ok());
        assert!(check_path_decl("/usr/local/bin/gofmt", &caps).is_err());
        assert!(check_path_decl("/usr/local/bin", &caps).is_err());
        assert!(check_path_decl("/usr/local", &caps).is_err());
        assert!(check_path_decl("/usr/local/sbin/go/x", &caps).is_err());
        assert!(check_path_decl("/usr/local/lib/x", &caps).is_ok());
    }
}
