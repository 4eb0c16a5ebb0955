//! The file helpers of recipes that keep settings for a script of their own: `kv_write`,
//! `kv_read`, `kv_text`, `write_if_changed`, `backup_paths`, `backup_state`. What a recipe
//! writes into a `KEY='value'` file is sourced by a root shell, so the quoting is proven with
//! a real `sh`; every path goes through the declared paths, in plan mode too.

use crate::util;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use cairn_engine::PlannedAction;
use util::{plan, recipe, run};

fn caps(dir: &Path) -> String {
    format!(r#"["{}/allowed"]"#, dir.display())
}

/// A Rhai string literal for `s` (JSON's escapes are Rhai's).
fn lit(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// What `sh` sees in `$key` after `. file`, as the backup scripts read their settings.
fn sourced(file: &Path, key: &str) -> String {
    let out = Command::new("sh")
        .args(["-c", &format!(r#". "$1"; printf %s "${key}""#), "sh"])
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn kv_write_quotes_every_value_so_that_sourcing_the_file_runs_nothing() {
    let dir = util::tempdir();
    let file = dir.path().join("allowed/settings");
    let marker = dir.path().join("ran");
    let m = marker.display();
    let values = [
        "it's".to_owned(),
        "'".to_owned(),
        "''".to_owned(),
        format!("$(touch {m})"),
        format!("`touch {m}`"),
        format!("x'; touch {m}; '"),
        format!("x; touch {m}"),
        format!("x' && touch {m} && echo '"),
        "\\".to_owned(),
        "ends with \\".to_owned(),
        "$HOME and ${PATH} and $1".to_owned(),
        "*".to_owned(),
        "two  spaces".to_owned(),
        "tab\there".to_owned(),
        "\"double\"".to_owned(),
        "ünïcödé €".to_owned(),
        "-n".to_owned(),
        String::new(),
    ];
    let map: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("V{i}: {}", lit(v)))
        .collect();
    let r = recipe(
        "[]",
        &caps(dir.path()),
        &format!(
            r#"let path = "{}";
               let changed = kv_write(path, #{{ {} }}, 0o600);
               #{{ changed: changed, again: kv_write(path, #{{ {} }}, 0o600), back: kv_read(path) }}"#,
            file.display(),
            map.join(", "),
            map.join(", ")
        ),
    );
    let ran = run(&r, serde_json::json!({}));
    let v = ran.value();
    assert_eq!(v["changed"], true);
    assert_eq!(
        v["again"], false,
        "the same map writes nothing the second time"
    );
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o7777,
        0o600
    );
    for (i, value) in values.iter().enumerate() {
        let key = format!("V{i}");
        assert_eq!(&sourced(&file, &key), value, "sh read {key} differently");
        assert_eq!(
            v["back"][&key],
            value.as_str(),
            "kv_read read {key} differently"
        );
    }
    assert!(!marker.exists(), "sourcing the settings ran a command");
}

#[test]
fn a_value_that_is_not_one_line_or_a_key_the_shell_obeys_is_refused_and_nothing_is_written() {
    let dir = util::tempdir();
    let file = dir.path().join("allowed/settings");
    for (entry, why) in [
        (
            r#"A: "x\nPATH='/tmp'""#,
            "the value of `A` contains a line break",
        ),
        (r#"A: "x\r""#, "the value of `A` contains a line break"),
        (r#"A: "x\u0000y""#, "the value of `A` contains a line break"),
        (r#"A: "\u001b[2J""#, "another control character"),
        (
            r#"PATH: "/tmp/evil""#,
            "the key `PATH` would change how the shell",
        ),
        (r#"IFS: "x""#, "the key `IFS`"),
        (r#"LD_PRELOAD: "/tmp/x.so""#, "the key `LD_PRELOAD`"),
        (r#"BASH_ENV: "/tmp/x""#, "the key `BASH_ENV`"),
        (
            r#""A B": "x""#,
            "the key `A B` is not a shell variable name",
        ),
        (r#""A=B": "x""#, "is not a shell variable name"),
        (r#""1A": "x""#, "is not a shell variable name"),
        (r#"A: [1]"#, "the value of `A` is array"),
        (r#"A: ()"#, "the value of `A` is ()"),
    ] {
        let r = recipe(
            "[]",
            &caps(dir.path()),
            &format!(
                r#"kv_write("{}", #{{ OK: "fine", {entry} }}, 0o644)"#,
                file.display()
            ),
        );
        let e = run(&r, serde_json::json!({})).error().to_owned();
        assert!(
            e.starts_with("kv_write(): ") && e.contains(why),
            "{entry}: {e}"
        );
        assert!(!e.contains("/tmp/evil") && !e.contains("x.so"), "{e}");
        assert!(!file.exists(), "{entry}: the file was written");
    }
    let r = recipe(
        "[]",
        "[]",
        r#"kv_text(#{ C: "x y", B: 2, A: true, D: "it's" })"#,
    );
    assert_eq!(
        run(&r, serde_json::json!({})).value(),
        "A='true'\nB='2'\nC='x y'\nD='it'\\''s'\n"
    );
}

#[test]
fn kv_read_takes_what_a_script_writes_and_a_missing_file_is_empty() {
    let dir = util::tempdir();
    let allowed = dir.path().join("allowed");
    std::fs::create_dir_all(&allowed).unwrap();
    let state = allowed.join("state");
    // As the backup scripts' save_state writes it.
    let out = Command::new("sh")
        .args([
            "-c",
            r#"err="it failed"; cat > "$1" <<STATE
# written by a script
last_run_at='1732590000'
last_run_ok='false'
last_run_error='$err'
STATE"#,
            "sh",
        ])
        .arg(&state)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    std::os::unix::fs::symlink(&state, allowed.join("link")).unwrap();
    let r = recipe(
        "[]",
        &caps(dir.path()),
        &format!(
            r#"#{{ state: kv_read("{0}/state"), missing: kv_read("{0}/nothing/here") }}"#,
            allowed.display()
        ),
    );
    let v = run(&r, serde_json::json!({})).value().clone();
    assert_eq!(
        v["state"],
        serde_json::json!({"last_run_at": "1732590000", "last_run_ok": "false", "last_run_error": "it failed"})
    );
    assert_eq!(v["missing"], serde_json::json!({}));
    let r = recipe(
        "[]",
        &caps(dir.path()),
        &format!(r#"kv_read("{}/link")"#, allowed.display()),
    );
    let e = run(&r, serde_json::json!({})).error().to_owned();
    assert!(e.contains("symbolic link"), "{e}");
}

#[test]
fn write_if_changed_writes_only_when_the_content_or_the_mode_differs() {
    let dir = util::tempdir();
    let file = dir.path().join("allowed/sub/app.conf");
    let body = format!(
        r#"let p = "{}";
           [write_if_changed(p, "x\n", 0o644), write_if_changed(p, "x\n", 0o644),
            write_if_changed(p, "x\n", 0o600), write_if_changed(p, "y\n")]"#,
        file.display()
    );
    let r = recipe("[]", &caps(dir.path()), &body);
    let ran = run(&r, serde_json::json!({}));
    assert_eq!(ran.value(), &serde_json::json!([true, false, true, true]));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "y\n");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o7777,
        0o644
    );
    // Unchanged: the file is left alone, not rewritten (same inode, no "wrote" line).
    let inode = std::fs::metadata(&file).unwrap().ino();
    let r = recipe(
        "[]",
        &caps(dir.path()),
        &format!(r#"write_if_changed("{}", "y\n")"#, file.display()),
    );
    let again = run(&r, serde_json::json!({}));
    assert_eq!(again.value(), false);
    assert_eq!(std::fs::metadata(&file).unwrap().ino(), inode);
    assert!(again.all_text().find("wrote ").is_none());
    let r = recipe(
        "[]",
        &caps(dir.path()),
        &format!(r#"write_if_changed("{}", "y\n", 0o4755)"#, file.display()),
    );
    let e = run(&r, serde_json::json!({})).error().to_owned();
    assert!(
        e.starts_with("write_if_changed(): mode 4755 is refused"),
        "{e}"
    );
}

#[test]
fn in_plan_mode_the_helpers_read_for_real_and_record_only_the_writes_that_would_change() {
    let dir = util::tempdir();
    let allowed = dir.path().join("allowed");
    std::fs::create_dir_all(&allowed).unwrap();
    std::fs::write(allowed.join("same"), "A='1'\n").unwrap();
    std::fs::set_permissions(allowed.join("same"), PermissionsExt::from_mode(0o644)).unwrap();
    let r = recipe(
        "[]",
        &caps(dir.path()),
        &format!(
            r#"let d = "{}";
               [kv_write(d + "/same", #{{ A: 1 }}, 0o644), kv_write(d + "/new", #{{ A: 1 }}, 0o600),
                write_if_changed(d + "/same", "other"), kv_read(d + "/same").A]"#,
            allowed.display()
        ),
    );
    let planned = plan(&r, serde_json::json!({}));
    assert_eq!(
        planned.value(),
        &serde_json::json!([false, true, true, "1"])
    );
    let writes: Vec<(String, u32)> = planned
        .plan
        .iter()
        .map(|a| match a {
            PlannedAction::WriteFile { path, mode, .. } => (path.clone(), *mode),
            other => panic!("{other:?}"),
        })
        .collect();
    let d = allowed.display();
    assert_eq!(
        writes,
        [(format!("{d}/new"), 0o600), (format!("{d}/same"), 0o644)]
    );
    assert!(!allowed.join("new").exists());
    assert_eq!(
        std::fs::read_to_string(allowed.join("same")).unwrap(),
        "A='1'\n"
    );
}

#[test]
fn every_path_helper_refuses_paths_outside_the_declared_ones_in_plan_mode_too() {
    let dir = util::tempdir();
    let outside = dir.path().join("outside");
    let dotdot = format!("{}/allowed/../outside", dir.path().display());
    for path in [outside.display().to_string(), dotdot, "/etc/passwd".into()] {
        for call in [
            format!(r#"kv_read("{path}")"#),
            format!(r#"kv_write("{path}", #{{ A: "1" }}, 0o644)"#),
            format!(r#"write_if_changed("{path}", "x")"#),
            format!(r#"backup_state("{path}")"#),
            format!(r#"cron_schedule_of("{path}", "/x")"#),
        ] {
            let r = recipe("[]", &caps(dir.path()), &call);
            for ran in [
                run(&r, serde_json::json!({})),
                plan(&r, serde_json::json!({})),
            ] {
                assert!(
                    ran.error()
                        .starts_with(&format!("the recipe may not write {path}")),
                    "{call}: {}",
                    ran.error()
                );
                assert!(ran.plan.is_empty());
            }
        }
    }
    assert!(!outside.exists());
}

#[test]
fn backup_paths_normalises_the_list_and_names_the_first_path_it_refuses() {
    let dir = util::tempdir();
    let a = dir.path().join("a");
    let b = dir.path().join("b-c.d");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::write(&b, "x").unwrap();
    let call = |text: &str| {
        let r = recipe("[]", "[]", &format!("backup_paths({})", lit(text)));
        run(&r, serde_json::json!({}))
    };
    let list = format!("  {}   {}\t", a.display(), b.display());
    assert_eq!(
        call(&list).value(),
        &format!("{}\n{}", a.display(), b.display())
    );
    // One a line, a path may hold a space (the scripts quote it).
    let spaced = dir.path().join("My Files");
    std::fs::create_dir_all(&spaced).unwrap();
    let list = format!("{}\n\n  {}\n", spaced.display(), a.display());
    assert_eq!(
        call(&list).value(),
        &format!("{}\n{}", spaced.display(), a.display())
    );
    let gone = dir.path().join("gone");
    for (text, why) in [
        (gone.display().to_string(), "does not exist on this server"),
        ("etc".into(), "give absolute folders or files below /"),
        ("/".into(), "give absolute folders or files below /"),
        ("//".into(), "give absolute folders or files below /"),
        ("/etc/../root".into(), "contains a . or .. component"),
        ("/etc/*".into(), "may contain only letters, digits"),
        ("/etc/$(reboot)".into(), "may contain only letters, digits"),
        ("/etc/a'b".into(), "may contain only letters, digits"),
        ("   ".into(), "nothing to back up"),
    ] {
        let e = call(&text).error().to_owned();
        assert!(e.contains(why), "{text}: {e}");
    }
}

#[test]
fn backup_state_types_what_the_script_recorded() {
    let dir = util::tempdir();
    let allowed = dir.path().join("allowed");
    std::fs::create_dir_all(&allowed).unwrap();
    std::fs::write(
        allowed.join("state"),
        "last_run_at='1732590000'\nlast_run_ok='true'\nlast_restore_test_at=''\n\
         last_restore_test_ok='false'\nlast_snapshot='20241126T030000Z'\n",
    )
    .unwrap();
    let r = recipe(
        "[]",
        &caps(dir.path()),
        &format!(
            r#"[backup_state("{0}/state"), backup_state("{0}/missing")]"#,
            allowed.display()
        ),
    );
    let v = run(&r, serde_json::json!({})).value().clone();
    assert_eq!(
        v[0],
        serde_json::json!({"last_run_at": 1732590000, "last_run_ok": true,
            "last_restore_test_at": null, "last_restore_test_ok": false,
            "snapshot": "20241126T030000Z"})
    );
    assert_eq!(
        v[1],
        serde_json::json!({"last_run_at": null, "last_run_ok": null,
            "last_restore_test_at": null, "last_restore_test_ok": null, "snapshot": null})
    );
}
