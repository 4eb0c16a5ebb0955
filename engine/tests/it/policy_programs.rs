//! Which programs a recipe may declare, and which file a policed name really starts (docs/threats.md
//! rows 16 and 30): a program without a policy cannot be declared; a file the recipe may write
//! is its own program whatever its name; a policed name that leads into the recipe's folders,
//! or to a file someone other than root controls, is refused just before it would start.
#![allow(clippy::unwrap_used)]

use crate::util;

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use cairn_engine::host::policy::{self, Kind};
use util::policy::{assert_refused, list, run_call};

fn parse(programs: &[&str], paths: &[&str]) -> Result<cairn_engine::Recipe, String> {
    let src = format!(
        r#"const RECIPE = #{{ id: "p", title: "P", category: "runtime", version: 1, estimated_size_mb: 1,
  os: [#{{ id: "debian", versions: ["12"] }}], capabilities: #{{ programs: {}, paths: {} }} }};
fn detect() {{ #{{ installed: false }} }}
fn install(params) {{ }}"#,
        list(programs),
        list(paths)
    );
    cairn_engine::Recipe::parse("p.rhai", &src).map_err(|e| e.to_string())
}

/// A script that creates `marker` when run, at `path`.
fn script(path: &Path, marker: &Path) {
    std::fs::write(path, format!("#!/bin/sh\ntouch {}\n", marker.display())).unwrap();
    std::fs::set_permissions(path, PermissionsExt::from_mode(0o755)).unwrap();
}

/// A file in /usr/local/sbin, the first folder of the search path, under a policed name nothing
/// on a test machine uses (each test its own), removed when dropped.
struct OnSearchPath(PathBuf);

impl OnSearchPath {
    fn new(name: &str) -> Self {
        let p = Path::new("/usr/local/sbin").join(name);
        assert!(
            std::fs::symlink_metadata(&p).is_err(),
            "{} exists; this test needs the name free",
            p.display()
        );
        Self(p)
    }
}

impl Drop for OnSearchPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn a_program_without_a_policy_cannot_be_declared() {
    for p in [
        "vim",
        "awk",
        "find",
        "make",
        "git",
        "nc",
        "socat",
        "/usr/bin/vim",
        "less",
        "cp",
        "dd",
        "install",
    ] {
        let e = parse(&[p], &[]).unwrap_err();
        assert!(e.contains("has no argument policy"), "{p}: {e}");
    }
}

#[test]
fn a_file_the_recipe_may_write_is_its_own_program_whatever_its_name() {
    let r = parse(&["/opt/cairn/x/tar", "tar"], &["/opt/cairn/x"]).unwrap();
    let caps = &r.meta.capabilities;
    assert!(matches!(
        policy::classify("/opt/cairn/x/tar", caps),
        Ok(Kind::Own)
    ));
    assert!(policy::describe("/opt/cairn/x/tar", caps).contains("runs anything, as root"));
    assert_eq!(
        policy::describe("tar", caps),
        "extracts archives into /opt/cairn/x"
    );

    // A name on the search path: declaring the file there makes the name the recipe's.
    let r = parse(&["tar"], &["/usr/local/bin/tar"]).unwrap();
    let d = policy::describe("tar", &r.meta.capabilities);
    assert!(
        d.contains("/usr/local/bin/tar") && d.contains("runs anything"),
        "{d}"
    );
    // The apt helpers then run the recipe's apt-get too, and the catalogue says so.
    let r = parse(&["apt-get"], &["/usr/local/sbin/apt-get"]).unwrap();
    assert!(matches!(
        policy::classify("apt-get", &r.meta.capabilities),
        Ok(Kind::Own)
    ));
    for (programs, path) in [
        (&["tar"][..], "/usr/local/bin/gzip"),
        (&["tar"], "/usr/local/bin"),
        (&["tar"], "/usr/local"),
        (&["tar"], "/usr"),
        (&["tar"], "/bin/tar/x"),
    ] {
        let e = parse(programs, &[path]).unwrap_err();
        assert!(e.contains("capabilities.paths"), "{path}: {e}");
    }
    // Files programs read as configuration where they start (`/`, HOME=/root), and the files
    // that decide what every program, or apt_install(), runs.
    for path in [
        "/etc",
        "/go.mod",
        "/.cargo/config.toml",
        "/root/.curlrc",
        "/root/.ssh",
        "/etc/apt/apt.conf.d/99cairn",
        "/etc/dpkg/dpkg.cfg.d/x",
        "/etc/ld.so.preload",
        "/etc/sudoers.d/x",
    ] {
        let e = parse(&["go"], &[path]).unwrap_err();
        assert!(e.contains("capabilities.paths"), "{path}: {e}");
    }
}

#[test]
fn a_policed_name_that_leads_into_the_recipes_folders_is_refused_before_it_starts() {
    let tmp = util::tempdir();
    let own = tmp.path().join("bin");
    std::fs::create_dir_all(&own).unwrap();
    let marker = tmp.path().join("marker");
    script(&own.join("docker"), &marker);
    // A name on the search path that links to a file the recipe may write (as
    // /usr/local/bin/go links into /opt/cairn/go once the go recipe ran).
    let link = OnSearchPath::new("php");
    symlink(own.join("docker"), &link.0).unwrap();
    let l = "php".to_owned();
    let e = assert_refused(
        &[&l],
        &[&own.display().to_string()],
        &run_call(&l, &["--version"], None),
        Some(&marker),
    );
    assert!(e.contains("a file this recipe may write"), "{e}");
    // detect() and wait_for() go through the same check.
    let r = util::recipe(
        &list(&[&l]),
        &list(&[&own.display().to_string()]),
        &format!("detect({}, [\"--version\"], \".*\")", util::policy::lit(&l)),
    );
    assert!(
        util::run(&r, serde_json::json!({}))
            .error()
            .contains("may not run")
    );
    assert!(!marker.exists());
}

#[test]
fn a_policed_program_someone_else_could_have_written_is_refused() {
    // Outside the search path a file named like a policed program may be anything.
    for p in [
        "/tmp/docker",
        "/usr/local/lib/x/tar",
        "/home/u/bin/python3",
        // PostgreSQL's own folders hold its clients, and only those, under a numeric version.
        "/usr/lib/postgresql/15/bin/tar",
        "/usr/lib/postgresql/x/bin/psql",
        "/usr/lib/postgresql/15/lib/psql",
        "/usr/lib/postgresql/15/bin/sub/psql",
        "/usr/lib/postgresql//bin/psql",
    ] {
        let e = parse(&[p], &[]).unwrap_err();
        assert!(e.contains("not in a folder of the search path"), "{p}: {e}");
        assert!(!e.contains("  "), "one space between words: {e}");
    }
    for p in [
        "/usr/lib/postgresql/15/bin/pg_isready",
        "/usr/lib/postgresql/9/bin/psql",
    ] {
        assert!(parse(&[p], &[]).is_ok(), "{p}");
    }
    // On it, but belonging to another user.
    let tmp = util::tempdir();
    let marker = tmp.path().join("marker");
    let theirs = OnSearchPath::new("java");
    script(&theirs.0, &marker);
    std::os::unix::fs::lchown(&theirs.0, Some(65534), Some(65534)).unwrap();
    let e = assert_refused(
        &["java"],
        &[],
        &run_call("java", &["--version"], None),
        Some(&marker),
    );
    assert!(e.contains("does not belong to root"), "{e}");
}

#[test]
fn the_recipes_own_program_runs_with_any_arguments() {
    let tmp = util::tempdir();
    let marker = tmp.path().join("marker");
    let own = tmp.path().join("tool");
    script(&own, &marker);
    let o = own.display().to_string();
    let r = util::recipe(
        &list(&[&o]),
        &list(&[&tmp.path().display().to_string()]),
        &run_call(&o, &["--anything", "-c", "goes"], None),
    );
    let ran = util::run(&r, serde_json::json!({}));
    assert!(
        matches!(ran.outcome, cairn_engine::Outcome::Succeeded { .. }),
        "{:?}",
        ran.outcome
    );
    assert!(marker.exists());
}

#[test]
fn a_policed_script_whose_interpreter_the_recipe_may_write_is_refused() {
    let tmp = util::tempdir();
    let marker = tmp.path().join("marker");
    // The recipe may write its "node"; a system script (here named pip) is run by it.
    let node = tmp.path().join("node");
    script(&node, &marker);
    let npm = OnSearchPath::new("pip");
    std::fs::write(&npm.0, format!("#!{}\n", node.display())).unwrap();
    std::fs::set_permissions(&npm.0, PermissionsExt::from_mode(0o755)).unwrap();
    let n = "pip".to_owned();
    let e = assert_refused(
        &[&n],
        &[&tmp.path().display().to_string()],
        &run_call(&n, &["--version"], None),
        Some(&marker),
    );
    assert!(
        e.contains("is a script run by") && e.contains("a file this recipe may write"),
        "{e}"
    );
}
