//! The web vocabulary the router, the REST handlers and both sockets share: who is signed in
//! ([`Session`]), where a request came from ([`Peer`]), how a failure is answered
//! ([`json_error`], [`internal`]), and this control plane's own address ([`origin`]). A leaf:
//! it names nothing of the router or the sockets, so each of them can use it.

pub(crate) mod origin;

use std::net::SocketAddr;

use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

pub use origin::{install_base, origin_allowed};

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct Session {
    pub username: String,
    /// The user's role and node groups, read with the session on every request.
    pub access: crate::roles::Access,
    /// The stored hash of the session id (never the id itself); empty for an API token.
    pub id_hash: String,
    /// The name of the API token the request was made with (`Authorization: Bearer`), `None`
    /// for a dashboard session. Its `access` is then the token's, capped by its user's.
    pub token: Option<String>,
}

impl Session {
    /// Who the audit names: `ana`, or `ana (token deploy)` for a request made with a token.
    pub fn who(&self) -> String {
        match &self.token {
            Some(name) => format!("{} (token {name})", self.username),
            None => self.username.clone(),
        }
    }
}

/// The client's address, put into every request's extensions by the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// A JSON error reply: `{"error": "<sentence>"}`.
pub fn json_error(status: StatusCode, message: &str) -> Response {
    // The sentence's code and parts, when known, for the page to say it in its language.
    let mut body = serde_json::json!({ "error": message });
    add_said(&mut body, message, "code", "args");
    warp::reply::with_status(warp::reply::json(&body), status).into_response()
}

/// Adds the code and parts of `message`, when it is a known sentence (`crate::said`), to the
/// JSON object `body` under `code_key` and `args_key`: the page says it in its language.
pub fn add_said(body: &mut serde_json::Value, message: &str, code_key: &str, args_key: &str) {
    let said = crate::said::said(message);
    if let Some(code) = said.message_code {
        body[code_key] = code.into();
    }
    if let Some(args) = said.message_args {
        body[args_key] = serde_json::json!(args);
    }
}

/// A 500 whose cause goes to the log, not to the client.
pub fn internal(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "request failed");
    json_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the control plane could not complete this request; see its log",
    )
}
