//! Where a job's time went: each step, each host call that waits on the system, each child
//! process and each wait (dpkg's lock, `wait_for`, `sleep`), recorded while the job runs and
//! summed at its end into [`JobTimings`] — the per-job timing summary the console shows on
//! request and `cairn-recipe run --timings` prints (issue 21: find the seconds that are not
//! apt's own work).
//!
//! Recording costs an `Instant::now()` and a push per call: a job starts tens of processes, not
//! millions. What is kept is bounded ([`MAX_PROCESSES`]): a recipe looping on a query is summed
//! per program past that, never grown without end.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Processes listed one by one; later ones are only counted into their program's total.
pub const MAX_PROCESSES: usize = 200;

/// One timed thing: what it was, when it started (ms since the job started), how long it took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timed {
    pub what: String,
    pub start_ms: u64,
    pub ms: u64,
}

/// Calls of one host function, or runs of one program: how many, and their total time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counted {
    pub what: String,
    pub count: u64,
    pub ms: u64,
}

/// A job's timing summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobTimings {
    /// From the engine's start of the job (script parsed) to its end.
    pub total_ms: u64,
    /// Each `step()` until the next one (or the end); time before the first step is `""`.
    pub steps: Vec<Timed>,
    /// Host functions that wait on the system, per function, sorted by time.
    pub calls: Vec<Counted>,
    /// Each child process (the program and its first arguments), in order.
    pub processes: Vec<Timed>,
    /// Child processes per program, sorted by time (all of them, also past the list's cap).
    pub programs: Vec<Counted>,
    /// Time spent waiting: for a lock, in `wait_for` between tries, in `sleep`.
    pub waits: Vec<Counted>,
    /// Time outside every host call timed here: the interpreter and the untimed host
    /// functions (string work, templates, file reads).
    pub script_ms: u64,
}

#[derive(Debug, Default)]
struct State {
    steps: Vec<(String, Instant)>,
    calls: BTreeMap<&'static str, (u64, Duration)>,
    processes: Vec<Timed>,
    programs: BTreeMap<String, (u64, Duration)>,
    waits: BTreeMap<&'static str, (u64, Duration)>,
    /// Nesting of timed host calls: only the outermost counts towards `script_ms`.
    depth: u32,
    in_calls: Duration,
    /// A lock wait under way: what, since when.
    waiting: Option<(&'static str, Instant)>,
}

/// The recorder a job's host functions write to.
#[derive(Debug)]
pub struct Timings {
    started: Instant,
    state: RefCell<State>,
}

impl Default for Timings {
    fn default() -> Self {
        Self::new()
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Timings {
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            state: RefCell::new(State::default()),
        }
    }

    /// A step started now.
    pub fn step(&self, title: &str) {
        self.state
            .borrow_mut()
            .steps
            .push((title.to_owned(), Instant::now()));
    }

    /// Times a host call until the returned guard drops.
    pub fn call(&self, name: &'static str) -> CallTimer<'_> {
        self.state.borrow_mut().depth += 1;
        CallTimer {
            timings: self,
            name,
            started: Instant::now(),
        }
    }

    /// A child process ran for `took`, started `took` ago; `command` is its program and
    /// arguments as the console shows them.
    pub fn process(&self, program: &str, args: &[String], took: Duration) {
        let name = program.rsplit('/').next().unwrap_or(program).to_owned();
        let mut s = self.state.borrow_mut();
        let e = s.programs.entry(name).or_default();
        e.0 += 1;
        e.1 += took;
        if s.processes.len() < MAX_PROCESSES {
            // The first arguments say which run it was (`apt-get install`, `node --version`);
            // the rest (package lists, file names) would make the summary a log.
            let shown: Vec<&str> = args.iter().take(3).map(String::as_str).collect();
            let what = if shown.is_empty() {
                program.to_owned()
            } else {
                format!("{program} {}", shown.join(" "))
            };
            let start = Instant::now()
                .checked_sub(took)
                .unwrap_or(self.started)
                .saturating_duration_since(self.started);
            s.processes.push(Timed {
                what,
                start_ms: ms(start),
                ms: ms(took),
            });
        }
    }

    /// A wait for `what` began (`Some`), or the one under way ended (`None`).
    pub fn waiting(&self, what: Option<&'static str>) {
        let mut s = self.state.borrow_mut();
        match (what, s.waiting.take()) {
            (Some(w), _) => s.waiting = Some((w, Instant::now())),
            (None, Some((w, since))) => {
                drop(s);
                self.waited(w, since.elapsed());
            }
            (None, None) => {}
        }
    }

    /// Time spent waiting for `what` (`"dpkg lock"`, `"wait_for"`, `"sleep"`).
    pub fn waited(&self, what: &'static str, took: Duration) {
        let mut s = self.state.borrow_mut();
        let e = s.waits.entry(what).or_default();
        e.0 += 1;
        e.1 += took;
    }

    /// The summary, as of now.
    pub fn summary(&self) -> JobTimings {
        let now = Instant::now();
        let s = self.state.borrow();
        let total = now.saturating_duration_since(self.started);
        let mut steps = Vec::new();
        let first = s.steps.first().map_or(now, |(_, at)| *at);
        if first > self.started {
            steps.push(Timed {
                what: String::new(),
                start_ms: 0,
                ms: ms(first - self.started),
            });
        }
        for (i, (title, at)) in s.steps.iter().enumerate() {
            let end = s.steps.get(i + 1).map_or(now, |(_, next)| *next);
            steps.push(Timed {
                what: title.clone(),
                start_ms: ms(at.saturating_duration_since(self.started)),
                ms: ms(end.saturating_duration_since(*at)),
            });
        }
        let counted = |m: &mut dyn Iterator<Item = (String, (u64, Duration))>| {
            let mut v: Vec<Counted> = m
                .map(|(what, (count, d))| Counted {
                    what,
                    count,
                    ms: ms(d),
                })
                .collect();
            v.sort_by(|a, b| b.ms.cmp(&a.ms).then_with(|| a.what.cmp(&b.what)));
            v
        };
        JobTimings {
            total_ms: ms(total),
            steps,
            calls: counted(&mut s.calls.iter().map(|(k, v)| ((*k).to_owned(), *v))),
            processes: s.processes.clone(),
            programs: counted(&mut s.programs.iter().map(|(k, v)| (k.clone(), *v))),
            waits: counted(&mut s.waits.iter().map(|(k, v)| ((*k).to_owned(), *v))),
            script_ms: ms(total.saturating_sub(s.in_calls)),
        }
    }
}

/// Records a host call's time when dropped (also when it returns an error).
#[derive(Debug)]
pub struct CallTimer<'a> {
    timings: &'a Timings,
    name: &'static str,
    started: Instant,
}

impl Drop for CallTimer<'_> {
    fn drop(&mut self) {
        let took = self.started.elapsed();
        let mut s = self.timings.state.borrow_mut();
        let e = s.calls.entry(self.name).or_default();
        e.0 += 1;
        e.1 += took;
        s.depth = s.depth.saturating_sub(1);
        if s.depth == 0 {
            s.in_calls += took;
        }
    }
}

impl JobTimings {
    /// The summary with `f` applied to every text in it: the event sink masks the job's
    /// secrets in step titles and command lines here as it does in console lines.
    pub fn map_text(mut self, f: impl Fn(&str) -> String) -> Self {
        for t in self.steps.iter_mut().chain(self.processes.iter_mut()) {
            t.what = f(&t.what);
        }
        for c in self
            .calls
            .iter_mut()
            .chain(self.programs.iter_mut())
            .chain(self.waits.iter_mut())
        {
            c.what = f(&c.what);
        }
        self
    }

    /// The summary as console lines, the way `--timings` prints it and the page shows it.
    pub fn lines(&self) -> Vec<String> {
        let secs = |ms: u64| format!("{:.2} s", ms as f64 / 1000.0);
        let mut out = vec![format!(
            "Timing: {} in all, {} of it outside the host calls timed below",
            secs(self.total_ms),
            secs(self.script_ms)
        )];
        for s in &self.steps {
            let title = if s.what.is_empty() {
                "(before the first step)"
            } else {
                &s.what
            };
            out.push(format!("  step      {:>9}  {title}", secs(s.ms)));
        }
        for c in &self.calls {
            out.push(format!(
                "  call      {:>9}  {} ×{}",
                secs(c.ms),
                c.what,
                c.count
            ));
        }
        for p in &self.programs {
            out.push(format!(
                "  program   {:>9}  {} ×{}",
                secs(p.ms),
                p.what,
                p.count
            ));
        }
        for p in &self.processes {
            out.push(format!(
                "  process   {:>9}  at {} {}",
                secs(p.ms),
                secs(p.start_ms),
                p.what
            ));
        }
        for w in &self.waits {
            out.push(format!(
                "  wait      {:>9}  {} ×{}",
                secs(w.ms),
                w.what,
                w.count
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_split_the_time_and_nested_calls_count_once_towards_the_script() {
        let t = Timings::new();
        std::thread::sleep(Duration::from_millis(5));
        t.step("Install");
        {
            let _outer = t.call("apt_install");
            let _inner = t.call("apt_installed");
            t.process(
                "/usr/bin/apt-get",
                &["install".into(), "-y".into()],
                Duration::from_millis(20),
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        t.waited("dpkg lock", Duration::from_millis(3));
        let s = t.summary();
        assert_eq!(s.steps.len(), 2, "{s:?}");
        assert_eq!(s.steps[0].what, "");
        assert_eq!(s.steps[1].what, "Install");
        assert!(s.steps[1].ms >= 20, "{s:?}");
        assert_eq!(s.calls.iter().map(|c| c.count).sum::<u64>(), 2);
        // The nested call's 20 ms are not taken from the script twice.
        assert!(s.script_ms + 20 <= s.total_ms + 1, "{s:?}");
        assert!(s.script_ms >= 5, "{s:?}");
        assert_eq!(s.processes[0].what, "/usr/bin/apt-get install -y");
        assert_eq!(s.programs[0].what, "apt-get");
        assert_eq!(s.waits[0].what, "dpkg lock");
        let lines = s.lines();
        assert!(lines[0].starts_with("Timing: "), "{lines:?}");
        assert!(
            lines
                .iter()
                .any(|l| l.contains("step") && l.contains("Install"))
        );
    }

    #[test]
    fn a_loop_of_processes_is_counted_whole_but_listed_only_up_to_the_cap() {
        let t = Timings::new();
        for _ in 0..(MAX_PROCESSES + 50) {
            t.process("dpkg-query", &[], Duration::from_millis(1));
        }
        let s = t.summary();
        assert_eq!(s.processes.len(), MAX_PROCESSES);
        assert_eq!(s.programs[0].count, (MAX_PROCESSES + 50) as u64);
    }
}
