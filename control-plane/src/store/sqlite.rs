//! The embedded SQLite store: one connection (WAL, busy timeout) behind a mutex, used from
//! tokio's blocking pool. Enrollment runs in an `IMMEDIATE` transaction whose token update only
//! matches an unused, unexpired token for the right node, so the rule holds even with several
//! connections or processes on the same file.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::sql::{from_i64, job_kind, job_status, json_col, to_i64};
use super::{
    ApiToken, SessionInfo, TotpRow, api_tokens_sql, audit_sql, invites_sql, metrics_sql, nodes_sql,
    sessions_sql, settings_sql, submissions_sql, totp_sql, users_sql,
};
use super::{
    Appended, AuditCount, AuditEntry, Enrollment, Invite, Job, JobEvent, JobStatus, NewToken, Node,
    NodeChange, NodeUpdate, OverCap, PendingCaps, PendingToken, SessionUser, Store, StoreError,
    StoreResult, Submission, SubmissionState, TokenRevoked, User,
};
use crate::roles::Access;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id_hash    TEXT PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES users(username),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS enrollment_tokens (
    token_hash TEXT PRIMARY KEY,
    node_id    TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE TABLE IF NOT EXISTS nodes (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    public_key  TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    hostname    TEXT NOT NULL,
    enrolled_at INTEGER NOT NULL,
    last_seen   INTEGER,
    last_status TEXT
);
CREATE TABLE IF NOT EXISTS jobs (
    id           TEXT PRIMARY KEY,
    node_id      TEXT NOT NULL REFERENCES nodes(id),
    recipe       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    result       TEXT,
    acked_seq    INTEGER NOT NULL DEFAULT 0,
    params       TEXT,
    action       TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_node ON jobs(node_id, created_at);
CREATE TABLE IF NOT EXISTS job_events (
    job_id      TEXT NOT NULL REFERENCES jobs(id),
    seq         INTEGER NOT NULL,
    type        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE(job_id, seq)
);
CREATE TABLE IF NOT EXISTS audit (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    who    TEXT NOT NULL,
    what   TEXT NOT NULL,
    target TEXT NOT NULL,
    result TEXT NOT NULL
);
"#;

/// The SQLite implementation of [`Store`].
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> StoreResult<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(SCHEMA)?;
        add_job_column(&conn, "params")?;
        add_job_column(&conn, "action")?;
        audit_sql::migrate(&conn)?;
        users_sql::migrate(&conn)?;
        invites_sql::migrate(&conn)?;
        api_tokens_sql::migrate(&conn)?;
        settings_sql::migrate(&conn)?;
        totp_sql::migrate(&conn)?;
        sessions_sql::migrate(&conn)?;
        nodes_sql::migrate(&conn)?;
        metrics_sql::migrate(&conn)?;
        submissions_sql::migrate(&conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic inside a critical section leaves SQLite consistent (transactions roll back).
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Adds the text column `jobs.NAME` to a database made before it: `params` (the parameters
/// Retry sends again), `action` (the recipe's declared action a job ran).
fn add_job_column(conn: &Connection, name: &str) -> StoreResult<()> {
    let has: bool = conn.query_row(
        "SELECT count(*) > 0 FROM pragma_table_info('jobs') WHERE name = ?1",
        [name],
        |r| r.get(0),
    )?;
    if !has {
        conn.execute_batch(&format!("ALTER TABLE jobs ADD COLUMN {name} TEXT"))?;
    }
    Ok(())
}

fn node_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Node> {
    Ok(Node {
        id: r.get(0)?,
        name: r.get(1)?,
        public_key: r.get(2)?,
        key_id: r.get(3)?,
        hostname: r.get(4)?,
        enrolled_at: from_i64(r.get(5)?),
        last_seen: r.get::<_, Option<i64>>(6)?.map(from_i64),
        last_status: json_col(r.get(7)?),
        tags: json_col(r.get(8)?)
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default(),
        removed_at: r.get::<_, Option<i64>>(9)?.map(from_i64),
        removed_by: r.get(10)?,
    })
}

const NODE_COLS: &str = "id, name, public_key, key_id, hostname, enrolled_at, last_seen, last_status, tags, removed_at, removed_by";
const JOB_COLS: &str = "id, node_id, recipe, kind, requested_by, status, created_at, finished_at, result, params, action";

fn job_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Job> {
    Ok(Job {
        id: r.get(0)?,
        node_id: r.get(1)?,
        recipe: r.get(2)?,
        kind: job_kind(r, 3)?,
        requested_by: r.get(4)?,
        status: job_status(r, 5)?,
        created_at: from_i64(r.get(6)?),
        finished_at: r.get::<_, Option<i64>>(7)?.map(from_i64),
        result: json_col(r.get(8)?),
        params: json_col(r.get(9)?),
        action: r.get(10)?,
    })
}

impl Store for SqliteStore {
    fn user(&self, username: &str) -> StoreResult<Option<User>> {
        users_sql::user(&self.conn(), username)
    }

    fn user_count(&self) -> StoreResult<u64> {
        let n: i64 = self
            .conn()
            .query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?;
        Ok(from_i64(n))
    }

    fn create_user(&self, user: &User, now: u64) -> StoreResult<()> {
        users_sql::create_user(&self.conn(), user, now)
    }

    fn users(&self) -> StoreResult<Vec<User>> {
        users_sql::users(&self.conn())
    }

    fn set_user_access(&self, username: &str, access: &Access) -> StoreResult<bool> {
        users_sql::set_access(&self.conn(), username, access)
    }

    fn set_user_disabled(&self, username: &str, disabled: bool) -> StoreResult<bool> {
        users_sql::set_disabled(&mut self.conn(), username, disabled)
    }

    fn set_user_password(
        &self,
        username: &str,
        password_hash: &str,
        now: u64,
    ) -> StoreResult<bool> {
        users_sql::set_password(&mut self.conn(), username, password_hash, now)
    }

    fn create_invite(&self, invite: &Invite) -> StoreResult<()> {
        invites_sql::create_invite(&mut self.conn(), invite)
    }

    fn invite(&self, token_hash: &str, now: u64) -> StoreResult<Option<Invite>> {
        invites_sql::invite(&self.conn(), token_hash, now)
    }

    fn pending_invites(&self, now: u64) -> StoreResult<Vec<Invite>> {
        invites_sql::pending_invites(&self.conn(), now)
    }

    fn cancel_invite(&self, username: &str) -> StoreResult<bool> {
        invites_sql::cancel_invite(&self.conn(), username)
    }

    fn accept_invite(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: u64,
    ) -> StoreResult<String> {
        invites_sql::accept_invite(&mut self.conn(), token_hash, password_hash, now)
    }

    fn create_session(
        &self,
        id_hash: &str,
        username: &str,
        now: u64,
        expires_at: u64,
    ) -> StoreResult<()> {
        let conn = self.conn();
        conn.execute(
            "DELETE FROM sessions WHERE expires_at < ?1",
            params![to_i64(now)],
        )?;
        conn.execute(
            "INSERT INTO sessions (id_hash, username, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![id_hash, username, to_i64(now), to_i64(expires_at)],
        )?;
        Ok(())
    }

    fn create_api_token(&self, token: &ApiToken, token_hash: &str) -> StoreResult<()> {
        api_tokens_sql::create(&self.conn(), token, token_hash)
    }

    fn api_tokens(&self, username: Option<&str>) -> StoreResult<Vec<ApiToken>> {
        api_tokens_sql::list(&self.conn(), username)
    }

    fn revoke_api_token(
        &self,
        id: &str,
        username: Option<&str>,
        now: u64,
    ) -> StoreResult<Option<ApiToken>> {
        api_tokens_sql::revoke(&self.conn(), id, username, now)
    }

    fn api_token_user(&self, token_hash: &str, now: u64) -> StoreResult<Option<(ApiToken, User)>> {
        api_tokens_sql::lookup(&self.conn(), token_hash, now)
    }

    fn session_user(&self, id_hash: &str, now: u64) -> StoreResult<Option<SessionUser>> {
        users_sql::session_user(&self.conn(), id_hash, now)
    }

    fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        self.conn()
            .execute("DELETE FROM sessions WHERE id_hash = ?1", params![id_hash])?;
        Ok(())
    }

    fn create_token(&self, t: &NewToken) -> StoreResult<()> {
        self.conn().execute(
            "INSERT INTO enrollment_tokens (token_hash, node_id, name, created_by, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                t.token_hash,
                t.node_id,
                t.name,
                t.created_by,
                to_i64(t.created_at),
                to_i64(t.expires_at)
            ],
        )?;
        Ok(())
    }

    fn enroll(&self, e: &Enrollment) -> StoreResult<Node> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let token: Option<(String, String, i64, Option<i64>)> = tx
            .query_row(
                "SELECT node_id, name, expires_at, used_at FROM enrollment_tokens WHERE token_hash = ?1",
                params![e.token_hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((node_id, name, expires_at, used_at)) = token else {
            return Err(StoreError::Refused(
                "this enrollment token is unknown; create a new one in the dashboard".into(),
            ));
        };
        if used_at.is_some() {
            return Err(StoreError::Refused(
                "this enrollment token has already been used; create a new one in the dashboard"
                    .into(),
            ));
        }
        if let Some(by) = nodes_sql::revoked_by(&tx, &e.token_hash)? {
            return Err(StoreError::Refused(format!(
                "this enrollment token was revoked by {by}; create a new one in the dashboard"
            )));
        }
        if from_i64(expires_at) <= e.now {
            return Err(StoreError::Refused(
                "this enrollment token has expired; create a new one in the dashboard".into(),
            ));
        }
        if node_id != e.node_id {
            return Err(StoreError::Refused(
                "this enrollment token was issued for another node".into(),
            ));
        }
        let enrolled: Option<String> = tx
            .query_row(
                "SELECT key_id FROM nodes WHERE id = ?1",
                params![e.node_id],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(key_id) = enrolled {
            return Err(StoreError::Refused(format!(
                "node {} is already enrolled with key {key_id}; refusing key {}",
                e.node_id, e.key_id
            )));
        }
        let updated = tx.execute(
            "UPDATE enrollment_tokens SET used_at = ?1
             WHERE token_hash = ?2 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?1 AND node_id = ?3",
            params![to_i64(e.now), e.token_hash, e.node_id],
        )?;
        if updated != 1 {
            return Err(StoreError::Refused(
                "this enrollment token has already been used; create a new one in the dashboard"
                    .into(),
            ));
        }
        tx.execute(
            "INSERT INTO nodes (id, name, public_key, key_id, hostname, enrolled_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                e.node_id,
                name,
                e.public_key,
                e.key_id,
                e.hostname,
                to_i64(e.now)
            ],
        )?;
        tx.commit()?;
        Ok(Node {
            id: e.node_id.clone(),
            name,
            public_key: e.public_key.clone(),
            key_id: e.key_id.clone(),
            hostname: e.hostname.clone(),
            enrolled_at: e.now,
            last_seen: None,
            last_status: None,
            tags: Vec::new(),
            removed_at: None,
            removed_by: None,
        })
    }

    fn node(&self, node_id: &str) -> StoreResult<Option<Node>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {NODE_COLS} FROM nodes WHERE id = ?1"),
                params![node_id],
                node_from_row,
            )
            .optional()?)
    }

    fn nodes(&self) -> StoreResult<Vec<Node>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {NODE_COLS} FROM nodes WHERE removed_at IS NULL ORDER BY name, id"
        ))?;
        let rows = stmt.query_map([], node_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn change_node(&self, node_id: &str, change: &NodeChange) -> StoreResult<bool> {
        nodes_sql::change_node(&self.conn(), node_id, change)
    }

    fn remove_node(&self, node_id: &str, by: &str, now: u64) -> StoreResult<bool> {
        nodes_sql::remove_node(&self.conn(), node_id, by, now)
    }

    fn pending_tokens(&self, since: u64) -> StoreResult<Vec<PendingToken>> {
        nodes_sql::pending_tokens(&self.conn(), since)
    }

    fn revoke_token(&self, id: &str, by: &str, now: u64) -> StoreResult<TokenRevoked> {
        nodes_sql::revoke_token(&mut self.conn(), id, by, now)
    }

    fn node_seen(&self, node_id: &str, now: u64) -> StoreResult<()> {
        self.conn().execute(
            "UPDATE nodes SET last_seen = ?1 WHERE id = ?2",
            params![to_i64(now), node_id],
        )?;
        Ok(())
    }

    fn node_status(&self, node_id: &str, status: &serde_json::Value, now: u64) -> StoreResult<()> {
        self.conn().execute(
            "UPDATE nodes SET last_status = ?1, last_seen = ?2 WHERE id = ?3",
            params![status.to_string(), to_i64(now), node_id],
        )?;
        Ok(())
    }

    fn node_updates(&self, updates: &[NodeUpdate]) -> StoreResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut seen = tx.prepare_cached(
                "UPDATE nodes SET last_seen = MAX(COALESCE(last_seen, 0), ?1) WHERE id = ?2",
            )?;
            // One statement per node, not two, when a status came.
            let mut status = tx.prepare_cached(
                "UPDATE nodes SET last_seen = MAX(COALESCE(last_seen, 0), ?1), last_status = ?2 WHERE id = ?3",
            )?;
            for u in updates {
                match &u.status {
                    Some(st) => status.execute(params![to_i64(u.seen_at), st, u.node_id])?,
                    None => seen.execute(params![to_i64(u.seen_at), u.node_id])?,
                };
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn create_job(&self, j: &Job) -> StoreResult<()> {
        self.conn().execute(
            "INSERT INTO jobs (id, node_id, recipe, kind, requested_by, status, created_at, params,
                               action)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                j.id,
                j.node_id,
                j.recipe,
                j.kind.as_str(),
                j.requested_by,
                j.status.as_str(),
                to_i64(j.created_at),
                j.params.as_ref().map(serde_json::Value::to_string),
                j.action
            ],
        )?;
        Ok(())
    }

    fn job(&self, job_id: &str) -> StoreResult<Option<Job>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {JOB_COLS} FROM jobs WHERE id = ?1"),
                params![job_id],
                job_from_row,
            )
            .optional()?)
    }

    fn jobs(&self, node_id: Option<&str>) -> StoreResult<Vec<Job>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {JOB_COLS} FROM jobs WHERE ?1 IS NULL OR node_id = ?1
             ORDER BY created_at DESC, id LIMIT 500"
        ))?;
        let rows = stmt.query_map(params![node_id], job_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn append_events(
        &self,
        node_id: &str,
        events: &[(JobEvent, Option<(JobStatus, serde_json::Value)>)],
    ) -> StoreResult<Vec<StoreResult<Appended>>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut results = Vec::with_capacity(events.len());
        for (ev, terminal) in events {
            let terminal = terminal.as_ref().map(|(s, v)| (*s, v));
            match append_in(&tx, node_id, ev, terminal) {
                Err(StoreError::Refused(why)) => results.push(Err(StoreError::Refused(why))),
                // Anything else is a database failure: roll the whole batch back.
                Err(e) => return Err(e),
                Ok(appended) => results.push(Ok(appended)),
            }
        }
        tx.commit()?;
        Ok(results)
    }

    fn job_events(&self, job_id: &str) -> StoreResult<Vec<JobEvent>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT job_id, seq, type, payload, received_at FROM job_events
             WHERE job_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![job_id], |r| {
            Ok(JobEvent {
                job_id: r.get(0)?,
                seq: from_i64(r.get(1)?),
                kind: r.get(2)?,
                payload: json_col(Some(r.get(3)?)).unwrap_or(serde_json::Value::Null),
                received_at: from_i64(r.get(4)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn audit(
        &self,
        who: &str,
        what: &str,
        target: &str,
        result: &str,
        now: u64,
    ) -> StoreResult<()> {
        self.conn().execute(
            "INSERT INTO audit (at, who, what, target, result) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![to_i64(now), who, what, target, result],
        )?;
        Ok(())
    }

    fn audit_counts(&self, rows: &[AuditCount]) -> StoreResult<Vec<i64>> {
        audit_sql::audit_counts(&mut self.conn(), rows)
    }

    fn audit_log(&self, limit: u32, who: Option<&str>) -> StoreResult<Vec<AuditEntry>> {
        audit_sql::audit_log(&self.conn(), limit, who)
    }

    fn remember_login_address(&self, username: &str, address: &str, at: u64) -> StoreResult<()> {
        audit_sql::remember_login_address(&self.conn(), username, address, at)
    }

    fn login_addresses(&self, since: u64) -> StoreResult<Vec<(String, String, u64)>> {
        audit_sql::login_addresses(&self.conn(), since)
    }

    fn set_session_client(
        &self,
        id_hash: &str,
        user_agent: &str,
        address: &str,
        now: u64,
    ) -> StoreResult<()> {
        sessions_sql::set_client(&self.conn(), id_hash, user_agent, address, now)
    }

    fn touch_session(&self, id_hash: &str, now: u64) -> StoreResult<()> {
        sessions_sql::touch(&self.conn(), id_hash, now)
    }

    fn user_sessions(&self, username: &str, now: u64) -> StoreResult<Vec<SessionInfo>> {
        sessions_sql::list(&self.conn(), username, now)
    }

    fn end_user_session(&self, username: &str, id: &str) -> StoreResult<bool> {
        sessions_sql::delete_one(&self.conn(), username, id)
    }

    fn end_user_sessions(&self, username: &str) -> StoreResult<u64> {
        sessions_sql::delete_all(&self.conn(), username)
    }

    fn totp(&self, username: &str) -> StoreResult<Option<TotpRow>> {
        totp_sql::totp(&self.conn(), username)
    }

    fn start_totp(&self, username: &str, sealed: &str) -> StoreResult<bool> {
        totp_sql::start(&self.conn(), username, sealed)
    }

    fn enable_totp(&self, username: &str, step: u64, recovery: &[String]) -> StoreResult<bool> {
        totp_sql::enable(&self.conn(), username, step, recovery)
    }

    fn use_totp_step(&self, username: &str, step: u64) -> StoreResult<bool> {
        totp_sql::use_step(&self.conn(), username, step)
    }

    fn use_recovery_code(&self, username: &str, hash: &str) -> StoreResult<bool> {
        totp_sql::use_recovery(&mut self.conn(), username, hash)
    }

    fn delete_totp(&self, username: &str) -> StoreResult<()> {
        totp_sql::delete(&self.conn(), username)
    }

    fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        settings_sql::setting(&self.conn(), key)
    }

    fn set_setting(&self, key: &str, value: Option<&str>) -> StoreResult<()> {
        settings_sql::set_setting(&self.conn(), key, value)
    }

    fn create_submission(
        &self,
        submission: &Submission,
        caps: &PendingCaps,
    ) -> StoreResult<Result<Vec<String>, OverCap>> {
        submissions_sql::create(&mut self.conn(), submission, caps)
    }

    fn submissions(&self) -> StoreResult<Vec<Submission>> {
        submissions_sql::list(&self.conn())
    }

    fn submission(&self, id: &str) -> StoreResult<Option<Submission>> {
        submissions_sql::get(&self.conn(), id)
    }

    fn decide_submission(
        &self,
        id: &str,
        state: SubmissionState,
        by: &str,
        now: u64,
    ) -> StoreResult<bool> {
        submissions_sql::decide(&mut self.conn(), id, state, by, now)
    }

    fn approved_submissions(&self) -> StoreResult<Vec<Submission>> {
        submissions_sql::approved(&self.conn())
    }

    fn withdraw_submission(
        &self,
        id: &str,
        by: &str,
        now: u64,
        published_as: u64,
    ) -> StoreResult<bool> {
        submissions_sql::withdraw(&self.conn(), id, by, now, published_as)
    }

    fn recipe_floors(&self) -> StoreResult<std::collections::BTreeMap<String, u64>> {
        submissions_sql::floors(&self.conn())
    }

    fn store_metrics(
        &self,
        batches: &[(String, Vec<cairn_protocol::messages::Sample>)],
    ) -> StoreResult<u64> {
        metrics_sql::store(&mut self.conn(), batches)
    }

    fn metric_samples(
        &self,
        node_id: &str,
        from: u64,
        to: u64,
    ) -> StoreResult<Vec<cairn_protocol::messages::Sample>> {
        metrics_sql::samples(&self.conn(), node_id, from, to)
    }

    fn metric_summaries(
        &self,
        node_id: &str,
        width: u64,
        from: u64,
        to: u64,
    ) -> StoreResult<Vec<(u64, super::metric_series::Summary)>> {
        metrics_sql::summaries(&self.conn(), node_id, width, from, to)
    }

    fn latest_metrics(&self) -> StoreResult<Vec<(String, cairn_protocol::messages::Sample)>> {
        metrics_sql::latest(&self.conn())
    }

    fn downsample_metrics(
        &self,
        now: u64,
        keep: &super::MetricRetention,
    ) -> StoreResult<super::Downsampled> {
        metrics_sql::downsample(&mut self.conn(), now, keep)
    }
}

/// Stores one event inside `tx`. A refusal writes nothing, so the transaction stays usable.
fn append_in(
    tx: &rusqlite::Transaction<'_>,
    node_id: &str,
    ev: &JobEvent,
    terminal: Option<(JobStatus, &serde_json::Value)>,
) -> StoreResult<Appended> {
    let job: Option<(String, i64)> = tx
        .query_row(
            "SELECT node_id, acked_seq FROM jobs WHERE id = ?1",
            params![ev.job_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((owner, acked)) = job.filter(|(owner, _)| owner == node_id) else {
        return Err(StoreError::Refused(format!(
            "job {} is not a job of node {node_id}",
            ev.job_id
        )));
    };
    debug_assert_eq!(owner, node_id);
    if ev.seq == 0 {
        return Err(StoreError::Refused(
            "job event sequence numbers start at 1".into(),
        ));
    }
    let inserted = tx.execute(
        "INSERT OR IGNORE INTO job_events (job_id, seq, type, payload, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            ev.job_id,
            to_i64(ev.seq),
            ev.kind,
            ev.payload.to_string(),
            to_i64(ev.received_at)
        ],
    )? == 1;
    let mut contiguous = from_i64(acked);
    loop {
        let next: Option<i64> = tx
            .query_row(
                "SELECT seq FROM job_events WHERE job_id = ?1 AND seq = ?2",
                params![ev.job_id, to_i64(contiguous + 1)],
                |r| r.get(0),
            )
            .optional()?;
        if next.is_none() {
            break;
        }
        contiguous += 1;
    }
    tx.execute(
        "UPDATE jobs SET acked_seq = ?1 WHERE id = ?2",
        params![to_i64(contiguous), ev.job_id],
    )?;
    if inserted {
        match terminal {
            Some((status, result)) => {
                tx.execute(
                    "UPDATE jobs SET status = ?1, result = ?2, finished_at = ?3
                     WHERE id = ?4 AND finished_at IS NULL",
                    params![
                        status.as_str(),
                        result.to_string(),
                        to_i64(ev.received_at),
                        ev.job_id
                    ],
                )?;
            }
            None => {
                tx.execute(
                    "UPDATE jobs SET status = ?1 WHERE id = ?2 AND status = ?3",
                    params![
                        JobStatus::Running.as_str(),
                        ev.job_id,
                        JobStatus::Pending.as_str()
                    ],
                )?;
            }
        }
    }
    Ok(Appended {
        inserted,
        contiguous,
    })
}
