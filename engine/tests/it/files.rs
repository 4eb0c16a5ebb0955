//! `write_file`, `read_file`, `file_exists`, `template`: declared prefixes only, no `..`, never
//! through a symlink, atomic with an exact mode (threats.md row 18).
#![allow(clippy::unwrap_used)]

use crate::util;

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

/// threats.md row 29: `read_file` of a FIFO used to wait for a writer for ever (past cancel and
/// the deadline); a device could stream without end. Only regular files are read, and the
/// refusal comes at once, without blocking.
#[test]
fn read_file_refuses_fifos_devices_sockets_and_folders_without_blocking() {
    let dir = util::tempdir();
    let allowed = dir.path().join("allowed");
    std::fs::create_dir_all(allowed.join("folder")).unwrap();
    let fifo = allowed.join("pipe");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(ok.success());
    let sock = allowed.join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let mut cases = vec![
        (fifo.display().to_string(), "a named pipe (FIFO)"),
        (sock.display().to_string(), "a socket"),
        (allowed.join("folder").display().to_string(), "a folder"),
    ];
    // Devices, declared as paths the recipe may read.
    let dev_caps = format!(
        r#"["{}/allowed", "/dev/zero", "/dev/null"]"#,
        dir.path().display()
    );
    for (path, what) in [
        ("/dev/zero", "a character device"),
        ("/dev/null", "a character device"),
    ] {
        let r = recipe("[]", &dev_caps, &format!(r#"read_file("{path}")"#));
        let ran = run(&r, serde_json::json!({}));
        assert!(
            ran.error()
                .contains(&format!("{path} is {what}, not a regular file")),
            "{path}: {}",
            ran.error()
        );
    }
    for (path, what) in cases.drain(..) {
        let r = recipe("[]", &caps(dir.path()), &format!(r#"read_file("{path}")"#));
        // On a thread, so that a read that blocks (the FIFO, before) fails the test.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(run(&r, serde_json::json!({})).error().to_owned());
        });
        let error = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("read_file({path}) blocked"));
        assert!(
            error.contains(&format!("is {what}, not a regular file")),
            "{path}: {error}"
        );
    }
    // A regular file still reads.
    std::fs::write(allowed.join("conf"), "port 1\n").unwrap();
    let r = recipe(
        "[]",
        &caps(dir.path()),
        &format!(r#"read_file("{}/conf")"#, allowed.display()),
    );
    assert_eq!(run(&r, serde_json::json!({})).value(), "port 1\n");
}
