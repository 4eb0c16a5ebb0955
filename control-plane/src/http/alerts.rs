//! The alerts through the API: `GET /api/alerts` (firing and past, by node and state),
//! `GET /api/alert-rules` (rules, nodes' overrides, mutes), `PUT /api/alert-rules/{id}`,
//! `PUT /api/alert-rules/{id}/nodes/{node}` (a node's override), `POST /api/alert-mutes` and
//! `DELETE /api/alert-mutes/{id}`. Every change is audited and makes the engine read the rules
//! again; bad input changes nothing and gets a sentence. The channels are in `alert_channels.rs`.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;
use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

use super::Request;
use crate::alerts::db::Db;
use crate::alerts::rules::{Mute, Override, RuleConfig, RuleId};
use crate::app::App;
use crate::store;
use crate::web::{Session, internal, json_error};

pub(super) fn ok_json(value: &impl serde::Serialize) -> Response {
    warp::reply::json(value).into_response()
}

/// Runs `f` against the alerts' tables on the blocking pool.
pub(super) async fn db<T: Send + 'static>(
    app: &App,
    f: impl FnOnce(&Db) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let d = Arc::clone(&app.alerts.db);
    tokio::task::spawn_blocking(move || f(&d)).await?
}

fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query.as_deref()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_owned())
    })
}

/// The rule named in the path, or the sentence saying there is none.
fn rule_param(req: &Request) -> Result<RuleId, String> {
    let name = req.params.first().cloned().unwrap_or_default();
    RuleId::parse(&name).ok_or_else(|| {
        format!("there is no alert rule \"{name}\": the rules are offline, disk, memory, load, service, backup and drill")
    })
}

pub(super) async fn list(app: &App, req: Request) -> Response {
    let node = query_param(&req, "node");
    let state = query_param(&req, "state");
    if let Some(s) = &state
        && !matches!(s.as_str(), "firing" | "resolved" | "closed")
    {
        return json_error(
            StatusCode::BAD_REQUEST,
            "state is firing, resolved or closed",
        );
    }
    let rows = match db(app, move |d| d.alerts(node.as_deref(), state.as_deref())).await {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let names = store::blocking(&app.store, |s| s.nodes())
        .await
        .unwrap_or_default();
    let set = crate::alerts::read(&app.alerts.rules);
    let now = cairn_protocol::unix_now();
    let out: Vec<_> = rows
        .into_iter()
        .filter(|a| req.reach.has(&a.node_id))
        .map(|a| {
            let mut v = serde_json::to_value(&a).unwrap_or_default();
            v["nodeName"] = names
                .iter()
                .find(|n| n.id == a.node_id)
                .map_or_else(|| a.node_id.clone(), |n| n.name.clone())
                .into();
            v["muted"] = set.muted(a.rule, &a.node_id, now).into();
            v
        })
        .collect();
    ok_json(&out)
}

pub(super) async fn rules(app: &App) -> Response {
    let set = crate::alerts::read(&app.alerts.rules);
    let now = cairn_protocol::unix_now();
    let rules: Vec<_> = RuleId::ALL
        .iter()
        .map(|id| {
            let r = set.rule(*id);
            json!({"id": id, "enabled": r.enabled, "threshold": r.threshold,
                   "durationSecs": r.duration_secs, "hasThreshold": id.has_threshold()})
        })
        .collect();
    let mutes: Vec<_> = set.mutes.iter().filter(|m| m.until > now).collect();
    ok_json(&json!({"rules": rules, "overrides": set.overrides, "mutes": mutes}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RuleBody {
    enabled: Option<bool>,
    threshold: Option<f64>,
    duration_secs: Option<u64>,
}

fn check_threshold(id: RuleId, t: f64) -> Result<f64, String> {
    let (lo, hi) = id.threshold_range();
    if !id.has_threshold() {
        return Err(format!("the {} rule has no threshold", id.name()));
    }
    if !t.is_finite() || t < lo || t > hi {
        return Err(format!(
            "the {} rule's threshold is from {lo} to {hi}",
            id.name()
        ));
    }
    Ok(t)
}

pub(super) async fn change_rule(app: &App, s: Session, req: Request) -> Response {
    let id = match rule_param(&req) {
        Ok(id) => id,
        Err(why) => return json_error(StatusCode::NOT_FOUND, &why),
    };
    let Ok(body) = serde_json::from_slice::<RuleBody>(&req.body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "send {\"enabled\": true, \"threshold\": 90, \"durationSecs\": 300} (any of them) as JSON",
        );
    };
    let mut rule: RuleConfig = crate::alerts::read(&app.alerts.rules).rule(id);
    if let Some(e) = body.enabled {
        rule.enabled = e;
    }
    if let Some(t) = body.threshold {
        match check_threshold(id, t) {
            Ok(t) => rule.threshold = t,
            Err(why) => return json_error(StatusCode::BAD_REQUEST, &why),
        }
    }
    if let Some(d) = body.duration_secs {
        if d > 7 * 86_400 {
            return json_error(
                StatusCode::BAD_REQUEST,
                "a rule's duration is at most 7 days (604800 s)",
            );
        }
        rule.duration_secs = d;
    }
    if let Err(e) = db(app, move |d| d.set_rule(&rule)).await {
        return internal(e);
    }
    app.alerts.reload();
    let what = format!(
        "ok: {}, threshold {}, for {} s",
        if rule.enabled { "enabled" } else { "disabled" },
        rule.threshold,
        rule.duration_secs
    );
    app.audit(&s.who(), "alert.rule", id.name(), &what).await;
    ok_json(
        &json!({"id": id, "enabled": rule.enabled, "threshold": rule.threshold,
                    "durationSecs": rule.duration_secs, "hasThreshold": id.has_threshold()}),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideBody {
    enabled: Option<bool>,
    threshold: Option<f64>,
}

pub(super) async fn change_override(app: &App, s: Session, req: Request) -> Response {
    let id = match rule_param(&req) {
        Ok(id) => id,
        Err(why) => return json_error(StatusCode::NOT_FOUND, &why),
    };
    let node_id = req.params.get(1).cloned().unwrap_or_default();
    let Ok(body) = serde_json::from_slice::<OverrideBody>(&req.body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "send {\"enabled\": false} and/or {\"threshold\": 95} as JSON (null: as the rule says)",
        );
    };
    let threshold = match body.threshold.map(|t| check_threshold(id, t)).transpose() {
        Ok(t) => t,
        Err(why) => return json_error(StatusCode::BAD_REQUEST, &why),
    };
    let lookup = node_id.clone();
    match store::blocking(&app.store, move |st| st.node(&lookup)).await {
        Ok(Some(n)) if n.removed_at.is_none() => {}
        Ok(_) => {
            return json_error(
                StatusCode::NOT_FOUND,
                &format!("there is no node \"{node_id}\" (it may have been removed)"),
            );
        }
        Err(e) => return internal(e),
    }
    let o = Override {
        rule: id,
        node_id: node_id.clone(),
        enabled: body.enabled,
        threshold,
    };
    let saved = o.clone();
    if let Err(e) = db(app, move |d| d.set_override(&saved)).await {
        return internal(e);
    }
    app.alerts.reload();
    let what = format!("ok: enabled {:?}, threshold {:?}", o.enabled, o.threshold);
    app.audit(
        &s.who(),
        "alert.override",
        &format!("{}/{node_id}", id.name()),
        &what,
    )
    .await;
    ok_json(&o)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MuteBody {
    rule: String,
    node_id: Option<String>,
    minutes: u64,
}

pub(super) async fn mute(app: &App, s: Session, req: Request) -> Response {
    let Ok(body) = serde_json::from_slice::<MuteBody>(&req.body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "send {\"rule\": \"disk\", \"nodeId\": \"…\" (or none: every node), \"minutes\": 60} as JSON",
        );
    };
    let Some(rule) = RuleId::parse(&body.rule) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            &format!("there is no alert rule \"{}\"", body.rule),
        );
    };
    if !(1..=43_200).contains(&body.minutes) {
        return json_error(
            StatusCode::BAD_REQUEST,
            "a mute lasts 1 minute to 30 days (43200 minutes)",
        );
    }
    let now = cairn_protocol::unix_now();
    let mut m = Mute {
        id: 0,
        rule,
        node_id: body.node_id.filter(|n| !n.is_empty()),
        until: now + body.minutes * 60,
        by: s.who(),
    };
    let saved = m.clone();
    match db(app, move |d| d.add_mute(&saved, now)).await {
        Ok(id) => m.id = id,
        Err(e) => return internal(e),
    }
    app.alerts.reload();
    let target = format!("{}/{}", rule.name(), m.node_id.as_deref().unwrap_or("*"));
    app.audit(
        &s.who(),
        "alert.mute",
        &target,
        &format!("ok: until {}", m.until),
    )
    .await;
    ok_json(&m)
}

pub(super) async fn unmute(app: &App, s: Session, req: Request) -> Response {
    let raw = req.params.first().cloned().unwrap_or_default();
    let Ok(id) = raw.parse::<i64>() else {
        return json_error(
            StatusCode::NOT_FOUND,
            &format!("there is no mute \"{raw}\""),
        );
    };
    match db(app, move |d| d.remove_mute(id)).await {
        Ok(true) => {}
        Ok(false) => {
            return json_error(
                StatusCode::NOT_FOUND,
                &format!("there is no mute {id} (it may have ended)"),
            );
        }
        Err(e) => return internal(e),
    }
    app.alerts.reload();
    app.audit(&s.who(), "alert.unmute", &id.to_string(), "ok")
        .await;
    ok_json(&json!({"id": id}))
}
