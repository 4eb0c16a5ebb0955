//! The worker: `cairn-agent-worker`, started by the supervisor for one job or one batch of
//! detectors, gone when it is done (with all the memory the engine used). It reads one
//! [`Request`] on stdin, puts kernel limits on itself ([`limits`]), and runs the engine: a job
//! writes its events to the job's spool ([`job`]), detectors answer on stdout ([`detect`]).
//! See [`crate::work`] for the channels, and `crate::supervise` for the other side.

pub mod detect;
pub mod job;
pub mod limits;
pub mod plans;
mod services;

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

use cairn_engine::CancelToken;

use crate::work::{Control, Reply, Request};

/// The worker's `main`: stdin is the supervisor's pipe.
pub fn main() -> ExitCode {
    let mut stdin = std::io::stdin().lock();
    let mut first = String::new();
    if stdin.read_line(&mut first).unwrap_or(0) == 0 {
        tracing::error!("the worker got no request");
        return ExitCode::FAILURE;
    }
    let request: Request = match serde_json::from_str(&first) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "the worker got a request it cannot read");
            return ExitCode::FAILURE;
        }
    };
    let result = match request {
        Request::Job {
            job_id,
            kind,
            name,
            entry,
            action,
            params,
            recipe,
            plan,
            spool,
            limits: l,
        } => limits::apply(&l).and_then(|()| {
            let job = job::Job {
                job_id,
                kind,
                name,
                entry,
                action,
                params,
                recipe,
                plan,
                options: job::options(CancelToken::new(), l.engine_memory),
            };
            drop(stdin);
            job::run(job, &spool)
        }),
        Request::Detect {
            recipes,
            timeout_ms,
            limits: l,
        } => limits::apply(&l).map(|()| {
            detect::run(recipes, Duration::from_millis(timeout_ms), l.engine_memory);
        }),
        Request::ServiceLog {
            recipes,
            service,
            request_id,
            limits: l,
        } => limits::apply(&l).map(|()| {
            services::log(&recipes, service, request_id);
        }),
        // Scripts that failed verification: read under the detectors' limits, never run.
        Request::Identify { recipes, limits: l } => limits::apply(&l).map(|()| {
            detect::identify(recipes);
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "the worker could not run");
            ExitCode::FAILURE
        }
    }
}

/// Writes one reply line on stdout. A supervisor that is gone does not stop the worker.
pub(crate) fn reply(reply: &Reply) {
    let Ok(mut line) = serde_json::to_vec(reply) else {
        return;
    };
    line.push(b'\n');
    let _ = std::io::stdout().lock().write_all(&line);
}

/// The next control line, or `None` at end of file.
pub(crate) fn read_control(stdin: &mut impl BufRead) -> Option<Control> {
    let mut line = String::new();
    loop {
        line.clear();
        if stdin.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if let Ok(c) = serde_json::from_str(&line) {
            return Some(c);
        }
    }
}
