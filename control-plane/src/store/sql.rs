//! What the two SQLite files share: how numbers, JSON and a job's words are kept in columns.

use cairn_protocol::dashboard::{JobKind, JobStatus};
use rusqlite::types::{FromSqlError, Type};

/// Unix seconds and counts as SQLite's signed integers (saturating: no value of ours comes
/// near).
pub(super) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(super) fn from_i64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub(super) fn json_col(text: Option<String>) -> Option<serde_json::Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

/// A job's kind from its column.
pub(super) fn job_kind(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<JobKind> {
    word(r, i, JobKind::from_word)
}

/// A job's status from its column.
pub(super) fn job_status(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<JobStatus> {
    word(r, i, JobStatus::from_word)
}

fn word<T>(r: &rusqlite::Row<'_>, i: usize, read: fn(&str) -> Option<T>) -> rusqlite::Result<T> {
    let text: String = r.get(i)?;
    read(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            Type::Text,
            Box::new(FromSqlError::Other(
                format!("\"{text}\" is not a word this version knows").into(),
            )),
        )
    })
}
