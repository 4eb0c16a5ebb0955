//! The database policies against the real servers on this machine (as root; threats.md row 30): a
//! recipe that declares psql, mariadb or redis-cli and tries to make it run a shell, make the
//! server run a program or write a file, or load a module, is refused before anything starts,
//! and the marker file it aimed for never appears. The same commands run by the test itself,
//! outside Cairn, do create their markers: the attacks are real and only the policy stops them.
//! Each test first runs the shipped recipe, which installs and starts the server if needed (and
//! so also proves that recipe works within its policies).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use cairn_test_support::net::{free_port, wait_listening};
use cairn_test_support::process::Daemon;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// A directory every user may write to (the servers run as `postgres`, `mysql`, `redis`).
fn marker_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    dir
}

/// Runs a recipe declaring `programs` whose body tries each of `attempts` (Rhai expressions)
/// and returns the error each raised. A test recipe with `install(params)`, no parameters.
fn attack(dir: &Path, programs: &str, attempts: &[String]) -> Vec<String> {
    let mut body = String::from("let errors = [];\n");
    for a in attempts {
        body.push_str(&format!(
            "try {{ {a}; errors.push(\"not refused\"); }} catch (e) {{ errors.push(`${{e}}`); }}\n"
        ));
    }
    let src = format!(
        r#"const RECIPE = #{{
    id: "attack", title: "Attack", category: "runtime", version: 1, estimated_size_mb: 1,
    os: [#{{ id: "debian", versions: ["11", "12"] }}, #{{ id: "ubuntu", versions: ["22.04"] }}],
    params: [],
    capabilities: #{{ programs: {programs}, paths: [], services: [] }},
}};
fn detect() {{ #{{ installed: false }} }}
fn install(params) {{
{body}
#{{ changed: false, errors: errors }}
}}
"#
    );
    let file = dir.join("attack.rhai");
    std::fs::write(&file, src).unwrap();
    let out = cairn(&["run", file.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result = result_of(&stdout);
    let errors: Vec<String> = result["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(errors.len(), attempts.len());
    for (a, e) in attempts.iter().zip(&errors) {
        assert!(
            e.contains("nothing was started"),
            "{a} was not refused by the policy: {e}"
        );
    }
    errors
}

fn assert_absent(dir: &Path, names: &[&str]) {
    for n in names {
        assert!(!dir.join(n).exists(), "{n} was created: the attack ran");
    }
}

#[test]
fn a_recipe_declaring_psql_cannot_run_a_shell_or_make_postgresql_run_a_program() {
    let _machine = machine_lock();
    if skip_unless_root() {
        return;
    }
    run(
        "postgresql",
        &["db_name=cairn_policy", "user=cairn_policy_user"],
    );
    let dir = marker_dir();
    let d = dir.path().display().to_string();
    let conn = r#""-X", "-h", "/run/postgresql", "-U", "postgres", "-d", "postgres""#;
    let errors = attack(
        dir.path(),
        r#"["psql"]"#,
        &[
            format!(r#"run("psql", [{conn}], #{{ stdin: `\! touch {d}/shell-stdin` }})"#),
            format!(r#"run("psql", [{conn}, "-c", `\! touch {d}/shell-c`])"#),
            format!(
                r#"run("psql", [{conn}], #{{ stdin: "COPY (SELECT 1) TO PROGRAM 'touch {d}/copy-stdin'" }})"#
            ),
            format!(
                r#"detect("psql", [{conn}, "-tA", "-c", "SELECT 1; copy (select 1) to program 'touch {d}/copy-c'"], ".")"#
            ),
            format!(
                r#"run("psql", [{conn}, "-c", "ALTER SYSTEM SET archive_command = 'touch {d}/archive'"])"#
            ),
        ],
    );
    assert!(errors[0].contains("backslash"), "{}", errors[0]);
    assert!(errors[2].contains("`COPY`"), "{}", errors[2]);
    assert_absent(
        dir.path(),
        &["shell-stdin", "shell-c", "copy-stdin", "copy-c", "archive"],
    );

    // The same, by the test itself: a root shell through psql, a program run by the server.
    let psql = |sql: &str| {
        must(
            "psql",
            &[
                "-X",
                "-h",
                "/run/postgresql",
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-c",
                sql,
            ],
        );
    };
    psql(&format!("\\! touch {d}/shell-c"));
    psql(&format!("COPY (SELECT 1) TO PROGRAM 'touch {d}/copy-c'"));
    assert!(dir.path().join("shell-c").exists() && dir.path().join("copy-c").exists());
}

#[test]
fn a_recipe_declaring_mariadb_cannot_run_a_shell_or_make_mariadb_write_a_file() {
    let _machine = machine_lock();
    if skip_unless_root() {
        return;
    }
    run("mysql", &["db_name=cairn_policy", "user=cairn_policy_user"]);
    let client = if Path::new("/usr/bin/mariadb").exists() {
        "mariadb"
    } else {
        "mysql"
    };
    let dir = marker_dir();
    let d = dir.path().display().to_string();
    let errors = attack(
        dir.path(),
        &format!(r#"["{client}"]"#),
        &[
            format!(
                r#"run("{client}", ["--no-defaults", "--batch"], #{{ stdin: "system touch {d}/system-stdin\n" }})"#
            ),
            format!(r#"run("{client}", ["--no-defaults", "-e", `\! touch {d}/shell-e`])"#),
            format!(
                r#"run("{client}", ["--no-defaults", "--batch"], #{{ stdin: "SELECT 1;\n  SYSTEM touch {d}/system-line2\n" }})"#
            ),
            format!(
                r#"run("{client}", ["--no-defaults", "-e", "SELECT 'x' INTO OUTFILE '{d}/outfile'"])"#
            ),
            format!(
                r#"run("{client}", ["--no-defaults", "--pager=touch {d}/pager", "-e", "SELECT 1"])"#
            ),
        ],
    );
    assert!(errors[0].contains("`system`"), "{}", errors[0]);
    assert!(errors[1].contains("backslash"), "{}", errors[1]);
    assert_absent(
        dir.path(),
        &[
            "system-stdin",
            "shell-e",
            "system-line2",
            "outfile",
            "pager",
        ],
    );

    // The same, by the test itself: the client's shell escape runs, both spellings.
    must(
        client,
        &[
            "--no-defaults",
            "-e",
            &format!("system touch {d}/system-stdin"),
        ],
    );
    must(
        client,
        &["--no-defaults", "-e", &format!("\\! touch {d}/shell-e")],
    );
    assert!(dir.path().join("system-stdin").exists() && dir.path().join("shell-e").exists());
}

/// A shared object whose constructor creates `marker` when loaded (a Redis module needs no
/// more to run code: `dlopen` runs the constructor before Redis looks for `RedisModule_OnLoad`).
fn marker_module(dir: &Path, marker: &Path) -> std::path::PathBuf {
    let src = dir.join("marker.c");
    std::fs::write(
        &src,
        format!(
            "#include <fcntl.h>\n#include <unistd.h>\n\
             __attribute__((constructor)) static void cairn_marker(void) {{\n\
               int fd = open(\"{}\", O_CREAT | O_WRONLY, 0644); if (fd >= 0) close(fd);\n}}\n",
            marker.display()
        ),
    )
    .unwrap();
    let so = dir.join("marker.so");
    must(
        "cc",
        &[
            "-shared",
            "-fPIC",
            "-o",
            so.to_str().unwrap(),
            src.to_str().unwrap(),
        ],
    );
    so
}

#[test]
fn a_recipe_declaring_redis_cli_cannot_load_a_module_or_move_the_dump_file() {
    let _machine = machine_lock();
    if skip_unless_root() {
        return;
    }
    run("redis", &[]);
    let dir = marker_dir();
    let marker = dir.path().join("module-loaded");
    let so = marker_module(dir.path(), &marker);
    // A server of the test's own that allows MODULE LOAD (Redis 7 refuses it by default, so the
    // shipped server could not show that the attack is real).
    let port = free_port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .args([
            "--dir",
            dir.path().to_str().unwrap(),
            "--enable-module-command",
            "yes",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server starts");
    let _server = Daemon(child);
    wait_listening(port, "redis-server");
    let (p, so_path) = (port.to_string(), so.display().to_string());
    let errors = attack(
        dir.path(),
        r#"["redis-cli"]"#,
        &[
            format!(
                r#"run("redis-cli", ["-h", "127.0.0.1", "-p", "{p}", "MODULE", "LOAD", "{so_path}"])"#
            ),
            format!(
                r#"run("redis-cli", ["-h", "127.0.0.1", "-p", "{p}"], #{{ stdin: "PING\n\"module\" load {so_path}\n" }})"#
            ),
            format!(
                r#"run("redis-cli", ["-h", "127.0.0.1", "-p", "{p}", "CONFIG", "SET", "dir", "/etc/cron.d"])"#
            ),
            format!(r#"run("redis-cli", ["-h", "127.0.0.1", "-p", "{p}", "--eval", "{so_path}"])"#),
        ],
    );
    assert!(errors[0].contains("`MODULE LOAD`"), "{}", errors[0]);
    assert!(errors[1].contains("line 2"), "{}", errors[1]);
    assert!(!marker.exists(), "the module was loaded: the attack ran");
    let (_, dir_now) = sh(
        "redis-cli",
        &["-h", "127.0.0.1", "-p", &p, "CONFIG", "GET", "dir"],
    );
    assert!(dir_now.contains(dir.path().to_str().unwrap()), "{dir_now}");

    // The same, by the test itself: the module's code runs.
    sh(
        "redis-cli",
        &["-h", "127.0.0.1", "-p", &p, "MODULE", "LOAD", &so_path],
    );
    assert!(
        marker.exists(),
        "the module did not load outside Cairn either: the test proves nothing"
    );
}
