//! The end-to-end harness: starts the real `cairn-control-plane` and `cairn-agent` binaries as
//! child processes on 127.0.0.1, and talks to them the way a user does — HTTP for the API, a
//! WebSocket with the session cookie and the right `Origin` for the dashboard, the agent's own
//! command line for enrollment.
//!
//! The binaries are not built by this crate: `cargo test --workspace` (and `cargo build`) put
//! them next to the test executable's directory (`target/<profile>/`), where [`bin`] finds
//! them. Every child is killed (SIGKILL) when its handle drops, and every file lives in a temp
//! directory that goes with the [`Cluster`].
//!
//! One module a part: [`bins`] (the binaries and the recipes they publish),
//! [`control_plane`], [`agent`], [`cluster`] (both, enrolled and connected), [`dashboard`] (the
//! dashboard socket), [`tls`]; the raw HTTP client and `/proc` readers are
//! `cairn-test-support`'s, re-exported here. The fault and load tests have their own:
//! [`proxy`], [`flood`], [`conns`], [`sim`], [`debian11`]; the benchmarks [`bench`] and
//! [`memory`] (a process tree's resident memory, by mapping).

pub mod agent;
pub mod bench;
pub mod bins;
pub mod cluster;
pub mod conns;
pub mod control_plane;
pub mod dashboard;
pub mod debian11;
pub mod flood;
pub mod memory;
pub mod proxy;
pub mod sim;
pub mod tls;

use std::time::{Duration, Instant};

pub use agent::Agent;
pub use bins::{
    AGENT_BINS, add_recipe, bin, bin_dir, build_shipped_agent, recipes_dir, use_shipped_agent,
    worker_bin,
};
pub use cairn_test_support::dashboard::Ws;
pub use cairn_test_support::http::{Reply, http, http_over, login};
pub use cairn_test_support::net::free_port;
pub use cairn_test_support::procfs::{cpu_secs, rss_kb, thread_cpu_secs};
pub use cairn_test_support::repo_root;
pub use cluster::Cluster;
pub use control_plane::ControlPlane;
pub use dashboard::{Dashboard, lines, seqs};
pub use tls::{TlsCert, https};

/// The admin password every control plane in these tests starts with.
pub const PASSWORD: &str = "e2e correct horse battery staple";

/// How long any single wait may take before the test fails. Generous: debug builds on two
/// cores, with other tests running beside.
pub const WAIT: Duration = Duration::from_secs(60);

/// Terminal job events: exactly one ends every job.
pub const TERMINAL: &[&str] = &[
    "RUNTIME_INSTALLED",
    "DATABASE_CONFIGURED",
    "BACKUP_CONFIGURED",
    "PLAN_RESULT",
    "JOB_FAILED",
];

/// Polls `f` every 50 ms until it returns `Some`, for at most [`WAIT`].
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
