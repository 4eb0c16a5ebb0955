//! Two-factor sign-in against the real control-plane binary (issue 20): the owner enrols with a
//! code computed here from the secret shown, then signs in with the password and a code; the
//! half-signed-in token opens nothing, a replayed code is refused, a recovery code works once,
//! and a revoked session's cookie gets 401.

use cairn_e2e::{ControlPlane, PASSWORD};
use serde_json::{Value, json};
use totp_rs::{Algorithm, TOTP};

fn code(secret: &str, step: u64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .expect("base32");
    // Feature unification gives totp-rs the control plane's `otpauth` (issuer and account).
    TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, bytes, None, String::new()).generate(step * 30)
}

async fn post(
    cp: &ControlPlane,
    cookie: Option<&str>,
    path: &str,
    body: Value,
) -> (u16, Value, Option<String>) {
    let r = cp
        .request("POST", path, cookie, Some(&body.to_string()))
        .await;
    let v = serde_json::from_str(&r.body).unwrap_or(Value::Null);
    (r.status, v, r.cookie())
}

#[tokio::test]
async fn the_binary_signs_in_with_a_code_once_and_a_recovery_code_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let recipes = cairn_e2e::recipes_dir(dir.path(), &["lines"]);
    let cp = ControlPlane::start(dir.path(), &recipes).await;
    let owner = cp.login().await;
    let (status, shown, _) = post(&cp, Some(&owner), "/api/me/totp", json!({})).await;
    assert_eq!(status, 200, "{shown}");
    let secret = shown["secret"].as_str().expect("secret").to_owned();
    let step = cairn_protocol::unix_now() / 30;
    let (status, done, _) = post(
        &cp,
        Some(&owner),
        "/api/me/totp/confirm",
        json!({"code": code(&secret, step)}),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    let recovery = done["recoveryCodes"][0]
        .as_str()
        .expect("a recovery code")
        .to_owned();

    let pw = json!({"username": "admin", "password": PASSWORD});
    let (status, half, cookie) = post(&cp, None, "/api/login", pw.clone()).await;
    assert_eq!(
        (status, half["twoFactor"].as_str()),
        (200, Some("code")),
        "{half}"
    );
    assert!(cookie.is_none(), "a session before the code");
    let pending = half["pending"].as_str().expect("pending").to_owned();
    let as_cookie = format!("cairn_session={pending}");
    assert_eq!(
        cp.request("GET", "/api/me", Some(&as_cookie), None)
            .await
            .status,
        401
    );
    // The enrolment's code again: refused (used once already).
    let (status, body, _) = post(
        &cp,
        None,
        "/api/login/code",
        json!({"pending": pending, "code": code(&secret, step)}),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    let (status, body, cookie) = post(
        &cp,
        None,
        "/api/login/code",
        json!({"pending": pending, "code": code(&secret, step + 1)}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let first = cookie.expect("a session");

    let (_, half, _) = post(&cp, None, "/api/login", pw.clone()).await;
    let pending = half["pending"].as_str().expect("pending").to_owned();
    let (status, body, cookie) = post(
        &cp,
        None,
        "/api/login/code",
        json!({"pending": pending, "code": recovery}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let second = cookie.expect("a session");
    let (_, half, _) = post(&cp, None, "/api/login", pw).await;
    let pending = half["pending"].as_str().expect("pending").to_owned();
    let (status, body, _) = post(
        &cp,
        None,
        "/api/login/code",
        json!({"pending": pending, "code": recovery}),
    )
    .await;
    assert_eq!(status, 401, "a recovery code worked twice: {body}");

    // The second session revokes the first: its cookie gets 401.
    let list: Value = serde_json::from_str(
        &cp.request("GET", "/api/me/sessions", Some(&second), None)
            .await
            .body,
    )
    .expect("json");
    assert!(list.as_array().is_some_and(|l| l.len() >= 3), "{list}");
    for s in list.as_array().expect("list") {
        if s["current"] == false {
            let id = s["id"].as_str().expect("id");
            let r = cp
                .request(
                    "DELETE",
                    &format!("/api/me/sessions/{id}"),
                    Some(&second),
                    None,
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
    }
    assert_eq!(
        cp.request("GET", "/api/me", Some(&first), None)
            .await
            .status,
        401
    );
    assert_eq!(
        cp.request("GET", "/api/me", Some(&owner), None)
            .await
            .status,
        401
    );
    assert_eq!(
        cp.request("GET", "/api/me", Some(&second), None)
            .await
            .status,
        200
    );
}
