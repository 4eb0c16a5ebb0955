//! Sending one notice to one channel, blocking (called on tokio's blocking pool): SMTP with
//! STARTTLS required (lettre, rustls), and HTTP posts with ureq: the generic webhook's JSON
//! signed with `X-Cairn-Signature: sha256=HEX` (HMAC-SHA256 of the body with the channel's
//! secret), Slack's `{"text"}`, Discord's `{"content"}`, ntfy's plain text with a `Title`. A
//! failure is a sentence that never holds the channel's URL or secrets.

use std::time::Duration;

use hmac::{Hmac, Mac};
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{SmtpTransport, Transport};
use serde_json::{Value, json};
use sha2::Sha256;

use super::channels::{Channel, Kind};

/// How long one attempt may take.
pub(super) const TIMEOUT: Duration = Duration::from_secs(15);

/// What a notification says: a one-line title, the text, and the facts for the webhook.
#[derive(Debug, Clone)]
pub struct Notice {
    pub title: String,
    pub text: String,
    /// The webhook's JSON body.
    pub body: Value,
}

/// `sha256=HEX` of the body with `secret`: what `X-Cairn-Signature` carries.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Sends `notice` through `ch` once, giving up after [`TIMEOUT`].
pub fn send(ch: &Channel, notice: &Notice) -> Result<(), String> {
    send_within(ch, notice, TIMEOUT)
}

/// Sends `notice` through `ch` once, giving up after `timeout`.
pub fn send_within(ch: &Channel, notice: &Notice, timeout: Duration) -> Result<(), String> {
    match ch.kind {
        Kind::Email => email(ch, notice, timeout),
        Kind::Webhook => {
            let body = serde_json::to_vec(&notice.body)
                .map_err(|e| format!("the message could not be made: {e}"))?;
            let sig = signature(ch.secret.secret.as_deref().unwrap_or(""), &body);
            post(
                ch,
                &body,
                "application/json",
                &[("X-Cairn-Signature", &sig)],
                timeout,
            )
        }
        // Chat webhooks: one JSON field, the title in the chat's bold.
        Kind::Slack | Kind::Discord => {
            let (field, bold) = if ch.kind == Kind::Slack {
                ("text", "*")
            } else {
                ("content", "**")
            };
            let text = format!("{bold}{}{bold}\n{}", notice.title, notice.text);
            let body = json!({ field: text });
            post(
                ch,
                body.to_string().as_bytes(),
                "application/json",
                &[],
                timeout,
            )
        }
        Kind::Ntfy => {
            let auth = ch.secret.token.as_ref().map(|t| format!("Bearer {t}"));
            let title = header_text(&notice.title);
            let mut headers = vec![("Title", title.as_str())];
            if let Some(a) = &auth {
                headers.push(("Authorization", a.as_str()));
            }
            post(
                ch,
                notice.text.as_bytes(),
                "text/plain; charset=utf-8",
                &headers,
                timeout,
            )
        }
    }
}

/// Text (a title naming a node, a disk, a service: from users and agents) as a header value:
/// as it is when it is printable ASCII, else RFC 2047's `=?UTF-8?B?…?=`, which ntfy decodes.
/// No character of it can end the header, add another, or make the request invalid (a line
/// break or control character would fail every delivery of the alert).
pub fn header_text(text: &str) -> String {
    use base64::Engine as _;
    if text.bytes().all(|b| (0x20..0x7f).contains(&b)) && !text.contains("=?") {
        return text.to_owned();
    }
    format!(
        "=?UTF-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(text)
    )
}

fn post(
    ch: &Channel,
    body: &[u8],
    content_type: &str,
    headers: &[(&str, &str)],
    timeout: Duration,
) -> Result<(), String> {
    let url = ch
        .secret
        .url
        .as_deref()
        .ok_or("the channel has no address")?;
    let hint = ch
        .public
        .url_hint
        .as_deref()
        .unwrap_or("the channel's address");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .max_redirects(0)
        .user_agent("cairn-control-plane")
        .build()
        .into();
    let mut req = agent.post(url).header("Content-Type", content_type);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    // ureq's own messages may quote the URL, which can hold a token: only sentences of ours.
    // A redirect is answered, not followed (the body, its signature and the token go to the
    // configured host only); it is a failure, not a delivery: the notice did not arrive.
    let answer = req.send(body).map_err(|e| match e {
        ureq::Error::StatusCode(code) => format!("{hint} answered HTTP {code}"),
        ureq::Error::Timeout(_) => format!("{hint} did not answer within {} s", timeout.as_secs()),
        ureq::Error::HostNotFound => format!("the host of {hint} was not found"),
        ureq::Error::ConnectionFailed | ureq::Error::Io(_) => {
            format!("could not connect to {hint}")
        }
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => {
            format!("the TLS connection to {hint} failed (certificate?)")
        }
        _ => format!("the request to {hint} failed"),
    })?;
    let code = answer.status().as_u16();
    if (300..400).contains(&code) {
        return Err(format!(
            "{hint} answered HTTP {code}, a redirect, which Cairn does not follow: give the \
             channel the address it redirects to"
        ));
    }
    if !answer.status().is_success() {
        return Err(format!("{hint} answered HTTP {code}"));
    }
    Ok(())
}

fn email(ch: &Channel, notice: &Notice, timeout: Duration) -> Result<(), String> {
    let p = &ch.public;
    let host = p.host.clone().ok_or("the channel has no SMTP host")?;
    let port = p.port.unwrap_or(587);
    let from = p
        .from
        .as_deref()
        .ok_or("the channel has no sender address")?;
    let mut msg = lettre::Message::builder()
        .from(
            from.parse()
                .map_err(|_| format!("\"{from}\" is not an email address"))?,
        )
        .subject(&notice.title)
        .header(ContentType::TEXT_PLAIN);
    for to in &p.to {
        msg = msg.to(to
            .parse()
            .map_err(|_| format!("\"{to}\" is not an email address"))?);
    }
    let msg = msg
        .body(notice.text.clone())
        .map_err(|e| format!("the message could not be made: {e}"))?;
    let mut tls = TlsParameters::builder(host.clone());
    if let Some(pem) = &p.ca_cert {
        let cert = Certificate::from_pem(pem.as_bytes())
            .map_err(|_| "the channel's CA certificate could not be read".to_owned())?;
        tls = tls.add_root_certificate(cert);
    }
    let tls = tls
        .build_rustls()
        .map_err(|e| format!("TLS could not be set up: {e}"))?;
    // STARTTLS is required: the password and the alerts never cross in clear.
    let mut smtp = SmtpTransport::builder_dangerous(&host)
        .port(port)
        .tls(Tls::Required(tls))
        .timeout(Some(timeout));
    if let (Some(user), Some(pass)) = (&p.username, &ch.secret.password) {
        smtp = smtp.credentials(Credentials::new(user.clone(), pass.clone()));
    }
    smtp.build().send(&msg).map(|_| ()).map_err(|e| {
        let server = format!("{host}:{port}");
        if e.is_permanent() {
            format!("the mail server {server} refused the message")
        } else if e.is_transient() {
            format!("the mail server {server} could not take the message now")
        } else if e.is_timeout() {
            format!("the mail server {server} did not answer in time")
        } else if e.is_tls() {
            format!("the mail server {server} could not agree on TLS (STARTTLS is required; is its certificate trusted?)")
        } else {
            format!("the mail server {server} could not be reached")
        }
    })
}

#[cfg(test)]
mod tests {
    use std::io::{BufReader, Write};
    use std::net::TcpListener;

    use super::super::channels::{Channel, Kind, Public, Secret};
    use super::{Notice, send};

    /// A one-request HTTP server on loopback answering `answer`; what it received, as text.
    fn receiver(answer: &'static str) -> (String, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!(
            "http://{}/cairn-alerts",
            listener.local_addr().expect("addr")
        );
        let thread = std::thread::spawn(move || {
            let Ok((stream, _)) = listener.accept() else {
                return String::new();
            };
            let mut reader = BufReader::new(stream);
            let (head, body) = crate::alerts::test_http::read_request(&mut reader);
            let _ = reader.get_mut().write_all(answer.as_bytes());
            head + "\r\n" + String::from_utf8_lossy(&body).as_ref()
        });
        (url, thread)
    }

    fn channel(kind: Kind, url: &str) -> Channel {
        Channel {
            id: 1,
            kind,
            name: "phone".to_owned(),
            public: Public::default(),
            secret: Secret {
                url: Some(url.to_owned()),
                secret: Some("hmac-secret-1234".to_owned()),
                password: None,
                token: Some("tk_ntfy_secret_token".to_owned()),
            },
            created_at: 0,
            last_error: None,
        }
    }

    const OK: &str = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

    /// Slack's and Discord's webhooks each get their one JSON field, the title in their bold
    /// and the text after it, as JSON (a quote or a line break in a node's name stays text).
    #[test]
    fn chat_webhooks_get_their_own_field_with_the_title_in_bold() {
        let notice = Notice {
            title: "[Cairn] Firing on \"web-1\"".to_owned(),
            text: "On web-1, the disk /\nis 95 % full.".to_owned(),
            body: serde_json::json!({}),
        };
        for (kind, field, bold) in [(Kind::Slack, "text", "*"), (Kind::Discord, "content", "**")] {
            let (url, got) = receiver(OK);
            let sent = send(&channel(kind, &url), &notice);
            let request = got.join().expect("receiver");
            assert_eq!(sent, Ok(()), "{kind:?}: {request}");
            let body = request.split("\r\n\r\n").nth(1).expect("a body");
            let v: serde_json::Value = serde_json::from_str(body).expect("JSON");
            let want = format!("{bold}{}{bold}\n{}", notice.title, notice.text);
            assert_eq!(v, serde_json::json!({ field: want }), "{kind:?}");
        }
    }

    /// THREATS row 55: a title built from a node's name and an agent's disk or service name
    /// (line breaks, a forged header, non-ASCII) reaches ntfy as one encoded header: the
    /// delivery succeeds and no header is added.
    #[test]
    fn an_ntfy_title_with_line_breaks_or_unicode_is_one_encoded_header() {
        use base64::Engine as _;
        for title in [
            "[Cairn] Firing on web-1: disk /srv\r\nX-Injected: 1 is 95.0 % full",
            "[Cairn] Firing on Café: the load is 9.00 (alert over 2 × cores)",
            "=?UTF-8?B?Zm9yZ2Vk?=",
        ] {
            let (url, got) = receiver(OK);
            let notice = Notice {
                title: title.to_owned(),
                text: "On web-1, something.".to_owned(),
                body: serde_json::json!({}),
            };
            let sent = send(&channel(Kind::Ntfy, &url), &notice);
            let request = got.join().expect("receiver");
            assert_eq!(sent, Ok(()), "{title:?}: {request}");
            assert!(
                !request.to_ascii_lowercase().contains("x-injected"),
                "{request}"
            );
            let header = request
                .lines()
                .find_map(|l| {
                    l.strip_prefix("title: ")
                        .or_else(|| l.strip_prefix("Title: "))
                })
                .expect("a Title header");
            let encoded = header
                .strip_prefix("=?UTF-8?B?")
                .and_then(|h| h.strip_suffix("?="))
                .expect("encoded as RFC 2047");
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .expect("base64");
            assert_eq!(String::from_utf8_lossy(&decoded), title);
        }
        assert_eq!(
            super::header_text("[Cairn] Test notification"),
            "[Cairn] Test notification"
        );
    }

    /// THREATS row 55: a channel's URL that redirects (to the control plane's own loopback, a
    /// cloud metadata address, anywhere) is not followed: the signed body, the signature and
    /// the ntfy token go to the configured host only; and it is a failed delivery (ureq answers
    /// a redirect it does not follow as a success: the notice was counted as delivered), told
    /// in a sentence without the URL.
    #[test]
    fn a_redirect_is_not_followed_and_the_secrets_go_nowhere_else() {
        for kind in [Kind::Webhook, Kind::Ntfy] {
            let (elsewhere, other) = receiver(OK);
            let answer: &'static str = Box::leak(
                format!(
                    "HTTP/1.1 307 Temporary Redirect\r\nLocation: {elsewhere}\r\n\
                     Content-Length: 0\r\nConnection: close\r\n\r\n"
                )
                .into_boxed_str(),
            );
            let (url, first) = receiver(answer);
            let mut ch = channel(kind, &url);
            ch.public.url_hint = Some("http://127.0.0.1/…rts".to_owned());
            let notice = Notice {
                title: "t".to_owned(),
                text: "x".to_owned(),
                body: serde_json::json!({"event": "test"}),
            };
            let sent = send(&ch, &notice);
            let to_first = first.join().expect("first receiver");
            assert!(!to_first.is_empty(), "the configured host got the request");
            let why = sent.expect_err("a redirect is a failure");
            assert!(why.contains("HTTP 307"), "{why}");
            assert!(!why.contains("cairn-alerts"), "{why}");
            // Nothing reached the redirect's target: wake its accept with a connection of ours.
            let _ = std::net::TcpStream::connect(
                elsewhere
                    .trim_start_matches("http://")
                    .trim_end_matches("/cairn-alerts"),
            );
            let to_other = other.join().expect("other receiver");
            assert!(!to_other.contains("POST"), "{to_other}");
            assert!(!to_other.contains("tk_ntfy_secret_token"), "{to_other}");
        }
    }

    #[test]
    fn the_signature_is_the_hmac_sha256_of_the_body_in_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            super::signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
