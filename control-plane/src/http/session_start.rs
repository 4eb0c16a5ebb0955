//! A session started: after a right password (`super::login`), or after the second factor or a
//! two-factor enrolment at sign-in (`super::two_factor`). Its own module so that both reach it
//! without importing each other.

use std::net::IpAddr;

use serde_json::json;
use warp::Reply;
use warp::reply::Response;

use super::Request;
use crate::app::App;
use crate::auth::{self, AddressKey};
use crate::store;
use crate::web::internal;

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
