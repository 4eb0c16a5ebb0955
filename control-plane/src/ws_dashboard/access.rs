//! Who may send which dashboard command: the least role each needs ([`needs`], one row per
//! command, like the REST route table) and the one check every command goes through before it
//! is carried out ([`check`]): a role below the row's is refused with a sentence, and for an
//! operator or viewer a node outside their groups is answered as a node that does not exist.
//! A destructive declared action needs more than the row's role (`Access::may_destroy`); that is
//! checked where the action is read (`jobs.rs`), since only the recipe says which are.

use cairn_protocol::dashboard::DashboardCommand;

use super::node_exists;
use crate::app::App;
use crate::roles::{Role, unseen_node};
use crate::web::Session;

/// The least role `command` needs, and the node it is about.
pub(super) fn needs(command: &DashboardCommand) -> (Role, &str) {
    match command {
        // Reading: status, logs, the node's events.
        DashboardCommand::Subscribe { node_id }
        | DashboardCommand::GetServerStatus { node_id, .. }
        | DashboardCommand::GetServiceLog { node_id, .. } => (Role::Viewer, node_id),
        // Plans and jobs.
        DashboardCommand::CancelJob { node_id, .. }
        | DashboardCommand::InstallRuntime { node_id, .. }
        | DashboardCommand::ConfigureDatabase { node_id, .. }
        | DashboardCommand::ConfigureBackup { node_id, .. }
        | DashboardCommand::RunAction { node_id, .. }
        | DashboardCommand::PlanRequest { node_id, .. } => (Role::Operator, node_id),
    }
}

/// The command's name on the wire, for sentences.
fn name(command: &DashboardCommand) -> &'static str {
    match command {
        DashboardCommand::Subscribe { .. } => "SUBSCRIBE",
        DashboardCommand::GetServerStatus { .. } => "GET_SERVER_STATUS",
        DashboardCommand::GetServiceLog { .. } => "GET_SERVICE_LOG",
        DashboardCommand::CancelJob { .. } => "CANCEL_JOB",
        DashboardCommand::InstallRuntime { .. } => "INSTALL_RUNTIME",
        DashboardCommand::ConfigureDatabase { .. } => "CONFIGURE_DATABASE",
        DashboardCommand::ConfigureBackup { .. } => "CONFIGURE_BACKUP",
        DashboardCommand::RunAction { .. } => "RUN_ACTION",
        DashboardCommand::PlanRequest { .. } => "PLAN_REQUEST",
    }
}

/// Refuses a command the session's role may not send, or about a node outside its groups.
pub(super) async fn check(
    app: &App,
    session: &Session,
    command: &DashboardCommand,
) -> Result<(), String> {
    let (role, node_id) = needs(command);
    let access = &session.access;
    if !access.allows(role) {
        return Err(access.refusal(role, &format!("send {}", name(command))));
    }
    if access.role.scoped() {
        let node = node_exists(app, node_id).await?;
        if !access.sees(&node.tags) {
            return Err(unseen_node(node_id));
        }
    }
    Ok(())
}
