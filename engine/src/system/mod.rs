//! The engine's system helpers behind the host API: apt/dpkg serialization, service control with
//! or without systemd, checked downloads, and MariaDB's listen address (`mariadb_bind`, one fixed file). Each decides what to run and runs it through an
//! [`Exec`](crate::exec::Exec). Besides them, what the Services card reads: a service's state
//! (`service_status`) and the end of its log (`service_log`), outside any job.

pub mod apt;
pub mod download;
pub mod mariadb_bind;
pub mod service;
pub mod service_log;
pub mod service_status;
