//! Events a running recipe emits: console lines, steps, progress and the final outcome.
//!
//! The engine is synchronous; events leave it through an [`EventSink`], which redacts every
//! secret generated in the job before the event is sent on a `std::sync::mpsc` channel. The
//! agent bridges that channel into tokio; the CLI prints it. A bounded channel
//! ([`SyncSender`]) makes a job that prints faster than its events can leave wait for them,
//! down to the child process blocking on its pipe: that is how the agent's memory stays
//! bounded under a flood of output.

use std::sync::mpsc::{Sender, SyncSender};

use serde::{Deserialize, Serialize};

use crate::redact::Redactor;

/// Where a console line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// A child's standard output.
    Stdout,
    /// A child's standard error.
    Stderr,
    /// A message from the recipe (`log()`) or the engine.
    Info,
    /// A warning from the recipe (`warn()`) or the engine (e.g. waiting for a lock).
    Warn,
    /// The echo of a command about to run (`$ apt-get install -y redis-server`).
    Command,
}

/// What a job is blocked on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitReason {
    /// dpkg's lock, held by another program on the host.
    PackageManager,
    /// Cairn's own package lock, held by another job of this process.
    CairnJob,
}

/// One event of a job, in the order it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// One console line (without its newline).
    Log { stream: Stream, line: String },
    /// The recipe started a named step; `index` counts from 1.
    Step { index: u32, title: String },
    /// Overall progress, 0–100.
    Progress { percent: u8 },
    /// The job is blocked on `reason` (held by `holder`, when known); `reason: None` when the
    /// wait is over. A console line says the same in words; this lets a page show the wait as a
    /// state rather than as a moving progress bar.
    Waiting {
        reason: Option<WaitReason>,
        holder: Option<String>,
    },
    /// Where the job's time went (`crate::timing`), sent once just before [`Event::Finished`]
    /// by a run (not by a plan or a detection). The console shows it only on request.
    Timings { timings: crate::timing::JobTimings },
    /// The job ended. Always the last event.
    Finished { outcome: Outcome },
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// The entry point returned `value` (the recipe's result map, as JSON).
    ///
    /// This is the one place where a secret may leave the engine unmasked, on purpose: a
    /// database recipe returns the connection string the user must see once. `secret_fields`
    /// lists the top-level keys of `value` that contain a secret made in this job, so that every
    /// later hop (agent journal, control plane history) can mask them.
    Succeeded {
        value: serde_json::Value,
        secret_fields: Vec<String>,
    },
    /// The job failed; `error` is a human sentence, redacted, and `location` where in the
    /// script it happened (`rust.rhai:67`), when it happened in the script.
    Failed {
        error: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location: Option<String>,
    },
}

/// The channel a job's events go to: unbounded, or bounded (sending waits while it is full).
#[derive(Debug, Clone)]
pub enum EventTx {
    Unbounded(Sender<Event>),
    Bounded(SyncSender<Event>),
}

impl Outcome {
    /// A failure's sentence with its location, as one line (for a terminal or a log).
    pub fn failure_text(&self) -> Option<String> {
        match self {
            Self::Failed {
                error,
                location: Some(at),
            } => Some(format!("{error} (at {at})")),
            Self::Failed { error, .. } => Some(error.clone()),
            Self::Succeeded { .. } => None,
        }
    }
}

impl From<Sender<Event>> for EventTx {
    fn from(tx: Sender<Event>) -> Self {
        Self::Unbounded(tx)
    }
}

impl From<SyncSender<Event>> for EventTx {
    fn from(tx: SyncSender<Event>) -> Self {
        Self::Bounded(tx)
    }
}

/// The redacting sender of a job's events.
#[derive(Debug, Clone)]
pub struct EventSink {
    tx: Option<EventTx>,
    redactor: Redactor,
    /// A plan's sink: console lines, steps and progress are dropped, only `Finished` leaves.
    /// What a recipe says while planning ("Created the user …") would claim a change that
    /// nobody made; what a plan would do travels in its summary instead.
    planning: bool,
}

impl EventSink {
    /// A sink that sends on `tx`, masking every secret known to `redactor`.
    pub fn new(tx: impl Into<EventTx>, redactor: Redactor) -> Self {
        Self {
            tx: Some(tx.into()),
            redactor,
            planning: false,
        }
    }

    /// This sink, for a plan: nothing but the final event leaves it (see `planning`).
    pub fn planning(mut self) -> Self {
        self.planning = true;
        self
    }

    /// A sink that drops everything (detection, checks).
    pub fn discard(redactor: Redactor) -> Self {
        Self {
            tx: None,
            redactor,
            planning: false,
        }
    }

    /// The redactor this sink masks with.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Sends a console line.
    pub fn log(&self, stream: Stream, line: &str) {
        self.send(Event::Log {
            stream,
            line: line.to_owned(),
        });
    }

    /// Sends an event after masking every secret in it. A closed receiver is not an error: the
    /// job goes on and its outcome is still returned to the caller.
    pub fn send(&self, event: Event) {
        let Some(tx) = &self.tx else { return };
        if self.planning && !matches!(event, Event::Finished { .. }) {
            return;
        }
        let event = match event {
            Event::Log { stream, line } => Event::Log {
                stream,
                line: self.redactor.redact(&line),
            },
            Event::Step { index, title } => Event::Step {
                index,
                title: self.redactor.redact(&title),
            },
            // Step titles and command lines again: a secret in them is masked here too.
            Event::Timings { timings } => Event::Timings {
                timings: timings.map_text(|t| self.redactor.redact(t)),
            },
            Event::Finished {
                outcome: Outcome::Failed { error, location },
            } => Event::Finished {
                outcome: Outcome::Failed {
                    error: self.redactor.redact(&error),
                    location,
                },
            },
            other => other,
        };
        let _ = match tx {
            EventTx::Unbounded(tx) => tx.send(event),
            EventTx::Bounded(tx) => tx.send(event),
        };
    }
}
