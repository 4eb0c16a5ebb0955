//! Who may use a private route: the one check every private request goes through, after its
//! session is found and before its handler runs (issue 20). The route's row in the table
//! ([`super::routes`]) names the least role it needs and its scope; this compares them with the
//! session's role and node groups:
//!
//! - a role below the row's is refused with 403 and a sentence naming both roles;
//! - for an operator or viewer, a node (or a job of a node) outside their groups is a 404 worded
//!   as for a node that does not exist, and a list is cut down to the nodes within reach
//!   ([`Reach`], which the handler applies);
//! - a request made with an API token is checked the same way, with the token's access (capped
//!   by its user's, `super::api_tokens`); the few session-only routes refuse it with 403.

use std::collections::HashSet;

use warp::http::StatusCode;

use super::routes::{Route, Scope};
use crate::app::App;
use crate::roles::unseen_node;
use crate::store;
use crate::web::Session;

/// The nodes a request may be answered about.
#[derive(Debug, Clone, Default)]
pub enum Reach {
    /// Every node (an admin or owner, or a route not about nodes).
    #[default]
    All,
    /// Only these node ids (an operator's or viewer's groups).
    Only(HashSet<String>),
}

impl Reach {
    pub fn has(&self, node_id: &str) -> bool {
        match self {
            Reach::All => true,
            Reach::Only(ids) => ids.contains(node_id),
        }
    }
}

/// A request refused by [`check`]: its status and sentence.
#[derive(Debug)]
pub(super) struct Refused {
    pub status: StatusCode,
    pub message: String,
}
impl warp::reject::Reject for Refused {}

fn refused(status: StatusCode, message: impl Into<String>) -> Refused {
    Refused {
        status,
        message: message.into(),
    }
}

fn failed(error: impl std::fmt::Display) -> Refused {
    tracing::error!(%error, "the access check failed");
    refused(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the control plane could not complete this request; see its log",
    )
}

/// Checks `session` against `route`'s row; the nodes within reach, or the refusal to send.
pub(super) async fn check(
    app: &App,
    route: &Route,
    session: &Session,
    params: &[String],
) -> Result<Reach, Refused> {
    let access = &session.access;
    if session.token.is_some() && route.id.session_only() {
        return Err(refused(
            StatusCode::FORBIDDEN,
            format!(
                "an API token may not use {} {}: sign in to the dashboard for this",
                route.method, route.path
            ),
        ));
    }
    if !access.allows(route.role) {
        return Err(refused(
            StatusCode::FORBIDDEN,
            access.refusal(route.role, &format!("use {} {}", route.method, route.path)),
        ));
    }
    if !access.role.scoped() || route.scope == Scope::None {
        return Ok(Reach::All);
    }
    let param = |i: usize| params.get(i).cloned().unwrap_or_default();
    match route.scope {
        Scope::None => Ok(Reach::All),
        Scope::Node(i) => {
            let id = param(i);
            let lookup = id.clone();
            let node = store::blocking(&app.store, move |s| s.node(&lookup)).await;
            match node {
                Ok(Some(n)) if access.sees(&n.tags) => Ok(Reach::All),
                Ok(_) => Err(refused(StatusCode::NOT_FOUND, unseen_node(&id))),
                Err(e) => Err(failed(e)),
            }
        }
        Scope::Job => {
            let id = param(0);
            let seen = store::blocking(&app.store, move |s| {
                let Some(job) = s.job(&id)? else {
                    return Ok(None);
                };
                Ok(s.node(&job.node_id)?.map(|n| n.tags))
            })
            .await;
            match seen {
                Ok(Some(tags)) if access.sees(&tags) => Ok(Reach::All),
                Ok(_) => Err(refused(
                    StatusCode::NOT_FOUND,
                    "there is no job with this id",
                )),
                Err(e) => Err(failed(e)),
            }
        }
        Scope::Filtered => match store::blocking(&app.store, |s| s.nodes()).await {
            Ok(nodes) => Ok(Reach::Only(
                nodes
                    .into_iter()
                    .filter(|n| access.sees(&n.tags))
                    .map(|n| n.id)
                    .collect(),
            )),
            Err(e) => Err(failed(e)),
        },
    }
}
