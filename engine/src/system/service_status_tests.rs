//! Unit tests of the service report's parsing and of the links and files it reads, on a tree
//! of their own (the real services are tested in `tests/it/service_report.rs`).

#![allow(clippy::unwrap_used)]

use std::os::unix::fs::symlink;

use super::*;
use crate::system::service_log::last_lines;

#[test]
fn a_start_link_is_s_two_digits_and_the_exact_name() {
    assert!(is_start_link("S01redis-server", "redis-server"));
    assert!(is_start_link("S20cron", "cron"));
    assert!(!is_start_link("K01redis-server", "redis-server"));
    assert!(!is_start_link("S01redis-server-extra", "redis-server"));
    assert!(!is_start_link("Sxxredis-server", "redis-server"));
    assert!(!is_start_link("S01", ""));
}

#[test]
fn enabled_at_boot_means_an_s_link_in_a_multi_user_runlevel() {
    let root = tempfile::tempdir().unwrap();
    for level in ["rc1.d", "rc2.d", "rc3.d"] {
        std::fs::create_dir_all(root.path().join("etc").join(level)).unwrap();
    }
    symlink("../init.d/cron", root.path().join("etc/rc1.d/S01cron")).unwrap();
    assert!(!rc_enabled(root.path(), "cron"), "rc1.d is single-user");
    symlink("../init.d/cron", root.path().join("etc/rc3.d/K01cron")).unwrap();
    assert!(
        !rc_enabled(root.path(), "cron"),
        "a K link stops, it does not start"
    );
    symlink("../init.d/cron", root.path().join("etc/rc2.d/S01cron")).unwrap();
    assert!(rc_enabled(root.path(), "cron"));
}

#[test]
fn a_service_without_an_init_script_is_not_installed() {
    let root = tempfile::tempdir().unwrap();
    let r = init_report("nosuch", None, root.path());
    assert_eq!(r.state, ServiceState::NotInstalled);
    assert_eq!((r.since, r.enabled, r.log), (None, None, None));
}

#[test]
fn the_start_time_comes_from_proc_stat_after_the_command_name() {
    // A command name with a space and a `)` must not shift the fields.
    let stat = "42 (my) proc) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 12345 0 0";
    assert_eq!(start_ticks(stat), Some(12345));
    assert_eq!(
        parse_btime("cpu 1 2\nbtime 1700000000\nprocesses 9\n"),
        Some(1_700_000_000)
    );
    assert_eq!(parse_btime("cpu 1 2\n"), None);
}

#[test]
fn this_process_started_after_the_machine_booted_and_not_in_the_future() {
    let me = std::process::id();
    let started = process_started(Path::new("/"), me).expect("our own start time");
    let boot = boot_time().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        started >= boot && started <= now,
        "{boot} <= {started} <= {now}"
    );
    assert!(process_alive(Path::new("/"), me));
    assert!(!process_alive(Path::new("/"), u32::MAX));
}

#[test]
fn systemctl_show_and_is_enabled_are_read_as_they_print() {
    let show =
        parse_show("LoadState=loaded\nActiveState=active\nActiveEnterTimestampMonotonic=5000000\n");
    assert_eq!(show.get("ActiveState").map(String::as_str), Some("active"));
    assert_eq!(
        show.get("ActiveEnterTimestampMonotonic")
            .map(String::as_str),
        Some("5000000")
    );
    assert_eq!(parse_is_enabled("enabled\n"), Some(true));
    assert_eq!(parse_is_enabled("disabled\n"), Some(false));
    assert_eq!(parse_is_enabled("masked\n"), Some(false));
    assert_eq!(parse_is_enabled("static\n"), None);
    assert_eq!(parse_is_enabled(""), None);
}

#[test]
fn the_newest_file_matching_a_star_is_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("postgresql-13-main.log");
    let new = dir.path().join("postgresql-15-main.log");
    std::fs::write(&old, "old").unwrap();
    std::fs::write(dir.path().join("postgresql-15-main.log.1"), "rotated").unwrap();
    std::fs::write(&new, "new").unwrap();
    let earlier = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(earlier)
        .unwrap();
    let pattern = dir.path().join("postgresql-*-main.log");
    assert_eq!(newest_match(&pattern), Some(new.clone()));
    assert_eq!(newest_match(&new), Some(new));
    assert_eq!(newest_match(&dir.path().join("nothing-*.log")), None);
}

#[test]
fn declarations_name_declared_services_and_files_where_logs_and_pids_live() {
    let declared = vec!["redis-server".to_owned()];
    let decl = |log: &str, pid: &str| {
        ServiceDecls::from([(
            "redis-server".to_owned(),
            ServiceDecl {
                log: Some(log.to_owned()),
                pid: Some(pid.to_owned()),
            },
        )])
    };
    assert!(
        check_decls(
            &decl(
                "/var/log/redis/redis-server.log",
                "/run/redis/redis-server.pid"
            ),
            &declared
        )
        .is_ok()
    );
    assert!(
        check_decls(
            &decl("/var/log/postgresql/postgresql-*-main.log", "/run/x.pid"),
            &declared
        )
        .is_ok()
    );
    let bad = [
        ("/etc/shadow", "/run/x.pid", "must lie under /var/log/"),
        (
            "/var/log/../../etc/shadow",
            "/run/x.pid",
            "without `.` or `..`",
        ),
        (
            "/var/log/*/x.log",
            "/run/x.pid",
            "one `*`, in the file name only",
        ),
        (
            "/var/log/x.log",
            "/root/x.pid",
            "must lie under /run/ or /var/run/",
        ),
        ("/var/log/", "/run/x.pid", "must name a file"),
    ];
    for (log, pid, why) in bad {
        let err = check_decls(&decl(log, pid), &declared).unwrap_err();
        assert!(err.contains(why), "{log} {pid}: {err}");
    }
    let err = check_decls(&decl("/var/log/x.log", "/run/x.pid"), &[]).unwrap_err();
    assert!(
        err.contains("capabilities.services does not declare"),
        "{err}"
    );
}

#[test]
fn a_log_tail_is_its_last_fifty_lines_without_control_characters() {
    let text: String = (1..=80).map(|i| format!("line {i}\n")).collect();
    let lines = last_lines(text.as_bytes());
    assert_eq!(lines.len(), 50);
    assert_eq!(lines.first().map(String::as_str), Some("line 31"));
    assert_eq!(lines.last().map(String::as_str), Some("line 80"));
    let odd = last_lines(b"a\x1b[31mred\tx\n\xffz\n");
    assert_eq!(odd, vec!["a[31mred\tx".to_owned(), "\u{fffd}z".to_owned()]);
    let long = last_lines("é".repeat(3000).as_bytes());
    assert_eq!(long[0].chars().count(), 2001);
}
