//! Helpers that the test suites of several Cairn crates share, so that no crate copies another's
//! helpers or includes its files by path. A dev-dependency only: nothing here ships.
//!
//! - [`process`]: programs a test runs for its own setup, children killed when the test ends,
//!   lock holders, whether the tests run as root.
//! - [`apt`]: this machine's packages, for tests that install some for real.
//! - [`net`]: a free port, waiting until something listens.
//! - [`procfs`]: what `/proc` says about a process: memory, CPU time, descriptors, whether it
//!   is gone.
//! - [`secrets`]: proof that a secret stays secret: every `/proc/*/cmdline` sampled during a
//!   run, files searched.
//! - [`recipe_run`]: what `cairn-recipe run` prints: the console, then the job's result.
//! - [`backup`]: the targets of the backup recipe tests (sshd and moto's S3 server on
//!   loopback), the tree they back up, the byte-for-byte comparison of a restore.
//! - [`http`] (feature `async`): a raw HTTP/1.1 client that sends requests the way the
//!   dashboard's JSON client does, and reads the whole answer.
//! - [`dashboard`] (feature `async`): the dashboard WebSocket's upgrade, with a session cookie
//!   and an `Origin`.
//!
//! The default build is the standard library, rustix and serde_json, so the engine's and the
//! CLI's tests stay synchronous; the control plane's and the end-to-end tests enable `async`.
//! Everything here fails by panicking with a sentence: a failure is the test's failure.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap fails the test that called it

pub mod apt;
pub mod backup;
#[cfg(feature = "async")]
pub mod dashboard;
#[cfg(feature = "async")]
pub mod http;
pub mod net;
pub mod process;
pub mod procfs;
pub mod recipe_run;
pub mod secrets;

use std::path::{Path, PathBuf};

/// The repository's root (the workspace), whichever crate's tests ask.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .expect("cairn-test-support lives inside the workspace")
}
