//! Recipe submissions' routes (issue 22): submit (operators and up, API tokens too, so
//! `cairn-recipe publish` can), list, show one with its diff against the published version,
//! approve and reject (admins and owners, in a dashboard session only: a leaked CI token cannot
//! approve its own upload, `RouteId::session_only`). What a submission is checked with and
//! compared by is `crate::submissions`.
//!
//! Approval signs: the registry is loaded again with the approved submission as an overlay,
//! checked to publish it, and only then is the submission marked approved and the new registry
//! put in place, so agents get the new version from the next job on and never before.
//!
//! A submission that would take its account's pending submissions, or all of them, past
//! `submissions::quota::CAPS` is refused with 429 and a sentence, nothing stored.
//!
//! Its submitter may cancel a pending submission, and so may an admin
//! (`super::submission_cancel`).
//!
//! Withdrawal undoes an approval the same way round (`crate::submissions::withdrawal`): the
//! registry as it will be is loaded and checked first, the admin types the recipe's id, and
//! only then is the submission marked withdrawn and the new registry put in place. `show`
//! carries the withdrawal's plan for the submission published now.

use std::sync::Arc;

use serde::Serialize;
use serde_json::json;
use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

use super::Request;
use crate::app::App;
use crate::registry::Registry;
use crate::store::{self, Submission, SubmissionState};
use crate::submissions::{self, Refused, Upload, diff, quota, withdrawal};
use crate::web::{Session, add_said, internal, json_error};

/// A submission as lists show it: everything but its files.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Listed<'a> {
    id: &'a str,
    recipe_id: &'a str,
    version: u64,
    base_version: Option<u64>,
    submitted_by: &'a str,
    /// The account it counts against (whichever token sent it): who may cancel it.
    submitter: &'a str,
    submitted_at: u64,
    state: SubmissionState,
    decided_by: Option<&'a str>,
    decided_at: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    withdrawn: Option<&'a store::Withdrawal>,
    warnings: &'a [String],
    /// The capabilities it added to the version published when it was sent, in words.
    grown: &'a [String],
}

fn listed(s: &Submission) -> Listed<'_> {
    Listed {
        id: &s.id,
        recipe_id: &s.recipe_id,
        version: s.version,
        base_version: s.base_version,
        submitted_by: &s.submitted_by,
        submitter: &s.submitter,
        submitted_at: s.submitted_at,
        state: s.state,
        decided_by: s.decided_by.as_deref(),
        decided_at: s.decided_at,
        withdrawn: s.withdrawn.as_ref(),
        warnings: &s.warnings,
        grown: &s.grown,
    }
}

fn with_status(status: StatusCode, value: &serde_json::Value) -> Response {
    warp::reply::with_status(warp::reply::json(value), status).into_response()
}

fn refused(r: Refused) -> Response {
    match r {
        Refused::Bad(why) => json_error(StatusCode::BAD_REQUEST, &why),
        Refused::NotNewer(why) => json_error(StatusCode::CONFLICT, &why),
        Refused::Check {
            message,
            diagnostics,
        } => {
            let mut body = json!({
                "error": message,
                "diagnostics": diagnostics.iter().map(|d| json!({
                    "line": d.line,
                    "col": d.col,
                    "severity": d.severity,
                    "code": d.code,
                    "message": d.message,
                    "hint": d.hint,
                    "at": submissions::at(d),
                })).collect::<Vec<_>>(),
            });
            add_said(&mut body, &message, "code", "args");
            with_status(StatusCode::UNPROCESSABLE_ENTITY, &body)
        }
    }
}

/// `grew: program curl (downloads files), …`, or that nothing grew.
fn grew_words(grown: &[String]) -> String {
    if grown.is_empty() {
        "no capability grew".to_owned()
    } else {
        format!("grew: {}", grown.join(", "))
    }
}

/// `POST /api/recipes/submissions`.
pub(super) async fn submit(app: &Arc<App>, s: Session, req: Request) -> Response {
    let upload: Upload = match serde_json::from_slice(&req.body) {
        Ok(u) => u,
        Err(_) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "send the recipe as JSON: its text as \"source\", its file's name as \"file\" \
                 and its companion files as \"files\" (each name with its text)",
            );
        }
    };
    let checked = match tokio::task::spawn_blocking(move || submissions::check(&upload)).await {
        Ok(Ok(c)) => c,
        Ok(Err(r)) => return refused(r),
        Err(e) => return internal(e),
    };
    let meta = &checked.recipe.meta;
    let (old, new) = {
        let reg = app.registry();
        if let Err(r) = submissions::newer(&reg, &meta.id, meta.version) {
            return refused(r);
        }
        (
            submissions::published(&reg, &meta.id),
            submissions::side(&checked.recipe, &checked.files),
        )
    };
    let base = old.as_ref().map(|o| o.version);
    let compared = match diff::diff_off_thread(old, new).await {
        Ok(d) => d,
        Err(e) => return internal(e),
    };
    let id = match cairn_protocol::new_id() {
        Ok(id) => format!("sub-{}", &id[..12]),
        Err(e) => return internal(e),
    };
    let row = Submission {
        id: id.clone(),
        recipe_id: meta.id.clone(),
        version: meta.version,
        source: checked.recipe.source.clone(),
        files: checked.files.clone(),
        warnings: checked.warnings.clone(),
        grown: compared.grown.clone(),
        base_version: base,
        submitted_by: s.who(),
        submitter: s.username.clone(),
        submitted_at: cairn_protocol::unix_now(),
        state: SubmissionState::Pending,
        decided_by: None,
        decided_at: None,
        withdrawn: None,
    };
    let stored = row.clone();
    let created = store::blocking(&app.store, move |st| {
        st.create_submission(&stored, &quota::CAPS)
    })
    .await;
    let superseded = match created {
        Ok(Ok(ids)) => ids,
        Ok(Err(over)) => {
            return json_error(
                StatusCode::TOO_MANY_REQUESTS,
                &quota::refusal(&over, &quota::CAPS),
            );
        }
        Err(e) => return internal(e),
    };
    let target = format!("{} v{}", row.recipe_id, row.version);
    app.audit(
        &s.who(),
        "recipe.submit",
        &target,
        &format!("pending as {id}; {}", grew_words(&row.grown)),
    )
    .await;
    let message = format!(
        "{target} is submitted as {id} and waits for an admin: no server gets it until an admin \
         approves it in the dashboard (Recipes, Submissions)"
    );
    let mut body = json!({
        "submission": listed(&row),
        "diff": compared,
        "superseded": superseded,
        "message": message,
    });
    add_said(&mut body, &message, "messageCode", "messageArgs");
    with_status(StatusCode::CREATED, &body)
}

/// `GET /api/recipes/submissions`.
pub(super) async fn list(app: &App) -> Response {
    match store::blocking(&app.store, |s| s.submissions()).await {
        Ok(all) => warp::reply::json(&all.iter().map(listed).collect::<Vec<_>>()).into_response(),
        Err(e) => internal(e),
    }
}

pub(super) async fn find(app: &App, req: &Request) -> Result<Submission, Response> {
    let id = req.params.first().cloned().unwrap_or_default();
    match store::blocking(&app.store, move |s| s.submission(&id)).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(json_error(
            StatusCode::NOT_FOUND,
            "there is no recipe submission with this id",
        )),
        Err(e) => Err(internal(e)),
    }
}

/// The two sides of the submission's diff against what is published now.
fn sides(reg: &Registry, sub: &Submission) -> Result<(Option<diff::Side>, diff::Side), String> {
    let recipe = cairn_engine::Recipe::parse(&format!("{}.rhai", sub.recipe_id), &sub.source)
        .map_err(|e| e.to_string())?;
    Ok((
        submissions::published(reg, &sub.recipe_id),
        submissions::side(&recipe, &sub.files),
    ))
}

/// The submission's diff against what is published now, off the async threads.
async fn compare(app: &App, sub: &Submission) -> Result<diff::Diff, String> {
    let (old, new) = sides(&app.registry(), sub)?;
    diff::diff_off_thread(old, new).await
}

/// `GET /api/recipes/submissions/{id}`: the submission, its files and its diff (and, for the
/// submission published now, what withdrawing it would do).
pub(super) async fn show(app: &Arc<App>, req: Request) -> Response {
    let sub = match find(app, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let compared = compare(app, &sub).await;
    let mut body = json!({
        "submission": listed(&sub),
        "source": sub.source,
        "files": sub.files.iter().map(|(n, t)| json!({"name": n, "text": t})).collect::<Vec<_>>(),
    });
    match compared {
        Ok(d) => body["diff"] = json!(d),
        Err(e) => {
            let why = format!("the diff could not be made: {e}");
            add_said(&mut body, &why, "diffErrorCode", "diffErrorArgs");
            body["diffError"] = json!(why);
        }
    }
    if app.registry().catalogue.iter().any(|e| {
        e.published && e.id == sub.recipe_id && e.submission.as_deref() == Some(sub.id.as_str())
    }) {
        match withdrawal::plan(app, &sub).await {
            Ok((plan, _)) => body["withdrawal"] = json!(plan),
            Err(withdrawal::Refused::Internal(e)) => return internal(e),
            Err(
                withdrawal::Refused::NotPublished(why) | withdrawal::Refused::Unpublishable(why),
            ) => {
                body["withdrawalError"] = json!(why);
            }
        }
    }
    warp::reply::json(&body).into_response()
}

pub(super) fn not_pending(sub: &Submission) -> Response {
    let id = &sub.id;
    let why = match sub.state {
        SubmissionState::Approved => {
            format!("submission {id} is approved already, not pending; nothing was changed")
        }
        SubmissionState::Rejected => {
            format!("submission {id} is rejected already, not pending; nothing was changed")
        }
        SubmissionState::Superseded => format!(
            "submission {id} is superseded by a newer one, not pending; nothing was changed"
        ),
        SubmissionState::Withdrawn => format!(
            "submission {id} was approved and then withdrawn, not pending; nothing was changed"
        ),
        SubmissionState::Cancelled => {
            format!("submission {id} is cancelled already, not pending; nothing was changed")
        }
        // Read pending, then decided by someone else before this decision was stored.
        SubmissionState::Pending => format!(
            "submission {id} was just decided by someone else; reload the page to see how; \
             nothing was changed"
        ),
    };
    json_error(StatusCode::CONFLICT, &why)
}

/// `POST /api/recipes/submissions/{id}/approve`: signs and publishes it.
pub(super) async fn approve(app: &Arc<App>, s: Session, req: Request) -> Response {
    let sub = match find(app, &req).await {
        Ok(sub) => sub,
        Err(r) => return r,
    };
    if sub.state != SubmissionState::Pending {
        return not_pending(&sub);
    }
    if let Err(r) = submissions::newer(&app.registry(), &sub.recipe_id, sub.version) {
        return refused(r);
    }
    let compared = match compare(app, &sub).await {
        Ok(d) => d,
        Err(e) => {
            return json_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("the engine no longer reads this recipe; nothing was changed: {e}"),
            );
        }
    };
    // The registry as it will be: every approved submission, this one included, built in the
    // registry's turn, held until the decision is stored and the registry swapped.
    let rebuilt = match submissions::rebuild(app, Some(submissions::overlay(&sub))).await {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let entry = rebuilt
        .registry
        .catalogue
        .iter()
        .find(|e| e.id == sub.recipe_id);
    if !entry.is_some_and(|e| e.published && e.submission.as_deref() == Some(sub.id.as_str())) {
        let id = &sub.id;
        let why = match entry.and_then(|e| e.error.clone()) {
            Some(why) => {
                format!("the registry could not publish {id}; nothing was changed: {why}")
            }
            None => format!(
                "the registry could not publish {id}; nothing was changed: a recipe in recipes/ \
                 is as new or newer"
            ),
        };
        return json_error(StatusCode::CONFLICT, &why);
    }
    if let Err(r) = decide(app, &s, &sub, SubmissionState::Approved).await {
        return r;
    }
    rebuilt.publish();
    let target = format!("{} v{}", sub.recipe_id, sub.version);
    app.audit(
        &s.who(),
        "recipe.approve",
        &target,
        &format!(
            "signed and published {}; {}",
            sub.id,
            grew_words(&compared.grown)
        ),
    )
    .await;
    let message = if compared.grown.is_empty() {
        format!("Signed {target} and offered it to every server; it gains no capability.")
    } else {
        let grown = compared.grown.join(", ");
        format!("Signed {target} and offered it to every server; it gains: {grown}.")
    };
    let mut body = json!({
        "id": sub.id,
        "state": SubmissionState::Approved,
        "grown": compared.grown,
        "message": message,
    });
    add_said(&mut body, &message, "messageCode", "messageArgs");
    warp::reply::json(&body).into_response()
}

/// Stores `state` as `s`'s decision on `sub`, if it is still pending (two admins cannot both
/// decide it); the answer to send otherwise.
pub(super) async fn decide(
    app: &App,
    s: &Session,
    sub: &Submission,
    state: SubmissionState,
) -> Result<(), Response> {
    let (id, who) = (sub.id.clone(), s.who());
    let now = cairn_protocol::unix_now();
    match store::blocking(&app.store, move |st| {
        st.decide_submission(&id, state, &who, now)
    })
    .await
    {
        Ok(true) => Ok(()),
        Ok(false) => Err(not_pending(sub)),
        Err(e) => Err(internal(e)),
    }
}

/// `POST /api/recipes/submissions/{id}/reject`.
pub(super) async fn reject(app: &App, s: Session, req: Request) -> Response {
    let sub = match find(app, &req).await {
        Ok(sub) => sub,
        Err(r) => return r,
    };
    if let Err(r) = decide(app, &s, &sub, SubmissionState::Rejected).await {
        return r;
    }
    let target = format!("{} v{}", sub.recipe_id, sub.version);
    app.audit(
        &s.who(),
        "recipe.reject",
        &target,
        &format!("rejected {}", sub.id),
    )
    .await;
    let message = format!("Rejected {target}: no server gets it.");
    let mut body = json!({
        "id": sub.id,
        "state": SubmissionState::Rejected,
        "message": message,
    });
    add_said(&mut body, &message, "messageCode", "messageArgs");
    warp::reply::json(&body).into_response()
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WithdrawBody {
    confirm: String,
}

/// `POST /api/recipes/submissions/{id}/withdraw`: publishes what came before it again, one
/// version above (`crate::submissions::withdrawal`), once the recipe's id is typed.
pub(super) async fn withdraw(app: &Arc<App>, s: Session, req: Request) -> Response {
    let Ok(body) = serde_json::from_slice::<WithdrawBody>(&req.body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "send {\"confirm\": \"RECIPE ID\"} as JSON: withdrawing a recipe needs its id typed",
        );
    };
    let sub = match find(app, &req).await {
        Ok(sub) => sub,
        Err(r) => return r,
    };
    if body.confirm.trim() != sub.recipe_id {
        return json_error(
            StatusCode::BAD_REQUEST,
            &format!(
                "the confirmation does not match: type the recipe's id \"{}\" to withdraw it",
                sub.recipe_id
            ),
        );
    }
    let (plan, _) = match withdrawal::plan(app, &sub).await {
        Ok(p) => p,
        Err(withdrawal::Refused::Internal(e)) => return internal(e),
        Err(withdrawal::Refused::NotPublished(why) | withdrawal::Refused::Unpublishable(why)) => {
            return json_error(StatusCode::CONFLICT, &why);
        }
    };
    let floor = plan.from_version + 1;
    let (id, who, now) = (sub.id.clone(), s.who(), cairn_protocol::unix_now());
    match store::blocking(&app.store, move |st| {
        st.withdraw_submission(&id, &who, now, floor)
    })
    .await
    {
        Ok(true) => {}
        Ok(false) => {
            return json_error(
                StatusCode::CONFLICT,
                &format!(
                    "submission {} was withdrawn by someone else meanwhile; nothing was changed",
                    sub.id
                ),
            );
        }
        Err(e) => return internal(e),
    }
    // Published through the registry's one turn, read from the store now that the withdrawal
    // is stored (the same layers its plan was built from), so no rebuild racing it can put
    // an older registry back.
    match submissions::rebuild(app, None).await {
        Ok(rebuilt) => rebuilt.publish(),
        Err(e) => return internal(e),
    }
    let target = format!("{} v{}", sub.recipe_id, plan.from_version);
    let (done, message) = match (&plan.restores, plan.published_as) {
        (withdrawal::Restores::Submission { id, version }, Some(at)) => (
            format!("published {id} (v{version}) again as v{at}"),
            format!(
                "Withdrew {target}: servers get {} v{at}, the content of {id}, from their next \
                 job on.",
                sub.recipe_id
            ),
        ),
        (withdrawal::Restores::Shipped, Some(at)) => (
            format!("published the shipped recipe again as v{at}"),
            format!(
                "Withdrew {target}: servers get {} v{at}, the recipe shipped with Cairn, from \
                 their next job on.",
                sub.recipe_id
            ),
        ),
        _ => (
            "nothing left to publish: the recipe left the catalogue".to_owned(),
            format!(
                "Withdrew {target}: nothing came before it, so the catalogue no longer offers \
                 {}; servers that installed it keep what they have.",
                sub.recipe_id
            ),
        ),
    };
    app.audit(
        &s.who(),
        "recipe.withdraw",
        &target,
        &format!("withdrew {}; {done}", sub.id),
    )
    .await;
    warp::reply::json(&json!({
        "id": sub.id,
        "state": SubmissionState::Withdrawn,
        "withdrawal": plan,
        "message": message,
    }))
    .into_response()
}
