//! Child processes for `run()` and the engine's own helpers: argv only (never a shell), a cleared
//! environment, an own process group killed whole on timeout or cancel, stdin written from its own
//! thread, stdout and stderr streamed line by line.
//!
//! STUB: being replaced by the full implementation.

use std::path::PathBuf;
use std::time::Duration;

use crate::cancel::Stop;
use crate::event::Stream;

/// A fully resolved command.
#[derive(Clone)]
pub struct Spec {
    /// Absolute path of the program (already resolved and capability-checked by the caller).
    pub program: PathBuf,
    /// Arguments, not including the program.
    pub args: Vec<String>,
    /// The complete environment of the child; nothing is inherited from the parent.
    pub env: Vec<(String, String)>,
    /// Bytes written to the child's stdin, then stdin is closed. `None`: stdin is /dev/null.
    pub stdin: Option<Vec<u8>>,
    /// Working directory; `None`: `/`.
    pub cwd: Option<PathBuf>,
    /// Kill the whole process group after this long.
    pub timeout: Duration,
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // stdin may hold a secret: never print it.
        f.debug_struct("Spec")
            .field("program", &self.program)
            .field("args", &self.args)
            .field("env", &self.env)
            .field("stdin", &self.stdin.as_ref().map(Vec::len))
            .field("cwd", &self.cwd)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// What a finished child left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    /// Captured stdout (lossy UTF-8), at most [`CAPTURE_LIMIT`] bytes: the tail is kept.
    pub stdout: String,
    /// Captured stderr, same limit.
    pub stderr: String,
}

/// The most output kept per stream for the caller; the console gets every line regardless.
pub const CAPTURE_LIMIT: usize = 1 << 20;

/// Why a child did not finish normally.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("could not start {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("timed out after {0:?}")]
    TimedOut(Duration),
    #[error("cancelled")]
    Cancelled,
    #[error("deadline")]
    Deadline,
}

/// Runs `spec`, calling `on_line` for every line of output as it arrives, until it exits, times
/// out, or `stop` fires.
pub fn run(
    spec: &Spec,
    stop: &Stop,
    on_line: &mut dyn FnMut(Stream, &str),
) -> Result<Output, ProcessError> {
    let _ = stop;
    let out = std::process::Command::new(&spec.program)
        .args(&spec.args)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .current_dir(spec.cwd.clone().unwrap_or_else(|| PathBuf::from("/")))
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| ProcessError::Spawn {
            program: spec.program.display().to_string(),
            source,
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    stdout.lines().for_each(|l| on_line(Stream::Stdout, l));
    stderr.lines().for_each(|l| on_line(Stream::Stderr, l));
    Ok(Output {
        code: out.status.code(),
        stdout,
        stderr,
    })
}
