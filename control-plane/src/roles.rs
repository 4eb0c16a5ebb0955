//! Who may do what: the four roles of a dashboard user and the node groups that scope the two
//! lowest (issue 20). A leaf: the store keeps a user's [`Role`] and groups, the router's table
//! (`http::routes`) and the dashboard socket's (`ws_dashboard::access`) name the least role each
//! route or command needs, and one check per surface compares them ([`Access::allows`]).
//!
//! The roles are ordered: each may do everything the ones below it may.
//! - **viewer**: reads status, jobs, logs, metrics and alerts of the nodes of its groups; never
//!   starts a job.
//! - **operator**: also plans and runs jobs on the nodes of its groups, but no destructive
//!   action (uninstall, drop, remove, restore over) unless granted ([`Access::destroy`]).
//! - **admin**: everything on every node (enrolling, removing, alert rules and channels).
//! - **owner**: everything, including users and the control plane's settings.
//!
//! A group is a node tag: an operator or viewer with the groups `web` and `db` sees the nodes
//! tagged `web` or `db`, and no other (those answer 404, as if they did not exist).

use serde::{Deserialize, Serialize};

/// A user's role, lowest first (the order is what [`Access::allows`] compares).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Operator,
    Admin,
    Owner,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Operator, Role::Admin, Role::Owner];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    pub fn from_word(word: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == word)
    }

    /// Whether node groups limit what this role sees (operators and viewers).
    pub fn scoped(self) -> bool {
        self < Role::Admin
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a signed-in user may do: the role, the node groups of an operator or viewer, and
/// whether an operator was granted destructive actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub role: Role,
    pub groups: Vec<String>,
    /// An operator granted destructive database actions (admins and owners always are).
    pub destroy: bool,
}

impl Access {
    /// Whether the role is at least `needed`.
    pub fn allows(&self, needed: Role) -> bool {
        self.role >= needed
    }

    /// Whether a node with these tags is within reach: any node for an admin or owner, a node
    /// sharing a group with an operator or viewer.
    pub fn sees(&self, tags: &[String]) -> bool {
        !self.role.scoped() || tags.iter().any(|t| self.groups.contains(t))
    }

    /// Whether destructive actions (uninstall, drop, remove, restore over) are allowed.
    pub fn may_destroy(&self) -> bool {
        self.role >= Role::Admin || (self.role == Role::Operator && self.destroy)
    }

    /// The sentence refusing something this role may not do.
    pub fn refusal(&self, needed: Role, what: &str) -> String {
        format!(
            "your role ({}) may not {what}: it needs the {needed} role or higher; ask the owner",
            self.role
        )
    }
}

/// The sentence for a node outside an operator's or viewer's groups: worded as for a node that
/// does not exist, so its existence is not revealed.
pub fn unseen_node(node_id: &str) -> String {
    format!("there is no node \"{node_id}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(role: Role, groups: &[&str]) -> Access {
        Access {
            role,
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            destroy: false,
        }
    }

    #[test]
    fn roles_are_ordered_and_read_back_from_their_words() {
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        assert!(Role::Admin < Role::Owner);
        for r in Role::ALL {
            assert_eq!(Role::from_word(r.as_str()), Some(r));
        }
        assert_eq!(Role::from_word("root"), None);
    }

    #[test]
    fn groups_scope_operators_and_viewers_only() {
        let tags = vec!["web".to_owned()];
        assert!(access(Role::Viewer, &["web"]).sees(&tags));
        assert!(!access(Role::Viewer, &["db"]).sees(&tags));
        assert!(!access(Role::Operator, &[]).sees(&tags));
        assert!(access(Role::Admin, &[]).sees(&tags));
        assert!(access(Role::Owner, &[]).sees(&[]));
    }

    #[test]
    fn only_admins_owners_and_granted_operators_destroy() {
        assert!(!access(Role::Operator, &[]).may_destroy());
        assert!(!access(Role::Viewer, &[]).may_destroy());
        assert!(access(Role::Admin, &[]).may_destroy());
        let mut granted = access(Role::Operator, &[]);
        granted.destroy = true;
        assert!(granted.may_destroy());
        let mut viewer = access(Role::Viewer, &[]);
        viewer.destroy = true;
        assert!(!viewer.may_destroy());
    }
}
