//! Cooperative cancellation and deadlines shared by the script (checked in Rhai's
//! `on_progress`) and every blocking host call (checked while a child runs or a lock is awaited).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A flag another thread sets to cancel a job. Cheap to clone; clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the job to stop. Running children are killed with their whole process group.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The cancel token and wall-clock deadline of one job.
#[derive(Debug, Clone)]
pub struct Stop {
    pub cancel: CancelToken,
    pub deadline: Instant,
    /// The budget the deadline was made from, for error messages.
    pub budget: Duration,
}

impl Stop {
    /// A stop that fires after `budget` or when `cancel` is set.
    pub fn new(cancel: CancelToken, budget: Duration) -> Self {
        Self {
            cancel,
            deadline: Instant::now() + budget,
            budget,
        }
    }

    /// Why the job must stop now, if it must.
    pub fn reason(&self) -> Option<StopReason> {
        if self.cancel.is_cancelled() {
            Some(StopReason::Cancelled)
        } else if Instant::now() >= self.deadline {
            Some(StopReason::Deadline)
        } else {
            None
        }
    }

    /// `Ok` while the job may go on; the job's error once it must stop. Every long wait in a
    /// host call checks this.
    pub fn check(&self) -> Result<(), crate::error::HostError> {
        match self.reason() {
            None => Ok(()),
            Some(StopReason::Cancelled) => Err(crate::error::HostError::Cancelled),
            Some(StopReason::Deadline) => Err(crate::error::HostError::Deadline(self.budget)),
        }
    }

    /// Time left before the deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

/// Why a job was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    Cancelled,
    Deadline,
}
