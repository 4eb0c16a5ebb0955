//! Two-factor sign-in (issue 20): enrolment confirmed by a code the test computes from the
//! secret shown, sign-in with a code (accepted once: a replay is refused), a recovery code
//! accepted once, wrong codes throttled like passwords (the next attempt is refused even with
//! the right code until the lockout ends), a required user led to enrol at sign-in, and the
//! secret never stored in clear.

use std::time::Duration;

use serde_json::{Value, json};
use totp_rs::{Algorithm, Secret, TOTP};

use crate::util::{PASSWORD, Reply, TestServer, http, wait_for_audit};

async fn send(
    srv: &TestServer,
    cookie: Option<&str>,
    method: &str,
    path: &str,
    body: Value,
) -> Reply {
    http(srv.addr, method, path, cookie, Some(&body.to_string())).await
}

/// The code of `secret` (base32, as shown) for the 30-second step `step`.
fn code(secret: &str, step: u64) -> String {
    let bytes = Secret::Encoded(secret.to_owned())
        .to_bytes()
        .expect("base32 secret");
    TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, bytes, None, String::new()).generate(step * 30)
}

fn step_now() -> u64 {
    cairn_protocol::unix_now() / 30
}

/// Enrols the user of `cookie`: the secret shown and the recovery codes, and the step used.
async fn enrol(srv: &TestServer, cookie: &str) -> (String, Vec<String>, u64) {
    let r = send(srv, Some(cookie), "POST", "/api/me/totp", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let shown = r.json();
    let secret = shown["secret"].as_str().expect("secret").to_owned();
    assert!(
        shown["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("otpauth://totp/")),
        "{shown}"
    );
    assert!(
        shown["qr"]
            .as_str()
            .is_some_and(|q| q.starts_with("data:image/svg+xml;base64,")),
        "no QR code"
    );
    // Not on until confirmed: a wrong code leaves it off.
    let r = send(
        srv,
        Some(cookie),
        "POST",
        "/api/me/totp/confirm",
        json!({"code": "000000"}),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    let state = http(srv.addr, "GET", "/api/me/totp", Some(cookie), None)
        .await
        .json();
    assert_eq!(state["enabled"], false, "{state}");
    let step = step_now();
    let r = send(
        srv,
        Some(cookie),
        "POST",
        "/api/me/totp/confirm",
        json!({"code": code(&secret, step)}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let codes: Vec<String> =
        serde_json::from_value(r.json()["recoveryCodes"].clone()).expect("codes");
    assert_eq!(codes.len(), 10);
    // Shown once: the state says how many are left, never the secret or the codes.
    let state = http(srv.addr, "GET", "/api/me/totp", Some(cookie), None).await;
    assert_eq!(state.json()["enabled"], true, "{}", state.body);
    assert_eq!(state.json()["recoveryLeft"], 10, "{}", state.body);
    assert!(!state.body.contains(&secret));
    (secret, codes, step)
}

/// Signs in with the password: the half-signed-in token (no session cookie).
async fn password(srv: &TestServer, user: &str, pw: &str, next: &str) -> String {
    let r = send(
        srv,
        None,
        "POST",
        "/api/login",
        json!({"username": user, "password": pw}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.cookie().is_none(),
        "a session before the code: {}",
        r.headers
    );
    assert_eq!(r.json()["twoFactor"], next, "{}", r.body);
    r.json()["pending"].as_str().expect("pending").to_owned()
}

async fn with_code(srv: &TestServer, pending: &str, code: &str) -> Reply {
    send(
        srv,
        None,
        "POST",
        "/api/login/code",
        json!({"pending": pending, "code": code}),
    )
    .await
}

#[tokio::test]
async fn a_code_signs_in_once_a_replay_is_refused_and_a_recovery_code_works_once() {
    let mut srv = TestServer::start().await;
    let owner = srv.login().await;
    let (secret, codes, step) = enrol(&srv, &owner).await;
    // The secret is sealed at rest: neither its base32 nor its bytes' hex are in the database.
    let db = srv.db_bytes();
    let hex_secret = hex::encode(Secret::Encoded(secret.clone()).to_bytes().expect("b32"));
    for clear in [secret.as_bytes(), hex_secret.as_bytes()] {
        assert!(
            !db.windows(clear.len()).any(|w| w == clear),
            "the secret is in the database in clear"
        );
    }

    let pending = password(&srv, "admin", PASSWORD, "code").await;
    // The half-signed-in token is no session.
    let me = http(
        srv.addr,
        "GET",
        "/api/me",
        Some(&format!("cairn_session={pending}")),
        None,
    )
    .await;
    assert_eq!(me.status, 401, "{}", me.body);
    // The code that confirmed the enrolment was used: a replay is refused.
    let r = with_code(&srv, &pending, &code(&secret, step)).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(
        r.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("used already")),
        "{}",
        r.body
    );
    // The next step's code is accepted, once.
    let r = with_code(&srv, &pending, &code(&secret, step + 1)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let cookie = r.cookie().expect("a session");
    assert_eq!(
        http(srv.addr, "GET", "/api/me", Some(&cookie), None)
            .await
            .status,
        200
    );
    // The pending token is spent.
    let r = with_code(&srv, &pending, &code(&secret, step + 1)).await;
    assert_eq!(r.status, 401, "{}", r.body);
    let pending = password(&srv, "admin", PASSWORD, "code").await;
    let r = with_code(&srv, &pending, &code(&secret, step + 1)).await;
    assert_eq!(r.status, 401, "a replayed code signed in: {}", r.body);

    // A recovery code (typed in capitals, without its dash) works once.
    let typed = codes[3].to_uppercase().replace('-', "");
    let r = with_code(&srv, &pending, &typed).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let pending = password(&srv, "admin", PASSWORD, "code").await;
    let r = with_code(&srv, &pending, &codes[3]).await;
    assert_eq!(r.status, 401, "a recovery code worked twice: {}", r.body);
    let state = http(srv.addr, "GET", "/api/me/totp", Some(&cookie), None)
        .await
        .json();
    assert_eq!(state["recoveryLeft"], 9, "{state}");

    // Off with the password and a (recovery) code; a wrong password leaves it on.
    let r = send(
        &srv,
        Some(&cookie),
        "POST",
        "/api/me/totp/disable",
        json!({"password": "wrong password!", "code": codes[4]}),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = send(
        &srv,
        Some(&cookie),
        "POST",
        "/api/me/totp/disable",
        json!({"password": PASSWORD, "code": codes[4]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = send(
        &srv,
        None,
        "POST",
        "/api/login",
        json!({"username": "admin", "password": PASSWORD}),
    )
    .await;
    assert!(
        r.cookie().is_some(),
        "two-factor still asked after turning it off: {}",
        r.body
    );

    let audit = wait_for_audit(&srv, &cookie, |a| {
        a.iter().any(|e| {
            e["what"] == "login.refused"
                && e["result"]
                    .as_str()
                    .is_some_and(|r| r.contains("two-factor code"))
        })
    })
    .await;
    let whats: Vec<&str> = audit
        .as_array()
        .expect("audit")
        .iter()
        .filter_map(|e| e["what"].as_str())
        .collect();
    for what in ["user.totp.enrol", "user.totp.recovery", "user.totp.disable"] {
        assert!(whats.contains(&what), "no {what} in {whats:?}");
    }
    assert!(
        !crate::util::logs().contains(&secret),
        "the secret reached the logs"
    );
    srv.stop().await;
}

#[tokio::test]
async fn wrong_codes_are_throttled_like_passwords() {
    // A 1 s first lockout (30 s by default) so the test can wait it out.
    let mut srv = TestServer::start_with(|c| c.login_first_lockout = Duration::from_secs(1)).await;
    let owner = srv.login().await;
    let (secret, _, step) = enrol(&srv, &owner).await;
    let pending = password(&srv, "admin", PASSWORD, "code").await;
    // Five wrong codes (the free failures of an address), each refused as wrong.
    for _ in 0..5 {
        let r = with_code(&srv, &pending, "123456").await;
        assert_eq!(r.status, 401, "{}", r.body);
    }
    // Then even the right code is refused, unchecked, until the lockout ends.
    let right = code(&secret, step + 1);
    let r = with_code(&srv, &pending, &right).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(
        r.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("try again")),
        "{}",
        r.body
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let r = with_code(&srv, &pending, &right).await;
    assert_eq!(r.status, 200, "{}", r.body);
    srv.stop().await;
}

#[tokio::test]
async fn a_required_user_without_two_factor_is_led_to_enrol_at_sign_in() {
    let mut srv = TestServer::start().await;
    let owner = srv.login().await;
    // Not before the owner has it: they would lock themselves out.
    let r = send(
        &srv,
        Some(&owner),
        "PUT",
        "/api/settings/two-factor",
        json!({"required": true}),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    enrol(&srv, &owner).await;
    for (name, role) in [("ada", "admin"), ("vic", "viewer")] {
        let r = send(
            &srv,
            Some(&owner),
            "POST",
            "/api/users",
            json!({"username": name, "role": role, "groups": []}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let r = send(
            &srv,
            None,
            "POST",
            "/api/invites/accept",
            json!({"token": r.json()["token"], "password": PASSWORD}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    // Signed in before it was required: her session ends when it is; a viewer's does not.
    let before = send(
        &srv,
        None,
        "POST",
        "/api/login",
        json!({"username": "ada", "password": PASSWORD}),
    )
    .await;
    let before = before.cookie().expect("a session before it is required");
    let r = send(
        &srv,
        None,
        "POST",
        "/api/login",
        json!({"username": "vic", "password": PASSWORD}),
    )
    .await;
    let vic = r.cookie().expect("a viewer's session");
    let r = send(
        &srv,
        Some(&owner),
        "PUT",
        "/api/settings/two-factor",
        json!({"required": true}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        http(srv.addr, "GET", "/api/me", Some(&before), None)
            .await
            .status,
        401
    );
    assert_eq!(
        http(srv.addr, "GET", "/api/me", Some(&vic), None)
            .await
            .status,
        200
    );
    assert_eq!(
        http(srv.addr, "GET", "/api/me", Some(&owner), None)
            .await
            .status,
        200
    );
    // A viewer is not asked.
    let r = send(
        &srv,
        None,
        "POST",
        "/api/login",
        json!({"username": "vic", "password": PASSWORD}),
    )
    .await;
    assert!(r.cookie().is_some(), "{}", r.body);
    // An admin gets no session, only enrolment.
    let pending = password(&srv, "ada", PASSWORD, "enrol").await;
    let r = with_code(&srv, &pending, "123456").await;
    assert_eq!(r.status, 401, "{}", r.body);
    let r = send(
        &srv,
        None,
        "POST",
        "/api/login/enrol",
        json!({"pending": pending}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let secret = r.json()["secret"].as_str().expect("secret").to_owned();
    let r = send(
        &srv,
        None,
        "POST",
        "/api/login/enrol/confirm",
        json!({"pending": pending, "code": code(&secret, step_now())}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["recoveryCodes"].as_array().map(Vec::len),
        Some(10),
        "{}",
        r.body
    );
    let cookie = r.cookie().expect("a session once enrolled");
    let me = http(srv.addr, "GET", "/api/me", Some(&cookie), None).await;
    assert_eq!(me.json()["username"], "ada", "{}", me.body);
    // From now on her sign-in asks for a code.
    password(&srv, "ada", PASSWORD, "code").await;
    // Only the owner may change the setting.
    let r = send(
        &srv,
        Some(&cookie),
        "PUT",
        "/api/settings/two-factor",
        json!({"required": false}),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    srv.stop().await;
}
