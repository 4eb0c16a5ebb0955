//! The recipe registry: reads `recipes/`, checks each recipe with the engine, and signs a
//! bundle for every recipe that passes (once per load; bundles are cached until the next
//! reload). A recipe that fails its check stays in the catalogue, unpublished, with the reason.
//!
//! A recipe is `ID.rhai`; its companion files (templates) are the other files whose names start
//! with `ID.` (`redis.conf.j2`), carried in the bundle after the recipe.
//!
//! Recipes approved through a submission (`submissions`, issue 22) are [`Overlay`]s: each is
//! published instead of its file in `recipes/` when its version is higher (or there is no file),
//! so what an admin approved survives a restart and a reload; a pending submission is never
//! here, so no agent can get it. A withdrawn submission is no overlay, and leaves its recipe a
//! floor ([`Layers::floors`]): what is published instead is raised to that version
//! (`crate::reversion`), as agents refuse a version lower than one they ran.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cairn_engine::host::policy;
use cairn_engine::{Category, Recipe};
use cairn_protocol::{Capabilities, KeyPair, SignedBundle, UnsignedBundle};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// How long a bundle signed at load time stays valid.
pub const BUNDLE_TTL_SECS: u64 = 30 * 24 * 3600;

/// One catalogue entry, as `GET /api/recipes` shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogueEntry {
    pub id: String,
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_size_mb: Option<u64>,
    pub params: serde_json::Value,
    /// The recipe's declared actions (`RECIPE.actions`: name, title, description, params,
    /// destructive, confirm); their French is in `translations.fr.actions`.
    pub actions: serde_json::Value,
    pub capabilities: serde_json::Value,
    /// The recipe's own words in the dashboard's other languages (title, description, labels,
    /// step titles), checked whole by the engine.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub translations: cairn_engine::translations::Translations,
    /// What each declared program can be made to do, in the engine's words
    /// (`cairn_engine::host::policy::describe`): the catalogue shows powers, not just names.
    pub programs: Vec<ProgramPower>,
    /// What may follow from each declared path being written
    /// (`cairn_engine::host::policy::describe_path`): cron runs `/etc/cron.d`, and so on.
    pub paths: Vec<PathPower>,
    /// The recipe's source text.
    pub source: String,
    /// sha256 of the signed bundle header, hex: what the agent will verify.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    pub published: bool,
    /// The approved submission this version comes from (issue 22), when it is not the file in
    /// `recipes/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submission: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One declared program and what the recipe can make it do ("extracts archives into
/// /opt/cairn/go", "its own program …: runs anything, as root").
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgramPower {
    pub program: String,
    pub power: String,
    /// `power` in the dashboard's other languages (language code → words), from the engine.
    pub translations: BTreeMap<String, String>,
}

/// One declared write path and what writing it can lead to.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PathPower {
    pub path: String,
    pub power: String,
    /// `power` in the dashboard's other languages (language code → words), from the engine.
    pub translations: BTreeMap<String, String>,
}

/// A published recipe: its metadata and signed bundle.
#[derive(Debug, Clone)]
pub struct Published {
    pub recipe: Recipe,
    pub bundle: SignedBundle,
}

/// The catalogue and the published bundles of one load.
#[derive(Debug, Default)]
pub struct Registry {
    pub catalogue: Vec<CatalogueEntry>,
    published: BTreeMap<String, Published>,
    /// Distinct for every load.
    pub generation: u64,
    /// [`cairn_protocol::detectors_hash`] of [`Self::bundles`]: an agent that holds these
    /// bundles (it said so in `HELLO`, or this connection sent them) is asked to reuse them
    /// (`sameDetectors`).
    pub detectors_hash: String,
    /// Each recipe's floor ([`Layers::floors`]): a submission below it is refused even when
    /// nothing of the recipe is left to publish.
    pub floors: BTreeMap<String, u64>,
}

static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A recipe approved through a submission (issue 22, `store::Submission`): published over
/// `recipes/` when its version is higher than the file's there (or there is no file), so an
/// approval survives a restart and a reload.
#[derive(Debug, Clone)]
pub struct Overlay {
    pub recipe_id: String,
    pub version: u64,
    pub source: String,
    /// Companion files, named as in `recipes/` (`ID.NAME`).
    pub files: Vec<(String, Vec<u8>)>,
    pub submission_id: String,
}

/// What the registry publishes over `recipes/`: the approved submissions, and each recipe's
/// floor (the version the last withdrawal of it published).
#[derive(Debug, Clone, Default)]
pub struct Layers {
    pub overlays: Vec<Overlay>,
    /// Recipe id → the lowest version it may be published at.
    pub floors: BTreeMap<String, u64>,
}

/// One recipe to load: a file of `recipes/` or an approved submission.
struct Candidate {
    /// `ID.rhai`.
    file: String,
    /// What error messages name (the file's path, or the submission).
    shown: String,
    source: Result<String, String>,
    companions: Result<Vec<(String, Vec<u8>)>, String>,
    submission: Option<String>,
}

impl Candidate {
    fn from_dir(path: &Path, all: &[PathBuf]) -> Self {
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let prefix = format!("{}.", file.trim_end_matches(".rhai"));
        let companions = all
            .iter()
            .filter(|p| {
                p.as_path() != path
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(&prefix) && !n.ends_with(".rhai"))
                    && p.is_file()
            })
            .map(|p| {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
                Ok((name.unwrap_or_default(), std::fs::read(p)?))
            })
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(|e| e.to_string());
        Self {
            shown: path.display().to_string(),
            source: std::fs::read_to_string(path)
                .map_err(|e| format!("failed to read {}: {e}", path.display())),
            file,
            companions,
            submission: None,
        }
    }

    fn from_overlay(o: &Overlay) -> Self {
        let file = format!("{}.rhai", o.recipe_id);
        Self {
            shown: format!("{file} (submission {})", o.submission_id),
            file,
            source: Ok(o.source.clone()),
            companions: Ok(o.files.clone()),
            submission: Some(o.submission_id.clone()),
        }
    }

    /// The version the candidate declares, if it reads.
    fn version(&self) -> Option<u64> {
        let source = self.source.as_ref().ok()?;
        Recipe::parse(&self.shown, source)
            .ok()
            .map(|r| r.meta.version)
    }
}

impl Registry {
    /// Loads every recipe in `dir` and signs the good ones with `key` at time `now`.
    /// A missing directory gives an empty registry.
    pub fn load(dir: &Path, key: &KeyPair, now: u64) -> Self {
        Self::load_with(dir, &Layers::default(), key, now)
    }

    /// [`Registry::load`], with the approved submissions of `layers` published in place of
    /// the files of `dir` they are newer than (or beside them, for a new recipe), each raised
    /// to its recipe's floor.
    pub fn load_with(dir: &Path, layers: &Layers, key: &KeyPair, now: u64) -> Self {
        let mut reg = Self {
            generation: GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            detectors_hash: cairn_protocol::detectors_hash(&[]),
            floors: layers.floors.clone(),
            ..Self::default()
        };
        let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(error) => {
                tracing::warn!(dir = %dir.display(), %error, "cannot read the recipes directory");
                Vec::new()
            }
        };
        files.sort();
        let mut candidates: Vec<Candidate> = files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "rhai"))
            .map(|p| Candidate::from_dir(p, &files))
            .collect();
        for o in &layers.overlays {
            let file = format!("{}.rhai", o.recipe_id);
            match candidates.iter_mut().find(|c| c.file == file) {
                Some(c) if c.version().is_some_and(|v| v >= o.version) => {}
                Some(c) => *c = Candidate::from_overlay(o),
                None => candidates.push(Candidate::from_overlay(o)),
            }
        }
        for c in &mut candidates {
            let floor = layers.floors.get(c.file.trim_end_matches(".rhai"));
            if let (Some(&floor), Some(v)) = (floor, c.version())
                && v < floor
            {
                c.source = c.source.as_ref().map_err(Clone::clone).and_then(|s| {
                    crate::reversion::with_version(&c.shown, s, floor)
                        .map_err(|e| format!("{} cannot be published again: {e}", c.shown))
                });
            }
        }
        candidates.sort_by(|a, b| a.file.cmp(&b.file));
        for c in &candidates {
            let entry = reg.load_one(c, key, now);
            if let Some(error) = &entry.error {
                tracing::warn!(file = %entry.file, %error, "recipe not published");
            }
            reg.catalogue.push(entry);
        }
        reg.detectors_hash = cairn_protocol::detectors_hash(&reg.bundles());
        reg
    }

    fn load_one(&mut self, c: &Candidate, key: &KeyPair, now: u64) -> CatalogueEntry {
        let file = c.file.clone();
        let stem = file.trim_end_matches(".rhai").to_owned();
        let mut entry = CatalogueEntry {
            id: stem.clone(),
            file: file.clone(),
            title: None,
            category: None,
            version: None,
            description: None,
            estimated_size_mb: None,
            params: serde_json::Value::Array(vec![]),
            actions: serde_json::Value::Array(vec![]),
            capabilities: serde_json::Value::Null,
            translations: Default::default(),
            programs: Vec::new(),
            paths: Vec::new(),
            source: c.source.clone().unwrap_or_default(),
            fingerprint: None,
            key_id: None,
            expires_at: None,
            published: false,
            submission: c.submission.clone(),
            error: None,
        };
        let parsed = c
            .source
            .clone()
            .and_then(|source| Recipe::parse(&c.shown, &source).map_err(|e| e.to_string()));
        let recipe = match parsed {
            Ok(r) => r,
            Err(e) => {
                entry.error = Some(e);
                return entry;
            }
        };
        let m = &recipe.meta;
        entry.id = m.id.clone();
        entry.title = Some(m.title.clone());
        entry.category = Some(m.category);
        entry.version = Some(m.version);
        entry.description = Some(m.description.clone());
        entry.estimated_size_mb = Some(m.estimated_size_mb);
        entry.params = serde_json::to_value(&m.params).unwrap_or_default();
        entry.actions = serde_json::to_value(&m.actions).unwrap_or_default();
        entry.capabilities = serde_json::to_value(&m.capabilities).unwrap_or_default();
        entry.translations = m.translations.clone();
        entry.programs = m
            .capabilities
            .programs
            .iter()
            .map(|p| ProgramPower {
                program: p.clone(),
                power: policy::describe(p, &m.capabilities),
                translations: in_languages(|lang| policy::describe_in(p, &m.capabilities, lang)),
            })
            .collect();
        entry.paths = m
            .capabilities
            .paths
            .iter()
            .map(|p| PathPower {
                path: p.clone(),
                power: policy::describe_path(p),
                translations: in_languages(|lang| policy::describe_path_in(p, lang)),
            })
            .collect();
        if m.id != stem {
            entry.error = Some(format!(
                "the recipe declares id \"{}\" but its file is {file}; name the file {}.rhai",
                m.id, m.id
            ));
            return entry;
        }
        if self.published.contains_key(&m.id) {
            entry.error = Some(format!("another recipe already has the id \"{}\"", m.id));
            return entry;
        }
        match sign(&recipe, &c.companions, key, now) {
            Ok(bundle) => {
                entry.fingerprint = Some(header_fingerprint(&bundle));
                entry.key_id = Some(bundle.key_id.clone());
                entry.expires_at = Some(now + BUNDLE_TTL_SECS);
                entry.published = true;
                self.published
                    .insert(m.id.clone(), Published { recipe, bundle });
            }
            Err(e) => entry.error = Some(format!("could not sign the recipe: {e:#}")),
        }
        entry
    }

    /// The published recipe `id`.
    pub fn get(&self, id: &str) -> Option<&Published> {
        self.published.get(id)
    }

    /// Every published bundle (the detectors sent with `GET_SERVER_STATUS`).
    pub fn bundles(&self) -> Vec<SignedBundle> {
        self.published.values().map(|p| p.bundle.clone()).collect()
    }
}

/// What `words` says in each of the dashboard's other languages it has words for.
fn in_languages(words: impl Fn(&str) -> Option<String>) -> BTreeMap<String, String> {
    cairn_engine::translations::LANGUAGES
        .iter()
        .filter_map(|lang| Some(((*lang).to_owned(), words(lang)?)))
        .collect()
}

fn sign(
    recipe: &Recipe,
    companions: &Result<Vec<(String, Vec<u8>)>, String>,
    key: &KeyPair,
    now: u64,
) -> anyhow::Result<SignedBundle> {
    let mut files = vec![(
        format!("{}.rhai", recipe.meta.id),
        recipe.source.as_bytes().to_vec(),
    )];
    files.extend(companions.clone().map_err(anyhow::Error::msg)?);
    let caps = &recipe.meta.capabilities;
    Ok(UnsignedBundle {
        recipe_id: recipe.meta.id.clone(),
        version: recipe.meta.version,
        capabilities: Capabilities {
            programs: caps.programs.clone(),
            paths: caps.paths.clone(),
            services: caps.services.clone(),
        },
        files,
        issued_at: now,
        expires_at: now + BUNDLE_TTL_SECS,
    }
    .sign(key)?)
}

fn header_fingerprint(bundle: &SignedBundle) -> String {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&bundle.header)
        .unwrap_or_default();
    hex::encode(Sha256::digest(bytes))
}
