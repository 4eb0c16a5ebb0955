//! `recipes/ruby.rhai` end to end on this machine (as root): Ruby, Bundler and Puma installed
//! through `cairn-recipe run` on a server without Ruby, detect() agrees with `ruby --version`, a
//! second run changes nothing. Plans for every supported system.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;

#[test]
fn ruby_installs_with_bundler_and_puma_and_a_second_run_changes_nothing() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    let (first, _) = runtime_e2e(
        "ruby",
        &[],
        &[
            "puma",
            "ruby-bundler",
            "bundler",
            "ruby-dev",
            "ruby",
            "ruby3.1",
            "ruby3.1-dev",
            "libruby3.1",
        ],
        &["/usr/bin/ruby", "--version"],
    );
    let puma = must("/usr/bin/puma", &["--version"]);
    assert!(
        puma.contains(first.result["puma"].as_str().unwrap()),
        "{puma}"
    );
    let bundler = must("/usr/bin/bundle", &["--version"]);
    assert!(
        bundler.contains(first.result["bundler"].as_str().unwrap()),
        "{bundler}"
    );
    // The headers are there for gems with C extensions.
    let hdr = must(
        "/usr/bin/ruby",
        &["-e", "print RbConfig::CONFIG['rubyhdrdir']"],
    );
    assert!(
        std::path::Path::new(hdr.trim()).join("ruby.h").exists(),
        "{hdr}"
    );
}

#[test]
fn ruby_plans_for_every_supported_system() {
    let _machine = common::machine_lock();
    plan_everywhere("ruby", &[]);
}
