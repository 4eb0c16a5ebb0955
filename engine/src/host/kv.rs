//! `KEY='value'` files: the settings and state files a recipe shares with its own shell
//! scripts, which read them with `. FILE`. Sourcing runs the file as shell code, so the writer
//! here is what keeps a value from running anything: every value is single-quoted (a `'` inside
//! becomes `'\''`, the one way to write a quote in a single-quoted shell word), a value that is
//! not one line of text is refused (the reader and many scripts read the file line by line),
//! and a key must be a plain shell name that is not one of the variables that change how the
//! shell or the programs it starts behave (`PATH`, `IFS`, `ENV`, `LD_PRELOAD`, …): a script
//! that sources its settings with `set -a` exports every key.
//!
//! The reader takes what the writer writes, and what a script writes with `KEY='$value'`:
//! each line `KEY=WORD`, the word read as the shell reads it (quoted parts, `\x`), up to the
//! first unquoted blank. Lines that are not assignments (comments, blank lines, `export …`) are
//! skipped, and a later assignment of a key wins, as in the shell.

use std::collections::BTreeMap;

/// Names a `KEY='value'` file may not assign: the shell's own configuration and the dynamic
/// loader's (every name starting with `LD_` too).
const RESERVED: &[&str] = &[
    "PATH",
    "HOME",
    "IFS",
    "ENV",
    "BASH_ENV",
    "SHELLOPTS",
    "BASHOPTS",
    "CDPATH",
    "GLOBIGNORE",
    "POSIXLY_CORRECT",
    "PS1",
    "PS2",
    "PS4",
    "PPID",
    "PWD",
    "OLDPWD",
    "OPTIND",
    "OPTARG",
    "SHELL",
];

/// The longest key, and the most keys one file may hold.
pub const MAX_KEY_LEN: usize = 64;
pub const MAX_KEYS: usize = 1000;

/// Whether `key` has the shape of a shell variable name (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn is_name(key: &str) -> bool {
    key.len() <= MAX_KEY_LEN
        && key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Refuses a key a recipe may not write, with the reason (a sentence fragment naming it).
pub fn check_key(key: &str) -> Result<(), String> {
    if !is_name(key) {
        return Err(format!(
            "the key `{key}` is not a shell variable name (letters, digits and _, not starting \
             with a digit, at most {MAX_KEY_LEN} characters)"
        ));
    }
    if RESERVED.contains(&key) || key.starts_with("LD_") {
        return Err(format!(
            "the key `{key}` would change how the shell that reads the file, or the programs it \
             starts, behave; choose another name"
        ));
    }
    Ok(())
}

/// Refuses a value that is not one line of text. The value itself is never part of the
/// message: it may be a secret.
pub fn check_value(key: &str, value: &str) -> Result<(), String> {
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(format!(
            "the value of `{key}` contains a line break or another control character; a value \
             must be one line of text"
        ));
    }
    Ok(())
}

/// `value` as one single-quoted shell word: `it's` → `'it'\''s'`.
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// The file's text for `pairs`, one `KEY='value'` line each, in the order given.
pub fn text<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<String, String> {
    let mut out = String::new();
    for (key, value) in pairs {
        check_key(key)?;
        check_value(key, value)?;
        out.push_str(key);
        out.push('=');
        out.push_str(&quote(value));
        out.push('\n');
    }
    Ok(out)
}

/// The assignments of a `KEY='value'` file; `Err` when it holds more than [`MAX_KEYS`] keys.
pub fn parse(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some((key, word)) = line.trim_start().split_once('=') else {
            continue;
        };
        if !is_name(key) {
            continue;
        }
        out.insert(key.to_owned(), unquote(word));
        if out.len() > MAX_KEYS {
            return Err(format!("it holds more than {MAX_KEYS} keys"));
        }
    }
    Ok(out)
}

/// One shell word as the shell reads it in an assignment: quoted parts verbatim, `\x` as `x`,
/// ending at the first unquoted blank. Expansions (`$x`) are not performed: a file this module
/// writes has none.
fn unquote(word: &str) -> String {
    let mut out = String::new();
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => out.extend(chars.by_ref().take_while(|&c| c != '\'')),
            '\\' => out.extend(chars.next()),
            c if c == ' ' || c == '\t' => break,
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn quoted_values_read_back_unchanged() {
        for v in [
            "",
            "plain",
            "it's",
            "''",
            "a'b'c",
            "$(touch x)",
            "`id`",
            "\\",
            "tab\there",
        ] {
            let t = text([("K", v)]).unwrap();
            assert_eq!(parse(&t).unwrap()["K"], v, "{t}");
        }
        assert_eq!(quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn the_reader_takes_what_scripts_write() {
        let m = parse("# state\nlast_run_ok='true'\n\nexport X=1\nlast_run_error=''\nA=b c\nB=\"q\"\nlast_run_ok='false'\n").unwrap();
        assert_eq!(m["last_run_ok"], "false");
        assert_eq!(m["last_run_error"], "");
        assert_eq!(m["A"], "b");
        assert_eq!(m["B"], "\"q\"");
        assert!(!m.contains_key("export X"));
    }

    #[test]
    fn keys_and_values_that_could_run_something_are_refused() {
        for k in ["PATH", "IFS", "LD_PRELOAD", "1X", "A-B", "A B", ""] {
            assert!(text([(k, "v")]).is_err(), "{k}");
        }
        for v in ["a\nB='x'", "a\r", "a\0"] {
            let e = text([("K", v)]).unwrap_err();
            assert!(e.contains("one line") && !e.contains(v), "{e}");
        }
    }
}
