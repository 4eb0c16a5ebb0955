//! The host side of a job: the state every host function shares ([`Host`]), the [`Exec`]
//! implementation that starts commands (echo, streaming, redaction, plan recording, timeouts),
//! and the registration of the host API on a Rhai engine (`api.rs`, and `helpers.rs` for the
//! functions built on it: settings files, cron, backups).

pub mod api;
pub(crate) mod backup;
pub mod caps;
pub(crate) mod cron;
pub mod files;
mod helpers;
pub mod installs;
pub(crate) mod kv;
pub mod policy;
pub mod template;

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::time::Duration;

use crate::cancel::Stop;
use crate::error::HostError;
use crate::event::{Event, EventSink, Stream, WaitReason};
use crate::exec::{Exec, ExecOptions, ExecOutput};
use crate::host::caps::Capabilities;
use crate::plan::PlannedAction;
use crate::process::{self, ProcessError, Spec};
use crate::sandbox::Limits;
use crate::summary::Change;

/// Registers every host function on a job's `engine`: the primitives (`api.rs`), then the
/// helpers built on them (`helpers.rs`), which use the primitives' checks.
pub fn register(engine: &mut rhai::Engine, host: &std::rc::Rc<Host>) {
    api::register(engine, host);
    helpers::register(engine, host);
}

/// Environment variables a recipe may add for one command. Everything else the child gets is
/// fixed by the engine ([`base_env`]); nothing is inherited from the agent.
fn is_allowed_env_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && !matches!(
            name,
            "PATH" | "HOME" | "IFS" | "BASH_ENV" | "ENV" | "SHELLOPTS"
        )
        && !name.starts_with("LD_")
}

/// Refuses variables a recipe may not set (see [`is_allowed_env_name`]).
fn check_env(env: &[(String, String)]) -> Result<(), HostError> {
    match env.iter().find(|(k, _)| !is_allowed_env_name(k)) {
        Some((k, _)) => Err(HostError::Invalid(format!(
            "the environment variable `{k}` may not be set by a recipe"
        ))),
        None => Ok(()),
    }
}

/// The environment every child starts from: a fixed PATH, a UTF-8 C locale so output parses the
/// same everywhere, non-interactive Debian tools, and root's home.
pub fn base_env() -> Vec<(String, String)> {
    vec![
        ("PATH".into(), caps::SAFE_PATH.into()),
        ("LANG".into(), "C.UTF-8".into()),
        ("LC_ALL".into(), "C.UTF-8".into()),
        ("DEBIAN_FRONTEND".into(), "noninteractive".into()),
        ("HOME".into(), "/root".into()),
    ]
}

/// The shared state of one job's host functions.
#[derive(Debug)]
pub struct Host {
    pub caps: Capabilities,
    /// `Some` in plan mode: side effects are appended here instead of executed.
    pub plan: Option<RefCell<Vec<PlannedAction>>>,
    /// In plan mode, the changes announced for the plan's summary ([`Exec::note`]).
    pub changes: RefCell<Vec<Change>>,
    pub sink: EventSink,
    pub stop: Stop,
    pub limits: Limits,
    /// Where `os_release()` reads from (tests and plans use recorded files).
    pub os_release_path: PathBuf,
    pub steps: Cell<u32>,
    /// Where the job's time goes (`crate::timing`): steps, host calls, processes, waits.
    pub timings: std::rc::Rc<crate::timing::Timings>,
    /// Outside plan mode, the side effects made ([`crate::plan::Done`]).
    pub done: std::rc::Rc<RefCell<crate::plan::Done>>,
}

impl Host {
    /// Turns a stop reason into the error a host call returns.
    pub fn stopped(&self) -> Result<(), HostError> {
        self.stop.check()
    }

    fn timeout(&self, requested: Option<Duration>) -> Duration {
        requested
            .unwrap_or(self.limits.command_timeout)
            .min(self.stop.remaining())
    }

    fn spec(
        &self,
        program: &str,
        args: &[String],
        stdin: Option<Vec<u8>>,
        env: &[(String, String)],
        timeout: Duration,
    ) -> Result<Spec, HostError> {
        let path = caps::resolve(program).ok_or_else(|| HostError::Spawn {
            program: program.to_owned(),
            reason: "it is not installed (not found on PATH)".into(),
        })?;
        check_env(env)?;
        let mut full_env = base_env();
        for (k, v) in env {
            full_env.retain(|(name, _)| name != k);
            full_env.push((k.clone(), v.clone()));
        }
        Ok(Spec {
            program: path,
            args: args.to_vec(),
            env: full_env,
            stdin,
            cwd: None,
            timeout,
        })
    }

    fn process_error(&self, command: String, e: ProcessError) -> HostError {
        match e {
            ProcessError::Spawn { source, .. } => HostError::Spawn {
                program: command,
                reason: source.to_string(),
            },
            ProcessError::TimedOut(after) => HostError::TimedOut { command, after },
            ProcessError::Cancelled => HostError::Cancelled,
            ProcessError::Deadline => HostError::Deadline(self.stop.budget),
        }
    }
}

/// The last few lines of a failed command's stderr, for its error message.
fn stderr_tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = &lines[lines.len().saturating_sub(3)..];
    if tail.is_empty() {
        String::new()
    } else {
        format!(": {}", tail.join(" / "))
    }
}

impl Exec for Host {
    fn exec(
        &self,
        program: &str,
        args: &[String],
        opts: ExecOptions,
    ) -> Result<ExecOutput, HostError> {
        self.stopped()?;
        // Refused in a plan exactly as in a real run, and before anything is echoed.
        check_env(&opts.env)?;
        if let Some(plan) = &self.plan {
            plan.borrow_mut().push(PlannedAction::Run {
                program: program.to_owned(),
                args: args.to_vec(),
                stdin: opts.stdin.is_some(),
            });
            return Ok(ExecOutput::default());
        }
        let command = crate::plan::shell_words(program, args);
        self.sink.log(Stream::Command, &format!("$ {command}"));
        // Recorded before it starts: a command that fails has still been run.
        self.did(PlannedAction::Run {
            program: program.to_owned(),
            args: args.to_vec(),
            stdin: opts.stdin.is_some(),
        });
        let spec = self.spec(
            program,
            args,
            opts.stdin,
            &opts.env,
            self.timeout(opts.timeout),
        )?;
        let started = std::time::Instant::now();
        let out = process::run(&spec, &self.stop, &mut |stream, line| {
            self.sink.log(stream, line);
        });
        self.timings.process(program, args, started.elapsed());
        let out = out.map_err(|e| self.process_error(command.clone(), e))?;
        let code = out.code.unwrap_or(-1);
        if opts.check && code != 0 {
            return Err(HostError::CommandFailed {
                command,
                code,
                detail: stderr_tail(&out.stderr),
            });
        }
        Ok(ExecOutput {
            code,
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }

    fn query(
        &self,
        program: &str,
        args: &[String],
        timeout: Duration,
    ) -> Result<ExecOutput, HostError> {
        self.query_with(program, args, timeout, None, &[])
    }

    fn dpkg_admin_dir(&self) -> Option<&std::path::Path> {
        Some(std::path::Path::new(crate::system::apt::status::ADMIN_DIR))
    }

    fn plan_mode(&self) -> bool {
        self.plan.is_some()
    }

    fn record(&self, action: PlannedAction) {
        if let Some(plan) = &self.plan {
            plan.borrow_mut().push(action);
        }
    }

    fn did(&self, action: PlannedAction) {
        if self.plan.is_none() {
            self.done.borrow_mut().push(action);
        }
    }

    fn note(&self, change: Change) {
        if self.plan.is_some() {
            self.changes.borrow_mut().push(change);
        }
    }

    fn log(&self, stream: Stream, line: &str) {
        self.sink.log(stream, line);
    }

    fn stop(&self) -> &Stop {
        &self.stop
    }

    fn waiting(&self, reason: Option<WaitReason>, holder: Option<&str>) {
        self.timings.waiting(reason.map(|r| match r {
            WaitReason::PackageManager => "dpkg lock",
            WaitReason::CairnJob => "Cairn's package lock",
        }));
        self.sink.send(Event::Waiting {
            reason,
            holder: holder.map(str::to_owned),
        });
    }
}

impl Host {
    /// A query (see [`Exec::query`]) with bytes for its stdin and extra environment variables:
    /// a recipe's `detect(…, opts)` authenticating to a server it administers. The caller has
    /// checked the call against its policy.
    pub fn query_with(
        &self,
        program: &str,
        args: &[String],
        timeout: Duration,
        stdin: Option<Vec<u8>>,
        env: &[(String, String)],
    ) -> Result<ExecOutput, HostError> {
        self.stopped()?;
        let spec = match self.spec(
            program,
            args,
            stdin,
            env,
            timeout.min(self.stop.remaining()),
        ) {
            Ok(spec) => spec,
            Err(HostError::Spawn { .. }) => {
                return Ok(ExecOutput {
                    code: 127,
                    ..Default::default()
                });
            }
            Err(e) => return Err(e),
        };
        let started = std::time::Instant::now();
        let out = process::run(&spec, &self.stop, &mut |_, _| {});
        self.timings.process(program, args, started.elapsed());
        let out =
            out.map_err(|e| self.process_error(crate::plan::shell_words(program, args), e))?;
        Ok(ExecOutput {
            code: out.code.unwrap_or(-1),
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }
}
