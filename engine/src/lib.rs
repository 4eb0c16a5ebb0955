//! Cairn's recipe engine.
//!
//! A recipe is one `.rhai` file: a literal `RECIPE` metadata map (readable without running
//! anything), a `detect()` function, and `install(params)` or `configure(params)`. The engine
//! runs it in a hardened Rhai sandbox through a small host API (`run`, `log`, `step`, `detect`,
//! `secret`, `template`, `write_file`, apt and service helpers, `download`, settings files and
//! cron for a script of the recipe's own), emitting [`Event`]s through a redacting channel.
//!
//! The engine is synchronous and knows nothing of networking (beyond `download`), WebSockets,
//! tokio or the control plane.

pub mod actions;
pub mod alloc;
pub mod cancel;
pub mod diagnostics;
pub mod error;
pub mod event;
pub mod exec;
pub mod fs;
pub mod host;
pub mod job;
pub mod params;
pub mod plan;
pub mod process;
pub mod recipe;
pub mod redact;
pub mod sandbox;
pub mod secret;
pub mod service_action;
pub mod summary;
pub mod system;
pub mod timing;
pub mod translations;
pub mod version;

pub use actions::ActionSpec;
pub use cancel::{CancelToken, Stop};
pub use error::{EngineError, HostError};
pub use event::{Event, EventSink, EventTx, Outcome, Stream, WaitReason};
pub use host::caps::Capabilities;
pub use job::{
    Action, Detection, FoundBackupSettings, FoundDatabase, FoundDrill, FoundSnapshot, FoundUser,
    JobOptions, JobReport, Mode,
};
pub use plan::{Coverage, Done, DoneAction, PlannedAction, shell_words};
pub use recipe::{Category, Recipe, RecipeMeta};
pub use redact::Redactor;
pub use sandbox::Limits;
pub use summary::{Change, PlanSummary};
