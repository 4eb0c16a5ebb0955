//! Passwords set by their users (issue 20):
//!
//! - `POST /api/invites/accept` (public): an invitation's or reset's secret and a new password;
//!   throttled per address like sign-ins (`auth::throttle`), the secret checked before any
//!   password is hashed; the user made (or the password set) and the link consumed in one
//!   transaction.
//! - `PUT /api/me/password`: the current password and a new one; the user's other sessions end,
//!   this one is replaced by a new session.

use serde::Deserialize;
use serde_json::json;
use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

use super::Request;
use super::users::{bad, check_password, hash};
use crate::app::App;
use crate::auth::throttle::now_ms;
use crate::auth::{self, AddressKey, Refusal};
use crate::store::{self, StoreError};
use crate::web::{Session, internal, json_error};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AcceptBody {
    token: String,
    password: String,
}

/// `POST /api/invites/accept` (public).
pub(super) async fn accept(app: &App, req: Request) -> Response {
    let Ok(body) = serde_json::from_slice::<AcceptBody>(&req.body) else {
        return bad("send {\"token\": \"…\", \"password\": \"…\"} as JSON");
    };
    if let Err(why) = check_password(&body.password) {
        return bad(&why);
    }
    let ip = req.ip();
    let addr = AddressKey::of(ip);
    // Counted per address like a sign-in (the "account" is the link itself, so guessing many
    // links from many addresses is held by each address's own record).
    let token_hash = auth::hash_invite_token(&body.token);
    let account = format!("invite:{}", &token_hash[..16]);
    if let Err(r) = app.throttle.reserve(&account, addr, false, now_ms()) {
        let secs = match r {
            Refusal::Address(s) | Refusal::Account(s) => s,
        };
        let mut reply = json_error(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("too many invalid links from your address; try again in {secs} seconds"),
        );
        reply
            .headers_mut()
            .insert(warp::http::header::RETRY_AFTER, secs.max(1).into());
        return reply;
    }
    let now = cairn_protocol::unix_now();
    let lookup = token_hash.clone();
    let valid = match store::blocking(&app.store, move |st| st.invite(&lookup, now)).await {
        Ok(v) => v.is_some(),
        Err(e) => return internal(e),
    };
    let invalid = "this link is not valid: it was used already, it expired or it was replaced by \
                   a newer one; ask the owner for a new link";
    if !valid {
        return json_error(StatusCode::NOT_FOUND, invalid);
    }
    let password_hash = match hash(app, body.password).await {
        Ok(h) => h,
        Err(r) => return r,
    };
    let accepted = store::blocking(&app.store, move |st| {
        st.accept_invite(&token_hash, &password_hash, now)
    })
    .await;
    match accepted {
        Ok(username) => {
            app.throttle.succeeded(&account, addr, false);
            app.audit(&username, "user.accept", &ip.to_string(), "ok")
                .await;
            warp::reply::json(&json!({"username": username})).into_response()
        }
        Err(StoreError::Refused(why)) => json_error(StatusCode::CONFLICT, &why),
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PasswordBody {
    current: String,
    new: String,
}

/// `PUT /api/me/password`.
pub(super) async fn change_own_password(app: &App, s: Session, req: Request) -> Response {
    let Ok(body) = serde_json::from_slice::<PasswordBody>(&req.body) else {
        return bad("send {\"current\": \"…\", \"new\": \"…\"} as JSON");
    };
    if let Err(why) = check_password(&body.new) {
        return bad(&why);
    }
    let ip = req.ip();
    let addr = AddressKey::of(ip);
    // A stolen session must not try current passwords without limit: counted like sign-ins.
    if let Err(r) = app.throttle.reserve(&s.username, addr, true, now_ms()) {
        let secs = match r {
            Refusal::Address(s) | Refusal::Account(s) => s,
        };
        return json_error(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("too many wrong passwords; try again in {secs} seconds"),
        );
    }
    let lookup = s.username.clone();
    let stored = match store::blocking(&app.store, move |st| st.user(&lookup)).await {
        Ok(Some(u)) => u.password_hash,
        Ok(None) => return json_error(StatusCode::UNAUTHORIZED, "sign in first"),
        Err(e) => return internal(e),
    };
    let current = body.current;
    let matches = tokio::task::spawn_blocking(move || auth::verify_password(&current, &stored))
        .await
        .unwrap_or(false);
    if !matches {
        app.audit(
            &s.who(),
            "user.password",
            &s.username,
            "refused: wrong current password",
        )
        .await;
        return json_error(
            StatusCode::FORBIDDEN,
            "the current password is wrong; nothing was changed",
        );
    }
    app.throttle.succeeded(&s.username, addr, true);
    let new_hash = match hash(app, body.new).await {
        Ok(h) => h,
        Err(r) => return r,
    };
    let id = match auth::new_session_id() {
        Ok(id) => id,
        Err(e) => return internal(e),
    };
    let id_hash = auth::hash_session_id(&id);
    let (who, now) = (s.username.clone(), cairn_protocol::unix_now());
    // Every session ends with the change; this browser gets a new one at once.
    if let Err(e) = store::blocking(&app.store, move |st| {
        st.set_user_password(&who, &new_hash, now)?;
        st.create_session(&id_hash, &who, now, now + auth::SESSION_TTL_SECS)
    })
    .await
    {
        return internal(e);
    }
    app.sessions_changed(&s.username);
    app.audit(&s.who(), "user.password", &s.username, "ok")
        .await;
    warp::reply::with_header(
        warp::reply::json(&json!({"ok": true})),
        "set-cookie",
        auth::session_cookie(&id, app.https()),
    )
    .into_response()
}
