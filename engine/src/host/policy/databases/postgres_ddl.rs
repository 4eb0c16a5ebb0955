//! The PostgreSQL statements that change roles, databases and privileges (`CREATE`/`ALTER`/
//! `DROP ROLE|USER|DATABASE`, `GRANT`, `REVOKE`), for `postgres_sql.rs`: nothing that gives a
//! role the server's power (superuser, role creation, replication, membership in
//! `pg_execute_server_program` or `postgres`, privileges on the system catalogs) or per-role and
//! per-database settings (`session_preload_libraries` loads code at login).

use super::cursor::{Cursor, describe};
use super::sql::Tok;

/// Role options that give no power over the server beyond logging in and creating databases.
#[rustfmt::skip]
const ROLE_FLAGS: &[&str] = &[
    "login", "nologin", "inherit", "noinherit", "createdb", "nocreatedb", "nosuperuser",
    "nocreaterole", "noreplication", "nobypassrls",
];

#[rustfmt::skip]
const DATABASE_OPTIONS: &[&str] = &[
    "owner", "template", "encoding", "locale", "lc_collate", "lc_ctype", "locale_provider",
    "icu_locale", "tablespace", "allow_connections", "is_template", "strategy",
];

#[rustfmt::skip]
const PRIVILEGES: &[&str] = &[
    "connect", "create", "temporary", "temp", "usage", "select", "insert", "update", "delete",
    "truncate", "references", "trigger",
];
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

pub(super) fn role(verb: &str, c: &mut Cursor<'_>) -> Result<(), String> {
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

/// A database the recipe may change or drop: not `postgres`, `template0` or `template1`, which
/// the server and every new database depend on.
fn own_database(c: &mut Cursor<'_>) -> Result<String, String> {
    let n = name(c, "a database name")?;
    if ["postgres", "template0", "template1"].contains(&n.as_str()) {
        return Err(format!(
            "the database `{n}` is PostgreSQL's own; a recipe may not change or drop it"
        ));
    }
    Ok(n)
}

pub(super) fn database(verb: &str, c: &mut Cursor<'_>) -> Result<(), String> {
    if verb.eq_ignore_ascii_case("drop") {
        let _ = c.kws(&["if", "exists"]);
        own_database(c)?;
        if (c.kw("with") || c.peek() == Some(&Tok::Punct('(')))
            && !(c.punct('(') && c.kw("force") && c.punct(')'))
        {
            return Err("DROP DATABASE takes only WITH (FORCE)".into());
        }
        return c.end("DROP DATABASE");
    }
    if !verb.eq_ignore_ascii_case("alter") {
        name(c, "a database name")?;
    } else {
        own_database(c)?;
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
pub(super) fn grant(revoke: bool, c: &mut Cursor<'_>) -> Result<(), String> {
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
    let on_database = c.peek().is_some_and(|t| t.is("database"));
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
    // The system catalogs are tables too: UPDATE on pg_authid would let a role make itself
    // superuser, CREATE on pg_catalog would let it plant functions the superuser calls.
    loop {
        let mut parts = vec![name(c, "an object name")?];
        if c.punct('.') {
            parts.push(name(c, "an object name")?);
        }
        if !on_database
            && parts
                .iter()
                .any(|p| p.starts_with("pg_") || p == "information_schema")
        {
            return Err(format!(
                "privileges on `{}` are not allowed: it is one of PostgreSQL's system catalogs",
                parts.join(".")
            ));
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
