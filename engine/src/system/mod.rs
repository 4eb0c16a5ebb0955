//! The engine's system helpers behind the host API: apt/dpkg serialization, service control with
//! or without systemd, and checked downloads. Each decides what to run and runs it through an
//! [`Exec`](crate::exec::Exec).

pub mod apt;
pub mod download;
pub mod service;
