//! What a worker does to itself before it reads a recipe: its own session (so the supervisor
//! can stop everything it started, [`crate::procs::kill_session`]), `no_new_privs` (nothing it
//! runs gains privileges through a set-user-id file or file capabilities), and kernel limits
//! that hold whatever the interpreter's own accounting misses: `RLIMIT_AS` for the worker and
//! every program it runs, `RLIMIT_CPU` for detectors.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

use crate::work::WorkerLimits;

/// Applies `limits` to this process. A limit already lower than asked stays (never raised).
pub fn apply(limits: &WorkerLimits) -> Result<(), String> {
    // Fails only when this process already leads a session or group: then it is the one the
    // supervisor made for it (tests start workers directly), which is as good.
    let _ = rustix::process::setsid();
    rustix::thread::set_no_new_privs(true)
        .map_err(|e| format!("could not set no_new_privs: {e}"))?;
    lower(Resource::As, limits.address_space)?;
    if let Some(seconds) = limits.cpu_seconds {
        lower(Resource::Cpu, seconds)?;
    }
    Ok(())
}

/// Sets both the soft and the hard limit of `resource` to `value`, unless they are lower.
fn lower(resource: Resource, value: u64) -> Result<(), String> {
    let now = getrlimit(resource);
    let cap = |v: Option<u64>| Some(v.map_or(value, |v| v.min(value)));
    let new = Rlimit {
        current: cap(now.current),
        maximum: cap(now.maximum),
    };
    setrlimit(resource, new).map_err(|e| format!("could not set {resource:?} to {value}: {e}"))
}
