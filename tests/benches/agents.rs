//! 10,000 simulated agents on one real control plane (issue 8): enrollment through the real
//! API and `/ws/agent`, the control plane's memory with every agent connected, a status fan-out
//! to all of them (`POST /api/nodes/status`) and the time to the last answer, and a reconnect
//! storm (every connection dropped at once, all coming back immediately).
//!
//! ```sh
//! cargo build --release -p cairn-control-plane
//! cargo bench -p cairn-e2e --bench agents              # 10,000 agents
//! CAIRN_E2E_AGENTS=1000 cargo bench -p cairn-e2e --bench agents
//! CAIRN_E2E_NO_RECIPES=1 cargo bench -p cairn-e2e --bench agents   # no detector bundles
//! CAIRN_E2E_METRICS_EVERY=0 cargo bench -p cairn-e2e --bench agents  # agents send no metrics
//! ```
//!
//! Every simulated agent sends one `METRICS` sample every 10 s (`CAIRN_E2E_METRICS_EVERY`
//! seconds, 0: none) while connected, as real agents do (issue 19), so the fan-out and the storm
//! are measured with that traffic; after connecting, a window of `CAIRN_E2E_METRICS_WINDOW`
//! seconds (120) measures the metrics alone: the control plane's CPU, the samples stored per
//! second, and the store's growth per node per day.
//!
//! The simulated agents ([`cairn_e2e::sim`]) all live in this process, spread over 250 loopback
//! source addresses (40 each for 10,000: under the control plane's 64 unauthenticated
//! connections per address, as agents on distinct servers are). Prints Markdown for
//! BENCHMARKS.md.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use cairn_e2e::conns::raise_nofile;
use cairn_e2e::sim::{SimAgent, Stats, Target};
use cairn_e2e::{ControlPlane, add_recipe, cpu_secs, http, rss_kb};
use cairn_protocol::PublicKey;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde_json::{Value, json};
use tokio::sync::watch;

fn mib(kb: u64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
}

/// Runs `f` over `items` with at most `width` at a time.
async fn bounded<T, F, Fut, R>(items: Vec<T>, width: usize, f: F) -> Vec<R>
where
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = R>,
{
    let mut out = Vec::with_capacity(items.len());
    let mut running = FuturesUnordered::new();
    for item in items {
        if running.len() >= width
            && let Some(r) = running.next().await
        {
            out.push(r);
        }
        running.push(f(item));
    }
    while let Some(r) = running.next().await {
        out.push(r);
    }
    out
}

async fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > limit {
            eprintln!("{what}: not reached within {limit:?}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    start.elapsed()
}

/// Median of 10 RSS samples over 2 s, and the peak so far.
async fn cp_memory(pid: u32) -> (u64, u64) {
    let mut v = Vec::new();
    for _ in 0..10 {
        v.push(rss_kb(pid).0);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    v.sort_unstable();
    (v[v.len() / 2], rss_kb(pid).1)
}

async fn fan_out(cp: &ControlPlane, cookie: &str, stats: &Stats) -> (Duration, Value) {
    let (cp0, me0) = (cpu_secs(cp.pid()), cpu_secs(std::process::id()));
    stats.reset_times();
    let t0 = cairn_e2e::sim::now_us();
    let t = Instant::now();
    let r = http(
        cp.addr,
        "POST",
        "/api/nodes/status?wait=120",
        Some(cookie),
        Some("{}"),
    )
    .await;
    let took = t.elapsed();
    if r.status != 200 {
        eprintln!("POST /api/nodes/status: {} {}", r.status, r.body);
    }
    let mut v = r.json();
    v["cpCpuSecs"] = json!(cpu_secs(cp.pid()) - cp0);
    v["simCpuSecs"] = json!(cpu_secs(std::process::id()) - me0);
    // Where the time went, as the simulated agents saw it (ms after the POST was sent).
    let ms = |a: &std::sync::atomic::AtomicU64| {
        (a.load(Ordering::Relaxed).saturating_sub(t0) as f64 / 1000.0).round()
    };
    v["firstRequestMs"] = json!(ms(&stats.first_request_us));
    v["lastRequestMs"] = json!(ms(&stats.last_request_us));
    v["lastAnswerMs"] = json!(ms(&stats.last_answer_us));
    (took, v)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::var("CAIRN_E2E_AGENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let nofile = raise_nofile();
    let dir = tempfile::tempdir().expect("temp dir");
    let recipes = dir.path().join("recipes");
    std::fs::create_dir(&recipes).expect("recipes dir");
    // The shipped recipes: the first GET_SERVER_STATUS of every connection carries their signed
    // bundles. `CAIRN_E2E_NO_RECIPES=1` publishes none (connection costs without detectors).
    let with_recipes = std::env::var_os("CAIRN_E2E_NO_RECIPES").is_none();
    for entry in std::fs::read_dir(cairn_e2e::repo_root().join("recipes"))
        .expect("recipes/")
        .filter(|_| with_recipes)
    {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "rhai") {
            let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            add_recipe(&recipes, name, dir.path());
        }
    }
    let cp = ControlPlane::start(dir.path(), &recipes).await;
    let pid = cp.pid();
    let cookie = cp.login().await;
    let key = cp.get_json(&cookie, "/api/control-plane-key").await;
    let key_hex = key["publicKey"]
        .as_str()
        .or_else(|| key.as_str())
        .expect("the control plane key")
        .to_owned();
    let target = Arc::new(Target {
        addr: cp.addr,
        cp_key: PublicKey::from_hex(&key_hex).expect("key"),
        sources: 250,
    });
    let (rss0, _) = rss_kb(pid);
    eprintln!("control plane pid {pid}, RLIMIT_NOFILE {nofile}, {n} agents");

    // 1. Tokens through the real API.
    let t = Instant::now();
    let tokens = bounded((0..n).collect(), 16, |i| {
        let (cp, cookie) = (&cp, &cookie);
        async move { cp.token(cookie, &format!("sim-{i}")).await }
    })
    .await;
    let tokens_took = t.elapsed();
    eprintln!("{n} tokens in {tokens_took:?}");

    // 2. Enrollment over /ws/agent, each with its own new key.
    let agents: Vec<Arc<SimAgent>> = tokens
        .iter()
        .enumerate()
        .map(|(i, (_, node))| Arc::new(SimAgent::new(i, node)))
        .collect();
    let t = Instant::now();
    let results = bounded(
        agents.iter().zip(&tokens).collect(),
        64,
        |(a, (token, _))| {
            let target = &target;
            async move { a.enroll(target, token).await }
        },
    )
    .await;
    let enroll_took = t.elapsed();
    let enroll_errors: Vec<_> = results.into_iter().filter_map(Result::err).collect();
    assert!(
        enroll_errors.is_empty(),
        "enrollment failed: {:?}",
        &enroll_errors[..enroll_errors.len().min(5)]
    );
    eprintln!("{n} enrolled in {enroll_took:?}");

    // 3. Everyone connects and authenticates at once.
    let stats = Arc::new(Stats::default());
    let metrics_every: u64 = std::env::var("CAIRN_E2E_METRICS_EVERY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    stats
        .metrics_every_ms
        .store(metrics_every * 1000, Ordering::Relaxed);
    let (drop_tx, drop_rx) = watch::channel(0u64);
    let (stop_tx, stop_rx) = watch::channel(false);
    let tasks: Vec<_> = agents
        .iter()
        .map(|a| {
            tokio::spawn(Arc::clone(a).run(
                Arc::clone(&target),
                Arc::clone(&stats),
                drop_rx.clone(),
                stop_rx.clone(),
            ))
        })
        .collect();
    let n64 = n as u64;
    let connect_took = wait_for("all authenticated", Duration::from_secs(600), || {
        stats.authenticated.load(Ordering::Relaxed) >= n64
    })
    .await;
    let first_status = wait_for("connect-time statuses", Duration::from_secs(600), || {
        stats.answered.load(Ordering::Relaxed) >= n64
    })
    .await;
    eprintln!(
        "all authenticated in {connect_took:?}; connect-time statuses answered after {:?} more",
        first_status
    );
    let connect_errors = stats.errors.load(Ordering::Relaxed);
    // Let the control plane store the connect-time statuses and settle.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (rss_connected, hwm_connected) = cp_memory(pid).await;

    // 3b. Metrics alone: every agent's samples over a window.
    let window: u64 = std::env::var("CAIRN_E2E_METRICS_WINDOW")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    let (cpu0, sent0, acked0, size0) = (
        cpu_secs(pid),
        stats.metrics_sent.load(Ordering::Relaxed),
        stats.metrics_acked.load(Ordering::Relaxed),
        dir_bytes(dir.path()),
    );
    if metrics_every > 0 {
        tokio::time::sleep(Duration::from_secs(window)).await;
    }
    let metrics_cpu = cpu_secs(pid) - cpu0;
    let metrics_sent = stats.metrics_sent.load(Ordering::Relaxed) - sent0;
    let metrics_acked = stats.metrics_acked.load(Ordering::Relaxed) - acked0;
    let grown = dir_bytes(dir.path()).saturating_sub(size0);
    eprintln!(
        "metrics: {metrics_sent} sent, {metrics_acked} acknowledged, {metrics_cpu:.1} CPU s, {grown} bytes in {window} s"
    );

    // 4. Status fan-out, three times.
    let mut fan = Vec::new();
    for _ in 0..3 {
        let (took, body) = fan_out(&cp, &cookie, &stats).await;
        eprintln!("fan-out: {took:?} {body}");
        fan.push((took, body));
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let (rss_fan, hwm_fan) = cp_memory(pid).await;

    // 5. Reconnect storm: every connection dropped at once, all back immediately.
    let before = stats.authenticated.load(Ordering::Relaxed);
    let errors_before = stats.errors.load(Ordering::Relaxed);
    let full_before = stats.full_requests.load(Ordering::Relaxed);
    let same_before = stats.same_requests.load(Ordering::Relaxed);
    let t = Instant::now();
    drop_tx.send_modify(|g| *g += 1);
    let storm_took = wait_for("all re-authenticated", Duration::from_secs(600), || {
        stats.authenticated.load(Ordering::Relaxed) >= before + n64
    })
    .await;
    let storm_errors = stats.errors.load(Ordering::Relaxed) - errors_before;
    eprintln!("storm: {storm_took:?}, {storm_errors} errors");
    // Every node online again, as the control plane sees it.
    let online = wait_online(&cp, &cookie, n, Duration::from_secs(60)).await;
    let t_online = t.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (rss_storm, hwm_storm) = cp_memory(pid).await;
    // The status requests of the reconnections: with the bundles, or naming the kept ones.
    let storm_full = stats.full_requests.load(Ordering::Relaxed) - full_before;
    let storm_same = stats.same_requests.load(Ordering::Relaxed) - same_before;
    eprintln!("storm: {storm_full} status requests with bundles, {storm_same} sameDetectors");
    let (after_storm, after_body) = fan_out(&cp, &cookie, &stats).await;

    let _ = stop_tx.send(true);
    for t in tasks {
        t.abort();
    }

    let published = std::fs::read_dir(&recipes).map_or(0, |d| d.count());
    println!("## {n} simulated agents on one control plane ({published} recipes published)\n");
    println!("| what | value |\n|---|---:|");
    println!("| control plane VmRSS before any agent | {} |", mib(rss0));
    println!(
        "| {n} enrollment tokens through `POST /api/enrollment-tokens` (16 at a time) | {:.1} s |",
        tokens_took.as_secs_f64()
    );
    println!(
        "| {n} enrollments over `/ws/agent` (64 at a time) | {:.1} s |",
        enroll_took.as_secs_f64()
    );
    println!(
        "| all {n} connected and authenticated, from all starting at once | {:.2} s ({connect_errors} failed attempts, retried) |",
        connect_took.as_secs_f64()
    );
    println!(
        "| control plane VmRSS, {n} connected and idle (median of 10 samples) | {} |",
        mib(rss_connected)
    );
    println!(
        "| control plane VmHWM after connecting | {} |",
        mib(hwm_connected)
    );
    if metrics_every > 0 {
        let secs = window as f64;
        println!(
            "| metrics, {window} s with every agent sending a sample every {metrics_every} s: samples sent / acknowledged (stored) | {metrics_sent} / {metrics_acked} ({:.0} samples/s stored) |",
            metrics_acked as f64 / secs
        );
        println!(
            "| metrics: control plane CPU over the window | {metrics_cpu:.1} s ({:.0} % of one core) |",
            100.0 * metrics_cpu / secs
        );
        println!(
            "| metrics: data directory growth over the window (SQLite + WAL) → per node per day | {:.1} MiB → {:.1} MB |",
            grown as f64 / 1048576.0,
            grown as f64 / n as f64 / secs * 86400.0 / 1e6
        );
    }
    for (i, (took, body)) in fan.iter().enumerate() {
        println!(
            "| status fan-out {}: `POST /api/nodes/status` → last answer (answered/asked; CPU s used by the control plane / the simulated agents; agents got the first / last request, sent the last answer at, ms) | {:.2} s ({}/{}; {:.2} / {:.2}; {} / {} / {}) |",
            i + 1,
            took.as_secs_f64(),
            body["answered"],
            body["requested"],
            body["cpCpuSecs"].as_f64().unwrap_or(0.0),
            body["simCpuSecs"].as_f64().unwrap_or(0.0),
            body["firstRequestMs"],
            body["lastRequestMs"],
            body["lastAnswerMs"],
        );
    }
    println!(
        "| control plane VmRSS / VmHWM after the fan-outs | {} / {} |",
        mib(rss_fan),
        mib(hwm_fan)
    );
    println!(
        "| reconnect storm: all {n} dropped at once → all authenticated again | {:.2} s ({storm_errors} failed attempts, retried) |",
        storm_took.as_secs_f64()
    );
    println!(
        "| reconnect storm: first status requests with the bundles / naming the kept ones (`sameDetectors`) | {storm_full} / {storm_same} |"
    );
    println!(
        "| reconnect storm: → `/api/nodes` shows all {n} online | {:.2} s ({online} online) |",
        t_online.as_secs_f64()
    );
    println!(
        "| control plane VmRSS / VmHWM after the storm | {} / {} |",
        mib(rss_storm),
        mib(hwm_storm)
    );
    println!(
        "| status fan-out after the storm | {:.2} s ({}/{}) |",
        after_storm.as_secs_f64(),
        after_body["answered"],
        after_body["requested"]
    );
    println!();
}

/// Bytes of every file under `dir` (the control plane's data directory: SQLite, its WAL, keys).
fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| match e.file_type() {
                Ok(t) if t.is_dir() => dir_bytes(&e.path()),
                Ok(_) => e.metadata().map_or(0, |m| m.len()),
                Err(_) => 0,
            })
            .sum()
    })
}

async fn wait_online(cp: &ControlPlane, cookie: &str, n: usize, limit: Duration) -> usize {
    let start = Instant::now();
    loop {
        let nodes = cp.get_json(cookie, "/api/nodes").await;
        let online = nodes.as_array().map_or(0, |a| {
            a.iter().filter(|n| n["online"] == json!(true)).count()
        });
        if online >= n || start.elapsed() > limit {
            return online;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
