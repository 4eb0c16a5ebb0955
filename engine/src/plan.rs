//! Plan mode: the side effects a recipe would have, recorded in order instead of executed.

use serde::{Deserialize, Serialize};

/// One side effect a recipe would make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum PlannedAction {
    /// A command: `run()`, or one an engine helper (apt, services) would start.
    Run {
        program: String,
        args: Vec<String>,
        /// Whether the command would get input on stdin (its content is never shown).
        stdin: bool,
    },
    /// A file `write_file()` would write.
    WriteFile {
        path: String,
        mode: u32,
        bytes: usize,
    },
    /// A file `download()` would fetch and check.
    Download {
        url: String,
        dest: String,
        sha256: String,
    },
}

impl std::fmt::Display for PlannedAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Run {
                program,
                args,
                stdin,
            } => {
                write!(f, "run    {}", shell_words(program, args))?;
                if *stdin {
                    write!(f, "  (with input on stdin)")?;
                }
                Ok(())
            }
            Self::WriteFile { path, mode, bytes } => {
                write!(f, "write  {path} (mode {mode:04o}, {bytes} bytes)")
            }
            Self::Download { url, dest, sha256 } => {
                write!(f, "fetch  {url} -> {dest} (sha256 {sha256})")
            }
        }
    }
}

/// A command line as a user would type it, for console echoes and plans: arguments that need it
/// are single-quoted. Display only; the engine never runs a shell.
pub fn shell_words(program: &str, args: &[String]) -> String {
    let mut out = String::from(program);
    for a in args {
        out.push(' ');
        let plain = !a.is_empty()
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
        if plain {
            out.push_str(a);
        } else {
            out.push('\'');
            out.push_str(&a.replace('\'', r"'\''"));
            out.push('\'');
        }
    }
    out
}
