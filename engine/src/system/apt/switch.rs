//! Changing the version of installed packages: [`upgrade`] (the newest the configured sources
//! offer, `apt-get install --only-upgrade`) and [`switch`] (the version one source offers, the
//! distribution's own or Debian's backports, downgrading if need be). Neither removes a package
//! apt was not asked to change: a simulation that would is refused before anything runs. After
//! a switch, the packages only the replaced version needed (its orphans) are removed, named.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::error::HostError;
use crate::event::Stream;
use crate::exec::Exec;
use crate::summary::{Change, PackageAction};

use super::remove::{orphans, remove_exactly};
use super::simulate::simulate_with;
use super::{
    apt_exec_options, apt_options, backports, installed_versions, lock, parse, run_update,
};

const QUERY_TIMEOUT: Duration = Duration::from_secs(120);

/// Where [`switch`] takes the packages' version from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The newest version the system's sources offer outside backports.
    Distribution,
    /// The newest version of Debian's backports for this release (added as a source if need be).
    Backports,
}

impl Source {
    pub fn parse(s: &str) -> Result<Self, HostError> {
        match s {
            "distribution" => Ok(Self::Distribution),
            "backports" => Ok(Self::Backports),
            other => Err(HostError::Invalid(format!(
                "apt_install(): `from` is `{other}`; use \"distribution\" or \"backports\""
            ))),
        }
    }
}

/// What [`upgrade`] or [`switch`] did: each changed package as `name VERSION`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwitchReport {
    pub changed: Vec<String>,
    pub unchanged: Vec<String>,
    /// Packages the replaced versions needed and nothing else does, removed after a switch.
    pub orphans: Vec<String>,
}

fn names_of(packages: &[String]) -> Result<Vec<&str>, HostError> {
    let mut names = Vec::new();
    for spec in packages {
        let w = parse(spec)?;
        if w.version.is_some() {
            return Err(HostError::Invalid(format!(
                "`{spec}`: name the package alone, without `=version`; its version comes from the source"
            )));
        }
        if !names.contains(&w.name) {
            names.push(w.name);
        }
    }
    if names.is_empty() {
        return Err(HostError::Invalid("no package name was given".to_owned()));
    }
    Ok(names)
}

/// Upgrades the installed packages of `packages` to the newest version the sources offer
/// (packages installed from backports follow backports), with their dependencies; skips the
/// ones not installed; runs nothing when all are the newest.
pub fn upgrade(exec: &dyn Exec, packages: &[String]) -> Result<SwitchReport, HostError> {
    let names = names_of(packages)?;
    let guard = if exec.plan_mode() {
        None
    } else {
        Some(lock::serialize(exec)?)
    };
    let present = installed_versions(exec, &names)?;
    let specs: Vec<String> = names
        .iter()
        .filter(|n| present.contains_key(**n))
        .map(|n| (*n).to_owned())
        .collect();
    if specs.is_empty() {
        exec.log(
            Stream::Info,
            &format!("Not installed: {}; nothing to upgrade", names.join(", ")),
        );
        return Ok(SwitchReport::default());
    }
    let opts = ["--only-upgrade"];
    let report = change(exec, &opts, &specs, &present)?;
    drop(guard);
    Ok(report)
}

/// Installs each of `packages` at the newest version `from` offers (installing, upgrading or
/// downgrading it), then removes what only the replaced versions needed. Runs nothing when each
/// is already at that version.
pub fn switch(
    exec: &dyn Exec,
    packages: &[String],
    from: Source,
) -> Result<SwitchReport, HostError> {
    let names = names_of(packages)?;
    let guard = if exec.plan_mode() {
        None
    } else {
        Some(lock::serialize(exec)?)
    };
    if from == Source::Backports {
        let enabled = backports::enable(exec)?;
        if enabled.written {
            if guard.is_some() {
                lock::wait_for_dpkg(exec, &[lock::LISTS_LOCK])?;
            }
            run_update(exec)?;
            if exec.plan_mode() {
                exec.note(Change::Note(format!(
                    "Debian's backports ({}) would be added as a package source, from the system's own Debian source and pinned so that only what is asked for comes from it; the versions of {} it offers are known once its package list is downloaded",
                    enabled.suite,
                    names.join(", ")
                )));
                return Ok(SwitchReport::default());
            }
        }
    }
    let present = installed_versions(exec, &names)?;
    let mut specs = Vec::new();
    for name in &names {
        let Some(version) = newest(exec, name, from)? else {
            return Err(HostError::Invalid(format!(
                "No source here offers `{name}` from {}; nothing was changed",
                match from {
                    Source::Distribution => "the distribution",
                    Source::Backports => "Debian's backports",
                }
            )));
        };
        specs.push(format!("{name}={version}"));
    }
    let before = orphans(exec)?;
    let mut report = change(exec, &["--allow-downgrades"], &specs, &present)?;
    if !report.changed.is_empty() {
        if exec.plan_mode() {
            exec.note(Change::Note(
                "Packages only the replaced version needed are removed after the switch (the console names them)".to_owned(),
            ));
        } else {
            let after = orphans(exec)?;
            let new: Vec<String> = after
                .keys()
                .filter(|n| !before.contains_key(*n))
                .cloned()
                .collect();
            if !new.is_empty() {
                exec.log(
                    Stream::Info,
                    &format!(
                        "Only the replaced version needed {}: they go",
                        new.join(", ")
                    ),
                );
                remove_exactly(exec, &new, &after, false)?;
                report.orphans = new;
            }
        }
    }
    drop(guard);
    Ok(report)
}

/// Simulates, then runs, `apt-get install OPTS -- SPECS`; refuses a removal.
fn change(
    exec: &dyn Exec,
    opts: &[&str],
    specs: &[String],
    present: &std::collections::BTreeMap<String, String>,
) -> Result<SwitchReport, HostError> {
    let changes = simulate_with(exec, opts, specs, false)?;
    let removed: Vec<&str> = changes
        .iter()
        .filter(|c| c.action == PackageAction::Remove)
        .map(|c| c.name.as_str())
        .collect();
    if !removed.is_empty() {
        return Err(HostError::Invalid(format!(
            "Changing {} would remove {}; nothing was changed",
            specs.join(", "),
            removed.join(", ")
        )));
    }
    let asked: BTreeSet<&str> = specs
        .iter()
        .map(|s| s.split_once('=').map_or(s.as_str(), |(n, _)| n))
        .collect();
    let mut report = SwitchReport::default();
    for name in &asked {
        match changes.iter().find(|c| c.name == *name) {
            Some(c) => report.changed.push(format!("{name} {}", c.version)),
            None => report.unchanged.push(format!(
                "{name} {}",
                present.get(*name).map_or("", String::as_str)
            )),
        }
    }
    if changes.is_empty() {
        exec.log(
            Stream::Info,
            &format!("Already at that version: {}", report.unchanged.join(", ")),
        );
        return Ok(report);
    }
    if exec.plan_mode() {
        for c in changes {
            exec.note(Change::Package(c));
        }
    } else {
        lock::wait_for_dpkg(exec, &lock::DPKG_LOCKS)?;
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
        ]
        .map(String::from),
    );
    args.extend(opts.iter().map(|o| (*o).to_owned()));
    args.extend(["install", "--"].map(String::from));
    args.extend(specs.iter().cloned());
    exec.exec("apt-get", &args, apt_exec_options())?;
    if !exec.plan_mode() {
        for line in &report.changed {
            exec.log(Stream::Info, &format!("Now installed: {line}"));
        }
    }
    Ok(report)
}

/// The newest version of `name` that `from` offers, from `apt-cache madison` (which lists
/// versions newest first, each with the suite it comes from).
fn newest(exec: &dyn Exec, name: &str, from: Source) -> Result<Option<String>, HostError> {
    let args: Vec<String> = ["madison", "--", name].map(String::from).to_vec();
    let out = exec.query("apt-cache", &args, QUERY_TIMEOUT)?;
    if out.code != 0 {
        let why = out
            .stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(HostError::Invalid(format!(
            "apt-cache could not list the versions of `{name}` (exit code {}: {why}); nothing was changed",
            out.code
        )));
    }
    Ok(parse_madison(&out.stdout, name, from))
}

/// ` NAME | VERSION | URI SUITE/COMPONENT ARCH Packages` lines; a suite ending in `-backports`
/// is backports, any other the distribution.
pub fn parse_madison(stdout: &str, name: &str, from: Source) -> Option<String> {
    stdout.lines().find_map(|line| {
        let mut cols = line.split('|').map(str::trim);
        let (Some(pkg), Some(version), Some(origin)) = (cols.next(), cols.next(), cols.next())
        else {
            return None;
        };
        let suite = origin.split_whitespace().nth(1)?.split('/').next()?;
        let backports = suite.ends_with("-backports");
        let wanted = match from {
            Source::Distribution => !backports,
            Source::Backports => backports,
        };
        (pkg == name && wanted && origin.ends_with("Packages")).then(|| version.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn madison_gives_the_newest_of_each_source() {
        let out = " golang-go | 2:1.23~2~bpo12+1 | http://a/debian bookworm-backports/main amd64 Packages\n \
                    golang-go |   2:1.19~1 | http://a/debian bookworm/main amd64 Packages\n \
                    golang-go |   2:1.19~1 | http://a/debian bookworm/main Sources\n";
        assert_eq!(
            parse_madison(out, "golang-go", Source::Backports).as_deref(),
            Some("2:1.23~2~bpo12+1")
        );
        assert_eq!(
            parse_madison(out, "golang-go", Source::Distribution).as_deref(),
            Some("2:1.19~1")
        );
        assert_eq!(parse_madison(out, "golang-src", Source::Distribution), None);
    }
}
