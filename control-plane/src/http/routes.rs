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
    CreateToken,
    Recipes,
    ReloadRecipes,
    Jobs,
    Job,
    JobEvents,
    Audit,
    Settings,
    ChangeSettings,
    DashboardSocket,
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
    route(
        "POST",
        "/api/enrollment-tokens",
        false,
        RouteId::CreateToken,
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
];
