//! The SQLite side of the sessions a user sees and revokes (issue 20): each session's device
//! (its User-Agent as sent), address and last use, added to the `sessions` table on open.
//!
//! The last use is written at most once a minute per session: [`touch`] is one conditional
//! `UPDATE` that matches only when the stored time is a minute old, and the lookup tells the
//! caller when to call it, so an ordinary request writes nothing.

use rusqlite::{Connection, params};

use super::StoreResult;
use super::sql::{from_i64, to_i64};

/// How often a session's last use is written, at most, in seconds.
pub const TOUCH_EVERY_SECS: u64 = 60;
/// Longest User-Agent kept.
const MAX_AGENT: usize = 300;

/// One live session as its user sees it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub id_hash: String,
    pub user_agent: String,
    pub address: String,
    pub created_at: u64,
    pub last_used: u64,
}

pub(super) fn migrate(conn: &Connection) -> StoreResult<()> {
    let mut columns = Vec::new();
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('sessions')")?;
    for name in stmt.query_map([], |r| r.get::<_, String>(0))? {
        columns.push(name?);
    }
    for (name, decl) in [
        ("user_agent", "TEXT NOT NULL DEFAULT ''"),
        ("address", "TEXT NOT NULL DEFAULT ''"),
        ("last_used", "INTEGER NOT NULL DEFAULT 0"),
    ] {
        if !columns.iter().any(|c| c == name) {
            conn.execute_batch(&format!("ALTER TABLE sessions ADD COLUMN {name} {decl}"))?;
        }
    }
    Ok(())
}

pub(super) fn set_client(
    conn: &Connection,
    id_hash: &str,
    user_agent: &str,
    address: &str,
    now: u64,
) -> StoreResult<()> {
    let agent: String = user_agent.chars().take(MAX_AGENT).collect();
    conn.execute(
        "UPDATE sessions SET user_agent = ?2, address = ?3, last_used = ?4 WHERE id_hash = ?1",
        params![id_hash, agent, address, to_i64(now)],
    )?;
    Ok(())
}

pub(super) fn touch(conn: &Connection, id_hash: &str, now: u64) -> StoreResult<()> {
    conn.execute(
        "UPDATE sessions SET last_used = ?2 WHERE id_hash = ?1 AND last_used <= ?3",
        params![
            id_hash,
            to_i64(now),
            to_i64(now.saturating_sub(TOUCH_EVERY_SECS))
        ],
    )?;
    Ok(())
}

/// The user's live sessions, the most recently used first.
pub(super) fn list(conn: &Connection, username: &str, now: u64) -> StoreResult<Vec<SessionInfo>> {
    let mut stmt = conn.prepare(
        "SELECT s.id_hash, s.user_agent, s.address, s.created_at, s.last_used FROM sessions s
         JOIN users u ON u.username = s.username
         WHERE s.username = ?1 AND s.expires_at >= ?2 AND s.created_at >= u.password_changed_at
         ORDER BY s.last_used DESC, s.created_at DESC",
    )?;
    let rows = stmt.query_map(params![username, to_i64(now)], |r| {
        Ok(SessionInfo {
            id_hash: r.get(0)?,
            user_agent: r.get(1)?,
            address: r.get(2)?,
            created_at: from_i64(r.get(3)?),
            last_used: from_i64(r.get(4)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Ends the user's session whose hash starts with `id` (as listed); `false` when none.
pub(super) fn delete_one(conn: &Connection, username: &str, id: &str) -> StoreResult<bool> {
    if id.len() < 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(false);
    }
    let n = conn.execute(
        "DELETE FROM sessions WHERE username = ?1 AND substr(id_hash, 1, ?3) = ?2",
        params![username, id, to_i64(id.len() as u64)],
    )?;
    Ok(n > 0)
}

/// Ends every session of the user; how many there were.
pub(super) fn delete_all(conn: &Connection, username: &str) -> StoreResult<u64> {
    let n = conn.execute(
        "DELETE FROM sessions WHERE username = ?1",
        params![username],
    )?;
    Ok(n as u64)
}
