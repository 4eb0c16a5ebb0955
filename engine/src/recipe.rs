//! The recipe model: a `.rhai` file whose top-level `const RECIPE = #{...}` is a *literal* map
//! read from the compiled AST without running anything, plus the script functions `detect()` and
//! `install(params)` or `configure(params)`, and one `fn NAME(params)` per declared action
//! (`actions.rs`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::EngineError;
use crate::host::caps::Capabilities;
use crate::params::ParamSpec;
use crate::sandbox::{self, Limits};

/// What kind of thing a recipe sets up; decides its entry point and its card in the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// Entry point `install(params)`.
    Runtime,
    /// Entry point `configure(params)`.
    Database,
    /// Entry point `configure(params)`.
    Backup,
}

impl Category {
    /// The name of the function that does the work for this category.
    pub fn entry_point(self) -> &'static str {
        match self {
            Self::Runtime => "install",
            Self::Database | Self::Backup => "configure",
        }
    }
}

/// Operating systems a recipe supports: os-release `ID` and the `VERSION_ID`s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OsSupport {
    pub id: String,
    pub versions: Vec<String>,
}

/// A recipe's metadata, as declared in its `RECIPE` constant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipeMeta {
    /// Stable identifier, `^[a-z][a-z0-9-]{0,31}$`.
    pub id: String,
    pub title: String,
    pub category: Category,
    /// Monotonic version; the agent refuses to run a lower one than it already ran.
    pub version: u64,
    /// One sentence for the card and the catalogue.
    #[serde(default)]
    pub description: String,
    /// Rough disk space the install takes, in megabytes.
    pub estimated_size_mb: u64,
    pub os: Vec<OsSupport>,
    #[serde(default)]
    pub params: Vec<ParamSpec>,
    pub capabilities: Capabilities,
    /// Further entry points besides the category's (`actions.rs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<crate::actions::ActionSpec>,
    /// What the Services card needs to know of a declared service when systemd is not there
    /// to say: its log file and pid file (`system::service_status::ServiceDecl`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub services: crate::system::service_status::ServiceDecls,
    /// The title, description, labels and step titles in the dashboard's other languages
    /// (`translations.rs`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub translations: crate::translations::Translations,
}

impl RecipeMeta {
    /// The declared action called `name`, if there is one.
    pub fn action(&self, name: &str) -> Option<&crate::actions::ActionSpec> {
        self.actions.iter().find(|a| a.name == name)
    }
}

/// A checked recipe: its metadata and source. `Send`, so it can be handed to the thread that
/// runs it; the job compiles the source again there (cheap: well under a millisecond for a
/// recipe) because Rhai's AST is not `Send`.
#[derive(Debug, Clone)]
pub struct Recipe {
    pub meta: RecipeMeta,
    /// File name used in error messages (`redis.rhai`).
    pub file: String,
    pub source: String,
}

impl Recipe {
    /// Reads and checks a recipe file.
    pub fn load(path: &Path) -> Result<Self, EngineError> {
        let source = std::fs::read_to_string(path).map_err(|source| EngineError::Io {
            context: format!("failed to read {}", path.display()),
            source,
        })?;
        Self::parse(&path.display().to_string(), &source)
    }

    /// Compiles `source` in the sandbox and checks its metadata and entry points. Nothing runs.
    pub fn parse(file: &str, source: &str) -> Result<Self, EngineError> {
        if source.len() > MAX_SOURCE_BYTES {
            return Err(meta_err(
                file,
                format!(
                    "the recipe is {} bytes; the limit is {MAX_SOURCE_BYTES}",
                    source.len()
                ),
            ));
        }
        let ast = compile(&sandbox::compiler(&Limits::default()), file, source)?;
        let mut meta = read_meta(file, &ast)?;
        check_meta(file, &meta)?;
        check_functions(file, &ast, &meta)?;
        let problems = crate::translations::check(
            &meta.translations,
            &meta.description,
            &meta.params,
            &meta.actions,
            source,
        );
        if !problems.is_empty() {
            return Err(meta_err(file, problems.join("; ")));
        }
        // After the checks: the built-in action is the engine's, with the engine's words.
        crate::service_action::add_to(
            &meta.capabilities.services,
            &mut meta.actions,
            &mut meta.translations,
        );
        Ok(Self {
            meta,
            file: file.to_owned(),
            source: source.to_owned(),
        })
    }
}

/// Compiles `source` with `engine`, turning a parse error into `file:line:col: message`.
pub(crate) fn compile(
    engine: &rhai::Engine,
    file: &str,
    source: &str,
) -> Result<rhai::AST, EngineError> {
    engine.compile(source).map_err(|e| {
        let pos = e.position();
        EngineError::Compile {
            file: file.to_owned(),
            line: pos.line().unwrap_or(0),
            col: pos.position().unwrap_or(0),
            message: e.err_type().to_string(),
        }
    })
}

/// The largest recipe source accepted.
pub const MAX_SOURCE_BYTES: usize = 256 * 1024;

fn meta_err(file: &str, message: impl Into<String>) -> EngineError {
    EngineError::Metadata {
        file: file.to_owned(),
        message: message.into(),
    }
}

fn read_meta(file: &str, ast: &rhai::AST) -> Result<RecipeMeta, EngineError> {
    let value = ast
        .iter_literal_variables(true, false)
        .find(|(name, _, _)| *name == "RECIPE")
        .map(|(_, _, v)| v)
        .ok_or_else(|| {
            meta_err(
                file,
                "missing `const RECIPE = #{ ... };` at the top level (it must be a literal map: no function calls or variables inside)",
            )
        })?;
    rhai::serde::from_dynamic::<RecipeMeta>(&value)
        .map_err(|e| meta_err(file, format!("RECIPE: {}", e.to_string().trim())))
}

pub(crate) fn check_meta(file: &str, m: &RecipeMeta) -> Result<(), EngineError> {
    let bad = |msg: String| Err(meta_err(file, msg));
    if !crate::params::is_recipe_id(&m.id) {
        return bad(format!(
            "RECIPE.id `{}` must be 1-32 characters of a-z, 0-9 and '-', starting with a letter",
            m.id
        ));
    }
    if m.title.trim().is_empty() {
        return bad("RECIPE.title must not be empty".into());
    }
    if m.version == 0 {
        return bad("RECIPE.version must be 1 or more".into());
    }
    if m.os.is_empty()
        || m.os
            .iter()
            .any(|o| o.id.is_empty() || o.versions.is_empty())
    {
        return bad("RECIPE.os must list at least one os-release ID with its VERSION_IDs".into());
    }
    for p in &m.capabilities.programs {
        if let Err(why) = crate::host::caps::check_program_decl(p) {
            return bad(format!("capabilities.programs: `{p}` {why}"));
        }
        if let Err(why) = crate::host::policy::classify(p, &m.capabilities) {
            return bad(format!("capabilities.programs: `{p}` {why}"));
        }
    }
    for p in &m.capabilities.paths {
        if let Err(why) = crate::host::caps::check_path_decl(p) {
            return bad(format!("capabilities.paths: `{p}` {why}"));
        }
        if let Err(why) = crate::host::policy::check_path_decl(p, &m.capabilities) {
            return bad(format!("capabilities.paths: `{p}` {why}"));
        }
    }
    for s in &m.capabilities.services {
        if !crate::host::caps::is_service_name(s) {
            return bad(format!(
                "capabilities.services: `{s}` is not a valid service name"
            ));
        }
    }
    crate::system::service_status::check_decls(&m.services, &m.capabilities.services)
        .map_err(|why| meta_err(file, why))?;
    let mut seen = std::collections::HashSet::new();
    for p in &m.params {
        if !seen.insert(p.name.as_str()) {
            return bad(format!("parameter `{}` is declared twice", p.name));
        }
        p.check_decl()
            .map_err(|why| meta_err(file, format!("parameter `{}`: {why}", p.name)))?;
    }
    crate::actions::check_all(&m.actions).map_err(|why| meta_err(file, why))?;
    Ok(())
}

fn check_functions(file: &str, ast: &rhai::AST, meta: &RecipeMeta) -> Result<(), EngineError> {
    let category = meta.category;
    let has = |name: &str, arity: usize| {
        ast.iter_functions()
            .any(|f| f.name == name && f.params.len() == arity)
    };
    if !has("detect", 0) {
        return Err(meta_err(file, "missing `fn detect()`"));
    }
    let entry = category.entry_point();
    if !has(entry, 1) {
        return Err(meta_err(
            file,
            format!(
                "a {} recipe must define `fn {entry}(params)`",
                format!("{category:?}").to_lowercase()
            ),
        ));
    }
    for a in &meta.actions {
        if !has(&a.name, 1) {
            return Err(meta_err(
                file,
                format!(
                    "actions.{0} is declared but the recipe has no `fn {0}(params)`",
                    a.name
                ),
            ));
        }
    }
    Ok(())
}
