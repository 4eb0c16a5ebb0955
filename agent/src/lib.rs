//! Cairn's agent: a root daemon on each server that dials out to the control plane, proves its
//! key, verifies every signed command and recipe bundle, runs recipes with the engine on
//! blocking threads, and streams every event back, journaled so nothing is lost.
//!
//! Start at [`dial::run`] (the dial loop) and [`agent::Agent`] (one connection: authenticate,
//! dispatch). [`runner`] runs one job, [`journal`] keeps its events until acknowledged,
//! [`status`] answers `GET_SERVER_STATUS` with the detectors
//! [`detector_cache`] keeps across connections, [`enroll`] is the first start.

pub mod agent;
pub mod config;
pub mod detector_cache;
pub mod dial;
pub mod enroll;
pub mod error;
pub mod facts;
pub mod handshake;
pub mod journal;
pub mod plans;
pub mod runner;
pub mod status;
pub mod transport;

pub use agent::{Agent, Tuning};
pub use config::{AgentConfig, ConfigDir};
pub use error::{AgentError, Result};
