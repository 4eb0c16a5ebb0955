//! The OpenAPI 3.1 document of the REST routes, served at `GET /api/openapi.json` (issue 20).
//!
//! It is generated from the route table ([`super::ROUTES`]: method, path, least role as the
//! `x-cairn-role` extension, public or not) and [`describe`], one row per [`RouteId`] (summary,
//! request body example, main answers). `describe` is an exhaustive match, so a new route
//! without a description does not compile, and a test checks every row of the table is in the
//! document: it cannot drift from what the server serves. A body's schema is inferred from its
//! example (the handlers refuse unknown fields, so the example names every field).
//!
//! Public: it says only what docs/api.md says (the routes and the roles they need), no data,
//! and tools (code generators, API explorers) fetch it before they hold a credential.

use serde_json::{Map, Value, json};

use super::routes::{ROUTES, RouteId};

/// One route's description.
#[derive(Debug)]
pub struct Doc {
    pub summary: &'static str,
    /// An example JSON body (every field), for the routes that take one.
    pub body: Option<&'static str>,
    /// The main answers besides the refusals every private route has (401, 403).
    pub responses: &'static [(u16, &'static str)],
}

const fn doc(
    summary: &'static str,
    body: Option<&'static str>,
    responses: &'static [(u16, &'static str)],
) -> Doc {
    Doc {
        summary,
        body,
        responses,
    }
}

const OK: &[(u16, &str)] = &[(200, "done")];
const JSON: &[(u16, &str)] = &[(200, "a JSON answer")];
const ONE: &[(u16, &str)] = &[(200, "a JSON answer"), (404, "there is no such item")];
const CHANGE: &[(u16, &str)] = &[
    (200, "changed"),
    (400, "the body is wrong; a sentence says why"),
    (404, "there is no such item"),
];
const CREATE: &[(u16, &str)] = &[
    (201, "made"),
    (400, "the body is wrong; a sentence says why"),
];

/// The description of each route.
pub fn describe(id: RouteId) -> Doc {
    use RouteId::*;
    match id {
        Healthz => doc("Liveness: `ok` as text", None, OK),
        InstallScript => doc(
            "The agent's install script, for this control plane",
            None,
            OK,
        ),
        AgentDownload => doc(
            "The agent binary",
            None,
            &[(200, "the binary"), (404, "not provided")],
        ),
        AgentChecksum => doc("The agent binary's sha256", None, ONE),
        WorkerDownload => doc(
            "The agent's worker binary",
            None,
            &[(200, "the binary"), (404, "not provided")],
        ),
        WorkerChecksum => doc("The worker binary's sha256", None, ONE),
        ControlPlaneKey => doc("The control plane's public signing key", None, JSON),
        Login => doc(
            "Sign in: sets the session cookie",
            Some(r#"{"username": "admin", "password": "…"}"#),
            &[
                (200, "signed in"),
                (401, "wrong name or password"),
                (429, "too many attempts"),
            ],
        ),
        AgentSocket => doc(
            "The agents' WebSocket (signed messages, not for people)",
            None,
            &[(101, "upgraded")],
        ),
        Logout => doc("Sign out (session only)", None, OK),
        Me => doc(
            "Who is signed in: name, role, groups, mayDestroy",
            None,
            JSON,
        ),
        Nodes => doc("The nodes within reach", None, JSON),
        NodesStatus => doc(
            "Ask every node for its status now (`?wait=SECONDS`)",
            None,
            JSON,
        ),
        ChangeNode => doc(
            "Rename or retag a node",
            Some(r#"{"name": "web-1", "tags": ["web"]}"#),
            CHANGE,
        ),
        RemoveNode => doc(
            "Remove a node (its key is refused from then on)",
            Some(r#"{"confirm": "web-1"}"#),
            CHANGE,
        ),
        CreateToken => doc(
            "An enrollment token for a new node (secret shown once)",
            Some(r#"{"name": "web-1"}"#),
            CREATE,
        ),
        Tokens => doc("Pending enrollment tokens", None, JSON),
        RevokeToken => doc("Revoke an enrollment token", None, ONE),
        Recipes => doc("The recipe catalogue", None, JSON),
        ReloadRecipes => doc("Reload the recipes from disk", None, JSON),
        SubmitRecipe => doc(
            "Submit a recipe for publishing: checked as `cairn-recipe check` checks it, then \
             pending until an admin approves it",
            Some(
                r#"{"source": "const RECIPE = #{...};", "file": "redis.rhai", "files": {"redis.conf.j2": "..."}}"#,
            ),
            &[
                (
                    201,
                    "pending: the submission, its diff and grown capabilities",
                ),
                (400, "the body is wrong; a sentence says why"),
                (409, "the version is not above the published one"),
                (
                    422,
                    "the check found errors: every diagnostic, line:col: message",
                ),
            ],
        ),
        Submissions => doc("The recipe submissions, newest first", None, JSON),
        Submission => doc(
            "One submission: its files and its diff (source and capabilities) against the \
             published version",
            None,
            ONE,
        ),
        ApproveSubmission => doc(
            "Approve a pending submission (dashboard session only): signs it and publishes it",
            None,
            &[
                (200, "signed and published; which capabilities grew"),
                (404, "there is no such item"),
                (
                    409,
                    "not pending, or no longer newer than the published version",
                ),
            ],
        ),
        RejectSubmission => doc(
            "Reject a pending submission (dashboard session only)",
            None,
            &[
                (200, "rejected"),
                (404, "there is no such item"),
                (409, "not pending"),
            ],
        ),
        CancelSubmission => doc(
            "Cancel a pending submission: its submitter (a token of theirs too) or an admin \
             (another account's, in a dashboard session only; 403 with a sentence otherwise); \
             nothing is published and its account's pending cap is freed",
            None,
            &[
                (200, "cancelled"),
                (404, "there is no such item"),
                (409, "not pending; a sentence says its state"),
            ],
        ),
        WithdrawSubmission => doc(
            "Withdraw the approved submission published now (dashboard session only, the \
             recipe's id typed): what came before it is published again one version above",
            Some(r#"{"confirm": "hello"}"#),
            &[
                (
                    200,
                    "withdrawn; what is published instead, and at which version",
                ),
                (400, "the confirmation does not match the recipe's id"),
                (404, "there is no such item"),
                (
                    409,
                    "not the version published now, or what came before cannot be published",
                ),
            ],
        ),
        Jobs => doc("Jobs of the nodes within reach (`?node=ID`)", None, JSON),
        Job => doc("One job", None, ONE),
        JobEvents => doc("One job's events", None, ONE),
        Audit => doc("The audit log (`?user=NAME`, `?limit=N`)", None, JSON),
        Settings => doc("The control plane's settings", None, JSON),
        ChangeSettings => doc(
            "Change the public address",
            Some(r#"{"publicUrl": "https://cairn.example.com"}"#),
            CHANGE,
        ),
        DashboardSocket => doc(
            "The dashboard's WebSocket (session only)",
            None,
            &[(101, "upgraded")],
        ),
        Alerts => doc("Alerts of the nodes within reach", None, JSON),
        AlertRules => doc("The alert rules", None, JSON),
        ChangeAlertRule => doc(
            "Change an alert rule",
            Some(r#"{"enabled": true, "threshold": 90.0, "durationSecs": 300}"#),
            CHANGE,
        ),
        AlertOverride => doc(
            "Change an alert rule for one node",
            Some(r#"{"enabled": true, "threshold": 95.0}"#),
            CHANGE,
        ),
        MuteAlerts => doc(
            "Mute a rule (for a node) for some minutes",
            Some(r#"{"rule": "disk", "nodeId": "web-1", "minutes": 60}"#),
            CREATE,
        ),
        UnmuteAlerts => doc("End a mute", None, ONE),
        AlertChannels => doc("The alert channels (secrets masked)", None, JSON),
        CreateAlertChannel => doc(
            "A new alert channel",
            Some(r#"{"kind": "slack", "name": "ops", "url": "https://hooks.slack.com/…"}"#),
            CREATE,
        ),
        ChangeAlertChannel => doc(
            "Change an alert channel",
            Some(r#"{"name": "ops", "url": "https://hooks.slack.com/…"}"#),
            CHANGE,
        ),
        DeleteAlertChannel => doc(
            "Delete an alert channel (its name typed: its secrets cannot be read back)",
            Some(r#"{"confirm": "ops"}"#),
            CHANGE,
        ),
        TestAlertChannel => doc("Send a test message on a channel", None, ONE),
        NodeMetrics => doc("A node's metrics (`?range=1h|24h|7d|30d`)", None, ONE),
        MetricsOverview => doc("The latest metrics of the nodes within reach", None, JSON),
        Prometheus => doc(
            "Metrics for Prometheus (its own bearer token)",
            None,
            &[(200, "text exposition"), (401, "wrong token")],
        ),
        Users => doc("Every user", None, JSON),
        Invites => doc(
            "Invitations not yet accepted nor expired (never their links)",
            None,
            JSON,
        ),
        CancelInvite => doc(
            "Cancel a user's pending invitation: its link stops working",
            None,
            ONE,
        ),
        InviteUser => doc(
            "Invite a user (a one-time link, shown once)",
            Some(
                r#"{"username": "ana", "role": "operator", "groups": ["web"], "mayDestroy": false}"#,
            ),
            CREATE,
        ),
        ChangeUser => doc(
            "Change a user's role, groups, grant, or disable them",
            Some(r#"{"role": "viewer", "groups": ["web"], "mayDestroy": false, "disabled": true}"#),
            CHANGE,
        ),
        ResetUser => doc(
            "A password-reset link for a user (shown once)",
            None,
            &[(201, "made"), (404, "no such user")],
        ),
        AcceptInvite => doc(
            "Accept an invitation or reset link: set the password",
            Some(r#"{"token": "…", "password": "…"}"#),
            &[
                (200, "done"),
                (400, "the body is wrong"),
                (404, "the link is unknown or expired"),
            ],
        ),
        ChangePassword => doc(
            "Change one's own password (session only)",
            Some(r#"{"current": "…", "new": "…"}"#),
            &[
                (200, "changed; a new session cookie"),
                (400, "the body is wrong"),
            ],
        ),
        MyApiTokens => doc("One's own API tokens (never their secrets)", None, JSON),
        CreateApiToken => doc(
            "A new API token (session only; the secret is in this answer only)",
            Some(
                r#"{"name": "deploy", "role": "viewer", "groups": ["web"], "expiresIn": 2592000}"#,
            ),
            CREATE,
        ),
        RevokeMyApiToken => doc("Revoke one of one's own API tokens", None, ONE),
        ApiTokens => doc("Every user's API tokens (never their secrets)", None, JSON),
        RevokeApiToken => doc("Revoke anyone's API token", None, ONE),
        OpenApi => doc("This document", None, JSON),
        LoginCode => doc(
            "Sign in, second step: the code (or a recovery code) after a right password",
            Some(r#"{"pending": "…", "code": "123456"}"#),
            &[
                (200, "signed in: sets the session cookie"),
                (401, "wrong, reused or expired code"),
                (429, "too many attempts"),
            ],
        ),
        LoginEnrol => doc(
            "Sign in of a user required to have two-factor: the secret and QR code to enrol",
            Some(r#"{"pending": "…"}"#),
            &[
                (200, "the secret and QR code"),
                (401, "the sign-in expired"),
            ],
        ),
        LoginEnrolConfirm => doc(
            "Sign in of a user required to have two-factor: confirm with a code; recovery codes once",
            Some(r#"{"pending": "…", "code": "123456"}"#),
            &[
                (200, "enrolled and signed in"),
                (401, "wrong code or expired sign-in"),
                (429, "too many attempts"),
            ],
        ),
        TwoFactor => doc("One's two-factor state (session only)", None, JSON),
        StartTwoFactor => doc(
            "Start enrolling two-factor: a new secret and QR code (session only)",
            None,
            JSON,
        ),
        ConfirmTwoFactor => doc(
            "Turn two-factor on with a current code; the recovery codes, once (session only)",
            Some(r#"{"code": "123456"}"#),
            CHANGE,
        ),
        DisableTwoFactor => doc(
            "Turn two-factor off with the password and a code (session only)",
            Some(r#"{"password": "…", "code": "123456"}"#),
            CHANGE,
        ),
        RequireTwoFactor => doc(
            "Require two-factor of owners and admins, or not (session only)",
            Some(r#"{"required": true}"#),
            &[(200, "changed"), (409, "the owner has no two-factor yet")],
        ),
        Sessions => doc("One's sessions (session only)", None, JSON),
        RevokeSession => doc("End one of one's sessions (session only)", None, ONE),
        EndUserSessions => doc("End every session of a user (session only)", None, ONE),
    }
}

/// A JSON schema inferred from an example value.
fn schema_of(v: &Value) -> Value {
    match v {
        Value::Null => json!({}),
        Value::Bool(_) => json!({"type": "boolean"}),
        Value::Number(n) if n.is_f64() => json!({"type": "number"}),
        Value::Number(_) => json!({"type": "integer"}),
        Value::String(_) => json!({"type": "string"}),
        Value::Array(items) => json!({
            "type": "array",
            "items": items.first().map(schema_of).unwrap_or_else(|| json!({})),
        }),
        Value::Object(fields) => {
            let props: Map<String, Value> = fields
                .iter()
                .map(|(k, v)| (k.clone(), schema_of(v)))
                .collect();
            json!({"type": "object", "additionalProperties": false, "properties": props})
        }
    }
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for r in ROUTES {
        let d = describe(r.id);
        let params: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut responses = Map::new();
        for (code, what) in d.responses {
            responses.insert(code.to_string(), json!({"description": what}));
        }
        if !r.public {
            responses.insert("401".into(), json!({"description": "no session or token, or the token is revoked, expired or its user disabled"}));
            responses.insert(
                "403".into(),
                json!({"description": "the role is too low (or the route is session-only)"}),
            );
        }
        let mut op = json!({
            "operationId": format!("{:?}", r.id),
            "summary": d.summary,
            "x-cairn-role": if r.public { "public" } else { r.role.as_str() },
            "responses": responses,
        });
        if !params.is_empty() {
            op["parameters"] = params.into();
        }
        if let Some(example) = d.body {
            let example: Value = serde_json::from_str(example).unwrap_or(Value::Null);
            op["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": schema_of(&example), "example": example}},
            });
        }
        op["security"] = if r.public {
            json!([])
        } else if r.id.session_only() {
            json!([{"session": []}])
        } else {
            json!([{"session": []}, {"bearer": []}])
        };
        let item = paths.entry(r.path.to_owned()).or_insert_with(|| json!({}));
        item[r.method.to_ascii_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Cairn control plane",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Every REST route of the control plane. `x-cairn-role` is the least \
                            role a route needs (public: none). A private route takes the \
                            dashboard's session cookie or an API token (`Authorization: Bearer \
                            cairn_…`), except the session-only ones.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_of_the_table_is_in_the_document_with_its_method_path_and_role() {
        let doc: Value = serde_json::from_str(&document().to_string()).expect("valid JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
        let paths = doc["paths"].as_object().expect("paths");
        let mut operations = 0;
        for item in paths.values() {
            operations += item.as_object().map_or(0, |o| o.len());
        }
        assert_eq!(operations, ROUTES.len(), "one operation per row, no more");
        for r in ROUTES {
            let op = &doc["paths"][r.path][r.method.to_ascii_lowercase()];
            let role = if r.public { "public" } else { r.role.as_str() };
            assert_eq!(op["x-cairn-role"], role, "{} {}", r.method, r.path);
            assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()));
            assert!(op["responses"].as_object().is_some_and(|m| !m.is_empty()));
            let named = r.path.matches('{').count();
            assert_eq!(
                op["parameters"].as_array().map_or(0, Vec::len),
                named,
                "{}",
                r.path
            );
            if let Some(example) = describe(r.id).body {
                assert!(serde_json::from_str::<Value>(example).is_ok(), "{example}");
                assert!(op["requestBody"]["content"]["application/json"]["schema"].is_object());
            }
            if !r.public {
                assert!(op["responses"]["401"].is_object() && op["responses"]["403"].is_object());
            }
        }
    }
}
