//! Issue 19's metrics pipeline with the real binaries: a real agent samples this machine (every
//! second here, `--metrics-interval 1`), the control plane stores the samples and the metrics
//! API returns them with values `/proc` agrees with; a control plane stopped and restarted, and
//! an agent restarted meanwhile, lose no sample and duplicate none; Prometheus's `GET /metrics`
//! needs its token and passes `promtool check metrics` (Debian's `prometheus` package, which
//! `scripts/test` installs).

use std::collections::BTreeSet;
use std::time::Duration;

use cairn_e2e::sim::{SimAgent, Target};
use cairn_e2e::{Cluster, ControlPlane};
use cairn_protocol::messages::{DiskSample, Metrics, Sample};
use cairn_protocol::{Message, PublicKey};
use serde_json::Value;

const FAST: &[&str] = &["--metrics-interval", "1"];

/// The node's series of `range`, once `want` holds.
async fn metrics_until(c: &Cluster, range: &str, want: impl Fn(&Value) -> bool) -> Value {
    let path = format!("/api/nodes/{}/metrics?range={range}", c.node_id);
    for _ in 0..300 {
        let v = c.cp.get_json(&c.cookie, &path).await;
        if want(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the metrics of {range} never became what the test waits for");
}

fn timestamps(v: &Value) -> Vec<u64> {
    v["timestamps"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

/// The latest value of series `name` (with `label`).
fn latest(v: &Value, name: &str, label: Option<&str>) -> Option<f64> {
    let series = v["series"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == name && s["label"].as_str() == label)?;
    series["values"]
        .as_array()?
        .iter()
        .rev()
        .find_map(Value::as_f64)
}

fn meminfo_bytes(key: &str) -> f64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    kib * 1024.0
}

/// The agent's buffer: the times of the samples it holds unacknowledged.
fn buffered(c: &Cluster) -> Vec<u64> {
    std::fs::read_to_string(c.agent.state_dir().join("metrics.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok()?["t"].as_u64())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_agent_s_samples_are_stored_and_returned_with_what_proc_says() {
    let c = Cluster::start_with(&[], FAST).await;
    let v = metrics_until(&c, "1h", |v| timestamps(v).len() >= 3).await;
    assert_eq!(v["range"], "1h");
    assert_eq!(v["resolution"], 1, "{v}");
    let t = timestamps(&v);
    assert!(t.windows(2).all(|w| w[0] < w[1]), "{t:?}");
    // Memory: the total is the machine's; used (total − available) close to it now.
    let total = latest(&v, "mem.total", None).expect("mem.total");
    assert_eq!(total, meminfo_bytes("MemTotal:"));
    let used = latest(&v, "mem.used", None).expect("mem.used");
    let used_now = meminfo_bytes("MemTotal:") - meminfo_bytes("MemAvailable:");
    assert!(
        (used - used_now).abs() < total * 0.1,
        "{used} vs {used_now}"
    );
    let cpu = latest(&v, "cpu", None).expect("cpu");
    assert!((0.0..=100.0).contains(&cpu), "{cpu}");
    let load: f64 = std::fs::read_to_string("/proc/loadavg")
        .expect("/proc/loadavg")
        .split_whitespace()
        .next()
        .expect("a load average")
        .parse()
        .expect("a number");
    let load1 = latest(&v, "load1", None).expect("load1");
    assert!((load1 - load).abs() <= load.max(1.0), "{load1} vs {load}");
    // The root file system's share in use as df's Use% counts it: used over used plus what is
    // available to users (the status card says the same).
    let st = rustix::fs::statvfs("/").expect("statvfs /");
    let used = ((st.f_blocks - st.f_bfree) * st.f_frsize) as f64;
    let df_percent = 100.0 * used / (used + (st.f_bavail * st.f_frsize) as f64);
    let share = 100.0 * latest(&v, "disk.used", Some("/")).expect("disk.used")
        / latest(&v, "disk.total", Some("/")).expect("disk.total");
    assert!(
        (share - df_percent).abs() < 1.0,
        "{share} % vs df's {df_percent} %"
    );
    // Every interface but lo, as a rate.
    let ifaces: BTreeSet<String> = std::fs::read_dir("/sys/class/net")
        .expect("/sys/class/net")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "lo")
        .collect();
    let rx: BTreeSet<String> = v["series"]
        .as_array()
        .expect("series")
        .iter()
        .filter(|s| s["name"] == "net.rx")
        .filter_map(|s| s["label"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(rx, ifaces);
    assert!(
        rx.iter()
            .all(|i| latest(&v, "net.rx", Some(i)).is_some_and(|r| r >= 0.0))
    );

    // Bad input: a clear sentence, for an unknown range and an unknown node.
    let bad =
        c.cp.request(
            "GET",
            &format!("/api/nodes/{}/metrics?range=2h", c.node_id),
            Some(&c.cookie),
            None,
        )
        .await;
    assert_eq!(bad.status, 400);

    // The nodes list's overview: this node, its latest memory share as /proc says, the
    // fullest disk's share, and one hour of minutes for the sparkline.
    let overview =
        c.cp.request("GET", "/api/metrics/overview", Some(&c.cookie), None)
            .await
            .json();
    let mine = overview
        .as_array()
        .expect("a list")
        .iter()
        .find(|n| n["nodeId"] == c.node_id.as_str())
        .expect("the node in the overview")
        .clone();
    let mem = mine["memoryPercent"].as_f64().expect("memoryPercent");
    let used = 100.0 * (1.0 - meminfo_bytes("MemAvailable:") / meminfo_bytes("MemTotal:"));
    assert!((mem - used).abs() < 10.0, "{mem} vs {used}");
    assert!((0.0..=100.0).contains(&mine["diskPercent"].as_f64().expect("diskPercent")));
    assert_eq!(
        mine["cpuLastHour"].as_array().map(Vec::len),
        Some(60),
        "{mine}"
    );
    assert!(mine["at"].as_u64().is_some(), "{mine}");
    assert!(
        bad.json()["error"]
            .as_str()
            .expect("an error sentence")
            .contains("1h, 24h, 7d or 30d")
    );
    let none =
        c.cp.request(
            "GET",
            "/api/nodes/nope/metrics?range=1h",
            Some(&c.cookie),
            None,
        )
        .await;
    assert_eq!(none.status, 404);
    let anon =
        c.cp.request(
            "GET",
            &format!("/api/nodes/{}/metrics?range=1h", c.node_id),
            None,
            None,
        )
        .await;
    assert_eq!(anon.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_control_plane_and_a_restarted_agent_lose_no_sample_and_duplicate_none() {
    let mut c = Cluster::start_with(&[], FAST).await;
    let before = metrics_until(&c, "1h", |v| timestamps(v).len() >= 2).await;
    let first = timestamps(&before)[0];
    c.cp.kill();
    // Samples pile up in the agent's buffer while the control plane is gone…
    tokio::time::sleep(Duration::from_secs(4)).await;
    // …and survive an agent restart.
    c.agent.kill();
    let held_at_restart = buffered(&c);
    assert!(held_at_restart.len() >= 3, "{held_at_restart:?}");
    c.agent.start_with(FAST);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let held = buffered(&c);
    assert!(held.len() > held_at_restart.len(), "{held:?}");
    c.cp.restart().await;
    c.cp.wait_online(&c.cookie, &c.node_id, true).await;
    let newest = *held.last().expect("a buffered sample");
    let after = metrics_until(&c, "1h", |v| {
        timestamps(v).last().is_some_and(|t| *t > newest)
    })
    .await;
    let t = timestamps(&after);
    let stored: BTreeSet<u64> = t.iter().copied().collect();
    assert_eq!(stored.len(), t.len(), "a sample was stored twice: {t:?}");
    let lost: Vec<u64> = held_at_restart
        .iter()
        .chain(&held)
        .filter(|s| !stored.contains(s))
        .copied()
        .collect();
    assert!(
        lost.is_empty(),
        "samples lost across the outage: {lost:?} (stored {t:?})"
    );
    // No hole either: a sample every second or two (a tick that lands in the same second as
    // the previous is skipped), but for the agent's own restart (a few seconds).
    let from_first: Vec<u64> = t.iter().copied().filter(|x| *x >= first).collect();
    let holes: Vec<(u64, u64)> = from_first
        .windows(2)
        .map(|w| (w[0], w[1]))
        .filter(|(a, b)| b - a > 2)
        .collect();
    assert!(holes.len() <= 1, "holes in the samples: {holes:?}");
    // Once acknowledged, the agent's buffer is empty.
    for _ in 0..100 {
        if buffered(&c).len() <= 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the agent still holds acknowledged samples: {:?}",
        buffered(&c)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_metrics_need_the_token_and_pass_promtool() {
    let secret = "9f0c4e7a1b2d3c4e5f60718293a4b5c6";
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("metrics-token");
    std::fs::write(&file, format!("{secret}\n")).expect("token file");
    let file_arg = file.display().to_string();
    let c = Cluster::start_full(&[], FAST, &["--metrics-token-file", &file_arg], None).await;
    metrics_until(&c, "1h", |v| timestamps(v).len() >= 2).await;
    let addr: std::net::SocketAddr =
        c.cp.url()
            .trim_start_matches("http://")
            .parse()
            .expect("the control plane's address");
    let get = |auth: Option<String>| async move {
        let headers: Vec<(&str, String)> = auth.into_iter().map(|a| ("Authorization", a)).collect();
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        cairn_test_support::http::http_with(addr, "GET", "/metrics", &headers, "").await
    };
    assert_eq!(get(None).await.status, 401);
    assert_eq!(
        get(Some("Bearer not-the-token-at-all".into())).await.status,
        401
    );
    assert_eq!(get(Some(format!("Basic {secret}"))).await.status, 401);
    let ok = get(Some(format!("Bearer {secret}"))).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let body = ok.body.clone();
    let node = format!("node=\"{}\"", c.node_id);
    for family in [
        "cairn_node_online{",
        "cairn_node_cpu_percent{",
        "cairn_node_memory_used_bytes{",
        "cairn_node_swap_total_bytes{",
        "cairn_node_load{",
        "cairn_node_disk_used_bytes{",
        "cairn_node_network_receive_bytes_total{",
        "cairn_node_last_seen_timestamp_seconds{",
    ] {
        assert!(
            body.lines()
                .any(|l| l.starts_with(family) && l.contains(&node)),
            "{family} missing:\n{body}"
        );
    }
    assert!(
        body.contains(&format!("cairn_node_online{{{node},name=\"web-1\"}} 1")),
        "{body}"
    );
    assert!(body.contains("\ncairn_agents_connected 1\n"), "{body}");
    assert!(body.contains("\ncairn_login_refusals_total "), "{body}");
    // The alert engine's backlog: nodes waiting, observations merged while they waited.
    assert!(body.contains("\ncairn_alert_nodes_waiting "), "{body}");
    assert!(
        body.contains("\ncairn_alert_observations_coalesced_total "),
        "{body}"
    );
    let mut promtool = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; scripts/test installs it as root)");
    use std::io::Write;
    promtool
        .stdin
        .take()
        .expect("promtool's stdin")
        .write_all(body.as_bytes())
        .expect("write to promtool");
    let out = promtool.wait_with_output().expect("promtool's answer");
    assert!(
        out.status.success(),
        "promtool refused /metrics: {}{}\n{body}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The token is never logged.
    assert!(!c.cp.logs().contains(secret));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_from_the_agent_s_future_and_oversized_batches_are_refused_with_nothing_stored() {
    let dir = tempfile::tempdir().expect("temp dir");
    let recipes = cairn_e2e::recipes_dir(dir.path(), &[]);
    let cp = ControlPlane::start(dir.path(), &recipes).await;
    let cookie = cp.login().await;
    let (token, node_id) = cp.token(&cookie, "sim-1").await;
    let key = cp.get_json(&cookie, "/api/control-plane-key").await;
    let target = Target {
        addr: cp.addr,
        cp_key: PublicKey::from_hex(key["publicKey"].as_str().expect("key")).expect("a key"),
        sources: 1,
    };
    let agent = SimAgent::new(0, &node_id);
    agent.enroll(&target, &token).await.expect("enrolled");
    let (mut ws, mut verifier, session) = agent.authenticate(&target).await.expect("authenticated");
    let now = cairn_protocol::unix_now();
    let sample = |t| Sample {
        t,
        cpu: Some(5.0),
        mem: [1, 2],
        swap: [0, 0],
        load: [0.0; 3],
        disks: Vec::new(),
        nets: Vec::new(),
        svcs: Vec::new(),
    };
    let metrics = Message::Metrics(Metrics {
        batch: 7,
        samples: vec![sample(now - 20), sample(now + 3600), sample(now - 10)],
        dropped: 0,
    });
    let answer = agent
        .exchange(&mut ws, &mut verifier, &session, vec![metrics])
        .await
        .expect("an answer");
    let error = answer.iter().find_map(|m| match m {
        Message::Error(e) => Some(e.message.clone()),
        _ => None,
    });
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.starts_with("1 metrics samples are dated more than 300 s ahead")),
        "{answer:?}"
    );
    // The batch is acknowledged all the same: resending it would be refused again.
    assert!(
        answer
            .iter()
            .any(|m| matches!(m, Message::MetricsAck(a) if a.batch == 7)),
        "{answer:?}"
    );
    let v = cp
        .get_json(&cookie, &format!("/api/nodes/{node_id}/metrics?range=1h"))
        .await;
    assert_eq!(timestamps(&v), [now - 20, now - 10]);

    // threats.md 47: a batch bigger than an agent ever sends is refused whole.
    let flood = Message::Metrics(Metrics {
        batch: 8,
        samples: (0..361).map(|i| sample(now - 3000 + i)).collect(),
        dropped: 0,
    });
    let answer = agent
        .exchange(&mut ws, &mut verifier, &session, vec![flood])
        .await
        .expect("an answer");
    assert!(
        answer.iter().any(|m| matches!(m, Message::Error(e)
            if e.message.starts_with("a METRICS batch holds at most 360 samples and this one held 361"))),
        "{answer:?}"
    );
    assert!(
        answer
            .iter()
            .any(|m| matches!(m, Message::MetricsAck(a) if a.batch == 8)),
        "{answer:?}"
    );
    let v = cp
        .get_json(&cookie, &format!("/api/nodes/{node_id}/metrics?range=1h"))
        .await;
    assert_eq!(timestamps(&v), [now - 20, now - 10], "the flood was stored");

    // …and a sample listing more than any server has (here 65 file systems) is not stored.
    let mut wide = sample(now - 5);
    wide.disks = (0..65)
        .map(|i| DiskSample {
            m: format!("/d{i}"),
            u: 1,
            s: 2,
            r: 0,
            w: 0,
        })
        .collect();
    let answer = agent
        .exchange(
            &mut ws,
            &mut verifier,
            &session,
            vec![Message::Metrics(Metrics {
                batch: 9,
                samples: vec![wide],
                dropped: 0,
            })],
        )
        .await
        .expect("an answer");
    assert!(
        answer.iter().any(|m| matches!(m, Message::Error(e)
            if e.message.starts_with("1 metrics samples list more than 64 file systems"))),
        "{answer:?}"
    );
    let v = cp
        .get_json(&cookie, &format!("/api/nodes/{node_id}/metrics?range=1h"))
        .await;
    assert_eq!(
        timestamps(&v),
        [now - 20, now - 10],
        "the wide sample was stored"
    );
}
