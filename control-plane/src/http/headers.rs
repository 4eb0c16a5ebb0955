//! Security headers on every answer (browser hardening, threats.md 33).
//!
//! - The dashboard's pages get a strict Content-Security-Policy: scripts, styles, images and
//!   sockets from this origin only, inline code only where its hash is listed, no plugins, no
//!   `<base>`, and no framing (`frame-ancestors 'none'`, plus `X-Frame-Options: DENY` for old
//!   browsers). The hashes are the `'sha256-…'` sources of the policy SvelteKit writes into the
//!   page at build time (`kit.csp` in `ui/svelte.config.js`: its start-up script and the style
//!   of its screen-reader announcer); everything else in the header is fixed here, so a page
//!   built without them does not start instead of running unchecked.
//! - Every other answer gets `default-src 'none'`: a JSON body or a script opened as a page runs
//!   nothing.
//! - API answers (and everything but the dashboard's files and the agent download) are
//!   `Cache-Control: no-store`: enrollment tokens and job results stay out of caches.
//! - `Strict-Transport-Security` whenever the dashboard is reached over https (own TLS or an
//!   https `--public-url` behind a proxy); `nosniff`, `no-referrer` and same-origin opener and
//!   resource policies everywhere.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use warp::http::HeaderValue;
use warp::http::header::{self, HeaderName};
use warp::reply::Response;

/// The policy of every answer that is not a dashboard page.
pub const NON_PAGE_POLICY: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
/// One year, the usual HSTS lifetime.
const HSTS: &str = "max-age=31536000";

fn set_default(resp: &mut Response, name: HeaderName, value: &'static str) {
    resp.headers_mut()
        .entry(name)
        .or_insert(HeaderValue::from_static(value));
}

/// Adds the headers every answer carries (keeping any a route set itself).
pub fn finish(resp: &mut Response, https: bool) {
    set_default(resp, header::CONTENT_SECURITY_POLICY, NON_PAGE_POLICY);
    set_default(resp, header::CACHE_CONTROL, "no-store");
    set_default(resp, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set_default(resp, header::X_FRAME_OPTIONS, "DENY");
    set_default(resp, header::REFERRER_POLICY, "no-referrer");
    set_default(
        resp,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set_default(
        resp,
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    if https {
        set_default(resp, header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
}

/// The inline-code hashes a page's build-time policy allows.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PageHashes {
    pub scripts: Vec<String>,
    pub styles: Vec<String>,
}

/// Reads the `'sha256-…'` (or 384, 512) sources of `script-src` and `style-src` from the
/// `<meta http-equiv="content-security-policy">` of an HTML page.
pub fn page_hashes(html: &str) -> PageHashes {
    let lower = html.to_ascii_lowercase();
    let mut hashes = PageHashes::default();
    let Some(at) = lower.find("http-equiv=\"content-security-policy\"") else {
        return hashes;
    };
    let tag_start = lower[..at].rfind('<').unwrap_or(0);
    let tag_end = lower[at..].find('>').map_or(lower.len(), |e| at + e);
    let tag = &html[tag_start..tag_end];
    let Some(content) = tag
        .to_ascii_lowercase()
        .find("content=\"")
        .and_then(|c| tag[c + 9..].split('"').next())
    else {
        return hashes;
    };
    let content = content.replace("&#39;", "'").replace("&apos;", "'");
    for directive in content.split(';') {
        let mut words = directive.split_whitespace();
        let into = match words.next().map(str::to_ascii_lowercase).as_deref() {
            Some("script-src") => &mut hashes.scripts,
            Some("style-src") => &mut hashes.styles,
            _ => continue,
        };
        into.extend(words.filter(|w| is_hash_source(w)).map(str::to_owned));
    }
    hashes
}

fn is_hash_source(word: &str) -> bool {
    let Some(inner) = word.strip_prefix('\'').and_then(|w| w.strip_suffix('\'')) else {
        return false;
    };
    let Some((alg, b64)) = inner.split_once('-') else {
        return false;
    };
    matches!(alg, "sha256" | "sha384" | "sha512")
        && !b64.is_empty()
        && b64
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+/=-_".contains(c))
}

/// The Content-Security-Policy of a dashboard page. `host` (this control plane's, if plain)
/// adds its WebSocket URL to `connect-src` for browsers whose `'self'` does not cover it.
pub fn page_policy(hashes: &PageHashes, host: Option<&str>, https: bool) -> String {
    let scripts = hashes.scripts.join(" ");
    let styles = if hashes.styles.is_empty() {
        String::new()
    } else {
        // Hashes of style attributes (the announcer's) need 'unsafe-hashes'; only those match.
        format!("'unsafe-hashes' {}", hashes.styles.join(" "))
    };
    let socket = host
        .map(|h| format!(" {}://{h}", if https { "wss" } else { "ws" }))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self' {scripts}; style-src 'self' {styles}; \
         img-src 'self'; font-src 'self'; connect-src 'self'{socket}; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// A file's size and mtime, and the hashes read from that version of it.
type Versioned = (u64, Option<SystemTime>, Arc<PageHashes>);

/// The hashes of each HTML file served, read once per version of the file (size, mtime).
#[derive(Debug, Default)]
pub struct PageHashCache {
    files: Mutex<HashMap<PathBuf, Versioned>>,
}

impl PageHashCache {
    /// The hashes of the page at `path` (none if it cannot be read).
    pub fn hashes(&self, path: &Path) -> Arc<PageHashes> {
        let meta = std::fs::metadata(path).ok();
        let (len, mtime) = (
            meta.as_ref().map_or(0, |m| m.len()),
            meta.and_then(|m| m.modified().ok()),
        );
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((l, m, h)) = files.get(path)
            && (*l, *m) == (len, mtime)
        {
            return Arc::clone(h);
        }
        let html = std::fs::read_to_string(path).unwrap_or_default();
        let hashes = Arc::new(page_hashes(&html));
        if hashes.scripts.is_empty() && html.contains("<script>") {
            tracing::warn!(page = %path.display(), "this dashboard page has inline scripts but no build-time policy listing their hashes; browsers will not run them (build the UI with kit.csp)");
        }
        // Only the UI directory's own files get here, so the map stays small.
        files.insert(path.to_path_buf(), (len, mtime, Arc::clone(&hashes)));
        hashes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<head><meta http-equiv="content-security-policy" content="default-src 'self'; style-src 'self' 'unsafe-hashes' 'sha256-S8qM+/='; script-src 'self' 'sha256-vQOC5A=' 'unsafe-inline' https://evil.example"></head>"#;

    #[test]
    fn only_hash_sources_are_taken_from_the_page() {
        let h = page_hashes(PAGE);
        assert_eq!(h.scripts, vec!["'sha256-vQOC5A='"]);
        assert_eq!(h.styles, vec!["'sha256-S8qM+/='"]);
        let policy = page_policy(&h, Some("127.0.0.1:8420"), false);
        assert!(
            policy.contains("script-src 'self' 'sha256-vQOC5A=';"),
            "{policy}"
        );
        assert!(
            !policy.contains("unsafe-inline") && !policy.contains("evil"),
            "{policy}"
        );
        assert!(
            policy.contains("connect-src 'self' ws://127.0.0.1:8420;"),
            "{policy}"
        );
        assert!(policy.contains("frame-ancestors 'none'"));
        assert_eq!(
            page_hashes("<html><script>x()</script></html>"),
            PageHashes::default()
        );
    }
}
