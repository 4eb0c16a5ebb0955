//! The SQLite side of a node's day 2: its name and tags changed, the node removed (its key
//! revoked), and enrollment tokens listed and revoked. Beside `sqlite.rs` to keep that file
//! readable.
//!
//! A removed node keeps its row (its jobs reference it and stay in history) with `removed_at`
//! set: the list leaves it out and authentication refuses its key. Databases made before this
//! get the columns on open (`tags` as a JSON array, `'[]'` for every existing node).

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::sql::{from_i64, to_i64};
use super::{NodeChange, PendingToken, StoreError, StoreResult, TokenRevoked};

/// Adds the columns of this module to a database of any earlier version.
pub(super) fn migrate(conn: &Connection) -> StoreResult<()> {
    add_column(conn, "nodes", "tags", "TEXT NOT NULL DEFAULT '[]'")?;
    add_column(conn, "nodes", "removed_at", "INTEGER")?;
    add_column(conn, "nodes", "removed_by", "TEXT")?;
    add_column(conn, "enrollment_tokens", "revoked_at", "INTEGER")?;
    add_column(conn, "enrollment_tokens", "revoked_by", "TEXT")?;
    Ok(())
}

fn add_column(conn: &Connection, table: &str, name: &str, decl: &str) -> StoreResult<()> {
    let has: bool = conn.query_row(
        &format!("SELECT count(*) > 0 FROM pragma_table_info('{table}') WHERE name = ?1"),
        [name],
        |r| r.get(0),
    )?;
    if !has {
        conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {name} {decl}"))?;
    }
    Ok(())
}

/// Changes a node's name and/or tags; `false` when there is no such node (or it was removed).
pub(super) fn change_node(conn: &Connection, node_id: &str, c: &NodeChange) -> StoreResult<bool> {
    let tags = match &c.tags {
        Some(t) => Some(serde_json::to_string(t).map_err(|e| StoreError::Refused(e.to_string()))?),
        None => None,
    };
    let n = conn.execute(
        "UPDATE nodes SET name = COALESCE(?1, name), tags = COALESCE(?2, tags)
         WHERE id = ?3 AND removed_at IS NULL",
        params![c.name, tags, node_id],
    )?;
    Ok(n == 1)
}

/// Marks a node removed; `false` when there is no such node (or it was already removed).
pub(super) fn remove_node(
    conn: &Connection,
    node_id: &str,
    by: &str,
    now: u64,
) -> StoreResult<bool> {
    let tx = conn.unchecked_transaction()?;
    let n = tx.execute(
        "UPDATE nodes SET removed_at = ?1, removed_by = ?2 WHERE id = ?3 AND removed_at IS NULL",
        params![to_i64(now), by, node_id],
    )?;
    if n == 1 {
        // Its metrics go with it (`metrics_sql.rs`): nothing would show them again, and its
        // share of the store is freed now rather than when each resolution expires.
        for table in ["metric_samples", "metric_summaries", "metric_dirty"] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE node_id = ?1"),
                params![node_id],
            )?;
        }
    }
    tx.commit()?;
    Ok(n == 1)
}

/// Tokens not used and not revoked: the pending ones, and those expired at or after `since`
/// (listed as expired, so a token the user is waiting on does not silently vanish).
pub(super) fn pending_tokens(conn: &Connection, since: u64) -> StoreResult<Vec<PendingToken>> {
    let mut stmt = conn.prepare(
        "SELECT node_id, name, created_by, created_at, expires_at FROM enrollment_tokens
         WHERE used_at IS NULL AND revoked_at IS NULL AND expires_at >= ?1
         ORDER BY created_at DESC, node_id",
    )?;
    let rows = stmt.query_map(params![to_i64(since)], |r| {
        Ok(PendingToken {
            id: r.get(0)?,
            name: r.get(1)?,
            created_by: r.get(2)?,
            created_at: from_i64(r.get(3)?),
            expires_at: from_i64(r.get(4)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Revokes the token issued for node `id`, unless it was used or revoked already.
pub(super) fn revoke_token(
    conn: &mut Connection,
    id: &str,
    by: &str,
    now: u64,
) -> StoreResult<TokenRevoked> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let row: Option<(Option<i64>, Option<i64>)> = tx
        .query_row(
            "SELECT used_at, revoked_at FROM enrollment_tokens WHERE node_id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let outcome = match row {
        None => TokenRevoked::Unknown,
        Some((Some(_), _)) => TokenRevoked::Used,
        Some((None, Some(_))) => TokenRevoked::Already,
        Some((None, None)) => {
            tx.execute(
                "UPDATE enrollment_tokens SET revoked_at = ?1, revoked_by = ?2 WHERE node_id = ?3",
                params![to_i64(now), by, id],
            )?;
            TokenRevoked::Revoked
        }
    };
    tx.commit()?;
    Ok(outcome)
}

/// Who revoked a token, if it was revoked (read by enrollment, inside its transaction).
pub(super) fn revoked_by(
    tx: &rusqlite::Transaction<'_>,
    token_hash: &str,
) -> StoreResult<Option<String>> {
    let by: Option<Option<String>> = tx
        .query_row(
            "SELECT revoked_by FROM enrollment_tokens WHERE token_hash = ?1 AND revoked_at IS NOT NULL",
            params![token_hash],
            |r| r.get(0),
        )
        .optional()?;
    Ok(by.map(|b| b.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::super::{NewToken, SqliteStore, Store};
    use super::*;

    /// The nodes and tokens tables as the control plane made them before this module.
    const OLD_SCHEMA: &str = r#"
CREATE TABLE enrollment_tokens (
    token_hash TEXT PRIMARY KEY, node_id TEXT NOT NULL, name TEXT NOT NULL,
    created_by TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE TABLE nodes (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, public_key TEXT NOT NULL, key_id TEXT NOT NULL,
    hostname TEXT NOT NULL, enrolled_at INTEGER NOT NULL, last_seen INTEGER, last_status TEXT
);
INSERT INTO nodes (id, name, public_key, key_id, hostname, enrolled_at)
VALUES ('node-old', 'old one', 'k', 'kid', 'host', 1);
INSERT INTO enrollment_tokens (token_hash, node_id, name, created_by, created_at, expires_at)
VALUES ('h', 'node-tok', 'web', 'admin', 1, 99999999999);
"#;

    #[test]
    fn a_database_made_before_tags_and_removal_opens_and_its_nodes_get_them()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("cairn.db");
        Connection::open(&path)?.execute_batch(OLD_SCHEMA)?;
        let store = SqliteStore::open(&path)?;
        let node = store.node("node-old")?.ok_or("no such node")?;
        assert!(node.tags.is_empty());
        assert_eq!(node.removed_at, None);
        let change = NodeChange {
            name: Some("renamed".into()),
            tags: Some(vec!["web".into()]),
        };
        assert!(store.change_node("node-old", &change)?);
        let node = store.node("node-old")?.ok_or("no such node")?;
        assert_eq!(
            (node.name.as_str(), node.tags),
            ("renamed", vec!["web".to_owned()])
        );
        assert_eq!(store.pending_tokens(0)?.len(), 1);
        assert_eq!(
            store.revoke_token("node-tok", "admin", 5)?,
            TokenRevoked::Revoked
        );
        assert!(store.pending_tokens(0)?.is_empty());
        // Opening it again finds the columns there and changes nothing.
        drop(store);
        let store = SqliteStore::open(&path)?;
        assert_eq!(
            store.node("node-old")?.ok_or("no such node")?.name,
            "renamed"
        );
        Ok(())
    }

    #[test]
    fn a_removed_node_leaves_the_list_and_cannot_be_changed()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = SqliteStore::open(&dir.path().join("cairn.db"))?;
        store.create_token(&NewToken {
            token_hash: "x".into(),
            node_id: "node-a".into(),
            name: "a".into(),
            created_by: "admin".into(),
            created_at: 1,
            expires_at: u64::from(u32::MAX),
        })?;
        let e = super::super::Enrollment {
            token_hash: "x".into(),
            node_id: "node-a".into(),
            public_key: "pk".into(),
            key_id: "kid".into(),
            hostname: "h".into(),
            now: 2,
        };
        store.enroll(&e)?;
        assert_eq!(store.nodes()?.len(), 1);
        let sample = cairn_protocol::messages::Sample {
            t: 2,
            cpu: None,
            mem: [1, 2],
            swap: [0, 0],
            load: [0.0; 3],
            disks: vec![],
            nets: vec![],
            svcs: vec![],
        };
        store.store_metrics(&[("node-a".to_owned(), vec![sample])])?;
        assert_eq!(store.metric_samples("node-a", 0, 10)?.len(), 1);
        assert!(store.remove_node("node-a", "admin", 3)?);
        // Its metrics went with it.
        assert!(store.metric_samples("node-a", 0, 10)?.is_empty());
        assert!(!store.remove_node("node-a", "admin", 4)?);
        assert!(store.nodes()?.is_empty());
        assert_eq!(
            store.node("node-a")?.ok_or("no such node")?.removed_at,
            Some(3)
        );
        let change = NodeChange {
            name: Some("b".into()),
            tags: None,
        };
        assert!(!store.change_node("node-a", &change)?);
        assert_eq!(
            store.revoke_token("node-a", "admin", 5)?,
            TokenRevoked::Used
        );
        Ok(())
    }
}
