//! Error types of the engine. Every message is a sentence a user can act on: it names what
//! failed and on what, and never contains a secret (errors pass through the redactor before they
//! leave the engine).

use std::time::Duration;

/// A failure of a host function called by a recipe.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error(
        "the recipe tried to run `{program}`, which is not among the programs it declared in its capabilities; nothing was started"
    )]
    ProgramNotAllowed { program: String },
    #[error("the recipe may not run `{command}`: {reason}; nothing was started")]
    ArgumentsRefused { command: String, reason: String },
    #[error("the recipe may not write {path}: {reason}")]
    PathNotAllowed { path: String, reason: String },
    #[error(
        "the recipe may not control the service `{service}`: it is not among the services it declared in its capabilities"
    )]
    ServiceNotAllowed { service: String },
    #[error(
        "the service `{service}` cannot be controlled here: systemd is not running (PID 1 is not systemd) and there is no init script /etc/init.d/{service}; install the package that provides it first, or start its daemon directly with run()"
    )]
    ServiceNotFound { service: String },
    #[error("`{program}` could not be started: {reason}")]
    Spawn { program: String, reason: String },
    #[error("`{command}` did not finish within {} s and was stopped together with every process it started", .after.as_secs())]
    TimedOut { command: String, after: Duration },
    #[error("the job was cancelled")]
    Cancelled,
    #[error("the recipe ran past its deadline of {} s and was stopped", .0.as_secs())]
    Deadline(Duration),
    #[error("`{command}` failed with exit code {code}{detail}")]
    CommandFailed {
        command: String,
        code: i32,
        /// The last lines of stderr, prefixed with ": ", or empty.
        detail: String,
    },
    #[error("the download of {url} failed: {reason}")]
    Download { url: String, reason: String },
    #[error(
        "the file downloaded from {url} does not have the expected checksum (expected sha256 {expected}, got {actual}); it was deleted and nothing was installed"
    )]
    ChecksumMismatch {
        url: String,
        expected: String,
        actual: String,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl HostError {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

/// A failure to load, check or run a recipe.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The script does not compile. `line`/`col` are 1-based; 0 when unknown.
    #[error("{file}:{line}:{col}: {message}")]
    Compile {
        file: String,
        line: usize,
        col: usize,
        message: String,
    },
    /// The `RECIPE` metadata is missing or wrong.
    #[error("{file}: {message}")]
    Metadata { file: String, message: String },
    /// A parameter value does not pass validation. The message names the parameter.
    #[error("parameter `{name}`: {message}")]
    Param { name: String, message: String },
    /// The recipe failed while running (a host error, a script error, a limit).
    #[error("{0}")]
    Failed(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}
