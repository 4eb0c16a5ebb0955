//! The PostgreSQL statements a recipe may send through psql, as the superuser: an allow-list of
//! statement kinds, each read to its end.
//!
//! Allowed: `SELECT` (with an allow-list of functions: no `lo_export`, `pg_read_file`,
//! `query_to_xml`, `dblink`, …), `SHOW`, `SET`/`RESET` of a few logging and timeout settings,
//! transactions, `CREATE`/`ALTER`/`DROP ROLE|USER` (no `SUPERUSER`, `CREATEROLE`,
//! `REPLICATION`, `BYPASSRLS`, role membership, per-role settings, nor changes to `postgres` or
//! a `pg_*` role), `CREATE`/`ALTER`/`DROP DATABASE` (no per-database settings), `GRANT`/`REVOKE`
//! of privileges on databases, schemas, tables and sequences (never of roles, languages,
//! functions or parameters), and `ALTER SYSTEM SET|RESET` of `listen_addresses` and
//! `password_encryption`. Everything else is refused by being absent: `COPY` (`TO PROGRAM`),
//! `DO`, `LOAD`, `CREATE FUNCTION|EXTENSION|LANGUAGE`, `ALTER SYSTEM SET archive_command`,
//! `ALTER ROLE … SET session_preload_libraries`, `EXECUTE`, `PREPARE`, `CALL`, …

use super::cursor::{Cursor, describe};
use super::postgres_ddl::{database, grant, role};
use super::sql::Tok;

/// Settings a recipe may `SET` for its session (keeping its statements out of the log, hashing
/// the passwords it sets with SCRAM).
#[rustfmt::skip]
const SET_PARAMS: &[&str] = &[
    "log_statement", "log_min_error_statement", "log_min_duration_statement", "track_activities",
    "password_encryption", "client_min_messages", "statement_timeout", "lock_timeout",
];

/// Settings a recipe may change server-wide with `ALTER SYSTEM`: none of them runs or loads
/// anything (unlike `archive_command`, `*_preload_libraries`, `dynamic_library_path`, …).
const SYSTEM_PARAMS: &[&str] = &["listen_addresses", "password_encryption"];

/// Functions a `SELECT` may call: pure computations and catalog lookups. Anything that reads
/// or writes files, runs SQL given as text (`query_to_xml`, `ts_stat`), connects elsewhere or
/// signals backends is absent.
#[rustfmt::skip]
const FUNCTIONS: &[&str] = &[
    "count", "sum", "min", "max", "avg", "coalesce", "nullif", "greatest", "least", "concat",
    "concat_ws", "lower", "upper", "length", "trim", "substring", "position", "replace",
    "split_part", "format", "quote_ident", "quote_literal", "string_agg", "array_agg", "to_char",
    "extract", "now", "version", "current_database", "current_setting", "pg_database_size",
    "pg_size_pretty", "pg_total_relation_size", "pg_get_userbyid", "pg_encoding_to_char",
    "pg_is_in_recovery", "pg_postmaster_start_time", "pg_reload_conf", "has_database_privilege",
    "has_schema_privilege", "has_table_privilege", "row_number", "numeric", "varchar", "char",
    "timestamp", "interval",
];

/// Keywords that may stand before `(` without being a function call.
#[rustfmt::skip]
const PAREN_KEYWORDS: &[&str] = &[
    "select", "from", "where", "and", "or", "not", "in", "exists", "any", "some", "all", "on",
    "using", "join", "as", "by", "having", "when", "then", "else", "case", "cast", "array", "row",
    "filter", "over", "within", "distinct", "limit", "offset", "is", "like", "ilike", "between",
    "union", "intersect", "except", "lateral", "values",
];

/// Checks one statement; `Err` says why it is refused.
pub(super) fn check(toks: &[Tok]) -> Result<(), String> {
    let mut c = Cursor::new(toks);
    let Some(Tok::Word(first)) = c.next() else {
        return Err(format!(
            "a statement starts with {}, not a keyword",
            describe(toks.first())
        ));
    };
    match first.to_ascii_lowercase().as_str() {
        "select" => select(c.rest()),
        "show" => show(&mut c),
        "set" => set(&mut c),
        "reset" => param(&mut c, SET_PARAMS, "RESET").and_then(|_| c.end("RESET")),
        "begin" | "commit" | "end" | "rollback" | "abort" => {
            let _ = c.kw("work") || c.kw("transaction");
            c.end("the transaction statement")
        }
        "start" => {
            c.expect("transaction", "START")?;
            c.end("START TRANSACTION")
        }
        "create" | "alter" | "drop" if c.kw("role") || c.kw("user") => role(first, &mut c),
        "create" | "alter" | "drop" if c.kw("database") => database(first, &mut c),
        "alter" if c.kw("system") => system(&mut c),
        "grant" | "revoke" => grant(first.eq_ignore_ascii_case("revoke"), &mut c),
        _ => Err(format!(
            "`{}` statements are not among those Cairn lets a recipe send to PostgreSQL \
             (SELECT, SHOW, SET, CREATE/ALTER/DROP ROLE, USER or DATABASE, GRANT, REVOKE, \
             ALTER SYSTEM for listen_addresses or password_encryption, transactions)",
            statement_name(toks)
        )),
    }
}

/// The first two words of a statement, upper-cased, for refusals.
fn statement_name(toks: &[Tok]) -> String {
    let word = |n: usize| match toks.get(n) {
        Some(Tok::Word(w)) => w.to_ascii_uppercase(),
        _ => String::new(),
    };
    let first = word(0);
    if ["CREATE", "ALTER", "DROP"].contains(&first.as_str()) {
        format!("{first} {}", word(1)).trim_end().to_owned()
    } else {
        first
    }
}

/// A `SELECT`: any shape, but only allow-listed functions, and no `INTO` (which creates a
/// table).
fn select(rest: &[Tok]) -> Result<(), String> {
    for (n, t) in rest.iter().enumerate() {
        if t.is("into") {
            return Err("SELECT … INTO is not allowed (it creates a table)".into());
        }
        if rest.get(n + 1) != Some(&Tok::Punct('(')) {
            continue;
        }
        let qualified = n >= 1 && rest[n - 1] == Tok::Punct('.');
        let schema_ok = n >= 2 && qualified && rest[n - 2].is("pg_catalog");
        match t {
            Tok::Word(w) if w.starts_with(|c: char| c.is_ascii_digit()) => {}
            Tok::Word(w) => {
                let lw = w.to_ascii_lowercase();
                let keyword = !qualified && PAREN_KEYWORDS.contains(&lw.as_str());
                let function = (!qualified || schema_ok) && FUNCTIONS.contains(&lw.as_str());
                if !keyword && !function {
                    return Err(format!(
                        "SELECT calls the function `{}`, which is not among the functions \
                         Cairn lets a recipe call (catalog lookups and plain computations)",
                        describe_name(rest, n)
                    ));
                }
            }
            Tok::Ident(_) | Tok::Str(_) => {
                return Err(format!(
                    "SELECT calls a function by a quoted name ({})",
                    describe(Some(t))
                ));
            }
            Tok::Punct(_) => {}
        }
    }
    Ok(())
}

fn describe_name(toks: &[Tok], n: usize) -> String {
    let name = |t: &Tok| match t {
        Tok::Word(w) | Tok::Ident(w) => w.clone(),
        _ => String::new(),
    };
    if n >= 2 && toks[n - 1] == Tok::Punct('.') {
        format!("{}.{}", name(&toks[n - 2]), name(&toks[n]))
    } else {
        name(&toks[n])
    }
}

fn show(c: &mut Cursor<'_>) -> Result<(), String> {
    match c.next() {
        Some(Tok::Word(_)) => c.end("SHOW"),
        t => Err(format!("SHOW takes a setting's name, not {}", describe(t))),
    }
}

/// Reads a setting's name from `allowed`.
fn param(c: &mut Cursor<'_>, allowed: &[&str], what: &str) -> Result<(), String> {
    match c.next() {
        Some(Tok::Word(w)) if allowed.contains(&w.to_ascii_lowercase().as_str()) => Ok(()),
        t => Err(format!(
            "{what} may only change {}, not {}",
            allowed.join(", "),
            describe(t)
        )),
    }
}

/// A setting's value: literals, numbers, words (`off`, `none`, `DEFAULT`), comma-separated.
fn values(c: &mut Cursor<'_>, what: &str) -> Result<(), String> {
    loop {
        let _ = c.punct('-');
        match c.next() {
            Some(Tok::Word(_) | Tok::Str(_)) => {}
            t => return Err(format!("{what} takes a plain value, not {}", describe(t))),
        }
        if !c.punct(',') {
            return c.end(what);
        }
    }
}

fn set(c: &mut Cursor<'_>) -> Result<(), String> {
    let _ = c.kw("session") || c.kw("local");
    param(c, SET_PARAMS, "SET")?;
    if !(c.kw("to") || c.punct('=')) {
        return Err(format!("expected = or TO in SET, found {}", c.describe()));
    }
    values(c, "SET")
}

fn system(c: &mut Cursor<'_>) -> Result<(), String> {
    if c.kw("reset") {
        param(c, SYSTEM_PARAMS, "ALTER SYSTEM")?;
        return c.end("ALTER SYSTEM RESET");
    }
    c.expect("set", "ALTER SYSTEM")?;
    param(c, SYSTEM_PARAMS, "ALTER SYSTEM")?;
    if !(c.kw("to") || c.punct('=')) {
        return Err(format!(
            "expected = or TO in ALTER SYSTEM, found {}",
            c.describe()
        ));
    }
    values(c, "ALTER SYSTEM")
}
