//! What the benchmarks (`benches/`) share: which of their cases the command line asks for.

/// The case names given on the command line (`cargo bench -p cairn-e2e --bench e2e -- idle
/// lines`); the flags cargo passes along (`--bench`) are not names.
pub fn cases() -> Vec<String> {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect()
}

/// Whether case `name` runs: every case when none was named, else those a given name is part
/// of.
pub fn wants(cases: &[String], name: &str) -> bool {
    cases.is_empty() || cases.iter().any(|f| name.contains(f.as_str()))
}
