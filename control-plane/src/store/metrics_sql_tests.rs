//! Downsampling and pruning with a clock the test sets (`now` is an argument).
#![allow(clippy::unwrap_used)]

use cairn_protocol::messages::{NetSample, Sample};

use super::super::{MetricRetention, SqliteStore, Store};

fn sample(t: u64, cpu: f64, rx: u64) -> Sample {
    Sample {
        t,
        cpu: Some(cpu),
        mem: [1, 2],
        swap: [0, 0],
        load: [0.0; 3],
        disks: Vec::new(),
        nets: vec![NetSample {
            i: "eth0".into(),
            rx,
            tx: 0,
        }],
        svcs: Vec::new(),
    }
}

fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("cairn.db")).unwrap();
    (dir, store)
}

/// A day starts at a whole hour, so minutes and hours fall where the test says.
const DAY: u64 = 1_767_571_200;

#[test]
fn a_resent_batch_adds_nothing() {
    let (_d, store) = open();
    let batch = vec![(
        "n1".to_owned(),
        (0..5).map(|i| sample(DAY + i * 10, 1.0, 0)).collect(),
    )];
    assert_eq!(store.store_metrics(&batch).unwrap(), 5);
    assert_eq!(store.store_metrics(&batch).unwrap(), 0);
    assert_eq!(
        store.metric_samples("n1", DAY, DAY + 3600).unwrap().len(),
        5
    );
}

#[test]
fn complete_minutes_and_hours_are_summarised_and_the_incomplete_ones_wait() {
    let (_d, store) = open();
    let keep = MetricRetention::default();
    // An hour and a half of samples every 10 s: cpu = minute index, rx grows 1000 B/s.
    let samples: Vec<Sample> = (0..540)
        .map(|i| sample(DAY + i * 10, (i / 6) as f64, i * 10_000))
        .collect();
    store.store_metrics(&[("n1".into(), samples)]).unwrap();
    let now = DAY + 5400 + 5;
    let done = store.downsample_metrics(now, &keep).unwrap();
    assert_eq!(done.minutes, 90);
    assert_eq!(done.hours, 1, "the second hour is not complete");
    let minutes = store.metric_summaries("n1", 60, DAY, now).unwrap();
    assert_eq!(minutes.len(), 90);
    assert_eq!(minutes[7].1["cpu"], [7.0, 7.0, 7.0]);
    assert_eq!(minutes[7].1["net.rx:eth0"], [1000.0, 1000.0, 1000.0]);
    let hours = store.metric_summaries("n1", 3600, DAY, now).unwrap();
    assert_eq!(hours[0].1["cpu"], [0.0, 29.5, 59.0]);
    // Nothing new: nothing summarised again.
    assert_eq!(store.downsample_metrics(now + 1, &keep).unwrap().minutes, 0);
    // The hour completes with samples of its last half: its summary is written then.
    let rest: Vec<Sample> = (540..720)
        .map(|i| sample(DAY + i * 10, (i / 6) as f64, i * 10_000))
        .collect();
    store.store_metrics(&[("n1".into(), rest)]).unwrap();
    let done = store.downsample_metrics(DAY + 7200, &keep).unwrap();
    assert_eq!((done.minutes, done.hours), (30, 1));
    let hours = store.metric_summaries("n1", 3600, DAY, DAY + 7200).unwrap();
    assert_eq!(hours[1].1["cpu"], [60.0, 89.5, 119.0]);
}

#[test]
fn samples_arriving_late_after_a_disconnect_reach_the_summaries() {
    let (_d, store) = open();
    let keep = MetricRetention::default();
    store
        .store_metrics(&[("n1".into(), vec![sample(DAY, 10.0, 0)])])
        .unwrap();
    store.downsample_metrics(DAY + 600, &keep).unwrap();
    assert_eq!(
        store.metric_summaries("n1", 60, DAY, DAY + 600).unwrap()[0].1["cpu"][2],
        10.0
    );
    // The agent was cut off; its buffered samples of that first minute come in later.
    store
        .store_metrics(&[("n1".into(), vec![sample(DAY + 30, 90.0, 0)])])
        .unwrap();
    store.downsample_metrics(DAY + 900, &keep).unwrap();
    let first = &store.metric_summaries("n1", 60, DAY, DAY + 60).unwrap()[0].1;
    assert_eq!(first["cpu"], [10.0, 50.0, 90.0]);
}

#[test]
fn each_resolution_is_pruned_after_its_own_retention() {
    let (_d, store) = open();
    let keep = MetricRetention::default();
    let samples: Vec<Sample> = (0..360).map(|i| sample(DAY + i * 10, 1.0, 0)).collect();
    store.store_metrics(&[("n1".into(), samples)]).unwrap();
    store.downsample_metrics(DAY + 3600, &keep).unwrap();
    let counts = |now: u64| {
        (
            store.metric_samples("n1", 0, now).unwrap().len(),
            store.metric_summaries("n1", 60, 0, now).unwrap().len(),
            store.metric_summaries("n1", 3600, 0, now).unwrap().len(),
        )
    };
    assert_eq!(counts(DAY + 3600), (360, 60, 1));
    store
        .downsample_metrics(DAY + 3600 + 86_400, &keep)
        .unwrap();
    assert_eq!(
        counts(DAY + 3600 + 86_400),
        (0, 60, 1),
        "samples go after a day"
    );
    store
        .downsample_metrics(DAY + 3600 + 30 * 86_400, &keep)
        .unwrap();
    assert_eq!(
        counts(DAY + 31 * 86_400),
        (0, 0, 1),
        "minutes after 30 days"
    );
    store
        .downsample_metrics(DAY + 3600 + 365 * 86_400, &keep)
        .unwrap();
    assert_eq!(counts(DAY + 366 * 86_400), (0, 0, 0), "hours after a year");
}

#[test]
fn a_database_made_before_metrics_gains_its_tables() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cairn.db");
    // The shape of an earlier version's database: nodes, no metrics tables.
    let old = rusqlite::Connection::open(&path).unwrap();
    old.execute_batch(
        "CREATE TABLE nodes (id TEXT PRIMARY KEY, name TEXT NOT NULL, public_key TEXT NOT NULL, \
         key_id TEXT NOT NULL, hostname TEXT NOT NULL, enrolled_at INTEGER NOT NULL, \
         last_seen INTEGER, last_status TEXT); \
         INSERT INTO nodes VALUES ('n1', 'web', 'k', 'kid', 'web', 1, NULL, NULL);",
    )
    .unwrap();
    drop(old);
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.nodes().unwrap().len(), 1);
    store
        .store_metrics(&[("n1".into(), vec![sample(DAY, 5.0, 0)])])
        .unwrap();
    assert_eq!(store.latest_metrics().unwrap()[0].1.t, DAY);
}

/// A sample the size of this machine's (one file system, four interfaces) with two services.
fn full_sample(t: u64) -> Sample {
    use cairn_protocol::messages::{DiskSample, ServiceSample};
    let mut s = sample(t, 12.345, t * 1_234);
    s.mem = [3_123_456_789, 25_257_000_960];
    s.swap = [0, 0];
    s.load = [0.42, 0.37, 0.31];
    s.disks = vec![DiskSample {
        m: "/".into(),
        u: 131_234_567_890,
        s: 528_456_789_012,
        r: 247_998_338_048 + t * 4096,
        w: 817_421_398_016 + t * 8192,
    }];
    s.nets = ["eth0", "docker0", "ifb0", "ifb1"]
        .iter()
        .map(|i| NetSample {
            i: (*i).into(),
            rx: 98_765_432_100 + t * 1500,
            tx: 12_345_678_900 + t * 700,
        })
        .collect();
    s.svcs = ["redis-server", "postgresql"]
        .iter()
        .map(|n| ServiceSample {
            n: (*n).into(),
            up: true,
        })
        .collect();
    s
}

/// The figures in BENCHMARKS.md ("Metrics (issue 19)"): the database bytes one node's day of
/// samples (every 10 s) takes, and its day of 1-minute and of 1-hour summaries, hence the most
/// one node can hold (a day of samples, 30 days of minutes, a year of hours). Asserted under
/// the bound docs/decisions.md states.
#[test]
#[allow(clippy::print_stdout)] // the figures, for BENCHMARKS.md (`-- --nocapture`)
fn a_node_s_metrics_stay_under_the_stated_bound() {
    let (dir, store) = open();
    let path = dir.path().join("cairn.db");
    let size = |_: &SqliteStore| {
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
        std::fs::metadata(&path).unwrap().len()
    };
    let empty = size(&store);
    let day: Vec<Sample> = (0..8640).map(|i| full_sample(DAY + i * 10)).collect();
    for chunk in day.chunks(360) {
        store
            .store_metrics(&[("n1".into(), chunk.to_vec())])
            .unwrap();
    }
    let raw = size(&store) - empty;
    let done = store
        .downsample_metrics(DAY + 86_400, &MetricRetention::default())
        .unwrap();
    assert_eq!((done.minutes, done.hours), (1440, 24));
    let summaries = size(&store) - empty - raw;
    // A minute summary and an hour summary have the same series: split by count.
    let per_minute = summaries as f64 / (1440.0 + 24.0);
    let minutes_day = per_minute * 1440.0;
    let hours_day = per_minute * 24.0;
    let bound = raw as f64 + 30.0 * minutes_day + 365.0 * hours_day;
    println!(
        "metrics per node: samples {:.1} MB/day, minute summaries {:.1} MB/day, hour summaries {:.2} MB/day; bound {:.0} MB",
        raw as f64 / 1e6,
        minutes_day / 1e6,
        hours_day / 1e6,
        bound / 1e6
    );
    assert!(raw < 6_000_000, "{raw}");
    assert!(bound < 80_000_000.0, "{bound}");
}
