//! Database servers and clients: psql, pg_isready, pg_ctlcluster, pg_dropcluster,
//! mariadb/mysql, redis-cli, redis-server.
//!
//! A database client started by a recipe runs as root and talks to the server as its
//! superuser, so what it could run is wider than its options: its meta-commands (`\!`,
//! `system`), files it reads or writes (psqlrc, `--pager`, `--tee`, `--rdb`), plugins it loads
//! (`--plugin-dir`, `--default-auth`), and whatever the server itself can be told to run or load
//! (`COPY … TO PROGRAM`, `CREATE FUNCTION … SONAME`, `MODULE LOAD`, `CONFIG SET dir`). For each
//! client the policy therefore checks three things, all as allow-lists: its options, and the
//! text it will execute, whether it comes in its arguments (`-c`, `-e`, the command words of
//! redis-cli) or on its standard input. The servers themselves are started only through the
//! service helpers, so `redis-server` may only print its version and `pg_ctlcluster` may only
//! start, stop, restart, reload or report on a cluster, and `pg_dropcluster` may only delete
//! one named cluster (`[--stop] VERSION CLUSTER`).

mod cursor;
mod mariadb;
mod mariadb_sql;
mod postgres;
mod postgres_ddl;
mod postgres_sql;
mod redis;
mod sql;

use super::{Call, Policy};

pub(super) const POLICIES: &[Policy] = &[
    Policy {
        names: &["psql"],
        power: "runs SQL as the PostgreSQL superuser: roles, databases, grants, catalog \
                queries and a few session and listen settings (no server-side programs, files \
                or libraries)",
        env: &[],
        reads: super::Reads::Check(postgres::psql_reads),
        check: postgres::psql,
    },
    Policy {
        names: &["pg_isready"],
        power: "checks whether a local PostgreSQL server accepts connections",
        env: &[],
        reads: super::Reads::Always,
        check: postgres::pg_isready,
    },
    Policy {
        names: &["pg_ctlcluster"],
        power: "starts, stops, restarts, reloads or reports on a PostgreSQL cluster",
        env: &[],
        reads: super::Reads::Check(postgres::pg_ctlcluster_reads),
        check: postgres::pg_ctlcluster,
    },
    Policy {
        names: &["pg_dropcluster"],
        power: "deletes a PostgreSQL cluster for good: its data folder, its configuration \
                folder and its log (stopping it first with --stop)",
        env: &[],
        reads: super::Reads::Never,
        check: postgres::pg_dropcluster,
    },
    Policy {
        names: &["mariadb", "mysql"],
        power: "runs SQL as the MariaDB root account over its socket: users, databases, \
                grants on databases and catalog queries (no files, plugins or functions \
                loaded by the server)",
        env: &[],
        reads: super::Reads::Check(mariadb::client_reads),
        check: mariadb::client,
    },
    Policy {
        names: &["redis-cli"],
        power: "administers a local Redis: PING, INFO, ACL users, CONFIG GET, CONFIG SET of \
                memory, network and password settings, CONFIG REWRITE (no modules, scripts, \
                replication or file locations)",
        env: &["REDISCLI_AUTH"],
        reads: super::Reads::Check(redis::cli_reads),
        check: redis::cli,
    },
    Policy {
        names: &["redis-server"],
        power: "prints its version (the server is started by the service helpers)",
        env: &[],
        reads: super::Reads::Always,
        check: redis::server,
    },
];

/// One option as read from an argument vector: its key (see [`Opt`]) and value, or an operand.
#[derive(Debug, PartialEq, Eq)]
enum Parsed<'a> {
    Opt(&'static str, Option<&'a str>),
    Operand(&'a str),
}

/// An option a client accepts: its short letter, its long name, whether it takes a value, and
/// the key the policy sees it under.
#[derive(Debug)]
struct Opt {
    short: Option<char>,
    long: Option<&'static str>,
    value: bool,
    key: &'static str,
}

const fn opt(
    short: Option<char>,
    long: Option<&'static str>,
    value: bool,
    key: &'static str,
) -> Opt {
    Opt {
        short,
        long,
        value,
        key,
    }
}

/// Reads `args` as GNU getopt_long (and MariaDB's my_getopt) do: clustered short options
/// (`-tA`), a short option's value attached or in the next argument (`-cSQL`, `-c SQL`), long
/// options exactly as named (`--host=x`, `--host x`; abbreviations are refused, not guessed).
/// An option not in `table` is refused; `--` is refused too (what follows it would be operands
/// whatever it looks like).
fn getopt<'a>(args: &'a [String], table: &[Opt], program: &str) -> Result<Vec<Parsed<'a>>, String> {
    let unknown = |a: &str| {
        format!(
            "`{}` is not among the options Cairn lets a recipe give {program}",
            a.split('=').next().unwrap_or(a)
        )
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        i += 1;
        if let Some(long) = a.strip_prefix("--") {
            if long.is_empty() {
                return Err(format!("`--` is not accepted in {program}'s arguments"));
            }
            let (name, attached) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            let o = table
                .iter()
                .find(|o| o.long == Some(name))
                .ok_or_else(|| unknown(a))?;
            let value = match (o.value, attached) {
                (false, Some(_)) => return Err(format!("`--{name}` takes no value")),
                (false, None) => None,
                (true, Some(v)) => Some(v),
                (true, None) => {
                    i += 1;
                    Some(
                        args.get(i - 1)
                            .ok_or(format!("`--{name}` needs a value"))?
                            .as_str(),
                    )
                }
            };
            out.push(Parsed::Opt(o.key, value));
        } else if a.len() > 1 && a.starts_with('-') {
            for (n, ch) in a.char_indices().skip(1) {
                let o = table
                    .iter()
                    .find(|o| o.short == Some(ch))
                    .ok_or_else(|| unknown(&format!("-{ch}")))?;
                if !o.value {
                    out.push(Parsed::Opt(o.key, None));
                    continue;
                }
                let rest = &a[n + ch.len_utf8()..];
                let value = if rest.is_empty() {
                    i += 1;
                    args.get(i - 1)
                        .ok_or(format!("`-{ch}` needs a value"))?
                        .as_str()
                } else {
                    rest
                };
                out.push(Parsed::Opt(o.key, Some(value)));
                break;
            }
        } else {
            out.push(Parsed::Operand(a));
        }
    }
    Ok(out)
}

/// A role, user or database name as recipes use them: `[A-Za-z_][A-Za-z0-9_]*`, at most 63.
fn is_identifier(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A TCP port number.
fn is_port(s: &str) -> bool {
    s.parse::<u16>().is_ok_and(|p| p > 0)
}

/// This server over loopback: the only network host a recipe's client may reach.
fn is_loopback(s: &str) -> bool {
    matches!(s, "localhost" | "127.0.0.1" | "::1")
}

/// An absolute path of plain characters: a socket or its directory.
fn is_plain_path(s: &str) -> bool {
    s.starts_with('/')
        && s.len() < 200
        && !s.split('/').any(|c| c == "..")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
}

/// The standard input as text, if any: clients read it as commands.
/// Whether every statement of `text` only reads: its first word is one of `reads`, and no word
/// of it is one of `writes` (functions or clauses that change something even inside a read).
fn sql_reads(
    text: &str,
    d: sql::Dialect,
    reads: &[&str],
    writes: &[&str],
    whence: &str,
) -> Result<(), String> {
    for (n, stmt) in sql::statements(text, d)?.iter().enumerate() {
        let first = match stmt.first() {
            Some(sql::Tok::Word(w)) => w.to_ascii_lowercase(),
            _ => String::new(),
        };
        let writing = stmt
            .iter()
            .find(|t| writes.iter().any(|w| t.is(w)))
            .map(|t| format!("{t:?}"));
        if !reads.contains(&first.as_str()) || writing.is_some() {
            return Err(format!(
                "{whence}, statement {}, changes the server (only {} only read)",
                n + 1,
                reads
                    .iter()
                    .map(|r| r.to_ascii_uppercase())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    Ok(())
}

fn stdin_text<'a>(call: &Call<'a>, program: &str) -> Result<Option<&'a str>, String> {
    call.stdin
        .map(|b| {
            std::str::from_utf8(b)
                .map_err(|_| format!("the standard input given to {program} is not UTF-8 text"))
        })
        .transpose()
}
