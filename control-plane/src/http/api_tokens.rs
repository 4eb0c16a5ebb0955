//! API tokens (issue 20): a user's bearer credentials for scripts, `Authorization: Bearer
//! cairn_…`. A token is made with a name, a role no higher than its user's, optionally node
//! groups within its user's, and an expiry (at most a year); its secret is in the creation's
//! answer only, the store keeps its sha256.
//!
//! A bearer request becomes a [`Session`] whose `access` is the token's capped by its user's
//! *current* role and groups ([`effective`]), and goes through the same access check as a
//! dashboard session (`super::access`). A token of a disabled user, an expired or revoked
//! token, or an unknown one is refused with 401 and a sentence ([`bearer_session`]). Routes that
//! only a signed-in person may use (making tokens, changing the password, signing out, the
//! dashboard socket) refuse a token: a token cannot make a longer-lived one.

use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use warp::Reply;
use warp::http::{HeaderMap, StatusCode};
use warp::reply::Response;

use super::Request;
use crate::app::App;
use crate::roles::{Access, Role};
use crate::store::{self, ApiToken, User};
use crate::web::{Session, internal, json_error};

/// What every token's secret starts with (so a leaked one is recognisable in a scan).
pub const TOKEN_PREFIX: &str = "cairn_";
/// The longest a token may live, in seconds (a year).
pub const MAX_TTL_SECS: u64 = 366 * 24 * 3600;
/// The longest token name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Tokens per user, at most.
pub const MAX_TOKENS_PER_USER: usize = 50;

/// The stored form of a token's secret.
pub fn hash_secret(secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"cairn-api-token-v1\0");
    h.update(secret.as_bytes());
    hex::encode(h.finalize())
}

/// What a token may do now: the lower of its role and its user's, the token's groups that
/// are still its user's (its user's groups when the token named none), its user's grant.
pub fn effective(token: &ApiToken, user: &Access) -> Access {
    let role = token.role.min(user.role);
    let groups = if token.groups.is_empty() {
        user.groups.clone()
    } else if user.role.scoped() {
        token
            .groups
            .iter()
            .filter(|g| user.groups.contains(g))
            .cloned()
            .collect()
    } else {
        token.groups.clone()
    };
    Access {
        role,
        groups,
        destroy: user.destroy,
    }
}

/// Why a token found by its hash may not be used now, as a sentence; `None` when it may.
pub fn unusable(token: &ApiToken, user: &User, now: u64) -> Option<String> {
    if user.disabled {
        return Some(format!(
            "the user \"{}\" is disabled, and so are their API tokens; ask the owner",
            user.username
        ));
    }
    if token.revoked_at.is_some() {
        return Some(format!(
            "the API token \"{}\" was revoked; create a new one on your account page",
            token.name
        ));
    }
    if token.expires_at <= now {
        return Some(format!(
            "the API token \"{}\" has expired; create a new one on your account page",
            token.name
        ));
    }
    None
}

/// The bearer token of a request: `None` without an `Authorization: Bearer` header.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get(warp::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim().to_owned())
}

/// The session of a request sent with `Authorization: Bearer`: `None` without one, else the
/// token's session or the sentence refusing it (401).
pub async fn bearer_session(app: &App, headers: &HeaderMap) -> Option<Result<Session, String>> {
    let secret = bearer(headers)?;
    let unknown = "this API token is not known: check it was copied whole, or create a new one \
                   on your account page"
        .to_owned();
    if !secret.starts_with(TOKEN_PREFIX) {
        return Some(Err(unknown));
    }
    let hash = hash_secret(&secret);
    let now = cairn_protocol::unix_now();
    Some(
        match store::blocking(&app.store, move |s| s.api_token_user(&hash, now)).await {
            Ok(Some((token, user))) => match unusable(&token, &user, now) {
                Some(why) => Err(why),
                None => Ok(Session {
                    access: effective(&token, &user.access),
                    username: user.username,
                    id_hash: String::new(),
                    token: Some(token.name),
                }),
            },
            Ok(None) => Err(unknown),
            Err(error) => {
                tracing::error!(%error, "API token lookup failed");
                Err("the control plane could not check this API token; see its log".to_owned())
            }
        },
    )
}

fn token_json(t: &ApiToken, now: u64) -> serde_json::Value {
    json!({
        "id": t.id,
        "username": t.username,
        "name": t.name,
        "role": t.role,
        "groups": t.groups,
        "createdAt": t.created_at,
        "expiresAt": t.expires_at,
        "lastUsedAt": t.last_used_at,
        "revokedAt": t.revoked_at,
        "expired": t.expires_at <= now,
    })
}

fn bad(message: &str) -> Response {
    json_error(StatusCode::BAD_REQUEST, message)
}

/// `GET /api/me/tokens` (one's own) and `GET /api/api-tokens` (the owner: everyone's).
pub(super) async fn list(app: &App, s: Option<Session>) -> Response {
    let now = cairn_protocol::unix_now();
    let who = s.map(|s| s.username);
    match store::blocking(&app.store, move |st| st.api_tokens(who.as_deref())).await {
        Ok(tokens) => warp::reply::json(
            &tokens
                .iter()
                .map(|t| token_json(t, now))
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateBody {
    name: String,
    role: Role,
    #[serde(default)]
    groups: Vec<String>,
    /// Seconds from now.
    expires_in: u64,
}

/// Checks a creation against the user's access; the token's groups, or the sentence.
fn check_create(body: &CreateBody, user: &Access) -> Result<Vec<String>, String> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "name the token (1 to {MAX_NAME_CHARS} characters), e.g. \"deploy script\""
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("a token's name cannot hold control characters".to_owned());
    }
    if body.expires_in == 0 || body.expires_in > MAX_TTL_SECS {
        return Err(
            "a token expires within a year: send expiresIn, in seconds, from 1 to \
                    31622400"
                .to_owned(),
        );
    }
    if body.role > user.role {
        return Err(format!(
            "a token's role cannot be higher than yours ({}); choose {} or lower",
            user.role, user.role
        ));
    }
    let mut groups: Vec<String> = Vec::new();
    for g in &body.groups {
        let g = g.trim().to_owned();
        if g.is_empty() || groups.contains(&g) {
            continue;
        }
        if user.role.scoped() && !user.groups.contains(&g) {
            return Err(format!(
                "the group \"{g}\" is not one of yours; a token's groups are among your own"
            ));
        }
        groups.push(g);
    }
    if groups.len() > 32 {
        return Err("a token has at most 32 groups".to_owned());
    }
    if body.role.scoped() && !user.role.scoped() && groups.is_empty() {
        return Err(format!(
            "a {} token sees only the nodes of its groups: name at least one group",
            body.role
        ));
    }
    Ok(groups)
}

/// `POST /api/me/tokens`: a new token; its secret is in this answer only.
pub(super) async fn create(app: &App, s: Session, req: Request) -> Response {
    let Ok(body) = serde_json::from_slice::<CreateBody>(&req.body) else {
        return bad(
            "send {\"name\": \"deploy\", \"role\": \"viewer\", \"groups\": [\"web\"], \
             \"expiresIn\": 2592000} as JSON; the role is owner, admin, operator or viewer, \
             expiresIn is in seconds (at most a year)",
        );
    };
    let groups = match check_create(&body, &s.access) {
        Ok(g) => g,
        Err(why) => return bad(&why),
    };
    let who = s.username.clone();
    let count = match store::blocking(&app.store, move |st| st.api_tokens(Some(&who))).await {
        Ok(t) => t.iter().filter(|t| t.revoked_at.is_none()).count(),
        Err(e) => return internal(e),
    };
    if count >= MAX_TOKENS_PER_USER {
        return json_error(
            StatusCode::CONFLICT,
            &format!("you have {MAX_TOKENS_PER_USER} tokens already; revoke one first"),
        );
    }
    let (secret, id) = match (cairn_protocol::new_token(), cairn_protocol::new_token()) {
        (Ok(secret), Ok(id)) => (format!("{TOKEN_PREFIX}{secret}"), id[..16].to_owned()),
        (Err(e), _) | (_, Err(e)) => return internal(e),
    };
    let now = cairn_protocol::unix_now();
    let token = ApiToken {
        id,
        username: s.username.clone(),
        name: body.name.trim().to_owned(),
        role: body.role,
        groups,
        created_at: now,
        expires_at: now + body.expires_in,
        last_used_at: None,
        revoked_at: None,
    };
    let hash = hash_secret(&secret);
    let stored = token.clone();
    if let Err(e) = store::blocking(&app.store, move |st| st.create_api_token(&stored, &hash)).await
    {
        return internal(e);
    }
    let target = format!(
        "{} {} [{}]",
        token.name,
        token.role,
        token.groups.join(", ")
    );
    app.audit(&s.who(), "api-token.create", &target, "ok").await;
    let mut answer = token_json(&token, now);
    answer["token"] = secret.into();
    warp::reply::with_status(warp::reply::json(&answer), StatusCode::CREATED).into_response()
}

/// `DELETE /api/me/tokens/{id}` (`mine`: one's own) and `DELETE /api/api-tokens/{id}` (the
/// owner: anyone's).
pub(super) async fn revoke(app: &App, s: Session, req: Request, mine: bool) -> Response {
    let id = req.params.first().cloned().unwrap_or_default();
    let owner = mine.then(|| s.username.clone());
    let (rid, now) = (id.clone(), cairn_protocol::unix_now());
    match store::blocking(&app.store, move |st| {
        st.revoke_api_token(&rid, owner.as_deref(), now)
    })
    .await
    {
        Ok(Some(t)) => {
            let target = format!("{} of {}", t.name, t.username);
            app.audit(&s.who(), "api-token.revoke", &target, "ok").await;
            warp::reply::json(&json!({"id": t.id, "revoked": true})).into_response()
        }
        Ok(None) => json_error(
            StatusCode::NOT_FOUND,
            &format!(
                "there is no API token \"{id}\"{}",
                if mine { " of yours" } else { "" }
            ),
        ),
        Err(e) => internal(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(role: Role, groups: &[&str]) -> ApiToken {
        ApiToken {
            id: "t".into(),
            username: "ana".into(),
            name: "deploy".into(),
            role,
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            created_at: 0,
            expires_at: 100,
            last_used_at: None,
            revoked_at: None,
        }
    }

    fn access(role: Role, groups: &[&str]) -> Access {
        Access {
            role,
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            destroy: false,
        }
    }

    #[test]
    fn a_token_never_exceeds_its_user() {
        // The user was lowered after the token was made: the lower role wins.
        let e = effective(&token(Role::Admin, &[]), &access(Role::Viewer, &["web"]));
        assert_eq!(e.role, Role::Viewer);
        assert_eq!(e.groups, vec!["web".to_owned()]);
        // A group taken from the user is taken from the token.
        let e = effective(
            &token(Role::Operator, &["web", "db"]),
            &access(Role::Operator, &["web"]),
        );
        assert_eq!(e.groups, vec!["web".to_owned()]);
        // An admin's viewer token keeps to its groups.
        let e = effective(&token(Role::Viewer, &["db"]), &access(Role::Admin, &[]));
        assert_eq!((e.role, e.groups), (Role::Viewer, vec!["db".to_owned()]));
    }

    #[test]
    fn creation_is_checked_against_the_user() {
        let body = |role, groups: &[&str], expires_in| CreateBody {
            name: "deploy".into(),
            role,
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            expires_in,
        };
        let op = access(Role::Operator, &["web"]);
        assert!(check_create(&body(Role::Admin, &[], 60), &op).is_err());
        assert!(check_create(&body(Role::Viewer, &["db"], 60), &op).is_err());
        assert!(check_create(&body(Role::Viewer, &["web"], 0), &op).is_err());
        assert!(check_create(&body(Role::Viewer, &["web"], MAX_TTL_SECS + 1), &op).is_err());
        assert_eq!(
            check_create(&body(Role::Viewer, &["web"], 60), &op),
            Ok(vec!["web".to_owned()])
        );
        let admin = access(Role::Admin, &[]);
        assert!(check_create(&body(Role::Viewer, &[], 60), &admin).is_err());
        assert!(check_create(&body(Role::Admin, &[], 60), &admin).is_ok());
    }

    #[test]
    fn unusable_says_why() {
        let user = User {
            username: "ana".into(),
            password_hash: String::new(),
            access: access(Role::Admin, &[]),
            disabled: false,
            created_at: 0,
            password_changed_at: 0,
        };
        let t = token(Role::Admin, &[]);
        assert_eq!(unusable(&t, &user, 50), None);
        assert!(unusable(&t, &user, 100).is_some_and(|w| w.contains("expired")));
        let mut revoked = t.clone();
        revoked.revoked_at = Some(10);
        assert!(unusable(&revoked, &user, 50).is_some_and(|w| w.contains("revoked")));
        let mut off = user.clone();
        off.disabled = true;
        assert!(unusable(&t, &off, 50).is_some_and(|w| w.contains("disabled")));
    }
}
