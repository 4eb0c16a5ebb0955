//! `POST /api/login` and `POST /api/logout` (threats.md 25 and 32).
//!
//! A sign-in attempt goes through, in order: the throttle's gate (a locked address or account
//! is refused at once, unchecked), a turn among the few concurrent password checks (a short
//! wait, else 429 busy), the throttle's reservation (checked and counted as a failure in one
//! step, so concurrency cannot exceed the allowance), then the argon2 check. Refusals are tallied
//! into the audit log (`auth::refusals`); successes are audit entries of their own, and make the
//! address known to the account (`auth::known`). A user with two-factor gets a half-signed-in
//! token instead of a session, for `super::two_factor`.

use std::net::IpAddr;

use serde::Deserialize;
use serde_json::json;
use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

use super::Request;
use super::session_start::{signed_in, user_agent};
use crate::app::App;
use crate::auth::refusals::Reason;
use crate::auth::throttle::now_ms;
use crate::auth::{self, AddressKey, Refusal};
use crate::store;
use crate::web::{Session, internal, json_error};

/// Longest username looked at; the rest is ignored.
const MAX_USERNAME_CHARS: usize = 64;

#[derive(Deserialize)]
struct LoginBody {
    username: String,
    password: String,
}

fn too_many(retry_after: u64, message: &str) -> Response {
    let mut r = json_error(StatusCode::TOO_MANY_REQUESTS, message);
    r.headers_mut()
        .insert(warp::http::header::RETRY_AFTER, retry_after.max(1).into());
    r
}

fn refused(app: &App, account: &str, ip: IpAddr, refusal: Refusal) -> Response {
    let now = cairn_protocol::unix_now();
    match refusal {
        Refusal::Address(secs) => {
            app.refusals.record(account, ip, Reason::AddressLocked, now);
            too_many(
                secs,
                &format!("too many failed sign-ins from your address; try again in {secs} seconds"),
            )
        }
        Refusal::Account(secs) => {
            app.refusals.record(account, ip, Reason::AccountLocked, now);
            too_many(
                secs,
                &format!(
                    "too many failed sign-ins for this account from other addresses; try again \
                     in {secs} seconds, or sign in from an address you have signed in from before"
                ),
            )
        }
    }
}

pub async fn login(app: &App, req: Request) -> Response {
    let Ok(body) = serde_json::from_slice::<LoginBody>(&req.body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "send {\"username\": \"…\", \"password\": \"…\"} as JSON",
        );
    };
    let ip = req.ip();
    let addr = AddressKey::of(ip);
    let account: String = body.username.chars().take(MAX_USERNAME_CHARS).collect();
    let known = app
        .known
        .is_known(&account, addr, cairn_protocol::unix_now());
    // Refused early, without queueing for a check.
    if let Err(r) = app.throttle.check(&account, addr, known, now_ms()) {
        return refused(app, &account, ip, r);
    }
    let Ok(turn) = app.verifier.turn(known).await else {
        app.refusals
            .record(&account, ip, Reason::Busy, cairn_protocol::unix_now());
        return too_many(
            1,
            "the control plane is checking too many sign-ins at once; try again in a moment",
        );
    };
    // Counted before the check: at most the allowance of concurrent attempts gets past here.
    if let Err(r) = app.throttle.reserve(&account, addr, known, now_ms()) {
        return refused(app, &account, ip, r);
    }
    let lookup = account.clone();
    let user = match store::blocking(&app.store, move |s| s.user(&lookup)).await {
        Ok(u) => u,
        Err(e) => return internal(e),
    };
    let disabled = user.as_ref().is_some_and(|u| u.disabled);
    let role = user.as_ref().map(|u| u.access.role);
    // An unknown user is checked against a stand-in hash: the same time and memory.
    if !turn
        .check(body.password, user.map(|u| u.password_hash))
        .await
    {
        app.refusals.record(
            &account,
            ip,
            Reason::WrongPassword,
            cairn_protocol::unix_now(),
        );
        return json_error(StatusCode::UNAUTHORIZED, "wrong username or password");
    }
    app.throttle.succeeded(&account, addr, known);
    // Told only to whoever knows the password: a disabled account is not revealed otherwise.
    if disabled {
        app.audit(
            &account,
            "login",
            &ip.to_string(),
            "refused: the account is disabled",
        )
        .await;
        return json_error(
            StatusCode::FORBIDDEN,
            "this account is disabled; ask the owner of this control plane to enable it",
        );
    }
    // A code (or enrolment) comes first for a user with two-factor (or who must have it).
    if let Some(role) = role
        && let Some(reply) = super::two_factor::after_password(app, &account, role).await
    {
        return reply;
    }
    let agent = user_agent(&req);
    signed_in(app, &account, addr, ip, &agent, serde_json::Value::Null).await
}

pub async fn logout(app: &App, s: Session) -> Response {
    let hash = s.id_hash.clone();
    if let Err(e) = store::blocking(&app.store, move |st| st.delete_session(&hash)).await {
        return internal(e);
    }
    app.sessions_changed(&s.username);
    app.audit(&s.who(), "logout", "", "ok").await;
    warp::reply::with_header(
        warp::reply::json(&json!({"ok": true})),
        "set-cookie",
        auth::clear_cookie(app.https()),
    )
    .into_response()
}
