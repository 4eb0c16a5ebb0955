//! The recipe registry: reads `recipes/`, checks each recipe with the engine, and signs a
//! bundle for every recipe that passes (once per load; bundles are cached until the next
//! reload). A recipe that fails its check stays in the catalogue, unpublished, with the reason.
//!
//! A recipe is `ID.rhai`; its companion files (templates) are the other files whose names start
//! with `ID.` (`redis.conf.j2`), carried in the bundle after the recipe.

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
}

static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Registry {
    /// Loads every recipe in `dir` and signs the good ones with `key` at time `now`.
    /// A missing directory gives an empty registry.
    pub fn load(dir: &Path, key: &KeyPair, now: u64) -> Self {
        let mut reg = Self {
            generation: GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            detectors_hash: cairn_protocol::detectors_hash(&[]),
            ..Self::default()
        };
        let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(error) => {
                tracing::warn!(dir = %dir.display(), %error, "cannot read the recipes directory");
                return reg;
            }
        };
        files.sort();
        for path in files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "rhai"))
        {
            let entry = reg.load_one(path, &files, key, now);
            if let Some(error) = &entry.error {
                tracing::warn!(file = %entry.file, %error, "recipe not published");
            }
            reg.catalogue.push(entry);
        }
        reg.detectors_hash = cairn_protocol::detectors_hash(&reg.bundles());
        reg
    }

    fn load_one(
        &mut self,
        path: &Path,
        all: &[PathBuf],
        key: &KeyPair,
        now: u64,
    ) -> CatalogueEntry {
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
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
            source: std::fs::read_to_string(path).unwrap_or_default(),
            fingerprint: None,
            key_id: None,
            expires_at: None,
            published: false,
            error: None,
        };
        let recipe = match Recipe::load(path) {
            Ok(r) => r,
            Err(e) => {
                entry.error = Some(e.to_string());
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
        match sign(&recipe, path, all, key, now) {
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
    path: &Path,
    all: &[PathBuf],
    key: &KeyPair,
    now: u64,
) -> anyhow::Result<SignedBundle> {
    let prefix = format!("{}.", recipe.meta.id);
    let mut files = vec![(
        format!("{}.rhai", recipe.meta.id),
        recipe.source.as_bytes().to_vec(),
    )];
    for p in all {
        let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if p != path && name.starts_with(&prefix) && !name.ends_with(".rhai") && p.is_file() {
            files.push((name.to_owned(), std::fs::read(p)?));
        }
    }
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
