//! Cairn's agent: a root daemon on each server that dials out to the control plane, proves its
//! key, verifies every signed command and recipe bundle, and streams every event back,
//! journaled so nothing is lost. It is two processes: a long-lived **supervisor** (this
//! crate's modules but [`worker`]) that never runs a recipe, and a short-lived **worker**
//! (`cairn-agent-worker`, [`worker`]) per job or batch of detectors that runs the engine under
//! kernel limits and exits, its memory with it. [`work`] is what they say to each other.
//!
//! Start at [`dial::run`] (the dial loop) and [`agent::Agent`] (one connection: authenticate,
//! dispatch). [`supervise`] runs one job's worker, [`journal`] keeps its events until
//! acknowledged, [`status`] answers `GET_SERVER_STATUS` with the detectors
//! [`detector_cache`] keeps across connections, [`enroll`] is the first start.

pub mod agent;
pub mod cancel;
pub mod config;
pub mod detector_cache;
pub mod dial;
pub mod enroll;
pub mod error;
pub mod facts;
pub mod handshake;
pub mod journal;
pub mod procs;
pub mod runner;
pub mod status;
pub mod supervise;
pub mod transport;
pub mod work;
pub mod worker;

pub use agent::{Agent, Tuning};
pub use config::{AgentConfig, ConfigDir};
pub use error::{AgentError, Result};
