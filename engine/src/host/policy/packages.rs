//! Package managers: apt-get, apt, apt-cache, dpkg, dpkg-query.
//!
//! Recipes change packages through the apt helpers (`apt_install`, `apt_update`,
//! `apt_installed`), which build their own argv from names checked against Debian's rules; that
//! is what declaring `apt-get` is for. Run directly, these programs may only be asked questions:
//! every form that installs, configures or removes anything is refused, and so are the option
//! families that run commands (`-o APT::Update::Pre-Invoke::=…`, `-c FILE`, `dpkg -i ./x.deb`,
//! `--pre-invoke`, `--admindir`, `--root`). `APT_CONFIG`, `DPKG_PAGER` and friends are refused
//! with every other environment variable.

use super::argv::{self, Spec, flag, value};
use super::{Call, Policy};

pub(super) const POLICIES: &[Policy] = &[
    Policy {
        names: &["apt-get"],
        power: "installs Debian packages from the server's configured archives (through \
                apt_install); run directly it only prints its version",
        env: &[],
        reads: super::Reads::Always,
        check: apt_get,
    },
    Policy {
        names: &["apt"],
        power: "shows what packages are available and installed (read-only)",
        env: &[],
        reads: super::Reads::Always,
        check: apt,
    },
    Policy {
        names: &["apt-cache"],
        power: "shows what packages are available (read-only)",
        env: &[],
        reads: super::Reads::Always,
        check: apt_cache,
    },
    Policy {
        names: &["dpkg"],
        power: "shows what packages are installed and compares versions (read-only)",
        env: &[],
        reads: super::Reads::Always,
        check: dpkg,
    },
    Policy {
        names: &["dpkg-query"],
        power: "shows what packages are installed (read-only)",
        env: &[],
        reads: super::Reads::Always,
        check: dpkg_query,
    },
];

/// A package name or pattern as a query operand: Debian's characters, an architecture
/// qualifier, shell-style wildcards; never an option or a path.
fn package_pattern(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || "*?[".contains(c))
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+.-:*?[]".contains(c))
}

fn packages(program: &str, operands: &[&str]) -> Result<(), String> {
    match operands.iter().find(|o| !package_pattern(o)) {
        Some(bad) => Err(format!(
            "`{bad}` is not a package name for {program} (lower-case letters, digits, `+.-`, an \
             optional `:arch`, and the wildcards `*?[]`)"
        )),
        None => Ok(()),
    }
}

fn apt_get(call: &Call<'_>) -> Result<(), String> {
    argv::no_stdin("apt-get", call.stdin)?;
    argv::exact("apt-get", call.args, &[&["--version"], &["-v"]])
        .map_err(|e| format!("{e}; install packages with apt_install()"))
}

/// A subcommand-style query: the first operand names the question, the rest are packages.
fn query(
    program: &str,
    call: &Call<'_>,
    specs: &[Spec],
    questions: &[&str],
    any_operand: &[&str],
) -> Result<(), String> {
    argv::no_stdin(program, call.stdin)?;
    let p = argv::parse(program, call.args, specs)?;
    if p.has("--version") && p.operands.is_empty() && p.opts.len() == 1 {
        return Ok(());
    }
    let Some((question, rest)) = p.operands.split_first() else {
        return Err(format!(
            "{program} needs one of {} (or only --version)",
            questions.join(", ")
        ));
    };
    if !questions.contains(question) {
        return Err(format!(
            "`{question}` is not a question Cairn lets {program} answer (allowed: {}); install \
             packages with apt_install()",
            questions.join(", ")
        ));
    }
    if any_operand.contains(question) {
        match rest.iter().find(|o| o.starts_with('-')) {
            Some(bad) => Err(format!("`{bad}` may not start with `-`")),
            None => Ok(()),
        }
    } else {
        packages(program, rest)
    }
}

fn apt(call: &Call<'_>) -> Result<(), String> {
    const SPECS: &[Spec] = &[
        flag(&["--version", "-v"]),
        flag(&["-q", "--quiet"]),
        flag(&["--installed"]),
        flag(&["--upgradable"]),
        flag(&["-a", "--all-versions"]),
    ];
    query(
        "apt",
        call,
        SPECS,
        &["list", "policy", "show", "search"],
        &["search"],
    )
}

fn apt_cache(call: &Call<'_>) -> Result<(), String> {
    const SPECS: &[Spec] = &[
        flag(&["--version", "-v"]),
        flag(&["-q", "--quiet"]),
        flag(&["--names-only", "-n"]),
        flag(&["--no-all-versions"]),
        flag(&["--installed"]),
    ];
    query(
        "apt-cache",
        call,
        SPECS,
        &[
            "policy", "show", "showpkg", "madison", "depends", "rdepends", "search", "pkgnames",
        ],
        &["search"],
    )
}

fn dpkg(call: &Call<'_>) -> Result<(), String> {
    const SPECS: &[Spec] = &[
        flag(&["--version"]),
        flag(&["-l", "--list"]),
        flag(&["-s", "--status"]),
        flag(&["-L", "--listfiles"]),
        flag(&["-S", "--search"]),
        flag(&["-p", "--print-avail"]),
        flag(&["--print-architecture"]),
        flag(&["--print-foreign-architectures"]),
        flag(&["--compare-versions"]),
        flag(&["--no-pager"]),
    ];
    argv::no_stdin("dpkg", call.stdin)?;
    let p = argv::parse("dpkg", call.args, SPECS)?;
    let actions: Vec<&str> = p
        .opts
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| *n != "--no-pager")
        .collect();
    let [action] = actions[..] else {
        return Err(
            "dpkg needs exactly one read-only action (-l, -s, -L, -S, -p, --print-architecture, \
             --compare-versions, --version); install packages with apt_install()"
                .to_owned(),
        );
    };
    match action {
        "--version" | "--print-architecture" | "--print-foreign-architectures"
            if p.operands.is_empty() =>
        {
            Ok(())
        }
        "-l" | "-s" | "-L" | "-p" => packages("dpkg", &p.operands),
        "-S" => match p.operands.iter().find(|o| o.starts_with('-')) {
            Some(bad) => Err(format!("`{bad}` may not start with `-`")),
            None => Ok(()),
        },
        "--compare-versions" => match p.operands[..] {
            [a, op, b]
                if [a, b].iter().all(|v| {
                    v.chars().next().is_some_and(|c| c.is_ascii_digit())
                        && v.chars()
                            .all(|c| c.is_ascii_alphanumeric() || ".+~:-".contains(c))
                }) && [
                    "lt", "le", "eq", "ne", "ge", "gt", "lt-nl", "le-nl", "ge-nl", "gt-nl",
                ]
                .contains(&op) =>
            {
                Ok(())
            }
            _ => Err(
                "dpkg --compare-versions takes VERSION OP VERSION (OP: lt le eq ne ge gt)"
                    .to_owned(),
            ),
        },
        other => Err(format!("{other} takes no operands")),
    }
}

fn dpkg_query(call: &Call<'_>) -> Result<(), String> {
    const SPECS: &[Spec] = &[
        flag(&["--version"]),
        flag(&["-W", "--show"]),
        flag(&["-s", "--status"]),
        flag(&["-l", "--list"]),
        flag(&["-L", "--listfiles"]),
        flag(&["-S", "--search"]),
        flag(&["-p", "--print-avail"]),
        value(&["-f", "--showformat"]),
        flag(&["--no-pager"]),
    ];
    argv::no_stdin("dpkg-query", call.stdin)?;
    let p = argv::parse("dpkg-query", call.args, SPECS)?;
    let actions: Vec<&str> = p
        .opts
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| !["--no-pager", "-f"].contains(n))
        .collect();
    match actions[..] {
        ["--version"] if p.operands.is_empty() => Ok(()),
        ["-S"] => match p.operands.iter().find(|o| o.starts_with('-')) {
            Some(bad) => Err(format!("`{bad}` may not start with `-`")),
            None => Ok(()),
        },
        ["-W" | "-s" | "-l" | "-L" | "-p"] => packages("dpkg-query", &p.operands),
        _ => Err("dpkg-query needs exactly one of -W, -s, -l, -L, -S, -p or --version".to_owned()),
    }
}
