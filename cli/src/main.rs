//! `cairn-recipe`: the recipe author's tool. Check, plan, run and detect recipes on this machine
//! with the same engine the agent uses.

mod check;
mod console;
mod definitions;
mod publish;
mod record;
mod scaffold;
mod test;
mod trust;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;

use anyhow::{Context, bail};
use cairn_engine::{Action, JobOptions, Mode, Outcome, Recipe, job};
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "cairn-recipe",
    version,
    about = "Check, plan, run and sign Cairn recipes"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check recipes without running them: every problem of each file in one pass, printed as
    /// file:line:col: severity: message (and a hint: line); exit 1 on any error.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print the findings as JSON: { diagnostics: [...], errors, warnings }.
        #[arg(long)]
        json: bool,
    },
    /// Print what a recipe would change on this machine, without changing anything.
    Plan {
        file: PathBuf,
        #[command(flatten)]
        job: JobArgs,
        /// Print the plan as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run a recipe on this machine, printing the console as the dashboard shows it.
    Run {
        file: PathBuf,
        #[command(flatten)]
        job: JobArgs,
        /// After the run, print where its time went (each step, host call, process and wait)
        /// on standard error.
        #[arg(long)]
        timings: bool,
        /// After the run, write what it did to FILE as JSON: how it ended, its result (secret
        /// fields masked), every command it started, file it wrote and download it kept, each
        /// with its step, and where its time went.
        #[arg(long, value_name = "FILE")]
        record: Option<PathBuf>,
    },
    /// Test a recipe in a fresh Debian system (as root): it installs, detect() agrees, a
    /// second run changes nothing, and the plan made first named every command that ran.
    Test {
        file: PathBuf,
        /// The Debian release to test on.
        #[arg(long, value_name = "11|12", default_value = "11")]
        debian: test::Release,
        /// A parameter, as name=value; repeat for several.
        #[arg(long = "param", value_name = "K=V")]
        params: Vec<String>,
        /// A parameter whose value is the content of a file, as name=path.
        #[arg(long = "param-file", value_name = "K=PATH")]
        param_files: Vec<String>,
        /// The cairn-recipe to run inside (default: this one). Debian 11 needs one built for
        /// its glibc 2.31: `scripts/build-agent-glibc231 cairn-recipe`.
        #[arg(long, value_name = "FILE", env = "CAIRN_RECIPE_INSIDE")]
        binary: Option<PathBuf>,
    },
    /// Print each recipe's detection result as JSON.
    Detect {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Read this file instead of /etc/os-release.
        #[arg(long, value_name = "FILE")]
        os_release: Option<PathBuf>,
    },
    /// Write a new signing key pair (DIR/signing.key, mode 0600, and DIR/signing.pub).
    Keygen { dir: PathBuf },
    /// Sign a recipe (and its companion files, e.g. templates) into a bundle.
    Sign {
        /// The signing key (from `keygen`).
        #[arg(long)]
        key: PathBuf,
        /// How long the bundle stays valid, e.g. 30d, 12h, 90m.
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<String>,
        /// The recipe (.rhai) first, then its companion files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify a bundle; exits 0 only for a valid, unexpired bundle, and otherwise says why.
    Verify {
        #[arg(long = "pub", value_name = "PUB")]
        public_key: PathBuf,
        bundle: PathBuf,
    },
    /// Write a new recipe, commented, that passes `check`: ID.rhai in the current folder (or
    /// --out FILE).
    New {
        id: String,
        #[arg(long, value_enum)]
        category: scaffold::Kind,
        /// Where to write it (default: ID.rhai); an existing file is never overwritten.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Send a recipe to a control plane's registry: checked here first, then pending until an
    /// admin approves it in the dashboard. The API token is read from $CAIRN_TOKEN or
    /// --token-file, never from the command line.
    Publish {
        file: PathBuf,
        /// The control plane's address, e.g. https://cairn.example.com
        #[arg(long)]
        url: String,
        /// A file whose first line is the API token (default: $CAIRN_TOKEN).
        #[arg(long, value_name = "PATH")]
        token_file: Option<PathBuf>,
    },
    /// Write the host API's definitions for editors (Rhai's definition files, `.d.rhai`) into
    /// DIR (default: .rhai/definitions).
    Definitions {
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

#[derive(clap::Args, Debug)]
struct JobArgs {
    /// A parameter, as name=value; repeat for several.
    #[arg(long = "param", value_name = "K=V")]
    params: Vec<String>,
    /// A parameter whose value is the content of a file (one trailing newline dropped), as
    /// name=path: keeps a secret such as a key off the command line, where `ps` shows it.
    #[arg(long = "param-file", value_name = "K=PATH")]
    param_files: Vec<String>,
    /// Read this file instead of /etc/os-release (plans for another system).
    #[arg(long, value_name = "FILE")]
    os_release: Option<PathBuf>,
    /// One of the recipe's declared actions (`RECIPE.actions`) instead of its category's entry
    /// point; `--param` then gives that action's parameters.
    #[arg(long, value_name = "NAME")]
    action: Option<String>,
}

impl JobArgs {
    fn params(&self) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
        let mut map = serde_json::Map::new();
        for p in &self.params {
            let Some((k, v)) = p.split_once('=') else {
                bail!("--param {p}: write it as name=value");
            };
            map.insert(k.to_owned(), serde_json::Value::from(v));
        }
        for p in &self.param_files {
            let Some((k, path)) = p.split_once('=') else {
                bail!("--param-file {p}: write it as name=path");
            };
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("--param-file {k}: cannot read {path}: {e}"))?;
            let value = text.strip_suffix('\n').unwrap_or(&text);
            map.insert(k.to_owned(), serde_json::Value::from(value));
        }
        Ok(map)
    }

    fn action(&self) -> Action {
        Action::from_name(self.action.as_deref())
    }

    fn options(&self, mode: Mode) -> JobOptions {
        let mut opts = JobOptions {
            mode,
            ..JobOptions::default()
        };
        if let Some(p) = &self.os_release {
            opts.os_release_path = p.clone();
        }
        opts
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            console::err(&format!("error: {e:#}"));
            ExitCode::FAILURE
        }
    }
}

fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Check { files, json } => check::run(&files, json),
        Command::Plan { file, job, json } => plan(&file, &job, json),
        Command::Run {
            file,
            job,
            timings,
            record,
        } => run(&file, &job, timings, record.as_deref()),
        Command::Test {
            file,
            debian,
            params,
            param_files,
            binary,
        } => {
            let job = JobArgs {
                params,
                param_files,
                os_release: None,
                action: None,
            };
            test::run(&file, debian, &job.params()?, binary)
        }
        Command::Detect { files, os_release } => detect(&files, os_release),
        Command::Keygen { dir } => {
            trust::keygen(&dir)?;
            console::out(&format!(
                "wrote {} (secret, mode 0600) and {}",
                dir.join("signing.key").display(),
                dir.join("signing.pub").display()
            ));
            Ok(ExitCode::SUCCESS)
        }
        Command::Sign {
            key,
            expires_in,
            files,
            out,
        } => {
            let recipe = load(files.first().context("no recipe given")?)?;
            let caps = recipe.meta.capabilities;
            let facts = trust::RecipeFacts {
                id: recipe.meta.id,
                version: recipe.meta.version,
                capabilities: cairn_protocol::Capabilities {
                    programs: caps.programs,
                    paths: caps.paths,
                    services: caps.services,
                },
            };
            trust::sign(&key, expires_in.as_deref(), &files, &out, facts)?;
            console::out(&format!("wrote {}", out.display()));
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { public_key, bundle } => {
            console::out(&trust::verify(&public_key, &bundle)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::New { id, category, out } => scaffold::new(&id, category, out),
        Command::Definitions { out } => definitions::write(out),
        Command::Publish {
            file,
            url,
            token_file,
        } => publish::run(&file, &url, token_file.as_deref()),
    }
}

fn load(file: &Path) -> anyhow::Result<Recipe> {
    Ok(Recipe::load(file)?)
}

fn plan(file: &Path, args: &JobArgs, json: bool) -> anyhow::Result<ExitCode> {
    let recipe = load(file)?;
    // The recipe's warn() lines are part of what a plan says (what an uninstall deletes or
    // keeps), as on the dashboard's preview: they are the summary's notes.
    let report = job::run(
        &recipe,
        args.action(),
        &args.params()?,
        &args.options(Mode::Plan),
        None::<cairn_engine::EventTx>,
    );
    if let Some(error) = report.outcome.failure_text() {
        return Err(anyhow::Error::msg(error))
            .with_context(|| format!("planning {}", file.display()));
    }
    let actions = report.plan;
    let warnings = report.summary.notes;
    if json {
        console::out_json(&actions)?;
    } else if actions.is_empty() {
        console::out(&format!(
            "{}: nothing to change on this machine",
            recipe.meta.id
        ));
    } else {
        console::out(&format!("{} would:", recipe.meta.id));
        for (i, a) in actions.iter().enumerate() {
            console::out(&format!("{:>3}. {a}", i + 1));
        }
    }
    if !json {
        for w in &warnings {
            console::out(&format!("warning: {w}"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run(
    file: &Path,
    args: &JobArgs,
    timings: bool,
    record: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let recipe = load(file)?;
    let params = args.params()?;
    let opts = args.options(Mode::Execute);
    let action = args.action();
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || job::run(&recipe, action, &params, &opts, Some(tx)));
    let mut printer = console::Printer::new();
    printer.timings = timings;
    let mut summary = None;
    for event in rx {
        if let cairn_engine::Event::Timings { timings } = &event {
            summary = Some(timings.clone());
        }
        printer.print(&event);
    }
    let report = worker
        .join()
        .map_err(|_| anyhow::anyhow!("the recipe runner crashed"))?;
    if let Some(path) = record {
        record::RunRecord::new(&report, summary).write(path)?;
    }
    Ok(match report.outcome {
        Outcome::Succeeded { .. } => ExitCode::SUCCESS,
        Outcome::Failed { .. } => ExitCode::FAILURE,
    })
}

fn detect(files: &[PathBuf], os_release: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let mut opts = JobOptions::default();
    if let Some(p) = os_release {
        opts.os_release_path = p;
    }
    let mut out = serde_json::Map::new();
    let mut failed = false;
    for f in files {
        let recipe = load(f)?;
        let value = match job::detect(&recipe, &opts) {
            Ok(d) => serde_json::to_value(d)?,
            Err(e) => {
                failed = true;
                serde_json::json!({ "error": e })
            }
        };
        out.insert(recipe.meta.id.clone(), value);
    }
    console::out_json(&out)?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
