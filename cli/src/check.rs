//! `cairn-recipe check`: every problem of each recipe in one pass (`cairn_engine::diagnostics`),
//! printed as `file:line:col: severity: message` with a `hint:` line where there is one, or as
//! JSON; then, for a recipe without errors, what its declarations allow, in the catalogue's
//! words. Exit 1 when any file has an error; warnings alone exit 0.

use std::path::PathBuf;
use std::process::ExitCode;

use cairn_engine::Recipe;
use cairn_engine::diagnostics::{self, Diagnostic, Severity};

use crate::console;

/// The JSON `check --json` prints: every finding of every file, and their counts.
#[derive(serde::Serialize)]
struct JsonReport<'a> {
    diagnostics: &'a [Diagnostic],
    errors: usize,
    warnings: usize,
}

pub fn run(files: &[PathBuf], json: bool) -> anyhow::Result<ExitCode> {
    let mut all = Vec::new();
    for f in files {
        let shown = f.display().to_string();
        let found = match std::fs::read_to_string(f) {
            Ok(source) => diagnostics::check_source(&shown, &source),
            Err(e) => vec![Diagnostic {
                file: shown.clone(),
                line: 0,
                col: 0,
                severity: Severity::Error,
                code: "unreadable".into(),
                message: format!("cannot read the file: {e}"),
                hint: None,
            }],
        };
        if !json {
            for d in &found {
                console::err(&d.to_string());
                if let Some(hint) = &d.hint {
                    console::err(&format!("  hint: {hint}"));
                }
            }
            if !diagnostics::has_errors(&found) {
                summary(f)?;
            }
        }
        all.extend(found);
    }
    let errors = all.iter().filter(|d| d.severity == Severity::Error).count();
    if json {
        console::out_json(&JsonReport {
            diagnostics: &all,
            errors,
            warnings: all.len() - errors,
        })?;
    }
    Ok(if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// What a recipe that passed declares: the same words as the catalogue.
fn summary(f: &std::path::Path) -> anyhow::Result<()> {
    let r = Recipe::load(f)?;
    console::out(&format!(
        "{}: ok ({} v{}, {:?})",
        f.display(),
        r.meta.id,
        r.meta.version,
        r.meta.category
    ));
    let caps = &r.meta.capabilities;
    for p in &caps.programs {
        console::out(&format!(
            "  {p}: {}",
            cairn_engine::host::policy::describe(p, caps)
        ));
    }
    for p in &caps.paths {
        console::out(&format!(
            "  {p}: {}",
            cairn_engine::host::policy::describe_path(p)
        ));
    }
    for a in &r.meta.actions {
        let confirm = match (&a.confirm, a.destructive) {
            (Some(c), true) => format!(" (destructive: the person types `{c}` again)"),
            _ if a.name == cairn_engine::service_action::NAME => {
                " (built in: the engine's, for the declared services)".to_owned()
            }
            _ => String::new(),
        };
        console::out(&format!("  action {}: {}{confirm}", a.name, a.title));
    }
    for lang in cairn_engine::translations::LANGUAGES {
        if !r.meta.translations.contains_key(*lang) {
            console::out(&format!(
                "{}: warning: no `translations.{lang}`: the dashboard in that \
                 language shows this recipe's own words untranslated",
                f.display()
            ));
        }
    }
    Ok(())
}
