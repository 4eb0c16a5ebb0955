//! `recipes/python.rhai` end to end on this machine (as root): gunicorn and uvicorn (and
//! whatever else of the set is missing) installed through `cairn-recipe run`, detect() agrees with
//! `python3 --version`, the servers run, a second run changes nothing. python3 itself is never
//! purged (the system needs it). Plans for every supported system.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;

#[test]
fn python_installs_gunicorn_and_uvicorn_and_a_second_run_changes_nothing() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    let (first, _) = runtime_e2e(
        "python",
        &[],
        &["gunicorn", "uvicorn", "python3-gunicorn", "python3-uvicorn"],
        &["/usr/bin/python3", "--version"],
    );
    let gunicorn = must("/usr/bin/gunicorn", &["--version"]);
    assert!(
        gunicorn.contains(first.result["gunicorn"].as_str().unwrap()),
        "{gunicorn}"
    );
    let uvicorn = must("/usr/bin/uvicorn", &["--version"]);
    assert!(
        uvicorn.contains(first.result["uvicorn"].as_str().unwrap()),
        "{uvicorn}"
    );
    // venv works with the system Python, and pip inside it.
    let dir = tempfile::tempdir().unwrap();
    let venv = dir.path().join("v");
    must(
        "/usr/bin/python3",
        &["-m", "venv", &venv.display().to_string()],
    );
    must(&venv.join("bin/pip").display().to_string(), &["--version"]);
}

#[test]
fn python_plans_for_every_supported_system() {
    let _machine = common::machine_lock();
    plan_everywhere("python", &[]);
}
