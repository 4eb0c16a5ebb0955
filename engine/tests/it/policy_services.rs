//! Argument policies of the service managers and the small utilities (threats.md row 30):
//! systemctl only reports state (no `link`, `edit` with SYSTEMD_EDITOR, `enable --now FILE`,
//! `-H`), `service` only reports the status of a declared service whose script the recipe did
//! not write, daemons only print their version; `date` never sets the clock, `cat` and `pv`
//! read nothing outside the declared paths.
#![allow(clippy::unwrap_used)]

use crate::util;

use util::policy::{allows, assert_refused, list, refuses_all, run_call};

#[test]
fn systemctl_only_reports_state() {
    let tmp = util::tempdir();
    let unit = tmp.path().join("x.service");
    std::fs::write(
        &unit,
        "[Service]\nType=oneshot\nExecStart=/usr/bin/touch /tmp/cairn-x\n",
    )
    .unwrap();
    let u = unit.display().to_string();
    refuses_all(
        "systemctl",
        &[],
        &[
            &["link", &u],
            &["enable", "--now", &u],
            &["edit", "basic.target"],
            &["start", "ssh"],
            &["daemon-reload"],
            &["set-environment", "LD_PRELOAD=/tmp/x.so"],
            &["isolate", "rescue.target"],
            &["reboot"],
            &["kill", "cron"],
            &["-H", "root@x", "status", "cron"],
            &["status", "--host=x", "cron"],
            &["--root=/tmp", "is-enabled", "cron"],
            &["status", &u],
            &["is-active"],
        ],
    );
    let opts = r#"#{ env: #{ SYSTEMD_EDITOR: "/tmp/x" } }"#;
    let e = assert_refused(
        &["systemctl"],
        &[],
        &run_call("systemctl", &["is-active", "cron"], Some(opts)),
        None,
    );
    assert!(e.contains("SYSTEMD_EDITOR"), "{e}");
    allows("systemctl", &[], &["is-active", "--quiet", "--", "cron"]);
    allows(
        "systemctl",
        &[],
        &["show", "-p", "ActiveState", "--value", "cron"],
    );
    allows("systemctl", &[], &["--version"]);
}

#[test]
fn service_reports_the_status_of_declared_services_only() {
    let r = |services: &str, paths: &str, args: &[&str]| {
        let src = util::recipe_with(
            r#"["service"]"#,
            paths,
            services,
            "[]",
            &run_call("service", args, None),
        );
        util::plan(&src, serde_json::json!({}))
    };
    for (services, paths, args) in [
        (r#"["cron"]"#, "[]", &["cron", "start"][..]),
        (r#"["cron"]"#, "[]", &["ssh", "status"]),
        (r#"["cron"]"#, "[]", &["--status-all"]),
        (r#"["cron"]"#, "[]", &["cron", "status", "x"]),
        (
            r#"["mine"]"#,
            r#"["/etc/init.d/mine"]"#,
            &["mine", "status"],
        ),
    ] {
        let e = r(services, paths, args).error().to_owned();
        assert!(e.contains("may not run"), "{args:?}: {e}");
    }
    let ok = r(r#"["cron"]"#, "[]", &["cron", "status"]);
    assert!(
        matches!(ok.outcome, cairn_engine::Outcome::Succeeded { .. }),
        "{:?}",
        ok.outcome
    );
    refuses_all(
        "memcached",
        &[],
        &[&["-u", "root", "-p", "11211"], &["-d"], &["-V", "-o", "x"]],
    );
    allows("memcached", &[], &["-V"]);
}

#[test]
fn utilities_neither_set_the_clock_nor_read_outside_the_declared_paths() {
    let tmp = util::tempdir();
    let p = tmp.path().display().to_string();
    std::fs::write(tmp.path().join("f"), "inside\n").unwrap();
    std::os::unix::fs::symlink("/etc/shadow", tmp.path().join("shadow")).unwrap();
    let shadow = tmp.path().join("shadow").display().to_string();
    refuses_all(
        "date",
        &[],
        &[
            &["-s", "2030-01-01"],
            &["--set=2030-01-01"],
            &["010100002030"],
            &["-f", "/etc/shadow"],
            &["-r", "/etc/shadow"],
        ],
    );
    refuses_all(
        "cat",
        &[&p],
        &[&["/etc/shadow"], &[&shadow], &["-e", "/etc/shadow"]],
    );
    refuses_all("pv", &[&p], &[&["/etc/shadow"], &["-R", "1"]]);
    refuses_all("sleep", &[], &[&["--", "-1"], &["1x"], &[]]);
    refuses_all("seq", &[], &[&["x"], &["1", "2", "3", "4"]]);
    let opts = r#"#{ env: #{ CAIRN_X: "1" } }"#;
    assert_refused(
        &["printenv"],
        &[],
        &run_call("printenv", &[], Some(opts)),
        None,
    );
    assert_refused(
        &["printf"],
        &[],
        &run_call("printf", &["x"], Some(r#"#{ stdin: "y" }"#)),
        None,
    );

    let body = format!(
        "[{}.stdout, {}.stdout, {}.stdout]",
        run_call("cat", &[&format!("{p}/f")], None),
        run_call("cat", &[], Some(r#"#{ stdin: "piped" }"#)),
        run_call("date", &["-u", "-d", "@0", "+%Y"], None),
    );
    let ran = util::run(
        &util::recipe(&list(&["cat", "date"]), &list(&[&p]), &body),
        serde_json::json!({}),
    );
    assert_eq!(
        ran.value(),
        &serde_json::json!(["inside\n", "piped", "1970\n"])
    );
}
