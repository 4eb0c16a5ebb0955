//! Roles enforced on the server (issue 20), with the real binaries: users invited and accepted
//! through the API, then every route of `http::ROUTES` and every dashboard command tried by each
//! role, by a disabled user and with a session from before a password change, asserting the
//! allowed set exactly. The tables below are the test's own; a new route or command without a
//! row does not compile (the matches are exhaustive).

use cairn_control_plane::http::{ROUTES, RouteId};
use cairn_control_plane::roles::Role;
use cairn_e2e::{Cluster, ControlPlane, Dashboard};
use cairn_protocol::dashboard::DashboardCommand;
use serde_json::{Value, json};

/// The least role each route needs, as issue 20 asks.
pub(crate) fn least_role(id: RouteId) -> Option<Role> {
    use RouteId::*;
    match id {
        Healthz | InstallScript | AgentDownload | AgentChecksum | WorkerDownload
        | WorkerChecksum | ControlPlaneKey | Login | AgentSocket | Prometheus | AcceptInvite
        | OpenApi | LoginCode | LoginEnrol | LoginEnrolConfirm => None,
        Logout | Me | Nodes | Recipes | Jobs | Job | JobEvents | DashboardSocket | Alerts
        | NodeMetrics | MetricsOverview | ChangePassword | MyApiTokens | CreateApiToken
        | RevokeMyApiToken | TwoFactor | StartTwoFactor | ConfirmTwoFactor | DisableTwoFactor
        | Sessions | RevokeSession => Some(Role::Viewer),
        SubmitRecipe | Submissions | Submission | CancelSubmission => Some(Role::Operator),
        NodesStatus | ChangeNode | RemoveNode | CreateToken | Tokens | RevokeToken
        | ReloadRecipes | ApproveSubmission | RejectSubmission | WithdrawSubmission | Audit
        | Settings | AlertRules | ChangeAlertRule | AlertOverride | MuteAlerts | UnmuteAlerts
        | AlertChannels | CreateAlertChannel | ChangeAlertChannel | DeleteAlertChannel
        | TestAlertChannel => Some(Role::Admin),
        ChangeSettings | Users | InviteUser | Invites | CancelInvite | ChangeUser | ResetUser
        | ApiTokens | RevokeApiToken | RequireTwoFactor | EndUserSessions => Some(Role::Owner),
    }
}

/// The least role each dashboard command needs.
fn command_role(c: &DashboardCommand) -> Role {
    match c {
        DashboardCommand::Subscribe { .. }
        | DashboardCommand::GetServerStatus { .. }
        | DashboardCommand::GetServiceLog { .. } => Role::Viewer,
        DashboardCommand::InstallRuntime { .. }
        | DashboardCommand::ConfigureDatabase { .. }
        | DashboardCommand::ConfigureBackup { .. }
        | DashboardCommand::RunAction { .. }
        | DashboardCommand::PlanRequest { .. }
        | DashboardCommand::CancelJob { .. } => Role::Operator,
    }
}

/// Every command, about `node`, with payloads that fail harmlessly once past the access check
/// (no recipe named, no job id, no service name), so an allowed one changes nothing either.
fn commands(node: &str) -> Vec<DashboardCommand> {
    let node_id = node.to_owned();
    vec![
        DashboardCommand::Subscribe {
            node_id: node_id.clone(),
        },
        DashboardCommand::GetServerStatus {
            node_id: node_id.clone(),
            system_only: true,
        },
        DashboardCommand::GetServiceLog {
            node_id: node_id.clone(),
            service: String::new(),
        },
        DashboardCommand::InstallRuntime {
            node_id: node_id.clone(),
            payload: Default::default(),
        },
        DashboardCommand::ConfigureDatabase {
            node_id: node_id.clone(),
            payload: Default::default(),
        },
        DashboardCommand::ConfigureBackup {
            node_id: node_id.clone(),
            payload: Default::default(),
        },
        DashboardCommand::RunAction {
            node_id: node_id.clone(),
            payload: Default::default(),
        },
        DashboardCommand::PlanRequest {
            node_id: node_id.clone(),
            payload: Default::default(),
        },
        DashboardCommand::CancelJob {
            node_id,
            job_id: None,
            payload: None,
        },
    ]
}

pub(crate) async fn send(
    cp: &ControlPlane,
    cookie: Option<&str>,
    method: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let r = cp
        .request(method, path, cookie, Some(&body.to_string()))
        .await;
    let v = serde_json::from_str(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

/// Invites `name` as the owner and accepts the link; the new user's session cookie.
pub(crate) async fn user(c: &Cluster, name: &str, role: Role, groups: &[&str]) -> String {
    let (status, link) = send(
        &c.cp,
        Some(&c.cookie),
        "POST",
        "/api/users",
        json!({"username": name, "role": role, "groups": groups}),
    )
    .await;
    assert_eq!(status, 201, "{link}");
    assert!(
        link["link"]
            .as_str()
            .is_some_and(|l| l.contains("/invite#")),
        "{link}"
    );
    let password = format!("{name}-password-long");
    let (status, accepted) = send(
        &c.cp,
        None,
        "POST",
        "/api/invites/accept",
        json!({"token": link["token"], "password": password}),
    )
    .await;
    assert_eq!(status, 200, "{accepted}");
    login(&c.cp, name, &password).await
}

pub(crate) async fn login(cp: &ControlPlane, name: &str, password: &str) -> String {
    let body = json!({"username": name, "password": password}).to_string();
    let r = cp.request("POST", "/api/login", None, Some(&body)).await;
    assert_eq!(r.status, 200, "{name} login: {}", r.body);
    r.cookie().expect("a session cookie")
}

/// The route's path with harmless parameters: nodes, jobs, users, rules and channels that do
/// not exist, so an allowed request is answered by its handler without changing anything.
pub(crate) fn path_of(path: &str) -> String {
    path.replace("/api/alert-rules/{id}", "/api/alert-rules/disk")
        .replace("{node}", "node-nope")
        .replace("{id}", "nope")
}

/// Tries every private route (logout last, as it ends the session) with `cookie`; the routes
/// answered other than 401/403, and those refused with 403 and a sentence.
async fn walk(cp: &ControlPlane, cookie: &str) -> (Vec<RouteId>, Vec<RouteId>) {
    let (mut allowed, mut refused) = (Vec::new(), Vec::new());
    let mut routes: Vec<_> = ROUTES.iter().filter(|r| !r.public).collect();
    routes.sort_by_key(|r| r.id == RouteId::Logout);
    for r in routes {
        let path = path_of(r.path);
        let path = if r.id == RouteId::NodesStatus {
            format!("{path}?wait=0")
        } else {
            path
        };
        let (status, body) = send(cp, Some(cookie), r.method, &path, json!({})).await;
        match status {
            401 => panic!("{} {path}: 401 with a live session: {body}", r.method),
            403 => {
                let e = body["error"].as_str().unwrap_or_default();
                assert!(
                    e.contains("may not") && e.contains("role"),
                    "{} {path}: {body}",
                    r.method
                );
                refused.push(r.id);
            }
            _ => allowed.push(r.id),
        }
    }
    (allowed, refused)
}

/// Every private route answers 401 to `cookie`.
async fn all_unauthorized(cp: &ControlPlane, cookie: &str, who: &str) {
    for r in ROUTES.iter().filter(|r| !r.public) {
        let (status, body) = send(cp, Some(cookie), r.method, &path_of(r.path), json!({})).await;
        assert_eq!(status, 401, "{who}: {} {}: {body}", r.method, r.path);
    }
}

/// Sends every command; the names of those refused for the role, the others answered.
async fn try_commands(cp: &ControlPlane, cookie: &str, node: &str) -> Vec<(Role, bool, Value)> {
    let mut page = Dashboard::connect(cp.addr, Some(cookie), &cp.origin())
        .await
        .expect("the dashboard socket");
    let mut out = Vec::new();
    for command in commands(node) {
        let wire = serde_json::to_value(&command).expect("a command as JSON");
        let before = page.seen.len();
        page.send(wire.clone()).await;
        let answer = page
            .recv_from(before, |v| {
                matches!(
                    v["type"].as_str(),
                    Some("ERROR" | "NODE_STATUS" | "SERVER_STATUS")
                )
            })
            .await;
        let refused = answer["type"] == "ERROR"
            && answer["payload"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("may not"));
        out.push((
            command_role(&command),
            refused,
            json!({"sent": wire, "answer": answer}),
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_and_command_allows_exactly_what_each_role_may_do() {
    let c = Cluster::start(&[]).await;
    let (status, _) = send(
        &c.cp,
        Some(&c.cookie),
        "PATCH",
        &format!("/api/nodes/{}", c.node_id),
        json!({"tags": ["web"]}),
    )
    .await;
    assert_eq!(status, 200);
    let mut sessions = vec![(Role::Owner, c.cookie.clone())];
    sessions.push((Role::Admin, user(&c, "alice", Role::Admin, &[]).await));
    sessions.push((
        Role::Operator,
        user(&c, "olga", Role::Operator, &["web"]).await,
    ));
    sessions.push((Role::Viewer, user(&c, "vera", Role::Viewer, &["web"]).await));

    for (role, cookie) in &sessions {
        let (allowed, refused) = walk(&c.cp, cookie).await;
        for r in ROUTES.iter().filter(|r| !r.public) {
            let need = least_role(r.id).expect("a private route has a role");
            if *role >= need {
                assert!(
                    allowed.contains(&r.id),
                    "{role} was refused {} {}",
                    r.method,
                    r.path
                );
            } else {
                assert!(
                    refused.contains(&r.id),
                    "{role} was allowed {} {}",
                    r.method,
                    r.path
                );
            }
        }
        // The table covers the route table exactly, public rows included.
        for r in ROUTES {
            assert_eq!(least_role(r.id).is_none(), r.public, "{:?}", r.id);
        }
    }

    // Logout ended every one of those sessions: sign in again for the socket.
    let owner = c.cp.login().await;
    let viewer = login(&c.cp, "vera", "vera-password-long").await;
    let operator = login(&c.cp, "olga", "olga-password-long").await;
    for (role, cookie) in [
        (Role::Owner, &owner),
        (Role::Operator, &operator),
        (Role::Viewer, &viewer),
    ] {
        for (need, was_refused, seen) in try_commands(&c.cp, cookie, &c.node_id).await {
            assert_eq!(was_refused, role < need, "{role}: {seen}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_hide_other_nodes_and_a_disabled_or_stale_session_gets_nothing() {
    let c = Cluster::start(&[]).await;
    let (status, _) = send(
        &c.cp,
        Some(&c.cookie),
        "PATCH",
        &format!("/api/nodes/{}", c.node_id),
        json!({"tags": ["web"]}),
    )
    .await;
    assert_eq!(status, 200);
    // A viewer of another group: the node is not listed and reads of it are 404.
    let otto = user(&c, "otto", Role::Viewer, &["db"]).await;
    let nodes = c.cp.get_json(&otto, "/api/nodes").await;
    assert_eq!(nodes, json!([]), "{nodes}");
    let (status, body) = send(
        &c.cp,
        Some(&otto),
        "GET",
        &format!("/api/nodes/{}/metrics?range=1h", c.node_id),
        json!({}),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("no node")),
        "{body}"
    );
    let mut page = Dashboard::connect(c.cp.addr, Some(&otto), &c.cp.origin())
        .await
        .expect("socket");
    page.send(json!({"type": "SUBSCRIBE", "nodeId": c.node_id}))
        .await;
    let answer = page
        .recv_until(|v| v["type"] == "ERROR" || v["type"] == "NODE_STATUS")
        .await;
    assert_eq!(answer["type"], "ERROR", "{answer}");
    // Once the owner adds the group, the same session sees it.
    let (status, _) = send(
        &c.cp,
        Some(&c.cookie),
        "PATCH",
        "/api/users/otto",
        json!({"groups": ["db", "web"]}),
    )
    .await;
    assert_eq!(status, 200);
    let nodes = c.cp.get_json(&otto, "/api/nodes").await;
    assert_eq!(nodes.as_array().map(Vec::len), Some(1), "{nodes}");
    // Watching the node, his page gets its status; once the group is taken away, no more.
    page.send(json!({"type": "SUBSCRIBE", "nodeId": c.node_id}))
        .await;
    page.recv_until(|v| v["type"] == "NODE_STATUS").await;
    let mut owner_page = Dashboard::connect(c.cp.addr, Some(&c.cookie), &c.cp.origin())
        .await
        .expect("the owner's socket");
    let ask = json!({"type": "GET_SERVER_STATUS", "nodeId": c.node_id, "systemOnly": true});
    owner_page.send(ask.clone()).await;
    let seen = page.seen.len();
    page.recv_from(seen, |v| v["type"] == "SERVER_STATUS").await;
    let (status, _) = send(
        &c.cp,
        Some(&c.cookie),
        "PATCH",
        "/api/users/otto",
        json!({"groups": ["db"]}),
    )
    .await;
    assert_eq!(status, 200);
    // Let his socket take the change in before the next status goes out.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let before = owner_page.seen.len();
    owner_page.send(ask).await;
    owner_page
        .recv_from(before, |v| v["type"] == "SERVER_STATUS")
        .await;
    let late = tokio::time::timeout(std::time::Duration::from_secs(3), async {
        loop {
            match page.next().await {
                Some(v) if v["type"] == "SERVER_STATUS" => return v,
                Some(_) => continue,
                None => std::future::pending::<()>().await,
            }
        }
    })
    .await;
    assert!(
        late.is_err(),
        "a node out of his groups still reached him: {late:?}"
    );

    // Disabled: every session ends at once, its open socket too (told so, without sending
    // anything), sign-in refused.
    let (status, body) = send(
        &c.cp,
        Some(&c.cookie),
        "PATCH",
        "/api/users/otto",
        json!({"disabled": true}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let ended = page
        .recv_until(|v| {
            v["type"] == "ERROR"
                && v["payload"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("session has ended"))
        })
        .await;
    assert_eq!(ended["type"], "ERROR");
    assert!(page.next().await.is_none(), "the socket stayed open");
    all_unauthorized(&c.cp, &otto, "a disabled user").await;
    let r =
        c.cp.request(
            "POST",
            "/api/login",
            None,
            Some(&json!({"username": "otto", "password": "otto-password-long"}).to_string()),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);

    // A session from before a password change: refused everywhere; the changer's own goes on.
    let pat_a = user(&c, "pat", Role::Operator, &["web"]).await;
    let pat_b = login(&c.cp, "pat", "pat-password-long").await;
    let (status, body) = send(
        &c.cp,
        Some(&pat_b),
        "PUT",
        "/api/me/password",
        json!({"current": "wrong-password", "new": "a-new-password-long"}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let r =
        c.cp.request(
            "PUT",
            "/api/me/password",
            Some(&pat_b),
            Some(
                &json!({"current": "pat-password-long", "new": "a-new-password-long"}).to_string(),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let pat_c = r.cookie().expect("a new session for the changer");
    all_unauthorized(&c.cp, &pat_a, "a session from before the password change").await;
    all_unauthorized(&c.cp, &pat_b, "the changer's old session").await;
    let me = c.cp.get_json(&pat_c, "/api/me").await;
    assert_eq!(me["role"], "operator", "{me}");

    // A reset: the old password and sessions end, the new link sets a new one, once.
    let (status, link) = send(
        &c.cp,
        Some(&c.cookie),
        "POST",
        "/api/users/pat/reset",
        json!({}),
    )
    .await;
    assert_eq!(status, 201, "{link}");
    all_unauthorized(&c.cp, &pat_c, "a session from before the reset").await;
    let accept = json!({"token": link["token"], "password": "reset-password-long"});
    let (status, body) = send(&c.cp, None, "POST", "/api/invites/accept", accept.clone()).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(&c.cp, None, "POST", "/api/invites/accept", accept).await;
    assert!(status == 404 || status == 409, "{status} {body}");
    login(&c.cp, "pat", "reset-password-long").await;

    // Every change is audited under the acting user's name, and filtered by user.
    let audit = c.cp.get_json(&c.cookie, "/api/audit?user=admin").await;
    let whats: Vec<&str> = audit
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["what"].as_str())
        .collect();
    for what in ["user.invite", "user.change", "user.disable", "user.reset"] {
        assert!(whats.contains(&what), "{what} not in {whats:?}");
    }
    assert!(
        audit
            .as_array()
            .into_iter()
            .flatten()
            .all(|e| e["who"] == "admin"),
        "{audit}"
    );
    let pats = c.cp.get_json(&c.cookie, "/api/audit?user=pat").await;
    assert!(
        pats.as_array()
            .into_iter()
            .flatten()
            .any(|e| e["what"] == "user.password"),
        "{pats}"
    );
}
