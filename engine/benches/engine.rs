//! Engine benchmarks: checking recipes, planning redis, the cost of `run()` against spawning the
//! same process directly, and the fixed cost of one sandboxed job.
//!
//! `cargo bench -p cairn-engine --bench engine [-- FILTER]` runs every case whose name contains
//! FILTER. Results are Markdown tables; BENCHMARKS.md at the repository root records a run and
//! what the figures mean. Real processes run (dpkg-query, redis-cli, true, seq), so figures
//! depend on the machine and on whether redis is installed.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;

use cairn_engine::job::{self, Action, JobOptions};
use cairn_engine::{Outcome, Recipe};
use common::{Plan, Stats, Table, micros};

/// `run("true", [])` calls per job in the overhead case.
const CALLS: u32 = 200;
/// Lines `seq` prints in the streaming case.
const LINES: u32 = 10_000;

fn main() {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let t = Table::new(filter);
    check_recipes(&t);
    plan_redis(&t);
    run_overhead(&t);
    sandbox_cost(&t);
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Case 1: `Recipe::load` (read, compile in the checking sandbox, check metadata and entry
/// points) of every shipped recipe.
fn check_recipes(t: &Table) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("recipes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rhai"))
        .collect();
    files.sort();
    t.section("1. Check recipes (Recipe::load: read + compile + check)");
    let plan = Plan {
        warmup: 20,
        samples: 500,
        per: 1,
    };
    for f in &files {
        let name = format!("check {}", f.file_name().unwrap().to_string_lossy());
        t.case(&name, "recipe", plan, || {
            Recipe::load(f).unwrap();
        });
    }
    t.case(
        &format!("check all ({} recipes)", files.len()),
        "all",
        plan,
        || {
            for f in &files {
                Recipe::load(f).unwrap();
            }
        },
    );
}

/// Case 2: `job::plan` of redis on this machine. Detection is real: `redis-server --version`,
/// `redis-cli ping`, `dpkg-query` for the apt helper.
fn plan_redis(t: &Table) {
    let recipe = Recipe::load(&repo().join("recipes/redis.rhai")).unwrap();
    let opts = JobOptions::default();
    t.section("2. Plan redis.rhai (job::plan, real read-only detection)");
    t.case(
        "plan redis.rhai",
        "job",
        Plan {
            warmup: 3,
            samples: 40,
            per: 1,
        },
        || {
            job::plan(
                &recipe,
                &serde_json::Map::new(),
                &opts,
                None::<cairn_engine::EventTx>,
            )
            .unwrap();
        },
    );
}

/// Case 3: `run()` through a whole job against `std::process::Command` doing the same work.
fn run_overhead(t: &Table) {
    let loop_true = runtime_recipe(
        r#"["true"]"#,
        &format!(r#"for i in 0..{CALLS} {{ run("true", []); }} #{{}}"#),
    );
    let one_true = runtime_recipe(r#"["true"]"#, r#"run("true", []); #{}"#);
    let seq = runtime_recipe(
        r#"["seq"]"#,
        &format!(r#"run("seq", ["1", "{LINES}"]); #{{}}"#),
    );
    let calls = Plan {
        warmup: 1,
        samples: 15,
        per: CALLS,
    };
    let once = Plan {
        warmup: 3,
        samples: 60,
        per: 1,
    };

    t.section(&format!(
        "3. run() against a direct spawn ({CALLS} × true per sample; seq prints {LINES} lines)"
    ));
    let engine = t.case("job: run(\"true\", []) × 200", "call", calls, || {
        apply(&loop_true)
    });
    let direct = t.case("direct: Command::status() × 200", "call", calls, || {
        for _ in 0..CALLS {
            Command::new("/usr/bin/true").status().unwrap();
        }
    });
    let same_setup = t.case(
        "direct, run()'s setup: output() × 200",
        "call",
        calls,
        || {
            for _ in 0..CALLS {
                like_run("/usr/bin/true", &[]).output().unwrap();
            }
        },
    );
    let engine_one = t.case("job: one run(\"true\", [])", "job", once, || {
        apply(&one_true)
    });
    let engine_seq = t.case("job: run(\"seq\", [1, 10000])", "job", once, || apply(&seq));
    let direct_seq = t.case("direct: seq output() + lines()", "process", once, || {
        let out = like_run("/usr/bin/seq", &["1", &LINES.to_string()])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).lines().count(),
            LINES as usize
        );
    });

    if let (Some(e), Some(d)) = (engine, direct) {
        summary("run() against Command::status()", e, d);
    }
    if let (Some(e), Some(d)) = (engine, same_setup) {
        summary("run() against the same setup (piped, own group)", e, d);
    }
    if let (Some(seq), Some(one), Some(direct_seq)) = (engine_seq, engine_one, direct_seq) {
        // Both jobs pay the sandbox and one spawn; what is left is the lines.
        let per_line = (micros(seq.median) - micros(one.median)) / f64::from(LINES);
        let over_direct = (micros(seq.median) - micros(direct_seq.median)) / f64::from(LINES);
        println!(
            "\nstreaming: {per_line:.3} µs per line over a one-call job; \
             {over_direct:.3} µs per line over reading seq directly (medians)"
        );
    }
}

/// Case 4: the fixed cost of a job: sandbox engine, host API registration, compile, call.
fn sandbox_cost(t: &Table) {
    let empty = runtime_recipe("[]", "#{}");
    t.section("4. Sandbox cost (empty install(), whole job)");
    t.case(
        "job: empty install()",
        "job",
        Plan {
            warmup: 20,
            samples: 500,
            per: 1,
        },
        || apply(&empty),
    );
}

/// Prints the per-call difference and ratio of two cases (medians).
fn summary(what: &str, engine: Stats, direct: Stats) {
    let (e, d) = (micros(engine.median), micros(direct.median));
    println!(
        "\n{what}: {e:.1} µs against {d:.1} µs per call: \
         overhead {:.1} µs per call, ratio {:.2}×",
        e - d,
        e / d
    );
}

/// A runtime recipe whose `install(params)` is `body`.
fn runtime_recipe(programs: &str, body: &str) -> Recipe {
    let src = format!(
        r#"
const RECIPE = #{{
    id: "bench", title: "Bench", category: "runtime", version: 1, estimated_size_mb: 1,
    os: [#{{ id: "debian", versions: ["12"] }}],
    capabilities: #{{ programs: {programs}, paths: [], services: [] }},
}};
fn detect() {{ #{{ installed: false }} }}
fn install(params) {{ {body} }}
"#
    );
    Recipe::parse("bench.rhai", &src).unwrap()
}

/// Runs `install()` for real as the agent would: events on a channel, drained afterwards.
fn apply(recipe: &Recipe) {
    let opts = JobOptions {
        os_release_path: Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/os-release-debian12"),
        ..JobOptions::default()
    };
    let (tx, rx) = mpsc::channel();
    let report = job::run(
        recipe,
        Action::Apply,
        &serde_json::Map::new(),
        &opts,
        Some(tx),
    );
    if let Outcome::Failed { error, .. } = report.outcome {
        panic!("the benchmark job failed: {error}");
    }
    rx.try_iter().count();
}

/// A command set up as the engine's process runner does it: cleared environment, working
/// directory `/`, stdin from /dev/null, piped output, its own process group.
fn like_run(program: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    cmd
}
