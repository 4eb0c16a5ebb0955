//! The control plane's state: users, sessions, enrollment tokens, nodes, jobs, job events and
//! the audit log.
//!
//! [`Store`] is a small synchronous trait so that PostgreSQL can replace SQLite when one control
//! plane is not enough; [`SqliteStore`] is the embedded default. Callers on the async side go
//! through [`blocking`], which runs the call on tokio's blocking pool.
//!
//! Nothing secret is ever handed to the store: passwords arrive as argon2 hashes, session ids
//! and tokens as hashes, and job results and events already masked (see [`crate::mask`]).

pub mod api_tokens_sql;
mod audit_sql;
mod invites_sql;
pub mod metric_series;
mod metrics_sql;
mod nodes_sql;
mod sessions_sql;
mod settings_sql;
mod sql;
mod sqlite;
mod submissions_sql;
mod totp_sql;
mod users_sql;

use std::sync::Arc;

use serde::Serialize;

use crate::roles::{Access, Role};

/// Jobs and their stored events are kept as the dashboard receives them.
pub use cairn_protocol::dashboard::{Job, JobEvent, JobStatus};
pub use metrics_sql::Downsampled;
pub use sessions_sql::{SessionInfo, TOUCH_EVERY_SECS};
pub use sqlite::SqliteStore;
pub use submissions_sql::{Cap, OverCap, PendingCaps, Submission, SubmissionState, Withdrawal};
pub use totp_sql::TotpRow;

/// How long metrics are kept at each resolution, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricRetention {
    /// Every sample.
    pub samples: u64,
    /// 1-minute summaries.
    pub minutes: u64,
    /// 1-hour summaries.
    pub hours: u64,
}

impl Default for MetricRetention {
    fn default() -> Self {
        Self {
            samples: 86_400,
            minutes: 30 * 86_400,
            hours: 365 * 86_400,
        }
    }
}

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The request breaks a rule (token used, node already enrolled, …); the text is a sentence
    /// that may be shown to the peer.
    #[error("{0}")]
    Refused(String),
    #[error("the database failed: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("the database task stopped unexpectedly")]
    Task,
}

impl StoreError {
    /// Whether the database was busy or locked by another connection or program: the same
    /// call may succeed later.
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            Self::Db(rusqlite::Error::SqliteFailure(f, _))
                if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A dashboard user.
#[derive(Debug, Clone)]
pub struct User {
    pub username: String,
    /// argon2 PHC string.
    pub password_hash: String,
    /// Role, node groups and grant (`crate::roles`).
    pub access: Access,
    /// A disabled user cannot sign in and has no live session.
    pub disabled: bool,
    pub created_at: u64,
    /// Sessions made before this are refused.
    pub password_changed_at: u64,
}

/// A one-time link as stored: an invitation (a new user) or a password reset.
#[derive(Debug, Clone)]
pub struct Invite {
    /// The sha256 of the link's secret (`auth::hash_invite_token`).
    pub token_hash: String,
    pub username: String,
    /// A reset of an existing user's password, not a new user.
    pub reset: bool,
    /// What the new user may do (unused by a reset).
    pub access: Access,
    pub created_by: String,
    pub created_at: u64,
    pub expires_at: u64,
}

/// An API token as stored, without its secret (only the secret's hash is kept, beside it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: String,
    pub username: String,
    pub name: String,
    /// The role it was made with (no higher than its user's then; capped by theirs at use).
    pub role: Role,
    /// Node groups it was made with; empty: its user's groups.
    pub groups: Vec<String>,
    pub created_at: u64,
    pub expires_at: u64,
    pub last_used_at: Option<u64>,
    pub revoked_at: Option<u64>,
}

/// Who a live session belongs to, and what they may do.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub username: String,
    pub access: Access,
    /// When the session was last marked used (at most once a minute, `sessions_sql`).
    pub last_used: u64,
}

/// An enrollment token as stored: only the hash of its secret.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub token_hash: String,
    pub node_id: String,
    pub name: String,
    pub created_by: String,
    pub created_at: u64,
    pub expires_at: u64,
}

/// What an enrollment records, in the same transaction that consumes the token.
#[derive(Debug, Clone)]
pub struct Enrollment {
    pub token_hash: String,
    pub node_id: String,
    pub public_key: String,
    pub key_id: String,
    pub hostname: String,
    pub now: u64,
}

/// An enrolled node.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    pub id: String,
    pub name: String,
    pub public_key: String,
    pub key_id: String,
    pub hostname: String,
    pub enrolled_at: u64,
    pub last_seen: Option<u64>,
    pub last_status: Option<serde_json::Value>,
    /// The tags set in the dashboard (`[a-z0-9][a-z0-9-]{0,31}`, at most 10).
    pub tags: Vec<String>,
    /// When it was removed from Cairn (its key revoked); a removed node is not listed.
    pub removed_at: Option<u64>,
    /// Who removed it.
    pub removed_by: Option<String>,
}

/// What `PATCH /api/nodes/{id}` changes (checked by the handler): `None` keeps the value.
#[derive(Debug, Clone, Default)]
pub struct NodeChange {
    pub name: Option<String>,
    pub tags: Option<Vec<String>>,
}

/// An enrollment token not used and not revoked, as `GET /api/enrollment-tokens` lists it:
/// never the token (only its hash is stored anyway). Its id is the node id it was issued for.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PendingToken {
    pub id: String,
    pub name: String,
    pub created_by: String,
    pub created_at: u64,
    pub expires_at: u64,
}

/// What became of a request to revoke a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRevoked {
    Revoked,
    /// It was revoked before.
    Already,
    /// It was used to enroll its node: remove the node instead.
    Used,
    Unknown,
}

/// What [`Store::node_updates`] writes for one node: when it was last seen and, if one came,
/// its latest status.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeUpdate {
    pub node_id: String,
    pub seen_at: u64,
    /// The latest `SERVER_STATUS` payload, as JSON text.
    pub status: Option<String>,
}

/// The outcome of storing one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// False when `(job, seq)` was already stored (a resend after a reconnect).
    pub inserted: bool,
    /// Highest sequence number such that every event 1..=seq is stored.
    pub contiguous: u64,
}

/// One audit entry.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: i64,
    /// When it happened (for a tally: the first time).
    pub at: u64,
    pub who: String,
    pub what: String,
    pub target: String,
    pub result: String,
    /// How many times: 1, or a tally's count (refused sign-ins, `auth::refusals`).
    pub count: u64,
    /// A tally's latest time; `None` for a single entry.
    pub last_at: Option<u64>,
}

/// A tallied audit row to write: a new row when `id` is `None`, else an update of row `id`.
#[derive(Debug, Clone)]
pub struct AuditCount {
    pub id: Option<i64>,
    pub at: u64,
    pub last_at: u64,
    pub who: String,
    pub what: String,
    pub target: String,
    pub result: String,
    pub count: u64,
}

/// The audit action of a tally of refused sign-ins (`auth::refusals`).
pub const AUDIT_REFUSED: &str = "login.refused";
/// The audit view shows at most this many tallies of refused sign-ins (the newest), so a flood
/// of them cannot push the other entries out of it.
pub const AUDIT_REFUSED_SHOWN: u32 = 100;

/// The storage the control plane needs. Every method is synchronous and may block.
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    fn user(&self, username: &str) -> StoreResult<Option<User>>;
    fn user_count(&self) -> StoreResult<u64>;
    fn create_user(&self, user: &User, now: u64) -> StoreResult<()>;
    /// Every user, oldest first.
    fn users(&self) -> StoreResult<Vec<User>>;
    /// Changes a user's role, groups and grant; `false` when there is no such user.
    fn set_user_access(&self, username: &str, access: &Access) -> StoreResult<bool>;
    /// Disables a user, ending their sessions in the same step, or enables them again.
    fn set_user_disabled(&self, username: &str, disabled: bool) -> StoreResult<bool>;
    /// Sets a user's password and ends every session they had.
    fn set_user_password(&self, username: &str, password_hash: &str, now: u64)
    -> StoreResult<bool>;
    /// Stores a one-time link; earlier unused ones for the same user stop working.
    fn create_invite(&self, invite: &Invite) -> StoreResult<()>;
    /// The unused, unexpired link with this hash.
    fn invite(&self, token_hash: &str, now: u64) -> StoreResult<Option<Invite>>;
    /// Every unused, unexpired invitation (not resets), oldest first.
    fn pending_invites(&self, now: u64) -> StoreResult<Vec<Invite>>;
    /// Cancels a user's unused invitation; `false` when there is none.
    fn cancel_invite(&self, username: &str) -> StoreResult<bool>;
    /// Consumes the link and makes its user or sets their password, in one transaction; the
    /// user's name, or `Refused` with a sentence.
    fn accept_invite(&self, token_hash: &str, password_hash: &str, now: u64)
    -> StoreResult<String>;

    fn create_session(
        &self,
        id_hash: &str,
        username: &str,
        now: u64,
        expires_at: u64,
    ) -> StoreResult<()>;
    /// The user of a live session: unexpired, its user enabled, made at or after the user's
    /// last password change.
    fn session_user(&self, id_hash: &str, now: u64) -> StoreResult<Option<SessionUser>>;
    fn delete_session(&self, id_hash: &str) -> StoreResult<()>;

    /// Stores an API token (`token_hash`: the sha256 of its secret).
    fn create_api_token(&self, token: &ApiToken, token_hash: &str) -> StoreResult<()>;
    /// The API tokens of `username` (everyone's when `None`), newest first.
    fn api_tokens(&self, username: Option<&str>) -> StoreResult<Vec<ApiToken>>;
    /// Revokes token `id` (only `username`'s, when given); `None` when there is no such token.
    fn revoke_api_token(
        &self,
        id: &str,
        username: Option<&str>,
        now: u64,
    ) -> StoreResult<Option<ApiToken>>;
    /// The token with this hash and its user, whatever their state; records its last use (at
    /// most once a minute) when it is usable.
    fn api_token_user(&self, token_hash: &str, now: u64) -> StoreResult<Option<(ApiToken, User)>>;

    fn create_token(&self, token: &NewToken) -> StoreResult<()>;
    /// Consumes the token and records the node's key in one transaction: exactly one of any
    /// number of concurrent enrollments with the same token succeeds.
    fn enroll(&self, e: &Enrollment) -> StoreResult<Node>;

    fn node(&self, node_id: &str) -> StoreResult<Option<Node>>;
    fn nodes(&self) -> StoreResult<Vec<Node>>;
    /// Renames and/or retags a node; `false` when there is no such node (or it was removed).
    fn change_node(&self, node_id: &str, change: &NodeChange) -> StoreResult<bool>;
    /// Removes a node: its key is refused from now on, its row and jobs stay for the history;
    /// `false` when there is no such node (or it was already removed).
    fn remove_node(&self, node_id: &str, by: &str, now: u64) -> StoreResult<bool>;
    /// Tokens neither used nor revoked whose expiry is at or after `since`.
    fn pending_tokens(&self, since: u64) -> StoreResult<Vec<PendingToken>>;
    /// Revokes the token issued for node `id` (the token's id in the API).
    fn revoke_token(&self, id: &str, by: &str, now: u64) -> StoreResult<TokenRevoked>;
    fn node_seen(&self, node_id: &str, now: u64) -> StoreResult<()>;
    fn node_status(&self, node_id: &str, status: &serde_json::Value, now: u64) -> StoreResult<()>;
    /// Many nodes' `last_seen` and `last_status` in one transaction (one disk sync for a
    /// connect storm or a status fan-out instead of one per node).
    fn node_updates(&self, updates: &[NodeUpdate]) -> StoreResult<()>;

    fn create_job(&self, job: &Job) -> StoreResult<()>;
    fn job(&self, job_id: &str) -> StoreResult<Option<Job>>;
    fn jobs(&self, node_id: Option<&str>) -> StoreResult<Vec<Job>>;
    /// Stores one event of a job of `node_id` idempotently by `(job, seq)`; a terminal event
    /// also finishes the job with `terminal` = (status, masked result). Refuses an event for a
    /// job that does not exist or belongs to another node.
    fn append_event(
        &self,
        node_id: &str,
        event: &JobEvent,
        terminal: Option<(JobStatus, &serde_json::Value)>,
    ) -> StoreResult<Appended> {
        let batch = [(event.clone(), terminal.map(|(s, v)| (s, v.clone())))];
        self.append_events(node_id, &batch)?
            .pop()
            .unwrap_or_else(|| Err(StoreError::Refused("nothing was stored".into())))
    }
    /// [`append_event`](Self::append_event) for every event of one frame, in one transaction
    /// (one disk sync for a batch of log lines instead of one per line). Each event gets its own
    /// result: a refused event does not stop the others. An `Err` of the whole call means
    /// nothing was stored.
    fn append_events(
        &self,
        node_id: &str,
        events: &[(JobEvent, Option<(JobStatus, serde_json::Value)>)],
    ) -> StoreResult<Vec<StoreResult<Appended>>>;
    fn job_events(&self, job_id: &str) -> StoreResult<Vec<JobEvent>>;

    fn audit(&self, who: &str, what: &str, target: &str, result: &str, now: u64)
    -> StoreResult<()>;
    /// Inserts or updates tallied rows in one transaction; returns each row's id, in order.
    fn audit_counts(&self, rows: &[AuditCount]) -> StoreResult<Vec<i64>>;
    /// The newest `limit` entries, newest first, of which at most [`AUDIT_REFUSED_SHOWN`] are
    /// tallies of refused sign-ins (`login.refused`).
    /// The newest entries, of one user's doing only when `who` is given.
    fn audit_log(&self, limit: u32, who: Option<&str>) -> StoreResult<Vec<AuditEntry>>;

    /// Records that `username` signed in from `address` (a client address as the login
    /// throttle counts it) at `at`.
    fn remember_login_address(&self, username: &str, address: &str, at: u64) -> StoreResult<()>;
    /// Every (username, address, last time) with a sign-in at or after `since`.
    fn login_addresses(&self, since: u64) -> StoreResult<Vec<(String, String, u64)>>;

    /// Records a new session's device (User-Agent) and address.
    fn set_session_client(
        &self,
        id_hash: &str,
        user_agent: &str,
        address: &str,
        now: u64,
    ) -> StoreResult<()>;
    /// Marks a session used now, unless it was within the last minute.
    fn touch_session(&self, id_hash: &str, now: u64) -> StoreResult<()>;
    /// A user's live sessions, the most recently used first.
    fn user_sessions(&self, username: &str, now: u64) -> StoreResult<Vec<SessionInfo>>;
    /// Ends the user's session listed as `id` (a prefix of its hash); `false` when none.
    fn end_user_session(&self, username: &str, id: &str) -> StoreResult<bool>;
    /// Ends every session of a user; how many there were.
    fn end_user_sessions(&self, username: &str) -> StoreResult<u64>;

    /// A user's two-factor row (`auth::totp`), if they started enrolling.
    fn totp(&self, username: &str) -> StoreResult<Option<TotpRow>>;
    /// Stores a new, unconfirmed sealed secret; `false` when two-factor is on already.
    fn start_totp(&self, username: &str, sealed: &str) -> StoreResult<bool>;
    /// Turns two-factor on (the confirming code's step, the recovery codes' hashes); `false`
    /// when it is on already or that step was used.
    fn enable_totp(&self, username: &str, step: u64, recovery: &[String]) -> StoreResult<bool>;
    /// Records a code's step as used; `false` when it (or a later one) was used already.
    fn use_totp_step(&self, username: &str, step: u64) -> StoreResult<bool>;
    /// Uses up a recovery code by its hash; `false` when there is no such unused code.
    fn use_recovery_code(&self, username: &str, hash: &str) -> StoreResult<bool>;
    /// Turns two-factor off.
    fn delete_totp(&self, username: &str) -> StoreResult<()>;

    /// A setting changed in the dashboard (`settings.rs`), if it was ever set.
    fn setting(&self, key: &str) -> StoreResult<Option<String>>;
    /// Sets a setting, or removes it with `None`.
    fn set_setting(&self, key: &str, value: Option<&str>) -> StoreResult<()>;

    /// Stores a new pending recipe submission, unless it would take the pending ones past
    /// `caps` (then nothing is stored and the cap is returned); earlier pending ones of the
    /// same recipe become superseded (their ids are returned), and only the newest
    /// `HISTORY_KEPT` superseded, rejected or cancelled ones are kept.
    fn create_submission(
        &self,
        submission: &Submission,
        caps: &PendingCaps,
    ) -> StoreResult<Result<Vec<String>, OverCap>>;
    /// Every submission, newest first.
    fn submissions(&self) -> StoreResult<Vec<Submission>>;
    fn submission(&self, id: &str) -> StoreResult<Option<Submission>>;
    /// Approves, rejects or cancels a pending submission; `false` when it is not pending. Only
    /// the newest `HISTORY_KEPT` superseded, rejected or cancelled ones are kept.
    fn decide_submission(
        &self,
        id: &str,
        state: SubmissionState,
        by: &str,
        now: u64,
    ) -> StoreResult<bool>;
    /// The highest approved version of each recipe: the registry's overlay.
    fn approved_submissions(&self) -> StoreResult<Vec<Submission>>;
    /// Withdraws an approved submission, whose withdrawal publishes `published_as`; `false`
    /// when it is not approved (any more).
    fn withdraw_submission(
        &self,
        id: &str,
        by: &str,
        now: u64,
        published_as: u64,
    ) -> StoreResult<bool>;
    /// Each recipe's floor: the highest version a withdrawal of it published.
    fn recipe_floors(&self) -> StoreResult<std::collections::BTreeMap<String, u64>>;

    /// Stores the samples of several nodes in one transaction, idempotently by `(node, t)`;
    /// returns how many were new.
    fn store_metrics(
        &self,
        batches: &[(String, Vec<cairn_protocol::messages::Sample>)],
    ) -> StoreResult<u64>;
    /// A node's samples with `from <= t < to`, oldest first.
    fn metric_samples(
        &self,
        node_id: &str,
        from: u64,
        to: u64,
    ) -> StoreResult<Vec<cairn_protocol::messages::Sample>>;
    /// A node's summaries of `width` seconds (60 or 3600) with `from <= t < to`.
    fn metric_summaries(
        &self,
        node_id: &str,
        width: u64,
        from: u64,
        to: u64,
    ) -> StoreResult<Vec<(u64, metric_series::Summary)>>;
    /// Every node's newest sample.
    fn latest_metrics(&self) -> StoreResult<Vec<(String, cairn_protocol::messages::Sample)>>;
    /// Summarises the complete minutes and hours that have new samples, then prunes what
    /// `keep` no longer keeps.
    fn downsample_metrics(&self, now: u64, keep: &MetricRetention) -> StoreResult<Downsampled>;
}

/// A shared store.
pub type SharedStore = Arc<dyn Store>;

/// Runs `f` against the store on the blocking pool.
pub async fn blocking<T, F>(store: &SharedStore, f: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce(&dyn Store) -> StoreResult<T> + Send + 'static,
{
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|_| StoreError::Task)?
}
