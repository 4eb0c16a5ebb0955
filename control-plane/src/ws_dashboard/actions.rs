//! A recipe's declared actions (`RECIPE.actions`) as jobs: `RUN_ACTION` (and a `PLAN_REQUEST`
//! naming an `action`). The action must be one the published recipe declares; a destructive
//! one runs only when the request's `confirm` is exactly the value of its `confirm` parameter
//! (checked here, on the server, whatever the page did), and every run or refused run is
//! audited with who, node, recipe, action and the parameters that are not secret.

use std::sync::Arc;

use cairn_engine::params::ParamSpec;
use cairn_engine::{ActionSpec, Category, Recipe};
use cairn_protocol::Message;
use cairn_protocol::SignedBundle;
use cairn_protocol::dashboard::ActionJobRequest;
use cairn_protocol::messages::{ConfigureBackup, ConfigureDatabase, InstallRuntime, PlanBasis};
use serde_json::{Map, Value};

use crate::app::App;
use crate::web::Session;

/// The audit log's `what` of an action run (refused or sent).
pub(super) const AUDIT_WHAT: &str = "job.create action";

/// The declared action `name` of `recipe`, or the sentence saying it has none such.
pub(super) fn spec<'a>(recipe: &'a Recipe, name: &str) -> Result<&'a ActionSpec, String> {
    recipe.meta.action(name).ok_or_else(|| {
        format!(
            "the recipe \"{}\" has no action \"{name}\"; nothing was run",
            recipe.meta.id
        )
    })
}

/// Refuses a destructive action whose confirmation is not the value of its `confirm`
/// parameter, typed again. The sentence names the parameter, never its value.
pub(super) fn check_confirmation(
    spec: &ActionSpec,
    request: &ActionJobRequest,
) -> Result<(), String> {
    let Some(param) = spec.confirm.as_deref().filter(|_| spec.destructive) else {
        return Ok(());
    };
    let expected = match request.params.get(param) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let label = spec
        .params
        .iter()
        .find(|p| p.name == param)
        .map(|p| {
            if p.label.is_empty() {
                &p.name
            } else {
                &p.label
            }
        })
        .cloned()
        .unwrap_or_else(|| param.to_owned());
    match request.confirm.as_deref() {
        Some(typed) if !expected.is_empty() && typed == expected => Ok(()),
        _ => Err(format!(
            "\"{}\" cannot be undone, so it runs only when {label} is typed again exactly as \
             given; it was not, and nothing was run",
            spec.title
        )),
    }
}

/// The parameters of `specs` that are not secret, for the audit log and Retry.
pub(super) fn public_params(
    specs: &[ParamSpec],
    params: &Map<String, Value>,
) -> Map<String, Value> {
    params
        .iter()
        .filter(|(k, _)| specs.iter().any(|p| &p.name == *k && !p.secret))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The audit entry of an action run: `NODE JOB RECIPE ACTION {non-secret params}`.
pub(super) async fn audit(
    app: &Arc<App>,
    session: &Session,
    target: (&str, &str, &str),
    spec: &ActionSpec,
    params: &Map<String, Value>,
    result: &str,
) {
    let (node_id, job_id, recipe_id) = target;
    let shown = Value::Object(public_params(&spec.params, params));
    app.audit(
        &session.who(),
        AUDIT_WHAT,
        &format!("{node_id} {job_id} {recipe_id} {} {shown}", spec.name),
        result,
    )
    .await;
}

/// The agent's command running action `request` of a recipe of `category`: the category's own
/// job command, naming the action, with the action's parameters.
pub(super) fn command(
    request: ActionJobRequest,
    job_id: String,
    recipe: String,
    category: Category,
    bundle: SignedBundle,
    plan: Option<PlanBasis>,
) -> Message {
    let action = Some(request.action);
    match category {
        Category::Runtime => Message::InstallRuntime(InstallRuntime {
            job_id,
            kind: recipe,
            version: None,
            params: request.params,
            plan,
            action,
            bundle,
        }),
        Category::Database => Message::ConfigureDatabase(ConfigureDatabase {
            job_id,
            kind: recipe,
            db_name: String::new(),
            user: String::new(),
            plan,
            params: request.params,
            action,
            bundle,
        }),
        Category::Backup => Message::ConfigureBackup(ConfigureBackup {
            job_id,
            provider: recipe,
            config: request
                .params
                .into_iter()
                .map(|(k, v)| {
                    let text = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, text)
                })
                .collect(),
            plan,
            action,
            bundle,
        }),
    }
}
