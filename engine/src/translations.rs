//! A recipe's own translations (`RECIPE.translations`): its title, description, parameter
//! labels and step titles in the dashboard's other languages, so a French page shows no English
//! written by Cairn. A recipe carries them because only its author knows what its words mean.
//!
//! ```rhai
//! translations: #{
//!     fr: #{
//!         title: "Rust",
//!         description: "Le compilateur Rust et Cargo.",
//!         params: #{ source: "Source" },
//!         steps: #{ "Install Rust from the distribution": "Installer Rust depuis la distribution" },
//!     },
//! },
//! ```
//!
//! [`check`] holds a language that is there to being whole: every parameter label and every
//! step title the source writes as a literal (`step("…")`) has its translation. A title built
//! at run time (`step(`Install ${v}`)`) cannot be, and shows as written.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The languages the dashboard speaks besides English.
pub const LANGUAGES: &[&str] = &["fr"];

/// One language's words for a recipe.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Translation {
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Parameter name → its label.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// English step title (as the source writes it) → its translation.
    #[serde(default)]
    pub steps: BTreeMap<String, String>,
}

/// Language code → translation.
pub type Translations = BTreeMap<String, Translation>;

/// The step titles `source` writes as string literals: `step("…")`.
pub fn literal_steps(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = source;
    while let Some(i) = rest.find("step(\"") {
        // Not part of a longer name (`my_step("…")`).
        let before = rest[..i].chars().next_back();
        rest = &rest[i + "step(\"".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let Some(end) = rest.find('"') else { break };
        let title = &rest[..end];
        // Only a whole title: `step("Backup to " + target)` is built at run time.
        let whole = rest[end + 1..].trim_start().starts_with(')');
        if whole && !title.contains('\\') && !out.iter().any(|t| t == title) {
            out.push(title.to_owned());
        }
        rest = &rest[end..];
    }
    out
}

/// What is missing or unknown in `translations`, as sentences (empty when whole).
pub fn check(
    translations: &Translations,
    description: &str,
    params: &[crate::params::ParamSpec],
    source: &str,
) -> Vec<String> {
    let mut problems = Vec::new();
    let steps = literal_steps(source);
    for (lang, t) in translations {
        if !LANGUAGES.contains(&lang.as_str()) {
            problems.push(format!(
                "translations.{lang}: not a language the dashboard speaks ({})",
                LANGUAGES.join(", ")
            ));
            continue;
        }
        if t.title.trim().is_empty() {
            problems.push(format!("translations.{lang}.title must not be empty"));
        }
        if !description.trim().is_empty() && t.description.trim().is_empty() {
            problems.push(format!("translations.{lang}.description is missing"));
        }
        for p in params.iter().filter(|p| !p.label.trim().is_empty()) {
            if t.params.get(&p.name).is_none_or(|l| l.trim().is_empty()) {
                problems.push(format!(
                    "translations.{lang}.params has no label for `{}` (\"{}\")",
                    p.name, p.label
                ));
            }
        }
        for name in t.params.keys() {
            if !params.iter().any(|p| &p.name == name) {
                problems.push(format!(
                    "translations.{lang}.params names `{name}`, which is not a parameter"
                ));
            }
        }
        for s in &steps {
            if t.steps.get(s).is_none_or(|l| l.trim().is_empty()) {
                problems.push(format!(
                    "translations.{lang}.steps has no translation of the step \"{s}\""
                ));
            }
        }
        for s in t.steps.keys() {
            if !steps.contains(s) {
                problems.push(format!(
                    "translations.{lang}.steps translates \"{s}\", which no step(\"…\") writes"
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_literal_step_titles_once_and_skips_built_ones() {
        let src = r#"
            step("Install Redis"); my_step("not this"); step(`Install ${v}`);
            step("Start the service"); step("Install Redis"); step("Backup to " + target);
        "#;
        assert_eq!(literal_steps(src), ["Install Redis", "Start the service"]);
    }

    #[test]
    fn a_language_that_is_there_must_be_whole() {
        let mut t = Translation {
            title: "Redis".into(),
            description: String::new(),
            ..Default::default()
        };
        t.steps.insert("Gone".into(), "Parti".into());
        let all = Translations::from([
            ("fr".to_owned(), t),
            ("xx".to_owned(), Translation::default()),
        ]);
        let problems = check(&all, "An in-memory store.", &[], r#"step("Install Redis")"#);
        let text = problems.join("\n");
        assert!(text.contains("translations.xx: not a language"), "{text}");
        assert!(
            text.contains("translations.fr.description is missing"),
            "{text}"
        );
        assert!(
            text.contains("no translation of the step \"Install Redis\""),
            "{text}"
        );
        assert!(
            text.contains("translates \"Gone\", which no step"),
            "{text}"
        );
    }
}
