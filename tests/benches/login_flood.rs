//! The control plane during a login flood (issue 13, threats.md 32): its resident memory and how
//! fast `/healthz` answers while 500 clients on 100 loopback addresses sign in at once, with the
//! shipped argon2 cost: a burst (one attempt each), and a sustained flood (each client starts
//! its next attempt as soon as its last is answered, for 10 s). Each against a fresh control
//! plane, with wrong passwords for `admin`, and with usernames that do not exist (no lockout
//! shortens that one).
//!
//! ```sh
//! cargo build --release -p cairn-control-plane
//! cargo bench -p cairn-e2e --bench login_flood [-- burst|sustained admin|unknown]
//! # another build (the one before issue 13, say): CAIRN_E2E_BIN_DIR=DIR/target/release
//! ```
//!
//! A flood that takes the control plane past 6 GiB is stopped there (the machine is shared);
//! the table then says so. Prints Markdown for BENCHMARKS.md.

#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn_e2e::flood::{Samples, client, login_from, percentile};
use cairn_e2e::{ControlPlane, recipes_dir, rss_kb};

const CLIENTS: usize = 500;
const ADDRESSES: u32 = 100;
const FOR: Duration = Duration::from_secs(10);
const STOP_AT_KB: u64 = 6 * 1024 * 1024;
/// An attempt not answered within this counts as "no answer".
const NO_ANSWER_AFTER: Duration = Duration::from_secs(5);

type UserOf = Arc<dyn Fn(usize, usize) -> String + Send + Sync>;

fn mib(kb: u64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// `/healthz` one request after another, `n` times, on an idle control plane.
async fn healthz_idle(addr: SocketAddr, n: usize) -> Vec<Duration> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let r = cairn_e2e::http(addr, "GET", "/healthz", None, None).await;
        assert_eq!(r.status, 200);
        v.push(started.elapsed());
    }
    v
}

/// Samples memory and `/healthz` (one request after another) until told to stop; kills the
/// control plane past [`STOP_AT_KB`] and says so.
async fn watch(
    pid: u32,
    addr: SocketAddr,
    stop: tokio::sync::watch::Receiver<bool>,
) -> (Samples, Option<Duration>) {
    let started = Instant::now();
    let mut s = Samples::default();
    while !*stop.borrow() {
        let rss = rss_kb(pid).0;
        s.rss_kb.push(rss);
        if rss > STOP_AT_KB {
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
            return (s, Some(started.elapsed()));
        }
        let asked = Instant::now();
        let answer = tokio::time::timeout(
            Duration::from_secs(30),
            cairn_e2e::http(addr, "GET", "/healthz", None, None),
        )
        .await;
        match answer {
            Ok(r) if r.status == 200 => s.healthz.push(asked.elapsed()),
            _ => s.healthz_failed += 1,
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (s, None)
}

/// [`CLIENTS`] clients, each signing in again as soon as answered until `sustained` has
/// passed (once each without it); the answers by status (0: no answer).
async fn flood_for(
    addr: SocketAddr,
    user_of: UserOf,
    sustained: Option<Duration>,
) -> BTreeMap<u16, usize> {
    let until = Instant::now() + sustained.unwrap_or_default();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let user_of = Arc::clone(&user_of);
            tokio::spawn(async move {
                let mut by = BTreeMap::<u16, usize>::new();
                let mut j = 0;
                while j == 0 || Instant::now() < until {
                    let source = client(i as u32 % ADDRESSES);
                    let user = user_of(i, j);
                    let attempt = login_from(source, addr, &user, "wrong password");
                    // Status 0: no answer within the limit (a connection still waiting to be
                    // accepted, say).
                    let status = tokio::time::timeout(NO_ANSWER_AFTER, attempt)
                        .await
                        .map_or(0, |r| r.status);
                    *by.entry(status).or_default() += 1;
                    j += 1;
                }
                by
            })
        })
        .collect();
    let mut all = BTreeMap::new();
    for t in tasks {
        for (status, n) in t.await.unwrap_or_default() {
            *all.entry(status).or_default() += n;
        }
    }
    all
}

async fn one(name: &str, user_of: UserOf, sustained: Option<Duration>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let recipes = recipes_dir(dir.path(), &["lines"]);
    let mut cp = ControlPlane::start(dir.path(), &recipes).await;
    cp.login().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = rss_kb(cp.pid()).0;
    let idle = healthz_idle(cp.addr, 200).await;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let watcher = tokio::spawn(watch(cp.pid(), cp.addr, stop_rx));
    let started = Instant::now();
    let by = flood_for(cp.addr, user_of, sustained).await;
    let took = started.elapsed();
    let _ = stop_tx.send(true);
    let (during, capped) = watcher.await.expect("watcher");
    let peak = during.rss_kb.iter().copied().max().unwrap_or(0);
    let after = match capped {
        Some(_) => None,
        None => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Some(rss_kb(cp.pid()).0)
        }
    };
    let count = |s: u16| by.get(&s).copied().unwrap_or(0);
    let total: usize = by.values().sum();

    println!("### {name}\n");
    println!("| what | value |\n|---|---:|");
    let each = match sustained {
        Some(_) => "each trying again when answered",
        None => "one attempt each",
    };
    println!("| clients at once, on {ADDRESSES} addresses, {each} | {CLIENTS} |");
    println!(
        "| answers in {:.1} s: 401 (password checked) / 429 (refused unchecked) / none in 5 s | {} / {} / {} |",
        took.as_secs_f64(),
        count(401),
        count(429),
        total - count(401) - count(429)
    );
    println!(
        "| answered sign-ins per second | {:.0} |",
        (count(401) + count(429)) as f64 / took.as_secs_f64()
    );
    println!("| control plane VmRSS before | {} |", mib(idle_rss));
    match capped {
        Some(at) => println!(
            "| control plane VmRSS peak during | > {} after {:.1} s (stopped there) |",
            mib(STOP_AT_KB),
            at.as_secs_f64()
        ),
        None => println!("| control plane VmRSS peak during | {} |", mib(peak)),
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
    let filters = cairn_e2e::bench::cases();
    // Each argument picks a mode (burst, sustained) or a flood (admin, unknown).
    let picks = |names: &[&str]| {
        filters
            .iter()
            .filter(|f| names.contains(&f.as_str()))
            .count()
    };
    let (modes, floods) = (picks(&["burst", "sustained"]), picks(&["admin", "unknown"]));
    let want = |name: &str| {
        let is_mode = name == "burst" || name == "sustained";
        let chosen = if is_mode { modes } else { floods };
        chosen == 0 || filters.iter().any(|f| f == name)
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!("## Login flood (issue 13)\n");
    println!("Binaries: `{}`\n", cairn_e2e::bin_dir().display());
    rt.block_on(async {
        for (mode, sustained) in [("burst", None), ("sustained", Some(FOR))] {
            if !want(mode) {
                continue;
            }
            let how = match sustained {
                None => "500 at once".to_owned(),
                Some(d) => format!("500 at once for {} s", d.as_secs()),
            };
            if want("admin") {
                let admin: UserOf = Arc::new(|_, _| "admin".to_owned());
                one(
                    &format!("{how}: wrong passwords for admin"),
                    admin,
                    sustained,
                )
                .await;
            }
            if want("unknown") {
                let user: UserOf = Arc::new(|i, j| format!("nobody-{i}-{j}"));
                one(
                    &format!("{how}: usernames that do not exist"),
                    user,
                    sustained,
                )
                .await;
            }
        }
    });
}
