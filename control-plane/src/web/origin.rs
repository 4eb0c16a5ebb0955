//! This control plane's own address and origin: the base of install commands, and what a
//! browser must send as `Origin` on a state-changing request or a dashboard WebSocket
//! (threats.md 22 and 33). With `--public-url` that URL; without, the `Host` the request came to.

use warp::http::HeaderMap;

use crate::app::App;

/// The base URL users and agents reach this control plane at.
pub fn public_base(app: &App, headers: &HeaderMap) -> String {
    if let Some(u) = &app.config.public_url {
        return u.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(warp::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:8420");
    format!("{}://{host}", if app.tls() { "https" } else { "http" })
}

/// Where an install command and `install.sh` tell a new server to find this control plane:
/// `--public-url`, else the address set in the dashboard (`settings.rs`), else the request's.
pub fn install_base(app: &App, headers: &HeaderMap) -> String {
    if app.config.public_url.is_none()
        && let Some(u) = app.public_address.get()
    {
        return u;
    }
    public_base(app, headers)
}

/// `scheme://host[:port]` of a URL, lowercased, without the scheme's default port (browsers
/// leave it out of `Origin`).
pub fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let scheme = scheme.to_ascii_lowercase();
    let host = rest
        .split(['/', '?', '#'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let host = host.strip_suffix(default_port).unwrap_or(&host);
    format!("{scheme}://{host}")
}

/// This control plane's origin for this request.
pub fn own_origin(app: &App, headers: &HeaderMap) -> String {
    origin_of(&public_base(app, headers))
}

/// Whether `origin` (an `Origin` header's value) is this control plane's own.
pub fn is_own_origin(app: &App, headers: &HeaderMap, origin: &str) -> bool {
    let origin = origin.trim();
    origin != "null" && origin_of(origin.trim_end_matches('/')) == own_origin(app, headers)
}

/// Whether the request's `Origin` header is this control plane's own (a dashboard socket must
/// come from the dashboard's own pages, threats.md 22).
pub fn origin_allowed(app: &App, headers: &HeaderMap) -> bool {
    headers
        .get(warp::http::header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .is_some_and(|o| is_own_origin(app, headers, o))
}

/// The `Host` part of this control plane's origin, if it is a plain host name or address with
/// an optional port (so it can go into a header value such as the dashboard's policy).
pub fn own_host(app: &App, headers: &HeaderMap) -> Option<String> {
    let origin = own_origin(app, headers);
    let host = origin.split_once("://")?.1.to_owned();
    let plain = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    plain.then_some(host)
}

#[cfg(test)]
mod tests {
    use super::origin_of;

    #[test]
    fn origins_compare_without_case_path_or_default_port() {
        assert_eq!(
            origin_of("HTTPS://Cairn.Example.com/x?y"),
            "https://cairn.example.com"
        );
        assert_eq!(
            origin_of("https://cairn.example.com:443"),
            "https://cairn.example.com"
        );
        assert_eq!(origin_of("http://127.0.0.1:80"), "http://127.0.0.1");
        assert_eq!(origin_of("http://127.0.0.1:8420"), "http://127.0.0.1:8420");
        assert_ne!(
            origin_of("https://127.0.0.1:8420"),
            origin_of("http://127.0.0.1:8420")
        );
    }
}
