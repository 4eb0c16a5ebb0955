//! A real Debian 11 ("bullseye") system for tests: `cairn-recipe test`'s own fresh system
//! ([`cairn_recipe::system`]: a copy of the cached debootstrap root with `/proc` and `/sys`
//! mounted in namespaces of its own, entered with `chroot`, its apt archive cache shared with
//! every other copy), with what the tests ask of it: `bash` scripts whose output they read, as
//! root or another user, killed after 10 minutes. Processes started inside are ordinary
//! processes of this host whose root is the copy; on drop every one of them is killed and the
//! copy is removed.
//!
//! Needs root. The glibc 2.31 binaries that run inside come from
//! `scripts/build-agent-glibc231` ([`glibc231_bin`]).

use std::ops::Deref;
use std::path::PathBuf;
use std::process::Output;

use cairn_recipe::system::{Inside, Setup, System};
pub use cairn_test_support::process::is_root;

use crate::repo_root;

/// `target/x86_64-unknown-linux-gnu/debug/NAME`, built for glibc 2.31 by
/// `scripts/build-agent-glibc231` (`scripts/test` runs it first). Panics with that advice when
/// the file is missing.
pub fn glibc231_bin(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    let path = target.join("x86_64-unknown-linux-gnu/debug").join(name);
    assert!(
        path.is_file(),
        "{} does not exist: build it with scripts/build-agent-glibc231 (scripts/test does)",
        path.display()
    );
    path
}

/// One fresh Debian 11 system; [`System`]'s methods (`path`, `processes`, `kill_all`, `root`)
/// through `Deref`.
#[derive(Debug)]
pub struct Debian11(System);

/// What a command inside printed, and how it ended.
#[derive(Debug)]
pub struct Run {
    pub ok: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Self {
        Self {
            ok: out.status.success(),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// stdout and stderr, for assertion messages.
    pub fn text(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// The copies' names in the temporary folder.
const PREFIX: &str = "cairn-debian11-";

impl Debian11 {
    /// A fresh copy (the cached archive is built first if needed) sharing this host's network.
    pub fn create() -> Self {
        Self::with(false, false)
    }

    /// A fresh copy; `own_network`: a network namespace of its own for
    /// [`bash_isolated`](Self::bash_isolated); `cgroups`: this host's cgroup hierarchies bound
    /// at `/sys/fs/cgroup` (the fresh `/sys` has none), for a daemon that needs them (dockerd).
    pub fn with(own_network: bool, cgroups: bool) -> Self {
        let setup = Setup {
            release: 11,
            own_network,
            cgroups,
            prefix: PREFIX,
        };
        Self(System::create(&setup).unwrap_or_else(|e| panic!("{e:#}")))
    }

    /// Runs `bash -c script` inside as `user` (`None`: root; else `UID:GID`), with a clean
    /// environment, killed after 10 minutes. It shares this host's network.
    pub fn bash(&self, user: Option<&str>, script: &str) -> Run {
        self.bash_in(
            Inside {
                user,
                ..Inside::default()
            },
            script,
        )
    }

    /// [`bash`](Self::bash) in the system's own network ([`with`](Self::with)): daemons inside
    /// listen on their own 127.0.0.1, so a server this host already runs on the same port
    /// (Redis on 6379, …) neither answers for them nor blocks them. No other network: packages
    /// must be downloaded before (`apt-get -d`).
    pub fn bash_isolated(&self, script: &str) -> Run {
        assert!(
            self.0.own_network(),
            "bash_isolated needs a system made with its own network"
        );
        self.bash_in(
            Inside {
                own_network: true,
                ..Inside::default()
            },
            script,
        )
    }

    fn bash_in(&self, how: Inside<'_>, script: &str) -> Run {
        let how = Inside {
            timeout_secs: Some(600),
            ..how
        };
        let args = ["-c".to_owned(), script.to_owned()];
        Run::from(
            self.0
                .command(how, "bash", &args)
                .output()
                .expect("run chroot"),
        )
    }

    /// The processes inside whose command line contains `needle`.
    pub fn processes_matching(&self, needle: &str) -> Vec<(u32, String)> {
        self.processes()
            .into_iter()
            .filter(|(_, c)| c.contains(needle))
            .collect()
    }
}

impl Deref for Debian11 {
    type Target = System;

    fn deref(&self) -> &System {
        &self.0
    }
}
