//! `write_file`, `read_file`, `file_exists`, `template`: declared prefixes only, no `..`, never
//! through a symlink, atomic with an exact mode (THREATS row 18).
#![allow(clippy::unwrap_used)]

mod util;

use std::os::unix::fs::PermissionsExt;

use util::{recipe, run};

fn caps(dir: &std::path::Path) -> String {
    format!(r#"["{}/allowed"]"#, dir.display())
}

#[test]
fn writes_atomically_with_the_exact_mode_and_creates_folders() {
    let dir = util::tempdir();
    let target = dir.path().join("allowed/sub/app.conf");
    let r = recipe(
        "[]",
        &caps(dir.path()),
        &format!(
            r#"write_file("{0}", "port = 1\n", 0o600);
               write_file("{0}", "port = 2\n", 0o640);
               read_file("{0}")"#,
            target.display()
        ),
    );
    let ran = run(&r, serde_json::json!({}));
    assert_eq!(ran.value(), "port = 2\n");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "port = 2\n");
    let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o640);
    let leftovers: Vec<_> = std::fs::read_dir(target.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "temporary files left: {leftovers:?}");
}

#[test]
fn dot_dot_and_paths_outside_the_prefixes_are_refused() {
    let dir = util::tempdir();
    for path in [
        format!("{}/allowed/../escaped", dir.path().display()),
        "../../etc/shadow".to_owned(),
        format!("{}/allowed-not/x", dir.path().display()),
        "/etc/shadow".to_owned(),
    ] {
        let r = recipe(
            "[]",
            &caps(dir.path()),
            &format!(r#"write_file("{path}", "x")"#),
        );
        let ran = run(&r, serde_json::json!({}));
        assert!(
            ran.error()
                .starts_with(&format!("the recipe may not write {path}")),
            "{path}: {}",
            ran.error()
        );
    }
    assert!(!dir.path().join("escaped").exists());
}

#[test]
fn a_symlinked_directory_is_refused() {
    let dir = util::tempdir();
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::create_dir_all(dir.path().join("allowed")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.path().join("allowed/link")).unwrap();
    let path = dir.path().join("allowed/link/evil.conf");
    let r = recipe(
        "[]",
        &caps(dir.path()),
        &format!(r#"write_file("{}", "x")"#, path.display()),
    );
    let ran = run(&r, serde_json::json!({}));
    assert!(ran.error().contains("symbolic link"), "{}", ran.error());
    assert!(
        !outside.join("evil.conf").exists(),
        "wrote through the symlink"
    );
}

#[test]
fn a_symlink_as_the_file_itself_is_refused_and_left_alone() {
    let dir = util::tempdir();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "original").unwrap();
    std::fs::create_dir_all(dir.path().join("allowed")).unwrap();
    let link = dir.path().join("allowed/app.conf");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    for call in ["write_file", "read_file"] {
        let body = if call == "write_file" {
            format!(r#"write_file("{}", "pwned")"#, link.display())
        } else {
            format!(r#"read_file("{}")"#, link.display())
        };
        let ran = run(
            &recipe("[]", &caps(dir.path()), &body),
            serde_json::json!({}),
        );
        assert!(
            ran.error().contains("symbolic link"),
            "{call}: {}",
            ran.error()
        );
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "original");
}

#[test]
fn file_exists_reports_truthfully() {
    let r = recipe(
        "[]",
        "[]",
        r#"[file_exists("/etc/os-release"), file_exists("/no/such/file")]"#,
    );
    assert_eq!(
        run(&r, serde_json::json!({})).value(),
        &serde_json::json!([true, false])
    );
}

#[test]
fn templates_render_and_undefined_variables_are_errors() {
    let r = recipe(
        "[]",
        "[]",
        r#"template("bind {{ host }}\nport {{ port }}\n{% for u in users %}user {{ u }}\n{% endfor %}",
                    #{ host: "127.0.0.1", port: 6379, users: ["a", "b"] })"#,
    );
    assert_eq!(
        run(&r, serde_json::json!({})).value(),
        "bind 127.0.0.1\nport 6379\nuser a\nuser b\n"
    );
    let r = recipe("[]", "[]", r#"template("port {{ prot }}", #{ port: 1 })"#);
    let ran = run(&r, serde_json::json!({}));
    assert!(
        ran.error().contains("the template does not render"),
        "{}",
        ran.error()
    );
}

#[test]
fn setuid_setgid_and_sticky_modes_are_refused() {
    let dir = util::tempdir();
    let target = dir.path().join("allowed/tool");
    for mode in ["0o4755", "0o2755", "0o1777"] {
        let r = recipe(
            "[]",
            &caps(dir.path()),
            &format!(r#"write_file("{}", "x", {mode})"#, target.display()),
        );
        let ran = run(&r, serde_json::json!({}));
        assert!(
            ran.error().contains("only permission bits"),
            "{mode}: {}",
            ran.error()
        );
    }
    assert!(!target.exists());
}
