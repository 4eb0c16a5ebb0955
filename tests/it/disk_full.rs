//! The agent's disk is full: its state directory lives on a small tmpfs that the test fills
//! before a job. Needs root (`mount`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use cairn_e2e::{Cluster, eventually, lines, seqs};

fn ticks(n: u64) -> Vec<String> {
    (1..=n).map(|i| format!("tick {i}")).collect()
}

/// A tmpfs mounted on a directory, unmounted (lazily) on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Self {
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .status()
            .expect("mount");
        assert!(
            status.success(),
            "mount -t tmpfs failed (this test needs root)"
        );
        Self(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Writes `path` until the file system refuses another byte.
fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).expect("filler");
    let block = vec![0u8; 4096];
    while f.write_all(&block).is_ok() {}
    let _ = f.write_all(&[0]);
    let _ = f.sync_all();
    let mut probe = std::fs::File::create(path.with_extension("probe")).expect("probe");
    assert!(
        probe
            .write_all(&block)
            .and_then(|()| probe.sync_all())
            .is_err(),
        "the disk is full"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_on_the_agent_loses_nothing_and_says_so() {
    const N: u64 = 20;
    let mut c = Cluster::start(&["ticks"]).await;
    // A first run records the recipe's version (the rollback record is written once).
    let mut d = c.dashboard().await;
    let first = d.start_ticks(&c.node_id, 1).await;
    assert_eq!(d.wait_terminal(&first).await["type"], "RUNTIME_INSTALLED");
    eventually("the first job's journal to go", || async {
        c.agent.journal_files().is_empty().then_some(())
    })
    .await;

    // The state directory moves onto a 256 kB tmpfs, which is then filled.
    c.agent.kill();
    let state = c.agent.state_dir();
    let saved = c.dir.path().join("state-saved");
    copy_tree(&state, &saved);
    let _fs = Tmpfs::mount(&state, "256k");
    copy_tree(&saved, &state);
    let filler = state.join("filler");
    fill(&filler);
    c.agent.start();
    c.cp.wait_online(&c.cookie, &c.node_id, true).await;

    let mut d = c.dashboard().await;
    let job = d.start_ticks(&c.node_id, N).await;
    let end = d.wait_terminal(&job).await;
    assert_eq!(end["type"], "RUNTIME_INSTALLED", "{end}");

    // The user is told, in a sentence, in the job's output.
    let seen = d.job_messages(&job);
    let warnings = lines(&seen, "warn");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("cannot save the job's output")
                && w.contains("No space left on device")
                && w.contains("free some space")),
        "{warnings:?}"
    );
    // Nothing lost: every event once, in order, the terminal one last.
    let want: Vec<u64> = (1..=seen.len() as u64).collect();
    assert_eq!(seqs(&seen), want);
    assert_eq!(lines(&seen, "info"), ticks(N));
    assert!(crate_terminal_last(&seen), "{seen:?}");
    let stored = c.stored_events(&job).await;
    assert_eq!(seqs(&stored), want);
    assert_eq!(lines(&stored, "info"), ticks(N));
    let done = c.cp.wait_job_done(&c.cookie, &job).await;
    assert_eq!(done["status"], "succeeded", "{done}");

    // Space comes back; the acknowledged journal is gone and a restarted agent finds nothing
    // broken: no job reported interrupted, and the next job runs and is journaled.
    std::fs::remove_file(&filler).expect("remove filler");
    let _ = std::fs::remove_file(filler.with_extension("probe"));
    eventually("the journal to be acknowledged", || async {
        c.agent.journal_files().is_empty().then_some(())
    })
    .await;
    c.agent.kill();
    c.agent.start();
    c.cp.wait_online(&c.cookie, &c.node_id, true).await;
    let mut d = c.dashboard().await;
    let again = d.start_ticks(&c.node_id, 3).await;
    assert_eq!(d.wait_terminal(&again).await["type"], "RUNTIME_INSTALLED");
    let again_seen = d.job_messages(&again);
    assert!(lines(&again_seen, "warn").is_empty(), "{again_seen:?}");
    assert_eq!(lines(&again_seen, "info"), ticks(3));
    let jobs = c.cp.get_json(&c.cookie, "/api/jobs").await;
    let failed: Vec<_> = jobs
        .as_array()
        .expect("jobs")
        .iter()
        .filter(|j| j["status"] != "succeeded")
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
}

fn crate_terminal_last(events: &[serde_json::Value]) -> bool {
    events
        .last()
        .is_some_and(|e| cairn_e2e::TERMINAL.iter().any(|t| e["type"] == *t))
        && events[..events.len() - 1]
            .iter()
            .all(|e| !cairn_e2e::TERMINAL.iter().any(|t| e["type"] == *t))
}
