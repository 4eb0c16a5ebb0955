//! The router. Every route is a row of [`ROUTES`] and the router is built from that table, so
//! the test that checks "every route without a session → 401" (THREATS 21) walks the same list
//! the server serves. A route is public only if its row says so.

mod handlers;

pub use handlers::public_base;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, StatusCode};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::gate::Conn;
use crate::server::Peer;
use crate::{App, auth, store};

/// What a route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteId {
    Healthz,
    InstallScript,
    AgentDownload,
    AgentChecksum,
    ControlPlaneKey,
    Login,
    AgentSocket,
    Logout,
    Me,
    Nodes,
    NodesStatus,
    CreateToken,
    Recipes,
    ReloadRecipes,
    Jobs,
    Job,
    JobEvents,
    Audit,
    DashboardSocket,
}

/// One row of the route table. `{id}` in a path is a parameter.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    /// Reachable without a session.
    pub public: bool,
    pub id: RouteId,
}

const fn route(method: &'static str, path: &'static str, public: bool, id: RouteId) -> Route {
    Route {
        method,
        path,
        public,
        id,
    }
}

/// Every HTTP route the control plane serves (besides the dashboard's static files).
pub const ROUTES: &[Route] = &[
    route("GET", "/healthz", true, RouteId::Healthz),
    route("GET", "/install.sh", true, RouteId::InstallScript),
    route(
        "GET",
        "/downloads/cairn-agent-x86_64-linux-gnu",
        true,
        RouteId::AgentDownload,
    ),
    route(
        "GET",
        "/downloads/cairn-agent-x86_64-linux-gnu.sha256",
        true,
        RouteId::AgentChecksum,
    ),
    route(
        "GET",
        "/api/control-plane-key",
        true,
        RouteId::ControlPlaneKey,
    ),
    route("POST", "/api/login", true, RouteId::Login),
    route("GET", "/ws/agent", true, RouteId::AgentSocket),
    route("POST", "/api/logout", false, RouteId::Logout),
    route("GET", "/api/me", false, RouteId::Me),
    route("GET", "/api/nodes", false, RouteId::Nodes),
    route("POST", "/api/nodes/status", false, RouteId::NodesStatus),
    route(
        "POST",
        "/api/enrollment-tokens",
        false,
        RouteId::CreateToken,
    ),
    route("GET", "/api/recipes", false, RouteId::Recipes),
    route("POST", "/api/recipes/reload", false, RouteId::ReloadRecipes),
    route("GET", "/api/jobs", false, RouteId::Jobs),
    route("GET", "/api/jobs/{id}", false, RouteId::Job),
    route("GET", "/api/jobs/{id}/events", false, RouteId::JobEvents),
    route("GET", "/api/audit", false, RouteId::Audit),
    route("GET", "/ws/dashboard", false, RouteId::DashboardSocket),
];

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: u64 = 64 * 1024;

/// A logged-in user.
#[derive(Debug, Clone)]
pub struct Session {
    pub username: String,
    /// The stored hash of the session id (never the id itself).
    pub id_hash: String,
}

/// What a handler gets besides its session.
#[derive(Debug)]
pub struct Request {
    pub params: Vec<String>,
    pub headers: HeaderMap,
    pub query: Option<String>,
    pub body: Bytes,
    pub peer: Option<SocketAddr>,
}

#[derive(Debug)]
struct Unauthorized;
impl warp::reject::Reject for Unauthorized {}

#[derive(Debug)]
struct Internal;
impl warp::reject::Reject for Internal {}

/// A JSON error reply: `{"error": "<sentence>"}`.
pub fn json_error(status: StatusCode, message: &str) -> Response {
    warp::reply::with_status(
        warp::reply::json(&serde_json::json!({ "error": message })),
        status,
    )
    .into_response()
}

fn path_filter(path: &'static str) -> BoxedFilter<(Vec<String>,)> {
    let mut f = warp::any().map(Vec::<String>::new).boxed();
    for seg in path.trim_start_matches('/').split('/') {
        f = if seg.starts_with('{') {
            f.and(warp::path::param::<String>())
                .map(|mut v: Vec<String>, p: String| {
                    v.push(p);
                    v
                })
                .boxed()
        } else {
            f.and(warp::path(seg)).boxed()
        };
    }
    f.and(warp::path::end()).boxed()
}

fn method_filter(method: &'static str) -> BoxedFilter<()> {
    match method {
        "POST" => warp::post().boxed(),
        _ => warp::get().boxed(),
    }
}

/// The session named by the request's cookie, if it is live.
pub async fn session_of(app: &App, headers: &HeaderMap) -> Option<Session> {
    let cookie = headers.get(warp::http::header::COOKIE)?.to_str().ok()?;
    let id = auth::session_from_cookie_header(cookie)?;
    let id_hash = auth::hash_session_id(id);
    let lookup = id_hash.clone();
    let now = cairn_protocol::unix_now();
    match store::blocking(&app.store, move |s| s.session_user(&lookup, now)).await {
        Ok(Some(username)) => Some(Session { username, id_hash }),
        Ok(None) => None,
        Err(error) => {
            tracing::error!(%error, "session lookup failed");
            None
        }
    }
}

fn with_session(app: Arc<App>) -> BoxedFilter<(Session,)> {
    warp::header::headers_cloned()
        .and(warp::ext::optional::<Conn>())
        .and_then(move |headers: HeaderMap, conn: Option<Conn>| {
            let app = Arc::clone(&app);
            async move {
                let session = session_of(&app, &headers)
                    .await
                    .ok_or_else(|| warp::reject::custom(Unauthorized))?;
                // A live session proves the connection: no longer a stranger (THREATS 34).
                if let Some(conn) = conn {
                    conn.trust();
                }
                Ok::<_, Rejection>(session)
            }
        })
        .boxed()
}

fn request_parts(
    method: &'static str,
) -> BoxedFilter<(HeaderMap, Option<String>, Bytes, Option<SocketAddr>)> {
    let query = warp::query::raw()
        .map(Some)
        .or(warp::any().map(|| None))
        .unify();
    let body = if method == "POST" {
        warp::body::content_length_limit(MAX_BODY_BYTES)
            .and(warp::body::bytes())
            .boxed()
    } else {
        warp::any().map(Bytes::new).boxed()
    };
    warp::header::headers_cloned()
        .and(query)
        .and(body)
        .and(warp::ext::optional::<Peer>().map(|p: Option<Peer>| p.map(|p| p.0)))
        .boxed()
}

fn build_route(r: &'static Route, app: Arc<App>) -> BoxedFilter<(Response,)> {
    let base = path_filter(r.path).and(method_filter(r.method));
    let session: BoxedFilter<(Option<Session>,)> = if r.public {
        warp::any().map(|| None).boxed()
    } else {
        with_session(Arc::clone(&app)).map(Some).boxed()
    };
    let agent_path = app.agent.path().to_path_buf();
    let missing = app.agent.missing_sentence();
    let app_f = warp::any().map(move || Arc::clone(&app));
    match r.id {
        // Streamed from disk (warp's file filter: Content-Length, ranges, conditional GETs);
        // a missing file gets a sentence saying how to provide it.
        RouteId::AgentDownload => base
            .and(
                warp::fs::file(agent_path)
                    .map(|f: warp::fs::File| {
                        warp::reply::with_header(f, "content-type", "application/octet-stream")
                            .into_response()
                    })
                    .or(warp::any().map(move || json_error(StatusCode::NOT_FOUND, &missing)))
                    .unify(),
            )
            .map(|_params: Vec<String>, reply: Response| reply)
            .boxed(),
        RouteId::AgentSocket => base
            .and(warp::header::headers_cloned())
            .and(warp::ext::optional::<hyper::upgrade::OnUpgrade>())
            .and(warp::ext::optional::<Peer>())
            .and(warp::ext::optional::<Conn>())
            .and(app_f)
            .map(
                |_,
                 headers: HeaderMap,
                 on_upgrade: Option<hyper::upgrade::OnUpgrade>,
                 peer: Option<Peer>,
                 conn: Option<Conn>,
                 app: Arc<App>| {
                    crate::ws_agent::upgrade(&headers, on_upgrade, app, peer.map(|p| p.0), conn)
                },
            )
            .boxed(),
        RouteId::DashboardSocket => base
            .and(session)
            .and(warp::header::headers_cloned())
            .and(warp::ws())
            .and(app_f)
            .map(
                |_,
                 session: Option<Session>,
                 headers: HeaderMap,
                 ws: warp::ws::Ws,
                 app: Arc<App>| {
                    match session {
                        Some(s) => crate::ws_dashboard::upgrade(ws, app, s, &headers),
                        None => json_error(StatusCode::UNAUTHORIZED, "sign in first"),
                    }
                },
            )
            .boxed(),
        id => base
            .and(session)
            .and(request_parts(r.method))
            .and(app_f)
            .then(
                move |params: Vec<String>,
                      session: Option<Session>,
                      headers,
                      query,
                      body,
                      peer,
                      app: Arc<App>| async move {
                    let req = Request {
                        params,
                        headers,
                        query,
                        body,
                        peer,
                    };
                    handlers::handle(id, app, session, req).await
                },
            )
            .boxed(),
    }
}

fn static_ui(app: &App) -> Option<BoxedFilter<(Response,)>> {
    let dir = app.config.ui_dir.clone();
    if !dir.is_dir() {
        return None;
    }
    let index = dir.join("index.html");
    // The dashboard's files are public (the login page must load); they hold no data.
    let not_api = warp::path::full()
        .and_then(|p: warp::path::FullPath| async move {
            if p.as_str().starts_with("/api/") || p.as_str().starts_with("/ws/") {
                Err(warp::reject::not_found())
            } else {
                Ok(())
            }
        })
        .untuple_one();
    Some(
        warp::get()
            .and(not_api)
            .and(warp::fs::dir(dir).or(warp::fs::file(index)).unify())
            .map(|f: warp::fs::File| f.into_response())
            .boxed(),
    )
}

/// The whole router.
pub fn routes(app: Arc<App>) -> BoxedFilter<(Response,)> {
    let mut all: Option<BoxedFilter<(Response,)>> = static_ui(&app);
    for r in ROUTES.iter().rev() {
        let f = build_route(r, Arc::clone(&app));
        all = Some(match all {
            None => f,
            Some(rest) => f.or(rest).unify().boxed(),
        });
    }
    let all = all.unwrap_or_else(|| {
        warp::any()
            .and_then(|| async { Err::<Response, _>(warp::reject::not_found()) })
            .boxed()
    });
    all.recover(recover)
        .unify()
        .map(|r: Response| {
            let mut r = r;
            let h = r.headers_mut();
            h.insert(
                "x-content-type-options",
                "nosniff".parse().expect("static header"),
            );
            h.insert(
                "referrer-policy",
                "no-referrer".parse().expect("static header"),
            );
            r
        })
        .boxed()
}

async fn recover(rejection: Rejection) -> Result<Response, std::convert::Infallible> {
    let (status, message) = if rejection.find::<Unauthorized>().is_some() {
        (
            StatusCode::UNAUTHORIZED,
            "sign in first: this route needs a dashboard session",
        )
    } else if rejection.is_not_found() {
        (StatusCode::NOT_FOUND, "there is nothing at this address")
    } else if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is too large",
        )
    } else if rejection.find::<warp::reject::LengthRequired>().is_some() {
        (
            StatusCode::LENGTH_REQUIRED,
            "send a Content-Length header with the body",
        )
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "this address does not accept that method",
        )
    } else if rejection.find::<Internal>().is_some() {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the control plane failed; see its log",
        )
    } else {
        (StatusCode::BAD_REQUEST, "the request could not be read")
    };
    Ok(json_error(status, message))
}
