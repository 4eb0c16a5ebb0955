//! End-to-end tests: the real `cairn-control-plane` and `cairn-agent` binaries, started as
//! child processes on 127.0.0.1 and driven as a user drives them (issue 4). The harness is the
//! crate's library (`tests/src/lib.rs`).

mod actions;
mod alerts;
mod api_tokens;
mod backup;
mod connections;
mod disk_full;
mod dpkg_lock;
mod install;
mod jobs;
mod login_flood;
mod metrics;
mod module_loops;
mod network;
mod nodes;
mod plan_only;
mod plans;
mod publish;
mod recovery;
mod roles;
mod secrets;
mod service_log;
mod services;
mod sqlite_busy;
mod stalled;
mod status;
mod threats;
mod tls;
mod two_factor;
