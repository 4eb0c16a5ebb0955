//! The argument policy of tar (threats.md row 30): GTFOBins' "shell" and "command" variants
//! (`--checkpoint-action=exec=`, `-I`, `--to-command`, `--rsh-command` and remote archives,
//! `--info-script`, `TAR_OPTIONS`) are refused before tar starts, for real (a marker the payload
//! creates outside Cairn must not appear) and in a plan; so are its "file write" variants (`-C /`,
//! `-P`, `--transform`, `--overwrite`, an existing link in the folder); the shipped recipes'
//! extractions still work, without setuid bits.
#![allow(clippy::unwrap_used)]

use crate::util;

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;

use util::policy::{Scene, assert_refused, list, payload_is_live, run_call, s};

#[test]
fn tar_checkpoint_actions_and_compress_programs_never_run_a_command() {
    let sc = Scene::new();
    let out = sc.d("x");
    std::fs::create_dir_all(&out).unwrap();
    let a = s(&sc.archive);
    let m = s(&sc.marker());
    let touch = format!("touch {m}");
    let base = [
        "-x",
        "-f",
        &a,
        "-C",
        &out,
        "--no-same-owner",
        "--no-same-permissions",
    ];
    let exec_action = format!("--checkpoint-action=exec={touch}");
    let compress = format!("sh -c '{touch}'");
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|x| (*x).to_owned()).collect()
    };
    // Outside Cairn these payloads run as root.
    let live = with(&["--checkpoint=1", &exec_action]);
    payload_is_live(
        "tar",
        &live.iter().map(String::as_str).collect::<Vec<_>>(),
        &sc.marker(),
    );
    let live = with(&["-I", &compress]);
    payload_is_live(
        "tar",
        &live.iter().map(String::as_str).collect::<Vec<_>>(),
        &sc.marker(),
    );

    let to_command = format!("--to-command={touch}");
    let use_compress = format!("--use-compress-program={compress}");
    let info = format!("--info-script={touch}");
    let volume = format!("--new-volume-script={touch}");
    let variants: Vec<Vec<String>> = vec![
        with(&["--checkpoint=1", &exec_action]),
        with(&[
            "--checkp=1",
            "--checkpoint-action",
            &format!("exec={touch}"),
        ]),
        with(&["-I", &compress]),
        with(&[&format!("-I{compress}")]),
        with(&[&use_compress]),
        with(&[&to_command]),
        with(&[&info]),
        with(&["-F", &touch]),
        with(&["-M", &volume]),
        with(&["--rsh-command=/bin/sh"]),
        vec![
            "-xf".into(),
            "localhost:/tmp/a.tar".into(),
            "-C".into(),
            out.clone(),
            "--no-same-owner".into(),
            "--no-same-permissions".into(),
            "--rsh-command=/bin/sh".into(),
        ],
        vec!["xf".into(), a.clone(), "-C".into(), out.clone()],
    ];
    for v in variants {
        let args: Vec<&str> = v.iter().map(String::as_str).collect();
        assert_refused(
            &["tar"],
            &[&sc.paths()],
            &run_call("tar", &args, None),
            Some(&sc.marker()),
        );
    }
    // The same through the environment or stdin.
    let env = format!(
        "#{{ env: #{{ TAR_OPTIONS: {} }} }}",
        util::policy::lit(&exec_action)
    );
    let e = assert_refused(
        &["tar"],
        &[&sc.paths()],
        &run_call("tar", &base, Some(&env)),
        Some(&sc.marker()),
    );
    assert!(e.contains("TAR_OPTIONS"), "{e}");
    assert_refused(
        &["tar"],
        &[&sc.paths()],
        &run_call("tar", &base, Some(r#"#{ stdin: "x" }"#)),
        None,
    );
}

#[test]
fn tar_writes_nowhere_but_a_declared_folder() {
    let sc = Scene::new();
    let a = s(&sc.archive);
    let o = s(&sc.outside);
    let out = sc.d("x");
    std::fs::create_dir_all(&out).unwrap();
    let tail = ["--no-same-owner", "--no-same-permissions"];
    let cases: Vec<Vec<&str>> = vec![
        vec!["-xzf", &a, "-C", "/", tail[0], tail[1]],
        vec!["-xzf", &a, "-C", &o, tail[0], tail[1]],
        vec!["-xzf", &a, tail[0], tail[1]],
        vec![
            "-xzf",
            &a,
            "-C",
            &out,
            "-C",
            "../../outside",
            tail[0],
            tail[1],
        ],
        vec!["-xzPf", &a, "-C", &out, tail[0], tail[1]],
        vec![
            "-xzf",
            &a,
            "-C",
            &out,
            "--transform",
            "s,^,/etc/,",
            tail[0],
            tail[1],
        ],
        vec!["-xzf", &a, "-C", &out, "--overwrite", tail[0], tail[1]],
        vec![
            "-xzf",
            &a,
            "-C",
            &out,
            "--index-file=/etc/cron.d/x",
            tail[0],
            tail[1],
        ],
        vec![
            "-xzf",
            &a,
            "-C",
            &out,
            "-g",
            "/etc/cron.d/x",
            tail[0],
            tail[1],
        ],
        vec!["-xzf", &a, "-C", &out, tail[0]],
        vec!["-xzf", &a, "-C", &out, "-p", tail[0], tail[1]],
        vec!["-xzf", &a, "-C", &out, tail[0], tail[1], "hello.txt"],
        vec!["-xzf", "-", "-C", &out, tail[0], tail[1]],
        vec!["-czf", &a, "-C", &out, tail[0], tail[1]],
    ];
    for args in cases {
        assert_refused(
            &["tar"],
            &[&sc.paths()],
            &run_call("tar", &args, None),
            None,
        );
    }
    assert!(std::fs::read_dir(&sc.outside).unwrap().next().is_none());
}

#[test]
fn tar_refuses_a_folder_with_a_link_leading_outside_which_it_would_write_through() {
    let sc = Scene::new();
    let out = sc.declared.join("x");
    std::fs::create_dir_all(&out).unwrap();
    // bin -> outside: the archive's bin/tool would land outside.
    symlink(&sc.outside, out.join("bin")).unwrap();
    let args = [
        "-xzf",
        &s(&sc.archive),
        "-C",
        &s(&out),
        "--no-same-owner",
        "--no-same-permissions",
    ];
    let live: Vec<&str> = args.to_vec();
    let ok = Command::new("tar").args(&live).status().unwrap();
    assert!(
        ok.success() && sc.outside.join("tool").exists(),
        "tar did not follow the link outside Cairn"
    );
    std::fs::remove_file(sc.outside.join("tool")).unwrap();
    let e = assert_refused(
        &["tar"],
        &[&sc.paths()],
        &run_call("tar", &args, None),
        Some(&sc.outside.join("tool")),
    );
    assert!(e.contains("leads outside the declared paths"), "{e}");
    // A folder that is itself a link is refused too.
    let linked = sc.declared.join("linked");
    symlink(&sc.outside, &linked).unwrap();
    let args = [
        "-xzf",
        &s(&sc.archive),
        "-C",
        &s(&linked),
        "--no-same-owner",
        "--no-same-permissions",
    ];
    assert_refused(
        &["tar"],
        &[&sc.paths()],
        &run_call("tar", &args, None),
        Some(&sc.outside.join("hello.txt")),
    );
}

#[test]
fn tar_extracts_the_way_the_shipped_recipes_do_without_setuid_bits() {
    let sc = Scene::new();
    let out = sc.d("x");
    std::fs::create_dir_all(&out).unwrap();
    let a = s(&sc.archive);
    // go.rhai's and node.rhai's forms, for real.
    let out2 = sc.d("y");
    std::fs::create_dir_all(&out2).unwrap();
    let body = format!(
        "{}; {}",
        run_call(
            "tar",
            &[
                "-C",
                &out,
                "--no-same-owner",
                "--no-same-permissions",
                "-xzf",
                &a
            ],
            None
        ),
        run_call(
            "tar",
            &[
                "-C",
                &out2,
                "--strip-components=1",
                "--no-same-owner",
                "--no-same-permissions",
                "-xzf",
                &a
            ],
            None
        ),
    );
    let ran = util::run(
        &util::recipe(&list(&["tar"]), &list(&[&sc.paths()]), &body),
        serde_json::json!({}),
    );
    assert!(
        matches!(ran.outcome, cairn_engine::Outcome::Succeeded { .. }),
        "{:?}",
        ran.outcome
    );
    assert_eq!(
        std::fs::read_to_string(format!("{out}/hello.txt")).unwrap(),
        "hello\n"
    );
    assert!(Path::new(&format!("{out2}/tool")).exists());
    let mode = std::fs::metadata(format!("{out}/bin/tool"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7000, 0, "tar restored a setuid bit: {mode:o}");
}
