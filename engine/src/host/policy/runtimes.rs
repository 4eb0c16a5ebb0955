//! Language runtimes, compilers and tools that run code they are given (python3, node, npm, ruby, go, rustc, cargo, docker, …): a recipe may only ask them for their version.

use super::Policy;

pub(super) const POLICIES: &[Policy] = &[];
