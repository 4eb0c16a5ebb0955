//! A node's day 2 through the API: `PATCH /api/nodes/{id}` (rename, tags), `DELETE
//! /api/nodes/{id}` (remove: typed confirmation, key revoked, live socket closed),
//! `GET /api/enrollment-tokens` (the pending ones) and `DELETE /api/enrollment-tokens/{id}`
//! (revoke). Every change is audited; bad input changes nothing and gets a sentence.

use std::sync::Arc;

use cairn_protocol::messages::ErrorCode;
use cairn_protocol::{Message, messages::ErrorMessage};
use serde::Deserialize;
use serde_json::json;
use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

use super::Request;
use crate::app::App;
use crate::store::{self, NodeChange, TokenRevoked};
use crate::web::{Session, install_base, internal, json_error};

/// Most tags a node may carry.
pub const MAX_TAGS: usize = 10;
/// Expired tokens stay listed (as expired) this long after their expiry.
const EXPIRED_SHOWN_SECS: u64 = 7 * 24 * 3600;

fn ok_json(value: &impl serde::Serialize) -> Response {
    warp::reply::json(value).into_response()
}

fn no_node(id: &str) -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        &format!("there is no node \"{id}\" (it may have been removed)"),
    )
}

/// A node's name: trimmed, 1 to 64 characters, no control characters.
pub fn check_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    let n = name.chars().count();
    if n == 0 || n > 64 || name.chars().any(char::is_control) {
        return Err("a node name is 1 to 64 characters, without control characters".into());
    }
    Ok(name.to_owned())
}

/// A node's tags: at most [`MAX_TAGS`], each `[a-z0-9][a-z0-9-]{0,31}`; duplicates dropped.
pub fn check_tags(tags: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let t = tag.trim();
        let ok = (1..=32).contains(&t.len())
            && t.bytes()
                .enumerate()
                .all(|(i, b)| b.is_ascii_lowercase() || b.is_ascii_digit() || (i > 0 && b == b'-'));
        if !ok {
            return Err(format!(
                "the tag \"{t}\" is not valid: a tag is 1 to 32 lowercase letters, digits or dashes, not starting with a dash"
            ));
        }
        if !out.iter().any(|o| o == t) {
            out.push(t.to_owned());
        }
    }
    if out.len() > MAX_TAGS {
        return Err(format!("a node has at most {MAX_TAGS} tags"));
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    name: Option<String>,
    tags: Option<Vec<String>>,
}

pub(super) async fn change(app: &App, s: Session, req: Request) -> Response {
    let id = req.params.first().cloned().unwrap_or_default();
    let Ok(body) = serde_json::from_slice::<ChangeBody>(&req.body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "send {\"name\": \"web-1\"} and/or {\"tags\": [\"web\"]} as JSON",
        );
    };
    let checked = (|| {
        Ok::<_, String>(NodeChange {
            name: body.name.as_deref().map(check_name).transpose()?,
            tags: body.tags.as_deref().map(check_tags).transpose()?,
        })
    })();
    let change = match checked {
        Ok(c) if c.name.is_none() && c.tags.is_none() => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "nothing to change: send a name, tags or both",
            );
        }
        Ok(c) => c,
        Err(why) => return json_error(StatusCode::BAD_REQUEST, &why),
    };
    let mut what = Vec::new();
    if let Some(n) = &change.name {
        what.push(format!("name \"{n}\""));
    }
    if let Some(t) = &change.tags {
        what.push(format!("tags [{}]", t.join(", ")));
    }
    let (lookup, c) = (id.clone(), change);
    match store::blocking(&app.store, move |st| {
        Ok(if st.change_node(&lookup, &c)? {
            st.node(&lookup)?
        } else {
            None
        })
    })
    .await
    {
        Ok(Some(node)) => {
            app.audit(
                &s.who(),
                "node.change",
                &id,
                &format!("ok: {}", what.join(", ")),
            )
            .await;
            ok_json(&json!({"id": node.id, "name": node.name, "tags": node.tags}))
        }
        Ok(None) => no_node(&id),
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
struct RemoveBody {
    confirm: String,
}

pub(super) async fn remove(app: &App, s: Session, req: Request) -> Response {
    let id = req.params.first().cloned().unwrap_or_default();
    let Ok(body) = serde_json::from_slice::<RemoveBody>(&req.body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "send {\"confirm\": \"NODE NAME\"} as JSON: removing a node needs its name typed",
        );
    };
    let lookup = id.clone();
    let node = match store::blocking(&app.store, move |st| st.node(&lookup)).await {
        Ok(Some(n)) if n.removed_at.is_none() => n,
        Ok(_) => return no_node(&id),
        Err(e) => return internal(e),
    };
    if body.confirm.trim() != node.name {
        return json_error(
            StatusCode::BAD_REQUEST,
            &format!(
                "the confirmation does not match: type the node's name \"{}\" to remove it",
                node.name
            ),
        );
    }
    let (rid, by, now) = (id.clone(), s.who(), cairn_protocol::unix_now());
    match store::blocking(&app.store, move |st| st.remove_node(&rid, &by, now)).await {
        Ok(true) => {}
        Ok(false) => return no_node(&id),
        Err(e) => return internal(e),
    }
    // Revoked in the store first: a reconnect is refused; then the live socket is told and closed.
    let was_online = app.hub.is_online(&id);
    app.hub.remove_agent(
        &id,
        Message::Error(ErrorMessage {
            code: ErrorCode::NodeRemoved,
            message: crate::ws_agent::removed_sentence(&id, Some(&s.username)),
            frame_id: None,
            job_id: None,
        }),
    );
    app.alerts.forget(&id);
    app.audit(
        &s.who(),
        "node.remove",
        &id,
        &format!("ok: \"{}\" removed, key {} revoked", node.name, node.key_id),
    )
    .await;
    let base = install_base(app, &req.headers);
    ok_json(&json!({
        "id": id,
        "name": node.name,
        "wasOnline": was_online,
        "uninstallCommand": format!("curl -fsSL {base}/install.sh | sudo bash -s -- --uninstall"),
    }))
}

pub(super) async fn tokens(app: &Arc<App>) -> Response {
    let now = cairn_protocol::unix_now();
    let since = now.saturating_sub(EXPIRED_SHOWN_SECS);
    match store::blocking(&app.store, move |st| st.pending_tokens(since)).await {
        Ok(list) => {
            let list: Vec<_> = list
                .into_iter()
                .map(|t| {
                    let expired = t.expires_at <= now;
                    let mut v = serde_json::to_value(&t).unwrap_or_default();
                    v["expired"] = json!(expired);
                    v
                })
                .collect();
            ok_json(&list)
        }
        Err(e) => internal(e),
    }
}

pub(super) async fn revoke_token(app: &App, s: Session, req: Request) -> Response {
    let id = req.params.first().cloned().unwrap_or_default();
    let (rid, by, now) = (id.clone(), s.who(), cairn_protocol::unix_now());
    let outcome = match store::blocking(&app.store, move |st| st.revoke_token(&rid, &by, now)).await
    {
        Ok(o) => o,
        Err(e) => return internal(e),
    };
    match outcome {
        TokenRevoked::Revoked => {
            app.audit(&s.who(), "enrollment-token.revoke", &id, "ok")
                .await;
            ok_json(&json!({"id": id, "revoked": true}))
        }
        TokenRevoked::Already => ok_json(&json!({"id": id, "revoked": true})),
        TokenRevoked::Used => json_error(
            StatusCode::CONFLICT,
            &format!(
                "the token for {id} was already used to enroll that node; remove the node instead"
            ),
        ),
        TokenRevoked::Unknown => json_error(
            StatusCode::NOT_FOUND,
            &format!("there is no enrollment token for \"{id}\""),
        ),
    }
}
