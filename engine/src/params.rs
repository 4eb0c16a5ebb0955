//! Recipe parameters: their declarations in `RECIPE.params` and the validation of the values a
//! user sends. Validation happens before anything runs; an error names the parameter.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::EngineError;

/// The type of a parameter, which decides its validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    /// Free text, optionally constrained by `pattern`.
    String,
    /// A database, user or role name: `^[a-z_][a-z0-9_]{0,62}$` and not a reserved word.
    Identifier,
    /// A whole number, optionally within `min`..=`max`.
    Integer,
    /// `true` or `false`.
    Bool,
    /// One of `options`.
    Choice,
}

/// One declared parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ParamType,
    /// What the dashboard's form shows.
    #[serde(default)]
    pub label: String,
    /// Used when the user gives no value; a parameter without one is required. Written
    /// `default_value` in recipes because `default` is a Rhai keyword.
    #[serde(default, rename = "default_value")]
    pub default: Option<serde_json::Value>,
    /// `string`: a regular expression the whole value must match.
    #[serde(default)]
    pub pattern: Option<String>,
    /// `choice`: the allowed values.
    #[serde(default)]
    pub options: Vec<String>,
    /// `choice`: a short sentence per option saying where that value comes from ("Debian's
    /// package", "the official release, pinned by its checksum"), shown beside it in the form.
    /// Only for the recipe's own `params`, and only for its options.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub option_notes: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub min: Option<i64>,
    #[serde(default)]
    pub max: Option<i64>,
    /// `string`: the longest value accepted (default 256).
    #[serde(default)]
    pub max_len: Option<usize>,
    /// `string` only: the value is a credential. The engine masks it in every console line,
    /// error and plan of the job (like a `secret()`), never repeats it in a validation error,
    /// and refuses a non-empty value shorter than [`MIN_SECRET_LEN`] characters (masking a
    /// short string would mask ordinary text too).
    #[serde(default)]
    pub secret: bool,
    /// `string` only: the value may hold line breaks (`\n`), one item a line (the backup
    /// recipes' paths); the dashboard shows a text area. Every other control character is
    /// refused as in any string.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub multiline: bool,
}

/// The shortest non-empty value a `secret: true` parameter accepts.
pub const MIN_SECRET_LEN: usize = 8;

static IDENT: LazyLock<Regex> = LazyLock::new(|| regex(r"^[a-z_][a-z0-9_]{0,62}$"));
static RECIPE_ID: LazyLock<Regex> = LazyLock::new(|| regex(r"^[a-z][a-z0-9-]{0,31}$"));

fn regex(re: &str) -> Regex {
    // The patterns above are constants; a failure here is a bug caught by every test.
    Regex::new(re).unwrap_or_else(|e| panic!("built-in regex {re}: {e}"))
}

/// Names a database or user may not take: SQL keywords that would need quoting, and the names
/// the database servers keep for themselves.
const RESERVED: &[&str] = &[
    // server-owned names
    "postgres",
    "template0",
    "template1",
    "root",
    "mysql",
    "sys",
    "information_schema",
    "performance_schema",
    "mariadb",
    "public",
    "pg_catalog",
    "pg_toast",
    "admin",
    "default",
    // SQL keywords
    "all",
    "alter",
    "and",
    "any",
    "as",
    "asc",
    "authorization",
    "between",
    "both",
    "by",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "cross",
    "current_date",
    "current_role",
    "current_time",
    "current_timestamp",
    "current_user",
    "database",
    "delete",
    "desc",
    "distinct",
    "do",
    "drop",
    "else",
    "end",
    "except",
    "exists",
    "false",
    "fetch",
    "for",
    "foreign",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "in",
    "index",
    "inner",
    "insert",
    "intersect",
    "into",
    "is",
    "join",
    "key",
    "leading",
    "left",
    "like",
    "limit",
    "natural",
    "not",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "primary",
    "references",
    "revoke",
    "right",
    "role",
    "schema",
    "select",
    "session_user",
    "set",
    "some",
    "table",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "update",
    "user",
    "using",
    "values",
    "when",
    "where",
    "with",
];

/// Whether `s` is a valid recipe id.
pub fn is_recipe_id(s: &str) -> bool {
    RECIPE_ID.is_match(s)
}

/// Checks a database/user name: the pattern, then the reserved words and prefixes.
pub fn check_identifier(value: &str) -> Result<(), String> {
    if !IDENT.is_match(value) {
        return Err(format!(
            "`{}` is not a valid name: use 1 to 63 characters of a-z, 0-9 and _, not starting with a digit",
            value.escape_debug()
        ));
    }
    if RESERVED.contains(&value) {
        return Err(format!("`{value}` is a reserved word; choose another name"));
    }
    if value.starts_with("pg_") {
        return Err(format!(
            "`{value}` starts with pg_, which PostgreSQL reserves for itself"
        ));
    }
    Ok(())
}

impl ParamSpec {
    /// Checks the declaration itself (at recipe load time).
    pub fn check_decl(&self) -> Result<(), String> {
        if !IDENT.is_match(&self.name) {
            return Err("names must match ^[a-z_][a-z0-9_]{0,62}$".into());
        }
        if let Some(p) = &self.pattern {
            Regex::new(p).map_err(|e| format!("pattern does not compile: {e}"))?;
        }
        if let (Some(min), Some(max)) = (self.min, self.max)
            && min > max
        {
            return Err(format!("min ({min}) is greater than max ({max})"));
        }
        if self.kind == ParamType::Choice && self.options.is_empty() {
            return Err("a choice needs `options`".into());
        }
        if let Some(key) = self.option_notes.keys().find(|k| !self.options.contains(k)) {
            return Err(format!(
                "option_notes names `{key}`, which is not one of its options"
            ));
        }
        if let Some(option) = self
            .option_notes
            .iter()
            .find(|(_, note)| note.trim().is_empty())
            .map(|(k, _)| k)
        {
            return Err(format!("option_notes.{option} must not be empty"));
        }
        if self.secret && self.kind != ParamType::String {
            return Err("only a `string` parameter can be `secret`".into());
        }
        if self.multiline && (self.kind != ParamType::String || self.secret) {
            return Err("only a `string` parameter that is not secret can be `multiline`".into());
        }
        if let Some(d) = &self.default {
            self.validate(d).map_err(|e| format!("default: {e}"))?;
        }
        Ok(())
    }

    /// Validates one value, returning it normalised to its type. Strings coming from a command
    /// line (`--param port=6379`) are accepted for integers and booleans.
    pub fn validate(&self, value: &serde_json::Value) -> Result<serde_json::Value, String> {
        use serde_json::Value;
        match self.kind {
            ParamType::Identifier => {
                let s = value.as_str().ok_or("must be text")?;
                check_identifier(s)?;
                Ok(Value::from(s))
            }
            ParamType::String => {
                let s = value.as_str().ok_or("must be text")?;
                let max = self.max_len.unwrap_or(256);
                if s.chars().count() > max {
                    return Err(format!("must be at most {max} characters"));
                }
                if s.chars()
                    .any(|c| c.is_control() && !(self.multiline && c == '\n'))
                {
                    return Err("must not contain control characters".into());
                }
                if self.secret && !s.is_empty() && s.chars().count() < MIN_SECRET_LEN {
                    return Err(format!(
                        "is a secret and must be empty or at least {MIN_SECRET_LEN} characters long"
                    ));
                }
                if let Some(p) = &self.pattern {
                    let re = Regex::new(&format!("^(?:{p})$")).map_err(|e| e.to_string())?;
                    if !re.is_match(s) {
                        if self.secret {
                            // Never repeat a credential, not even a malformed one.
                            return Err(format!("the value does not match {p}"));
                        }
                        return Err(format!("`{}` does not match {p}", s.escape_debug()));
                    }
                }
                Ok(Value::from(s))
            }
            ParamType::Integer => {
                let n = match value {
                    Value::Number(n) => n.as_i64(),
                    Value::String(s) => s.trim().parse::<i64>().ok(),
                    _ => None,
                }
                .ok_or("must be a whole number")?;
                if self.min.is_some_and(|m| n < m) || self.max.is_some_and(|m| n > m) {
                    return Err(format!(
                        "must be between {} and {}",
                        self.min.unwrap_or(i64::MIN),
                        self.max.unwrap_or(i64::MAX)
                    ));
                }
                Ok(Value::from(n))
            }
            ParamType::Bool => match value {
                Value::Bool(b) => Ok(Value::from(*b)),
                Value::String(s) if s == "true" || s == "false" => Ok(Value::from(s == "true")),
                _ => Err("must be true or false".into()),
            },
            ParamType::Choice => {
                let s = value.as_str().ok_or("must be text")?;
                if self.options.iter().any(|o| o == s) {
                    Ok(Value::from(s))
                } else {
                    Err(format!("must be one of: {}", self.options.join(", ")))
                }
            }
        }
    }
}

/// Validates `given` against `specs`: unknown names are refused, defaults fill gaps, and a
/// missing required parameter is an error naming it.
pub fn validate_all(
    specs: &[ParamSpec],
    given: &serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Map<String, serde_json::Value>, EngineError> {
    let err = |name: &str, message: String| EngineError::Param {
        name: name.to_owned(),
        message,
    };
    if let Some(unknown) = given.keys().find(|k| !specs.iter().any(|s| &s.name == *k)) {
        let known: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        return Err(err(
            unknown,
            format!(
                "this recipe has no such parameter (it takes: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ),
        ));
    }
    let mut out = serde_json::Map::new();
    for spec in specs {
        let value = match (given.get(&spec.name), &spec.default) {
            (Some(v), _) => v,
            (None, Some(d)) => d,
            (None, None) => return Err(err(&spec.name, "is required".into())),
        };
        let v = spec.validate(value).map_err(|m| err(&spec.name, m))?;
        out.insert(spec.name.clone(), v);
    }
    Ok(out)
}

/// The non-empty values of the `secret: true` parameters among validated `values`, for the
/// redactor.
pub fn secret_values<'a>(
    specs: &'a [ParamSpec],
    values: &'a serde_json::Map<String, serde_json::Value>,
) -> impl Iterator<Item = &'a str> + 'a {
    specs
        .iter()
        .filter(|s| s.secret)
        .filter_map(|s| values.get(&s.name).and_then(serde_json::Value::as_str))
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        for ok in ["app", "_x", "my_app2", &"a".repeat(63)] {
            assert!(check_identifier(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "App",
            "1app",
            "-x",
            "x\"; DROP ROLE postgres;--",
            "a b",
            "é",
            &"a".repeat(64),
            "select",
            "postgres",
            "pg_shadow",
        ] {
            assert!(check_identifier(bad).is_err(), "{bad}");
        }
    }

    fn choice(notes: &[(&str, &str)]) -> ParamSpec {
        serde_json::from_value(serde_json::json!({
            "name": "version", "type": "choice", "options": ["distribution", "backports"],
            "option_notes": notes.iter().copied().collect::<std::collections::BTreeMap<_, _>>(),
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_multiline_string_takes_line_breaks_and_no_other_control_character() {
        let spec = |extra: serde_json::Value| -> ParamSpec {
            let mut v = serde_json::json!({ "name": "paths", "type": "string" });
            if let (Some(v), serde_json::Value::Object(extra)) = (v.as_object_mut(), extra) {
                v.extend(extra);
            }
            serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
        };
        let lines = serde_json::json!("/srv/My Files\n/etc\n");
        let multi = spec(serde_json::json!({ "multiline": true }));
        assert_eq!(multi.check_decl(), Ok(()));
        assert_eq!(multi.validate(&lines), Ok(lines.clone()));
        for bad in ["/a\tb", "/a\rb", "/a\u{1b}b"] {
            assert!(multi.validate(&serde_json::json!(bad)).is_err(), "{bad:?}");
        }
        let single = spec(serde_json::json!({}));
        assert!(
            single
                .validate(&lines)
                .is_err_and(|e| e.contains("control"))
        );
        let secret = spec(serde_json::json!({ "multiline": true, "secret": true }));
        assert!(secret.check_decl().is_err_and(|e| e.contains("multiline")));
    }

    #[test]
    fn option_notes_name_options_and_say_something() {
        assert_eq!(
            choice(&[("backports", "Debian's backports")]).check_decl(),
            Ok(())
        );
        let unknown = choice(&[("nightly", "every night")]).check_decl();
        assert!(
            unknown
                .as_ref()
                .is_err_and(|e| e.contains("`nightly`, which is not one of its options")),
            "{unknown:?}"
        );
        let empty = choice(&[("backports", " ")]).check_decl();
        assert!(
            empty
                .as_ref()
                .is_err_and(|e| e.contains("option_notes.backports must not be empty")),
            "{empty:?}"
        );
    }
}
