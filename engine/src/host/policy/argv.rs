//! Reading an argument vector the way the program will, so that a policy judges what the program
//! sees and not what the recipe meant.
//!
//! [`parse`] follows GNU `getopt_long`, which most policed programs use: options and operands may
//! come in any order, `--` ends the options, `-abc` is a cluster of short options in which an
//! option that takes a value swallows the rest of the cluster (`-C/dir`, `-xzf/a.tar`) or else the
//! next argument (even one starting with `-`), and `--name=value` or `--name value` give a long
//! option its value. Only the exact names of the [`Spec`]s are accepted: `getopt_long` would also
//! take an unambiguous abbreviation (`--checkp` for `--checkpoint`), and since an abbreviation is
//! never on a list it is refused like any other unknown option.
//!
//! Programs with subcommands or their own parsers (docker, systemctl, apt-get) are judged by
//! [`exact`] forms instead, where no parsing question arises.

/// One option a policy allows: its spellings (`["-f", "--file"]`) and whether it takes a value.
#[derive(Debug, Clone, Copy)]
pub(super) struct Spec {
    /// Every spelling, short (`-f`) and long (`--file`); the first one names it in [`Parsed`].
    pub names: &'static [&'static str],
    pub takes_value: bool,
}

/// An option that takes no value.
pub(super) const fn flag(names: &'static [&'static str]) -> Spec {
    Spec {
        names,
        takes_value: false,
    }
}

/// An option that takes a value.
pub(super) const fn value(names: &'static [&'static str]) -> Spec {
    Spec {
        names,
        takes_value: true,
    }
}

/// An argument vector as the program reads it.
#[derive(Debug, Default)]
pub(super) struct Parsed<'a> {
    /// Options in order, by the first spelling of their [`Spec`], with their values.
    pub opts: Vec<(&'static str, Option<&'a str>)>,
    pub operands: Vec<&'a str>,
}

impl<'a> Parsed<'a> {
    /// Whether the option named `name` (its first spelling) was given.
    pub fn has(&self, name: &str) -> bool {
        self.opts.iter().any(|(n, _)| *n == name)
    }

    /// Every value given to the option named `name`.
    pub fn values(&self, name: &str) -> Vec<&'a str> {
        self.opts
            .iter()
            .filter(|(n, _)| *n == name)
            .filter_map(|(_, v)| *v)
            .collect()
    }
}

/// The spellings a policy allows, for error messages: `-x, -f FILE, --strip-components=N`.
pub(super) fn allowed(specs: &[Spec]) -> String {
    specs
        .iter()
        .map(|s| {
            let names = s.names.join("/");
            if s.takes_value {
                format!("{names} VALUE")
            } else {
                names
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads `args` against `specs`; an option that is not among them is refused with a sentence
/// naming it and what is allowed.
pub(super) fn parse<'a>(
    program: &str,
    args: &'a [String],
    specs: &[Spec],
) -> Result<Parsed<'a>, String> {
    let unknown = |shown: String| {
        format!(
            "{shown} is not an option Cairn allows for {program} (allowed: {}; see docs/recipes.md, \"Programs and their policies\")",
            allowed(specs)
        )
    };
    let find = |name: &str| specs.iter().find(|s| s.names.contains(&name));
    let mut out = Parsed::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "--" {
            out.operands.extend(it.by_ref().map(String::as_str));
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            let dashed = &arg[..name.len() + 2];
            let spec = find(dashed).ok_or_else(|| unknown(format!("`{arg}`")))?;
            let value = match (spec.takes_value, inline) {
                (false, None) => None,
                (false, Some(_)) => return Err(format!("{dashed} takes no value, for {program}")),
                (true, Some(v)) => Some(v),
                (true, None) => Some(
                    it.next()
                        .map(String::as_str)
                        .ok_or_else(|| format!("{dashed} needs a value, for {program}"))?,
                ),
            };
            out.opts.push((spec.names[0], value));
            continue;
        }
        let Some(cluster) = arg.strip_prefix('-').filter(|c| !c.is_empty()) else {
            out.operands.push(arg);
            continue;
        };
        for (i, c) in cluster.char_indices() {
            let short = format!("-{c}");
            let spec = find(&short).ok_or_else(|| {
                unknown(if cluster.len() == c.len_utf8() {
                    format!("`{arg}`")
                } else {
                    format!("`{short}` (in `{arg}`)")
                })
            })?;
            if !spec.takes_value {
                out.opts.push((spec.names[0], None));
                continue;
            }
            let rest = &cluster[i + c.len_utf8()..];
            let value = if rest.is_empty() {
                it.next()
                    .map(String::as_str)
                    .ok_or_else(|| format!("{short} needs a value, for {program}"))?
            } else {
                rest
            };
            out.opts.push((spec.names[0], Some(value)));
            break;
        }
    }
    Ok(out)
}

/// Accepts `args` only if it is exactly one of `forms`, where the element `"{}"` stands for any
/// one argument that does not start with `-`. For programs judged by their whole command line
/// (`docker version --format …`, `systemctl is-active NAME`).
pub(super) fn exact(program: &str, args: &[String], forms: &[&[&str]]) -> Result<(), String> {
    let matches = |form: &[&str]| {
        form.len() == args.len()
            && form.iter().zip(args).all(|(f, a)| {
                if *f == "{}" {
                    !a.starts_with('-') && !a.is_empty()
                } else {
                    f == a
                }
            })
    };
    if forms.iter().any(|f| matches(f)) {
        return Ok(());
    }
    let shown: Vec<String> = forms
        .iter()
        .map(|f| {
            let words: Vec<&str> = std::iter::once(program)
                .chain(f.iter().map(|w| if *w == "{}" { "ARG" } else { w }))
                .collect();
            format!("`{}`", words.join(" "))
        })
        .collect();
    Err(format!(
        "Cairn allows {program} only as {}",
        if shown.is_empty() {
            "nothing: it may not be run directly".to_owned()
        } else {
            shown.join(", ")
        }
    ))
}

/// Refuses stdin for a program whose policy does not read it.
pub(super) fn no_stdin(program: &str, stdin: Option<&[u8]>) -> Result<(), String> {
    match stdin {
        Some(_) => Err(format!(
            "{program} may not be given stdin: what it would read there is not covered by its policy"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const TAR: &[Spec] = &[
        flag(&["-x", "--extract"]),
        flag(&["-z", "--gzip"]),
        value(&["-f", "--file"]),
        value(&["-C", "--directory"]),
    ];

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn clusters_take_the_rest_as_a_value_like_getopt() {
        let a = args(&["-xzf/a.tar", "-C", "/opt/x"]);
        let p = parse("tar", &a, TAR).unwrap();
        assert_eq!(p.values("-f"), ["/a.tar"]);
        assert_eq!(p.values("-C"), ["/opt/x"]);
        assert!(p.has("-x") && p.has("-z"));
        assert!(p.operands.is_empty());
    }

    #[test]
    fn a_value_may_start_with_a_dash_and_long_options_take_either_form() {
        let a = args(&["--file", "-x", "--directory=/d"]);
        let p = parse("tar", &a, TAR).unwrap();
        assert_eq!(p.values("-f"), ["-x"]);
        assert_eq!(p.values("-C"), ["/d"]);
        assert!(!p.has("-x"));
    }

    #[test]
    fn unknown_options_and_abbreviations_are_refused_wherever_they_hide() {
        for bad in [
            &["-x", "--checkpoint-action=exec=sh"][..],
            &["--extr"],
            &["-xI", "sh"],
            &["-x", "--gzip=yes"],
            &["-xf"],
        ] {
            assert!(parse("tar", &args(bad), TAR).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn operands_come_anywhere_and_everything_after_double_dash_is_one() {
        let a = args(&["a", "-x", "--", "-z", "b"]);
        let p = parse("tar", &a, TAR).unwrap();
        assert_eq!(p.operands, ["a", "-z", "b"]);
        assert!(!p.has("-z"));
    }

    #[test]
    fn exact_forms_match_whole_vectors_only() {
        let forms: &[&[&str]] = &[&["--version"], &["version", "--format", "{}"]];
        assert!(exact("docker", &args(&["--version"]), forms).is_ok());
        assert!(exact("docker", &args(&["version", "--format", "x {{.V}}"]), forms).is_ok());
        assert!(exact("docker", &args(&["version", "--format", "-H"]), forms).is_err());
        assert!(exact("docker", &args(&["--version", "run"]), forms).is_err());
        let e = exact("docker", &args(&["run"]), forms).unwrap_err();
        assert!(
            e.contains("`docker --version`, `docker version --format ARG`"),
            "{e}"
        );
    }
}
