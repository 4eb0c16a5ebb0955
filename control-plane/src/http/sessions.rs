//! A user's sessions (issue 20): `GET /api/me/sessions` lists them (device from the
//! User-Agent, address, created, last use, the current one marked), `DELETE
//! /api/me/sessions/{id}` ends one, and the owner's `DELETE /api/users/{id}/sessions` ends every
//! session of a user. An ended session's sockets are told at once (`App::sessions_changed`).
//!
//! A session is listed by the first 16 hex digits of its stored hash: neither the cookie nor
//! anything that opens a session.

use serde_json::json;
use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

use super::Request;
use crate::app::App;
use crate::store;
use crate::web::{Session, internal, json_error};

/// Digits of a session's hash that name it in the API.
const ID_DIGITS: usize = 16;

/// "Firefox on Linux" from a User-Agent; the raw text's start when nothing is recognised.
pub fn device(user_agent: &str) -> String {
    let ua = user_agent;
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chromium/", "Chromium"),
        ("HeadlessChrome/", "Headless Chrome"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .iter()
    .find(|(k, _)| ua.contains(k))
    .map(|(_, n)| *n);
    let os = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(k, _)| ua.contains(k))
    .map(|(_, n)| *n);
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(o)) => format!("a browser on {o}"),
        (None, None) if ua.is_empty() => "unknown device".to_owned(),
        (None, None) => ua.chars().take(60).collect(),
    }
}

/// `GET /api/me/sessions`.
pub(super) async fn list(app: &App, s: Session) -> Response {
    let (who, now) = (s.username.clone(), cairn_protocol::unix_now());
    let rows = match store::blocking(&app.store, move |st| st.user_sessions(&who, now)).await {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let list: Vec<_> = rows
        .iter()
        .map(|r| {
            json!({
                "id": &r.id_hash[..ID_DIGITS.min(r.id_hash.len())],
                "device": device(&r.user_agent),
                "userAgent": r.user_agent,
                "address": r.address,
                "createdAt": r.created_at,
                "lastUsed": r.last_used.max(r.created_at),
                "current": r.id_hash == s.id_hash,
            })
        })
        .collect();
    warp::reply::json(&list).into_response()
}

/// `DELETE /api/me/sessions/{id}`.
pub(super) async fn revoke(app: &App, s: Session, req: Request) -> Response {
    let id = req.params.first().cloned().unwrap_or_default();
    let who = s.username.clone();
    let lookup = id.clone();
    match store::blocking(&app.store, move |st| st.end_user_session(&who, &lookup)).await {
        Ok(true) => {
            app.sessions_changed(&s.username);
            app.audit(&s.username, "session.revoke", &id, "ok").await;
            warp::reply::json(&json!({"ok": true})).into_response()
        }
        Ok(false) => json_error(
            StatusCode::NOT_FOUND,
            "there is no such session of yours (it ended already?); reload the list",
        ),
        Err(e) => internal(e),
    }
}

/// `DELETE /api/users/{id}/sessions` (owner).
pub(super) async fn end_all(app: &App, s: Session, req: Request) -> Response {
    let user = req.params.first().cloned().unwrap_or_default();
    let lookup = user.clone();
    let exists = match store::blocking(&app.store, move |st| st.user(&lookup)).await {
        Ok(u) => u.is_some(),
        Err(e) => return internal(e),
    };
    if !exists {
        return json_error(
            StatusCode::NOT_FOUND,
            "there is no such user; reload the list",
        );
    }
    let who = user.clone();
    match store::blocking(&app.store, move |st| st.end_user_sessions(&who)).await {
        Ok(n) => {
            app.sessions_changed(&user);
            app.audit(
                &s.username,
                "user.sessions.end",
                &user,
                &format!("ok: {n} ended"),
            )
            .await;
            warp::reply::json(&json!({"ended": n})).into_response()
        }
        Err(e) => internal(e),
    }
}

#[cfg(test)]
mod tests {
    use super::device;

    #[test]
    fn devices_are_named_from_the_user_agent() {
        assert_eq!(
            device("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
            "Firefox on Linux"
        );
        assert_eq!(
            device("Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/120 Safari/537.36"),
            "Chrome on Windows"
        );
        assert_eq!(device(""), "unknown device");
    }
}
