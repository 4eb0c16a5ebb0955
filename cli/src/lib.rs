//! `cairn-recipe`'s library: the part of the CLI that the workspace's own tests use too, so that
//! there is one implementation of it. Today that is [`system`], the fresh Debian system of
//! `cairn-recipe test`, which the Debian 11 suite and the end-to-end tests (`tests/`) run in.
//! The binary (`main.rs`) uses it like any other crate; it adds no dependency to the binary's.

pub mod system;
