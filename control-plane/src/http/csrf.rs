//! Cross-site requests are refused (threats.md 33).
//!
//! Only `SameSite=Strict` stood between a sibling site and the API: a form on another site
//! could POST `text/plain` to any route. Now every request that may change something (any
//! method but GET, HEAD and OPTIONS, on every path, login and logout included, before the route
//! is even looked up) must
//! - carry this control plane's own `Origin` (`null` and other sites are refused), and no
//!   `Sec-Fetch-Site` but `same-origin` or `none` (a browser's `same-site` and `cross-site` are
//!   refused, with or without `Origin`); a client that sends neither header (curl, agents,
//!   tests) is no browser and passes;
//! - send its body as `Content-Type: application/json`, which no form and no "simple"
//!   cross-site request can send without a CORS preflight (which this server never answers).
//!
//! Refused with 403 or 415 and a sentence, before any handler runs, so nothing changes.

use std::sync::Arc;

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, Method, header};

use crate::app::App;
use crate::web::origin;

/// Why a state-changing request was refused.
#[derive(Debug)]
pub enum Refused {
    /// 403: it came from another site; the text names the origin it must come from.
    CrossSite(String),
    /// 415: the body is not declared as JSON.
    NotJson,
}
impl warp::reject::Reject for Refused {}

impl Refused {
    /// The sentence for the refusal.
    pub fn sentence(&self) -> String {
        match self {
            Self::CrossSite(own) => format!(
                "this request came from another site; the control plane accepts changes only \
                 from its own pages at {own}"
            ),
            Self::NotJson => "send the request body as JSON, with the header \
                              Content-Type: application/json"
                .to_owned(),
        }
    }
}

/// Whether a request with this method can change state.
pub fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn single(headers: &HeaderMap, name: header::HeaderName) -> Result<Option<&str>, ()> {
    let mut all = headers.get_all(name).iter();
    match (all.next(), all.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => v.to_str().map(Some).map_err(|_| ()),
        // Two values: a proxy or a client playing games; neither is trusted.
        (Some(_), Some(_)) => Err(()),
    }
}

/// Checks one request (see the module docs).
pub fn check(app: &App, method: &Method, headers: &HeaderMap) -> Result<(), Refused> {
    if !changes_state(method) {
        return Ok(());
    }
    let cross_site = || Refused::CrossSite(origin::own_origin(app, headers));
    if let Some(o) = single(headers, header::ORIGIN).map_err(|()| cross_site())?
        && !origin::is_own_origin(app, headers, o)
    {
        return Err(cross_site());
    }
    // A browser's own word that the request is cross-site wins, with or without Origin.
    let fetch_site = single(headers, header::HeaderName::from_static("sec-fetch-site"))
        .map_err(|()| cross_site())?;
    if let Some(site) = fetch_site
        && !matches!(
            site.trim().to_ascii_lowercase().as_str(),
            "same-origin" | "none"
        )
    {
        return Err(cross_site());
    }
    let json = single(headers, header::CONTENT_TYPE)
        .ok()
        .flatten()
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    if json { Ok(()) } else { Err(Refused::NotJson) }
}

/// The check as a filter, put in front of the whole router.
pub fn filter(app: Arc<App>) -> BoxedFilter<()> {
    warp::method()
        .and(warp::header::headers_cloned())
        .and_then(move |method: Method, headers: HeaderMap| {
            let verdict = check(&app, &method, &headers);
            async move {
                if let Err(refused) = &verdict {
                    tracing::debug!(%method, reason = %refused.sentence(), "refused a state-changing request");
                }
                verdict.map_err(warp::reject::custom)
            }
        })
        .untuple_one()
        .boxed()
}
