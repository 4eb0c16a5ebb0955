//! The binaries under test and the files a test starts them with: where cargo put
//! `cairn-control-plane` and `cairn-agent` (or the agent as shipped, for benchmarks) with its
//! worker `cairn-agent-worker` beside it (the agent starts it from its own directory), the
//! recipes directory a control plane publishes, log files its children append to, and the
//! slot holding a running child.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};

use crate::repo_root;

/// The directory holding the built binaries: `$CAIRN_E2E_BIN_DIR`, else the parent of the
/// directory of the running executable (`target/debug/deps/e2e-…` → `target/debug`).
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CAIRN_E2E_BIN_DIR") {
        return dir.into();
    }
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("the test executable lives in target/<profile>/deps")
}

/// The agent binary chosen by [`use_shipped_agent`], if it was called.
static SHIPPED_AGENT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Makes [`bin`] return the agent as servers get it, built with the `agent` profile
/// (`target/agent/cairn-agent`, optimised for size, and its worker beside it), unless
/// `$CAIRN_E2E_AGENT_BIN` names one. For benchmarks, which run from `target/release`.
pub fn use_shipped_agent() {
    if std::env::var_os("CAIRN_E2E_AGENT_BIN").is_some() {
        return;
    }
    let shipped = bin_dir()
        .parent()
        .map(|target| target.join("agent").join("cairn-agent"))
        .expect("target/<profile> has a parent");
    assert!(
        shipped.is_file(),
        "{} does not exist; build it first: cargo build --profile agent -p cairn-agent",
        shipped.display()
    );
    let _ = SHIPPED_AGENT.set(shipped);
}

/// The binaries that make up the agent as servers get it: built with the `agent` profile into
/// `target/agent/`, side by side. A name no package of the workspace builds is skipped, so
/// the list can name binaries before they exist (the worker of issue 16).
pub const AGENT_BINS: &[&str] = &["cairn-agent", "cairn-agent-worker"];

/// Builds every binary of [`AGENT_BINS`] that a workspace package declares, with
/// `cargo build --profile agent` into this target directory, then
/// [`use_shipped_agent`]. Skipped when `$CAIRN_E2E_AGENT_BIN` names the agent (built apart).
/// Returns the binaries built (their paths).
pub fn build_shipped_agent() -> Vec<PathBuf> {
    if std::env::var_os("CAIRN_E2E_AGENT_BIN").is_some() {
        return Vec::new();
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target = bin_dir()
        .parent()
        .map(Path::to_path_buf)
        .expect("target/<profile> has a parent");
    let out = std::process::Command::new(&cargo)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(repo_root())
        .output()
        .expect("run cargo metadata");
    assert!(out.status.success(), "cargo metadata failed");
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("cargo metadata JSON");
    let mut args: Vec<String> = vec!["build".into(), "--profile".into(), "agent".into()];
    let mut built = Vec::new();
    for package in meta["packages"].as_array().into_iter().flatten() {
        for t in package["targets"].as_array().into_iter().flatten() {
            let is_bin = t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"));
            let name = t["name"].as_str().unwrap_or("");
            if is_bin && AGENT_BINS.contains(&name) {
                let pkg = package["name"].as_str().expect("package name");
                args.extend(["-p".into(), pkg.into(), "--bin".into(), name.into()]);
                built.push(target.join("agent").join(name));
            }
        }
    }
    let mut build = std::process::Command::new(&cargo);
    // Without the variables cargo sets for the running bench (`CARGO_MANIFEST_DIR`, …): build
    // scripts that watch them (ring's) would rebuild, and the next build from a shell again.
    for (name, _) in std::env::vars_os() {
        let n = name.to_string_lossy();
        let set_by_cargo = n.starts_with("CARGO_PKG_")
            || n.starts_with("CARGO_MANIFEST_")
            || matches!(
                &*n,
                "CARGO_CRATE_NAME"
                    | "CARGO_BIN_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_TARGET_TMPDIR"
                    | "CARGO_RUSTC_CURRENT_DIR"
                    | "OUT_DIR"
            );
        if set_by_cargo {
            build.env_remove(&name);
        }
    }
    let status = build
        .args(&args)
        .arg("--target-dir")
        .arg(&target)
        .current_dir(repo_root())
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo {} failed", args.join(" "));
    use_shipped_agent();
    built
}

/// The path of binary `name` (`cairn-agent`, `cairn-control-plane`), which must exist.
/// `$CAIRN_E2E_AGENT_BIN` names the agent binary when it was built apart (the benchmarks run
/// the `agent` profile's build, see [`use_shipped_agent`]); its worker, `cairn-agent-worker`,
/// is looked for in the same directory, where the agent starts it from (see [`worker_bin`];
/// only an agent from before the split may lack it).
pub fn bin(name: &str) -> PathBuf {
    let path = match (std::env::var_os("CAIRN_E2E_AGENT_BIN"), SHIPPED_AGENT.get()) {
        (Some(agent), _) if name == "cairn-agent" => PathBuf::from(agent),
        (None, Some(agent)) if name == "cairn-agent" => agent.clone(),
        _ => bin_dir().join(name),
    };
    assert!(
        path.is_file(),
        "{} does not exist; build it first (`cargo test --workspace` does, or `cargo build -p {name}`)",
        path.display()
    );
    let worker = worker_next_to(&path);
    if name == "cairn-agent" && !worker.is_file() {
        // An agent from before the split (measured by a benchmark through
        // `$CAIRN_E2E_AGENT_BIN`) has no worker and needs none; one built from this tree does.
        assert!(
            std::env::var_os("CAIRN_E2E_AGENT_BIN").is_some(),
            "{} does not exist, and the agent runs no job and no detector without it: build it \
             with the agent (`cargo build -p cairn-agent` builds both) and keep it next to {}",
            worker.display(),
            path.display()
        );
        eprintln!(
            "note: no {} beside $CAIRN_E2E_AGENT_BIN: only an agent that runs no worker works",
            worker.display()
        );
    }
    path
}

/// The worker the agent of [`bin`]`("cairn-agent")` starts: `cairn-agent-worker` beside it.
pub fn worker_bin() -> PathBuf {
    worker_next_to(&bin("cairn-agent"))
}

fn worker_next_to(agent: &Path) -> PathBuf {
    agent.with_file_name("cairn-agent-worker")
}

/// Copies recipe `name` (`redis` from `recipes/`, anything else from `tests/recipes/`) into
/// `dir`, replacing `@DIR@` with `root` (test recipes declare paths under the test's temp dir).
pub fn add_recipe(dir: &Path, name: &str, root: &Path) {
    let file = format!("{name}.rhai");
    let shipped = repo_root().join("recipes").join(&file);
    let source = if shipped.is_file() {
        shipped
    } else {
        repo_root().join("tests/recipes").join(&file)
    };
    let text = std::fs::read_to_string(&source)
        .unwrap_or_else(|e| panic!("reading {}: {e}", source.display()));
    let text = text.replace("@DIR@", &root.display().to_string());
    std::fs::write(dir.join(&file), text).expect("write recipe");
}

/// Makes `root/recipes` holding the recipes `names` (see [`add_recipe`]); returns its path.
pub fn recipes_dir(root: &Path, names: &[&str]) -> PathBuf {
    let dir = root.join("recipes");
    std::fs::create_dir(&dir).expect("recipes dir");
    for name in names {
        add_recipe(&dir, name, root);
    }
    dir
}

pub(crate) fn log_file(path: &Path) -> (Stdio, Stdio) {
    let f: File = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open log file");
    let g = f.try_clone().expect("clone log file");
    (Stdio::from(f), Stdio::from(g))
}

/// The running process of a [`ControlPlane`](crate::ControlPlane) or an [`Agent`](crate::Agent),
/// if any: started, killed (SIGKILL, then reaped) and started again; killed on drop.
#[derive(Debug, Default)]
pub(crate) struct ChildSlot(Option<Child>);

impl ChildSlot {
    /// Holds `child`, which the caller just started ([`is_set`](Self::is_set) was false).
    pub(crate) fn set(&mut self, child: Child) {
        self.0 = Some(child);
    }

    /// Whether a process was started and not killed since (it may have exited by itself).
    pub(crate) fn is_set(&self) -> bool {
        self.0.is_some()
    }

    /// kill -9, and reap.
    pub(crate) fn kill(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.0.as_ref().map(Child::id).expect("running")
    }

    /// How the process ended, if it has.
    pub(crate) fn exited(&mut self) -> Option<ExitStatus> {
        self.0.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    /// Whether the process is still running.
    pub(crate) fn running(&mut self) -> bool {
        self.is_set() && self.exited().is_none()
    }
}

impl Drop for ChildSlot {
    fn drop(&mut self) {
        self.kill();
    }
}
