//! Integration tests of the protocol crate, against the real verification code. Each module
//! maps to rows of docs/threats.md where it applies.
#![allow(clippy::unwrap_used)]

mod bench;
mod bundles;
mod dashboard;
mod docs;
mod enrollment;
mod frames;
mod malformed;
mod props;
mod rollback;
mod typescript;
mod util;
mod weak_signatures;
