//! Which detector bundles a `GET_SERVER_STATUS` carries: the published recipes' bundles in
//! full, or `sameDetectors` with their hash when the connection's agent already holds them —
//! sent earlier in this connection, or kept from an earlier one and named in `HELLO`
//! (docs/protocol.md "Detectors kept across connections"). The agent verifies every bundle
//! again each time it runs it, so the hash only saves bytes: it is never trusted.
//!
//! The REST handlers and dashboard sockets make status requests ([`status_request_same`]); an
//! agent's connection sends its first one and makes each right for its agent.

use cairn_protocol::Message;
use cairn_protocol::messages::GetServerStatus;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::app::App;

/// Status requests carrying the bundles that may be built and sent at once, all connections
/// together. Such a frame is the whole catalogue encoded twice (the bundles' JSON, then the
/// frame's base64 body: about 450 kB with the shipped recipes), made for one session; 2,000
/// agents connecting at once had 868 MB of them alive at the peak, and the allocator kept much
/// of that after they were sent (BENCHMARKS.md, issue 19). With this bound the peak is about
/// `FULL_AT_ONCE` frames. A connection waits its turn only when its agent lacks the current
/// bundles; `sameDetectors` requests (every fan-out, every reconnection of an agent that kept
/// its bundles) never wait. A turn lasts at most the send's own timeout, so an agent that
/// stops reading holds one turn for that long and then loses its connection.
const FULL_AT_ONCE: usize = 32;
static FULL_REQUESTS: Semaphore = Semaphore::const_new(FULL_AT_ONCE);

/// Waits for a turn to build and send status requests with the bundles, when the connection's
/// agent (holding the bundles hashed `held`) needs them to answer `messages` — its first
/// request when `messages` is `None`. `None`: no bundles will travel, no turn is needed. Hold
/// the permit until the frame is sent.
pub async fn turn_for_bundles(
    app: &App,
    held: Option<&str>,
    messages: Option<&[Message]>,
) -> Option<SemaphorePermit<'static>> {
    let needs = messages.is_none_or(|m| m.iter().any(is_same))
        && held != Some(app.registry().detectors_hash.as_str());
    if !needs {
        return None;
    }
    // The semaphore is never closed.
    FULL_REQUESTS.acquire().await.ok()
}

/// `GET_SERVER_STATUS` with the published recipes' bundles, and their hash.
pub fn status_request(app: &App, request_id: Option<String>) -> (Message, String) {
    let registry = app.registry();
    let msg = Message::GetServerStatus(GetServerStatus {
        request_id,
        detectors: registry.bundles(),
        same_detectors: false,
        detectors_hash: None,
        system_only: false,
    });
    (msg, registry.detectors_hash.clone())
}

/// `GET_SERVER_STATUS` asking the agent to run the detectors it holds, named by the current
/// registry's hash (tens of kB less per request; 10,000 agents made a fan-out of full requests
/// hundreds of MB to sign and send). The connection replaces it by a full request when its
/// agent does not hold them (see [`with_current_detectors`]).
pub fn status_request_same(app: &App, request_id: Option<String>) -> Message {
    same(request_id, app.registry().detectors_hash.clone())
}

/// `GET_SERVER_STATUS` for the machine's facts only: no detector runs, none travels.
pub fn system_request(request_id: Option<String>) -> Message {
    Message::GetServerStatus(GetServerStatus {
        request_id,
        system_only: true,
        ..GetServerStatus::default()
    })
}

fn same(request_id: Option<String>, hash: String) -> Message {
    Message::GetServerStatus(GetServerStatus {
        request_id,
        detectors: Vec::new(),
        same_detectors: true,
        detectors_hash: Some(hash),
        system_only: false,
    })
}

/// The first status request of a connection whose agent said in `HELLO` it holds `held`:
/// `sameDetectors` if that is the current registry's, else the bundles. Updates `held` to what
/// the agent will hold.
pub fn first_request(app: &App, held: &mut Option<String>) -> Message {
    let current = app.registry().detectors_hash.clone();
    if held.as_deref() == Some(current.as_str()) {
        return same(None, current);
    }
    let (full, hash) = status_request(app, None);
    *held = Some(hash);
    full
}

fn is_same(m: &Message) -> bool {
    matches!(m, Message::GetServerStatus(r) if r.same_detectors && r.detectors.is_empty())
}

/// `messages`, with each `sameDetectors` status request made right for this connection's agent,
/// which holds the bundles hashed `held`: kept if it names the current registry's bundles and
/// the agent holds them, renamed if the registry changed since the request was made and the
/// agent holds the current bundles, made full (and `held` updated) if it does not. `None` when
/// nothing needs changing (the message shared by a fan-out is sent as it is).
pub fn with_current_detectors(
    app: &App,
    messages: &[Message],
    held: &mut Option<String>,
) -> Option<Vec<Message>> {
    if !messages.iter().any(is_same) {
        return None;
    }
    let current = app.registry().detectors_hash.clone();
    let agent_has_current = held.as_deref() == Some(current.as_str());
    let all_current = messages.iter().filter(|m| is_same(m)).all(|m| {
        matches!(m, Message::GetServerStatus(r) if r.detectors_hash.as_deref() == Some(current.as_str()))
    });
    if agent_has_current && all_current {
        return None;
    }
    Some(
        messages
            .iter()
            .map(|m| match m {
                Message::GetServerStatus(r) if is_same(m) => {
                    if held.as_deref() == Some(current.as_str()) {
                        same(r.request_id.clone(), current.clone())
                    } else {
                        let (full, hash) = status_request(app, r.request_id.clone());
                        *held = Some(hash);
                        full
                    }
                }
                other => other.clone(),
            })
            .collect(),
    )
}
