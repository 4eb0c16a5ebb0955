//! Everything wrong with a recipe, found in one pass and never stopping at the first: what
//! `cairn-recipe check` prints, what the registry refuses a recipe with, and what a submission
//! is refused with. Each [`Diagnostic`] has a place (`file:line:col`), a severity, a stable
//! kebab-case `code`, a sentence, and where it helps a `hint` (a "did you mean").
//!
//! The checks read the compiled AST (Rhai's `internals`) without running anything:
//! - `meta.rs`: the `RECIPE` map, field by field (missing, unknown, wrong type), then the
//!   engine's own load-time checks (`recipe::check_meta`, translations);
//! - `entry.rs`: the entry points the category needs, and one `fn NAME(params)` per action;
//! - `calls.rs`: every call (unknown function, wrong number of arguments), the capabilities a
//!   call needs (`run("x", …)` with `x` undeclared), declared programs never used, and
//!   `params.NAME` where `NAME` is not a declared parameter;
//! - `caught.rs`: a side effect inside `try` (a caught failure makes the run differ from its
//!   plan), with the host functions that act listed in `signatures::ACTS`;
//! - `names.rs`: the functions a recipe may call, read from the registered host API.

mod calls;
mod caught;
#[cfg(feature = "definitions")]
pub mod definitions;
mod entry;
mod meta;
pub mod names;
pub mod signatures;

use serde::{Deserialize, Serialize};

/// How bad a finding is: an error refuses the recipe, a warning does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Error => "error",
            Self::Warning => "warning",
        })
    }
}

/// One finding. `line` and `col` are 1-based (0 when the place is the whole file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub severity: Severity,
    /// Stable, kebab-case: `unknown-function`, `wrong-arity`, `undeclared-program`, …
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// `file:line:col: severity: message`, as compilers print it (the hint is not part of it).
impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.col, self.severity, self.message
        )
    }
}

/// Whether any of `diagnostics` refuses the recipe.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(|d| d.severity == Severity::Error)
}

/// A place in the source, 1-based.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct At {
    pub line: usize,
    pub col: usize,
}

impl From<rhai::Position> for At {
    fn from(p: rhai::Position) -> Self {
        Self {
            line: p.line().unwrap_or(0),
            col: p.position().unwrap_or(0),
        }
    }
}

/// Collects the findings of one file.
pub(crate) struct Report {
    file: String,
    out: Vec<Diagnostic>,
}

impl Report {
    fn push(
        &mut self,
        severity: Severity,
        at: At,
        code: &str,
        message: String,
        hint: Option<String>,
    ) {
        self.out.push(Diagnostic {
            file: self.file.clone(),
            line: at.line,
            col: at.col,
            severity,
            code: code.to_owned(),
            message,
            hint,
        });
    }

    pub fn error(&mut self, at: At, code: &str, message: String, hint: Option<String>) {
        self.push(Severity::Error, at, code, message, hint);
    }

    pub fn warning(&mut self, at: At, code: &str, message: String, hint: Option<String>) {
        self.push(Severity::Warning, at, code, message, hint);
    }
}

/// Every problem of the recipe `source` (named `file` in the findings), sorted by place.
/// Nothing runs. An empty list, or warnings only, means `Recipe::parse` accepts it.
pub fn check_source(file: &str, source: &str) -> Vec<Diagnostic> {
    let mut report = Report {
        file: file.to_owned(),
        out: Vec::new(),
    };
    if source.len() > crate::recipe::MAX_SOURCE_BYTES {
        report.error(
            At::default(),
            "too-large",
            format!(
                "the recipe is {} bytes; the limit is {}",
                source.len(),
                crate::recipe::MAX_SOURCE_BYTES
            ),
            None,
        );
        return report.out;
    }
    let mut engine = crate::sandbox::compiler(&crate::sandbox::Limits::default());
    // Unoptimised: the RECIPE map keeps its keys' places, and no call is folded away.
    engine.set_optimization_level(rhai::OptimizationLevel::None);
    let ast = match engine.compile(source) {
        Ok(ast) => ast,
        Err(e) => {
            report.error(
                e.position().into(),
                "syntax-error",
                e.err_type().to_string(),
                None,
            );
            return report.out;
        }
    };
    let recipe = meta::check(&mut report, &ast, source);
    entry::check(&mut report, &ast, source, &recipe);
    calls::check(&mut report, &ast, &recipe);
    caught::check(&mut report, &ast);
    // The same file that `Recipe::parse` refuses must never pass here: its own sentence is the
    // last word when the checks above found nothing.
    if !has_errors(&report.out)
        && let Err(e) = crate::recipe::Recipe::parse(file, source)
    {
        report.error(
            At::default(),
            "invalid-recipe",
            without_file(file, &e.to_string()),
            None,
        );
    }
    let mut out = report.out;
    out.sort_by_key(|d| (d.line, d.col, d.severity));
    out
}

fn without_file(file: &str, message: &str) -> String {
    message
        .strip_prefix(file)
        .and_then(|m| m.strip_prefix(": "))
        .unwrap_or(message)
        .to_owned()
}

/// What the checks after `meta` know of the recipe's declarations (what could be read).
#[derive(Debug, Default)]
pub(crate) struct Declared {
    pub category: Option<crate::recipe::Category>,
    /// `None` when `capabilities` could not be read: no capability check then.
    pub programs: Option<Vec<(String, At)>>,
    pub services: Option<Vec<String>>,
    /// The recipe's parameters (`None`: unreadable, no check).
    pub params: Option<Vec<String>>,
    /// Each action: name, its parameters, and where it is declared.
    pub actions: Vec<(String, Option<Vec<String>>, At)>,
    /// Where the `RECIPE` constant is (the place of findings about it as a whole).
    pub at: At,
    /// Where `actions` is declared.
    pub actions_at: At,
}

/// The line and column of byte `offset` in `source`, 1-based.
pub(crate) fn at_offset(source: &str, offset: usize) -> At {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    At { line, col }
}
