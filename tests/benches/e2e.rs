//! Benchmarks of the real agent and control plane together (issue 4, "Measure"): agent idle
//! memory and binary size, the `GET_SERVER_STATUS` round trip against running the same
//! detectors one after another, and a million log lines from a recipe to a dashboard.
//!
//! Build first: `cargo build --release -p cairn-control-plane -p cairn-recipe` (started from
//! `target/release/`). The bench builds the agent as servers get it itself (every binary of
//! `AGENT_BINS` the workspace has, `cargo build --profile agent`, into `target/agent/`);
//! `$CAIRN_E2E_AGENT_BIN` picks another agent (with `cairn-agent-worker` beside it) and skips
//! that build. Arguments filter the cases by name
//! (`cargo bench -p cairn-e2e -- lines`). Prints Markdown for BENCHMARKS.md.

#![allow(clippy::print_stdout)]

use std::process::Command;
use std::time::{Duration, Instant};

use cairn_e2e::memory::{load_average, median, mib, percentile, sample_tree, smaps_by_mapping};
use cairn_e2e::{Cluster, Dashboard, bin, rss_kb, use_shipped_agent, worker_bin};
use serde_json::json;

fn p95(v: &mut [f64]) -> f64 {
    percentile(v, 0.95)
}

/// Reads dashboard messages for `quiet`, so later measurements start from an idle socket.
async fn drain(d: &mut Dashboard, quiet: Duration) {
    while let Ok(Some(_)) = tokio::time::timeout(quiet, d.next()).await {}
}

async fn idle(c: &Cluster) {
    println!("## Agent at rest\n");
    // Let the connect-time status request finish and the allocator settle.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let pid = c.agent.pid();
    let mut samples = Vec::new();
    for _ in 0..10 {
        samples.push(rss_kb(pid).0 as f64);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (_, hwm) = rss_kb(pid);
    let size = |name: &str| std::fs::metadata(bin(name)).map(|m| m.len()).unwrap_or(0);
    println!("| what | value |\n|---|---:|");
    println!(
        "| agent VmRSS, connected and idle (median of 10 samples over 3 s) | {} |",
        mib(median(&mut samples) as u64)
    );
    println!(
        "| agent VmHWM since start (includes the first status) | {} |",
        mib(hwm)
    );
    println!(
        "| `cairn-agent` binary, `agent` profile (size-optimised, stripped) | {:.1} MiB |",
        size("cairn-agent") as f64 / 1048576.0
    );
    // An agent from before the split (`$CAIRN_E2E_AGENT_BIN`) has no worker to measure.
    if let Ok(worker) = std::fs::metadata(worker_bin()) {
        println!(
            "| `cairn-agent-worker` binary, `agent` profile (one per job or batch of detectors) | {:.1} MiB |",
            worker.len() as f64 / 1048576.0
        );
    }
    println!(
        "| `cairn-control-plane` binary, release (stripped) | {:.1} MiB |",
        size("cairn-control-plane") as f64 / 1048576.0
    );
    let threads = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Threads:").map(|v| v.trim().to_owned()))
        .unwrap_or_default();
    println!("| agent threads when idle | {threads} |");
    let (cp_rss, _) = rss_kb(c.cp.pid());
    println!(
        "| control plane VmRSS, idle with one agent | {} |\n",
        mib(cp_rss)
    );
    println!("Where the agent's resident memory is (`/proc/PID/smaps`, by mapping):\n");
    println!("| mapping | resident |\n|---|---:|");
    for (name, kb) in smaps_by_mapping(pid) {
        println!("| {name} | {} |", mib(kb));
    }
    println!();
}

async fn status(c: &Cluster) {
    const RUNS: usize = 30;
    println!("## GET_SERVER_STATUS round trip\n");
    let mut d = c.dashboard().await;
    drain(&mut d, Duration::from_millis(500)).await;
    let mut rtt = Vec::new();
    for i in 0..RUNS + 3 {
        let t = Instant::now();
        d.send(json!({"type": "GET_SERVER_STATUS", "nodeId": c.node_id}))
            .await;
        loop {
            let m = d.next().await.expect("open socket");
            if m["type"] == "SERVER_STATUS" {
                break;
            }
        }
        if i >= 3 {
            rtt.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let recipes: Vec<_> = std::fs::read_dir(&c.cp.recipes_dir)
        .expect("recipes")
        .flatten()
        .map(|e| e.path())
        .collect();
    let cli = bin("cairn-recipe");
    let mut seq_each = Vec::new();
    let mut one_proc = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        for r in &recipes {
            let ok = Command::new(&cli).arg("detect").arg(r).output();
            assert!(ok.map(|o| o.status.success()).unwrap_or(false));
        }
        seq_each.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let ok = Command::new(&cli).arg("detect").args(&recipes).output();
        assert!(ok.map(|o| o.status.success()).unwrap_or(false));
        one_proc.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "{} recipes ({}); {RUNS} round trips after 3 warm-ups; CLI cases 10 runs each.\n",
        recipes.len(),
        recipes
            .iter()
            .filter_map(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("| case | median | p95 |\n|---|---:|---:|");
    println!(
        "| dashboard `GET_SERVER_STATUS` → `SERVER_STATUS` (detectors in parallel + system facts) | {:.1} ms | {:.1} ms |",
        median(&mut rtt),
        p95(&mut rtt)
    );
    println!(
        "| `cairn-recipe detect FILE`, one process per recipe, one after another | {:.1} ms | {:.1} ms |",
        median(&mut seq_each),
        p95(&mut seq_each)
    );
    println!(
        "| `cairn-recipe detect FILE...`, all recipes in one process, sequentially | {:.1} ms | {:.1} ms |\n",
        median(&mut one_proc),
        p95(&mut one_proc)
    );
}

async fn lines(c: &Cluster) {
    // CAIRN_E2E_LINES overrides the count (quick runs).
    let n_lines = std::env::var("CAIRN_E2E_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000u64);
    println!("## {n_lines} log lines to a dashboard\n");
    let load_before = load_average();
    let mut d = c.dashboard().await;
    drain(&mut d, Duration::from_millis(300)).await;
    let t = Instant::now();
    let job = d.start_lines(&c.node_id, n_lines).await;
    let (mut received, mut reordered, mut bad_seq, mut max, mut next_seq) = (0u64, 0u64, 0, 0, 1);
    let mut first_line = None;
    let mut seen = vec![false; n_lines as usize + 1];
    let (mut cp_peak, mut agent_tree_peak) = (0, 0);
    let (mut messages, mut duplicated, mut not_numbers) = (0u64, 0u64, 0u64);
    let end = loop {
        let m = d.next().await.expect("open socket");
        if m["jobId"] != job.as_str() {
            continue;
        }
        let p = &m["payload"];
        if p["seq"].as_u64() != Some(next_seq) {
            bad_seq += 1;
        }
        next_seq = p["seq"].as_u64().unwrap_or(next_seq) + 1;
        if m["type"] == "INFRASTRUCTURE_LOG" && p["stream"] == "stdout" {
            first_line.get_or_insert_with(|| t.elapsed());
            // One message may hold several lines (the agent coalesces them).
            for line in p["message"].as_str().unwrap_or("").split('\n') {
                let n: u64 = line.parse().unwrap_or(0);
                if !(1..=n_lines).contains(&n) {
                    not_numbers += 1;
                } else if seen[n as usize] {
                    duplicated += 1;
                } else {
                    seen[n as usize] = true;
                    received += 1;
                }
                if n < max {
                    reordered += 1;
                }
                max = max.max(n);
            }
            messages += 1;
            if messages.is_multiple_of(500) {
                cp_peak = cp_peak.max(rss_kb(c.cp.pid()).0);
                // The agent's whole tree: after the split a worker prints the lines.
                agent_tree_peak = agent_tree_peak.max(sample_tree(c.agent.pid()).tree_rss_kb);
            }
        }
        if cairn_e2e::TERMINAL.iter().any(|k| m["type"] == *k) {
            break m;
        }
    };
    let total = t.elapsed();
    assert_eq!(end["type"], "RUNTIME_INSTALLED", "{end}");
    let stored_at = Instant::now();
    let job_row = c.cp.wait_job_done(&c.cookie, &job).await;
    let stored_wait = stored_at.elapsed();
    let (cp_rss, cp_hwm) = rss_kb(c.cp.pid());
    let (_, agent_hwm) = rss_kb(c.agent.pid());
    let db = std::fs::read_dir(&c.cp.data_dir)
        .expect("data dir")
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum::<u64>();
    println!(
        "`run(\"seq\", [\"1\", \"{n_lines}\"])` in the `lines` test recipe; one dashboard socket reading and parsing every message. Load average before: {load_before}; after: {}. The p99 of a line's latency is the `latency` case's.\n",
        load_average()
    );
    println!("| what | value |\n|---|---:|");
    println!(
        "| command → terminal event at the dashboard | {:.1} s |",
        total.as_secs_f64()
    );
    println!(
        "| lines/s (all {n_lines} lines over that time) | {:.0} |",
        n_lines as f64 / total.as_secs_f64()
    );
    if let Some(f) = first_line {
        println!(
            "| first line at the dashboard after | {} ms |",
            f.as_millis()
        );
    }
    println!("| lines received (distinct) | {received} |");
    println!("| dashboard messages carrying them | {messages} |");
    println!("| lost | {} |", n_lines - received);
    println!("| reordered (a number below one already seen) | {reordered} |");
    println!("| duplicated (a number seen twice) | {duplicated} |");
    println!("| lines that are not one of the numbers printed | {not_numbers} |");
    println!("| events whose seq was not previous + 1 | {bad_seq} |");
    println!(
        "| job status in the store after the terminal event (waited {} ms) | {} |",
        stored_wait.as_millis(),
        job_row["status"]
    );
    println!(
        "| control plane VmRSS sampled during the job, max | {} |",
        mib(cp_peak)
    );
    println!(
        "| control plane VmHWM (peak over its life) / VmRSS after | {} / {} |",
        mib(cp_hwm),
        mib(cp_rss)
    );
    println!(
        "| agent VmHWM (the process the bench started) | {} |",
        mib(agent_hwm)
    );
    println!(
        "| agent process tree, VmRSS summed, sampled during the job, max | {} |",
        mib(agent_tree_peak)
    );
    println!(
        "| data dir after (SQLite db + wal) | {:.0} MiB |\n",
        db as f64 / 1048576.0
    );
    // A benchmark, not a test: the figures above are never judged, but a line lost, doubled,
    // garbled or out of order is a broken pipeline, not a slow one.
    assert_eq!(
        received,
        n_lines,
        "{} of {n_lines} lines were lost",
        n_lines - received
    );
    assert_eq!(reordered, 0, "{reordered} lines arrived after a later one");
    assert_eq!(duplicated, 0, "{duplicated} lines arrived twice");
    assert_eq!(
        not_numbers, 0,
        "{not_numbers} lines were not the numbers printed"
    );
    assert_eq!(bad_seq, 0, "{bad_seq} events broke the seq order");
    assert_eq!(job_row["status"], "succeeded", "{job_row}");
}

/// Single-line latency: the `clock` recipe runs `date +%s%N` every 20 ms; each line carries
/// the wall-clock time it was printed, and the dashboard side subtracts it from the time it
/// arrived (same machine, same clock).
async fn latency(c: &Cluster) {
    const N: u64 = 300;
    println!("## Single-line latency, {N} lines 20 ms apart\n");
    let load_before = load_average();
    let mut d = c.dashboard().await;
    drain(&mut d, Duration::from_millis(300)).await;
    let job = d
        .start_job(
            "INSTALL_RUNTIME",
            &c.node_id,
            json!({"type": "clock", "params": {"count": N}}),
        )
        .await;
    let mut delays = Vec::new();
    let end = loop {
        let m = d.next().await.expect("open socket");
        if m["jobId"] != job.as_str() {
            continue;
        }
        if m["type"] == "INFRASTRUCTURE_LOG" && m["payload"]["stream"] == "stdout" {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_nanos();
            for line in m["payload"]["message"].as_str().unwrap_or("").split('\n') {
                if let Ok(printed) = line.trim().parse::<u128>() {
                    delays.push(now.saturating_sub(printed) as f64 / 1e6);
                }
            }
        }
        if cairn_e2e::TERMINAL.iter().any(|k| m["type"] == *k) {
            break m;
        }
    };
    assert_eq!(end["type"], "RUNTIME_INSTALLED", "{end}");
    assert_eq!(delays.len() as u64, N, "every line arrived");
    delays.sort_by(f64::total_cmp);
    let pct =
        |p: f64| delays[((delays.len() as f64 * p).ceil() as usize).clamp(1, delays.len()) - 1];
    println!(
        "Load average before: {load_before}; after: {}.\n",
        load_average()
    );
    println!("| what | value |\n|---|---:|");
    println!(
        "| printed by the child → parsed at the dashboard, p50 | {:.1} ms |",
        pct(0.50)
    );
    println!("| p99 | {:.1} ms |", pct(0.99));
    println!("| max | {:.1} ms |\n", pct(1.0));
}

fn main() {
    let filters = cairn_e2e::bench::cases();
    let want = |name: &str| cairn_e2e::bench::wants(&filters, name);
    // Every agent binary (the agent, and its worker once it exists) with the `agent` profile,
    // side by side in target/agent/.
    cairn_e2e::build_shipped_agent();
    use_shipped_agent();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let c = Cluster::start(&["redis", "lines", "ticks", "clock"]).await;
        if want("idle") {
            idle(&c).await;
        }
        if want("status") {
            status(&c).await;
        }
        if want("lines") {
            lines(&c).await;
        }
        if want("latency") {
            latency(&c).await;
        }
    });
}
