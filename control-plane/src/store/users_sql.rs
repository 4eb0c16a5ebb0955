//! The SQLite side of users and their sessions (issue 20), beside `sqlite.rs` to keep that
//! file short.
//!
//! A database made when Cairn had one account gets the `role`, `disabled`, `groups`,
//! `destroy` and `password_changed_at` columns on open; its `admin` becomes the owner (the
//! column's default), so a control plane upgraded in place keeps its one account with every
//! right it had.
//!
//! A session is live only while its user is enabled and it was made at or after the user's
//! last password change: both are checked in the lookup itself, and disabling or changing a
//! password also deletes the sessions, so nothing has to be remembered to end them.

use rusqlite::{Connection, OptionalExtension, params};

use super::sql::{from_i64, to_i64};
use super::{SessionUser, StoreResult, User};
use crate::roles::{Access, Role};

/// Adds the columns users need to a database of any earlier version.
pub(super) fn migrate(conn: &Connection) -> StoreResult<()> {
    let mut columns = Vec::new();
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('users')")?;
    for name in stmt.query_map([], |r| r.get::<_, String>(0))? {
        columns.push(name?);
    }
    let wanted = [
        ("role", "TEXT NOT NULL DEFAULT 'owner'"),
        ("disabled", "INTEGER NOT NULL DEFAULT 0"),
        ("groups", "TEXT NOT NULL DEFAULT '[]'"),
        ("destroy", "INTEGER NOT NULL DEFAULT 0"),
        ("password_changed_at", "INTEGER NOT NULL DEFAULT 0"),
    ];
    for (name, decl) in wanted {
        if !columns.iter().any(|c| c == name) {
            conn.execute_batch(&format!("ALTER TABLE users ADD COLUMN {name} {decl}"))?;
        }
    }
    Ok(())
}

const USER_COLUMNS: &str =
    "username, password_hash, role, disabled, groups, destroy, created_at, password_changed_at";

fn groups_col(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn role_col(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Role> {
    let word: String = r.get(i)?;
    // An unknown word (a later version's role) is read as the lowest: never more rights.
    Ok(Role::from_word(&word).unwrap_or(Role::Viewer))
}

fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        username: r.get(0)?,
        password_hash: r.get(1)?,
        access: Access {
            role: role_col(r, 2)?,
            groups: groups_col(&r.get::<_, String>(4)?),
            destroy: r.get::<_, i64>(5)? != 0,
        },
        disabled: r.get::<_, i64>(3)? != 0,
        created_at: from_i64(r.get(6)?),
        password_changed_at: from_i64(r.get(7)?),
    })
}

pub(super) fn user(conn: &Connection, username: &str) -> StoreResult<Option<User>> {
    Ok(conn
        .query_row(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?1"),
            params![username],
            user_from_row,
        )
        .optional()?)
}

pub(super) fn users(conn: &Connection) -> StoreResult<Vec<User>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {USER_COLUMNS} FROM users ORDER BY created_at, username"
    ))?;
    let rows = stmt.query_map([], user_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn create_user(conn: &Connection, user: &User, now: u64) -> StoreResult<()> {
    let groups = serde_json::to_string(&user.access.groups).unwrap_or_else(|_| "[]".into());
    conn.execute(
        "INSERT INTO users (username, password_hash, created_at, role, disabled, groups, destroy,
                            password_changed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?3)",
        params![
            user.username,
            user.password_hash,
            to_i64(now),
            user.access.role.as_str(),
            user.disabled,
            groups,
            user.access.destroy,
        ],
    )?;
    Ok(())
}

/// The user of a live session: unexpired, its user enabled, made at or after the user's last
/// password change.
pub(super) fn session_user(
    conn: &Connection,
    id_hash: &str,
    now: u64,
) -> StoreResult<Option<SessionUser>> {
    Ok(conn
        .query_row(
            "SELECT u.username, u.role, u.groups, u.destroy, s.last_used FROM sessions s
             JOIN users u ON u.username = s.username
             WHERE s.id_hash = ?1 AND s.expires_at >= ?2 AND u.disabled = 0
               AND s.created_at >= u.password_changed_at",
            params![id_hash, to_i64(now)],
            |r| {
                Ok(SessionUser {
                    username: r.get(0)?,
                    access: Access {
                        role: role_col(r, 1)?,
                        groups: groups_col(&r.get::<_, String>(2)?),
                        destroy: r.get::<_, i64>(3)? != 0,
                    },
                    last_used: from_i64(r.get(4)?),
                })
            },
        )
        .optional()?)
}

/// Changes a user's role, groups and grant; `false` when there is no such user.
pub(super) fn set_access(conn: &Connection, username: &str, access: &Access) -> StoreResult<bool> {
    let groups = serde_json::to_string(&access.groups).unwrap_or_else(|_| "[]".into());
    let n = conn.execute(
        "UPDATE users SET role = ?2, groups = ?3, destroy = ?4 WHERE username = ?1",
        params![username, access.role.as_str(), groups, access.destroy],
    )?;
    Ok(n == 1)
}

/// Disables (ending every session and API token of the user at once) or enables a user; `false` when there
/// is no such user.
pub(super) fn set_disabled(
    conn: &mut Connection,
    username: &str,
    disabled: bool,
) -> StoreResult<bool> {
    let tx = conn.transaction()?;
    let n = tx.execute(
        "UPDATE users SET disabled = ?2 WHERE username = ?1",
        params![username, disabled],
    )?;
    if disabled {
        tx.execute(
            "DELETE FROM sessions WHERE username = ?1",
            params![username],
        )?;
        // Their API tokens end too, for good: enabling the user again does not revive them.
        tx.execute(
            "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, CAST(strftime('%s', 'now') AS INTEGER))
             WHERE username = ?1",
            params![username],
        )?;
    }
    tx.commit()?;
    Ok(n == 1)
}

/// Sets a user's password hash and ends every session of the user made before `now`; `false`
/// when there is no such user.
pub(super) fn set_password(
    conn: &mut Connection,
    username: &str,
    password_hash: &str,
    now: u64,
) -> StoreResult<bool> {
    let tx = conn.transaction()?;
    let n = tx.execute(
        "UPDATE users SET password_hash = ?2, password_changed_at = ?3 WHERE username = ?1",
        params![username, password_hash, to_i64(now)],
    )?;
    tx.execute(
        "DELETE FROM sessions WHERE username = ?1",
        params![username],
    )?;
    tx.commit()?;
    Ok(n == 1)
}

#[cfg(test)]
#[path = "users_sql_tests.rs"]
mod tests;
