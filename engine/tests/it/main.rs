//! The engine's integration tests, one binary (one build, one link): recipes run for real on
//! this machine through the public API, the helpers against the real apt, dpkg and services,
//! the argument policies against the programs they police. One module per host function,
//! helper family or policy family; `util` builds and runs recipes, `common` runs commands for
//! the helpers' own tests (`RealExec`) and serves files over HTTP.
//!
//! `../memory.rs` is a binary of its own: it measures the process's peak resident memory,
//! which any other test running beside it would raise.
//!
//! Tests that change this machine's packages or write /etc need root; without it they say
//! "skipped" and pass. `cargo test -p cairn-engine --test it policy_` runs one family.
#![allow(clippy::unwrap_used)]

mod common;
mod util;

mod actions;
mod backup_helpers;
mod backup_helpers_run;
mod files;
mod helpers;
mod host;
mod installs;
mod limits;
mod params;
mod plan;
mod policy_archives;
mod policy_databases;
mod policy_databases_mariadb;
mod policy_databases_redis;
mod policy_files;
mod policy_network;
mod policy_packages;
mod policy_programs;
mod policy_queries;
mod policy_runtimes;
mod policy_services;
mod policy_shipped;
mod process;
mod query_options;
mod recipe;
mod run;
mod secret_params;
mod secrets;
mod service_action;
mod service_report;
mod sticky_stop;
mod system_apt;
mod system_apt_remove;
mod system_download;
mod system_mariadb_bind;
mod system_service;
mod template;
mod translations;
