//! The SQLite side of recipe submissions (issue 22): recipes sent to the registry with
//! `cairn-recipe publish` or the dashboard's upload, kept with their source, their companion
//! files and the check's warnings until an admin approves or rejects them.
//!
//! A submission is `pending` until decided; `approved` ones are the registry's overlay (the
//! highest approved version of each recipe is published over `recipes/` when it is newer,
//! `registry::Overlay`), `rejected` ones are kept for the history, and a pending one is
//! `superseded` when a newer submission of the same recipe arrives or another is approved.
//! A pending one taken back by its submitter (or an admin) is `cancelled`: it stops counting
//! against the pending caps at once, and is kept for the history like a rejected one.
//! Decisions are conditional updates (`WHERE state = 'pending'`): of two admins deciding at
//! once, one wins and the other is told.
//!
//! What an operator (or a leaked token of theirs) can make the control plane keep is bounded
//! (THREATS row 58): a new pending submission is refused, inside the transaction that would
//! store it, when it would take its submitter's pending ones (counted per account, whatever
//! token sent them) or all pending ones past a [`PendingCaps`]; and only the newest
//! [`HISTORY_KEPT`] superseded, rejected or cancelled submissions are kept, older ones deleted
//! (the audit log keeps who sent and decided them). Approved and withdrawn ones stay: they are the
//! registry's overlays, what a withdrawal publishes again, and the recipes' floors.
//!
//! An approved submission the registry publishes can be `withdrawn` (`withdraw`): it stops
//! being an overlay, and the version its withdrawal published (`withdrawn_as`, one above the
//! version published until then) is the recipe's floor (`floors`): the registry publishes
//! whatever is left at that version at least, since agents refuse a version lower than one
//! they ran.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::StoreResult;
use super::sql::{from_i64, to_i64};

/// Where a recipe submission stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SubmissionState {
    /// Waiting for an admin; never sent to an agent.
    Pending,
    /// Signed and published (while it is the highest approved version of its recipe).
    Approved,
    Rejected,
    /// A newer submission of the same recipe came, or another was approved.
    Superseded,
    /// Approved, then withdrawn by an admin: the content before it is published again, under
    /// a higher version.
    Withdrawn,
    /// Taken back while pending, by its submitter or an admin (`decided_by` says who): never
    /// published, and not a rejection — no admin judged it.
    Cancelled,
}

impl SubmissionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Superseded => "superseded",
            Self::Withdrawn => "withdrawn",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn from_word(word: &str) -> Option<Self> {
        Some(match word {
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "rejected" => Self::Rejected,
            "superseded" => Self::Superseded,
            "withdrawn" => Self::Withdrawn,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }
}

/// How many superseded, rejected or cancelled submissions are kept (with their source); older
/// ones are deleted as newer ones are decided.
pub const HISTORY_KEPT: usize = 50;

/// What pending submissions may hold at most: per submitter (an account, whichever of its
/// tokens sent them) and for the whole control plane. Bytes are those the rows keep: the
/// recipe's text and its companion files as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingCaps {
    pub per_submitter: usize,
    pub per_submitter_bytes: u64,
    pub total: usize,
    pub total_bytes: u64,
}

/// Which cap a submission would have passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    PerSubmitter,
    PerSubmitterBytes,
    Total,
    TotalBytes,
}

/// A submission refused by a cap, with what is held already: nothing was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverCap {
    pub cap: Cap,
    /// Pending submissions counted against the cap (those it would supersede left out).
    pub held: usize,
    pub held_bytes: u64,
    /// This submission's bytes.
    pub bytes: u64,
}

/// A recipe sent for publishing, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// `sub-` and 12 hex digits.
    pub id: String,
    pub recipe_id: String,
    pub version: u64,
    /// The `.rhai` file's text.
    pub source: String,
    /// Companion files (`ID.NAME`, the registry's naming), name and text.
    pub files: Vec<(String, String)>,
    /// The check's warnings, `line:col: message` each.
    pub warnings: Vec<String>,
    /// The capabilities it adds to the version published when it was submitted, in words.
    pub grown: Vec<String>,
    /// The version published when it was submitted (`None`: a new recipe).
    pub base_version: Option<u64>,
    /// Who sent it (`ana`, or `ana (token ci)`).
    pub submitted_by: String,
    /// The account it counts against (`ana`, whichever token sent it).
    pub submitter: String,
    pub submitted_at: u64,
    pub state: SubmissionState,
    pub decided_by: Option<String>,
    pub decided_at: Option<u64>,
    /// Its withdrawal, once withdrawn.
    pub withdrawn: Option<Withdrawal>,
}

/// Who withdrew an approved submission, when, and the version that withdrawal published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Withdrawal {
    pub by: String,
    pub at: u64,
    /// The version the content before it was published under (its recipe's floor from then on).
    pub published_as: u64,
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS recipe_submissions (
    id           TEXT PRIMARY KEY,
    recipe_id    TEXT NOT NULL,
    version      INTEGER NOT NULL,
    source       TEXT NOT NULL,
    files        TEXT NOT NULL,
    warnings     TEXT NOT NULL,
    grown        TEXT NOT NULL,
    base_version INTEGER,
    submitted_by TEXT NOT NULL,
    submitted_at INTEGER NOT NULL,
    state        TEXT NOT NULL,
    decided_by   TEXT,
    decided_at   INTEGER
);
CREATE INDEX IF NOT EXISTS recipe_submissions_by_recipe
    ON recipe_submissions(recipe_id, state, version);
"#;

/// Adds the submissions table to a database of any earlier version.
pub(super) fn migrate(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch(SCHEMA)?;
    for (name, decl) in [
        ("withdrawn_by", "TEXT"),
        ("withdrawn_at", "INTEGER"),
        ("withdrawn_as", "INTEGER"),
        ("submitter", "TEXT"),
    ] {
        let has: bool = conn.query_row(
            "SELECT count(*) > 0 FROM pragma_table_info('recipe_submissions') WHERE name = ?1",
            [name],
            |r| r.get(0),
        )?;
        if !has {
            conn.execute_batch(&format!(
                "ALTER TABLE recipe_submissions ADD COLUMN {name} {decl}"
            ))?;
        }
    }
    // Rows from before the column: the account is `submitted_by` up to its first space
    // (`ana (token ci)`; a username has none).
    conn.execute_batch(
        "UPDATE recipe_submissions SET submitter = CASE
             WHEN instr(submitted_by, ' ') > 0
             THEN substr(submitted_by, 1, instr(submitted_by, ' ') - 1)
             ELSE submitted_by END
         WHERE submitter IS NULL;
         CREATE INDEX IF NOT EXISTS recipe_submissions_by_state
             ON recipe_submissions(state, submitter);",
    )?;
    Ok(())
}

const COLUMNS: &str = "id, recipe_id, version, source, files, warnings, grown, base_version, \
                       submitted_by, submitted_at, state, decided_by, decided_at, \
                       withdrawn_by, withdrawn_at, withdrawn_as, submitter";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Submission> {
    let files: String = r.get(4)?;
    let warnings: String = r.get(5)?;
    let grown: String = r.get(6)?;
    let state: String = r.get(10)?;
    Ok(Submission {
        id: r.get(0)?,
        recipe_id: r.get(1)?,
        version: from_i64(r.get(2)?),
        source: r.get(3)?,
        files: serde_json::from_str(&files).unwrap_or_default(),
        warnings: serde_json::from_str(&warnings).unwrap_or_default(),
        grown: serde_json::from_str(&grown).unwrap_or_default(),
        base_version: r.get::<_, Option<i64>>(7)?.map(from_i64),
        submitted_by: r.get(8)?,
        submitter: r.get::<_, Option<String>>(16)?.unwrap_or_default(),
        submitted_at: from_i64(r.get(9)?),
        // A word this version does not know is read as rejected: never published.
        state: SubmissionState::from_word(&state).unwrap_or(SubmissionState::Rejected),
        decided_by: r.get(11)?,
        decided_at: r.get::<_, Option<i64>>(12)?.map(from_i64),
        withdrawn: match (
            r.get::<_, Option<String>>(13)?,
            r.get::<_, Option<i64>>(14)?,
        ) {
            (Some(by), Some(at)) => Some(Withdrawal {
                by,
                at: from_i64(at),
                published_as: r.get::<_, Option<i64>>(15)?.map_or(0, from_i64),
            }),
            _ => None,
        },
    })
}

/// The bytes a submission's row keeps: its text and its companion files as stored.
fn stored_bytes(s: &Submission) -> (String, u64) {
    let files = serde_json::to_string(&s.files).unwrap_or_else(|_| "[]".into());
    let bytes = (s.source.len() + files.len()) as u64;
    (files, bytes)
}

/// Stores a new pending submission, unless it would pass one of `caps`; earlier pending ones
/// of the same recipe are superseded in the same transaction (and are not counted against the
/// caps: they make room). Returns the ids superseded, or the cap passed (nothing stored).
pub(super) fn create(
    conn: &mut Connection,
    s: &Submission,
    caps: &PendingCaps,
) -> StoreResult<Result<Vec<String>, OverCap>> {
    let (files, bytes) = stored_bytes(s);
    let tx = conn.transaction()?;
    if let Some(over) = over_cap(&tx, s, bytes, caps)? {
        // Dropped unfinished: rolled back, nothing written.
        return Ok(Err(over));
    }
    let superseded = supersede(&tx, &s.recipe_id, u64::MAX, &s.submitted_by, s.submitted_at)?;
    tx.execute(
        &format!("INSERT INTO recipe_submissions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, NULL, NULL, NULL, NULL, NULL, ?12)"),
        params![
            s.id,
            s.recipe_id,
            to_i64(s.version),
            s.source,
            files,
            serde_json::to_string(&s.warnings).unwrap_or_else(|_| "[]".into()),
            serde_json::to_string(&s.grown).unwrap_or_else(|_| "[]".into()),
            s.base_version.map(to_i64),
            s.submitted_by,
            to_i64(s.submitted_at),
            SubmissionState::Pending.as_str(),
            s.submitter,
        ],
    )?;
    trim_history(&tx)?;
    tx.commit()?;
    Ok(Ok(superseded))
}

/// The first cap `s` (of `bytes`) would pass, counting the pending submissions it would not
/// supersede: its submitter's first, then everyone's.
fn over_cap(
    tx: &rusqlite::Transaction<'_>,
    s: &Submission,
    bytes: u64,
    caps: &PendingCaps,
) -> StoreResult<Option<OverCap>> {
    let held = |mine: bool| -> StoreResult<(usize, u64)> {
        let (n, b): (i64, i64) = tx.query_row(
            "SELECT count(*), coalesce(sum(length(CAST(source AS BLOB))
                                          + length(CAST(files AS BLOB))), 0)
             FROM recipe_submissions
             WHERE state = 'pending' AND recipe_id <> ?1 AND (?2 IS NULL OR submitter = ?2)",
            params![s.recipe_id, mine.then_some(s.submitter.as_str())],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((usize::try_from(n).unwrap_or(usize::MAX), from_i64(b)))
    };
    for (mine, count_cap, bytes_cap, over_count, over_bytes) in [
        (
            true,
            caps.per_submitter,
            caps.per_submitter_bytes,
            Cap::PerSubmitter,
            Cap::PerSubmitterBytes,
        ),
        (
            false,
            caps.total,
            caps.total_bytes,
            Cap::Total,
            Cap::TotalBytes,
        ),
    ] {
        let (held, held_bytes) = held(mine)?;
        let cap = if held >= count_cap {
            over_count
        } else if held_bytes.saturating_add(bytes) > bytes_cap {
            over_bytes
        } else {
            continue;
        };
        return Ok(Some(OverCap {
            cap,
            held,
            held_bytes,
            bytes,
        }));
    }
    Ok(None)
}

/// Deletes the superseded, rejected and cancelled submissions older than the newest
/// [`HISTORY_KEPT`] (cancelled ones count too: submitting and cancelling again and again must
/// not grow the history at will).
fn trim_history(tx: &rusqlite::Transaction<'_>) -> StoreResult<()> {
    tx.execute(
        "DELETE FROM recipe_submissions
         WHERE state IN ('superseded', 'rejected', 'cancelled') AND rowid NOT IN (
             SELECT rowid FROM recipe_submissions
             WHERE state IN ('superseded', 'rejected', 'cancelled')
             ORDER BY coalesce(decided_at, submitted_at) DESC, rowid DESC
             LIMIT ?1)",
        params![i64::try_from(HISTORY_KEPT).unwrap_or(i64::MAX)],
    )?;
    Ok(())
}

/// Marks the pending submissions of `recipe_id` with a version at most `up_to` superseded.
fn supersede(
    tx: &rusqlite::Transaction<'_>,
    recipe_id: &str,
    up_to: u64,
    by: &str,
    now: u64,
) -> StoreResult<Vec<String>> {
    let mut stmt = tx.prepare(
        "SELECT id FROM recipe_submissions
         WHERE recipe_id = ?1 AND state = 'pending' AND version <= ?2",
    )?;
    let ids: Vec<String> = stmt
        .query_map(params![recipe_id, to_i64(up_to)], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    tx.execute(
        "UPDATE recipe_submissions SET state = 'superseded', decided_by = ?3, decided_at = ?4
         WHERE recipe_id = ?1 AND state = 'pending' AND version <= ?2",
        params![recipe_id, to_i64(up_to), by, to_i64(now)],
    )?;
    Ok(ids)
}

/// Every submission, newest first (sources included: the caller trims what it lists).
pub(super) fn list(conn: &Connection) -> StoreResult<Vec<Submission>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM recipe_submissions ORDER BY submitted_at DESC, rowid DESC"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn get(conn: &Connection, id: &str) -> StoreResult<Option<Submission>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM recipe_submissions WHERE id = ?1"),
            params![id],
            from_row,
        )
        .optional()?)
}

/// Decides a pending submission: `false` when it is not pending (any more). An approval also
/// supersedes the other pending submissions of the recipe whose version is not above it.
pub(super) fn decide(
    conn: &mut Connection,
    id: &str,
    state: SubmissionState,
    by: &str,
    now: u64,
) -> StoreResult<bool> {
    let tx = conn.transaction()?;
    let changed = tx.execute(
        "UPDATE recipe_submissions SET state = ?2, decided_by = ?3, decided_at = ?4
         WHERE id = ?1 AND state = 'pending'",
        params![id, state.as_str(), by, to_i64(now)],
    )?;
    if changed == 1 && state == SubmissionState::Approved {
        let (recipe_id, version): (String, i64) = tx.query_row(
            "SELECT recipe_id, version FROM recipe_submissions WHERE id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        supersede(&tx, &recipe_id, from_i64(version), by, now)?;
    }
    trim_history(&tx)?;
    tx.commit()?;
    Ok(changed == 1)
}

/// Withdraws an approved submission: `false` when it is not approved (any more), so of two
/// admins withdrawing at once one wins. `published_as` is the version the withdrawal publishes.
pub(super) fn withdraw(
    conn: &Connection,
    id: &str,
    by: &str,
    now: u64,
    published_as: u64,
) -> StoreResult<bool> {
    let changed = conn.execute(
        "UPDATE recipe_submissions
         SET state = 'withdrawn', withdrawn_by = ?2, withdrawn_at = ?3, withdrawn_as = ?4
         WHERE id = ?1 AND state = 'approved'",
        params![id, by, to_i64(now), to_i64(published_as)],
    )?;
    Ok(changed == 1)
}

/// Each recipe's floor: the highest version a withdrawal of it published.
pub(super) fn floors(conn: &Connection) -> StoreResult<BTreeMap<String, u64>> {
    let mut stmt = conn.prepare(
        "SELECT recipe_id, max(withdrawn_as) FROM recipe_submissions
         WHERE state = 'withdrawn' AND withdrawn_as IS NOT NULL GROUP BY recipe_id",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, from_i64(r.get(1)?))))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The highest approved version of each recipe.
pub(super) fn approved(conn: &Connection) -> StoreResult<Vec<Submission>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM recipe_submissions s
         WHERE state = 'approved' AND version = (
             SELECT max(version) FROM recipe_submissions t
             WHERE t.recipe_id = s.recipe_id AND t.state = 'approved')
         ORDER BY recipe_id"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    let mut all: Vec<Submission> = rows.collect::<Result<_, _>>()?;
    // Two approvals of one version cannot happen (the second is refused as not newer), but a
    // copied database could hold them: keep one.
    all.dedup_by(|a, b| a.recipe_id == b.recipe_id);
    Ok(all)
}

#[cfg(test)]
#[path = "submissions_sql_tests.rs"]
mod tests;
