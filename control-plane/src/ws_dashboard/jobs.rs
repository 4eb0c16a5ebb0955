//! The commands that become jobs (`INSTALL_RUNTIME`, `CONFIGURE_DATABASE`, `CONFIGURE_BACKUP`,
//! `RUN_ACTION`, `PLAN_REQUEST`; actions' own checks in `actions.rs`): the recipe must be published and of the command's category, and the node
//! online; then a `jobs` row and an audit entry, `JOB_CREATED` to the requester, and the signed
//! command with the signed bundle to the agent. A preview (`PLAN_REQUEST`) is no job: it is
//! kept in memory (`plans.rs`), never in the job history; a run that confirms one (`planId`)
//! must match it.

use std::sync::Arc;

use cairn_engine::Category;
use cairn_engine::params::ParamSpec;
use cairn_protocol::dashboard::{
    ActionJobRequest, BackupJobRequest, DashboardEvent, DashboardEventBody, DatabaseJobRequest,
    Job, JobCreated, JobKind, JobStatus, PlanJobRequest, RuntimeJobRequest,
};
use cairn_protocol::messages::{
    ConfigureBackup, ConfigureDatabase, InstallRuntime, PlanBasis, PlanRequest,
};
use cairn_protocol::{Message, SignedBundle};
use serde_json::{Map, Value, json};

use super::{actions, delivered, node_online};
use crate::app::App;
use crate::plans::{self, RunOf};
use crate::store;
use crate::web::Session;

/// A command's payload, by the kind of job it asks for.
pub(super) enum JobRequest {
    Runtime(RuntimeJobRequest),
    Database(DatabaseJobRequest),
    Backup(BackupJobRequest),
    Action(ActionJobRequest),
    Plan(PlanJobRequest),
}

impl JobRequest {
    /// The kind of job stored: an action's is its recipe's category's.
    fn kind(&self, category: Category) -> JobKind {
        match self {
            Self::Runtime(_) => JobKind::InstallRuntime,
            Self::Database(_) => JobKind::ConfigureDatabase,
            Self::Backup(_) => JobKind::ConfigureBackup,
            Self::Action(_) => match category {
                Category::Runtime => JobKind::InstallRuntime,
                Category::Database => JobKind::ConfigureDatabase,
                Category::Backup => JobKind::ConfigureBackup,
            },
            Self::Plan(_) => JobKind::PlanRequest,
        }
    }

    /// The declared action it names, if any (a run of one, or a preview of one).
    fn action(&self) -> Result<Option<&str>, String> {
        match self {
            Self::Action(p) => required(&p.action, "action").map(Some),
            Self::Plan(p) => Ok(p.action.as_deref()),
            _ => Ok(None),
        }
    }

    /// The recipe it names (a backup's `provider`, otherwise its `type`).
    fn recipe(&self) -> Result<&str, String> {
        match self {
            Self::Runtime(p) => required(&p.recipe, "type"),
            Self::Database(p) => required(&p.recipe, "type"),
            Self::Backup(p) => required(&p.provider, "provider"),
            Self::Action(p) => required(&p.recipe, "type"),
            Self::Plan(p) => required(&p.recipe, "type"),
        }
    }

    /// The category of recipe it needs; a plan or an action takes any.
    fn category(&self) -> Option<Category> {
        match self {
            Self::Runtime(_) => Some(Category::Runtime),
            Self::Database(_) => Some(Category::Database),
            Self::Backup(_) => Some(Category::Backup),
            Self::Action(_) | Self::Plan(_) => None,
        }
    }

    /// The preview a run confirms, if it names one.
    fn plan_id(&self) -> Option<&str> {
        match self {
            Self::Runtime(p) => p.plan_id.as_deref(),
            Self::Database(p) => p.plan_id.as_deref(),
            Self::Backup(p) => p.plan_id.as_deref(),
            Self::Action(p) => p.plan_id.as_deref(),
            Self::Plan(_) => None,
        }
    }

    /// The recipe's parameters as the agent passes them to it (`agent/src/runner.rs`).
    fn params(&self) -> Map<String, Value> {
        match self {
            Self::Runtime(p) => p.params.clone(),
            Self::Database(p) => {
                let mut all = p.params.clone();
                if !p.db_name.is_empty() {
                    all.insert("db_name".to_owned(), Value::String(p.db_name.clone()));
                }
                all.insert("user".to_owned(), Value::String(p.user.clone()));
                all
            }
            Self::Backup(p) => p
                .config
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
            Self::Action(p) => p.params.clone(),
            Self::Plan(p) => p.params.clone(),
        }
    }

    /// What Retry sends again, without the recipe's secret parameters (never stored: Retry
    /// asks for them again).
    fn retry_params(&self, declared: &[cairn_engine::params::ParamSpec]) -> serde_json::Value {
        let secret = |k: &str| declared.iter().any(|p| p.secret && p.name == k);
        let public = |m: &Map<String, Value>| -> Map<String, Value> {
            m.iter()
                .filter(|(k, _)| !secret(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        match self {
            Self::Runtime(p) => json!({ "version": p.version, "params": public(&p.params) }),
            Self::Database(p) => {
                json!({ "dbName": p.db_name, "user": p.user, "params": public(&p.params) })
            }
            Self::Backup(p) => {
                let config: Map<String, Value> = p
                    .config
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                json!({ "config": public(&config) })
            }
            Self::Action(p) => json!({ "action": p.action, "params": public(&p.params) }),
            Self::Plan(p) => json!({ "params": public(&p.params) }),
        }
    }

    /// The agent's command for job `job_id` of a recipe of `category`.
    fn command(
        self,
        job_id: String,
        recipe: String,
        category: Category,
        params: &[ParamSpec],
        bundle: SignedBundle,
        plan: Option<PlanBasis>,
    ) -> Result<Message, String> {
        Ok(match self {
            Self::Runtime(p) => Message::InstallRuntime(InstallRuntime {
                job_id,
                kind: recipe,
                version: p.version,
                params: p.params,
                plan,
                action: None,
                bundle,
            }),
            Self::Database(p) => Message::ConfigureDatabase(ConfigureDatabase {
                job_id,
                kind: recipe,
                // A recipe without databases (Redis) takes none: the form does not ask for one.
                db_name: if takes(params, "db_name") {
                    required(&p.db_name, "dbName")?.to_owned()
                } else {
                    String::new()
                },
                user: required(&p.user, "user")?.to_owned(),
                plan,
                params: p.params,
                action: None,
                bundle,
            }),
            Self::Backup(p) => Message::ConfigureBackup(ConfigureBackup {
                job_id,
                provider: recipe,
                config: p.config,
                plan,
                action: None,
                bundle,
            }),
            Self::Action(p) => actions::command(p, job_id, recipe, category, bundle, plan),
            Self::Plan(p) => Message::PlanRequest(PlanRequest {
                job_id,
                entry: p.entry.unwrap_or_else(|| category.entry_point().to_owned()),
                params: p.params,
                action: p.action,
                bundle,
            }),
        })
    }
}

/// Whether the recipe declares a parameter `name`.
fn takes(params: &[ParamSpec], name: &str) -> bool {
    params.iter().any(|p| p.name == name)
}

fn required<'a>(value: &'a str, name: &str) -> Result<&'a str, String> {
    if value.is_empty() {
        return Err(format!("the payload needs a non-empty \"{name}\""));
    }
    Ok(value)
}

/// Creates the job `request` asks for on `node_id` and sends it to the node's agent.
pub(super) async fn create(
    app: &Arc<App>,
    conn: u64,
    session: &Session,
    node_id: &str,
    request: JobRequest,
) -> Result<(), String> {
    let recipe_id = request.recipe()?.to_owned();
    let published = {
        let reg = app.registry();
        match reg.get(&recipe_id) {
            Some(p) => p.clone(),
            None => {
                let why = reg
                    .catalogue
                    .iter()
                    .find(|e| e.id == recipe_id)
                    .and_then(|e| e.error.clone())
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default();
                return Err(format!("the recipe \"{recipe_id}\" is not published{why}"));
            }
        }
    };
    let category = published.recipe.meta.category;
    let kind = request.kind(category);
    // The parameters the job's entry point declares: a declared action's own, or the recipe's.
    let action = match request.action()? {
        Some(name) => Some(actions::spec(&published.recipe, name)?.clone()),
        None => None,
    };
    let specs = action
        .as_ref()
        .map_or(&published.recipe.meta.params, |a| &a.params);
    if let Some(wanted) = request.category()
        && wanted != category
    {
        return Err(format!(
            "\"{recipe_id}\" is a {category:?} recipe; {kind} needs a {wanted:?} recipe"
        ));
    }
    node_online(app, node_id).await?;
    // A destructive action (uninstall, drop, remove, restore over) needs more than the
    // operator's role (`access.rs`); previewing one changes nothing and stays allowed.
    if let (JobRequest::Action(r), Some(spec)) = (&request, &action)
        && spec.destructive
        && !session.access.may_destroy()
    {
        let target = (node_id, "-", recipe_id.as_str());
        actions::audit(app, session, target, spec, &r.params, "refused: role").await;
        return Err(format!(
            "your role ({}) may not run \"{}\": it cannot be undone, and only admins, owners \
             and operators granted destructive actions may run it; nothing was run",
            session.access.role, spec.title
        ));
    }
    if let (JobRequest::Action(r), Some(spec)) = (&request, &action)
        && let Err(refused) = actions::check_confirmation(spec, r)
    {
        let target = (node_id, "-", recipe_id.as_str());
        actions::audit(
            app,
            session,
            target,
            spec,
            &r.params,
            "refused: not confirmed",
        )
        .await;
        return Err(refused);
    }
    let is_plan = matches!(request, JobRequest::Plan(_));
    let job_id = format!(
        "{}{}",
        if is_plan { plans::PREFIX } else { "job-" },
        cairn_protocol::new_id().map_err(|e| e.to_string())?
    );
    let params = request.params();
    // A secret is never in a preview (the page sends a placeholder), so it is not compared.
    let declared: Vec<String> = specs
        .iter()
        .filter(|p| !p.secret)
        .map(|p| p.name.clone())
        .collect();
    let run = RunOf {
        node_id,
        recipe: &recipe_id,
        bundle: &published.bundle,
        params: &params,
        declared: &declared,
        action: action.as_ref().map(|a| a.name.as_str()),
    };
    let basis = match request.plan_id() {
        Some(plan_id) => Some(app.plans.confirm(plan_id, &run)?),
        None => None,
    };
    if is_plan {
        app.plans.insert(&job_id, &run);
    }
    let retry = request.retry_params(specs);
    let audited = match (&request, &action) {
        (JobRequest::Action(r), Some(spec)) => Some((spec.clone(), r.params.clone())),
        _ => None,
    };
    let command = request.command(
        job_id.clone(),
        recipe_id.clone(),
        category,
        &published.recipe.meta.params,
        published.bundle,
        basis,
    )?;
    if is_plan {
        app.audit(
            &session.who(),
            "plan.create",
            &format!("{node_id} {job_id} {recipe_id}"),
            "ok",
        )
        .await;
    } else {
        let job = Job {
            params: Some(retry),
            action: action.as_ref().map(|a| a.name.clone()),
            ..new_job(session, node_id, &job_id, &recipe_id, kind)
        };
        store_job(app, session, job).await?;
        if let Some((spec, params)) = &audited {
            let target = (node_id, job_id.as_str(), recipe_id.as_str());
            actions::audit(app, session, target, spec, params, "ok").await;
        }
    }
    if is_plan {
        app.hub.set_plan_asker(&job_id, conn);
    } else {
        app.hub.set_job_owner(&job_id, &session.id_hash);
    }
    app.hub.subscribe(conn, node_id);
    let created = DashboardEventBody::JobCreated(JobCreated {
        job_id: job_id.clone(),
        node_id: node_id.to_owned(),
        recipe: recipe_id.clone(),
    });
    app.hub
        .send_to_dashboard(conn, &DashboardEvent::new(node_id, Some(&job_id), created));
    delivered(app.hub.send_to_agent(node_id, vec![command]), node_id)?;
    tracing::info!(node_id = %node_id, job_id = %job_id, recipe = %recipe_id, kind = %kind, "job sent");
    Ok(())
}

/// The `jobs` row of job `job_id`, as it starts.
fn new_job(session: &Session, node_id: &str, job_id: &str, recipe_id: &str, kind: JobKind) -> Job {
    Job {
        id: job_id.to_owned(),
        node_id: node_id.to_owned(),
        recipe: recipe_id.to_owned(),
        kind,
        requested_by: session.username.clone(),
        status: JobStatus::Pending,
        created_at: cairn_protocol::unix_now(),
        finished_at: None,
        result: None,
        params: None,
        action: None,
    }
}

/// The `jobs` row and the audit entry of a job (not of a preview).
async fn store_job(app: &Arc<App>, session: &Session, job: Job) -> Result<(), String> {
    let (kind, target) = (
        job.kind,
        format!("{} {} {}", job.node_id, job.id, job.recipe),
    );
    store::blocking(&app.store, move |s| s.create_job(&job))
        .await
        .map_err(|e| e.to_string())?;
    app.audit(&session.who(), &format!("job.create {kind}"), &target, "ok")
        .await;
    Ok(())
}
