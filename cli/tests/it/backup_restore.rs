//! Snapshots and restores of the backup recipes (issue 18), on this machine (as root) against
//! the real targets of `recipe_backup_*.rs`: sshd on loopback for `rsync.rhai`, moto's S3
//! server for `s3.rhai`. For each: the snapshot history detect() returns after several runs
//! (count, order, files and size, the retention's removals gone from it); `restore` into a new
//! folder, every file compared by SHA-256 with the original; a second restore into that folder
//! and an unknown snapshot refused before anything runs; `restore_over` putting a changed and a
//! deleted file back (a file made since stays). The database dumps: `backup_restore_db.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::backup::{
    ACCESS_KEY_ID, BUCKET, SSH_USER, authorize_key, configure_and_prove, free_port, random_text,
    reset, rsync_bed, run_fails, source_tree, start_moto,
};
use common::db::{action_refused, run_action};
use common::*;
use std::path::{Path, PathBuf};

/// SHA-256 of a file, by `sha256sum`.
fn sha256(path: &Path) -> String {
    let (ok, out) = sh("sha256sum", &[path.to_str().unwrap()]);
    assert!(ok, "{}: {out}", path.display());
    out.split_whitespace().next().unwrap().to_owned()
}

/// Every file of `files` under `restored` has the SHA-256 it has under `original`.
fn assert_same_sha256(original: &Path, restored: &Path, files: &[PathBuf]) {
    for rel in files {
        let r = restored.join(rel);
        assert!(r.is_file(), "{} was not restored", r.display());
        assert_eq!(
            sha256(&original.join(rel)),
            sha256(&r),
            "{} differs",
            rel.display()
        );
    }
}

fn total_size(root: &Path, files: &[PathBuf]) -> u64 {
    files
        .iter()
        .map(|f| std::fs::metadata(root.join(f)).unwrap().len())
        .sum()
}

/// The snapshot ids detect() lists, newest first.
fn listed(provider: &str) -> Vec<serde_json::Value> {
    detect(provider)["snapshots"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// What both providers must do, once the backup is configured with `source` (keep=3) and has
/// made one snapshot.
fn history_and_restores(provider: &str, source: &Path, files: &[PathBuf]) {
    // Four more runs: five snapshots made, three kept; the history says exactly those.
    let mut latest = String::new();
    for _ in 0..4 {
        latest = run(provider, &["action=run_now"]).result["snapshot"]
            .as_str()
            .unwrap()
            .to_owned();
    }
    let snaps = listed(provider);
    assert_eq!(snaps.len(), 3, "keep=3 after 5 runs: {snaps:?}");
    assert_eq!(snaps[0]["id"], latest.as_str(), "newest first: {snaps:?}");
    assert!(snaps[0]["time"].as_u64() >= snaps[2]["time"].as_u64());
    for s in &snaps {
        assert_eq!(s["files"], 5, "{s}");
        assert_eq!(s["size_bytes"], total_size(source, files), "{s}");
        assert!(s["duration_s"].as_u64().is_some(), "{s}");
    }

    // Restore the oldest kept snapshot into the default new folder.
    let id = snaps[2]["id"].as_str().unwrap().to_owned();
    let dir = PathBuf::from(format!("/var/lib/cairn/restores/{provider}-{id}"));
    let _ = std::fs::remove_dir_all(&dir);
    let snapshot = format!("snapshot={id}");
    let r = run_action(provider, "restore", &[snapshot.as_str()]);
    let inside = dir.join(source.strip_prefix("/").unwrap());
    assert_same_sha256(source, &inside, files);
    assert!(
        inside.join("link-to-conf").is_symlink(),
        "the link came back"
    );
    let said = format!(
        "Restored 5 files ({} bytes) of snapshot {id} into {}",
        total_size(source, files),
        dir.display()
    );
    assert!(r.stdout.contains(&said), "{said}\n{}", r.stdout);
    assert_eq!(r.result["message"], said.as_str());
    assert_eq!(mode(&dir), 0o700, "the restored tree is root's alone");

    // The same folder again (now not empty), and a snapshot that is not in the list: refused.
    let again = action_refused(provider, "restore", &[snapshot.as_str()]);
    assert!(again.contains("exists and is not empty"), "{again}");
    let gone = if provider == "rsync" {
        "snapshot=20000101T000000Z"
    } else {
        "snapshot=0badc0de"
    };
    let unknown = action_refused(provider, "restore", &[gone]);
    assert!(
        unknown.contains("is not among this backup's snapshots"),
        "{unknown}"
    );
    std::fs::remove_dir_all(&dir).unwrap();

    // Over the original files: a changed and a deleted file come back, a new one stays.
    std::fs::write(source.join("app.conf"), "listen 0.0.0.0:1\n").unwrap();
    std::fs::remove_file(source.join("data/deep/er/note.md")).unwrap();
    std::fs::write(source.join("made-since.txt"), "new\n").unwrap();
    let pristine = source.with_extension("pristine");
    let _ = std::fs::remove_dir_all(&pristine);
    source_tree(&pristine);
    let latest_arg = format!("snapshot={latest}");
    let over = run_action(provider, "restore_over", &[latest_arg.as_str()]);
    // (the random blob differs between two source trees: compare the others with the fresh
    // tree, and the blob with the restored-into-folder copy checked above)
    let text_files: Vec<PathBuf> = files
        .iter()
        .filter(|f| !f.ends_with("blob.bin"))
        .cloned()
        .collect();
    assert_same_sha256(&pristine, source, &text_files);
    assert!(
        source.join("made-since.txt").is_file(),
        "a file made since stays"
    );
    assert!(
        over.stdout
            .contains(&format!("of snapshot {latest} into the original paths")),
        "{}",
        over.stdout
    );
    std::fs::remove_dir_all(&pristine).unwrap();
}

fn mode(p: &Path) -> u32 {
    common::backup::mode(p.to_str().unwrap())
}

#[test]
fn rsync_lists_its_snapshots_and_restores_one_into_a_new_folder_and_over_the_original_files() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    reset("rsync");
    let bed = rsync_bed("cairn-restore-rsync");
    let (tmp, port, source, files, target) =
        (&bed.tmp, bed.port, &bed.source, &bed.files, &bed.target);
    let target_param = format!(
        "target={SSH_USER}@127.0.0.1:{}",
        target.join("web-1").display()
    );
    let port_param = format!("port={port}");
    let paths_param = format!("paths={}", source.display());
    let params = [
        target_param.as_str(),
        port_param.as_str(),
        paths_param.as_str(),
        "keep=3",
    ];
    run("rsync", &params);
    run_fails("rsync", &["action=first_backup"]);
    let public = std::fs::read_to_string("/etc/cairn/backup/rsync/id_ed25519.pub").unwrap();
    authorize_key(tmp.path(), public.trim());
    configure_and_prove("rsync", &params);
    assert_eq!(listed("rsync").len(), 1);
    history_and_restores("rsync", source, files);
    reset("rsync");
}

/// Configures the S3 backup of `paths` (and `extra` params) against moto on `port`.
pub(crate) fn configure_s3(tmp: &Path, port: u16, paths: &str, extra: &[&str]) {
    let secret = format!("{}/{}", random_text(20), random_text(19));
    let secret_file = tmp.join("secret-key");
    std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
    let endpoint = format!("endpoint=http://127.0.0.1:{port}");
    let paths = format!("paths={paths}");
    let bucket = format!("bucket={BUCKET}");
    let key = format!("access_key_id={ACCESS_KEY_ID}");
    let secret_param = format!("file:secret_access_key={}", secret_file.display());
    let mut params = vec![
        endpoint.as_str(),
        paths.as_str(),
        bucket.as_str(),
        key.as_str(),
        secret_param.as_str(),
        "region=eu-west-1",
        "keep=3",
    ];
    params.extend_from_slice(extra);
    configure_and_prove("s3", &params);
}

#[test]
fn s3_lists_its_snapshots_and_restores_one_into_a_new_folder_and_over_the_original_files() {
    let _machine = common::machine_lock();
    if skip_unless_root() {
        return;
    }
    reset("s3");
    let tmp = tempfile::Builder::new()
        .prefix("cairn-restore-s3")
        .tempdir_in("/var/tmp")
        .unwrap();
    let port = free_port();
    let _moto = start_moto(tmp.path(), port);
    let source = tmp.path().join("source");
    let files = source_tree(&source);
    configure_s3(tmp.path(), port, source.to_str().unwrap(), &[]);
    assert_eq!(listed("s3").len(), 1);
    // restic keeps one snapshot a day: all five runs are today, so --keep-daily 3 keeps one.
    // The history follows what restic lists, so it says one too; keep-daily is what decides.
    for _ in 0..2 {
        run("s3", &["action=run_now"]);
    }
    let snaps = listed("s3");
    assert_eq!(
        snaps.len(),
        1,
        "restic kept one snapshot for today: {snaps:?}"
    );
    history_and_restores_s3(&source, &files);
    reset("s3");
}

/// The s3 variant of [`history_and_restores`]: restic's daily retention keeps one snapshot of
/// the runs of one day, so the history has one line whatever the number of runs.
fn history_and_restores_s3(source: &Path, files: &[PathBuf]) {
    let snaps = listed("s3");
    let id = snaps[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(snaps[0]["files"], 5);
    assert_eq!(snaps[0]["size_bytes"], total_size(source, files));
    let dir = PathBuf::from(format!("/var/lib/cairn/restores/s3-{id}"));
    let _ = std::fs::remove_dir_all(&dir);
    let snapshot = format!("snapshot={id}");
    let r = run_action("s3", "restore", &[snapshot.as_str()]);
    assert_same_sha256(source, &dir.join(source.strip_prefix("/").unwrap()), files);
    assert!(
        r.stdout.contains(&format!(
            "Restored 5 files ({} bytes) of snapshot {id} into {}",
            total_size(source, files),
            dir.display()
        )),
        "{}",
        r.stdout
    );
    let again = action_refused("s3", "restore", &[snapshot.as_str()]);
    assert!(again.contains("exists and is not empty"), "{again}");
    std::fs::remove_dir_all(&dir).unwrap();

    let conf = std::fs::read(source.join("app.conf")).unwrap();
    let note = std::fs::read(source.join("data/deep/er/note.md")).unwrap();
    std::fs::write(source.join("app.conf"), "listen 0.0.0.0:1\n").unwrap();
    std::fs::remove_file(source.join("data/deep/er/note.md")).unwrap();
    run_action("s3", "restore_over", &[snapshot.as_str()]);
    assert_eq!(std::fs::read(source.join("app.conf")).unwrap(), conf);
    assert_eq!(
        std::fs::read(source.join("data/deep/er/note.md")).unwrap(),
        note
    );
}
