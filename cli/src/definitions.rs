//! `cairn-recipe definitions`: the host API's definition files (`.d.rhai`) for an editor or
//! Rhai's language server, written into a folder (`cairn_engine::diagnostics::definitions`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::console;

/// Where editors and Rhai's language server look by default.
const DEFAULT_DIR: &str = ".rhai/definitions";

pub fn write(out: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let dir = out.unwrap_or_else(|| PathBuf::from(DEFAULT_DIR));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let files = cairn_engine::diagnostics::definitions::files();
    for (name, text) in &files {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    console::out(&format!(
        "wrote {} definition files into {}",
        files.len(),
        dir.display()
    ));
    Ok(ExitCode::SUCCESS)
}
