//! The MariaDB client (`mariadb`, and `mysql` before 10.4).
//!
//! `--no-defaults` must come first: no option file is read (`[client] pager=…`,
//! `init-command=…`, `plugin-dir=…` in a root ~/.my.cnf would otherwise apply). The options are
//! an allow-list without any that names a file, a program or a plugin (`--pager`, `--tee`,
//! `--init-command`, `--plugin-dir`, `--default-auth`, `--defaults-*`,
//! `--load-data-local-dir`, `--local-infile`, a password on the command line). The text of
//! `-e` and of stdin is checked three ways: no line may start with one of the client's own
//! commands (`system`, `source`, `pager`, `tee`, `edit`, `connect`, `delimiter`, … are
//! recognised at the start of a line, so this check ignores quotes), none of those words may
//! appear outside literals, and every statement must pass the lexer (`sql.rs`: no backslash, so
//! no `\!`) and the statement allow-list (`mariadb_sql.rs`).

use super::sql::{self, Dialect, Tok};
use super::{Call, Opt, Parsed, getopt, is_identifier, is_loopback, is_plain_path, is_port, opt};

const OPTIONS: &[Opt] = &[
    opt(Some('B'), Some("batch"), false, "B"),
    opt(Some('N'), Some("skip-column-names"), false, "N"),
    opt(Some('s'), Some("silent"), false, "s"),
    opt(Some('r'), Some("raw"), false, "r"),
    opt(Some('t'), Some("table"), false, "t"),
    opt(Some('E'), Some("vertical"), false, "E"),
    opt(Some('V'), Some("version"), false, "V"),
    opt(Some('e'), Some("execute"), true, "e"),
    opt(Some('D'), Some("database"), true, "D"),
    opt(Some('u'), Some("user"), true, "u"),
    opt(Some('h'), Some("host"), true, "h"),
    opt(Some('P'), Some("port"), true, "P"),
    opt(Some('S'), Some("socket"), true, "S"),
    opt(None, Some("protocol"), true, "protocol"),
    opt(None, Some("connect-timeout"), true, "connect-timeout"),
    opt(None, Some("default-character-set"), true, "charset"),
];

/// The client's own commands (mysql.cc's command table), recognised at the start of a line.
/// `\`-forms are refused by the lexer.
#[rustfmt::skip]
const CLIENT_COMMANDS: &[&str] = &[
    "?", "charset", "clear", "connect", "delimiter", "edit", "ego", "exit", "go", "help",
    "nopager", "notee", "nowarning", "pager", "print", "prompt", "quit", "rehash", "sandbox",
    "source", "status", "system", "tee", "use", "warnings",
];

/// Client commands that are no SQL keyword a recipe needs: refused wherever they appear outside
/// literals, so that no disagreement about where a statement starts can let one through.
/// (`help`, `status` and `use` are refused only at the start of a line above: `SHOW STATUS`.)
#[rustfmt::skip]
const CLIENT_ONLY: &[&str] = &[
    "charset", "clear", "connect", "delimiter", "edit", "ego", "exit", "go", "nopager", "notee",
    "nowarning", "pager", "print", "prompt", "quit", "rehash", "sandbox", "source", "system",
    "tee", "warnings",
];

pub(super) fn client(call: &Call<'_>) -> Result<(), String> {
    let program = super::super::basename(call.program);
    let stdin = super::stdin_text(call, program)?;
    if call.args.first().map(String::as_str) != Some("--no-defaults") {
        return Err(format!(
            "{program} must be given --no-defaults as its first argument, so that no option \
             file (which may name a pager, an init command or a plugin directory) is read"
        ));
    }
    for p in getopt(&call.args[1..], OPTIONS, program)? {
        let (key, value) = match p {
            Parsed::Operand(_) => {
                return Err(format!(
                    "{program} takes the database with -D; other arguments are refused"
                ));
            }
            Parsed::Opt(key, value) => (key, value.unwrap_or("")),
        };
        let ok = match key {
            "e" => {
                check_text(value, &format!("the SQL of {program} -e"))?;
                true
            }
            "D" | "u" | "charset" => is_identifier(value),
            "h" => is_loopback(value),
            "P" | "connect-timeout" => is_port(value),
            "S" => is_plain_path(value),
            "protocol" => ["socket", "tcp"].contains(&value.to_ascii_lowercase().as_str()),
            _ => true,
        };
        if !ok {
            return Err(format!(
                "{program}'s {} has a value Cairn does not accept (plain names, a loopback \
                 host, a port number, a socket path)",
                OPTIONS
                    .iter()
                    .find(|o| o.key == key)
                    .and_then(|o| o.long)
                    .unwrap_or(key)
            ));
        }
    }
    if let Some(text) = stdin {
        check_text(text, &format!("{program}'s standard input"))?;
    }
    Ok(())
}

/// Checks text the client will execute.
pub(super) fn check_text(text: &str, whence: &str) -> Result<(), String> {
    for line in text.lines() {
        let first = line
            .trim_start()
            .split(|c: char| c.is_whitespace() || c == ';')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if CLIENT_COMMANDS.contains(&first.as_str()) {
            return Err(format!(
                "{whence}: a line starts with `{first}`, one of the client's own commands \
                 (`system` runs a shell, `source` reads a file, `pager` and `tee` run or write \
                 files); Cairn refuses them all"
            ));
        }
    }
    let stmts = sql::statements(text, Dialect::MariaDb).map_err(|e| format!("{whence}: {e}"))?;
    for (n, s) in stmts.iter().enumerate() {
        if let Some(Tok::Word(w)) = s.iter().find(
            |t| matches!(t, Tok::Word(w) if CLIENT_ONLY.contains(&w.to_ascii_lowercase().as_str())),
        ) {
            return Err(format!(
                "{whence}, statement {}: `{w}` is one of the client's own commands, refused \
                 anywhere outside quotes",
                n + 1
            ));
        }
        super::mariadb_sql::check(s).map_err(|e| format!("{whence}, statement {}: {e}", n + 1))?;
    }
    Ok(())
}

/// What the MariaDB client may do as a query: statements that only read.
const READS: &[&str] = &[
    "select", "show", "set", "begin", "commit", "rollback", "start",
];
/// Words that make even a SELECT or SET change something (`SET PASSWORD FOR`).
const WRITES: &[&str] = &["password", "into", "nextval", "setval"];

/// The MariaDB client as a query: every statement of `-e` and stdin only reads.
pub(super) fn client_reads(call: &Call<'_>) -> Result<(), String> {
    let program = super::super::basename(call.program);
    for p in getopt(call.args.get(1..).unwrap_or_default(), OPTIONS, program)? {
        if let Parsed::Opt("e", Some(text)) = p {
            super::sql_reads(
                text,
                Dialect::MariaDb,
                READS,
                WRITES,
                &format!("{program} -e"),
            )?;
        }
    }
    if let Some(text) = super::stdin_text(call, program)? {
        let whence = format!("{program}'s standard input");
        super::sql_reads(text, Dialect::MariaDb, READS, WRITES, &whence)?;
    }
    Ok(())
}
