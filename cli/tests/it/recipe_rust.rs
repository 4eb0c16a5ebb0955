//! `recipes/rust.rhai`: the distribution's rustc and cargo end to end on this machine (as root),
//! and the rustup branch in plans (the Rust project's servers are not reachable here).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;

#[test]
fn rust_installs_from_the_distribution_and_a_second_run_changes_nothing() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    let (first, _) = runtime_e2e(
        "rust",
        &[],
        &["cargo", "rustc", "libstd-rust-dev", "libstd-rust-1.63"],
        &["/usr/bin/rustc", "--version"],
    );
    let cargo = must("/usr/bin/cargo", &["--version"]);
    assert!(
        cargo.contains(first.result["cargo"].as_str().unwrap()),
        "{cargo}"
    );
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("m.rs");
    std::fs::write(&src, "fn main() { println!(\"hi\"); }\n").unwrap();
    let exe = dir.path().join("m");
    must(
        "/usr/bin/rustc",
        &[&src.display().to_string(), "-o", &exe.display().to_string()],
    );
    assert_eq!(must(&exe.display().to_string(), &[]).trim(), "hi");
}

#[test]
fn rust_plans_the_distribution_or_rustup() {
    let _machine = common::machine_lock();
    for (label, plan) in plan_everywhere("rust", &[]) {
        assert!(!plan.contains("fetch"), "{label}: {plan}");
    }
    let (triple, sha) = match std::env::consts::ARCH {
        "x86_64" => (
            "x86_64-unknown-linux-gnu",
            "20a06e644b0d9bd2fbdbfd52d42540bdde820ea7df86e92e533c073da0cdd43c",
        ),
        _ => (
            "aarch64-unknown-linux-gnu",
            "e3853c5a252fca15252d07cb23a1bdd9377a8c6f3efa01531109281ae47f841c",
        ),
    };
    for (label, plan) in plan_everywhere("rust", &["source=rustup"]) {
        let fetch = format!(
            "fetch  https://static.rust-lang.org/rustup/archive/1.28.2/{triple}/rustup-init -> /opt/cairn/rustup/rustup-init (sha256 {sha})"
        );
        assert!(plan.contains(&fetch), "{label}: {plan}");
        assert!(
            plan.contains("run    /opt/cairn/rustup/rustup-init -y --no-modify-path"),
            "{plan}"
        );
        assert!(
            plan.contains("write  /etc/profile.d/cairn-rust.sh"),
            "{plan}"
        );
    }
}
