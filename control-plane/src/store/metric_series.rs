//! Metrics as series: a node's samples turned into named values per time (counters become
//! rates), and those values summarised per minute and per hour (min, average, max). Pure
//! functions, so the downsampling rules are tested without a database or a clock.
//!
//! A series is named `family` or `family:label`: `cpu`, `mem.used`, `load1`, `disk.used:/`,
//! `disk.read:/` (bytes/s), `net.rx:eth0` (bytes/s), `svc.up:redis-server` (1 or 0).

use std::collections::BTreeMap;

use cairn_protocol::messages::Sample;

/// Values of one time: series name → value.
pub type Values = BTreeMap<String, f64>;

/// A summary of one bucket: series name → `[min, avg, max]`.
pub type Summary = BTreeMap<String, [f64; 3]>;

/// A gap longer than this between two samples gives no rate (the agent was stopped, or the
/// machine rebooted: a rate over it would mean nothing).
pub const MAX_RATE_GAP_SECS: u64 = 600;

/// The unit of a series, for the chart's axis.
pub fn unit(name: &str) -> &'static str {
    match family(name) {
        "cpu" => "percent",
        "load1" | "load5" | "load15" => "load",
        "disk.read" | "disk.write" | "net.rx" | "net.tx" => "bytes/s",
        "svc.up" => "up",
        _ => "bytes",
    }
}

/// `disk.used` of `disk.used:/`.
pub fn family(name: &str) -> &str {
    name.split_once(':').map_or(name, |(f, _)| f)
}

/// Each sample's values, oldest first. A counter's rate needs the sample before: the first
/// sample, one after a long gap and one whose counter went down (a reboot, a device or interface
/// reset) give none for that counter.
pub fn points(samples: &[Sample]) -> Vec<(u64, Values)> {
    let mut out = Vec::with_capacity(samples.len());
    let mut prev: Option<&Sample> = None;
    for s in samples {
        let mut v = Values::new();
        if let Some(cpu) = s.cpu {
            v.insert("cpu".into(), cpu);
        }
        v.insert("mem.used".into(), s.mem[0] as f64);
        v.insert("mem.total".into(), s.mem[1] as f64);
        v.insert("swap.used".into(), s.swap[0] as f64);
        v.insert("swap.total".into(), s.swap[1] as f64);
        for (name, load) in ["load1", "load5", "load15"].iter().zip(s.load) {
            v.insert((*name).into(), load);
        }
        for svc in &s.svcs {
            v.insert(format!("svc.up:{}", svc.n), if svc.up { 1.0 } else { 0.0 });
        }
        for d in &s.disks {
            v.insert(format!("disk.used:{}", d.m), d.u as f64);
            v.insert(format!("disk.total:{}", d.m), d.s as f64);
        }
        let p = prev.filter(|p| s.t > p.t && s.t - p.t <= MAX_RATE_GAP_SECS);
        if let Some(p) = p {
            let dt = (s.t - p.t) as f64;
            let rate = |now: u64, before: u64| (now >= before).then(|| (now - before) as f64 / dt);
            for d in &s.disks {
                if let Some(pd) = p.disks.iter().find(|pd| pd.m == d.m) {
                    if let Some(r) = rate(d.r, pd.r) {
                        v.insert(format!("disk.read:{}", d.m), r);
                    }
                    if let Some(w) = rate(d.w, pd.w) {
                        v.insert(format!("disk.write:{}", d.m), w);
                    }
                }
            }
            for n in &s.nets {
                if let Some(pn) = p.nets.iter().find(|pn| pn.i == n.i) {
                    if let Some(r) = rate(n.rx, pn.rx) {
                        v.insert(format!("net.rx:{}", n.i), r);
                    }
                    if let Some(t) = rate(n.tx, pn.tx) {
                        v.insert(format!("net.tx:{}", n.i), t);
                    }
                }
            }
        }
        out.push((s.t, v));
        prev = Some(s);
    }
    out
}

/// Min, average and max per series of the points in each bucket of `width` seconds (keyed by
/// the bucket's start).
pub fn summarise(points: &[(u64, Values)], width: u64) -> BTreeMap<u64, Summary> {
    let mut sums: BTreeMap<u64, BTreeMap<String, ([f64; 3], u32)>> = BTreeMap::new();
    for (t, values) in points {
        let bucket = sums.entry(t - t % width).or_default();
        for (name, v) in values {
            add(bucket, name, [*v, *v, *v]);
        }
    }
    finish(sums)
}

/// Buckets of `width` seconds from summaries of smaller buckets: min of the mins, average of
/// the averages, max of the maxes.
pub fn resummarise(summaries: &[(u64, Summary)], width: u64) -> BTreeMap<u64, Summary> {
    let mut sums: BTreeMap<u64, BTreeMap<String, ([f64; 3], u32)>> = BTreeMap::new();
    for (t, summary) in summaries {
        let bucket = sums.entry(t - t % width).or_default();
        for (name, v) in summary {
            add(bucket, name, *v);
        }
    }
    finish(sums)
}

fn add(bucket: &mut BTreeMap<String, ([f64; 3], u32)>, name: &str, v: [f64; 3]) {
    match bucket.get_mut(name) {
        Some((acc, n)) => {
            acc[0] = acc[0].min(v[0]);
            acc[1] += v[1];
            acc[2] = acc[2].max(v[2]);
            *n += 1;
        }
        None => {
            bucket.insert(name.to_owned(), (v, 1));
        }
    }
}

fn finish(sums: BTreeMap<u64, BTreeMap<String, ([f64; 3], u32)>>) -> BTreeMap<u64, Summary> {
    sums.into_iter()
        .map(|(t, b)| {
            let summary = b
                .into_iter()
                .map(|(name, (acc, n))| {
                    (
                        name,
                        [round(acc[0]), round(acc[1] / f64::from(n)), round(acc[2])],
                    )
                })
                .collect();
            (t, summary)
        })
        .collect()
}

/// Three decimals: what a chart shows, and a third of the bytes of a full `f64`.
pub fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

#[cfg(test)]
#[path = "metric_series_tests.rs"]
mod tests;
