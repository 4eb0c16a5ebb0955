//! `GET_SERVICE_LOG`: the end of one service's log, read by a worker under the detectors'
//! limits. Only a service that a recipe the agent keeps as a detector declares (its signed
//! `capabilities.services`) is read, and only where that recipe says its log is: the control
//! plane names a service, never a file.

use std::sync::Arc;
use std::time::Duration;

use cairn_protocol::SignedBundle;
use cairn_protocol::messages::{GetServiceLog, LogProblem, ServiceLog};

use crate::runner::JobContext;
use crate::status::{Talk, prepare, talk};
use crate::work::{Reply, Request};

/// How long reading a log may take (a journal on a slow disk).
const TIMEOUT: Duration = Duration::from_secs(20);

/// The answer to `req`, from the kept detector bundles `bundles`.
pub async fn read(
    ctx: Arc<JobContext>,
    bundles: Vec<SignedBundle>,
    req: GetServiceLog,
) -> ServiceLog {
    let now = cairn_protocol::unix_now();
    let recipes: Vec<_> = bundles
        .iter()
        .filter_map(|b| prepare(&ctx, b, now).ok())
        .filter(|r| r.capabilities.services.contains(&req.service))
        .collect();
    let answer = |problem, error: String| ServiceLog {
        request_id: req.request_id.clone(),
        service: req.service.clone(),
        source: None,
        lines: Vec::new(),
        problem: Some(problem),
        error: Some(error),
    };
    if recipes.is_empty() {
        return answer(
            LogProblem::NotDeclared,
            format!(
                "no recipe this server knows declares the service {}: its log is not read",
                req.service
            ),
        );
    }
    let request = Request::ServiceLog {
        recipes,
        service: req.service.clone(),
        request_id: req.request_id.clone(),
        limits: ctx.workers.detect_limits(),
    };
    let mut log = None;
    let outcome = talk(&ctx, &request, TIMEOUT, |reply| {
        if let Reply::ServiceLog { log: l } = reply {
            log = Some(l);
        }
    })
    .await;
    log.unwrap_or_else(|| {
        let why = match outcome {
            Talk::Late => format!(
                "reading the log did not finish within {} s",
                TIMEOUT.as_secs()
            ),
            Talk::Failed(why) => format!("the worker reading the log stopped: {why}"),
            Talk::Done => "the worker reading the log said nothing".to_owned(),
        };
        answer(LogProblem::Unreadable, why)
    })
}
