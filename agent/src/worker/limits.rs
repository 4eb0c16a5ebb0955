//! What a worker does to itself before it reads a recipe: its own session (so the supervisor
//! can stop everything it started, [`crate::procs::kill_session`]), `no_new_privs` (nothing it
//! runs gains privileges through a set-user-id file or file capabilities), and kernel limits
//! that hold whatever the interpreter's own accounting misses: `RLIMIT_AS` for the worker and
//! every program it runs, `RLIMIT_CPU` for detectors.
//!
//! Detectors also give up every capability but `CAP_DAC_READ_SEARCH`, in the bounding set too,
//! so nothing they run gets more back. What detecting needs, from the shipped recipes: reading
//! and listing anywhere (`installations()` looks in every user's home for rustup, nvm, pyenv,
//! asdf; `postgresql`'s files belong to its own user) — that is `CAP_DAC_READ_SEARCH`; and
//! user id 0, kept: MariaDB lets the system's root in over its socket by user id
//! (`mysql.rhai`'s `answers()`), and Cairn's own state files are root's, mode 0600 (rsync's
//! settings, Redis's admin password). Gone: changing owners or modes, overriding write
//! permissions on files not root's, killing or tracing other users' processes, network
//! administration and raw sockets, mounting, modules, setting user ids, and the rest.

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
    if limits.read_only {
        read_only()?;
    }
    Ok(())
}

/// Keeps only `CAP_DAC_READ_SEARCH`, in every set this thread has and in the bounding set (so
/// that a program it runs as root gets no more). Called before any other thread starts:
/// threads inherit it. An agent not run as root has nothing to give up.
fn read_only() -> Result<(), String> {
    use rustix::thread::{CapabilitySet, CapabilitySets};
    let keep = CapabilitySet::DAC_READ_SEARCH;
    let now = rustix::thread::capabilities(None)
        .map_err(|e| format!("could not read capabilities: {e}"))?;
    if now.permitted.is_empty() {
        return Ok(());
    }
    for bit in 0..64 {
        let cap = CapabilitySet::from_bits_retain(1 << bit);
        if cap != keep {
            // EINVAL: a capability this kernel does not have.
            let _ = rustix::thread::remove_capability_from_bounding_set(cap);
        }
    }
    let _ = rustix::thread::clear_ambient_capability_set();
    let kept = now.permitted & keep;
    rustix::thread::set_capabilities(
        None,
        CapabilitySets {
            effective: kept,
            permitted: kept,
            inheritable: CapabilitySet::empty(),
        },
    )
    .map_err(|e| format!("could not drop capabilities: {e}"))
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
