//! The host API as Rhai's definition files (`.d.rhai`), for editors and Rhai's language server:
//! Rhai's own export (`Engine::definitions`, behind its `metadata` feature, which only the
//! `definitions` feature of this crate turns on: the agent and the control plane are built
//! without it) of a job's engine, with the host functions' parameter names and a line of what
//! each does added from `signatures.rs` (Rhai knows their types, not their names).

use super::signatures;

/// The definition files: (file name, text). `__static__.d.rhai` holds the host API and Rhai's
/// standard functions, `__builtin__.d.rhai` and `__builtin-operators__.d.rhai` the language's own.
pub fn files() -> Vec<(String, String)> {
    let engine = super::names::host_engine();
    let defs = engine.definitions();
    defs.iter_files()
        .map(|(name, text)| {
            let text = if name == "__static__.d.rhai" {
                name_parameters(&text)
            } else {
                text
            };
            (name, text)
        })
        .collect()
}

/// Adds the host functions' parameter names (`fn run(_: String, _: Array)` becomes
/// `fn run(program: String, args: Array)`) and their line of documentation.
fn name_parameters(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for line in text.split_inclusive('\n') {
        out.push_str(&rename(line).unwrap_or_else(|| line.to_owned()));
    }
    out
}

fn rename(line: &str) -> Option<String> {
    let rest = line.strip_prefix("fn ")?;
    let (name, rest) = rest.split_once('(')?;
    let (args, _) = rest.split_once(')')?;
    let types: Vec<&str> = if args.trim().is_empty() {
        Vec::new()
    } else {
        args.split(", ").collect()
    };
    let names = signatures::params(name, types.len())?;
    // Rhai names a fallible function's return type after its error (`EvalAltResult>>`): the
    // table says what it gives back.
    let (_, _, doc, returns) = signatures::HOST.iter().find(|(n, _, _, _)| *n == name)?;
    let params: Vec<String> = types
        .iter()
        .zip(names)
        .map(|(t, n)| format!("{n}: {}", t.split_once(": ").map_or(*t, |(_, ty)| ty)))
        .collect();
    Some(format!(
        "/// {doc}\nfn {name}({}) -> {returns};\n",
        params.join(", ")
    ))
}
