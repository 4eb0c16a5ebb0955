//! `METRICS` from an authenticated agent: samples from its future refused, samples older than
//! the 1-minute summaries are kept (30 days) dropped, the others stored
//! (in a batch with other agents', `metric_writes`) and the batch acknowledged once stored.

use cairn_protocol::messages::metrics::{
    MAX_DEVICES, MAX_FUTURE_SECS, MAX_NAME_LEN, MAX_SAMPLES_PER_BATCH, MAX_SERVICES,
};
use cairn_protocol::messages::{ErrorCode, Metrics, MetricsAck};
use cairn_protocol::{Message, unix_now};

use super::error_message;

/// A sample older than this (seconds) says nothing to the alerts.
const FRESH_SECS: u64 = 120;
use crate::app::App;

/// The replies to one `METRICS`: its acknowledgement, after an `ERROR` if samples were refused.
/// An `Err` (the database failed) closes the connection: the agent sends the batch again after
/// it reconnects.
pub(super) async fn receive(app: &App, node_id: &str, m: Metrics) -> anyhow::Result<Vec<Message>> {
    let now = unix_now();
    let total = m.samples.len();
    // An agent sends at most this many at once: a bigger batch is refused whole (and
    // acknowledged, so that it is not sent again), whatever its samples say.
    if total > MAX_SAMPLES_PER_BATCH {
        tracing::warn!(node_id = %node_id, total, "refused an oversized metrics batch");
        return Ok(vec![
            error_message(
                ErrorCode::BadFrame,
                format!(
                    "a METRICS batch holds at most {MAX_SAMPLES_PER_BATCH} samples and this one held {total}: none of them was stored"
                ),
            ),
            Message::MetricsAck(MetricsAck { batch: m.batch }),
        ]);
    }
    let too_old = now.saturating_sub(crate::store::MetricRetention::default().minutes);
    let oversized = m.samples.iter().filter(|s| !s.within_limits()).count();
    let (samples, old): (Vec<_>, Vec<_>) = m
        .samples
        .into_iter()
        .filter(|s| s.within_limits() && s.t <= now + MAX_FUTURE_SECS)
        .partition(|s| s.t >= too_old);
    let mut replies = Vec::new();
    // Nothing would keep them: acknowledged, not stored (an agent cannot fill the database
    // with samples dated years ago).
    let refused = total - samples.len() - old.len() - oversized;
    if oversized > 0 {
        tracing::warn!(node_id = %node_id, oversized, "refused metrics samples over the limits");
        replies.push(error_message(
            ErrorCode::BadFrame,
            format!(
                "{oversized} metrics samples list more than {MAX_DEVICES} file systems or interfaces, more than {MAX_SERVICES} services, a name over {MAX_NAME_LEN} bytes or a number that is not one, and were not stored"
            ),
        ));
    }
    if refused > 0 {
        tracing::warn!(node_id = %node_id, refused, "refused metrics samples from the future");
        replies.push(error_message(
            ErrorCode::BadFrame,
            format!(
                "{refused} metrics samples are dated more than {MAX_FUTURE_SECS} s ahead of the control plane's clock and were not stored; set this server's clock right (NTP)"
            ),
        ));
    }
    if m.dropped > 0 {
        tracing::warn!(node_id = %node_id, dropped = m.dropped,
            "the agent's metrics buffer was full; it dropped its oldest samples");
    }
    // The alerts look at the newest sample only, and only a fresh one: samples an agent sends
    // again after a disconnect are history, not what the server is like now.
    let newest = samples
        .iter()
        .max_by_key(|s| s.t)
        .filter(|s| s.t + FRESH_SECS >= now)
        .map(crate::alerts::Observation::from_sample);
    if !samples.is_empty() && !app.metrics.store(node_id, samples).await {
        anyhow::bail!("the metrics samples could not be stored");
    }
    if let Some(obs) = newest {
        app.alerts.observe(node_id, obs);
    }
    replies.push(Message::MetricsAck(MetricsAck { batch: m.batch }));
    Ok(replies)
}
