//! Argument policies of the programs that change files: tar, ln, rm, chmod, chown, mkdir, touch
//! (THREATS row 30). Each GTFOBins "shell", "command" and "file write" variant is refused before
//! tar or coreutils start, for real (a marker the payload would create must not appear) and in
//! a plan; what the shipped recipes do still works, for real.
#![allow(clippy::unwrap_used)]

mod util;

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

use util::policy::{allows, assert_refused, list, payload_is_live, refuses_all, run_call};

/// A recipe folder (declared), a folder outside it, and a real archive holding `hello.txt`
/// and `bin/tool` (mode 4755 as archived: setuid), without an entry for the folder `bin`.
struct Scene {
    _tmp: tempfile::TempDir,
    declared: PathBuf,
    outside: PathBuf,
    archive: PathBuf,
}

impl Scene {
    fn new() -> Self {
        let tmp = util::tempdir();
        let declared = tmp.path().join("declared");
        let outside = tmp.path().join("outside");
        let src = tmp.path().join("src");
        for d in [&declared, &outside, &src.join("bin")] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(src.join("hello.txt"), "hello\n").unwrap();
        std::fs::write(src.join("bin/tool"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(src.join("bin/tool"), PermissionsExt::from_mode(0o4755)).unwrap();
        let archive = declared.join("a.tar.gz");
        let ok = Command::new("tar")
            .arg("-C")
            .arg(&src)
            .args(["--no-recursion", "-czf"])
            .arg(&archive)
            // No entry for `bin` itself: extracting `bin/tool` goes through whatever `bin` is.
            .args(["hello.txt", "bin/tool"])
            .status()
            .unwrap();
        assert!(ok.success());
        Self {
            _tmp: tmp,
            declared,
            outside,
            archive,
        }
    }

    fn d(&self, rel: &str) -> String {
        self.declared.join(rel).display().to_string()
    }

    fn paths(&self) -> String {
        self.declared.display().to_string()
    }

    fn marker(&self) -> PathBuf {
        self.outside.join("marker")
    }
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

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

#[test]
fn ln_makes_only_symbolic_links_inside_the_declared_paths() {
    let sc = Scene::new();
    let p = sc.paths();
    let o = s(&sc.outside);
    std::fs::write(sc.declared.join("file"), "x").unwrap();
    symlink(&sc.outside, sc.declared.join("away")).unwrap();
    let file = sc.d("file");
    refuses_all(
        "ln",
        &[&p],
        &[
            &["/etc/shadow", &sc.d("shadow")],
            &["-f", &file, &sc.d("hard")],
            &["-s", "/etc", &sc.d("etc")],
            &["-s", "../../../../etc", &sc.d("etc")],
            &["-s", &file, "/etc/cron.d/x"],
            &["-s", &file, &format!("{o}/x")],
            &["-s", &file, &sc.d("away/x")],
            &["-s", &file, &sc.d("away")],
            &["-s", "-t", "/etc/cron.d", &file],
            &["-s", "--backup", "--suffix=x", &file, &sc.d("b")],
            &["-s", &file],
            &["-sL", &file, &sc.d("c")],
        ],
    );
    // go.rhai's form: a link inside, replacing an old one (-n), for real.
    let link = sc.d("link");
    symlink(&sc.outside, &link).unwrap();
    let body = run_call("ln", &["-sfn", &file, &link], None);
    let ran = util::run(
        &util::recipe(&list(&["ln"]), &list(&[&p]), &body),
        serde_json::json!({}),
    );
    assert!(
        matches!(ran.outcome, cairn_engine::Outcome::Succeeded { .. }),
        "{:?}",
        ran.outcome
    );
    assert_eq!(std::fs::read_link(&link).unwrap(), sc.declared.join("file"));
}

#[test]
fn rm_removes_only_under_the_declared_paths_and_never_through_a_link() {
    let sc = Scene::new();
    let p = sc.paths();
    std::fs::write(sc.outside.join("keep"), "x").unwrap();
    symlink(&sc.outside, sc.declared.join("away")).unwrap();
    refuses_all(
        "rm",
        &[&p],
        &[
            &["-rf", "/"],
            &["-rf", "--no-preserve-root", "/"],
            &["-rf", &s(&sc.outside)],
            &["-rf", &sc.d("away/keep")],
            &["-rf", &sc.d("away/")],
            &["-rf", &format!("{}/../outside", p)],
            &["-rf", "-I", &sc.d("x")],
            &[],
        ],
    );
    assert!(sc.outside.join("keep").exists());
    // rm -f LINK removes the link, not what it points to; rm -rf DIR removes the folder.
    std::fs::create_dir_all(sc.declared.join("old/sub")).unwrap();
    let body = format!(
        "{}; {}",
        run_call("rm", &["-f", "--", &sc.d("away")], None),
        run_call("rm", &["-rf", &sc.d("old")], None)
    );
    let ran = util::run(
        &util::recipe(&list(&["rm"]), &list(&[&p]), &body),
        serde_json::json!({}),
    );
    assert!(
        matches!(ran.outcome, cairn_engine::Outcome::Succeeded { .. }),
        "{:?}",
        ran.outcome
    );
    assert!(!sc.declared.join("away").exists() && !sc.declared.join("old").exists());
    assert!(sc.outside.join("keep").exists());
}

#[test]
fn chmod_chown_mkdir_and_touch_stay_inside_and_set_no_special_bits() {
    let sc = Scene::new();
    let p = sc.paths();
    let f = sc.d("f");
    std::fs::write(&f, "x").unwrap();
    std::fs::write(sc.outside.join("secret"), "x").unwrap();
    std::fs::set_permissions(sc.outside.join("secret"), PermissionsExt::from_mode(0o600)).unwrap();
    symlink(sc.outside.join("secret"), sc.declared.join("to-secret")).unwrap();
    symlink(&sc.outside, sc.declared.join("away")).unwrap();
    let to_secret = sc.d("to-secret");
    refuses_all(
        "chmod",
        &[&p],
        &[
            &["4755", &f],
            &["2755", &f],
            &["1777", &f],
            &["u+s", &f],
            &["g+s", &f],
            &["+t", &f],
            &["0777", "/etc/shadow"],
            &["0644", &to_secret],
            &["-R", "0777", &sc.d("away")],
            &["--reference=/etc/shadow", &f],
            &["0644"],
        ],
    );
    refuses_all(
        "chown",
        &[&p],
        &[
            &["nobody", "/etc/passwd"],
            &["nobody", &to_secret],
            &["-R", "-L", "nobody", &p],
            &["-H", "nobody", &p],
            &["--reference=/etc/shadow", &f],
            &["--from=root", "nobody", &f],
            &["nobody"],
        ],
    );
    refuses_all(
        "mkdir",
        &[&p],
        &[
            &["-p", "/etc/cron.d/x"],
            &["-m", "4777", &sc.d("d")],
            &["-m", "u+s", &sc.d("d")],
            &["--mode=1777", &sc.d("d")],
            &["-p", &sc.d("away/d")],
            &["-Z", &sc.d("d")],
        ],
    );
    refuses_all(
        "touch",
        &[&p],
        &[
            &["/etc/cron.d/x"],
            &[&sc.d("away/x")],
            &[&to_secret],
            &["-r", "/etc/shadow", &f],
        ],
    );
    let secret = std::fs::metadata(sc.outside.join("secret"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(secret & 0o777, 0o600);
    assert!(!sc.outside.join("x").exists() && !sc.outside.join("d").exists());

    // The forms recipes use, for real (rust.rhai's chmod, postgresql.rhai's chown).
    let body = [
        run_call("chmod", &["0755", &f], None),
        run_call("chown", &["root:root", &f], None),
        run_call("mkdir", &["-p", "-m", "0750", &sc.d("a/b")], None),
        run_call("touch", &[&sc.d("a/b/t")], None),
    ]
    .join("; ");
    let programs = list(&["chmod", "chown", "mkdir", "touch"]);
    let ran = util::run(
        &util::recipe(&programs, &list(&[&p]), &body),
        serde_json::json!({}),
    );
    assert!(
        matches!(ran.outcome, cairn_engine::Outcome::Succeeded { .. }),
        "{:?}",
        ran.outcome
    );
    assert_eq!(
        std::fs::metadata(&f).unwrap().permissions().mode() & 0o7777,
        0o755
    );
    assert!(sc.declared.join("a/b/t").exists());
    allows("chmod", &[&p], &["-R", "u=rwX,go=rX", &f]);
    allows("chown", &[&p], &["-h", "postgres:postgres", &to_secret]);
}
