//! Day 2 of the backup recipes (issue 18), on this machine as root against real targets on
//! loopback (openssh-server for `rsync.rhai`, moto's S3 server for `s3.rhai`): the setup in its
//! order (make the key, test the connection, then configure), folders with spaces, restore
//! drills that the real cron daemon runs on their own schedule and whose result detect()
//! reports (a damaged target makes the next drill fail), the Change form's `settings`, empty
//! schedules refused, and `remove`, which takes the cron entry and the script and keeps the key
//! or the repository password unless asked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::backup::{
    BUCKET, SSH_USER as USER, authorize_key, configure_and_prove, free_port, objects, random_text,
    reset, rsync_bed, run_fails, snapshots, source_tree, start_moto,
};
use common::db::run_action;
use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// `cairn-recipe run RECIPE --action ACTION …`, which must fail: its console and stderr.
fn action_fails(name: &str, action: &str, params: &[&str]) -> String {
    let mut args = vec![
        "run".to_owned(),
        recipe(name).display().to_string(),
        "--action".to_owned(),
        action.to_owned(),
    ];
    push_params(&mut args, params);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = cairn(&argv);
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success(),
        "{name} --action {action} succeeded:\n{text}"
    );
    text
}

/// The `✘` line of a failed run: the sentence a person reads.
fn failure_line(out: &str) -> String {
    out.lines()
        .find(|l| l.starts_with("✘"))
        .unwrap_or_else(|| panic!("no failure line in:\n{out}"))
        .to_owned()
}

/// Whether the cron daemon runs (Debian's `service cron status`).
fn cron_running() -> bool {
    sh("service", &["cron", "status"]).0
}

/// Starts cron for the drills when it is not running (configure starts it too); the test
/// reads `cron_running()` before anything else and `stop_cron_if` puts it back as found.
fn ensure_cron() {
    if !cron_running() {
        assert!(sh("service", &["cron", "start"]).0, "cron does not start");
    }
}

fn stop_cron_if(was_running: bool) {
    if !was_running {
        sh("service", &["cron", "stop"]);
    }
}

/// Waits (up to three cron minutes) for a drill newer than `after`, as detect() reports it.
fn next_drill(provider: &str, after: u64) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(200);
    loop {
        let d = detect(provider);
        if d["drill"]["last_at"].as_u64().is_some_and(|t| t > after) {
            return d;
        }
        assert!(
            Instant::now() < deadline,
            "cron ran no restore drill after {after} within 200 s: {d}"
        );
        std::thread::sleep(Duration::from_secs(3));
    }
}

#[test]
fn rsync_is_set_up_in_order_drilled_by_cron_and_removed_keeping_its_key() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    reset("rsync");
    let cron_was_running = cron_running();
    let bed = rsync_bed("cairn-drills");
    let (tmp, port, source) = (&bed.tmp, bed.port, &bed.source);
    // A folder with spaces in its name, backed up as one path of its own.
    let spaced = tmp.path().join("My Documents");
    std::fs::create_dir_all(spaced.join("Tax 2026")).unwrap();
    std::fs::write(spaced.join("Tax 2026/return final.txt"), "line 1\nline 2\n").unwrap();
    let target_dir = bed.target.join("web-1");
    let target_param = format!("target={USER}@127.0.0.1:{}", target_dir.display());
    let port_param = format!("port={port}");

    // 1. The key first: made once, its public half returned.
    let made = run_action("rsync", "make_key", &[]);
    let public = std::fs::read_to_string("/etc/cairn/backup/rsync/id_ed25519.pub").unwrap();
    let public = public.trim();
    assert!(public.starts_with("ssh-ed25519 "), "{public}");
    assert_eq!(made.result["public_key"], public, "{}", made.stdout);
    assert_eq!(made.result["changed"], true);
    let again = run_action("rsync", "make_key", &[]);
    assert_eq!(again.result["public_key"], public);
    assert_eq!(
        again.result["changed"], false,
        "a second make_key made another key"
    );

    // 2. The target does not accept the key yet: the test says so, with the key to add.
    let out = action_fails("rsync", "test_connection", &[&target_param, &port_param]);
    let err = failure_line(&out);
    assert!(
        err.contains("could not log in to")
            && err.contains("authorized_keys")
            && err.contains(public),
        "{err}"
    );
    // A closed port: a sentence about the port, not a debug dump.
    let closed = format!("port={}", free_port());
    let err = failure_line(&action_fails(
        "rsync",
        "test_connection",
        &[&target_param, &closed],
    ));
    assert!(err.contains("refused the connection on port"), "{err}");
    assert!(!Path::new("/etc/cron.d/cairn-backup-rsync").exists());

    // 3. Authorized: the test passes and says what it checked.
    authorize_key(tmp.path(), public);
    let ok = run_action("rsync", "test_connection", &[&target_param, &port_param]);
    let message = ok.result["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("the folder is there and rsync is installed"),
        "{}",
        ok.stdout
    );

    // 4. Empty schedules are refused with a sentence and change nothing.
    let paths = format!("paths={}\n{}", source.display(), spaced.display());
    let base = [
        target_param.as_str(),
        port_param.as_str(),
        paths.as_str(),
        "schedule=15 2 * * *",
        "keep=3",
    ];
    for (empty, why) in [
        ("schedule=", "the backup schedule is empty"),
        ("drill_schedule= ", "the restore drill schedule is empty"),
    ] {
        let mut p = base.to_vec();
        p.push(empty);
        let (out, _) = run_fails("rsync", &p);
        let err = failure_line(&out);
        assert!(err.contains(why) && err.contains("never replaced"), "{err}");
        assert!(!Path::new("/etc/cron.d/cairn-backup-rsync").exists());
    }

    // 5. Configure: both folders (one with spaces) backed up and restore-tested, a drill every
    //    minute.
    let mut params = base.to_vec();
    params.extend(["drill_schedule=* * * * *", "drill_max_age_days=2"]);
    let first = configure_and_prove("rsync", &params);
    assert_eq!(
        first.result["last_restore_test_ok"], true,
        "{}",
        first.stdout
    );
    let snap = snapshots(&target_dir).pop().unwrap();
    let copied = target_dir
        .join(&snap)
        .join(spaced.strip_prefix("/").unwrap())
        .join("Tax 2026/return final.txt");
    assert_eq!(
        std::fs::read_to_string(&copied).unwrap(),
        "line 1\nline 2\n"
    );
    let listed = std::fs::read_to_string("/etc/cairn/backup/rsync/paths").unwrap();
    assert_eq!(
        listed,
        format!("{}\n{}\n", source.display(), spaced.display())
    );
    let cron = std::fs::read_to_string("/etc/cron.d/cairn-backup-rsync").unwrap();
    assert!(
        cron.contains("\n* * * * * root /usr/local/lib/cairn/backup-rsync restore-test >>/var/log/cairn-backup-rsync.log 2>&1\n"),
        "{cron}"
    );
    let d = detect("rsync");
    assert_eq!(d["schedule"], "15 2 * * *", "{d}");
    assert_eq!(d["drill"]["schedule"], "* * * * *", "{d}");
    assert_eq!(d["drill"]["max_age_days"], 2, "{d}");
    assert_eq!(d["drill"]["last_ok"], true, "{d}");
    let s = &d["settings"];
    assert_eq!(
        s["paths"],
        serde_json::json!([source.display().to_string(), spaced.display().to_string()]),
        "{d}"
    );
    assert_eq!(s["target"], target_param.strip_prefix("target=").unwrap());
    assert_eq!(s["port"], port);
    assert_eq!(s["keep"], 3);
    assert_eq!(s["drill_schedule"], "* * * * *");
    assert!(!d.to_string().contains("PRIVATE KEY"), "{d}");

    // 6. The real cron daemon runs the drill by itself and records it.
    ensure_cron();
    let before = d["drill"]["last_at"].as_u64().unwrap();
    let drilled = next_drill("rsync", before);
    assert_eq!(drilled["drill"]["last_ok"], true, "{drilled}");
    let log = std::fs::read_to_string("/var/log/cairn-backup-rsync.log").unwrap();
    assert!(log.contains("Restore test passed"), "{log}");

    // 7. Damage on the target: the next drill fails and detect() says why.
    let damaged = target_dir
        .join(&snap)
        .join(spaced.strip_prefix("/").unwrap())
        .join("Tax 2026/return final.txt");
    std::fs::remove_file(&damaged).unwrap();
    let after = drilled["drill"]["last_at"].as_u64().unwrap();
    let failed = next_drill("rsync", after);
    assert_eq!(failed["drill"]["last_ok"], false, "{failed}");
    let why = failed["drill"]["last_error"].as_str().unwrap_or_default();
    assert!(
        why.contains("1 of 6 files differ or are missing") && why.contains("return final.txt"),
        "{failed}"
    );

    // 8. Remove: the cron entry and the script go; the key and the history stay.
    let removed = run_action("rsync", "remove", &["provider_name=rsync"]);
    assert!(
        removed
            .stdout
            .contains("the backup key stay on this server"),
        "{}",
        removed.stdout
    );
    assert!(!Path::new("/etc/cron.d/cairn-backup-rsync").exists());
    assert!(!Path::new("/usr/local/lib/cairn/backup-rsync").exists());
    assert!(Path::new("/etc/cairn/backup/rsync/id_ed25519").exists());
    assert!(Path::new("/var/lib/cairn/backups/rsync/state").exists());
    assert_eq!(detect("rsync")["installed"], false);
    let err = failure_line(&action_fails("rsync", "remove", &["provider_name=rsync"]));
    assert!(err.contains("there is nothing to remove"), "{err}");

    // 9. Configured again with the same key (still accepted), then removed with the key.
    let back = configure_and_prove("rsync", &params);
    assert_eq!(back.result["last_restore_test_ok"], true, "{}", back.stdout);
    assert_eq!(back.result["public_key"], public, "the key was kept");
    run_action(
        "rsync",
        "remove",
        &["provider_name=rsync", "delete_key=true"],
    );
    assert!(!Path::new("/etc/cairn/backup/rsync/id_ed25519").exists());
    assert!(!Path::new("/etc/cron.d/cairn-backup-rsync").exists());
    // Configure starts cron too: the test leaves it as it found it.
    stop_cron_if(cron_was_running);
    reset("rsync");
}

/// Deletes `keys` from the test bucket with signed S3 requests (boto3, which moto[server]
/// brings; the credentials travel in the environment).
fn delete_objects(port: u16, secret: &str, keys: &[String]) {
    let script = r#"
import os, sys, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"], region_name="eu-west-1")
for key in sys.argv[1:]:
    s3.delete_object(Bucket=os.environ["BUCKET"], Key=key)
"#;
    let venv = Path::new("/opt/cairn-test/moto/bin/python");
    let python = if venv.is_file() {
        venv
    } else {
        Path::new("python3")
    };
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .args(keys)
        .env("ENDPOINT", format!("http://127.0.0.1:{port}"))
        .env("BUCKET", BUCKET)
        .env("AWS_ACCESS_KEY_ID", "AKIACAIRNE2E")
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "deleting objects: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the cron file's drill line the way cron does (`/bin/sh -c`, an almost empty
/// environment); the drill's own result is for detect() to tell.
fn run_drill_as_cron(provider: &str) {
    let cron = std::fs::read_to_string(format!("/etc/cron.d/cairn-backup-{provider}")).unwrap();
    let line = cron
        .lines()
        .find(|l| l.contains("restore-test"))
        .unwrap_or_else(|| panic!("no drill line in {cron}"));
    let command = line.splitn(7, ' ').nth(6).unwrap();
    std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", "/root")
        .status()
        .unwrap();
}

#[test]
fn s3_tests_its_connection_drills_a_damaged_repository_and_keeps_its_password_on_remove() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    reset("s3");
    let cron_was_running = cron_running();
    let tmp = tempfile::Builder::new()
        .prefix("cairn-drills-s3")
        .tempdir_in("/var/tmp")
        .unwrap();
    let port = free_port();
    let _moto = start_moto(tmp.path(), port);
    let source = tmp.path().join("source files");
    source_tree(&source);
    let secret = format!("{}/{}", random_text(20), random_text(19));
    let secret_file = tmp.path().join("secret-key");
    std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
    let secret_param = format!("file:secret_access_key={}", secret_file.display());
    let endpoint = format!("endpoint=http://127.0.0.1:{port}");
    let conn = [
        endpoint.as_str(),
        "bucket=cairn-e2e",
        "region=eu-west-1",
        "access_key_id=AKIACAIRNE2E",
        secret_param.as_str(),
    ];

    // 1. Nothing listens there: the test says what to check.
    let closed = format!("endpoint=http://127.0.0.1:{}", free_port());
    let mut bad = conn.to_vec();
    bad[0] = closed.as_str();
    let err = failure_line(&action_fails("s3", "test_connection", &bad));
    assert!(
        err.contains("could not reach http://127.0.0.1:") && err.contains("firewall"),
        "{err}"
    );
    // 2. moto answers: no repository yet, the first backup makes it.
    let ok = run_action("s3", "test_connection", &conn);
    let said = ok.result["message"].as_str().unwrap_or_default();
    assert!(said.contains("the first backup makes it"), "{}", ok.stdout);
    assert!(
        !ok.stdout.contains(&secret),
        "the secret key reached the console"
    );

    // 3. Configure: a folder with a space (one path a line: a value without a line break is
    //    read as paths separated by spaces, as settings were written before), a drill schedule,
    //    settings without secrets.
    let paths = format!("paths={}\n", source.display());
    let mut params = conn.to_vec();
    params.extend([
        paths.as_str(),
        "schedule=45 4 * * 0",
        "drill_schedule=15 5 * * *",
        "keep=3",
    ]);
    let first = configure_and_prove("s3", &params);
    assert_eq!(
        first.result["last_restore_test_ok"], true,
        "{}",
        first.stdout
    );
    let d = detect("s3");
    assert_eq!(d["drill"]["schedule"], "15 5 * * *", "{d}");
    assert_eq!(d["drill"]["max_age_days"], 8, "{d}");
    assert_eq!(d["settings"]["bucket"], "cairn-e2e", "{d}");
    assert_eq!(d["settings"]["access_key_id"], "AKIACAIRNE2E", "{d}");
    assert_eq!(
        d["settings"]["paths"],
        serde_json::json!([source.display().to_string()])
    );
    let password = std::fs::read_to_string("/etc/cairn/backup/s3/restic-password").unwrap();
    assert!(!d.to_string().contains(&secret) && !d.to_string().contains(password.trim()));
    // With the stored secret (none given), the repository now opens with this server's password.
    let mut stored = conn.to_vec();
    stored.pop();
    let ok = run_action("s3", "test_connection", &stored);
    assert!(
        ok.result["message"]
            .as_str()
            .unwrap_or_default()
            .contains("opens with the password kept on this server"),
        "{}",
        ok.stdout
    );

    // 4. The repository's data is lost: the drill (cron's line) fails and detect() says why.
    let before = d["drill"]["last_at"].as_u64().unwrap();
    let packs = objects(port, "data/");
    assert!(!packs.is_empty());
    delete_objects(port, &secret, &packs);
    std::thread::sleep(Duration::from_secs(1));
    run_drill_as_cron("s3");
    let failed = detect("s3");
    assert!(
        failed["drill"]["last_at"].as_u64().unwrap() > before,
        "{failed}"
    );
    assert_eq!(failed["drill"]["last_ok"], false, "{failed}");
    let why = failed["drill"]["last_error"].as_str().unwrap_or_default();
    assert!(why.contains("the restore test of snapshot"), "{failed}");

    // 5. Remove: cron entry, script and the stored secret key go; the password stays.
    run_action("s3", "remove", &["provider_name=s3"]);
    assert!(!Path::new("/etc/cron.d/cairn-backup-s3").exists());
    assert!(!Path::new("/usr/local/lib/cairn/backup-s3").exists());
    assert!(!Path::new("/etc/cairn/backup/s3/credentials").exists());
    assert!(Path::new("/etc/cairn/backup/s3/restic-password").exists());
    assert_eq!(detect("s3")["installed"], false);
    // Configure starts cron: the test leaves it as it found it.
    stop_cron_if(cron_was_running);
    reset("s3");
}
