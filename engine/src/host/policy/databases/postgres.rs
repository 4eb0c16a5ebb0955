//! psql, pg_isready, pg_ctlcluster and pg_dropcluster.
//!
//! psql: `-X` is required (a psqlrc is a script of meta-commands, `\! sh` included), the
//! connection goes to this server only (a socket directory or loopback, a plain user and
//! database name: no conninfo string, which could carry `options=-c …preload_libraries=…`),
//! `-v` may only set `ON_ERROR_STOP`, and no option that names a file, a pager or an output
//! (`-f`, `-o`, `-L`, `-P`, `--log-file`, …) exists in the list. The SQL in `-c` and on stdin
//! goes through the lexer (`sql.rs`: no backslash, so no meta-command at all) and the statement
//! allow-list (`postgres_sql.rs`).

use super::sql::{self, Dialect};
use super::{Call, Opt, Parsed, getopt, is_identifier, is_loopback, is_plain_path, is_port, opt};

const PSQL: &[Opt] = &[
    opt(Some('X'), Some("no-psqlrc"), false, "X"),
    opt(Some('q'), Some("quiet"), false, "q"),
    opt(Some('t'), Some("tuples-only"), false, "t"),
    opt(Some('A'), Some("no-align"), false, "A"),
    opt(Some('w'), Some("no-password"), false, "w"),
    opt(None, Some("csv"), false, "csv"),
    opt(Some('h'), Some("host"), true, "h"),
    opt(Some('p'), Some("port"), true, "p"),
    opt(Some('U'), Some("username"), true, "U"),
    opt(Some('d'), Some("dbname"), true, "d"),
    opt(Some('c'), Some("command"), true, "c"),
    opt(Some('v'), Some("set"), true, "v"),
    opt(None, Some("variable"), true, "v"),
];

const PG_ISREADY: &[Opt] = &[
    opt(Some('q'), Some("quiet"), false, "q"),
    opt(Some('h'), Some("host"), true, "h"),
    opt(Some('p'), Some("port"), true, "p"),
    opt(Some('U'), Some("username"), true, "U"),
    opt(Some('d'), Some("dbname"), true, "d"),
    opt(Some('t'), Some("timeout"), true, "t"),
];

/// `--version` alone (both programs print it and exit before reading anything else).
fn is_version(args: &[String]) -> bool {
    matches!(args, [a] if a == "--version" || a == "-V")
}

/// Checks the connection options both programs share.
fn connection(key: &str, value: &str, program: &str) -> Result<(), String> {
    let ok = match key {
        "h" => is_loopback(value) || is_plain_path(value),
        "p" => is_port(value),
        "U" | "d" => is_identifier(value),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{program}'s -{key} must be {}",
            match key {
                "h" => "a socket directory or a loopback address (this server only)",
                "p" => "a port number",
                _ => "a plain name (letters, digits and _), not a connection string",
            }
        ))
    }
}

pub(super) fn psql(call: &Call<'_>) -> Result<(), String> {
    let stdin = super::stdin_text(call, "psql")?;
    if is_version(call.args) && stdin.is_none() {
        return Ok(());
    }
    let mut no_psqlrc = false;
    for p in getopt(call.args, PSQL, "psql")? {
        match p {
            Parsed::Operand(_) => {
                return Err(
                    "psql takes the database with -d and the user with -U; other \
                            arguments (a file, a connection string) are refused"
                        .into(),
                );
            }
            Parsed::Opt("X", _) => no_psqlrc = true,
            Parsed::Opt("c", Some(sql)) => check_sql(sql, "the SQL of -c")?,
            Parsed::Opt("v", Some(v)) => {
                let ok = matches!(
                    v.split_once('='),
                    Some((name, val)) if name == "ON_ERROR_STOP"
                        && ["1", "0", "on", "off", "true", "false"].contains(&val)
                );
                if !ok {
                    return Err("psql's -v may only set ON_ERROR_STOP (other variables are \
                                text psql would paste into SQL unchecked)"
                        .into());
                }
            }
            Parsed::Opt(key, Some(v)) => connection(key, v, "psql")?,
            Parsed::Opt(_, None) => {}
        }
    }
    if !no_psqlrc {
        return Err(
            "psql must be given -X, so that no psqlrc file (a script that may run \
                    shell commands) is read"
                .into(),
        );
    }
    if let Some(text) = stdin {
        check_sql(text, "psql's standard input")?;
    }
    Ok(())
}

/// Checks SQL text for psql: lexing, then each statement against the allow-list.
pub(super) fn check_sql(text: &str, whence: &str) -> Result<(), String> {
    let stmts = sql::statements(text, Dialect::Postgres).map_err(|e| format!("{whence}: {e}"))?;
    for (n, s) in stmts.iter().enumerate() {
        super::postgres_sql::check(s).map_err(|e| format!("{whence}, statement {}: {e}", n + 1))?;
    }
    Ok(())
}

pub(super) fn pg_isready(call: &Call<'_>) -> Result<(), String> {
    if call.stdin.is_some() {
        return Err("pg_isready reads no standard input".into());
    }
    if is_version(call.args) {
        return Ok(());
    }
    for p in getopt(call.args, PG_ISREADY, "pg_isready")? {
        match p {
            Parsed::Operand(_) => return Err("pg_isready takes no operands".into()),
            Parsed::Opt("t", Some(v)) if v.parse::<u16>().is_err() => {
                return Err("pg_isready's -t takes a number of seconds".into());
            }
            Parsed::Opt(key, Some(v)) => connection(key, v, "pg_isready")?,
            Parsed::Opt(_, None) => {}
        }
    }
    Ok(())
}

/// `pg_ctlcluster VERSION CLUSTER ACTION`, nothing else: no `-o`/`--options` (server options
/// such as `-c shared_preload_libraries=…`), no `--` and pg_ctl options after it.
pub(super) fn pg_ctlcluster(call: &Call<'_>) -> Result<(), String> {
    const ACTIONS: &[&str] = &["start", "stop", "restart", "reload", "status"];
    let usage = "pg_ctlcluster takes exactly a version, a cluster name and one of start, stop, \
                 restart, reload, status (no options)";
    if call.stdin.is_some() {
        return Err("pg_ctlcluster reads no standard input".into());
    }
    let [version, cluster, action] = call.args else {
        return Err(usage.into());
    };
    let version_ok = !version.is_empty()
        && version.len() <= 4
        && version.chars().all(|c| c.is_ascii_digit() || c == '.')
        && version.starts_with(|c: char| c.is_ascii_digit());
    let cluster_ok = !cluster.starts_with('-')
        && (1..=63).contains(&cluster.len())
        && cluster
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        && cluster != "."
        && cluster != "..";
    if version_ok && cluster_ok && ACTIONS.contains(&action.as_str()) {
        Ok(())
    } else {
        Err(usage.into())
    }
}

/// `pg_dropcluster [--stop] VERSION CLUSTER`, nothing else: VERSION digits, CLUSTER an
/// identifier. Its other option, `--stop-server`, is the same as `--stop`, but refusing every
/// other spelling keeps the form one a reader can check at a glance. It deletes the cluster's
/// data folder, its configuration folder and its log; a recipe that declares it says so.
pub(super) fn pg_dropcluster(call: &Call<'_>) -> Result<(), String> {
    let usage = "pg_dropcluster takes exactly [--stop] VERSION CLUSTER: a version in digits and \
                 a cluster name of letters, digits and `_` (no other option)";
    if call.stdin.is_some() {
        return Err("pg_dropcluster reads no standard input".into());
    }
    let (version, cluster) = match call.args {
        [stop, version, cluster] if stop == "--stop" => (version, cluster),
        [version, cluster] => (version, cluster),
        _ => return Err(usage.into()),
    };
    let version_ok =
        (1..=3).contains(&version.len()) && version.chars().all(|c| c.is_ascii_digit());
    if version_ok && is_identifier(cluster) {
        Ok(())
    } else {
        Err(usage.into())
    }
}

/// What psql may do as a query (`detect()`, `wait_for()`): statements that only read.
const READS: &[&str] = &[
    "select", "show", "set", "reset", "begin", "commit", "end", "rollback", "abort", "start",
];
/// Words that make even a SELECT change something.
const WRITES: &[&str] = &["pg_reload_conf", "nextval", "setval", "into"];

/// psql as a query: every statement of `-c` and stdin only reads.
pub(super) fn psql_reads(call: &Call<'_>) -> Result<(), String> {
    if is_version(call.args) {
        return Ok(());
    }
    for p in getopt(call.args, PSQL, "psql")? {
        if let Parsed::Opt("c", Some(text)) = p {
            super::sql_reads(text, Dialect::Postgres, READS, WRITES, "the SQL of -c")?;
        }
    }
    if let Some(text) = super::stdin_text(call, "psql")? {
        super::sql_reads(
            text,
            Dialect::Postgres,
            READS,
            WRITES,
            "psql's standard input",
        )?;
    }
    Ok(())
}

/// pg_ctlcluster as a query: `status` only.
pub(super) fn pg_ctlcluster_reads(call: &Call<'_>) -> Result<(), String> {
    match call.args {
        [_, _, action] if action == "status" => Ok(()),
        _ => Err("pg_ctlcluster other than `status` starts or stops the server".into()),
    }
}
