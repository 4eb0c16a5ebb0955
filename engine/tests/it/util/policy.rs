//! Helpers for the argument-policy tests (`tests/policy_*.rs`): build a call as Rhai source,
//! and assert that it is refused before anything starts, for real and in a plan, or that it is
//! allowed.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use cairn_engine::Stream;

/// A Rhai string literal for `s`.
pub fn lit(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// `run("program", ["a", "b"])` (or `detect(…)` with a pattern), as Rhai source; `opts` is a
/// Rhai map literal for `run()`'s options.
pub fn run_call(program: &str, args: &[&str], opts: Option<&str>) -> String {
    let args: Vec<String> = args.iter().map(|a| lit(a)).collect();
    match opts {
        Some(o) => format!("run({}, [{}], {o})", lit(program), args.join(", ")),
        None => format!("run({}, [{}])", lit(program), args.join(", ")),
    }
}

/// A Rhai array literal of strings.
pub fn list(items: &[&str]) -> String {
    format!(
        "[{}]",
        items.iter().map(|i| lit(i)).collect::<Vec<_>>().join(", ")
    )
}

/// Runs `body` in a recipe declaring `programs` and `paths`, in a plan and for real, and
/// asserts that both stop with the policy's refusal before starting anything: no command echoed,
/// nothing planned, and `marker` (what the payload would create) absent. Returns the error.
pub fn assert_refused(
    programs: &[&str],
    paths: &[&str],
    body: &str,
    marker: Option<&Path>,
) -> String {
    let r = super::recipe(&list(programs), &list(paths), body);
    let planned = super::plan(&r, serde_json::json!({}));
    let e = planned.error().to_owned();
    assert!(
        e.contains("may not run") && e.contains("nothing was started"),
        "the plan did not refuse {body}: {e}"
    );
    assert!(
        planned.plan.is_empty(),
        "the plan recorded {body}: {:?}",
        planned.plan
    );
    let ran = super::run(&r, serde_json::json!({}));
    let e = ran.error().to_owned();
    assert!(
        e.contains("may not run") && e.contains("nothing was started"),
        "the run did not refuse {body}: {e}"
    );
    assert!(
        ran.lines(Stream::Command).is_empty(),
        "{body} was started: {:?}",
        ran.lines(Stream::Command)
    );
    if let Some(m) = marker {
        assert!(
            !m.exists(),
            "{body} ran its payload: {} exists",
            m.display()
        );
    }
    e
}

/// Asserts that each call of `program` with one of `bad` argument vectors is refused (plan and
/// real run), in a recipe that declares `program` and `paths`.
pub fn refuses_all(program: &str, paths: &[&str], bad: &[&[&str]]) {
    for args in bad {
        assert_refused(&[program], paths, &run_call(program, args, None), None);
    }
}

/// Asserts that the policy lets `program` run with `args` (in a plan: nothing starts, so this
/// holds whether or not the program is installed here).
pub fn allows(program: &str, paths: &[&str], args: &[&str]) {
    let r = super::recipe(
        &list(&[program]),
        &list(paths),
        &run_call(program, args, None),
    );
    let planned = super::plan(&r, serde_json::json!({}));
    if let cairn_engine::Outcome::Failed { error, .. } = &planned.outcome {
        panic!("{program} {args:?} was refused: {error}");
    }
}

/// Runs `args` directly, outside Cairn, and asserts that it creates `marker`: the payload the
/// test then sends through Cairn is a live one. The marker is removed again.
pub fn payload_is_live(program: &str, args: &[&str], marker: &Path) {
    let _ = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    assert!(
        marker.exists(),
        "`{program} {args:?}` did not create {} even outside Cairn: the test's payload is dead",
        marker.display()
    );
    std::fs::remove_file(marker).unwrap();
}

/// A recipe folder (declared), a folder outside it, and a real archive holding `hello.txt`
/// and `bin/tool` (mode 4755 as archived: setuid), without an entry for the folder `bin`.
pub struct Scene {
    _tmp: tempfile::TempDir,
    pub declared: PathBuf,
    pub outside: PathBuf,
    pub archive: PathBuf,
}

impl Scene {
    pub fn new() -> Self {
        let tmp = super::tempdir();
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

    pub fn d(&self, rel: &str) -> String {
        self.declared.join(rel).display().to_string()
    }

    pub fn paths(&self) -> String {
        self.declared.display().to_string()
    }

    pub fn marker(&self) -> PathBuf {
        self.outside.join("marker")
    }
}

/// A path as a string, for argument lists.
pub fn s(p: &Path) -> String {
    p.display().to_string()
}
