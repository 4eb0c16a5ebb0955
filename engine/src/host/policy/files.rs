//! Programs that change files: ln, rm, chmod, chown, mkdir, touch (and tar, in `archives.rs`).
//!
//! Each may act only under the recipe's declared write paths, never through a symbolic link
//! (`paths.rs`), with a short list of options. The families GTFOBins lists for them are what
//! the lists leave out: hard links (`ln` without `-s` makes a second name for `/etc/shadow`
//! that a later `chmod` would open up), links pointing outside the declared paths (which tar
//! or a daemon would then write through), setuid, setgid and sticky bits (a setuid root binary
//! is a root shell for every local user, so chmod and mkdir refuse them as `write_file()`
//! does), `--reference`, `--no-preserve-root`, and following links with `-L`/`-H`.

use super::archives;
use super::argv::{self, Spec, flag, value};
use super::paths::{self, Last};
use super::{Call, Policy};

pub(super) const POLICIES: &[Policy] = &[
    Policy {
        names: &["ln"],
        power: "makes symbolic links within {paths}",
        env: &[],
        reads: super::Reads::Never,
        check: ln,
    },
    Policy {
        names: &["rm"],
        power: "removes files and folders under {paths}",
        env: &[],
        reads: super::Reads::Never,
        check: rm,
    },
    Policy {
        names: &["chmod"],
        power: "changes permission bits (never setuid, setgid or sticky) under {paths}",
        env: &[],
        reads: super::Reads::Never,
        check: chmod,
    },
    Policy {
        names: &["chown"],
        power: "changes the owner of files under {paths}",
        env: &[],
        reads: super::Reads::Never,
        check: chown,
    },
    Policy {
        names: &["mkdir"],
        power: "makes folders under {paths}",
        env: &[],
        reads: super::Reads::Never,
        check: mkdir,
    },
    Policy {
        names: &["touch"],
        power: "creates empty files and sets file times under {paths}",
        env: &[],
        reads: super::Reads::Never,
        check: touch,
    },
    archives::TAR,
];

/// Every operand is a path the program writes.
fn writable_all(call: &Call<'_>, operands: &[&str], last: Last) -> Result<(), String> {
    operands
        .iter()
        .try_for_each(|o| paths::writable(call.caps, o, last))
}

fn ln(call: &Call<'_>) -> Result<(), String> {
    const SPECS: &[Spec] = &[
        flag(&["-s", "--symbolic"]),
        flag(&["-f", "--force"]),
        flag(&["-n", "--no-dereference"]),
        flag(&["-T", "--no-target-directory"]),
        flag(&["-v", "--verbose"]),
    ];
    argv::no_stdin("ln", call.stdin)?;
    let p = argv::parse("ln", call.args, SPECS)?;
    if !p.has("-s") {
        return Err(
            "ln may only make symbolic links (-s): a hard link would give a file outside the \
             declared paths a second name inside them"
                .to_owned(),
        );
    }
    let [target, link] = p.operands[..] else {
        return Err("ln takes exactly TARGET and LINK_NAME".to_owned());
    };
    let lexical = paths::normalize(std::path::Path::new(target));
    if !target.starts_with('/') || !lexical.is_some_and(|t| paths::under_declared(call.caps, &t)) {
        return Err(format!(
            "the link would point to `{target}`, which is not an absolute path under the \
             declared paths ({}); whatever later writes through the link would write there",
            call.caps.paths.join(", ")
        ));
    }
    // With -n or -T an existing link at LINK_NAME is replaced; without, ln would follow it.
    let last = if p.has("-n") || p.has("-T") {
        Last::MayBeALink
    } else {
        Last::NotALink
    };
    paths::writable(call.caps, link, last)
}

fn rm(call: &Call<'_>) -> Result<(), String> {
    const SPECS: &[Spec] = &[
        flag(&["-f", "--force"]),
        flag(&["-r", "-R", "--recursive"]),
        flag(&["-d", "--dir"]),
        flag(&["-v", "--verbose"]),
    ];
    argv::no_stdin("rm", call.stdin)?;
    let p = argv::parse("rm", call.args, SPECS)?;
    if p.operands.is_empty() {
        return Err("rm needs at least one path".to_owned());
    }
    // rm removes a link itself, never what it points to.
    writable_all(call, &p.operands, Last::MayBeALink)
}

/// A mode without setuid, setgid or sticky bits: octal up to 0777, or symbolic with `rwxX`
/// (and copies like `g=u`).
fn plain_mode(mode: &str) -> bool {
    if mode.chars().all(|c| c.is_ascii_digit()) {
        return (1..=4).contains(&mode.len())
            && u32::from_str_radix(mode, 8).is_ok_and(|m| m <= 0o777);
    }
    mode.split(',').all(|clause| {
        let clause = clause.trim_start_matches(['u', 'g', 'o', 'a']);
        let Some(rest) = clause.strip_prefix(['+', '-', '=']) else {
            return false;
        };
        rest.chars().all(|c| "rwxX".contains(c)) || (rest.len() == 1 && "ugo".contains(rest))
    })
}

fn chmod(call: &Call<'_>) -> Result<(), String> {
    const SPECS: &[Spec] = &[
        flag(&["-R", "--recursive"]),
        flag(&["-f", "--silent", "--quiet"]),
        flag(&["-v", "--verbose"]),
        flag(&["-c", "--changes"]),
    ];
    argv::no_stdin("chmod", call.stdin)?;
    let p = argv::parse("chmod", call.args, SPECS)?;
    let Some((mode, files)) = p.operands.split_first() else {
        return Err("chmod needs MODE and at least one path".to_owned());
    };
    if !plain_mode(mode) {
        return Err(format!(
            "mode `{mode}` is refused: only permission bits (octal up to 0777, or u/g/o/a with \
             +-= and rwxX) may be set, never setuid, setgid or sticky"
        ));
    }
    if files.is_empty() {
        return Err("chmod needs at least one path".to_owned());
    }
    // chmod follows a link named on its command line (and ignores those it meets with -R).
    writable_all(call, files, Last::NotALink)
}

/// `user`, `user:group`, `user:`, `:group`, names or numbers.
fn owner_spec(s: &str) -> bool {
    let name = |n: &str| {
        n.chars().all(|c| c.is_ascii_digit())
            || (n.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && n.len() <= 32
                && n.trim_end_matches('$')
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-".contains(c)))
    };
    match s.split_once(':') {
        Some((u, g)) => (u.is_empty() || name(u)) && (g.is_empty() || name(g)) && s != ":",
        None => !s.is_empty() && name(s),
    }
}

fn chown(call: &Call<'_>) -> Result<(), String> {
    const SPECS: &[Spec] = &[
        flag(&["-R", "--recursive"]),
        flag(&["-h", "--no-dereference"]),
        flag(&["-f", "--silent", "--quiet"]),
        flag(&["-v", "--verbose"]),
        flag(&["-c", "--changes"]),
    ];
    argv::no_stdin("chown", call.stdin)?;
    let p = argv::parse("chown", call.args, SPECS)?;
    let Some((owner, files)) = p.operands.split_first() else {
        return Err("chown needs OWNER[:GROUP] and at least one path".to_owned());
    };
    if !owner_spec(owner) {
        return Err(format!(
            "`{owner}` is not an owner: give USER, USER:GROUP or :GROUP (names or numbers)"
        ));
    }
    if files.is_empty() {
        return Err("chown needs at least one path".to_owned());
    }
    // chown follows a link named on its command line unless -h (-R alone never follows).
    let last = if p.has("-h") {
        Last::MayBeALink
    } else {
        Last::NotALink
    };
    writable_all(call, files, last)
}

fn mkdir(call: &Call<'_>) -> Result<(), String> {
    const SPECS: &[Spec] = &[
        flag(&["-p", "--parents"]),
        value(&["-m", "--mode"]),
        flag(&["-v", "--verbose"]),
    ];
    argv::no_stdin("mkdir", call.stdin)?;
    let p = argv::parse("mkdir", call.args, SPECS)?;
    if let Some(mode) = p.values("-m").into_iter().find(|m| !plain_mode(m)) {
        return Err(format!(
            "mode `{mode}` is refused: only permission bits (at most 0777) may be set"
        ));
    }
    if p.operands.is_empty() {
        return Err("mkdir needs at least one path".to_owned());
    }
    writable_all(call, &p.operands, Last::NotALink)
}

fn touch(call: &Call<'_>) -> Result<(), String> {
    const SPECS: &[Spec] = &[
        flag(&["-c", "--no-create"]),
        flag(&["-a"]),
        flag(&["-m"]),
        value(&["-d", "--date"]),
        value(&["-t"]),
    ];
    argv::no_stdin("touch", call.stdin)?;
    let p = argv::parse("touch", call.args, SPECS)?;
    if p.operands.is_empty() {
        return Err("touch needs at least one path".to_owned());
    }
    writable_all(call, &p.operands, Last::NotALink)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_never_carry_special_bits() {
        for ok in [
            "755",
            "0644",
            "0",
            "u+x",
            "go-w",
            "a=rX",
            "u=rwx,g=rx,o=",
            "g=u",
        ] {
            assert!(plain_mode(ok), "{ok}");
        }
        for bad in [
            "4755", "2755", "1777", "07777", "u+s", "+t", "g+s", "o=rwxt", "755a", "",
        ] {
            assert!(!plain_mode(bad), "{bad}");
        }
    }

    #[test]
    fn owners_are_names_or_numbers() {
        for ok in [
            "postgres",
            "postgres:postgres",
            "root:",
            ":adm",
            "0:0",
            "www-data",
        ] {
            assert!(owner_spec(ok), "{ok}");
        }
        for bad in [":", "", "-R", "a b", "--reference=/etc/shadow", "../x"] {
            assert!(!owner_spec(bad), "{bad}");
        }
    }
}
