//! One sample of the machine for `METRICS`: CPU from `/proc/stat` deltas, memory and swap from
//! `/proc/meminfo`, load from `/proc/loadavg`, each real file system (`/proc/self/mounts`,
//! `statvfs`, its device's counters in `/proc/diskstats`), each interface but `lo`
//! (`/proc/net/dev`) and each declared service (its pid file, or systemd's cgroup). A few small
//! files read directly: no program, no worker, no sysinfo state kept.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use cairn_protocol::messages::metrics::{MAX_DEVICES, MAX_NAME_LEN, MAX_SERVICES};
use cairn_protocol::messages::{DiskSample, NetSample, Sample, ServiceSample};

/// File system types that hold data (not `proc`, `tmpfs`, `overlay`, …).
const REAL_FS: &[&str] = &[
    "ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "jfs", "reiserfs", "vfat", "exfat",
];

/// A service to watch: its name, the pid file its recipe declares (a `*` may stand in its file
/// name) and the state the last status reported, used when neither systemd nor a pid file can
/// say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watched {
    pub name: String,
    pub pid_file: Option<String>,
    pub last_up: bool,
}

/// What the sampler keeps between samples: the previous CPU counters.
#[derive(Debug, Default)]
pub struct Sampler {
    last_cpu: Option<(u64, u64)>,
}

impl Sampler {
    /// Samples the machine at unix time `t`.
    pub fn sample(&mut self, t: u64, services: &[Watched]) -> Sample {
        let meminfo = read("/proc/meminfo");
        let mem = |key| meminfo_kib(&meminfo, key).saturating_mul(1024);
        let total = mem("MemTotal:");
        let available = mem("MemAvailable:");
        let (swap_total, swap_free) = (mem("SwapTotal:"), mem("SwapFree:"));
        let mut sample = Sample {
            t,
            cpu: self.cpu(),
            mem: [total.saturating_sub(available), total],
            swap: [swap_total.saturating_sub(swap_free), swap_total],
            load: parse_loadavg(&read("/proc/loadavg")),
            disks: disks(&read("/proc/self/mounts"), &read("/proc/diskstats")),
            nets: parse_net_dev(&read("/proc/net/dev")),
            svcs: services
                .iter()
                .map(|s| ServiceSample {
                    n: s.name.clone(),
                    up: service_up(s),
                })
                .collect(),
        };
        // Within what the control plane stores (threats.md 47): a server with more devices
        // than that keeps the first ones rather than having every sample refused.
        sample.disks.retain(|d| d.m.len() <= MAX_NAME_LEN);
        sample.disks.truncate(MAX_DEVICES);
        sample.nets.retain(|n| n.i.len() <= MAX_NAME_LEN);
        sample.nets.truncate(MAX_DEVICES);
        sample.svcs.retain(|s| s.n.len() <= MAX_NAME_LEN);
        sample.svcs.truncate(MAX_SERVICES);
        sample
    }

    fn cpu(&mut self) -> Option<f64> {
        let stat = read("/proc/stat");
        let now = crate::facts::parse_cpu_line(stat.lines().next()?)?;
        let last = self.last_cpu.replace(now)?;
        let (d_total, d_idle) = (now.0.checked_sub(last.0)?, now.1.saturating_sub(last.1));
        (d_total > 0).then(|| 100.0 * (1.0 - d_idle as f64 / d_total as f64))
    }
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn meminfo_kib(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn parse_loadavg(text: &str) -> [f64; 3] {
    let mut it = text
        .split_whitespace()
        .map(|v| v.parse::<f64>().unwrap_or(0.0));
    [(); 3].map(|()| it.next().unwrap_or(0.0))
}

/// Each real file system once (a device mounted twice, or bind-mounted, counts at its first
/// mount point), with its device's read and written bytes.
fn disks(mounts: &str, diskstats: &str) -> Vec<DiskSample> {
    let io = parse_diskstats(diskstats);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for line in mounts.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [source, mount, fstype, ..] = f[..] else {
            continue;
        };
        if !REAL_FS.contains(&fstype) || !source.starts_with("/dev/") {
            continue;
        }
        let mount = unescape_mount(mount);
        // `/dev/mapper/x` and `/dev/disk/by-uuid/…` are links to the device /proc/diskstats names.
        let device = std::fs::canonicalize(source)
            .ok()
            .and_then(|p| Some(p.file_name()?.to_string_lossy().into_owned()))
            .unwrap_or_else(|| source.trim_start_matches("/dev/").to_owned());
        if !seen.insert(device.clone()) {
            continue;
        }
        let Some(usage) = crate::facts::disk_usage(Path::new(&mount)) else {
            continue;
        };
        let (r, w) = io.get(&device).copied().unwrap_or((0, 0));
        out.push(DiskSample {
            m: mount,
            u: usage.used_bytes,
            // What df's Use% divides by (used + available to users, not the blocks reserved
            // for root): the share in use then says what df and the status card say.
            s: usage
                .available_bytes
                .map_or(usage.total_bytes, |a| usage.used_bytes + a),
            r,
            w,
        });
    }
    out
}

/// `/proc/self/mounts` writes a space as `\040` (and tab, newline, backslash likewise).
fn unescape_mount(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_owned();
    }
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// Device name → (bytes read, bytes written): sectors of 512 bytes, whatever the device's own
/// sector size (the kernel counts in 512-byte units here).
fn parse_diskstats(text: &str) -> BTreeMap<String, (u64, u64)> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let sectors = |i: usize| f.get(i)?.parse::<u64>().ok();
            Some((
                (*f.get(2)?).to_owned(),
                (sectors(5)? * 512, sectors(9)? * 512),
            ))
        })
        .collect()
}

/// Each interface but `lo`: received and sent bytes.
fn parse_net_dev(text: &str) -> Vec<NetSample> {
    text.lines()
        .skip(2)
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            let name = name.trim();
            let f: Vec<u64> = rest
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            (name != "lo" && f.len() >= 9).then(|| NetSample {
                i: name.to_owned(),
                rx: f[0],
                tx: f[8],
            })
        })
        .collect()
}

/// Whether a service runs: with systemd, whether its unit's cgroup holds a process; else
/// whether its declared pid file names a live process (the check the status does); else what
/// the last status said.
fn service_up(s: &Watched) -> bool {
    if Path::new("/run/systemd/system").is_dir() {
        for root in [
            "/sys/fs/cgroup",
            "/sys/fs/cgroup/unified",
            "/sys/fs/cgroup/systemd",
        ] {
            let procs = format!("{root}/system.slice/{}.service/cgroup.procs", s.name);
            if let Ok(text) = std::fs::read_to_string(procs) {
                return !text.trim().is_empty();
            }
        }
        return false;
    }
    match &s.pid_file {
        Some(pattern) => pid_file_alive(pattern),
        None => s.last_up,
    }
}

fn pid_file_alive(pattern: &str) -> bool {
    cairn_engine::system::service_status::newest_match(Path::new(pattern))
        .and_then(|f| std::fs::read_to_string(f).ok())
        .and_then(|t| t.trim().parse::<u32>().ok())
        .filter(|pid| *pid > 0)
        .and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        // A zombie (state `Z`, after the command's closing parenthesis) is not running.
        .and_then(|stat| Some(stat.rsplit_once(')')?.1.split_whitespace().next()? != "Z"))
        .unwrap_or(false)
}

#[cfg(test)]
#[path = "sampler_tests.rs"]
mod tests;
