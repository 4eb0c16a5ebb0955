//! The control plane during a login flood (issue 13, THREATS 32): its resident memory and how
//! fast `/healthz` answers while 500 sign-ins arrive at once from 100 loopback addresses, with
//! the shipped argon2 cost. Two floods, each against a fresh control plane: wrong passwords for
//! `admin`, and usernames that do not exist (no lockout shortens that one).
//!
//! ```sh
//! cargo build --release -p cairn-control-plane
//! cargo bench -p cairn-e2e --bench login_flood
//! # another build (the one before issue 13, say): CAIRN_E2E_BIN_DIR=DIR/target/release
//! ```
//!
//! A flood that takes the control plane past 6 GiB is stopped there (the machine is shared);
//! the table then says so. Prints Markdown for BENCHMARKS.md.

#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use cairn_e2e::flood::{Attempt, Samples, client, flood, percentile, statuses};
use cairn_e2e::{ControlPlane, recipes_dir, rss_kb};

const ATTEMPTS: usize = 500;
const ADDRESSES: u32 = 100;
const STOP_AT_KB: u64 = 6 * 1024 * 1024;

fn mib(kb: u64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// `/healthz` one request after another for `n` requests, on an idle control plane.
async fn healthz_idle(cp: &ControlPlane, n: usize) -> Vec<Duration> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let r = cairn_e2e::http(cp.addr, "GET", "/healthz", None, None).await;
        assert_eq!(r.status, 200);
        v.push(started.elapsed());
    }
    v
}

/// Samples memory and `/healthz` until told to stop; kills the control plane past the cap.
async fn watch(
    cp_pid: u32,
    addr: std::net::SocketAddr,
    stop: tokio::sync::watch::Receiver<bool>,
) -> (Samples, bool) {
    let mut s = Samples::default();
    let mut capped = false;
    while !*stop.borrow() {
        let rss = rss_kb(cp_pid).0;
        s.rss_kb.push(rss);
        if rss > STOP_AT_KB {
            let _ = std::process::Command::new("kill")
                .arg("-9")
                .arg(cp_pid.to_string())
                .status();
            capped = true;
            break;
        }
        let started = Instant::now();
        match tokio::time::timeout(
            Duration::from_secs(30),
            cairn_e2e::http(addr, "GET", "/healthz", None, None),
        )
        .await
        {
            Ok(r) if r.status == 200 => s.healthz.push(started.elapsed()),
            _ => s.healthz_failed += 1,
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (s, capped)
}

async fn one(name: &str, user_of: impl Fn(usize) -> String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let recipes = recipes_dir(dir.path(), &["lines"]);
    let mut cp = ControlPlane::start(dir.path(), &recipes).await;
    cp.login().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = rss_kb(cp.pid()).0;
    let idle = healthz_idle(&cp, 200).await;

    let attempts: Vec<Attempt> = (0..ATTEMPTS)
        .map(|i| Attempt {
            source: client(i as u32 % ADDRESSES),
            user: user_of(i),
            password: format!("wrong password {i}"),
        })
        .collect();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let watcher = tokio::spawn(watch(cp.pid(), cp.addr, stop_rx));
    let started = Instant::now();
    let replies = flood(cp.addr, attempts).await;
    let took = started.elapsed();
    let _ = stop_tx.send(true);
    let (during, capped) = watcher.await.expect("watcher");
    let peak = during.rss_kb.iter().copied().max().unwrap_or(0);
    let after = if capped {
        None
    } else {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Some(rss_kb(cp.pid()).0)
    };
    let by = statuses(&replies);
    let count = |s: u16| by.get(&s).copied().unwrap_or(0);

    println!("### {name}\n");
    println!("| what | value |\n|---|---:|");
    println!("| attempts (at once, from {ADDRESSES} addresses) | {ATTEMPTS} |");
    println!(
        "| answers: 401 (password checked) / 429 (refused unchecked) / other | {} / {} / {} |",
        count(401),
        count(429),
        replies.len() - count(401) - count(429)
    );
    println!(
        "| flood took (first request to last answer) | {:.2} s |",
        took.as_secs_f64()
    );
    println!("| control plane VmRSS before | {} |", mib(idle_rss));
    if capped {
        println!(
            "| control plane VmRSS peak during | > {} (stopped there) |",
            mib(STOP_AT_KB)
        );
    } else {
        println!("| control plane VmRSS peak during | {} |", mib(peak));
    }
    match after {
        Some(kb) => println!("| control plane VmRSS 5 s after | {} |", mib(kb)),
        None => println!("| control plane VmRSS 5 s after | (killed at the cap) |"),
    }
    println!(
        "| `/healthz` idle p50 / p99 ({} requests) | {} / {} |",
        idle.len(),
        ms(percentile(&idle, 50.0)),
        ms(percentile(&idle, 99.0))
    );
    println!(
        "| `/healthz` during the flood p50 / p99 ({} answered, {} failed) | {} / {} |\n",
        during.healthz.len(),
        during.healthz_failed,
        ms(percentile(&during.healthz, 50.0)),
        ms(percentile(&during.healthz, 99.0))
    );
    cp.kill();
}

fn main() {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let want = |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!("## Login flood (issue 13)\n");
    println!("Binaries: `{}`\n", cairn_e2e::bin_dir().display());
    rt.block_on(async {
        if want("admin") {
            one("Wrong passwords for admin", |_| "admin".to_owned()).await;
        }
        if want("unknown") {
            one("Usernames that do not exist", |i| format!("nobody-{i}")).await;
        }
    });
}
