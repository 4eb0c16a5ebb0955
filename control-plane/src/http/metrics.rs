//! `GET /api/nodes/{id}/metrics?range=…` (a node's series, ready for a chart) and `GET /metrics`
//! (Prometheus, behind its bearer token).

use std::collections::BTreeMap;
use std::sync::Arc;

use cairn_protocol::dashboard::JobStatus;
use serde::Serialize;
use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

use super::Request;
use crate::app::App;
use crate::prometheus::{self, Health, NodeFigures};
use crate::store::{self, metric_series};
use crate::web::{internal, json_error};

/// A range the API offers: its name, its length and the width of its points (0: every sample).
const RANGES: &[(&str, u64, u64)] = &[
    ("1h", 3600, 0),
    ("24h", 86_400, 60),
    ("7d", 7 * 86_400, 3600),
    ("30d", 30 * 86_400, 3600),
];

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Series {
    /// `cpu`, `mem.used`, `disk.read`, …
    name: String,
    /// The mount, interface or service, for the families that have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    unit: &'static str,
    /// One per timestamp (the average, for summaries); `null` where there is none.
    values: Vec<Option<f64>>,
    /// Summaries only: the lowest and highest of each point.
    #[serde(skip_serializing_if = "Option::is_none")]
    min: Option<Vec<Option<f64>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max: Option<Vec<Option<f64>>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    node_id: String,
    range: &'static str,
    /// Seconds between points: the agent's sampling interval for `1h` (10), 60 or 3600.
    resolution: u64,
    from: u64,
    to: u64,
    timestamps: Vec<u64>,
    series: Vec<Series>,
}

fn range_of(query: Option<&str>) -> Option<(&'static str, u64, u64)> {
    let wanted = query?.split('&').find_map(|kv| kv.strip_prefix("range="))?;
    RANGES.iter().copied().find(|(name, _, _)| *name == wanted)
}

/// `GET /api/nodes/{id}/metrics?range=1h|24h|7d|30d`.
pub async fn node_metrics(app: &Arc<App>, req: Request) -> Response {
    let Some(node_id) = req.params.first().cloned() else {
        return json_error(StatusCode::NOT_FOUND, "there is nothing at this address");
    };
    let Some((range, span, width)) = range_of(req.query.as_deref()) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "say which range to show: range=1h, 24h, 7d or 30d",
        );
    };
    let to = cairn_protocol::unix_now();
    let from = to.saturating_sub(span);
    let id = node_id.clone();
    let read = store::blocking(&app.store, move |s| {
        if s.node(&id)?.is_none() {
            return Ok(None);
        }
        let points: Vec<(u64, BTreeMap<String, [f64; 3]>)> = if width == 0 {
            // The sample before the range gives the first point's rates.
            let raw = s.metric_samples(
                &id,
                from.saturating_sub(metric_series::MAX_RATE_GAP_SECS),
                to + 1,
            )?;
            metric_series::points(&raw)
                .into_iter()
                .filter(|(t, _)| *t >= from)
                .map(|(t, v)| (t, v.into_iter().map(|(k, x)| (k, [x, x, x])).collect()))
                .collect()
        } else {
            s.metric_summaries(&id, width, from - from % width, to + 1)?
        };
        Ok(Some(points))
    })
    .await;
    let points = match read {
        Ok(Some(p)) => p,
        Ok(None) => {
            return json_error(
                StatusCode::NOT_FOUND,
                &format!("there is no node {node_id}; it may have been removed"),
            );
        }
        Err(e) => return internal(e),
    };
    let resolution = if width == 0 {
        interval_of(&points)
    } else {
        width
    };
    warp::reply::json(&answer(
        node_id,
        range,
        resolution,
        from,
        to,
        points,
        width > 0,
    ))
    .into_response()
}

/// The most common gap between consecutive points (the agent's interval), 10 when unknown.
fn interval_of(points: &[(u64, BTreeMap<String, [f64; 3]>)]) -> u64 {
    let mut gaps: BTreeMap<u64, usize> = BTreeMap::new();
    for w in points.windows(2) {
        *gaps.entry(w[1].0 - w[0].0).or_default() += 1;
    }
    gaps.into_iter()
        .max_by_key(|(_, n)| *n)
        .map_or(10, |(g, _)| g)
}

fn answer(
    node_id: String,
    range: &'static str,
    resolution: u64,
    from: u64,
    to: u64,
    points: Vec<(u64, BTreeMap<String, [f64; 3]>)>,
    summarised: bool,
) -> Answer {
    let timestamps: Vec<u64> = points.iter().map(|(t, _)| *t).collect();
    let mut by_name: BTreeMap<String, Vec<Option<[f64; 3]>>> = BTreeMap::new();
    for (i, (_, values)) in points.iter().enumerate() {
        for (name, v) in values {
            by_name
                .entry(name.clone())
                .or_insert_with(|| vec![None; points.len()])[i] = Some(*v);
        }
    }
    let series = by_name
        .into_iter()
        .map(|(key, vals)| {
            let (name, label) = match key.split_once(':') {
                Some((f, l)) => (f.to_owned(), Some(l.to_owned())),
                None => (key.clone(), None),
            };
            let pick = |i: usize| vals.iter().map(|v| v.map(|v| v[i])).collect::<Vec<_>>();
            Series {
                unit: metric_series::unit(&key),
                name,
                label,
                values: pick(1),
                min: summarised.then(|| pick(0)),
                max: summarised.then(|| pick(2)),
            }
        })
        .collect();
    Answer {
        node_id,
        range,
        resolution,
        from,
        to,
        timestamps,
        series,
    }
}

/// `GET /metrics`: Prometheus's text format, for the bearer token only.
pub async fn prometheus(app: &Arc<App>, req: &Request) -> Response {
    let Some(token) = &app.config.metrics_token else {
        return json_error(
            StatusCode::NOT_FOUND,
            "Prometheus metrics are off: start the control plane with --metrics-token-file",
        );
    };
    let offered = req
        .headers
        .get(warp::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !token.matches(offered.trim()) {
        let mut r = json_error(
            StatusCode::UNAUTHORIZED,
            "send the metrics token as “Authorization: Bearer TOKEN”",
        );
        r.headers_mut().insert(
            warp::http::header::WWW_AUTHENTICATE,
            warp::http::HeaderValue::from_static("Bearer"),
        );
        return r;
    }
    let read = store::blocking(&app.store, |s| {
        let running = s
            .jobs(None)?
            .iter()
            .filter(|j| j.status == JobStatus::Running)
            .count();
        Ok((s.nodes()?, s.latest_metrics()?, running))
    })
    .await;
    let (nodes, latest, jobs_running) = match read {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let mut latest: BTreeMap<String, _> = latest.into_iter().collect();
    let figures: Vec<NodeFigures> = nodes
        .into_iter()
        .map(|n| NodeFigures {
            online: app.hub.is_online(&n.id),
            latest: latest.remove(&n.id),
            last_seen: n.last_seen,
            id: n.id,
            name: n.name,
        })
        .collect();
    let hub = app.hub.health();
    let (alert_backlog, alert_coalesced) = app.alerts.backlog();
    let health = Health {
        agents: hub.agents,
        dashboards: hub.dashboards,
        jobs_running,
        agent_queue: hub.agent_queue,
        dashboard_queue: hub.dashboard_queue,
        dashboard_queue_bytes: hub.dashboard_queue_bytes,
        login_refusals: app.refusals.total(),
        alert_backlog,
        alert_coalesced,
    };
    warp::reply::with_header(
        prometheus::render(&figures, &health),
        "content-type",
        "text/plain; version=0.0.4; charset=utf-8",
    )
    .into_response()
}
