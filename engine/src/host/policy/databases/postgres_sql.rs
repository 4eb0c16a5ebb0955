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
use super::sql::Tok;

/// Settings a recipe may `SET` for its session (keeping its statements out of the log, hashing
/// the passwords it sets with SCRAM).
const SET_PARAMS: &[&str] = &[
    "log_statement",
    "log_min_error_statement",
    "log_min_duration_statement",
    "track_activities",
    "password_encryption",
    "client_min_messages",
    "statement_timeout",
    "lock_timeout",
];

/// Settings a recipe may change server-wide with `ALTER SYSTEM`: none of them runs or loads
/// anything (unlike `archive_command`, `*_preload_libraries`, `dynamic_library_path`, …).
const SYSTEM_PARAMS: &[&str] = &["listen_addresses", "password_encryption"];

/// Functions a `SELECT` may call: pure computations and catalog lookups. Anything that reads
/// or writes files, runs SQL given as text (`query_to_xml`, `ts_stat`), connects elsewhere or
/// signals backends is absent.
const FUNCTIONS: &[&str] = &[
    "count",
    "sum",
    "min",
    "max",
    "avg",
    "coalesce",
    "nullif",
    "greatest",
    "least",
    "concat",
    "concat_ws",
    "lower",
    "upper",
    "length",
    "trim",
    "substring",
    "position",
    "replace",
    "split_part",
    "format",
    "quote_ident",
    "quote_literal",
    "string_agg",
    "array_agg",
    "to_char",
    "extract",
    "now",
    "version",
    "current_database",
    "current_setting",
    "pg_database_size",
    "pg_size_pretty",
    "pg_total_relation_size",
    "pg_get_userbyid",
    "pg_encoding_to_char",
    "pg_is_in_recovery",
    "pg_postmaster_start_time",
    "pg_reload_conf",
    "has_database_privilege",
    "has_schema_privilege",
    "has_table_privilege",
    "row_number",
    "numeric",
    "varchar",
    "char",
    "timestamp",
    "interval",
];

/// Keywords that may stand before `(` without being a function call.
const PAREN_KEYWORDS: &[&str] = &[
    "select",
    "from",
    "where",
    "and",
    "or",
    "not",
    "in",
    "exists",
    "any",
    "some",
    "all",
    "on",
    "using",
    "join",
    "as",
    "by",
    "having",
    "when",
    "then",
    "else",
    "case",
    "cast",
    "array",
    "row",
    "filter",
    "over",
    "within",
    "distinct",
    "limit",
    "offset",
    "is",
    "like",
    "ilike",
    "between",
    "union",
    "intersect",
    "except",
    "lateral",
    "values",
];

/// Role options that give no power over the server beyond logging in and creating databases.
const ROLE_FLAGS: &[&str] = &[
    "login",
    "nologin",
    "inherit",
    "noinherit",
    "createdb",
    "nocreatedb",
    "nosuperuser",
    "nocreaterole",
    "noreplication",
    "nobypassrls",
];

const DATABASE_OPTIONS: &[&str] = &[
    "owner",
    "template",
    "encoding",
    "locale",
    "lc_collate",
    "lc_ctype",
    "locale_provider",
    "icu_locale",
    "tablespace",
    "allow_connections",
    "is_template",
    "strategy",
];

const PRIVILEGES: &[&str] = &[
    "connect",
    "create",
    "temporary",
    "temp",
    "usage",
    "select",
    "insert",
    "update",
    "delete",
    "truncate",
    "references",
    "trigger",
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

/// A role or database name, folded as PostgreSQL folds it.
fn name(c: &mut Cursor<'_>, what: &str) -> Result<String, String> {
    match c.next() {
        Some(Tok::Word(w)) if w.starts_with(|ch: char| ch.is_ascii_alphabetic() || ch == '_') => {
            Ok(w.to_ascii_lowercase())
        }
        Some(Tok::Ident(w)) => Ok(w.clone()),
        t => Err(format!("expected {what}, found {}", describe(t))),
    }
}

/// A role the recipe may create, change or drop: not the superuser `postgres`, not one of the
/// predefined `pg_*` roles, not a pseudo-role (`CURRENT_USER`, `ALL`, …).
fn role_name(c: &mut Cursor<'_>) -> Result<String, String> {
    let n = name(c, "a role name")?;
    const PSEUDO: &[&str] = &[
        "current_user",
        "current_role",
        "session_user",
        "user",
        "all",
        "public",
        "none",
    ];
    if n == "postgres" || n.starts_with("pg_") || PSEUDO.contains(&n.as_str()) {
        return Err(format!(
            "the role `{n}` is PostgreSQL's own; a recipe may not create, change or drop it"
        ));
    }
    Ok(n)
}

fn role(verb: &str, c: &mut Cursor<'_>) -> Result<(), String> {
    if verb.eq_ignore_ascii_case("drop") {
        let _ = c.kws(&["if", "exists"]);
        loop {
            role_name(c)?;
            if !c.punct(',') {
                return c.end("DROP ROLE");
            }
        }
    }
    role_name(c)?;
    if verb.eq_ignore_ascii_case("alter") && c.kw("rename") {
        c.expect("to", "RENAME")?;
        role_name(c)?;
        return c.end("ALTER ROLE … RENAME");
    }
    let _ = c.kw("with");
    while let Some(t) = c.next() {
        let Tok::Word(w) = t else {
            return Err(format!(
                "unexpected {} in a role's options",
                describe(Some(t))
            ));
        };
        match w.to_ascii_lowercase().as_str() {
            f if ROLE_FLAGS.contains(&f) => {}
            "encrypted" | "password" => {
                if w.eq_ignore_ascii_case("encrypted") {
                    c.expect("password", "ENCRYPTED")?;
                }
                if !(c.kw("null") || matches!(c.next(), Some(Tok::Str(_)))) {
                    return Err("PASSWORD takes a string literal or NULL".into());
                }
            }
            "connection" => {
                c.expect("limit", "CONNECTION")?;
                let _ = c.punct('-');
                if !matches!(c.next(), Some(Tok::Word(_))) {
                    return Err("CONNECTION LIMIT takes a number".into());
                }
            }
            "valid" => {
                c.expect("until", "VALID")?;
                if !matches!(c.next(), Some(Tok::Str(_))) {
                    return Err("VALID UNTIL takes a string literal".into());
                }
            }
            "set" | "reset" => {
                return Err(
                    "per-role settings (ALTER ROLE … SET) are not allowed: they \
                            include libraries loaded at login"
                        .into(),
                );
            }
            other => {
                return Err(format!(
                    "the role option `{}` is not allowed: a recipe may not make superusers, \
                     roles that create roles, replication or RLS-bypassing roles, nor grant \
                     role membership",
                    other.to_ascii_uppercase()
                ));
            }
        }
    }
    Ok(())
}

fn database(verb: &str, c: &mut Cursor<'_>) -> Result<(), String> {
    if verb.eq_ignore_ascii_case("drop") {
        let _ = c.kws(&["if", "exists"]);
        name(c, "a database name")?;
        if (c.kw("with") || c.peek() == Some(&Tok::Punct('(')))
            && !(c.punct('(') && c.kw("force") && c.punct(')'))
        {
            return Err("DROP DATABASE takes only WITH (FORCE)".into());
        }
        return c.end("DROP DATABASE");
    }
    name(c, "a database name")?;
    if verb.eq_ignore_ascii_case("alter") {
        if c.kw("owner") {
            c.expect("to", "OWNER")?;
            name(c, "a role name")?;
            return c.end("ALTER DATABASE … OWNER TO");
        }
        if c.kw("rename") {
            c.expect("to", "RENAME")?;
            name(c, "a database name")?;
            return c.end("ALTER DATABASE … RENAME TO");
        }
        if matches!(c.peek(), Some(t) if t.is("set") || t.is("reset")) {
            return Err(
                "per-database settings (ALTER DATABASE … SET) are not allowed: they \
                        include libraries loaded at login"
                    .into(),
            );
        }
    }
    let _ = c.kw("with");
    while !c.at_end() {
        if !c.kws(&["connection", "limit"]) {
            match c.next() {
                Some(Tok::Word(w))
                    if DATABASE_OPTIONS.contains(&w.to_ascii_lowercase().as_str()) => {}
                t => {
                    return Err(format!(
                        "the database option {} is not allowed",
                        describe(t)
                    ));
                }
            }
        }
        let _ = c.punct('=');
        let _ = c.punct('-');
        match c.next() {
            Some(Tok::Word(_) | Tok::Ident(_) | Tok::Str(_)) => {}
            t => {
                return Err(format!(
                    "a database option takes a plain value, not {}",
                    describe(t)
                ));
            }
        }
    }
    Ok(())
}

/// `GRANT|REVOKE privileges ON object TO|FROM roles`: privileges on databases, schemas, tables
/// and sequences only. Granting a role (`GRANT pg_execute_server_program TO …`, `GRANT
/// postgres TO …`) would hand out the server's power, so it is refused.
fn grant(revoke: bool, c: &mut Cursor<'_>) -> Result<(), String> {
    if revoke {
        let _ = c.kws(&["grant", "option", "for"]);
    }
    if c.kw("all") {
        let _ = c.kw("privileges");
    } else {
        loop {
            match c.next() {
                Some(Tok::Word(w)) if PRIVILEGES.contains(&w.to_ascii_lowercase().as_str()) => {}
                t => {
                    return Err(format!(
                        "{} of {} is not allowed: a recipe may grant privileges on databases, \
                         schemas, tables and sequences, never membership in a role",
                        if revoke { "REVOKE" } else { "GRANT" },
                        describe(t)
                    ));
                }
            }
            if !c.punct(',') {
                break;
            }
        }
    }
    c.expect("on", "the privileges")?;
    if c.kw("all") {
        if !(c.kw("tables") || c.kw("sequences")) {
            return Err(format!(
                "expected TABLES or SEQUENCES after ON ALL, found {}",
                c.describe()
            ));
        }
        c.expect("in", "ON ALL …")?;
        c.expect("schema", "IN")?;
    } else if !(c.kw("database") || c.kw("schema") || c.kw("table") || c.kw("sequence"))
        && matches!(c.peek(), Some(Tok::Word(w)) if is_object_kind(w))
    {
        return Err(format!(
            "privileges on {} are not allowed: only on databases, schemas, tables and \
             sequences",
            c.describe()
        ));
    }
    loop {
        name(c, "an object name")?;
        if c.punct('.') {
            name(c, "an object name")?;
        }
        if !c.punct(',') {
            break;
        }
    }
    c.expect(if revoke { "from" } else { "to" }, "the object")?;
    loop {
        let _ = c.kw("group");
        name(c, "a role name")?;
        if !c.punct(',') {
            break;
        }
    }
    if revoke {
        let _ = c.kw("cascade") || c.kw("restrict");
    } else {
        let _ = c.kws(&["with", "grant", "option"]);
    }
    c.end(if revoke { "REVOKE" } else { "GRANT" })
}

/// Object kinds GRANT knows besides the allowed ones (functions, languages, parameters, …).
fn is_object_kind(w: &str) -> bool {
    [
        "function",
        "procedure",
        "routine",
        "language",
        "large",
        "foreign",
        "parameter",
        "type",
        "domain",
        "tablespace",
        "functions",
        "procedures",
        "routines",
    ]
    .iter()
    .any(|k| w.eq_ignore_ascii_case(k))
}
