//! The SQLite side of the audit log's tallies and of the accounts' known sign-in addresses
//! (`auth::refusals`, `auth::known`), beside `sqlite.rs` to keep that file readable.
//!
//! Databases made before the tallies get the `count` and `last_at` columns on open.

use rusqlite::{Connection, params};

use super::sql::{from_i64, to_i64};
use super::{AUDIT_REFUSED, AUDIT_REFUSED_SHOWN, AuditCount, AuditEntry, StoreResult};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS login_addresses (
    username TEXT NOT NULL,
    address  TEXT NOT NULL,
    last_ok  INTEGER NOT NULL,
    PRIMARY KEY (username, address)
);
CREATE INDEX IF NOT EXISTS audit_by_what ON audit(what, id);
"#;

/// Adds what this module needs to a database of any earlier version.
pub(super) fn migrate(conn: &Connection) -> StoreResult<()> {
    let mut columns = Vec::new();
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('audit')")?;
    for name in stmt.query_map([], |r| r.get::<_, String>(0))? {
        columns.push(name?);
    }
    if !columns.iter().any(|c| c == "count") {
        conn.execute_batch("ALTER TABLE audit ADD COLUMN count INTEGER NOT NULL DEFAULT 1")?;
    }
    if !columns.iter().any(|c| c == "last_at") {
        conn.execute_batch("ALTER TABLE audit ADD COLUMN last_at INTEGER")?;
    }
    conn.execute_batch(SCHEMA)?;
    Ok(())
}

pub(super) fn audit_counts(conn: &mut Connection, rows: &[AuditCount]) -> StoreResult<Vec<i64>> {
    let tx = conn.transaction()?;
    let mut ids = Vec::with_capacity(rows.len());
    for r in rows {
        let changed = match r.id {
            Some(id) => tx.execute(
                "UPDATE audit SET last_at = ?2, result = ?3, count = ?4 WHERE id = ?1",
                params![id, to_i64(r.last_at), r.result, to_i64(r.count)],
            )?,
            None => 0,
        };
        if changed == 1 {
            ids.push(r.id.unwrap_or_default());
            continue;
        }
        tx.execute(
            "INSERT INTO audit (at, who, what, target, result, count, last_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                to_i64(r.at),
                r.who,
                r.what,
                r.target,
                r.result,
                to_i64(r.count),
                to_i64(r.last_at)
            ],
        )?;
        ids.push(tx.last_insert_rowid());
    }
    tx.commit()?;
    Ok(ids)
}

pub(super) fn audit_log(
    conn: &Connection,
    limit: u32,
    who: Option<&str>,
) -> StoreResult<Vec<AuditEntry>> {
    // The newest entries of every other kind, and the newest tallies of refused sign-ins (at
    // most AUDIT_REFUSED_SHOWN), merged: a flood of refusals cannot push the rest out. `?4`:
    // one user's entries only, those made with their API tokens (`ana (token deploy)`) included
    // (NULL: everyone's).
    let mut stmt = conn.prepare(
        "SELECT id, at, who, what, target, result, count, last_at FROM (
             SELECT * FROM (SELECT * FROM audit WHERE what != ?2
                              AND (?4 IS NULL OR who = ?4 OR substr(who, 1, length(?4) + 8) = ?4 || ' (token ')
                            ORDER BY id DESC LIMIT ?1)
             UNION ALL
             SELECT * FROM (SELECT * FROM audit WHERE what = ?2
                              AND (?4 IS NULL OR who = ?4 OR substr(who, 1, length(?4) + 8) = ?4 || ' (token ')
                            ORDER BY id DESC LIMIT ?3)
         ) ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map(
        params![limit, AUDIT_REFUSED, AUDIT_REFUSED_SHOWN.min(limit), who],
        |r| {
            Ok(AuditEntry {
                id: r.get(0)?,
                at: from_i64(r.get(1)?),
                who: r.get(2)?,
                what: r.get(3)?,
                target: r.get(4)?,
                result: r.get(5)?,
                count: from_i64(r.get(6)?),
                last_at: r.get::<_, Option<i64>>(7)?.map(from_i64),
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn remember_login_address(
    conn: &Connection,
    username: &str,
    address: &str,
    at: u64,
) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO login_addresses (username, address, last_ok) VALUES (?1, ?2, ?3)
         ON CONFLICT (username, address) DO UPDATE SET last_ok = excluded.last_ok",
        params![username, address, to_i64(at)],
    )?;
    Ok(())
}

pub(super) fn login_addresses(
    conn: &Connection,
    since: u64,
) -> StoreResult<Vec<(String, String, u64)>> {
    let mut stmt =
        conn.prepare("SELECT username, address, last_ok FROM login_addresses WHERE last_ok >= ?1")?;
    let rows = stmt.query_map(params![to_i64(since)], |r| {
        Ok((r.get(0)?, r.get(1)?, from_i64(r.get(2)?)))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
