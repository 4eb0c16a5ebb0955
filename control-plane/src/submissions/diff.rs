//! What a submission changes against the published version: a unified diff of the recipe and
//! its companion files (the `similar` crate), and its capabilities one by one — programs with
//! the engine's words for what each can be made to do (`policy::describe`), paths with what
//! writing them can lead to (`policy::describe_path`), services. Every capability the published
//! version did not have, and every program whose power grew in the engine's words (tar allowed
//! to extract into a new path), is marked `grown`: what an admin must read before approving.

use cairn_engine::Capabilities;
use cairn_engine::host::policy;
use serde::Serialize;
use similar::TextDiff;

/// One side of the comparison: a recipe's files and what it declares.
#[derive(Debug, Clone, Default)]
pub struct Side {
    pub version: u64,
    /// `ID.rhai` first, then companion files, each with its text.
    pub files: Vec<(String, String)>,
    pub capabilities: Capabilities,
}

/// How one capability changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Added,
    Removed,
    /// Kept, but what the engine says it can do changed.
    Changed,
    Kept,
}

/// One declared capability of either version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CapabilityChange {
    /// `program`, `path` or `service`.
    pub kind: &'static str,
    pub name: String,
    pub change: Change,
    /// What it allows, in the engine's words (for a removed one: what it allowed).
    pub power: String,
    /// What it allowed before, when that changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub was: Option<String>,
    /// Added, or its power changed: the recipe can do more than the published version.
    pub grown: bool,
}

impl CapabilityChange {
    /// `program curl (downloads files)`: how answers, the audit and the CLI name it.
    pub fn words(&self) -> String {
        format!("{} {} ({})", self.kind, self.name, self.power)
    }
}

/// The whole comparison.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Diff {
    /// The published version (`None`: the recipe is new).
    pub from_version: Option<u64>,
    pub to_version: u64,
    /// A unified diff of every file (empty when nothing changed).
    pub source: String,
    pub capabilities: Vec<CapabilityChange>,
    /// The grown capabilities, in words.
    pub grown: Vec<String>,
}

/// Compares `new` with the published `old` (`None` for a new recipe).
pub fn diff(old: Option<&Side>, new: &Side) -> Diff {
    let empty = Side::default();
    let base = old.unwrap_or(&empty);
    let capabilities = capabilities(old.map(|o| &o.capabilities), &new.capabilities);
    let grown = capabilities
        .iter()
        .filter(|c| c.grown)
        .map(CapabilityChange::words)
        .collect();
    Diff {
        from_version: old.map(|o| o.version),
        to_version: new.version,
        source: source_diff(base, new, old.is_some()),
        capabilities,
        grown,
    }
}

fn source_diff(old: &Side, new: &Side, published: bool) -> String {
    let mut names: Vec<&str> = new.files.iter().map(|(n, _)| n.as_str()).collect();
    for (n, _) in &old.files {
        if !names.contains(&n.as_str()) {
            names.push(n);
        }
    }
    let text = |side: &Side, name: &str| {
        side.files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
    };
    let mut out = String::new();
    for name in names {
        let (before, after) = (text(old, name), text(new, name));
        if before == after {
            continue;
        }
        let from = match (&before, published) {
            (Some(_), _) => format!("{name} v{} (published)", old.version),
            (None, _) => "/dev/null".to_owned(),
        };
        let to = match &after {
            Some(_) => format!("{name} v{} (submitted)", new.version),
            None => "/dev/null".to_owned(),
        };
        let (before, after) = (before.unwrap_or_default(), after.unwrap_or_default());
        let diff = TextDiff::from_lines(&before, &after);
        out.push_str(
            &diff
                .unified_diff()
                .context_radius(3)
                .header(&from, &to)
                .to_string(),
        );
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// What a capability of a kind allows, in words, given all of the recipe's capabilities.
type Power<'a> = dyn Fn(&str, &Capabilities) -> String + 'a;

fn capabilities(old: Option<&Capabilities>, new: &Capabilities) -> Vec<CapabilityChange> {
    let none = Capabilities::default();
    let before = old.unwrap_or(&none);
    let mut out = Vec::new();
    let program = |name: &str, caps: &Capabilities| policy::describe(name, caps);
    let path = |name: &str, _: &Capabilities| policy::describe_path(name);
    let service = |name: &str, _: &Capabilities| {
        format!("starts, stops, restarts, enables and disables the service {name}")
    };
    let kinds: [(&'static str, &Vec<String>, &Vec<String>, &Power); 3] = [
        ("program", &before.programs, &new.programs, &program),
        ("path", &before.paths, &new.paths, &path),
        ("service", &before.services, &new.services, &service),
    ];
    for (kind, was, now, power) in kinds {
        for name in now {
            let power_now = power(name, new);
            let (change, was_power) = if !was.contains(name) {
                (Change::Added, None)
            } else {
                let power_then = power(name, before);
                if power_then == power_now {
                    (Change::Kept, None)
                } else {
                    (Change::Changed, Some(power_then))
                }
            };
            out.push(CapabilityChange {
                kind,
                name: name.clone(),
                grown: matches!(change, Change::Added | Change::Changed),
                change,
                power: power_now,
                was: was_power,
            });
        }
        for name in was.iter().filter(|n| !now.contains(n)) {
            out.push(CapabilityChange {
                kind,
                name: name.clone(),
                change: Change::Removed,
                power: power(name, before),
                was: None,
                grown: false,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(version: u64, source: &str, programs: &[&str], paths: &[&str]) -> Side {
        Side {
            version,
            files: vec![("stamp.rhai".to_owned(), source.to_owned())],
            capabilities: Capabilities {
                programs: programs.iter().map(|p| (*p).to_owned()).collect(),
                paths: paths.iter().map(|p| (*p).to_owned()).collect(),
                services: Vec::new(),
            },
        }
    }

    #[test]
    fn an_added_program_is_grown_and_named_with_its_power() {
        let old = side(1, "a\nversion: 1\nc\n", &[], &["/opt/stamp"]);
        let new = side(2, "a\nversion: 2\nc\n", &["true"], &["/opt/stamp"]);
        let d = diff(Some(&old), &new);
        assert_eq!(d.from_version, Some(1));
        assert!(
            d.source.contains("-version: 1\n+version: 2\n"),
            "{}",
            d.source
        );
        assert!(
            d.source.contains("--- stamp.rhai v1 (published)"),
            "{}",
            d.source
        );
        assert_eq!(d.grown, ["program true (does nothing but exit)"]);
        let kept = d
            .capabilities
            .iter()
            .find(|c| c.kind == "path")
            .expect("the path is listed");
        assert_eq!((kept.change, kept.grown), (Change::Kept, false));
    }

    #[test]
    fn a_removed_capability_is_listed_but_not_grown_and_a_new_recipe_grows_everything() {
        let old = side(1, "x\n", &["true"], &[]);
        let new = side(2, "y\n", &[], &[]);
        let d = diff(Some(&old), &new);
        assert!(d.grown.is_empty());
        assert_eq!(d.capabilities[0].change, Change::Removed);
        let d = diff(None, &old);
        assert_eq!(d.from_version, None);
        assert_eq!(d.grown.len(), 1);
        assert!(
            d.source
                .starts_with("--- /dev/null\n+++ stamp.rhai v1 (submitted)"),
            "{}",
            d.source
        );
    }

    #[test]
    fn nothing_changed_is_an_empty_diff() {
        let old = side(1, "x\n", &["true"], &[]);
        let d = diff(Some(&old), &old);
        assert_eq!(d.source, "");
        assert!(d.grown.is_empty());
    }
}
