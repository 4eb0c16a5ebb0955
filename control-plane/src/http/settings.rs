//! `GET` and `PUT /api/settings`: the control plane's public address as the dashboard shows and
//! changes it (`crate::settings`). A change is audited; `--public-url` cannot be changed here.

use serde::Deserialize;
use serde_json::json;
use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

use super::Request;
use crate::app::App;
use crate::settings::{PUBLIC_URL_KEY, normalise};
use crate::store;
use crate::web::{Session, install_base, internal, json_error};

/// Where the address other servers are told comes from.
fn source(app: &App) -> &'static str {
    if app.config.public_url.is_some() {
        "flag"
    } else if app.public_address.get().is_some() {
        "dashboard"
    } else {
        "request"
    }
}

/// The settings as the dashboard shows them: `installBase` is what install commands carry now.
pub fn show(app: &App, req: &Request) -> Response {
    warp::reply::json(&json!({
        "publicUrl": app.config.public_url.clone().or_else(|| app.public_address.get()),
        "publicUrlSource": source(app),
        "installBase": install_base(app, &req.headers),
    }))
    .into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Change {
    /// The new address; empty or null goes back to the address the dashboard is opened at.
    public_url: Option<String>,
}

/// Changes the public address (or clears it), then answers like [`show`].
pub async fn change(app: &App, s: Session, req: Request) -> Response {
    let Ok(change) = serde_json::from_slice::<Change>(&req.body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "send {\"publicUrl\": \"https://cairn.example.com\"} as JSON",
        );
    };
    if app.config.public_url.is_some() {
        return json_error(
            StatusCode::CONFLICT,
            "the public address is set by --public-url (or CAIRN_PUBLIC_URL) where the control \
             plane is started; change it there",
        );
    }
    let value = match change.public_url.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => match normalise(text) {
            Ok(url) => Some(url),
            Err(why) => return json_error(StatusCode::BAD_REQUEST, &why),
        },
    };
    let stored = value.clone();
    if let Err(e) = store::blocking(&app.store, move |st| {
        st.set_setting(PUBLIC_URL_KEY, stored.as_deref())
    })
    .await
    {
        return internal(e);
    }
    app.public_address.set(value.clone());
    let target = value
        .as_deref()
        .unwrap_or("the address the dashboard is opened at");
    app.audit(&s.who(), "settings.public-url", target, "ok")
        .await;
    show(app, &req)
}
