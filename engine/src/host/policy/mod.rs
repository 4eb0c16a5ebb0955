//! Argument policies: what a recipe can make each declared program do (THREATS row 30).
//!
//! Declaring a program is not enough to run it. Many programs run other programs through their
//! own options (`apt-get -o APT::Update::Pre-Invoke::=…`, `tar --checkpoint-action=exec=…`,
//! `psql`'s `\!`, `python3 -c`), so a declared `apt-get` would be a root shell. Every program a
//! recipe starts through `run()`, `detect()` or `wait_for()` is therefore either
//!
//! * **policed**: its basename has a [`Policy`] here, an allow-list of the argument vectors,
//!   stdin and environment a recipe may give it. Anything not on the list is refused before
//!   the program starts (in plan mode too), with a sentence naming what was refused; or
//! * **the recipe's own program**: an absolute path under one of the recipe's declared write
//!   paths (a script it writes, a checked download). Its text is the recipe's, so the catalogue
//!   says it may run anything.
//!
//! Anything else cannot even be declared. The host helpers (`apt_install`, `service_start`,
//! `download`, …) build their argv themselves from validated values and are not policed here.
//!
//! The policies are allow-lists, not deny-lists: an option that is not known to be inert is
//! refused. GTFOBins' "shell" and "command" entries for each program are the list the tests
//! defend against (`engine/tests/policy*.rs`).

mod databases;
mod files;
mod network;
mod packages;
mod runtimes;
mod services;

use std::path::Path;

use crate::error::HostError;
use crate::recipe::Capabilities;

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
}

/// What a recipe may make one program do.
#[derive(Debug)]
pub struct Policy {
    /// Basenames this policy covers (`["mariadb", "mysql"]`).
    pub names: &'static [&'static str],
    /// What a recipe that declares the program can make it do, for the catalogue: a short
    /// phrase such as "prints its version" or "installs and removes Debian packages".
    pub power: &'static str,
    /// Environment variables a recipe may set for it (none unless listed).
    pub env: &'static [&'static str],
    /// Checks one call's arguments and stdin; `Err` is the reason, a sentence fragment that
    /// completes "the recipe may not run `cmd`: …".
    pub check: fn(&Call<'_>) -> Result<(), String>,
}

/// How a declared program is governed.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Policed(&'static Policy),
    /// An absolute path under one of the recipe's write paths: its own script or download.
    Own,
}

/// Every policy, one table per family of programs.
fn tables() -> [&'static [Policy]; 6] {
    [
        packages::POLICIES,
        files::POLICIES,
        services::POLICIES,
        network::POLICIES,
        runtimes::POLICIES,
        databases::POLICIES,
    ]
}

/// The policy for `program` (looked up by its basename), if Cairn has one.
pub fn lookup(program: &str) -> Option<&'static Policy> {
    let base = basename(program);
    tables()
        .into_iter()
        .flatten()
        .find(|p| p.names.contains(&base))
}

fn basename(program: &str) -> &str {
    Path::new(program)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(program)
}

/// How `program` is governed for a recipe with `caps`, or why it cannot be declared.
pub fn classify(program: &str, caps: &Capabilities) -> Result<Kind, String> {
    if let Some(p) = lookup(program) {
        return Ok(Kind::Policed(p));
    }
    let path = Path::new(program);
    if path.is_absolute()
        && caps
            .paths
            .iter()
            .any(|prefix| path.starts_with(prefix) && path != Path::new(prefix))
    {
        return Ok(Kind::Own);
    }
    Err(format!(
        "has no argument policy in Cairn, so nothing would stop a recipe from making it run \
         other programs; use a host helper, a program Cairn polices (docs/recipes.md, \
         \"Programs and their policies\"), or a program of the recipe's own under one of its \
         declared paths"
    ))
}

/// What a recipe can make `program` do, for the catalogue.
pub fn describe(program: &str, caps: &Capabilities) -> String {
    match classify(program, caps) {
        Ok(Kind::Policed(p)) => p.power.to_owned(),
        Ok(Kind::Own) => "the recipe's own program (written or downloaded by it): runs with any \
                          arguments, as root"
            .to_owned(),
        Err(_) => "refused: Cairn has no policy for it".to_owned(),
    }
}

/// Checks one call before anything starts: the program was declared, and its arguments, stdin
/// and environment are within its policy.
pub fn check(call: &Call<'_>) -> Result<(), HostError> {
    call.caps.check_program(call.program)?;
    let refused = |reason: String| HostError::ArgumentsRefused {
        command: crate::shell_words(call.program, call.args),
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
                    "the environment variable `{name}` may not be set for {}",
                    basename(call.program)
                )));
            }
            (policy.check)(call).map_err(refused)
        }
    }
}
