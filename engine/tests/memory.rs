//! THREATS row 13, the case Rhai's own map limit misses: a map grown through a nested index
//! assignment. The engine's memory ceiling stops it and the calling process survives. In its own
//! test binary so no other test's allocations share the process.
#![allow(clippy::unwrap_used)]

mod util;

use std::time::Duration;

use cairn_engine::Limits;
use cairn_engine::job::JobOptions;
use cairn_engine::sandbox::resident_bytes;

fn limits() -> Limits {
    Limits {
        max_operations: 0, // unlimited: only the memory ceiling may stop these
        max_memory_growth: 32 << 20,
        deadline: Duration::from_secs(120),
        ..Limits::default()
    }
}

#[test]
fn map_growth_by_nested_index_assignment_is_stopped_by_the_memory_ceiling() {
    let before = resident_bytes().unwrap();
    for body in [
        r#"let m = #{}; let i = 0; loop { m["k" + i] = i; i += 1; }"#,
        r#"let m = #{ a: #{} }; let i = 0; loop { m.a["k" + i] = i; i += 1; }"#,
        r#"let m = #{}; let i = 0; loop { m["k" + i] = [i, i, i]; i += 1; }"#,
    ] {
        let r = util::recipe("[]", "[]", body);
        let opts = JobOptions {
            limits: limits(),
            os_release_path: util::debian12(),
            ..JobOptions::default()
        };
        let ran = util::run_opts(&r, serde_json::json!({}), &opts);
        assert!(
            ran.error().contains("more than 32 MiB of memory"),
            "{body}: {}",
            ran.error()
        );
    }
    // The process is alive (we are running) and its memory was bounded near the ceiling.
    let after = resident_bytes().unwrap();
    assert!(
        after < before + (512 << 20),
        "RSS grew from {before} to {after}"
    );
}
