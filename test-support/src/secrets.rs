//! Proof that a secret stays secret during a run: every `/proc/*/cmdline` of the machine sampled
//! every 50 ms ([`CmdlineSampler`]), and files (logs) searched ([`assert_secret_absent`]). The
//! recipe tests of `cli/` and the Debian 11 suite of `tests/` use it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Collects every distinct `/proc/*/cmdline` seen, sampled every 50 ms, until stopped.
#[derive(Debug)]
pub struct CmdlineSampler {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<BTreeSet<String>>>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

impl CmdlineSampler {
    pub fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(BTreeSet::new()));
        let (s, w) = (stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            let mut rounds = 0u64;
            while !s.load(Ordering::Relaxed) {
                if let Ok(dir) = std::fs::read_dir("/proc") {
                    for entry in dir.flatten() {
                        if let Ok(bytes) = std::fs::read(entry.path().join("cmdline"))
                            && !bytes.is_empty()
                        {
                            let line = String::from_utf8_lossy(&bytes).replace('\0', " ");
                            w.lock().unwrap().insert(line);
                        }
                    }
                }
                rounds += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            rounds
        });
        Self {
            stop,
            seen,
            thread: Some(thread),
        }
    }

    /// Stops sampling; returns the command lines seen and how many samples were taken.
    pub fn finish(mut self) -> (BTreeSet<String>, u64) {
        self.stop.store(true, Ordering::Relaxed);
        let rounds = self.thread.take().unwrap().join().unwrap();
        let seen = std::mem::take(&mut *self.seen.lock().unwrap());
        (seen, rounds)
    }
}

/// Asserts that `secret` is in none of the command lines and none of the files under the given
/// paths (files, or every file below a directory, at any depth; symbolic links not followed).
pub fn assert_secret_absent(secret: &str, cmdlines: &BTreeSet<String>, logs: &[&str]) {
    assert!(secret.len() >= 16, "not a generated secret: {secret}");
    for c in cmdlines {
        assert!(
            !c.contains(secret),
            "the password is on a command line: {c}"
        );
    }
    let mut files = Vec::new();
    for l in logs {
        files_below(Path::new(l), &mut files);
    }
    for f in &files {
        let text = String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned();
        assert!(!text.contains(secret), "the password is in {}", f.display());
    }
    eprintln!(
        "password absent from {} command lines and {} files under {logs:?}",
        cmdlines.len(),
        files.len()
    );
}

/// `path` if it is a regular file, else every regular file below it (no symbolic links).
fn files_below(path: &Path, out: &mut Vec<PathBuf>) {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if meta.is_file() {
        out.push(path.to_path_buf());
    } else if meta.is_dir() {
        for e in std::fs::read_dir(path).unwrap().flatten() {
            files_below(&e.path(), out);
        }
    }
}
