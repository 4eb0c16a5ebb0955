//! The process's global allocator: the system's, counting the bytes in use, so the sandbox can
//! check a job's memory every few script operations for the price of an atomic load (threats.md rows
//! 13 and 26).
//!
//! Declared here rather than in each binary so that no program that runs recipes (the agent,
//! `cairn-recipe`, the tests) can forget it: with it missing, the ceiling would silently fall
//! back to nothing. The count is process-wide; [`crate::sandbox`] bounds its growth during a job.

#[global_allocator]
static ALLOCATOR: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

/// Bytes currently allocated by the whole process through the global allocator.
pub fn bytes_in_use() -> u64 {
    ALLOCATOR.allocated() as u64
}
