//! Small utilities that print or wait: true, false, echo, printf, seq, sleep, printenv, date,
//! cat, ls, pv.
//!
//! None of them can start a program, but some read or change more than their name says:
//! `date -s` sets the clock and `date -f FILE` prints a file, `cat FILE` and `pv FILE` print any
//! file (read_file() keeps recipes inside their declared paths, so cat does too), `ls --color`
//! and friends are harmless but unneeded. Each gets the forms that print or wait.

use super::argv::{self, Spec, flag, value};
use super::paths::{self, Last};
use super::{Call, Policy};

pub(super) const POLICIES: &[Policy] = &[
    Policy {
        names: &["true", "false"],
        power: "does nothing but exit",
        env: &[],
        reads: super::Reads::Always,
        check: |_| Ok(()),
    },
    Policy {
        names: &["echo", "printf"],
        power: "prints its arguments",
        env: &[],
        reads: super::Reads::Always,
        check: |call| argv::no_stdin(super::basename(call.program), call.stdin),
    },
    Policy {
        names: &["seq"],
        power: "prints numbers",
        env: &[],
        reads: super::Reads::Always,
        check: seq,
    },
    Policy {
        names: &["sleep"],
        power: "waits",
        env: &[],
        reads: super::Reads::Always,
        check: sleep,
    },
    Policy {
        names: &["printenv"],
        power: "prints its environment",
        env: &[],
        reads: super::Reads::Always,
        check: printenv,
    },
    Policy {
        names: &["date"],
        power: "prints the date (never sets it)",
        env: &[],
        reads: super::Reads::Always,
        check: date,
    },
    Policy {
        names: &["cat"],
        power: "prints its stdin, or files under {paths}",
        env: &[],
        reads: super::Reads::Always,
        check: cat,
    },
    Policy {
        names: &["ls"],
        power: "lists folders (read-only)",
        env: &[],
        reads: super::Reads::Always,
        check: ls,
    },
    Policy {
        names: &["pv"],
        power: "prints its version",
        env: &[],
        reads: super::Reads::Always,
        check: |call| {
            argv::no_stdin("pv", call.stdin)?;
            argv::exact("pv", call.args, &[&["--version"], &["-V"]])
        },
    },
];

fn numbers(program: &str, operands: &[&str], max: usize) -> Result<(), String> {
    if operands.is_empty() || operands.len() > max {
        return Err(format!("{program} takes 1 to {max} numbers"));
    }
    match operands.iter().find(|o| o.parse::<f64>().is_err()) {
        Some(bad) => Err(format!("{program} takes numbers, not `{bad}`")),
        None => Ok(()),
    }
}

fn seq(call: &Call<'_>) -> Result<(), String> {
    const SPECS: &[Spec] = &[
        value(&["-s", "--separator"]),
        value(&["-f", "--format"]),
        flag(&["-w", "--equal-width"]),
    ];
    argv::no_stdin("seq", call.stdin)?;
    let p = argv::parse("seq", call.args, SPECS)?;
    numbers("seq", &p.operands, 3)
}

fn sleep(call: &Call<'_>) -> Result<(), String> {
    argv::no_stdin("sleep", call.stdin)?;
    let duration = |d: &String| {
        let n = d.trim_end_matches(['s', 'm', 'h', 'd']);
        n.len() + 1 >= d.len() && n.parse::<f64>().is_ok_and(|v| v >= 0.0)
    };
    if call.args.is_empty() || !call.args.iter().all(duration) {
        return Err("sleep takes durations (`10`, `0.5`, `2m`)".to_owned());
    }
    Ok(())
}

fn printenv(call: &Call<'_>) -> Result<(), String> {
    argv::no_stdin("printenv", call.stdin)?;
    let p = argv::parse("printenv", call.args, &[flag(&["-0", "--null"])])?;
    match p.operands.iter().find(|o| o.starts_with('-')) {
        Some(bad) => Err(format!("`{bad}` is not a variable name")),
        None => Ok(()),
    }
}

fn date(call: &Call<'_>) -> Result<(), String> {
    const SPECS: &[Spec] = &[
        flag(&["-u", "--utc", "--universal"]),
        value(&["-d", "--date"]),
        flag(&["-R", "--rfc-email"]),
        flag(&["-I"]),
    ];
    argv::no_stdin("date", call.stdin)?;
    let p = argv::parse("date", call.args, SPECS)?;
    match p.operands[..] {
        [] => Ok(()),
        [format] if format.starts_with('+') => Ok(()),
        _ => Err(
            "date takes at most one +FORMAT (an operand without `+` would set the clock)"
                .to_owned(),
        ),
    }
}

fn cat(call: &Call<'_>) -> Result<(), String> {
    const SPECS: &[Spec] = &[
        flag(&["-n", "--number"]),
        flag(&["-b", "--number-nonblank"]),
        flag(&["-s", "--squeeze-blank"]),
        flag(&["-A", "--show-all"]),
        flag(&["-E", "--show-ends"]),
        flag(&["-T", "--show-tabs"]),
        flag(&["-v", "--show-nonprinting"]),
    ];
    let p = argv::parse("cat", call.args, SPECS)?;
    // Reading follows the rules of read_file(): declared paths, no link on the way.
    p.operands
        .iter()
        .filter(|o| **o != "-")
        .try_for_each(|o| paths::writable(call.caps, o, Last::NotALink))
}

fn ls(call: &Call<'_>) -> Result<(), String> {
    const SPECS: &[Spec] = &[
        flag(&["--version"]),
        flag(&["-l"]),
        flag(&["-a", "--all"]),
        flag(&["-A", "--almost-all"]),
        flag(&["-1"]),
        flag(&["-d", "--directory"]),
        flag(&["-n", "--numeric-uid-gid"]),
        flag(&["-h", "--human-readable"]),
        flag(&["-R", "--recursive"]),
        flag(&["-t"]),
        flag(&["-r", "--reverse"]),
        flag(&["-S"]),
    ];
    argv::no_stdin("ls", call.stdin)?;
    argv::parse("ls", call.args, SPECS).map(|_| ())
}
