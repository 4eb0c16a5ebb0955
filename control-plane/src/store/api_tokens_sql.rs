//! The SQLite side of API tokens (issue 20): a user's bearer credentials for scripts. Only the
//! sha256 of a token's secret is kept (the secret is 32 random bytes: nothing to brute-force,
//! so a fast hash is enough). A token names the role and node groups it was made with; what it
//! may do is worked out at each use from these and its user's current role and groups
//! (`http::api_tokens::effective`), so a user demoted or narrowed takes their tokens down too.
//! The lookup also records the token's last use, at most once a minute.

use rusqlite::{Connection, OptionalExtension, params};

use super::sql::{from_i64, to_i64};
use super::{ApiToken, StoreResult, User};
use crate::roles::Role;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS api_tokens (
    id           TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    username     TEXT NOT NULL REFERENCES users(username),
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    groups       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
"#;

/// Last use is written at most this often per token, in seconds.
pub const LAST_USE_EVERY_SECS: u64 = 60;

/// Adds the api_tokens table to a database of any earlier version.
pub(super) fn migrate(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch(SCHEMA)?;
    Ok(())
}

const COLUMNS: &str =
    "id, username, name, role, groups, created_at, expires_at, last_used_at, revoked_at";

fn token_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApiToken> {
    let word: String = r.get(3)?;
    let groups: String = r.get(4)?;
    Ok(ApiToken {
        id: r.get(0)?,
        username: r.get(1)?,
        name: r.get(2)?,
        // An unknown word is read as the lowest role: never more rights.
        role: Role::from_word(&word).unwrap_or(Role::Viewer),
        groups: serde_json::from_str(&groups).unwrap_or_default(),
        created_at: from_i64(r.get(5)?),
        expires_at: from_i64(r.get(6)?),
        last_used_at: r.get::<_, Option<i64>>(7)?.map(from_i64),
        revoked_at: r.get::<_, Option<i64>>(8)?.map(from_i64),
    })
}

pub(super) fn create(conn: &Connection, token: &ApiToken, token_hash: &str) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO api_tokens (id, token_hash, username, name, role, groups, created_at,
                                 expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            token.id,
            token_hash,
            token.username,
            token.name,
            token.role.as_str(),
            serde_json::to_string(&token.groups).unwrap_or_else(|_| "[]".into()),
            to_i64(token.created_at),
            to_i64(token.expires_at),
        ],
    )?;
    Ok(())
}

/// The tokens of `username` (every user's when `None`), newest first.
pub(super) fn list(conn: &Connection, username: Option<&str>) -> StoreResult<Vec<ApiToken>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM api_tokens WHERE ?1 IS NULL OR username = ?1
         ORDER BY created_at DESC, id"
    ))?;
    let rows = stmt.query_map(params![username], token_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Revokes token `id` (only if it belongs to `username`, when given); the token as it was, or
/// `None` when there is no such token.
pub(super) fn revoke(
    conn: &Connection,
    id: &str,
    username: Option<&str>,
    now: u64,
) -> StoreResult<Option<ApiToken>> {
    let token = conn
        .query_row(
            &format!(
                "SELECT {COLUMNS} FROM api_tokens WHERE id = ?1 AND (?2 IS NULL OR username = ?2)"
            ),
            params![id, username],
            token_from_row,
        )
        .optional()?;
    if token.is_some() {
        conn.execute(
            "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
            params![id, to_i64(now)],
        )?;
    }
    Ok(token)
}

/// The token with this hash and its user, whatever their state (the caller says why one is
/// refused); its last use is recorded when the last record is a minute old or more.
pub(super) fn lookup(
    conn: &Connection,
    token_hash: &str,
    now: u64,
) -> StoreResult<Option<(ApiToken, User)>> {
    let token = conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM api_tokens WHERE token_hash = ?1"),
            params![token_hash],
            token_from_row,
        )
        .optional()?;
    let Some(token) = token else {
        return Ok(None);
    };
    let Some(user) = super::users_sql::user(conn, &token.username)? else {
        return Ok(None);
    };
    let usable = token.revoked_at.is_none() && token.expires_at > now && !user.disabled;
    let stale = token
        .last_used_at
        .is_none_or(|t| now >= t + LAST_USE_EVERY_SECS);
    if usable && stale {
        conn.execute(
            "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1",
            params![token.id, to_i64(now)],
        )?;
    }
    Ok(Some((token, user)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::{ApiToken, SqliteStore, Store, User};
    use crate::roles::{Access, Role};

    #[test]
    fn last_use_is_written_at_most_once_a_minute_and_revoking_is_per_owner() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("cairn.db")).unwrap();
        let ana = User {
            username: "ana".into(),
            password_hash: "$argon2id$stand-in".into(),
            access: Access {
                role: Role::Admin,
                groups: vec![],
                destroy: false,
            },
            disabled: false,
            created_at: 0,
            password_changed_at: 0,
        };
        store.create_user(&ana, 0).unwrap();
        let token = ApiToken {
            id: "t1".into(),
            username: "ana".into(),
            name: "deploy".into(),
            role: Role::Viewer,
            groups: vec!["web".into()],
            created_at: 0,
            expires_at: 10_000,
            last_used_at: None,
            revoked_at: None,
        };
        store.create_api_token(&token, "hash-1").unwrap();
        let used = |now| {
            store.api_token_user("hash-1", now).unwrap();
            store.api_tokens(Some("ana")).unwrap()[0].last_used_at
        };
        assert_eq!(used(100), Some(100));
        assert_eq!(used(159), Some(100), "written again within a minute");
        assert_eq!(used(160), Some(160));
        assert!(store.api_token_user("hash-2", 200).unwrap().is_none());
        // Another user cannot revoke it; its owner (or the owner of all, None) can.
        assert!(
            store
                .revoke_api_token("t1", Some("bob"), 300)
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .revoke_api_token("t1", Some("ana"), 300)
                .unwrap()
                .is_some()
        );
        let (t, _) = store.api_token_user("hash-1", 400).unwrap().unwrap();
        assert_eq!(t.revoked_at, Some(300));
        assert_eq!(
            t.last_used_at,
            Some(160),
            "a revoked token's use is not recorded"
        );
    }
}
