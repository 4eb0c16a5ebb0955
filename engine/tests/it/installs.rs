//! `installations(tool)` sees what version managers and manual installs leave (rustup, nvm,
//! pyenv, rbenv, asdf, `/usr/local/go`), for root and every user, without running anything it
//! finds: a planted `rustc` that would leave a marker if run never does, and a link or a FIFO
//! in place of a metadata file is skipped without blocking.

use crate::util;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use cairn_engine::host::installs::{Installation, find};

fn mkdirs(root: &Path, rel: &str) {
    std::fs::create_dir_all(root.join(rel)).unwrap();
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn found(tool: &str, root: &Path) -> Vec<(String, String)> {
    find(tool, root)
        .unwrap()
        .into_iter()
        .map(
            |Installation {
                 version, source, ..
             }| (version, source),
        )
        .collect()
}

#[test]
fn version_managers_and_manual_installs_are_found_for_every_user_without_running_anything() {
    let dir = util::tempdir();
    let root = dir.path();
    let marker = root.join("ran");
    // rustup for root (with a planted compiler that must never run) and for alice.
    let tc = "root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu";
    write(
        root,
        &format!("{tc}/lib/rustlib/multirust-channel-manifest.toml"),
        "manifest-version = \"2\"\n[pkg.cargo]\nversion = \"1.82.0 (x 2024)\"\n[pkg.rustc]\nversion = \"1.83.0 (90b35a623 2024-11-26)\"\n",
    );
    let fake = root.join(format!("{tc}/bin/rustc"));
    write(
        root,
        &format!("{tc}/bin/rustc"),
        &format!("#!/bin/sh\ntouch {}\n", marker.display()),
    );
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    write(
        root,
        "home/alice/.rustup/toolchains/1.70.0-x86_64-unknown-linux-gnu/lib/rustlib/multirust-channel-manifest.toml",
        "[pkg.rustc]\nversion = \"1.70.0 (90c541806 2023-05-31)\"\n",
    );
    // bob's manifest is a link to a file he may not read: skipped.
    mkdirs(root, "home/bob/.rustup/toolchains/stable/lib/rustlib");
    std::os::unix::fs::symlink(
        "/etc/shadow",
        root.join("home/bob/.rustup/toolchains/stable/lib/rustlib/multirust-channel-manifest.toml"),
    )
    .unwrap();
    // nvm and pyenv for alice, asdf for root, and Go by hand in /usr/local/go.
    mkdirs(root, "home/alice/.nvm/versions/node/v20.11.1/bin");
    mkdirs(root, "home/alice/.nvm/versions/node/v18.19.0/bin");
    mkdirs(root, "home/alice/.pyenv/versions/3.11.7");
    mkdirs(root, "home/alice/.pyenv/versions/miniconda3-latest");
    mkdirs(root, "root/.asdf/installs/ruby/3.2.2");
    write(
        root,
        "usr/local/go/VERSION",
        "go1.21.5\ntime 2023-12-01T20:40:00Z\n",
    );

    let mut rust = found("rust", root);
    rust.sort();
    assert_eq!(
        rust,
        vec![
            (
                "1.70.0".into(),
                "rustup (alice), 1.70.0-x86_64-unknown-linux-gnu".into()
            ),
            (
                "1.83.0".into(),
                "rustup (root), stable-x86_64-unknown-linux-gnu".into()
            ),
        ]
    );
    assert_eq!(
        found("node", root),
        vec![
            ("18.19.0".into(), "nvm (alice)".into()),
            ("20.11.1".into(), "nvm (alice)".into()),
        ]
    );
    assert_eq!(
        found("python", root),
        vec![("3.11.7".into(), "pyenv (alice)".into())]
    );
    assert_eq!(
        found("ruby", root),
        vec![("3.2.2".into(), "asdf (root)".into())]
    );
    assert_eq!(
        found("go", root),
        vec![("1.21.5".into(), "/usr/local/go".into())]
    );
    assert!(!marker.exists(), "a found program was run");
    assert!(
        find("java", root)
            .unwrap_err()
            .contains("not a tool Cairn knows")
    );
}

#[test]
fn a_fifo_in_place_of_a_version_file_is_skipped_without_blocking() {
    let dir = util::tempdir();
    let root = dir.path().to_path_buf();
    mkdirs(&root, "usr/local/go");
    let ok = std::process::Command::new("mkfifo")
        .arg(root.join("usr/local/go/VERSION"))
        .status()
        .unwrap();
    assert!(ok.success());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(found("go", &root));
    });
    let got = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("installations() blocked on a FIFO");
    assert!(got.is_empty());
}

#[test]
fn recipes_see_installations_in_plans_too() {
    let r = util::recipe(
        "[]",
        "[]",
        r#"let all = installations("rust"); type_of(all)"#,
    );
    assert_eq!(util::plan(&r, serde_json::json!({})).value(), "array");
}
