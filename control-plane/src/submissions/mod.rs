//! Recipe publishing (issue 22): a recipe sent by `cairn-recipe publish` or the dashboard's
//! upload is checked exactly as `cairn-recipe check` checks it (`diagnostics::check_source`,
//! the same engine function), must be newer than the published version, and waits as a
//! pending submission (`store::Submission`) until an admin approves it; [`diff`] is what the
//! admin reads first. Approved submissions are the registry's overlays ([`layers`]); a
//! pending one never reaches the registry, so no agent can get it. The published one can be
//! withdrawn ([`withdrawal`]): what came before it is published again, one version above.
//! What pending submissions may hold, per account and in all, is [`quota`].
//!
//! The routes are `http::submissions`; this module knows the engine, the registry and the
//! store, not HTTP.

pub mod diff;
pub mod quota;
pub mod withdrawal;

use std::collections::BTreeMap;

use cairn_engine::Recipe;
use cairn_engine::diagnostics::{self, Diagnostic, Severity};
use serde::Deserialize;

use crate::registry::{Layers, Overlay, Registry};
use crate::store::{Store, StoreResult, Submission};

/// At most this many companion files per submission.
pub const MAX_FILES: usize = 16;

/// What a submission sends: the recipe's text and its companion files (`ID.NAME` → text).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upload {
    pub source: String,
    /// The file's name on the author's machine, for the diagnostics (`redis.rhai`).
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub files: BTreeMap<String, String>,
}

/// Why a submission is refused; nothing is stored.
#[derive(Debug)]
pub enum Refused {
    /// The request is malformed (400).
    Bad(String),
    /// The check found errors (422): every diagnostic, errors and warnings.
    Check {
        message: String,
        diagnostics: Vec<Diagnostic>,
    },
    /// The version is not above the published one (409).
    NotNewer(String),
}

/// An upload that passed the check.
#[derive(Debug, Clone)]
pub struct Checked {
    pub recipe: Recipe,
    /// Companion files, sorted by name.
    pub files: Vec<(String, String)>,
    /// The check's warnings, `line:col: warning: message` each.
    pub warnings: Vec<String>,
}

/// `line:col: severity: message`: a diagnostic without the file name (the author knows it).
pub fn at(d: &Diagnostic) -> String {
    format!("{}:{}: {}: {}", d.line, d.col, d.severity, d.message)
}

/// Runs `cairn-recipe check`'s checks on an upload.
pub fn check(upload: &Upload) -> Result<Checked, Refused> {
    if upload.source.trim().is_empty() {
        return Err(Refused::Bad(
            "the recipe is empty: send its text as \"source\"".to_owned(),
        ));
    }
    let file = upload
        .file
        .as_deref()
        .filter(|f| !f.is_empty() && f.len() <= 128 && !f.contains(['/', '\n']))
        .unwrap_or("recipe.rhai");
    let found = diagnostics::check_source(file, &upload.source);
    let errors = found
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    if errors > 0 {
        let listed: Vec<String> = found
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(at)
            .collect();
        return Err(Refused::Check {
            message: format!(
                "the recipe did not pass the check ({errors} error{plural}); nothing was stored: \
                 {found}",
                plural = if errors == 1 { "" } else { "s" },
                found = listed.join("; ")
            ),
            diagnostics: found,
        });
    }
    let recipe = Recipe::parse(file, &upload.source).map_err(|e| Refused::Check {
        message: format!("the recipe did not pass the check; nothing was stored: {e}"),
        diagnostics: Vec::new(),
    })?;
    let id = &recipe.meta.id;
    if upload.files.len() > MAX_FILES {
        return Err(Refused::Bad(format!(
            "a recipe has at most {MAX_FILES} companion files; this one sent {}",
            upload.files.len()
        )));
    }
    for name in upload.files.keys() {
        let good = name.len() <= 128
            && name.starts_with(&format!("{id}."))
            && !name.ends_with(".rhai")
            && !name.contains("..")
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !good {
            return Err(Refused::Bad(format!(
                "the companion file \"{}\" is not named as the registry names them: \
                 {id}.NAME (letters, digits, dots, dashes, underscores), not .rhai",
                name.escape_default()
            )));
        }
    }
    Ok(Checked {
        files: upload
            .files
            .iter()
            .map(|(n, t)| (n.clone(), t.clone()))
            .collect(),
        warnings: found
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .map(at)
            .collect(),
        recipe,
    })
}

/// The published version of `id`, as one side of a [`diff::diff`].
pub fn published(reg: &Registry, id: &str) -> Option<diff::Side> {
    use base64::Engine as _;
    let p = reg.get(id)?;
    let main = format!("{id}.rhai");
    let mut files = vec![(main.clone(), p.recipe.source.clone())];
    for (name, b64) in &p.bundle.files {
        if *name != main {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap_or_default();
            files.push((name.clone(), String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    Some(diff::Side::of(&p.recipe.meta, files))
}

/// A checked upload or a stored submission, as the other side of a [`diff::diff`].
pub fn side(recipe: &Recipe, files: &[(String, String)]) -> diff::Side {
    let mut all = vec![(format!("{}.rhai", recipe.meta.id), recipe.source.clone())];
    all.extend(files.iter().cloned());
    diff::Side::of(&recipe.meta, all)
}

/// Refuses `version` of `id` unless it is above the published one (and, for a recipe
/// withdrawn whole, not below its floor: agents may have run the version withdrawn).
pub fn newer(reg: &Registry, id: &str, version: u64) -> Result<(), Refused> {
    let floor = reg.floors.get(id).copied();
    match (reg.get(id).map(|p| p.recipe.meta.version), floor) {
        (Some(published), _) if version <= published => Err(Refused::NotNewer(format!(
            "{id} v{published} is published and this is v{version}: a submission must have a \
             higher version, so raise RECIPE.version above {published} and submit it again"
        ))),
        (None, Some(floor)) if version < floor => Err(Refused::NotNewer(format!(
            "{id} was withdrawn and servers may have run up to v{}: a submission must be \
             v{floor} or higher, so raise RECIPE.version to {floor} and submit it again",
            floor - 1
        ))),
        _ => Ok(()),
    }
}

/// A stored submission as the registry publishes it.
pub fn overlay(s: &Submission) -> Overlay {
    Overlay {
        recipe_id: s.recipe_id.clone(),
        version: s.version,
        source: s.source.clone(),
        files: s
            .files
            .iter()
            .map(|(n, t)| (n.clone(), t.as_bytes().to_vec()))
            .collect(),
        submission_id: s.id.clone(),
    }
}

/// The approved submissions the registry publishes over `recipes/`, and the recipes' floors.
pub fn layers(store: &dyn Store) -> StoreResult<Layers> {
    Ok(Layers {
        overlays: store.approved_submissions()?.iter().map(overlay).collect(),
        floors: store.recipe_floors()?,
    })
}

/// A registry built in the registry's turn (`App::registry_turn`), not yet published: the
/// turn is held until it is [`Rebuilt::publish`]ed or dropped, so no other build can be put in
/// place between this one's reading of the approved submissions and its swap.
pub struct Rebuilt<'a> {
    _turn: tokio::sync::MutexGuard<'a, ()>,
    app: &'a crate::app::App,
    pub registry: Registry,
}

impl Rebuilt<'_> {
    /// Puts the built registry in place: agents get its bundles from the next job on.
    pub fn publish(self) {
        *self.app.registry.write().unwrap_or_else(|e| e.into_inner()) = self.registry;
    }
}

/// The registry loaded again from `recipes/` with the approved submissions over it (and
/// `candidate` over those: an approval checks the registry it would publish before storing
/// its decision), signed with the control plane's key, off the async threads. Every rebuild
/// (a reload, an approval) takes the one turn first and reads the approved submissions only
/// then, so two of them at once are done one after the other and the one published last has
/// read every approval stored before it: a reload racing an approval cannot publish a
/// registry without it.
pub async fn rebuild(
    app: &std::sync::Arc<crate::app::App>,
    candidate: Option<Overlay>,
) -> anyhow::Result<Rebuilt<'_>> {
    let turn = app.registry_turn.lock().await;
    let mut layers = crate::store::blocking(&app.store, layers).await?;
    if let Some(c) = candidate {
        layers.overlays.retain(|o| o.recipe_id != c.recipe_id);
        layers.overlays.push(c);
    }
    let dir = app.config.recipes_dir.clone();
    let a = std::sync::Arc::clone(app);
    let registry = tokio::task::spawn_blocking(move || {
        Registry::load_with(&dir, &layers, a.signer.key(), cairn_protocol::unix_now())
    })
    .await?;
    Ok(Rebuilt {
        _turn: turn,
        app,
        registry,
    })
}

/// The registry loaded again from `recipes/` with `layers` over it, signed with the control
/// plane's key, off the async threads (a reload, and an approval or a withdrawal before it is
/// decided).
pub async fn load(
    app: &std::sync::Arc<crate::app::App>,
    layers: Layers,
) -> Result<Registry, tokio::task::JoinError> {
    let dir = app.config.recipes_dir.clone();
    let app = std::sync::Arc::clone(app);
    tokio::task::spawn_blocking(move || {
        Registry::load_with(&dir, &layers, app.signer.key(), cairn_protocol::unix_now())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipe(id: &str) -> String {
        format!(
            r#"const RECIPE = #{{
    id: "{id}",
    title: "Stamp",
    category: "runtime",
    version: 2,
    description: "A runtime for tests.",
    estimated_size_mb: 1,
    os: [ #{{ id: "debian", versions: ["12"] }} ],
    params: [],
    capabilities: #{{ programs: ["true"], paths: [], services: [] }},
}};

fn detect() {{ #{{ installed: false }} }}

fn install(params) {{
    #{{ changed: true, version: "1.0" }}
}}
"#
        )
    }

    fn upload(id: &str, files: &[&str]) -> Upload {
        Upload {
            source: recipe(id),
            file: None,
            files: files
                .iter()
                .map(|n| ((*n).to_owned(), "x".to_owned()))
                .collect(),
        }
    }

    /// THREATS row 51's names: an id or a companion file name that is a path, climbs out with
    /// `..`, names another recipe's files, or carries markup or control characters is refused
    /// before anything is stored; the registry's own names pass.
    #[test]
    fn ids_and_file_names_that_are_paths_markup_or_another_recipes_are_refused() {
        assert!(check(&upload("stamp", &["stamp.conf.j2"])).is_ok());
        for id in [
            "../etc",
            "a/b",
            "stamp/..",
            "<img src=x onerror=alert(1)>",
            "stamp\u{1b}[2J",
            "Stamp",
            "",
        ] {
            let id_escaped = id.replace('\\', "\\\\").replace('"', "\\\"");
            match check(&upload(&id_escaped, &[])) {
                Err(Refused::Check { .. }) => {}
                other => panic!("the id {id:?} was not refused by the check: {other:?}"),
            }
        }
        for name in [
            "stamp.a/b",
            "stamp./../../etc/cron.d/x",
            "stamp..conf",
            "stamp.rhai",
            "stamp.x.rhai",
            "redis.conf.j2",
            "stamp-other.conf",
            "stamp.<b>",
            "stamp.\u{1b}[2J",
            "stamp.conf\n",
            "/etc/stamp.conf",
        ] {
            match check(&upload("stamp", &[name])) {
                Err(Refused::Bad(why)) => assert!(
                    !why.contains('\u{1b}') && !why.contains('\n'),
                    "the refusal quotes it inert: {why}"
                ),
                other => panic!("the file name {name:?} was not refused: {other:?}"),
            }
        }
    }
}
