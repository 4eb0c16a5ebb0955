//! Two-factor sign-in routes (issue 20, `auth::totp`):
//!
//! - after a right password, `POST /api/login` answers `{"twoFactor": "code" | "enrol",
//!   "pending": …}` instead of a session when the user has two-factor on, or must have it (the
//!   owner requires it for owners and admins and they have none);
//! - `POST /api/login/code` (public): the pending token and a code or a recovery code → session;
//! - `POST /api/login/enrol` and `/api/login/enrol/confirm` (public): a required user enrols with
//!   the pending token, then gets their recovery codes and a session;
//! - `GET`, `POST /api/me/totp`, `POST /api/me/totp/confirm`, `POST /api/me/totp/disable`: a
//!   signed-in user's own two-factor;
//! - `PUT /api/settings/two-factor` (owner): whether owners and admins must have it; turning it
//!   on needs the owner's own two-factor and ends the sessions of owners and admins without it.
//!
//! Every code check is throttled like a password (`auth::throttle`, per account and address),
//! counted when refused into the sign-in tallies (`auth::refusals`), and a code is accepted once
//! (the store moves the user's last step forward in one conditional `UPDATE`).

use std::net::IpAddr;

use serde::Deserialize;
use serde_json::{Value, json};
use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

use super::Request;
use super::session_start::{signed_in, user_agent};
use crate::app::App;
use crate::auth::refusals::Reason;
use crate::auth::throttle::now_ms;
use crate::auth::totp::{self, Next};
use crate::auth::{AddressKey, Refusal};
use crate::roles::Role;
use crate::store;
use crate::web::{Session, internal, json_error};

/// The setting that requires two-factor of owners and admins (value `"admins"`).
pub const REQUIRE_KEY: &str = "two_factor_required";

fn client(req: &Request) -> (IpAddr, AddressKey) {
    let ip = req.ip();
    (ip, AddressKey::of(ip))
}

fn bad(message: &str) -> Response {
    json_error(StatusCode::BAD_REQUEST, message)
}

/// Whether two-factor is required of `role`.
async fn required_for(app: &App, role: Role) -> Result<bool, Response> {
    if role < Role::Admin {
        return Ok(false);
    }
    match store::blocking(&app.store, |st| st.setting(REQUIRE_KEY)).await {
        Ok(v) => Ok(v.as_deref() == Some("admins")),
        Err(e) => Err(internal(e)),
    }
}

/// After a right password: the half-signed-in answer when a code (or enrolment) comes first,
/// `None` when the password is enough.
pub(super) async fn after_password(app: &App, username: &str, role: Role) -> Option<Response> {
    let who = username.to_owned();
    let row = match store::blocking(&app.store, move |st| st.totp(&who)).await {
        Ok(r) => r,
        Err(e) => return Some(internal(e)),
    };
    let next = if row.is_some_and(|r| r.enabled) {
        Next::Code
    } else {
        match required_for(app, role).await {
            Ok(true) => Next::Enrol,
            Ok(false) => return None,
            Err(r) => return Some(r),
        }
    };
    let token = match app
        .half_signed_in
        .start(username, next, cairn_protocol::unix_now())
    {
        Ok(t) => t,
        Err(e) => return Some(internal(e)),
    };
    let word = match next {
        Next::Code => "code",
        Next::Enrol => "enrol",
    };
    Some(warp::reply::json(&json!({"twoFactor": word, "pending": token})).into_response())
}

fn wrong_code() -> Response {
    json_error(
        StatusCode::UNAUTHORIZED,
        "the code is wrong or was used already; enter the current code from your app, or one of \
         your recovery codes",
    )
}

/// Throttles one code attempt of `username` (like a sign-in), or answers 429.
async fn reserve(
    app: &App,
    username: &str,
    ip: IpAddr,
    addr: AddressKey,
) -> Result<bool, Response> {
    let known = app
        .known
        .is_known(username, addr, cairn_protocol::unix_now());
    app.throttle
        .reserve(username, addr, known, now_ms())
        .map(|()| known)
        .map_err(|r| {
            app.refusals.record(
                username,
                ip,
                match r {
                    Refusal::Address(_) => Reason::AddressLocked,
                    Refusal::Account(_) => Reason::AccountLocked,
                },
                cairn_protocol::unix_now(),
            );
            let secs = match r {
                Refusal::Address(s) | Refusal::Account(s) => s,
            };
            let mut reply = json_error(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("too many wrong codes or passwords; try again in {secs} seconds"),
            );
            reply
                .headers_mut()
                .insert(warp::http::header::RETRY_AFTER, secs.max(1).into());
            reply
        })
}

/// The step of `code` for the user's stored secret, if right (not yet marked used).
async fn step_of(
    app: &App,
    username: &str,
    code: &str,
    enabled: bool,
) -> Result<Option<u64>, Response> {
    let who = username.to_owned();
    let row = match store::blocking(&app.store, move |st| st.totp(&who)).await {
        Ok(Some(r)) if r.enabled == enabled => r,
        Ok(_) => return Ok(None),
        Err(e) => return Err(internal(e)),
    };
    let secret = match app.alerts.db.sealer().open(&row.sealed) {
        Ok(s) => s,
        Err(e) => return Err(internal(e)),
    };
    let Ok(bytes) = hex::decode(secret) else {
        return Err(internal(anyhow::anyhow!("a stored TOTP secret is not hex")));
    };
    Ok(
        totp::matching_step(&bytes, code, cairn_protocol::unix_now())
            .filter(|s| *s > row.last_step),
    )
}

/// Checks a code or a recovery code of an enrolled user, throttled; `Ok(true)` when a recovery
/// code was used.
async fn check(
    app: &App,
    username: &str,
    code: &str,
    ip: IpAddr,
    addr: AddressKey,
) -> Result<bool, Response> {
    let known = reserve(app, username, ip, addr).await?;
    let mut recovery = false;
    let ok = if code.trim().len() == 6 {
        match step_of(app, username, code, true).await? {
            Some(step) => {
                let who = username.to_owned();
                store::blocking(&app.store, move |st| st.use_totp_step(&who, step))
                    .await
                    .map_err(internal)?
            }
            None => false,
        }
    } else {
        recovery = true;
        let (who, hash) = (username.to_owned(), totp::hash_recovery_code(code));
        store::blocking(&app.store, move |st| st.use_recovery_code(&who, &hash))
            .await
            .map_err(internal)?
    };
    if !ok {
        app.refusals
            .record(username, ip, Reason::WrongCode, cairn_protocol::unix_now());
        return Err(wrong_code());
    }
    app.throttle.succeeded(username, addr, known);
    Ok(recovery)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeBody {
    pending: String,
    code: String,
}

fn pending_gone() -> Response {
    json_error(
        StatusCode::UNAUTHORIZED,
        "this sign-in expired (it lasts 5 minutes after the password); sign in again",
    )
}

/// `POST /api/login/code` (public).
pub(super) async fn login_code(app: &App, req: Request) -> Response {
    let Ok(body) = serde_json::from_slice::<CodeBody>(&req.body) else {
        return bad("send {\"pending\": \"…\", \"code\": \"123456\"} as JSON (or a recovery code)");
    };
    let (ip, addr) = client(&req);
    let Some((username, Next::Code)) = app
        .half_signed_in
        .get(&body.pending, cairn_protocol::unix_now())
    else {
        return pending_gone();
    };
    let recovery = match check(app, &username, &body.code, ip, addr).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    app.half_signed_in.end(&body.pending);
    if recovery {
        app.audit(&username, "user.totp.recovery", &ip.to_string(), "ok")
            .await;
    }
    signed_in(app, &username, addr, ip, &user_agent(&req), Value::Null).await
}

/// A new secret for `username`, stored sealed and unconfirmed; the answer shows it once.
async fn start(app: &App, username: &str) -> Response {
    let secret = match totp::new_secret() {
        Ok(s) => s,
        Err(e) => return internal(e),
    };
    let (shown, sealed) = match (
        totp::enrolment(&secret, username),
        app.alerts.db.sealer().seal(&hex::encode(&secret)),
    ) {
        (Ok(shown), Ok(sealed)) => (shown, sealed),
        (Err(e), _) | (_, Err(e)) => return internal(e),
    };
    let who = username.to_owned();
    match store::blocking(&app.store, move |st| st.start_totp(&who, &sealed)).await {
        Ok(true) => warp::reply::json(&json!({
            "secret": shown.secret,
            "url": shown.url,
            "qr": shown.qr,
        }))
        .into_response(),
        Ok(false) => json_error(
            StatusCode::CONFLICT,
            "two-factor sign-in is on already; turn it off first to enrol a new app",
        ),
        Err(e) => internal(e),
    }
}

/// Confirms an enrolment with a current code; the recovery codes (shown once).
async fn confirm(
    app: &App,
    username: &str,
    code: &str,
    ip: IpAddr,
    addr: AddressKey,
) -> Result<Vec<String>, Response> {
    let known = reserve(app, username, ip, addr).await?;
    let (codes, hashes) = totp::new_recovery_codes().map_err(internal)?;
    let enabled = match step_of(app, username, code, false).await? {
        Some(step) => {
            let who = username.to_owned();
            store::blocking(&app.store, move |st| st.enable_totp(&who, step, &hashes))
                .await
                .map_err(internal)?
        }
        None => false,
    };
    if !enabled {
        app.refusals
            .record(username, ip, Reason::WrongCode, cairn_protocol::unix_now());
        return Err(json_error(
            StatusCode::UNAUTHORIZED,
            "the code is wrong; enter the code your app shows now for the secret above (or \
             start again)",
        ));
    }
    app.throttle.succeeded(username, addr, known);
    app.audit(username, "user.totp.enrol", username, "ok").await;
    Ok(codes)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PendingBody {
    pending: String,
}

fn enrolling(app: &App, pending: &str) -> Option<String> {
    match app.half_signed_in.get(pending, cairn_protocol::unix_now()) {
        Some((username, Next::Enrol)) => Some(username),
        _ => None,
    }
}

/// `POST /api/login/enrol` (public): a required user's new secret.
pub(super) async fn login_enrol(app: &App, req: Request) -> Response {
    let Ok(body) = serde_json::from_slice::<PendingBody>(&req.body) else {
        return bad("send {\"pending\": \"…\"} as JSON");
    };
    match enrolling(app, &body.pending) {
        Some(username) => start(app, &username).await,
        None => pending_gone(),
    }
}

/// `POST /api/login/enrol/confirm` (public): the code confirms; recovery codes and a session.
pub(super) async fn login_enrol_confirm(app: &App, req: Request) -> Response {
    let Ok(body) = serde_json::from_slice::<CodeBody>(&req.body) else {
        return bad("send {\"pending\": \"…\", \"code\": \"123456\"} as JSON");
    };
    let Some(username) = enrolling(app, &body.pending) else {
        return pending_gone();
    };
    let (ip, addr) = client(&req);
    match confirm(app, &username, &body.code, ip, addr).await {
        Ok(codes) => {
            app.half_signed_in.end(&body.pending);
            signed_in(app, &username, addr, ip, &user_agent(&req), json!(codes)).await
        }
        Err(r) => r,
    }
}

/// `GET /api/me/totp`.
pub(super) async fn show(app: &App, s: Session) -> Response {
    let who = s.username.clone();
    let row = match store::blocking(&app.store, move |st| st.totp(&who)).await {
        Ok(r) => r.filter(|r| r.enabled),
        Err(e) => return internal(e),
    };
    let required = match required_for(app, s.access.role).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    warp::reply::json(&json!({
        "enabled": row.is_some(),
        "recoveryLeft": row.map_or(0, |r| r.recovery_left),
        "required": required,
    }))
    .into_response()
}

/// `POST /api/me/totp`.
pub(super) async fn start_own(app: &App, s: Session) -> Response {
    start(app, &s.username).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfirmBody {
    code: String,
}

/// `POST /api/me/totp/confirm`.
pub(super) async fn confirm_own(app: &App, s: Session, req: Request) -> Response {
    let Ok(body) = serde_json::from_slice::<ConfirmBody>(&req.body) else {
        return bad("send {\"code\": \"123456\"} as JSON");
    };
    let (ip, addr) = client(&req);
    match confirm(app, &s.username, &body.code, ip, addr).await {
        Ok(codes) => warp::reply::json(&json!({"recoveryCodes": codes})).into_response(),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DisableBody {
    password: String,
    code: String,
}

/// `POST /api/me/totp/disable`: the password and a code (or recovery code).
pub(super) async fn disable_own(app: &App, s: Session, req: Request) -> Response {
    let Ok(body) = serde_json::from_slice::<DisableBody>(&req.body) else {
        return bad("send {\"password\": \"…\", \"code\": \"123456\"} as JSON");
    };
    let (ip, addr) = client(&req);
    let known = match reserve(app, &s.username, ip, addr).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    let who = s.username.clone();
    let stored = match store::blocking(&app.store, move |st| st.user(&who)).await {
        Ok(Some(u)) => u.password_hash,
        Ok(None) => return json_error(StatusCode::UNAUTHORIZED, "sign in first"),
        Err(e) => return internal(e),
    };
    let password = body.password;
    let right =
        tokio::task::spawn_blocking(move || crate::auth::verify_password(&password, &stored))
            .await
            .unwrap_or(false);
    if !right {
        app.audit(
            &s.username,
            "user.totp.disable",
            &s.username,
            "refused: wrong password",
        )
        .await;
        return json_error(
            StatusCode::FORBIDDEN,
            "the password is wrong; two-factor sign-in stays on",
        );
    }
    app.throttle.succeeded(&s.username, addr, known);
    if let Err(r) = check(app, &s.username, &body.code, ip, addr).await {
        return r;
    }
    let who = s.username.clone();
    if let Err(e) = store::blocking(&app.store, move |st| st.delete_totp(&who)).await {
        return internal(e);
    }
    app.audit(&s.username, "user.totp.disable", &s.username, "ok")
        .await;
    warp::reply::json(&json!({"enabled": false})).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequireBody {
    required: bool,
}

/// `PUT /api/settings/two-factor` (owner): require two-factor of owners and admins, or not.
pub(super) async fn require(app: &App, s: Session, req: Request) -> Response {
    let Ok(body) = serde_json::from_slice::<RequireBody>(&req.body) else {
        return bad("send {\"required\": true} or {\"required\": false} as JSON");
    };
    let value = body.required.then_some("admins");
    let owner = s.username.clone();
    // Turned on: the owner has it first (or they would lock themselves out), and the sessions
    // of owners and admins without it end, so they enrol at their next sign-in before anything.
    let ended = store::blocking(&app.store, move |st| {
        if value.is_some() && !st.totp(&owner)?.is_some_and(|r| r.enabled) {
            return Ok(None);
        }
        st.set_setting(REQUIRE_KEY, value)?;
        let mut ended = Vec::new();
        if value.is_some() {
            for u in st.users()? {
                if u.access.role >= Role::Admin && !st.totp(&u.username)?.is_some_and(|r| r.enabled)
                {
                    st.end_user_sessions(&u.username)?;
                    ended.push(u.username);
                }
            }
        }
        Ok(Some(ended))
    })
    .await;
    match ended {
        Ok(Some(users)) => {
            for u in users {
                app.sessions_changed(&u);
            }
        }
        Ok(None) => {
            return json_error(
                StatusCode::CONFLICT,
                "set up two-factor sign-in for yourself first (your account page), then require \
                 it of owners and admins",
            );
        }
        Err(e) => return internal(e),
    }
    let target = if body.required {
        "owners and admins"
    } else {
        "nobody"
    };
    app.audit(&s.username, "settings.two-factor", target, "ok")
        .await;
    warp::reply::json(&json!({"required": body.required})).into_response()
}
