//! A real Debian 11 ("bullseye") system for tests: a fresh copy of the root file system that
//! `scripts/debian11-root` makes once with debootstrap (and caches), with `/proc` and `/sys`
//! mounted, entered with `chroot`. Processes started inside are ordinary processes of this
//! host whose root is the copy; on drop every one of them is killed, the file systems are
//! unmounted and the copy is removed (`rm --one-file-system`, so nothing mounted is touched).
//!
//! Needs root. The glibc 2.31 binaries that run inside come from
//! `scripts/build-agent-glibc231` ([`glibc231_bin`]).

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub use cairn_test_support::process::is_root;

use crate::repo_root;

/// PATH inside the system, as a root login shell has it.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

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

/// One fresh Debian 11 system.
#[derive(Debug)]
pub struct Debian11 {
    pub root: PathBuf,
    mounts: Vec<PathBuf>,
    /// The named network namespace (`ip netns`) of [`bash_isolated`](Self::bash_isolated).
    netns: Option<String>,
}

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

impl Debian11 {
    /// Extracts a fresh copy (building the cached archive first if needed) in the temp directory and
    /// mounts /proc and /sys (read-only) in it.
    pub fn create() -> Self {
        let root = std::env::temp_dir().join(format!(
            "cairn-debian11-{}-{}",
            std::process::id(),
            unique()
        ));
        let out = Command::new(repo_root().join("scripts/debian11-root"))
            .arg(&root)
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/debian11-root");
        assert!(
            out.status.success(),
            "scripts/debian11-root failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut me = Self {
            root,
            mounts: Vec::new(),
            netns: None,
        };
        me.mount(&["-t", "proc", "proc"], "proc");
        me.mount(&["-t", "sysfs", "-o", "ro", "sysfs"], "sys");
        me
    }

    fn mount(&mut self, args: &[&str], at: &str) {
        let target = self.root.join(at);
        let ok = Command::new("mount")
            .args(args)
            .arg(&target)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "could not mount {}", target.display());
        self.mounts.push(target);
    }

    /// Binds this host's `/sys/fs/cgroup`, with every hierarchy mounted under it, at the same
    /// place inside (the fresh `/sys` has none), for a daemon that needs cgroups (dockerd). Made
    /// a slave first, so unmounting it on drop never propagates back to the host's.
    pub fn bind_cgroups(&mut self) {
        self.mount(&["--rbind", "/sys/fs/cgroup"], "sys/fs/cgroup");
        let target = self.root.join("sys/fs/cgroup");
        let ok = Command::new("mount")
            .arg("--make-rslave")
            .arg(&target)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "could not make {} a slave mount", target.display());
    }

    /// A path inside the system (`/usr/local/bin/cairn-agent` → `<root>/usr/local/bin/…`).
    pub fn path(&self, inside: &str) -> PathBuf {
        self.root.join(inside.trim_start_matches('/'))
    }

    /// Runs `bash -c script` inside as `user` (`None`: root; else `UID:GID`), with a clean
    /// environment, killed after 10 minutes. It shares this host's network.
    pub fn bash(&self, user: Option<&str>, script: &str) -> Run {
        self.bash_in(user, script, false)
    }

    /// Gives [`bash_isolated`](Self::bash_isolated) a network namespace of its own, named
    /// (`ip netns add`, loopback up) so every call enters the same one; deleted on drop.
    pub fn own_network(&mut self) {
        let name = format!("cairn-d11-{}-{}", std::process::id(), unique() % 1_000_000);
        for args in [
            vec!["netns", "add", &name],
            vec!["-n", &name, "link", "set", "lo", "up"],
        ] {
            let ok = Command::new("ip")
                .args(&args)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "ip {args:?} failed");
        }
        self.netns = Some(name);
    }

    /// [`bash`](Self::bash) in the network namespace of [`own_network`](Self::own_network):
    /// daemons inside listen on their own 127.0.0.1, so a server this host already runs on the
    /// same port (Redis on 6379, …) neither answers for them nor blocks them. No other
    /// network: packages must be downloaded before (`apt-get -d`).
    pub fn bash_isolated(&self, script: &str) -> Run {
        self.bash_in(None, script, true)
    }

    fn bash_in(&self, user: Option<&str>, script: &str, own_network: bool) -> Run {
        let mut cmd = Command::new("timeout");
        cmd.arg("600");
        if own_network {
            let name = self.netns.as_ref().expect("own_network() first");
            cmd.arg("nsenter").arg(format!("--net=/run/netns/{name}"));
        }
        cmd.arg("chroot");
        if let Some(u) = user {
            cmd.arg(format!("--userspec={u}"));
        }
        cmd.arg(&self.root)
            .args(["bash", "-c", script])
            .env_clear()
            .env("PATH", PATH)
            .env("HOME", if user.is_some() { "/tmp" } else { "/root" })
            .env("LANG", "C.UTF-8")
            .current_dir("/")
            .stdin(Stdio::null());
        Run::from(cmd.output().expect("run chroot"))
    }

    /// `(pid, command line)` of every process whose root is this system.
    pub fn processes(&self) -> Vec<(u32, String)> {
        let Ok(root) = self.root.canonicalize() else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if std::fs::read_link(entry.path().join("root"))
                .ok()
                .as_deref()
                == Some(&*root)
            {
                let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
                let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                found.push((pid, cmdline.trim().to_owned()));
            }
        }
        found
    }

    /// The processes inside whose command line contains `needle`.
    pub fn processes_matching(&self, needle: &str) -> Vec<(u32, String)> {
        self.processes()
            .into_iter()
            .filter(|(_, c)| c.contains(needle))
            .collect()
    }

    /// SIGKILLs every process inside until none is left (at most 10 s).
    pub fn kill_all(&self) {
        let start = Instant::now();
        loop {
            let left = self.processes();
            if left.is_empty() || start.elapsed() > Duration::from_secs(10) {
                return;
            }
            for (pid, _) in left {
                let _ = Command::new("kill")
                    .args(["-9", &pid.to_string()])
                    .stderr(Stdio::null())
                    .status();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Debian11 {
    fn drop(&mut self) {
        self.kill_all();
        if let Some(name) = self.netns.take() {
            let _ = Command::new("ip").args(["netns", "delete", &name]).status();
        }
        let mut all_unmounted = true;
        for m in self.mounts.iter().rev() {
            // -R: the cgroup bind (bind_cgroups) has a mount per hierarchy below it.
            let ok = Command::new("umount")
                .arg("-R")
                .arg(m)
                .status()
                .is_ok_and(|s| s.success())
                || Command::new("umount")
                    .arg("-l")
                    .arg(m)
                    .status()
                    .is_ok_and(|s| s.success());
            all_unmounted &= ok;
        }
        if all_unmounted {
            let _ = Command::new("rm")
                .args(["-rf", "--one-file-system"])
                .arg(&self.root)
                .status();
        } else {
            eprintln!(
                "left {} in place: a file system inside could not be unmounted",
                self.root.display()
            );
        }
    }
}

fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}
