//! The service helpers. Without systemd (containers, CI) they drive a throw-away init script the
//! test installs in /etc/init.d; that part needs root and skips, saying so, without it.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use cairn_engine::system::service;
use cairn_engine::{HostError, PlannedAction, Stream};
use common::RealExec;

const SCRIPT: &str = "/etc/init.d/cairn-test-svc";

/// A minimal LSB init script whose daemon is a `sleep` with a pidfile.
const SCRIPT_BODY: &str = r#"#!/bin/sh
### BEGIN INIT INFO
# Provides:          cairn-test-svc
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: Cairn test service
### END INIT INFO
PIDFILE=/run/cairn-test-svc.pid
running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
case "$1" in
  start) running || { sleep 600 >/dev/null 2>&1 </dev/null & echo $! > "$PIDFILE"; } ;;
  stop) if running; then kill "$(cat "$PIDFILE")"; fi; rm -f "$PIDFILE" ;;
  restart) "$0" stop; "$0" start ;;
  status) if running; then echo running; exit 0; else echo stopped; exit 3; fi ;;
  *) echo "usage: $0 start|stop|restart|status" >&2; exit 2 ;;
esac
"#;

/// Removes the test service, its daemon and its runlevel links.
struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        if Path::new(SCRIPT).exists() {
            let _ = std::process::Command::new(SCRIPT).arg("stop").status();
            let _ = std::process::Command::new("update-rc.d")
                .args(["-f", "cairn-test-svc", "remove"])
                .status();
            let _ = std::fs::remove_file(SCRIPT);
        }
    }
}

#[test]
fn refuses_invalid_service_names() {
    for bad in ["-h", "--now", "redis;reboot", "a b", "", "../x", "nginx\n"] {
        let exec = RealExec::new();
        for result in [
            service::start(&exec, bad),
            service::stop(&exec, bad),
            service::restart(&exec, bad),
            service::enable(&exec, bad),
            service::is_running(&exec, bad).map(|_| ()),
        ] {
            assert!(matches!(result, Err(HostError::Invalid(_))), "{bad:?}");
        }
        assert!(exec.ran.lock().unwrap().is_empty());
        assert!(exec.queries.lock().unwrap().is_empty());
    }
    assert!(service::validate_name("postgresql@15-main").is_ok());
    assert!(service::validate_name("redis-server.service").is_ok());
}

#[test]
fn init_script_start_status_stop() {
    if service::has_systemd() {
        eprintln!("skipping init_script_start_status_stop: systemd is PID 1 here");
        return;
    }
    if !common::is_root() {
        eprintln!("skipping init_script_start_status_stop: it writes /etc/init.d and needs root");
        return;
    }
    let _cleanup = Cleanup;
    std::fs::write(SCRIPT, SCRIPT_BODY).unwrap();
    std::fs::set_permissions(SCRIPT, std::fs::Permissions::from_mode(0o755)).unwrap();
    let name = "cairn-test-svc";
    let exec = RealExec::new();

    assert!(!service::is_running(&exec, name).unwrap());
    service::start(&exec, name).unwrap();
    assert!(service::is_running(&exec, name).unwrap());
    // Starting a running service is a no-op, not an error.
    service::start(&exec, name).unwrap();
    let pid = std::fs::read_to_string("/run/cairn-test-svc.pid").unwrap();
    service::restart(&exec, name).unwrap();
    assert!(service::is_running(&exec, name).unwrap());
    assert_ne!(
        std::fs::read_to_string("/run/cairn-test-svc.pid").unwrap(),
        pid,
        "restart did not start a new daemon"
    );
    service::stop(&exec, name).unwrap();
    assert!(!service::is_running(&exec, name).unwrap());

    service::enable(&exec, name).unwrap();
    assert!(Path::new("/etc/rc2.d/S01cairn-test-svc").exists());

    let services = exec.ran_program("service");
    assert_eq!(services[0].args, ["cairn-test-svc", "start"]);
    assert!(
        exec.lines_of(Stream::Info)
            .iter()
            .any(|l| l == "systemd is not PID 1 here: using the init script")
    );
}

#[test]
fn missing_init_script_is_a_clear_error() {
    if service::has_systemd() {
        return;
    }
    let exec = RealExec::new();
    let err = service::start(&exec, "cairn-no-such-service").unwrap_err();
    assert!(matches!(err, HostError::ServiceNotFound { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("no init script /etc/init.d/cairn-no-such-service")
    );
    assert!(exec.ran.lock().unwrap().is_empty());
    assert!(!service::is_running(&exec, "cairn-no-such-service").unwrap());
}

#[test]
fn plan_mode_records_service_commands() {
    let exec = RealExec::plan();
    service::start(&exec, "cairn-not-installed-yet").unwrap();
    service::restart(&exec, "cairn-not-installed-yet").unwrap();
    assert!(exec.ran.lock().unwrap().is_empty());
    let planned = exec.planned.lock().unwrap().clone();
    let (program, verb) = if service::has_systemd() {
        ("systemctl", vec!["start", "--", "cairn-not-installed-yet"])
    } else {
        ("service", vec!["cairn-not-installed-yet", "start"])
    };
    assert_eq!(planned.len(), 2);
    assert_eq!(
        planned[0],
        PlannedAction::Run {
            program: program.to_owned(),
            args: verb.into_iter().map(String::from).collect(),
            stdin: false,
        }
    );
}
