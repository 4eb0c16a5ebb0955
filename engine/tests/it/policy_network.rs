//! Argument policies of the programs that talk to other machines: curl, wget, rsync, ssh,
//! ssh-keygen, restic, gpg, ss (threats.md row 30). Options that run commands (ProxyCommand,
//! `-e`, `sftp.command`, `--password-command`, `--use-askpass`, `-D lib.so`), write or read
//! files (`-o`, `-O FILE`, `-K`, `file://`, `@file`) and environment variables that do either
//! are refused before the program starts; fetching a URL to stdout and making a key pair at a
//! declared path still work, for real.
#![allow(clippy::unwrap_used)]

use crate::common;
use crate::util;

use util::policy::{allows, assert_refused, list, lit, refuses_all, run_call};

#[test]
fn curl_and_wget_only_print_an_http_url() {
    let tmp = util::tempdir();
    let m = tmp.path().join("x").display().to_string();
    refuses_all(
        "curl",
        &[],
        &[
            &["-o", "/etc/cron.d/x", "http://127.0.0.1/x"],
            &["-o", &m, "http://127.0.0.1/x"],
            &["--output=/etc/cron.d/x", "http://127.0.0.1/x"],
            &["-O", "http://127.0.0.1/x"],
            &["-sSfLo", "/etc/cron.d/x", "http://127.0.0.1/x"],
            &["-K", "/tmp/curlrc", "http://127.0.0.1/x"],
            &["--config", "/tmp/curlrc"],
            &["file:///etc/shadow"],
            &["-T", "/etc/shadow", "http://127.0.0.1/x"],
            &["-d", "@/etc/shadow", "http://127.0.0.1/x"],
            &["-F", "x=@/etc/shadow", "http://127.0.0.1/x"],
            &["-H", "@/etc/shadow", "http://127.0.0.1/x"],
            &["--libcurl", "/etc/cron.d/x", "http://127.0.0.1/x"],
            &["--trace", "/etc/cron.d/x", "http://127.0.0.1/x"],
            &["-c", "/etc/cron.d/x", "http://127.0.0.1/x"],
            &["-D", "/etc/cron.d/x", "http://127.0.0.1/x"],
            &["--engine", "/tmp/x.so", "http://127.0.0.1/x"],
            &["http://127.0.0.1/[1-1000000]"],
            &["scp://h/etc/shadow"],
            &["gopher://127.0.0.1:6379/_FLUSHALL"],
            &["http://a/x", "http://b/y"],
        ],
    );
    let env = format!("#{{ env: #{{ CURL_HOME: {} }} }}", lit(&m));
    assert_refused(
        &["curl"],
        &[],
        &run_call("curl", &["-fsS", "http://127.0.0.1/"], Some(&env)),
        None,
    );
    refuses_all(
        "wget",
        &[],
        &[
            &["--use-askpass=/tmp/x", "0"],
            &["-O", "/etc/cron.d/x", "http://127.0.0.1/x"],
            &["-O", "-", "-i", "/etc/shadow"],
            &["-O", "-", "-o", "/etc/cron.d/x", "http://127.0.0.1/x"],
            &["-O", "-", "--post-file=/etc/shadow", "http://127.0.0.1/x"],
            &["-O", "-", "-e", "use_askpass=/tmp/x", "http://127.0.0.1/x"],
            &["-O", "-", "--config=/tmp/wgetrc", "http://127.0.0.1/x"],
            &["-O", "-", "-nv", "http://127.0.0.1/x"],
            &["http://127.0.0.1/x"],
        ],
    );

    // The allowed form, for real: the body on stdout, no file anywhere.
    let server = common::TestServer::start(b"fetched by curl");
    let body = format!(
        "{}.stdout",
        run_call("curl", &["-fsS", "--max-time", "10", &server.url], None)
    );
    let ran = util::run(
        &util::recipe(&list(&["curl"]), "[]", &body),
        serde_json::json!({}),
    );
    assert_eq!(ran.value(), "fetched by curl");
    allows("wget", &[], &["-q", "-O", "-", "https://example.org/"]);
}

#[test]
fn ssh_rsync_restic_and_gpg_only_print_their_version() {
    refuses_all(
        "ssh",
        &[],
        &[
            &["-o", "ProxyCommand=touch /tmp/x", "x"],
            &["-oProxyCommand=;touch /tmp/x", "x"],
            &[
                "-o",
                "LocalCommand=touch /tmp/x",
                "-o",
                "PermitLocalCommand=yes",
                "localhost",
            ],
            &["-F", "/tmp/ssh_config", "localhost"],
            &["localhost", "touch /tmp/x"],
        ],
    );
    allows("ssh", &[], &["-V"]);
    refuses_all(
        "rsync",
        &[],
        &[
            &["-e", "sh -c 'touch /tmp/x'", "127.0.0.1:/x", "/tmp/y"],
            &["--rsh=sh -c 'touch /tmp/x'", "a:b", "c"],
            &["--rsync-path=touch /tmp/x", "a:b", "c"],
            &["/etc/shadow", "/tmp/shadow"],
            &["-a", "/tmp/x/", "/etc/cron.d/"],
        ],
    );
    allows("rsync", &[], &["--version"]);
    refuses_all(
        "restic",
        &[],
        &[
            &[
                "-o",
                "sftp.command=touch /tmp/x",
                "-r",
                "sftp:x:/y",
                "snapshots",
            ],
            &["--password-command=touch /tmp/x", "snapshots"],
            &["backup", "-r", "rest:http://127.0.0.1:1/x", "/etc/shadow"],
            &["version", "--password-command", "touch /tmp/x"],
        ],
    );
    let env = r#"#{ env: #{ RESTIC_PASSWORD_COMMAND: "touch /tmp/x" } }"#;
    assert_refused(
        &["restic"],
        &[],
        &run_call("restic", &["version"], Some(env)),
        None,
    );
    allows("restic", &[], &["version"]);
    refuses_all(
        "gpg",
        &[],
        &[
            &["--exec-path", "/tmp", "--version"],
            &["--photo-viewer", "touch /tmp/x", "--list-keys"],
            &["--list-options", "show-photos", "--list-keys"],
            &["--keyserver-options", "x", "--recv-keys", "0"],
            &["--homedir", "/tmp/g", "--version"],
            &["-o", "/etc/cron.d/x", "--dearmor"],
        ],
    );
    let env = r#"#{ env: #{ GNUPGHOME: "/tmp/g" } }"#;
    assert_refused(
        &["gpg"],
        &[],
        &run_call("gpg", &["--version"], Some(env)),
        None,
    );
    allows("gpg", &[], &["--version"]);
}

#[test]
fn ssh_keygen_makes_keys_only_at_declared_paths_and_loads_no_library() {
    let tmp = util::tempdir();
    let dir = tmp.path().join("keys");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.display().to_string();
    let key = dir.join("id_ed25519").display().to_string();
    std::os::unix::fs::symlink("/tmp/cairn-nowhere.pub", dir.join("linked.pub")).unwrap();
    let linked = dir.join("linked").display().to_string();
    refuses_all(
        "ssh-keygen",
        &[&p],
        &[
            &["-D", "/tmp/x.so"],
            &["-D", "/tmp/x.so", "-f", &key],
            &[
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-f",
                "/etc/ssh/ssh_host_ed25519_key",
            ],
            &[
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-f",
                "/root/.ssh/id_ed25519",
            ],
            &["-q", "-t", "ed25519", "-N", "", "-f", &linked],
            &["-q", "-t", "ed25519", "-N", ""],
            &["-s", "/tmp/ca", "-I", "x", &format!("{key}.pub")],
            &["-Y", "sign", "-f", &key, "-n", "file", "/etc/shadow"],
            &["-R", "host", "-f", "/root/.ssh/known_hosts"],
            &["-y", "-f", &key, "-t", "ed25519"],
        ],
    );
    assert!(!std::path::Path::new("/tmp/cairn-nowhere.pub").exists());
    // rsync.rhai's form, for real, then the public key printed.
    let body = format!(
        "{}; {}.stdout",
        run_call(
            "ssh-keygen",
            &[
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                "cairn-backup",
                "-f",
                &key
            ],
            None
        ),
        run_call("ssh-keygen", &["-y", "-f", &key], None),
    );
    let ran = util::run(
        &util::recipe(&list(&["ssh-keygen"]), &list(&[&p]), &body),
        serde_json::json!({}),
    );
    assert!(
        ran.value().as_str().unwrap().starts_with("ssh-ed25519 "),
        "{:?}",
        ran.outcome
    );
    assert!(dir.join("id_ed25519.pub").exists());
}

#[test]
fn ss_only_lists_sockets() {
    refuses_all(
        "ss",
        &[],
        &[
            &["-K", "dst", "127.0.0.1"],
            &["--kill"],
            &["-D", "/etc/cron.d/x"],
            &["-a", "-F", "/etc/shadow"],
            &["-N", "otherns", "-l"],
        ],
    );
    // docs/examples/memcached.rhai's form, for real.
    let body = format!(
        "{}.code",
        run_call("ss", &["-H", "-l", "-t", "-n", "sport = :11211"], None)
    );
    let ran = util::run(
        &util::recipe(&list(&["ss"]), "[]", &body),
        serde_json::json!({}),
    );
    assert_eq!(ran.value(), 0);
}
