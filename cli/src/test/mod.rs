//! `cairn-recipe test RECIPE [--debian 11|12]`: the recipe in a fresh Debian system
//! (`cairn_recipe::system`, `src/system.rs`), as the Debian 11 suite runs every shipped recipe.
//! In order: `detect()`, the plan (`plan --json`), the install (`run --record`), `detect()`
//! again, a second run; then the four findings of `verdict.rs`, printed with what failed and
//! where. Exit 0 only when all four pass.
//!
//! The commands inside are this binary (or `--binary`, one built for Debian 11's glibc) in the
//! copy's own root; a recipe that declares services runs without network, in the system's own
//! network namespace (its daemon may use the same port as one of this host's), with the
//! packages its plan's `apt-get` commands name downloaded first.

mod verdict;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use cairn_engine::{Detection, PlannedAction, Recipe};

use crate::console;
use crate::record::RunRecord;
use cairn_recipe::system::{Setup, System};

/// The Debian release to test on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Release {
    #[value(name = "11")]
    Debian11,
    #[value(name = "12")]
    Debian12,
}

impl Release {
    fn number(self) -> u8 {
        match self {
            Self::Debian11 => 11,
            Self::Debian12 => 12,
        }
    }
}

/// Where the recipe and the runs' records are inside.
const DIR: &str = "/root/cairn-test";

pub fn run(
    file: &Path,
    release: Release,
    params: &serde_json::Map<String, serde_json::Value>,
    binary: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let n = release.number();
    let recipe = Recipe::load(file)?;
    let supported = recipe
        .meta
        .os
        .iter()
        .any(|o| o.id == "debian" && o.versions.iter().any(|v| v == &n.to_string()));
    if !supported {
        bail!(
            "{} does not declare Debian {n} in RECIPE.os, so it cannot be tested there; add \
             #{{ id: \"debian\", versions: [\"{n}\"] }} or test another release",
            file.display()
        );
    }
    let binary = match binary {
        Some(b) => b,
        None => std::env::current_exe().context("cannot find this cairn-recipe's own file")?,
    };
    if !binary.is_file() {
        bail!(
            "{} does not exist; give --binary a cairn-recipe built for Debian {n} \
             (scripts/build-agent-glibc231 cairn-recipe builds one for Debian 11)",
            binary.display()
        );
    }
    if !is_root() {
        bail!(
            "cairn-recipe test makes a Debian system with debootstrap and enters it with chroot, \
             which need root; run it again with sudo"
        );
    }
    let name = file
        .file_name()
        .context("the recipe's path names no file")?
        .to_string_lossy()
        .into_owned();
    let inside = format!("{DIR}/{name}");
    let id = recipe.meta.id.clone();
    let own_network = !recipe.meta.capabilities.services.is_empty();

    console::out(&format!(
        "==> Testing {id} in a fresh Debian {n} system{}",
        if own_network {
            " (its own network: the recipe declares services)"
        } else {
            ""
        }
    ));
    let sys = System::create(&Setup {
        release: n,
        own_network,
        cgroups: false,
        prefix: "cairn-recipe-test-",
    })?;
    console::out(&format!(
        "    a copy of the cached system at {}",
        sys.root.display()
    ));
    setup(&sys, &binary, file, &name, params)?;
    check_binary(&sys, &binary, n)?;
    let param_args = param_args(params);

    let before = detect(&sys, &inside, &id).map_err(anyhow::Error::msg)?;
    console::out("==> Plan before the first run");
    let plan = plan(&sys, &inside, &param_args)?;
    for (i, a) in plan.iter().enumerate() {
        console::out(&format!("{:>3}. {a}", i + 1));
    }
    if sys.own_network() {
        predownload(&sys, &plan)?;
    }

    console::out("==> First run");
    let started = Instant::now();
    let first = run_once(&sys, &inside, &param_args, 1)?;
    let secs = started.elapsed().as_secs_f64();
    let mut findings = vec![verdict::install(&first, secs)];
    if first.succeeded {
        let after = detect(&sys, &inside, &id);
        findings.push(verdict::detect(&before, &after, &first));
        console::out("==> Second run");
        let second = run_once(&sys, &inside, &param_args, 2)?;
        findings.push(verdict::second_run(&second));
        findings.push(verdict::plan_covered(&plan, &first));
    }
    drop(sys);
    report(&id, n, &findings)
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// The binary, the recipe and the parameters (one 0600 file each, off every command line).
fn setup(
    sys: &System,
    binary: &Path,
    file: &Path,
    name: &str,
    params: &serde_json::Map<String, serde_json::Value>,
) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let bin = sys.path("/usr/local/bin/cairn-recipe");
    std::fs::copy(binary, &bin)
        .with_context(|| format!("cannot copy {} into the test system", binary.display()))?;
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755))?;
    let dir = sys.path(DIR);
    std::fs::create_dir_all(dir.join("params"))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    std::fs::copy(file, dir.join(name))
        .with_context(|| format!("cannot copy {} into the test system", file.display()))?;
    for (k, v) in params {
        let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
        let path = dir.join("params").join(k);
        std::fs::write(&path, text)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

fn param_args(params: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    params
        .keys()
        .flat_map(|k| ["--param-file".to_owned(), format!("{k}={DIR}/params/{k}")])
        .collect()
}

/// Fails early, with what to do, when the binary cannot run in the system (its glibc).
fn check_binary(sys: &System, binary: &Path, n: u8) -> anyhow::Result<()> {
    let out = sys.output("cairn-recipe", &["--version".to_owned()])?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let advice = if stderr.contains("GLIBC") {
        format!(
            "it was built for a newer glibc than Debian {n}'s. Build one for glibc 2.31 with \
             scripts/build-agent-glibc231 cairn-recipe and pass it with --binary \
             target/x86_64-unknown-linux-gnu/debug/cairn-recipe"
        )
    } else {
        format!("it said: {}", stderr.trim())
    };
    bail!(
        "{} does not run inside Debian {n}: {advice}",
        binary.display()
    )
}

fn args(verb: &str, recipe: &str, rest: &[String]) -> Vec<String> {
    let mut v = vec![verb.to_owned(), recipe.to_owned()];
    v.extend_from_slice(rest);
    v
}

fn detect(sys: &System, recipe: &str, id: &str) -> Result<Detection, String> {
    let out = sys
        .output("cairn-recipe", &args("detect", recipe, &[]))
        .map_err(|e| format!("{e:#}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let all: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "detect printed no JSON ({e}): {}{}",
            text.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        )
    })?;
    let one = all.get(id).cloned().unwrap_or_default();
    if let Some(e) = one.get("error") {
        return Err(format!("detect() failed: {e}"));
    }
    serde_json::from_value(one).map_err(|e| format!("detect() gave no detection: {e}"))
}

fn plan(sys: &System, recipe: &str, params: &[String]) -> anyhow::Result<Vec<PlannedAction>> {
    let mut rest = params.to_vec();
    rest.push("--json".into());
    let out = sys.output("cairn-recipe", &args("plan", recipe, &rest))?;
    if !out.status.success() {
        bail!(
            "the plan before the first run failed, so nothing was run: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    serde_json::from_slice(&out.stdout).context("the plan printed no JSON list")
}

/// Downloads, with this host's network, the packages the plan's `apt-get` commands install
/// (`apt-get -d`), for a run in the system's own network.
fn predownload(sys: &System, plan: &[PlannedAction]) -> anyhow::Result<()> {
    for a in plan {
        if let PlannedAction::Run { program, args, .. } = a
            && program == "apt-get"
        {
            let mut download = vec!["-d".to_owned()];
            download.extend(args.iter().cloned());
            console::out(&format!(
                "==> Downloading first (the run has no network): {}",
                cairn_engine::shell_words("apt-get", &download)
            ));
            if !sys.shown_online("apt-get", &download)? {
                bail!(
                    "downloading the packages the plan installs failed (see above); nothing was run"
                );
            }
        }
    }
    Ok(())
}

fn run_once(sys: &System, recipe: &str, params: &[String], n: u8) -> anyhow::Result<RunRecord> {
    let record = format!("{DIR}/run-{n}.json");
    let mut rest = params.to_vec();
    rest.extend(["--record".to_owned(), record.clone()]);
    sys.shown("cairn-recipe", &args("run", recipe, &rest))?;
    RunRecord::read(&sys.path(&record))
}

fn report(id: &str, n: u8, findings: &[verdict::Finding]) -> anyhow::Result<ExitCode> {
    console::out(&format!("==> {id} on Debian {n}"));
    for f in findings {
        console::out(&format!("{} {}", if f.ok { "✔" } else { "✘" }, f.line));
        for d in &f.details {
            console::out(&format!("    {d}"));
        }
    }
    let failed: Vec<&str> = findings
        .iter()
        .filter(|f| !f.ok)
        .map(|f| f.line.split(':').next().unwrap_or_default())
        .collect();
    if failed.is_empty() && findings.len() == 4 {
        console::out(&format!(
            "{id} passed on Debian {n}: installed, detected, idempotent, and planned"
        ));
        return Ok(ExitCode::SUCCESS);
    }
    let mut why = failed.join(", ");
    if findings.len() < 4 {
        why.push_str(" (the rest was not checked: it needs a successful install)");
    }
    console::err(&format!(
        "error: {id} failed its test on Debian {n}: {why}; see the lines marked ✘ above"
    ));
    Ok(ExitCode::FAILURE)
}
