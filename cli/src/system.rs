//! A fresh Debian system, for `cairn-recipe test` and for the workspace's own tests (the Debian
//! 11 suite and `tests/`'s end-to-end tests use it through `cairn_e2e::debian11`): a copy of the
//! root file system that `scripts/debian-root` makes once with debootstrap and caches (built
//! into this binary), entered with `chroot`.
//!
//! Its `/proc` and `/sys` are mounted in a mount namespace of its own (and, when asked, it gets
//! a network namespace of its own), both held by one `unshare` process that every command
//! enters with `nsenter`. Nothing is ever mounted in this host's namespace, so no exit path (an
//! error, Ctrl-C, a kill) can leave a mount behind: the kernel drops the namespace's mounts
//! with its last process. On drop every process inside is killed, the holder ends and the copy
//! is removed.
//!
//! Every copy of one release shares one apt archive cache on this host
//! (`$CAIRN_TEST_CACHE/apt/<release>`, default `/var/cache/cairn-test/apt/bullseye`), bound at
//! the copy's `/var/cache/apt/archives`: a package is downloaded once, and apt checks every
//! cached `.deb` against the copy's own package lists before it installs it, as it does for one
//! it downloads. Only the `.deb`s are shared: the package lists stay each copy's own (a recipe
//! that adds a repository changes them), and apt's lock in that folder keeps two copies'
//! downloads apart. `rm -rf /var/cache/cairn-test/apt` empties it.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The script that makes and caches the root file system (`scripts/debian-root`).
const DEBIAN_ROOT: &str = include_str!("../../scripts/debian-root");

/// PATH inside, as a root login shell has it.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What a fresh system is made with.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    /// Debian 11 or 12.
    pub release: u8,
    /// A network namespace of its own (loopback only), entered by the commands that ask for it.
    pub own_network: bool,
    /// This host's `/sys/fs/cgroup`, every hierarchy under it, bound at the same place inside
    /// (the fresh `/sys` has none), for a daemon that needs cgroups (dockerd).
    pub cgroups: bool,
    /// The copy's name in the temporary folder: `PREFIX<pid>-<nanoseconds>`; copies with this
    /// prefix whose process is gone are removed first.
    pub prefix: &'static str,
}

/// How a command runs inside.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inside<'a> {
    /// In the system's own network (when it has one); else with this host's (for downloads).
    pub own_network: bool,
    /// `UID:GID` to run as (`chroot --userspec`; HOME is then `/tmp`); `None`: root.
    pub user: Option<&'a str>,
    /// Killed (`timeout`) after this many seconds.
    pub timeout_secs: Option<u32>,
}

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
    /// Extracts a fresh copy of Debian `setup.release` (the archive is made first if it is not
    /// cached) and starts the namespaces' holder.
    pub fn create(setup: &Setup) -> anyhow::Result<Self> {
        let release = setup.release;
        sweep(setup.prefix);
        let root = std::env::temp_dir().join(format!(
            "{}{}-{}",
            setup.prefix,
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
        let archives = match apt_cache(&root, release) {
            Ok(dir) => dir,
            Err(e) => {
                let _ = remove(&root);
                return Err(e);
            }
        };
        // Entered through `$1` and `$2`, never spliced into the script.
        let mut script = String::from(
            "set -e; mount -t proc proc \"$1/proc\"; mount -t sysfs -o ro sysfs \"$1/sys\";",
        );
        if setup.cgroups {
            script.push_str(" mount --rbind /sys/fs/cgroup \"$1/sys/fs/cgroup\";");
        }
        script.push_str(" mount --bind \"$2\" \"$1/var/cache/apt/archives\";");
        let mut unshare = Command::new("unshare");
        unshare.args(["--mount", "--propagation", "private"]);
        if setup.own_network {
            unshare.arg("--net");
            script.push_str(" ip link set lo up;");
        }
        script.push_str(" echo ready; read _ || true");
        let mut holder = unshare
            .args(["--", "sh", "-c", &script, "holder"])
            .arg(&root)
            .arg(&archives)
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
            own_network: setup.own_network,
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

    /// Whether it has a network namespace of its own.
    pub fn own_network(&self) -> bool {
        self.own_network
    }

    /// `program args` inside, with a clean environment, as `how` says.
    pub fn command(&self, how: Inside<'_>, program: &str, args: &[String]) -> Command {
        let mut cmd = match how.timeout_secs {
            Some(secs) => {
                let mut t = Command::new("timeout");
                t.arg(secs.to_string()).arg("nsenter");
                t
            }
            None => Command::new("nsenter"),
        };
        cmd.arg(format!("--target={}", self.holder.id()))
            .arg("--mount");
        if how.own_network && self.own_network {
            cmd.arg("--net");
        }
        cmd.arg("--").arg("chroot");
        if let Some(u) = how.user {
            cmd.arg(format!("--userspec={u}"));
        }
        cmd.arg(&self.root)
            .arg(program)
            .args(args)
            .env_clear()
            .env("PATH", PATH)
            .env("HOME", if how.user.is_some() { "/tmp" } else { "/root" })
            .env("LANG", "C.UTF-8")
            .current_dir("/")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs a command inside, as root in its own network (when it has one), and returns what
    /// it printed.
    pub fn output(&self, program: &str, args: &[String]) -> anyhow::Result<Output> {
        self.command(isolated(), program, args)
            .output()
            .with_context(|| format!("could not run {program} in the test system"))
    }

    /// Runs a command inside as root in its own network (when it has one), output on this
    /// terminal; whether it succeeded.
    pub fn shown(&self, program: &str, args: &[String]) -> anyhow::Result<bool> {
        self.shown_with(isolated(), program, args)
    }

    /// Runs a command inside with this host's network (the system's own has none), output on
    /// this terminal; whether it succeeded.
    pub fn shown_online(&self, program: &str, args: &[String]) -> anyhow::Result<bool> {
        self.shown_with(Inside::default(), program, args)
    }

    fn shown_with(&self, how: Inside<'_>, program: &str, args: &[String]) -> anyhow::Result<bool> {
        Ok(self
            .command(how, program, args)
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .status()
            .with_context(|| format!("could not run {program} in the test system"))?
            .success())
    }

    /// `(pid, command line)` of every process inside (whose root is this system).
    pub fn processes(&self) -> Vec<(u32, String)> {
        processes(&self.root)
    }

    /// SIGKILLs every process inside (daemons a recipe started) until none is left.
    pub fn kill_all(&self) {
        kill_all(&self.root);
    }
}

fn isolated() -> Inside<'static> {
    Inside {
        own_network: true,
        ..Inside::default()
    }
}

/// The host's apt archive cache of Debian `release` (11 or 12):
/// `$CAIRN_TEST_CACHE/apt/<codename>`, default `/var/cache/cairn-test/apt/<codename>`.
pub fn apt_cache_dir(release: u8) -> anyhow::Result<PathBuf> {
    let name = match release {
        11 => "bullseye",
        12 => "bookworm",
        _ => bail!("Debian {release} is not one of the test systems (11 or 12)"),
    };
    let cache = std::env::var_os("CAIRN_TEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/cairn-test"));
    Ok(cache.join("apt").join(name))
}

/// [`apt_cache_dir`], made on first use with the owner and mode of the fresh copy's own
/// `partial/` (apt downloads as its `_apt` user there).
fn apt_cache(root: &Path, release: u8) -> anyhow::Result<PathBuf> {
    let dir = apt_cache_dir(release)?;
    let partial = dir.join("partial");
    std::fs::create_dir_all(&partial).with_context(|| {
        format!(
            "could not make the apt cache {}; check that its folder is writable",
            partial.display()
        )
    })?;
    let inside = std::fs::metadata(root.join("var/cache/apt/archives/partial"));
    if let Ok(meta) = inside {
        std::os::unix::fs::chown(&partial, Some(meta.uid()), Some(meta.gid()))
            .with_context(|| format!("could not give {} to apt", partial.display()))?;
        std::fs::set_permissions(&partial, meta.permissions())
            .with_context(|| format!("could not set {}'s mode", partial.display()))?;
    }
    Ok(dir)
}

/// Removes the systems that runs killed before they could clean up (Ctrl-C kills this
/// process with its children): a copy named with `prefix` whose pid is gone, with every
/// process still inside it.
fn sweep(prefix: &str) {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(prefix)
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
            "removing {}, a test system left by a test that was interrupted",
            root.display()
        );
        kill_all(&root);
        let _ = remove(&root);
    }
}

/// `(pid, command line)` of every process whose root is `root`.
fn processes(root: &Path) -> Vec<(u32, String)> {
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
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            found.push((pid, cmdline.trim().to_owned()));
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
        for (pid, _) in left {
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
