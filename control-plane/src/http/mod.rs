//! The router. Every route is a row of [`ROUTES`] and the router is built from that table, so
//! the test that checks "every route without a session → 401" (threats.md 21) walks the same list
//! the server serves. A route is public only if its row says so. Every GET route answers HEAD
//! too (hyper leaves the body out).
//!
//! In front of every route, [`csrf`] refuses cross-site and non-JSON state-changing requests
//! (threats.md 33); after every route, [`headers`] adds the security headers (policy, framing,
//! caching, HSTS). [`login`] is sign-in and sign-out, [`users`] the owner's users and invitations,
//! [`passwords`] accepting a link and changing one's own password, [`api_tokens`] API tokens and
//! bearer requests, [`openapi`] the OpenAPI document generated from the route table, [`access`] the one check of every private route's role and node groups, [`nodes`] renaming, tagging and removing
//! nodes and revoking enrollment tokens, [`alerts`] and [`alert_channels`] the alert rules,
//! mutes, alerts and channels, [`submissions`] recipe submissions (submit, list, show with
//! its diff, approve, reject, withdraw), [`submission_cancel`] a submitter taking back their
//! pending one, [`handlers`] the other REST routes,
//! [`dashboard_files`] the dashboard's files. What the handlers share with the sockets (the
//! session, JSON errors, the origin) is in [`crate::web`].

mod access;
mod alert_channels;
mod alerts;
pub mod api_tokens;
mod csrf;
mod dashboard_files;
mod fleet;
mod handlers;
mod headers;
mod invites;
mod login;
mod metrics;
mod nodes;
pub mod openapi;
mod passwords;
mod routes;
mod session_start;
mod sessions;
mod settings;
mod submission_cancel;
mod submissions;
mod two_factor;
mod users;

pub use access::Reach;
pub use nodes::{MAX_TAGS, check_name, check_tags};
pub use routes::{ROUTES, Route, RouteId, Scope};

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, HeaderValue, StatusCode};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::app::App;
use crate::gate::Conn;
use crate::web::{Peer, Session, json_error};
use crate::{auth, install, store, ws_agent, ws_dashboard};

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: u64 = 64 * 1024;

/// Largest body of a recipe submission: a recipe (at most 256 KiB, the engine's limit) and its
/// companion files, as JSON.
pub const MAX_SUBMISSION_BYTES: u64 = 1024 * 1024;

/// What a handler gets besides its session.
#[derive(Debug)]
pub struct Request {
    pub params: Vec<String>,
    pub headers: HeaderMap,
    pub query: Option<String>,
    pub body: Bytes,
    pub peer: Option<SocketAddr>,
    /// The nodes the answer may be about (an operator's or viewer's groups), from the access
    /// check; a list route keeps only these.
    pub reach: Reach,
}

impl Request {
    /// The client's address (unspecified when the connection gave none, as in tests), for
    /// the sign-in throttle and the audit.
    pub fn ip(&self) -> std::net::IpAddr {
        self.peer
            .map_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |p| {
                p.ip()
            })
    }
}

#[derive(Debug)]
struct Unauthorized;
impl warp::reject::Reject for Unauthorized {}

#[derive(Debug)]
struct Internal;
impl warp::reject::Reject for Internal {}

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
        "PUT" => warp::put().boxed(),
        "PATCH" => warp::patch().boxed(),
        "DELETE" => warp::delete().boxed(),
        _ => get_or_head(),
    }
}

/// GET, and HEAD answered the same way (hyper sends the headers without the body).
pub(crate) fn get_or_head() -> BoxedFilter<()> {
    warp::get().or(warp::head()).unify().boxed()
}

/// Whether the request is a HEAD (a socket route then answers as to a GET without upgrade).
fn is_head() -> BoxedFilter<(bool,)> {
    warp::method()
        .map(|m: warp::http::Method| m == warp::http::Method::HEAD)
        .boxed()
}

/// The session named by the request's cookie, if it is live.
pub async fn session_of(app: &App, headers: &HeaderMap) -> Option<Session> {
    let cookie = headers.get(warp::http::header::COOKIE)?.to_str().ok()?;
    let id = auth::session_from_cookie_header(cookie)?;
    let id_hash = auth::hash_session_id(id);
    let lookup = id_hash.clone();
    let now = cairn_protocol::unix_now();
    match store::blocking(&app.store, move |s| s.session_user(&lookup, now)).await {
        Ok(Some(user)) => {
            // The last use, written at most once a minute per session (not once per request).
            if now >= user.last_used + store::TOUCH_EVERY_SECS {
                let touch = id_hash.clone();
                let st = Arc::clone(&app.store);
                tokio::task::spawn_blocking(move || {
                    if let Err(error) = st.touch_session(&touch, now) {
                        tracing::warn!(%error, "could not record a session's last use");
                    }
                });
            }
            Some(Session {
                username: user.username,
                access: user.access,
                id_hash,
                token: None,
            })
        }
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
                // A bearer token, when sent, is the only credential looked at.
                let session = match api_tokens::bearer_session(&app, &headers).await {
                    Some(Ok(session)) => session,
                    Some(Err(why)) => {
                        return Err(warp::reject::custom(access::Refused {
                            status: StatusCode::UNAUTHORIZED,
                            message: why,
                        }));
                    }
                    None => session_of(&app, &headers)
                        .await
                        .ok_or_else(|| warp::reject::custom(Unauthorized))?,
                };
                // A live session proves the connection: no longer a stranger (threats.md 34).
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
    limit: u64,
) -> BoxedFilter<(HeaderMap, Option<String>, Bytes, Option<SocketAddr>)> {
    let query = warp::query::raw()
        .map(Some)
        .or(warp::any().map(|| None))
        .unify();
    let body = if matches!(method, "POST" | "PUT" | "PATCH" | "DELETE") {
        warp::body::content_length_limit(limit)
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

/// The route's parameters, its session (none for a public route) and the nodes within reach,
/// once the session passed the access check of the route's row (`access`, the one place roles
/// and node groups are checked for every private route).
fn guarded(
    r: &'static Route,
    app: &Arc<App>,
) -> BoxedFilter<(Vec<String>, Option<Session>, Reach)> {
    let base = path_filter(r.path).and(method_filter(r.method));
    if r.public {
        return base
            .map(|params: Vec<String>| (params, None, Reach::All))
            .untuple_one()
            .boxed();
    }
    let app = Arc::clone(app);
    base.and(with_session(Arc::clone(&app)))
        .and_then(move |params: Vec<String>, session: Session| {
            let app = Arc::clone(&app);
            async move {
                match access::check(&app, r, &session, &params).await {
                    Ok(reach) => Ok((params, Some(session), reach)),
                    Err(refused) => Err(warp::reject::custom(refused)),
                }
            }
        })
        .untuple_one()
        .boxed()
}

fn build_route(r: &'static Route, app: Arc<App>) -> BoxedFilter<(Response,)> {
    let base = path_filter(r.path).and(method_filter(r.method));
    let guard = guarded(r, &app);
    let download = app.download(match r.id {
        RouteId::WorkerDownload => install::Part::Worker,
        _ => install::Part::Agent,
    });
    let file_path = download.path().to_path_buf();
    let missing = download.missing_sentence();
    let app_f = warp::any().map(move || Arc::clone(&app));
    match r.id {
        // Streamed from disk (warp's file filter: Content-Length, ranges, conditional GETs);
        // a missing file gets a sentence saying how to provide it.
        RouteId::AgentDownload | RouteId::WorkerDownload => base
            .and(
                warp::fs::file(file_path)
                    .map(|f: warp::fs::File| {
                        let mut r = f.into_response();
                        let h = r.headers_mut();
                        h.insert(
                            "content-type",
                            HeaderValue::from_static("application/octet-stream"),
                        );
                        // Conditional GETs keep it fresh; nothing secret in it.
                        h.insert("cache-control", HeaderValue::from_static("no-cache"));
                        r
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
            .and(is_head())
            .and(warp::ext::optional::<Conn>())
            .and(app_f)
            .map(
                |_,
                 headers: HeaderMap,
                 on_upgrade: Option<hyper::upgrade::OnUpgrade>,
                 peer: Option<Peer>,
                 head: bool,
                 conn: Option<Conn>,
                 app: Arc<App>| {
                    let on_upgrade = if head { None } else { on_upgrade };
                    ws_agent::upgrade(&headers, on_upgrade, app, peer.map(|p| p.0), conn)
                },
            )
            .boxed(),
        RouteId::DashboardSocket => guard
            .map(|_params: Vec<String>, session: Option<Session>, _reach: Reach| session)
            .and(warp::header::headers_cloned())
            // warp's upgrade filter takes GET only: a HEAD (or a GET without upgrade) gets the
            // same sentence.
            .and(warp::ws().map(Some).or(warp::any().map(|| None)).unify())
            .and(app_f)
            .map(
                |session: Option<Session>,
                 headers: HeaderMap,
                 ws: Option<warp::ws::Ws>,
                 app: Arc<App>| {
                    match (session, ws) {
                        (Some(s), Some(ws)) => ws_dashboard::upgrade(ws, app, s, &headers),
                        (Some(_), None) => json_error(
                            StatusCode::BAD_REQUEST,
                            "this address takes the dashboard's WebSocket upgrade",
                        ),
                        (None, _) => json_error(StatusCode::UNAUTHORIZED, "sign in first"),
                    }
                },
            )
            .boxed(),
        id => guard
            .and(request_parts(
                r.method,
                if id == RouteId::SubmitRecipe {
                    MAX_SUBMISSION_BYTES
                } else {
                    MAX_BODY_BYTES
                },
            ))
            .and(app_f)
            .then(
                move |params: Vec<String>,
                      session: Option<Session>,
                      reach: Reach,
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
                        reach,
                    };
                    handlers::handle(id, app, session, req).await
                },
            )
            .boxed(),
    }
}

/// The whole router.
pub fn routes(app: Arc<App>) -> BoxedFilter<(Response,)> {
    let mut all: Option<BoxedFilter<(Response,)>> = dashboard_files::filter(&app);
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
    let https = app.https();
    csrf::filter(app)
        .and(all)
        .recover(recover)
        .unify()
        .map(move |mut r: Response| {
            headers::finish(&mut r, https);
            r
        })
        .boxed()
}

async fn recover(rejection: Rejection) -> Result<Response, std::convert::Infallible> {
    if let Some(refused) = rejection.find::<csrf::Refused>() {
        let status = match refused {
            csrf::Refused::CrossSite(_) => StatusCode::FORBIDDEN,
            csrf::Refused::NotJson => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        };
        return Ok(json_error(status, &refused.sentence()));
    }
    if let Some(refused) = rejection.find::<access::Refused>() {
        return Ok(json_error(refused.status, &refused.message));
    }
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
