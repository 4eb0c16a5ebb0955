//! threats.md rows 13 and 26: memory growth is stopped at the ceiling, whatever the shape of the
//! loop: a map grown through a nested index assignment (which Rhai's own map limit misses),
//! strings of the maximum size made one per operation, and growth whose every counted operation
//! is inside a string interpolation (where Rhai discards the stop). The process's peak resident
//! memory stays near the ceiling, not a multiple of it. In its own test binary so no other
//! test's allocations share the process.
#![allow(clippy::unwrap_used)]

// The recipe helpers of the `it` binary, compiled into this one too.
#[path = "it/util/mod.rs"]
mod util;

use std::time::Duration;

use cairn_engine::Limits;
use cairn_engine::job::JobOptions;

const CEILING_MIB: u64 = 64;

fn limits() -> Limits {
    Limits {
        max_operations: 0, // unlimited: only the memory ceiling may stop these
        max_memory_growth: CEILING_MIB << 20,
        deadline: Duration::from_secs(300),
        ..Limits::default()
    }
}

/// A line of /proc/self/status in bytes (`VmHWM`: peak resident set; `VmRSS`: now).
fn status_bytes(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(key)).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib << 10
}

#[test]
fn memory_growth_of_every_shape_is_stopped_near_the_ceiling() {
    let before = status_bytes("VmRSS:");
    let big = r#"let big = "x"; while big.len < 500000 { big += big; }"#;
    for body in [
        r#"let m = #{}; let i = 0; loop { m["k" + i] = i; i += 1; }"#.to_owned(),
        r#"let m = #{ a: #{} }; let i = 0; loop { m.a["k" + i] = i; i += 1; }"#.to_owned(),
        r#"let m = #{}; let i = 0; loop { m["k" + i] = [i, i, i]; i += 1; }"#.to_owned(),
        format!(r#"{big} let m = #{{}}; let i = 0; loop {{ m["k" + i] = big + i; i += 1; }}"#),
        format!(r#"{big} let m = #{{}}; let i = 0; loop {{ m["k" + i] = `${{big}}${{i}}`; i += 1; }}"#),
        r#"let m = #{}; let i = 0; loop { m["k" + i] = `${i}${i}${i}${i}${i}${i}${i}${i}`; i += 1; }"#.to_owned(),
    ] {
        let r = util::recipe("[]", "[]", &body);
        let opts = JobOptions {
            limits: limits(),
            os_release_path: util::debian12(),
            ..JobOptions::default()
        };
        let ran = util::run_opts(&r, serde_json::json!({}), &opts);
        assert!(
            ran.error()
                .contains(&format!("more than {CEILING_MIB} MiB of memory")),
            "{body}: {}",
            ran.error()
        );
        let peak = status_bytes("VmHWM:");
        // The ceiling counts bytes allocated; resident memory adds the allocator's own
        // bookkeeping (a few bytes per small allocation), hence the allowance.
        eprintln!("{body}: peak RSS {} MiB (start {} MiB)", peak >> 20, before >> 20);
        let allowed = before + (CEILING_MIB << 20) * 3 / 2 + (16 << 20);
        assert!(
            peak < allowed,
            "{body}: peak RSS {} MiB, allowed {} MiB",
            peak >> 20,
            allowed >> 20
        );
    }
}
