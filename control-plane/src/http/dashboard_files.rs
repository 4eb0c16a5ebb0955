//! The dashboard's files (`--ui`, SvelteKit's static build): public, since the login page must
//! load and they hold no data; any path that is no file gets `index.html` (a single-page app),
//! except under `/api/` and `/ws/`. HTML gets the dashboard's Content-Security-Policy
//! ([`super::headers::page_policy`]); hashed build outputs under `_app/immutable/` may be
//! cached for a year, the rest is revalidated.

use std::sync::Arc;

use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, HeaderValue};
use warp::reply::Response;
use warp::{Filter, Reply};

use super::{get_or_head, headers};
use crate::app::App;
use crate::web::origin;

/// The filter serving `--ui`, or `None` when that directory does not exist.
pub fn filter(app: &Arc<App>) -> Option<BoxedFilter<(Response,)>> {
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
    let pages = Arc::new(headers::PageHashCache::default());
    let app = Arc::clone(app);
    Some(
        get_or_head()
            .and(not_api)
            .and(warp::header::headers_cloned())
            .and(warp::fs::dir(dir).or(warp::fs::file(index)).unify())
            .map(move |req_headers: HeaderMap, f: warp::fs::File| {
                let path = f.path().to_path_buf();
                let mut r = f.into_response();
                let h = r.headers_mut();
                if path.extension().is_some_and(|e| e == "html") {
                    let host = origin::own_host(&app, &req_headers);
                    let policy =
                        headers::page_policy(&pages.hashes(&path), host.as_deref(), app.https());
                    if let Ok(v) = HeaderValue::from_str(&policy) {
                        h.insert("content-security-policy", v);
                    }
                }
                // Build outputs under _app/immutable/ carry their hash in their name.
                let cache = if path.components().any(|c| c.as_os_str() == "immutable") {
                    "public, max-age=31536000, immutable"
                } else {
                    "no-cache"
                };
                h.insert("cache-control", HeaderValue::from_static(cache));
                r
            })
            .boxed(),
    )
}
