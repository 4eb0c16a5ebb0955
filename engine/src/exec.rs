//! The seam between host functions and the engine's helpers (apt, services, downloads): an
//! [`Exec`] runs commands with echo, streaming, redaction, cancellation and plan recording, so a
//! helper only decides *what* to run.

use std::time::Duration;

use crate::cancel::Stop;
use crate::error::HostError;
use crate::event::{Stream, WaitReason};
use crate::plan::PlannedAction;
use crate::summary::Change;

/// Options of a side-effecting command.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// Bytes for the child's stdin (how secrets reach programs). Never logged.
    pub stdin: Option<Vec<u8>>,
    /// Per-command timeout; `None`: the engine's default for host calls.
    pub timeout: Option<Duration>,
    /// When true, a non-zero exit is returned as an error ([`HostError::CommandFailed`]).
    pub check: bool,
    /// Extra environment variables on top of the allow-list (e.g. `DEBIAN_FRONTEND`).
    pub env: Vec<(String, String)>,
}

/// What a command left. `code` is -1 when the child was killed by a signal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs commands for a host function.
pub trait Exec {
    /// Runs a side-effecting command: echoed as `$ program args`, output streamed to the console,
    /// killed on timeout/cancel. In plan mode it is recorded as [`PlannedAction::Run`] and not
    /// started, and a successful empty output is returned. `program` is a bare name (resolved on
    /// the engine's fixed PATH) or an absolute path.
    fn exec(
        &self,
        program: &str,
        args: &[String],
        opts: ExecOptions,
    ) -> Result<ExecOutput, HostError>;

    /// Runs a read-only query (e.g. `dpkg-query`, `systemctl is-active`): runs in plan mode too,
    /// is neither echoed nor streamed, and never fails on a non-zero exit. A program that does
    /// not exist gives `code` 127.
    fn query(
        &self,
        program: &str,
        args: &[String],
        timeout: Duration,
    ) -> Result<ExecOutput, HostError>;

    /// Whether side effects are recorded instead of executed.
    fn plan_mode(&self) -> bool;

    /// dpkg's database directory, when installed packages may be read from its status file
    /// instead of asking `dpkg-query` (the same answer, without a process); `None` asks
    /// `dpkg-query`.
    fn dpkg_admin_dir(&self) -> Option<&std::path::Path> {
        None
    }

    /// Records a side effect that is not a command (used by `download`) in plan mode.
    fn record(&self, action: PlannedAction);

    /// Records a side effect that is not a command once it is made (execute mode): the run's
    /// own record of what it did ([`crate::plan::Done`]), in a plan's terms.
    fn did(&self, _action: PlannedAction) {}

    /// Announces a change a plan would make, for its summary in words (a package with its
    /// sizes, a user, a database). Nothing outside plan mode.
    fn note(&self, _change: Change) {}

    /// Writes a console line (use [`Stream::Info`] or [`Stream::Warn`]).
    fn log(&self, stream: Stream, line: &str);

    /// The job's cancel flag and deadline; long waits must check it.
    fn stop(&self) -> &Stop;

    /// Says the job is blocked on `reason` (held by `holder`), or, with `None`, that the wait is
    /// over: a state for the page, beside the console line that says it in words.
    fn waiting(&self, reason: Option<WaitReason>, holder: Option<&str>) {
        let _ = (reason, holder);
    }
}
