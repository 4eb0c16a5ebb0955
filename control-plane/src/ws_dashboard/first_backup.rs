//! The first backup that follows a backup's configure. A backup recipe's configure installs and
//! writes the settings, the key, the script and the schedule; when it changed something its
//! result says `firstBackupDue`, and the control plane starts the recipe's `first_backup` (the
//! backup, then its restore test) as a job of its own on the same node, for the same user: it
//! does not depend on the page staying open, and a first backup that takes hours can be watched
//! or cancelled without undoing the configuration. The job is stored, audited
//! (`job.create CONFIGURE_BACKUP`, its target naming `first_backup` and the configure job) and
//! shown like any other: the agent's `JOB_STARTED` names its recipe, and the dashboards watching
//! the node show its live output.

use std::collections::BTreeMap;
use std::sync::Arc;

use cairn_engine::Category;
use cairn_protocol::dashboard::{Job, JobKind, JobStatus};
use cairn_protocol::messages::ConfigureBackup;

use crate::app::App;
use crate::roles::Role;
use crate::store;

/// The value of the backup recipes' `action` parameter that runs the first backup.
pub const ACTION: &str = "first_backup";

/// Starts the first backup after configure job `configure_job` of node `node_id` ended with
/// `firstBackupDue`. `owner` is the session that asked for the configure (its hash), which is
/// then the new job's too. Failures are logged and audited: the configure itself succeeded,
/// and the card offers Run now.
pub async fn start(app: Arc<App>, node_id: String, configure_job: String, owner: Option<String>) {
    match start_inner(&app, &node_id, &configure_job, owner.as_deref()).await {
        Ok(Some((username, job_id, recipe))) => {
            tracing::info!(node_id = %node_id, job_id = %job_id, recipe = %recipe,
                after = %configure_job, "first backup started");
            app.audit(
                &username,
                "job.create CONFIGURE_BACKUP",
                &format!("{node_id} {job_id} {recipe} {ACTION} (after {configure_job})"),
                "ok",
            )
            .await;
        }
        Ok(None) => {}
        Err((who, why)) => {
            tracing::warn!(node_id = %node_id, after = %configure_job, error = %why,
                "the first backup could not be started");
            app.audit(
                &who,
                "job.create CONFIGURE_BACKUP",
                &format!("{node_id} - - {ACTION} (after {configure_job})"),
                &format!("failed: {why}"),
            )
            .await;
        }
    }
}

type Started = Option<(String, String, String)>;

/// Whether a job may still be started for `user`, as stored now, on a node tagged `tags`:
/// enabled, an operator or more, and given one of the node's groups (threats.md 48).
fn may_run(user: &store::User, tags: &[String]) -> bool {
    !user.disabled && user.access.allows(Role::Operator) && user.access.sees(tags)
}

async fn start_inner(
    app: &Arc<App>,
    node_id: &str,
    configure_job: &str,
    owner: Option<&str>,
) -> Result<Started, (String, String)> {
    let id = configure_job.to_owned();
    let job = store::blocking(&app.store, move |s| s.job(&id))
        .await
        .map_err(|e| ("control-plane".to_owned(), e.to_string()))?;
    // Only a configure (never an action, whose result does not ask for it) of this node.
    let Some(job) = job.filter(|j| {
        j.node_id == node_id && j.kind == JobKind::ConfigureBackup && j.action.is_none()
    }) else {
        return Ok(None);
    };
    let who = job.requested_by.clone();
    let fail = |why: String| (who.clone(), why);
    // The user as they are now (threats.md 48): one disabled, demoted below operator or no
    // longer given this node's group since the configure began starts nothing.
    let name = who.clone();
    let user = store::blocking(&app.store, move |s| s.user(&name))
        .await
        .map_err(|e| fail(e.to_string()))?;
    let node = super::node_exists(app, node_id).await.map_err(fail)?;
    match user {
        Some(u) if may_run(&u, &node.tags) => {}
        _ => {
            return Err(fail(format!(
                "{who} may no longer run jobs on node {node_id}; the first backup was not started \
                 (Run now on the backup card starts it)"
            )));
        }
    }
    let published = app
        .registry()
        .get(&job.recipe)
        .cloned()
        .ok_or_else(|| fail(format!("the recipe \"{}\" is not published", job.recipe)))?;
    if published.recipe.meta.category != Category::Backup {
        return Ok(None);
    }
    let job_id = format!(
        "job-{}",
        cairn_protocol::new_id().map_err(|e| fail(e.to_string()))?
    );
    let config = BTreeMap::from([("action".to_owned(), ACTION.to_owned())]);
    let row = Job {
        id: job_id.clone(),
        node_id: node_id.to_owned(),
        recipe: job.recipe.clone(),
        kind: JobKind::ConfigureBackup,
        requested_by: who.clone(),
        status: JobStatus::Pending,
        created_at: cairn_protocol::unix_now(),
        finished_at: None,
        result: None,
        // What Retry sends again: the same action (no secret: the settings are on the server).
        params: Some(serde_json::json!({ "config": config })),
        action: None,
    };
    store::blocking(&app.store, move |s| s.create_job(&row))
        .await
        .map_err(|e| fail(e.to_string()))?;
    if let Some(owner) = owner {
        app.hub.set_job_owner(&job_id, owner);
    }
    let command = cairn_protocol::Message::ConfigureBackup(ConfigureBackup {
        job_id: job_id.clone(),
        provider: job.recipe.clone(),
        config,
        plan: None,
        action: None,
        bundle: published.bundle,
    });
    super::delivered(app.hub.send_to_agent(node_id, vec![command]), node_id).map_err(fail)?;
    Ok(Some((who, job_id, job.recipe)))
}

#[cfg(test)]
mod tests {
    use super::may_run;
    use crate::roles::{Access, Role};
    use crate::store::User;

    fn user(role: Role, groups: &[&str], disabled: bool) -> User {
        User {
            username: "ann".into(),
            password_hash: String::new(),
            access: Access {
                role,
                groups: groups.iter().map(|g| (*g).to_owned()).collect(),
                destroy: false,
            },
            disabled,
            created_at: 0,
            password_changed_at: 0,
        }
    }

    #[test]
    fn only_an_enabled_operator_or_more_who_sees_the_node_gets_the_first_backup() {
        let web = ["web".to_owned()];
        assert!(may_run(&user(Role::Operator, &["web"], false), &web));
        assert!(may_run(&user(Role::Admin, &[], false), &web));
        assert!(may_run(&user(Role::Owner, &[], false), &web));
        // Disabled since the configure began.
        assert!(!may_run(&user(Role::Operator, &["web"], true), &web));
        assert!(!may_run(&user(Role::Owner, &[], true), &web));
        // Demoted to viewer.
        assert!(!may_run(&user(Role::Viewer, &["web"], false), &web));
        // No longer given the node's group.
        assert!(!may_run(&user(Role::Operator, &["db"], false), &web));
    }
}
