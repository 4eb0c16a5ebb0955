//! The SQLite side of one-time links (issue 20): an invitation (a new user, made when the link
//! is accepted) and a password reset (the same user, a new password). Only the link's sha256 is
//! kept; accepting consumes it in the same transaction that makes the user or sets the
//! password, so of any number of concurrent acceptances exactly one succeeds.

use rusqlite::{Connection, OptionalExtension, params};

use super::sql::{from_i64, to_i64};
use super::{Invite, StoreError, StoreResult, User};
use crate::roles::{Access, Role};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS invites (
    token_hash TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    reset      INTEGER NOT NULL,
    role       TEXT NOT NULL,
    groups     TEXT NOT NULL,
    destroy    INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
"#;

/// Adds the invites table to a database of any earlier version.
pub(super) fn migrate(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch(SCHEMA)?;
    Ok(())
}

/// Stores a link; earlier unused links for the same user stop working.
pub(super) fn create_invite(conn: &mut Connection, invite: &Invite) -> StoreResult<()> {
    let tx = conn.transaction()?;
    tx.execute(
        "DELETE FROM invites WHERE username = ?1 AND used_at IS NULL",
        params![invite.username],
    )?;
    tx.execute(
        "INSERT INTO invites (token_hash, username, reset, role, groups, destroy, created_by,
                              created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            invite.token_hash,
            invite.username,
            invite.reset,
            invite.access.role.as_str(),
            serde_json::to_string(&invite.access.groups).unwrap_or_else(|_| "[]".into()),
            invite.access.destroy,
            invite.created_by,
            to_i64(invite.created_at),
            to_i64(invite.expires_at),
        ],
    )?;
    tx.commit()?;
    Ok(())
}

/// Every unused, unexpired invitation (not resets), oldest first: what the Users page lists.
pub(super) fn pending_invites(conn: &Connection, now: u64) -> StoreResult<Vec<Invite>> {
    let mut stmt = conn.prepare(
        "SELECT token_hash, username, reset, role, groups, destroy, created_by, created_at,
                expires_at
         FROM invites WHERE reset = 0 AND used_at IS NULL AND expires_at >= ?1
         ORDER BY created_at, username",
    )?;
    let rows = stmt.query_map(params![to_i64(now)], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Cancels `username`'s unused invitation: its link stops working. `false` when there is none.
pub(super) fn cancel_invite(conn: &Connection, username: &str) -> StoreResult<bool> {
    let gone = conn.execute(
        "DELETE FROM invites WHERE username = ?1 AND reset = 0 AND used_at IS NULL",
        params![username],
    )?;
    Ok(gone > 0)
}

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Invite> {
    Ok(Invite {
        token_hash: r.get(0)?,
        username: r.get(1)?,
        reset: r.get::<_, i64>(2)? != 0,
        access: Access {
            role: Role::from_word(&r.get::<_, String>(3)?).unwrap_or(Role::Viewer),
            groups: serde_json::from_str(&r.get::<_, String>(4)?).unwrap_or_default(),
            destroy: r.get::<_, i64>(5)? != 0,
        },
        created_by: r.get(6)?,
        created_at: from_i64(r.get(7)?),
        expires_at: from_i64(r.get(8)?),
    })
}

/// The unused, unexpired link with this hash.
pub(super) fn invite(conn: &Connection, token_hash: &str, now: u64) -> StoreResult<Option<Invite>> {
    Ok(conn
        .query_row(
            "SELECT token_hash, username, reset, role, groups, destroy, created_by, created_at,
                    expires_at
             FROM invites WHERE token_hash = ?1 AND used_at IS NULL AND expires_at >= ?2",
            params![token_hash, to_i64(now)],
            from_row,
        )
        .optional()?)
}

/// Consumes the link and makes its user (an invitation) or sets its user's password (a reset,
/// ending their sessions), in one transaction; the user's name.
pub(super) fn accept_invite(
    conn: &mut Connection,
    token_hash: &str,
    password_hash: &str,
    now: u64,
) -> StoreResult<String> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let Some(invite) = invite(&tx, token_hash, now)? else {
        return Err(StoreError::Refused(
            "this link is not valid: it was used already, it expired or it was replaced by a \
             newer one; ask the owner for a new link"
                .into(),
        ));
    };
    tx.execute(
        "UPDATE invites SET used_at = ?2 WHERE token_hash = ?1",
        params![token_hash, to_i64(now)],
    )?;
    if invite.reset {
        let n = tx.execute(
            "UPDATE users SET password_hash = ?2, password_changed_at = ?3 WHERE username = ?1",
            params![invite.username, password_hash, to_i64(now)],
        )?;
        if n != 1 {
            return Err(StoreError::Refused(format!(
                "there is no user \"{}\" any more; ask the owner",
                invite.username
            )));
        }
        tx.execute(
            "DELETE FROM sessions WHERE username = ?1",
            params![invite.username],
        )?;
    } else {
        let exists: bool = tx.query_row(
            "SELECT count(*) > 0 FROM users WHERE username = ?1",
            params![invite.username],
            |r| r.get(0),
        )?;
        if exists {
            return Err(StoreError::Refused(format!(
                "there is already a user \"{}\"; ask the owner for a new invitation",
                invite.username
            )));
        }
        let user = User {
            username: invite.username.clone(),
            password_hash: password_hash.to_owned(),
            access: invite.access.clone(),
            disabled: false,
            created_at: now,
            password_changed_at: now,
        };
        super::users_sql::create_user(&tx, &user, now)?;
    }
    tx.commit()?;
    Ok(invite.username)
}
