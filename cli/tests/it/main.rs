//! The CLI's integration tests, one binary: `cairn-recipe` run as recipe authors run it (exit
//! codes, output, signing), the docs' examples checked, and every shipped recipe end to end
//! on this machine (as root: real apt installs, real PostgreSQL, MariaDB, Redis, Docker, and
//! backups to sshd and moto's S3 server on loopback). `common` runs the binary and reads its
//! result; the tests that change this machine's packages take `common::machine_lock` so that
//! none sees another half-way through.
//!
//! Without root the recipe tests say "skipped" and pass. One file:
//! `cargo test -p cairn-recipe --test it recipe_redis`.
#![allow(clippy::unwrap_used)]

mod common;

mod actions;
mod backup_drills;
mod backup_restore;
mod backup_restore_db;
mod check_diagnostics;
mod cli;
mod db_actions_mysql_redis;
mod db_actions_postgresql;
mod db_remote_mysql;
mod db_remote_postgresql;
mod db_remote_redis;
mod db_uninstall_mysql;
mod db_uninstall_postgresql;
mod db_uninstall_redis;
mod docs;
mod policy_databases_e2e;
mod recipe_backup_rsync;
mod recipe_backup_s3;
mod recipe_docker;
mod recipe_go;
mod recipe_go_switch;
mod recipe_mysql;
mod recipe_node;
mod recipe_postgresql;
mod recipe_python;
mod recipe_redis;
mod recipe_ruby;
mod recipe_rust;
mod redis;
mod test_command;
mod trust;
