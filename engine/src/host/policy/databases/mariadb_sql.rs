//! The MariaDB statements a recipe may send through the client, as root: an allow-list of
//! statement kinds, each read to its end.
//!
//! Allowed: `SELECT` (allow-listed functions, no `INTO OUTFILE|DUMPFILE|@var`, no
//! `PROCEDURE`), `SHOW`, `SET [SESSION] sql_log_off`, `SET NAMES`, `SET PASSWORD`, transactions,
//! `CREATE|ALTER|DROP USER` (password by `IDENTIFIED BY` only, never `VIA`/`WITH` a plugin; not
//! `root`, `mysql`, `mariadb.sys`, `debian-sys-maint`), `CREATE|DROP DATABASE`, `GRANT|REVOKE`
//! of privileges on one database's objects (`db.*`, `db.table`; never `*.*`, never the system
//! schemas, not even through `_`/`%` wildcards, never a role or `PROXY`), `FLUSH PRIVILEGES`.
//! Everything else is refused by being absent: `LOAD DATA`, `CREATE FUNCTION … SONAME`,
//! `INSTALL PLUGIN|SONAME`, `SET GLOBAL`, `PREPARE`/`EXECUTE`, `CREATE PROCEDURE|EVENT|TRIGGER`,
//! `SELECT … INTO OUTFILE`, `HANDLER`, `USE`, …

use super::cursor::{Cursor, describe};
use super::sql::Tok;

#[rustfmt::skip]
const FUNCTIONS: &[&str] = &[
    "concat", "concat_ws", "count", "sum", "min", "max", "avg", "round", "coalesce", "ifnull",
    "nullif", "if", "lower", "upper", "length", "char_length", "group_concat", "version",
    "database", "schema", "user", "current_user", "format", "cast", "convert", "greatest", "least",
    "replace", "substring", "substring_index", "trim", "now", "char", "decimal",
];

const PAREN_KEYWORDS: &[&str] = &[
    "select", "from", "where", "and", "or", "xor", "not", "in", "exists", "any", "some", "all",
    "on", "using", "join", "as", "by", "having", "when", "then", "else", "case", "is", "like",
    "between", "union", "distinct", "limit", "values",
];

/// Accounts that belong to the server or the distribution.
const SYSTEM_USERS: &[&str] = &["root", "mysql", "mariadb.sys", "debian-sys-maint", "public"];

/// Schemas a recipe may not grant on, create or drop.
const SYSTEM_SCHEMAS: &[&str] = &["mysql", "information_schema", "performance_schema", "sys"];

/// Privileges on a database's objects (global ones such as FILE, SUPER or CREATE USER exist
/// only on `*.*`, which is refused anyway).
const PRIVILEGES: &[&[&str]] = &[
    &["select"],
    &["insert"],
    &["update"],
    &["delete", "history"],
    &["delete"],
    &["create", "temporary", "tables"],
    &["create", "view"],
    &["create", "routine"],
    &["create"],
    &["drop"],
    &["index"],
    &["alter", "routine"],
    &["alter"],
    &["references"],
    &["execute"],
    &["event"],
    &["trigger"],
    &["lock", "tables"],
    &["show", "view"],
];

pub(super) fn check(toks: &[Tok]) -> Result<(), String> {
    let mut c = Cursor::new(toks);
    let Some(Tok::Word(first)) = c.next() else {
        return Err(format!(
            "a statement starts with {}, not a keyword",
            describe(toks.first())
        ));
    };
    let first = first.to_ascii_lowercase();
    match first.as_str() {
        "select" => select(c.rest()),
        "show" => show(c.rest()),
        "set" => set(&mut c),
        "begin" | "commit" | "rollback" => {
            let _ = c.kw("work");
            c.end("the transaction statement")
        }
        "start" => {
            c.expect("transaction", "START")?;
            c.end("START TRANSACTION")
        }
        "flush" => {
            c.expect("privileges", "FLUSH")?;
            c.end("FLUSH PRIVILEGES")
        }
        "create" | "alter" | "drop" if c.kw("user") => user(&first, &mut c),
        "create" | "drop" if c.kw("database") || c.kw("schema") => database(&first, &mut c),
        "grant" | "revoke" => grant(first == "revoke", &mut c),
        _ => Err(format!(
            "`{}` statements are not among those Cairn lets a recipe send to MariaDB (SELECT, \
             SHOW, SET sql_log_off or NAMES or PASSWORD, CREATE/ALTER/DROP USER, CREATE/DROP \
             DATABASE, GRANT, REVOKE on one database, FLUSH PRIVILEGES, transactions)",
            first.to_ascii_uppercase()
        )),
    }
}

/// A `SELECT`: allow-listed functions only, unqualified; no `INTO` (files, variables) and no
/// `PROCEDURE`.
fn select(rest: &[Tok]) -> Result<(), String> {
    for (n, t) in rest.iter().enumerate() {
        if t.is("into") || t.is("procedure") || t.is("outfile") || t.is("dumpfile") {
            return Err(
                "SELECT … INTO (a file or a variable) and PROCEDURE are not allowed".into(),
            );
        }
        if rest.get(n + 1) != Some(&Tok::Punct('(')) {
            continue;
        }
        let qualified = n >= 1 && rest[n - 1] == Tok::Punct('.');
        match t {
            Tok::Word(w) if w.starts_with(|c: char| c.is_ascii_digit()) && !qualified => {}
            Tok::Word(w) => {
                let lw = w.to_ascii_lowercase();
                if qualified
                    || !(PAREN_KEYWORDS.contains(&lw.as_str()) || FUNCTIONS.contains(&lw.as_str()))
                {
                    return Err(format!(
                        "SELECT calls the function `{w}`, which is not among the functions \
                         Cairn lets a recipe call (plain computations and catalog lookups)"
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

/// `SHOW …`: read-only; no parentheses (no function calls hide in it).
fn show(rest: &[Tok]) -> Result<(), String> {
    match rest
        .iter()
        .find(|t| matches!(t, Tok::Punct(c) if *c == '(' || *c == ')'))
    {
        Some(_) => Err("SHOW may not contain parentheses".into()),
        None if rest.is_empty() => Err("SHOW needs what to show".into()),
        None => Ok(()),
    }
}

fn set(c: &mut Cursor<'_>) -> Result<(), String> {
    if c.kw("names") {
        plain(c, "SET NAMES")?;
        if c.kw("collate") {
            plain(c, "COLLATE")?;
        }
        return c.end("SET NAMES");
    }
    if c.kw("password") {
        c.expect("for", "SET PASSWORD")?;
        account(c)?;
        if !c.punct('=') {
            return Err(format!(
                "expected = in SET PASSWORD, found {}",
                c.describe()
            ));
        }
        let hashed = matches!(c.peek(), Some(Tok::Str(_)));
        if hashed {
            c.next();
        } else if !(c.kw("password")
            && c.punct('(')
            && matches!(c.next(), Some(Tok::Str(_)))
            && c.punct(')'))
        {
            return Err("SET PASSWORD takes PASSWORD('…') or a hash literal".into());
        }
        return c.end("SET PASSWORD");
    }
    let _ = c.kw("session") || c.kw("local");
    if !c.kw("sql_log_off") {
        return Err(format!(
            "SET may only change sql_log_off for the session (or NAMES, PASSWORD), not {}",
            c.describe()
        ));
    }
    if !c.punct('=') {
        return Err(format!("expected = in SET, found {}", c.describe()));
    }
    plain(c, "SET")?;
    c.end("SET")
}

/// One plain value: a word, a number or a literal.
fn plain(c: &mut Cursor<'_>, what: &str) -> Result<(), String> {
    match c.next() {
        Some(Tok::Word(_) | Tok::Str(_) | Tok::Ident(_)) => Ok(()),
        t => Err(format!("{what} takes a plain value, not {}", describe(t))),
    }
}

/// A name part: a word, a literal or a quoted identifier.
fn part(c: &mut Cursor<'_>, what: &str) -> Result<String, String> {
    match c.next() {
        Some(Tok::Word(w) | Tok::Str(w) | Tok::Ident(w)) => Ok(w.clone()),
        t => Err(format!("expected {what}, found {}", describe(t))),
    }
}

/// `user[@host]`: not one of the server's own accounts.
fn account(c: &mut Cursor<'_>) -> Result<(), String> {
    let user = part(c, "an account name")?;
    if SYSTEM_USERS.contains(&user.to_ascii_lowercase().as_str())
        || user.eq_ignore_ascii_case("current_user")
    {
        return Err(format!(
            "the account `{user}` belongs to the server; a recipe may not create, change or \
             drop it"
        ));
    }
    if c.punct('@') {
        part(c, "a host name")?;
    }
    Ok(())
}

fn user(verb: &str, c: &mut Cursor<'_>) -> Result<(), String> {
    if verb == "create" {
        let _ = c.kws(&["if", "not", "exists"]);
    } else {
        let _ = c.kws(&["if", "exists"]);
    }
    loop {
        account(c)?;
        if verb != "drop" && c.kw("identified") {
            if !c.kw("by") {
                return Err(
                    "a password is set with IDENTIFIED BY only (VIA and WITH name \
                            authentication plugins)"
                        .into(),
                );
            }
            let _ = c.kw("password");
            if !matches!(c.next(), Some(Tok::Str(_))) {
                return Err("IDENTIFIED BY takes a string literal".into());
            }
        }
        if verb == "alter" && c.kw("account") && !(c.kw("lock") || c.kw("unlock")) {
            return Err("ACCOUNT takes LOCK or UNLOCK".into());
        }
        if !c.punct(',') {
            return c.end(&format!("{} USER", verb.to_ascii_uppercase()));
        }
    }
}

/// Whether a database name (or GRANT pattern, where `_` matches any one character) could name
/// one of the system schemas.
fn is_system_schema(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    SYSTEM_SCHEMAS
        .iter()
        .any(|s| s.len() == n.len() && s.bytes().zip(n.bytes()).all(|(a, b)| a == b || b == b'_'))
}

fn schema_name(c: &mut Cursor<'_>) -> Result<String, String> {
    let n = part(c, "a database name")?;
    if n.contains('%') || n.contains('*') {
        return Err("database names with wildcards (`%`) are not allowed".into());
    }
    if is_system_schema(&n) {
        return Err(format!(
            "`{n}` is (or, as a pattern, matches) one of MariaDB's system schemas"
        ));
    }
    Ok(n)
}

fn database(verb: &str, c: &mut Cursor<'_>) -> Result<(), String> {
    if verb == "drop" {
        let _ = c.kws(&["if", "exists"]);
        schema_name(c)?;
        return c.end("DROP DATABASE");
    }
    let _ = c.kws(&["if", "not", "exists"]);
    schema_name(c)?;
    while !c.at_end() {
        let _ = c.kw("default");
        if c.kws(&["character", "set"]) || c.kw("collate") || c.kw("comment") {
            let _ = c.punct('=');
            plain(c, "a database option")?;
        } else {
            return Err(format!(
                "the database option {} is not allowed",
                c.describe()
            ));
        }
    }
    Ok(())
}

/// `GRANT|REVOKE privileges ON db.* | db.table TO|FROM accounts`.
fn grant(revoke: bool, c: &mut Cursor<'_>) -> Result<(), String> {
    if c.kw("all") {
        let _ = c.kw("privileges");
    } else {
        loop {
            if !PRIVILEGES.iter().any(|p| c.kws(p)) {
                return Err(format!(
                    "{} of {} is not allowed: a recipe may grant privileges on one database's \
                     objects, never global privileges, roles or PROXY",
                    if revoke { "REVOKE" } else { "GRANT" },
                    c.describe()
                ));
            }
            if !c.punct(',') {
                break;
            }
        }
    }
    c.expect("on", "the privileges")?;
    let _ = c.kw("table");
    if c.peek() == Some(&Tok::Punct('*')) {
        return Err(
            "privileges on `*` or `*.*` (every database, the server itself) are not \
                    allowed"
                .into(),
        );
    }
    schema_name(c)?;
    if !c.punct('.') {
        return Err("GRANT needs `database.*` or `database.table`".into());
    }
    if !c.punct('*') {
        part(c, "a table name")?;
    }
    c.expect(if revoke { "from" } else { "to" }, "the object")?;
    loop {
        account(c)?;
        if !c.punct(',') {
            break;
        }
    }
    if !revoke {
        let _ = c.kws(&["with", "grant", "option"]);
    }
    c.end(if revoke { "REVOKE" } else { "GRANT" })
}
