//! The machine's facts for `SERVER_STATUS`: OS, kernel, CPU, memory, the root file system and
//! the addresses, read from `/proc`, `statvfs` and sysinfo. Nothing here runs a program or keeps
//! state between requests but the previous CPU sample.

use cairn_protocol::messages::{CpuInfo, SystemInfo, Usage};

pub fn empty_system() -> SystemInfo {
    SystemInfo {
        os: String::new(),
        kernel: String::new(),
        arch: std::env::consts::ARCH.to_owned(),
        hostname: String::new(),
        cpu: CpuInfo {
            cores: 0,
            model: String::new(),
            usage_percent: None,
        },
        ram: Usage::default(),
        disk: Usage::default(),
        uptime: 0,
        addresses: Vec::new(),
    }
}

/// The machine's facts. Keeps no sysinfo state afterwards (the process list is never loaded).
pub fn system_info() -> SystemInfo {
    use sysinfo::{CpuRefreshKind, MemoryRefreshKind, Networks, RefreshKind, System};
    let mut info = empty_system();
    info.os = os_pretty_name()
        .or_else(|| System::long_os_version().ok())
        .unwrap_or_else(|| "Linux".to_owned());
    info.kernel = System::kernel_version().unwrap_or_default();
    info.arch = System::cpu_arch();
    info.hostname = System::host_name().unwrap_or_default();
    info.uptime = System::uptime().unwrap_or(0);
    let kind = RefreshKind::nothing()
        .with_memory(MemoryRefreshKind::nothing().with_ram())
        .with_cpu(CpuRefreshKind::nothing().with_usage());
    if let Ok(sys) = System::new_with_specifics(kind) {
        info.cpu = CpuInfo {
            cores: sys.cpus().len() as u32,
            model: sys
                .cpus()
                .first()
                .map(|c| c.brand().trim().to_owned())
                .unwrap_or_default(),
            usage_percent: cpu_usage_since_last_call(),
        };
        info.ram = Usage {
            total_bytes: sys.total_memory(),
            used_bytes: sys.used_memory(),
            available_bytes: Some(sys.available_memory()),
        };
    }
    if let Some(disk) = disk_usage(std::path::Path::new("/")) {
        info.disk = disk;
    }
    if let Ok(networks) = Networks::new_with_refreshed_list() {
        let mut addresses: Vec<String> = networks
            .values()
            .flat_map(|data| data.ip_networks().iter().map(|n| n.addr))
            .filter(|a| !a.is_loopback() && !is_link_local(a))
            .map(|a| a.to_string())
            .collect();
        addresses.sort();
        addresses.dedup();
        info.addresses = addresses;
    }
    info
}

fn is_link_local(addr: &std::net::IpAddr) -> bool {
    match addr {
        std::net::IpAddr::V4(v4) => v4.is_link_local(),
        std::net::IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    }
}

/// The file system holding `path`, counted as `df` counts it: used is what is allocated
/// (blocks minus free blocks), available what an unprivileged writer may still use, and the
/// share used is used / (used + available). Size minus available (what sysinfo offered) also
/// counts the blocks reserved for root and, on some virtual disks, blocks that are neither
/// used nor available: a disk with 15 GB used showed "176 GB / 252 GB".
pub fn disk_usage(path: &std::path::Path) -> Option<Usage> {
    let st = rustix::fs::statvfs(path).ok()?;
    let unit = st.f_frsize.max(1);
    Some(Usage {
        total_bytes: st.f_blocks.saturating_mul(unit),
        used_bytes: st.f_blocks.saturating_sub(st.f_bfree).saturating_mul(unit),
        available_bytes: Some(st.f_bavail.saturating_mul(unit)),
    })
}

/// `PRETTY_NAME` from os-release.
fn os_pretty_name() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .ok()?;
    text.lines().find_map(|l| {
        let v = l.strip_prefix("PRETTY_NAME=")?;
        Some(v.trim().trim_matches('"').to_owned())
    })
}

/// CPU usage in percent since the previous status (since boot for the first one), from
/// `/proc/stat`. Sampling the CPU twice inside one request (what sysinfo needs) cost every
/// status round trip its minimum interval, 200 ms, for a figure no more useful than this one.
fn cpu_usage_since_last_call() -> Option<f32> {
    static LAST: std::sync::Mutex<Option<(u64, u64)>> = std::sync::Mutex::new(None);
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let (total, idle) = parse_cpu_line(stat.lines().next()?)?;
    let mut last = LAST
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (d_total, d_idle) = match *last {
        Some((t, i)) if total > t => (total - t, idle.saturating_sub(i)),
        _ => (total, idle),
    };
    *last = Some((total, idle));
    if d_total == 0 {
        return None;
    }
    Some((100.0 * (1.0 - d_idle as f64 / d_total as f64)) as f32)
}

/// (total, idle + iowait) jiffies from the aggregate `cpu ` line of `/proc/stat`.
pub(crate) fn parse_cpu_line(line: &str) -> Option<(u64, u64)> {
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let values: Vec<u64> = fields.filter_map(|f| f.parse().ok()).collect();
    if values.len() < 4 {
        return None;
    }
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let total: u64 = values.iter().take(8).sum();
    let idle = values[3] + values.get(4).copied().unwrap_or(0);
    Some((total, idle))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    /// The root file system's figures are `df`'s own (`df -B1 /`, run for real), not size
    /// minus available: on this machine's virtual disk the two differ by tens of gigabytes.
    #[test]
    fn disk_usage_agrees_with_df() {
        let out = std::process::Command::new("df")
            .args(["-B1", "--output=size,used,avail", "/"])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let df: Vec<u64> = text
            .lines()
            .nth(1)
            .unwrap()
            .split_whitespace()
            .map(|v| v.parse().unwrap())
            .collect();
        let ours = super::disk_usage(std::path::Path::new("/")).unwrap();
        // Other processes write meanwhile: a few hundred megabytes either way.
        let close = |a: u64, b: u64| a.abs_diff(b) <= 512 << 20;
        assert_eq!(ours.total_bytes, df[0], "{ours:?} vs df {df:?}");
        assert!(close(ours.used_bytes, df[1]), "{ours:?} vs df {df:?}");
        assert!(
            close(ours.available_bytes.unwrap(), df[2]),
            "{ours:?} vs df {df:?}"
        );
    }

    #[test]
    fn parses_the_aggregate_cpu_line() {
        let line = "cpu  100 0 50 800 50 0 0 0 0 0";
        assert_eq!(super::parse_cpu_line(line), Some((1000, 850)));
        assert_eq!(super::parse_cpu_line("cpu0 1 2 3 4"), None);
        let usage = super::cpu_usage_since_last_call().unwrap_or(-1.0);
        assert!((0.0..=100.0).contains(&usage), "{usage}");
    }
}
