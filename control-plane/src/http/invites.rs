//! Pending invitations (issue 20's links, seen and undone from the Users page): `GET
//! /api/invites` lists the invitations not yet accepted and not expired (who, role, groups, by
//! whom, until when; never the link, whose secret is only ever in the answer that made it), and
//! `DELETE /api/invites/{id}` cancels one (`id` is the invited user's name): its link stops
//! working at once. Owner only, by the route table; a cancellation is audited.

use serde_json::json;
use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

use super::Request;
use crate::app::App;
use crate::store;
use crate::web::{Session, internal, json_error};

/// `GET /api/invites`.
pub(super) async fn list(app: &App) -> Response {
    let now = cairn_protocol::unix_now();
    match store::blocking(&app.store, move |st| st.pending_invites(now)).await {
        Ok(all) => warp::reply::json(
            &all.iter()
                .map(|i| {
                    json!({
                        "username": i.username,
                        "role": i.access.role,
                        "groups": i.access.groups,
                        "mayDestroy": i.access.destroy,
                        "createdBy": i.created_by,
                        "createdAt": i.created_at,
                        "expiresAt": i.expires_at,
                    })
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => internal(e),
    }
}

/// `DELETE /api/invites/{id}`.
pub(super) async fn cancel(app: &App, s: Session, req: Request) -> Response {
    let name = req.params.first().cloned().unwrap_or_default();
    let who = name.clone();
    match store::blocking(&app.store, move |st| st.cancel_invite(&who)).await {
        Ok(true) => {}
        Ok(false) => {
            return json_error(
                StatusCode::NOT_FOUND,
                &format!("there is no pending invitation for \"{name}\"; nothing was changed"),
            );
        }
        Err(e) => return internal(e),
    }
    app.audit(&s.who(), "user.invite.cancel", &name, "ok").await;
    warp::reply::json(&json!({
        "username": name,
        "message": format!("Cancelled the invitation of {name}: its link no longer works."),
    }))
    .into_response()
}
