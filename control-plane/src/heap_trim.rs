//! Hands the memory glibc's allocator keeps free back to the kernel, every 30 s.
//!
//! A burst of connections (agents coming back after a restart, a catalogue sent to every agent)
//! allocates and frees frames of hundreds of kB; glibc returns freed memory only from the top of
//! each arena, so after a burst the free pages stayed resident: with 2,000 agents connected,
//! 162 MiB resident of which 75 MiB free (a `malloc_trim` by hand took it to 87 MiB;
//! BENCHMARKS.md, issue 19). `malloc_trim` walks every arena under its lock, a few
//! milliseconds on a heap this size, so it runs on the blocking pool, twice a minute.

use std::time::Duration;

use tokio::sync::watch;

const EVERY: Duration = Duration::from_secs(30);

/// Trims the heap every [`EVERY`] until `shutdown` turns true.
pub(crate) fn spawn(mut shutdown: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tick.tick() => {
                    let took = tokio::task::spawn_blocking(|| {
                        let t = std::time::Instant::now();
                        cairn_heap::give_back();
                        t.elapsed()
                    });
                    if let Ok(took) = took.await {
                        tracing::debug!(ms = took.as_secs_f64() * 1e3, "heap trimmed");
                    }
                }
            }
        }
    });
}
