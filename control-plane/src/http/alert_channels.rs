//! Alert channels through the API: `GET`/`POST /api/alert-channels`, `PUT`/`DELETE
//! /api/alert-channels/{id}` and `POST /api/alert-channels/{id}/test` (the page's "Send test",
//! one attempt, its failure said as a sentence). Answers show channels masked
//! (`Channel::view`): a secret sent once is never sent back. Changes are audited, without the
//! secrets. Deleting one destroys the secrets it holds (nobody can read them back to make it
//! again), so it needs the channel's name typed, as removing a node does.

use serde_json::json;
use warp::http::StatusCode;
use warp::reply::Response;

use super::Request;
use super::alerts::{db, ok_json};
use crate::alerts::Alerts;
use crate::alerts::channels::{Channel, ChannelInput};
use crate::app::App;
use crate::web::{Session, internal, json_error};

/// Most channels kept.
const MAX_CHANNELS: usize = 20;

fn bad_input() -> Response {
    json_error(
        StatusCode::BAD_REQUEST,
        "send the channel as JSON: {\"kind\": \"webhook\", \"name\": \"ops\", \"url\": \"https://…\", \"secret\": \"…\"} (email: host, port, username, password, from, to)",
    )
}

async fn find(app: &App, req: &Request) -> Result<Channel, Response> {
    let raw = req.params.first().cloned().unwrap_or_default();
    let missing = || {
        json_error(
            StatusCode::NOT_FOUND,
            &format!("there is no alert channel \"{raw}\""),
        )
    };
    let id = raw.parse::<i64>().map_err(|_| missing())?;
    match db(app, |d| d.channels()).await {
        Ok(all) => all.into_iter().find(|c| c.id == id).ok_or_else(missing),
        Err(e) => Err(internal(e)),
    }
}

pub(super) async fn list(app: &App) -> Response {
    match db(app, |d| d.channels()).await {
        Ok(all) => ok_json(&all.iter().map(Channel::view).collect::<Vec<_>>()),
        Err(e) => internal(e),
    }
}

pub(super) async fn create(app: &App, s: Session, req: Request) -> Response {
    let Ok(input) = serde_json::from_slice::<ChannelInput>(&req.body) else {
        return bad_input();
    };
    let mut ch = match Channel::checked(input, None) {
        Ok(c) => c,
        Err(why) => return json_error(StatusCode::BAD_REQUEST, &why),
    };
    ch.created_at = cairn_protocol::unix_now();
    let saved = ch.clone();
    let id = match db(app, move |d| {
        if d.channels()?.len() >= MAX_CHANNELS {
            return Ok(None);
        }
        d.save_channel(&saved).map(Some)
    })
    .await
    {
        Ok(Some(id)) => id,
        Ok(None) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                &format!("there are already {MAX_CHANNELS} channels: delete one first"),
            );
        }
        Err(e) => return internal(e),
    };
    ch.id = id;
    let kind = ch.view()["kind"].as_str().unwrap_or("").to_owned();
    app.audit(
        &s.who(),
        "alert.channel.create",
        &format!("{id}"),
        &format!("ok: {kind} \"{}\"", ch.name),
    )
    .await;
    ok_json(&ch.view())
}

pub(super) async fn change(app: &App, s: Session, req: Request) -> Response {
    let base = match find(app, &req).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(input) = serde_json::from_slice::<ChannelInput>(&req.body) else {
        return bad_input();
    };
    let ch = match Channel::checked(input, Some(&base)) {
        Ok(c) => c,
        Err(why) => return json_error(StatusCode::BAD_REQUEST, &why),
    };
    let saved = ch.clone();
    if let Err(e) = db(app, move |d| d.save_channel(&saved)).await {
        return internal(e);
    }
    app.audit(
        &s.who(),
        "alert.channel.change",
        &ch.id.to_string(),
        &format!("ok: \"{}\"", ch.name),
    )
    .await;
    ok_json(&ch.view())
}

#[derive(serde::Deserialize)]
struct DeleteBody {
    confirm: String,
}

pub(super) async fn delete(app: &App, s: Session, req: Request) -> Response {
    let Ok(body) = serde_json::from_slice::<DeleteBody>(&req.body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "send {\"confirm\": \"CHANNEL NAME\"} as JSON: deleting an alert channel needs its \
             name typed",
        );
    };
    let ch = match find(app, &req).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if body.confirm.trim() != ch.name {
        return json_error(
            StatusCode::BAD_REQUEST,
            &format!(
                "the confirmation does not match: type the channel's name \"{}\" to delete it",
                ch.name
            ),
        );
    }
    let id = ch.id;
    if let Err(e) = db(app, move |d| d.delete_channel(id)).await {
        return internal(e);
    }
    app.audit(
        &s.who(),
        "alert.channel.delete",
        &id.to_string(),
        &format!("ok: \"{}\"", ch.name),
    )
    .await;
    ok_json(&json!({"id": id}))
}

pub(super) async fn test(app: &App, s: Session, req: Request) -> Response {
    let ch = match find(app, &req).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let sent = ch.clone();
    let result = tokio::task::spawn_blocking(move || Alerts::test(&sent))
        .await
        .unwrap_or_else(|_| Err("the test could not be run".to_owned()));
    let (id, error) = (ch.id, result.as_ref().err().cloned());
    let _ = db(app, move |d| d.channel_result(id, error.as_deref())).await;
    // The audit's words, not the page's answer.
    let outcome = result
        .as_ref()
        .map_or_else(|e| format!("failed: {e}"), |()| "ok: sent".to_owned());
    app.audit(&s.who(), "alert.channel.test", &id.to_string(), &outcome)
        .await;
    match result {
        Ok(()) => ok_json(&json!({"id": id, "sent": true})),
        // The delivery's own sentence: the page says it in its language.
        Err(why) => json_error(StatusCode::BAD_GATEWAY, &why),
    }
}
