//! What `/proc` says about a process: resident memory, CPU time, open descriptors and their
//! limit, whether it is gone. Linux only, like Cairn. A process that is gone reads as zero.

/// A `kB` field of `/proc/PID/status` (`VmRSS:`, `VmHWM:`, …), if the process and the field
/// exist.
pub fn status_kb(pid: u32, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Resident set size and its peak (kB) of process `pid`.
pub fn rss_kb(pid: u32) -> (u64, u64) {
    (
        status_kb(pid, "VmRSS:").unwrap_or(0),
        status_kb(pid, "VmHWM:").unwrap_or(0),
    )
}

/// The fields after the command name in a `/proc/…/stat` file (the name may hold spaces and
/// parentheses, so they start after the last `)`): the state letter is the first.
fn stat_fields(stat: &str) -> Vec<&str> {
    stat.rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect()
}

/// CPU seconds (user + system) in a `/proc/…/stat` file's text: utime and stime (fields 14 and
/// 15), in 10 ms ticks.
fn stat_cpu_secs(stat: &str) -> f64 {
    let f: Vec<f64> = stat_fields(stat)
        .iter()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) / 100.0
}

/// CPU seconds process `pid` used so far: a figure that stays CPU time however busy the
/// machine is.
pub fn cpu_secs(pid: u32) -> f64 {
    stat_cpu_secs(&std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default())
}

/// CPU seconds the calling thread used so far.
pub fn thread_cpu_secs() -> f64 {
    stat_cpu_secs(&std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default())
}

/// Whether process `pid` is dead: gone, or a zombie or dead entry nobody reaped yet (a
/// container's init may not reap orphans).
pub fn is_dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => matches!(stat_fields(&stat).first(), None | Some(&("Z" | "X" | "x"))),
    }
}

/// Descriptors process `pid` has open now.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// Process `pid`'s open-files soft limit (`/proc/PID/limits`).
pub fn fd_limit(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/limits"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(u64::MAX)
}
