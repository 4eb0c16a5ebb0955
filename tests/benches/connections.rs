//! Connections and stalled readers (issue 13, threats.md 34 and 35): the control plane's memory,
//! descriptors and `/healthz` latency (p50/p99) while 5,000 idle connections are held open
//! (from 100 loopback addresses, then all from one), and while four dashboards that stopped
//! reading are subscribed to a node whose job prints a million lines to a fifth that reads.
//!
//! ```sh
//! cargo build --release -p cairn-control-plane && cargo build --profile agent -p cairn-agent
//! cargo bench -p cairn-e2e --bench connections [-- idle|stalled]
//! CAIRN_E2E_NOFILE=4096 cargo bench -p cairn-e2e --bench connections -- idle   # the incident's limit
//! CAIRN_E2E_LINES=5000000 cargo bench -p cairn-e2e --bench connections -- stalled
//! ```
//!
//! Only default flags are passed, so the same bench measures an older control plane
//! (`CAIRN_E2E_BIN_DIR=DIR CAIRN_E2E_AGENT_BIN=DIR/cairn-agent`). Prints Markdown for
//! BENCHMARKS.md.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cairn_e2e::conns::{
    count_open, drain, healthz, idle_connections, open_fds, raise_nofile, sources,
    stalled_dashboard,
};
use cairn_e2e::{Cluster, TERMINAL, login, rss_kb, use_shipped_agent};
use serde_json::json;

const IDLE: usize = 5000;
/// `/healthz` requests per measurement, one after another, each on a fresh connection.
const PROBES: usize = 200;

fn mib(kb: u64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
}

/// p50 and p99 of `v` (ms), as text.
fn percentiles(v: &mut [f64]) -> String {
    if v.is_empty() {
        return "—".into();
    }
    v.sort_by(f64::total_cmp);
    let at = |p: f64| v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1];
    format!("{:.2} / {:.2} ms", at(0.50), at(0.99))
}

/// `PROBES` sequential `/healthz` requests: latencies of the answered ones, and how many got
/// no answer within 5 s (after five in a row, the rest are counted unanswered untried).
async fn probe(c: &Cluster) -> (Vec<f64>, usize) {
    let (mut ok, mut failed, mut in_a_row) = (Vec::new(), 0, 0);
    for i in 0..PROBES {
        if in_a_row == 5 {
            failed += PROBES - i;
            break;
        }
        match healthz(c.cp.addr, Duration::from_secs(5)).await {
            (200, took) => {
                ok.push(took.as_secs_f64() * 1000.0);
                in_a_row = 0;
            }
            _ => {
                failed += 1;
                in_a_row += 1;
            }
        }
    }
    (ok, failed)
}

async fn idle(c: &Cluster) {
    let pid = c.cp.pid();
    let limit = cairn_e2e::conns::fd_limit(pid);
    println!("## {IDLE} idle connections (control plane open-files limit {limit})\n");
    println!(
        "| case | control plane VmRSS | its descriptors | idle connections it holds | `/healthz` p50 / p99 | `/healthz` unanswered (of {PROBES}) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let (mut lat, failed) = probe(c).await;
    println!(
        "| none | {} | {} | — | {} | {failed} |",
        mib(rss_kb(pid).0),
        open_fds(pid),
        percentiles(&mut lat)
    );
    for (name, from) in [
        ("from 100 addresses", sources(1, 100)),
        ("from one address", vec![Ipv4Addr::new(127, 0, 4, 1)]),
    ] {
        let t = Instant::now();
        let (conns, unopened) = idle_connections(c.cp.addr, &from, IDLE).await;
        eprintln!(
            "{name}: {} opened in {:?}, {unopened} not",
            conns.len(),
            t.elapsed()
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (mut lat, failed) = probe(c).await;
        let (rss, fds, held) = (rss_kb(pid).0, open_fds(pid), count_open(&conns));
        println!(
            "| {IDLE} {name} | {} | {fds} | {held} (client side) | {} | {failed} |",
            mib(rss),
            percentiles(&mut lat)
        );
        drop(conns);
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    println!();
}

async fn stalled(c: &Cluster) {
    // CAIRN_E2E_LINES overrides the count (the issue saw 167 MiB over 5 million).
    let lines: u64 = std::env::var("CAIRN_E2E_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let pid = c.cp.pid();
    println!("## 4 stalled dashboards during a {lines}-line job\n");
    let mut stuck = Vec::new();
    for i in 0..4u8 {
        let cookie = login(c.cp.addr, "admin", cairn_e2e::PASSWORD)
            .await
            .expect("sign in");
        let source = Ipv4Addr::new(127, 0, 3, 1 + i);
        stuck.push(stalled_dashboard(c.cp.addr, source, &cookie, &c.cp.origin(), &c.node_id).await);
    }
    let mut d = c.dashboard().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss0 = rss_kb(pid).0;
    // Samples memory and `/healthz` while the job runs.
    let samples = Arc::new(Mutex::new((Vec::<f64>::new(), 0usize, rss0)));
    let sampler = tokio::spawn({
        let (samples, addr) = (Arc::clone(&samples), c.cp.addr);
        async move {
            loop {
                let (status, took) = healthz(addr, Duration::from_secs(5)).await;
                let rss = rss_kb(pid).0;
                {
                    let mut s = samples.lock().unwrap_or_else(|e| e.into_inner());
                    if status == 200 {
                        s.0.push(took.as_secs_f64() * 1000.0);
                    } else {
                        s.1 += 1;
                    }
                    s.2 = s.2.max(rss);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    });
    let t = Instant::now();
    let job = d.start_lines(&c.node_id, lines).await;
    let end = loop {
        let Some(m) = d.next().await else {
            break json!({"type": "the reading dashboard was closed"});
        };
        if m["jobId"] == job.as_str() && TERMINAL.iter().any(|k| m["type"] == *k) {
            break m;
        }
    };
    let took = t.elapsed();
    sampler.abort();
    let rss_end = rss_kb(pid).0;
    // Left unread past the dashboard lag limit (15 s by default), then read: closed, or open.
    // (Read earlier, a stalled socket is no longer stalled and catches up.)
    tokio::time::sleep(Duration::from_secs(20)).await;
    let rss_later = rss_kb(pid).0;
    let mut closed = Vec::new();
    for ws in &mut stuck {
        closed.push(drain(ws, Duration::from_secs(10)).await.closed);
    }
    let (mut lat, failed, peak) = samples.lock().unwrap_or_else(|e| e.into_inner()).clone();
    println!("| what | value |\n|---|---:|");
    println!(
        "| terminal event at the reading dashboard | {} after {:.1} s ({:.0} lines/s) |",
        end["type"],
        took.as_secs_f64(),
        lines as f64 / took.as_secs_f64()
    );
    println!(
        "| control plane VmRSS before / max during / at the end / 20 s later | {} / {} / {} / {} |",
        mib(rss0),
        mib(peak),
        mib(rss_end),
        mib(rss_later)
    );
    println!(
        "| `/healthz` during the job, p50 / p99 ({} answered, {failed} not within 5 s) | {} |",
        lat.len(),
        percentiles(&mut lat)
    );
    let shut = closed.iter().filter(|c| **c).count();
    println!(
        "| stalled sockets closed by the control plane (left unread 20 s after the job, then read for 10 s) | {shut} of {} |\n",
        closed.len()
    );
}

fn main() {
    let filters = cairn_e2e::bench::cases();
    let want = |name: &str| cairn_e2e::bench::wants(&filters, name);
    use_shipped_agent();
    let nofile = std::env::var("CAIRN_E2E_NOFILE")
        .ok()
        .and_then(|v| v.parse().ok());
    eprintln!("this process's open-files limit: {}", raise_nofile());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        if want("idle") {
            let c = Cluster::start_full(&["lines"], &[], &[], nofile).await;
            idle(&c).await;
        }
        if want("stalled") {
            let c = Cluster::start_full(&["lines"], &[], &[], nofile).await;
            stalled(&c).await;
        }
    });
}
