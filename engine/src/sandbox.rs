//! The hardened Rhai engine. `Engine::new_raw` plus only the packages recipes need, every limit
//! set, `eval` disabled and `import` compiled out (`no_module`). The cancel flag, a memory
//! ceiling and a wall-clock deadline are checked in `on_progress`.
//!
//! The stop is sticky (threats.md row 26): once any stop condition has been seen, every later
//! operation returns the stop again. Rhai discards the error `on_progress` returns in a few
//! places (the conversion inside a string interpolation, an array sort's comparator), so a stop
//! reported once could be lost, and with checks spaced every N operations a loop whose body
//! divides N could lose it every time.
//!
//! Why a memory ceiling on top of Rhai's size limits: Rhai checks the size of the value being
//! assigned, so a map grown through a nested index (`m.a["k" + i] = i`) or holding arrays escapes
//! `max_map_size`. The ceiling bounds the growth of the bytes the process has allocated since
//! the job started, read from the counting global allocator (`alloc.rs`) every 16 operations,
//! so the overshoot is at most what 16 operations allocate (each bounded by the size limits).

use std::cell::Cell;
use std::time::{Duration, Instant};

use rhai::packages::{
    BasicArrayPackage, BasicIteratorPackage, BasicMapPackage, BasicMathPackage, BasicStringPackage,
    CorePackage, LogicPackage, MoreStringPackage, Package,
};
use rhai::{Dynamic, Engine};

use crate::cancel::Stop;

/// Every limit of a job. `Default` is what the agent uses; tests shrink them.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Script operations before the job is stopped.
    pub max_operations: u64,
    /// Nested function calls.
    pub max_call_levels: usize,
    /// Expression nesting at the top level and inside functions.
    pub max_expr_depth: usize,
    pub max_fn_expr_depth: usize,
    /// Bytes of one string.
    pub max_string_size: usize,
    /// Elements of one array.
    pub max_array_size: usize,
    /// Properties of one map.
    pub max_map_size: usize,
    /// Variables alive at once.
    pub max_variables: usize,
    /// Script functions in one recipe.
    pub max_functions: usize,
    /// Growth of the bytes the process has allocated during the job before it is stopped.
    pub max_memory_growth: u64,
    /// Wall-clock budget of the whole job.
    pub deadline: Duration,
    /// Default timeout of one command started by `run()` or a helper.
    pub command_timeout: Duration,
    /// Timeout of read-only queries (`detect()`, `dpkg-query`, service status).
    pub query_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_operations: 50_000_000,
            max_call_levels: 32,
            max_expr_depth: 64,
            max_fn_expr_depth: 32,
            max_string_size: 1 << 20,
            max_array_size: 10_000,
            max_map_size: 10_000,
            max_variables: 256,
            max_functions: 128,
            max_memory_growth: 256 << 20,
            deadline: Duration::from_secs(60 * 60),
            command_timeout: Duration::from_secs(30 * 60),
            query_timeout: Duration::from_secs(15),
        }
    }
}

/// The token `on_progress` returns to stop a script, turned into a message by the job runner.
pub(crate) const STOP_CANCELLED: &str = "cairn:cancelled";
pub(crate) const STOP_DEADLINE: &str = "cairn:deadline";
pub(crate) const STOP_MEMORY: &str = "cairn:memory";

/// An engine for compiling only (checks, metadata): all limits and disabled symbols, no host
/// functions.
pub fn compiler(limits: &Limits) -> Engine {
    let mut engine = Engine::new_raw();
    for pkg in [
        CorePackage::new().as_shared_module(),
        LogicPackage::new().as_shared_module(),
        BasicStringPackage::new().as_shared_module(),
        MoreStringPackage::new().as_shared_module(),
        BasicIteratorPackage::new().as_shared_module(),
        BasicArrayPackage::new().as_shared_module(),
        BasicMapPackage::new().as_shared_module(),
        BasicMathPackage::new().as_shared_module(),
    ] {
        engine.register_global_module(pkg);
    }
    engine
        .set_max_operations(limits.max_operations)
        .set_max_call_levels(limits.max_call_levels)
        .set_max_expr_depths(limits.max_expr_depth, limits.max_fn_expr_depth)
        .set_max_string_size(limits.max_string_size)
        .set_max_array_size(limits.max_array_size)
        .set_max_map_size(limits.max_map_size)
        .set_max_variables(limits.max_variables)
        .set_max_functions(limits.max_functions)
        .set_max_strings_interned(256)
        // Catch typos in variable names when checking, not half-way through an install.
        .set_strict_variables(true)
        .set_fail_on_invalid_map_property(true);
    // `eval` would let a recipe run code its author never wrote; `import` is compiled out.
    engine.disable_symbol("eval");
    engine
}

/// How many operations apart the wall clock is read (cancel is read at every one).
const DEADLINE_EVERY: u64 = 256;
/// How many operations apart the allocator's count is read: one operation allocates at most
/// about a maximum-size string (1 MiB), so the overshoot stays near 16 MiB.
const MEMORY_EVERY: u64 = 16;

/// An engine for running a job: [`compiler`] plus the stop and memory checks. Host functions
/// are registered by the caller. `print` and `debug` go to the console through `on_print`.
pub fn runtime(limits: &Limits, stop: Stop) -> Engine {
    let mut engine = compiler(limits);
    let ceiling = crate::alloc::bytes_in_use().saturating_add(limits.max_memory_growth);
    let seen: Cell<Option<&'static str>> = Cell::new(None);
    engine.on_progress(move |ops| {
        if seen.get().is_none() {
            let why = match stop.cancel.is_cancelled() {
                true => Some(STOP_CANCELLED),
                false if ops % MEMORY_EVERY == 0 && crate::alloc::bytes_in_use() > ceiling => {
                    Some(STOP_MEMORY)
                }
                false if ops % DEADLINE_EVERY == 0 && Instant::now() >= stop.deadline => {
                    Some(STOP_DEADLINE)
                }
                false => None,
            };
            seen.set(why);
        }
        seen.get().map(Dynamic::from)
    });
    engine
}

/// The process's resident set size, from `/proc/self/statm`.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * rustix::param::page_size() as u64)
}
