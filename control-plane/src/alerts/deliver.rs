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
const TIMEOUT: Duration = Duration::from_secs(15);

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

/// Sends `notice` through `ch` once.
pub fn send(ch: &Channel, notice: &Notice) -> Result<(), String> {
    match ch.kind {
        Kind::Email => email(ch, notice),
        Kind::Webhook => {
            let body = serde_json::to_vec(&notice.body)
                .map_err(|e| format!("the message could not be made: {e}"))?;
            let sig = signature(ch.secret.secret.as_deref().unwrap_or(""), &body);
            post(
                ch,
                &body,
                "application/json",
                &[("X-Cairn-Signature", &sig)],
            )
        }
        Kind::Slack => {
            let body = json!({"text": format!("*{}*\n{}", notice.title, notice.text)});
            post(ch, body.to_string().as_bytes(), "application/json", &[])
        }
        Kind::Discord => {
            let body = json!({"content": format!("**{}**\n{}", notice.title, notice.text)});
            post(ch, body.to_string().as_bytes(), "application/json", &[])
        }
        Kind::Ntfy => {
            let auth = ch.secret.token.as_ref().map(|t| format!("Bearer {t}"));
            let mut headers = vec![("Title", notice.title.as_str())];
            if let Some(a) = &auth {
                headers.push(("Authorization", a.as_str()));
            }
            post(
                ch,
                notice.text.as_bytes(),
                "text/plain; charset=utf-8",
                &headers,
            )
        }
    }
}

fn post(
    ch: &Channel,
    body: &[u8],
    content_type: &str,
    headers: &[(&str, &str)],
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
        .timeout_global(Some(TIMEOUT))
        .max_redirects(0)
        .user_agent("cairn-control-plane")
        .build()
        .into();
    let mut req = agent.post(url).header("Content-Type", content_type);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    // ureq's own messages may quote the URL, which can hold a token: only sentences of ours.
    req.send(body).map(|_| ()).map_err(|e| match e {
        ureq::Error::StatusCode(code) => format!("{hint} answered HTTP {code}"),
        ureq::Error::Timeout(_) => format!("{hint} did not answer within {} s", TIMEOUT.as_secs()),
        ureq::Error::HostNotFound => format!("the host of {hint} was not found"),
        ureq::Error::ConnectionFailed | ureq::Error::Io(_) => {
            format!("could not connect to {hint}")
        }
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => {
            format!("the TLS connection to {hint} failed (certificate?)")
        }
        _ => format!("the request to {hint} failed"),
    })
}

fn email(ch: &Channel, notice: &Notice) -> Result<(), String> {
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
        .timeout(Some(TIMEOUT));
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
    #[test]
    fn the_signature_is_the_hmac_sha256_of_the_body_in_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            super::signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
