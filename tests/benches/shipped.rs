//! Benchmarks of issue 16 ("the agent as a small supervisor"), with the SHIPPED catalogue: the
//! control plane publishes every recipe of `recipes/` (not the test recipes of `-- idle`), and
//! the agent is the shipped build (`agent` profile).
//!
//! - `memory`: 1,000 `GET_SERVER_STATUS` from a dashboard socket (every shipped detector each
//!   time) and 10 real jobs, then the agent's VmRSS sampled once a second for 30 s: the
//!   process the bench started (the supervisor, after the split) and its whole process tree
//!   (supervisor + any live worker), with the RSS-by-mapping tables of `/proc/PID/smaps`.
//! - `metrics` (issue 19): the supervisor's CPU time per metrics sample (taken, appended to its
//!   buffer, sent, acknowledged and deleted), with one sample a second for 60 s.
//! - `status`: the `GET_SERVER_STATUS` → `SERVER_STATUS` round trip, median and p95, against
//!   each shipped detector run alone by `cairn-recipe detect FILE` (the slowest, and their sum).
//!
//! Before it starts, the bench builds every agent binary of [`cairn_e2e::AGENT_BINS`] that the
//! workspace declares (`cargo build --profile agent`, so `target/agent/cairn-agent` and, once it
//! exists, `cairn-agent-worker` next to it); the control plane and `cairn-recipe` must be built
//! (`cargo build --release -p cairn-control-plane -p cairn-recipe`). It fails when a status
//! answer lacks a detector or holds a detector's error, or a job does not succeed; timings are
//! printed (Markdown for BENCHMARKS.md), never judged.

#![allow(clippy::print_stdout)]

use std::process::Command;
use std::time::{Duration, Instant};

use cairn_e2e::memory::{
    load_average, median, mib, percentile, sample_tree, smaps_by_kind, smaps_by_mapping,
};
use cairn_e2e::{Cluster, Dashboard, bin, cpu_secs, repo_root, rss_kb};
use serde_json::{Value, json};

/// The jobs the `memory` case runs: installs of shipped recipes whose packages are all
/// installed on this machine, so each job looks at dpkg, runs the recipe's version checks and
/// says nothing changed. The packages are the ones each recipe's `install()` passes to
/// `apt_install`; the bench refuses to start a job if one is missing (it would install it).
const JOBS: &[(&str, &[&str])] = &[
    (
        "python",
        &[
            "python3",
            "python3-pip",
            "python3-venv",
            "python3-dev",
            "build-essential",
            "gunicorn",
            "uvicorn",
        ],
    ),
    ("ruby", &["ruby", "ruby-dev", "ruby-bundler", "puma"]),
];

/// The ids of the shipped recipes (`recipes/*.rhai`), sorted.
fn shipped_recipes() -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(repo_root().join("recipes"))
        .expect("recipes/")
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".rhai").map(str::to_owned)
        })
        .collect();
    ids.sort();
    ids
}

/// Checks a `SERVER_STATUS` payload: system facts, and a detection of every recipe of `ids`
/// without a detector error. Returns what is wrong, in words.
fn check_status(p: &Value, ids: &[String]) -> Result<(), String> {
    if p["system"]["os"].as_str().is_none_or(str::is_empty) {
        return Err(format!("the answer has no system facts: {p}"));
    }
    let mut found = Vec::new();
    for list in ["runtimes", "databases", "backups"] {
        for e in p[list].as_array().into_iter().flatten() {
            let id = e["type"].as_str().or(e["provider"].as_str()).unwrap_or("?");
            if let Some(err) = e["error"].as_str() {
                return Err(format!("the {id} detector failed: {err}"));
            }
            found.push(id.to_owned());
        }
    }
    match ids.iter().find(|id| !found.contains(id)) {
        Some(id) => Err(format!("the answer has no detection of {id}: {p}")),
        None => Ok(()),
    }
}

/// Reads dashboard messages for `quiet`, so later measurements start from an idle socket.
async fn drain(d: &mut Dashboard, quiet: Duration) {
    while let Ok(Some(_)) = tokio::time::timeout(quiet, d.next()).await {}
}

/// One full status round trip (ms); panics if the answer is incomplete.
async fn status_once(c: &Cluster, d: &mut Dashboard, ids: &[String]) -> f64 {
    let t = Instant::now();
    d.send(json!({"type": "GET_SERVER_STATUS", "nodeId": c.node_id}))
        .await;
    loop {
        let m = d.next().await.expect("open socket");
        if m["type"] == "ERROR" {
            panic!("GET_SERVER_STATUS refused: {m}");
        }
        if m["type"] == "SERVER_STATUS" {
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            if let Err(e) = check_status(&m["payload"], ids) {
                panic!("{e}");
            }
            return ms;
        }
    }
}

fn dpkg_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f", "${Status}", package])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout) == "install ok installed")
}

/// Runs job `i` of the memory case (an install of [`JOBS`]`[i % 2]`) to its end.
async fn job(c: &Cluster, d: &mut Dashboard, i: usize) {
    let (recipe, packages) = JOBS[i % JOBS.len()];
    if let Some(p) = packages.iter().find(|p| !dpkg_installed(p)) {
        panic!(
            "{p} is not installed here, so the {recipe} install would install it: this bench runs only jobs that change nothing. Install it first (apt-get install {}), or run the bench elsewhere.",
            packages.join(" ")
        );
    }
    let id = d
        .start_job(
            "INSTALL_RUNTIME",
            &c.node_id,
            json!({"type": recipe, "params": {}}),
        )
        .await;
    let end = d.wait_terminal(&id).await;
    assert_eq!(
        end["type"], "RUNTIME_INSTALLED",
        "job {i} ({recipe}): {end}"
    );
    assert_eq!(end["payload"]["success"], true, "job {i} ({recipe}): {end}");
    // The engine's apt_install logs this when every package was there and it ran no apt-get.
    let said_nothing_to_do = d.job_messages(&id).iter().any(|m| {
        m["type"] == "INFRASTRUCTURE_LOG"
            && m["payload"]["message"]
                .as_str()
                .is_some_and(|t| t.contains("Already installed"))
    });
    assert!(
        said_nothing_to_do,
        "job {i} ({recipe}) did not say its packages were already installed: {:?}",
        d.job_messages(&id)
    );
    d.seen.clear();
}

async fn memory(c: &Cluster, ids: &[String]) {
    // CAIRN_E2E_STATUSES overrides the count (quick runs); the figure is 1,000.
    let statuses: usize = std::env::var("CAIRN_E2E_STATUSES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    const JOB_COUNT: usize = 10;
    println!("## Agent memory with the shipped catalogue\n");
    let load_before = load_average();
    let mut d = c.dashboard().await;
    drain(&mut d, Duration::from_millis(500)).await;
    let t = Instant::now();
    let mut rtt = Vec::with_capacity(statuses);
    for _ in 0..statuses {
        rtt.push(status_once(c, &mut d, ids).await);
    }
    let status_secs = t.elapsed().as_secs_f64();
    let after_status = sample_tree(c.agent.pid());
    let t = Instant::now();
    for i in 0..JOB_COUNT {
        job(c, &mut d, i).await;
    }
    let jobs_secs = t.elapsed().as_secs_f64();
    // Steady state: one sample a second for 30 s, starting right after the last job.
    let pid = c.agent.pid();
    let (mut root, mut tree_rss, mut tree_pss) = (Vec::new(), Vec::new(), Vec::new());
    let mut most_processes = sample_tree(pid);
    for _ in 0..30 {
        let s = sample_tree(pid);
        root.push(s.root_rss_kb as f64);
        tree_rss.push(s.tree_rss_kb as f64);
        tree_pss.push(s.tree_pss_kb as f64);
        if s.processes.len() > most_processes.processes.len() {
            most_processes = s;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // Every fifth sample, in time order (before the median sorts them): is it still falling?
    let timeline: Vec<String> = root
        .iter()
        .step_by(5)
        .chain(root.last())
        .map(|kb| format!("{:.1}", kb / 1024.0))
        .collect();
    let last = sample_tree(pid);
    let (_, hwm) = rss_kb(pid);
    let threads = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Threads:").map(|v| v.trim().to_owned()))
        .unwrap_or_default();
    println!(
        "{} shipped recipes ({}); {statuses} `GET_SERVER_STATUS` in {status_secs:.0} s (median {:.1} ms), then {JOB_COUNT} jobs ({}) in {jobs_secs:.1} s; then 30 samples, 1 s apart. Load average before: {load_before}; after: {}.\n",
        ids.len(),
        ids.join(", "),
        median(&mut rtt),
        JOBS.iter()
            .map(|(r, _)| format!("`{r}` install, already installed"))
            .collect::<Vec<_>>()
            .join(" and "),
        load_average()
    );
    println!("| what | value |\n|---|---:|");
    println!(
        "| supervisor VmRSS (the process the bench started), median of 30 samples over 30 s | {} |",
        mib(median(&mut root) as u64)
    );
    println!(
        "| supervisor VmRSS at 0, 5, 10, 15, 20, 25 and 29 s (MiB) | {} |",
        timeline.join(" · ")
    );
    println!(
        "| its process tree, VmRSS summed, median | {} |",
        mib(median(&mut tree_rss) as u64)
    );
    println!(
        "| its process tree, PSS summed (shared pages counted once), median | {} |",
        mib(median(&mut tree_pss) as u64)
    );
    println!(
        "| processes in the tree while sampling (most seen) | {} |",
        most_processes.processes.len()
    );
    println!(
        "| supervisor VmRSS right after the {statuses} status requests | {} |",
        mib(after_status.root_rss_kb)
    );
    println!("| supervisor VmHWM (peak over its life) | {} |", mib(hwm));
    println!("| supervisor threads at the end | {threads} |\n");
    println!("The process tree at the end (`/proc/*/stat` parent links):\n");
    println!("| pid | name | VmRSS |\n|---:|---|---:|");
    for (p, name, kb) in &last.processes {
        println!("| {p} | {name} | {} |", mib(*kb));
    }
    println!("\nThe supervisor's resident memory by kind (`/proc/PID/smaps`, at the end):\n");
    println!("| kind | resident |\n|---|---:|");
    for (kind, kb) in smaps_by_kind(pid) {
        println!("| {kind} | {} |", mib(kb));
    }
    println!("\nBy mapping:\n");
    println!("| mapping | resident |\n|---|---:|");
    for (name, kb) in smaps_by_mapping(pid) {
        println!("| {name} | {} |", mib(kb));
    }
    println!();
}

/// Median wall time (ms) of `cairn-recipe ARGS` over `runs` runs after one warm-up; panics
/// if it fails.
fn cli_ms(args: &[&std::ffi::OsStr], runs: usize) -> f64 {
    let cli = bin("cairn-recipe");
    let mut v = Vec::with_capacity(runs);
    for i in 0..=runs {
        let t = Instant::now();
        let out = Command::new(&cli)
            .args(args)
            .output()
            .expect("run cairn-recipe");
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        assert!(
            out.status.success(),
            "cairn-recipe {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if i > 0 {
            v.push(ms);
        }
    }
    median(&mut v)
}

async fn status(c: &Cluster, ids: &[String]) {
    let runs: usize = std::env::var("CAIRN_E2E_STATUS_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    const CLI_RUNS: usize = 20;
    println!("## GET_SERVER_STATUS round trip with the shipped recipes\n");
    let load_before = load_average();
    let mut d = c.dashboard().await;
    drain(&mut d, Duration::from_millis(500)).await;
    for _ in 0..3 {
        status_once(c, &mut d, ids).await;
    }
    let mut rtt = Vec::with_capacity(runs);
    for _ in 0..runs {
        rtt.push(status_once(c, &mut d, ids).await);
    }
    // Each detector alone, in its own process: `detect FILE` is process start + parse +
    // detect; `check FILE` is process start + parse + static checks, shown beside it so the
    // reader sees how much of a detector's time is the process, not the detection.
    let dir = &c.cp.recipes_dir;
    let mut rows = String::new();
    let (mut sum, mut slowest) = (0.0f64, (0.0f64, String::new()));
    for id in ids {
        let file = dir.join(format!("{id}.rhai"));
        let detect = cli_ms(&["detect".as_ref(), file.as_os_str()], CLI_RUNS);
        let check = cli_ms(&["check".as_ref(), file.as_os_str()], CLI_RUNS);
        rows.push_str(&format!("| {id} | {detect:.1} ms | {check:.1} ms |\n"));
        sum += detect;
        if detect > slowest.0 {
            slowest = (detect, id.clone());
        }
    }
    let mut all: Vec<&std::ffi::OsStr> = vec!["detect".as_ref()];
    let files: Vec<_> = ids
        .iter()
        .map(|id| dir.join(format!("{id}.rhai")))
        .collect();
    all.extend(files.iter().map(|f| f.as_os_str()));
    let one_process = cli_ms(&all, CLI_RUNS);
    let (med, p95) = (median(&mut rtt), percentile(&mut rtt, 0.95));
    println!(
        "{} recipes; {runs} round trips after 3 warm-ups, every answer checked (each recipe's detection, no detector error); CLI cases: median of {CLI_RUNS} runs after one warm-up. Load average before: {load_before}; after: {}.\n",
        ids.len(),
        load_average()
    );
    println!("| what | value |\n|---|---:|");
    println!(
        "| dashboard `GET_SERVER_STATUS` → `SERVER_STATUS`, all shipped detectors + system facts, median | {med:.1} ms |"
    );
    println!("| same, p95 | {p95:.1} ms |");
    println!(
        "| slowest detector alone (`cairn-recipe detect {}.rhai`, median) | {:.1} ms |",
        slowest.1, slowest.0
    );
    println!("| the detectors one after another (sum of each alone, medians) | {sum:.1} ms |");
    println!(
        "| all detectors in one `cairn-recipe detect FILE...` process, sequentially | {one_process:.1} ms |"
    );
    println!(
        "| the target later: slowest detector + 50 ms | {:.1} ms |\n",
        slowest.0 + 50.0
    );
    println!(
        "Each detector alone, in its own process (`check` is process start + parse + static checks, no detection: how much of `detect` is the process):\n"
    );
    println!(
        "| recipe | `cairn-recipe detect FILE` | `cairn-recipe check FILE` |\n|---|---:|---:|"
    );
    println!("{rows}");
}

async fn metrics(c: &Cluster) {
    const SECS: u64 = 60;
    let path = format!("/api/nodes/{}/metrics?range=1h", c.node_id);
    let count = |v: &Value| v["timestamps"].as_array().map_or(0, Vec::len);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pid = c.agent.pid();
    let (cpu0, n0) = (cpu_secs(pid), count(&c.cp.get_json(&c.cookie, &path).await));
    tokio::time::sleep(Duration::from_secs(SECS)).await;
    let (cpu1, n1) = (cpu_secs(pid), count(&c.cp.get_json(&c.cookie, &path).await));
    let samples = n1.saturating_sub(n0).max(1);
    println!("## Metrics sampling (issue 19)\n");
    println!("| what | value |\n|---|---:|");
    println!("| samples stored in {SECS} s (`--metrics-interval 1`) | {samples} |");
    println!(
        "| supervisor CPU time in those {SECS} s (user + system) | {:.0} ms |",
        (cpu1 - cpu0) * 1000.0
    );
    println!(
        "| supervisor CPU time per sample (taken, buffered, sent, acknowledged) | {:.2} ms |",
        (cpu1 - cpu0) * 1000.0 / samples as f64
    );
    println!(
        "| the same at the 10 s default, share of one core | {:.3} % |\n",
        (cpu1 - cpu0) * 1000.0 / samples as f64 / 10_000.0 * 100.0
    );
}

fn main() {
    let filters = cairn_e2e::bench::cases();
    let want = |name: &str| cairn_e2e::bench::wants(&filters, name);
    let built = cairn_e2e::build_shipped_agent();
    for b in &built {
        println!("built {}", b.display());
    }
    // Also when `$CAIRN_E2E_AGENT_BIN` names the agent: then it is used as given.
    cairn_e2e::use_shipped_agent();
    let ids = shipped_recipes();
    let names: Vec<&str> = ids.iter().map(String::as_str).collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        // A fresh installation per case: the status case must not inherit the memory case's
        // heap, nor the memory case the status case's requests.
        if want("memory") {
            // CAIRN_E2E_AGENT_ARGS: more arguments for `cairn-agent run` (A/B runs, e.g.
            // `--metrics-interval 3600` for an agent that samples once).
            let extra = std::env::var("CAIRN_E2E_AGENT_ARGS").unwrap_or_default();
            let extra: Vec<&str> = extra.split_whitespace().collect();
            let c = Cluster::start_with(&names, &extra).await;
            memory(&c, &ids).await;
        }
        if want("metrics") {
            let c = Cluster::start_with(&names, &["--metrics-interval", "1"]).await;
            metrics(&c).await;
        }
        if want("status") {
            let c = Cluster::start(&names).await;
            status(&c, &ids).await;
        }
    });
}
