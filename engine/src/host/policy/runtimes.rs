//! Language runtimes, compilers and tools that run code they are given: a recipe may only ask
//! them for their version.
//!
//! Each of them is a shell by design (`python3 -c`, `node -e`, `ruby -e`, `perl -e`, `npm exec`,
//! `npx`, `gem`/`bundle exec`, `go run` and `-toolexec`, `rustc -C linker=`, `cargo` build
//! scripts, `docker run -v /:/host`, `gunicorn`/`uvicorn`/`puma` loading an application), and
//! most also read code from stdin or from the environment (`NODE_OPTIONS`, `PYTHONSTARTUP`,
//! `RUBYOPT`, `PERL5OPT`, `GOFLAGS`, `RUSTC_WRAPPER`, `DOCKER_HOST=ssh://…`). So each has the
//! exact version probes shipped recipes use, no stdin and no environment. Note `ruby -v`: it
//! prints the version and then runs a script from stdin, so only `ruby --version` is allowed.
//! Installing a runtime goes through `apt_install()` or a checked `download()`, and a toolchain
//! a recipe unpacks and links into the search path is its own program (`resolve.rs`).

use super::Policy;
use super::argv;

/// A policy allowing exactly the given argument vectors, no stdin, no environment.
macro_rules! probe {
    ([$($name:literal),+], $($form:expr),+) => {
        Policy {
            names: &[$($name),+],
            power: "prints its version",
            env: &[],
            reads: super::Reads::Always,
            check: |call| {
                let name = [$($name),+][0];
                argv::no_stdin(name, call.stdin)?;
                argv::exact(name, call.args, &[$($form),+])
            },
        }
    };
}

pub(super) const POLICIES: &[Policy] = &[
    probe!(["python3", "python"], &["--version"], &["-V"], &["-VV"]),
    probe!(["pip3", "pip"], &["--version"], &["-V"]),
    probe!(["node", "nodejs"], &["--version"], &["-v"]),
    probe!(["npm"], &["--version"], &["-v"]),
    probe!(["npx"], &["--version"], &["-v"]),
    probe!(["ruby"], &["--version"]),
    probe!(["gem"], &["--version"]),
    probe!(["bundle", "bundler"], &["--version"], &["-v"], &["version"]),
    probe!(["puma"], &["--version"], &["-V"]),
    probe!(["gunicorn"], &["--version"], &["-v"]),
    probe!(["uvicorn"], &["--version"]),
    probe!(["go"], &["version"]),
    // gofmt rewrites files (-w) and has no version flag: it may be declared, never run.
    Policy {
        names: &["gofmt"],
        power: "nothing: it may be declared but not run",
        env: &[],
        reads: super::Reads::Never,
        check: |call| argv::exact("gofmt", call.args, &[]),
    },
    probe!(
        ["rustc"],
        &["--version"],
        &["-V"],
        &["-vV"],
        &["--version", "--verbose"]
    ),
    probe!(["cargo"], &["--version"], &["-V"], &["-vV"]),
    probe!(["rustup"], &["--version"], &["-V"]),
    probe!(
        ["docker"],
        &["--version"],
        &["-v"],
        &["version"],
        &["version", "--format", "{}"],
        &["version", "-f", "{}"]
    ),
    probe!(
        ["docker-compose"],
        &["--version"],
        &["-v"],
        &["version"],
        &["version", "--short"]
    ),
    probe!(["perl"], &["--version"], &["-v"]),
    probe!(["php"], &["--version"], &["-v"]),
    probe!(["java"], &["--version"], &["-version"]),
];
