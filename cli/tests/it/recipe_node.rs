//! `recipes/node.rhai` on this machine (as root), and its upstream branch in plans.
//!
//! This machine's Node.js comes from another repository's `nodejs` package (with npm built in)
//! and other work here uses it, so the end-to-end test does not purge it: it proves the recipe
//! keeps an existing Node.js, reports its version as `node --version` does, and changes nothing.
//! A fresh install of the distribution's nodejs + npm is checked with apt-get's simulation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;

#[test]
fn node_keeps_an_installed_node_and_reports_its_version() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    if !dpkg_installed("nodejs") {
        // A server without Node.js: the full install path.
        runtime_e2e(
            "node",
            &[],
            &["nodejs", "npm"],
            &["/usr/bin/node", "--version"],
        );
        return;
    }
    let first = run("node", &[]);
    assert_nothing_changed(&first);
    assert_detected("node", &version_output("/usr/bin/node", &["--version"]));
    let npm = must("npm", &["--version"]);
    assert!(npm.contains(first.result["npm"].as_str().unwrap()), "{npm}");
    assert_nothing_changed(&run("node", &[]));
}

#[test]
fn node_plans_the_distribution_or_a_pinned_release() {
    let _machine = common::machine_lock();
    plan_everywhere("node", &[]);
    let (arch, sha) = match std::env::consts::ARCH {
        "x86_64" => (
            "x64",
            "22982235e1b71fa8850f82edd09cdae7e3f32df1764a9ec298c72d25ef2c164f",
        ),
        _ => (
            "arm64",
            "8cfd5a8b9afae5a2e0bd86b0148ca31d2589c0ea669c2d0b11c132e35d90ed68",
        ),
    };
    for (label, plan) in plan_everywhere("node", &["major=22"]) {
        let fetch = format!(
            "fetch  https://nodejs.org/dist/v22.12.0/node-v22.12.0-linux-{arch}.tar.xz -> /opt/cairn/node/22.12.0/node-v22.12.0-linux-{arch}.tar.xz (sha256 {sha})"
        );
        assert!(plan.contains(&fetch), "{label}: {plan}");
        for tool in ["node", "npm", "npx"] {
            assert!(
                plan.contains(&format!(
                    "ln -sfn /opt/cairn/node/22.12.0/bin/{tool} /usr/local/bin/{tool}"
                )),
                "{plan}"
            );
        }
    }
}
