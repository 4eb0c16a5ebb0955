//! The `RECIPE` map, field by field: each missing required field, each unknown field (with the
//! known one it was probably meant to be), each field of the wrong shape, all reported; then,
//! when every field reads, the engine's own load-time checks (`recipe::check_meta`, the
//! translations), whose sentences are the ones `Recipe::parse` gives.

use rhai::{AST, ASTFlags, Dynamic, Expr, Stmt};
use serde::de::DeserializeOwned;

use super::names::closest;
use super::{At, Declared, Report};
use crate::recipe::{Category, OsSupport, RecipeMeta};

/// Every field `RECIPE` may have, and whether it must.
const FIELDS: &[(&str, bool)] = &[
    ("id", true),
    ("title", true),
    ("category", true),
    ("version", true),
    ("description", false),
    ("estimated_size_mb", true),
    ("os", true),
    ("params", false),
    ("capabilities", true),
    ("actions", false),
    ("services", false),
    ("translations", false),
];

/// Whether `value` reads as a `T`; the reason when not, in words (Rhai's serde says
/// "Output type incorrect: string (expecting u64)").
fn reads_as<T: DeserializeOwned>(value: &Dynamic) -> Result<T, String> {
    rhai::serde::from_dynamic::<T>(value).map_err(|e| {
        let text = e.to_string();
        let text = text.trim().trim_start_matches("Syntax error: ");
        match text
            .strip_prefix("Output type incorrect: ")
            .and_then(|t| t.split_once(" (expecting "))
        {
            Some((found, expected)) => format!(
                "found {found} where {} is expected",
                expected
                    .trim_end_matches(')')
                    .replace("u64", "a whole number")
            ),
            None => text.to_owned(),
        }
    })
}

/// The shape each field must have, checked alone so that one bad field hides no other.
fn check_field(name: &str, value: &Dynamic) -> Result<(), String> {
    match name {
        "id" | "title" | "description" => reads_as::<String>(value).map(drop),
        "category" => reads_as::<Category>(value)
            .map(drop)
            .map_err(|_| "must be \"runtime\", \"database\" or \"backup\"".to_owned()),
        "version" | "estimated_size_mb" => reads_as::<u64>(value).map(drop),
        "os" => reads_as::<Vec<OsSupport>>(value).map(drop),
        "params" => reads_as::<Vec<crate::params::ParamSpec>>(value).map(drop),
        "capabilities" => reads_as::<crate::host::caps::Capabilities>(value).map(drop),
        "actions" => reads_as::<Vec<crate::actions::ActionSpec>>(value).map(drop),
        "services" => reads_as::<crate::system::service_status::ServiceDecls>(value).map(drop),
        "translations" => reads_as::<crate::translations::Translations>(value).map(drop),
        _ => Ok(()),
    }
}

/// The `RECIPE` statement's map expression and its place.
fn recipe_expr(ast: &AST) -> Option<(&Expr, At)> {
    ast.statements().iter().find_map(|s| match s {
        Stmt::Var(x, flags, pos) if x.0.name == "RECIPE" && flags.contains(ASTFlags::CONSTANT) => {
            Some((&x.1, At::from(*pos)))
        }
        _ => None,
    })
}

/// The place of each key of a map expression.
fn key_places(expr: &Expr) -> Vec<(String, At)> {
    match expr {
        Expr::Map(x, _) => {
            x.0.iter()
                .map(|(k, _)| (k.name.to_string(), k.pos.into()))
                .collect()
        }
        _ => Vec::new(),
    }
}

/// The expression of `key` in a map expression.
fn field<'a>(expr: &'a Expr, key: &str) -> Option<&'a Expr> {
    match expr {
        Expr::Map(x, _) => x.0.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
        _ => None,
    }
}

/// Checks `RECIPE` and returns what later checks need of it.
pub(super) fn check(report: &mut Report, ast: &AST, source: &str) -> Declared {
    let mut declared = Declared::default();
    let literal = ast
        .iter_literal_variables(true, false)
        .find(|(name, _, _)| *name == "RECIPE")
        .map(|(_, _, v)| v);
    let expr = recipe_expr(ast);
    declared.at = expr.map(|(_, at)| at).unwrap_or(At { line: 1, col: 1 });
    let Some(value) = literal else {
        report.error(
            declared.at,
            "missing-recipe",
            "missing `const RECIPE = #{ ... };` at the top level (it must be a literal map: no \
             function calls or variables inside)"
                .into(),
            None,
        );
        return declared;
    };
    let Some(map) = value.clone().try_cast::<rhai::Map>() else {
        report.error(
            declared.at,
            "invalid-field",
            "RECIPE must be a map: `#{ ... }`".into(),
            None,
        );
        return declared;
    };
    let places = expr.map(|(e, _)| key_places(e)).unwrap_or_default();
    let recipe_at = declared.at;
    let place = |key: &str| {
        places
            .iter()
            .find(|(k, _)| k == key)
            .map_or(recipe_at, |(_, at)| *at)
    };
    let mut all_read = true;
    for (key, value) in &map {
        if !FIELDS.iter().any(|(f, _)| f == key) {
            all_read = false;
            report.error(
                place(key),
                "unknown-field",
                format!("RECIPE has no field `{key}`"),
                closest(key, FIELDS.iter().map(|(f, _)| *f))
                    .map(|f| format!("did you mean `{f}`?")),
            );
        } else if let Err(why) = check_field(key, value) {
            all_read = false;
            report.error(
                place(key),
                "invalid-field",
                format!("RECIPE.{key}: {why}"),
                None,
            );
        }
    }
    for (name, _) in FIELDS
        .iter()
        .filter(|(f, required)| *required && !map.contains_key(*f))
    {
        all_read = false;
        report.error(
            recipe_at,
            "missing-field",
            format!("RECIPE has no `{name}`, which every recipe must declare"),
            Some(format!(
                "see the table of RECIPE's fields in docs/recipes.md; add `{name}: …`"
            )),
        );
    }
    read_declared(&mut declared, &map, expr.map(|(e, _)| e));
    declared.actions_at = place("actions");
    if all_read && let Ok(meta) = reads_as::<RecipeMeta>(&value) {
        engine_checks(report, &meta, source, &place);
    }
    declared
}

/// What can be read of the declarations, each on its own.
fn read_declared(d: &mut Declared, map: &rhai::Map, expr: Option<&Expr>) {
    d.category = map.get("category").and_then(|v| reads_as(v).ok());
    let caps = map
        .get("capabilities")
        .and_then(|v| reads_as::<crate::host::caps::Capabilities>(v).ok());
    let program_places = expr
        .and_then(|e| field(e, "capabilities"))
        .and_then(|e| field(e, "programs"))
        .map(|e| match e {
            Expr::Array(items, _) => items
                .iter()
                .filter_map(|i| match i {
                    Expr::StringConstant(s, pos) => Some((s.to_string(), At::from(*pos))),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        })
        .unwrap_or_default();
    if let Some(caps) = caps {
        let at = |p: &str| {
            program_places
                .iter()
                .find(|(s, _)| s == p)
                .map_or(d.at, |(_, at)| *at)
        };
        d.programs = Some(caps.programs.iter().map(|p| (p.clone(), at(p))).collect());
        d.services = Some(caps.services.clone());
    }
    let names = |v: &Dynamic| {
        reads_as::<Vec<crate::params::ParamSpec>>(v)
            .ok()
            .map(|ps| ps.into_iter().map(|p| p.name).collect())
    };
    d.params = match map.get("params") {
        Some(v) => names(v),
        None => Some(Vec::new()),
    };
    if let Some(actions) = map
        .get("actions")
        .and_then(|v| v.clone().try_cast::<rhai::Array>())
    {
        for a in actions {
            let Some(a) = a.try_cast::<rhai::Map>() else {
                continue;
            };
            let Some(name) = a.get("name").and_then(|n| n.clone().into_string().ok()) else {
                continue;
            };
            let params = match a.get("params") {
                Some(v) => names(v),
                None => Some(Vec::new()),
            };
            d.actions.push((name, params, d.at));
        }
    }
}

/// The engine's own checks of a `RECIPE` whose every field reads: the first problem of the
/// declarations (they depend on each other), then every untranslated sentence.
fn engine_checks(report: &mut Report, meta: &RecipeMeta, source: &str, place: &dyn Fn(&str) -> At) {
    if let Err(e) = crate::recipe::check_meta("", meta) {
        let message = super::without_file("", &e.to_string());
        let key = FIELDS
            .iter()
            .map(|(f, _)| *f)
            .find(|f| message.starts_with(&format!("RECIPE.{f}")) || message.starts_with(f))
            .or_else(|| message.starts_with("parameter").then_some("params"));
        let at = key.map_or_else(|| place("RECIPE"), place);
        report.error(at, "invalid-field", message, None);
    }
    for problem in crate::translations::check(
        &meta.translations,
        &meta.description,
        &meta.params,
        &meta.actions,
        source,
    ) {
        report.error(place("translations"), "translation", problem, None);
    }
}
