//! The dial loop: connect → authenticate → serve → back off → retry, until shutdown.
//!
//! Backoff doubles from `backoff_base` to `backoff_max` with jitter (half fixed, half random,
//! so that agents restarted together do not reconnect together) and resets after a healthy
//! session. Each kind of failure is logged once at `warn` until a session succeeds again;
//! repeats go to `debug`, so an unreachable control plane does not flood the log.
//!
//! A server removed from Cairn (`NODE_REMOVED`) is told so at every attempt: the sentence is
//! logged at `error` each time and the next attempt waits `removed_backoff` (an hour by
//! default), not the ordinary backoff.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::agent::Agent;
use crate::error::AgentError;

/// Runs the agent until `shutdown` becomes true. The metrics sampler runs beside the
/// connections on the same thread: sampling goes on while disconnected.
pub async fn run(agent: &Agent, shutdown: watch::Receiver<bool>) {
    tokio::join!(
        dial(agent, shutdown.clone()),
        agent.sample_metrics(shutdown)
    );
    tracing::info!("agent stopped");
}

async fn dial(agent: &Agent, mut shutdown: watch::Receiver<bool>) {
    let mut failures: u32 = 0;
    let mut last_kind: Option<&'static str> = None;
    while !*shutdown.borrow() {
        let started = Instant::now();
        let end = agent.session(&mut shutdown).await;
        let Some(error) = end.error else { break };
        if let AgentError::Removed(why) = &error {
            let wait = agent.tuning.removed_backoff;
            tracing::error!(
                "{why}; trying again in {} s (uninstall: install.sh --uninstall)",
                wait.as_secs()
            );
            failures = failures.saturating_add(1);
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => break,
            }
            continue;
        }
        if end.authenticated {
            // A session that worked: the next failure deserves a log line again.
            last_kind = None;
            if started.elapsed() >= agent.tuning.healthy_after {
                failures = 0;
            }
        }
        if last_kind == Some(error.kind()) {
            tracing::debug!(%error, "still cannot reach the control plane");
        } else {
            tracing::warn!(%error, "connection to the control plane lost; retrying with backoff");
            last_kind = Some(error.kind());
        }
        let delay = backoff(
            failures,
            agent.tuning.backoff_base,
            agent.tuning.backoff_max,
        );
        failures = failures.saturating_add(1);
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = shutdown.changed() => break,
        }
    }
}

/// The delay before reconnection attempt `failures` (0 = first retry).
pub fn backoff(failures: u32, base: Duration, max: Duration) -> Duration {
    let full = base.saturating_mul(1u32 << failures.min(16)).min(max);
    let half = full / 2;
    let mut bytes = [0u8; 8];
    let r = match getrandom::fill(&mut bytes) {
        Ok(()) => u64::from_le_bytes(bytes),
        Err(_) => 0,
    };
    let span = half.as_millis() as u64;
    half + Duration::from_millis(if span == 0 { 0 } else { r % (span + 1) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let base = Duration::from_millis(500);
        let max = Duration::from_secs(30);
        let first = backoff(0, base, max);
        assert!(first >= Duration::from_millis(250) && first <= base);
        let third = backoff(3, base, max);
        assert!(third >= Duration::from_secs(2) && third <= Duration::from_secs(4));
        for _ in 0..50 {
            let late = backoff(30, base, max);
            assert!(late >= Duration::from_secs(15) && late <= max);
        }
    }
}
