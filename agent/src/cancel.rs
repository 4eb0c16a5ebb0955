//! A job's cancel flag in the supervisor: set by `CANCEL_JOB`, read by the thread that
//! supervises the job's worker (which tells the worker, then stops it if it does not stop).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Shared, cheap to clone; once set it stays set.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
