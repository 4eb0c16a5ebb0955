//! Where notifications go: email (SMTP with STARTTLS), a generic webhook (JSON signed with an
//! HMAC), Slack- and Discord-compatible webhooks, ntfy. What a person sends ([`ChannelInput`])
//! is checked into a [`Channel`]: its public part (stored as is) and its secrets (the URL of
//! the HTTP kinds, which often carries a token, the HMAC secret, the SMTP password, the ntfy
//! token), sealed at rest (`seal.rs`) and answered masked ([`Channel::view`]).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A channel's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Email,
    Webhook,
    Slack,
    Discord,
    Ntfy,
}

/// What is stored in clear.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Public {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
    /// A CA certificate (PEM) the SMTP server's certificate is checked against besides the
    /// system's, for a mail server with a private CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<String>,
    /// The masked URL shown in answers (scheme and host, then the last 4 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_hint: Option<String>,
}

/// What is sealed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Secret {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// A channel as stored (secrets opened in memory only when sending).
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    pub id: i64,
    pub kind: Kind,
    pub name: String,
    pub public: Public,
    pub secret: Secret,
    pub created_at: u64,
    /// The last delivery's failure, as a sentence (cleared by a success).
    pub last_error: Option<String>,
}

/// A channel as `POST`/`PUT /api/alert-channels` take it. On an update, a secret left out
/// keeps the stored one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChannelInput {
    pub kind: Option<Kind>,
    pub name: Option<String>,
    pub url: Option<String>,
    pub secret: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: Option<String>,
    pub to: Option<Vec<String>>,
    pub ca_cert: Option<String>,
    pub token: Option<String>,
}

fn nonempty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// `scheme://host/…` and the last 4 characters: enough to tell two channels apart.
fn url_hint(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let scheme = url.split_once("://").map_or("", |(s, _)| s);
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let tail: String = {
        let c: Vec<char> = rest[host.len()..].chars().collect();
        if c.len() > 8 {
            c[c.len() - 4..].iter().collect()
        } else {
            String::new()
        }
    };
    format!("{scheme}://{host}/…{tail}")
}

fn check_email_address(a: &str) -> Result<(), String> {
    a.parse::<lettre::Address>()
        .map(|_| ())
        .map_err(|_| format!("\"{a}\" is not an email address"))
}

impl Channel {
    /// Checks `input` (over `base`, the stored channel, for an update) into a channel.
    pub fn checked(input: ChannelInput, base: Option<&Channel>) -> Result<Channel, String> {
        let kind = match (input.kind, base) {
            (Some(k), Some(b)) if k != b.kind => {
                return Err("a channel's kind cannot change: delete it and add a new one".into());
            }
            (Some(k), _) => k,
            (None, Some(b)) => b.kind,
            (None, None) => {
                return Err(
                    "say which kind of channel: email, webhook, slack, discord or ntfy".into(),
                );
            }
        };
        let mut ch = base.cloned().unwrap_or(Channel {
            id: 0,
            kind,
            name: String::new(),
            public: Public::default(),
            secret: Secret::default(),
            created_at: 0,
            last_error: None,
        });
        if let Some(name) = nonempty(input.name) {
            ch.name = name;
        }
        let n = ch.name.chars().count();
        if n == 0 || n > 64 || ch.name.chars().any(char::is_control) {
            return Err(
                "a channel's name is 1 to 64 characters, without control characters".into(),
            );
        }
        if let Some(s) = nonempty(input.secret) {
            ch.secret.secret = Some(s);
        }
        if let Some(t) = nonempty(input.token) {
            ch.secret.token = Some(t);
        }
        if kind == Kind::Email {
            let p = &mut ch.public;
            if let Some(h) = nonempty(input.host) {
                p.host = Some(h);
            }
            p.port = input.port.or(p.port).or(Some(587));
            if input.username.is_some() {
                p.username = nonempty(input.username);
            }
            if let Some(pw) = nonempty(input.password) {
                ch.secret.password = Some(pw);
            }
            if let Some(f) = nonempty(input.from) {
                p.from = Some(f);
            }
            if let Some(to) = input.to {
                p.to = to.into_iter().filter_map(|t| nonempty(Some(t))).collect();
            }
            if input.ca_cert.is_some() {
                p.ca_cert = nonempty(input.ca_cert);
            }
            let host = p.host.as_deref().unwrap_or("");
            if host.is_empty() || host.len() > 253 || host.contains(['/', ' ', ':']) {
                return Err("give the SMTP server's host name (without port or scheme)".into());
            }
            check_email_address(
                p.from
                    .as_deref()
                    .ok_or("give the address mail is sent from")?,
            )?;
            if p.to.is_empty() || p.to.len() > 20 {
                return Err("give 1 to 20 addresses to send the alerts to".into());
            }
            p.to.iter().try_for_each(|a| check_email_address(a))?;
            if let Some(pem) = &p.ca_cert
                && !pem.contains("-----BEGIN CERTIFICATE-----")
            {
                return Err(
                    "the CA certificate must be in PEM form (-----BEGIN CERTIFICATE-----)".into(),
                );
            }
            return Ok(ch);
        }
        if let Some(url) = nonempty(input.url) {
            let ok = (url.starts_with("https://") || url.starts_with("http://"))
                && url.len() <= 2048
                && !url.chars().any(|c| c.is_whitespace() || c.is_control());
            if !ok {
                return Err("give the channel's address as an http:// or https:// URL".into());
            }
            ch.public.url_hint = Some(url_hint(&url));
            ch.secret.url = Some(url);
        }
        if ch.secret.url.is_none() {
            return Err("give the channel's address (URL)".into());
        }
        if kind == Kind::Webhook && ch.secret.secret.is_none() {
            return Err(
                "give the webhook a secret: its bodies are signed with it (X-Cairn-Signature)"
                    .into(),
            );
        }
        Ok(ch)
    }

    /// The channel as API answers show it: secrets never, only whether they are set.
    pub fn view(&self) -> Value {
        let set = |s: &Option<String>| s.as_ref().map(|_| "set");
        // The last failure's code, for the page to say it in its language.
        let said = self
            .last_error
            .as_deref()
            .map(crate::said::said)
            .unwrap_or_default();
        json!({
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "host": self.public.host,
            "port": self.public.port,
            "username": self.public.username,
            "from": self.public.from,
            "to": self.public.to,
            "caCert": self.public.ca_cert.as_ref().map(|_| "set"),
            "url": self.public.url_hint,
            "secret": set(&self.secret.secret),
            "password": set(&self.secret.password),
            "token": set(&self.secret.token),
            "createdAt": self.created_at,
            "lastError": self.last_error,
            "lastErrorCode": said.message_code,
            "lastErrorArgs": said.message_args,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channels_view_never_shows_its_secrets() -> Result<(), String> {
        let input = ChannelInput {
            kind: Some(Kind::Webhook),
            name: Some("ops".into()),
            url: Some("https://hooks.example.com/T000/B000/XXXXtokenYYYY".into()),
            secret: Some("s3cr3t-hmac-key".into()),
            ..ChannelInput::default()
        };
        let ch = Channel::checked(input, None)?;
        let text = ch.view().to_string();
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(!text.contains("tokenYYYY"), "{text}");
        assert!(text.contains("https://hooks.example.com/…YYYY"), "{text}");
        // An update without the secret keeps it.
        let renamed = ChannelInput {
            name: Some("ops 2".into()),
            ..ChannelInput::default()
        };
        let ch2 = Channel::checked(renamed, Some(&ch))?;
        assert_eq!(ch2.secret, ch.secret);
        Ok(())
    }

    #[test]
    fn a_channel_missing_what_it_needs_is_refused_with_a_sentence() {
        let e = Channel::checked(
            ChannelInput {
                kind: Some(Kind::Webhook),
                name: Some("x".into()),
                url: Some("https://a.example/h".into()),
                ..ChannelInput::default()
            },
            None,
        );
        assert!(matches!(e, Err(s) if s.contains("secret")));
        let e = Channel::checked(
            ChannelInput {
                kind: Some(Kind::Email),
                name: Some("mail".into()),
                host: Some("smtp.example.com".into()),
                from: Some("cairn@example.com".into()),
                to: Some(vec!["not an address".into()]),
                ..ChannelInput::default()
            },
            None,
        );
        assert!(matches!(e, Err(s) if s.contains("not an email address")));
    }
}
