//! `cairn-recipe new ID --category runtime|database|backup`: a commented recipe to start from,
//! which passes `check` as written (`cli/tests/it/check_diagnostics.rs` holds each category to
//! that). It never overwrites a file.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::console;

/// The category of the new recipe (its entry point follows from it).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Kind {
    Runtime,
    Database,
    Backup,
}

impl Kind {
    fn template(self) -> &'static str {
        match self {
            Self::Runtime => include_str!("templates/runtime.rhai"),
            Self::Database => include_str!("templates/database.rhai"),
            Self::Backup => include_str!("templates/backup.rhai"),
        }
    }
}

/// "my-db" → "My db": a first title the author will change.
fn title(id: &str) -> String {
    let words = id.replace('-', " ");
    let mut chars = words.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

pub fn new(id: &str, kind: Kind, out: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    if !cairn_engine::params::is_recipe_id(id) {
        bail!(
            "`{}` cannot be a recipe id: use 1 to 32 characters of a-z, 0-9 and '-', starting \
             with a letter (e.g. my-cache)",
            id.escape_debug()
        );
    }
    let path = out.unwrap_or_else(|| PathBuf::from(format!("{id}.rhai")));
    let text = kind
        .template()
        .replace("{{ID}}", id)
        .replace("{{TITLE}}", &title(id));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| {
            format!(
                "cannot create {} (an existing file is never overwritten)",
                path.display()
            )
        })?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    console::out(&format!(
        "wrote {}: check it with `cairn-recipe check {}`",
        path.display(),
        path.display()
    ));
    Ok(ExitCode::SUCCESS)
}
