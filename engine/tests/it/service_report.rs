//! The Services card's reading of a real service: redis-server, stopped and started, disabled
//! and enabled at boot with its init script, and its log file read back. Without systemd only
//! (this project's CI); it needs root and Debian's redis-server, and skips, saying so, without
//! them. It changes a shared service: run it under the machine lock
//! (`flock -o /tmp/cairn-system.lock cargo test -p cairn-engine --test it service_report`). The
//! service is left as it was found.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use cairn_engine::Recipe;
use cairn_engine::system::service;
use cairn_engine::system::service_log::{self, NoLines};
use cairn_engine::system::service_status::{self, ServiceDecl, ServiceState};

use crate::common::{self, RealExec};

const NAME: &str = "redis-server";

/// Puts redis-server back as it was: running or not, started at boot or not.
struct Restore {
    running: bool,
    enabled: Option<bool>,
}

impl Drop for Restore {
    fn drop(&mut self) {
        let exec = RealExec::new();
        let _ = if self.running {
            service::start(&exec, NAME)
        } else {
            service::stop(&exec, NAME)
        };
        let _ = match self.enabled {
            Some(true) => service::enable(&exec, NAME),
            Some(false) => service::disable(&exec, NAME),
            None => Ok(()),
        };
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// What the shipped redis recipe declares about its service.
fn redis_decl() -> ServiceDecl {
    let recipe =
        Recipe::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../recipes/redis.rhai")).unwrap();
    recipe.meta.services.get(NAME).cloned().unwrap()
}

fn usable() -> bool {
    let why = if service::has_systemd() {
        "systemd is PID 1 here (this test reads init scripts)"
    } else if !common::is_root() {
        "it stops and starts redis-server and needs root"
    } else if !Path::new("/etc/init.d/redis-server").exists() {
        "redis-server is not installed"
    } else {
        return true;
    };
    eprintln!("skipping the redis-server service report test: {why}");
    false
}

#[test]
fn redis_server_is_reported_stopped_then_running_since_its_start_then_enabled_as_toggled_with_its_log()
 {
    if !usable() {
        return;
    }
    let _one = common::REDIS.lock().unwrap_or_else(|e| e.into_inner());
    let decl = redis_decl();
    let before = service_status::report(NAME, Some(&decl));
    assert_ne!(before.state, ServiceState::NotInstalled);
    let _restore = Restore {
        running: before.state == ServiceState::Running,
        enabled: before.enabled,
    };
    let exec = RealExec::new();

    service::stop(&exec, NAME).unwrap();
    let stopped = service_status::report(NAME, Some(&decl));
    assert_eq!(stopped.state, ServiceState::Stopped, "{stopped:?}");
    assert_eq!(stopped.since, None);

    let asked_at = unix_now();
    service::start(&exec, NAME).unwrap();
    // The init script returns when redis-server has forked; the daemon writes its pid file a
    // moment later, and the state is read from that file.
    let mut running = service_status::report(NAME, Some(&decl));
    for _ in 0..100 {
        if running.state == ServiceState::Running {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        running = service_status::report(NAME, Some(&decl));
    }
    assert_eq!(running.state, ServiceState::Running, "{running:?}");
    let since = running
        .since
        .expect("a running redis-server has a start time");
    // Started by this test: not before it asked (a second's rounding aside), not in the future.
    assert!(
        since + 1 >= asked_at && since <= unix_now(),
        "{since} vs {asked_at}"
    );

    service::disable(&exec, NAME).unwrap();
    assert_eq!(
        service_status::report(NAME, Some(&decl)).enabled,
        Some(false)
    );
    service::enable(&exec, NAME).unwrap();
    assert_eq!(
        service_status::report(NAME, Some(&decl)).enabled,
        Some(true)
    );

    // The log file the recipe declares, with the lines of the start above: redis writes its
    // pid at the head of each line.
    let pid = std::fs::read_to_string("/run/redis/redis-server.pid").unwrap();
    let tail = service_log::tail(NAME, Some(&decl)).unwrap();
    assert_eq!(tail.source, "/var/log/redis/redis-server.log");
    assert!(!tail.lines.is_empty() && tail.lines.len() <= service_log::LINES);
    let prefix = format!("{}:", pid.trim());
    assert!(
        tail.lines.iter().any(|l| l.starts_with(&prefix)),
        "no line of pid {pid} in {:#?}",
        tail.lines
    );
}

#[test]
fn a_service_without_a_declared_log_file_says_it_has_none_without_systemd() {
    if service::has_systemd() {
        eprintln!("skipping: systemd is PID 1 here, and the journal is every service's log");
        return;
    }
    let err = service_log::tail("mariadb", Some(&ServiceDecl::default())).unwrap_err();
    assert_eq!(err.kind, NoLines::NoLog);
    assert!(
        err.message.contains("writes no log file Cairn knows of"),
        "{}",
        err.message
    );
    let missing = ServiceDecl {
        log: Some("/var/log/cairn-no-such-service.log".into()),
        pid: None,
    };
    assert_eq!(
        service_log::tail("x", Some(&missing)).unwrap_err().kind,
        NoLines::Missing
    );
}
