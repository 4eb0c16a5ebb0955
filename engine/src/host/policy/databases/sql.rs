//! A strict lexer for the SQL recipes send to psql and to the mariadb client, shared by both.
//!
//! The statement allow-lists (`postgres_sql.rs`, `mariadb_sql.rs`) are only as good as the
//! tokens they see, so this lexer refuses every construct on which it could disagree with the
//! client or the server about where a literal, a comment or a statement ends:
//!
//! * a backslash anywhere, even inside a literal: it starts client meta-commands (`\!`, `\o`,
//!   `\copy`, `system`'s `\!`), and inside literals its meaning depends on settings the recipe
//!   could change (`standard_conforming_strings`, `NO_BACKSLASH_ESCAPES`);
//! * control characters other than tab, newline and carriage return, and NUL;
//! * PostgreSQL: `$` outside literals (dollar quoting, `$1` parameters), `U&` strings, and psql
//!   variable references (`:name`, `:'name'`, `:"name"`, `:{?name}`; `::` casts are fine);
//! * MariaDB: executable comments (`/*! … */`, `/*M! … */`) and hints (`/*+ … */`), whose text
//!   the server runs.
//!
//! Literals use only quote doubling (`'it''s'`), which every client and server agree on once
//! backslashes are gone. PostgreSQL block comments nest, MariaDB's do not; `#` and `-- ` (dash
//! dash space) are MariaDB's line comments, `--` PostgreSQL's. Statements are split at every
//! `;` outside literals and comments, even inside parentheses, so that a piece the server would
//! reject as a whole is still checked on its own (stricter, never looser).

/// Whose SQL it is: the lexing rules differ in comments and quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    Postgres,
    MariaDb,
}

/// One token of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok {
    /// An unquoted word: a keyword, an identifier or a number, as written.
    Word(String),
    /// A quoted identifier (`"x"`, or `` `x` `` in MariaDB), without its quotes.
    Ident(String),
    /// A string literal's content (a prefix such as `E`, `N` or `_utf8mb4` is dropped).
    Str(String),
    /// One punctuation or operator character.
    Punct(char),
}

impl Tok {
    /// Whether this is the unquoted word `kw`, ignoring ASCII case.
    pub(super) fn is(&self, kw: &str) -> bool {
        matches!(self, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }
}

/// SQL text is refused past this size: recipes send a few statements, never a dump.
const MAX_SQL: usize = 1 << 20;

/// Splits `sql` into statements of tokens, or says what it refuses. Empty statements (`;;`,
/// comment-only text) are dropped.
pub(super) fn statements(sql: &str, d: Dialect) -> Result<Vec<Vec<Tok>>, String> {
    if sql.len() > MAX_SQL {
        return Err(format!(
            "its SQL is longer than {} KiB; recipes send a few statements, not dumps",
            MAX_SQL / 1024
        ));
    }
    if sql.contains('\\') {
        return Err(
            "its SQL contains a backslash, which the client would take for a \
                    meta-command (`\\!` runs a shell) and whose meaning inside literals \
                    depends on server settings; Cairn refuses backslashes everywhere"
                .into(),
        );
    }
    if let Some(c) = sql
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(format!(
            "its SQL contains the control character U+{:04X}",
            u32::from(c)
        ));
    }
    let b = sql.as_bytes();
    let mut out: Vec<Vec<Tok>> = Vec::new();
    let mut cur: Vec<Tok> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b';' => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                i += 1;
            }
            b'-' if next == Some(b'-')
                && (d == Dialect::Postgres
                    || matches!(b.get(i + 2), Some(b' ' | b'\t' | b'\n' | b'\r'))) =>
            {
                i = line_end(b, i);
            }
            b'#' if d == Dialect::MariaDb => i = line_end(b, i),
            b'/' if next == Some(b'*') => i = block_comment(b, i, d)?,
            b'\'' => {
                let (s, end) = quoted(sql, i, b'\'', "a string literal")?;
                cur.push(Tok::Str(s));
                i = end;
            }
            b'"' if d == Dialect::Postgres => {
                let (s, end) = quoted(sql, i, b'"', "a quoted identifier")?;
                cur.push(Tok::Ident(s));
                i = end;
            }
            b'"' => {
                let (s, end) = quoted(sql, i, b'"', "a string literal")?;
                cur.push(Tok::Str(s));
                i = end;
            }
            b'`' if d == Dialect::MariaDb => {
                let (s, end) = quoted(sql, i, b'`', "a quoted identifier")?;
                cur.push(Tok::Ident(s));
                i = end;
            }
            b'$' if d == Dialect::Postgres => {
                return Err(
                    "its SQL uses `$` (dollar quoting or a parameter), which Cairn \
                            does not accept in a recipe's SQL; write literals in single quotes"
                        .into(),
                );
            }
            b':' if d == Dialect::Postgres => {
                if next == Some(b':') {
                    cur.push(Tok::Punct(':'));
                    cur.push(Tok::Punct(':'));
                    i += 2;
                } else if next.is_some_and(|n| {
                    n.is_ascii_alphanumeric()
                        || matches!(n, b'_' | b'\'' | b'"' | b'{')
                        || n >= 0x80
                }) {
                    return Err("its SQL contains a psql variable reference (`:name`); \
                                psql would replace it with text Cairn has not checked"
                        .into());
                } else {
                    cur.push(Tok::Punct(':'));
                    i += 1;
                }
            }
            _ if is_word_byte(c, d) => {
                let start = i;
                while i < b.len() && is_word_byte(b[i], d) {
                    i += 1;
                }
                let word = &sql[start..i];
                if d == Dialect::Postgres
                    && word.eq_ignore_ascii_case("u")
                    && b.get(i) == Some(&b'&')
                {
                    return Err(
                        "its SQL uses a Unicode escape literal (`U&'…'`), which Cairn \
                                does not accept"
                            .into(),
                    );
                }
                // A literal's prefix (E'…', N'…', X'…', B'…', _utf8mb4'…') is part of it.
                let prefixed = b.get(i) == Some(&b'\'')
                    && (["e", "n", "x", "b"]
                        .iter()
                        .any(|p| word.eq_ignore_ascii_case(p))
                        || (d == Dialect::MariaDb && word.starts_with('_')));
                if !prefixed {
                    cur.push(Tok::Word(word.to_owned()));
                }
            }
            _ if c.is_ascii_punctuation() => {
                cur.push(Tok::Punct(char::from(c)));
                i += 1;
            }
            _ => {
                return Err(
                    "its SQL has a character outside literals that is not ASCII; \
                            Cairn accepts non-ASCII text only inside quotes"
                        .into(),
                );
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

fn is_word_byte(c: u8, d: Dialect) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || (d == Dialect::MariaDb && c == b'$')
}

/// The index just past the end of the line that starts a `--` or `#` comment at `i`.
fn line_end(b: &[u8], i: usize) -> usize {
    b[i..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| i + p + 1)
}

/// Skips a block comment starting at `i` (`/*`): nested in PostgreSQL, not in MariaDB, whose
/// executable comments and hints are refused.
fn block_comment(b: &[u8], i: usize, d: Dialect) -> Result<usize, String> {
    if d == Dialect::MariaDb {
        let rest = &b[i + 2..];
        if rest.starts_with(b"!")
            || rest.starts_with(b"M!")
            || rest.starts_with(b"m!")
            || rest.starts_with(b"+")
        {
            return Err(
                "its SQL contains an executable comment (`/*! … */`, `/*M! … */`) or \
                        a hint (`/*+ … */`), whose text the server would run"
                    .into(),
            );
        }
    }
    let mut depth = 1;
    let mut j = i + 2;
    while j < b.len() {
        if b[j] == b'*' && b.get(j + 1) == Some(&b'/') {
            depth -= 1;
            j += 2;
            if depth == 0 {
                return Ok(j);
            }
        } else if d == Dialect::Postgres && b[j] == b'/' && b.get(j + 1) == Some(&b'*') {
            depth += 1;
            j += 2;
        } else {
            j += 1;
        }
    }
    Err("its SQL has a `/*` comment that never ends".into())
}

/// Reads a literal or quoted identifier starting at `i` (the opening `q`), where `qq` stands
/// for one `q`. Returns its content and the index past the closing quote.
fn quoted(sql: &str, i: usize, q: u8, what: &str) -> Result<(String, usize), String> {
    let b = sql.as_bytes();
    let mut j = i + 1;
    let mut s = String::new();
    let mut from = j;
    while j < b.len() {
        if b[j] == q {
            s.push_str(&sql[from..j]);
            if b.get(j + 1) == Some(&q) {
                s.push(char::from(q));
                j += 2;
                from = j;
                continue;
            }
            return Ok((s, j + 1));
        }
        j += 1;
    }
    Err(format!("its SQL has {what} that is never closed"))
}
