//! Cairn's agent: a root daemon on each server that dials out to the control plane, proves its
//! key, verifies every signed command and recipe bundle, and streams every event back,
//! journaled so nothing is lost. It is two processes: a long-lived **supervisor** (this
//! crate's modules but [`worker`]) that never runs a recipe, and a short-lived **worker**
//! (`cairn-agent-worker`, [`worker`]) per job or batch of detectors that runs the engine under
//! kernel limits and exits, its memory with it. [`work`] is what they say to each other.
//!
//! Start at [`dial::run`] (the dial loop) and [`agent::Agent`] (one connection: authenticate,
//! dispatch). [`supervise`] runs one job's worker, [`journal`] keeps its events until
//! acknowledged, [`status`] answers `GET_SERVER_STATUS` with the detectors
//! [`detector_cache`] keeps across connections, [`enroll`] is the first start.

pub mod agent;
pub mod cancel;
pub mod config;
pub mod detector_cache;
pub mod dial;
pub mod enroll;
pub mod error;
pub mod facts;
pub mod handshake;
pub mod journal;
pub mod metrics;
pub mod procs;
pub mod runner;
pub mod sampler;
pub mod service_log;
pub mod status;
pub mod supervise;
pub mod transport;
pub mod work;
pub mod worker;

pub use agent::{Agent, Tuning};
pub use config::{AgentConfig, ConfigDir};
pub use error::{AgentError, Result};

/// The log of both binaries: standard error, no colours, the level from `CAIRN_LOG`
/// (`debug`, `info` — the default —, `warn`, `error`).
pub fn init_log() {
    let filter = match std::env::var("CAIRN_LOG").as_deref() {
        Ok("debug") => tracing::Level::DEBUG,
        Ok("warn") => tracing::Level::WARN,
        Ok("error") => tracing::Level::ERROR,
        _ => tracing::Level::INFO,
    };
    tracing_subscriber::fmt()
        .with_max_level(filter)
        .with_writer(quiet_stderr)
        .with_ansi(false)
        .init();
}

/// Standard error for the log, whose write errors are ignored: a log on a full disk (a worker's
/// log sits in the journal directory; the supervisor's may be a file too) drops lines, it never
/// stops the agent or a job (a failed `write` would make the log macros panic).
pub fn quiet_stderr() -> impl std::io::Write {
    Quiet(std::io::stderr())
}

struct Quiet(std::io::Stderr);

impl std::io::Write for Quiet {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = self.0.write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = self.0.flush();
        Ok(())
    }
}
