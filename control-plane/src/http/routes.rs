//! The route table: every HTTP route the control plane serves, one row each ([`ROUTES`]). The
//! router is built from it and the tests walk it, so a route cannot be served without being
//! listed (and checked: "every route without a session → 401", threats.md 21).

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
}

/// One row of the route table. `{id}` in a path is a parameter.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    /// Reachable without a session.
    pub public: bool,
    pub id: RouteId,
}

const fn route(method: &'static str, path: &'static str, public: bool, id: RouteId) -> Route {
    Route {
        method,
        path,
        public,
        id,
    }
}

/// Every HTTP route the control plane serves (besides the dashboard's static files).
pub const ROUTES: &[Route] = &[
    route("GET", "/healthz", true, RouteId::Healthz),
    route("GET", "/install.sh", true, RouteId::InstallScript),
    route(
        "GET",
        "/downloads/cairn-agent-x86_64-linux-gnu",
        true,
        RouteId::AgentDownload,
    ),
    route(
        "GET",
        "/downloads/cairn-agent-x86_64-linux-gnu.sha256",
        true,
        RouteId::AgentChecksum,
    ),
    route(
        "GET",
        "/downloads/cairn-agent-worker-x86_64-linux-gnu",
        true,
        RouteId::WorkerDownload,
    ),
    route(
        "GET",
        "/downloads/cairn-agent-worker-x86_64-linux-gnu.sha256",
        true,
        RouteId::WorkerChecksum,
    ),
    route(
        "GET",
        "/api/control-plane-key",
        true,
        RouteId::ControlPlaneKey,
    ),
    route("POST", "/api/login", true, RouteId::Login),
    route("GET", "/ws/agent", true, RouteId::AgentSocket),
    route("POST", "/api/logout", false, RouteId::Logout),
    route("GET", "/api/me", false, RouteId::Me),
    route("GET", "/api/nodes", false, RouteId::Nodes),
    route("POST", "/api/nodes/status", false, RouteId::NodesStatus),
    route("PATCH", "/api/nodes/{id}", false, RouteId::ChangeNode),
    route("DELETE", "/api/nodes/{id}", false, RouteId::RemoveNode),
    route(
        "POST",
        "/api/enrollment-tokens",
        false,
        RouteId::CreateToken,
    ),
    route("GET", "/api/enrollment-tokens", false, RouteId::Tokens),
    route(
        "DELETE",
        "/api/enrollment-tokens/{id}",
        false,
        RouteId::RevokeToken,
    ),
    route("GET", "/api/recipes", false, RouteId::Recipes),
    route("POST", "/api/recipes/reload", false, RouteId::ReloadRecipes),
    route("GET", "/api/jobs", false, RouteId::Jobs),
    route("GET", "/api/jobs/{id}", false, RouteId::Job),
    route("GET", "/api/jobs/{id}/events", false, RouteId::JobEvents),
    route("GET", "/api/audit", false, RouteId::Audit),
    route("GET", "/api/settings", false, RouteId::Settings),
    route("PUT", "/api/settings", false, RouteId::ChangeSettings),
    route("GET", "/ws/dashboard", false, RouteId::DashboardSocket),
    route("GET", "/api/alerts", false, RouteId::Alerts),
    route("GET", "/api/alert-rules", false, RouteId::AlertRules),
    route(
        "PUT",
        "/api/alert-rules/{id}",
        false,
        RouteId::ChangeAlertRule,
    ),
    route(
        "PUT",
        "/api/alert-rules/{id}/nodes/{node}",
        false,
        RouteId::AlertOverride,
    ),
    route("POST", "/api/alert-mutes", false, RouteId::MuteAlerts),
    route(
        "DELETE",
        "/api/alert-mutes/{id}",
        false,
        RouteId::UnmuteAlerts,
    ),
    route("GET", "/api/alert-channels", false, RouteId::AlertChannels),
    route(
        "POST",
        "/api/alert-channels",
        false,
        RouteId::CreateAlertChannel,
    ),
    route(
        "PUT",
        "/api/alert-channels/{id}",
        false,
        RouteId::ChangeAlertChannel,
    ),
    route(
        "DELETE",
        "/api/alert-channels/{id}",
        false,
        RouteId::DeleteAlertChannel,
    ),
    route(
        "POST",
        "/api/alert-channels/{id}/test",
        false,
        RouteId::TestAlertChannel,
    ),
    route(
        "GET",
        "/api/nodes/{id}/metrics",
        false,
        RouteId::NodeMetrics,
    ),
    route(
        "GET",
        "/api/metrics/overview",
        false,
        RouteId::MetricsOverview,
    ),
    // Public as far as sessions go: Prometheus sends its bearer token instead.
    route("GET", "/metrics", true, RouteId::Prometheus),
];
