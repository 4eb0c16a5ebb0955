//! A cursor over one statement's tokens, for the statement allow-lists: each grammar reads what
//! it accepts and refuses the first token it does not expect.

use super::sql::Tok;

#[derive(Debug)]
pub(super) struct Cursor<'a> {
    toks: &'a [Tok],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(toks: &'a [Tok]) -> Self {
        Self { toks, pos: 0 }
    }

    pub(super) fn peek(&self) -> Option<&'a Tok> {
        self.toks.get(self.pos)
    }

    pub(super) fn peek_at(&self, ahead: usize) -> Option<&'a Tok> {
        self.toks.get(self.pos + ahead)
    }

    pub(super) fn next(&mut self) -> Option<&'a Tok> {
        let t = self.toks.get(self.pos);
        self.pos += usize::from(t.is_some());
        t
    }

    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    /// The tokens not read yet.
    pub(super) fn rest(&self) -> &'a [Tok] {
        &self.toks[self.pos.min(self.toks.len())..]
    }

    /// Reads the keyword `kw` if it comes next.
    pub(super) fn kw(&mut self, kw: &str) -> bool {
        let hit = self.peek().is_some_and(|t| t.is(kw));
        self.pos += usize::from(hit);
        hit
    }

    /// Reads the keywords `kws` if they all come next, in order; reads nothing otherwise.
    pub(super) fn kws(&mut self, kws: &[&str]) -> bool {
        let hit = kws
            .iter()
            .enumerate()
            .all(|(n, k)| self.peek_at(n).is_some_and(|t| t.is(k)));
        if hit {
            self.pos += kws.len();
        }
        hit
    }

    /// Reads the punctuation `c` if it comes next.
    pub(super) fn punct(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(&Tok::Punct(c));
        self.pos += usize::from(hit);
        hit
    }

    /// The keyword `kw`, or the reason it is missing.
    pub(super) fn expect(&mut self, kw: &str, after: &str) -> Result<(), String> {
        if self.kw(kw) {
            Ok(())
        } else {
            Err(format!(
                "expected {kw} after {after}, found {}",
                self.describe()
            ))
        }
    }

    /// The next token in words, for refusals (never a literal's content: it may be a secret).
    pub(super) fn describe(&self) -> String {
        describe(self.peek())
    }

    /// Refuses anything left over.
    pub(super) fn end(&self, what: &str) -> Result<(), String> {
        if self.at_end() {
            Ok(())
        } else {
            Err(format!("{what} goes on with {}", self.describe()))
        }
    }
}

/// A token in words, for refusals. Literals are not quoted: they may hold a password.
pub(super) fn describe(t: Option<&Tok>) -> String {
    match t {
        None => "the end of the statement".into(),
        Some(Tok::Word(w)) => format!("`{}`", short(w)),
        Some(Tok::Ident(w)) => format!("the quoted name \"{}\"", short(w)),
        Some(Tok::Str(_)) => "a string literal".into(),
        Some(Tok::Punct(c)) => format!("`{c}`"),
    }
}

fn short(w: &str) -> String {
    if w.chars().count() > 40 {
        w.chars().take(40).collect::<String>() + "…"
    } else {
        w.to_owned()
    }
}
