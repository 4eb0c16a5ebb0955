//! `cairn-agent-worker`: the engine's process, started by the supervisor (`cairn-agent run`)
//! for one job or one batch of detectors, with a request on standard input. Not for people.
//! Its own binary so that the supervisor's, resident on every server, holds none of the
//! engine's code (BENCHMARKS.md, "The agent with the shipped catalogue").

use std::process::ExitCode;

fn main() -> ExitCode {
    let filter = match std::env::var("CAIRN_LOG").as_deref() {
        Ok("debug") => tracing::Level::DEBUG,
        Ok("warn") => tracing::Level::WARN,
        Ok("error") => tracing::Level::ERROR,
        _ => tracing::Level::INFO,
    };
    tracing_subscriber::fmt()
        .with_max_level(filter)
        .with_writer(cairn_agent::quiet_stderr)
        .with_ansi(false)
        .init();
    cairn_agent::worker::main()
}
