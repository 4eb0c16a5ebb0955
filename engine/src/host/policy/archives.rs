//! tar, for extracting a downloaded archive into the recipe's own folder.
//!
//! GNU tar runs programs in more ways than any other policed program: `--checkpoint-action=exec=`,
//! `--to-command`, `-I`/`--use-compress-program`, `--rsh-command` and a remote `host:file`
//! archive, `--info-script`/`--new-volume-script`, and `TAR_OPTIONS` to slip any of them in
//! through the environment. It also writes outside its folder when asked (`-P`, `--transform`,
//! `--overwrite` through an existing link), and as root it restores setuid bits. So the one form
//! allowed is an extraction: `-x -f ARCHIVE -C DIR --no-same-owner --no-same-permissions`, with
//! a compression flag and `--strip-components=N` if needed, no member names, no other option.
//! DIR must be under the declared paths with no link leading outside (`paths.rs`); the archive
//! is read-only and may be anywhere local. tar itself refuses `..` members and strips a leading
//! `/`, and links inside the archive are only made after everything else is extracted.

use super::argv::{self, Spec, flag, value};
use super::paths;
use super::{Call, Policy};

pub(super) const TAR: Policy = Policy {
    names: &["tar"],
    power: "extracts archives into {paths}",
    env: &[],
    reads: super::Reads::Never,
    check: tar,
};

const SPECS: &[Spec] = &[
    flag(&["-x", "--extract", "--get"]),
    value(&["-f", "--file"]),
    value(&["-C", "--directory"]),
    flag(&["-z", "--gzip", "--gunzip", "--ungzip"]),
    flag(&["-j", "--bzip2"]),
    flag(&["-J", "--xz"]),
    flag(&["--zstd"]),
    value(&["--strip-components"]),
    flag(&["--no-same-owner", "-o"]),
    flag(&["--no-same-permissions"]),
    flag(&["-m", "--touch"]),
    flag(&["-v", "--verbose"]),
    flag(&["-k", "--keep-old-files"]),
    flag(&["--skip-old-files"]),
];

fn tar(call: &Call<'_>) -> Result<(), String> {
    argv::no_stdin("tar", call.stdin)?;
    // An old-style first argument (`tar xzf a.tar`) is read as options by tar and as an
    // operand here; operands are refused below, so it cannot slip through.
    let p = argv::parse("tar", call.args, SPECS)?;
    let form = "tar may only extract: -x -f ARCHIVE -C DIR --no-same-owner --no-same-permissions \
                (with -z, -j, -J or --zstd and --strip-components=N if needed)";
    if !p.has("-x") {
        return Err(format!("{form}; -x is missing"));
    }
    for required in ["--no-same-owner", "--no-same-permissions"] {
        if !p.has(required) {
            return Err(format!(
                "{form}; {required} is missing (as root tar would otherwise restore owners and \
                 setuid bits from the archive)"
            ));
        }
    }
    if let Some(member) = p.operands.first() {
        return Err(format!(
            "{form}; `{member}` would be read as a member name (or, first, as old-style options), \
             which Cairn does not allow"
        ));
    }
    let archives = p.values("-f");
    let [archive] = archives[..] else {
        return Err(format!("{form}; give exactly one -f ARCHIVE"));
    };
    if !archive.starts_with('/') || archive.contains(':') {
        return Err(format!(
            "the archive `{archive}` must be a local absolute path without `:` (tar reads \
             `host:file` from another machine by running a remote shell)"
        ));
    }
    if let Some(n) = p
        .values("--strip-components")
        .into_iter()
        .find(|n| n.parse::<u8>().is_err())
    {
        return Err(format!(
            "--strip-components takes a small number, not `{n}`"
        ));
    }
    let dirs = p.values("-C");
    if dirs.is_empty() {
        return Err(format!(
            "{form}; -C DIR is missing (tar would extract into `/`)"
        ));
    }
    dirs.into_iter()
        .try_for_each(|d| paths::extraction_dir(call.caps, d))
}
