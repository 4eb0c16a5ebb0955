//! This machine's Debian packages, for the tests that install some for real (as root): whether
//! one is installed, and apt-get run for the test's own setup, waiting for another package
//! manager (other work on the machine installs packages too) instead of failing.

use crate::process::{must, sh};

/// Whether dpkg has `package` installed.
pub fn dpkg_installed(package: &str) -> bool {
    sh("dpkg-query", &["-W", "-f", "${Status}", package])
        .1
        .ends_with(" installed")
}

/// apt-get with `args`, waiting up to five minutes for dpkg's lock; fails the test when it
/// fails. Returns its output.
pub fn apt_get(args: &[&str]) -> String {
    let mut all = vec!["-o", "DPkg::Lock::Timeout=300"];
    all.extend_from_slice(args);
    must("apt-get", &all)
}

/// Purges those of `packages` that are installed, so that installing them is real (and
/// nothing else: no autoremove, which could take packages other work on this machine relies
/// on). Asserts they are gone.
pub fn purge(packages: &[&str]) {
    let present: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| dpkg_installed(p))
        .collect();
    if !present.is_empty() {
        let mut args = vec!["purge", "-y", "-q", "--"];
        args.extend(&present);
        apt_get(&args);
    }
    for p in present {
        assert!(!dpkg_installed(p), "{p} is still installed");
    }
}
