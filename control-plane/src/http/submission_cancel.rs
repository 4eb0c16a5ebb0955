//! Cancelling a pending recipe submission (Day 2: everything can be undone from the page): an
//! operator takes back what they sent instead of waiting for an admin to reject it, and their
//! account's pending cap (`crate::submissions::quota`) is freed at once. Its own account may
//! (a token of theirs too: it could send it); an admin or owner may cancel another account's,
//! in a dashboard session only, as deciding is. A cancelled submission is `cancelled`, never
//! `rejected` (no admin judged it), publishes nothing, and is audited as `recipe.cancel`.

use serde_json::json;
use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

use super::Request;
use super::submissions::{decide, find, not_pending};
use crate::app::App;
use crate::roles::Role;
use crate::store::SubmissionState;
use crate::web::{Session, add_said, json_error};

/// `POST /api/recipes/submissions/{id}/cancel`: takes back a pending submission. Its own
/// account may (any of its tokens: they could send it); an admin or owner may cancel
/// another's, in a dashboard session only, as deciding is (a leaked token of an admin's must
/// not clear the review queue).
pub(super) async fn cancel(app: &App, s: Session, req: Request) -> Response {
    let sub = match find(app, &req).await {
        Ok(sub) => sub,
        Err(r) => return r,
    };
    if sub.submitter != s.username {
        let (id, submitter) = (&sub.id, &sub.submitter);
        if !s.access.allows(Role::Admin) {
            return json_error(
                StatusCode::FORBIDDEN,
                &format!(
                    "submission {id} was sent by {submitter}: only its submitter or an admin may \
                     cancel it; nothing was changed"
                ),
            );
        }
        if s.token.is_some() {
            return json_error(
                StatusCode::FORBIDDEN,
                &format!(
                    "submission {id} was sent by {submitter}: an API token cancels only its own \
                     account's submissions, so cancel it in the dashboard; nothing was changed"
                ),
            );
        }
    }
    if sub.state != SubmissionState::Pending {
        return not_pending(&sub);
    }
    if let Err(r) = decide(app, &s, &sub, SubmissionState::Cancelled).await {
        return r;
    }
    let target = format!("{} v{}", sub.recipe_id, sub.version);
    let detail = if sub.submitter == s.username {
        format!(
            "cancelled {} by its submitter; nothing was published",
            sub.id
        )
    } else {
        format!(
            "cancelled {} of {} by an admin; nothing was published",
            sub.id, sub.submitted_by
        )
    };
    app.audit(&s.who(), "recipe.cancel", &target, &detail).await;
    let message =
        format!("Cancelled {target}: it was never published and no longer waits for review.");
    let mut body = json!({
        "id": sub.id,
        "state": SubmissionState::Cancelled,
        "message": message,
    });
    add_said(&mut body, &message, "messageCode", "messageArgs");
    warp::reply::json(&body).into_response()
}
