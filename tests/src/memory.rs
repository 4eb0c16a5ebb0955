//! Where a process's memory is, for the benchmarks: resident kB by mapping and by kind of
//! mapping (`/proc/PID/smaps`), proportional set size (`smaps_rollup`), and a process's tree
//! (itself and every descendant), so a bench that started the agent sees its supervisor and
//! any worker it runs without knowing their names.

use std::collections::BTreeMap;

use crate::rss_kb;

/// Resident kB per mapping name (`[heap]`, `[stack]`, a file's name, `anonymous`) and
/// permissions, largest first.
pub fn smaps_by_mapping(pid: u32) -> Vec<(String, u64)> {
    let mut by: BTreeMap<String, u64> = BTreeMap::new();
    for m in mappings(pid) {
        let file = m.path.rsplit('/').next().unwrap_or(&m.path);
        *by.entry(format!("{file} ({})", m.perms)).or_default() += m.rss_kb;
    }
    let mut v: Vec<_> = by.into_iter().filter(|(_, kb)| *kb > 0).collect();
    v.sort_by_key(|b| std::cmp::Reverse(b.1));
    v
}

/// The kinds of resident memory a reader of BENCHMARKS.md asks about, in this order.
pub const KINDS: &[&str] = &[
    "the program's code (`r-xp` of its binary)",
    "the program's read-only data (`r--p` of its binary)",
    "the program's writable data (`rw-p` of its binary)",
    "heap + anonymous (`[heap]`, unnamed mappings: allocator arenas, thread stacks)",
    "main thread stack (`[stack]`)",
    "shared libraries (`*.so*`: libc, libm, ld.so, libgcc_s)",
    "other (`[vdso]`, `[vvar]`, other files)",
];

/// Resident kB of process `pid` by [`KINDS`] (same order). The binary is the file
/// `/proc/PID/exe` names (matched by file name: a rebuilt binary shows as `(deleted)`).
pub fn smaps_by_kind(pid: u32) -> Vec<(&'static str, u64)> {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .and_then(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let mut kb = vec![0u64; KINDS.len()];
    for m in mappings(pid) {
        let file = m.path.rsplit('/').next().unwrap_or(&m.path);
        let file = file.trim_end_matches(" (deleted)");
        let kind = if !exe.is_empty() && file == exe {
            match m.perms.as_str() {
                p if p.contains('x') => 0,
                p if p.contains('w') => 2,
                _ => 1,
            }
        } else if m.path == "anonymous" || m.path == "[heap]" {
            3
        } else if m.path == "[stack]" {
            4
        } else if file.contains(".so") {
            5
        } else {
            6
        };
        kb[kind] += m.rss_kb;
    }
    KINDS.iter().copied().zip(kb).collect()
}

struct Mapping {
    path: String,
    perms: String,
    rss_kb: u64,
}

/// Every mapping of `pid` with its resident kB; empty if the process is gone.
fn mappings(pid: u32) -> Vec<Mapping> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut out: Vec<Mapping> = Vec::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or("");
        if first.contains('-') && first.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            let perms = words.next().unwrap_or("").to_owned();
            // offset, device, inode; then the path, which may hold spaces ("(deleted)").
            let path: Vec<&str> = words.skip(3).collect();
            let path = if path.is_empty() {
                "anonymous".to_owned()
            } else {
                path.join(" ")
            };
            out.push(Mapping {
                path,
                perms,
                rss_kb: 0,
            });
        } else if first == "Rss:"
            && let Some(m) = out.last_mut()
        {
            m.rss_kb = words.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        }
    }
    out
}

/// Proportional set size (kB) of `pid`: each shared page divided among the processes
/// mapping it, so a sum over processes counts a shared library once.
pub fn pss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// `pid` and every live descendant of it (children, their children, …), `pid` first.
pub fn process_tree(pid: u32) -> Vec<u32> {
    let mut parent_of: Vec<(u32, u32)> = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // After the name in parentheses: state, then the parent's pid.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse().ok());
        if let Some(ppid) = ppid {
            parent_of.push((child, ppid));
        }
    }
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let p = tree[i];
        tree.extend(parent_of.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    tree
}

/// One look at a process tree's memory.
#[derive(Debug, Clone, Default)]
pub struct TreeSample {
    /// VmRSS of the root (the process the bench started: the agent, or its supervisor).
    pub root_rss_kb: u64,
    /// VmRSS summed over the tree (counts shared pages once per process).
    pub tree_rss_kb: u64,
    /// PSS summed over the tree (shared pages divided among their processes).
    pub tree_pss_kb: u64,
    /// (pid, name, VmRSS kB) of every process in the tree, root first.
    pub processes: Vec<(u32, String, u64)>,
}

/// Samples the memory of `pid`'s tree now.
pub fn sample_tree(pid: u32) -> TreeSample {
    let mut s = TreeSample::default();
    for p in process_tree(pid) {
        let (rss, _) = rss_kb(p);
        let name = std::fs::read_to_string(format!("/proc/{p}/comm"))
            .unwrap_or_default()
            .trim()
            .to_owned();
        if p == pid {
            s.root_rss_kb = rss;
        }
        s.tree_rss_kb += rss;
        s.tree_pss_kb += pss_kb(p);
        s.processes.push((p, name, rss));
    }
    s
}

/// "12.3 MiB".
pub fn mib(kb: u64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
}

/// The median of `v` (sorts it).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The nearest-rank percentile `p` (0–1) of `v` (sorts it).
pub fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let rank = ((v.len() as f64) * p).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

/// The 1-, 5- and 15-minute load averages, as `/proc/loadavg` gives them.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}
