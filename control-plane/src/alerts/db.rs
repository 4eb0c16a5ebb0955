//! The alerts' tables, in the control plane's database through a connection of their own
//! (WAL lets it sit beside the store's): rules, nodes' overrides, mutes, alerts with their
//! history, and channels with their secrets sealed (`seal.rs`). Nothing here is secret in
//! clear.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::channels::{Channel, Kind, Public, Secret};
use super::rules::{Mute, Override, RuleConfig, RuleId, RuleSet};
use super::seal::Sealer;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS alert_rules (
    rule          TEXT PRIMARY KEY,
    enabled       INTEGER NOT NULL,
    threshold     REAL NOT NULL,
    duration_secs INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_overrides (
    rule      TEXT NOT NULL,
    node_id   TEXT NOT NULL,
    enabled   INTEGER,
    threshold REAL,
    PRIMARY KEY (rule, node_id)
);
CREATE TABLE IF NOT EXISTS alert_mutes (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    rule    TEXT NOT NULL,
    node_id TEXT,
    until   INTEGER NOT NULL,
    by      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    rule           TEXT NOT NULL,
    node_id        TEXT NOT NULL,
    subject        TEXT NOT NULL,
    state          TEXT NOT NULL,
    value          REAL NOT NULL,
    threshold      REAL NOT NULL,
    fired_at       INTEGER NOT NULL,
    resolved_at    INTEGER,
    notified       INTEGER NOT NULL,
    delivery_error TEXT
);
CREATE INDEX IF NOT EXISTS alerts_by_node ON alerts(node_id, fired_at);
CREATE TABLE IF NOT EXISTS alert_notices (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id INTEGER NOT NULL,
    resolved REAL
);
CREATE TABLE IF NOT EXISTS alert_channels (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    public     TEXT NOT NULL,
    sealed     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_error TEXT
);
"#;

/// A channel's row: id, kind, name, public JSON, sealed secrets, created at, last error.
type ChannelRow = (i64, String, String, String, String, i64, Option<String>);

/// An alert, firing or past.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AlertRow {
    pub id: i64,
    pub rule: RuleId,
    pub node_id: String,
    pub subject: String,
    /// `firing`, `resolved`, or `closed` (its rule was disabled, or its node removed).
    pub state: String,
    pub value: f64,
    pub threshold: f64,
    pub fired_at: u64,
    pub resolved_at: Option<u64>,
    /// Whether its firing was notified (not when muted).
    pub notified: bool,
    /// The last delivery's failures, as one English sentence.
    pub delivery_error: Option<String>,
    /// The same failures one channel each, with the code of each sentence for the page.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub delivery_failures: Vec<Failure>,
}

/// One channel's failure to deliver a notice (`channel` empty: before any channel was tried).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    pub channel: String,
    pub tries: u32,
    pub message: String,
    /// Not stored: the code of `message` when the page knows it, found as it is read.
    #[serde(flatten, skip_deserializing)]
    pub said: cairn_protocol::dashboard::Said,
}

impl Failure {
    pub fn new(channel: &str, tries: u32, message: &str) -> Self {
        Self {
            channel: channel.to_owned(),
            tries,
            message: message.to_owned(),
            said: crate::said::said(message),
        }
    }

    /// The failure in English: `ops: could not connect to … (tried 3 times)`.
    fn english(&self) -> String {
        match (self.channel.is_empty(), self.tries) {
            (true, _) => self.message.clone(),
            (false, 0 | 1) => format!("{}: {}", self.channel, self.message),
            (false, n) => format!("{}: {} (tried {n} times)", self.channel, self.message),
        }
    }
}

/// A pending notice: its id, its alert, and the value it resolved with (`None`: it fired).
pub type Pending = (i64, AlertRow, Option<f64>);

/// The stored column: the failures as JSON (older rows: one English sentence).
fn failures_of(stored: Option<String>) -> (Option<String>, Vec<Failure>) {
    let Some(text) = stored else {
        return (None, Vec::new());
    };
    match serde_json::from_str::<Vec<Failure>>(&text) {
        Ok(list) => {
            let list: Vec<Failure> = list
                .iter()
                .map(|f| Failure::new(&f.channel, f.tries, &f.message))
                .collect();
            let english = list.iter().map(Failure::english).collect::<Vec<_>>();
            (Some(english.join("; ")), list)
        }
        Err(_) => (Some(text), Vec::new()),
    }
}

/// The alerts' connection and the key that seals channel secrets.
#[derive(Debug)]
pub struct Db {
    conn: Mutex<Connection>,
    sealer: Sealer,
}

#[allow(clippy::cast_possible_wrap, clippy::cast_sign_loss)]
fn i(v: u64) -> i64 {
    v as i64
}
#[allow(clippy::cast_sign_loss)]
pub(super) fn u(v: i64) -> u64 {
    v.max(0) as u64
}

fn rule_of(s: String) -> rusqlite::Result<RuleId> {
    RuleId::parse(&s).ok_or_else(|| rusqlite::Error::InvalidColumnName(s))
}

pub(super) const ALERT_COLS: &str = "id, rule, node_id, subject, state, value, threshold, fired_at, resolved_at, notified, delivery_error";

pub(super) fn alert_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<AlertRow> {
    let (delivery_error, delivery_failures) = failures_of(r.get(10)?);
    Ok(AlertRow {
        id: r.get(0)?,
        rule: rule_of(r.get(1)?)?,
        node_id: r.get(2)?,
        subject: r.get(3)?,
        state: r.get(4)?,
        value: r.get(5)?,
        threshold: r.get(6)?,
        fired_at: u(r.get(7)?),
        resolved_at: r.get::<_, Option<i64>>(8)?.map(u),
        notified: r.get(9)?,
        delivery_error,
        delivery_failures,
    })
}

impl Db {
    /// The key that seals secrets at rest: channel secrets, and users' TOTP secrets
    /// (`auth::totp`), one key file for both.
    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// Opens the tables in `data_dir/cairn.db` and the key in `data_dir/alerts.key`.
    pub fn open(data_dir: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open(data_dir.join("cairn.db"))
            .context("could not open the database for alerts")?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.execute_batch(SCHEMA)
            .context("could not create the alerts' tables")?;
        super::queue_schema::migrate(&conn).context("could not create the alerts' tables")?;
        Ok(Self {
            conn: Mutex::new(conn),
            sealer: Sealer::open_or_create(data_dir)?,
        })
    }

    /// Commits without waiting for the disk: for tests that store tens of thousands of rows to
    /// show what is kept, not how durably (a restart's test keeps the real setting).
    #[cfg(test)]
    pub(super) fn without_fsync(&self) {
        let _ = self.conn().pragma_update(None, "synchronous", "OFF");
    }

    pub(super) fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn rule_set(&self) -> anyhow::Result<RuleSet> {
        let c = self.conn();
        let mut set = RuleSet::default();
        let mut st =
            c.prepare("SELECT rule, enabled, threshold, duration_secs FROM alert_rules")?;
        for r in st.query_map([], |r| {
            Ok(RuleConfig {
                id: rule_of(r.get(0)?)?,
                enabled: r.get(1)?,
                threshold: r.get(2)?,
                duration_secs: u(r.get(3)?),
            })
        })? {
            set.rules.push(r?);
        }
        let mut st = c.prepare("SELECT rule, node_id, enabled, threshold FROM alert_overrides")?;
        for o in st.query_map([], |r| {
            Ok(Override {
                rule: rule_of(r.get(0)?)?,
                node_id: r.get(1)?,
                enabled: r.get(2)?,
                threshold: r.get(3)?,
            })
        })? {
            set.overrides.push(o?);
        }
        let mut st = c.prepare("SELECT id, rule, node_id, until, by FROM alert_mutes")?;
        for m in st.query_map([], |r| {
            Ok(Mute {
                id: r.get(0)?,
                rule: rule_of(r.get(1)?)?,
                node_id: r.get(2)?,
                until: u(r.get(3)?),
                by: r.get(4)?,
            })
        })? {
            set.mutes.push(m?);
        }
        Ok(set)
    }

    pub fn set_rule(&self, r: &RuleConfig) -> anyhow::Result<()> {
        self.conn().execute(
            "INSERT INTO alert_rules (rule, enabled, threshold, duration_secs) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(rule) DO UPDATE SET enabled = excluded.enabled, threshold = excluded.threshold, duration_secs = excluded.duration_secs",
            params![r.id.name(), r.enabled, r.threshold, i(r.duration_secs)],
        )?;
        Ok(())
    }

    /// Sets a node's override; one with nothing in it is removed.
    pub fn set_override(&self, o: &Override) -> anyhow::Result<()> {
        let c = self.conn();
        if o.enabled.is_none() && o.threshold.is_none() {
            c.execute(
                "DELETE FROM alert_overrides WHERE rule = ?1 AND node_id = ?2",
                params![o.rule.name(), o.node_id],
            )?;
        } else {
            c.execute(
                "INSERT INTO alert_overrides (rule, node_id, enabled, threshold) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(rule, node_id) DO UPDATE SET enabled = excluded.enabled, threshold = excluded.threshold",
                params![o.rule.name(), o.node_id, o.enabled, o.threshold],
            )?;
        }
        Ok(())
    }

    pub fn add_mute(&self, m: &Mute, now: u64) -> anyhow::Result<i64> {
        let c = self.conn();
        c.execute("DELETE FROM alert_mutes WHERE until <= ?1", params![i(now)])?;
        c.execute(
            "INSERT INTO alert_mutes (rule, node_id, until, by) VALUES (?1, ?2, ?3, ?4)",
            params![m.rule.name(), m.node_id, i(m.until), m.by],
        )?;
        Ok(c.last_insert_rowid())
    }

    /// Removes a mute; false when there was none with that id.
    pub fn remove_mute(&self, id: i64) -> anyhow::Result<bool> {
        Ok(self
            .conn()
            .execute("DELETE FROM alert_mutes WHERE id = ?1", params![id])?
            > 0)
    }

    /// Stores an alert that fired and, when it is to be notified (`a.notified`), its notice as
    /// pending, in one transaction: the notice waits in the table, not in memory, until the
    /// sender of every channel has tried it (`queue.rs`, `Db::tried`).
    pub fn open_alert(&self, a: &AlertRow) -> anyhow::Result<i64> {
        let mut c = self.conn();
        let tx = c.transaction()?;
        tx.execute(
            "INSERT INTO alerts (rule, node_id, subject, state, value, threshold, fired_at, notified) VALUES (?1, ?2, ?3, 'firing', ?4, ?5, ?6, ?7)",
            params![a.rule.name(), a.node_id, a.subject, a.value, a.threshold, i(a.fired_at), a.notified],
        )?;
        let id = tx.last_insert_rowid();
        if a.notified {
            tx.execute(
                "INSERT INTO alert_notices (alert_id, resolved) VALUES (?1, NULL)",
                params![id],
            )?;
        }
        tx.commit()?;
        Ok(id)
    }

    /// Ends an alert as resolved with `value` and, when `notify`, stores its resolution's
    /// notice as pending, in one transaction.
    pub fn resolve_alert(&self, id: i64, at: u64, value: f64, notify: bool) -> anyhow::Result<()> {
        let mut c = self.conn();
        let tx = c.transaction()?;
        let ended = tx.execute(
            "UPDATE alerts SET state = 'resolved', resolved_at = ?2 WHERE id = ?1 AND resolved_at IS NULL",
            params![id, i(at)],
        )?;
        if ended > 0 && notify {
            tx.execute(
                "INSERT INTO alert_notices (alert_id, resolved) VALUES (?1, ?2)",
                params![id, value],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Ends an alert: `resolved` or `closed`.
    pub fn end_alert(&self, id: i64, state: &str, at: u64) -> anyhow::Result<()> {
        self.conn().execute(
            "UPDATE alerts SET state = ?2, resolved_at = ?3 WHERE id = ?1 AND resolved_at IS NULL",
            params![id, state, i(at)],
        )?;
        Ok(())
    }

    pub fn alert(&self, id: i64) -> anyhow::Result<Option<AlertRow>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {ALERT_COLS} FROM alerts WHERE id = ?1"),
                params![id],
                alert_from,
            )
            .optional()?)
    }

    /// The newest 200 alerts, filtered by node and state.
    pub fn alerts(&self, node: Option<&str>, state: Option<&str>) -> anyhow::Result<Vec<AlertRow>> {
        let c = self.conn();
        let mut st = c.prepare(&format!(
            "SELECT {ALERT_COLS} FROM alerts WHERE (?1 IS NULL OR node_id = ?1) AND (?2 IS NULL OR state = ?2) ORDER BY id DESC LIMIT 200"
        ))?;
        let rows = st.query_map(params![node, state], alert_from)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Forgets the alerts that ended before `before` (the history is bounded).
    pub fn prune(&self, before: u64) -> anyhow::Result<usize> {
        let c = self.conn();
        let n = c.execute(
            "DELETE FROM alerts WHERE resolved_at IS NOT NULL AND resolved_at < ?1",
            params![i(before)],
        )?;
        c.execute(
            "DELETE FROM alert_notices WHERE alert_id NOT IN (SELECT id FROM alerts)",
            [],
        )?;
        Ok(n)
    }

    /// Every alert firing (no limit: all are taken back at start).
    pub fn firing(&self) -> anyhow::Result<Vec<AlertRow>> {
        let c = self.conn();
        let mut st = c.prepare(&format!(
            "SELECT {ALERT_COLS} FROM alerts WHERE state = 'firing'"
        ))?;
        let rows = st.query_map([], alert_from)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn channels(&self) -> anyhow::Result<Vec<Channel>> {
        self.channels_where("1 = 1", params![])
    }

    /// Channel `id`, read now (its sender reads it before each notice: an edit applies to
    /// the next one); `None` once it was deleted.
    pub fn channel(&self, id: i64) -> anyhow::Result<Option<Channel>> {
        Ok(self.channels_where("id = ?1", params![id])?.pop())
    }

    fn channels_where(
        &self,
        filter: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> anyhow::Result<Vec<Channel>> {
        let c = self.conn();
        let mut st = c.prepare(&format!("SELECT id, kind, name, public, sealed, created_at, last_error FROM alert_channels WHERE {filter} ORDER BY id"))?;
        let rows: Vec<ChannelRow> = st
            .query_map(args, |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        drop(st);
        drop(c);
        rows.into_iter()
            .map(|(id, kind, name, public, sealed, created_at, last_error)| {
                let kind: Kind = serde_json::from_value(serde_json::Value::String(kind))?;
                let public: Public = serde_json::from_str(&public)?;
                let secret: Secret = serde_json::from_str(&self.sealer.open(&sealed)?)?;
                Ok(Channel {
                    id,
                    kind,
                    name,
                    public,
                    secret,
                    created_at: u(created_at),
                    last_error,
                })
            })
            .collect()
    }

    /// Inserts (`id` 0) or updates a channel; returns its id.
    pub fn save_channel(&self, ch: &Channel) -> anyhow::Result<i64> {
        let kind = serde_json::to_value(ch.kind)?;
        let kind = kind.as_str().unwrap_or("webhook");
        let public = serde_json::to_string(&ch.public)?;
        let sealed = self.sealer.seal(&serde_json::to_string(&ch.secret)?)?;
        let c = self.conn();
        if ch.id == 0 {
            c.execute(
                "INSERT INTO alert_channels (kind, name, public, sealed, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![kind, ch.name, public, sealed, i(ch.created_at)],
            )?;
            Ok(c.last_insert_rowid())
        } else {
            c.execute(
                "UPDATE alert_channels SET name = ?2, public = ?3, sealed = ?4 WHERE id = ?1",
                params![ch.id, ch.name, public, sealed],
            )?;
            Ok(ch.id)
        }
    }

    pub fn channel_result(&self, id: i64, error: Option<&str>) -> anyhow::Result<()> {
        self.conn().execute(
            "UPDATE alert_channels SET last_error = ?2 WHERE id = ?1",
            params![id, error],
        )?;
        Ok(())
    }
}
