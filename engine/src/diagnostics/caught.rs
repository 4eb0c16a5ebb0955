//! A side effect inside `try`. A plan records every side effect as if it succeeded, so a `try`
//! block's `catch` never runs in a plan; in a run, a side effect that fails there is caught and
//! the recipe carries on down a path its preview never showed (Docker's start once did: a
//! failed start caught, then a file written and a second start that no plan named, found by
//! `cairn-recipe test`'s plan finding). Warned at each call in a `try` block that acts — a host
//! function of [`ACTS`](super::signatures::ACTS), or a recipe function that reaches one, in any
//! number of calls — unless the `catch` block ends the run anyway: its last statement is a
//! `throw` and it acts in nothing itself.

use std::collections::{BTreeMap, BTreeSet};

use rhai::{AST, ASTFlags, ASTNode, Expr, FnCallExpr, Position, Stmt, StmtBlock};

use super::signatures::ACTS;
use super::{At, Report};

/// A recipe function: name and number of parameters.
type Own = (String, usize);

pub(super) fn check(report: &mut Report, ast: &AST) {
    // Closures too (`anon$…`): a `try` in one is a `try` all the same.
    let own: BTreeSet<Own> = ast
        .iter_functions()
        .map(|f| (f.name.to_owned(), f.params.len()))
        .collect();
    let bodies: Vec<(Own, AST)> = own
        .iter()
        .map(|(name, arity)| {
            let mut body = ast.clone_functions_only();
            body.retain_functions(|_, _, n, a| n == name && a == *arity);
            ((name.clone(), *arity), body)
        })
        .collect();
    let acting = acting_functions(&own, &bodies);
    let judge = Judge {
        own: &own,
        acting: &acting,
    };
    let mut warned = BTreeSet::new();
    let mut on_node = |path: &[ASTNode]| {
        if let Some(ASTNode::Stmt(Stmt::TryCatch(x, pos))) = path.last()
            && !ends_the_run(&judge, &x.branch)
        {
            for (call, at, acts) in judge.acting_calls(&x.body) {
                if warned.insert((at.line, at.col)) {
                    warn(report, &call, at, &acts, *pos);
                }
            }
        }
        true
    };
    ast.clone_statements_only().walk(&mut on_node);
    for (_, body) in &bodies {
        body.walk(&mut on_node);
    }
}

/// What decides whether a call acts.
struct Judge<'a> {
    own: &'a BTreeSet<Own>,
    /// Each recipe function that acts, and the host function it reaches.
    acting: &'a BTreeMap<Own, String>,
}

impl Judge<'_> {
    /// The host function `call` makes act (itself, or the one the recipe function it names
    /// reaches); `None` when it only reads or computes. A recipe function of the same name and
    /// arity as a host function is what runs.
    fn acts(&self, call: &FnCallExpr, method: bool) -> Option<String> {
        let name = call.name.as_str();
        if call.op_token.is_some() {
            return None;
        }
        let key = (name.to_owned(), call.args.len() + usize::from(method));
        if self.own.contains(&key) {
            return self.acting.get(&key).cloned();
        }
        ACTS.contains(&name).then(|| name.to_owned())
    }

    /// Every call under `stmts` that acts: its name, place and the host function it reaches.
    fn acting_calls(&self, stmts: &StmtBlock) -> Vec<(String, At, String)> {
        let mut found = Vec::new();
        let mut path = Vec::new();
        for s in stmts.iter() {
            s.walk(&mut path, &mut |p: &[ASTNode]| {
                if let Some((call, pos, method)) = call_of(p.last())
                    && let Some(acts) = self.acts(call, method)
                {
                    found.push((call.name.to_string(), At::from(pos), acts));
                }
                true
            });
        }
        found
    }
}

/// The call a node is, if it is one (and whether it is a method call).
fn call_of<'a>(node: Option<&'a ASTNode<'a>>) -> Option<(&'a FnCallExpr, Position, bool)> {
    match node? {
        ASTNode::Stmt(Stmt::FnCall(call, pos)) | ASTNode::Expr(Expr::FnCall(call, pos)) => {
            Some((call, *pos, false))
        }
        ASTNode::Expr(Expr::MethodCall(call, pos)) => Some((call, *pos, true)),
        _ => None,
    }
}

/// The recipe functions that act, each with the host function it reaches: those that call an
/// acting host function, then those that call one of them, until nothing more is found.
fn acting_functions(own: &BTreeSet<Own>, bodies: &[(Own, AST)]) -> BTreeMap<Own, String> {
    let calls: Vec<(&Own, Vec<(Own, bool)>)> = bodies
        .iter()
        .map(|(f, body)| {
            let mut calls = Vec::new();
            body.walk(&mut |p: &[ASTNode]| {
                if let Some((call, _, method)) = call_of(p.last())
                    && call.op_token.is_none()
                {
                    calls.push((
                        (call.name.to_string(), call.args.len() + usize::from(method)),
                        method,
                    ));
                }
                true
            });
            (f, calls)
        })
        .collect();
    let mut acting: BTreeMap<Own, String> = BTreeMap::new();
    loop {
        let before = acting.len();
        for (f, called) in &calls {
            if acting.contains_key(*f) {
                continue;
            }
            let reached = called.iter().find_map(|(key, _)| {
                if own.contains(key) {
                    acting.get(key).cloned()
                } else {
                    ACTS.contains(&key.0.as_str()).then(|| key.0.clone())
                }
            });
            if let Some(host) = reached {
                acting.insert((*f).clone(), host);
            }
        }
        if acting.len() == before {
            return acting;
        }
    }
}

/// Whether a `catch` block stops the run whatever it caught: it acts in nothing and its last
/// statement is `throw`.
fn ends_the_run(judge: &Judge<'_>, branch: &StmtBlock) -> bool {
    let throws = matches!(branch.statements().last(), Some(Stmt::Return(_, flags, _)) if flags.contains(ASTFlags::BREAK));
    throws && judge.acting_calls(branch).is_empty()
}

fn warn(report: &mut Report, call: &str, at: At, acts: &str, try_pos: Position) {
    let try_line = At::from(try_pos).line;
    let what = if call == acts {
        format!("`{call}(…)`")
    } else {
        format!("`{call}(…)`, which calls `{acts}(…)`,")
    };
    report.warning(
        at,
        "side-effect-in-try",
        format!(
            "{what} changes the server inside the `try` block of line {try_line}: when it fails, \
             the `catch` carries on and the run does what its plan never showed (a plan assumes \
             every side effect succeeds)"
        ),
        Some(
            "decide before acting with what the plan reads too (file_exists, detect, \
             has_systemd, service_running…), or end the catch block with `throw` so that a \
             failure stops the run"
                .into(),
        ),
    );
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crate::diagnostics::{Diagnostic, Severity, check_source};

    /// A runtime recipe declaring `apt-get` and the service `x`, with `rest` after detect().
    fn recipe(rest: &str) -> String {
        format!(
            r#"const RECIPE = #{{
    id: "t", title: "T", category: "runtime", version: 1, estimated_size_mb: 1,
    os: [#{{ id: "debian", versions: ["12"] }}],
    capabilities: #{{ programs: ["apt-get"], paths: ["/etc/t"], services: ["x"] }},
}};
fn detect() {{ #{{ installed: false }} }}
{rest}
"#
        )
    }

    fn caught(rest: &str) -> Vec<Diagnostic> {
        check_source("t.rhai", &recipe(rest))
            .into_iter()
            .filter(|d| d.code == "side-effect-in-try")
            .collect()
    }

    #[test]
    fn a_service_start_caught_and_carried_on_from_is_a_warning_at_its_line() {
        // Line 7 is the first after detect().
        let found = caught(
            "fn install(params) {\n    try {\n        service_start(\"x\");\n    } catch (e) {\n        write_file(\"/etc/t\", \"fix\");\n    }\n    #{ changed: true }\n}",
        );
        assert_eq!(found.len(), 1, "{found:#?}");
        let d = &found[0];
        assert_eq!((d.line, d.col, d.severity), (9, 9, Severity::Warning));
        assert_eq!(
            d.message,
            "`service_start(…)` changes the server inside the `try` block of line 8: when it \
             fails, the `catch` carries on and the run does what its plan never showed (a plan \
             assumes every side effect succeeds)"
        );
        assert!(
            d.hint
                .as_deref()
                .unwrap()
                .contains("end the catch block with `throw`")
        );
        // A warning: the recipe is still accepted.
        assert!(!crate::diagnostics::has_errors(&check_source(
            "t.rhai",
            &recipe("fn install(params) { try { apt_update(); } catch { } #{} }")
        )));
    }

    #[test]
    fn every_kind_of_side_effect_is_caught_and_each_call_is_named_once() {
        let found = caught(
            r#"fn install(params) {
    try {
        run("apt-get", ["-y", "install", "x"]);
        apt_install(["x"]);
        write_file("/etc/t", "a");
        try { service_restart("x"); } catch { }
        let size = "abc".len();
    } catch { }
    #{}
}"#,
        );
        let lines: Vec<(usize, &str)> = found
            .iter()
            .map(|d| (d.line, d.message.split('`').nth(1).unwrap()))
            .collect();
        assert_eq!(
            lines,
            [
                (9, "run(…)"),
                (10, "apt_install(…)"),
                (11, "write_file(…)"),
                (12, "service_restart(…)"),
            ]
        );
    }

    #[test]
    fn a_recipe_function_that_reaches_a_side_effect_through_another_is_named_with_it() {
        let found = caught(
            "fn start() { service_start(\"x\"); }\nfn again() { start(); }\nfn install(params) {\n    try { again(); } catch { }\n    #{}\n}",
        );
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].line, 10);
        assert!(
            found[0]
                .message
                .starts_with("`again(…)`, which calls `service_start(…)`, changes the server"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn reads_in_try_and_a_catch_that_rethrows_are_no_finding() {
        for rest in [
            // Only reads and computations inside try.
            "fn install(params) { let v = 0; try { v = read_file(\"/etc/t\").len(); } catch { } #{ v: v } }",
            // A side effect whose failure the catch turns into the job's own sentence.
            "fn install(params) { try { apt_install([\"x\"]); } catch (e) { throw `could not install x: ${e}`; } #{} }",
            // A recipe function that only reads, called inside try.
            "fn version() { read_file(\"/etc/t\") }\nfn install(params) { try { version(); } catch { } #{} }",
            // A recipe function named like a host function that acts, which it is not.
            "fn write_file(a, b) { a + b }\nfn install(params) { try { write_file(\"a\", \"b\"); } catch { } #{} }",
        ] {
            assert_eq!(caught(rest), [], "{rest}");
        }
        // A catch that acts before it rethrows carries on past the plan too.
        let found = caught(
            "fn install(params) { try { apt_install([\"x\"]); } catch (e) { write_file(\"/etc/t\", \"x\"); throw e; } #{} }",
        );
        assert_eq!(found.len(), 1, "{found:#?}");
    }
}
