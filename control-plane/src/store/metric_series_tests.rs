#![allow(clippy::unwrap_used)]

use cairn_protocol::messages::{DiskSample, NetSample, Sample};

use super::*;

fn sample(t: u64, cpu: f64, rx: u64) -> Sample {
    Sample {
        t,
        cpu: Some(cpu),
        mem: [100, 1000],
        swap: [0, 0],
        load: [0.5, 0.4, 0.3],
        disks: vec![DiskSample {
            m: "/".into(),
            u: 10,
            s: 100,
            r: t * 1000,
            w: 0,
        }],
        nets: vec![NetSample {
            i: "eth0".into(),
            rx,
            tx: 0,
        }],
        svcs: Vec::new(),
    }
}

#[test]
fn counters_become_rates_and_a_reset_or_a_long_gap_gives_none() {
    let samples = [
        sample(0, 10.0, 1000),
        sample(10, 20.0, 2000),
        // The interface was reset: its counter went down.
        sample(20, 30.0, 500),
        sample(30, 40.0, 1500),
        // The agent was stopped for an hour.
        sample(3630, 50.0, 9000),
    ];
    let p = points(&samples);
    assert!(!p[0].1.contains_key("net.rx:eth0"));
    assert_eq!(p[1].1["net.rx:eth0"], 100.0);
    assert!(!p[2].1.contains_key("net.rx:eth0"));
    assert_eq!(p[3].1["net.rx:eth0"], 100.0);
    assert_eq!(p[3].1["disk.read:/"], 1000.0);
    assert!(!p[4].1.contains_key("net.rx:eth0"));
    assert_eq!(p[4].1["cpu"], 50.0);
}

#[test]
fn minutes_hold_min_average_and_max_and_hours_summarise_minutes() {
    let samples: Vec<Sample> = (0..12).map(|i| sample(i * 10, i as f64, 0)).collect();
    let minutes = summarise(&points(&samples), 60);
    assert_eq!(minutes.len(), 2);
    assert_eq!(minutes[&0]["cpu"], [0.0, 2.5, 5.0]);
    assert_eq!(minutes[&60]["cpu"], [6.0, 8.5, 11.0]);
    let hours = resummarise(&minutes.into_iter().collect::<Vec<_>>(), 3600);
    assert_eq!(hours[&0]["cpu"], [0.0, 5.5, 11.0]);
    assert_eq!(unit("net.rx:eth0"), "bytes/s");
    assert_eq!(unit("disk.used:/"), "bytes");
}
