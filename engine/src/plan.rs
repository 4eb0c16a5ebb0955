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

impl PlannedAction {
    /// Whether this planned side effect names `done`, one a run made: the same command line; a
    /// write to the same path (its content may hold what only the run makes, a secret); the
    /// same download.
    pub fn names(&self, done: &PlannedAction) -> bool {
        match (self, done) {
            (
                Self::Run { program, args, .. },
                Self::Run {
                    program: p,
                    args: a,
                    ..
                },
            ) => program == p && args == a,
            (Self::WriteFile { path, .. }, Self::WriteFile { path: p, .. }) => path == p,
            (
                Self::Download { url, dest, .. },
                Self::Download {
                    url: u, dest: d, ..
                },
            ) => url == u && dest == d,
            _ => false,
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

    /// Held to `plan`, the plan made before the run: the side effects the run made that the plan
    /// did not name, in order, and the planned ones that did not happen. Each planned side
    /// effect names at most one the run made (a command run twice must be planned twice).
    /// Side effects past [`MAX_DONE`] are not compared: see `left_out`.
    pub fn against<'a>(&'a self, plan: &'a [PlannedAction]) -> Coverage<'a> {
        let mut left: Vec<&PlannedAction> = plan.iter().collect();
        let mut unplanned = Vec::new();
        for a in &self.actions {
            match left.iter().position(|p| p.names(&a.action)) {
                Some(i) => {
                    left.remove(i);
                }
                None => unplanned.push(a),
            }
        }
        Coverage { unplanned, left }
    }

    /// Whether the run made no side effect at all.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty() && self.left_out == 0
    }
}

/// A run's side effects held to its plan ([`Done::against`]).
#[derive(Debug)]
pub struct Coverage<'a> {
    /// What the run did that the plan did not name: a run that is not what was previewed.
    pub unplanned: Vec<&'a DoneAction>,
    /// What the plan named that the run did not do (a plan may name more: a failure ends a run).
    pub left: Vec<&'a PlannedAction>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> PlannedAction {
        PlannedAction::Run {
            program: "apt-get".into(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            stdin: false,
        }
    }

    fn write(path: &str, bytes: usize) -> PlannedAction {
        PlannedAction::WriteFile {
            path: path.into(),
            mode: 0o644,
            bytes,
        }
    }

    #[test]
    fn a_run_is_held_to_its_plan_command_by_command_and_a_write_by_its_path() {
        let mut done = Done::default();
        done.step(1, "Install");
        done.push(run(&["install", "x"]));
        // Its content held a secret the plan could not know: another size, the same file.
        done.push(write("/etc/x", 40));
        done.push(run(&["install", "x"]));
        done.push(run(&["install", "y"]));
        let plan = [
            write("/etc/x", 12),
            run(&["install", "x"]),
            run(&["remove", "z"]),
        ];
        let c = done.against(&plan);
        // The second `install x` and `install y` were never planned (one plan line, one run).
        let unplanned: Vec<&PlannedAction> = c.unplanned.iter().map(|a| &a.action).collect();
        assert_eq!(
            unplanned,
            [&run(&["install", "x"]), &run(&["install", "y"])]
        );
        assert_eq!(
            (c.unplanned[0].step, c.unplanned[0].step_title.as_str()),
            (1, "Install")
        );
        assert_eq!(c.left, [&run(&["remove", "z"])]);
        let all = [
            run(&["install", "x"]),
            write("/etc/x", 0),
            run(&["install", "x"]),
            run(&["install", "y"]),
        ];
        assert!(done.against(&all).unplanned.is_empty());
    }
}
