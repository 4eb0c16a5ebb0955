//! Debian packages for recipes: `install` is idempotent (it asks dpkg what is there and installs
//! only what is missing), and every apt/dpkg run is serialized across the jobs of this process and
//! waits, visibly, for a dpkg lock held by another program.
//!
//! Package names are checked against Debian's rule before anything runs, which also keeps a
//! recipe from smuggling options (`-oAPT::…`) into apt-get's command line.

pub mod backports;
mod lock;
mod remove;
mod simulate;
pub mod status;
mod switch;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{LazyLock, MutexGuard};
use std::time::Duration;

use regex::Regex;

use crate::error::HostError;
use crate::event::Stream;
use crate::exec::{Exec, ExecOptions};
use crate::summary::Change;

pub use remove::{RemoveReport, purge, remove};
pub use simulate::simulate;
pub use switch::{Source, SwitchReport, switch, upgrade};

/// What [`install`] found and did. In plan mode, `installed` lists what would be installed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstallReport {
    /// Packages that were already installed (with the requested version, if one was given).
    pub already_installed: Vec<String>,
    /// Packages apt-get installed (or, in plan mode, would install).
    pub installed: Vec<String>,
}

/// How long apt-get itself waits for a dpkg lock someone takes after our own check. A constant
/// rather than the job's remaining time, so that plans are stable; the job's deadline still
/// applies to the command as a whole.
const DPKG_LOCK_TIMEOUT_SECS: u32 = 300;

/// Upper bound for one apt-get run (a large package on a slow mirror).
const APT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Upper bound for a dpkg-query run.
const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

/// Where apt keeps the package lists `apt-get update` downloads.
const LISTS_DIR: &str = "/var/lib/apt/lists";

/// Debian policy 5.6.1: lower case letters, digits, `+`, `-`, `.`; at least two characters,
/// starting with an alphanumeric.
static PACKAGE_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9][a-z0-9+.-]+$").unwrap_or_else(|e| unreachable!("{e}")));

/// Debian policy 5.6.12 (epoch, upstream version, revision), starting with a digit.
static VERSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[0-9][A-Za-z0-9.+~:-]*$").unwrap_or_else(|e| unreachable!("{e}"))
});

/// A package as a recipe asked for it: `name` or `name=version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Wanted<'a> {
    name: &'a str,
    version: Option<&'a str>,
}

/// Checks `spec` (`name` or `name=version`) against Debian's naming rules.
pub fn validate_package(spec: &str) -> Result<(), HostError> {
    parse(spec).map(|_| ())
}

fn parse(spec: &str) -> Result<Wanted<'_>, HostError> {
    let (name, version) = match spec.split_once('=') {
        Some((name, version)) => (name, Some(version)),
        None => (spec, None),
    };
    if !PACKAGE_NAME.is_match(name) {
        return Err(HostError::Invalid(format!(
            "`{spec}` is not a valid Debian package name: use lower-case letters, digits, `+`, `-` and `.`, starting with a letter or digit (optionally followed by `=version`)"
        )));
    }
    // apt-get reads `name-` as "remove name" (and `name+` as "install"): an install must not
    // remove anything.
    if version.is_none() && name.ends_with('-') {
        return Err(HostError::Invalid(format!(
            "`{spec}` is not a valid Debian package name here: a trailing `-` would make apt-get remove the package `{}`",
            name.trim_end_matches('-')
        )));
    }
    if let Some(v) = version
        && !VERSION.is_match(v)
    {
        return Err(HostError::Invalid(format!(
            "`{spec}` does not name a valid Debian version after `=`: a version starts with a digit and contains only letters, digits and `.+~:-`"
        )));
    }
    Ok(Wanted { name, version })
}

/// Downloads fresh package lists (`apt-get update`).
pub fn update(exec: &dyn Exec) -> Result<(), HostError> {
    let _guard = take_locks(exec, &[lock::LISTS_LOCK])?;
    run_update(exec)
}

/// Installs the packages of `packages` that are not installed yet, with
/// `apt-get install -y --no-install-recommends`; runs nothing when all are there. A package
/// given as `name=version` counts as installed only with exactly that version.
///
/// When the package lists were never downloaded (a fresh container), `apt-get update` runs first.
pub fn install(exec: &dyn Exec, packages: &[String]) -> Result<InstallReport, HostError> {
    let mut wanted = Vec::with_capacity(packages.len());
    for spec in packages {
        let w = parse(spec)?;
        if !wanted.contains(&w) {
            wanted.push(w);
        }
    }
    if wanted.is_empty() {
        return Err(HostError::Invalid(
            "apt install was called without any package name".to_owned(),
        ));
    }

    // Taken before looking at what is installed, so that two jobs installing the same package
    // one after the other see the first one's result and the second runs nothing.
    let guard = if exec.plan_mode() {
        None
    } else {
        Some(lock::serialize(exec)?)
    };

    let names: Vec<&str> = wanted.iter().map(|w| w.name).collect();
    let present = installed_versions(exec, &names)?;
    let mut report = InstallReport::default();
    let mut missing = Vec::new();
    for w in &wanted {
        let have = present.get(w.name);
        let satisfied = match (have, w.version) {
            (Some(have), Some(want)) => have == want,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if satisfied {
            report.already_installed.push(display_spec(w));
        } else {
            missing.push(*w);
        }
    }

    if missing.is_empty() {
        let list: Vec<String> = names
            .iter()
            .map(|n| format!("{n} {}", present.get(*n).map_or("", String::as_str)))
            .collect();
        exec.log(
            Stream::Info,
            &format!("Already installed: {}", list.join(", ")),
        );
        return Ok(report);
    }

    if guard.is_some() {
        lock::wait_for_dpkg(exec, &lock::DPKG_LOCKS)?;
    }
    if !lists_present(Path::new(LISTS_DIR)) {
        exec.log(
            Stream::Info,
            "The package lists have never been downloaded here: running apt-get update first.",
        );
        if guard.is_some() {
            lock::wait_for_dpkg(exec, &[lock::LISTS_LOCK])?;
        }
        run_update(exec)?;
    }

    let mut args = apt_options();
    args.extend(
        [
            "-y",
            "--no-install-recommends",
            "-o",
            "Dpkg::Options::=--force-confdef",
            "-o",
            "Dpkg::Options::=--force-confold",
            "install",
            "--",
        ]
        .map(String::from),
    );
    args.extend(missing.iter().map(display_spec));
    if exec.plan_mode() {
        let specs: Vec<String> = missing.iter().map(display_spec).collect();
        for change in simulate(exec, &specs)? {
            exec.note(Change::Package(change));
        }
    }
    exec.exec("apt-get", &args, apt_exec_options())?;

    if !exec.plan_mode() {
        let missing_names: Vec<&str> = missing.iter().map(|w| w.name).collect();
        let now = installed_versions(exec, &missing_names)?;
        for name in missing_names {
            match now.get(name) {
                Some(v) => exec.log(Stream::Info, &format!("Installed {name} {v}")),
                None => {
                    return Err(HostError::Invalid(format!(
                        "apt-get reported success but the package `{name}` is not installed; see apt-get's output above"
                    )));
                }
            }
        }
    }
    report.installed = missing.iter().map(display_spec).collect();
    drop(guard);
    Ok(report)
}

/// The installed version of `package`, or `None` when it is not installed (removed packages whose
/// configuration files remain count as not installed). Runs in plan mode too.
pub fn installed_version(exec: &dyn Exec, package: &str) -> Result<Option<String>, HostError> {
    let w = parse(package)?;
    if w.version.is_some() {
        return Err(HostError::Invalid(format!(
            "`{package}`: ask for the installed version of a package by its name alone, without `=version`"
        )));
    }
    Ok(installed_versions(exec, &[w.name])?.remove(w.name))
}

/// The upstream release in a Debian version, digits and dots only: `1:10.11.19-0+deb12u1` →
/// `10.11.19`, `20.10.24+dfsg1-1` → `20.10.24`, `2:1.19~1` → `1.19`. A version that does not
/// start with a digit after its epoch is returned whole.
pub fn upstream(version: &str) -> &str {
    let rest = match version.split_once(':') {
        Some((epoch, rest)) if !epoch.is_empty() && epoch.bytes().all(|b| b.is_ascii_digit()) => {
            rest
        }
        _ => version,
    };
    let end = rest
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(rest.len());
    let release = rest[..end].trim_end_matches('.');
    if release.is_empty() { version } else { release }
}

/// Asks dpkg which of `names` are installed, and at which version: from its status file when the
/// executor reads it ([`status`]), otherwise with `dpkg-query`.
fn installed_versions(
    exec: &dyn Exec,
    names: &[&str],
) -> Result<BTreeMap<String, String>, HostError> {
    if let Some(dir) = exec.dpkg_admin_dir()
        && let Some(all) = status::installed(dir)
    {
        return Ok(names
            .iter()
            .filter_map(|n| all.installed.get(*n).map(|v| ((*n).to_owned(), v.clone())))
            .collect());
    }
    let mut args: Vec<String> = ["-W", "-f", "${Package} ${Status} ${Version}\\n", "--"]
        .map(String::from)
        .to_vec();
    args.extend(names.iter().map(|n| (*n).to_owned()));
    // dpkg-query exits 1 when some name is unknown; the lines it printed are still right.
    let out = exec.query("dpkg-query", &args, QUERY_TIMEOUT)?;
    Ok(parse_status(&out.stdout))
}

/// Parses `${Package} ${Status} ${Version}` lines, keeping installed packages only.
fn parse_status(stdout: &str) -> BTreeMap<String, String> {
    let mut installed = BTreeMap::new();
    for line in stdout.lines() {
        let mut fields = line.split_whitespace();
        let (Some(name), Some(_want), Some(_flag), Some(status)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if status == "installed" {
            let version = fields.next().unwrap_or_default().to_owned();
            installed.insert(name.to_owned(), version);
        }
    }
    installed
}

fn display_spec(w: &Wanted<'_>) -> String {
    match w.version {
        Some(v) => format!("{}={v}", w.name),
        None => w.name.to_owned(),
    }
}

/// Takes Cairn's package lock and waits for dpkg's locks plus `extra`; nothing in plan mode,
/// where no package command runs.
fn take_locks(
    exec: &dyn Exec,
    extra: &[&str],
) -> Result<Option<MutexGuard<'static, ()>>, HostError> {
    if exec.plan_mode() {
        return Ok(None);
    }
    let guard = lock::serialize(exec)?;
    let mut paths = lock::DPKG_LOCKS.to_vec();
    paths.extend_from_slice(extra);
    lock::wait_for_dpkg(exec, &paths)?;
    Ok(Some(guard))
}

/// `apt-get update`, for a caller that holds the locks.
fn run_update(exec: &dyn Exec) -> Result<(), HostError> {
    let mut args = apt_options();
    args.push("update".to_owned());
    exec.exec("apt-get", &args, apt_exec_options())?;
    Ok(())
}

/// Options every apt-get run gets.
fn apt_options() -> Vec<String> {
    vec![
        "-o".to_owned(),
        format!("DPkg::Lock::Timeout={DPKG_LOCK_TIMEOUT_SECS}"),
    ]
}

fn apt_exec_options() -> ExecOptions {
    ExecOptions {
        timeout: Some(APT_TIMEOUT),
        check: true,
        env: vec![("DEBIAN_FRONTEND".to_owned(), "noninteractive".to_owned())],
        ..ExecOptions::default()
    }
}

/// Whether apt has package lists to install from. An unreadable directory counts as present:
/// apt-get then reports the real problem.
fn lists_present(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return true;
    };
    entries
        .flatten()
        .any(|e| e.file_name().to_string_lossy().contains("_Packages"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dpkg_query_status() {
        let out = "coreutils install ok installed 9.1-1\n\
                   nginx deinstall ok config-files 1.22.1-9\n\
                   half install ok half-configured 2.0\n";
        let got = parse_status(out);
        assert_eq!(got.len(), 1);
        assert_eq!(got.get("coreutils").map(String::as_str), Some("9.1-1"));
    }

    #[test]
    fn the_upstream_release_is_the_digits_after_the_epoch() {
        assert_eq!(upstream("1:10.11.19-0+deb12u1"), "10.11.19");
        assert_eq!(upstream("20.10.24+dfsg1-1+deb12u1+b6"), "20.10.24");
        assert_eq!(upstream("2:1.19~1"), "1.19");
        assert_eq!(upstream("1:3.1"), "3.1");
        assert_eq!(upstream("15.20-0+deb12u1"), "15.20");
        assert_eq!(upstream("5:27.3.1-1~debian.12~bookworm"), "27.3.1");
        assert_eq!(upstream("abc"), "abc");
    }

    #[test]
    fn versions_must_start_with_a_digit() {
        assert!(validate_package("redis-server=5:7.0.15-1~deb12u1").is_ok());
        assert!(validate_package("redis-server=-oFoo").is_err());
        assert!(validate_package("redis-server=").is_err());
        assert!(validate_package("openssh-server-").is_err());
        assert!(validate_package("g++").is_ok());
    }
}
