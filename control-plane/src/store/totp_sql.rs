//! The SQLite side of two-factor sign-in (`auth::totp`): one row per user who started or
//! finished enrolling, with the TOTP secret sealed (never in clear), the last step a code was
//! accepted for, and the sha256 of the unused recovery codes.
//!
//! Every "use once" rule is one conditional `UPDATE` (or a transaction), so two requests with
//! the same code cannot both succeed.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::StoreResult;
use super::sql::{from_i64, to_i64};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS user_totp (
    username  TEXT PRIMARY KEY REFERENCES users(username),
    sealed    TEXT NOT NULL,
    enabled   INTEGER NOT NULL DEFAULT 0,
    last_step INTEGER NOT NULL DEFAULT 0,
    recovery  TEXT NOT NULL DEFAULT '[]'
);
"#;

/// A user's two-factor row.
#[derive(Debug, Clone)]
pub struct TotpRow {
    /// The secret, sealed (`alerts::seal`).
    pub sealed: String,
    /// Confirmed with a code: sign-in asks for one.
    pub enabled: bool,
    /// The last step a code was accepted for.
    pub last_step: u64,
    /// How many recovery codes are left.
    pub recovery_left: usize,
}

pub(super) fn migrate(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch(SCHEMA)?;
    Ok(())
}

fn hashes(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

pub(super) fn totp(conn: &Connection, username: &str) -> StoreResult<Option<TotpRow>> {
    Ok(conn
        .query_row(
            "SELECT sealed, enabled, last_step, recovery FROM user_totp WHERE username = ?1",
            params![username],
            |r| {
                Ok(TotpRow {
                    sealed: r.get(0)?,
                    enabled: r.get::<_, i64>(1)? != 0,
                    last_step: from_i64(r.get(2)?),
                    recovery_left: hashes(&r.get::<_, String>(3)?).len(),
                })
            },
        )
        .optional()?)
}

/// Stores a new, unconfirmed secret; `false` when the user has two-factor on already.
pub(super) fn start(conn: &Connection, username: &str, sealed: &str) -> StoreResult<bool> {
    let n = conn.execute(
        "INSERT INTO user_totp (username, sealed) VALUES (?1, ?2)
         ON CONFLICT(username) DO UPDATE SET sealed = excluded.sealed, last_step = 0,
                                             recovery = '[]'
         WHERE user_totp.enabled = 0",
        params![username, sealed],
    )?;
    Ok(n == 1)
}

/// Turns two-factor on with the step of the confirming code and the recovery codes' hashes;
/// `false` when it is on already or the step was used.
pub(super) fn enable(
    conn: &Connection,
    username: &str,
    step: u64,
    recovery: &[String],
) -> StoreResult<bool> {
    let codes = serde_json::to_string(recovery).unwrap_or_else(|_| "[]".into());
    let n = conn.execute(
        "UPDATE user_totp SET enabled = 1, last_step = ?2, recovery = ?3
         WHERE username = ?1 AND enabled = 0 AND last_step < ?2",
        params![username, to_i64(step), codes],
    )?;
    Ok(n == 1)
}

/// Records a code of `step` as used; `false` when that step (or a later one) was used already.
pub(super) fn use_step(conn: &Connection, username: &str, step: u64) -> StoreResult<bool> {
    let n = conn.execute(
        "UPDATE user_totp SET last_step = ?2 WHERE username = ?1 AND last_step < ?2",
        params![username, to_i64(step)],
    )?;
    Ok(n == 1)
}

/// Uses up the recovery code with this hash; `false` when there is none (unused) like it.
pub(super) fn use_recovery(conn: &mut Connection, username: &str, hash: &str) -> StoreResult<bool> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let text: Option<String> = tx
        .query_row(
            "SELECT recovery FROM user_totp WHERE username = ?1 AND enabled = 1",
            params![username],
            |r| r.get(0),
        )
        .optional()?;
    let mut left = hashes(&text.unwrap_or_default());
    let before = left.len();
    left.retain(|h| h != hash);
    if left.len() == before {
        return Ok(false);
    }
    let codes = serde_json::to_string(&left).unwrap_or_else(|_| "[]".into());
    tx.execute(
        "UPDATE user_totp SET recovery = ?2 WHERE username = ?1",
        params![username, codes],
    )?;
    tx.commit()?;
    Ok(true)
}

/// Turns two-factor off (forgets the secret and the recovery codes).
pub(super) fn delete(conn: &Connection, username: &str) -> StoreResult<()> {
    conn.execute(
        "DELETE FROM user_totp WHERE username = ?1",
        params![username],
    )?;
    Ok(())
}
