//! `recipes/rsync.rhai` end to end on this machine (as root), against a real SSH server:
//! openssh-server (installed here with apt) runs on a loopback port with its own sshd_config,
//! for a test account. The first configure makes the backup key, writes the settings and the
//! schedule and says the first backup is due (it runs no backup itself); that first backup
//! (`first_backup`) fails, showing the key's public half, because the target does not accept
//! it yet; once it is authorized, `first_backup` runs the backup and its restore test, and the
//! snapshot on the target holds the files byte for byte. Then: detect(), the cron file,
//! `run_now` with retention, a second configure that changes nothing, restore tests that fail
//! after the target's copy is corrupted or loses a file, and a configure with changed settings
//! that does not show the previous configuration's results as its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::backup::{
    SSH_USER as USER, assert_same_files, authorize_key, mode, reset, rsync_bed, run_fails,
    snapshots,
};
use common::backup_steps::*;
use common::*;
use std::path::PathBuf;

#[test]
fn rsync_backs_up_over_ssh_and_proves_the_restore() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    reset("rsync");
    let bed = rsync_bed("cairn-rsync-e2e");
    let (tmp, port, source, files, target) =
        (&bed.tmp, bed.port, &bed.source, &bed.files, &bed.target);
    let target_dir = target.join("web-1");

    let target_param = format!("target={USER}@127.0.0.1:{}", target_dir.display());
    let port_param = format!("port={port}");
    let paths_param = format!("paths={}", source.display());
    let params = [
        target_param.as_str(),
        port_param.as_str(),
        paths_param.as_str(),
        "schedule=15 2 * * *",
        "keep=2",
    ];

    // 1. Configure installs, makes the key and the schedule, and runs no backup: the first
    // backup is due, as its own job.
    let configured = configure_runs_no_backup("rsync", &params, "Restore test passed");
    assert!(!target_dir.exists(), "configure logged in to the target");
    let public = std::fs::read_to_string("/etc/cairn/backup/rsync/id_ed25519.pub").unwrap();
    let public = public.trim();
    assert!(public.starts_with("ssh-ed25519 "), "{public}");
    assert!(
        configured.stdout.contains(public),
        "the console does not show the key:\n{}",
        configured.stdout
    );
    assert_eq!(detect("rsync")["installed"], true);

    // The target does not know the key yet: the first backup fails and says what to do, with
    // the key.
    let (out, _) = run_fails("rsync", &["action=first_backup"]);
    let err = out
        .lines()
        .find(|l| l.starts_with("✘"))
        .unwrap_or("")
        .to_owned();
    assert!(
        err.contains("does not accept it yet") && err.contains(public),
        "{err}"
    );
    assert_eq!(mode("/etc/cairn/backup/rsync/id_ed25519"), 0o600);
    let private = std::fs::read_to_string("/etc/cairn/backup/rsync/id_ed25519").unwrap();
    let private_body = private.lines().nth(1).unwrap();
    assert!(!out.contains(private_body));
    assert!(!configured.stdout.contains(private_body));
    let d = detect("rsync");
    assert_eq!(d["installed"], true, "{d}");
    assert_eq!(d["last_run_ok"], false, "{d}");
    assert_eq!(d["public_key"], public, "{d}");

    // 2. The user authorizes the key; the first backup backs up and restores.
    authorize_key(tmp.path(), public);
    let first = first_backup_passes("rsync");
    assert_eq!(first.result["public_key"], public);
    let snaps = snapshots(&target_dir);
    assert_eq!(snaps.len(), 1, "{snaps:?}");
    assert_eq!(first.result["snapshot"], snaps[0].as_str());
    // The copy on the target is the source, byte for byte (paths kept below the snapshot).
    let copy = |snap: &str| -> PathBuf {
        target_dir
            .join(snap)
            .join(source.strip_prefix("/").unwrap())
    };
    assert_same_files(source, &copy(&snaps[0]), files);
    assert!(copy(&snaps[0]).join("link-to-conf").is_symlink());

    // 3. detect() and the schedule.
    assert_backed_up_on_schedule("rsync", "15 2 * * *");

    // 4. A second configure with the same parameters changes nothing and starts nothing.
    let second = run("rsync", &params);
    assert_nothing_changed(&second);
    assert_eq!(snapshots(&target_dir).len(), 1);

    // 5. Run now, twice: new snapshots, the oldest beyond keep=2 removed. What an interrupted
    // run left on the target goes first.
    std::fs::write(source.join("app.conf"), "listen 127.0.0.1:9090\n").unwrap();
    let leftover = target_dir.join(".incomplete-20200101T000000Z");
    std::fs::create_dir_all(leftover.join("var")).unwrap();
    std::fs::write(leftover.join("var/half"), "half a copy").unwrap();
    assert!(sh("chown", &["-R", USER, leftover.to_str().unwrap()]).0);
    let now1 = run("rsync", &["action=run_now"]);
    assert!(now1.changed());
    assert_eq!(now1.result["last_run_ok"], true);
    assert!(
        !leftover.exists(),
        "the interrupted run's copy is still there"
    );
    let now2 = run("rsync", &["action=run_now"]);
    let snaps = snapshots(&target_dir);
    assert_eq!(snaps.len(), 2, "retention keeps 2: {snaps:?}");
    assert_eq!(now2.result["snapshot"], snaps[1].as_str());
    assert!(now2.stdout.contains("Removing snapshot"), "{}", now2.stdout);
    // The history (the backup card's list) names the two that are left, newest first.
    let listed: Vec<String> = detect("rsync")["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, [snaps[1].clone(), snaps[0].clone()]);
    assert_same_files(source, &copy(&snaps[1]), files);
    // The schedule's job, run as cron runs it: one more snapshot, retention still 2.
    cron_job_saves_a_snapshot("rsync");
    let snaps = snapshots(&target_dir);
    assert_eq!(snaps.len(), 2, "{snaps:?}");
    assert_eq!(
        now2.result["snapshot"],
        snaps[0].as_str(),
        "the oldest went"
    );
    assert_same_files(source, &copy(&snaps[1]), files);
    let restored = run("rsync", &["action=restore_test"]);
    assert_eq!(restored.result["last_restore_test_ok"], true);

    // 6. Damage on the target: the restore test says so, and detect() reports it.
    let latest = copy(&snaps[1]);
    let blob = latest.join("data/blob.bin");
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[1000] ^= 0xff;
    // Unlink first: the snapshots share unchanged files through hard links.
    std::fs::remove_file(&blob).unwrap();
    std::fs::write(&blob, bytes).unwrap();
    let (err, _) = run_fails("rsync", &["action=restore_test"]);
    assert!(
        err.contains("failed: 1 of 5 files differ or are missing") && err.contains("data/blob.bin"),
        "{err}"
    );
    assert_eq!(detect("rsync")["last_restore_test_ok"], false);
    std::fs::remove_file(latest.join("data/deep/er/note.md")).unwrap();
    let (err, _) = run_fails("rsync", &["action=restore_test"]);
    assert!(
        err.contains("2 of 5 files differ or are missing") && err.contains("note.md"),
        "{err}"
    );

    // 7. A configure after a failed restore test asks for a new proof: its first backup and
    // restore test pass.
    let again = run("rsync", &params);
    assert!(again.changed());
    assert_eq!(again.result["first_backup_due"], true, "{}", again.result);
    let proof = run("rsync", &["action=first_backup"]);
    assert_eq!(proof.result["last_restore_test_ok"], true);
    assert!(
        proof.stdout.contains("Restore test passed"),
        "{}",
        proof.stdout
    );

    // 8. Changed settings: the last backup and restore test were the previous configuration's,
    // and are not shown as this one's until its own first backup ends.
    let changed_params = [&params[..4], &["keep=3"]].concat();
    let d = changed_settings_forget_the_old_results("rsync", &changed_params);
    assert!(d["drill"]["last_ok"].is_null(), "{d}");
    let proved = run("rsync", &["action=first_backup"]);
    assert_eq!(proved.result["last_run_ok"], true, "{}", proved.stdout);
    assert_eq!(
        proved.result["last_restore_test_ok"], true,
        "{}",
        proved.stdout
    );
    assert_eq!(detect("rsync")["last_restore_test_ok"], true);

    print_wall_times(&configured, &first, &second, &now1, &restored);
    // Nothing stays scheduled on this machine.
    reset("rsync");
}

#[test]
fn rsync_plans_the_same_on_every_supported_system_and_validates_its_parameters() {
    let _machine = common::machine_lock();
    let params = [
        "target=backup@192.0.2.10:/srv/backups/web-1",
        "paths=/etc",
        "schedule=30 1 * * 1-5",
    ];
    plans_the_first_backup_as_its_own_job("rsync", &params, "/etc/cairn/backup/rsync/settings");
    refuses_each(
        "rsync",
        &params,
        &[
            ("schedule=61 * * * *", "the minute field `61`"),
            ("schedule=*/0 3 * * *", "the minute field `*/0`"),
            ("paths=/nonexistent-cairn", "does not exist on this server"),
            ("paths=/etc/../root", "contains a . or .. component"),
            ("target=backup@host:relative/path", "parameter `"),
            ("target=backup@host;rm -rf /:/x", "parameter `"),
            ("target=-oProxyCommand=x@host:/x", "parameter `"),
            ("port=0", "parameter `"),
            ("keep=0", "parameter `"),
            ("schedule=0 3 * * * ; reboot", "parameter `"),
            ("schedule=0 3 * *", "parameter `"),
        ],
    );
    let debian = workspace().join("engine/tests/data/os-release-debian12");
    let e = plan("rsync", &["paths=/etc"], &debian).expect_err("no target");
    assert!(e.contains("the target is required"), "{e}");
}
