//! Helpers of the backup recipe tests (`recipe_backup_*.rs`): the cron job run as cron runs
//! it, and a failing `cairn-recipe run`; the target servers, the source tree, the
//! byte-for-byte comparison and the clean slate per provider are `cairn-test-support`'s
//! (re-exported).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;

use super::{cairn, recipe};

#[allow(unused_imports)] // not every test file uses them
pub use cairn_test_support::backup::*;
pub use cairn_test_support::net::free_port;

/// Runs the command of the cron file's job the way cron does (`/bin/sh -c`, an almost empty
/// environment) and returns what it appended to its log file.
pub fn run_as_cron(provider: &str) -> String {
    let cron = std::fs::read_to_string(format!("/etc/cron.d/cairn-backup-{provider}")).unwrap();
    let line = cron
        .lines()
        .find(|l| l.contains(&format!("/usr/local/lib/cairn/backup-{provider} run")))
        .unwrap_or_else(|| panic!("no job line in {cron}"));
    // minute hour day month weekday user command
    let command = line.splitn(7, ' ').nth(6).unwrap();
    let log = format!("/var/log/cairn-backup-{provider}.log");
    let before = std::fs::read_to_string(&log).unwrap_or_default().len();
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .env_clear()
        .env("SHELL", "/bin/sh")
        .env("HOME", "/root")
        .env("LOGNAME", "root")
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        out.status.success(),
        "the cron job failed: {}",
        &text[before..]
    );
    text[before..].to_owned()
}

pub fn mode(path: &str) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .permissions()
        .mode()
        & 0o7777
}

/// `cairn-recipe run RECIPE --param ...`, which must FAIL: its console (stdout, where the
/// `✘ error` line is too) and its stderr.
pub fn run_fails(name: &str, params: &[&str]) -> (String, String) {
    let mut args = vec!["run".to_owned(), recipe(name).display().to_string()];
    super::push_params(&mut args, params);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let start = std::time::Instant::now();
    let out = cairn(&argv);
    let took = start.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "cairn-recipe run {name} {params:?} should have failed:\n{stdout}\n{stderr}"
    );
    eprintln!(
        "cairn-recipe run {name} {params:?} failed as expected in {:.1} s:\n{stdout}",
        took.as_secs_f64()
    );
    (stdout, stderr)
}

/// What every rsync test stands on: openssh-server and rsync (installed if missing) and its test account,
/// a folder under /var/tmp, an sshd on a free loopback port, a source tree to back up, and an
/// empty target folder the account may write. Dropping it stops the sshd, then removes the
/// folder.
pub struct RsyncBed {
    _sshd: cairn_test_support::process::Daemon,
    pub port: u16,
    pub source: std::path::PathBuf,
    /// The source tree's files.
    pub files: Vec<std::path::PathBuf>,
    pub target: std::path::PathBuf,
    pub tmp: tempfile::TempDir,
}

pub fn rsync_bed(prefix: &str) -> RsyncBed {
    // The target is a server of its own in real use: it needs sshd and rsync (what "Test
    // connection" checks), whether or not this machine's backup was set up yet.
    let missing: Vec<&str> = ["openssh-server", "rsync"]
        .into_iter()
        .filter(|p| !cairn_test_support::apt::dpkg_installed(p))
        .collect();
    if !missing.is_empty() {
        let mut args = vec!["install", "-y", "--no-install-recommends"];
        args.extend(missing);
        cairn_test_support::apt::apt_get(&args);
    }
    ensure_ssh_user();
    let tmp = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/var/tmp")
        .unwrap();
    let port = free_port();
    let sshd = start_sshd(tmp.path(), port);
    let source = tmp.path().join("source");
    let files = source_tree(&source);
    let target = tmp.path().join("target");
    ssh_target_dir(&target);
    RsyncBed {
        _sshd: sshd,
        port,
        source,
        files,
        target,
        tmp,
    }
}

/// Configures backup `name` with `params` (which runs no backup: it says the first one is due)
/// and then runs its first backup and restore test, `first_backup`, as the control plane does
/// after such a configure. Returns the first backup's run.
pub fn configure_and_prove(name: &str, params: &[&str]) -> super::Run {
    let configured = super::run(name, params);
    assert_eq!(
        configured.result["first_backup_due"], true,
        "{}",
        configured.stdout
    );
    super::run(name, &["action=first_backup"])
}
