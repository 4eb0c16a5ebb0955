//! The four findings of `cairn-recipe test`, each from what the engine reported: the runs'
//! records (`cairn_engine::Done`: every command started through a side-effecting host call,
//! file written and download kept, with its step), the plan made before the first run, and
//! `detect()` before and after.
//!
//! "Changes nothing" is the engine's own account: a second run that started no command
//! through `run()` or an apt/service helper, wrote no file and downloaded nothing (read-only
//! queries, which plans run too, are allowed), and whose result does not say `changed: true`.

use std::fmt::Write;

use cairn_engine::{Detection, DoneAction, PlannedAction};

use crate::record::RunRecord;

/// One finding: passed or not, its line, and the lines that say why.
#[derive(Debug)]
pub struct Finding {
    pub ok: bool,
    pub line: String,
    pub details: Vec<String>,
}

impl Finding {
    fn pass(line: String) -> Self {
        Self {
            ok: true,
            line,
            details: Vec::new(),
        }
    }

    fn fail(line: String, details: Vec<String>) -> Self {
        Self {
            ok: false,
            line,
            details,
        }
    }
}

/// `wrote /etc/x (mode 0644, 12 bytes) in step 2 "Configure"`.
pub fn describe(a: &DoneAction) -> String {
    let what = match &a.action {
        PlannedAction::Run { .. } => format!("ran {}", shown(&a.action)),
        PlannedAction::WriteFile { path, mode, bytes } => {
            format!("wrote {path} (mode {mode:04o}, {bytes} bytes)")
        }
        PlannedAction::Download { url, dest, .. } => format!("downloaded {url} to {dest}"),
    };
    if a.step == 0 {
        format!("{what}, before the first step")
    } else {
        format!("{what}, in step {} \"{}\"", a.step, a.step_title)
    }
}

fn shown(a: &PlannedAction) -> String {
    match a {
        PlannedAction::Run { program, args, .. } => cairn_engine::shell_words(program, args),
        other => other.to_string(),
    }
}

/// How many of each kind: "3 commands, 1 file written, no download".
fn counts(done: &[DoneAction]) -> String {
    let (mut runs, mut writes, mut downloads) = (0, 0, 0);
    for a in done {
        match a.action {
            PlannedAction::Run { .. } => runs += 1,
            PlannedAction::WriteFile { .. } => writes += 1,
            PlannedAction::Download { .. } => downloads += 1,
        }
    }
    let n = |k: usize, one: &str, many: &str| match k {
        0 => format!("no {one}"),
        k => plural(k, one, many),
    };
    format!(
        "{}, {}, {}",
        n(runs, "command", "commands"),
        n(writes, "file written", "files written"),
        n(downloads, "download", "downloads")
    )
}

fn plural(k: usize, one: &str, many: &str) -> String {
    if k == 1 {
        format!("1 {one}")
    } else {
        format!("{k} {many}")
    }
}

/// The processes a run started that were read-only queries (timings count every process;
/// the record, the side-effecting ones).
fn queries(run: &RunRecord) -> u64 {
    let all: u64 = run
        .timings
        .as_ref()
        .map_or(0, |t| t.programs.iter().map(|p| p.count).sum());
    let commands = run
        .done
        .actions
        .iter()
        .filter(|a| matches!(a.action, PlannedAction::Run { .. }))
        .count() as u64;
    all.saturating_sub(commands)
}

/// Finding 1: the first run succeeded.
pub fn install(first: &RunRecord, secs: f64) -> Finding {
    if first.succeeded {
        Finding::pass(format!(
            "install: succeeded in {secs:.1} s ({}; {})",
            counts(&first.done.actions),
            plural(
                queries(first) as usize,
                "read-only query",
                "read-only queries"
            )
        ))
    } else {
        Finding::fail(
            "install: failed".to_owned(),
            vec![first.error.clone().unwrap_or_default()],
        )
    }
}

/// Finding 2: detect() says installed, with a version, and the version the run's result
/// names (when it names one).
pub fn detect(before: &Detection, after: &Result<Detection, String>, first: &RunRecord) -> Finding {
    let after = match after {
        Ok(d) => d,
        Err(e) => return Finding::fail("detect: failed after the install".into(), vec![e.clone()]),
    };
    let said = first.result.get("version").and_then(|v| v.as_str());
    let mut why = Vec::new();
    if !after.installed {
        why.push("detect() says installed: false after a successful install".to_owned());
    }
    match (&after.version, said) {
        (None, _) => why.push("detect() gives no version after the install".to_owned()),
        (Some(v), Some(s)) if v != s => why.push(format!(
            "detect() says version {v}, the install's result says {s}"
        )),
        _ => {}
    }
    if !why.is_empty() {
        return Finding::fail("detect: does not agree with the install".into(), why);
    }
    let mut line = format!(
        "detect: agrees: installed, version {}",
        after.version.as_deref().unwrap_or_default()
    );
    if said.is_some() {
        line.push_str(" (as the install's result says)");
    }
    if !before.installed {
        line.push_str("; it said not installed before");
    }
    Finding::pass(line)
}

/// Finding 3: the second run succeeded and changed nothing.
pub fn second_run(second: &RunRecord) -> Finding {
    if !second.succeeded {
        return Finding::fail(
            "second run: failed".into(),
            vec![second.error.clone().unwrap_or_default()],
        );
    }
    let mut why: Vec<String> = second.done.actions.iter().map(describe).collect();
    if second.done.left_out > 0 {
        why.push(format!("and {} more side effects", second.done.left_out));
    }
    if second.result.get("changed") == Some(&serde_json::Value::Bool(true)) {
        why.push("its result says changed: true".into());
    }
    if why.is_empty() {
        Finding::pass(format!(
            "second run: changed nothing (no command, no file written, no download; {})",
            plural(
                queries(second) as usize,
                "read-only query",
                "read-only queries"
            )
        ))
    } else {
        Finding::fail(
            "second run: changed something (a recipe must leave a server as one run did, and say so)"
                .into(),
            why,
        )
    }
}

/// Finding 4: every side effect of the first run was in the plan made before it (each
/// planned one names at most one done).
pub fn plan_covered(plan: &[PlannedAction], first: &RunRecord) -> Finding {
    let cairn_engine::Coverage { unplanned, left } = first.done.against(plan);
    let done = first.done.actions.len();
    if unplanned.is_empty() && first.done.left_out == 0 {
        let mut line = format!(
            "plan: named every command the install ran ({}, {} planned)",
            plural(done, "side effect", "side effects"),
            plan.len()
        );
        if !left.is_empty() {
            let _ = write!(line, "; {} planned ones did not happen", left.len());
        }
        return Finding::pass(line);
    }
    let mut why: Vec<String> = unplanned
        .iter()
        .map(|a| format!("not in the plan: {}", describe(a)))
        .collect();
    if first.done.left_out > 0 {
        why.push(format!(
            "{} more side effects past the record's limit were not compared",
            first.done.left_out
        ));
    }
    let same_program: Vec<String> = left
        .iter()
        .filter(|p| matches!(p, PlannedAction::Run { .. }))
        .map(|p| format!("planned but not run: {}", shown(p)))
        .collect();
    why.extend(same_program);
    Finding::fail(
        format!(
            "plan: did not name {} of the {done} side effects the install made (a plan must show what will run)",
            unplanned.len()
        ),
        why,
    )
}
