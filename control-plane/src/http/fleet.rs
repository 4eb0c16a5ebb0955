//! `GET /api/metrics/overview`: every node's last hour at a glance, for the nodes list (a CPU
//! sparkline per node and its latest figures), from the metrics the agents send every 10 s.
//! One read of the latest samples and one of each node's 1-minute summaries; a node with no
//! samples yet is listed with nothing, so the page says so instead of drawing zeros.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use warp::Reply;
use warp::reply::Response;

use crate::app::App;
use crate::store;
use crate::web::internal;

/// Minutes in the sparkline.
const MINUTES: u64 = 60;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Overview {
    node_id: String,
    /// The latest sample's time (unix seconds), if any.
    at: Option<u64>,
    cpu: Option<f64>,
    memory_percent: Option<f64>,
    /// The fullest file system's share in use.
    disk_percent: Option<f64>,
    load1: Option<f64>,
    /// CPU per minute over the last hour, oldest first, `null` for a minute with no summary.
    cpu_last_hour: Vec<Option<f64>>,
}

fn percent(used: u64, total: u64) -> Option<f64> {
    (total > 0).then(|| used as f64 * 100.0 / total as f64)
}

/// `GET /api/metrics/overview`.
pub async fn overview(app: &Arc<App>, reach: crate::http::Reach) -> Response {
    let now = cairn_protocol::unix_now();
    // The last complete minutes: the summaries of the minute under way are not made yet.
    let to = now - now % 60;
    let from = to - MINUTES * 60;
    let read = store::blocking(&app.store, move |s| {
        let latest: BTreeMap<String, _> = s.latest_metrics()?.into_iter().collect();
        let mut out = Vec::new();
        for node in s.nodes()?.into_iter().filter(|n| reach.has(&n.id)) {
            let minutes = s.metric_summaries(&node.id, 60, from, to)?;
            let mut cpu_last_hour = vec![None; MINUTES as usize];
            for (t, summary) in minutes {
                let slot = ((t - from) / 60) as usize;
                if let (Some(v), Some(cell)) = (summary.get("cpu"), cpu_last_hour.get_mut(slot)) {
                    *cell = Some(v[1]);
                }
            }
            let sample = latest.get(&node.id);
            out.push(Overview {
                node_id: node.id.clone(),
                at: sample.map(|s| s.t),
                cpu: sample.and_then(|s| s.cpu),
                memory_percent: sample.and_then(|s| percent(s.mem[0], s.mem[1])),
                disk_percent: sample.and_then(|s| {
                    s.disks
                        .iter()
                        .filter_map(|d| percent(d.u, d.s))
                        .reduce(f64::max)
                }),
                load1: sample.map(|s| s.load[0]),
                cpu_last_hour,
            });
        }
        Ok(out)
    })
    .await;
    match read {
        Ok(list) => warp::reply::json(&list).into_response(),
        Err(e) => internal(e),
    }
}
