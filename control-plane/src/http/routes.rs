//! The route table: every HTTP route the control plane serves, one row each ([`ROUTES`]). The
//! router is built from it and the tests walk it, so a route cannot be served without being
//! listed (and checked: "every route without a session → 401", threats.md 21). Each private row
//! also names the least [`Role`] it needs and its [`Scope`] (which nodes it is about), which
//! `super::access` checks for every request before any handler runs (issue 20).

use crate::roles::Role;

/// What a route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteId {
    Healthz,
    InstallScript,
    AgentDownload,
    AgentChecksum,
    WorkerDownload,
    WorkerChecksum,
    ControlPlaneKey,
    Login,
    AgentSocket,
    Logout,
    Me,
    Nodes,
    NodesStatus,
    ChangeNode,
    RemoveNode,
    CreateToken,
    Tokens,
    RevokeToken,
    Recipes,
    ReloadRecipes,
    SubmitRecipe,
    Submissions,
    Submission,
    ApproveSubmission,
    RejectSubmission,
    WithdrawSubmission,
    CancelSubmission,
    Jobs,
    Job,
    JobEvents,
    Audit,
    Settings,
    ChangeSettings,
    DashboardSocket,
    Alerts,
    AlertRules,
    ChangeAlertRule,
    AlertOverride,
    MuteAlerts,
    UnmuteAlerts,
    AlertChannels,
    CreateAlertChannel,
    ChangeAlertChannel,
    DeleteAlertChannel,
    TestAlertChannel,
    NodeMetrics,
    MetricsOverview,
    Prometheus,
    Users,
    InviteUser,
    ChangeUser,
    ResetUser,
    Invites,
    CancelInvite,
    AcceptInvite,
    ChangePassword,
    MyApiTokens,
    CreateApiToken,
    RevokeMyApiToken,
    ApiTokens,
    RevokeApiToken,
    OpenApi,
    LoginCode,
    LoginEnrol,
    LoginEnrolConfirm,
    TwoFactor,
    StartTwoFactor,
    ConfirmTwoFactor,
    DisableTwoFactor,
    RequireTwoFactor,
    Sessions,
    RevokeSession,
    EndUserSessions,
}

/// Which nodes a private route's answer is about, for the node groups that scope operators and
/// viewers (`crate::roles`). Checked in one place, `super::access`, before the handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Not about nodes (or only for roles that see every node).
    None,
    /// The path's parameter at this index is a node: one outside the user's groups is a 404.
    Node(usize),
    /// The path's first parameter is a job: its node must be in the user's groups.
    Job,
    /// A list: the handler keeps only the nodes the check found within reach
    /// (`Request::reach`).
    Filtered,
}

/// One row of the route table. `{id}` in a path is a parameter.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    /// Reachable without a session.
    pub public: bool,
    /// The least role a session needs (meaningless for a public route).
    pub role: Role,
    /// Which nodes the route is about, for operators and viewers.
    pub scope: Scope,
    pub id: RouteId,
}

impl RouteId {
    /// Routes only a signed-in person may use, never an API token: making tokens (a token
    /// cannot make a longer-lived one), changing the password, signing out, the dashboard
    /// socket (which re-reads its session at every command).
    pub fn session_only(self) -> bool {
        matches!(
            self,
            RouteId::CreateApiToken
                | RouteId::ChangePassword
                | RouteId::Logout
                | RouteId::DashboardSocket
                // A token never manages how its user signs in, nor their sessions.
                | RouteId::TwoFactor
                | RouteId::StartTwoFactor
                | RouteId::ConfirmTwoFactor
                | RouteId::DisableTwoFactor
                | RouteId::RequireTwoFactor
                | RouteId::Sessions
                | RouteId::RevokeSession
                | RouteId::EndUserSessions
                // A leaked CI token must not approve its own upload (issue 22).
                | RouteId::ApproveSubmission
                | RouteId::RejectSubmission
                | RouteId::WithdrawSubmission
        )
    }
}

const fn public(method: &'static str, path: &'static str, id: RouteId) -> Route {
    Route {
        method,
        path,
        public: true,
        role: Role::Viewer,
        scope: Scope::None,
        id,
    }
}

const fn private(
    method: &'static str,
    path: &'static str,
    role: Role,
    scope: Scope,
    id: RouteId,
) -> Route {
    Route {
        method,
        path,
        public: false,
        role,
        scope,
        id,
    }
}

/// Every HTTP route the control plane serves (besides the dashboard's static files).
pub const ROUTES: &[Route] = &[
    public("GET", "/healthz", RouteId::Healthz),
    public("GET", "/install.sh", RouteId::InstallScript),
    public(
        "GET",
        "/downloads/cairn-agent-x86_64-linux-gnu",
        RouteId::AgentDownload,
    ),
    public(
        "GET",
        "/downloads/cairn-agent-x86_64-linux-gnu.sha256",
        RouteId::AgentChecksum,
    ),
    public(
        "GET",
        "/downloads/cairn-agent-worker-x86_64-linux-gnu",
        RouteId::WorkerDownload,
    ),
    public(
        "GET",
        "/downloads/cairn-agent-worker-x86_64-linux-gnu.sha256",
        RouteId::WorkerChecksum,
    ),
    public("GET", "/api/control-plane-key", RouteId::ControlPlaneKey),
    public("POST", "/api/login", RouteId::Login),
    public("GET", "/ws/agent", RouteId::AgentSocket),
    private(
        "POST",
        "/api/logout",
        Role::Viewer,
        Scope::None,
        RouteId::Logout,
    ),
    private("GET", "/api/me", Role::Viewer, Scope::None, RouteId::Me),
    private(
        "GET",
        "/api/nodes",
        Role::Viewer,
        Scope::Filtered,
        RouteId::Nodes,
    ),
    private(
        "POST",
        "/api/nodes/status",
        Role::Admin,
        Scope::None,
        RouteId::NodesStatus,
    ),
    private(
        "PATCH",
        "/api/nodes/{id}",
        Role::Admin,
        Scope::None,
        RouteId::ChangeNode,
    ),
    private(
        "DELETE",
        "/api/nodes/{id}",
        Role::Admin,
        Scope::None,
        RouteId::RemoveNode,
    ),
    private(
        "POST",
        "/api/enrollment-tokens",
        Role::Admin,
        Scope::None,
        RouteId::CreateToken,
    ),
    private(
        "GET",
        "/api/enrollment-tokens",
        Role::Admin,
        Scope::None,
        RouteId::Tokens,
    ),
    private(
        "DELETE",
        "/api/enrollment-tokens/{id}",
        Role::Admin,
        Scope::None,
        RouteId::RevokeToken,
    ),
    private(
        "GET",
        "/api/recipes",
        Role::Viewer,
        Scope::None,
        RouteId::Recipes,
    ),
    private(
        "POST",
        "/api/recipes/reload",
        Role::Admin,
        Scope::None,
        RouteId::ReloadRecipes,
    ),
    // Recipe publishing (issue 22): operators submit (a token may, for the CLI); only an
    // admin's dashboard session decides.
    private(
        "POST",
        "/api/recipes/submissions",
        Role::Operator,
        Scope::None,
        RouteId::SubmitRecipe,
    ),
    private(
        "GET",
        "/api/recipes/submissions",
        Role::Operator,
        Scope::None,
        RouteId::Submissions,
    ),
    private(
        "GET",
        "/api/recipes/submissions/{id}",
        Role::Operator,
        Scope::None,
        RouteId::Submission,
    ),
    private(
        "POST",
        "/api/recipes/submissions/{id}/approve",
        Role::Admin,
        Scope::None,
        RouteId::ApproveSubmission,
    ),
    private(
        "POST",
        "/api/recipes/submissions/{id}/reject",
        Role::Admin,
        Scope::None,
        RouteId::RejectSubmission,
    ),
    private(
        "POST",
        "/api/recipes/submissions/{id}/withdraw",
        Role::Admin,
        Scope::None,
        RouteId::WithdrawSubmission,
    ),
    // Its submitter takes back a pending submission (a token of theirs too: it could send
    // it); an admin may cancel anyone's. The handler checks whose it is.
    private(
        "POST",
        "/api/recipes/submissions/{id}/cancel",
        Role::Operator,
        Scope::None,
        RouteId::CancelSubmission,
    ),
    private(
        "GET",
        "/api/jobs",
        Role::Viewer,
        Scope::Filtered,
        RouteId::Jobs,
    ),
    private(
        "GET",
        "/api/jobs/{id}",
        Role::Viewer,
        Scope::Job,
        RouteId::Job,
    ),
    private(
        "GET",
        "/api/jobs/{id}/events",
        Role::Viewer,
        Scope::Job,
        RouteId::JobEvents,
    ),
    private(
        "GET",
        "/api/audit",
        Role::Admin,
        Scope::None,
        RouteId::Audit,
    ),
    private(
        "GET",
        "/api/settings",
        Role::Admin,
        Scope::None,
        RouteId::Settings,
    ),
    private(
        "PUT",
        "/api/settings",
        Role::Owner,
        Scope::None,
        RouteId::ChangeSettings,
    ),
    private(
        "GET",
        "/ws/dashboard",
        Role::Viewer,
        Scope::None,
        RouteId::DashboardSocket,
    ),
    private(
        "GET",
        "/api/alerts",
        Role::Viewer,
        Scope::Filtered,
        RouteId::Alerts,
    ),
    private(
        "GET",
        "/api/alert-rules",
        Role::Admin,
        Scope::None,
        RouteId::AlertRules,
    ),
    private(
        "PUT",
        "/api/alert-rules/{id}",
        Role::Admin,
        Scope::None,
        RouteId::ChangeAlertRule,
    ),
    private(
        "PUT",
        "/api/alert-rules/{id}/nodes/{node}",
        Role::Admin,
        Scope::None,
        RouteId::AlertOverride,
    ),
    private(
        "POST",
        "/api/alert-mutes",
        Role::Admin,
        Scope::None,
        RouteId::MuteAlerts,
    ),
    private(
        "DELETE",
        "/api/alert-mutes/{id}",
        Role::Admin,
        Scope::None,
        RouteId::UnmuteAlerts,
    ),
    private(
        "GET",
        "/api/alert-channels",
        Role::Admin,
        Scope::None,
        RouteId::AlertChannels,
    ),
    private(
        "POST",
        "/api/alert-channels",
        Role::Admin,
        Scope::None,
        RouteId::CreateAlertChannel,
    ),
    private(
        "PUT",
        "/api/alert-channels/{id}",
        Role::Admin,
        Scope::None,
        RouteId::ChangeAlertChannel,
    ),
    private(
        "DELETE",
        "/api/alert-channels/{id}",
        Role::Admin,
        Scope::None,
        RouteId::DeleteAlertChannel,
    ),
    private(
        "POST",
        "/api/alert-channels/{id}/test",
        Role::Admin,
        Scope::None,
        RouteId::TestAlertChannel,
    ),
    private(
        "GET",
        "/api/nodes/{id}/metrics",
        Role::Viewer,
        Scope::Node(0),
        RouteId::NodeMetrics,
    ),
    private(
        "GET",
        "/api/metrics/overview",
        Role::Viewer,
        Scope::Filtered,
        RouteId::MetricsOverview,
    ),
    private(
        "GET",
        "/api/users",
        Role::Owner,
        Scope::None,
        RouteId::Users,
    ),
    private(
        "POST",
        "/api/users",
        Role::Owner,
        Scope::None,
        RouteId::InviteUser,
    ),
    private(
        "GET",
        "/api/invites",
        Role::Owner,
        Scope::None,
        RouteId::Invites,
    ),
    private(
        "DELETE",
        "/api/invites/{id}",
        Role::Owner,
        Scope::None,
        RouteId::CancelInvite,
    ),
    private(
        "PATCH",
        "/api/users/{id}",
        Role::Owner,
        Scope::None,
        RouteId::ChangeUser,
    ),
    private(
        "POST",
        "/api/users/{id}/reset",
        Role::Owner,
        Scope::None,
        RouteId::ResetUser,
    ),
    // The link's secret is the credential; throttled per address like a sign-in.
    public("POST", "/api/invites/accept", RouteId::AcceptInvite),
    private(
        "PUT",
        "/api/me/password",
        Role::Viewer,
        Scope::None,
        RouteId::ChangePassword,
    ),
    private(
        "GET",
        "/api/me/tokens",
        Role::Viewer,
        Scope::None,
        RouteId::MyApiTokens,
    ),
    private(
        "POST",
        "/api/me/tokens",
        Role::Viewer,
        Scope::None,
        RouteId::CreateApiToken,
    ),
    private(
        "DELETE",
        "/api/me/tokens/{id}",
        Role::Viewer,
        Scope::None,
        RouteId::RevokeMyApiToken,
    ),
    private(
        "GET",
        "/api/api-tokens",
        Role::Owner,
        Scope::None,
        RouteId::ApiTokens,
    ),
    private(
        "DELETE",
        "/api/api-tokens/{id}",
        Role::Owner,
        Scope::None,
        RouteId::RevokeApiToken,
    ),
    // Describes the routes only, as docs/api.md does: no data behind it.
    public("GET", "/api/openapi.json", RouteId::OpenApi),
    // The half-signed-in token (after a right password) is the credential; codes are
    // throttled like passwords.
    public("POST", "/api/login/code", RouteId::LoginCode),
    public("POST", "/api/login/enrol", RouteId::LoginEnrol),
    public(
        "POST",
        "/api/login/enrol/confirm",
        RouteId::LoginEnrolConfirm,
    ),
    private(
        "GET",
        "/api/me/totp",
        Role::Viewer,
        Scope::None,
        RouteId::TwoFactor,
    ),
    private(
        "POST",
        "/api/me/totp",
        Role::Viewer,
        Scope::None,
        RouteId::StartTwoFactor,
    ),
    private(
        "POST",
        "/api/me/totp/confirm",
        Role::Viewer,
        Scope::None,
        RouteId::ConfirmTwoFactor,
    ),
    private(
        "POST",
        "/api/me/totp/disable",
        Role::Viewer,
        Scope::None,
        RouteId::DisableTwoFactor,
    ),
    private(
        "PUT",
        "/api/settings/two-factor",
        Role::Owner,
        Scope::None,
        RouteId::RequireTwoFactor,
    ),
    private(
        "GET",
        "/api/me/sessions",
        Role::Viewer,
        Scope::None,
        RouteId::Sessions,
    ),
    private(
        "DELETE",
        "/api/me/sessions/{id}",
        Role::Viewer,
        Scope::None,
        RouteId::RevokeSession,
    ),
    private(
        "DELETE",
        "/api/users/{id}/sessions",
        Role::Owner,
        Scope::None,
        RouteId::EndUserSessions,
    ),
    // Public as far as sessions go: Prometheus sends its bearer token instead.
    public("GET", "/metrics", RouteId::Prometheus),
];
