//! Sign-in floods from many client addresses, for the login-flood tests (`it/login_flood.rs`)
//! and benchmark (`benches/login_flood.rs`): every attempt is a fresh connection whose socket
//! is bound to `127.0.0.N` first, so the control plane sees N different clients — all of
//! 127.0.0.0/8 is loopback on Linux, nothing to configure.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::conns::connect_from;
use crate::{Reply, http_over};

/// The `n`-th client address, counting from 127.0.1.0 so that none is 127.0.0.1 (where the
/// harness itself signs in): n = 0 … 65,279.
pub fn client(n: u32) -> Ipv4Addr {
    Ipv4Addr::from_bits(u32::from(Ipv4Addr::new(127, 0, 1, 0)) + n)
}

/// A sign-in attempt from `source` (a loopback address) to `addr`, on a fresh connection;
/// status 0 if it could not connect.
pub async fn login_from(source: Ipv4Addr, addr: SocketAddr, user: &str, password: &str) -> Reply {
    let body = json!({ "username": user, "password": password }).to_string();
    match connect_from(source, addr).await {
        Ok(s) => {
            http_over(
                s,
                &addr.to_string(),
                "POST",
                "/api/login",
                None,
                Some(&body),
            )
            .await
        }
        Err(_) => Reply::failed(),
    }
}

/// One attempt of a flood: from where, as whom, with what password.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub source: Ipv4Addr,
    pub user: String,
    pub password: String,
}

/// Every attempt at once (each its own task and connection); the replies in the same order.
pub async fn flood(addr: SocketAddr, attempts: Vec<Attempt>) -> Vec<Reply> {
    let tasks: Vec<_> = attempts
        .into_iter()
        .map(|a| {
            tokio::spawn(async move { login_from(a.source, addr, &a.user, &a.password).await })
        })
        .collect();
    let mut replies = Vec::with_capacity(tasks.len());
    for t in tasks {
        replies.push(t.await.unwrap_or_else(|_| Reply::failed()));
    }
    replies
}

/// How many replies had each status.
pub fn statuses(replies: &[Reply]) -> BTreeMap<u16, usize> {
    let mut by = BTreeMap::new();
    for r in replies {
        *by.entry(r.status).or_default() += 1;
    }
    by
}

/// Samples, while a flood runs: the control plane's resident memory (kB) and how long
/// `/healthz` took to answer, one request after another on fresh connections.
#[derive(Debug, Default)]
pub struct Samples {
    pub rss_kb: Vec<u64>,
    pub healthz: Vec<Duration>,
    /// `/healthz` answers other than 200.
    pub healthz_failed: usize,
}

/// Samples `pid` and `addr` until `stop` flips, every `every`.
pub async fn sample_until(
    pid: u32,
    addr: SocketAddr,
    every: Duration,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Samples {
    let mut s = Samples::default();
    while !*stop.borrow() {
        s.rss_kb.push(crate::rss_kb(pid).0);
        let started = Instant::now();
        let r = crate::http(addr, "GET", "/healthz", None, None).await;
        if r.status == 200 {
            s.healthz.push(started.elapsed());
        } else {
            s.healthz_failed += 1;
        }
        tokio::time::sleep(every).await;
    }
    s
}

/// The `p`-th percentile (0–100) of `values`.
pub fn percentile(values: &[Duration], p: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let mut v = values.to_vec();
    v.sort();
    let i = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    v[i.min(v.len() - 1)]
}
