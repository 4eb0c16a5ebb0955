//! Helpers of the helpers' tests (`system_*.rs`, `helpers.rs`): an [`Exec`] that really runs
//! commands, apt housekeeping, a dpkg lock holder and a tiny HTTP server. Root checks and the
//! package queries are `cairn-test-support`'s, shared with the CLI's recipe tests.
//!
//! [`RealExec`] is a test double, not the engine's runner: it uses plain `std::process` (no
//! process group, no timeout, no redaction) and records everything it did so tests can assert on
//! it.

#![allow(dead_code, clippy::unwrap_used)] // each test target uses a different part

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::thread;
use std::time::{Duration, Instant};

use cairn_engine::exec::{Exec, ExecOptions, ExecOutput};
use cairn_engine::{CancelToken, HostError, PlannedAction, Stop, Stream, WaitReason};

/// Held by each test that stops and starts redis-server, so that two of them in this binary
/// never do it at the same time (the machine lock keeps other processes off).
pub static REDIS: Mutex<()> = Mutex::new(());

/// A command [`RealExec::exec`] started, with when it ran.
#[derive(Debug, Clone)]
pub struct Ran {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub started: Instant,
    pub ended: Instant,
}

/// A test-only [`Exec`] that runs commands with `std::process` and records commands, queries,
/// planned actions and console lines.
#[derive(Debug)]
pub struct RealExec {
    plan: bool,
    stop: Stop,
    pub ran: Mutex<Vec<Ran>>,
    pub queries: Mutex<Vec<(String, Vec<String>)>>,
    pub planned: Mutex<Vec<PlannedAction>>,
    pub lines: Mutex<Vec<(Stream, String)>>,
    /// Every wait reported (`Exec::waiting`), in order.
    pub waits: Mutex<Vec<(Option<WaitReason>, Option<String>)>>,
    /// Every change announced while planning (`Exec::note`).
    pub notes: Mutex<Vec<cairn_engine::summary::Change>>,
}

impl RealExec {
    /// Runs for real, with a 10-minute deadline.
    pub fn new() -> Self {
        Self::with_cancel(CancelToken::new(), false)
    }

    /// Records side effects instead of running them.
    pub fn plan() -> Self {
        Self::with_cancel(CancelToken::new(), true)
    }

    pub fn with_cancel(cancel: CancelToken, plan: bool) -> Self {
        Self {
            plan,
            stop: Stop::new(cancel, Duration::from_secs(600)),
            ran: Mutex::default(),
            queries: Mutex::default(),
            planned: Mutex::default(),
            lines: Mutex::default(),
            waits: Mutex::default(),
            notes: Mutex::default(),
        }
    }

    /// Every console line of `stream`.
    pub fn lines_of(&self, stream: Stream) -> Vec<String> {
        let lines = self.lines.lock().unwrap();
        lines
            .iter()
            .filter(|(s, _)| *s == stream)
            .map(|(_, l)| l.clone())
            .collect()
    }

    /// The commands started for `program`.
    pub fn ran_program(&self, program: &str) -> Vec<Ran> {
        let ran = self.ran.lock().unwrap();
        ran.iter()
            .filter(|r| r.program == program)
            .cloned()
            .collect()
    }

    fn command(program: &str, args: &[String], env: &[(String, String)]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("LANG", "C.UTF-8")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir("/");
        cmd
    }
}

impl Exec for RealExec {
    fn exec(
        &self,
        program: &str,
        args: &[String],
        opts: ExecOptions,
    ) -> Result<ExecOutput, HostError> {
        if self.plan {
            self.planned.lock().unwrap().push(PlannedAction::Run {
                program: program.to_owned(),
                args: args.to_vec(),
                stdin: opts.stdin.is_some(),
            });
            return Ok(ExecOutput::default());
        }
        let line = cairn_engine::shell_words(program, args);
        self.log(Stream::Command, &format!("$ {line}"));
        let started = Instant::now();
        let mut cmd = Self::command(program, args, &opts.env);
        cmd.stdin(if opts.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| HostError::Spawn {
            program: program.to_owned(),
            reason: e.to_string(),
        })?;
        if let Some(bytes) = opts.stdin {
            let mut stdin = child.stdin.take().unwrap();
            thread::spawn(move || stdin.write_all(&bytes));
        }
        let out = child.wait_with_output().map_err(|e| HostError::Spawn {
            program: program.to_owned(),
            reason: e.to_string(),
        })?;
        let ended = Instant::now();
        self.ran.lock().unwrap().push(Ran {
            program: program.to_owned(),
            args: args.to_vec(),
            env: opts.env.clone(),
            started,
            ended,
        });
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        for l in stdout.lines() {
            self.log(Stream::Stdout, l);
        }
        for l in stderr.lines() {
            self.log(Stream::Stderr, l);
        }
        let code = out.status.code().unwrap_or(-1);
        if opts.check && code != 0 {
            return Err(HostError::CommandFailed {
                command: line,
                code,
                detail: format!(": {}", stderr.trim()),
            });
        }
        Ok(ExecOutput {
            code,
            stdout,
            stderr,
        })
    }

    fn query(
        &self,
        program: &str,
        args: &[String],
        _timeout: Duration,
    ) -> Result<ExecOutput, HostError> {
        self.queries
            .lock()
            .unwrap()
            .push((program.to_owned(), args.to_vec()));
        match Self::command(program, args, &[])
            .stdin(Stdio::null())
            .output()
        {
            Ok(out) => Ok(ExecOutput {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ExecOutput {
                code: 127,
                ..ExecOutput::default()
            }),
            Err(e) => Err(HostError::Spawn {
                program: program.to_owned(),
                reason: e.to_string(),
            }),
        }
    }

    fn plan_mode(&self) -> bool {
        self.plan
    }

    fn note(&self, change: cairn_engine::summary::Change) {
        if self.plan {
            self.notes.lock().unwrap().push(change);
        }
    }

    fn record(&self, action: PlannedAction) {
        self.planned.lock().unwrap().push(action);
    }

    fn log(&self, stream: Stream, line: &str) {
        self.lines.lock().unwrap().push((stream, line.to_owned()));
    }

    fn stop(&self) -> &Stop {
        &self.stop
    }

    fn waiting(&self, reason: Option<WaitReason>, holder: Option<&str>) {
        let holder = holder.map(str::to_owned);
        self.waits.lock().unwrap().push((reason, holder));
    }
}

pub use cairn_test_support::apt::{dpkg_installed, purge};
pub use cairn_test_support::process::is_root;

/// Downloads the package lists once per test process if they were never downloaded.
pub fn ensure_apt_lists() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let has_lists = std::fs::read_dir("/var/lib/apt/lists")
            .map(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().contains("_Packages"))
            })
            .unwrap_or(false);
        if !has_lists {
            cairn_test_support::apt::apt_get(&["update"]);
        }
    });
}

/// A child process holding dpkg's frontend lock (a POSIX record lock, like apt's) for `secs`.
/// Returns once the lock is held.
pub fn hold_dpkg_lock(secs: u32) -> std::process::Child {
    let script = format!(
        "import fcntl,sys,time\n\
         f=open('/var/lib/dpkg/lock-frontend','w')\n\
         fcntl.lockf(f, fcntl.LOCK_EX)\n\
         print('locked', flush=True)\n\
         time.sleep({secs})\n"
    );
    cairn_test_support::process::hold_lock(&script, &[] as &[&str])
}

/// A one-route HTTP server on 127.0.0.1 that answers every request with `body`.
#[derive(Debug)]
pub struct TestServer {
    pub url: String,
    pub hits: Arc<AtomicUsize>,
}

impl TestServer {
    pub fn start(body: &'static [u8]) -> Self {
        Self::serve(body, true)
    }

    /// Sends no Content-Length: the body ends when the connection closes, so its size is only
    /// known once it has been read.
    pub fn start_without_length(body: &'static [u8]) -> Self {
        Self::serve(body, false)
    }

    fn serve(body: &'static [u8], with_length: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/file.tar.gz", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&hits);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                counter.fetch_add(1, Ordering::SeqCst);
                // Read the request head; the body of a GET is empty.
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => break,
                    }
                }
                let length = if with_length {
                    format!("Content-Length: {}\r\n", body.len())
                } else {
                    String::new()
                };
                let header = format!(
                    "HTTP/1.1 200 OK\r\n{length}Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
                );
                let _ = stream.write_all(header.as_bytes());
                let _ = stream.write_all(body);
            }
        });
        Self { url, hits }
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}
