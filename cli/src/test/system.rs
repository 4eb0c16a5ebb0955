//! A fresh Debian system for `cairn-recipe test`: a copy of the root file system that
//! `scripts/debian-root` makes once with debootstrap and caches (the Debian 11 suite's own
//! script, built into this binary), entered with `chroot`.
//!
//! Its `/proc` and `/sys` are mounted in a mount namespace of its own (and, for a recipe that
//! declares services, it gets a network namespace of its own), both held by one `unshare`
//! process that every command enters with `nsenter`. Nothing is ever mounted in this host's
//! namespace, so no exit path (an error, Ctrl-C, a kill) can leave a mount behind: the kernel
//! drops the namespace's mounts with its last process. On drop every process inside is killed,
//! the holder ends and the copy is removed.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The script that makes and caches the root file system (`scripts/debian-root`).
const DEBIAN_ROOT: &str = include_str!("../../../scripts/debian-root");

/// The copies' names in the temporary folder: `PREFIX<pid>-<nanoseconds>`.
const PREFIX: &str = "cairn-recipe-test-";

/// PATH inside, as a root login shell has it.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// One fresh system.
#[derive(Debug)]
pub struct System {
    pub root: PathBuf,
    holder: Child,
    /// The holder's stdin: closing it ends the holder.
    holder_in: Option<ChildStdin>,
    own_network: bool,
}

impl System {
    /// Extracts a fresh copy of Debian `release` (11 or 12; the archive is made first if it is
    /// not cached) and starts the namespaces' holder.
    pub fn create(release: u8, own_network: bool) -> anyhow::Result<Self> {
        sweep();
        let root = std::env::temp_dir().join(format!(
            "{PREFIX}{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        let out = Command::new("bash")
            .args(["-c", DEBIAN_ROOT, "debian-root", "--debian"])
            .arg(release.to_string())
            .arg(&root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .output()
            .context("could not start bash to make the Debian root file system")?;
        if !out.status.success() {
            let _ = remove(&root);
            bail!(
                "making a fresh Debian {release} system failed (the lines above say why); \
                 nothing else was done"
            );
        }
        // Entered through `$1`, never spliced into the script.
        let mut script = String::from(
            "set -e; mount -t proc proc \"$1/proc\"; mount -t sysfs -o ro sysfs \"$1/sys\";",
        );
        let mut unshare = Command::new("unshare");
        unshare.args(["--mount", "--propagation", "private"]);
        if own_network {
            unshare.arg("--net");
            script.push_str(" ip link set lo up;");
        }
        script.push_str(" echo ready; read _ || true");
        let mut holder = unshare
            .args(["--", "sh", "-c", &script, "holder"])
            .arg(&root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("could not start unshare (util-linux) for the test system's namespaces")?;
        let holder_in = holder.stdin.take();
        let mut me = Self {
            root,
            holder,
            holder_in,
            own_network,
        };
        let mut line = String::new();
        if let Some(out) = me.holder.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        if line.trim() != "ready" {
            bail!(
                "could not mount /proc and /sys in the test system at {} (see above)",
                me.root.display()
            );
        }
        Ok(me)
    }

    /// A path inside (`/root/x` → `<root>/root/x`).
    pub fn path(&self, inside: &str) -> PathBuf {
        self.root.join(inside.trim_start_matches('/'))
    }

    /// `program args` inside, as root with a clean environment; `network`: with the system's
    /// own network (when it has one) or this host's (for downloads).
    fn command(&self, own_network: bool, program: &str, args: &[String]) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--target={}", self.holder.id()))
            .arg("--mount");
        if own_network && self.own_network {
            cmd.arg("--net");
        }
        cmd.arg("--")
            .arg("chroot")
            .arg(&self.root)
            .arg(program)
            .args(args)
            .env_clear()
            .env("PATH", PATH)
            .env("HOME", "/root")
            .env("LANG", "C.UTF-8")
            .current_dir("/")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs a command inside and returns what it printed.
    pub fn output(&self, program: &str, args: &[String]) -> anyhow::Result<Output> {
        self.command(true, program, args)
            .output()
            .with_context(|| format!("could not run {program} in the test system"))
    }

    /// Runs a command inside with its output on this terminal; whether it succeeded.
    pub fn shown(&self, program: &str, args: &[String]) -> anyhow::Result<bool> {
        Ok(self
            .command(true, program, args)
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .status()
            .with_context(|| format!("could not run {program} in the test system"))?
            .success())
    }

    /// Runs a command inside with this host's network (the system's own has none), output on
    /// this terminal; whether it succeeded.
    pub fn shown_online(&self, program: &str, args: &[String]) -> anyhow::Result<bool> {
        Ok(self
            .command(false, program, args)
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .status()
            .with_context(|| format!("could not run {program} in the test system"))?
            .success())
    }

    pub fn own_network(&self) -> bool {
        self.own_network
    }

    /// SIGKILLs every process inside (daemons a recipe started) until none is left.
    fn kill_all(&self) {
        kill_all(&self.root);
    }
}

/// Removes the systems that runs killed before they could clean up (Ctrl-C kills this
/// process with its children): a copy whose pid is gone, with every process still inside it.
fn sweep() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let root = entry.path();
        eprintln!(
            "cairn-recipe test: removing {}, left by a test that was interrupted",
            root.display()
        );
        kill_all(&root);
        let _ = remove(&root);
    }
}

/// The pids of every process whose root is `root`.
fn processes(root: &Path) -> Vec<u32> {
    let Ok(root) = root.canonicalize() else {
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
            found.push(pid);
        }
    }
    found
}

/// SIGKILLs every process whose root is `root` until none is left (at most 10 s).
fn kill_all(root: &Path) {
    let start = Instant::now();
    loop {
        let left = processes(root);
        if left.is_empty() || start.elapsed() > Duration::from_secs(10) {
            return;
        }
        for pid in left {
            let _ = Command::new("kill")
                .args(["-9", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Drop for System {
    fn drop(&mut self) {
        self.kill_all();
        if let Some(mut stdin) = self.holder_in.take() {
            let _ = stdin.write_all(b"\n");
        }
        let _ = self.holder.kill();
        let _ = self.holder.wait();
        if let Err(e) = remove(&self.root) {
            eprintln!(
                "could not remove the test system at {}: {e:#}; remove it with rm -rf --one-file-system",
                self.root.display()
            );
        }
    }
}

/// Removes a test system's copy; `--one-file-system` keeps out of anything mounted there.
fn remove(root: &Path) -> anyhow::Result<()> {
    if !root.exists() {
        return Ok(());
    }
    let ok = Command::new("rm")
        .args(["-rf", "--one-file-system"])
        .arg(root)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        bail!("rm failed");
    }
    Ok(())
}
