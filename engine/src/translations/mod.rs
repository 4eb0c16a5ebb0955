//! A recipe's own translations (`RECIPE.translations`): its title, description, parameter
//! labels, step titles, console lines and result messages in the dashboard's other languages,
//! so a French page shows no English written by Cairn. A recipe carries them because only its
//! author knows what its words mean.
//!
//! ```rhai
//! translations: #{
//!     fr: #{
//!         title: "Rust",
//!         description: "Le compilateur Rust et Cargo.",
//!         params: #{ source: "Source" },
//!         steps: #{ "Install Rust from the distribution": "Installer Rust depuis la distribution" },
//!         messages: #{ "Rust ${v} is installed": "Rust ${v} est installé" },
//!     },
//! },
//! ```
//!
//! [`check`] holds a language that is there to being whole: every parameter label, every step
//! title and every message the source writes as one literal ([`sentences`]) has its
//! translation, keyed by the English literal as written (a template's `${…}` parts included,
//! which the translation must keep: the page fills them with what the recipe printed), and every
//! failure it throws as one literal (`throw "…"`, the job's failure sentence). A
//! sentence built with `+` cannot be, and shows as written.

mod sentences;

use std::collections::BTreeMap;

pub use sentences::{Sentences, placeholders, sentences};

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
    /// English console line or result message (as the source writes it, `${…}` included) →
    /// its translation.
    #[serde(default)]
    pub messages: BTreeMap<String, String>,
    /// Parameter name → option → its note (`option_notes` of `RECIPE.params`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub option_notes: BTreeMap<String, BTreeMap<String, String>>,
    /// Action name (`RECIPE.actions`) → its title, description and parameter labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub actions: BTreeMap<String, ActionTranslation>,
}

/// One language's words for one action.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionTranslation {
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Parameter name → its label.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

/// Language code → translation.
pub type Translations = BTreeMap<String, Translation>;

/// What is missing or unknown in `translations`, as sentences (empty when whole).
pub fn check(
    translations: &Translations,
    description: &str,
    params: &[crate::params::ParamSpec],
    actions: &[crate::actions::ActionSpec],
    source: &str,
) -> Vec<String> {
    let mut problems = Vec::new();
    let found = sentences(source);
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
        labels(&mut problems, &format!("{lang}.params"), params, &t.params);
        option_notes(&mut problems, lang, params, &t.option_notes);
        check_actions(&mut problems, lang, actions, &t.actions);
        whole(&mut problems, lang, "steps", "step", &found.steps, &t.steps);
        whole(
            &mut problems,
            lang,
            "messages",
            "message",
            &found.messages,
            &t.messages,
        );
    }
    problems
}

/// `labels` has a label for every labelled parameter of `params`, and names no other.
fn labels(
    problems: &mut Vec<String>,
    at: &str,
    params: &[crate::params::ParamSpec],
    labels: &BTreeMap<String, String>,
) {
    for p in params.iter().filter(|p| !p.label.trim().is_empty()) {
        if labels.get(&p.name).is_none_or(|l| l.trim().is_empty()) {
            problems.push(format!(
                "translations.{at} has no label for `{}` (\"{}\")",
                p.name, p.label
            ));
        }
    }
    for name in labels.keys() {
        if !params.iter().any(|p| &p.name == name) {
            problems.push(format!(
                "translations.{at} names `{name}`, which is not a parameter"
            ));
        }
    }
}

/// Every option note of `params` is translated, and nothing else is.
fn option_notes(
    problems: &mut Vec<String>,
    lang: &str,
    params: &[crate::params::ParamSpec],
    notes: &BTreeMap<String, BTreeMap<String, String>>,
) {
    for p in params {
        for (option, english) in &p.option_notes {
            let ok = notes
                .get(&p.name)
                .and_then(|m| m.get(option))
                .is_some_and(|n| !n.trim().is_empty());
            if !ok {
                problems.push(format!(
                    "translations.{lang}.option_notes.{}.{option} is missing (\"{english}\")",
                    p.name
                ));
            }
        }
    }
    for (name, map) in notes {
        let Some(p) = params.iter().find(|p| &p.name == name) else {
            problems.push(format!(
                "translations.{lang}.option_notes names `{name}`, which is not a parameter"
            ));
            continue;
        };
        for option in map.keys().filter(|o| !p.option_notes.contains_key(*o)) {
            problems.push(format!(
                "translations.{lang}.option_notes.{name} names `{option}`, which has no note"
            ));
        }
    }
}

/// Every action has its title, description and labels in `lang`, and no other is named.
fn check_actions(
    problems: &mut Vec<String>,
    lang: &str,
    actions: &[crate::actions::ActionSpec],
    map: &BTreeMap<String, ActionTranslation>,
) {
    for a in actions {
        let Some(t) = map.get(&a.name) else {
            problems.push(format!(
                "translations.{lang}.actions has no `{}` (its title, description and parameter \
                 labels)",
                a.name
            ));
            continue;
        };
        if t.title.trim().is_empty() {
            problems.push(format!(
                "translations.{lang}.actions.{}.title must not be empty",
                a.name
            ));
        }
        if !a.description.trim().is_empty() && t.description.trim().is_empty() {
            problems.push(format!(
                "translations.{lang}.actions.{}.description is missing",
                a.name
            ));
        }
        labels(
            problems,
            &format!("{lang}.actions.{}.params", a.name),
            &a.params,
            &t.params,
        );
    }
    for name in map.keys() {
        if !actions.iter().any(|a| &a.name == name) {
            problems.push(format!(
                "translations.{lang}.actions names `{name}`, which is not an action"
            ));
        }
    }
}

/// `map` translates every sentence of `written`, keeps its `${…}` parts, and nothing else.
fn whole(
    problems: &mut Vec<String>,
    lang: &str,
    field: &str,
    what: &str,
    written: &[String],
    map: &BTreeMap<String, String>,
) {
    for s in written {
        match map.get(s) {
            Some(l) if !l.trim().is_empty() => {
                let (mut want, mut got) = (placeholders(s), placeholders(l));
                want.sort_unstable();
                got.sort_unstable();
                want.dedup();
                got.dedup();
                if want != got {
                    problems.push(format!(
                        "translations.{lang}.{field}: the translation of \"{s}\" must keep its \
                         parts {} (it has {})",
                        want.join(" "),
                        if got.is_empty() {
                            "none".to_owned()
                        } else {
                            got.join(" ")
                        }
                    ));
                }
            }
            _ => problems.push(format!(
                "translations.{lang}.{field} has no translation of the {what} \"{s}\""
            )),
        }
    }
    for s in map.keys() {
        if !written.contains(s) {
            problems.push(format!(
                "translations.{lang}.{field} translates \"{s}\", which the recipe does not \
                 write as one literal"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_note_is_translated_and_nothing_else() {
        let param: crate::params::ParamSpec = serde_json::from_value(serde_json::json!({
            "name": "version", "type": "choice", "label": "Version",
            "options": ["distribution", "backports"],
            "option_notes": { "distribution": "Debian's package", "backports": "Debian's backports" },
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let mut t = Translation {
            title: "Go".into(),
            ..Default::default()
        };
        t.params.insert("version".into(), "Version".into());
        t.option_notes.insert(
            "version".into(),
            BTreeMap::from([
                ("distribution".to_owned(), "Le paquet de Debian".to_owned()),
                ("latest".to_owned(), "La dernière".to_owned()),
            ]),
        );
        t.option_notes.insert("source".into(), BTreeMap::new());
        let all = Translations::from([("fr".to_owned(), t)]);
        let text = check(&all, "", std::slice::from_ref(&param), &[], "").join("\n");
        assert!(
            text.contains(
                "translations.fr.option_notes.version.backports is missing (\"Debian's backports\")"
            ),
            "{text}"
        );
        assert!(
            text.contains("option_notes.version names `latest`, which has no note"),
            "{text}"
        );
        assert!(
            text.contains("option_notes names `source`, which is not a parameter"),
            "{text}"
        );
        assert!(!text.contains("distribution"), "{text}");
    }

    #[test]
    fn a_language_that_is_there_must_be_whole() {
        let mut t = Translation {
            title: "Redis".into(),
            description: String::new(),
            ..Default::default()
        };
        t.steps.insert("Gone".into(), "Parti".into());
        t.messages.insert("Created ${user}".into(), "Créé".into());
        let all = Translations::from([
            ("fr".to_owned(), t),
            ("xx".to_owned(), Translation::default()),
        ]);
        let problems = check(
            &all,
            "An in-memory store.",
            &[],
            &[],
            r#"step("Install Redis"); log(`Created ${user}`); log("Done");"#,
        );
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
            text.contains("translates \"Gone\", which the recipe does not"),
            "{text}"
        );
        assert!(
            text.contains("the translation of \"Created ${user}\" must keep its parts ${user}"),
            "{text}"
        );
        assert!(
            text.contains("no translation of the message \"Done\""),
            "{text}"
        );
    }
}
