//! The apt, service and download helpers as recipes call them: capabilities are checked before
//! the helper runs (the helpers themselves are tested in `system_*.rs`).
#![allow(clippy::unwrap_used)]

use crate::common;
use crate::util;

use cairn_engine::{PlannedAction, Stream};
use sha2::{Digest, Sha256};
use util::{plan, recipe, recipe_with, run};

#[test]
fn apt_helpers_need_apt_get_among_the_programs() {
    for call in [r#"apt_install(["sl"])"#, "apt_update()"] {
        let ran = run(&recipe("[]", "[]", call), serde_json::json!({}));
        assert!(
            ran.error()
                .contains("`apt-get`, which is not among the programs"),
            "{call}: {}",
            ran.error()
        );
        assert!(ran.lines(Stream::Command).is_empty());
    }
}

#[test]
fn apt_install_of_installed_packages_changes_nothing() {
    let ran = run(
        &recipe(
            r#"["apt-get"]"#,
            "[]",
            r#"apt_install(["coreutils", "bash"])"#,
        ),
        serde_json::json!({}),
    );
    assert_eq!(
        ran.value(),
        &serde_json::json!({ "changed": false, "installed": [], "already_installed": ["coreutils", "bash"] })
    );
    assert!(
        ran.lines(Stream::Command).is_empty(),
        "apt-get ran for installed packages"
    );
    let v = run(
        &recipe(
            "[]",
            "[]",
            r#"[apt_installed("coreutils"), apt_installed("cairn-no-such-package"), apt_version("coreutils"), apt_version("cairn-no-such-package")]"#,
        ),
        serde_json::json!({}),
    );
    assert!(
        v.value()[0]
            .as_str()
            .unwrap()
            .chars()
            .next()
            .unwrap()
            .is_ascii_digit()
    );
    assert!(v.value()[1].is_null());
    // apt_version: the upstream release only ("9.1-1" → "9.1").
    let full = v.value()[0].as_str().unwrap();
    let release = v.value()[2].as_str().unwrap();
    assert!(
        full.starts_with(release) && full.len() > release.len(),
        "{full} → {release}"
    );
    assert!(
        release.chars().all(|c| c.is_ascii_digit() || c == '.'),
        "{release}"
    );
    assert!(v.value()[3].is_null());
}

#[test]
fn apt_install_refuses_option_injection() {
    let ran = plan(
        &recipe(
            r#"["apt-get"]"#,
            "[]",
            r#"apt_install(["-oAPT::Update::Pre-Invoke::=touch /tmp/pwned"])"#,
        ),
        serde_json::json!({}),
    );
    assert!(ran.error().contains("-oAPT"), "{}", ran.error());
    assert!(ran.plan.is_empty());
}

#[test]
fn services_must_be_declared() {
    let ran = run(
        &recipe("[]", "[]", r#"service_start("ssh")"#),
        serde_json::json!({}),
    );
    assert!(
        ran.error().contains("may not control the service `ssh`"),
        "{}",
        ran.error()
    );
    let planned = plan(
        &recipe_with(
            "[]",
            "[]",
            r#"["cairn-demo"]"#,
            "[]",
            r#"service_restart("cairn-demo")"#,
        ),
        serde_json::json!({}),
    );
    assert!(
        planned.plan.iter().any(|a| matches!(a, PlannedAction::Run { args, .. } if args.iter().any(|x| x == "cairn-demo"))),
        "{:?} {:?}",
        planned.plan,
        planned.outcome
    );
}

#[test]
fn download_checks_the_destination_and_the_checksum() {
    static BODY: &[u8] = b"the release tarball";
    let server = common::TestServer::start(BODY);
    let sha = hex::encode(Sha256::digest(BODY));
    let dir = util::tempdir();
    let allowed = format!(r#"["{}/opt"]"#, dir.path().display());
    let dest = dir.path().join("opt/pkg.tar.gz");

    let outside = run(
        &recipe(
            "[]",
            &allowed,
            &format!(r#"download("{}", "/etc/cron.d/x", "{sha}")"#, server.url),
        ),
        serde_json::json!({}),
    );
    assert!(
        outside
            .error()
            .contains("the recipe may not write /etc/cron.d/x"),
        "{}",
        outside.error()
    );
    assert_eq!(server.hits(), 0, "a refused download made a request");

    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    let bad = run(
        &recipe(
            "[]",
            &allowed,
            &format!(
                r#"download("{}", "{}", "{}")"#,
                server.url,
                dest.display(),
                "0".repeat(64)
            ),
        ),
        serde_json::json!({}),
    );
    assert!(
        bad.error().contains("does not have the expected checksum"),
        "{}",
        bad.error()
    );
    assert!(!dest.exists());

    let ok = run(
        &recipe(
            "[]",
            &allowed,
            &format!(
                r#"download("{}", "{}", "{sha}")"#,
                server.url,
                dest.display()
            ),
        ),
        serde_json::json!({}),
    );
    ok.value();
    assert_eq!(std::fs::read(&dest).unwrap(), BODY);
}

#[test]
fn download_refuses_a_symlinked_folder() {
    static BODY: &[u8] = b"payload";
    let server = common::TestServer::start(BODY);
    let sha = hex::encode(Sha256::digest(BODY));
    let dir = util::tempdir();
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::create_dir_all(dir.path().join("opt")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.path().join("opt/link")).unwrap();
    let allowed = format!(r#"["{}/opt"]"#, dir.path().display());
    let dest = dir.path().join("opt/link/pkg.tar.gz");
    let ran = run(
        &recipe(
            "[]",
            &allowed,
            &format!(
                r#"download("{}", "{}", "{sha}")"#,
                server.url,
                dest.display()
            ),
        ),
        serde_json::json!({}),
    );
    assert!(ran.error().contains("symbolic link"), "{}", ran.error());
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "wrote through the link"
    );
}
