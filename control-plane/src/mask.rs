//! Masking of secrets before anything is stored, logged or relayed to someone who did not ask.
//!
//! The only secret an agent sends is the connection string of `DATABASE_CONFIGURED`; its
//! password is replaced by [`MASK`]. Query parameters that look like credentials are masked
//! too, so a recipe that puts the password there instead is covered.

use cairn_protocol::dashboard::DashboardEventBody;

/// What replaces a secret.
pub const MASK: &str = "********";

/// `scheme://user:password@host/db?password=x` → `scheme://user:********@host/db?password=********`.
pub fn mask_connection_string(s: &str) -> String {
    let (scheme, rest) = match s.find("://") {
        Some(i) => (&s[..i + 3], &s[i + 3..]),
        None => ("", s),
    };
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(auth_end);
    let authority = match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            let host = &authority[at + 1..];
            match userinfo.find(':') {
                Some(colon) => format!("{}:{MASK}@{host}", &userinfo[..colon]),
                // `redis://secret@host`: a lone userinfo is the password for several schemes.
                None if scheme.starts_with("redis") => format!("{MASK}@{host}"),
                None => authority.to_owned(),
            }
        }
        None => authority.to_owned(),
    };
    let tail = match tail.find('?') {
        Some(q) => {
            let (path, query) = tail.split_at(q + 1);
            let masked: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if looks_secret(k) => format!("{k}={MASK}"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}{}", masked.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}{authority}{tail}")
}

/// A log line with every connection string in it masked: each word holding `://` is read as
/// one (the rest of the line is left as it is, since masking it as a URL would mangle it).
pub fn mask_log_line(line: &str) -> String {
    if !line.contains("://") {
        return line.to_owned();
    }
    line.split(' ')
        .map(|word| {
            if word.contains("://") {
                mask_connection_string(word)
            } else {
                word.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn looks_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["pass", "pwd", "secret", "token", "key"]
        .iter()
        .any(|w| k.contains(w))
}

/// A job event as it may be stored or shown to anyone: `connectionString` masked. `None` when
/// the event carries no secret, so it may go as it is (no copy made of a log line).
pub fn masked(event: &DashboardEventBody) -> Option<DashboardEventBody> {
    match event {
        DashboardEventBody::DatabaseConfigured(m) => {
            let mut m = m.clone();
            m.connection_string = m.connection_string.as_deref().map(mask_connection_string);
            Some(DashboardEventBody::DatabaseConfigured(m))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_passwords() {
        assert_eq!(
            mask_connection_string("postgresql://u:p%40ss@localhost:5432/db"),
            "postgresql://u:********@localhost:5432/db"
        );
        assert_eq!(
            mask_connection_string("mysql://u:pw@h/db?sslmode=x&password=pw"),
            "mysql://u:********@h/db?sslmode=x&password=********"
        );
        assert_eq!(
            mask_connection_string("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
        assert_eq!(
            mask_connection_string("redis://:pw@127.0.0.1:6379"),
            "redis://:********@127.0.0.1:6379"
        );
    }

    #[test]
    fn a_log_line_has_its_connection_strings_masked_and_the_rest_left_as_it_is() {
        assert_eq!(
            mask_log_line("12:00 user@host: connect to redis://app:s3cret@127.0.0.1:6379 ok"),
            "12:00 user@host: connect to redis://app:********@127.0.0.1:6379 ok"
        );
        let plain = "1931:M 05 Dec 2026 02:48:47.439 * Ready to accept connections tcp";
        assert_eq!(mask_log_line(plain), plain);
    }
}
