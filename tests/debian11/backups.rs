//! The backup recipes in the Debian 11 system: `rsync.rhai` to an SSH server and `s3.rhai`
//! (restic) to moto's S3 server. The recipe runs inside the bullseye chroot (its rsync, ssh,
//! restic, cron from bullseye); the targets run on this host on loopback (the chroot shares
//! its network), started by the same code as the Debian 12 tests (`servers`). Configure
//! installs and writes the settings, the key and the schedule and runs no backup (its time is
//! the row's "through Cairn" figure); the first backup and its restore test follow as their own
//! job (`action=first_backup`, as the control plane starts it). Each proves a restore byte for
//! byte, checks the cron job's script (exactly the recipe's template, root's,
//! not writable by anyone else), and a second configure that changes nothing; the S3 secret
//! key and restic's password appear on no sampled command line, in no log and not on the
//! console. The configure is held to the four findings of `cairn-recipe test` too
//! ([`findings`](super::findings)): its plan named all it did, `detect()` agrees (rsync's names
//! no version: its state is the backup's, not a program's), and the second configure's record
//! is empty.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use cairn_e2e::debian11::Debian11;
use cairn_e2e::repo_root;
use serde_json::Value;

use super::{
    Case, CmdlineSampler, RUNTIME, assert_secret_absent, bare_apt_seconds, beyond_apt, commands,
    findings, planned_apt, predownload, prepare, recipe_cmd, record, run, wanted,
};
use cairn_test_support::backup::{
    ACCESS_KEY_ID, BUCKET, SSH_USER, assert_same_files, authorize_key, ensure_ssh_user,
    random_text, snapshots, source_tree, ssh_target_dir, start_moto, start_sshd,
};
use cairn_test_support::net::free_port;

/// The folder inside that is backed up.
const SOURCE: &str = "/srv/cairn-source";

/// Parameters built at run time (ports, paths) as the `'static` slice a [`Case`] holds.
fn leak(params: Vec<String>) -> &'static [&'static str] {
    Box::leak(
        params
            .into_iter()
            .map(|p| &*Box::leak(p.into_boxed_str()))
            .collect::<Vec<&'static str>>()
            .into_boxed_slice(),
    )
}

/// The script the cron job runs is exactly the recipe's template (the backtick literal of its
/// `script()`), a regular file owned by root, mode 0755 or 0700, in folders only root may
/// write; the cron file is root's, 0644, and runs that script.
fn assert_script(deb: &Debian11, provider: &str) {
    let inside = format!("/usr/local/lib/cairn/backup-{provider}");
    let path = deb.path(&inside);
    let meta = std::fs::symlink_metadata(&path).expect("the backup script");
    assert!(meta.file_type().is_file(), "{inside} is not a regular file");
    let mode = meta.permissions().mode() & 0o7777;
    assert!(
        meta.uid() == 0 && meta.gid() == 0 && (mode == 0o755 || mode == 0o700),
        "{inside}: uid {} gid {} mode {mode:04o}",
        meta.uid(),
        meta.gid()
    );
    for dir in [
        "/usr/local/lib/cairn",
        "/usr/local/lib",
        "/usr/local",
        "/usr",
        "/",
    ] {
        let m = std::fs::metadata(deb.path(dir)).expect("a folder of the script");
        assert!(
            m.uid() == 0 && m.permissions().mode() & 0o022 == 0,
            "{dir} is writable by someone other than root: uid {} mode {:04o}",
            m.uid(),
            m.permissions().mode() & 0o7777
        );
    }
    let recipe = std::fs::read_to_string(repo_root().join(format!("recipes/{provider}.rhai")))
        .expect("read the recipe");
    let template = recipe
        .split_once("fn script() {\n    `")
        .and_then(|(_, rest)| rest.split_once("`\n}"))
        .map(|(t, _)| t)
        .expect("the recipe's script() is one backtick literal");
    let written = std::fs::read_to_string(&path).expect("read the script");
    assert!(
        written == template,
        "{inside} is not the recipe's template ({} bytes written, {} in the recipe)",
        written.len(),
        template.len()
    );

    let cron = deb.path(&format!("/etc/cron.d/cairn-backup-{provider}"));
    let m = std::fs::symlink_metadata(&cron).expect("the cron file");
    assert!(
        m.file_type().is_file() && m.uid() == 0 && m.permissions().mode() & 0o7777 == 0o644,
        "{}: uid {} mode {:04o}",
        cron.display(),
        m.uid(),
        m.permissions().mode() & 0o7777
    );
    let text = std::fs::read_to_string(&cron).expect("read the cron file");
    assert!(
        text.lines()
            .any(|l| l.contains(&format!(" root {inside} run >>/var/log/cairn-backup-"))),
        "{text}"
    );
}

/// A configure run that changed the server and ran no backup: the first one is due.
fn assert_first_backup_due(run: &cairn_e2e::debian11::Run, result: &Value) {
    assert_eq!(result["changed"], true, "{}", run.text());
    assert_eq!(result["first_backup_due"], true, "{}", run.text());
    assert!(result["last_run_ok"].is_null(), "{}", run.text());
    assert!(
        !run.stdout.contains("Restore test passed"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("The first backup and its restore test run next as their own job"),
        "{}",
        run.stdout
    );
}

/// A first backup (`first_backup`) that backed up, and passed its restore test of the five
/// source files.
fn assert_backed_up_and_restore_tested(run: &cairn_e2e::debian11::Run, result: &Value) {
    assert_eq!(result["changed"], true, "{}", run.text());
    assert_eq!(result["last_run_ok"], true, "{}", run.text());
    assert_eq!(result["last_restore_test_ok"], true, "{}", run.text());
    assert!(
        run.stdout.contains("Restore test passed: all 5 files"),
        "{}",
        run.stdout
    );
}

/// openssh-server on this host (scripts/test installs it; a fresh machine may lack it).
fn host_sshd() {
    if Path::new("/usr/sbin/sshd").exists() {
        return;
    }
    let ok = std::process::Command::new("apt-get")
        .args([
            "install",
            "-y",
            "-q",
            "--no-install-recommends",
            "openssh-server",
        ])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "installing openssh-server on this host failed");
}

#[test]
fn rsync_on_debian_11() {
    if !wanted("rsync") {
        return;
    }
    host_sshd();
    ensure_ssh_user();
    let tmp = tempfile::Builder::new()
        .prefix("cairn-d11-rsync")
        .tempdir_in("/var/tmp")
        .expect("temp dir");
    let port = free_port();
    let _sshd = start_sshd(tmp.path(), port);
    let target = tmp.path().join("target");
    ssh_target_dir(&target);
    let target_dir = target.join("web-1");
    let target_param = format!("target={SSH_USER}@127.0.0.1:{}", target_dir.display());
    let case = Case {
        recipe: "rsync",
        params: leak(vec![
            target_param.clone(),
            format!("port={port}"),
            format!("paths={SOURCE}"),
            "schedule=15 2 * * *".into(),
            "keep=2".into(),
        ]),
        ..RUNTIME
    };
    let deb = prepare(&case);
    let source = deb.path(SOURCE);
    let files = source_tree(&source);
    // The packages downloaded beforehand, as for the bare column: both time the install, not
    // the archive (planned with a folder every fresh system has).
    let planned = Case {
        params: leak(vec![
            target_param.clone(),
            format!("port={port}"),
            "paths=/etc".into(),
        ]),
        ..case
    };
    predownload(&deb, &case, &planned_apt(&deb, &planned));
    let before = findings::detect(&deb, "rsync");
    let plan = findings::plan(&deb, &case);

    let action = |a: &str| Case {
        params: leak(vec![format!("action={a}")]),
        ..case
    };

    // 1. Configure installs rsync, makes the key and the schedule, and runs no backup.
    let (configured, result, cairn_secs) = run(&deb, &case);
    eprintln!("{}", configured.stdout);
    assert_first_backup_due(&configured, &result);
    findings::assert_plan_named_everything("rsync", &plan, &findings::last_done(&deb));
    assert!(
        commands(&configured)
            .iter()
            .any(|c| c.starts_with("$ apt-get")),
        "{}",
        configured.text()
    );
    let public = std::fs::read_to_string(deb.path("/etc/cairn/backup/rsync/id_ed25519.pub"))
        .expect("the public key");
    let public = public.trim();
    assert!(
        public.starts_with("ssh-ed25519 ") && configured.stdout.contains(public),
        "the console does not show the key {public}:\n{}",
        configured.text()
    );
    let private =
        std::fs::metadata(deb.path("/etc/cairn/backup/rsync/id_ed25519")).expect("the private key");
    assert_eq!(private.permissions().mode() & 0o7777, 0o600);
    let after = findings::detect(&deb, "rsync");
    assert!(after["last_run_at"].is_null());
    findings::assert_detect_agrees("rsync", &before, &after, &result, false);

    // The first backup stops: the target does not accept the key yet, and it says so.
    let refused = deb.bash(
        None,
        &recipe_cmd("run", &action("first_backup"), "--timings"),
    );
    assert!(
        !refused.ok,
        "the first backup should fail: {}",
        refused.text()
    );
    assert!(
        refused.stdout.contains("does not accept it yet") && refused.stdout.contains(public),
        "{}",
        refused.text()
    );

    // 2. Authorized on the target: the first backup backs up and proves the restore.
    authorize_key(tmp.path(), public);
    let (first, result, _) = run(&deb, &action("first_backup"));
    eprintln!("{}", first.stdout);
    assert_backed_up_and_restore_tested(&first, &result);
    let snaps = snapshots(&target_dir);
    assert_eq!(snaps.len(), 1, "{snaps:?}");
    let copy = target_dir
        .join(&snaps[0])
        .join(SOURCE.trim_start_matches('/'));
    assert_same_files(&source, &copy, &files);
    assert!(copy.join("link-to-conf").is_symlink());
    assert_script(&deb, "rsync");
    let d = findings::detect(&deb, "rsync");
    assert_eq!(d["installed"], true, "{d}");
    assert_eq!(d["last_run_ok"], true, "{d}");
    assert_eq!(d["last_restore_test_ok"], true, "{d}");
    assert_eq!(d["public_key"], public, "{d}");

    // The restore test on demand, and run now (retention keeps 2).
    let (_, tested, _) = run(&deb, &action("restore_test"));
    assert_eq!(tested["last_restore_test_ok"], true, "{tested}");
    std::fs::write(source.join("app.conf"), "listen 127.0.0.1:9090\n").expect("change a file");
    let (_, now, _) = run(&deb, &action("run_now"));
    assert_eq!(now["last_run_ok"], true, "{now}");
    let snaps = snapshots(&target_dir);
    assert_eq!(snaps.len(), 2, "{snaps:?}");
    assert_same_files(
        &source,
        &target_dir
            .join(&snaps[1])
            .join(SOURCE.trim_start_matches('/')),
        &files,
    );

    // 3. The same parameters again: nothing to do.
    let (second, again, _) = run(&deb, &case);
    assert!(commands(&second).is_empty(), "{}", second.text());
    findings::assert_changed_nothing(case.recipe, &findings::last_done(&deb), &again);
    let rsync = deb.bash(None, "rsync --version");
    let version = rsync
        .stdout
        .split_whitespace()
        .skip_while(|w| *w != "version")
        .nth(1)
        .unwrap_or("?")
        .to_owned();
    drop(deb);

    // 4. The apt-get work alone (planned with a folder every fresh system has).
    let (bare_secs, apt) = bare_apt_seconds(&planned);
    // The row is the configure's: the first backup is a job of its own.
    record(
        "rsync",
        &version,
        cairn_secs,
        bare_secs,
        beyond_apt(&configured.stderr),
        &apt,
    );
}

#[test]
fn s3_on_debian_11() {
    if !wanted("s3") {
        return;
    }
    let tmp = tempfile::Builder::new()
        .prefix("cairn-d11-s3")
        .tempdir_in("/var/tmp")
        .expect("temp dir");
    let port = free_port();
    let _moto = start_moto(tmp.path(), port);
    let endpoint = format!("endpoint=http://127.0.0.1:{port}");
    let common = |extra: &[&str]| {
        let mut p = vec![
            endpoint.clone(),
            format!("bucket={BUCKET}"),
            "region=eu-west-1".into(),
            format!("access_key_id={ACCESS_KEY_ID}"),
            "schedule=45 4 * * 0".into(),
            "keep=3".into(),
        ];
        p.extend(extra.iter().map(|e| (*e).to_owned()));
        leak(p)
    };
    let case = Case {
        recipe: "s3",
        params: common(&[
            &format!("paths={SOURCE}"),
            "file:secret_access_key=/root/cairn-s3-secret",
        ]),
        ..RUNTIME
    };
    let deb = prepare(&case);
    let source = deb.path(SOURCE);
    let files = source_tree(&source);
    // A fresh secret key, handed over in a 0600 file inside (moto accepts any).
    let secret = format!("{}/{}", random_text(20), random_text(19));
    let secret_file = deb.path("/root/cairn-s3-secret");
    std::fs::write(&secret_file, format!("{secret}\n")).expect("write the secret key");
    std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    // The packages downloaded beforehand, as for the bare column: both time the install, not
    // the archive (planned with a folder every fresh system has).
    let planned = Case {
        params: common(&["paths=/etc", "secret_access_key=planonlyplanonlyplanonly"]),
        ..case
    };
    predownload(&deb, &case, &planned_apt(&deb, &planned));
    let before = findings::detect(&deb, "s3");
    let plan = findings::plan(&deb, &case);

    let action = |a: &str| Case {
        params: leak(vec![format!("action={a}")]),
        ..case
    };

    // 1. Configure writes the settings, the credentials, the password and the schedule, and
    // runs no backup; the first backup (restic from bullseye) creates the repository, backs up
    // and proves the restore. Command lines are sampled through both.
    let sampler = CmdlineSampler::start();
    let (configured, result, cairn_secs) = run(&deb, &case);
    eprintln!("{}", configured.stdout);
    assert_first_backup_due(&configured, &result);
    findings::assert_plan_named_everything("s3", &plan, &findings::last_done(&deb));
    let after = findings::detect(&deb, "s3");
    assert!(after["last_run_at"].is_null());
    findings::assert_detect_agrees("s3", &before, &after, &result, true);
    let (first, result, _) = run(&deb, &action("first_backup"));
    let (cmdlines, samples) = sampler.finish();
    eprintln!("{}", first.stdout);
    assert_backed_up_and_restore_tested(&first, &result);
    let snapshot = result["snapshot"].as_str().expect("a snapshot").to_owned();

    // The secrets: 0600 files inside, nowhere else.
    let password = std::fs::read_to_string(deb.path("/etc/cairn/backup/s3/restic-password"))
        .expect("restic's password");
    assert_eq!(password.len(), 32);
    assert!(samples > 5, "the sampler ran only {samples} times");
    let logs = [
        deb.path("/var/log").display().to_string(),
        deb.path("/var/lib/cairn/backups/s3").display().to_string(),
        deb.path("/etc/cairn/backup/s3/settings")
            .display()
            .to_string(),
        deb.path("/etc/cron.d").display().to_string(),
        tmp.path().join("moto.log").display().to_string(),
    ];
    let logs: Vec<&str> = logs.iter().map(String::as_str).collect();
    for s in [&secret, &password] {
        for job in [&configured, &first] {
            assert!(
                !job.stdout.contains(s.as_str()),
                "a secret is on the console"
            );
            assert!(!job.stderr.contains(s.as_str()), "a secret is on stderr");
        }
        assert_secret_absent(s, &cmdlines, &logs);
    }
    assert_script(&deb, "s3");

    // restic itself (bullseye's) restores the snapshot: the source, byte for byte.
    let restore = deb.bash(
        None,
        &format!(
            "set -e; set -a; . /etc/cairn/backup/s3/credentials; set +a; \
             export AWS_ACCESS_KEY_ID={ACCESS_KEY_ID} \
             RESTIC_PASSWORD_FILE=/etc/cairn/backup/s3/restic-password \
             RESTIC_REPOSITORY=s3:http://127.0.0.1:{port}/{BUCKET}; \
             restic restore {snapshot} --target /root/restored"
        ),
    );
    assert!(restore.ok, "restic restore: {}", restore.text());
    assert_same_files(
        &source,
        &deb.path("/root/restored")
            .join(SOURCE.trim_start_matches('/')),
        &files,
    );
    let d = findings::detect(&deb, "s3");
    assert_eq!(d["installed"], true, "{d}");
    assert_eq!(d["last_run_ok"], true, "{d}");
    assert_eq!(d["last_restore_test_ok"], true, "{d}");
    let version = d["version"].as_str().expect("restic's version").to_owned();
    let own = deb.bash(None, "restic version");
    assert!(own.stdout.contains(&version), "{d} vs {}", own.stdout);

    // Run now and the restore test on demand.
    let (_, now, _) = run(&deb, &action("run_now"));
    assert_eq!(now["last_run_ok"], true, "{now}");
    assert_ne!(now["snapshot"].as_str(), Some(snapshot.as_str()));
    let (_, tested, _) = run(&deb, &action("restore_test"));
    assert_eq!(tested["last_restore_test_ok"], true, "{tested}");

    // 2. The same parameters again: nothing to do.
    let (second, again, _) = run(&deb, &case);
    assert!(commands(&second).is_empty(), "{}", second.text());
    findings::assert_changed_nothing(case.recipe, &findings::last_done(&deb), &again);
    drop(deb);

    // 3. The apt-get work alone (planned with a folder every fresh system has).
    let (bare_secs, apt) = bare_apt_seconds(&planned);
    record(
        "s3",
        &version,
        cairn_secs,
        bare_secs,
        beyond_apt(&configured.stderr),
        &apt,
    );
}
