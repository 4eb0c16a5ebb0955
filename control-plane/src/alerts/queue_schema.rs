//! The tables of the notices' queue (`queue.rs`): each channel's cursor and each notice's
//! failures, added to a database of any earlier version. A leaf: `db.rs` creates them when it
//! opens the database, and `queue.rs` (which reads through `db.rs`) uses them.

use rusqlite::Connection;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS alert_notice_cursors (
    channel_id  INTEGER PRIMARY KEY,
    last_notice INTEGER NOT NULL
);
"#;

/// Adds the cursors and each notice's failures (`failures`: JSON, `[channel id, failure]`
/// pairs) to a database of any earlier version; forgets the cursors of deleted channels.
pub(super) fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)?;
    let has: bool = conn.query_row(
        "SELECT count(*) > 0 FROM pragma_table_info('alert_notices') WHERE name = 'failures'",
        [],
        |r| r.get(0),
    )?;
    if !has {
        conn.execute_batch("ALTER TABLE alert_notices ADD COLUMN failures TEXT")?;
    }
    conn.execute(
        "DELETE FROM alert_notice_cursors
         WHERE channel_id NOT IN (SELECT id FROM alert_channels)",
        [],
    )?;
    Ok(())
}
