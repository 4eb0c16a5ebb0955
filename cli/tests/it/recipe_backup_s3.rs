//! `recipes/s3.rhai` end to end on this machine (as root), against a real S3-compatible server:
//! moto's server (from PyPI; `scripts/test` installs it) on a loopback port. Configure writes
//! the settings, the credentials, the password and the schedule and says the first backup is
//! due (it runs none); `first_backup` creates the restic repository, backs up, and passes its
//! restore test; the test restores the
//! snapshot with restic itself and compares the files byte for byte; the secret key and the
//! repository password appear in no console line, no `/proc/*/cmdline` sampled during the run
//! and no log; detect() and the cron file report the schedule; `run_now` makes a new
//! snapshot; a second configure (with the secret key again, or without it) changes nothing;
//! once the bucket loses its data the restore test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::backup::{
    ACCESS_KEY_ID, BUCKET, assert_same_files, free_port, mode, objects, random_text, reset,
    run_fails, source_tree, start_moto,
};
use common::backup_steps::*;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A Python that has boto3 (moto's own, from `scripts/test`'s environment, or the one on PATH).
fn python_with_boto3() -> PathBuf {
    let venv = PathBuf::from("/opt/cairn-test/moto/bin/python");
    if venv.is_file() {
        return venv;
    }
    let (ok, out) = sh("python3", &["-c", "import boto3"]);
    assert!(ok, "no python3 with boto3 (moto[server] brings it): {out}");
    PathBuf::from("python3")
}

/// Flips one byte in the middle of each of `keys` (bit rot, same length), with signed S3
/// requests (boto3); the credentials travel in the environment.
fn overwrite_objects(port: u16, secret: &str, keys: &[String]) {
    let script = r#"
import os, sys, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"], region_name="eu-west-1")
for key in sys.argv[1:]:
    body = bytearray(s3.get_object(Bucket=os.environ["BUCKET"], Key=key)["Body"].read())
    body[len(body) // 2] ^= 0xFF
    s3.put_object(Bucket=os.environ["BUCKET"], Key=key, Body=bytes(body))
"#;
    let out = Command::new(python_with_boto3())
        .arg("-c")
        .arg(script)
        .args(keys)
        .env("ENDPOINT", format!("http://127.0.0.1:{port}"))
        .env("BUCKET", BUCKET)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "overwriting the packs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Restores `snapshot` with restic itself (credentials in its environment, from the files the
/// recipe wrote) into a fresh directory.
fn restic_restore(port: u16, secret: &str, snapshot: &str, into: &Path) {
    let out = Command::new("restic")
        .args(["restore", snapshot, "--target"])
        .arg(into)
        .env(
            "RESTIC_REPOSITORY",
            format!("s3:http://127.0.0.1:{port}/{BUCKET}"),
        )
        .env(
            "RESTIC_PASSWORD_FILE",
            "/etc/cairn/backup/s3/restic-password",
        )
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("RESTIC_CACHE_DIR", into.with_extension("cache"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "restic restore: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn s3_backs_up_with_restic_and_proves_the_restore_keeping_credentials_secret() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    reset("s3");
    let tmp = tempfile::Builder::new()
        .prefix("cairn-s3-e2e")
        .tempdir_in("/var/tmp")
        .unwrap();
    let port = free_port();
    let _moto = start_moto(tmp.path(), port);
    let source = tmp.path().join("source");
    let files = source_tree(&source);
    // A fresh secret key per run (moto accepts any).
    let secret = format!("{}/{}", random_text(20), random_text(19));

    let endpoint = format!("endpoint=http://127.0.0.1:{port}");
    let paths = format!("paths={}", source.display());
    // Handed over in a 0600 file: on the CLI's command line the sampler would find it (the
    // agent gets it inside a signed frame).
    let secret_file = tmp.path().join("secret-key");
    std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
    std::fs::set_permissions(
        &secret_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let secret_param = format!("file:secret_access_key={}", secret_file.display());
    let base = vec![
        endpoint.as_str(),
        paths.as_str(),
        "bucket=cairn-e2e",
        "region=eu-west-1",
        "access_key_id=AKIACAIRNE2E",
        "schedule=45 4 * * 0",
        "keep=3",
    ];
    let mut params = base.clone();
    params.push(secret_param.as_str());

    // Without the secret key the first configure cannot work, and says so before doing anything.
    let (err, _) = run_fails("s3", &base);
    assert!(err.contains("the secret access key is required"), "{err}");
    assert!(!Path::new("/etc/cairn/backup/s3/settings").exists());

    let sampler = CmdlineSampler::start();
    let configured = configure_runs_no_backup("s3", &params, "Creating the restic repository");
    eprintln!("{}", configured.stdout);
    let first = first_backup_passes("s3");
    let (cmdlines, samples) = sampler.finish();
    assert!(
        first.stdout.contains("Creating the restic repository"),
        "{}",
        first.stdout
    );
    let snapshot = first.result["snapshot"].as_str().unwrap().to_owned();
    assert!(!objects(port, "data/").is_empty(), "no data in the bucket");
    assert!(!objects(port, "snapshots/").is_empty());

    // Secrets: 0600 files on the server, nowhere else.
    assert_eq!(mode("/etc/cairn/backup/s3/credentials"), 0o600);
    assert_eq!(mode("/etc/cairn/backup/s3/restic-password"), 0o600);
    let password = std::fs::read_to_string("/etc/cairn/backup/s3/restic-password").unwrap();
    assert_eq!(password.len(), 32);
    assert!(
        std::fs::read_to_string("/etc/cairn/backup/s3/credentials")
            .unwrap()
            .contains(&secret)
    );
    assert!(samples > 5, "the sampler ran only {samples} times");
    for s in [&secret, &password] {
        for job in [&configured, &first] {
            assert!(
                !job.stdout.contains(s.as_str()),
                "a secret is on the console"
            );
            assert!(!job.stderr.contains(s.as_str()));
        }
        assert_secret_absent(
            s,
            &cmdlines,
            &[
                tmp.path().join("moto.log").to_str().unwrap(),
                "/var/lib/cairn/backups/s3",
                "/etc/cairn/backup/s3/settings",
                "/etc/cron.d/cairn-backup-s3",
            ],
        );
    }

    // The snapshot restored by restic itself is the source, byte for byte.
    let restored = tmp.path().join("restored");
    restic_restore(port, &secret, &snapshot, &restored);
    assert_same_files(
        &source,
        &restored.join(source.strip_prefix("/").unwrap()),
        &files,
    );

    // detect() and the schedule.
    let d = assert_backed_up_on_schedule("s3", "45 4 * * 0");
    assert!(
        version_output("restic", &["version"]).contains(d["version"].as_str().unwrap()),
        "{d}"
    );

    // Same parameters again (with the key, then without it): nothing changes or runs.
    let second = run("s3", &params);
    assert_nothing_changed(&second);
    let third = run("s3", &base);
    assert_nothing_changed(&third);
    assert!(
        third.stdout.contains("Keeping the secret access key"),
        "{}",
        third.stdout
    );

    // Run now: a new snapshot holding the changed file.
    std::fs::write(source.join("app.conf"), "listen 127.0.0.1:9090\n").unwrap();
    let sampler = CmdlineSampler::start();
    let now = run("s3", &["action=run_now"]);
    let (cmdlines, _) = sampler.finish();
    assert!(now.changed());
    let snapshot2 = now.result["snapshot"].as_str().unwrap().to_owned();
    assert_ne!(snapshot2, snapshot);
    for s in [&secret, &password] {
        assert!(!now.stdout.contains(s.as_str()));
        assert_secret_absent(s, &cmdlines, &[]);
    }
    let restored2 = tmp.path().join("restored2");
    restic_restore(port, &secret, &snapshot2, &restored2);
    assert_same_files(
        &source,
        &restored2.join(source.strip_prefix("/").unwrap()),
        &files,
    );
    // The schedule's job, run as cron runs it: a new snapshot, and a log without secrets.
    let cron_log = cron_job_saves_a_snapshot("s3");
    for s in [&secret, &password] {
        assert!(!cron_log.contains(s.as_str()));
    }
    assert_secret_absent(
        &secret,
        &Default::default(),
        &["/var/log/cairn-backup-s3.log"],
    );
    let after_cron = detect("s3");
    assert_eq!(after_cron["last_run_ok"], true, "{after_cron}");
    let snapshot3 = std::fs::read_to_string("/var/lib/cairn/backups/s3/state")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("last_snapshot='"))
        .unwrap()
        .trim_end_matches('\'')
        .to_owned();
    let restored3 = tmp.path().join("restored3");
    assert_ne!(snapshot3, snapshot2);
    restic_restore(port, &secret, &snapshot3, &restored3);
    assert_same_files(
        &source,
        &restored3.join(source.strip_prefix("/").unwrap()),
        &files,
    );

    let test = run("s3", &["action=restore_test"]);
    assert_eq!(test.result["last_restore_test_ok"], true);

    // Bit rot in the bucket: one byte flipped in every data pack, through the S3 API. The
    // restore test fails and detect() says so.
    let packs = objects(port, "data/");
    assert!(!packs.is_empty());
    overwrite_objects(port, &secret, &packs);
    let (err, _) = run_fails("s3", &["action=restore_test"]);
    assert!(
        err.contains(&format!("the restore test of snapshot {snapshot3} failed"))
            && err.contains("ciphertext verification failed")
            && err.contains("1 of 5 files differ or are missing")
            && err.contains("data/blob.bin"),
        "{err}"
    );
    assert_eq!(detect("s3")["last_restore_test_ok"], false);

    // A repository that this server's password does not open (the password file replaced):
    // the backup says so, and does not make a new repository over the old one.
    let keys = objects(port, "keys/");
    std::fs::write(
        "/etc/cairn/backup/s3/restic-password",
        "not-the-password-of-this-repository",
    )
    .unwrap();
    let (out, err) = run_fails("s3", &["action=run_now"]);
    assert!(
        out.contains(&format!(
            "✘ the repository s3:http://127.0.0.1:{port}/cairn-e2e exists but does not open with the password in /etc/cairn/backup/s3/restic-password"
        )),
        "{out}\n{err}"
    );
    assert!(!out.contains("Creating the restic repository"), "{out}");
    assert_eq!(
        objects(port, "keys/"),
        keys,
        "a key was added to the repository"
    );

    // Changed settings (keep): the last results were the previous configuration's, and are
    // not shown as this one's until its own first backup ends.
    std::fs::write("/etc/cairn/backup/s3/restic-password", &password).unwrap();
    let changed_params: Vec<&str> = params
        .iter()
        .map(|p| if *p == "keep=3" { "keep=4" } else { p })
        .collect();
    changed_settings_forget_the_old_results("s3", &changed_params);

    print_wall_times(&configured, &first, &second, &now, &test);
    reset("s3");
}

#[test]
fn s3_plans_the_same_on_every_supported_system_and_never_shows_the_key() {
    let _machine = common::machine_lock();
    let params = [
        "bucket=backups-web-1",
        "access_key_id=AKIAEXAMPLE",
        "secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
        "paths=/etc",
    ];
    let plans = plans_the_first_backup_as_its_own_job(
        "s3",
        &params,
        "/etc/cairn/backup/s3/credentials (mode 0600",
    );
    for (label, plan) in plans {
        assert!(!plan.contains("wJalrXUtnFEMI"), "{label}: {plan}");
    }
    let errors = refuses_each(
        "s3",
        &params,
        &[
            ("secret_access_key=short", "parameter `secret_access_key`"),
            (
                "secret_access_key=has'quote'inside",
                "parameter `secret_access_key`",
            ),
            ("bucket=Not_A_Bucket", "parameter `bucket`"),
            ("endpoint=ftp://example.org", "parameter `endpoint`"),
            ("endpoint=http://x;reboot", "parameter `endpoint`"),
            ("schedule=0 24 * * *", "the hour field `24`"),
        ],
    );
    for e in errors {
        assert!(!e.contains("has'quote'inside"), "{e}");
    }
}
