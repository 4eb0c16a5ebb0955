//! Benchmarks of the agent and the control plane together (issue 4). Placeholder.
fn main() {}
