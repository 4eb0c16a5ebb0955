//! The notices waiting for the channels, as tables: each channel's sender goes through them on
//! its own, oldest first, and where it stands is stored (`alert_notice_cursors`: the last
//! notice it tried), so a channel that hangs holds back only its own notices, and after a
//! restart each channel goes on from where it stood: what it had tried is not sent again,
//! what it had not is (the one under way when the process died, at least once).
//!
//! A notice (`alert_notices`, written in the alert's own transaction) collects each channel's
//! failure as it is tried, and leaves the table once every channel's sender is past it: then
//! its failures (none: delivered everywhere) are recorded on its alert, in the same
//! transaction. Notice ids only grow (`AUTOINCREMENT`), so "past it" is a comparison.

use rusqlite::{Transaction, params};

use super::db::{ALERT_COLS, Db, Failure, Pending, alert_from, u};

/// A deleted channel's cursor goes with it, and the notices that waited only for it are done.
pub(super) fn forget_channel(tx: &Transaction<'_>, channel: i64) -> anyhow::Result<()> {
    tx.execute(
        "DELETE FROM alert_notice_cursors WHERE channel_id = ?1",
        params![channel],
    )?;
    finish(tx)?;
    Ok(())
}

/// Records on their alerts, and takes off the table, the notices every channel's sender is
/// past (all of them when there is no channel); how many.
fn finish(tx: &Transaction<'_>) -> anyhow::Result<usize> {
    let slowest: Option<i64> = tx.query_row(
        "SELECT min(coalesce(k.last_notice, 0)) FROM alert_channels c
         LEFT JOIN alert_notice_cursors k ON k.channel_id = c.id",
        [],
        |r| r.get(0),
    )?;
    let done_up_to = slowest.unwrap_or(i64::MAX);
    let done: Vec<(i64, i64, Option<String>)> = {
        let mut st = tx.prepare(
            "SELECT id, alert_id, failures FROM alert_notices WHERE id <= ?1 ORDER BY id",
        )?;
        st.query_map(params![done_up_to], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?
    };
    for (notice, alert, failures) in &done {
        let mut list: Vec<(i64, Failure)> = failures
            .as_deref()
            .and_then(|f| serde_json::from_str(f).ok())
            .unwrap_or_default();
        // In the channels' order, whichever finished first.
        list.sort_by_key(|(channel, _)| *channel);
        let list: Vec<Failure> = list.into_iter().map(|(_, f)| f).collect();
        let stored = if list.is_empty() {
            None
        } else {
            Some(serde_json::to_string(&list)?)
        };
        tx.execute(
            "UPDATE alerts SET delivery_error = ?2 WHERE id = ?1",
            params![alert, stored],
        )?;
        tx.execute("DELETE FROM alert_notices WHERE id = ?1", params![notice])?;
    }
    Ok(done.len())
}

impl Db {
    /// Deletes a channel, and with it where its sender stood: the notices that waited only for
    /// it are done ([`finish`]).
    pub fn delete_channel(&self, id: i64) -> anyhow::Result<bool> {
        let mut c = self.conn();
        let tx = c.transaction()?;
        let deleted = tx.execute("DELETE FROM alert_channels WHERE id = ?1", params![id])? > 0;
        forget_channel(&tx, id)?;
        tx.commit()?;
        Ok(deleted)
    }

    /// The oldest `limit` notices channel `channel` has not tried yet, with their alerts.
    pub fn notices_for(&self, channel: i64, limit: usize) -> anyhow::Result<Vec<Pending>> {
        let c = self.conn();
        let cols = ALERT_COLS
            .split(", ")
            .map(|col| format!("a.{col}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut st = c.prepare(&format!(
            "SELECT {cols}, n.id, n.resolved FROM alert_notices n JOIN alerts a ON a.id = n.alert_id
             WHERE n.id > coalesce(
                 (SELECT last_notice FROM alert_notice_cursors WHERE channel_id = ?1), 0)
             ORDER BY n.id LIMIT ?2"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = st.query_map(params![channel, limit], |r| {
            Ok((r.get(11)?, alert_from(r)?, r.get(12)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Records that channel `channel` tried notice `notice` (`failure`: how it failed, also
    /// kept as the channel's last error), moves the channel's cursor past it, and finishes
    /// the notices every channel is past, in one transaction. `false` (nothing recorded) when
    /// the channel was deleted meanwhile.
    pub fn tried(
        &self,
        channel: i64,
        notice: i64,
        failure: Option<&Failure>,
    ) -> anyhow::Result<bool> {
        let mut c = self.conn();
        let tx = c.transaction()?;
        let kept = tx.execute(
            "UPDATE alert_channels SET last_error = ?2 WHERE id = ?1",
            params![channel, failure.map(|f| f.message.as_str())],
        )?;
        if kept == 0 {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO alert_notice_cursors (channel_id, last_notice) VALUES (?1, ?2)
             ON CONFLICT(channel_id) DO UPDATE SET last_notice = excluded.last_notice",
            params![channel, notice],
        )?;
        if let Some(f) = failure {
            let before: Option<String> = tx
                .query_row(
                    "SELECT failures FROM alert_notices WHERE id = ?1",
                    params![notice],
                    |r| r.get(0),
                )
                .unwrap_or(None);
            let mut list: Vec<(i64, Failure)> = before
                .as_deref()
                .and_then(|b| serde_json::from_str(b).ok())
                .unwrap_or_default();
            list.retain(|(ch, _)| *ch != channel);
            list.push((channel, f.clone()));
            tx.execute(
                "UPDATE alert_notices SET failures = ?2 WHERE id = ?1",
                params![notice, serde_json::to_string(&list)?],
            )?;
        }
        finish(&tx)?;
        tx.commit()?;
        Ok(true)
    }

    /// Finishes the notices every channel is past (all of them when there is no channel).
    pub fn finish_tried(&self) -> anyhow::Result<usize> {
        let mut c = self.conn();
        let tx = c.transaction()?;
        let n = finish(&tx)?;
        tx.commit()?;
        Ok(n)
    }

    /// The channels' ids, without opening their secrets.
    pub fn channel_ids(&self) -> anyhow::Result<Vec<i64>> {
        let c = self.conn();
        let mut st = c.prepare("SELECT id FROM alert_channels ORDER BY id")?;
        let ids = st.query_map([], |r| r.get(0))?;
        Ok(ids.collect::<rusqlite::Result<_>>()?)
    }

    /// Notices waiting for a channel's sender (for tests and `/metrics`).
    pub fn pending_count(&self) -> anyhow::Result<u64> {
        let n: i64 = self
            .conn()
            .query_row("SELECT COUNT(*) FROM alert_notices", [], |r| r.get(0))?;
        Ok(u(n))
    }

    /// The last notice channel `channel` has tried (0: none).
    #[cfg(test)]
    pub(super) fn tried_up_to(&self, channel: i64) -> i64 {
        self.conn()
            .query_row(
                "SELECT last_notice FROM alert_notice_cursors WHERE channel_id = ?1",
                params![channel],
                |r| r.get(0),
            )
            .unwrap_or(0)
    }

    /// What killing the process does to the tables: nothing this handle does from now on is
    /// stored (its connection is swapped for an empty database in memory). For the restart
    /// tests, whose senders' threads cannot be killed.
    #[cfg(test)]
    pub(super) fn crash(&self) {
        if let Ok(empty) = rusqlite::Connection::open_in_memory() {
            *self.conn() = empty;
        }
    }
}
