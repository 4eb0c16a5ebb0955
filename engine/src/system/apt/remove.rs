//! Removing Debian packages exactly as asked: apt's simulation is read first, and a removal
//! that would take a package installed on purpose with it (it depends on what goes) is refused,
//! naming it, before anything runs; packages apt installed only as dependencies that depend on
//! what goes (Ruby's own libraries, for `ruby`) go with it, named. The dependencies only the removed packages needed (the
//! orphans the removal makes) go with them and are named; orphans that were there before are
//! left alone, since something else on the server may have left them on purpose.
//!
//! The set is computed from three simulations (queries, no lock taken):
//! `apt-get -s remove PKGS` (what removing them breaks), `apt-get -s autoremove` (orphans now) and
//! `apt-get -s remove --autoremove PKGS` (orphans after), then checked once more as the exact
//! command that runs: `apt-get remove -y -- PKGS NEW_ORPHANS`.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::HostError;
use crate::event::Stream;
use crate::exec::Exec;
use crate::summary::{Change, PackageAction, PackageChange};

use super::simulate::parse_simulation;
use super::{apt_exec_options, apt_options, installed_versions, lock, parse};

/// Upper bound for one simulation (it reads every package list).
const SIMULATE_TIMEOUT: Duration = Duration::from_secs(120);

/// What [`remove`] found and did. In plan mode, `removed` and `orphans` list what would go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoveReport {
    /// Packages asked for that were removed.
    pub removed: Vec<String>,
    /// Packages installed only as dependencies that go with them: those that depend on them
    /// (nothing installed on purpose does), then those only they needed.
    pub orphans: Vec<String>,
    /// Packages asked for that were not installed.
    pub not_installed: Vec<String>,
}

impl RemoveReport {
    /// Whether anything was (or, planning, would be) removed.
    pub fn changed(&self) -> bool {
        !self.removed.is_empty()
    }
}

/// Removes the installed packages of `packages` (names only, no `=version`) and the dependencies
/// that only they needed, with `apt-get remove -y`. Refuses, removing nothing, when apt would
/// also remove a package that was not asked for; runs nothing when none of them is installed.
pub fn remove(exec: &dyn Exec, packages: &[String]) -> Result<RemoveReport, HostError> {
    remove_as(exec, packages, false)
}

/// [`remove`], with `apt-get purge -y`: the same set goes, and with it the configuration files
/// dpkg knows of and its record of them (so installing again brings the package's own back;
/// after a plain removal dpkg keeps a deleted configuration file deleted). The packages' own
/// purge scripts run.
pub fn purge(exec: &dyn Exec, packages: &[String]) -> Result<RemoveReport, HostError> {
    remove_as(exec, packages, true)
}

fn remove_as(exec: &dyn Exec, packages: &[String], purge: bool) -> Result<RemoveReport, HostError> {
    let mut names: Vec<&str> = Vec::with_capacity(packages.len());
    for spec in packages {
        let w = parse(spec)?;
        if w.version.is_some() {
            return Err(HostError::Invalid(format!(
                "apt_remove(): `{spec}`: name a package to remove by its name alone, without `=version`"
            )));
        }
        if !names.contains(&w.name) {
            names.push(w.name);
        }
    }
    if names.is_empty() {
        return Err(HostError::Invalid(
            "apt_remove() was called without any package name".to_owned(),
        ));
    }

    // Taken before looking at what is installed, like install(): two jobs removing the same
    // package one after the other, the second finds nothing to do.
    let guard = if exec.plan_mode() {
        None
    } else {
        Some(lock::serialize(exec)?)
    };

    let present = installed_versions(exec, &names)?;
    let mut report = RemoveReport::default();
    let asked: Vec<String> = names
        .iter()
        .filter(|n| present.contains_key(**n))
        .map(|n| (*n).to_owned())
        .collect();
    report.not_installed = names
        .iter()
        .filter(|n| !present.contains_key(**n))
        .map(|n| (*n).to_owned())
        .collect();
    if asked.is_empty() {
        exec.log(
            Stream::Info,
            &format!(
                "Not installed: {}; nothing to remove",
                report.not_installed.join(", ")
            ),
        );
        return Ok(report);
    }
    if !report.not_installed.is_empty() {
        exec.log(
            Stream::Info,
            &format!("Not installed: {}", report.not_installed.join(", ")),
        );
    }

    let breaks = simulate(exec, &["remove"], &asked)?;
    // What breaks with them: refused when any of it was installed on purpose (marked manual);
    // packages apt installed only as dependencies go with them, named. A manual package that
    // needs one of those through a chain breaks too, so it is in `breaks` and refuses.
    let dependents: Vec<String> = breaks
        .keys()
        .filter(|n| !asked.contains(n))
        .cloned()
        .collect();
    let auto = auto_installed(exec, &dependents)?;
    let manual: Vec<&str> = dependents
        .iter()
        .filter(|n| !auto.contains(*n))
        .map(String::as_str)
        .collect();
    if !manual.is_empty() {
        return Err(HostError::Invalid(format!(
            "Removing {} would also remove {}, which depend{} on it; nothing was removed. Remove {} first, or keep {}.",
            asked.join(", "),
            manual.join(", "),
            if manual.len() == 1 { "s" } else { "" },
            if manual.len() == 1 { "it" } else { "them" },
            asked.join(", "),
        )));
    }
    let before = orphans(exec)?;
    let after = simulate(exec, &["remove", "--autoremove"], &asked)?;
    let orphans: Vec<String> = after
        .keys()
        .filter(|n| !asked.contains(n) && !before.contains_key(*n) && !dependents.contains(n))
        .cloned()
        .collect();
    let mut orphans = orphans;
    if !dependents.is_empty() {
        exec.log(
            Stream::Info,
            &format!(
                "{} depend on {} and were installed only as dependencies: they go too",
                dependents.join(", "),
                asked.join(", ")
            ),
        );
        orphans.splice(0..0, dependents.iter().cloned());
    }

    if !orphans.is_empty() {
        exec.log(
            Stream::Info,
            &format!(
                "Only {} needed {}: they go too",
                asked.join(", "),
                orphans.join(", ")
            ),
        );
    }
    let mut all = asked.clone();
    all.extend(orphans.iter().cloned());
    remove_exactly(exec, &all, &present, purge)?;
    report.removed = asked;
    report.orphans = orphans;
    drop(guard);
    Ok(report)
}

/// Which of `names` apt installed as dependencies (`apt-mark showauto`).
fn auto_installed(exec: &dyn Exec, names: &[String]) -> Result<Vec<String>, HostError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut args = vec!["showauto".to_owned(), "--".to_owned()];
    args.extend(names.iter().cloned());
    let out = exec.query("apt-mark", &args, SIMULATE_TIMEOUT)?;
    Ok(out
        .stdout
        .lines()
        .map(|l| l.trim().split(':').next().unwrap_or_default().to_owned())
        .filter(|n| names.contains(n))
        .collect())
}

/// The packages `apt-get autoremove` would remove now (installed as dependencies, needed by
/// nothing installed any more), with their versions.
pub(super) fn orphans(exec: &dyn Exec) -> Result<BTreeMap<String, String>, HostError> {
    simulate(exec, &["autoremove"], &[])
}

/// Removes exactly `all` (`apt-get remove -y -- ALL`, or `purge`), after a simulation of that
/// command that must remove nothing else (refused otherwise, with nothing removed). In plan mode
/// each package is noted as going and the command recorded. The caller holds Cairn's package
/// lock.
pub(super) fn remove_exactly(
    exec: &dyn Exec,
    all: &[String],
    present: &BTreeMap<String, String>,
    purge: bool,
) -> Result<(), HostError> {
    let exact = simulate(exec, &["remove"], all)?;
    let extra: Vec<&str> = exact
        .keys()
        .filter(|n| !all.contains(n))
        .map(String::as_str)
        .collect();
    if !extra.is_empty() {
        return Err(HostError::Invalid(format!(
            "Removing {} would also remove {}, which were not asked for; nothing was removed.",
            all.join(", "),
            extra.join(", ")
        )));
    }
    let versions = |n: &str| {
        exact
            .get(n)
            .cloned()
            .or_else(|| present.get(n).cloned())
            .unwrap_or_default()
    };
    if exec.plan_mode() {
        for name in all {
            exec.note(Change::Package(PackageChange {
                name: name.clone(),
                version: versions(name),
                action: PackageAction::Remove,
                download_bytes: None,
                installed_bytes: None,
            }));
        }
    } else {
        lock::wait_for_dpkg(exec, &lock::DPKG_LOCKS)?;
    }
    let mut args = apt_options();
    let verb = if purge { "purge" } else { "remove" };
    args.extend(["-y", verb, "--"].map(String::from));
    args.extend(all.iter().cloned());
    exec.exec("apt-get", &args, apt_exec_options())?;

    if !exec.plan_mode() {
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let left = installed_versions(exec, &refs)?;
        if let Some(name) = left.keys().next() {
            return Err(HostError::Invalid(format!(
                "apt-get reported success but the package `{name}` is still installed; see apt-get's output above"
            )));
        }
        for name in all {
            let done = if purge { "Purged" } else { "Removed" };
            exec.log(Stream::Info, &format!("{done} {name} {}", versions(name)));
        }
    }
    Ok(())
}

/// The packages `apt-get -s VERB… -- PACKAGES` would remove, with their installed versions.
fn simulate(
    exec: &dyn Exec,
    verb: &[&str],
    packages: &[String],
) -> Result<BTreeMap<String, String>, HostError> {
    let mut args: Vec<String> = ["-s", "-o", "Debug::NoLocking=1"]
        .map(String::from)
        .to_vec();
    args.extend(verb.iter().map(|v| (*v).to_owned()));
    if !packages.is_empty() {
        args.push("--".to_owned());
        args.extend(packages.iter().cloned());
    }
    let out = exec.query("apt-get", &args, SIMULATE_TIMEOUT)?;
    if out.code != 0 {
        let last = out
            .stderr
            .lines()
            .chain(out.stdout.lines())
            .rfind(|l| l.starts_with("E:"))
            .unwrap_or("it gave no reason");
        return Err(HostError::Invalid(format!(
            "apt-get could not work out what removing {} takes: {last}; nothing was removed",
            if packages.is_empty() {
                "unused packages".to_owned()
            } else {
                packages.join(", ")
            }
        )));
    }
    Ok(parse_simulation(&out.stdout)
        .into_iter()
        .filter(|c| c.action == PackageAction::Remove)
        .map(|c| (c.name, c.version))
        .collect())
}
