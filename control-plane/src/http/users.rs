//! Users (issue 20): the owner lists, invites, changes, disables and resets users; anyone with
//! the link accepts an invitation or a reset; a signed-in user changes their own password.
//!
//! - `GET /api/users`, `POST /api/users` (an invitation: a one-time link, shown once, expiring
//!   after [`auth::INVITE_TTL_SECS`], stored hashed), `PATCH /api/users/{id}` (role, groups,
//!   grant, disabled; disabling ends the user's sessions at once), `POST /api/users/{id}/reset`
//!   (a new one-time link; the user's sessions and old password end now): owner only, by the
//!   route table.
//! - Accepting a link and changing one's own password: [`super::passwords`].
//!
//! Every change is audited under the acting user's name.

use serde::Deserialize;
use serde_json::json;
use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

use super::Request;
use crate::app::App;
use crate::auth;
use crate::roles::{Access, Role};
use crate::store::{self, Invite, User};
use crate::web::{Session, install_base, internal, json_error};

/// Shortest password accepted for a new or changed password.
pub const MIN_PASSWORD_CHARS: usize = 10;
const MAX_PASSWORD_CHARS: usize = 1024;
/// Most node groups a user may have.
const MAX_GROUPS: usize = 32;
/// A reset link leaves this in place of the password: no password matches it.
const NO_PASSWORD: &str = "!reset";

pub(super) fn bad(message: &str) -> Response {
    json_error(StatusCode::BAD_REQUEST, message)
}

/// A username: 1 to 32 lowercase letters, digits, dots, dashes or underscores, starting with a
/// letter.
pub fn check_username(name: &str) -> Result<(), String> {
    let ok = (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "\"{name}\" is not a username: use 1 to 32 lowercase letters, digits, dots, dashes \
             or underscores, starting with a letter"
        ))
    }
}

pub(super) fn check_password(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(format!(
            "a password has at least {MIN_PASSWORD_CHARS} characters; choose a longer one"
        ));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(format!(
            "a password has at most {MAX_PASSWORD_CHARS} characters"
        ));
    }
    Ok(())
}

fn check_groups(groups: &[String]) -> Result<Vec<String>, String> {
    if groups.len() > MAX_GROUPS {
        return Err(format!("a user has at most {MAX_GROUPS} groups"));
    }
    // Groups are node tags: the same rules.
    let mut out = super::check_tags(groups).map_err(|e| e.replace("tag", "group"))?;
    out.sort();
    Ok(out)
}

fn user_json(u: &User) -> serde_json::Value {
    json!({
        "username": u.username,
        "role": u.access.role,
        "groups": u.access.groups,
        "mayDestroy": u.access.may_destroy(),
        "disabled": u.disabled,
        "createdAt": u.created_at,
        "passwordChangedAt": u.password_changed_at,
    })
}

pub(super) async fn hash(app: &App, password: String) -> Result<String, Response> {
    let params = app.config.argon2_params.clone();
    match tokio::task::spawn_blocking(move || auth::hash_password(&password, &params)).await {
        Ok(Ok(h)) => Ok(h),
        Ok(Err(e)) => Err(internal(e)),
        Err(e) => Err(internal(e)),
    }
}

/// `GET /api/users`.
pub(super) async fn list(app: &App) -> Response {
    match store::blocking(&app.store, |s| s.users()).await {
        Ok(users) => {
            warp::reply::json(&users.iter().map(user_json).collect::<Vec<_>>()).into_response()
        }
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct InviteBody {
    username: String,
    role: Role,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    may_destroy: bool,
}

/// A new one-time link for `username`; its secret is in the answer only.
async fn link(
    app: &App,
    s: &Session,
    req: &Request,
    username: &str,
    reset: bool,
    access: Access,
) -> Response {
    let secret = match cairn_protocol::new_token() {
        Ok(t) => t,
        Err(e) => return internal(e),
    };
    let now = cairn_protocol::unix_now();
    let invite = Invite {
        token_hash: auth::hash_invite_token(&secret),
        username: username.to_owned(),
        reset,
        access,
        created_by: s.username.clone(),
        created_at: now,
        expires_at: now + auth::INVITE_TTL_SECS,
    };
    let expires_at = invite.expires_at;
    if let Err(e) = store::blocking(&app.store, move |st| st.create_invite(&invite)).await {
        return internal(e);
    }
    // The secret after `#`: a browser never sends it to a server, so no log keeps it.
    let url = format!("{}/invite#{secret}", install_base(app, &req.headers));
    warp::reply::with_status(
        warp::reply::json(&json!({
            "username": username,
            "token": secret,
            "link": url,
            "expiresAt": expires_at,
        })),
        StatusCode::CREATED,
    )
    .into_response()
}

/// `POST /api/users`: an invitation.
pub(super) async fn invite(app: &App, s: Session, req: Request) -> Response {
    let Ok(body) = serde_json::from_slice::<InviteBody>(&req.body) else {
        return bad(
            "send {\"username\": \"ana\", \"role\": \"operator\", \"groups\": [\"web\"]} as JSON; \
             the role is owner, admin, operator or viewer",
        );
    };
    if let Err(why) = check_username(&body.username) {
        return bad(&why);
    }
    let groups = match check_groups(&body.groups) {
        Ok(g) => g,
        Err(why) => return bad(&why),
    };
    let lookup = body.username.clone();
    match store::blocking(&app.store, move |st| st.user(&lookup)).await {
        Ok(Some(_)) => {
            return json_error(
                StatusCode::CONFLICT,
                &format!(
                    "there is already a user \"{}\"; choose another name, or reset their password",
                    body.username
                ),
            );
        }
        Ok(None) => {}
        Err(e) => return internal(e),
    }
    let access = Access {
        role: body.role,
        groups,
        destroy: body.may_destroy,
    };
    let target = format!(
        "{} {} [{}]",
        body.username,
        access.role,
        access.groups.join(", ")
    );
    let reply = link(app, &s, &req, &body.username, false, access).await;
    if reply.status() == StatusCode::CREATED {
        app.audit(&s.who(), "user.invite", &target, "ok").await;
    }
    reply
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ChangeBody {
    role: Option<Role>,
    groups: Option<Vec<String>>,
    may_destroy: Option<bool>,
    disabled: Option<bool>,
}

/// `PATCH /api/users/{id}`.
pub(super) async fn change(app: &App, s: Session, req: Request) -> Response {
    let name = req.params.first().cloned().unwrap_or_default();
    let Ok(body) = serde_json::from_slice::<ChangeBody>(&req.body) else {
        return bad(
            "send any of {\"role\": \"viewer\", \"groups\": [\"web\"], \"mayDestroy\": false, \
             \"disabled\": true} as JSON",
        );
    };
    if body.role.is_none()
        && body.groups.is_none()
        && body.may_destroy.is_none()
        && body.disabled.is_none()
    {
        return bad("nothing to change: send a role, groups, mayDestroy or disabled");
    }
    if name == s.username && (body.role.is_some() || body.disabled == Some(true)) {
        return json_error(
            StatusCode::CONFLICT,
            "you cannot change your own role or disable yourself: another owner has to, so the \
             control plane always keeps an owner",
        );
    }
    let groups = match body.groups.as_deref().map(check_groups).transpose() {
        Ok(g) => g,
        Err(why) => return bad(&why),
    };
    let lookup = name.clone();
    let user = match store::blocking(&app.store, move |st| st.user(&lookup)).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            return json_error(
                StatusCode::NOT_FOUND,
                &format!("there is no user \"{name}\""),
            );
        }
        Err(e) => return internal(e),
    };
    let access = Access {
        role: body.role.unwrap_or(user.access.role),
        groups: groups.unwrap_or(user.access.groups.clone()),
        destroy: body.may_destroy.unwrap_or(user.access.destroy),
    };
    let (who, a, disabled) = (name.clone(), access.clone(), body.disabled);
    let changed = store::blocking(&app.store, move |st| {
        st.set_user_access(&who, &a)?;
        if let Some(d) = disabled {
            st.set_user_disabled(&who, d)?;
        }
        st.user(&who)
    })
    .await;
    // Disabled: its sockets close; otherwise they stop watching nodes now out of reach.
    app.sessions_changed(&name);
    let user = match changed {
        Ok(Some(u)) => u,
        Ok(None) => return json_error(StatusCode::NOT_FOUND, "the user was removed meanwhile"),
        Err(e) => return internal(e),
    };
    let mut what = vec![format!(
        "role {} groups [{}] mayDestroy {}",
        access.role,
        access.groups.join(", "),
        access.destroy
    )];
    if let Some(d) = body.disabled {
        what.push(if d { "disabled" } else { "enabled" }.to_owned());
    }
    let action = match body.disabled {
        Some(true) => "user.disable",
        Some(false) => "user.enable",
        None => "user.change",
    };
    app.audit(
        &s.who(),
        action,
        &format!("{name}: {}", what.join(", ")),
        "ok",
    )
    .await;
    warp::reply::json(&user_json(&user)).into_response()
}

/// `POST /api/users/{id}/reset`: a new one-time link; the user's password and sessions end now.
pub(super) async fn reset(app: &App, s: Session, req: Request) -> Response {
    let name = req.params.first().cloned().unwrap_or_default();
    if name == s.username {
        return json_error(
            StatusCode::CONFLICT,
            "a reset would sign you out with no password until the link is used; change your \
             own password on your account page instead",
        );
    }
    let (who, now) = (name.clone(), cairn_protocol::unix_now());
    let user = match store::blocking(&app.store, move |st| {
        let user = st.user(&who)?;
        if user.is_some() {
            st.set_user_password(&who, NO_PASSWORD, now)?;
        }
        Ok(user)
    })
    .await
    {
        Ok(Some(u)) => u,
        Ok(None) => {
            return json_error(
                StatusCode::NOT_FOUND,
                &format!("there is no user \"{name}\""),
            );
        }
        Err(e) => return internal(e),
    };
    app.sessions_changed(&name);
    let reply = link(app, &s, &req, &name, true, user.access).await;
    if reply.status() == StatusCode::CREATED {
        app.audit(&s.who(), "user.reset", &name, "ok").await;
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_plain_lowercase_words() {
        assert!(check_username("ana").is_ok());
        assert!(check_username("ana.b-c_1").is_ok());
        for bad in ["", "Ana", "1ana", "ana b", "ana/..", &"a".repeat(33)] {
            assert!(check_username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_short_password_is_refused_with_a_sentence() {
        let why = check_password("short").expect_err("a short password is refused");
        assert!(why.contains("at least 10"), "{why}");
        assert!(check_password("long enough pass").is_ok());
    }
}
