//! What an install would change, from apt's own simulation: `apt-get -s install` names every
//! package it would install, upgrade or remove (dependencies included), and `apt-cache show`
//! gives each one's download size (`Size`) and installed size (`Installed-Size`, KiB).
//!
//! Both are queries: they read the package lists and dpkg's status and change nothing (`-s`
//! never touches dpkg; `Debug::NoLocking` keeps the simulation from taking apt's lock, so a plan
//! never waits for, or blocks, another program's install).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::HostError;
use crate::exec::Exec;
use crate::summary::{Change, PackageAction, PackageChange};

/// Upper bound for one simulation or `apt-cache show` (they read every package list).
const SIMULATE_TIMEOUT: Duration = Duration::from_secs(120);

/// The packages `apt-get install --no-install-recommends SPECS` would change, with their sizes.
/// When the simulation fails (no package lists yet, an unknown package, a conflict), the
/// packages asked for are listed without sizes, with apt's last words as a note of the plan.
pub fn simulate(exec: &dyn Exec, specs: &[String]) -> Result<Vec<PackageChange>, HostError> {
    simulate_with(exec, &[], specs, true)
}

/// [`simulate`] with more options before `install` (`--only-upgrade`, `--allow-downgrades`).
/// When apt cannot simulate it, `lenient` lists the packages asked for without sizes (with
/// apt's last words as a note); otherwise it is an error naming apt's reason.
pub(super) fn simulate_with(
    exec: &dyn Exec,
    opts: &[&str],
    specs: &[String],
    lenient: bool,
) -> Result<Vec<PackageChange>, HostError> {
    let mut args: Vec<String> = ["-s", "-o", "Debug::NoLocking=1", "--no-install-recommends"]
        .map(String::from)
        .to_vec();
    args.extend(opts.iter().map(|o| (*o).to_owned()));
    args.extend(["install", "--"].map(String::from));
    args.extend(specs.iter().cloned());
    let out = exec.query("apt-get", &args, SIMULATE_TIMEOUT)?;
    let mut changes = if out.code == 0 {
        parse_simulation(&out.stdout)
    } else {
        let last = out
            .stderr
            .lines()
            .chain(out.stdout.lines())
            .rfind(|l| l.starts_with("E:"))
            .unwrap_or("it gave no reason");
        if !lenient {
            return Err(HostError::Invalid(format!(
                "apt-get cannot install {}: {last}; nothing was changed",
                specs.join(", ")
            )));
        }
        exec.note(Change::Note(format!(
            "apt-get could not simulate installing {}: {last}",
            specs.join(", ")
        )));
        Vec::new()
    };
    if changes.is_empty() && !lenient {
        return Ok(changes);
    }
    if changes.is_empty() {
        return Ok(specs.iter().map(|s| without_sizes(s)).collect());
    }
    let mut show: Vec<String> = ["show", "--no-all-versions", "--"]
        .map(String::from)
        .to_vec();
    show.extend(
        changes
            .iter()
            .filter(|c| c.action != PackageAction::Remove)
            .map(|c| format!("{}={}", c.name, c.version)),
    );
    if show.len() > 3 {
        let sizes = parse_sizes(&exec.query("apt-cache", &show, SIMULATE_TIMEOUT)?.stdout);
        for c in &mut changes {
            if let Some((download, installed)) = sizes.get(&(c.name.clone(), c.version.clone())) {
                c.download_bytes = *download;
                c.installed_bytes = *installed;
            }
        }
    }
    Ok(changes)
}

fn without_sizes(spec: &str) -> PackageChange {
    let (name, version) = spec.split_once('=').unwrap_or((spec, ""));
    PackageChange {
        name: name.to_owned(),
        version: version.to_owned(),
        action: PackageAction::Install,
        download_bytes: None,
        installed_bytes: None,
    }
}

/// `Inst NAME [OLD] (NEW REPO [ARCH])` and `Remv NAME [OLD]` lines of `apt-get -s`.
pub fn parse_simulation(stdout: &str) -> Vec<PackageChange> {
    let mut out = Vec::new();
    for line in stdout.lines() {
        let mut words = line.split_whitespace();
        let (Some(verb), Some(name)) = (words.next(), words.next()) else {
            continue;
        };
        let rest: Vec<&str> = words.collect();
        let old = rest
            .first()
            .filter(|w| w.starts_with('['))
            .map(|w| w.trim_matches(|c| c == '[' || c == ']').to_owned());
        let (action, version) = match verb {
            "Inst" => {
                let Some(new) = rest.iter().find(|w| w.starts_with('(')) else {
                    continue;
                };
                let action = if old.is_some() {
                    PackageAction::Upgrade
                } else {
                    PackageAction::Install
                };
                (action, new.trim_start_matches('(').to_owned())
            }
            "Remv" => (PackageAction::Remove, old.unwrap_or_default()),
            _ => continue,
        };
        out.push(PackageChange {
            name: name.to_owned(),
            version,
            action,
            download_bytes: None,
            installed_bytes: None,
        });
    }
    out
}

type Sizes = BTreeMap<(String, String), (Option<u64>, Option<u64>)>;

/// `Package`, `Version`, `Size` (bytes) and `Installed-Size` (KiB) of each `apt-cache show`
/// stanza, first stanza of a version winning.
pub fn parse_sizes(stdout: &str) -> Sizes {
    let mut out = Sizes::new();
    for stanza in stdout.split("\n\n") {
        let field = |name: &str| {
            stanza.lines().find_map(|l| {
                l.strip_prefix(name)
                    .and_then(|v| v.strip_prefix(':'))
                    .map(|v| v.trim().to_owned())
            })
        };
        let (Some(package), Some(version)) = (field("Package"), field("Version")) else {
            continue;
        };
        let download = field("Size").and_then(|v| v.parse().ok());
        let installed = field("Installed-Size")
            .and_then(|v| v.parse::<u64>().ok())
            .map(|kib| kib * 1024);
        out.entry((package, version))
            .or_insert((download, installed));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_installs_upgrades_and_removals_from_apt_get_s() {
        let out = "NOTE: This is only a simulation!\n\
                   Inst libruby3.1 (3.1.2-7+deb12u1 Debian:12.8/stable [amd64])\n\
                   Inst tzdata [2024a-0+deb12u1] (2025b-0+deb12u1 Debian:12.12/stable [all])\n\
                   Remv oldpkg [1.0-1]\n\
                   Conf libruby3.1 (3.1.2-7+deb12u1 Debian:12.8/stable [amd64])\n";
        let got = parse_simulation(out);
        assert_eq!(got.len(), 3);
        assert_eq!(
            (got[0].name.as_str(), got[0].version.as_str(), got[0].action),
            ("libruby3.1", "3.1.2-7+deb12u1", PackageAction::Install)
        );
        assert_eq!(got[1].action, PackageAction::Upgrade);
        assert_eq!(got[1].version, "2025b-0+deb12u1");
        assert_eq!(
            (got[2].name.as_str(), got[2].version.as_str(), got[2].action),
            ("oldpkg", "1.0-1", PackageAction::Remove)
        );
    }

    #[test]
    fn reads_sizes_from_apt_cache_show_with_installed_size_in_kib() {
        let out = "Package: ruby\nVersion: 1:3.1\nInstalled-Size: 30\nSize: 11488\n\n\
                   Package: ruby\nVersion: 1:3.1\nInstalled-Size: 99\nSize: 1\n\n\
                   Package: rake\nVersion: 13.0.6-3\nSize: 65800\n";
        let got = parse_sizes(out);
        assert_eq!(
            got.get(&("ruby".into(), "1:3.1".into())),
            Some(&(Some(11488), Some(30 * 1024)))
        );
        assert_eq!(
            got.get(&("rake".into(), "13.0.6-3".into())),
            Some(&(Some(65800), None))
        );
    }
}
