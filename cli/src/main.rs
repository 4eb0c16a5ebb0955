//! `cairn-recipe`: the recipe author's CLI.
//!
//! This main is a stand-in for testing `keygen`, `sign` and `verify` end to end: its recipe
//! metadata reader is deliberately crude and will be replaced by the engine's parser.

mod trust;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use cairn_protocol::Capabilities;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cairn-recipe", about = "Check, sign and verify Cairn recipes")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a new signing key pair (signing.key, mode 0600, and signing.pub) into DIR.
    Keygen { dir: PathBuf },
    /// Sign a recipe and its templates into a bundle.
    Sign {
        #[arg(long)]
        key: PathBuf,
        /// Validity, e.g. 30d, 12h, 90m.
        #[arg(long)]
        expires_in: Option<String>,
        /// The recipe (.rhai) first, then its templates.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify a bundle with a public key.
    Verify {
        #[arg(long = "pub")]
        public_key: PathBuf,
        bundle: PathBuf,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::print_stdout)]
fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Keygen { dir } => {
            trust::keygen(&dir)?;
            println!(
                "wrote {} (secret, mode 0600) and {}",
                dir.join("signing.key").display(),
                dir.join("signing.pub").display()
            );
        }
        Command::Sign {
            key,
            expires_in,
            files,
            out,
        } => {
            let recipe = files.first().context("no recipe given")?;
            let text = std::fs::read_to_string(recipe)
                .with_context(|| format!("could not read {}", recipe.display()))?;
            let facts = crude_facts(&text)
                .with_context(|| format!("could not read the metadata of {}", recipe.display()))?;
            trust::sign(&key, expires_in.as_deref(), &files, &out, facts)?;
            println!("wrote {}", out.display());
        }
        Command::Verify { public_key, bundle } => {
            println!("{}", trust::verify(&public_key, &bundle)?);
        }
    }
    Ok(())
}

/// Reads `id: "…"`, `version: N` and the `programs`/`paths`/`services` string lists from the
/// recipe text. Crude on purpose; see the module docs.
fn crude_facts(text: &str) -> anyhow::Result<trust::RecipeFacts> {
    let after = |key: &str| -> Option<&str> {
        let at = text.find(&format!("{key}:"))?;
        Some(text[at + key.len() + 1..].trim_start())
    };
    let id = after("id")
        .and_then(|s| s.strip_prefix('"'))
        .and_then(|s| s.split('"').next())
        .context("no `id: \"…\"` found")?
        .to_owned();
    let version = after("version")
        .map(|s| {
            s.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|s| s.parse().ok())
        .context("no `version: N` found")?;
    let list = |key: &str| -> Vec<String> {
        after(key)
            .and_then(|s| s.strip_prefix('['))
            .and_then(|s| s.split(']').next())
            .map(|inner| {
                inner
                    .split(',')
                    .map(|item| item.trim().trim_matches('"').to_owned())
                    .filter(|item| !item.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(trust::RecipeFacts {
        id,
        version,
        capabilities: Capabilities {
            programs: list("programs"),
            paths: list("paths"),
            services: list("services"),
        },
    })
}
