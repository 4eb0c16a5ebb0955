//! Services in a worker: the report of each service a recipe declares (with its detection),
//! and the end of one service's log when the page asks for it. Both read only; the engine's
//! `system::service_status` and `system::service_log` do the reading.

use cairn_engine::Recipe;
use cairn_engine::system::service_log::{self, NoLines};
use cairn_engine::system::service_status::{self, ServiceState as State};
use cairn_protocol::messages::{LogProblem, ServiceInfo, ServiceLog, ServiceState};

use super::job::recipe_of;
use crate::work::{Reply, VerifiedRecipe};

/// How each of `declared` (the recipe's signed `capabilities.services`) is doing.
pub fn reports(recipe: &Recipe, declared: &[String]) -> Vec<ServiceInfo> {
    declared
        .iter()
        .map(|name| {
            let r = service_status::report(name, recipe.meta.services.get(name));
            ServiceInfo {
                name: r.name,
                state: match r.state {
                    State::Running => ServiceState::Running,
                    State::Stopped => ServiceState::Stopped,
                    State::NotInstalled => ServiceState::NotInstalled,
                },
                since: r.since,
                enabled_at_boot: r.enabled,
                log: r.log,
                recipes: vec![recipe.meta.id.clone()],
            }
        })
        .collect()
}

/// The pid file `recipe` declares for each of `declared` that has one.
pub fn pid_files(
    recipe: &Recipe,
    declared: &[String],
) -> std::collections::BTreeMap<String, String> {
    declared
        .iter()
        .filter_map(|name| Some((name.clone(), recipe.meta.services.get(name)?.pid.clone()?)))
        .collect()
}

/// Writes the [`Reply::ServiceLog`] for `service`: the journal with systemd, else the log file
/// the first of `recipes` that declares one names.
pub fn log(recipes: &[VerifiedRecipe], service: String, request_id: String) {
    let parsed: Vec<Recipe> = recipes.iter().filter_map(|v| recipe_of(v).ok()).collect();
    let decl = parsed
        .iter()
        .filter_map(|r| r.meta.services.get(&service))
        .find(|d| d.log.is_some());
    let log = match service_log::tail(&service, decl) {
        Ok(tail) => ServiceLog {
            request_id,
            service,
            source: Some(tail.source),
            lines: tail.lines,
            problem: None,
            error: None,
        },
        Err(e) => ServiceLog {
            request_id,
            service,
            source: decl.and_then(|d| d.log.clone()),
            lines: Vec::new(),
            problem: Some(match e.kind {
                NoLines::NoLog => LogProblem::NoLog,
                NoLines::Missing => LogProblem::Missing,
                NoLines::Unreadable => LogProblem::Unreadable,
            }),
            error: Some(e.message),
        },
    };
    super::reply(&Reply::ServiceLog { log });
}
