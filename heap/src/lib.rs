//! Gives the kernel back the memory a resident process holds without using it: the heap glibc's
//! allocator keeps free ([`give_back`]) and the code pages a burst ran ([`drop_code_pages`]).
//!
//! glibc returns freed memory to the kernel only from the top of its heap (and only past
//! `M_TRIM_THRESHOLD`): after a burst of allocations freed below one that lives on, the free
//! pages stay resident. The agent's supervisor has exactly such bursts — a status answer builds
//! and frees a few hundred KB of JSON, a job's request and journal buffers come and go — and it
//! stays resident on every server, so after each burst it calls [`give_back`]: measured with the
//! shipped catalogue, its heap goes from 1.6 to 0.7 MiB resident (BENCHMARKS.md, issue 16). The
//! control plane calls it every 30 s: its bursts are thousands of agents connecting at once
//! (BENCHMARKS.md, issue 19).
//!
//! `malloc_trim(0)` walks every arena under its lock and `madvise`s the whole free pages away,
//! also in the middle of the heap. It costs tens of microseconds on a heap this size and takes no
//! pointer, so calling it from any thread at any time is sound. Elsewhere (musl, other systems)
//! it does nothing: those allocators have no such call.

/// Returns the allocator's free pages to the kernel; `true` if any were returned.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn give_back() -> bool {
    // SAFETY: `malloc_trim` takes no pointer and only rearranges glibc's own free lists, each
    // arena under its own lock, so it is sound to call from any thread at any time.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Hands back the resident pages of this process's code (its program's and its libraries'
/// executable mappings); returns the bytes of the mappings dropped.
///
/// A page of code, once run, stays mapped, and the kernel maps its neighbours in the page cache
/// with it (fault-around, 64 KiB): a program that ran its start-up, a status answer and a job
/// keeps all of that code resident while it sits idle. The pages are clean copies of the
/// files: dropping them (`MADV_DONTNEED`) unmaps them only, they stay in the page cache (memory
/// the kernel may reclaim) and the next run of that code faults them back. Only executable
/// private mappings are dropped: read-only data after relocation (`r--p` under RELRO) holds
/// pages the loader wrote, which dropping would turn back into the file's unrelocated bytes.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn drop_code_pages() -> usize {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return 0;
    };
    let mut dropped = 0;
    for line in maps.lines() {
        let mut f = line.split_whitespace();
        let (Some(range), Some(perms)) = (f.next(), f.next()) else {
            continue;
        };
        // A file mapping: its path is the sixth field ([vdso], [heap] and anonymous mappings
        // have a bracketed name or none).
        if perms != "r-xp" || !f.nth(3).is_some_and(|p| p.starts_with('/')) {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (
            usize::from_str_radix(start, 16),
            usize::from_str_radix(end, 16),
        ) else {
            continue;
        };
        let len = end.saturating_sub(start);
        // SAFETY: the range is one whole executable private mapping of this process as the
        // kernel lists it, never written (PIE code has no text relocations): its pages are the
        // file's, and the next access faults them back unchanged. Code running now (this
        // function's own) is faulted back at once.
        #[allow(unsafe_code)]
        let ok =
            unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_DONTNEED) } == 0;
        if ok {
            dropped += len;
        }
    }
    dropped
}

/// Does nothing where there is no `/proc/self/maps` and glibc.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn drop_code_pages() -> usize {
    0
}

/// Does nothing where the C library has no `malloc_trim`.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn give_back() -> bool {
    false
}

#[cfg(test)]
mod tests {
    /// The resident pages of this test program's code fall when they are dropped, and the code
    /// still runs afterwards (it is faulted back from the file).
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn code_pages_dropped_leave_rss_and_come_back_when_run() {
        fn code_kb() -> u64 {
            let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
            let mut total = 0;
            let mut in_code = false;
            for line in smaps.lines() {
                if let Some(rss) = line.strip_prefix("Rss:") {
                    if in_code {
                        total += rss
                            .trim()
                            .trim_end_matches("kB")
                            .trim()
                            .parse::<u64>()
                            .unwrap_or(0);
                    }
                } else if line.contains('-')
                    && line.split_whitespace().nth(1).is_some_and(|p| p.len() == 4)
                {
                    let f: Vec<&str> = line.split_whitespace().collect();
                    in_code = f[1] == "r-xp" && f.get(5).is_some_and(|p| p.starts_with('/'));
                }
            }
            total
        }
        let before = code_kb();
        let dropped = super::drop_code_pages();
        let after = code_kb();
        assert!(dropped > 0, "no code mapping was dropped");
        assert!(after < before, "code RSS {before} kB → {after} kB");
        // Still runs: formatting and reading a file again need the code just dropped.
        assert!(format!("{:?}", std::fs::metadata("/proc/self").is_ok()).contains("true"));
    }

    /// A freed block below a live one stays resident until `give_back`: glibc's own trimming
    /// only cuts the top of the heap. Allocates 8 MiB in 64 KiB blocks (below the mmap
    /// threshold, so they come from the heap), keeps the last one, frees the rest, and checks
    /// that RSS falls once the pages are handed back.
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn freed_pages_below_a_live_block_are_given_back() {
        fn rss_kb() -> u64 {
            std::fs::read_to_string("/proc/self/status")
                .unwrap_or_default()
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or(0)
        }
        let mut blocks: Vec<Vec<u8>> = (0..128).map(|i| vec![i as u8 | 1; 64 * 1024]).collect();
        let keep = blocks.pop();
        drop(blocks);
        let before = rss_kb();
        assert!(
            super::give_back(),
            "malloc_trim returned nothing to the kernel"
        );
        let after = rss_kb();
        assert!(
            before >= after + 4 * 1024,
            "RSS fell only from {before} kB to {after} kB"
        );
        drop(keep);
    }
}
