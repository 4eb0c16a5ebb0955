//! Programs a test runs itself, outside Cairn: its setup (apt-get, useradd, ssh-keygen), the
//! checks it makes with a program's own output, daemons it starts, and helpers holding a lock.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Whether the tests run as root: installing packages, writing /etc, chroot and mounts need it,
/// and the tests that do so skip (saying why) or fail (saying so) without it.
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// A program's combined stdout and stderr, and whether it succeeded. Panics when it does not
/// start at all.
pub fn sh(program: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(program)
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .unwrap_or_else(|e| panic!("{program} does not start: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Runs `program args` for the test's own setup (stdin empty, `DEBIAN_FRONTEND=noninteractive`
/// so a package never asks a question), failing the test when it fails; returns its stdout and
/// stderr.
pub fn must(program: &str, args: &[&str]) -> String {
    let (ok, out) = sh(program, args);
    assert!(ok, "`{program} {}` failed: {out}", args.join(" "));
    out
}

/// A child process killed (and reaped) when the test ends, however it ends.
#[derive(Debug)]
pub struct Daemon(pub Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `python3 -c script args…`, a helper that takes a lock (dpkg's, SQLite's), prints
/// `locked` and holds it, and returns once it holds it. Its stdin is a pipe, so a script that
/// reads stdin lets go when the test drops `child.stdin`; the caller waits for or kills it.
pub fn hold_lock<S: AsRef<OsStr>>(script: &str, args: &[S]) -> Child {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("its stdout"))
        .read_line(&mut first)
        .expect("python3's output");
    assert_eq!(first.trim(), "locked", "the helper could not take its lock");
    child
}
