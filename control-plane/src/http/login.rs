//! `POST /api/login` and `POST /api/logout` (threats.md 25 and 32).
//!
//! A sign-in attempt goes through, in order: the throttle's gate (a locked address or account
//! is refused at once, unchecked), a turn among the few concurrent password checks (a short
//! wait, else 429 busy), the throttle's reservation (checked and counted as a failure in one
//! step, so concurrency cannot exceed the allowance), then the argon2 check. Refusals are tallied
//! into the audit log (`auth::refusals`); successes are audit entries of their own, and make the
//! address known to the account (`auth::known`). A user with two-factor gets a half-signed-in
//! token instead of a session, for `super::two_factor`.

use std::net::{IpAddr, Ipv4Addr};

use serde::Deserialize;
use serde_json::json;
use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

use super::Request;
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
    let ip = req
        .peer
        .map(|p| p.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
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

/// The request's User-Agent (for the session list), empty when none.
pub(super) fn user_agent(req: &Request) -> String {
    req.headers
        .get(warp::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A new session for `account` (its cookie in the answer); `recovery_codes` (when not null) are
/// shown once with it, after an enrolment at sign-in.
pub(super) async fn signed_in(
    app: &App,
    account: &str,
    addr: AddressKey,
    ip: IpAddr,
    user_agent: &str,
    recovery_codes: serde_json::Value,
) -> Response {
    let now = cairn_protocol::unix_now();
    app.known.remember(account, addr, now);
    let id = match auth::new_session_id() {
        Ok(id) => id,
        Err(e) => return internal(e),
    };
    let id_hash = auth::hash_session_id(&id);
    let (who, address, agent) = (account.to_owned(), addr.to_string(), user_agent.to_owned());
    let shown_address = ip.to_string();
    if let Err(e) = store::blocking(&app.store, move |s| {
        s.remember_login_address(&who, &address, now)?;
        s.create_session(&id_hash, &who, now, now + auth::SESSION_TTL_SECS)?;
        s.set_session_client(&id_hash, &agent, &shown_address, now)
    })
    .await
    {
        return internal(e);
    }
    app.audit(account, "login", &ip.to_string(), "ok").await;
    warp::reply::with_header(
        warp::reply::json(&if recovery_codes.is_null() {
            json!({ "username": account })
        } else {
            json!({ "username": account, "recoveryCodes": recovery_codes })
        }),
        "set-cookie",
        auth::session_cookie(&id, app.https()),
    )
    .into_response()
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
