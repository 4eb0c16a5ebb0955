//! The SQLite side of metrics (`metric_series.rs` is the arithmetic): every sample at full
//! resolution for a day, 1-minute summaries for 30 days, 1-hour summaries for a year.
//!
//! Samples are stored idempotently by `(node, t)`: a batch resent after a lost acknowledgement
//! adds nothing. Storing also marks the node's minutes and hours from the oldest new sample as
//! needing (re)summarising (`metric_dirty`, in the same transaction), so samples that arrive
//! late, after a disconnect, reach the summaries too, and a restart of the control plane forgets
//! nothing. [`downsample`] summarises only complete minutes and hours, then prunes.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use cairn_protocol::messages::Sample;

use super::metric_series::{Summary, points, resummarise, summarise};
use super::sql::{from_i64, to_i64};
use super::{MetricRetention, StoreResult};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS metric_samples (
    node_id TEXT NOT NULL,
    t       INTEGER NOT NULL,
    sample  TEXT NOT NULL,
    PRIMARY KEY (node_id, t)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS metric_samples_by_t ON metric_samples(t);
CREATE TABLE IF NOT EXISTS metric_summaries (
    node_id TEXT NOT NULL,
    width   INTEGER NOT NULL,
    t       INTEGER NOT NULL,
    summary TEXT NOT NULL,
    PRIMARY KEY (node_id, width, t)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS metric_summaries_by_t ON metric_summaries(width, t);
CREATE TABLE IF NOT EXISTS metric_dirty (
    node_id    TEXT PRIMARY KEY,
    since_min  INTEGER NOT NULL,
    since_hour INTEGER NOT NULL
);
"#;

/// Adds the metrics tables to a database of any earlier version.
pub(super) fn migrate(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch(SCHEMA)?;
    Ok(())
}

/// Stores every node's samples in one transaction; returns how many were new.
pub(super) fn store(conn: &mut Connection, batches: &[(String, Vec<Sample>)]) -> StoreResult<u64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut added = 0;
    {
        let mut insert = tx.prepare_cached(
            "INSERT OR IGNORE INTO metric_samples (node_id, t, sample) VALUES (?1, ?2, ?3)",
        )?;
        let mut dirty = tx.prepare_cached(
            "INSERT INTO metric_dirty (node_id, since_min, since_hour) VALUES (?1, ?2, ?2) \
             ON CONFLICT(node_id) DO UPDATE SET since_min = min(since_min, excluded.since_min), \
             since_hour = min(since_hour, excluded.since_hour)",
        )?;
        for (node, samples) in batches {
            let mut oldest = None::<u64>;
            for s in samples {
                let text = serde_json::to_string(s).unwrap_or_default();
                if insert.execute(params![node, to_i64(s.t), text])? > 0 {
                    added += 1;
                    oldest = Some(oldest.map_or(s.t, |o| o.min(s.t)));
                }
            }
            if let Some(oldest) = oldest {
                dirty.execute(params![node, to_i64(oldest)])?;
            }
        }
    }
    tx.commit()?;
    Ok(added)
}

/// A node's samples with `from <= t < to`, oldest first.
pub(super) fn samples(
    conn: &Connection,
    node: &str,
    from: u64,
    to: u64,
) -> StoreResult<Vec<Sample>> {
    let mut stmt = conn.prepare_cached(
        "SELECT sample FROM metric_samples WHERE node_id = ?1 AND t >= ?2 AND t < ?3 ORDER BY t",
    )?;
    let rows = stmt.query_map(params![node, to_i64(from), to_i64(to)], |r| {
        r.get::<_, String>(0)
    })?;
    let mut out = Vec::new();
    for text in rows {
        if let Ok(s) = serde_json::from_str(&text?) {
            out.push(s);
        }
    }
    Ok(out)
}

/// A node's summaries of `width` seconds with `from <= t < to`, oldest first.
pub(super) fn summaries(
    conn: &Connection,
    node: &str,
    width: u64,
    from: u64,
    to: u64,
) -> StoreResult<Vec<(u64, Summary)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT t, summary FROM metric_summaries \
         WHERE node_id = ?1 AND width = ?2 AND t >= ?3 AND t < ?4 ORDER BY t",
    )?;
    let rows = stmt.query_map(
        params![node, to_i64(width), to_i64(from), to_i64(to)],
        |r| Ok((from_i64(r.get(0)?), r.get::<_, String>(1)?)),
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (t, text) = row?;
        if let Ok(s) = serde_json::from_str(&text) {
            out.push((t, s));
        }
    }
    Ok(out)
}

/// Every node's newest sample.
pub(super) fn latest(conn: &Connection) -> StoreResult<Vec<(String, Sample)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.node_id, m.sample FROM metric_samples m \
         JOIN (SELECT node_id, max(t) AS t FROM metric_samples GROUP BY node_id) l \
         ON m.node_id = l.node_id AND m.t = l.t ORDER BY m.node_id",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (node, text) = row?;
        if let Ok(s) = serde_json::from_str(&text) {
            out.push((node, s));
        }
    }
    Ok(out)
}

/// What one [`downsample`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Downsampled {
    pub minutes: u64,
    pub hours: u64,
    pub pruned: u64,
}

/// Summarises every complete minute and hour with new samples (one transaction), then deletes
/// what is older than `keep` allows.
pub(super) fn downsample(
    conn: &mut Connection,
    now: u64,
    keep: &MetricRetention,
) -> StoreResult<Downsampled> {
    let mut done = Downsampled::default();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let dirty: Vec<(String, u64, u64)> = {
        let mut stmt = tx.prepare("SELECT node_id, since_min, since_hour FROM metric_dirty")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get(0)?, from_i64(r.get(1)?), from_i64(r.get(2)?)))
        })?;
        rows.collect::<Result<_, _>>()?
    };
    let (minute_end, hour_end) = (now - now % 60, now - now % 3600);
    for (node, since_min, since_hour) in dirty {
        let from = since_min - since_min % 60;
        if from < minute_end {
            // The sample before the first minute gives its first rate.
            let raw = samples(
                &tx,
                &node,
                from.saturating_sub(super::metric_series::MAX_RATE_GAP_SECS),
                minute_end,
            )?;
            let pts: Vec<_> = points(&raw)
                .into_iter()
                .filter(|(t, _)| *t >= from)
                .collect();
            done.minutes += write(&tx, &node, 60, summarise(&pts, 60))?;
        }
        let from = since_hour - since_hour % 3600;
        if from < hour_end {
            let minutes = summaries(&tx, &node, 60, from, hour_end)?;
            done.hours += write(&tx, &node, 3600, resummarise(&minutes, 3600))?;
        }
        // What the incomplete minute and hour hold is summarised once they are complete.
        let newest: Option<i64> = tx
            .query_row(
                "SELECT max(t) FROM metric_samples WHERE node_id = ?1",
                params![node],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        let newest = newest.map_or(0, from_i64);
        let next_min = if newest >= minute_end {
            minute_end
        } else {
            u64::MAX
        };
        let next_hour = if newest >= hour_end {
            hour_end
        } else {
            u64::MAX
        };
        if next_min == u64::MAX && next_hour == u64::MAX {
            tx.execute("DELETE FROM metric_dirty WHERE node_id = ?1", params![node])?;
        } else {
            tx.execute(
                "UPDATE metric_dirty SET since_min = ?2, since_hour = ?3 WHERE node_id = ?1",
                params![node, to_i64(next_min), to_i64(next_hour)],
            )?;
        }
    }
    let cut = |secs: u64| to_i64(now.saturating_sub(secs));
    done.pruned += tx.execute(
        "DELETE FROM metric_samples WHERE t < ?1",
        params![cut(keep.samples)],
    )? as u64;
    done.pruned += tx.execute(
        "DELETE FROM metric_summaries WHERE width = 60 AND t < ?1",
        params![cut(keep.minutes)],
    )? as u64;
    done.pruned += tx.execute(
        "DELETE FROM metric_summaries WHERE width = 3600 AND t < ?1",
        params![cut(keep.hours)],
    )? as u64;
    tx.commit()?;
    Ok(done)
}

fn write(
    tx: &rusqlite::Transaction<'_>,
    node: &str,
    width: u64,
    buckets: std::collections::BTreeMap<u64, Summary>,
) -> StoreResult<u64> {
    let mut stmt = tx.prepare_cached(
        "INSERT OR REPLACE INTO metric_summaries (node_id, width, t, summary) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut n = 0;
    for (t, summary) in buckets {
        let text = serde_json::to_string(&summary).unwrap_or_default();
        stmt.execute(params![node, to_i64(width), to_i64(t), text])?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
#[path = "metrics_sql_tests.rs"]
mod tests;
