//! Child processes for `run()` and the engine's own helpers.
//!
//! Recipes run as root with input from the control plane, so a child is started as narrowly as
//! possible: argv only, never a shell (an argument can never become a second command); a cleared
//! environment (the agent's own variables, which may include credentials, do not leak into
//! `apt-get`); working directory `/` unless told otherwise.
//!
//! The child gets its own process group because a timeout or a cancel must stop everything the
//! command started: killing only the direct child of `sh -c 'sleep 3600 & wait'` would leave the
//! sleep running and, worse, still holding our output pipe. After a *normal* exit the group is
//! left alone: `service redis-server start` exits 0 leaving the daemon it was asked to start,
//! and killing that would undo the command.
//!
//! That same daemon often inherits our stdout and never closes it, so end of file may never
//! come. Once the direct child has exited we wait only a short grace period for the pipes, then
//! return and leave the reader threads to drain in the background.
//!
//! stdin is written from its own thread: a child that writes a lot before reading its input
//! would otherwise fill its stdout pipe while we block filling its stdin pipe, and both would
//! wait forever. stdout and stderr are read on their own threads for the same reason, and their
//! lines are handed to the caller's `on_line` on the calling thread, in arrival order, so the
//! caller needs no locking and can redact and forward each line as it comes.

mod lines;
mod tail;

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, SyncSender};
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process_group};

use crate::cancel::{Stop, StopReason};
use crate::event::Stream;
use lines::Msg;
use tail::Tail;

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

/// How often the caller's loop looks at the clock, the cancel flag and the child while the child
/// is silent.
const TICK: Duration = Duration::from_millis(50);

/// How long to wait for the pipes to close after the direct child exited: long enough for the
/// last buffered output of ordinary commands, short enough that a daemon holding the pipe
/// does not stall the recipe.
const PIPE_GRACE: Duration = Duration::from_millis(1500);

/// Lines in flight between a reader thread and the caller. A full channel makes the reader wait,
/// which fills the pipe, which makes the child wait: a slow console slows the child rather than
/// growing our memory.
const CHANNEL_DEPTH: usize = 1024;

/// Runs `spec`, calling `on_line` for every line of output as it arrives, until it exits, times
/// out, or `stop` fires.
///
/// On timeout, cancel or deadline the child's whole process group is killed with SIGKILL and the
/// child reaped before the error is returned. A non-zero exit is not an error: the code is in
/// [`Output`].
pub fn run(
    spec: &Spec,
    stop: &Stop,
    on_line: &mut dyn FnMut(Stream, &str),
) -> Result<Output, ProcessError> {
    let started = Instant::now();
    let spawn_error = |source| ProcessError::Spawn {
        program: spec.program.display().to_string(),
        source,
    };
    let mut child = command(spec).spawn().map_err(spawn_error)?;
    let (tx, rx) = mpsc::sync_channel(CHANNEL_DEPTH);
    if let Err(e) = start_threads(spec, &mut child, &tx) {
        kill_and_reap(&mut child);
        return Err(spawn_error(e));
    }

    let mut stdout = Tail::new(CAPTURE_LIMIT);
    let mut stderr = Tail::new(CAPTURE_LIMIT);
    let mut open_pipes = 2;
    let mut exited: Option<(ExitStatus, Instant)> = None;
    let mut exit_poll = Duration::from_micros(50);
    loop {
        if exited.is_none() {
            if let Some(err) = stop_error(spec, stop, started) {
                kill_and_reap(&mut child);
                return Err(err);
            }
            exited = child
                .try_wait()
                .ok()
                .flatten()
                .map(|status| (status, Instant::now()));
        }
        if let Some((_, at)) = exited {
            // A stop arriving now is left to the caller: the command itself has finished.
            if open_pipes == 0 || at.elapsed() >= PIPE_GRACE || stop.reason().is_some() {
                break;
            }
        }
        if open_pipes == 0 {
            // Only the exit is awaited, and it usually follows the pipes closing within
            // microseconds: poll with a short, growing sleep rather than a whole tick (a fixed
            // 10 ms wait here cost every short command milliseconds).
            thread::sleep(exit_poll);
            exit_poll = (exit_poll * 2).min(TICK / 5);
            continue;
        }
        match rx.recv_timeout(TICK) {
            Ok(Msg::Line {
                stream,
                text,
                broken,
            }) => {
                on_line(stream, &text);
                let tail = if stream == Stream::Stderr {
                    &mut stderr
                } else {
                    &mut stdout
                };
                tail.push(&text);
                if broken {
                    tail.push("\n");
                }
            }
            Ok(Msg::Eof) => open_pipes -= 1,
            // We hold a sender ourselves, so the channel never disconnects.
            Err(_) => {}
        }
    }
    // Dropping the receiver tells readers still held open by a daemon to stop delivering.
    drop(rx);
    let code = exited.and_then(|(status, _)| status.code());
    Ok(Output {
        code,
        stdout: stdout.into_string(),
        stderr: stderr.into_string(),
    })
}

fn command(spec: &Spec) -> Command {
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .current_dir(spec.cwd.as_deref().unwrap_or(Path::new("/")))
        .stdin(if spec.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    cmd
}

/// Starts the stdin writer and the two pipe readers. They are never joined: a reader may be
/// held open by a daemon for as long as the daemon lives, and the writer by a child that never
/// reads.
fn start_threads(spec: &Spec, child: &mut Child, tx: &SyncSender<Msg>) -> std::io::Result<()> {
    if let (Some(mut pipe), Some(bytes)) = (child.stdin.take(), spec.stdin.clone()) {
        thread::Builder::new()
            .name("cairn-child-stdin".into())
            .spawn(move || {
                // A child may exit without reading everything (EPIPE): that is its business,
                // and its exit code tells the story. Dropping the pipe closes it: EOF.
                let _ = pipe.write_all(&bytes);
            })?;
    }
    if let Some(pipe) = child.stdout.take() {
        let tx = tx.clone();
        thread::Builder::new()
            .name("cairn-child-stdout".into())
            .spawn(move || lines::pump(Stream::Stdout, pipe, tx))?;
    }
    if let Some(pipe) = child.stderr.take() {
        let tx = tx.clone();
        thread::Builder::new()
            .name("cairn-child-stderr".into())
            .spawn(move || lines::pump(Stream::Stderr, pipe, tx))?;
    }
    Ok(())
}

/// The error to stop with, if the child must be stopped now.
fn stop_error(spec: &Spec, stop: &Stop, started: Instant) -> Option<ProcessError> {
    match stop.reason() {
        Some(StopReason::Cancelled) => Some(ProcessError::Cancelled),
        Some(StopReason::Deadline) => Some(ProcessError::Deadline),
        None if started.elapsed() >= spec.timeout => Some(ProcessError::TimedOut(spec.timeout)),
        None => None,
    }
}

/// Kills the child's whole process group and reaps the child.
///
/// Only called while the child is unreaped, so its pid, which is also the group id, cannot have
/// been reused by an unrelated process.
fn kill_and_reap(child: &mut Child) {
    let pid = Pid::from_child(child);
    if kill_process_group(pid, Signal::KILL).is_err() {
        // The group is gone only if the child already exited; kill it directly to be sure.
        let _ = child.kill();
    }
    let _ = child.wait();
}
