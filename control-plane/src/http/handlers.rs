//! The REST handlers. Each returns a reply; every failure is a JSON `{"error": sentence}`.

use std::sync::Arc;

use cairn_protocol::dashboard::Node;
use serde::Deserialize;
use serde_json::json;
use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

use super::{
    Request, RouteId, alert_channels, alerts, api_tokens, fleet, invites, login, metrics, nodes,
    passwords, sessions, settings, submission_cancel, submissions, two_factor, users,
};
use crate::app::App;
use crate::store::{self, NewToken};
use crate::web::{Session, install_base, internal, json_error};
use crate::{detectors, install};

fn ok_json(value: &impl serde::Serialize) -> Response {
    warp::reply::json(value).into_response()
}

/// Dispatches a route of the table to its handler.
pub async fn handle(
    id: RouteId,
    app: Arc<App>,
    session: Option<Session>,
    req: Request,
) -> Response {
    match (id, session) {
        (RouteId::Healthz, _) => {
            warp::reply::with_header("ok", "content-type", "text/plain").into_response()
        }
        (RouteId::InstallScript, _) => install_script(&app, &req).await,
        (RouteId::AgentChecksum, _) => checksum(&app, install::Part::Agent).await,
        (RouteId::WorkerChecksum, _) => checksum(&app, install::Part::Worker).await,
        (RouteId::ControlPlaneKey, _) => {
            let key = app.signer.key();
            ok_json(&json!({"publicKey": key.public().to_hex(), "keyId": key.key_id().to_string()}))
        }
        (RouteId::Login, _) => login::login(&app, req).await,
        (RouteId::Logout, Some(s)) => login::logout(&app, s).await,
        (RouteId::Me, Some(s)) => ok_json(&json!({
            "username": s.username,
            "role": s.access.role,
            "groups": s.access.groups,
            "mayDestroy": s.access.may_destroy(),
        })),
        (RouteId::Nodes, Some(_)) => nodes(&app, &req.reach).await,
        (RouteId::NodesStatus, Some(_)) => status_all(&app, &req).await,
        (RouteId::ChangeNode, Some(s)) => nodes::change(&app, s, req).await,
        (RouteId::RemoveNode, Some(s)) => nodes::remove(&app, s, req).await,
        (RouteId::CreateToken, Some(s)) => create_token(&app, s, req).await,
        (RouteId::Tokens, Some(_)) => nodes::tokens(&app).await,
        (RouteId::RevokeToken, Some(s)) => nodes::revoke_token(&app, s, req).await,
        (RouteId::Recipes, Some(_)) => ok_json(&app.registry().catalogue),
        (RouteId::ReloadRecipes, Some(s)) => reload(&app, s).await,
        (RouteId::SubmitRecipe, Some(s)) => submissions::submit(&app, s, req).await,
        (RouteId::Submissions, Some(_)) => submissions::list(&app).await,
        (RouteId::Submission, Some(_)) => submissions::show(&app, req).await,
        (RouteId::WithdrawSubmission, Some(s)) => submissions::withdraw(&app, s, req).await,
        (RouteId::ApproveSubmission, Some(s)) => submissions::approve(&app, s, req).await,
        (RouteId::RejectSubmission, Some(s)) => submissions::reject(&app, s, req).await,
        (RouteId::CancelSubmission, Some(s)) => submission_cancel::cancel(&app, s, req).await,
        (RouteId::Jobs, Some(_)) => jobs(&app, req).await,
        (RouteId::Job, Some(_)) => job(&app, req).await,
        (RouteId::JobEvents, Some(_)) => job_events(&app, req).await,
        (RouteId::Audit, Some(_)) => audit(&app, &req).await,
        (RouteId::Settings, Some(_)) => settings::show(&app, &req),
        (RouteId::ChangeSettings, Some(s)) => settings::change(&app, s, req).await,
        (RouteId::Alerts, Some(_)) => alerts::list(&app, req).await,
        (RouteId::AlertRules, Some(_)) => alerts::rules(&app).await,
        (RouteId::ChangeAlertRule, Some(s)) => alerts::change_rule(&app, s, req).await,
        (RouteId::AlertOverride, Some(s)) => alerts::change_override(&app, s, req).await,
        (RouteId::MuteAlerts, Some(s)) => alerts::mute(&app, s, req).await,
        (RouteId::UnmuteAlerts, Some(s)) => alerts::unmute(&app, s, req).await,
        (RouteId::AlertChannels, Some(_)) => alert_channels::list(&app).await,
        (RouteId::CreateAlertChannel, Some(s)) => alert_channels::create(&app, s, req).await,
        (RouteId::ChangeAlertChannel, Some(s)) => alert_channels::change(&app, s, req).await,
        (RouteId::DeleteAlertChannel, Some(s)) => alert_channels::delete(&app, s, req).await,
        (RouteId::TestAlertChannel, Some(s)) => alert_channels::test(&app, s, req).await,
        (RouteId::NodeMetrics, Some(_)) => metrics::node_metrics(&app, req).await,
        (RouteId::MetricsOverview, Some(_)) => fleet::overview(&app, req.reach).await,
        (RouteId::Prometheus, _) => metrics::prometheus(&app, &req).await,
        (RouteId::Users, Some(_)) => users::list(&app).await,
        (RouteId::InviteUser, Some(s)) => users::invite(&app, s, req).await,
        (RouteId::ChangeUser, Some(s)) => users::change(&app, s, req).await,
        (RouteId::ResetUser, Some(s)) => users::reset(&app, s, req).await,
        (RouteId::Invites, Some(_)) => invites::list(&app).await,
        (RouteId::CancelInvite, Some(s)) => invites::cancel(&app, s, req).await,
        (RouteId::AcceptInvite, _) => passwords::accept(&app, req).await,
        (RouteId::ChangePassword, Some(s)) => passwords::change_own_password(&app, s, req).await,
        (RouteId::OpenApi, _) => ok_json(&super::openapi::document()),
        (RouteId::MyApiTokens, Some(s)) => api_tokens::list(&app, Some(s)).await,
        (RouteId::ApiTokens, Some(_)) => api_tokens::list(&app, None).await,
        (RouteId::CreateApiToken, Some(s)) => api_tokens::create(&app, s, req).await,
        (RouteId::RevokeMyApiToken, Some(s)) => api_tokens::revoke(&app, s, req, true).await,
        (RouteId::RevokeApiToken, Some(s)) => api_tokens::revoke(&app, s, req, false).await,
        (RouteId::LoginCode, _) => two_factor::login_code(&app, req).await,
        (RouteId::LoginEnrol, _) => two_factor::login_enrol(&app, req).await,
        (RouteId::LoginEnrolConfirm, _) => two_factor::login_enrol_confirm(&app, req).await,
        (RouteId::TwoFactor, Some(s)) => two_factor::show(&app, s).await,
        (RouteId::StartTwoFactor, Some(s)) => two_factor::start_own(&app, s).await,
        (RouteId::ConfirmTwoFactor, Some(s)) => two_factor::confirm_own(&app, s, req).await,
        (RouteId::DisableTwoFactor, Some(s)) => two_factor::disable_own(&app, s, req).await,
        (RouteId::RequireTwoFactor, Some(s)) => two_factor::require(&app, s, req).await,
        (RouteId::Sessions, Some(s)) => sessions::list(&app, s).await,
        (RouteId::RevokeSession, Some(s)) => sessions::revoke(&app, s, req).await,
        (RouteId::EndUserSessions, Some(s)) => sessions::end_all(&app, s, req).await,
        // Sockets are handled by the router; a private route without a session never gets here.
        _ => json_error(StatusCode::UNAUTHORIZED, "sign in first"),
    }
}

/// The sha256 of the agent binary or its worker, `None` when there is none; hashing runs on
/// the blocking pool.
async fn sha256(app: &Arc<App>, part: install::Part) -> Result<Option<String>, Response> {
    let app2 = Arc::clone(app);
    match tokio::task::spawn_blocking(move || app2.download(part).sha256()).await {
        Ok(Ok(sha)) => Ok(sha),
        Ok(Err(e)) => Err(internal(format!(
            "could not read the agent binary {}: {e}",
            app.download(part).path().display()
        ))),
        Err(e) => Err(internal(e)),
    }
}

/// `install.sh`, rendered for this control plane. Served (200) even when the agent binary or
/// its worker is missing: the script then stops with a sentence, where a failed `curl | bash`
/// would silently run an empty script.
async fn install_script(app: &Arc<App>, req: &Request) -> Response {
    let mut shas = [String::new(), String::new()];
    for (sha, part) in shas
        .iter_mut()
        .zip([install::Part::Agent, install::Part::Worker])
    {
        *sha = match sha256(app, part).await {
            Ok(sha) => sha.unwrap_or_default(),
            Err(r) => return r,
        };
        if sha.is_empty() {
            tracing::warn!("{}", app.download(part).missing_sentence());
        }
    }
    let [agent_sha, worker_sha] = shas;
    let key = app.signer.key();
    let url = install_base(app, &req.headers);
    let rendered = install::render_script(&install::ScriptValues {
        url: &url,
        key_id: key.key_id().as_str(),
        public_key: &key.public().to_hex(),
        agent_sha256: &agent_sha,
        agent_path: &format!("/downloads/{}", install::AGENT_FILE),
        worker_sha256: &worker_sha,
        worker_path: &format!("/downloads/{}", install::WORKER_FILE),
    });
    match rendered {
        Ok(script) => {
            warp::reply::with_header(script, "content-type", "text/x-shellscript").into_response()
        }
        Err(e) => internal(e),
    }
}

/// `sha256sum`'s format: `HEX  cairn-agent-x86_64-linux-gnu` (or the worker's file name).
async fn checksum(app: &Arc<App>, part: install::Part) -> Response {
    let name = part.file_name();
    match sha256(app, part).await {
        Ok(Some(sha)) => {
            warp::reply::with_header(format!("{sha}  {name}\n"), "content-type", "text/plain")
                .into_response()
        }
        Ok(None) => json_error(
            StatusCode::NOT_FOUND,
            &app.download(part).missing_sentence(),
        ),
        Err(r) => r,
    }
}

async fn nodes(app: &App, reach: &super::Reach) -> Response {
    match store::blocking(&app.store, |s| s.nodes()).await {
        Ok(nodes) => {
            let list: Vec<Node> = nodes
                .into_iter()
                .filter(|n| reach.has(&n.id))
                .map(|n| Node {
                    online: app.hub.is_online(&n.id),
                    id: n.id,
                    name: n.name,
                    hostname: n.hostname,
                    key_id: n.key_id,
                    enrolled_at: n.enrolled_at,
                    last_seen: n.last_seen,
                    last_status: n.last_status,
                    tags: n.tags,
                })
                .collect();
            ok_json(&list)
        }
        Err(e) => internal(e),
    }
}

/// How long `POST /api/nodes/status` waits for the answers by default, and at most
/// (`?wait=SECONDS`).
const STATUS_ALL_WAIT_SECS: u64 = 10;
const STATUS_ALL_WAIT_MAX_SECS: u64 = 120;

/// Sends `GET_SERVER_STATUS` to every connected agent and answers once all of them answered
/// (each answer stored as the node's last status and sent to the dashboards watching it), or
/// after the wait (`?wait=SECONDS`, default [`STATUS_ALL_WAIT_SECS`]).
async fn status_all(app: &App, req: &Request) -> Response {
    let wait = req
        .query
        .as_deref()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("wait=")))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(STATUS_ALL_WAIT_SECS)
        .min(STATUS_ALL_WAIT_MAX_SECS);
    let request_id = match cairn_protocol::new_id() {
        Ok(id) => id,
        Err(e) => return internal(e),
    };
    let start = std::time::Instant::now();
    let mut answers = app.hub.expect_status(&request_id);
    let msg = detectors::status_request_same(app, Some(request_id.clone()));
    let requested = app.hub.send_to_all_agents(msg);
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(wait),
        answers.wait_for(|n| *n >= requested),
    )
    .await;
    let answered = *answers.borrow();
    app.hub.forget_status(&request_id);
    ok_json(&json!({
        "requestId": request_id,
        "requested": requested,
        "answered": answered.min(requested),
        "elapsedMs": start.elapsed().as_millis() as u64,
    }))
}

#[derive(Deserialize)]
struct TokenBody {
    name: String,
}

async fn create_token(app: &App, s: Session, req: Request) -> Response {
    let Ok(body) = serde_json::from_slice::<TokenBody>(&req.body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "send {\"name\": \"web-1\"} as JSON",
        );
    };
    let name = body.name.trim().to_owned();
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_. ".contains(c))
    {
        return json_error(
            StatusCode::BAD_REQUEST,
            "a node name is 1 to 64 letters, digits, spaces, dots, dashes or underscores",
        );
    }
    let (secret, id) = match (cairn_protocol::new_token(), cairn_protocol::new_id()) {
        (Ok(t), Ok(i)) => (t, i),
        (Err(e), _) | (_, Err(e)) => return internal(e),
    };
    let node_id = format!("node-{}", &id[..12]);
    let now = cairn_protocol::unix_now();
    let expires_at = now + app.config.token_ttl_secs;
    let row = NewToken {
        token_hash: cairn_protocol::hash_token(&secret),
        node_id: node_id.clone(),
        name: name.clone(),
        created_by: s.username.clone(),
        created_at: now,
        expires_at,
    };
    if let Err(e) = store::blocking(&app.store, move |st| st.create_token(&row)).await {
        return internal(e);
    }
    app.audit(&s.who(), "enrollment-token.create", &node_id, "ok")
        .await;
    let token = format!("{node_id}.{secret}");
    let base = install_base(app, &req.headers);
    ok_json(&json!({
        "token": token,
        "nodeId": node_id,
        "name": name,
        "expiresAt": expires_at,
        "installCommand": format!("curl -fsSL {base}/install.sh | sudo bash -s -- --token {token}"),
    }))
}

async fn reload(app: &Arc<App>, s: Session) -> Response {
    // Approved submissions stay published over the files they are newer than (issue 22); the
    // rebuild waits for an approval being published, so it never undoes it.
    let rebuilt = match crate::submissions::rebuild(app, None).await {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let catalogue = rebuilt.registry.catalogue.clone();
    rebuilt.publish();
    let published = catalogue.iter().filter(|e| e.published).count();
    app.audit(
        &s.who(),
        "recipes.reload",
        "",
        &format!("{published} of {} published", catalogue.len()),
    )
    .await;
    ok_json(&catalogue)
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.to_owned())
    })
}

async fn jobs(app: &App, req: Request) -> Response {
    let node = query_param(req.query.as_deref(), "node");
    match store::blocking(&app.store, move |s| s.jobs(node.as_deref())).await {
        Ok(mut jobs) => {
            jobs.retain(|j| req.reach.has(&j.node_id));
            ok_json(&jobs)
        }
        Err(e) => internal(e),
    }
}

async fn job(app: &App, req: Request) -> Response {
    let id = req.params.first().cloned().unwrap_or_default();
    match store::blocking(&app.store, move |s| s.job(&id)).await {
        Ok(Some(job)) => ok_json(&job),
        Ok(None) => json_error(StatusCode::NOT_FOUND, "there is no job with this id"),
        Err(e) => internal(e),
    }
}

async fn job_events(app: &App, req: Request) -> Response {
    let id = req.params.first().cloned().unwrap_or_default();
    let lookup = id.clone();
    match store::blocking(&app.store, move |s| {
        Ok((s.job(&lookup)?, s.job_events(&lookup)?))
    })
    .await
    {
        Ok((Some(_), events)) => ok_json(&events),
        Ok((None, _)) => json_error(StatusCode::NOT_FOUND, "there is no job with this id"),
        Err(e) => internal(e),
    }
}

/// `GET /api/audit`, or one user's entries with `?user=NAME`.
async fn audit(app: &App, req: &Request) -> Response {
    // Usernames are plain ASCII (`users::check_username`): no decoding needed.
    let who = query_param(req.query.as_deref(), "user");
    /// An entry, with its result's sentences and their codes when it is made of known ones
    /// ("3 × wrong username or password; 1 × refused unchecked: address locked out"), for the
    /// page to say it in its language.
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Said<'a> {
        #[serde(flatten)]
        entry: &'a store::AuditEntry,
        #[serde(skip_serializing_if = "Option::is_none")]
        result_parts: Option<Vec<Part<'a>>>,
    }
    #[derive(serde::Serialize)]
    struct Part<'a> {
        message: &'a str,
        #[serde(flatten)]
        said: cairn_protocol::dashboard::Said,
    }
    match store::blocking(&app.store, move |s| s.audit_log(500, who.as_deref())).await {
        Ok(entries) => {
            let said: Vec<Said<'_>> = entries
                .iter()
                .map(|entry| {
                    let parts: Vec<Part<'_>> = entry
                        .result
                        .split("; ")
                        .map(|message| Part {
                            message,
                            said: crate::said::said(message),
                        })
                        .collect();
                    let known = parts.iter().all(|p| p.said.message_code.is_some());
                    Said {
                        entry,
                        result_parts: known.then_some(parts),
                    }
                })
                .collect();
            ok_json(&said)
        }
        Err(e) => internal(e),
    }
}
