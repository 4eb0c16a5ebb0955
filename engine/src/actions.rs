//! A recipe's further entry points (`RECIPE.actions`): day-2 work such as rotating a password or
//! dropping a database, each a `fn NAME(params)` of the recipe with parameters of its own. The
//! category's entry point (`install` or `configure`) stays the default action; an action runs
//! under the recipe's same capabilities and signature, so nothing new is trusted.
//!
//! ```rhai
//! actions: [
//!     #{ name: "drop_db", title: "Drop a database", description: "Deletes it and its data.",
//!        params: [#{ name: "db_name", type: "identifier", label: "Database" }],
//!        destructive: true, confirm: "db_name" },
//! ],
//! ```
//!
//! A destructive action names in `confirm` the parameter whose value the person must type again
//! before it runs (the control plane checks it; the engine only checks the declaration).

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::params::ParamSpec;

/// The built-in action every recipe that declares a service gets (`service_action.rs`); no
/// recipe may declare its own of that name.
pub const SERVICE_ACTION: &str = "service";

/// Names an action may not take: the entry points every recipe already has.
pub const RESERVED_NAMES: &[&str] = &["detect", "install", "configure"];

static NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z][a-z0-9_]{0,31}$").unwrap_or_else(|e| panic!("built-in regex: {e}"))
});

/// One declared action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    /// The recipe function it calls, `fn NAME(params)`: a lower-case identifier.
    pub name: String,
    /// What the dashboard's control shows, e.g. "Rotate a user's password".
    pub title: String,
    /// One sentence saying what it does (and for a destructive one, what goes).
    #[serde(default)]
    pub description: String,
    /// Its own parameters, with the same schema as `RECIPE.params`.
    #[serde(default)]
    pub params: Vec<ParamSpec>,
    /// Whether it removes something that cannot be brought back.
    #[serde(default)]
    pub destructive: bool,
    /// Destructive actions: the parameter whose value must be typed again to run it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm: Option<String>,
}

/// Whether `name` may name an action (the pattern; reserved names are checked apart).
pub fn is_action_name(name: &str) -> bool {
    NAME.is_match(name)
}

impl ActionSpec {
    /// Checks the declaration (at recipe load time); the message names what to change.
    pub fn check_decl(&self) -> Result<(), String> {
        let name = &self.name;
        if !is_action_name(name) {
            return Err(format!(
                "actions: `{}` is not a valid action name: use 1 to 32 characters of a-z, 0-9 \
                 and _, starting with a letter",
                name.escape_debug()
            ));
        }
        if RESERVED_NAMES.contains(&name.as_str()) {
            return Err(format!(
                "actions: `{name}` is reserved (detect, install and configure are the recipe's \
                 own entry points); choose another name"
            ));
        }
        if name == SERVICE_ACTION {
            return Err(format!(
                "actions: `{SERVICE_ACTION}` is reserved: the engine provides it to every recipe \
                 that declares a service (start, stop, restart, enable, disable); choose another \
                 name"
            ));
        }
        if self.title.trim().is_empty() {
            return Err(format!("actions.{name}.title must not be empty"));
        }
        let mut seen = std::collections::HashSet::new();
        for p in &self.params {
            if !seen.insert(p.name.as_str()) {
                return Err(format!(
                    "actions.{name}: parameter `{}` is declared twice",
                    p.name
                ));
            }
            p.check_decl()
                .map_err(|why| format!("actions.{name}: parameter `{}`: {why}", p.name))?;
            if !p.option_notes.is_empty() {
                return Err(format!(
                    "actions.{name}: parameter `{}`: option_notes are for the recipe's own \
                     `params` (where a version or source is chosen), not an action's",
                    p.name
                ));
            }
        }
        match (&self.confirm, self.destructive) {
            (None, true) => Err(format!(
                "actions.{name} is destructive and needs `confirm`: the name of the parameter \
                 whose value the person types again before it runs"
            )),
            (Some(_), false) => Err(format!(
                "actions.{name}: `confirm` is only for a destructive action (add `destructive: \
                 true` or remove `confirm`)"
            )),
            (Some(c), true) => match self.params.iter().find(|p| &p.name == c) {
                None => Err(format!(
                    "actions.{name}: `confirm` names `{c}`, which is not one of its parameters"
                )),
                Some(p) if p.secret => Err(format!(
                    "actions.{name}: `confirm` names `{c}`, a secret; the confirmation is typed \
                     in clear, so name a parameter that is not secret"
                )),
                Some(_) => Ok(()),
            },
            (None, false) => Ok(()),
        }
    }
}

/// Checks a recipe's list of actions: each one, and no name twice.
pub fn check_all(actions: &[ActionSpec]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for a in actions {
        a.check_decl()?;
        if !seen.insert(a.name.as_str()) {
            return Err(format!("actions: `{}` is declared twice", a.name));
        }
    }
    Ok(())
}
