//! What the dashboard can change about the control plane itself: today the **public address**,
//! the URL other servers reach it at, which every install command and `install.sh` carry.
//!
//! Without one, that address is taken from the request's `Host`: a dashboard opened at
//! `http://127.0.0.1:8420` handed out a command that, run on any other server, pointed at that
//! server itself. `--public-url` (or `CAIRN_PUBLIC_URL`) fixes it where Cairn is started and
//! wins; otherwise the address set in the dashboard (kept in the store) is used. The dashboard's
//! address only changes what agents are told: the origin browsers must send stays the `Host` they
//! use (or `--public-url`), so a wrong address cannot lock anyone out of the dashboard.

use std::sync::RwLock;

/// The store's key of the address set in the dashboard.
pub const PUBLIC_URL_KEY: &str = "public_url";

/// Longest public address accepted.
const MAX_URL: usize = 200;

/// The public address set in the dashboard, as read from the store at start.
#[derive(Debug, Default)]
pub struct PublicAddress(RwLock<Option<String>>);

impl PublicAddress {
    pub fn new(value: Option<String>) -> Self {
        Self(RwLock::new(value))
    }

    pub fn get(&self) -> Option<String> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set(&self, value: Option<String>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = value;
    }
}

/// A public address as typed, checked and normalised (no trailing `/`): `http` or `https`, a
/// host, an optional port and path; no user, query, fragment or blank. The sentence says what is
/// wrong with it.
pub fn normalise(input: &str) -> Result<String, String> {
    let url = input.trim();
    let example = "for example https://cairn.example.com or http://203.0.113.7:8420";
    if url.len() > MAX_URL {
        return Err(format!("the address is longer than {MAX_URL} characters"));
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!(
            "the address must start with https:// or http:// ({example})"
        ));
    };
    if scheme != "https" && scheme != "http" {
        return Err(format!(
            "the address must start with https:// or http:// ({example})"
        ));
    }
    let rest = rest.trim_end_matches('/');
    let url = format!("{scheme}://{rest}");
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the address cannot contain spaces".into());
    }
    // It is pasted into a shell on every new server (`curl -fsSL URL/install.sh | bash`):
    // nothing in it may mean anything to a shell.
    if !rest
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._~/:[]".contains(c))
    {
        return Err(format!(
            "the address is a server's address and an optional path: letters, digits, dots, \
             dashes, colons and slashes, without user, query or fragment ({example})"
        ));
    }
    let host_port = rest.split('/').next().unwrap_or("");
    let (host, port) = match host_port.find(']') {
        Some(end) => match &host_port[end + 1..] {
            "" => (&host_port[..=end], None),
            after => (
                &host_port[..=end],
                Some(after.strip_prefix(':').unwrap_or(after)),
            ),
        },
        None => match host_port.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        },
    };
    let host_ok = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        v6.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !host.is_empty()
            && host.len() <= 253
            && host
                .split('.')
                .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    };
    if host.is_empty() {
        return Err(format!("the address has no host name ({example})"));
    }
    if !host_ok {
        return Err(format!(
            "`{host}` is not a host name or address ({example})"
        ));
    }
    if let Some(p) = port
        && !p.parse::<u16>().is_ok_and(|p| p > 0)
    {
        return Err(format!("`{p}` is not a port (1 to 65535)"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn accepts_addresses_with_port_and_path_and_trims_the_slash() {
        for (input, want) in [
            ("https://cairn.example.com/", "https://cairn.example.com"),
            (" http://203.0.113.7:8420 ", "http://203.0.113.7:8420"),
            ("https://example.com/cairn", "https://example.com/cairn"),
            ("http://[2001:db8::1]:8420", "http://[2001:db8::1]:8420"),
        ] {
            assert_eq!(normalise(input).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_server_address_with_a_sentence() {
        for (input, says) in [
            ("cairn.example.com", "must start with https://"),
            ("ftp://cairn.example.com", "must start with https://"),
            ("https://user:pw@example.com", "without user"),
            ("https://example.com/?x=1", "without user, query"),
            ("https://exa mple.com", "spaces"),
            ("https://example.com:99999", "not a port"),
            ("https://", "no host name"),
            ("https://:8420", "no host name"),
            ("https://bad_host!.com", "letters, digits"),
            ("https://bad_host.com", "not a host name"),
            ("https://a..b", "not a host name"),
            ("https://example.com/$(reboot)", "without user, query"),
            ("https://example.com/a;b", "without user, query"),
        ] {
            let e = normalise(input).expect_err(input);
            assert!(e.contains(says), "{input}: {e}");
        }
    }
}
