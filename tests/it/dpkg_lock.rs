//! Another program holds dpkg's lock when a job wants to install a package: the job waits, says
//! on the dashboard who holds the lock, and goes on once it is released. Needs root (apt-get,
//! dpkg's lock); installs and then purges Debian's small `pv` package.

use std::process::{Command, Stdio};
use std::time::Duration;

use cairn_e2e::{Cluster, lines};
use cairn_test_support::process::hold_lock;
use serde_json::json;

/// Takes dpkg's frontend lock the way apt does (a POSIX write lock) until stdin closes; waits
/// first if another program (another test, an apt run) has it.
const HOLD_LOCK: &str = r#"
import fcntl, sys
f = open("/var/lib/dpkg/lock-frontend", "a")
fcntl.lockf(f, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()
"#;

fn pv_installed() -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f", "${Status}", "pv"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

/// Removes `pv` (waiting up to 5 minutes for dpkg's lock if another program has it).
fn purge_pv() -> bool {
    Command::new("apt-get")
        .args(["purge", "-y", "-q", "-o", "DPkg::Lock::Timeout=300", "pv"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Purges `pv` when the test ends, however it ends (never panics: it may run while the test
/// unwinds).
struct Cleanup;
impl Drop for Cleanup {
    fn drop(&mut self) {
        if pv_installed() && !purge_pv() {
            eprintln!("could not purge the pv package after the test");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_waits_for_the_dpkg_lock_says_who_holds_it_and_succeeds_once_released() {
    assert!(
        rustix::process::geteuid().is_root(),
        "this test installs a package and takes dpkg's lock: run it as root"
    );
    if pv_installed() {
        assert!(purge_pv(), "apt-get purge pv failed");
    }
    let _cleanup = Cleanup;

    let c = Cluster::start(&["pv"]).await;
    let mut holder = hold_lock(HOLD_LOCK, &[] as &[&str]);
    let pid = holder.id();

    let mut d = c.dashboard().await;
    let job = d
        .start_job("INSTALL_RUNTIME", &c.node_id, json!({"type": "pv"}))
        .await;
    let expected = format!(
        "Waiting for the package manager: /var/lib/dpkg/lock-frontend is held by process {pid} (python3)"
    );
    let waiting = d
        .recv_until(|m| m["jobId"] == job.as_str() && m["payload"]["message"] == expected.as_str())
        .await;
    assert_eq!(waiting["payload"]["stream"], "warn", "{waiting}");
    // The same wait as a state the page shows instead of a progress bar.
    let state = d
        .recv_until(|m| m["jobId"] == job.as_str() && m["type"] == "JOB_WAITING")
        .await;
    assert_eq!(state["payload"]["reason"], "package_manager", "{state}");
    assert_eq!(
        state["payload"]["holder"],
        format!("process {pid} (python3)").as_str(),
        "{state}"
    );

    // Still waiting a moment later: nothing installed, no terminal event.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!pv_installed(), "apt ran while the lock was held");
    let before_release = d.job_messages(&job).len();
    assert!(
        !d.seen
            .iter()
            .any(|m| m["jobId"] == job.as_str()
                && cairn_e2e::TERMINAL.iter().any(|t| m["type"] == *t)),
        "the job ended while the lock was held"
    );

    drop(holder.stdin.take());
    let _ = holder.wait();

    let end = d.wait_terminal(&job).await;
    assert_eq!(end["type"], "RUNTIME_INSTALLED", "{end}");
    assert!(pv_installed(), "pv is installed");
    let seen = d.job_messages(&job);
    assert!(seen.len() > before_release);
    assert!(
        seen.iter()
            .any(|m| m["type"] == "JOB_WAITING" && m["payload"]["reason"].is_null()),
        "the end of the wait is said too"
    );
    let info = lines(&seen, "info");
    assert!(
        info.iter()
            .any(|l| l == "The package manager is free again."),
        "{info:?}"
    );
    assert!(
        info.iter().any(|l| l.starts_with("Installed pv ")),
        "{info:?}"
    );
    let out: Vec<String> = [lines(&seen, "stdout"), lines(&seen, "stderr")].concat();
    assert!(out.iter().any(|l| l.starts_with("pv ")), "pv ran: {out:?}");
    let done = c.cp.wait_job_done(&c.cookie, &job).await;
    assert_eq!(done["status"], "succeeded", "{done}");
}
