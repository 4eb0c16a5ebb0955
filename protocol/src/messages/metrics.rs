//! Metrics: the agent's samples of the machine (`METRICS`, every 10 s or what is pending after
//! a reconnect), acknowledged batch by batch (`METRICS_ACK`). Field names are short: a day of
//! samples resent after an outage is thousands of them.

use serde::{Deserialize, Serialize};

/// Most samples one `METRICS` carries (an hour at the 10 s default; well under the frame cap
/// with a few dozen mounts and interfaces each).
pub const MAX_SAMPLES_PER_BATCH: usize = 360;

/// Most file systems, interfaces and services one sample may list, and the longest name of
/// each: far above a real server's, so that what a node can make the control plane store stays
/// bounded (threats.md 47).
pub const MAX_DEVICES: usize = 64;
pub const MAX_SERVICES: usize = 128;
pub const MAX_NAME_LEN: usize = 256;

/// How far ahead of the control plane's clock a sample's time may be, in seconds: later ones
/// are refused and nothing of them is stored.
pub const MAX_FUTURE_SECS: u64 = 300;

/// `METRICS` (agent → control plane): samples not yet acknowledged, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct Metrics {
    /// Echoed by `METRICS_ACK`; grows by one per batch the agent sends.
    pub batch: u64,
    pub samples: Vec<Sample>,
    /// Samples the agent dropped (oldest first) because its buffer was full since its last
    /// acknowledged batch.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// `METRICS_ACK` (control plane → agent): every sample of `batch` is stored (or was refused
/// for good); the agent deletes them from its buffer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct MetricsAck {
    pub batch: u64,
}

/// One sample of the machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Sample {
    /// The agent's unix time, seconds.
    pub t: u64,
    /// CPU busy since the previous sample, percent of all cores; absent for the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub cpu: Option<f64>,
    /// Memory `[used, total]`, bytes (used = total − available).
    pub mem: [u64; 2],
    /// Swap `[used, total]`, bytes.
    pub swap: [u64; 2],
    /// Load averages over 1, 5 and 15 minutes.
    pub load: [f64; 3],
    /// Each real file system.
    #[serde(default)]
    pub disks: Vec<DiskSample>,
    /// Each network interface but loopback.
    #[serde(default)]
    pub nets: Vec<NetSample>,
    /// Each service the last status's detections declared.
    #[serde(default)]
    pub svcs: Vec<ServiceSample>,
}

impl Sample {
    /// Whether the sample lists no more than [`MAX_DEVICES`] file systems and interfaces,
    /// [`MAX_SERVICES`] services, names of at most [`MAX_NAME_LEN`] bytes, and finite numbers.
    pub fn within_limits(&self) -> bool {
        let name = |n: &str| n.len() <= MAX_NAME_LEN;
        self.disks.len() <= MAX_DEVICES
            && self.nets.len() <= MAX_DEVICES
            && self.svcs.len() <= MAX_SERVICES
            && self.disks.iter().all(|d| name(&d.m))
            && self.nets.iter().all(|n| name(&n.i))
            && self.svcs.iter().all(|s| name(&s.n))
            && self.cpu.is_none_or(f64::is_finite)
            && self.load.iter().all(|l| l.is_finite())
    }
}

/// One file system in a [`Sample`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct DiskSample {
    /// Its mount point.
    pub m: String,
    /// Used bytes, as `df` counts them.
    pub u: u64,
    /// The size its share in use is counted against, in bytes, as `df` counts it: used plus
    /// what is available to users (the blocks reserved for root left out), so that `u / s` is
    /// df's Use% and the status card's.
    pub s: u64,
    /// Bytes read from its device since boot (a counter).
    pub r: u64,
    /// Bytes written to its device since boot (a counter).
    pub w: u64,
}

/// One network interface in a [`Sample`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct NetSample {
    /// Its name (`eth0`).
    pub i: String,
    /// Bytes received since boot (a counter).
    pub rx: u64,
    /// Bytes sent since boot (a counter).
    pub tx: u64,
}

/// One service in a [`Sample`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct ServiceSample {
    /// Its unit or init script name.
    pub n: String,
    /// Whether it runs.
    pub up: bool,
}
