//! `cairn-agent-worker`: the engine's process, started by the supervisor (`cairn-agent run`)
//! for one job or one batch of detectors, with a request on standard input. Not for people.
//! Its own binary so that the supervisor's, resident on every server, holds none of the
//! engine's code (BENCHMARKS.md, "The agent with the shipped catalogue").

use std::process::ExitCode;

fn main() -> ExitCode {
    cairn_agent::init_log();
    cairn_agent::worker::main()
}
