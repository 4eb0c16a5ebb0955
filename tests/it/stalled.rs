//! threats.md 35, stalled readers, against the running binaries: dashboards that sign in,
//! subscribe and then never read (a 4 KiB receive buffer), beside one that reads, while a job
//! prints many lines. The stalled sockets must be closed (4001, "too far behind") while still
//! unread, the reading one must see the whole job, and the control plane's memory stay flat.
//! Once for each bound: the lag of a socket's oldest message, and the bytes queued for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cairn_e2e::conns::{StalledSocket, drain, stalled_dashboard};
use cairn_e2e::{Cluster, Dashboard, TERMINAL, eventually, lines, login, rss_kb};

/// How much the control plane's resident memory may grow over its start, at any sample during
/// the job: four stalled sockets once took 167 MiB over a 5-million-line job.
const RSS_GROWTH_KIB: u64 = 64 * 1024;

/// Four stalled dashboards (own sessions, own source addresses) and one that reads.
async fn dashboards(c: &Cluster) -> (Vec<StalledSocket>, Dashboard) {
    let mut stalled = Vec::new();
    for i in 0..4u8 {
        let cookie = login(c.cp.addr, "admin", cairn_e2e::PASSWORD)
            .await
            .expect("sign in");
        let source = std::net::Ipv4Addr::new(127, 0, 3, 1 + i);
        stalled
            .push(stalled_dashboard(c.cp.addr, source, &cookie, &c.cp.origin(), &c.node_id).await);
    }
    (stalled, c.dashboard().await)
}

/// Runs the `lines` recipe for `count` lines, reading them all on `d` (in order, none
/// missing) while sampling the control plane's memory; returns its peak growth in KiB.
async fn job_read_by(c: &Cluster, d: &mut Dashboard, count: u64) -> u64 {
    let pid = c.cp.pid();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (start_rss, _) = rss_kb(pid);
    let peak = Arc::new(AtomicU64::new(start_rss));
    let sampler = tokio::spawn({
        let peak = Arc::clone(&peak);
        async move {
            loop {
                peak.fetch_max(rss_kb(pid).0, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    let job = d.start_lines(&c.node_id, count).await;
    // Counted as they come, without keeping a million messages.
    let mut next = 1u64;
    let end = loop {
        let m = d.next().await.expect("the reading dashboard stayed open");
        if m["jobId"] != job.as_str() {
            continue;
        }
        for line in lines(std::slice::from_ref(&m), "stdout") {
            assert_eq!(
                line,
                next.to_string(),
                "the reading dashboard lost or reordered lines"
            );
            next += 1;
        }
        if TERMINAL.iter().any(|t| m["type"] == *t) {
            break m;
        }
    };
    sampler.abort();
    assert_eq!(end["type"], "RUNTIME_INSTALLED", "{end}");
    assert_eq!(next - 1, count, "the reading dashboard missed lines");
    peak.load(Ordering::Relaxed).saturating_sub(start_rss)
}

/// The control plane says it closed `n` sockets as too far behind (while they are unread),
/// and each of them, read now, ends, with 4001 if its close frame got through.
async fn closed_as_behind(c: &Cluster, stalled: &mut [StalledSocket]) {
    let n = stalled.len();
    eventually("the stalled dashboards to be closed", || async {
        (c.cp.logs().matches("fell too far behind").count() >= n).then_some(())
    })
    .await;
    for (i, ws) in stalled.iter_mut().enumerate() {
        // Whatever the kernel still holds for it comes first, then the end.
        let drained = drain(ws, Duration::from_secs(30)).await;
        assert!(
            drained.closed,
            "stalled dashboard {i} is open ({} messages read)",
            drained.messages
        );
        if let Some(frame) = &drained.close {
            assert_eq!(u16::from(frame.code), 4001, "{frame:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_that_stop_reading_are_closed_and_the_others_see_the_whole_job() {
    // Defaults but the lag (15 s), shortened to keep the test short.
    let c = Cluster::start_full(&["lines"], &[], &["--dashboard-max-lag", "5"], None).await;
    let (mut stalled, mut d) = dashboards(&c).await;
    let grew = job_read_by(&c, &mut d, 1_000_000).await;
    assert!(
        grew < RSS_GROWTH_KIB,
        "the control plane grew by {grew} KiB during the job"
    );
    closed_as_behind(&c, &mut stalled).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dashboard_whose_queue_outgrows_its_bytes_is_closed_at_once() {
    // Only the bytes can close them: the lag limit is far. The kernel holds a few MiB of a
    // stalled socket's data before the control plane's queue fills (4 MiB socket buffers on
    // loopback), hence three million lines (about 21 MB).
    let c = Cluster::start_full(
        &["lines"],
        &[],
        &[
            "--dashboard-queue-kib",
            "4096",
            "--dashboard-max-lag",
            "600",
        ],
        None,
    )
    .await;
    let (mut stalled, mut d) = dashboards(&c).await;
    job_read_by(&c, &mut d, 3_000_000).await;
    closed_as_behind(&c, &mut stalled).await;
}
