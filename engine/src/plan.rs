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

/// The most side effects a run's [`Done`] lists; later ones are only counted.
pub const MAX_DONE: usize = 1000;

/// One side effect a run made, in a plan's own terms, with the step it happened in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoneAction {
    /// The step's index (from 1; 0 before the first `step()`) and title.
    pub step: u32,
    pub step_title: String,
    #[serde(flatten)]
    pub action: PlannedAction,
}

/// What a run did (execute mode): every command started through a side-effecting host call
/// (whether it then succeeded or not), every file written, every download kept, in order.
/// Read-only queries are not in it, as they are not in a plan. `cairn-recipe test` compares it
/// with the plan made before the run, and holds a second run to an empty one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    pub actions: Vec<DoneAction>,
    /// Side effects past [`MAX_DONE`], counted only (a recipe looping on a command).
    #[serde(default)]
    pub left_out: u64,
    #[serde(skip)]
    step: (u32, String),
}

impl Done {
    /// A step started: what follows happened in it.
    pub fn step(&mut self, index: u32, title: &str) {
        self.step = (index, title.to_owned());
    }

    /// A side effect was made.
    pub fn push(&mut self, action: PlannedAction) {
        if self.actions.len() >= MAX_DONE {
            self.left_out += 1;
            return;
        }
        self.actions.push(DoneAction {
            step: self.step.0,
            step_title: self.step.1.clone(),
            action,
        });
    }

    /// Whether the run made no side effect at all.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty() && self.left_out == 0
    }
}
