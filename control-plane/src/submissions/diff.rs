//! What a submission changes against the published version: a unified diff of the recipe and
//! its companion files (the `similar` crate, within a time budget: Myers' diff is quadratic),
//! and everything its header lets it do, one by one — programs with the engine's words for
//! what each can be made to do (`policy::describe`), paths with what writing them can lead to
//! (`policy::describe_path`), services with the log file the dashboard shows of them and the
//! pid file read, actions with who may run them, credential parameters with whether they stay
//! masked. Every one the published version did not have, and every one whose power changed in
//! these words (tar allowed to extract into a new path, a service's log now `/var/log/*`, a
//! destructive action no longer marked so, a password no longer masked), is marked `grown`:
//! what an admin must read before approving.

use std::time::{Duration, Instant};

use cairn_engine::host::policy;
use cairn_engine::system::service_status::ServiceDecls;
use cairn_engine::{ActionSpec, Capabilities, RecipeMeta};
use serde::Serialize;
use similar::TextDiff;

/// How long the line comparison of one submission may take, all files together. Myers' diff
/// is quadratic in the number of differing lines (two 1 MiB files of different short lines
/// take hours); past this budget `similar` stops looking for the shortest diff and the rest is
/// shown as removed and added whole: still exact, only longer.
pub const BUDGET: Duration = Duration::from_secs(1);

/// At most this many line comparisons run at once on the whole control plane; the others wait.
const AT_ONCE: usize = 2;

/// One side of the comparison: a recipe's files and everything its header lets it do.
#[derive(Debug, Clone, Default)]
pub struct Side {
    pub version: u64,
    /// `ID.rhai` first, then companion files, each with its text.
    pub files: Vec<(String, String)>,
    pub capabilities: Capabilities,
    /// `RECIPE.services`: the log file the Services card shows, the pid file read.
    pub services: ServiceDecls,
    /// `RECIPE.actions`: further entry points, and who may run them.
    pub actions: Vec<ActionSpec>,
    /// Every parameter, the recipe's (`NAME`) and its actions' (`ACTION.NAME`), and whether it
    /// is a credential (masked in console lines, errors, plans and the job's history).
    pub params: Vec<(String, bool)>,
}

impl Side {
    /// The side of a recipe with header `meta` and `files`.
    pub fn of(meta: &RecipeMeta, files: Vec<(String, String)>) -> Self {
        let mut params: Vec<(String, bool)> = meta
            .params
            .iter()
            .map(|p| (p.name.clone(), p.secret))
            .collect();
        for a in &meta.actions {
            params.extend(
                a.params
                    .iter()
                    .map(|p| (format!("{}.{}", a.name, p.name), p.secret)),
            );
        }
        Self {
            version: meta.version,
            files,
            capabilities: meta.capabilities.clone(),
            services: meta.services.clone(),
            actions: meta.actions.clone(),
            params,
        }
    }
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
    /// `program`, `path`, `service`, `action` or `parameter`.
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
    /// False when the files differed too much to find the shortest diff within [`BUDGET`]:
    /// changed stretches are then shown removed and added whole.
    pub minimal: bool,
    pub capabilities: Vec<CapabilityChange>,
    /// The grown capabilities, in words.
    pub grown: Vec<String>,
}

/// Compares `new` with the published `old` (`None` for a new recipe), on the blocking pool,
/// at most [`AT_ONCE`] at a time: what the routes call.
pub async fn diff_off_thread(old: Option<Side>, new: Side) -> Result<Diff, String> {
    static RUNNING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(AT_ONCE);
    let _turn = RUNNING
        .acquire()
        .await
        .map_err(|_| "the comparison was stopped".to_owned())?;
    tokio::task::spawn_blocking(move || diff(old.as_ref(), &new))
        .await
        .map_err(|e| format!("the comparison failed: {e}"))
}

/// Compares `new` with the published `old` (`None` for a new recipe).
pub fn diff(old: Option<&Side>, new: &Side) -> Diff {
    let empty = Side::default();
    let base = old.unwrap_or(&empty);
    let capabilities = capabilities(old, new);
    let grown = capabilities
        .iter()
        .filter(|c| c.grown)
        .map(CapabilityChange::words)
        .collect();
    let deadline = Instant::now() + BUDGET;
    let source = source_diff(base, new, deadline);
    Diff {
        from_version: old.map(|o| o.version),
        to_version: new.version,
        minimal: Instant::now() < deadline,
        source,
        capabilities,
        grown,
    }
}

fn source_diff(old: &Side, new: &Side, deadline: Instant) -> String {
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
        let from = match &before {
            Some(_) => format!("{name} v{} (published)", old.version),
            None => "/dev/null".to_owned(),
        };
        let to = match &after {
            Some(_) => format!("{name} v{} (submitted)", new.version),
            None => "/dev/null".to_owned(),
        };
        let (before, after) = (before.unwrap_or_default(), after.unwrap_or_default());
        let diff = TextDiff::configure()
            .deadline(deadline)
            .diff_lines(&before, &after);
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

/// What a declared thing of a kind allows, in words, given everything its recipe declares.
type Power<'a> = dyn Fn(&str, &Side) -> String + 'a;

fn service_power(name: &str, side: &Side) -> String {
    let mut words = format!("starts, stops, restarts, enables and disables the service {name}");
    if let Some(decl) = side.services.get(name) {
        if let Some(log) = &decl.log {
            words.push_str(&format!(
                "; shows the log file {log} to whoever sees the server"
            ));
        }
        if let Some(pid) = &decl.pid {
            words.push_str(&format!("; reads its process id from {pid}"));
        }
    }
    words
}

fn action_power(name: &str, side: &Side) -> String {
    match side.actions.iter().find(|a| a.name == name) {
        Some(a) if a.destructive => format!(
            "destructive: run only by an admin, the owner or an operator granted it, after \
             typing the value of {} again",
            a.confirm.as_deref().unwrap_or("its confirmation")
        ),
        Some(_) => "any operator who sees the server runs it, without a confirmation".to_owned(),
        None => String::new(),
    }
}

fn param_power(name: &str, side: &Side) -> String {
    match side.params.iter().find(|(n, _)| n == name) {
        Some((_, true)) => {
            "a credential: masked in console lines, errors, plans and the job's history".to_owned()
        }
        _ => "not a credential: shown as typed in console lines and the job's history".to_owned(),
    }
}

/// One kind of declaration: its name, the names on each side, their power, and whether adding
/// one grows what the recipe can do (a new credential parameter only masks more).
struct Kind<'a> {
    kind: &'static str,
    was: Vec<String>,
    now: Vec<String>,
    power: &'a Power<'a>,
    added_grows: bool,
}

fn capabilities(old: Option<&Side>, new: &Side) -> Vec<CapabilityChange> {
    let none = Side::default();
    let before = old.unwrap_or(&none);
    let program = |name: &str, s: &Side| policy::describe(name, &s.capabilities);
    let path = |name: &str, _: &Side| policy::describe_path(name);
    let actions = |s: &Side| s.actions.iter().map(|a| a.name.clone()).collect();
    // Parameters are listed when either version treats them as credentials.
    let credential = |name: &String| {
        [before, new]
            .iter()
            .any(|s| s.params.iter().any(|(n, secret)| n == name && *secret))
    };
    let params = |s: &Side| {
        s.params
            .iter()
            .map(|(n, _)| n.clone())
            .filter(|n| credential(n))
            .collect()
    };
    let kinds = [
        Kind {
            kind: "program",
            was: before.capabilities.programs.clone(),
            now: new.capabilities.programs.clone(),
            power: &program,
            added_grows: true,
        },
        Kind {
            kind: "path",
            was: before.capabilities.paths.clone(),
            now: new.capabilities.paths.clone(),
            power: &path,
            added_grows: true,
        },
        Kind {
            kind: "service",
            was: before.capabilities.services.clone(),
            now: new.capabilities.services.clone(),
            power: &service_power,
            added_grows: true,
        },
        Kind {
            kind: "action",
            was: actions(before),
            now: actions(new),
            power: &action_power,
            added_grows: true,
        },
        Kind {
            kind: "parameter",
            was: params(before),
            now: params(new),
            power: &param_power,
            added_grows: false,
        },
    ];
    let mut out = Vec::new();
    for k in kinds {
        for name in &k.now {
            let power_now = (k.power)(name, new);
            let (change, was_power) = if !k.was.contains(name) {
                (Change::Added, None)
            } else {
                let power_then = (k.power)(name, before);
                if power_then == power_now {
                    (Change::Kept, None)
                } else {
                    (Change::Changed, Some(power_then))
                }
            };
            out.push(CapabilityChange {
                kind: k.kind,
                name: name.clone(),
                grown: match change {
                    Change::Added => k.added_grows,
                    Change::Changed => true,
                    Change::Removed | Change::Kept => false,
                },
                change,
                power: power_now,
                was: was_power,
            });
        }
        for name in k.was.iter().filter(|n| !k.now.contains(n)) {
            out.push(CapabilityChange {
                kind: k.kind,
                name: name.clone(),
                change: Change::Removed,
                power: (k.power)(name, before),
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
            ..Side::default()
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

    /// THREATS row 53: two files of different short lines (what an operator can submit against
    /// a published recipe) took Myers' diff minutes to hours; the comparison now ends within
    /// its budget and still shows every line that went and came.
    #[test]
    fn a_pathological_diff_ends_within_its_budget_and_still_shows_every_line() {
        let lines = 100_000;
        let old = side(1, &"a\n".repeat(lines), &[], &[]);
        let mut new = side(2, &"b\n".repeat(lines), &[], &[]);
        new.files.push((
            "stamp.conf".to_owned(),
            (0..lines)
                .map(|i| if i % 3 == 0 { "a\n" } else { "c\n" })
                .collect(),
        ));
        let mut published = old.clone();
        published.files.push((
            "stamp.conf".to_owned(),
            (0..lines)
                .map(|i| if i % 2 == 0 { "a\n" } else { "b\n" })
                .collect(),
        ));
        for before in [&old, &published] {
            let started = std::time::Instant::now();
            let d = diff(Some(before), &new);
            let took = started.elapsed();
            assert!(
                took < BUDGET + std::time::Duration::from_secs(4),
                "the diff took {took:?}"
            );
            assert!(!d.minimal, "a diff past its budget says it is not minimal");
            let count = |prefix: &str| d.source.lines().filter(|l| *l == prefix).count();
            // Every line of the recipe went and came (some of stamp.conf's may be kept).
            assert!(count("-a") >= lines, "every removed line is shown");
            assert_eq!(count("+b"), lines, "every added line is shown");
        }
        let small = diff(Some(&side(1, "x\n", &[], &[])), &side(2, "y\n", &[], &[]));
        assert!(small.minimal);
    }

    fn action(name: &str, destructive: bool) -> ActionSpec {
        ActionSpec {
            name: name.to_owned(),
            title: "Drop a database".to_owned(),
            description: String::new(),
            params: Vec::new(),
            destructive,
            confirm: destructive.then(|| "name".to_owned()),
        }
    }

    /// THREATS row 54: power a recipe gains outside `capabilities` — a service's log file the
    /// Services card shows to every viewer, a destructive action no longer marked so (any
    /// operator runs it, unconfirmed), a password no longer masked — is grown like a program.
    #[test]
    fn power_gained_outside_capabilities_is_grown_and_named() {
        use cairn_engine::system::service_status::ServiceDecl;
        let mut old = side(1, "x\n", &[], &[]);
        old.capabilities.services = vec!["redis-server".to_owned()];
        old.services.insert(
            "redis-server".to_owned(),
            ServiceDecl {
                log: Some("/var/log/redis/redis-server.log".to_owned()),
                pid: None,
            },
        );
        old.actions = vec![action("drop_db", true)];
        old.params = vec![("password".to_owned(), true), ("port".to_owned(), false)];
        let d = diff(Some(&old), &old);
        assert!(d.grown.is_empty(), "{:?}", d.grown);

        let mut new = old.clone();
        new.version = 2;
        if let Some(decl) = new.services.get_mut("redis-server") {
            decl.log = Some("/var/log/*".to_owned());
        }
        new.actions = vec![action("drop_db", false), action("flush", false)];
        new.params = vec![
            ("password".to_owned(), false),
            ("port".to_owned(), false),
            ("flush.token".to_owned(), true),
        ];
        let d = diff(Some(&old), &new);
        let grown = |kind: &str, name: &str| {
            d.capabilities
                .iter()
                .find(|c| c.kind == kind && c.name == name)
                .map(|c| (c.change, c.grown))
        };
        assert_eq!(
            grown("service", "redis-server"),
            Some((Change::Changed, true))
        );
        assert_eq!(grown("action", "drop_db"), Some((Change::Changed, true)));
        assert_eq!(grown("action", "flush"), Some((Change::Added, true)));
        assert_eq!(
            grown("parameter", "password"),
            Some((Change::Changed, true))
        );
        // A new credential only masks more; an ordinary parameter is not listed.
        assert_eq!(
            grown("parameter", "flush.token"),
            Some((Change::Added, false))
        );
        assert_eq!(grown("parameter", "port"), None);
        let words = d.grown.join("\n");
        assert!(words.contains("/var/log/*"), "{words}");
        assert!(words.contains("without a confirmation"), "{words}");
        assert!(words.contains("shown as typed"), "{words}");
        assert_eq!(d.grown.len(), 4, "{words}");
    }

    #[test]
    fn nothing_changed_is_an_empty_diff() {
        let old = side(1, "x\n", &["true"], &[]);
        let d = diff(Some(&old), &old);
        assert_eq!(d.source, "");
        assert!(d.grown.is_empty());
    }
}
