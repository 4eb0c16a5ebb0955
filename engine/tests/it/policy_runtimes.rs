//! Argument policies of the language runtimes and tools that run code they are given (docs/threats.md
//! row 30): python3, node, npm, npx, ruby, gem, bundle, puma, gunicorn, uvicorn, go, gofmt,
//! rustc, cargo, rustup, docker, docker-compose, perl. Each may only print its version: code on
//! the command line, in a file, on stdin or in the environment is refused before it starts.
//! Docker's recipe also declares `rm`, for its uninstall: it reaches the daemon's data folders
//! and nothing beside them.
#![allow(clippy::unwrap_used)]

use crate::util;

use util::policy::{allows, assert_refused, payload_is_live, refuses_all, run_call};

/// Runs `program args` through Cairn and asserts that the payload (which creates `marker`
/// outside Cairn) is refused.
fn live_and_refused(program: &str, args: &[&str], marker: &std::path::Path) {
    payload_is_live(program, args, marker);
    assert_refused(
        &[program],
        &[],
        &run_call(program, args, None),
        Some(marker),
    );
}

#[test]
fn interpreters_run_no_code_from_arguments_stdin_or_environment() {
    let tmp = util::tempdir();
    let marker = tmp.path().join("marker");
    let m = marker.display().to_string();
    let py = format!("import os; os.system('touch {m}')");
    let pl = format!("system('touch {m}')");
    let js = format!("require('child_process').execSync('touch {m}')");
    live_and_refused("/usr/bin/python3", &["-c", &py], &marker);
    live_and_refused("/usr/bin/perl", &["-e", &pl], &marker);
    if std::path::Path::new("/usr/bin/node").exists() {
        live_and_refused("/usr/bin/node", &["-e", &js], &marker);
    }
    let script = tmp.path().join("x.py");
    std::fs::write(&script, &py).unwrap();
    let s = script.display().to_string();
    refuses_all(
        "python3",
        &[],
        &[
            &["-c", &py],
            &["-V", "-c", &py],
            &["-I", "-c", &py],
            &["-m", "http.server"],
            &[&s],
            &["-"],
            &["--version", &s],
        ],
    );
    refuses_all(
        "perl",
        &[],
        &[&["-e", &pl], &["-E", &pl], &["-MPOSIX", "-v"], &[&s]],
    );
    refuses_all(
        "node",
        &[],
        &[
            &["-e", &js],
            &["--eval", &js],
            &["-p", &js],
            &["--require", &s, "-v"],
            &[&s],
        ],
    );
    refuses_all(
        "ruby",
        &[],
        &[&["-e", &pl], &["-v"], &["-rshellwords", "--version"], &[&s]],
    );
    // With a program on stdin (`ruby -v` would run it after printing the version).
    for (program, args) in [
        ("python3", "--version"),
        ("ruby", "--version"),
        ("node", "--version"),
        ("perl", "-v"),
    ] {
        let opts = format!("#{{ stdin: {} }}", util::policy::lit(&py));
        assert_refused(
            &[program],
            &[],
            &run_call(program, &[args], Some(&opts)),
            Some(&marker),
        );
    }
    // With code in the environment.
    for (program, var) in [
        ("python3", "PYTHONSTARTUP"),
        ("python3", "PYTHONPATH"),
        ("node", "NODE_OPTIONS"),
        ("ruby", "RUBYOPT"),
        ("perl", "PERL5OPT"),
    ] {
        let opts = format!("#{{ env: #{{ {var}: {} }} }}", util::policy::lit(&s));
        let e = assert_refused(
            &[program],
            &[],
            &run_call(program, &["--version"], Some(&opts)),
            Some(&marker),
        );
        assert!(e.contains(var), "{e}");
    }
    for (program, args) in [
        ("python3", &["--version"][..]),
        ("python3", &["-V"]),
        ("node", &["--version"]),
        ("ruby", &["--version"]),
        ("perl", &["-v"]),
    ] {
        allows(program, &[], args);
    }
}

#[test]
fn package_tools_and_app_servers_run_nothing() {
    refuses_all(
        "npm",
        &[],
        &[
            &["exec", "--", "touch", "/tmp/x"],
            &["x", "touch"],
            &["run", "x"],
            &["install", "x"],
            &["--version", "--prefix=/tmp"],
            &["-g", "i", "x"],
        ],
    );
    refuses_all(
        "npx",
        &[],
        &[
            &["touch", "/tmp/x"],
            &["-c", "touch /tmp/x"],
            &["--yes", "x"],
        ],
    );
    refuses_all(
        "gem",
        &[],
        &[
            &["install", "x"],
            &["open", "-e", "/bin/sh", "rdoc"],
            &["build", "x.gemspec"],
            &["--version", "--config-file", "/tmp/x"],
        ],
    );
    refuses_all(
        "bundle",
        &[],
        &[
            &["exec", "touch", "/tmp/x"],
            &["console"],
            &["install"],
            &["--gemfile=/tmp/G", "version"],
        ],
    );
    refuses_all(
        "puma",
        &[],
        &[
            &["-C", "/tmp/puma.rb"],
            &["--config", "/tmp/puma.rb"],
            &["/tmp/config.ru"],
            &["-V", "-C", "/tmp/x"],
        ],
    );
    refuses_all(
        "gunicorn",
        &[],
        &[
            &["--config", "python:os"],
            &["-c", "/tmp/x.py", "app:app"],
            &["app:app"],
            &["--check-config", "x:y"],
        ],
    );
    refuses_all(
        "uvicorn",
        &[],
        &[
            &["app:app"],
            &["--reload", "x:y"],
            &["--env-file", "/tmp/e", "x:y"],
            &["--factory", "os:system"],
        ],
    );
    for (p, a) in [
        ("npm", &["--version"][..]),
        ("npx", &["--version"]),
        ("gem", &["--version"]),
        ("bundle", &["--version"]),
        ("puma", &["--version"]),
        ("gunicorn", &["--version"]),
        ("uvicorn", &["--version"]),
    ] {
        allows(p, &[], a);
    }
}

#[test]
fn compilers_build_and_run_nothing() {
    refuses_all(
        "go",
        &[],
        &[
            &["run", "/tmp/x.go"],
            &["build", "-toolexec=/tmp/x", "."],
            &["generate", "./..."],
            &["env", "-w", "GOTOOLCHAIN=go1.99+path"],
            &["get", "x"],
            &["version", "-m", "/tmp/x"],
            &["tool", "x"],
        ],
    );
    for var in ["GOFLAGS", "GOTOOLCHAIN", "GOENV"] {
        let opts = format!("#{{ env: #{{ {var}: \"-toolexec=/tmp/x\" }} }}");
        assert_refused(
            &["go"],
            &[],
            &run_call("go", &["version"], Some(&opts)),
            None,
        );
    }
    refuses_all("gofmt", &[], &[&["-w", "/tmp/x.go"], &["-l", "/"], &[]]);
    refuses_all(
        "rustc",
        &[],
        &[
            &["-C", "linker=/tmp/x", "/tmp/x.rs"],
            &["-Clinker=/tmp/x", "--version"],
            &["--crate-type", "bin", "/tmp/x.rs"],
            &["-Z", "unstable-options", "--version"],
            &["--version", "-L", "/tmp"],
        ],
    );
    let opts = r#"#{ env: #{ RUSTC_WRAPPER: "/tmp/x" } }"#;
    assert_refused(
        &["cargo"],
        &[],
        &run_call("cargo", &["--version"], Some(opts)),
        None,
    );
    refuses_all(
        "cargo",
        &[],
        &[
            &["build"],
            &["run"],
            &["install", "x"],
            &["--config", "build.rustc-wrapper='/tmp/x'", "--version"],
            &["-Z", "x", "--version"],
            &["help", "doc"],
        ],
    );
    refuses_all(
        "rustup",
        &[],
        &[
            &["run", "stable", "sh"],
            &["toolchain", "link", "x", "/tmp"],
            &["default", "x"],
            &["self", "uninstall"],
        ],
    );
    for (p, a) in [
        ("go", &["version"][..]),
        ("rustc", &["--version"]),
        ("rustc", &["-vV"]),
        ("cargo", &["--version"]),
        ("rustup", &["--version"]),
    ] {
        allows(p, &[], a);
    }
}

#[test]
fn docker_starts_no_container_and_reaches_no_other_host() {
    refuses_all(
        "/usr/bin/docker",
        &[],
        &[
            &["run", "-v", "/:/host", "alpine", "chroot", "/host", "sh"],
            &["run", "--privileged", "alpine"],
            &["exec", "x", "sh"],
            &["cp", "x:/etc/shadow", "/tmp"],
            &["-H", "ssh://x", "version"],
            &["--host=ssh://x", "version"],
            &["--config", "/tmp/d", "version"],
            &["version", "--format", "-H"],
            &["version", "--format", "x", "extra"],
            &["compose", "up"],
            &["plugin", "install", "x"],
        ],
    );
    let opts = r#"#{ env: #{ DOCKER_HOST: "ssh://x" } }"#;
    assert_refused(
        &["/usr/bin/docker"],
        &[],
        &run_call("/usr/bin/docker", &["version"], Some(opts)),
        None,
    );
    refuses_all(
        "/usr/bin/docker-compose",
        &[],
        &[
            &["up"],
            &["run", "x", "sh"],
            &["-f", "/tmp/c.yml", "up"],
            &["exec", "x", "sh"],
        ],
    );
    // docker.rhai's forms.
    allows("/usr/bin/docker", &[], &["--version"]);
    allows(
        "/usr/bin/docker",
        &[],
        &["version", "--format", "server {{.Server.Version}}"],
    );
    allows("/usr/bin/docker-compose", &[], &["version", "--short"]);
}

/// docker.rhai's `uninstall` deletes the daemon's data with `rm -rf -- PATH`: with the paths the
/// shipped recipe declares, exactly its two data folders (and what is inside them) can go, never
/// the folder that holds them, a neighbour whose name starts the same, a path climbing out with
/// `..`, Docker's configuration or the whole disk.
#[test]
fn dockers_rm_reaches_its_data_folders_and_nothing_beside_them() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../recipes");
    let recipe = cairn_engine::Recipe::load(&dir.join("docker.rhai")).unwrap();
    let caps = &recipe.meta.capabilities;
    assert!(caps.allows_program("rm"), "{:?}", caps.programs);
    let paths: Vec<&str> = caps.paths.iter().map(String::as_str).collect();
    for data in ["/var/lib/docker", "/var/lib/containerd"] {
        assert!(paths.contains(&data), "{paths:?}");
        allows("rm", &paths, &["-rf", "--", data]);
        allows("rm", &paths, &["-rf", "--", &format!("{data}/volumes/x")]);
    }
    refuses_all(
        "rm",
        &paths,
        &[
            &["-rf", "--", "/var/lib"],
            &["-rf", "--", "/var/lib/dpkg"],
            &["-rf", "--", "/var/lib/docker-old"],
            &["-rf", "--", "/var/lib/docker/../dpkg"],
            &["-rf", "--", "/etc/docker"],
            &["-rf", "--", "/"],
            &["-rf", "--no-preserve-root", "/"],
            &["-rf", "/var/lib/docker", "/var/lib/postgresql"],
        ],
    );
}
