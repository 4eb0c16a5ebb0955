//! Every call in the recipe, read from the AST: a function that does not exist (with the host
//! function or recipe function it was probably meant to be), a call with a number of arguments
//! no overload takes, a program or service a call needs that `RECIPE.capabilities` does not
//! declare, a declared program nothing uses, and `params.NAME` where `NAME` is not a parameter
//! of the function's entry point.

use std::collections::BTreeSet;

use rhai::{AST, ASTFlags, ASTNode, Expr, FnCallExpr, Position, Stmt};

use super::names::{Arities, Known, arity_words, known};
use super::{At, Declared, Report};

/// Host functions whose first argument (or second, for `cron_text`) is a program that must be
/// declared in `capabilities.programs`.
const PROGRAM_ARG: &[(&str, usize)] = &[
    ("run", 0),
    ("detect", 0),
    ("wait_for", 0),
    ("run_with_state", 0),
    ("cron_text", 1),
];

/// Host functions that run `apt-get` on the recipe's behalf.
const APT: &[&str] = &["apt_update", "apt_install", "apt_upgrade", "apt_remove"];

/// Host functions whose first argument is a service that must be declared.
const SERVICE_ARG: &[&str] = &[
    "service_start",
    "service_stop",
    "service_restart",
    "service_enable",
    "service_disable",
    "service_running",
    "service_ensure_running",
];

struct Walker<'a> {
    report: &'a mut Report,
    known: &'static Known,
    own: Arities,
    declared: &'a Declared,
    /// Programs a call names, or a string of the code equal to one (passed through a variable).
    used: BTreeSet<String>,
    /// The templates of the code (`/usr/lib/postgresql/${m}/bin/psql`), as patterns: a
    /// declared program one of them can give is used.
    templates: Vec<regex::Regex>,
    /// The variable holding the current function's parameters, and what they are.
    params: Option<(String, Option<Vec<String>>)>,
    reported: BTreeSet<(usize, usize, String)>,
    /// Every variable and parameter name: `f(x)` where `f` holds a function pointer is still
    /// an unknown function to Rhai (the hint says to write `f.call(x)`).
    variables: BTreeSet<String>,
    /// Unknown names, reported at the end, once every variable name is known.
    unknown: Vec<(At, String, String, Option<String>)>,
}

pub(super) fn check(report: &mut Report, ast: &AST, declared: &Declared) {
    let mut own = Arities::new();
    for (name, n) in super::entry::own_functions(ast) {
        own.entry(name).or_default().insert(n);
    }
    let mut w = Walker {
        report,
        known: known(),
        own,
        declared,
        used: BTreeSet::new(),
        templates: Vec::new(),
        params: None,
        reported: BTreeSet::new(),
        variables: BTreeSet::new(),
        unknown: Vec::new(),
    };
    // The top level, without RECIPE itself (its strings are declarations, not uses).
    ast.clone_statements_only().walk(&mut |path: &[ASTNode]| {
        let in_recipe = matches!(path.first(), Some(ASTNode::Stmt(Stmt::Var(x, f, _)))
            if x.0.name == "RECIPE" && f.contains(ASTFlags::CONSTANT));
        if !in_recipe {
            w.visit(path);
        }
        true
    });
    let functions: Vec<(String, Vec<String>)> = ast
        .iter_functions()
        .map(|f| {
            (
                f.name.to_owned(),
                f.params.iter().map(|p| (*p).to_owned()).collect(),
            )
        })
        .collect();
    for (name, params) in functions {
        w.variables.extend(params.iter().cloned());
        w.params = w.params_of(&name, &params);
        let arity = params.len();
        // (`clone_functions_only_filtered` keeps them all in Rhai 1.27: filter after cloning.)
        let mut body = ast.clone_functions_only();
        body.retain_functions(|_, _, n, a| n == name && a == arity);
        body.walk(&mut |path: &[ASTNode]| {
            w.visit(path);
            true
        });
    }
    for (at, name, message, hint) in std::mem::take(&mut w.unknown) {
        let hint = match w.variables.contains(&name) {
            true => Some(format!(
                "`{name}` is a variable: call the function it holds with `{name}.call(…)`"
            )),
            false => hint,
        };
        w.once(at, "unknown-function", message, hint);
    }
    w.unused_programs();
}

impl Walker<'_> {
    /// The parameters variable of function `name`: the entry point gets the recipe's, an action
    /// its own; any other function whose parameter is called `params` may get either.
    fn params_of(&self, name: &str, params: &[String]) -> Option<(String, Option<Vec<String>>)> {
        let first = params.first()?.clone();
        let d = self.declared;
        if params.len() == 1 && d.category.is_some_and(|c| c.entry_point() == name) {
            return Some((first, d.params.clone()));
        }
        if let Some((_, p, _)) = d.actions.iter().find(|(n, _, _)| n == name) {
            return Some((first, p.clone()));
        }
        if first != "params" {
            return None;
        }
        let mut all = d.params.clone()?;
        for (_, p, _) in &d.actions {
            all.extend(p.clone()?);
        }
        Some((first, Some(all)))
    }

    fn visit(&mut self, path: &[ASTNode]) {
        match path.last() {
            Some(ASTNode::Stmt(Stmt::FnCall(call, pos))) => self.call(call, *pos, false),
            Some(ASTNode::Stmt(Stmt::Var(x, _, _))) => {
                self.variables.insert(x.0.name.to_string());
            }
            Some(ASTNode::Expr(Expr::FnCall(call, pos))) => self.call(call, *pos, false),
            Some(ASTNode::Expr(Expr::MethodCall(call, pos))) => self.call(call, *pos, true),
            Some(ASTNode::Expr(Expr::StringConstant(s, _))) => {
                self.used.insert(s.to_string());
            }
            Some(ASTNode::Expr(Expr::InterpolatedString(parts, _))) => {
                let pattern: String = parts
                    .iter()
                    .map(|p| match p {
                        Expr::StringConstant(s, _) => regex::escape(s),
                        _ => ".+".to_owned(),
                    })
                    .collect();
                if let Ok(re) = regex::Regex::new(&format!("^{pattern}$")) {
                    self.templates.push(re);
                }
            }
            Some(ASTNode::Expr(Expr::Dot(x, _, _))) => {
                if let Some((name, pos)) = property(&x.rhs) {
                    self.param_use(&x.lhs, &name, pos);
                }
            }
            Some(ASTNode::Expr(Expr::Index(x, _, _))) => {
                if let Expr::StringConstant(name, pos) = &x.rhs {
                    self.param_use(&x.lhs, name, *pos);
                }
            }
            _ => {}
        }
    }

    fn call(&mut self, call: &FnCallExpr, pos: Position, method: bool) {
        let name = call.name.as_str();
        // Operators (`+`, `==`, `..`) are calls too; only named functions are checked.
        if call.op_token.is_some() || !rhai::is_valid_identifier(name) || Known::is_keyword(name) {
            return;
        }
        let given = call.args.len() + usize::from(method);
        let at = At::from(pos);
        match self.known.arities(name, &self.own) {
            None => {
                let hint = self
                    .known
                    .did_you_mean(name, &self.own)
                    .map(|n| format!("did you mean `{n}`?"));
                let what = if method { "method" } else { "function" };
                self.unknown.push((
                    at,
                    name.to_owned(),
                    format!("no {what} `{name}` exists"),
                    hint,
                ));
            }
            Some(arities) if !arities.contains(&given) => {
                let (shown, takes) = if method {
                    let less: BTreeSet<usize> =
                        arities.iter().filter(|a| **a > 0).map(|a| a - 1).collect();
                    (given - 1, less)
                } else {
                    (given, arities)
                };
                let own = self.own.contains_key(name);
                let forms = super::signatures::forms(name);
                let hint = (!own && !method && !forms.is_empty())
                    .then(|| format!("call it as {}", forms.join(" or ")));
                self.once(
                    at,
                    "wrong-arity",
                    format!(
                        "{}`{name}` takes {}, not {shown}",
                        if own { "the recipe's function " } else { "" },
                        arity_words(&takes)
                    ),
                    hint,
                );
            }
            Some(_) => {}
        }
        // A recipe's own function of that arity is what runs (its `detect()` is not the host's).
        if method || self.own.get(name).is_some_and(|a| a.contains(&given)) {
            return;
        }
        if let Some((_, i)) = PROGRAM_ARG.iter().find(|(f, _)| *f == name)
            && let Some(Expr::StringConstant(program, ppos)) = call.args.get(*i)
        {
            self.needs_program(
                program,
                (*ppos).into(),
                &format!("{name}(\"{program}\", …)"),
            );
        }
        if APT.contains(&name) {
            self.needs_program("apt-get", at, &format!("{name}()"));
        }
        if SERVICE_ARG.contains(&name)
            && let Some(Expr::StringConstant(svc, spos)) = call.args.first()
            && let Some(services) = &self.declared.services
            && !services.iter().any(|s| s == svc.as_str())
        {
            self.once(
                (*spos).into(),
                "undeclared-service",
                format!("{name}(\"{svc}\") controls the service `{svc}`, which RECIPE.capabilities.services does not declare; the agent would refuse it"),
                Some(format!("add \"{svc}\" to RECIPE.capabilities.services")),
            );
        }
    }

    fn needs_program(&mut self, program: &str, at: At, call: &str) {
        self.used.insert(program.to_owned());
        let Some(programs) = &self.declared.programs else {
            return;
        };
        if !programs.iter().any(|(p, _)| p == program) {
            self.once(
                at,
                "undeclared-program",
                format!("{call} runs `{program}`, which RECIPE.capabilities.programs does not declare; the agent would refuse it"),
                Some(format!("add \"{program}\" to RECIPE.capabilities.programs")),
            );
        }
    }

    fn param_use(&mut self, lhs: &Expr, name: &str, pos: Position) {
        let Expr::Variable(v, _, _) = lhs else { return };
        let Some((var, Some(names))) = &self.params else {
            return;
        };
        if v.1.as_str() != var.as_str() || names.iter().any(|n| n == name) {
            return;
        }
        let hint = super::names::closest(name, names.iter().map(String::as_str))
            .map(|n| format!("did you mean `{var}.{n}`?"))
            .or_else(|| {
                Some(format!(
                    "declare it in `params` (the parameters are: {})",
                    list(names)
                ))
            });
        self.once(
            pos.into(),
            "undeclared-param",
            format!("`{var}.{name}` is not a declared parameter of this entry point"),
            hint,
        );
    }

    fn unused_programs(&mut self) {
        let Some(programs) = self.declared.programs.clone() else {
            return;
        };
        for (program, at) in programs {
            // Named by the code, built by one of its templates, or a file of that name the
            // recipe puts in place (`ln … /usr/local/bin/gofmt`): declaring what it installs
            // is how the catalogue shows that power.
            let used = self.used.contains(&program)
                || self.templates.iter().any(|t| t.is_match(&program))
                || (!program.contains('/')
                    && self
                        .used
                        .iter()
                        .any(|s| s.ends_with(&format!("/{program}"))));
            if !used {
                self.report.warning(
                    at,
                    "unused-program",
                    format!("`{program}` is declared in RECIPE.capabilities.programs but nothing runs it"),
                    Some("remove it: every declared program widens what the recipe may do".into()),
                );
            }
        }
    }

    /// Reports once per place and code (a call walked twice is reported once).
    fn once(&mut self, at: At, code: &str, message: String, hint: Option<String>) {
        if self.reported.insert((at.line, at.col, code.to_owned())) {
            self.report.error(at, code, message, hint);
        }
    }
}

/// The property a `.` leads to first: `params.user` and `params.user.len()` both give `user`.
fn property(rhs: &Expr) -> Option<(String, Position)> {
    match rhs {
        Expr::Property(p, pos) => Some((p.2.to_string(), *pos)),
        Expr::Dot(x, _, _) | Expr::Index(x, _, _) => property(&x.lhs),
        _ => None,
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}
