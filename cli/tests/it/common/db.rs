//! Helpers for the database actions' tests (`db_actions_*.rs`): running one declared action of a
//! recipe with `cairn-recipe run --action`, and keeping a database server as the test found it
//! (started for the test when it was stopped, stopped again afterwards).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use super::{Run, cairn, push_params, recipe, result_of};

/// `cairn-recipe run RECIPE --action ACTION --param ...`: its output, whether it succeeded.
fn action_output(name: &str, action: &str, params: &[&str]) -> (bool, String, String) {
    let mut args = vec![
        "run".to_owned(),
        recipe(name).display().to_string(),
        "--action".to_owned(),
        action.to_owned(),
    ];
    push_params(&mut args, params);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = cairn(&argv);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs an action that must succeed.
pub fn run_action(name: &str, action: &str, params: &[&str]) -> Run {
    let start = std::time::Instant::now();
    let (ok, stdout, stderr) = action_output(name, action, params);
    assert!(ok, "{name} --action {action} failed:\n{stdout}\n{stderr}");
    Run {
        result: result_of(&stdout),
        stdout,
        stderr,
        took: start.elapsed(),
    }
}

/// Runs an action that must fail: its console and error (what the person reads), with no
/// command that changes anything started (only the `$ ` lines of what it ran).
pub fn action_refused(name: &str, action: &str, params: &[&str]) -> String {
    let (ok, stdout, stderr) = action_output(name, action, params);
    assert!(
        !ok,
        "{name} --action {action} {params:?} succeeded:\n{stdout}"
    );
    assert!(
        !stdout.lines().any(|l| l.starts_with("$ ")),
        "a refused action ran a command:\n{stdout}"
    );
    format!("{stdout}\n{stderr}")
}

/// `service NAME start|stop`, its output not captured: a daemon it starts must not hold the
/// test's pipes open.
fn service_ctl(service: &str, verb: &str) {
    let status = std::process::Command::new("service")
        .args([service, verb])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("service starts");
    assert!(status.success(), "service {service} {verb} failed");
}

/// A database server kept as found: started (by its init script) if it was stopped, and
/// stopped again when dropped.
pub struct Server {
    service: &'static str,
    started: bool,
}

impl Server {
    pub fn keep(service: &'static str, answers: fn() -> bool) -> Self {
        let started = !answers();
        if started {
            service_ctl(service, "start");
            for _ in 0..100 {
                if answers() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            assert!(answers(), "{service} did not answer after starting");
        }
        Self { service, started }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.started {
            service_ctl(self.service, "stop");
        }
    }
}

/// SQL as PostgreSQL's superuser over the local socket (the recipe's peer map lets root in):
/// its unaligned output, trimmed. Panics when psql fails.
pub fn pg_superuser(sql: &str) -> String {
    // As the postgres account (peer authentication), whatever Cairn's login map says yet: a
    // machine where PostgreSQL was installed before any recipe ran has none.
    let args = [
        "-u",
        "postgres",
        "--",
        "psql",
        "-X",
        "-h",
        "/run/postgresql",
        "-U",
        "postgres",
        "-d",
        "postgres",
        "-tA",
        "-c",
        sql,
    ];
    let (ok, out) = super::sh("runuser", &args);
    assert!(ok, "{sql}: {out}");
    out.trim().to_owned()
}
