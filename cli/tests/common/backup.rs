//! Helpers of the backup recipe tests (`recipe_backup_*.rs`): a clean slate per provider, a
//! source tree of awkward files, byte-for-byte comparison of two trees, daemons killed on drop,
//! and a failing `cairn-recipe run`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Child;

use super::{cairn, recipe};

/// Removes everything a backup recipe made for `provider`, so the test starts as a fresh server.
pub fn reset(provider: &str) {
    for p in [
        format!("/etc/cairn/backup/{provider}"),
        format!("/var/lib/cairn/backups/{provider}"),
        format!("/usr/local/lib/cairn/backup-{provider}"),
        format!("/etc/cron.d/cairn-backup-{provider}"),
        format!("/var/log/cairn-backup-{provider}.log"),
        "/var/cache/cairn-restic".to_owned(),
    ] {
        let p = Path::new(&p);
        if p.is_dir() {
            std::fs::remove_dir_all(p).unwrap();
        } else if p.exists() {
            std::fs::remove_file(p).unwrap();
        }
    }
}

/// Writes a source tree under `root` (text, 300 KB of random bytes, an empty file, a name with
/// a space, a nested folder, a symbolic link) and returns the regular files, relative.
pub fn source_tree(root: &Path) -> Vec<PathBuf> {
    let mut random = vec![0u8; 300 * 1024];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut random)
        .unwrap();
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("app.conf", b"listen 127.0.0.1:8080\nworkers 4\n".to_vec()),
        ("data/blob.bin", random),
        ("data/empty", Vec::new()),
        (
            "data/with space.txt",
            "ünïcödé and a space\n".as_bytes().to_vec(),
        ),
        ("data/deep/er/note.md", b"# kept\n".to_vec()),
    ];
    let mut out = Vec::new();
    for (rel, bytes) in files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        out.push(PathBuf::from(rel));
    }
    std::os::unix::fs::symlink("app.conf", root.join("link-to-conf")).unwrap();
    out
}

/// Asserts that every file of `files` under `original` exists under `restored` with exactly
/// the same bytes.
pub fn assert_same_files(original: &Path, restored: &Path, files: &[PathBuf]) {
    assert!(!files.is_empty());
    for rel in files {
        let a = std::fs::read(original.join(rel)).unwrap();
        let b = std::fs::read(restored.join(rel))
            .unwrap_or_else(|e| panic!("{} was not restored: {e}", restored.join(rel).display()));
        assert!(a == b, "{} differs after the restore", rel.display());
    }
}

/// Runs the command of the cron file's job the way cron does (`/bin/sh -c`, an almost empty
/// environment) and returns what it appended to its log file.
pub fn run_as_cron(provider: &str) -> String {
    let cron = std::fs::read_to_string(format!("/etc/cron.d/cairn-backup-{provider}")).unwrap();
    let line = cron
        .lines()
        .find(|l| l.contains(&format!("/usr/local/lib/cairn/backup-{provider} run")))
        .unwrap_or_else(|| panic!("no job line in {cron}"));
    // minute hour day month weekday user command
    let command = line.splitn(7, ' ').nth(6).unwrap();
    let log = format!("/var/log/cairn-backup-{provider}.log");
    let before = std::fs::read_to_string(&log).unwrap_or_default().len();
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .env_clear()
        .env("SHELL", "/bin/sh")
        .env("HOME", "/root")
        .env("LOGNAME", "root")
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        out.status.success(),
        "the cron job failed: {}",
        &text[before..]
    );
    text[before..].to_owned()
}

pub fn mode(path: &str) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .permissions()
        .mode()
        & 0o7777
}

/// A child process killed (and reaped) when the test ends, however it ends.
pub struct Daemon(pub Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits up to 20 s for something to listen on 127.0.0.1:`port`.
pub fn wait_listening(port: u16, what: &str) {
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{what} does not listen on 127.0.0.1:{port}");
}

/// A plain HTTP/1.1 request to 127.0.0.1:`port`: (status, body).
pub fn http(method: &str, port: u16, path: &str, body: &[u8]) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {raw}"));
    let body = raw.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (status, body.to_owned())
}

/// `cairn-recipe run RECIPE --param ...`, which must FAIL: its console (stdout, where the
/// `✘ error` line is too) and its stderr.
pub fn run_fails(name: &str, params: &[&str]) -> (String, String) {
    let mut args = vec!["run".to_owned(), recipe(name).display().to_string()];
    super::push_params(&mut args, params);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let start = std::time::Instant::now();
    let out = cairn(&argv);
    let took = start.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "cairn-recipe run {name} {params:?} should have failed:\n{stdout}\n{stderr}"
    );
    eprintln!(
        "cairn-recipe run {name} {params:?} failed as expected in {:.1} s:\n{stdout}",
        took.as_secs_f64()
    );
    (stdout, stderr)
}
