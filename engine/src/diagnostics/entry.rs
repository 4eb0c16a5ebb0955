//! The functions the engine calls: `detect()`, the category's `install(params)` or
//! `configure(params)`, and `fn NAME(params)` for each declared action. A missing one is
//! reported with what was probably meant: the other category's entry point, a near name, or
//! the right name with the wrong number of parameters.

use rhai::AST;

use super::names::closest;
use super::{At, Declared, Report, at_offset};
use crate::recipe::Category;

/// The recipe's own functions: name and number of parameters (closures left out).
pub(super) fn own_functions(ast: &AST) -> Vec<(String, usize)> {
    ast.iter_functions()
        .filter(|f| !f.name.starts_with("anon$"))
        .map(|f| (f.name.to_owned(), f.params.len()))
        .collect()
}

/// Where `fn name(` is written, if it is.
fn place_of_fn(source: &str, name: &str) -> Option<At> {
    let re = regex::Regex::new(&format!(
        r"(?m)^\s*(?:private\s+)?fn\s+({})\s*\(",
        regex::escape(name)
    ))
    .ok()?;
    re.captures(source)
        .and_then(|c| c.get(1))
        .map(|m| at_offset(source, m.start()))
}

pub(super) fn check(report: &mut Report, ast: &AST, source: &str, declared: &Declared) {
    let own = own_functions(ast);
    let has = |name: &str, arity: usize| own.iter().any(|(n, a)| n == name && *a == arity);
    let names = || own.iter().map(|(n, _)| n.as_str());
    let mut expect =
        |name: &str, arity: usize, signature: &str, code: &str, at: At, hint: Option<String>| {
            if has(name, arity) {
                return;
            }
            if let Some((_, a)) = own.iter().find(|(n, _)| n == name) {
                report.error(
                    place_of_fn(source, name).unwrap_or(at),
                    "entry-point-arity",
                    format!(
                        "`fn {name}` takes {a} parameter(s); the engine calls it as `{signature}`"
                    ),
                    Some(format!("write it as `fn {signature}`")),
                );
                return;
            }
            let near = closest(name, names());
            let near_at = near.as_deref().and_then(|n| place_of_fn(source, n));
            report.error(
                near_at.unwrap_or(at),
                code,
                if code == "missing-action" {
                    format!("actions.{name} is declared but the recipe has no `fn {signature}`")
                } else {
                    format!("missing `fn {signature}`")
                },
                near.map(|n| format!("did you mean to name `fn {n}` `{name}`?"))
                    .or(hint),
            );
        };
    expect(
        "detect",
        0,
        "detect()",
        "missing-entry-point",
        declared.at,
        None,
    );
    if let Some(category) = declared.category {
        let entry = category.entry_point();
        let other = match category {
            Category::Runtime => "configure",
            Category::Database | Category::Backup => "install",
        };
        let kind = format!("{category:?}").to_lowercase();
        let hint = has(other, 1).then(|| {
            format!(
                "a {kind} recipe's entry point is `{entry}(params)`, not `{other}(params)`: \
                 rename `fn {other}`, or change RECIPE.category"
            )
        });
        let at = place_of_fn(source, other)
            .filter(|_| hint.is_some())
            .unwrap_or(declared.at);
        expect(
            entry,
            1,
            &format!("{entry}(params)"),
            "missing-entry-point",
            at,
            hint,
        );
    }
    for (name, _, _) in &declared.actions {
        expect(
            name,
            1,
            &format!("{name}(params)"),
            "missing-action",
            declared.actions_at,
            Some(format!(
                "RECIPE.actions declares `{name}`: add `fn {name}(params) {{ … }}`"
            )),
        );
    }
}
