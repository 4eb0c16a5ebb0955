//! Programs that talk to other machines: curl, wget, rsync, ssh, ssh-keygen, restic, gpg, ss.
//!
//! Their GTFOBins entries run commands through options (`ssh -o ProxyCommand=`, `rsync -e`,
//! `restic -o sftp.command=` and `--password-command`, `wget --use-askpass=`, gpg's
//! `--exec-path` and photo viewers, `ssh-keygen -D lib.so`), write files anywhere (`curl -o`,
//! `wget -O`, `ss -D`) or read them (`curl -F @file`, `wget -i`). So curl and wget may only fetch
//! an http(s) URL and print it, ssh-keygen may only make a key pair at a declared path or print
//! a key, ss may only list sockets, and the rest may only print their version: backups run
//! through the recipe's own script, which the catalogue shows as running anything.

use super::argv::{self, Spec, flag, value};
use super::paths::{self, Last};
use super::{Call, Policy};

/// `program --version`-style probes and nothing else.
macro_rules! version_only {
    ($name:literal, $($form:expr),+) => {
        Policy {
            names: &[$name],
            power: "prints its version",
            env: &[],
            reads: super::Reads::Always,
            check: |call| {
                argv::no_stdin($name, call.stdin)?;
                argv::exact($name, call.args, &[$($form),+])
            },
        }
    };
}

pub(super) const POLICIES: &[Policy] = &[
    Policy {
        names: &["curl"],
        power: "fetches an http(s) URL and prints it (writes no file)",
        env: &[],
        reads: super::Reads::Always,
        check: curl,
    },
    Policy {
        names: &["wget"],
        power: "fetches an http(s) URL and prints it (writes no file)",
        env: &[],
        reads: super::Reads::Always,
        check: wget,
    },
    Policy {
        names: &["ssh-keygen"],
        power: "makes SSH key pairs under {paths} and prints keys",
        env: &[],
        reads: super::Reads::Never,
        check: ssh_keygen,
    },
    Policy {
        names: &["ss"],
        power: "lists network sockets (read-only)",
        env: &[],
        reads: super::Reads::Always,
        check: ss,
    },
    version_only!("rsync", &["--version"], &["-V"]),
    version_only!("ssh", &["-V"]),
    version_only!("restic", &["version"], &["--version"]),
    version_only!("gpg", &["--version"]),
];

/// One http(s) URL without curl's `[1-100]`/`{a,b}` globbing.
fn url(program: &str, operands: &[&str]) -> Result<(), String> {
    let [u] = operands[..] else {
        return Err(format!("{program} takes exactly one URL"));
    };
    let scheme_ok = u.starts_with("http://") || u.starts_with("https://");
    if !scheme_ok || u.chars().any(|c| c.is_whitespace() || "[]{}".contains(c)) {
        return Err(format!(
            "`{u}` is not a plain http:// or https:// URL (other schemes read local files or \
             reach other services)"
        ));
    }
    Ok(())
}

fn number(program: &str, opt: &str, values: &[&str]) -> Result<(), String> {
    match values.iter().find(|v| v.parse::<f64>().is_err()) {
        Some(v) => Err(format!("{program} {opt} takes a number, not `{v}`")),
        None => Ok(()),
    }
}

fn curl(call: &Call<'_>) -> Result<(), String> {
    const SPECS: &[Spec] = &[
        flag(&["--version", "-V"]),
        flag(&["-f", "--fail"]),
        flag(&["-s", "--silent"]),
        flag(&["-S", "--show-error"]),
        flag(&["-L", "--location"]),
        flag(&["-I", "--head"]),
        flag(&["-i", "--include"]),
        value(&["-m", "--max-time"]),
        value(&["--connect-timeout"]),
        value(&["--retry"]),
    ];
    argv::no_stdin("curl", call.stdin)?;
    let p = argv::parse("curl", call.args, SPECS)?;
    if p.has("--version") && p.opts.len() == 1 && p.operands.is_empty() {
        return Ok(());
    }
    for opt in ["-m", "--connect-timeout", "--retry"] {
        number("curl", opt, &p.values(opt))?;
    }
    url("curl", &p.operands)
}

fn wget(call: &Call<'_>) -> Result<(), String> {
    const SPECS: &[Spec] = &[
        flag(&["--version", "-V"]),
        flag(&["-q", "--quiet"]),
        flag(&["--no-verbose"]),
        value(&["-O", "--output-document"]),
        value(&["-T", "--timeout"]),
        value(&["-t", "--tries"]),
    ];
    argv::no_stdin("wget", call.stdin)?;
    let p = argv::parse("wget", call.args, SPECS)?;
    if p.has("--version") && p.opts.len() == 1 && p.operands.is_empty() {
        return Ok(());
    }
    if p.values("-O") != ["-"] {
        return Err("wget must print what it fetches (-O -): it may not write a file".to_owned());
    }
    for opt in ["-T", "-t"] {
        number("wget", opt, &p.values(opt))?;
    }
    url("wget", &p.operands)
}

fn ssh_keygen(call: &Call<'_>) -> Result<(), String> {
    const SPECS: &[Spec] = &[
        flag(&["-q"]),
        value(&["-t"]),
        value(&["-b"]),
        value(&["-N"]),
        value(&["-C"]),
        value(&["-f"]),
        flag(&["-y"]),
        flag(&["-l"]),
    ];
    argv::no_stdin("ssh-keygen", call.stdin)?;
    let p = argv::parse("ssh-keygen", call.args, SPECS)?;
    if let Some(o) = p.operands.first() {
        return Err(format!("ssh-keygen takes no operand (`{o}`)"));
    }
    let files = p.values("-f");
    let [file] = files[..] else {
        return Err("ssh-keygen needs exactly one -f FILE".to_owned());
    };
    let reads = p.has("-y") || p.has("-l");
    if reads {
        // Prints a public key or a fingerprint of FILE: nothing is written.
        let only_reading = p
            .opts
            .iter()
            .all(|(n, _)| ["-y", "-l", "-f", "-q"].contains(n));
        if !only_reading || (p.has("-y") && p.has("-l")) {
            return Err("ssh-keygen -y -f FILE and -l -f FILE take no other option".to_owned());
        }
        return Ok(());
    }
    let types = p.values("-t");
    if !matches!(types[..], ["ed25519" | "rsa" | "ecdsa"]) {
        return Err(
            "ssh-keygen makes keys only with one -t ed25519, rsa or ecdsa (or prints one with -y \
             or -l)"
                .to_owned(),
        );
    }
    number("ssh-keygen", "-b", &p.values("-b"))?;
    paths::writable(call.caps, file, Last::NotALink)?;
    paths::writable(call.caps, &format!("{file}.pub"), Last::NotALink)
}

fn ss(call: &Call<'_>) -> Result<(), String> {
    const SPECS: &[Spec] = &[
        flag(&["--version", "-V"]),
        flag(&["-H", "--no-header"]),
        flag(&["-l", "--listening"]),
        flag(&["-a", "--all"]),
        flag(&["-t", "--tcp"]),
        flag(&["-u", "--udp"]),
        flag(&["-x", "--unix"]),
        flag(&["-w", "--raw"]),
        flag(&["-n", "--numeric"]),
        flag(&["-p", "--processes"]),
        flag(&["-e", "--extended"]),
        flag(&["-o", "--options"]),
        flag(&["-i", "--info"]),
        flag(&["-s", "--summary"]),
        flag(&["-4", "--ipv4"]),
        flag(&["-6", "--ipv6"]),
    ];
    argv::no_stdin("ss", call.stdin)?;
    let p = argv::parse("ss", call.args, SPECS)?;
    // What is left is a filter expression (`sport = :11211`), which ss only matches against.
    match p.operands.iter().find(|o| o.starts_with('-')) {
        Some(bad) => Err(format!("`{bad}` may not start with `-`")),
        None => Ok(()),
    }
}
