//! The backup targets of the backup recipe tests, real servers on loopback: an SSH server
//! (openssh-server's `sshd` with its own config, for one test account) for `rsync.rhai`, and
//! moto's S3 server for `s3.rhai`; plus the source tree they back up, the byte-for-byte
//! comparison of a restore, and [`reset`], which removes what a backup recipe left on this
//! machine. The recipe tests of `cli/`, the backup test of `tests/it/` and the Debian 11 suite
//! (the recipe running inside its chroot against these servers on the host) use it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::net::wait_listening;
use crate::process::{Daemon, must};

/// The account on the SSH target that the rsync backups log in as.
pub const SSH_USER: &str = "cairnbackup";
/// The bucket of the S3 tests.
pub const BUCKET: &str = "cairn-e2e";
/// The access key id of the S3 tests (moto accepts any).
pub const ACCESS_KEY_ID: &str = "AKIACAIRNE2E";

/// Removes everything a backup recipe made for `provider` (its settings, state, script, cron
/// file, log, restic's cache), so the test starts as on a fresh server.
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

/// A plain HTTP/1.1 request to 127.0.0.1:`port` (moto's S3 API): (status, body).
fn http(method: &str, port: u16, path: &str, body: &[u8]) -> (u16, String) {
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

// ---------- rsync over SSH ----------

/// sshd on 127.0.0.1:`port` (no systemd: the daemon itself, in the foreground), accepting
/// only keys listed in `dir/authorized/USER`. Needs openssh-server installed.
pub fn start_sshd(dir: &Path, port: u16) -> Daemon {
    let host_key = dir.join("host_ed25519");
    must(
        "ssh-keygen",
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-f",
            host_key.to_str().unwrap(),
        ],
    );
    std::fs::create_dir_all(dir.join("authorized")).unwrap();
    let config = format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\nAuthorizedKeysFile {}/%u\n\
         StrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
         PubkeyAuthentication yes\n",
        host_key.display(),
        dir.join("sshd.pid").display(),
        dir.join("authorized").display(),
    );
    std::fs::write(dir.join("sshd_config"), config).unwrap();
    std::fs::create_dir_all("/run/sshd").unwrap();
    let log = std::fs::File::create(dir.join("sshd.log")).unwrap();
    let child = Command::new("/usr/sbin/sshd")
        .args(["-D", "-e", "-f"])
        .arg(dir.join("sshd_config"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("sshd starts");
    wait_listening(port, "sshd");
    Daemon(child)
}

/// The account [`SSH_USER`] exists, may log in with a key, and has no password.
pub fn ensure_ssh_user() {
    let exists = Command::new("id")
        .arg(SSH_USER)
        .output()
        .is_ok_and(|o| o.status.success());
    if !exists {
        must("useradd", &["-m", "-s", "/bin/sh", SSH_USER]);
    }
    // Not locked (a locked account cannot log in with a key when sshd runs without PAM), and
    // no password either.
    must("usermod", &["-p", "*", SSH_USER]);
}

/// Lets the key `public` (one `ssh-ed25519 …` line) log in as [`SSH_USER`] on the sshd of
/// [`start_sshd`] in `dir`.
pub fn authorize_key(dir: &Path, public: &str) {
    std::fs::write(
        dir.join("authorized").join(SSH_USER),
        format!("{}\n", public.trim()),
    )
    .unwrap();
}

/// A directory `target` on this machine owned by [`SSH_USER`], for the backups to land in.
pub fn ssh_target_dir(target: &Path) {
    std::fs::create_dir_all(target).unwrap();
    must("chown", &[SSH_USER, target.to_str().unwrap()]);
}

/// The snapshot folders (`YYYYMMDDTHHMMSSZ`) on the target, oldest first.
pub fn snapshots(target: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(target)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.len() == 16 && n.ends_with('Z'))
        .collect();
    v.sort();
    v
}

// ---------- S3 (moto) ----------

/// `moto_server` on PATH, or in the virtual environment `scripts/test` makes for it.
pub fn moto_server() -> PathBuf {
    if let Some(p) = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("moto_server"))
            .find(|p| p.is_file())
    }) {
        return p;
    }
    let venv = PathBuf::from("/opt/cairn-test/moto/bin/moto_server");
    assert!(
        venv.is_file(),
        "moto_server is not installed: run scripts/test, or pip install 'moto[server]'"
    );
    venv
}

/// moto's S3 server on 127.0.0.1:`port`, logging to `dir/moto.log`.
pub fn start_moto(dir: &Path, port: u16) -> Daemon {
    let log = std::fs::File::create(dir.join("moto.log")).unwrap();
    let child = Command::new(moto_server())
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .expect("moto_server starts");
    wait_listening(port, "moto_server");
    Daemon(child)
}

/// The keys of the bucket's objects under `prefix`, straight from the S3 API.
pub fn objects(port: u16, prefix: &str) -> Vec<String> {
    let (status, body) = http(
        "GET",
        port,
        &format!("/{BUCKET}?list-type=2&max-keys=1000&prefix={prefix}"),
        b"",
    );
    assert_eq!(status, 200, "{body}");
    body.split("<Key>")
        .skip(1)
        .map(|s| s.split("</Key>").next().unwrap().to_owned())
        .collect()
}

/// Random URL-safe text of `n` characters, like an S3 secret key.
pub fn random_text(n: usize) -> String {
    let mut b = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut b)
        .unwrap();
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    b.iter().map(|x| A[*x as usize % A.len()] as char).collect()
}
