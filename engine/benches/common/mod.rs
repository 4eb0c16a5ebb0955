//! Timing and reporting for the engine benchmarks, without a benchmark framework: warm up, take
//! many samples of one closure, and print median, p95 and mean per unit of work.
//!
//! Each sample times one call of the closure; `per` divides it into units (one `run()` call, one
//! recipe), so a case that runs 200 processes per sample reports the time of one process.

use std::time::{Duration, Instant};

/// How many times to run a case.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Untimed runs first: page cache, allocator, lazy statics, the dynamic loader.
    pub warmup: usize,
    pub samples: usize,
    /// Units of work in one sample; the figures are per unit.
    pub per: u32,
}

/// Summary of one case, per unit of work.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub median: Duration,
    pub p95: Duration,
    pub mean: Duration,
    pub min: Duration,
    pub samples: usize,
}

/// Runs `f` as `plan` says and summarises the timings.
pub fn measure(plan: Plan, mut f: impl FnMut()) -> Stats {
    for _ in 0..plan.warmup {
        f();
    }
    let mut times: Vec<Duration> = (0..plan.samples.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed() / plan.per.max(1)
        })
        .collect();
    times.sort_unstable();
    let n = times.len();
    // Nearest-rank percentile: the smallest sample with at least 95 % at or below it.
    let rank = |p: usize| times[(n * p).div_ceil(100).clamp(1, n) - 1];
    let total: Duration = times.iter().sum();
    Stats {
        median: rank(50),
        p95: rank(95),
        mean: total / u32::try_from(n).unwrap_or(u32::MAX),
        min: times[0],
        samples: n,
    }
}

/// A Markdown table of results, printed as rows arrive so a long run shows progress.
#[derive(Debug)]
pub struct Table {
    filter: Option<String>,
}

impl Table {
    /// `filter`: only cases whose name contains it run (the first non-flag argument).
    pub fn new(filter: Option<String>) -> Self {
        Self { filter }
    }

    /// Whether a case named `name` should run.
    pub fn wants(&self, name: &str) -> bool {
        self.filter.as_deref().is_none_or(|f| name.contains(f))
    }

    /// Prints a section heading and the table header.
    pub fn section(&self, title: &str) {
        println!("\n### {title}\n");
        println!("| case | unit | median | p95 | mean | min | samples |");
        println!("|---|---|---:|---:|---:|---:|---:|");
    }

    /// Measures and prints one case, unless filtered out.
    pub fn case(&self, name: &str, unit: &str, plan: Plan, f: impl FnMut()) -> Option<Stats> {
        if !self.wants(name) {
            return None;
        }
        let s = measure(plan, f);
        println!(
            "| {name} | {unit} | {} | {} | {} | {} | {} |",
            human(s.median),
            human(s.p95),
            human(s.mean),
            human(s.min),
            s.samples
        );
        Some(s)
    }
}

/// A duration in the unit that keeps three significant figures readable.
pub fn human(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns < 10_000 {
        format!("{ns} ns")
    } else if ns < 10_000_000 {
        format!("{:.1} µs", micros(d))
    } else {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    }
}

/// A duration in microseconds, for derived figures.
pub fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
