//! Argument policies of the programs that change files: ln, rm, chmod, chown, mkdir, touch
//! (threats.md row 30; tar is in `policy_archives.rs`). Each GTFOBins "file write" variant (a path
//! outside the declared ones, through a link, a hard link, a setuid bit, `--reference`) is
//! refused before the program starts, for real and in a plan; what recipes do still works.
#![allow(clippy::unwrap_used)]

use crate::util;

use std::os::unix::fs::{PermissionsExt, symlink};

use util::policy::{Scene, allows, list, refuses_all, run_call, s};

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
